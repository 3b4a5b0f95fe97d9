//! The `pactum` command: serve (default), migrate, openapi, token.

use clap::{Parser, Subcommand};
use pactum::auth::JwtKeys;
use pactum::config::Settings;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "pactum", version, about = "Contract-management backend (JSON REST API)")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document.
    Openapi,
    /// Mint a JWT signed with the configured (or development) secret.
    Token {
        /// The user (`sub` claim).
        #[arg(long)]
        sub: String,
        /// Comma-separated roles and team names, e.g. `contract_manager,pension-desk`.
        #[arg(long, value_delimiter = ',', default_value = "")]
        roles: Vec<String>,
        /// Lifetime, e.g. `30m`, `8h`, `7d`.
        #[arg(long, default_value = "8h")]
        ttl: humantime::Duration,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match Settings::from_env() {
        Err(e) => Err(e),
        Ok(settings) => match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => {
                init_logging(&settings);
                actix_web::rt::System::new().block_on(pactum::startup::serve(settings))
            }
            Command::Migrate => {
                init_logging(&settings);
                pactum::startup::prepare_database(&settings.effective_database_url(), 1).map(|_| {
                    tracing::info!("migrations are up to date");
                })
            }
            Command::Openapi => {
                pactum::startup::openapi().to_pretty_json().map(|json| println!("{json}")).map_err(|e| e.to_string())
            }
            Command::Token { sub, roles, ttl } => JwtKeys::from_settings(&settings).and_then(|keys| {
                let roles: Vec<String> =
                    roles.into_iter().map(|r| r.trim().to_string()).filter(|r| !r.is_empty()).collect();
                keys.mint(&sub, &roles, ttl.into(), chrono::Utc::now()).map(|t| println!("{t}"))
            }),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(colour);
    if settings.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
