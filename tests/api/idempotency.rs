//! Idempotency-Key on POST: retries replay the first answer without doing the work again, a
//! reused key with another body is refused, concurrent duplicates do the work once, keys are
//! per caller and expire after 24 hours.

use crate::common::{start_time, TestApp};
use chrono::Duration;
use serde_json::{json, Value};

fn contract(title: &str) -> Value {
    json!({"title": title, "contract_type": "maintenance", "customer_ref": "CUST-1", "start_date": "2026-01-01"})
}

async fn post_with_key(t: &TestApp, token: &str, key: &str, body: Value) -> crate::common::Res {
    t.request("POST", "/api/v1/contracts").bearer(token).header("Idempotency-Key", key).json(body).await
}

async fn contract_count(t: &TestApp) -> usize {
    let res = t.get("/api/v1/contracts?limit=500", &t.viewer()).await;
    res.body["items"].as_array().unwrap().len()
}

async fn contract_events(t: &TestApp) -> usize {
    let res = t.get("/api/v1/events?entity_type=contract&limit=500", &t.viewer()).await;
    res.body["items"].as_array().unwrap().len()
}

#[actix_rt::test]
async fn a_retry_with_the_same_key_replays_the_first_answer() {
    let t = TestApp::spawn().await;
    let first = post_with_key(&t, &t.admin(), "key-1", contract("Lifts")).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.header("idempotent-replayed"), None);
    let retry = post_with_key(&t, &t.admin(), "key-1", contract("Lifts")).await;
    assert_eq!(retry.status, 201);
    assert_eq!(retry.body, first.body);
    assert_eq!(retry.header("location"), first.header("location"));
    assert_eq!(retry.header("etag"), first.header("etag"));
    assert_eq!(retry.header("content-type").as_deref(), Some("application/json"));
    assert_eq!(retry.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(contract_count(&t).await, 1);
    assert_eq!(contract_events(&t).await, 1);
    // Without a key every POST does the work.
    let res = t.post("/api/v1/contracts", &t.admin(), contract("Lifts")).await;
    assert_eq!(res.status, 201);
    assert_eq!(contract_count(&t).await, 2);
}

#[actix_rt::test]
async fn the_same_key_with_another_body_is_refused_and_changes_nothing() {
    let t = TestApp::spawn().await;
    assert_eq!(post_with_key(&t, &t.admin(), "key-1", contract("Lifts")).await.status, 201);
    let res = post_with_key(&t, &t.admin(), "key-1", contract("Boilers")).await;
    res.assert_problem(422, "idempotency_key_reused");
    // Another path is another request too.
    let res = t
        .request("POST", "/api/v1/installations")
        .bearer(&t.admin())
        .header("Idempotency-Key", "key-1")
        .json(json!({"serial_number": "S-1", "name": "n", "installation_type": "lift", "customer_ref": "C"}))
        .await;
    res.assert_problem(422, "idempotency_key_reused");
    assert_eq!(contract_count(&t).await, 1);
}

#[actix_rt::test]
async fn keys_belong_to_their_caller() {
    let t = TestApp::spawn().await;
    let alice = t.token("alice", &["contract_manager"]);
    let bob = t.token("bob", &["contract_manager"]);
    let a = post_with_key(&t, &alice, "shared", contract("Lifts")).await;
    let b = post_with_key(&t, &bob, "shared", contract("Lifts")).await;
    assert_eq!((a.status, b.status), (201, 201));
    assert_ne!(a.body["id"], b.body["id"]);
    assert_eq!(contract_count(&t).await, 2);
}

#[actix_rt::test]
async fn concurrent_duplicates_do_the_work_once() {
    let t = TestApp::spawn().await;
    let token = t.admin();
    let requests = (0..8).map(|_| post_with_key(&t, &token, "burst", contract("Lifts")));
    let answers = futures_util::future::join_all(requests).await;
    for a in &answers {
        assert_eq!(a.status, 201, "{}", a.text);
        assert_eq!(a.body["id"], answers[0].body["id"]);
    }
    assert_eq!(answers.iter().filter(|a| a.header("idempotent-replayed").is_none()).count(), 1);
    assert_eq!(contract_count(&t).await, 1);
    assert_eq!(contract_events(&t).await, 1);
}

