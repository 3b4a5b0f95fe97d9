//! Documents through the API: uploads as a raw body and as a browser form on every kind of
//! owner, downloads with ETag, Content-Disposition and ranges, versions that keep every earlier
//! file, removal, the integration push, content addressing, and the refusals (too large, wrong
//! type, broken form, bad file names, ranges outside the file, a client that goes away) that
//! leave nothing behind.

use crate::common::{Res, TestApp};
use crate::dossiers::{case_worker, define_type, open_dossier};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Bytes that look like a small PDF.
fn pdf(text: &str) -> Vec<u8> {
    format!("%PDF-1.4\n% {text}\n%%EOF\n").into_bytes()
}

const BOUNDARY: &str = "----pactum-test-boundary-7MA4YWxkTrZu0gW";

/// One part of a form: name, file name and type (for a file), bytes.
type Part<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a [u8]);

/// A `multipart/form-data` body of these parts, in order; returns its content type and bytes.
fn multipart(parts: &[Part]) -> (String, Vec<u8>) {
    let mut body = Vec::new();
    for (name, filename, content_type, bytes) in parts {
        let mut head = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"");
        if let Some(f) = filename {
            head.push_str(&format!("; filename=\"{f}\""));
        }
        if let Some(ct) = content_type {
            head.push_str(&format!("\r\nContent-Type: {ct}"));
        }
        head.push_str("\r\n\r\n");
        body.extend_from_slice(head.as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

/// A form of text fields, then the file (`None` leaves it out).
fn form(fields: &[(&str, &str)], file: Option<(&str, &str, &[u8])>) -> (String, Vec<u8>) {
    let mut parts: Vec<Part> = fields.iter().map(|(n, v)| (*n, None, None, v.as_bytes())).collect();
    if let Some((filename, content_type, bytes)) = file {
        parts.push(("file", Some(filename), Some(content_type), bytes));
    }
    multipart(&parts)
}

/// Uploads raw bytes as a contract manager.
async fn upload(t: &TestApp, url: &str, content_type: &str, bytes: &[u8]) -> Res {
    t.request("POST", url).bearer(&t.manager()).body(content_type, bytes.to_vec()).await
}

/// Every file under the test's document folder (staged uploads included).
fn stored_files(t: &TestApp) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&t.files.0.join("documents"), &mut out);
    out
}

/// Waits (briefly) until background clean-up has left exactly `n` files in the store.
async fn assert_stored_files(t: &TestApp, n: usize) {
    for _ in 0..100 {
        if stored_files(t).len() == n {
            return;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("expected {n} stored files, found {:?}", stored_files(t));
}

async fn documents_of(t: &TestApp, url: &str) -> Vec<Value> {
    let res = t.get(url, &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body["items"].as_array().unwrap().clone()
}

#[actix_web::test]
async fn a_raw_upload_is_listed_read_and_downloaded_with_ranges() {
    let t = TestApp::spawn().await;
    let contract = t.create_contract(json!({})).await;
    let url = format!("/api/v1/contracts/{}/documents", id(&contract));
    let bytes = pdf("signed contract");
    let res =
        upload(&t, &format!("{url}?filename=Contract%202026.pdf&kind=signed_contract"), "application/pdf", &bytes)
            .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let doc = res.body.clone();
    assert_eq!(res.header("location").unwrap(), format!("/api/v1/documents/{}", id(&doc)));
    assert_eq!(res.header("etag").unwrap(), "\"1\"");
    assert_eq!(doc["owner_type"], "contract");
    assert_eq!(doc["owner_id"], contract["id"]);
    assert_eq!(doc["kind"], "signed_contract");
    assert_eq!(doc["title"], "Contract 2026.pdf");
    assert_eq!(doc["created_by"], "maria");
    assert_eq!(doc["deleted_at"], Value::Null);
    let v = &doc["current_version"];
    assert_eq!(v["number"], 1);
    assert_eq!(v["filename"], "Contract 2026.pdf");
    assert_eq!(v["content_type"], "application/pdf");
    assert_eq!(v["size"], bytes.len());
    assert_eq!(v["sha256"], sha(&bytes));
    assert_eq!(v["created_at"], "2026-06-15T10:00:00Z");

    let listed = documents_of(&t, &url).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], doc["id"]);

    let res = t.get(&format!("/api/v1/documents/{}", id(&doc)), &t.viewer()).await;
    assert_eq!((res.status, res.header("etag").as_deref()), (200, Some("\"1\"")));
    assert_eq!(res.body["current_version"]["sha256"], sha(&bytes));

    let content = doc["content_url"].as_str().unwrap().to_string();
    let res = t.get(&content, &t.viewer()).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.bytes, &bytes[..]);
    assert_eq!(res.header("etag").unwrap(), format!("\"{}\"", sha(&bytes)));
    assert_eq!(res.header("content-type").unwrap(), "application/pdf");
    assert_eq!(res.header("accept-ranges").unwrap(), "bytes");
    assert_eq!(res.header("content-length").unwrap(), bytes.len().to_string());
    assert_eq!(
        res.header("content-disposition").unwrap(),
        "attachment; filename=\"Contract 2026.pdf\"; filename*=UTF-8''Contract%202026.pdf"
    );

    // A PDF viewer's ranges.
    let res = t.request("GET", &content).bearer(&t.viewer()).header("Range", "bytes=0-7").send().await;
    assert_eq!(res.status, 206);
    assert_eq!(res.bytes, &bytes[..8]);
    assert_eq!(res.header("content-range").unwrap(), format!("bytes 0-7/{}", bytes.len()));
    assert_eq!(res.header("content-length").unwrap(), "8");
    let res = t.request("GET", &content).bearer(&t.viewer()).header("Range", "bytes=-6").send().await;
    assert_eq!(res.status, 206);
    assert_eq!(res.bytes, &bytes[bytes.len() - 6..]);
    // A range that is based on another file gets the whole file.
    let res = t
        .request("GET", &content)
        .bearer(&t.viewer())
        .header("Range", "bytes=0-7")
        .header("If-Range", "\"other\"")
        .send()
        .await;
    assert_eq!((res.status, res.bytes.len()), (200, bytes.len()));
    // Outside the file: 416 saying the size.
    let res = t.request("GET", &content).bearer(&t.viewer()).header("Range", "bytes=5000-").send().await;
    res.assert_problem(416, "range_not_satisfiable");
    assert_eq!(res.header("content-range").unwrap(), format!("bytes */{}", bytes.len()));
    // The ETag held still matches.
    let etag = format!("\"{}\"", sha(&bytes));
    let res = t.request("GET", &content).bearer(&t.viewer()).header("If-None-Match", &etag).send().await;
    assert_eq!((res.status, res.text.as_str()), (304, ""));
}

