//! Webhooks: signed deliveries to a local receiver (the test checks the HMAC itself), a receiver
//! that fails and then recovers as the clock moves, a stopped receiver and a restarted service
//! that lose nothing, order per resource, event type filters, inactive webhooks catching up,
//! derived events (task overdue, SLA breached) fired once, two dispatchers sharing the work,
//! redelivery, admin-only access and validation; receivers that never answer holding up only
//! their own webhook, a webhook paused after days of failure, and a delivery skipped by hand.

use crate::common::{start_time, TestApp};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use pactum::webhooks::dispatcher::{self, DispatchConfig, DispatchReport};
use pactum::webhooks::model::AllowedRanges;
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

const SECRET: &str = "receiver-secret-0123456789";

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Hit {
    headers: HashMap<String, String>,
    body: String,
    /// When the request came in.
    at: Instant,
}

impl Hit {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    fn event_type(&self) -> String {
        self.headers["pactum-event-type"].clone()
    }

    fn event_id(&self) -> i64 {
        self.headers["pactum-event-id"].parse().unwrap()
    }
}

/// A local HTTP receiver that records every request and answers with a settable status
/// (after a settable delay).
struct Receiver {
    url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    answer: Arc<AtomicU16>,
    delay_ms: Arc<AtomicU64>,
    handle: actix_web::dev::ServerHandle,
}

impl Receiver {
    async fn start() -> Receiver {
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let answer = Arc::new(AtomicU16::new(200));
        let delay_ms = Arc::new(AtomicU64::new(0));
        let (h, a, d) = (hits.clone(), answer.clone(), delay_ms.clone());
        let server = HttpServer::new(move || {
            let (h, a, d) = (h.clone(), a.clone(), d.clone());
            App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
                let (h, a, d) = (h.clone(), a.clone(), d.clone());
                async move {
                    let headers = req
                        .headers()
                        .iter()
                        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
                        .collect();
                    let body = String::from_utf8_lossy(&body).into_owned();
                    h.lock().unwrap().push(Hit { headers, body, at: Instant::now() });
                    let delay = d.load(Ordering::SeqCst);
                    if delay > 0 {
                        actix_web::rt::time::sleep(std::time::Duration::from_millis(delay)).await;
                    }
                    let status = actix_web::http::StatusCode::from_u16(a.load(Ordering::SeqCst)).unwrap();
                    HttpResponse::build(status).body("ok")
                }
            }))
        })
        .workers(2)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .unwrap();
        let addr = server.addrs()[0];
        let running = server.run();
        let handle = running.handle();
        actix_web::rt::spawn(running);
        Receiver { url: format!("http://{addr}/hooks/pactum"), hits, answer, delay_ms, handle }
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    fn types(&self) -> Vec<String> {
        self.hits().iter().map(Hit::event_type).collect()
    }

    fn answer(&self, status: u16) {
        self.answer.store(status, Ordering::SeqCst);
    }

    async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

/// What a receiver does: recompute the signature over `<t>.<body>` and check the timestamp.
fn verify(hit: &Hit, secret: &str, now: DateTime<Utc>) -> Result<(), String> {
    let header = hit.headers.get("pactum-signature").ok_or("no signature header")?;
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = Some(v.to_string()),
            Some(("v1", v)) => v1 = Some(v.to_string()),
            _ => {}
        }
    }
    let (t, v1) = (t.ok_or("no t")?, v1.ok_or("no v1")?);
    let ts: i64 = t.parse().map_err(|_| "t is not a number")?;
    if (now.timestamp() - ts).abs() > 300 {
        return Err(format!("timestamp {ts} is outside the 5 minute tolerance"));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", hit.body).as_bytes());
    mac.verify_slice(&hex::decode(v1).map_err(|_| "v1 is not hex")?).map_err(|_| "signature mismatch".to_string())
}

pub(crate) async fn dispatch(t: &TestApp) -> DispatchReport {
    dispatch_on(t.state.db.clone(), t.clock.clone(), t.state.settings.dispatch()).await
}

async fn dispatch_on(db: pactum::db::Db, clock: pactum::clock::Clock, cfg: DispatchConfig) -> DispatchReport {
    web::block(move || dispatcher::run_once(&db, &clock, &cfg)).await.unwrap().unwrap()
}

async fn subscribe(t: &TestApp, url: &str, types: Value) -> Value {
    let res = t.post("/api/v1/webhooks", &t.admin(), json!({"url": url, "event_types": types, "secret": SECRET})).await;
    assert_eq!(res.status, 201, "subscribe: {}", res.text);
    res.body
}

async fn deliveries(t: &TestApp, hook: &Value, query: &str) -> Vec<Value> {
    let res = t.get(&format!("/api/v1/webhooks/{}/deliveries?{query}", hook["id"].as_str().unwrap()), &t.admin()).await;
    assert_eq!(res.status, 200, "deliveries: {}", res.text);
    res.body["items"].as_array().unwrap().clone()
}

fn contract_url(c: &Value) -> String {
    format!("/api/v1/contracts/{}", c["id"].as_str().unwrap())
}

