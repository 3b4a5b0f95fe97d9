#![allow(dead_code)] // each test module uses a different part of the harness
//! Test harness: every test gets the real service on a real port, on a fresh database of its
//! own (a new SQLite file, or with TEST_DATABASE_URL a new PostgreSQL database cloned from a
//! migrated template), with a clock the test controls.

use chrono::{DateTime, TimeZone, Utc};
use diesel::connection::SimpleConnection;
use diesel::Connection;
use pactum::auth::jwt::KeySource;
use pactum::auth::JwtKeys;
use pactum::clock::Clock;
use pactum::config::Settings;
use pactum::documents::storage::DocumentStore;
use pactum::startup::{AppState, Application};
use pactum::webhooks::model::AllowedRanges;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

/// The HS256 secret of the test service (at least 32 bytes, as the service requires).
pub const SECRET: &str = "test-secret-0123456789abcdef-0123456789";

/// The instant every test starts at, unless it moves the clock.
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 15, 10, 0, 0).unwrap()
}

/// Where a test's database lives; removed when the test ends.
enum TestDb {
    Sqlite(PathBuf),
    Postgres { admin_url: String, name: String },
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match self {
            TestDb::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            TestDb::Postgres { admin_url, name } => {
                if let Ok(mut c) = diesel::PgConnection::establish(admin_url) {
                    let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            }
        }
    }
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let (prefix, _) = base.rsplit_once('/').expect("TEST_DATABASE_URL needs a database path");
    format!("{prefix}/{name}{query}")
}

/// Creates (once per test process) a migrated template database and returns its name.
fn postgres_template(admin_url: &str) -> String {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            // The name carries a hash of the migrations, so a changed schema gets a new template.
            let mut files: Vec<PathBuf> = walk(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres"));
            files.sort();
            let mut hash: u64 = 0xcbf29ce484222325;
            for f in files {
                for b in std::fs::read(&f).unwrap().iter().chain(f.to_string_lossy().as_bytes()) {
                    hash = (hash ^ *b as u64).wrapping_mul(0x100000001b3);
                }
            }
            let name = format!("pactum_tpl_{hash:016x}");
            let mut admin = diesel::PgConnection::establish(admin_url).expect("connect to TEST_DATABASE_URL");
            #[derive(diesel::QueryableByName)]
            struct Found {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            use diesel::RunQueryDsl;
            let found: Found = diesel::sql_query("SELECT COUNT(*) AS n FROM pg_database WHERE datname = $1")
                .bind::<diesel::sql_types::Text, _>(&name)
                .get_result(&mut admin)
                .unwrap();
            if found.n == 0 {
                let building = format!("{name}_build_{}", std::process::id());
                admin.batch_execute(&format!("DROP DATABASE IF EXISTS {building}")).unwrap();
                admin.batch_execute(&format!("CREATE DATABASE {building}")).unwrap();
                {
                    let url = with_database(admin_url, &building);
                    let mut conn = pactum::db::DbManager::new(&url).establish().unwrap();
                    pactum::db::migrations::run(&mut conn).unwrap();
                }
                // A rename makes the finished template appear atomically to other test processes.
                if admin.batch_execute(&format!("ALTER DATABASE {building} RENAME TO {name}")).is_err() {
                    let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {building}"));
                }
            }
            name
        })
        .clone()
}

fn walk(dir: PathBuf) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(walk(p));
        } else {
            out.push(p);
        }
    }
    out
}

fn fresh_database() -> (String, TestDb) {
    match std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
        Some(admin_url) => {
            let template = postgres_template(&admin_url);
            let name = format!("pactum_t_{}", uuid::Uuid::now_v7().simple());
            let mut admin = diesel::PgConnection::establish(&admin_url).unwrap();
            let mut attempt = 0;
            // Two clones of one template at the same instant can collide; try again briefly.
            while let Err(e) = admin.batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}")) {
                attempt += 1;
                assert!(attempt < 50, "cannot create test database: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
            (with_database(&admin_url, &name), TestDb::Postgres { admin_url, name })
        }
        None => {
            let dir = std::env::temp_dir().join(format!("pactum-test-{}", uuid::Uuid::now_v7().simple()));
            std::fs::create_dir_all(&dir).unwrap();
            (dir.join("pactum.db").to_string_lossy().into_owned(), TestDb::Sqlite(dir))
        }
    }
}

