//! The conventions every endpoint shares (README.md, "API conventions in short"): problem+json
//! errors for bad bodies and queries, 405 with `Allow`, cursor pagination, ETag/If-Match,
//! request ids, the docs, and no 500 for anything a client sends.

use crate::common::{Res, TestApp};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;

const CONTRACTS: &str = "/api/v1/contracts";

fn minimal() -> Value {
    json!({"title": "Lifts", "contract_type": "maintenance", "customer_ref": "CUST-1", "start_date": "2026-01-01"})
}

/// A client of our own for what the harness does not do (no content type, no redirects).
fn raw_client() -> awc::Client {
    awc::Client::builder().disable_redirects().timeout(Duration::from_secs(60)).finish()
}

async fn read(
    mut r: awc::ClientResponse<
        impl futures_util::Stream<Item = Result<actix_web::web::Bytes, awc::error::PayloadError>> + Unpin,
    >,
) -> (u16, awc::http::header::HeaderMap, Value) {
    let bytes = r.body().limit(16 * 1024 * 1024).await.expect("read body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (r.status().as_u16(), r.headers().clone(), body)
}

async fn count_contracts(t: &TestApp) -> usize {
    let res = t.get(&format!("{CONTRACTS}?limit=500"), &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body["items"].as_array().unwrap().len()
}

#[actix_web::test]
async fn broken_json_is_400_malformed_json() {
    let t = TestApp::spawn().await;
    for body in [&b"{\"title\": "[..], b"{title: 'x'}", b"[1, 2", b"{\"title\": \"x\"} trailing", b"\xff\xfe"] {
        let res = t.request("POST", CONTRACTS).bearer(&t.manager()).body("application/json", body.to_vec()).await;
        res.assert_problem(400, "malformed_json");
    }
    // The same on a patch, and with a charset parameter on the content type.
    let c = t.create_contract(json!({})).await;
    let url = format!("{CONTRACTS}/{}", c["id"].as_str().unwrap());
    let res =
        t.request("PATCH", &url).bearer(&t.manager()).body("application/json; charset=utf-8", "{\"title\":").await;
    res.assert_problem(400, "malformed_json");
    assert_eq!(count_contracts(&t).await, 1);
    assert_eq!(t.get(&url, &t.viewer()).await.body["version"], 1);
}

/// A body may be left out where the spec says so: no bytes at all. Whitespace alone is a
/// document, and not JSON: 400, and nothing changes.
#[actix_web::test]
async fn an_optional_body_left_out_is_empty_and_whitespace_is_not_json() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"status": "active"})).await;
    let url = format!("{CONTRACTS}/{}/renew", c["id"].as_str().unwrap());
    for body in ["\n", " ", "\r\n\t"] {
        let res = t
            .request("POST", &url)
            .bearer(&t.manager())
            .header("If-Match", "\"1\"")
            .body("application/json", body)
            .await;
        res.assert_problem(400, "malformed_json");
    }
    let stored = t.get(&format!("{CONTRACTS}/{}", c["id"].as_str().unwrap()), &t.viewer()).await;
    assert_eq!(stored.body["version"], 1, "{}", stored.text);
    let res = t.request("POST", &url).bearer(&t.manager()).header("If-Match", "\"1\"").send().await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["version"], 2);
}

#[actix_web::test]
async fn a_list_where_an_object_belongs_is_422_and_changes_nothing() {
    let t = TestApp::spawn().await;
    let hook =
        t.post("/api/v1/webhooks", &t.admin(), json!({"url": "https://example.com/hook", "event_types": ["*"]})).await;
    assert_eq!(hook.status, 201, "{}", hook.text);
    let c = t.create_contract(json!({})).await;
    // A patch whose fields all have defaults would otherwise read `[]` as "change nothing".
    for url in [
        format!("/api/v1/webhooks/{}", hook.body["id"].as_str().unwrap()),
        format!("{CONTRACTS}/{}", c["id"].as_str().unwrap()),
    ] {
        for body in ["[]", "[1]"] {
            let res = t.request("PATCH", &url).bearer(&t.admin()).body("application/json", body).await;
            res.assert_problem(422, "validation_failed");
            assert_eq!(res.body["errors"][0]["field"], "", "{}", res.text);
            assert_eq!(t.get(&url, &t.admin()).await.body["version"], 1);
        }
    }
    let res = t.request("POST", CONTRACTS).bearer(&t.manager()).body("application/json", "[]").await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(count_contracts(&t).await, 1);
}

