//! Surviving faults: conflicting writers lose no update, PostgreSQL going away and coming back
//! needs no restart, and a service killed in the middle of a bulk import leaves every contract
//! document either complete or absent, ready to be imported again.

use crate::common::{settings, unused_document_store, TestApp, SECRET};
use diesel::connection::SimpleConnection;
use diesel::Connection;
use pactum::auth::jwt::KeySource;
use pactum::auth::JwtKeys;
use pactum::clock::Clock;
use pactum::startup::{self, AppState, Application};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[actix_rt::test]
async fn two_hundred_conflicting_patches_with_if_match_lose_no_update() {
    let t = TestApp::spawn().await;
    let contract = t.create_contract(json!({})).await;
    let url = format!("/api/v1/contracts/{}", contract["id"].as_str().unwrap());
    let token = t.admin();
    let patches = (0..200).map(|i| {
        t.request("PATCH", &url)
            .bearer(&token)
            .header("If-Match", "\"1\"")
            .json(json!({"title": format!("writer {i}")}))
    });
    let answers = futures_util::future::join_all(patches).await;
    let winners: Vec<_> = answers.iter().filter(|a| a.status == 200).collect();
    assert_eq!(winners.len(), 1, "{:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
    assert!(answers.iter().all(|a| a.status == 200 || a.status == 412));
    let stored = t.get(&url, &t.viewer()).await;
    assert_eq!(stored.body["version"], 2);
    assert_eq!(stored.body["title"], winners[0].body["title"]);
}

/// Data the code does not know (written behind the API, or by a newer version rolled back) is a
/// logged 500 for the one resource it is in, never a default that a later write would make true.
#[actix_rt::test]
async fn a_stored_value_the_code_does_not_know_is_a_500_not_a_default() {
    let t = TestApp::spawn().await;
    let bad = t.create_contract(json!({"status": "active"})).await;
    let good = t.create_contract(json!({"status": "active"})).await;
    let id = bad["id"].as_str().unwrap().to_string();
    let set = format!("UPDATE contracts SET status = 'archived' WHERE id = '{id}'");
    t.write_behind_the_api(move |c| c.batch_execute(&set).map(|_| 1)).await;

    let url = format!("/api/v1/contracts/{id}");
    let read = t.get(&url, &t.viewer()).await;
    read.assert_problem(500, "internal_error");
    assert!(!read.text.contains("archived"), "the cause is logged, not shown: {}", read.text);
    let patch = t.request("PATCH", &url).bearer(&t.admin()).json(json!({"title": "x"})).await;
    patch.assert_problem(500, "internal_error");
    let other = format!("/api/v1/contracts/{}", good["id"].as_str().unwrap());
    assert_eq!(t.get(&other, &t.viewer()).await.status, 200, "other contracts still read");

    // A JSON column that does not hold what its type reads is the same 500, not an empty default.
    let good_id = good["id"].as_str().unwrap().to_string();
    let set = format!("UPDATE contracts SET attributes = '[1, 2]' WHERE id = '{good_id}'");
    t.write_behind_the_api(move |c| c.batch_execute(&set).map(|_| 1)).await;
    t.get(&other, &t.viewer()).await.assert_problem(500, "internal_error");
}

#[actix_rt::test]
async fn read_modify_write_with_if_match_counts_every_increment() {
    let t = TestApp::spawn().await;
    let contract = t.create_contract(json!({"title": "0"})).await;
    let url = format!("/api/v1/contracts/{}", contract["id"].as_str().unwrap());
    let token = t.admin();
    let writer = |_| async {
        loop {
            let current = t.get(&url, &token).await;
            let n: u64 = current.body["title"].as_str().unwrap().parse().unwrap();
            let etag = current.header("etag").unwrap();
            let res = t
                .request("PATCH", &url)
                .bearer(&token)
                .header("If-Match", &etag)
                .json(json!({"title": (n + 1).to_string()}))
                .await;
            match res.status {
                200 => return,
                412 => continue,
                other => panic!("unexpected {other}: {}", res.text),
            }
        }
    };
    futures_util::future::join_all((0..20).map(writer)).await;
    let stored = t.get(&url, &t.viewer()).await;
    assert_eq!(stored.body["title"], "20");
    assert_eq!(stored.body["version"], 21);
}

/// A TCP relay to PostgreSQL that can drop every connection and refuse new ones, standing in
/// for a database that goes away and comes back, without touching the shared server.
struct Relay {
    port: u16,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relay {
    fn start(target: (String, u16)) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (up2, open2) = (up.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !up2.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect((target.0.as_str(), target.1)) else { continue };
                let mut guard = open2.lock().unwrap();
                guard.push(client.try_clone().unwrap());
                guard.push(server.try_clone().unwrap());
                drop(guard);
                for (mut from, mut to) in [(client.try_clone().unwrap(), server.try_clone().unwrap()), (server, client)]
                {
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16384];
                        while let Ok(n) = from.read(&mut buf) {
                            if n == 0 || to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        let _ = to.shutdown(Shutdown::Both);
                    });
                }
            }
        });
        Relay { port, up, open }
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// Where the shared PostgreSQL server is: TEST_DATABASE_URL, else the local default.
fn postgres_admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

