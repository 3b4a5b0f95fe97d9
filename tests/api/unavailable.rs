//! With the database unreachable the service keeps answering: 503 problems, never a crash.

use crate::common::{settings, unused_document_store, SECRET};
use pactum::auth::jwt::KeySource;
use pactum::auth::JwtKeys;
use pactum::clock::Clock;
use pactum::db::Db;
use pactum::startup::{AppState, Application};
use std::sync::Arc;

#[actix_web::test]
async fn an_unreachable_database_gives_503_problems() {
    // Nothing listens on port 1: every connection attempt is refused.
    let db = Db::new("postgres://postgres@127.0.0.1:1/none", 2);
    let keys = JwtKeys::hs256(SECRET, None, None, KeySource::ConfiguredSecret);
    let token = keys.mint("alice", &["admin".into()], std::time::Duration::from_secs(60), chrono::Utc::now()).unwrap();
    let state = AppState {
        db,
        clock: Clock::system(),
        jwt: Arc::new(keys),
        settings: settings(),
        documents: unused_document_store(),
    };
    let running = Application::new(state).workers(1).without_signals().start().unwrap();
    let base = format!("http://{}", running.addr);
    actix_web::rt::spawn(running.server);
    let client = awc::Client::builder().timeout(std::time::Duration::from_secs(30)).finish();

    let mut live = client.get(format!("{base}/health/live")).send().await.unwrap();
    assert_eq!(live.status(), 200);
    assert_eq!(live.body().await.unwrap(), r#"{"status":"live"}"#);

    for path in ["/health/ready", "/api/v1/contracts"] {
        let mut res = client.get(format!("{base}{path}")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(res.status(), 503, "{path}");
        assert_eq!(res.headers().get("content-type").unwrap(), "application/problem+json");
        assert!(res.headers().get("retry-after").is_some());
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["code"], "database_unavailable");
    }
}