#[actix_web::test]
async fn bodies_that_are_not_json_are_415() {
    let t = TestApp::spawn().await;
    let body = minimal().to_string();
    let res = t.request("POST", CONTRACTS).bearer(&t.manager()).body("text/plain", body.clone()).await;
    res.assert_problem(415, "unsupported_media_type");
    let res =
        t.request("POST", CONTRACTS).bearer(&t.manager()).body("application/x-www-form-urlencoded", "title=x").await;
    res.assert_problem(415, "unsupported_media_type");

    // No Content-Type at all.
    let (status, headers, problem) = read(
        raw_client()
            .post(format!("{}{CONTRACTS}", t.base))
            .insert_header(("Authorization", format!("Bearer {}", t.manager())))
            .send_body(body.clone())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 415, "{problem}");
    assert_eq!(headers.get("content-type").unwrap(), "application/problem+json");
    assert_eq!(problem["code"], "unsupported_media_type");

    // JSON media types with a +json suffix (merge patch) are JSON.
    let res = t.request("POST", CONTRACTS).bearer(&t.manager()).body("application/merge-patch+json", body).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(count_contracts(&t).await, 1);
}

#[actix_web::test]
async fn bodies_over_the_limit_are_413_and_change_nothing() {
    let t = TestApp::spawn_with(|s| s.body_limit_bytes = 200).await;
    let mut big = minimal();
    big["title"] = json!("x".repeat(500));
    let res = t.post(CONTRACTS, &t.manager(), big.clone()).await;
    res.assert_problem(413, "payload_too_large");

    // Without a Content-Length (chunked), the limit holds while reading.
    let bytes = actix_web::web::Bytes::from(big.to_string().into_bytes());
    let chunks = futures_util::stream::iter(
        bytes
            .chunks(64)
            .map(|c| Ok::<_, std::io::Error>(actix_web::web::Bytes::copy_from_slice(c)))
            .collect::<Vec<_>>(),
    );
    let (status, _, problem) = read(
        raw_client()
            .post(format!("{}{CONTRACTS}", t.base))
            .insert_header(("Authorization", format!("Bearer {}", t.manager())))
            .insert_header(("Content-Type", "application/json"))
            .send_stream(chunks)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 413, "{problem}");
    assert_eq!(problem["code"], "payload_too_large");

    assert_eq!(count_contracts(&t).await, 0);
    let feed = t.get("/api/v1/events", &t.viewer()).await;
    assert_eq!(feed.body["items"], json!([]));

    // A body under the limit passes.
    let res = t.post(CONTRACTS, &t.manager(), minimal()).await;
    assert_eq!(res.status, 201, "{}", res.text);
}