#[actix_web::test]
async fn browser_forms_attach_documents_to_installations_service_calls_and_dossiers() {
    let t = TestApp::spawn().await;
    let installation = t.create_installation("LIFT-9", json!({})).await;
    let certificate = b"\x89PNG\r\n\x1a\n certificate scan";
    let (ct, body) =
        form(&[("kind", "certificate"), ("title", "Inspection 2026")], Some(("cert.png", "image/png", certificate)));
    let url = format!("/api/v1/installations/{}/documents", id(&installation));
    let res = upload(&t, &url, &ct, &body).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["owner_type"], "installation");
    assert_eq!(res.body["kind"], "certificate");
    assert_eq!(res.body["title"], "Inspection 2026");
    assert_eq!(res.body["current_version"]["filename"], "cert.png");
    assert_eq!(res.body["current_version"]["content_type"], "image/png");
    assert_eq!(res.body["current_version"]["sha256"], sha(certificate));
    let res = t.get(res.body["content_url"].as_str().unwrap(), &t.viewer()).await;
    assert_eq!(res.bytes, &certificate[..]);

    // A service agent adds a work report (fields after the file; the type from the name).
    let agent = t.token("sam", &["service_agent"]);
    let res = t
        .post(
            "/api/v1/service-calls",
            &agent,
            json!({"serial_number": "LIFT-9", "priority": "critical", "description": "Stuck",
                   "reporter": {"name": "Jan"}, "channel": "phone"}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let call = res.body;
    let report = pdf("work report");
    let (ct, body) = multipart(&[
        ("file", Some("report.pdf"), Some("application/octet-stream"), &report),
        ("kind", None, None, b"work_report"),
    ]);
    let url = format!("/api/v1/service-calls/{}/documents", id(&call));
    let res = t.request("POST", &url).bearer(&agent).body(&ct, body).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["kind"], "work_report");
    assert_eq!(res.body["current_version"]["content_type"], "application/pdf");
    // A contract manager does not attach to service calls.
    let (ct, body) = form(&[], Some(("photo.jpg", "image/jpeg", b"jpeg")));
    t.request("POST", &url).bearer(&t.manager()).body(&ct, body).await.assert_problem(403, "forbidden");

    // A case worker files a customer letter in a dossier, which only its readers see.
    define_type(&t, json!({"key": "mortgage", "name": "Mortgage", "default_owner": {"role": "mortgage-desk"}})).await;
    let dossier = open_dossier(&t, json!({"type": "mortgage", "customer_ref": "C-9"})).await;
    let url = format!("/api/v1/dossiers/{}/documents", id(&dossier));
    let (ct, body) = form(&[("kind", "customer_letter")], Some(("letter.txt", "text/plain", b"Dear sir")));
    let res = t.request("POST", &url).bearer(&case_worker(&t)).body(&ct, body).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let letter = res.body;
    let outsider = t.token("otto", &["planner"]);
    t.get(&url, &outsider).await.assert_problem(404, "not_found");
    t.get(&format!("/api/v1/documents/{}", id(&letter)), &outsider).await.assert_problem(404, "not_found");
    t.get(letter["content_url"].as_str().unwrap(), &outsider).await.assert_problem(404, "not_found");
    let desk = t.token("dirk", &["mortgage-desk"]);
    assert_eq!(t.get(&url, &desk).await.body["items"].as_array().unwrap().len(), 1);
    // The change feed: the letter's event only for those who may read the dossier.
    let feed_ids = |res: Res| -> Vec<String> {
        res.body["items"].as_array().unwrap().iter().map(|e| e["entity_id"].as_str().unwrap().to_string()).collect()
    };
    let theirs = feed_ids(t.get("/api/v1/events?entity_type=document", &outsider).await);
    assert_eq!(theirs.len(), 2, "{theirs:?}");
    assert!(!theirs.contains(&id(&letter)));
    assert!(feed_ids(t.get("/api/v1/events?entity_type=document", &desk).await).contains(&id(&letter)));
}