#[actix_rt::test]
async fn postgres_going_away_gives_503s_and_the_service_recovers_without_restart() {
    // A database of its own on the shared server, reached only through the relay.
    let admin_url = postgres_admin_url();
    let name = format!("pactum_fault_{}", uuid::Uuid::now_v7().simple());
    let mut admin = diesel::PgConnection::establish(&admin_url).expect("PostgreSQL must run for this test");
    admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let authority = admin_url.split('@').nth(1).and_then(|r| r.split('/').next()).unwrap_or("127.0.0.1:5432");
    let (host, port) = authority.rsplit_once(':').map(|(h, p)| (h.to_string(), p.parse().unwrap())).unwrap();
    let relay = Relay::start((host, port));
    let user = admin_url.trim_start_matches("postgres://").split('@').next().unwrap_or("postgres").to_string();
    let url = format!("postgres://{user}@127.0.0.1:{}/{name}", relay.port);

    let db = startup::prepare_database(&url, 4).expect("database");
    let keys = JwtKeys::hs256(SECRET, None, None, KeySource::ConfiguredSecret);
    let token = keys.mint("alice", &["admin".into()], Duration::from_secs(600), chrono::Utc::now()).unwrap();
    let mut s = settings();
    s.database_url = Some(url.clone());
    let state =
        AppState { db, clock: Clock::system(), jwt: Arc::new(keys), settings: s, documents: unused_document_store() };
    let running = Application::new(state).workers(2).without_signals().start().unwrap();
    let base = format!("http://{}", running.addr);
    actix_web::rt::spawn(running.server);
    let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
    let create = |title: &str| {
        client
            .post(format!("{base}/api/v1/contracts"))
            .bearer_auth(&token)
            .send_json(&json!({"title": title, "contract_type": "m", "customer_ref": "C", "start_date": "2026-01-01"}))
    };
    assert_eq!(create("before").await.unwrap().status(), 201);

    // Under load while the database is away: only 503 problems, the process stays up.
    relay.down();
    let outage = Instant::now();
    let mut statuses = Vec::new();
    while outage.elapsed() < Duration::from_secs(3) {
        let mut res = client.get(format!("{base}/api/v1/contracts")).bearer_auth(&token).send().await.unwrap();
        statuses.push(res.status().as_u16());
        if res.status() == 503 {
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["code"], "database_unavailable");
        }
        statuses.push(create("during").await.unwrap().status().as_u16());
    }
    assert!(statuses.iter().all(|s| *s == 503), "{statuses:?}");
    let mut ready = client.get(format!("{base}/health/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let _ = ready.body().await;

    // Back within seconds of the database returning, same process.
    relay.up();
    let back = Instant::now();
    loop {
        let res = create("after").await.unwrap();
        if res.status() == 201 {
            break;
        }
        assert_eq!(res.status(), 503);
        assert!(back.elapsed() < Duration::from_secs(10), "not serving 10 s after the database returned");
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
    let mut list = client.get(format!("{base}/api/v1/contracts")).bearer_auth(&token).send().await.unwrap();
    let body: Value = list.json().await.unwrap();
    let titles: Vec<&str> = body["items"].as_array().unwrap().iter().map(|c| c["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["before", "after"]);
    drop(list);
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).unwrap();
}

/// One framework document per line: two call-offs, the first covering a new lift.
fn import_body(n: usize) -> String {
    let mut body = String::new();
    for i in 0..n {
        let child = |suffix: &str, installations: Value| {
            json!({"external_ref": format!("K-{i}-{suffix}"), "title": "Call-off", "contract_type": "maintenance",
                   "customer_ref": "C", "start_date": "2026-01-01", "term_months": 12, "installations": installations})
        };
        let line = json!({
            "external_ref": format!("K-{i}"), "title": "Framework", "contract_type": "framework", "customer_ref": "C",
            "start_date": "2026-01-01", "term_months": 12,
            "children": [child("A", json!([{"serial_number": format!("S-{i}"), "installation_type": "lift"}])), child("B", json!([]))]
        });
        body.push_str(&line.to_string());
        body.push('\n');
    }
    body
}

fn start_service(data: &std::path::Path, port: u16) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_pactum"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATA_DIR", data)
        .env("JWT_SECRET", SECRET)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("SCHEDULER_INTERVAL_SECS", "0")
        .current_dir(data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_ready(client: &awc::Client, base: &str) {
    let started = Instant::now();
    loop {
        if let Ok(res) = client.get(format!("{base}/health/ready")).send().await {
            if res.status() == 200 {
                return;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the service did not start");
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Contracts, and frameworks that are not complete (not exactly two call-offs, or a first
/// call-off without its lift), straight from the database file.
fn audit(db_file: &std::path::Path) -> (i64, i64) {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    use diesel::RunQueryDsl;
    let mut c = diesel::SqliteConnection::establish(db_file.to_str().unwrap()).unwrap();
    let count = |c: &mut diesel::SqliteConnection, sql: &str| diesel::sql_query(sql).get_result::<N>(c).unwrap().n;
    let total = count(&mut c, "SELECT COUNT(*) AS n FROM contracts");
    let broken = count(
        &mut c,
        "SELECT COUNT(*) AS n FROM contracts f WHERE f.parent_id IS NULL AND ( \
           (SELECT COUNT(*) FROM contracts k WHERE k.parent_id = f.id) <> 2 \
           OR NOT EXISTS (SELECT 1 FROM contracts k JOIN coverages v ON v.contract_id = k.id \
                          WHERE k.parent_id = f.id AND k.external_ref LIKE '%-A'))",
    );
    (total, broken)
}

#[actix_rt::test]
async fn a_service_killed_during_an_import_leaves_whole_documents_and_the_import_reruns() {
    let data = std::env::temp_dir().join(format!("pactum-kill-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&data).unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let keys = JwtKeys::hs256(SECRET, None, None, KeySource::ConfiguredSecret);
    let token = keys.mint("crm", &["integration".into()], Duration::from_secs(600), chrono::Utc::now()).unwrap();
    let client = awc::Client::builder().timeout(Duration::from_secs(120)).finish();
    let n = 3000;
    let body = import_body(n);

    let mut service = start_service(&data, port);
    wait_ready(&client, &base).await;
    let (c2, b2, t2, body2) = (client.clone(), base.clone(), token.clone(), body.clone());
    let import = actix_rt::spawn(async move {
        c2.post(format!("{b2}/api/v1/imports/contracts"))
            .bearer_auth(&t2)
            .insert_header(("Content-Type", "application/x-ndjson"))
            .send_body(body2)
            .await
            .map(|r| r.status().as_u16())
    });
    // Kill it hard once some documents are in.
    let db_file = data.join("pactum.db");
    let started = Instant::now();
    loop {
        let (total, _) = audit(&db_file);
        if total > 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the import never started");
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
    service.kill().unwrap();
    service.wait().unwrap();
    let _ = import.await;
    let (total, broken) = audit(&db_file);
    assert_eq!(broken, 0, "every framework is complete or absent");
    assert!(total < 3 * n as i64, "the kill came before the end ({total} contracts)");

    // Start again and re-run the same import: what was in is unchanged, the rest is created.
    let mut service = start_service(&data, port);
    wait_ready(&client, &base).await;
    let mut res = client
        .post(format!("{base}/api/v1/imports/contracts"))
        .bearer_auth(&token)
        .insert_header(("Content-Type", "application/x-ndjson"))
        .send_body(body)
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let report: Value = res.json().limit(64 * 1024 * 1024).await.unwrap();
    assert_eq!(report["failed"], 0);
    assert_eq!(report["created"].as_u64().unwrap() + report["unchanged"].as_u64().unwrap(), n as u64);
    assert_eq!(report["unchanged"].as_i64().unwrap(), total / 3);
    assert_eq!(audit(&db_file), (3 * n as i64, 0));
    service.kill().unwrap();
    service.wait().unwrap();
    let _ = std::fs::remove_dir_all(&data);
}

/// A request's write and another transaction wait for each other: the other holds the
/// installation the new coverage link refers to, the request holds the contract (shared), and
/// then the other asks for the contract. PostgreSQL breaks the deadlock by failing the
/// request's transaction (the other waits ten times longer before it looks for one); the
/// service runs it again whole, and the client sees one 201, one link and one event.
/// (SQLite has one writer at a time: nothing to break, the write simply succeeds.)
#[actix_rt::test]
async fn a_deadlock_the_database_breaks_never_reaches_the_client() {
    use diesel::prelude::*;
    let t = TestApp::spawn().await;
    let contract = t.create_contract(json!({})).await;
    let lift = t.create_installation("DEADLOCK-1", json!({})).await;
    let (c, i) = (contract["id"].as_str().unwrap().to_string(), lift["id"].as_str().unwrap().to_string());
    let mut other = None;
    if t.is_postgres() {
        let (db, i) = (t.state.db.clone(), i.clone());
        other = Some(
            actix_web::web::block(move || {
                let mut conn = db.conn().unwrap();
                conn.batch_execute(&format!(
                    "BEGIN; SET LOCAL deadlock_timeout = '10s'; \
                     SELECT 1 FROM installations WHERE id = '{i}' FOR UPDATE"
                ))
                .unwrap();
                conn
            })
            .await
            .unwrap(),
        );
    }
    let cover = t.cover(&contract, json!([{"installation_id": i}]));
    let meet = async {
        let Some(mut conn) = other else { return Ok(()) };
        let (db, c) = (t.state.db.clone(), c.clone());
        actix_web::web::block(move || {
            // Once the request waits for the installation, ask for the contract it holds.
            let mut watch = db.conn().unwrap();
            let pactum::db::DbConnection::Postgres(pg) = &mut *watch else { unreachable!() };
            let waiting = diesel::dsl::sql::<diesel::sql_types::BigInt>(
                "(SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock')",
            );
            let start = Instant::now();
            while diesel::select(waiting.clone()).get_result::<i64>(pg).unwrap() == 0 {
                assert!(start.elapsed() < Duration::from_secs(10), "the request never waited for the installation");
                std::thread::sleep(Duration::from_millis(10));
            }
            conn.batch_execute(&format!("SELECT 1 FROM contracts WHERE id = '{c}' FOR UPDATE; COMMIT")).inspect_err(|_| {
                // Not back into the pool inside the failed transaction.
                let _ = conn.batch_execute("ROLLBACK");
            })
        })
        .await
        .unwrap()
    };
    let (res, other) = futures_util::future::join(cover, meet).await;
    other.expect("the other transaction was not the one PostgreSQL failed");
    assert_eq!(res.status, 201, "{}", res.text);
    let links = t.get(&format!("/api/v1/installations/{i}/contracts"), &t.viewer()).await;
    assert_eq!(links.body["items"].as_array().unwrap().len(), 1, "{}", links.text);
    let events = t.get("/api/v1/events?entity_type=coverage", &t.viewer()).await;
    assert_eq!(
        events.body["items"].as_array().unwrap().len(),
        1,
        "one event, from the attempt that committed: {}",
        events.text
    );
    if t.is_postgres() {
        // The deadlock did happen (this test's database counts them; a backend reports its
        // figures within seconds of going idle).
        let db = t.state.db.clone();
        let deadlocks = actix_web::web::block(move || {
            let mut conn = db.conn().unwrap();
            let pactum::db::DbConnection::Postgres(pg) = &mut *conn else { unreachable!() };
            let count = diesel::dsl::sql::<diesel::sql_types::BigInt>(
                "(SELECT deadlocks FROM pg_stat_database WHERE datname = current_database())",
            );
            let start = Instant::now();
            loop {
                let n = diesel::select(count.clone()).get_result::<i64>(pg).unwrap();
                if n > 0 || start.elapsed() > Duration::from_secs(20) {
                    return n;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        })
        .await
        .unwrap();
        assert_eq!(deadlocks, 1, "the database broke exactly one deadlock");
    }
}

/// Two writes beside each other lock two contracts in opposite orders. PostgreSQL breaks the
/// deadlock by failing one of them; that one runs again whole and succeeds, so neither caller
/// sees it. (SQLite has one writer at a time: no deadlock, each runs once.)
#[actix_rt::test]
async fn a_write_the_database_gave_up_on_runs_again_whole() {
    let t = TestApp::spawn().await;
    let a = t.create_contract(json!({})).await["id"].as_str().unwrap().to_string();
    let b = t.create_contract(json!({})).await["id"].as_str().unwrap().to_string();
    let meet = t.is_postgres();
    let barrier = Arc::new(std::sync::Barrier::new(2));
    let attempts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writers: Vec<_> = [(a.clone(), b.clone()), (b.clone(), a.clone())]
        .into_iter()
        .map(|(first, second)| {
            let (db, barrier, attempts) = (t.state.db.clone(), barrier.clone(), attempts.clone());
            std::thread::spawn(move || {
                let mut mine = 0;
                db.write_blocking(|c| {
                    mine += 1;
                    attempts.fetch_add(1, Ordering::SeqCst);
                    let touch = |c: &mut pactum::db::DbConnection, id: &str| {
                        c.batch_execute(&format!("UPDATE contracts SET title = title || '.' WHERE id = '{id}'"))
                            .map_err(pactum::http::ApiError::from)
                    };
                    touch(c, &first)?;
                    if meet && mine == 1 {
                        barrier.wait();
                    }
                    touch(c, &second)
                })
            })
        })
        .collect();
    let results = actix_web::web::block(move || writers.into_iter().map(|w| w.join().unwrap()).collect::<Vec<_>>())
        .await
        .unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let expected = if meet { 3 } else { 2 };
    assert_eq!(attempts.load(Ordering::SeqCst), expected, "one of them ran again whole on PostgreSQL");
    for id in [&a, &b] {
        let c = t.get(&format!("/api/v1/contracts/{id}"), &t.viewer()).await;
        assert!(c.body["title"].as_str().unwrap().ends_with(".."), "both writes took effect once: {}", c.text);
    }
}