#[actix_web::test]
async fn bodies_of_the_wrong_shape_are_422_naming_the_field() {
    let t = TestApp::spawn().await;
    let check = |body: Value, fields: &'static [&'static str], code: &'static str| {
        let t = &t;
        async move {
            let res = t.post(CONTRACTS, &t.manager(), body.clone()).await;
            res.assert_problem(422, "validation_failed");
            assert_eq!(res.error_fields(), fields, "for {body}: {}", res.text);
            assert_eq!(res.body["errors"][0]["code"], code, "for {body}: {}", res.text);
            assert!(res.body["errors"][0]["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
    };
    let with = |k: &str, v: Value| {
        let mut b = minimal();
        b[k] = v;
        b
    };
    check(with("term_months", json!("x")), &["term_months"], "invalid_value").await;
    check(with("term_months", json!(1.5)), &["term_months"], "invalid_value").await;
    check(with("start_date", json!(20260101)), &["start_date"], "invalid_value").await;
    check(with("status", json!("bogus")), &["status"], "invalid_value").await;
    check(with("colour", json!("red")), &["colour"], "unknown_field").await;
    check(with("renewal", json!({"auto_renew": "yes"})), &["renewal.auto_renew"], "invalid_value").await;
    let mut missing = minimal();
    missing.as_object_mut().unwrap().remove("title");
    check(missing, &["title"], "required").await;
    // A body that is not an object at all, or no body.
    let res = t.post(CONTRACTS, &t.manager(), json!([1, 2])).await;
    res.assert_problem(422, "validation_failed");
    let res = t.request("POST", CONTRACTS).bearer(&t.manager()).body("application/json", "").await;
    res.assert_problem(422, "validation_failed");

    // A patch: wrong type and unknown field.
    let c = t.create_contract(json!({})).await;
    let url = format!("{CONTRACTS}/{}", c["id"].as_str().unwrap());
    let res = t.patch(&url, &t.manager(), json!({"term_months": "x"})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["term_months"]);
    let res = t.patch(&url, &t.manager(), json!({"titel": "typo"})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["titel"]);
    assert_eq!(count_contracts(&t).await, 1);
    assert_eq!(t.get(&url, &t.viewer()).await.body["version"], 1);
}

#[actix_web::test]
async fn a_wrong_method_on_a_known_path_is_405_with_allow() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({})).await;
    let id = c["id"].as_str().unwrap();
    let cases = [
        ("PUT", CONTRACTS.to_string(), "GET, POST"),
        ("DELETE", CONTRACTS.to_string(), "GET, POST"),
        ("PUT", format!("{CONTRACTS}/{id}"), "GET, PATCH, DELETE"),
        ("POST", format!("{CONTRACTS}/{id}"), "GET, PATCH, DELETE"),
        ("DELETE", format!("{CONTRACTS}/{id}/tree"), "GET"),
        ("GET", format!("{CONTRACTS}/{id}/activate"), "POST"),
        ("POST", "/api/v1/events".to_string(), "GET"),
        ("POST", "/health/live".to_string(), "GET"),
    ];
    for (method, path, allow) in cases {
        let res = t.request(method, &path).bearer(&t.admin()).send().await;
        res.assert_problem(405, "method_not_allowed");
        assert_eq!(res.header("allow").as_deref(), Some(allow), "{method} {path}");
    }
    // Nothing was deleted by the refused DELETE.
    assert_eq!(t.get(&format!("{CONTRACTS}/{id}"), &t.viewer()).await.status, 200);
}

#[actix_web::test]
async fn unknown_paths_and_ids_are_404_problems() {
    let t = TestApp::spawn().await;
    for path in ["/api/v1/nothing", "/api/v2/contracts", "/nope", "/api/v1/contracts/x/y/z"] {
        let res = t.get(path, &t.viewer()).await;
        res.assert_problem(404, "not_found");
    }
    let missing = uuid::Uuid::now_v7().to_string();
    for path in [
        format!("{CONTRACTS}/{missing}"),
        format!("{CONTRACTS}/{missing}/tree"),
        format!("{CONTRACTS}/{missing}/children"),
        format!("{CONTRACTS}/{missing}/history"),
        format!("/api/v1/attribute-definitions/{missing}"),
    ] {
        t.get(&path, &t.viewer()).await.assert_problem(404, "not_found");
    }
    t.patch(&format!("{CONTRACTS}/{missing}"), &t.manager(), json!({"title": "x"}))
        .await
        .assert_problem(404, "not_found");
    t.delete(&format!("{CONTRACTS}/{missing}"), &t.manager()).await.assert_problem(404, "not_found");
    let res = t.request("POST", &format!("{CONTRACTS}/{missing}/activate")).bearer(&t.manager()).send().await;
    res.assert_problem(404, "not_found");
}