#[actix_web::test]
async fn a_new_version_keeps_every_earlier_one_downloadable() {
    let t = TestApp::spawn().await;
    let contract = t.create_contract(json!({})).await;
    let url = format!("/api/v1/contracts/{}/documents?filename=annex.pdf&kind=annex", id(&contract));
    let first = pdf("annex v1");
    let doc = upload(&t, &url, "application/pdf", &first).await.body;
    let versions = format!("/api/v1/documents/{}/versions", id(&doc));

    // Based on a stale ETag: refused before anything is stored.
    let res = t
        .request("POST", &format!("{versions}?filename=annex-v2.pdf"))
        .bearer(&t.manager())
        .header("If-Match", "\"7\"")
        .body("application/pdf", pdf("stale"))
        .await;
    res.assert_problem(412, "precondition_failed");
    assert_stored_files(&t, 1).await;

    let second = pdf("annex v2");
    let res = t
        .request("POST", &format!("{versions}?filename=annex-v2.pdf"))
        .bearer(&t.manager())
        .header("If-Match", "\"1\"")
        .body("application/pdf", second.clone())
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.header("etag").unwrap(), "\"2\"");
    assert_eq!(res.header("location").unwrap(), format!("{versions}/2/content"));
    assert_eq!(res.body["current_version"]["number"], 2);
    assert_eq!(res.body["current_version"]["filename"], "annex-v2.pdf");
    assert_eq!(res.body["kind"], "annex");

    let listed = t.get(&versions, &t.viewer()).await;
    assert_eq!(listed.status, 200);
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.iter().map(|v| v["number"].as_i64().unwrap()).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(items[0]["sha256"], sha(&first));
    let page = t.get(&format!("{versions}?limit=1"), &t.viewer()).await;
    let next = page.body["next_cursor"].as_str().unwrap().to_string();
    let page = t.get(&format!("{versions}?limit=1&cursor={next}"), &t.viewer()).await;
    assert_eq!(page.body["items"][0]["number"], 2);
    assert_eq!(page.body["next_cursor"], Value::Null);

    assert_eq!(t.get(&format!("{versions}/1/content"), &t.viewer()).await.bytes, &first[..]);
    assert_eq!(t.get(&format!("{versions}/2/content"), &t.viewer()).await.bytes, &second[..]);
    assert_eq!(t.get(doc["content_url"].as_str().unwrap(), &t.viewer()).await.bytes, &second[..]);
    t.get(&format!("{versions}/3/content"), &t.viewer()).await.assert_problem(404, "not_found");
    t.get(&format!("{versions}/x/content"), &t.viewer()).await.assert_problem(404, "not_found");
    assert_stored_files(&t, 2).await;

    // Form fields a new version does not use are still held to the spec's limits.
    let long = "k".repeat(101);
    let long_title = "t".repeat(501);
    let long_name = format!("{}.pdf", "n".repeat(300));
    for (field, value) in [("kind", long.as_str()), ("title", long_title.as_str()), ("filename", long_name.as_str())] {
        let (ct, body) = form(&[(field, value)], Some(("annex-v3.pdf", "application/pdf", &pdf("v3"))));
        let res = t
            .request("POST", &format!("{versions}?filename=annex-v3.pdf"))
            .bearer(&t.manager())
            .header("If-Match", "\"2\"")
            .body(&ct, body)
            .await;
        res.assert_problem(422, "validation_failed");
        assert_eq!(res.error_fields(), [field], "{}", res.text);
    }
    assert_eq!(t.get(&versions, &t.viewer()).await.body["items"].as_array().unwrap().len(), 2);
    assert_stored_files(&t, 2).await;
}

