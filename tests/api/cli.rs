//! The `pactum` command itself: clear start-up errors, minted tokens, the printed spec, and a
//! clean stop on SIGTERM.

use pactum::auth::jwt::KeySource;
use pactum::auth::JwtKeys;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CLI_SECRET: &str = "cli-secret-0123456789abcdef0123456789";

fn pactum() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pactum"));
    // A stray .env or outer settings must not leak into these runs.
    let data = std::env::temp_dir().join(format!("pactum-cli-{}", uuid::Uuid::now_v7().simple()));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATA_DIR", &data)
        .env("JWT_SECRET", CLI_SECRET)
        .current_dir(std::env::temp_dir());
    cmd
}

#[test]
fn an_unreachable_database_is_one_clear_error_line_and_exit_code_1() {
    let out = pactum().env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].starts_with("error: cannot connect to PostgreSQL:"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn token_mints_a_jwt_the_service_accepts() {
    let out = pactum()
        .args(["token", "--sub", "alice", "--roles", "contract_manager,pension-desk", "--ttl", "8h"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap();
    let claims = JwtKeys::hs256(CLI_SECRET, None, None, KeySource::ConfiguredSecret).verify(token.trim()).unwrap();
    assert_eq!(claims.sub, "alice");
    assert_eq!(claims.roles, vec!["contract_manager".to_string(), "pension-desk".to_string()]);
    let ttl = claims.exp - chrono::Utc::now().timestamp();
    assert!((8 * 3600 - 60..=8 * 3600).contains(&ttl), "ttl {ttl}");
}

#[test]
fn openapi_prints_the_document() {
    let out = pactum().arg("openapi").output().unwrap();
    assert!(out.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let generated: serde_json::Value = serde_json::from_str(&pactum::startup::openapi().to_json().unwrap()).unwrap();
    assert_eq!(printed, generated);
}

#[test]
fn serve_runs_on_sqlite_without_setup_and_stops_cleanly_on_sigterm() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = pactum()
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("SCHEDULER_INTERVAL_SECS", "0")
        .env("SHUTDOWN_TIMEOUT_SECS", "5")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let ready = loop {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            s.write_all(b"GET /health/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
            let mut answer = String::new();
            let _ = s.read_to_string(&mut answer);
            break answer;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the service did not start");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the service did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "exit status {status:?}");
}

#[test]
fn seed_fills_an_empty_database_reproducibly_and_refuses_a_full_one() {
    let dirs: Vec<std::path::PathBuf> =
        (0..2).map(|_| std::env::temp_dir().join(format!("pactum-seed-{}", uuid::Uuid::now_v7().simple()))).collect();
    let mut dumps = Vec::new();
    for dir in &dirs {
        let out = pactum()
            .env("DATA_DIR", dir)
            .args(["seed", "--scale", "0.0005", "--seed", "7", "--today", "2026-06-15"])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        for (table, rows) in
            [("contracts", 500), ("installations", 500), ("obligations", 50), ("tasks", 5000), ("dossiers", 500)]
        {
            assert!(
                stdout.lines().any(|l| l.split_whitespace().take(2).eq([table, &rows.to_string()])),
                "{table} {rows}: {stdout}"
            );
        }
        use diesel::{Connection, RunQueryDsl};
        #[derive(diesel::QueryableByName, Debug, PartialEq)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            line: String,
        }
        let mut c = diesel::SqliteConnection::establish(dir.join("pactum.db").to_str().unwrap()).unwrap();
        let rows: Vec<Row> = diesel::sql_query(
            "SELECT id || number || status || COALESCE(parent_id, '') || attributes AS line FROM contracts \
             UNION ALL SELECT id || type_key || owner_name || attributes FROM dossiers \
             UNION ALL SELECT dossier_id || due_on FROM dossier_date_triggers ORDER BY 1",
        )
        .load(&mut c)
        .unwrap();
        dumps.push(rows);
    }
    assert_eq!(dumps[0], dumps[1], "the same seed gives the same data");

    // A scheduler pass on the seeded data fires exactly the retirement rules that came due.
    let due = dumps[0].iter().filter(|r| r.line.len() == 46 && &r.line[36..] <= "2026-06-15").count();
    let pass = |expect: usize| {
        let out =
            pactum().env("DATA_DIR", &dirs[0]).args(["schedule", "--at", "2026-06-15T12:00:00Z"]).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("dossier date rules") && stdout.contains("total"), "{stdout}");
        assert!(stdout.contains(&format!("date_rules_fired: {expect},")), "{expect} fired: {stdout}");
    };
    assert!(due > 0, "the seed leaves some retirement rules due");
    pass(due);
    pass(0);
    let again = pactum().env("DATA_DIR", &dirs[0]).args(["seed", "--scale", "0.0005"]).output().unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds contracts"));
    for dir in dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Starts `pactum serve` with `cmd`'s environment on a free port and waits up to 15 s for it
/// to stop by itself; a service that starts anyway is stopped and the test fails.
fn refuses_to_start(mut cmd: Command) -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = cmd
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("SCHEDULER_INTERVAL_SECS", "0")
        .env("WEBHOOK_DISPATCH_INTERVAL_SECS", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the service started with a configuration it should refuse");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one clear error line: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    errors[0].to_string()
}

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

#[test]
fn a_short_jwt_secret_is_refused_at_start_and_by_token() {
    let mut cmd = pactum();
    cmd.env("JWT_SECRET", "a");
    let error = refuses_to_start(cmd);
    assert!(error.contains("JWT_SECRET") && error.contains("32 bytes"), "{error}");
    assert!(!error.contains("\"a\""), "the secret itself is never printed: {error}");
    // 31 bytes is one too few; `pactum token` refuses too and prints no token.
    let out = pactum().env("JWT_SECRET", "x".repeat(31)).args(["token", "--sub", "alice"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stderr).contains("32 bytes"));
}

#[test]
fn a_public_key_without_an_audience_is_refused_at_start_unless_any_audience_is_allowed() {
    let mut cmd = pactum();
    cmd.env_remove("JWT_SECRET").env("JWT_PUBLIC_KEY_FILE", fixture("rsa-public.pem"));
    let error = refuses_to_start(cmd);
    assert!(error.contains("JWT_AUDIENCE") && error.contains("JWT_ALLOW_ANY_AUDIENCE"), "{error}");
    // With an audience, or told on purpose to take any, the same key is fine.
    for (name, value) in [("JWT_AUDIENCE", "pactum"), ("JWT_ALLOW_ANY_AUDIENCE", "true")] {
        let out = pactum()
            .env_remove("JWT_SECRET")
            .env("JWT_PUBLIC_KEY_FILE", fixture("rsa-public.pem"))
            .env(name, value)
            .arg("openapi")
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}={value}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let out = pactum()
        .env_remove("JWT_SECRET")
        .env("JWT_PUBLIC_KEY_FILE", fixture("rsa-public.pem"))
        .env("JWT_ALLOW_ANY_AUDIENCE", "maybe")
        .arg("openapi")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("JWT_ALLOW_ANY_AUDIENCE=\"maybe\" is not a valid value"));
}
