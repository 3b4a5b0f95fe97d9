//! The calendar feed `GET /api/v1/tasks.ics` and personal feed tokens: the feed is parsed by a
//! real iCalendar parser (Python's `icalendar`), with a bearer token and with `?token=`; feed
//! tokens are shown once, listed without the secret, revocable, and good for the feed only.

use crate::common::{Res, TestApp};
use serde_json::{json, Value};
use std::process::Command;
use std::sync::OnceLock;

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

/// Makes sure `python3` can `import icalendar`, installing it with pip once if needed. Fails
/// (never skips) when python3 is missing or the package cannot be had.
fn ensure_icalendar() {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    let ready = READY.get_or_init(|| {
        let importable =
            || Command::new("python3").args(["-c", "import icalendar"]).output().map(|o| o.status.success());
        match importable() {
            Err(e) => return Err(format!("python3 is needed to parse the calendar feed and cannot be run: {e}")),
            Ok(true) => return Ok(()),
            Ok(false) => {}
        }
        let attempts: [&[&str]; 2] = [
            &["-m", "pip", "install", "--quiet", "icalendar"],
            &["-m", "pip", "install", "--quiet", "--user", "--break-system-packages", "icalendar"],
        ];
        let mut log = String::new();
        for args in attempts {
            match Command::new("python3").args(args).output() {
                Ok(o) => log.push_str(&String::from_utf8_lossy(&o.stderr)),
                Err(e) => log.push_str(&e.to_string()),
            }
            if importable().unwrap_or(false) {
                return Ok(());
            }
        }
        Err(format!("the Python package icalendar is not installed and pip could not install it:\n{log}"))
    });
    if let Err(e) = ready {
        panic!("{e}");
    }
}

/// Parses an iCalendar document with Python's `icalendar` and checks what that lenient parser
/// lets through: per-component parse errors, VERSION 2.0, PRODID, and per event UID, DTSTAMP,
/// an all-day DTSTART, a DTEND after it (when present) and a SUMMARY.
const PARSE: &str = r#"
import datetime, json, sys
import icalendar
cal = icalendar.Calendar.from_ical(open(sys.argv[1], "rb").read())
problems = []
def collect(c):
    for e in (getattr(c, "errors", None) or []):
        problems.append("%s: %s" % (c.name, e))
    for sub in c.subcomponents:
        collect(sub)
collect(cal)
if cal.name != "VCALENDAR":
    problems.append("not a VCALENDAR: %s" % cal.name)
for p in ("VERSION", "PRODID"):
    if p not in cal:
        problems.append("the calendar has no " + p)
if str(cal.get("VERSION")) != "2.0":
    problems.append("VERSION is %r" % cal.get("VERSION"))
events = []
for ev in cal.walk("VEVENT"):
    for p in ("UID", "DTSTAMP", "DTSTART", "SUMMARY"):
        if p not in ev:
            problems.append("an event has no " + p)
    start = ev.decoded("DTSTART") if "DTSTART" in ev else None
    if isinstance(start, datetime.datetime) or not isinstance(start, datetime.date):
        problems.append("DTSTART %r is not a date" % (start,))
        continue
    end = ev.decoded("DTEND") if "DTEND" in ev else None
    if end is not None and not end > start:
        problems.append("DTEND %s is not after DTSTART %s (RFC 5545 3.8.2.2)" % (end, start))
    events.append({
        "uid": str(ev.get("UID")),
        "dtstart": start.isoformat(),
        "dtend": end.isoformat() if end is not None else None,
        "summary": str(ev.get("SUMMARY")),
        "status": str(ev.get("STATUS", "")),
    })
print(json.dumps({"problems": problems, "events": events}))
"#;

/// The events of a feed as parsed by the real parser; asserts it found no problem.
fn parse_ics(text: &str) -> Vec<Value> {
    ensure_icalendar();
    let path = std::env::temp_dir().join(format!("pactum-feed-{}.ics", uuid::Uuid::now_v7().simple()));
    std::fs::write(&path, text).unwrap();
    let out = Command::new("python3").args(["-c", PARSE]).arg(&path).output().expect("run python3");
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "the iCalendar parser refused the feed:\n{}\n--- feed ---\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: Value = serde_json::from_slice(&out.stdout).expect("parser output");
    assert_eq!(parsed["problems"], json!([]), "feed:\n{text}");
    parsed["events"].as_array().unwrap().clone()
}

/// Asserts a 200 calendar answer and returns its parsed events.
fn calendar_events(res: &Res) -> Vec<Value> {
    assert_eq!(res.status, 200, "{}", res.text);
    let ct = res.header("content-type").unwrap_or_default();
    assert!(ct.starts_with("text/calendar"), "content type {ct}");
    assert!(res.text.starts_with("BEGIN:VCALENDAR\r\n"), "{}", res.text);
    assert!(res.text.trim_end().ends_with("END:VCALENDAR"), "{}", res.text);
    parse_ics(&res.text)
}