#[actix_web::test]
async fn bad_query_parameters_are_400() {
    let t = TestApp::spawn().await;
    let v = t.viewer();
    let cases = [
        ("colour=red", "unknown_parameter"),
        ("Status=draft", "unknown_parameter"),
        ("limit=0", "invalid_query"),
        ("limit=501", "invalid_query"),
        ("limit=-1", "invalid_query"),
        ("limit=ten", "invalid_query"),
        ("limit=99999999999999999999999", "invalid_query"),
        ("status=bogus", "invalid_query"),
        ("root=maybe", "invalid_query"),
        ("expiring_before=2026-13-01", "invalid_query"),
        ("limit=5&limit=6", "invalid_query"),
        ("cursor=***", "invalid_cursor"),
        ("cursor=%FF%FE", "invalid_cursor"),
        ("cursor=AA", "invalid_cursor"),
        // Empty, or well-formed base64 of something no list hands out (`{"id":"x"}`).
        ("cursor=", "invalid_cursor"),
        ("cursor=eyJpZCI6IngifQ", "invalid_cursor"),
    ];
    for (q, code) in cases {
        let res = t.get(&format!("{CONTRACTS}?{q}"), &v).await;
        assert_eq!(res.status, 400, "{q}: {}", res.text);
        res.assert_problem(400, code);
    }
    // Other lists follow the same rules.
    t.get("/api/v1/attribute-definitions?limit=0", &v).await.assert_problem(400, "invalid_query");
    t.get("/api/v1/attribute-definitions?nope=1", &v).await.assert_problem(400, "unknown_parameter");
    t.get("/api/v1/events?limit=501", &v).await.assert_problem(400, "invalid_query");
    t.get("/api/v1/events?after=***", &v).await.assert_problem(400, "invalid_cursor");
    t.get("/api/v1/events?after=", &v).await.assert_problem(400, "invalid_cursor");
    t.get("/api/v1/events?after=eyJpZCI6IngifQ", &v).await.assert_problem(400, "invalid_cursor");
    t.get("/api/v1/events?nope=1", &v).await.assert_problem(400, "unknown_parameter");
    // Limits at the edges are fine.
    assert_eq!(t.get(&format!("{CONTRACTS}?limit=1"), &v).await.status, 200);
    assert_eq!(t.get(&format!("{CONTRACTS}?limit=500"), &v).await.status, 200);
}

#[actix_web::test]
async fn cursor_pagination_visits_every_item_once() {
    let t = TestApp::spawn().await;
    let mut created = Vec::new();
    for i in 0..7 {
        let c = t.create_contract(json!({"title": format!("Contract {i}")})).await;
        created.push(c["id"].as_str().unwrap().to_string());
    }
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => format!("{CONTRACTS}?limit=3"),
            Some(c) => format!("{CONTRACTS}?limit=3&cursor={c}"),
        };
        let res = t.get(&path, &t.viewer()).await;
        assert_eq!(res.status, 200, "{}", res.text);
        let items = res.body["items"].as_array().unwrap();
        sizes.push(items.len());
        seen.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_string()));
        match &res.body["next_cursor"] {
            Value::Null => break,
            Value::String(c) => cursor = Some(c.clone()),
            other => panic!("next_cursor is {other}"),
        }
        assert!(sizes.len() < 10, "pagination does not end");
    }
    assert_eq!(sizes, vec![3, 3, 1]);
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), 7, "duplicates in {seen:?}");
    // Oldest first: the order of creation.
    assert_eq!(seen, created);

    // Exactly a page's worth: the last full page says there is no more.
    let res = t.get(&format!("{CONTRACTS}?limit=7"), &t.viewer()).await;
    assert_eq!(res.body["items"].as_array().unwrap().len(), 7);
    assert_eq!(res.body["next_cursor"], Value::Null);

    // Filters hold across pages.
    for i in 0..4 {
        t.create_contract(json!({"customer_ref": "B", "title": format!("B{i}")})).await;
    }
    let first = t.get(&format!("{CONTRACTS}?customer_ref=B&limit=3"), &t.viewer()).await;
    assert_eq!(first.body["items"].as_array().unwrap().len(), 3);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = t.get(&format!("{CONTRACTS}?customer_ref=B&limit=3&cursor={cursor}"), &t.viewer()).await;
    let items = second.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["customer_ref"], "B");
    assert_eq!(second.body["next_cursor"], Value::Null);
}