#[actix_web::test]
async fn a_removed_document_leaves_lists_and_stays_for_admins_with_its_history() {
    let t = TestApp::spawn().await;
    let contract = t.create_contract(json!({})).await;
    let list = format!("/api/v1/contracts/{}/documents", id(&contract));
    let bytes = pdf("amendment");
    let doc =
        upload(&t, &format!("{list}?filename=amendment.pdf&kind=amendment"), "application/pdf", &bytes).await.body;
    let one = format!("/api/v1/documents/{}", id(&doc));
    t.delete(&one, &t.viewer()).await.assert_problem(403, "forbidden");
    t.request("DELETE", &one)
        .bearer(&t.manager())
        .header("If-Match", "\"9\"")
        .send()
        .await
        .assert_problem(412, "precondition_failed");
    let res = t.request("DELETE", &one).bearer(&t.manager()).header("If-Match", "\"1\"").send().await;
    assert_eq!(res.status, 204, "{}", res.text);

    assert!(documents_of(&t, &list).await.is_empty());
    t.get(&one, &t.manager()).await.assert_problem(404, "not_found");
    t.get(&format!("{one}/content"), &t.manager()).await.assert_problem(404, "not_found");
    t.delete(&one, &t.manager()).await.assert_problem(404, "not_found");
    let res = t.get(&one, &t.admin()).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["deleted_by"], "maria");
    assert_eq!(res.body["deleted_at"], "2026-06-15T10:00:00Z");
    assert_eq!(t.get(&format!("{one}/content"), &t.admin()).await.bytes, &bytes[..]);
    assert_stored_files(&t, 1).await;

    let history = t.get(&format!("{one}/history"), &t.admin()).await;
    let actions: Vec<&str> =
        history.body["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["created", "deleted"]);
    assert_eq!(history.body["items"][0]["changes"]["sha256"]["new"], sha(&bytes));
    let feed = t.get("/api/v1/events?entity_type=document", &t.viewer()).await;
    assert_eq!(feed.body["items"].as_array().unwrap().len(), 2);
}

#[actix_web::test]
async fn documents_pushed_with_their_contract_are_created_kept_and_versioned() {
    let t = TestApp::spawn().await;
    let integration = t.token("crm", &["integration"]);
    let url = "/api/v1/contracts/by-external-ref/CRM-1/documents/DOC-7?filename=signed.pdf&kind=signed_contract";
    let bytes = pdf("signed");
    // No such contract yet.
    t.request("PUT", url)
        .bearer(&integration)
        .body("application/pdf", bytes.clone())
        .await
        .assert_problem(404, "not_found");
    t.create_contract(json!({"external_ref": "CRM-1"})).await;

    let res = t.request("PUT", url).bearer(&integration).body("application/pdf", bytes.clone()).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["outcome"], "created");
    let doc = res.body["document"].clone();
    assert_eq!(doc["external_ref"], "DOC-7");
    assert_eq!(doc["kind"], "signed_contract");

    let res = t.request("PUT", url).bearer(&integration).body("application/pdf", bytes.clone()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["outcome"], "unchanged");
    assert_eq!(res.body["document"]["id"], doc["id"]);
    assert_eq!(res.body["document"]["version"], 1);

    let res = t.request("PUT", url).bearer(&integration).body("application/pdf", pdf("signed, corrected")).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["outcome"], "updated");
    assert_eq!(res.body["document"]["current_version"]["number"], 2);
    assert_eq!(res.body["document"]["id"], doc["id"]);

    let history = t.get(&format!("/api/v1/documents/{}/history", id(&doc)), &t.viewer()).await;
    assert_eq!(history.body["items"].as_array().unwrap().len(), 2, "{}", history.text);
    t.request("PUT", url).bearer(&t.viewer()).body("application/pdf", bytes).await.assert_problem(403, "forbidden");
}

#[actix_web::test]
async fn the_same_bytes_are_stored_once() {
    let t = TestApp::spawn().await;
    let a = t.create_contract(json!({})).await;
    let b = t.create_contract(json!({})).await;
    let bytes = pdf("shared annex");
    for c in [&a, &b] {
        let url = format!("/api/v1/contracts/{}/documents?filename=annex.pdf", id(c));
        assert_eq!(upload(&t, &url, "application/pdf", &bytes).await.status, 201);
    }
    assert_stored_files(&t, 1).await;
    let name = stored_files(&t)[0].file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(name, sha(&bytes));
}

