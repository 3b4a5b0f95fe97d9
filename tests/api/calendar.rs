//! The calendar feed `GET /api/v1/tasks.ics` and personal feed tokens: the feed is parsed by a
//! real iCalendar parser (the `icalendar` crate's), with a bearer token and with `?token=`; feed
//! tokens are shown once, listed without the secret, revocable, and good for the feed only.

use crate::common::{start_time, Res, TestApp};
use icalendar::parser::{read_calendar, unfold, Property};
use serde_json::{json, Value};

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

/// A calendar date-time in UTC as RFC 5545 writes it: `YYYYMMDDTHHMMSSZ`.
fn utc_stamp(v: &str) -> bool {
    v.len() == 16 && v.ends_with('Z') && chrono::NaiveDateTime::parse_from_str(&v[..15], "%Y%m%dT%H%M%S").is_ok()
}

/// A property's value parameter, e.g. `DATE` for `DTSTART;VALUE=DATE:…`.
fn value_type<'a>(p: &'a Property<'a>) -> Option<&'a str> {
    p.params
        .iter()
        .find(|x| x.key.as_str().eq_ignore_ascii_case("VALUE"))
        .and_then(|x| x.val.as_ref())
        .map(|v| v.as_str())
}

/// An all-day date property (`;VALUE=DATE:YYYYMMDD`) as a date.
fn all_day(p: &Property<'_>) -> Result<chrono::NaiveDate, String> {
    if value_type(p) != Some("DATE") {
        return Err(format!("{} is not marked VALUE=DATE: {:?}", p.name.as_str(), p));
    }
    chrono::NaiveDate::parse_from_str(p.val.as_str(), "%Y%m%d")
        .map_err(|e| format!("{} {:?}: {e}", p.name.as_str(), p.val))
}