#[actix_web::test]
async fn if_match_guards_against_lost_updates() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"title": "Original"})).await;
    let url = format!("{CONTRACTS}/{}", c["id"].as_str().unwrap());
    let got = t.get(&url, &t.viewer()).await;
    let etag = got.header("etag").unwrap();
    assert_eq!(etag, "\"1\"");

    for stale in ["\"0\"", "\"2\"", "W/\"7\"", "garbage"] {
        let res = t
            .request("PATCH", &url)
            .bearer(&t.manager())
            .header("If-Match", stale)
            .json(json!({"title": "Lost"}))
            .await;
        res.assert_problem(412, "precondition_failed");
    }
    let now = t.get(&url, &t.viewer()).await;
    assert_eq!(now.body["title"], "Original");
    assert_eq!(now.body["version"], 1);
    assert_eq!(now.header("etag").as_deref(), Some("\"1\""));

    let res =
        t.request("PATCH", &url).bearer(&t.manager()).header("If-Match", &etag).json(json!({"title": "Second"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.header("etag").as_deref(), Some("\"2\""));
    assert_eq!(res.body["version"], 2);

    // The old ETag is stale now.
    let res =
        t.request("PATCH", &url).bearer(&t.manager()).header("If-Match", &etag).json(json!({"title": "Lost"})).await;
    res.assert_problem(412, "precondition_failed");

    // `*` matches any current version; a list with the current tag matches too.
    let res =
        t.request("PATCH", &url).bearer(&t.manager()).header("If-Match", "*").json(json!({"title": "Third"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.header("etag").as_deref(), Some("\"3\""));
    let res = t
        .request("PATCH", &url)
        .bearer(&t.manager())
        .header("If-Match", "\"1\", \"3\"")
        .json(json!({"title": "Fourth"}))
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.header("etag").as_deref(), Some("\"4\""));

    // Lifecycle verbs honour If-Match as well.
    let activate = format!("{url}/activate");
    let res = t.request("POST", &activate).bearer(&t.manager()).header("If-Match", "\"1\"").send().await;
    res.assert_problem(412, "precondition_failed");
    assert_eq!(t.get(&url, &t.viewer()).await.body["status"], "draft");
    let res = t.request("POST", &activate).bearer(&t.manager()).header("If-Match", "\"4\"").send().await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.header("etag").as_deref(), Some("\"5\""));
    let final_state = t.get(&url, &t.viewer()).await;
    assert_eq!(final_state.body["title"], "Fourth");
    assert_eq!(final_state.body["status"], "active");

    // A present If-Match that names no entity tag (empty, or not a tag) matches no version
    // (RFC 9110 13.1.1): 412, never taken as "no precondition", and nothing changes.
    for no_tag in ["", " ", ",", " , ", "garbage", "3", "{}"] {
        let res = t
            .request("PATCH", &url)
            .bearer(&t.manager())
            .header("If-Match", no_tag)
            .json(json!({"title": "Lost"}))
            .await;
        res.assert_problem(412, "precondition_failed");
        let res =
            t.request("POST", &format!("{url}/suspend")).bearer(&t.manager()).header("If-Match", no_tag).send().await;
        res.assert_problem(412, "precondition_failed");
    }
    let after = t.get(&url, &t.viewer()).await;
    assert_eq!(after.body, final_state.body);
}

#[actix_web::test]
async fn request_ids_are_echoed_or_generated() {
    let t = TestApp::spawn().await;
    let res = t.request("GET", CONTRACTS).bearer(&t.viewer()).header("x-request-id", "trace-abc-123").send().await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("x-request-id").as_deref(), Some("trace-abc-123"));

    let a = t.get(CONTRACTS, &t.viewer()).await;
    let b = t.get(CONTRACTS, &t.viewer()).await;
    let (a, b) = (a.header("x-request-id").unwrap(), b.header("x-request-id").unwrap());
    assert!(!a.is_empty() && !b.is_empty());
    assert_ne!(a, b, "each request gets its own id");

    // Error answers carry it too, and an unusable id is replaced by a generated one.
    let res = t.request("GET", CONTRACTS).header("x-request-id", "trace-401").send().await;
    assert_eq!(res.status, 401);
    assert_eq!(res.header("x-request-id").as_deref(), Some("trace-401"));
    let res = t.get("/api/v1/nothing", &t.viewer()).await;
    assert!(res.header("x-request-id").is_some_and(|v| !v.is_empty()));
    let long = "x".repeat(500);
    let res = t.request("GET", CONTRACTS).bearer(&t.viewer()).header("x-request-id", &long).send().await;
    let id = res.header("x-request-id").unwrap();
    assert!(!id.is_empty() && id != long);
}