#[actix_rt::test]
async fn refusals_are_kept_and_bad_keys_are_refused() {
    let t = TestApp::spawn().await;
    let bad = json!({"title": "No type", "customer_ref": "C", "start_date": "2026-01-01"});
    let first = post_with_key(&t, &t.admin(), "k", bad.clone()).await;
    assert_eq!(first.status, 422);
    let again = post_with_key(&t, &t.admin(), "k", bad).await;
    assert_eq!((again.status, again.body.clone()), (422, first.body.clone()));
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    post_with_key(&t, &t.admin(), "has space", contract("x")).await.assert_problem(400, "invalid_idempotency_key");
    post_with_key(&t, &t.admin(), &"k".repeat(256), contract("x")).await.assert_problem(400, "invalid_idempotency_key");
    // No token: the usual 401, nothing remembered.
    let res = t.request("POST", "/api/v1/contracts").header("Idempotency-Key", "z").json(contract("x")).await;
    assert_eq!(res.status, 401);
    assert_eq!(contract_count(&t).await, 0);
}

#[actix_rt::test]
async fn keys_expire_after_a_day() {
    let t = TestApp::spawn().await;
    assert_eq!(post_with_key(&t, &t.admin(), "daily", contract("Lifts")).await.status, 201);
    t.clock.set(start_time() + Duration::hours(23));
    let report = t.run_scheduler().await;
    assert_eq!(report.idempotency_keys_purged, 0);
    post_with_key(&t, &t.admin(), "daily", contract("Boilers")).await.assert_problem(422, "idempotency_key_reused");
    t.clock.set(start_time() + Duration::hours(25));
    assert_eq!(t.run_scheduler().await.idempotency_keys_purged, 1);
    assert_eq!(post_with_key(&t, &t.admin(), "daily", contract("Boilers")).await.status, 201);
    assert_eq!(contract_count(&t).await, 2);
}

/// Puts the stored key in `state`, as a process that stopped at that point would leave it.
async fn force_state(t: &TestApp, owner: &str, key: &str, state: &'static str) {
    use diesel::RunQueryDsl;
    let (owner, key) = (owner.to_string(), key.to_string());
    t.write_behind_the_api(move |c| {
        diesel::sql_query(
            "UPDATE idempotency_keys SET state = $1, response_status = NULL, response_body = NULL \
             WHERE owner = $2 AND idempotency_key = $3",
        )
        .bind::<diesel::sql_types::Text, _>(state)
        .bind::<diesel::sql_types::Text, _>(&owner)
        .bind::<diesel::sql_types::Text, _>(&key)
        .execute(c)
    })
    .await;
}

#[actix_rt::test]
async fn work_done_but_answer_lost_is_never_done_again() {
    let t = TestApp::spawn().await;
    assert_eq!(post_with_key(&t, &t.admin(), "crash", contract("Lifts")).await.status, 201);
    // The process stopped after the work committed, before the answer was stored.
    force_state(&t, "admin-user", "crash", "committed").await;
    t.clock.set(start_time() + Duration::minutes(5));
    let retry = post_with_key(&t, &t.admin(), "crash", contract("Lifts")).await;
    retry.assert_problem(409, "idempotency_key_answer_lost");
    assert_eq!(contract_count(&t).await, 1);
}

