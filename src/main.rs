//! The `pactum` command: serve (default), migrate, openapi, token, seed, schedule.

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
    /// Fill an empty database with realistic, reproducible data for benchmarks.
    Seed {
        /// Share of the full set (1 = 1,000,000 contracts, 1,000,000 installations, 100,000
        /// obligations with 10,000,000 tasks, 200,000 service calls); from 0.00001 to 10.
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Random seed: the same seed, scale and day give the same data.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// The day the data is current on, YYYY-MM-DD (default: today).
        #[arg(long)]
        today: Option<chrono::NaiveDate>,
    },
    /// Run one scheduler pass now (what the service's background scheduler does every
    /// SCHEDULER_INTERVAL_SECS) and print what each job did and how long it took.
    Schedule {
        /// Run the pass as of this moment (RFC 3339) instead of now, e.g. to catch up a day.
        #[arg(long)]
        at: Option<chrono::DateTime<chrono::Utc>>,
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
            Command::Token { sub, roles, ttl } => JwtKeys::from_config(&settings.jwt()).and_then(|keys| {
                let roles: Vec<String> =
                    roles.into_iter().map(|r| r.trim().to_string()).filter(|r| !r.is_empty()).collect();
                keys.mint(&sub, &roles, ttl.into(), chrono::Utc::now()).map(|t| println!("{t}"))
            }),
            Command::Seed { scale, seed, today } => {
                init_logging(&settings);
                seed_database(&settings, scale, seed, today)
            }
            Command::Schedule { at } => {
                init_logging(&settings);
                schedule_once(&settings, at)
            }
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

fn seed_database(settings: &Settings, scale: f64, seed: u64, today: Option<chrono::NaiveDate>) -> Result<(), String> {
    if !(0.00001..=10.0).contains(&scale) {
        return Err(format!("--scale must be from 0.00001 to 10, got {scale}"));
    }
    let db = pactum::startup::prepare_database(&settings.effective_database_url(), 2)?;
    let plan = pactum::seed::plan(seed, scale, today.unwrap_or_else(|| chrono::Utc::now().date_naive()));
    let started = std::time::Instant::now();
    let report = pactum::seed::run(&db, &plan).map_err(|e| e.detail)?;
    print!("{report}");
    println!("total {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn schedule_once(settings: &Settings, at: Option<chrono::DateTime<chrono::Utc>>) -> Result<(), String> {
    // Three: task generation runs on two and leaves one free.
    let db = pactum::startup::prepare_database(&settings.effective_database_url(), 3)?;
    let clock = at.map(pactum::clock::Clock::fixed).unwrap_or_else(pactum::clock::Clock::system);
    let started = std::time::Instant::now();
    let report = pactum::scheduler::run_once_timed(&db, &clock, &settings.contract_reminders, &mut |job, took| {
        println!("{job:<20} {:>9.1} ms", took.as_secs_f64() * 1000.0);
    })
    .map_err(|e| e.detail)?;
    println!("total                {:>9.1} ms", started.elapsed().as_secs_f64() * 1000.0);
    println!("{report:#?}");
    Ok(())
}