#[actix_web::test]
async fn docs_and_the_openapi_document_are_served() {
    let t = TestApp::spawn().await;
    let (status, headers, _) = read(raw_client().get(format!("{}/docs", t.base)).send().await.unwrap()).await;
    assert!((300..400).contains(&status), "GET /docs gave {status}");
    assert_eq!(headers.get("location").unwrap(), "/docs/");

    let res = t.request("GET", "/docs/").send().await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert!(res.header("content-type").unwrap().starts_with("text/html"));
    assert!(res.text.to_lowercase().contains("swagger"), "{}", res.text);

    let res = t.request("GET", "/openapi.json").send().await;
    assert_eq!(res.status, 200);
    assert!(res.header("content-type").unwrap().starts_with("application/json"));
    assert!(res.body["openapi"].as_str().unwrap().starts_with("3."));
    let paths = res.body["paths"].as_object().unwrap();
    for p in ["/api/v1/contracts", "/api/v1/contracts/{id}", "/api/v1/events", "/api/v1/attribute-definitions"] {
        assert!(paths.contains_key(p), "{p} missing from {:?}", paths.keys());
    }
}

/// Asserts the service answered with a 4xx problem (or success), never a 5xx.
fn assert_no_server_error(res: &Res, what: &str) {
    let what: String = what.chars().take(120).collect();
    assert!(res.status < 500, "{what} gave {}: {}", res.status, res.text);
    if res.status >= 400 {
        assert_eq!(res.header("content-type").as_deref(), Some("application/problem+json"), "{what}: {}", res.text);
    }
}