#[actix_rt::test]
async fn a_first_request_that_died_before_its_work_lets_a_retry_do_it() {
    let t = TestApp::spawn().await;
    let body = contract("Lifts");
    assert_eq!(post_with_key(&t, &t.admin(), "died", body.clone()).await.status, 201);
    // Pretend the first attempt died before committing anything: the key is still pending and
    // no contract exists for it (the one made above is removed).
    force_state(&t, "admin-user", "died", "pending").await;
    let id = t.get("/api/v1/contracts", &t.viewer()).await.body["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(t.delete(&format!("/api/v1/contracts/{id}"), &t.admin()).await.status, 204);
    // While its lease runs a retry waits and then gives up; after it, the retry does the work.
    t.clock.set(start_time() + Duration::minutes(5));
    let retry = post_with_key(&t, &t.admin(), "died", body).await;
    assert_eq!(retry.status, 201, "{}", retry.text);
    assert_eq!(retry.header("idempotent-replayed"), None);
    assert_eq!(contract_count(&t).await, 1);
}

#[actix_rt::test]
async fn a_streamed_import_is_replayed_for_the_same_body_only() {
    let t = TestApp::spawn().await;
    let line = |ext: &str| {
        json!({"external_ref": ext, "title": "T", "contract_type": "m", "customer_ref": "C", "start_date": "2026-01-01"})
            .to_string()
    };
    let body = format!("{}\n{}\n", line("E-1"), line("E-2"));
    let import = |key: &'static str, body: String| {
        t.request("POST", "/api/v1/imports/contracts")
            .bearer(&t.admin())
            .header("Idempotency-Key", key)
            .body("application/x-ndjson", body.into_bytes())
    };
    let first = import("batch-1", body.clone()).await;
    assert_eq!((first.status, first.body["created"].clone()), (200, json!(2)), "{}", first.text);
    assert_eq!(first.body["lines_omitted"], json!(false));
    assert_eq!(first.body["lines"].as_array().map(Vec::len), Some(2));
    let retry = import("batch-1", body.clone()).await;
    assert_eq!(retry.status, 200, "{}", retry.text);
    assert_eq!(retry.header("idempotent-replayed").as_deref(), Some("true"));
    // The retry gets the first report's summary (its counts, not `unchanged`), without lines.
    let mut summary = first.body.clone();
    summary["lines_omitted"] = json!(true);
    summary["lines"] = json!([]);
    assert_eq!(retry.body, summary);
    let other = import("batch-1", format!("{}\n", line("E-3"))).await;
    other.assert_problem(422, "idempotency_key_reused");
    assert_eq!(contract_count(&t).await, 2);
}

#[actix_rt::test]
async fn an_import_whose_report_was_lost_says_to_send_the_file_again_and_that_is_safe() {
    let t = TestApp::spawn().await;
    let body = json!({"external_ref": "LOST-1", "title": "T", "contract_type": "maintenance", "customer_ref": "C",
                      "start_date": "2026-01-01"})
    .to_string();
    let send = |key: &'static str| {
        t.request("POST", "/api/v1/imports/contracts")
            .bearer(&t.admin())
            .header("Idempotency-Key", key)
            .body("application/x-ndjson", body.clone().into_bytes())
    };
    assert_eq!(send("nightly").await.status, 200);
    force_state(&t, "admin-user", "nightly", "committed").await;
    t.clock.set(start_time() + Duration::minutes(5));
    let retry = send("nightly").await;
    retry.assert_problem(409, "idempotency_key_answer_lost");
    let detail = retry.body["detail"].as_str().unwrap();
    assert!(detail.contains("send the same file again with a new Idempotency-Key"), "{detail}");
    // Doing as told is safe: the applied line is unchanged, nothing twice.
    let again = send("nightly-2").await;
    assert_eq!(
        (again.body["unchanged"].clone(), again.body["created"].clone()),
        (json!(1), json!(0)),
        "{}",
        again.text
    );
    assert_eq!(contract_count(&t).await, 1);
}

#[actix_rt::test]
async fn a_write_and_the_work_hooked_before_its_commit_commit_together_or_not_at_all() {
    use diesel::RunQueryDsl;
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"title": "Before"})).await;
    let url = format!("/api/v1/contracts/{}", c["id"].as_str().unwrap());
    let retitle = |title: &'static str, hook: pactum::db::BeforeCommit| {
        let (db, id) = (t.state.db.clone(), c["id"].as_str().unwrap().to_string());
        pactum::db::with_before_commit(hook, async move {
            db.write(move |conn| {
                diesel::sql_query("UPDATE contracts SET title = $1 WHERE id = $2")
                    .bind::<diesel::sql_types::Text, _>(title)
                    .bind::<diesel::sql_types::Text, _>(id)
                    .execute(conn)
                    .map_err(pactum::http::ApiError::from)
            })
            .await
        })
    };
    // A hook that fails undoes the work it was hooked to.
    let refused = retitle("Refused", std::sync::Arc::new(|_| Err(diesel::result::Error::RollbackTransaction))).await;
    assert!(refused.is_err());
    assert_eq!(t.get(&url, &t.viewer()).await.body["title"], "Before");
    // A hook that succeeds runs inside the same transaction, once, and commits with it.
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = runs.clone();
    let counted: pactum::db::BeforeCommit = std::sync::Arc::new(move |_| {
        seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    });
    assert_eq!(retitle("After", counted).await.unwrap(), 1);
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(t.get(&url, &t.viewer()).await.body["title"], "After");
}