/// Parses an iCalendar document with the `icalendar` crate's parser and checks strictly what
/// calendar apps rely on: CRLF lines of at most 75 octets, VERSION 2.0, our own PRODID, and per
/// event a single UID, a UTC DTSTAMP, an all-day DTSTART, a DTEND after it (when present) and a
/// SUMMARY. Returns the events as JSON (uid, dtstart, dtend, summary, status).
fn parse_ics(text: &str) -> Vec<Value> {
    let mut problems = Vec::new();
    let body = text.strip_suffix("\r\n").unwrap_or_else(|| panic!("the feed does not end with CRLF:\n{text}"));
    for line in body.split("\r\n") {
        if line.contains('\n') || line.contains('\r') {
            problems.push(format!("a bare line break in {line:?}"));
        }
        if line.len() > 75 {
            problems.push(format!("a line of {} octets (RFC 5545 3.1 folds at 75): {line:?}", line.len()));
        }
    }
    let unfolded = unfold(text);
    let cal = read_calendar(&unfolded).unwrap_or_else(|e| panic!("the iCalendar parser refused the feed: {e}\n{text}"));
    let top = |name: &str| {
        cal.properties.iter().filter(|p| p.name.as_str() == name).map(|p| p.val.as_str()).collect::<Vec<_>>()
    };
    if top("VERSION") != ["2.0"] {
        problems.push(format!("VERSION is {:?}", top("VERSION")));
    }
    let prodid = top("PRODID");
    if prodid.len() != 1 || !prodid[0].starts_with("-//Pactum//Pactum ") || !prodid[0].ends_with("//EN") {
        problems.push(format!("PRODID is {prodid:?}"));
    }
    let mut events = Vec::new();
    for ev in &cal.components {
        if ev.name.as_str() != "VEVENT" {
            problems.push(format!("an unexpected {} component", ev.name.as_str()));
            continue;
        }
        let one = |name: &str| {
            let found: Vec<&Property<'_>> = ev.properties.iter().filter(|p| p.name.as_str() == name).collect();
            match found.as_slice() {
                [p] => Ok(*p),
                _ => Err(format!("an event has {} {name} properties", found.len())),
            }
        };
        let mut check = |r: Result<(), String>| {
            if let Err(e) = r {
                problems.push(e);
            }
        };
        check(one("UID").map(|_| ()));
        check(one("SUMMARY").map(|_| ()));
        check(one("DTSTAMP").and_then(|p| {
            if utc_stamp(p.val.as_str()) {
                Ok(())
            } else {
                Err(format!("DTSTAMP {:?} is not a UTC date-time", p.val))
            }
        }));
        let start = one("DTSTART").and_then(all_day);
        let end = ev.find_prop("DTEND").map(all_day).transpose();
        let (start, end) = match (start, end) {
            (Ok(s), Ok(e)) => (s, e),
            (s, e) => {
                check(s.map(|_| ()));
                check(e.map(|_| ()));
                continue;
            }
        };
        if end.is_some_and(|e| e <= start) {
            check(Err(format!("DTEND {end:?} is not after DTSTART {start} (RFC 5545 3.8.2.2)")));
        }
        let text_of = |name: &str| ev.find_prop(name).map(|p| p.val.clone().unescape_text().as_str().to_string());
        events.push(json!({
            "uid": text_of("UID"),
            "dtstart": start.to_string(),
            "dtend": end.map(|e| e.to_string()),
            "summary": text_of("SUMMARY"),
            "status": text_of("STATUS").unwrap_or_default(),
        }));
    }
    assert!(problems.is_empty(), "{problems:#?}\n--- feed ---\n{text}");
    events
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

    // By default the feed shows open work: a completed task leaves it.
    let done = t.post(&format!("/api/v1/tasks/{}/complete", id(&tasks[0])), &alice, json!({})).await;
    assert_eq!(done.status, 200, "{}", done.text);
    let uid_of = |task: &Value| format!("task-{}@pactum", id(task));
    let open = calendar_events(&t.get("/api/v1/tasks.ics?assignee=me", &alice).await);
    assert_eq!(open.len(), 2, "{open:?}");
    assert!(open.iter().all(|e| e["uid"] != uid_of(&tasks[0]).as_str() && e["status"] == "CONFIRMED"));
    assert_eq!(calendar_events(&t.get("/api/v1/tasks.ics?assignee=me&status=open", &alice).await).len(), 2);
    // Asked for, finished work shows: done is marked done and stays confirmed; only work that
    // will not happen is cancelled.
    let started = t.post(&format!("/api/v1/tasks/{}/start", id(&tasks[1])), &alice, json!({})).await;
    assert_eq!(started.status, 200, "{}", started.text);
    let skipped = t.post(&format!("/api/v1/tasks/{}/skip", id(&tasks[2])), &alice, json!({"note": "not needed"})).await;
    assert_eq!(skipped.status, 200, "{}", skipped.text);
    let all =
        calendar_events(&t.get("/api/v1/tasks.ics?assignee=me&status=open,in_progress,done,skipped", &alice).await);
    assert_eq!(all.len(), 3);
    let event_of = |task: &Value| all.iter().find(|e| e["uid"] == uid_of(task).as_str()).unwrap().clone();
    let done = event_of(&tasks[0]);
    assert_eq!(done["status"], "CONFIRMED");
    assert!(done["summary"].as_str().unwrap().starts_with("Done: "), "{done}");
    let in_progress = event_of(&tasks[1]);
    assert_eq!(in_progress["status"], "CONFIRMED");
    assert!(!in_progress["summary"].as_str().unwrap().starts_with("Done"), "{in_progress}");
    assert_eq!(event_of(&tasks[2])["status"], "CANCELLED");
    // The default is open and in progress.
    let default = calendar_events(&t.get("/api/v1/tasks.ics?assignee=me", &alice).await);
    assert_eq!(default.len(), 1);
    assert_eq!(default[0]["uid"], uid_of(&tasks[1]));
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
        json!({"items": [{"id": created["id"], "sub": "alice", "created_at": "2026-06-15T10:00:00Z", "expires_at": null}], "next_cursor": null})
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

    // Only its owner revokes it (or an admin, below); then the feed refuses it.
    t.delete(&format!("/api/v1/feed-tokens/{}", id(&created)), &t.token("bob", &["crew"]))
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

#[actix_web::test]
async fn a_feed_token_may_expire_and_an_admin_revokes_anyones() {
    let t = TestApp::spawn().await;
    planned_work(&t).await;
    let alice = t.token("alice", &["crew"]);

    // An expiry must lie ahead, and not more than ten years.
    for bad in ["2026-06-15T09:00:00Z", "2036-06-16T10:00:00Z"] {
        let res = t.post("/api/v1/feed-tokens", &alice, json!({"expires_at": bad})).await;
        res.assert_problem(422, "validation_failed");
        assert_eq!(res.error_fields(), vec!["expires_at"]);
    }
    assert_eq!(t.get("/api/v1/feed-tokens", &alice).await.body["items"], json!([]), "nothing stored");

    let res = t.post("/api/v1/feed-tokens", &alice, json!({"expires_at": "2026-06-16T10:00:00Z"})).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["expires_at"], "2026-06-16T10:00:00Z");
    let feed_url = res.body["url"].as_str().unwrap().to_string();
    assert_eq!(t.request("GET", &feed_url).send().await.status, 200);
    t.clock.set(start_time() + chrono::Duration::days(1));
    t.request("GET", &feed_url).send().await.assert_problem(401, "unauthorized");

    // An admin finds another user's tokens by `sub` and revokes one; others may not look.
    let lasting = t.post("/api/v1/feed-tokens", &alice, json!({})).await.body;
    let lasting_url = lasting["url"].as_str().unwrap().to_string();
    t.get("/api/v1/feed-tokens?sub=alice", &t.token("bob", &["crew"])).await.assert_problem(403, "forbidden");
    let listed = t.get("/api/v1/feed-tokens?sub=alice", &t.admin()).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let ids: Vec<&Value> = listed.body["items"].as_array().unwrap().iter().map(|i| &i["id"]).collect();
    assert_eq!(ids.len(), 2, "the expired token is listed until revoked: {}", listed.text);
    assert!(ids.contains(&&lasting["id"]));
    let res = t.delete(&format!("/api/v1/feed-tokens/{}", id(&lasting)), &t.admin()).await;
    assert_eq!(res.status, 204, "{}", res.text);
    t.request("GET", &lasting_url).send().await.assert_problem(401, "unauthorized");
    t.delete("/api/v1/feed-tokens/nope", &t.admin()).await.assert_problem(404, "not_found");
}