#[actix_web::test]
async fn nothing_a_client_sends_gives_a_500() {
    let t = TestApp::spawn().await;
    let m = t.manager();
    let with = |k: &str, v: Value| {
        let mut b = minimal();
        b[k] = v;
        b
    };
    let bodies = [
        ("huge term", with("term_months", json!(99_999_999_999_999_i64))),
        ("max i32 term", with("term_months", json!(i32::MAX))),
        ("negative term", with("term_months", json!(-5))),
        ("huge float", with("term_months", json!(1e300))),
        ("far date", with("start_date", json!("+99999-01-01"))),
        ("year zero", with("start_date", json!("0000-01-01"))),
        ("far signed_at", with("signed_at", json!("9999-12-31T23:59:59Z"))),
        ("bad signed_at", with("signed_at", json!("yesterday"))),
        ("empty strings", json!({"title": "", "contract_type": "", "customer_ref": "", "start_date": ""})),
        ("unicode", with("title", json!("Onderhoud liften 😀 — ñ 漢字 \u{202e}"))),
        ("nul byte", with("title", json!("bad\u{0000}title"))),
        ("control chars", with("customer_ref", json!("\u{0001}\u{001f}\u{007f}"))),
        ("long title", with("title", json!("x".repeat(100_000)))),
        ("long number", with("number", json!("N".repeat(10_000)))),
        ("number with nul", with("number", json!("N-\u{0000}"))),
        ("nested attributes", with("attributes", json!({"deep": deep(100)}))),
        ("attributes not an object", with("attributes", json!([1, 2]))),
        ("parent is not an id", with("parent_id", json!("x".repeat(5000)))),
        ("weird notice period", with("renewal", json!({"notice_period": "P99999999999999999999M"}))),
        ("huge notice period", with("renewal", json!({"notice_period": "P4000000000Y"}))),
        ("huge renewal term", with("renewal", json!({"term_months": 2_147_483_647}))),
        ("null everywhere", json!({"title": null, "contract_type": null, "customer_ref": null, "start_date": null})),
    ];
    for (what, body) in bodies {
        let res = t.post(CONTRACTS, &m, body).await;
        assert_no_server_error(&res, what);
    }
    // Unicode stores and reads back intact.
    let res = t.post(CONTRACTS, &m, with("title", json!("Onderhoud liften 😀 — ñ 漢字"))).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let got = t.get(res.header("location").as_deref().unwrap(), &t.viewer()).await;
    assert_eq!(got.body["title"], "Onderhoud liften 😀 — ñ 漢字");

    // Deeply nested JSON beyond the parser's recursion limit.
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let res = t.request("POST", CONTRACTS).bearer(&m).body("application/json", nested).await;
    assert_no_server_error(&res, "deep nesting");
    let nested = format!("{{\"title\": {}1{}}}", "{\"a\":".repeat(5000), "}".repeat(5000));
    let res = t.request("POST", CONTRACTS).bearer(&m).body("application/json", nested).await;
    assert_no_server_error(&res, "deep object nesting");

    // Odd paths and queries.
    let long_id = "a".repeat(5000);
    let odd_paths = [
        format!("{CONTRACTS}/{long_id}"),
        format!("{CONTRACTS}/{long_id}/history"),
        format!("{CONTRACTS}/{long_id}/tree"),
        format!("{CONTRACTS}/%00"),
        format!("{CONTRACTS}/%F0%9F%98%80"),
        format!("{CONTRACTS}/'%20OR%201=1--"),
        format!("{CONTRACTS}?q=%00"),
        format!("{CONTRACTS}?q={}", "%25".repeat(2000)),
        format!("{CONTRACTS}?number=%F0%9F%98%80"),
        format!("{CONTRACTS}?cursor={}", "A".repeat(5000)),
        format!("{CONTRACTS}?cursor=AA"),
        format!("{CONTRACTS}?parent_id={long_id}"),
        format!("{CONTRACTS}?attr.nothing=1"),
        format!("{CONTRACTS}?attr.=1"),
        format!("{CONTRACTS}?expiring_before=99999-01-01"),
        format!("{CONTRACTS}?%ZZ=1"),
        "/api/v1/events?after=LTE".to_string(),
        format!("/api/v1/events?after={}", "9".repeat(100)),
        "/api/v1/events?entity_type=%00".to_string(),
        format!("{CONTRACTS}/{long_id}/tree?depth=99999999999"),
    ];
    for path in &odd_paths {
        let res = t.get(path, &t.viewer()).await;
        assert_no_server_error(&res, path);
    }
    let res = t.patch(&format!("{CONTRACTS}/{long_id}"), &m, json!({"title": "x"})).await;
    assert_no_server_error(&res, "patch long id");
    let res = t.delete(&format!("{CONTRACTS}/{long_id}"), &m).await;
    assert_no_server_error(&res, "delete long id");

    // Odd values on an existing contract.
    let c = t.create_contract(json!({})).await;
    let url = format!("{CONTRACTS}/{}", c["id"].as_str().unwrap());
    for (what, patch) in [
        ("self parent", json!({"parent_id": c["id"]})),
        ("unknown parent", json!({"parent_id": "nope"})),
        ("huge term", json!({"term_months": 2_147_483_647})),
        ("nul title", json!({"title": "\u{0000}"})),
        ("attr nul key", json!({"attributes": {"\u{0000}": 1}})),
        ("renewal null", json!({"renewal": null})),
        ("not an object", json!("just a string")),
    ] {
        let res = t.patch(&url, &m, patch).await;
        assert_no_server_error(&res, what);
    }
    for header in ["\"\"", ",,,", "W/", "*, \"1\"", "\"99999999999999999999999\""] {
        let res = t.request("PATCH", &url).bearer(&m).header("If-Match", header).json(json!({"title": "y"})).await;
        assert_no_server_error(&res, header);
    }
    let res =
        t.request("POST", &format!("{url}/terminate")).bearer(&m).json(json!({"effective_date": "2026-02-30"})).await;
    assert_no_server_error(&res, "terminate invalid date");
    let res = t
        .request("POST", &format!("{url}/renew"))
        .bearer(&m)
        .header("Idempotency-Key", "huge")
        .json(json!({"term_months": 2_147_483_647}))
        .await;
    assert_no_server_error(&res, "renew huge");
}