#[actix_web::test]
async fn bad_uploads_are_refused_and_leave_nothing_behind() {
    let t = TestApp::spawn_with(|s| s.document_max_bytes = 1000).await;
    let contract = t.create_contract(json!({})).await;
    let base = format!("/api/v1/contracts/{}/documents", id(&contract));

    // Larger than the limit: by Content-Length before the body is read, and while streaming.
    let res = upload(&t, &format!("{base}?filename=big.pdf"), "application/pdf", &vec![b'x'; 1001]).await;
    res.assert_problem(413, "payload_too_large");
    let (ct, body) = form(&[], Some(("big.pdf", "application/pdf", &vec![b'x'; 2000])));
    let res = t.request("POST", &base).bearer(&t.manager()).body(&ct, body).await;
    res.assert_problem(413, "payload_too_large");
    let (status, _) = t.endless_upload(&format!("{base}?filename=endless.pdf"), &t.manager(), "application/pdf").await;
    assert_eq!(status, Some(413));

    // Types outside the allow-list; a name whose type is unknown.
    upload(&t, &format!("{base}?filename=page.html"), "text/html", b"<script>alert(1)</script>")
        .await
        .assert_problem(415, "unsupported_media_type");
    upload(&t, &format!("{base}?filename=blob.bin"), "application/octet-stream", b"1234")
        .await
        .assert_problem(415, "unsupported_media_type");
    let (ct, body) = form(&[], Some(("x.svg", "image/svg+xml", b"<svg/>")));
    t.request("POST", &base).bearer(&t.manager()).body(&ct, body).await.assert_problem(415, "unsupported_media_type");

    // Broken forms.
    let res = upload(
        &t,
        &base,
        "multipart/form-data; boundary=abc",
        b"--abc\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n%PDF",
    )
    .await;
    res.assert_problem(400, "malformed_multipart");
    upload(&t, &base, "multipart/form-data", b"no boundary").await.assert_problem(400, "malformed_multipart");
    let (ct, body) = form(&[("kind", "annex")], None);
    let res = t.request("POST", &base).bearer(&t.manager()).body(&ct, body).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["file"]);
    let (ct, body) = form(&[("colour", "red")], Some(("a.pdf", "application/pdf", b"%PDF")));
    t.request("POST", &base).bearer(&t.manager()).body(&ct, body).await.assert_problem(422, "validation_failed");

    // File names: a path, NUL, none at all; an empty file; a blank kind.
    let res = upload(&t, &format!("{base}?filename=..%2F..%2Fetc%2Fpasswd"), "application/pdf", b"%PDF").await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.body["errors"][0]["code"], "invalid_filename");
    let (ct, body) = form(&[], Some(("../../x.pdf", "application/pdf", b"%PDF")));
    let res = t.request("POST", &base).bearer(&t.manager()).body(&ct, body).await;
    assert_eq!(res.body["errors"][0]["code"], "invalid_filename", "{}", res.text);
    upload(&t, &format!("{base}?filename=a%00.pdf"), "application/pdf", b"%PDF")
        .await
        .assert_problem(400, "invalid_character");
    let (ct, body) = form(&[("filename", "a\u{1}b.pdf")], Some(("a.pdf", "application/pdf", b"%PDF")));
    let res = t.request("POST", &base).bearer(&t.manager()).body(&ct, body).await;
    assert_eq!(res.body["errors"][0]["code"], "invalid_character", "{}", res.text);
    let res = upload(&t, &base, "application/pdf", b"%PDF").await;
    assert_eq!((res.status, res.error_fields()), (422, vec!["filename".to_string()]));
    let res = upload(&t, &format!("{base}?filename=empty.pdf"), "application/pdf", b"").await;
    assert_eq!((res.status, res.error_fields()), (422, vec!["file".to_string()]));
    let res = upload(&t, &format!("{base}?filename=a.pdf&kind=%20"), "application/pdf", b"%PDF").await;
    assert_eq!((res.status, res.error_fields()), (422, vec!["kind".to_string()]));
    let (ct, body) = form(&[("title", " ")], Some(("a.pdf", "application/pdf", b"%PDF")));
    let res = t.request("POST", &base).bearer(&t.manager()).body(&ct, body).await;
    assert_eq!((res.status, res.error_fields()), (422, vec!["title".to_string()]));

    // Roles and owners.
    let res = t
        .request("POST", &format!("{base}?filename=a.pdf"))
        .bearer(&t.viewer())
        .body("application/pdf", b"%PDF".to_vec())
        .await;
    res.assert_problem(403, "forbidden");
    upload(&t, "/api/v1/contracts/nope/documents?filename=a.pdf", "application/pdf", b"%PDF")
        .await
        .assert_problem(404, "not_found");

    assert!(documents_of(&t, &base).await.is_empty());
    let feed = t.get("/api/v1/events?entity_type=document", &t.viewer()).await;
    assert_eq!(feed.body["items"], json!([]));
    assert_stored_files(&t, 0).await;
}

#[actix_web::test]
async fn a_client_that_disconnects_mid_upload_leaves_no_document() {
    use std::io::Write;
    let t = TestApp::spawn().await;
    let contract = t.create_contract(json!({})).await;
    let path = format!("/api/v1/contracts/{}/documents?filename=half.pdf", id(&contract));
    let addr = t.base.trim_start_matches("http://").to_string();
    let token = t.manager();
    actix_web::rt::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/pdf\r\nContent-Length: 200000\r\n\r\n"
        );
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(&[b'x'; 50_000]).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        drop(s);
    })
    .await
    .unwrap();
    actix_web::rt::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(documents_of(&t, &format!("/api/v1/contracts/{}/documents", id(&contract))).await.is_empty());
    assert_stored_files(&t, 0).await;
    // The service goes on as before.
    let url = format!("/api/v1/contracts/{}/documents?filename=whole.pdf", id(&contract));
    assert_eq!(upload(&t, &url, "application/pdf", &pdf("whole")).await.status, 201);
}

#[actix_web::test]
async fn a_retried_upload_with_an_idempotency_key_is_stored_once() {
    let t = TestApp::spawn().await;
    let contract = t.create_contract(json!({})).await;
    let url = format!("/api/v1/contracts/{}/documents?filename=once.pdf", id(&contract));
    let send = || {
        t.request("POST", &url)
            .bearer(&t.manager())
            .header("Idempotency-Key", "upload-1")
            .body("application/pdf", pdf("once"))
    };
    let first = send().await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = send().await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(documents_of(&t, &format!("/api/v1/contracts/{}/documents", id(&contract))).await.len(), 1);
}