pub fn settings() -> Settings {
    Settings {
        bind_addr: "127.0.0.1:0".into(),
        database_url: None,
        data_dir: std::env::temp_dir(),
        db_pool_size: 4,
        jwt_secret: Some(SECRET.into()),
        jwt_public_key_file: None,
        jwt_issuer: None,
        jwt_audience: None,
        jwt_allow_any_audience: false,
        body_limit_bytes: 1024 * 1024,
        event_data_max_bytes: 32 * 1024,
        import_max_lines: 20_000,
        contract_number_pattern: "C-{YYYY}-{SEQ:6}".into(),
        log_format: "text".into(),
        scheduler_interval_secs: 0,
        shutdown_timeout_secs: 1,
        default_service_level: None,
        sla_at_risk_share: 0.25,
        webhook_dispatch_interval_secs: 0,
        webhook_timeout_secs: 5,
        webhook_retry_base_secs: 10,
        webhook_retry_max_secs: 3600,
        // The webhook tests deliver to receivers on this host; the service refuses loopback
        // unless told otherwise, so the harness allows it explicitly.
        webhook_allow_private: AllowedRanges::parse("127.0.0.0/8,::1/128").unwrap(),
        webhook_lanes: 8,
        webhook_pause_after_hours: 72,
        contract_reminders: pactum::contracts::model::ReminderDefaults::default(),
        // Each test's documents go to a folder of its own (see TestApp::spawn_with).
        document_store_url: None,
        document_store_endpoint: None,
        document_max_bytes: pactum::config::DEFAULT_DOCUMENT_MAX_BYTES,
        document_content_types: pactum::config::default_document_content_types(),
        document_retention_days: None,
    }
}

/// The document store of a test that uploads nothing.
pub fn unused_document_store() -> DocumentStore {
    DocumentStore::folder(&std::env::temp_dir().join("pactum-test-documents")).unwrap()
}