fn deep(levels: usize) -> Value {
    let mut v = json!(1);
    for _ in 0..levels {
        v = json!({ "a": v });
    }
    v
}

#[actix_web::test]
async fn a_path_or_query_over_8_kib_is_a_414_problem() {
    let t = TestApp::spawn().await;
    let long = "a".repeat(9 * 1024);
    for url in [format!("/api/v1/contracts?customer_ref={long}"), format!("/api/v1/contracts/{long}")] {
        let res = t.get(&url, &t.viewer()).await;
        res.assert_problem(414, "uri_too_long");
        assert!(res.text.len() < 1024, "the answer does not echo the URL: {} bytes", res.text.len());
    }
    // Just under the limit is an ordinary request.
    let fits = "a".repeat(8 * 1024 - "/api/v1/contracts?customer_ref=".len());
    let res = t.get(&format!("/api/v1/contracts?customer_ref={fits}"), &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
}

/// A client streaming an upload that the service refuses early gets its answer at once and
/// the connection ends after it: the service neither reads the refused body to its end (a body
/// that never ends would hold the connection for ever) nor leaves the client sending into it.
#[actix_web::test]
async fn an_upload_refused_early_is_answered_and_its_connection_closed() {
    let t = TestApp::spawn().await;
    let refused = [
        ("/api/v1/imports/contracts", t.viewer(), "application/x-ndjson", 403),
        ("/api/v1/imports/contracts?dry_run=maybe", t.admin(), "application/x-ndjson", 400),
        ("/api/v1/imports/contracts", t.admin(), "text/plain", 415),
        ("/api/v1/contracts", t.admin(), "application/json", 413),
        ("/api/v1/contracts", "not-a-token".to_string(), "application/json", 401),
    ];
    for (url, token, content_type, status) in refused {
        let (answer, closed) = t.endless_upload(url, &token, content_type).await;
        assert_eq!(answer, Some(status), "POST {url} ({content_type})");
        assert!(closed, "POST {url}: the connection stayed open, reading the refused body");
    }
    // An ordinary request on the same server is unaffected.
    assert_eq!(t.get("/api/v1/contracts", &t.viewer()).await.status, 200);
}