/// Documents in S3-compatible storage (moto in CI): multipart uploads of more than one part,
/// content addressing, ranged downloads and versions against a real S3 API. Built with the
/// `s3-tests` feature only, and then it needs TEST_DOCUMENT_STORE_URL (`s3://bucket/prefix`)
/// and TEST_DOCUMENT_STORE_ENDPOINT; `.ci/run` provides both.
#[cfg(feature = "s3-tests")]
#[actix_web::test]
async fn documents_live_in_s3_compatible_storage() {
    let url = std::env::var("TEST_DOCUMENT_STORE_URL")
        .expect("the s3-tests feature needs TEST_DOCUMENT_STORE_URL=s3://bucket/prefix (see .ci/run)");
    let endpoint = std::env::var("TEST_DOCUMENT_STORE_ENDPOINT").ok();
    let t = TestApp::spawn_with(|s| {
        s.document_store_url = Some(url);
        s.document_store_endpoint = endpoint;
    })
    .await;
    let contract = t.create_contract(json!({})).await;
    let base = format!("/api/v1/contracts/{}/documents", id(&contract));
    // Over two 5 MiB parts, with a pattern so that ranges can be checked.
    let big: Vec<u8> = (0..11 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let res = upload(&t, &format!("{base}?filename=scan.pdf&kind=signed_contract"), "application/pdf", &big).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let doc = res.body;
    assert_eq!(doc["current_version"]["sha256"], sha(&big));
    assert_eq!(doc["current_version"]["size"], big.len());
    // No local folder is used.
    assert!(stored_files(&t).is_empty());

    let content = doc["content_url"].as_str().unwrap().to_string();
    let res = t.get(&content, &t.viewer()).await;
    assert_eq!(res.status, 200);
    assert_eq!(sha(&res.bytes), sha(&big));
    let res = t.request("GET", &content).bearer(&t.viewer()).header("Range", "bytes=6000000-6000009").send().await;
    assert_eq!(res.status, 206);
    assert_eq!(res.header("content-range").unwrap(), format!("bytes 6000000-6000009/{}", big.len()));
    assert_eq!(res.bytes, &big[6_000_000..6_000_010]);
    let res =
        t.request("GET", &content).bearer(&t.viewer()).header("Range", &format!("bytes={}-", big.len())).send().await;
    res.assert_problem(416, "range_not_satisfiable");

    // The same bytes on another contract: stored once, both downloadable; a form upload and a version.
    let other = t.create_contract(json!({})).await;
    let url = format!("/api/v1/contracts/{}/documents?filename=copy.pdf", id(&other));
    assert_eq!(upload(&t, &url, "application/pdf", &big).await.status, 201);
    let (ct, body) = form(&[("kind", "annex")], Some(("annex.pdf", "application/pdf", &pdf("annex"))));
    let res = t.request("POST", &base).bearer(&t.manager()).body(&ct, body).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let annex = res.body;
    let res = t
        .request("POST", &format!("/api/v1/documents/{}/versions?filename=annex.pdf", id(&annex)))
        .bearer(&t.manager())
        .body("application/pdf", pdf("annex v2"))
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let v1 = t.get(&format!("/api/v1/documents/{}/versions/1/content", id(&annex)), &t.viewer()).await;
    assert_eq!(v1.bytes, &pdf("annex")[..]);
    let v2 = t.get(annex["content_url"].as_str().unwrap(), &t.viewer()).await;
    assert_eq!(v2.bytes, &pdf("annex v2")[..]);
}

#[actix_web::test]
async fn the_retention_period_lets_the_bytes_of_removed_documents_go() {
    let t = TestApp::spawn_with(|s| s.document_retention_days = Some(30)).await;
    let contract = t.create_contract(json!({})).await;
    let base = format!("/api/v1/contracts/{}/documents", id(&contract));
    let shared = pdf("shared");
    let removed = upload(&t, &format!("{base}?filename=old.pdf"), "application/pdf", &shared).await.body;
    let versions = format!("/api/v1/documents/{}/versions?filename=old-2.pdf", id(&removed));
    let own = pdf("only in the removed one");
    assert_eq!(
        t.request("POST", &versions).bearer(&t.manager()).body("application/pdf", own.clone()).await.status,
        201
    );
    let kept = upload(&t, &format!("{base}?filename=kept.pdf"), "application/pdf", &shared).await.body;
    assert_eq!(t.delete(&format!("/api/v1/documents/{}", id(&removed)), &t.manager()).await.status, 204);
    assert_stored_files(&t, 2).await;

    let purge = |t: &TestApp| {
        let (db, store, clock) = (t.state.db.clone(), t.state.documents.clone(), t.clock.clone());
        async move { pactum::documents::retention::purge(&db, &store, &clock, 30).await.unwrap() }
    };
    // Within the period nothing goes.
    t.clock.set(crate::common::start_time() + chrono::Duration::days(30) - chrono::Duration::seconds(1));
    assert_eq!(purge(&t).await, 0);
    let v2 = format!("/api/v1/documents/{}/versions/2/content", id(&removed));
    assert_eq!(t.get(&v2, &t.admin()).await.bytes, &own[..]);

    // After it, the removed document's own bytes go; the bytes the kept one shares stay.
    t.clock.set(crate::common::start_time() + chrono::Duration::days(31));
    assert_eq!(purge(&t).await, 1);
    assert_eq!(purge(&t).await, 0, "a second pass finds nothing");
    assert_stored_files(&t, 1).await;
    t.get(&v2, &t.admin()).await.assert_problem(410, "document_purged");
    let v1 = format!("/api/v1/documents/{}/versions/1/content", id(&removed));
    t.get(&v1, &t.admin()).await.assert_problem(410, "document_purged");
    assert_eq!(t.get(kept["content_url"].as_str().unwrap(), &t.viewer()).await.bytes, &shared[..]);
    let res = t.get(&format!("/api/v1/documents/{}", id(&removed)), &t.admin()).await;
    assert_eq!(res.body["current_version"]["purged_at"], "2026-07-16T10:00:00Z");
    let history = t.get(&format!("/api/v1/documents/{}/history", id(&removed)), &t.admin()).await;
    let actions: Vec<&str> =
        history.body["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["created", "version_added", "deleted", "purged"]);
}

#[actix_web::test]
async fn bytes_whose_version_never_committed_are_collected_later() {
    use pactum::documents::{blobs, retention};
    let t = TestApp::spawn().await;
    let contract = t.create_contract(json!({})).await;
    let base = format!("/api/v1/contracts/{}/documents", id(&contract));
    let kept = upload(&t, &format!("{base}?filename=kept.pdf"), "application/pdf", &pdf("kept")).await.body;
    let (db, store, clock) = (t.state.db.clone(), t.state.documents.clone(), t.clock.clone());

    // An upload that filed its bytes, then stopped before its version committed.
    let mut staged = store.begin(1000).await.unwrap();
    assert!(staged.write(&pdf("orphan")).await.is_ok());
    let filed = blobs::file(&db, &clock, staged.complete().await.unwrap()).await.unwrap();
    assert_eq!(filed.stored.sha256, sha(&pdf("orphan")));
    assert_stored_files(&t, 2).await;

    // Within the grace an upload may still be committing: nothing goes.
    assert_eq!(blobs::collect(&db, &store, &clock).await.unwrap(), 0);
    assert_stored_files(&t, 2).await;
    // After it the orphan goes, once; the bytes a version holds stay.
    t.clock.set(crate::common::start_time() + chrono::Duration::hours(2));
    assert_eq!(blobs::collect(&db, &store, &clock).await.unwrap(), 1);
    assert_eq!(blobs::collect(&db, &store, &clock).await.unwrap(), 0);
    assert_stored_files(&t, 1).await;
    assert_eq!(t.get(kept["content_url"].as_str().unwrap(), &t.viewer()).await.bytes, &pdf("kept")[..]);
    // The same bytes uploaded again are filed anew.
    let again = upload(&t, &format!("{base}?filename=again.pdf"), "application/pdf", &pdf("orphan")).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(t.get(again.body["content_url"].as_str().unwrap(), &t.viewer()).await.bytes, &pdf("orphan")[..]);

    // Staged uploads of a process that stopped mid-upload go after a day; recent ones stay.
    let staging = t.files.0.join("documents").join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    let day_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(25 * 3600);
    for name in ["abandoned", "abandoned#1"] {
        let f = std::fs::File::create(staging.join(name)).unwrap();
        f.set_modified(day_ago).unwrap();
    }
    std::fs::write(staging.join("in-progress#1"), b"%PDF").unwrap();
    retention::pass(&db, &store, &clock, None).await.unwrap();
    let mut left: Vec<String> =
        std::fs::read_dir(&staging).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    left.sort();
    assert_eq!(left, vec!["in-progress#1"]);
}

/// Records, behind the service's back, that the collector began letting the bytes `blob` go
/// at `since` (and has not removed them yet).
async fn releasing_since(t: &TestApp, blob: &str, since: &'static str) {
    use diesel::RunQueryDsl;
    let row = blob.to_string();
    t.write_behind_the_api(move |c| {
        diesel::sql_query(format!(
            "INSERT INTO document_blobs (sha256, claims, check_at, releasing_at) VALUES ('{row}', 1, '{since}', '{since}')"
        ))
        .execute(c)
    })
    .await;
}

#[actix_web::test]
async fn an_upload_of_bytes_being_let_go_waits_and_files_them_anew() {
    let t = TestApp::spawn().await;
    let contract = t.create_contract(json!({})).await;
    let base = format!("/api/v1/contracts/{}/documents", id(&contract));
    let bytes = pdf("released");
    let blob = sha(&bytes);

    releasing_since(&t, &blob, "2026-06-15 09:59:00").await;
    let url = format!("{base}?filename=released.pdf");
    let collector = async {
        actix_web::rt::time::sleep(std::time::Duration::from_millis(500)).await;
        assert!(documents_of(&t, &base).await.is_empty(), "the upload waits for the release");
        let row = blob.clone();
        t.write_behind_the_api(move |c| {
            diesel::RunQueryDsl::execute(
                diesel::sql_query(format!("DELETE FROM document_blobs WHERE sha256 = '{row}'")),
                c,
            )
        })
        .await;
    };
    let (res, ()) = futures_util::join!(upload(&t, &url, "application/pdf", &bytes), collector);
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(t.get(res.body["content_url"].as_str().unwrap(), &t.viewer()).await.bytes, &bytes[..]);

    // A release begun long ago whose process stopped is taken over at once.
    let stale = pdf("stale");
    releasing_since(&t, &sha(&stale), "2026-06-15 08:00:00").await;
    let res = upload(&t, &format!("{base}?filename=stale.pdf"), "application/pdf", &stale).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(t.get(res.body["content_url"].as_str().unwrap(), &t.viewer()).await.bytes, &stale[..]);
    assert_eq!(documents_of(&t, &base).await.len(), 2);
}

#[actix_web::test]
async fn a_template_renders_a_contract_into_a_generated_document() {
    let t = TestApp::spawn().await;
    t.define_attribute(json!({"entity_kind": "contract", "key": "region", "label": "Region", "data_type": "text"}))
        .await;
    let frame = t.create_contract(json!({"title": "Framework 2026", "contract_type": "framework"})).await;
    let contract = t
        .create_contract(
            json!({"title": "Lifts <Amsterdam>", "parent_id": frame["id"], "attributes": {"region": "north"}}),
        )
        .await;
    let lift = t.create_installation("LIFT-77", json!({})).await;
    assert_eq!(t.cover(&contract, json!([{"installation_id": lift["id"]}])).await.status, 201);
    t.create_obligation(&contract, json!({"title": "Quarterly inspection"})).await;

    let body = "<h1>{{ contract.title }}</h1><p>Region {{ contract.attributes.region }}, under {{ parent.title }}</p>\
                <ul>{% for i in installations %}<li>{{ i.serial_number }} from {{ i.valid_from }}</li>{% endfor %}</ul>\
                <ol>{% for o in obligations %}<li>{{ o.title }}</li>{% endfor %}</ol>";
    let template = json!({"key": "offer", "name": "Offer", "body": body});
    t.post("/api/v1/document-templates", &t.manager(), template.clone()).await.assert_problem(403, "forbidden");
    let res = t.post("/api/v1/document-templates", &t.admin(), template.clone()).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let tpl = res.body.clone();
    assert_eq!(res.header("location").unwrap(), format!("/api/v1/document-templates/{}", id(&tpl)));
    t.post("/api/v1/document-templates", &t.admin(), template).await.assert_problem(409, "duplicate_key");
    let res = t
        .post("/api/v1/document-templates", &t.admin(), json!({"key": "Bad Key", "name": "x", "body": "{% for %}"}))
        .await;
    assert_eq!((res.status, res.error_fields()), (422, vec!["key".to_string(), "body".to_string()]));
    let listed = t.get("/api/v1/document-templates", &t.viewer()).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);

    let url = format!("/api/v1/contracts/{}/documents/generate", id(&contract));
    let res = t.post(&url, &t.manager(), json!({"template": "offer"})).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let doc = res.body;
    assert_eq!(doc["kind"], "generated");
    assert_eq!(doc["title"], "Offer");
    assert_eq!(doc["current_version"]["filename"], "offer.html");
    assert_eq!(doc["current_version"]["content_type"], "text/html");
    let res = t.get(doc["content_url"].as_str().unwrap(), &t.viewer()).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.text,
        "<h1>Lifts &lt;Amsterdam&gt;</h1><p>Region north, under Framework 2026</p>\
         <ul><li>LIFT-77 from 2026-01-01</li></ul><ol><li>Quarterly inspection</li></ol>"
    );
    assert!(res.header("content-security-policy").unwrap().starts_with("sandbox"));
    let listed = documents_of(&t, &format!("/api/v1/contracts/{}/documents", id(&contract))).await;
    assert_eq!(listed.len(), 1);

    // A changed template renders the next document; refusals store nothing.
    let res = t
        .request("PATCH", &format!("/api/v1/document-templates/{}", id(&tpl)))
        .bearer(&t.admin())
        .header("If-Match", "\"1\"")
        .json(json!({"body": "{{ contract.number }}{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"}))
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let res = t.post(&url, &t.manager(), json!({"template": "offer"})).await;
    assert_eq!((res.status, res.body["errors"][0]["code"].as_str()), (422, Some("render_failed")), "{}", res.text);
    let res = t.post(&url, &t.manager(), json!({"template": "nope"})).await;
    assert_eq!((res.status, res.body["errors"][0]["code"].as_str()), (422, Some("not_found")));
    let res = t.post(&url, &t.manager(), json!({"template": "offer", "filename": "../x.html"})).await;
    assert_eq!(res.status, 422);
    t.post(&url, &t.viewer(), json!({"template": "offer"})).await.assert_problem(403, "forbidden");
    t.post("/api/v1/contracts/nope/documents/generate", &t.manager(), json!({"template": "offer"}))
        .await
        .assert_problem(404, "not_found");
    assert_stored_files(&t, 1).await;

    let res = t.delete(&format!("/api/v1/document-templates/{}", id(&tpl)), &t.admin()).await;
    assert_eq!(res.status, 204);
    let history = t.get("/api/v1/events?entity_type=document_template", &t.viewer()).await;
    let actions: Vec<&str> =
        history.body["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["created", "updated", "deleted"]);
}