/// A contract covering LIFT-A with a quarterly obligation per installation for the role `crew`,
/// and a one-off report for alice. Returns the contract.
async fn planned_work(t: &TestApp) -> Value {
    let c = t.create_contract(json!({"status": "active", "number": "MC-2026-7"})).await;
    let lift = t.create_installation("LIFT-A", json!({})).await;
    assert_eq!(t.cover(&c, json!([{"installation_id": lift["id"]}])).await.status, 201);
    t.create_obligation(
        &c,
        json!({"title": "Lift service", "scope": "installations", "schedule": {"rrule": "FREQ=MONTHLY;INTERVAL=3"},
               "lead_days": 2}),
    )
    .await;
    t.create_obligation(
        &c,
        json!({"title": "Quarterly report; figures, costs", "kind": "report", "assignee": {"user": "alice"},
               "schedule": null, "due_date": "2026-08-14", "description": "Send it to\nthe customer"}),
    )
    .await;
    c
}

#[actix_web::test]
async fn the_feed_has_one_event_per_task_with_a_stable_uid_its_due_date_and_a_summary() {
    let t = TestApp::spawn().await;
    planned_work(&t).await;
    let alice = t.token("alice", &["crew"]);
    let tasks = t.all_tasks("assignee=me", &alice).await;
    assert_eq!(tasks.len(), 3, "two lift services (July, October) and the report");

    let res = t.get("/api/v1/tasks.ics?assignee=me", &alice).await;
    let events = calendar_events(&res);
    assert!(res.text.contains("DTSTART;VALUE=DATE:20260629\r\n"), "{}", res.text);
    assert!(res.text.contains("DTEND;VALUE=DATE:20260630\r\n"), "{}", res.text);
    assert_eq!(events.len(), tasks.len());
    for (task, event) in tasks.iter().zip(&events) {
        assert_eq!(event["uid"], format!("task-{}@pactum", id(task)));
        assert_eq!(event["dtstart"], task["due_date"]);
        // All day: the exclusive end is the next day.
        let due = chrono::NaiveDate::parse_from_str(task["due_date"].as_str().unwrap(), "%Y-%m-%d").unwrap();
        assert_eq!(event["dtend"], due.succ_opt().unwrap().to_string());
        let summary = event["summary"].as_str().unwrap();
        assert!(summary.contains(task["title"].as_str().unwrap()), "{summary}");
        assert!(summary.contains("MC-2026-7"), "the summary names the contract: {summary}");
        if task["installation_id"].is_string() {
            assert!(summary.contains("LIFT-A"), "the summary names the installation: {summary}");
        }
        assert_eq!(event["status"], "CONFIRMED");
    }
    let report = events.iter().find(|e| e["summary"].as_str().unwrap().contains("Quarterly report")).unwrap();
    assert_eq!(report["summary"], "Quarterly report; figures, costs (contract MC-2026-7)");
    assert_eq!(report["dtstart"], "2026-08-14");

    // A second fetch gives the same UIDs; a change of the task keeps its UID and moves the date.
    let again = calendar_events(&t.get("/api/v1/tasks.ics?assignee=me", &alice).await);
    let uids = |v: &[Value]| v.iter().map(|e| e["uid"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(uids(&again), uids(&events));
    let report_task =
        tasks.iter().find(|x| x["kind"] == "planned" && x["assignee"] == json!({"user": "alice"})).unwrap();
    let res = t.patch(&format!("/api/v1/tasks/{}", id(report_task)), &alice, json!({"due_date": "2026-08-20"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let moved = calendar_events(&t.get("/api/v1/tasks.ics?assignee=me", &alice).await);
    let uid = format!("task-{}@pactum", id(report_task));
    let event = moved.iter().find(|e| e["uid"] == uid.as_str()).unwrap();
    assert_eq!(event["dtstart"], "2026-08-20");

    // The same filters as the worklist.
    let lift_only = calendar_events(&t.get("/api/v1/tasks.ics?assignee_role=crew", &alice).await);
    assert_eq!(lift_only.len(), 2);
    assert!(lift_only.iter().all(|e| e["summary"].as_str().unwrap().contains("LIFT-A")));
    let none = calendar_events(&t.get("/api/v1/tasks.ics?assignee=me", &t.token("bob", &[])).await);
    assert!(none.is_empty());
    t.get("/api/v1/tasks.ics?status=finished", &alice).await.assert_problem(400, "invalid_query");
    t.get("/api/v1/tasks.ics?colour=red", &alice).await.assert_problem(400, "unknown_parameter");

    // Closed tasks show as cancelled events.
    let done = t.post(&format!("/api/v1/tasks/{}/complete", id(&tasks[0])), &alice, json!({})).await;
    assert_eq!(done.status, 200, "{}", done.text);
    let all = calendar_events(&t.get("/api/v1/tasks.ics?assignee=me", &alice).await);
    let closed = all.iter().find(|e| e["uid"] == format!("task-{}@pactum", id(&tasks[0])).as_str()).unwrap();
    assert_eq!(closed["status"], "CANCELLED");
    let open = calendar_events(&t.get("/api/v1/tasks.ics?assignee=me&status=open", &alice).await);
    assert_eq!(open.len(), 2);
}

#[actix_web::test]
async fn a_personal_feed_token_opens_the_feed_and_nothing_else() {
    let t = TestApp::spawn().await;
    planned_work(&t).await;
    let alice = t.token("alice", &["crew"]);

    let res = t.post("/api/v1/feed-tokens", &alice, json!({})).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let created = res.body.clone();
    let token = created["token"].as_str().unwrap().to_string();
    assert!(token.len() >= 32, "{token}");
    assert_eq!(res.header("location"), Some(format!("/api/v1/feed-tokens/{}", id(&created))));
    assert_eq!(created["created_at"], "2026-06-15T10:00:00Z");
    let feed_url = created["url"].as_str().unwrap().to_string();
    assert!(feed_url.starts_with("/api/v1/tasks.ics?") && feed_url.contains(&token), "{feed_url}");
    // The secret is shown only once.
    let res = t.get("/api/v1/feed-tokens", &alice).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(
        res.body,
        json!({"items": [{"id": created["id"], "created_at": "2026-06-15T10:00:00Z"}], "next_cursor": null})
    );
    assert!(!res.text.contains(&token));
    // Others do not see it.
    let res = t.get("/api/v1/feed-tokens", &t.token("bob", &[])).await;
    assert_eq!(res.body["items"], json!([]));

    // The feed with the token (no Authorization header) equals the one with the bearer token.
    let with_bearer = calendar_events(&t.get("/api/v1/tasks.ics?assignee=me", &alice).await);
    assert_eq!(with_bearer.len(), 3);
    let res = t.request("GET", &feed_url).send().await;
    let with_token = calendar_events(&res);
    let uids = |v: &[Value]| v.iter().map(|e| e["uid"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(uids(&with_token), uids(&with_bearer));
    let again = calendar_events(&t.request("GET", &feed_url).send().await);
    assert_eq!(uids(&again), uids(&with_bearer), "stable UIDs across fetches");
    // Filters work with the token as well.
    let res = t.request("GET", &format!("/api/v1/tasks.ics?token={token}&assignee_user=alice")).send().await;
    assert_eq!(calendar_events(&res).len(), 1);

    // Wrong or missing credentials.
    t.request("GET", "/api/v1/tasks.ics?token=pft_not-a-token").send().await.assert_problem(401, "unauthorized");
    t.request("GET", "/api/v1/tasks.ics?token=").send().await.assert_problem(401, "unauthorized");
    t.request("GET", "/api/v1/tasks.ics").send().await.assert_problem(401, "unauthorized");
    t.get("/api/v1/tasks.ics", "not-a-jwt").await.assert_problem(401, "unauthorized");
    // The feed token is no bearer token: not for the worklist, not for anything else, not even the feed.
    t.get("/api/v1/tasks", &token).await.assert_problem(401, "unauthorized");
    t.get("/api/v1/tasks.ics", &token).await.assert_problem(401, "unauthorized");
    t.get("/api/v1/feed-tokens", &token).await.assert_problem(401, "unauthorized");
    t.post("/api/v1/feed-tokens", &token, json!({})).await.assert_problem(401, "unauthorized");
    t.request("GET", &format!("/api/v1/tasks?token={token}")).send().await.assert_problem(401, "unauthorized");
    t.request("GET", &format!("/api/v1/feed-tokens?token={token}")).send().await.assert_problem(401, "unauthorized");
    t.request("POST", &format!("/api/v1/feed-tokens?token={token}")).send().await.assert_problem(401, "unauthorized");

    // Only its owner revokes it; then the feed refuses it.
    t.delete(&format!("/api/v1/feed-tokens/{}", id(&created)), &t.token("bob", &["admin"]))
        .await
        .assert_problem(404, "not_found");
    assert_eq!(t.request("GET", &feed_url).send().await.status, 200);
    let res = t.delete(&format!("/api/v1/feed-tokens/{}", id(&created)), &alice).await;
    assert_eq!(res.status, 204, "{}", res.text);
    t.request("GET", &feed_url).send().await.assert_problem(401, "unauthorized");
    // Revoking again changes nothing; unknown ids are 404.
    assert_eq!(t.delete(&format!("/api/v1/feed-tokens/{}", id(&created)), &alice).await.status, 204);
    t.request("GET", &feed_url).send().await.assert_problem(401, "unauthorized");
    t.delete("/api/v1/feed-tokens/nope", &alice).await.assert_problem(404, "not_found");
    let res = t.get("/api/v1/feed-tokens", &alice).await;
    assert_eq!(res.body["items"], json!([]));
    // A new token works independently.
    let res = t.post("/api/v1/feed-tokens", &alice, json!({})).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let fresh = res.body["url"].as_str().unwrap().to_string();
    assert_ne!(fresh, feed_url);
    assert_eq!(calendar_events(&t.request("GET", &fresh).send().await).len(), 3);
    t.request("POST", "/api/v1/feed-tokens").send().await.assert_problem(401, "unauthorized");
}