#[actix_rt::test]
async fn a_delivery_is_signed_and_carries_the_event() {
    let t = TestApp::spawn().await;
    let rx = Receiver::start().await;
    let before = t.create_contract(json!({"title": "Before the webhook"})).await;
    let res = t
        .post(
            "/api/v1/webhooks",
            &t.admin(),
            json!({"url": rx.url, "event_types": ["contract.created"], "secret": SECRET, "description": "CRM"}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let hook = res.body.clone();
    assert_eq!(hook["secret"], SECRET, "the secret is shown in the creating answer");
    assert_eq!(hook["secret_hint"], "…6789");
    assert_eq!(res.header("etag").as_deref(), Some("\"1\""));
    let location = res.header("location").unwrap();
    let got = t.get(&location, &t.admin()).await;
    assert_eq!(got.status, 200);
    assert!(got.body.get("secret").is_none(), "never again after creation: {}", got.text);
    assert!(!got.text.contains(SECRET));
    // The webhook's own history never holds the secret, nor a token in the URL's query.
    let res = t.patch(&location, &t.admin(), json!({"url": format!("{}?token=receiver-token", rx.url)})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let feed = t.get("/api/v1/events?entity_type=webhook", &t.viewer()).await;
    assert_eq!(feed.body["items"].as_array().unwrap().len(), 2);
    assert!(!feed.text.contains(SECRET), "{}", feed.text);
    assert!(!feed.text.contains("receiver-token"), "{}", feed.text);

    let contract = t.create_contract(json!({"title": "Lifts in the tower"})).await;
    let report = dispatch(&t).await;
    assert_eq!(report, DispatchReport { queued: 1, delivered: 1, failed: 0 }, "only events after creation");
    let hits = rx.hits();
    assert_eq!(hits.len(), 1);
    let hit = &hits[0];
    verify(hit, SECRET, t.clock.now()).unwrap();
    assert!(verify(hit, "another-secret-0123456789", t.clock.now()).is_err());
    assert!(verify(hit, SECRET, t.clock.now() + Duration::minutes(10)).is_err(), "a replay later is refused");
    assert_eq!(hit.headers["content-type"], "application/json");
    assert_eq!(hit.event_type(), "contract.created");
    let body = hit.json();
    assert_eq!(body["event_id"].as_i64(), Some(hit.event_id()));
    assert_eq!(body["event_type"], "contract.created");
    assert_eq!(body["entity_type"], "contract");
    assert_eq!(body["entity_id"], contract["id"]);
    assert_ne!(body["entity_id"], before["id"]);
    assert_eq!(body["action"], "created");
    assert_eq!(body["actor"], "admin-user");
    assert_eq!(body["occurred_at"], "2026-06-15T10:00:00Z");
    assert_eq!(body["changes"]["title"]["new"], "Lifts in the tower");
    assert!(hit.headers["pactum-signature"].starts_with(&format!("t={},v1=", start_time().timestamp())));

    let list = deliveries(&t, &hook, "").await;
    assert_eq!(list.len(), 1);
    let d = &list[0];
    assert_eq!(d["status"], "delivered");
    assert_eq!(d["attempts"], 1);
    assert_eq!(d["last_status_code"], 200);
    assert_eq!(d["last_error"], Value::Null);
    assert_eq!(d["next_attempt_at"], Value::Null);
    assert_eq!(d["delivered_at"], "2026-06-15T10:00:00Z");
    assert_eq!(d["event_type"], "contract.created");
    assert_eq!(d["id"].as_str(), Some(hit.headers["pactum-delivery-id"].as_str()));

    // Nothing new: nothing sent. A redelivery sends the same event again.
    assert_eq!(dispatch(&t).await, DispatchReport::default());
    let url =
        format!("/api/v1/webhooks/{}/deliveries/{}/redeliver", hook["id"].as_str().unwrap(), d["id"].as_str().unwrap());
    let res = t.request("POST", &url).bearer(&t.admin()).send().await;
    assert_eq!(res.status, 202, "{}", res.text);
    assert_eq!(res.body["status"], "pending");
    assert_eq!(dispatch(&t).await.delivered, 1);
    let hits = rx.hits();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[1].event_id(), hits[0].event_id(), "the same event id: receivers dedupe by it");
    assert_eq!(deliveries(&t, &hook, "status=delivered").await[0]["attempts"], 2);
}

#[actix_rt::test]
async fn a_failing_receiver_is_retried_with_backoff_and_gets_everything_in_order() {
    let t = TestApp::spawn().await;
    let rx = Receiver::start().await;
    rx.answer(500);
    let hook = subscribe(&t, &rx.url, json!(["contract.*"])).await;
    let c = t.create_contract(json!({})).await;
    let res = t.patch(&contract_url(&c), &t.manager(), json!({"title": "Renamed"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let res = t.request("POST", &format!("{}/activate", contract_url(&c))).bearer(&t.manager()).send().await;
    assert_eq!(res.status, 200, "{}", res.text);

    assert_eq!(dispatch(&t).await, DispatchReport { queued: 3, delivered: 0, failed: 1 });
    assert_eq!(rx.types(), ["contract.created"], "a failure holds back the later events");
    let pending = deliveries(&t, &hook, "status=pending").await;
    assert_eq!(pending.len(), 3);
    let first = &pending[2];
    assert_eq!(first["event_type"], "contract.created");
    assert_eq!((first["attempts"].clone(), first["last_status_code"].clone()), (json!(1), json!(500)));
    assert!(first["last_error"].as_str().unwrap().contains("500"));
    assert_eq!(first["next_attempt_at"], "2026-06-15T10:00:10Z", "first retry after 10 s");
    assert_eq!(pending[0]["attempts"], 0);

    // Before the retry is due nothing is sent; then the wait doubles.
    assert_eq!(dispatch(&t).await, DispatchReport::default());
    t.clock.set(start_time() + Duration::seconds(10));
    assert_eq!(dispatch(&t).await.failed, 1);
    let first = deliveries(&t, &hook, "status=pending").await[2].clone();
    assert_eq!(first["attempts"], 2);
    assert_eq!(first["next_attempt_at"], "2026-06-15T10:00:30Z");

    // Down for an hour and a half: the waits stop growing at an hour, nothing is lost.
    let mut now = start_time() + Duration::seconds(30);
    for _ in 0..12 {
        t.clock.set(now);
        dispatch(&t).await;
        let first = deliveries(&t, &hook, "status=pending").await[2].clone();
        let next = DateTime::parse_from_rfc3339(first["next_attempt_at"].as_str().unwrap()).unwrap();
        assert!(next.with_timezone(&Utc) - now <= Duration::hours(1));
        now = next.with_timezone(&Utc);
    }
    let first = deliveries(&t, &hook, "status=pending").await[2].clone();
    assert_eq!(first["attempts"], 14);
    assert_eq!(first["next_attempt_at"].as_str().unwrap(), (now).format("%Y-%m-%dT%H:%M:%SZ").to_string());
    assert!(now - start_time() > Duration::hours(4));

    rx.answer(204);
    t.clock.set(now);
    let report = dispatch(&t).await;
    assert_eq!(report, DispatchReport { queued: 0, delivered: 3, failed: 0 }, "{:?}", deliveries(&t, &hook, "").await);
    let hits = rx.hits();
    let delivered: Vec<_> = hits[hits.len() - 3..].iter().map(Hit::event_type).collect();
    assert_eq!(delivered, ["contract.created", "contract.updated", "contract.activated"]);
    let ids: Vec<i64> = hits[hits.len() - 3..].iter().map(Hit::event_id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in event order: {ids:?}");
    for hit in &hits[hits.len() - 3..] {
        verify(hit, SECRET, now).unwrap();
    }
    assert!(deliveries(&t, &hook, "status=pending").await.is_empty());
    let all = deliveries(&t, &hook, "").await;
    assert_eq!(all.iter().map(|d| d["status"].as_str().unwrap()).collect::<Vec<_>>(), ["delivered"; 3]);
    assert_eq!(all[0]["attempts"], 1);
    assert_eq!(all[0]["last_status_code"], 204);
}

#[actix_rt::test]
async fn a_stopped_receiver_and_a_restarted_service_lose_nothing() {
    let t = TestApp::spawn().await;
    let rx = Receiver::start().await;
    let hook = subscribe(&t, &rx.url, json!(["installation.created", "contract.created"])).await;
    t.create_installation("LIFT-1", json!({})).await;
    assert_eq!(dispatch(&t).await.delivered, 1);
    rx.stop().await;
    t.create_installation("LIFT-2", json!({})).await;
    let res = dispatch(&t).await;
    assert_eq!((res.delivered, res.failed), (0, 1));
    let pending = deliveries(&t, &hook, "status=pending").await;
    assert_eq!(pending[0]["last_status_code"], Value::Null, "no answer came");
    assert!(!pending[0]["last_error"].as_str().unwrap().is_empty());
    // More happens while the receiver is down and before any dispatcher has seen it.
    t.create_installation("LIFT-3", json!({})).await;
    t.create_contract(json!({})).await;

    // The service restarts: a new pool and dispatcher on the same database, nothing in memory.
    // The receiver is back, at a new address.
    let back = Receiver::start().await;
    let res = t
        .patch(&format!("/api/v1/webhooks/{}", hook["id"].as_str().unwrap()), &t.admin(), json!({"url": back.url}))
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let url = t.state.settings.database_url.clone().unwrap();
    let db = web::block(move || pactum::startup::prepare_database(&url, 2)).await.unwrap().unwrap();
    let clock = pactum::clock::Clock::fixed(start_time() + Duration::minutes(5));
    let report = dispatch_on(db, clock.clone(), t.state.settings.dispatch()).await;
    assert_eq!(report, DispatchReport { queued: 2, delivered: 3, failed: 0 });
    let serials: Vec<Value> = back.hits().iter().map(|h| h.json()["changes"]["serial_number"]["new"].clone()).collect();
    assert_eq!(serials, [json!("LIFT-2"), json!("LIFT-3"), Value::Null]);
    assert_eq!(back.types().last().unwrap(), "contract.created");
    for hit in back.hits() {
        verify(&hit, SECRET, clock.now()).unwrap();
    }
}

#[actix_rt::test]
async fn a_receiver_that_does_not_answer_in_time_is_retried() {
    let t = TestApp::spawn_with(|s| s.webhook_timeout_secs = 1).await;
    let rx = Receiver::start().await;
    rx.delay_ms.store(3000, Ordering::SeqCst);
    let hook = subscribe(&t, &rx.url, json!(["contract.created"])).await;
    t.create_contract(json!({})).await;
    assert_eq!(dispatch(&t).await.failed, 1);
    let d = deliveries(&t, &hook, "").await[0].clone();
    assert_eq!(d["status"], "pending");
    assert_eq!(d["last_status_code"], Value::Null);
    assert_eq!(d["last_error"], "timed out", "{d}");
    rx.delay_ms.store(0, Ordering::SeqCst);
    t.clock.set(start_time() + Duration::seconds(10));
    assert_eq!(dispatch(&t).await.delivered, 1);
    assert_eq!(rx.hits().len(), 2, "at least once: the slow attempt may have been processed too");
}

#[actix_rt::test]
async fn subscriptions_filter_by_type_and_an_inactive_webhook_catches_up() {
    let t = TestApp::spawn().await;
    let rx_contracts = Receiver::start().await;
    let rx_installations = Receiver::start().await;
    let rx_all = Receiver::start().await;
    subscribe(&t, &rx_contracts.url, json!(["contract.created", "contract.terminated"])).await;
    subscribe(&t, &rx_installations.url, json!(["installation.*"])).await;
    let all = subscribe(&t, &rx_all.url, json!(["*"])).await;
    let res = t
        .patch(&format!("/api/v1/webhooks/{}", all["id"].as_str().unwrap()), &t.admin(), json!({"active": false}))
        .await;
    assert_eq!((res.status, res.body["active"].clone()), (200, json!(false)));

    let c = t.create_contract(json!({})).await;
    t.patch(&contract_url(&c), &t.manager(), json!({"title": "Changed"})).await;
    let lift = t.create_installation("LIFT-1", json!({})).await;
    let res = t
        .patch(
            &format!("/api/v1/installations/{}", lift["id"].as_str().unwrap()),
            &t.manager(),
            json!({"name": "Lift one"}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    dispatch(&t).await;
    assert_eq!(rx_contracts.types(), ["contract.created"]);
    assert_eq!(rx_installations.types(), ["installation.created", "installation.updated"]);
    assert!(rx_all.hits().is_empty(), "inactive: nothing delivered");

    let res = t
        .patch(&format!("/api/v1/webhooks/{}", all["id"].as_str().unwrap()), &t.admin(), json!({"active": true}))
        .await;
    assert_eq!(res.status, 200);
    dispatch(&t).await;
    assert_eq!(
        rx_all.types(),
        ["contract.created", "contract.updated", "installation.created", "installation.updated"],
        "activated again it catches up in order; webhook changes are not delivered"
    );
}

#[actix_rt::test]
async fn every_event_type_of_the_feed_can_be_subscribed_and_star_leaves_out_webhook_changes() {
    let t = TestApp::spawn().await;
    let rx_hooks = Receiver::start().await;
    let rx_all = Receiver::start().await;
    let rx_one = Receiver::start().await;
    subscribe(&t, &rx_hooks.url, json!(["webhook.*"])).await;
    subscribe(&t, &rx_all.url, json!(["*"])).await;
    subscribe(&t, &rx_one.url, json!(["webhook.deleted", "contract.created"])).await;

    let other = subscribe(&t, "https://crm.example.com/hook", json!(["contract.*"])).await;
    let other_url = format!("/api/v1/webhooks/{}", other["id"].as_str().unwrap());
    let res = t.patch(&other_url, &t.admin(), json!({"description": "CRM"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(t.delete(&other_url, &t.admin()).await.status, 204);
    t.create_contract(json!({})).await;
    dispatch(&t).await;

    // Every type the feed shows for these changes is one a webhook may name.
    let feed = t.get("/api/v1/events?limit=500", &t.viewer()).await;
    for e in feed.body["items"].as_array().unwrap() {
        let ty = format!("{}.{}", e["entity_type"].as_str().unwrap(), e["action"].as_str().unwrap());
        let res = t
            .post("/api/v1/webhooks", &t.admin(), json!({"url": "https://x.example.com/h", "event_types": [ty]}))
            .await;
        assert_eq!(res.status, 201, "{ty}: {}", res.text);
    }
    assert_eq!(
        rx_hooks.types(),
        [
            "webhook.created",
            "webhook.created",
            "webhook.created",
            "webhook.created",
            "webhook.updated",
            "webhook.deleted"
        ],
        "its own creation and those after it, then the changes of one"
    );
    assert_eq!(rx_all.types(), ["contract.created"], "`*` is every business event, not the webhooks' own");
    assert_eq!(rx_one.types(), ["webhook.deleted", "contract.created"]);
}

/// An active contract with a service level (critical: respond in 2 h, resolve in 8 h) covering
/// one installation; (contract, installation).
async fn covered_lift(t: &TestApp) -> (Value, Value) {
    let level = json!({
        "name": "Gold",
        "low": {"response_hours": 24, "resolution_hours": 72},
        "normal": {"response_hours": 8, "resolution_hours": 40},
        "high": {"response_hours": 4, "resolution_hours": 16},
        "critical": {"response_hours": 2, "resolution_hours": 8}
    });
    let contract = t.create_contract(json!({"status": "active", "service_level": level})).await;
    let lift = t.create_installation("LIFT-1", json!({})).await;
    assert_eq!(t.cover(&contract, json!([{"installation_id": lift["id"]}])).await.status, 201);
    (contract, lift)
}

#[actix_rt::test]
async fn overdue_tasks_and_breached_deadlines_fire_once_and_are_delivered() {
    let t = TestApp::spawn().await;
    let rx = Receiver::start().await;
    subscribe(&t, &rx.url, json!(["task.overdue", "service_call.breached"])).await;
    let (contract, lift) = covered_lift(&t).await;
    let obligation = t.create_obligation(&contract, json!({"schedule": null, "due_date": "2026-06-20"})).await;
    t.run_scheduler().await;
    let tasks = t.tasks_of(&obligation).await;
    assert_eq!(tasks.len(), 1);
    let call = t
        .post(
            "/api/v1/service-calls",
            &t.token("sam", &["service_agent"]),
            json!({"installation_id": lift["id"], "description": "Stuck", "priority": "critical"}),
        )
        .await;
    assert_eq!(call.status, 201, "{}", call.text);

    // Three hours on: the response deadline (2 h) has passed, the resolution one (8 h) not yet.
    t.clock.set(start_time() + Duration::hours(3));
    let r = t.run_scheduler().await;
    assert_eq!((r.sla_breaches, r.tasks_overdue), (1, 0));
    assert_eq!(t.run_scheduler().await.sla_breaches, 0, "once");
    t.clock.set(start_time() + Duration::days(6));
    let r = t.run_scheduler().await;
    assert_eq!((r.sla_breaches, r.tasks_overdue), (1, 1));
    let r = t.run_scheduler().await;
    assert_eq!((r.sla_breaches, r.tasks_overdue), (0, 0), "once");

    dispatch(&t).await;
    let hits = rx.hits();
    assert_eq!(rx.types(), ["service_call.breached", "task.overdue", "service_call.breached"]);
    assert_eq!(hits[0].json()["entity_id"], call.body["id"]);
    assert_eq!(hits[0].json()["changes"]["response_breached"]["new"], true);
    assert_eq!(hits[1].json()["entity_id"], tasks[0]["id"]);
    assert_eq!(hits[1].json()["actor"], "system");
    assert_eq!(hits[1].json()["changes"]["overdue"], json!({"old": false, "new": true}));
    assert_eq!(hits[2].json()["entity_id"], call.body["id"]);
    assert_eq!(hits[2].json()["changes"]["resolution_breached"]["new"], true);
    // The derived events are in the resource's history too.
    let history = t.get(&format!("/api/v1/tasks/{}/history", tasks[0]["id"].as_str().unwrap()), &t.viewer()).await;
    assert!(history.text.contains("overdue"), "{}", history.text);

    // Moved to a later date and missed again: overdue again.
    let res = t
        .patch(
            &format!("/api/v1/tasks/{}", tasks[0]["id"].as_str().unwrap()),
            &t.admin(),
            json!({"due_date": "2026-06-25"}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(t.run_scheduler().await.tasks_overdue, 0, "not yet due");
    t.clock.set(start_time() + Duration::days(11));
    assert_eq!(t.run_scheduler().await.tasks_overdue, 1);
}

#[actix_rt::test]
async fn rows_written_behind_the_sweep_marks_still_fire_and_a_pass_overtaken_by_a_write_keeps_its_mark() {
    let t = TestApp::spawn().await;
    let (contract, lift) = covered_lift(&t).await;
    let obligation = t.create_obligation(&contract, json!({"schedule": null, "due_date": "2026-06-20"})).await;
    t.run_scheduler().await;
    let task = t.tasks_of(&obligation).await[0].clone();
    t.clock.set(start_time() + Duration::days(10));
    assert_eq!(t.run_scheduler().await.tasks_overdue, 1);
    // The marks now stand at the pass: nothing before them is read again.
    assert_eq!(t.run_scheduler().await, Default::default());

    // Moved to another past date, behind the mark: overdue again for that date.
    let url = format!("/api/v1/tasks/{}", task["id"].as_str().unwrap());
    let res = t.patch(&url, &t.admin(), json!({"due_date": "2026-06-22"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    // A call reported two days ago, both its deadlines long past (behind the breach marks).
    let reported = (start_time() + Duration::days(8)).to_rfc3339();
    let call = t
        .post(
            "/api/v1/service-calls",
            &t.token("sam", &["service_agent"]),
            json!({"installation_id": lift["id"], "description": "Stuck", "priority": "critical", "reported_at": reported}),
        )
        .await;
    assert_eq!(call.status, 201, "{}", call.text);
    let r = t.run_scheduler().await;
    assert_eq!((r.tasks_overdue, r.sla_breaches), (1, 2));
    assert_eq!(t.run_scheduler().await, Default::default());

    // A write behind the mark while a pass runs makes that pass keep its old mark.
    let (db, day) = (t.state.db.clone(), (start_time() + Duration::days(10)).date_naive());
    let (advanced, mark) = web::block(move || {
        use pactum::db::marks;
        use pactum::tasks::store::TASK_OVERDUE;
        db.write_blocking(|c| {
            let seen = marks::get(c, TASK_OVERDUE)?;
            // A pass leaves its mark a little behind its start (writes may still commit keys there).
            let lag = chrono::Duration::minutes(pactum::scheduler::MARK_LAG_MINUTES);
            assert_eq!(seen.at, marks::day_key(day) - lag);
            marks::behind(c, TASK_OVERDUE, marks::day_key(day - chrono::Days::new(3)), true)?;
            let advanced = marks::advance(c, TASK_OVERDUE, seen, marks::day_key(day))?;
            Ok::<_, pactum::http::ApiError>((advanced, marks::get(c, TASK_OVERDUE)?.at))
        })
    })
    .await
    .unwrap()
    .unwrap();
    assert!(!advanced);
    assert_eq!(mark.date(), day - chrono::Days::new(3));
    // The next pass walks from there, finds the task fired already, and moves the mark on.
    assert_eq!(t.run_scheduler().await, Default::default());
}

/// Runs one overdue sweep in batches of `batch`; (events fired, batches taken).
async fn sweep_overdue(t: &TestApp, batch: i64) -> (usize, usize) {
    let (db, now) = (t.state.db.clone(), t.clock.now());
    web::block(move || {
        let ctx = pactum::events::Ctx { actor: "system", now };
        let (mut cursor, mut fired, mut batches) = (None, 0, 0);
        loop {
            let swept = db.write_blocking(|c| {
                pactum::webhooks::service::fire_overdue_tasks(
                    c,
                    &ctx,
                    ("open", chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()),
                    &mut cursor,
                    batch,
                )
            })?;
            fired += swept.fired;
            batches += 1;
            if (swept.scanned as i64) < batch {
                return Ok::<_, pactum::http::ApiError>((fired, batches));
            }
        }
    })
    .await
    .unwrap()
    .unwrap()
}

#[actix_rt::test]
async fn an_overdue_sweep_in_small_batches_fires_every_task_once_even_many_on_one_day() {
    let t = TestApp::spawn().await;
    let contract = t.create_contract(json!({"status": "active"})).await;
    // Five tasks due on one day and two the day after: the cursor must step through ties.
    for (n, day) in ["2026-06-20", "2026-06-20", "2026-06-20", "2026-06-20", "2026-06-20", "2026-06-21", "2026-06-21"]
        .iter()
        .enumerate()
    {
        t.create_obligation(&contract, json!({"title": format!("Check {n}"), "schedule": null, "due_date": day})).await;
    }
    t.run_scheduler().await;
    t.clock.set(start_time() + Duration::days(10));
    assert_eq!(sweep_overdue(&t, 2).await, (7, 4), "batches of 2, 2, 2 and 1");
    assert_eq!(sweep_overdue(&t, 2).await, (0, 4), "a second sweep finds them all marked");
    assert_eq!(t.run_scheduler().await.tasks_overdue, 0);
}

#[actix_rt::test]
async fn two_dispatchers_share_the_work_and_deliver_each_event_once() {
    let t = TestApp::spawn().await;
    let rx = Receiver::start().await;
    for i in 0..3 {
        subscribe(&t, &rx.url, json!([if i == 0 { "contract.created" } else { "contract.*" }])).await;
    }
    for _ in 0..5 {
        t.create_contract(json!({})).await;
    }
    let url = t.state.settings.database_url.clone().unwrap();
    let other = web::block(move || pactum::startup::prepare_database(&url, 2)).await.unwrap().unwrap();
    let cfg = t.state.settings.dispatch();
    let (a, b) = futures_util::join!(
        dispatch_on(t.state.db.clone(), t.clock.clone(), cfg.clone()),
        dispatch_on(other.clone(), t.clock.clone(), cfg.clone())
    );
    let (mut queued, mut delivered) = (a.queued + b.queued, a.delivered + b.delivered);
    // Two pools on one SQLite file contend for its single writer; a pass that found the file
    // busy leaves its share to the next pass, never to a second delivery.
    for _ in 0..5 {
        if delivered == 15 {
            break;
        }
        let (a, b) = futures_util::join!(
            dispatch_on(t.state.db.clone(), t.clock.clone(), cfg.clone()),
            dispatch_on(other.clone(), t.clock.clone(), cfg.clone())
        );
        queued += a.queued + b.queued;
        delivered += a.delivered + b.delivered;
    }
    assert_eq!(queued, 15);
    assert_eq!(delivered, 15);
    let mut seen: Vec<(String, i64)> =
        rx.hits().iter().map(|h| (h.headers["pactum-delivery-id"].clone(), h.event_id())).collect();
    assert_eq!(seen.len(), 15, "each delivery once");
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 15);
}

#[actix_rt::test]
async fn only_admins_manage_webhooks_and_bad_input_changes_nothing() {
    let t = TestApp::spawn().await;
    let ok = json!({"url": "https://crm.example.com/hook", "event_types": ["contract.created"]});
    for token in [t.viewer(), t.manager(), t.token("ivy", &["integration"])] {
        t.post("/api/v1/webhooks", &token, ok.clone()).await.assert_problem(403, "forbidden");
        t.get("/api/v1/webhooks", &token).await.assert_problem(403, "forbidden");
    }
    let res = t.request("GET", "/api/v1/webhooks").send().await;
    assert_eq!(res.status, 401);

    for (body, field) in [
        (json!({"url": "ftp://crm.example.com", "event_types": ["contract.created"]}), "url"),
        (json!({"url": "crm.example.com/hook", "event_types": ["contract.created"]}), "url"),
        (json!({"url": "https://u:p@crm.example.com", "event_types": ["contract.created"]}), "url"),
        (json!({"url": "https://crm.example.com", "event_types": []}), "event_types"),
        (json!({"url": "https://crm.example.com", "event_types": ["contract.exploded"]}), "event_types[0]"),
        (json!({"url": "https://crm.example.com", "event_types": ["webhook.fired"]}), "event_types[0]"),
        (
            json!({"url": "https://crm.example.com", "event_types": ["contract.created", "contract.created"]}),
            "event_types[1]",
        ),
        (json!({"url": "https://crm.example.com", "event_types": ["*"], "secret": "short"}), "secret"),
        (json!({"url": "https://crm.example.com", "event_types": ["*"], "description": ""}), "description"),
    ] {
        let res = t.post("/api/v1/webhooks", &t.admin(), body.clone()).await;
        res.assert_problem(422, "validation_failed");
        assert_eq!(res.error_fields(), [field], "{body}: {}", res.text);
    }
    let res = t
        .post("/api/v1/webhooks", &t.admin(), json!({"url": "https://x.example", "event_types": ["*"], "colour": 1}))
        .await;
    assert_eq!(res.status, 422, "{}", res.text);
    let res = t.post("/api/v1/webhooks", &t.admin(), json!({"event_types": ["*"]})).await;
    assert_eq!(res.status, 422, "{}", res.text);
    let res = t.get("/api/v1/webhooks", &t.admin()).await;
    assert_eq!(res.body["items"], json!([]), "nothing was stored");

    // A generated secret is long, shown once, and the event types accept patterns.
    let res = t
        .post(
            "/api/v1/webhooks",
            &t.admin(),
            json!({"url": "https://crm.example.com/h", "event_types": ["contract.*", "workflow.started"]}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let secret = res.body["secret"].as_str().unwrap().to_string();
    assert!(secret.len() >= 32);
    let hook = res.body.clone();
    let url = format!("/api/v1/webhooks/{}", hook["id"].as_str().unwrap());
    for token in [t.viewer(), t.manager()] {
        t.get(&url, &token).await.assert_problem(403, "forbidden");
        t.get(&format!("{url}/deliveries"), &token).await.assert_problem(403, "forbidden");
        t.patch(&url, &token, json!({"active": false})).await.assert_problem(403, "forbidden");
        t.delete(&url, &token).await.assert_problem(403, "forbidden");
    }
    let list = t.get("/api/v1/webhooks", &t.admin()).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert!(!list.text.contains(&secret));

    // Patches: validated, null refused where a value is needed, secret rotation shows a new hint.
    let res = t.patch(&url, &t.admin(), json!({"url": null})).await;
    assert_eq!(res.error_fields(), ["url"]);
    let res = t.patch(&url, &t.admin(), json!({"event_types": ["nope"], "secret": "tiny"})).await;
    assert_eq!(res.error_fields(), ["event_types[0]", "secret"]);
    let res = t.patch(&url, &t.admin(), json!({"secret": "a-brand-new-secret-wxyz"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["secret_hint"], "…wxyz");
    assert!(res.body.get("secret").is_none());
    assert_eq!(res.body["version"], 2);
    let res =
        t.request("PATCH", &url).bearer(&t.admin()).header("If-Match", "\"1\"").json(json!({"active": false})).await;
    res.assert_problem(412, "precondition_failed");

    // Deliveries: query checked, unknown webhooks are 404s.
    t.get(&format!("{url}/deliveries?status=lost"), &t.admin()).await.assert_problem(400, "invalid_query");
    t.get(&format!("{url}/deliveries?colour=red"), &t.admin()).await.assert_problem(400, "unknown_parameter");
    t.get(&format!("{url}/deliveries?cursor=x"), &t.admin()).await.assert_problem(400, "invalid_cursor");
    t.get("/api/v1/webhooks/nope/deliveries", &t.admin()).await.assert_problem(404, "not_found");
    let res = t.request("POST", &format!("{url}/deliveries/nope/redeliver")).bearer(&t.admin()).send().await;
    res.assert_problem(404, "not_found");
    t.get("/api/v1/webhooks?colour=red", &t.admin()).await.assert_problem(400, "unknown_parameter");

    assert_eq!(t.delete(&url, &t.admin()).await.status, 204);
    t.get(&url, &t.admin()).await.assert_problem(404, "not_found");
    t.delete(&url, &t.admin()).await.assert_problem(404, "not_found");
}

#[actix_rt::test]
async fn the_deliveries_list_pages_newest_first() {
    let t = TestApp::spawn().await;
    let rx = Receiver::start().await;
    let hook = subscribe(&t, &rx.url, json!(["contract.created"])).await;
    for _ in 0..5 {
        t.create_contract(json!({})).await;
    }
    dispatch(&t).await;
    let base = format!("/api/v1/webhooks/{}/deliveries?limit=2", hook["id"].as_str().unwrap());
    let mut ids = Vec::new();
    let mut url = base.clone();
    loop {
        let res = t.get(&url, &t.admin()).await;
        assert_eq!(res.status, 200, "{}", res.text);
        ids.extend(res.body["items"].as_array().unwrap().iter().map(|d| d["event_id"].as_i64().unwrap()));
        match res.body["next_cursor"].as_str() {
            Some(c) => url = format!("{base}&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(ids.len(), 5);
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    let mut received: Vec<i64> = rx.hits().iter().map(Hit::event_id).collect();
    received.reverse();
    assert_eq!(ids, received);
}

/// Receiver URLs that reach inside the network: loopback in every spelling the URL parser
/// accepts, "this host", the private and shared ranges, link-local and the cloud metadata
/// service (also as an IPv4-mapped IPv6 address and by name), unique-local IPv6.
const NOT_PUBLIC: &[&str] = &[
    "http://127.0.0.1:5432/",
    "http://127.1/",
    "http://2130706433/",
    "http://0x7f.1/",
    "http://0177.0.0.1/",
    "http://0x7f000001:8080/hook",
    "http://127.0.0.1./",
    "http://[::1]/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",
    "http://0.0.0.0:8080/",
    "http://0/",
    "http://localhost:8080/",
    "http://api.localhost/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://172.31.255.254/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://METADATA.google.internal./",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[fe80::1]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[2002:7f00:1::1]/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
];

#[actix_rt::test]
async fn receivers_inside_the_network_are_refused_on_create_and_patch() {
    // The service as it ships: no private range allowed (the harness allows loopback).
    let t = TestApp::spawn_with(|s| s.webhook_allow_private = AllowedRanges::default()).await;
    let types = json!(["contract.created"]);
    for url in NOT_PUBLIC {
        let res = t.post("/api/v1/webhooks", &t.admin(), json!({"url": url, "event_types": types})).await;
        res.assert_problem(422, "validation_failed");
        assert_eq!(res.error_fields(), ["url"], "{url}: {}", res.text);
        assert_eq!(res.body["errors"][0]["code"], "url_not_public", "{url}: {}", res.text);
    }
    assert_eq!(t.get("/api/v1/webhooks", &t.admin()).await.body["items"], json!([]), "nothing was stored");

    // Public addresses and names are accepted (names are checked again when sending).
    for url in ["https://93.184.215.14/hook", "https://[2606:4700::1111]/hook", "https://crm.example.com/hook"] {
        let res = t.post("/api/v1/webhooks", &t.admin(), json!({"url": url, "event_types": types})).await;
        assert_eq!(res.status, 201, "{url}: {}", res.text);
    }
    let hook = t.get("/api/v1/webhooks?limit=1", &t.admin()).await.body["items"][0].clone();
    let url = format!("/api/v1/webhooks/{}", hook["id"].as_str().unwrap());
    for target in NOT_PUBLIC {
        let res = t.patch(&url, &t.admin(), json!({"url": target})).await;
        res.assert_problem(422, "validation_failed");
        assert_eq!(res.body["errors"][0]["field"], "url", "{target}: {}", res.text);
        assert_eq!(res.body["errors"][0]["code"], "url_not_public", "{target}: {}", res.text);
    }
    let now = t.get(&url, &t.admin()).await;
    assert_eq!((now.body["url"].clone(), now.body["version"].clone()), (hook["url"].clone(), json!(1)), "unchanged");
}

#[actix_rt::test]
async fn a_failed_delivery_records_a_class_of_error_never_the_sockets_words() {
    let t = TestApp::spawn().await;
    let rx = Receiver::start().await;
    // A closed port on this host: the same words whether it is closed, filtered or refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let refused = subscribe(&t, &format!("http://{closed}/hook"), json!(["contract.created"])).await;
    // TLS spoken to a plain HTTP receiver.
    let tls = subscribe(&t, &rx.url.replace("http://", "https://"), json!(["contract.created"])).await;
    t.create_contract(json!({})).await;
    assert_eq!(dispatch(&t).await.failed, 2);
    let d = deliveries(&t, &refused, "").await[0].clone();
    assert_eq!(
        (d["last_error"].clone(), d["last_status_code"].clone()),
        (json!("connection refused or unreachable"), Value::Null)
    );
    let d = deliveries(&t, &tls, "").await[0].clone();
    assert_eq!((d["last_error"].clone(), d["last_status_code"].clone()), (json!("TLS error"), Value::Null));

    // An answer other than 2xx names its status.
    let plain = subscribe(&t, &rx.url, json!(["contract.created"])).await;
    rx.answer(503);
    t.create_contract(json!({})).await;
    dispatch(&t).await;
    let d = deliveries(&t, &plain, "").await[0].clone();
    assert_eq!(
        (d["last_error"].clone(), d["last_status_code"].clone()),
        (json!("the receiver answered 503"), json!(503))
    );
}

#[actix_rt::test]
async fn named_private_ranges_may_be_allowed_for_receivers_on_premises() {
    let t = TestApp::spawn_with(|s| {
        s.webhook_allow_private = AllowedRanges::parse("10.0.0.0/8,192.168.1.0/24").unwrap();
    })
    .await;
    let types = json!(["contract.created"]);
    for url in ["http://10.20.30.40:8080/hook", "https://192.168.1.20/hook", "http://[::ffff:10.0.0.1]/"] {
        let res = t.post("/api/v1/webhooks", &t.admin(), json!({"url": url, "event_types": types})).await;
        assert_eq!(res.status, 201, "{url}: {}", res.text);
    }
    for url in ["http://192.168.2.1/", "http://127.0.0.1:8080/", "http://localhost/", "http://169.254.169.254/"] {
        let res = t.post("/api/v1/webhooks", &t.admin(), json!({"url": url, "event_types": types})).await;
        res.assert_problem(422, "validation_failed");
        assert_eq!(res.body["errors"][0]["code"], "url_not_public", "{url}: {}", res.text);
    }
    assert_eq!(t.get("/api/v1/webhooks", &t.admin()).await.body["items"].as_array().unwrap().len(), 3);
}

/// Sets a webhook's stored URL behind the service's back.
async fn set_stored_url(t: &TestApp, hook: &Value, url: &str) {
    use diesel::RunQueryDsl;
    let (id, url) = (hook["id"].as_str().unwrap().to_string(), url.to_string());
    t.write_behind_the_api(move |c| {
        diesel::sql_query("UPDATE webhooks SET url = $1 WHERE id = $2")
            .bind::<diesel::sql_types::Text, _>(&url)
            .bind::<diesel::sql_types::Text, _>(&id)
            .execute(c)
    })
    .await;
}

#[actix_rt::test]
async fn a_stored_receiver_inside_the_network_is_not_called_once_it_is_no_longer_allowed() {
    let t = TestApp::spawn().await;
    let rx = Receiver::start().await;
    // Allowed when they were made (the harness allows loopback): by address and by name.
    let by_address = subscribe(&t, &rx.url, json!(["contract.created"])).await;
    let by_name = subscribe(&t, &rx.url.replace("127.0.0.1", "localhost"), json!(["contract.created"])).await;
    t.create_contract(json!({})).await;

    // The setting is removed: the dispatcher resolves each host, finds loopback, calls nothing.
    let strict = DispatchConfig { allowed: AllowedRanges::default(), ..t.state.settings.dispatch() };
    let report = dispatch_on(t.state.db.clone(), t.clock.clone(), strict.clone()).await;
    assert_eq!(report, DispatchReport { queued: 2, delivered: 0, failed: 2 });
    assert!(rx.hits().is_empty(), "the receiver was not called");
    for hook in [&by_address, &by_name] {
        let d = deliveries(&t, hook, "").await[0].clone();
        assert_eq!(d["status"], "pending");
        assert_eq!((d["attempts"].clone(), d["last_status_code"].clone()), (json!(1), Value::Null));
        assert_eq!(d["last_error"], "destination not allowed", "{d}");
    }

    // Allowed again, the held-back deliveries go out at their retry.
    t.clock.set(start_time() + Duration::seconds(10));
    assert_eq!(dispatch(&t).await, DispatchReport { queued: 0, delivered: 2, failed: 0 });
    assert_eq!(rx.hits().len(), 2);
}

#[actix_rt::test]
async fn a_receiver_url_written_behind_the_api_is_checked_when_sending() {
    // Loopback is allowed here; "this host" (0.0.0.0, which reaches the loopback receiver) and a
    // mapped metadata address are not, whatever the API was told.
    let t = TestApp::spawn().await;
    let rx = Receiver::start().await;
    let port = rx.url.split(':').nth(2).unwrap().split('/').next().unwrap().to_string();
    let this_host = subscribe(&t, &rx.url, json!(["contract.created"])).await;
    set_stored_url(&t, &this_host, &format!("http://0.0.0.0:{port}/hooks/pactum")).await;
    let hex = subscribe(&t, &rx.url, json!(["contract.created"])).await;
    set_stored_url(&t, &hex, &format!("http://0x7f.1:{port}/hooks/pactum")).await;
    t.create_contract(json!({})).await;
    let report = dispatch(&t).await;
    assert_eq!((report.delivered, report.failed), (1, 1), "{report:?}");
    assert_eq!(rx.hits().len(), 1, "only the allowed loopback address was called");
    let d = deliveries(&t, &this_host, "").await[0].clone();
    assert_eq!((d["last_error"].clone(), d["status"].clone()), (json!("destination not allowed"), json!("pending")));
    assert_eq!(deliveries(&t, &hex, "").await[0]["status"], "delivered", "0x7f.1 is 127.0.0.1, which is allowed");
}

/// A receiver that takes the connection and never answers: a listening socket nobody reads.
/// Keep it alive for as long as it should hang.
fn hanging_receiver() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/pactum", listener.local_addr().unwrap());
    (listener, url)
}

#[actix_rt::test]
async fn receivers_that_never_answer_hold_up_only_their_own_webhooks() {
    let timeout = std::time::Duration::from_secs(2);
    let t = TestApp::spawn_with(|s| s.webhook_timeout_secs = 2).await;
    // Five receivers that never answer, subscribed before the healthy one: a dispatcher that
    // serves the webhooks one after the other comes to them first.
    let mut hanging = Vec::new();
    for _ in 0..5 {
        let (listener, url) = hanging_receiver();
        hanging.push((listener, subscribe(&t, &url, json!(["contract.created"])).await));
    }
    let rx = Receiver::start().await;
    let healthy = subscribe(&t, &rx.url, json!(["contract.created"])).await;
    t.create_contract(json!({})).await;

    let started = Instant::now();
    let report = dispatch(&t).await;
    let pass = started.elapsed();
    assert_eq!(report, DispatchReport { queued: 6, delivered: 1, failed: 5 });
    let waited = rx.hits()[0].at - started;
    assert!(waited < timeout, "the healthy receiver got its event after {waited:?}, behind the hanging ones");
    assert!(pass < timeout * 2, "the pass took {pass:?}: the hanging receivers were waited for one after the other");
    assert_eq!(deliveries(&t, &healthy, "").await[0]["status"], "delivered");
    for (_, hook) in &hanging {
        let d = deliveries(&t, hook, "").await[0].clone();
        assert_eq!((d["status"].clone(), d["last_error"].clone()), (json!("pending"), json!("timed out")), "{d}");
    }
}

#[actix_rt::test]
async fn webhooks_whose_receiver_fails_wait_behind_the_healthy_ones_for_a_lane() {
    let timeout = std::time::Duration::from_secs(1);
    let t = TestApp::spawn_with(|s| {
        s.webhook_timeout_secs = 1;
        s.webhook_lanes = 1;
    })
    .await;
    let mut hanging = Vec::new();
    for _ in 0..3 {
        let (listener, url) = hanging_receiver();
        hanging.push((listener, subscribe(&t, &url, json!(["contract.created"])).await));
    }
    let rx = Receiver::start().await;
    subscribe(&t, &rx.url, json!(["contract.created"])).await;
    t.create_contract(json!({})).await;
    // One lane, nobody known to fail yet: served in order of creation, the healthy one last.
    let started = Instant::now();
    assert_eq!(dispatch(&t).await, DispatchReport { queued: 4, delivered: 1, failed: 3 });
    assert!(rx.hits()[0].at - started >= timeout * 3, "one lane serves one webhook at a time");

    // Their retries are due, and a new event is too: the healthy webhook goes first.
    t.clock.set(start_time() + Duration::seconds(10));
    t.create_contract(json!({})).await;
    let started = Instant::now();
    assert_eq!(dispatch(&t).await, DispatchReport { queued: 4, delivered: 1, failed: 3 });
    let waited = rx.hits()[1].at - started;
    assert!(waited < timeout, "the healthy receiver waited {waited:?} behind failing ones");
}

#[actix_rt::test]
async fn a_webhook_whose_receiver_fails_for_three_days_is_paused_until_an_admin_resumes_it() {
    let t = TestApp::spawn().await; // WEBHOOK_PAUSE_AFTER_HOURS=72
    let ops = Receiver::start().await;
    subscribe(&t, &ops.url, json!(["webhook.paused"])).await;
    let rx = Receiver::start().await;
    rx.answer(503);
    let hook = subscribe(&t, &rx.url, json!(["contract.created"])).await;
    let url = format!("/api/v1/webhooks/{}", hook["id"].as_str().unwrap());
    assert_eq!(
        (hook["status"].clone(), hook["failing_since"].clone(), hook["paused_at"].clone()),
        (json!("active"), Value::Null, Value::Null)
    );
    let at = |hours: i64| start_time() + Duration::hours(hours);
    let shown = |t: chrono::DateTime<Utc>| json!(t.format("%Y-%m-%dT%H:%M:%SZ").to_string());

    // A success in between ends the failing time.
    t.create_contract(json!({})).await;
    assert_eq!(dispatch(&t).await.failed, 1);
    assert_eq!(t.get(&url, &t.admin()).await.body["failing_since"], shown(at(0)));
    t.clock.set(at(1));
    rx.answer(200);
    assert_eq!(dispatch(&t).await.delivered, 1);
    assert_eq!(t.get(&url, &t.admin()).await.body["failing_since"], Value::Null);

    // Failing again from hour 1: still active 71 hours later, paused at 72.
    rx.answer(503);
    t.create_contract(json!({})).await;
    assert_eq!(dispatch(&t).await.failed, 1);
    t.clock.set(at(72));
    assert_eq!(dispatch(&t).await.failed, 1);
    let got = t.get(&url, &t.admin()).await;
    assert_eq!((got.body["status"].clone(), got.body["active"].clone()), (json!("active"), json!(true)));
    assert_eq!(got.body["failing_since"], shown(at(1)));
    t.clock.set(at(73));
    assert_eq!(dispatch(&t).await.failed, 1);
    let got = t.get(&url, &t.admin()).await;
    assert_eq!(
        (got.body["status"].clone(), got.body["active"].clone(), got.body["paused_at"].clone()),
        (json!("paused"), json!(false), shown(at(73))),
        "{}",
        got.text
    );
    assert_eq!(got.body["failing_since"], shown(at(1)));
    assert_eq!(got.header("etag").as_deref(), Some("\"2\""), "pausing changes the webhook");
    let attempts = rx.hits().len();

    // The pause is an event of the webhook, delivered to whoever subscribed to it.
    dispatch(&t).await;
    assert_eq!(ops.types(), ["webhook.paused"]);
    let paused = ops.hits()[0].json();
    assert_eq!((paused["entity_id"].clone(), paused["actor"].clone()), (hook["id"].clone(), json!("system")));
    assert_eq!(paused["changes"]["active"], json!({"old": true, "new": false}));
    assert_eq!(paused["changes"]["paused_at"]["new"], shown(at(73)));

    // Paused, it sends nothing however long it waits, and keeps its queue.
    t.create_contract(json!({})).await;
    t.clock.set(at(100));
    assert_eq!(dispatch(&t).await, DispatchReport::default());
    assert_eq!(rx.hits().len(), attempts);
    assert_eq!(deliveries(&t, &hook, "status=pending").await.len(), 1, "new events wait until it is resumed");

    // An admin resumes it: the failing time starts again, the queue goes out in order.
    let res = t.patch(&url, &t.admin(), json!({"active": true})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(
        (res.body["status"].clone(), res.body["paused_at"].clone(), res.body["failing_since"].clone()),
        (json!("active"), Value::Null, Value::Null)
    );
    rx.answer(200);
    assert_eq!(dispatch(&t).await, DispatchReport { queued: 1, delivered: 2, failed: 0 });
    assert!(deliveries(&t, &hook, "status=pending").await.is_empty());
    let ids: Vec<i64> = rx.hits().iter().map(Hit::event_id).collect();
    assert!(ids.windows(2).all(|w| w[0] <= w[1]), "in order: {ids:?}");
}

#[actix_rt::test]
async fn an_admin_turning_a_webhook_off_is_not_a_pause_and_a_pause_limit_of_zero_never_pauses() {
    let t = TestApp::spawn_with(|s| s.webhook_pause_after_hours = 0).await;
    let rx = Receiver::start().await;
    rx.answer(500);
    let hook = subscribe(&t, &rx.url, json!(["contract.created"])).await;
    let url = format!("/api/v1/webhooks/{}", hook["id"].as_str().unwrap());
    t.create_contract(json!({})).await;
    dispatch(&t).await;
    t.clock.set(start_time() + Duration::days(30));
    assert_eq!(dispatch(&t).await.failed, 1);
    let got = t.get(&url, &t.admin()).await;
    assert_eq!((got.body["status"].clone(), got.body["version"].clone()), (json!("active"), json!(1)));
    assert_eq!(got.body["failing_since"], "2026-06-15T10:00:00Z");
    let res = t.patch(&url, &t.admin(), json!({"active": false})).await;
    assert_eq!((res.body["status"].clone(), res.body["paused_at"].clone()), (json!("inactive"), Value::Null));
}

/// The change feed's events of webhooks, oldest first.
async fn webhook_history(t: &TestApp) -> Vec<Value> {
    let res = t.get("/api/v1/events?entity_type=webhook&limit=500", &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body["items"].as_array().unwrap().clone()
}

#[actix_rt::test]
async fn an_admin_skips_a_delivery_the_receiver_refuses_and_the_later_ones_flow() {
    let t = TestApp::spawn().await;
    let rx = Receiver::start().await;
    rx.answer(422);
    let hook = subscribe(&t, &rx.url, json!(["contract.created"])).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let other = subscribe(&t, &format!("http://{closed}/hook"), json!(["contract.created"])).await;
    let hook_url = format!("/api/v1/webhooks/{}", hook["id"].as_str().unwrap());
    t.create_contract(json!({"title": "Refused"})).await;
    t.create_contract(json!({"title": "Accepted"})).await;
    assert_eq!(dispatch(&t).await.failed, 2, "the receiver refuses the first; nobody listens for the other");
    let pending = deliveries(&t, &hook, "status=pending").await;
    let (refused, later) = (pending[1].clone(), pending[0].clone());
    assert_eq!((refused["attempts"].clone(), later["attempts"].clone()), (json!(1), json!(0)), "held back");
    let skip = |d: &Value| format!("{hook_url}/deliveries/{}/skip", d["id"].as_str().unwrap());
    let events_before = webhook_history(&t).await.len();

    // Refused: not an admin, no such webhook or delivery (another webhook's is none of this one's).
    for token in [t.viewer(), t.manager(), t.token("ivy", &["integration"])] {
        t.request("POST", &skip(&refused)).bearer(&token).send().await.assert_problem(403, "forbidden");
    }
    let res = t.request("POST", &format!("{hook_url}/deliveries/nope/skip")).bearer(&t.admin()).send().await;
    res.assert_problem(404, "not_found");
    let theirs = deliveries(&t, &other, "").await[0].clone();
    t.request("POST", &skip(&theirs)).bearer(&t.admin()).send().await.assert_problem(404, "not_found");
    let res = t
        .request("POST", &format!("/api/v1/webhooks/nope/deliveries/{}/skip", refused["id"].as_str().unwrap()))
        .bearer(&t.admin())
        .send()
        .await;
    res.assert_problem(404, "not_found");
    let res = t.request("GET", &skip(&refused)).bearer(&t.admin()).send().await;
    assert_eq!(res.status, 405, "{}", res.text);
    assert_eq!(deliveries(&t, &hook, "status=pending").await, pending, "nothing changed");
    assert_eq!(webhook_history(&t).await.len(), events_before);

    // The admin skips it: recorded on the delivery and in the webhook's history.
    let res = t.request("POST", &skip(&refused)).bearer(&t.admin()).send().await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["status"], "skipped");
    assert_eq!(
        (res.body["skipped_by"].clone(), res.body["skipped_at"].clone()),
        (json!("admin-user"), json!("2026-06-15T10:00:00Z"))
    );
    assert_eq!((res.body["attempts"].clone(), res.body["next_attempt_at"].clone()), (json!(1), Value::Null));
    let event = webhook_history(&t).await.last().unwrap().clone();
    assert_eq!((event["action"].clone(), event["actor"].clone()), (json!("delivery_skipped"), json!("admin-user")));
    assert_eq!(event["entity_id"], hook["id"]);
    assert_eq!(event["changes"]["skipped_delivery"]["new"]["delivery_id"], refused["id"]);
    assert_eq!(event["changes"]["skipped_delivery"]["new"]["event_id"], refused["event_id"]);
    let again = t.request("POST", &skip(&refused)).bearer(&t.admin()).send().await;
    again.assert_problem(409, "delivery_not_pending");

    // The later delivery goes out now; the skipped one is not sent again.
    rx.answer(200);
    t.clock.set(start_time() + Duration::seconds(10));
    assert_eq!(dispatch(&t).await.delivered, 1);
    let sent: Vec<i64> = rx.hits().iter().map(Hit::event_id).collect();
    assert_eq!(sent, [refused["event_id"].as_i64().unwrap(), later["event_id"].as_i64().unwrap()]);
    assert!(deliveries(&t, &hook, "status=pending").await.is_empty());
    assert_eq!(deliveries(&t, &hook, "status=skipped").await[0]["id"], refused["id"]);
    assert_eq!(deliveries(&t, &hook, "status=delivered").await[0]["id"], later["id"]);
    let delivered = t.request("POST", &skip(&later)).bearer(&t.admin()).send().await;
    delivered.assert_problem(409, "delivery_not_pending");
    assert_eq!(deliveries(&t, &hook, "status=delivered").await[0]["id"], later["id"], "still delivered");
    assert_eq!(t.get(&hook_url, &t.admin()).await.body["failing_since"], Value::Null, "the receiver accepts again");

    // A skipped delivery can still be sent by hand.
    let res = t
        .request("POST", &format!("{hook_url}/deliveries/{}/redeliver", refused["id"].as_str().unwrap()))
        .bearer(&t.admin())
        .send()
        .await;
    assert_eq!(
        (res.status, res.body["status"].clone(), res.body["skipped_by"].clone()),
        (202, json!("pending"), Value::Null)
    );
    assert_eq!(dispatch(&t).await.delivered, 1);
    assert_eq!(rx.hits().last().unwrap().event_id(), refused["event_id"].as_i64().unwrap());
}

#[actix_rt::test]
async fn case_file_events_are_delivered_only_to_webhooks_that_name_them() {
    use crate::dossiers::{case_worker, define_type, id, open_dossier};
    let t = TestApp::spawn().await;
    let rx_all = Receiver::start().await;
    let rx_dossiers = Receiver::start().await;
    let rx_documents = Receiver::start().await;
    subscribe(&t, &rx_all.url, json!(["*"])).await;
    subscribe(&t, &rx_dossiers.url, json!(["dossier.*", "dossier_event.posted", "dossier_document.*"])).await;
    subscribe(&t, &rx_documents.url, json!(["document.*"])).await;
    define_type(
        &t,
        json!({"key": "pension", "name": "Pension", "default_owner": {"role": "pension-desk"},
                           "attributes": [{"key": "birth_date", "label": "Born", "data_type": "date"}]}),
    )
    .await;
    let d =
        open_dossier(&t, json!({"type": "pension", "customer_ref": "C-1", "attributes": {"birth_date": "1961-03-01"}}))
            .await;
    let res = t.post(&format!("/api/v1/dossiers/{}/events", id(&d)), &case_worker(&t), json!({"type": "called"})).await;
    assert_eq!(res.status, 201, "{}", res.text);
    // A customer letter in the dossier is a case file too; a contract's document is not.
    let letter = t
        .request("POST", &format!("/api/v1/dossiers/{}/documents?filename=letter.pdf&kind=letter", id(&d)))
        .bearer(&case_worker(&t))
        .body("application/pdf", b"%PDF-1.4 letter".to_vec())
        .await;
    assert_eq!(letter.status, 201, "{}", letter.text);
    let contract = t.create_contract(json!({})).await;
    let signed = t
        .request("POST", &format!("/api/v1/contracts/{}/documents?filename=signed.pdf", id(&contract)))
        .bearer(&t.manager())
        .body("application/pdf", b"%PDF-1.4 signed".to_vec())
        .await;
    assert_eq!(signed.status, 201, "{}", signed.text);
    dispatch(&t).await;
    assert_eq!(
        rx_all.types(),
        ["dossier_type.created", "contract.created", "document.created"],
        "`*` carries no case file"
    );
    assert_eq!(rx_documents.types(), ["document.created"], "`document.*` carries no dossier's document");
    assert_eq!(rx_documents.hits()[0].json()["entity_id"], signed.body["id"]);
    assert_eq!(rx_dossiers.types(), ["dossier.created", "dossier_event.posted", "dossier_document.created"]);
    assert_eq!(rx_dossiers.hits()[2].json()["entity_id"], letter.body["id"]);
    assert_eq!(rx_dossiers.hits()[0].json()["changes"]["attributes.birth_date"]["new"], "1961-03-01");
}