/// A test's own folder (its documents), removed when the test ends.
pub struct TempFolder(pub PathBuf);

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running service for one test.
pub struct TestApp {
    pub base: String,
    pub clock: Clock,
    pub state: AppState,
    /// The data folder of the test (documents live in its `documents` folder by default).
    pub files: TempFolder,
    client: awc::Client,
    _db: TestDb,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {}).await
    }

    /// Starts the service with adjusted settings (JWT options, body limit, number pattern).
    pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let (url, db) = fresh_database();
        let mut settings = settings();
        settings.database_url = Some(url.clone());
        let files = TempFolder(std::env::temp_dir().join(format!("pactum-files-{}", uuid::Uuid::now_v7().simple())));
        settings.data_dir = files.0.clone();
        adjust(&mut settings);
        let state = AppState::prepare(settings, Clock::fixed(start_time())).expect("application state");
        let clock = state.clock.clone();
        let running = Application::new(state.clone()).workers(1).without_signals().start().expect("server");
        let addr = running.addr;
        actix_web::rt::spawn(running.server);
        let client = awc::Client::builder().timeout(Duration::from_secs(60)).finish();
        TestApp { base: format!("http://{addr}"), clock, state, files, client, _db: db }
    }

    /// A token signed with the test secret.
    pub fn token(&self, sub: &str, roles: &[&str]) -> String {
        let keys = JwtKeys::hs256(SECRET, None, None, KeySource::ConfiguredSecret);
        let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        keys.mint(sub, &roles, Duration::from_secs(3600), Utc::now()).unwrap()
    }

    pub fn admin(&self) -> String {
        self.token("admin-user", &["admin"])
    }

    pub fn manager(&self) -> String {
        self.token("maria", &["contract_manager"])
    }

    pub fn viewer(&self) -> String {
        self.token("victor", &["viewer"])
    }

    pub fn request(&self, method: &str, path: &str) -> Req {
        let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
        Req { inner: self.client.request(method, format!("{}{path}", self.base)) }
    }

    pub async fn get(&self, path: &str, token: &str) -> Res {
        self.request("GET", path).bearer(token).send().await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Res {
        self.request("POST", path).bearer(token).json(body).await
    }

    /// POSTs as a retry-safe client does, with a fresh Idempotency-Key.
    pub async fn post_once(&self, path: &str, token: &str, body: Value) -> Res {
        let key = uuid::Uuid::new_v4().to_string();
        self.request("POST", path).bearer(token).header("Idempotency-Key", &key).json(body).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Res {
        self.request("PATCH", path).bearer(token).json(body).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Res {
        self.request("DELETE", path).bearer(token).send().await
    }

    /// POSTs a chunked body that never ends over a plain socket, as a client streaming an
    /// upload does, and reads meanwhile. Returns the answer's status code and whether the
    /// service closed the connection after it, both within 20 seconds.
    pub async fn endless_upload(&self, path: &str, token: &str, content_type: &str) -> (Option<u16>, bool) {
        use std::io::{Read, Write};
        let addr = self.base.trim_start_matches("http://").to_string();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: {content_type}\r\n\
             Idempotency-Key: {path}\r\nTransfer-Encoding: chunked\r\n\r\n"
        );
        actix_web::rt::task::spawn_blocking(move || {
            let mut reader = std::net::TcpStream::connect(&addr).unwrap();
            reader.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            let mut writer = reader.try_clone().unwrap();
            std::thread::spawn(move || {
                let chunk = [b"4000\r\n".as_slice(), &[b'x'; 0x4000], b"\r\n"].concat();
                if writer.write_all(head.as_bytes()).is_ok() {
                    while writer.write_all(&chunk).is_ok() {}
                }
            });
            let (mut answer, mut buf) = (Vec::new(), [0u8; 4096]);
            let closed = loop {
                match reader.read(&mut buf) {
                    Ok(0) => break true,
                    Ok(n) => answer.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
                    Err(_) => break false,
                }
            };
            let status = String::from_utf8_lossy(&answer).split(' ').nth(1).and_then(|s| s.parse().ok());
            (status, closed)
        })
        .await
        .unwrap()
    }

    /// Runs the background jobs once, at the test clock's time.
    pub async fn run_scheduler(&self) -> pactum::scheduler::PassReport {
        let (db, clock) = (self.state.db.clone(), self.clock.clone());
        let reminders = self.state.settings.contract_reminders.clone();
        actix_web::web::block(move || pactum::scheduler::run_once(&db, &clock, &reminders)).await.unwrap().unwrap()
    }

    /// Creates a contract with sensible defaults overridden by `fields`; returns its body.
    pub async fn create_contract(&self, fields: Value) -> Value {
        let mut body = serde_json::json!({
            "title": "Maintenance of lifts",
            "contract_type": "maintenance",
            "customer_ref": "CUST-1",
            "start_date": "2026-01-01",
            "term_months": 12,
        });
        for (k, v) in fields.as_object().unwrap() {
            body[k] = v.clone();
        }
        let res = self.post("/api/v1/contracts", &self.admin(), body).await;
        assert_eq!(res.status, 201, "create contract: {}", res.body);
        res.body
    }

    /// Defines an attribute as admin; returns its body.
    pub async fn define_attribute(&self, fields: Value) -> Value {
        let res = self.post("/api/v1/attribute-definitions", &self.admin(), fields).await;
        assert_eq!(res.status, 201, "define attribute: {}", res.body);
        res.body
    }
}

/// A request being built.
pub struct Req {
    inner: awc::ClientRequest,
}

impl Req {
    pub fn bearer(mut self, token: &str) -> Req {
        self.inner = self.inner.insert_header(("Authorization", format!("Bearer {token}")));
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Req {
        self.inner = self.inner.insert_header((name, value));
        self
    }

    pub async fn send(self) -> Res {
        Res::read(self.inner.send().await.expect("request failed")).await
    }

    pub async fn json(self, body: Value) -> Res {
        Res::read(self.inner.send_json(&body).await.expect("request failed")).await
    }

    /// Sends raw bytes with the given content type.
    pub async fn body(self, content_type: &str, bytes: impl Into<Vec<u8>>) -> Res {
        let bytes: Vec<u8> = bytes.into();
        Res::read(
            self.inner.insert_header(("Content-Type", content_type)).send_body(bytes).await.expect("request failed"),
        )
        .await
    }
}

/// A response read whole: status, headers and the body (JSON when it parses, else a string).
pub struct Res {
    pub status: u16,
    pub headers: awc::http::header::HeaderMap,
    pub body: Value,
    pub text: String,
    /// The body as received (downloads are not text).
    pub bytes: actix_web::web::Bytes,
}

impl Res {
    async fn read<S>(mut r: awc::ClientResponse<S>) -> Res
    where
        S: futures_util::Stream<Item = Result<actix_web::web::Bytes, awc::error::PayloadError>> + Unpin,
    {
        let bytes = r.body().limit(64 * 1024 * 1024).await.expect("read body");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Res {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            body: serde_json::from_slice(&bytes).unwrap_or(Value::String(text.clone())),
            text,
            bytes,
        }
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
    }

    /// Asserts a problem+json answer with this status and code.
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "expected {status} {code}, got: {}", self.text);
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/problem+json"),
            "problem content type for {}",
            self.text
        );
        assert_eq!(self.body["code"], code, "problem code in {}", self.text);
        assert_eq!(self.body["status"], status);
        assert!(self.body["title"].is_string() && self.body["detail"].is_string() && self.body["type"].is_string());
    }

    /// The `field` of each entry of a 422's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| a.iter().map(|e| e["field"].as_str().unwrap_or("").to_string()).collect())
            .unwrap_or_default()
    }
}

/// Installation and coverage helpers.
impl TestApp {
    /// Registers an installation with sensible defaults overridden by `fields`, as a
    /// contract manager; returns its body.
    pub async fn create_installation(&self, serial_number: &str, fields: Value) -> Value {
        let mut body = serde_json::json!({
            "serial_number": serial_number,
            "name": format!("Installation {serial_number}"),
            "installation_type": "lift",
            "customer_ref": "CUST-1",
        });
        for (k, v) in fields.as_object().unwrap() {
            body[k] = v.clone();
        }
        let res = self.post("/api/v1/installations", &self.manager(), body).await;
        assert_eq!(res.status, 201, "create installation: {}", res.text);
        res.body
    }

    /// POSTs coverage items for a contract as a contract manager.
    pub async fn cover(&self, contract: &Value, items: Value) -> Res {
        let url = format!("/api/v1/contracts/{}/installations", contract["id"].as_str().unwrap());
        self.post(&url, &self.manager(), serde_json::json!({ "installations": items })).await
    }

    /// Asks whether an installation is covered on a day; asserts 200 and returns the answer.
    pub async fn coverage_at(&self, installation: &Value, day: &str) -> Value {
        let url = format!("/api/v1/installations/{}/coverage?at={day}", installation["id"].as_str().unwrap());
        let res = self.get(&url, &self.viewer()).await;
        assert_eq!(res.status, 200, "coverage at {day}: {}", res.text);
        res.body
    }
}

/// Obligation and worklist helpers.
impl TestApp {
    /// Adds an obligation to a contract as a contract manager: by default a monthly schedule
    /// for the role `crew`; `fields` override it, and a `null` field is left out. Asserts 201.
    pub async fn create_obligation(&self, contract: &Value, fields: Value) -> Value {
        let mut body = serde_json::json!({
            "title": "Preventive maintenance",
            "kind": "preventive_maintenance",
            "assignee": {"role": "crew"},
            "schedule": {"rrule": "FREQ=MONTHLY"},
        });
        for (k, v) in fields.as_object().unwrap() {
            if v.is_null() {
                body.as_object_mut().unwrap().remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        let url = format!("/api/v1/contracts/{}/obligations", contract["id"].as_str().unwrap());
        let res = self.post(&url, &self.manager(), body).await;
        assert_eq!(res.status, 201, "create obligation: {}", res.text);
        res.body
    }

    /// Every task of the worklist for `query` (e.g. `status=open&assignee=me`), following
    /// `next_cursor` to the end; asserts each page is a 200.
    pub async fn all_tasks(&self, query: &str, token: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!("/api/v1/tasks?limit=500&{query}");
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let res = self.get(&url, token).await;
            assert_eq!(res.status, 200, "GET {url}: {}", res.text);
            out.extend(res.body["items"].as_array().unwrap().iter().cloned());
            match res.body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return out,
            }
        }
    }

    /// Runs one raw write behind the service's back (a state the API cannot produce: a broken
    /// stored rule, a half-finished idempotency key, a URL written by hand).
    pub async fn write_behind_the_api(
        &self,
        mut write: impl FnMut(&mut pactum::db::DbConnection) -> diesel::QueryResult<usize> + Send + 'static,
    ) {
        let db = self.state.db.clone();
        actix_web::web::block(move || db.write_blocking(|c| write(c).map_err(pactum::http::ApiError::from)))
            .await
            .unwrap()
            .unwrap();
    }

    /// Whether the service under test runs on PostgreSQL (else SQLite).
    pub fn is_postgres(&self) -> bool {
        self.state.db.backend() == pactum::db::Backend::Postgres
    }

    /// Sets an obligation's stored rule behind the service's back: a rule that does not parse
    /// makes its generation fail, a good one mends it.
    pub async fn set_stored_rrule(&self, obligation: &Value, rule: &str) {
        use diesel::RunQueryDsl;
        let (id, rule) = (obligation["id"].as_str().unwrap().to_string(), rule.to_string());
        self.write_behind_the_api(move |c| {
            diesel::sql_query("UPDATE obligations SET rrule = $1 WHERE id = $2")
                .bind::<diesel::sql_types::Text, _>(&rule)
                .bind::<diesel::sql_types::Text, _>(&id)
                .execute(c)
        })
        .await;
    }

    /// The tasks of an obligation, earliest due first (as a viewer).
    pub async fn tasks_of(&self, obligation: &Value) -> Vec<Value> {
        self.all_tasks(&format!("obligation_id={}", obligation["id"].as_str().unwrap()), &self.viewer()).await
    }
}
