//! Authentication (JWT bearer tokens: HS256, RS256, ES256) and the permission roles.

use crate::common::{Res, TestApp, SECRET};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use std::path::PathBuf;

const CONTRACTS: &str = "/api/v1/contracts";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn now() -> i64 {
    Utc::now().timestamp()
}

/// Claims a valid token for `sub` would carry, valid for an hour.
fn claims(sub: &str, roles: &[&str]) -> Value {
    json!({"sub": sub, "roles": roles, "iat": now(), "exp": now() + 3600})
}

/// Signs `claims` with HS256 and `secret`.
fn hs256(secret: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret)).unwrap()
}

fn rs256(claims: &Value) -> String {
    let pem = std::fs::read(fixture("rsa-private.pem")).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &EncodingKey::from_rsa_pem(&pem).unwrap()).unwrap()
}

fn es256(claims: &Value) -> String {
    let pem = std::fs::read(fixture("ec-private.pem")).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::ES256), claims, &EncodingKey::from_ec_pem(&pem).unwrap()).unwrap()
}

/// Asserts a 401 problem with a Bearer challenge.
fn assert_unauthorized(res: &Res, why: &str) {
    assert_eq!(res.status, 401, "{why}: {}", res.text);
    res.assert_problem(401, "unauthorized");
    let challenge = res.header("www-authenticate").unwrap_or_default();
    assert!(challenge.starts_with("Bearer"), "{why}: WWW-Authenticate is {challenge:?}");
}

async fn list_with(t: &TestApp, token: &str) -> Res {
    t.get(CONTRACTS, token).await
}

#[actix_web::test]
async fn a_valid_token_is_accepted() {
    let t = TestApp::spawn().await;
    let res = list_with(&t, &hs256(SECRET.as_bytes(), &claims("alice", &["viewer"]))).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body, json!({"items": [], "next_cursor": null}));
    assert!(res.header("www-authenticate").is_none());
}

#[actix_web::test]
async fn requests_without_a_usable_authorization_header_are_401() {
    let t = TestApp::spawn().await;
    assert_unauthorized(&t.request("GET", CONTRACTS).send().await, "no header");
    let token = t.viewer();
    for value in [
        format!("Basic {}", URL_SAFE_NO_PAD.encode("victor:secret")),
        format!("Token {token}"),
        token.clone(),
        "Bearer".to_string(),
        "Bearer    ".to_string(),
    ] {
        let res = t.request("GET", CONTRACTS).header("Authorization", &value).send().await;
        assert_unauthorized(&res, &format!("Authorization: {value}"));
    }
    // A write without a token is refused too, and creates nothing.
    let res = t
        .request("POST", CONTRACTS)
        .json(json!({"title": "x", "contract_type": "m", "customer_ref": "c", "start_date": "2026-01-01"}))
        .await;
    assert_unauthorized(&res, "POST without token");
    let list = t.get(CONTRACTS, &t.viewer()).await;
    assert_eq!(list.body["items"], json!([]));
}

#[actix_web::test]
async fn malformed_and_tampered_tokens_are_401() {
    let t = TestApp::spawn().await;
    let good = t.viewer();
    let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
    // Swap in a payload that claims admin, keeping the original signature.
    parts[1] = URL_SAFE_NO_PAD.encode(claims("mallory", &["admin"]).to_string());
    let tampered = parts.join(".");
    for (why, token) in [
        ("garbage", "not-a-token".to_string()),
        ("three garbage parts", "abc.def.ghi".to_string()),
        ("truncated", good[..good.len() - 5].to_string()),
        ("tampered payload", tampered),
    ] {
        assert_unauthorized(&list_with(&t, &token).await, why);
    }
}

#[actix_web::test]
async fn expired_and_not_yet_valid_tokens_are_401() {
    let t = TestApp::spawn().await;
    let mut expired = claims("alice", &["viewer"]);
    expired["exp"] = json!(now() - 120);
    let res = list_with(&t, &hs256(SECRET.as_bytes(), &expired)).await;
    assert_unauthorized(&res, "expired");
    assert!(res.body["detail"].as_str().unwrap().contains("expired"), "{}", res.text);

    let mut early = claims("alice", &["viewer"]);
    early["nbf"] = json!(now() + 300);
    let res = list_with(&t, &hs256(SECRET.as_bytes(), &early)).await;
    assert_unauthorized(&res, "nbf in the future");

    // Within the 30 s leeway a small clock skew is tolerated.
    let mut skewed = claims("alice", &["viewer"]);
    skewed["nbf"] = json!(now() + 5);
    assert_eq!(list_with(&t, &hs256(SECRET.as_bytes(), &skewed)).await.status, 200);

    // A token without exp or without sub is refused; so is an empty subject.
    let no_exp = json!({"sub": "alice", "roles": ["viewer"]});
    assert_unauthorized(&list_with(&t, &hs256(SECRET.as_bytes(), &no_exp)).await, "no exp");
    let no_sub = json!({"roles": ["viewer"], "exp": now() + 3600});
    assert_unauthorized(&list_with(&t, &hs256(SECRET.as_bytes(), &no_sub)).await, "no sub");
    let empty_sub = claims(" ", &["viewer"]);
    assert_unauthorized(&list_with(&t, &hs256(SECRET.as_bytes(), &empty_sub)).await, "empty sub");
}

#[actix_web::test]
async fn a_token_signed_with_another_secret_is_401() {
    let t = TestApp::spawn().await;
    let res = list_with(&t, &hs256(b"some-other-secret", &claims("alice", &["admin"]))).await;
    assert_unauthorized(&res, "other secret");
    assert!(res.body["detail"].as_str().unwrap().contains("signature"), "{}", res.text);
}

#[actix_web::test]
async fn an_unsigned_alg_none_token_is_401() {
    let t = TestApp::spawn().await;
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims("mallory", &["admin"]).to_string());
    let unsigned = format!("{header}.{payload}.");
    assert_unauthorized(&list_with(&t, &unsigned).await, "alg none");
    // Same with the algorithm name in other spellings, and with the signature dropped entirely.
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "None", "typ": "JWT"}).to_string());
    assert_unauthorized(&list_with(&t, &format!("{header}.{payload}.")).await, "alg None");
    assert_unauthorized(&list_with(&t, &format!("{header}.{payload}")).await, "two parts");
    let res = t
        .post(
            CONTRACTS,
            &unsigned,
            json!({"title": "x", "contract_type": "m", "customer_ref": "c", "start_date": "2026-01-01"}),
        )
        .await;
    assert_unauthorized(&res, "alg none write");
}

#[actix_web::test]
async fn issuer_and_audience_are_enforced_when_configured() {
    let t = TestApp::spawn_with(|s| {
        s.jwt_issuer = Some("https://idp.example.com".into());
        s.jwt_audience = Some("pactum".into());
    })
    .await;
    let with = |iss: Option<&str>, aud: Option<&str>| {
        let mut c = claims("alice", &["viewer"]);
        if let Some(i) = iss {
            c["iss"] = json!(i);
        }
        if let Some(a) = aud {
            c["aud"] = json!(a);
        }
        hs256(SECRET.as_bytes(), &c)
    };
    let ok = list_with(&t, &with(Some("https://idp.example.com"), Some("pactum"))).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    // `aud` may also be a list (RFC 7519 §4.1.3); it passes when it names this service.
    let mut listed = claims("alice", &["viewer"]);
    listed["iss"] = json!("https://idp.example.com");
    listed["aud"] = json!(["account", "pactum"]);
    let ok = list_with(&t, &hs256(SECRET.as_bytes(), &listed)).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    listed["aud"] = json!(["account", "billing"]);
    assert_unauthorized(&list_with(&t, &hs256(SECRET.as_bytes(), &listed)).await, "audience list without us");

    let cases = [
        ("wrong issuer", with(Some("https://evil.example.com"), Some("pactum"))),
        ("wrong audience", with(Some("https://idp.example.com"), Some("other-service"))),
        ("no issuer", with(None, Some("pactum"))),
        ("no audience", with(Some("https://idp.example.com"), None)),
    ];
    for (why, token) in cases {
        assert_unauthorized(&list_with(&t, &token).await, why);
    }
}

/// Claims an identity provider issues for this service (`aud` = `pactum`).
fn idp_claims(sub: &str, roles: &[&str]) -> Value {
    let mut c = claims(sub, roles);
    c["aud"] = json!("pactum");
    c
}

/// A service that takes tokens from an identity provider with this public key, for `pactum`.
async fn with_idp_key(key: &str) -> TestApp {
    let key = fixture(key);
    TestApp::spawn_with(move |s| {
        s.jwt_secret = None;
        s.jwt_public_key_file = Some(key);
        s.jwt_audience = Some("pactum".into());
    })
    .await
}

#[actix_web::test]
async fn rs256_tokens_from_an_identity_provider_are_accepted() {
    let t = with_idp_key("rsa-public.pem").await;
    let res = list_with(&t, &rs256(&idp_claims("idp-user", &["viewer"]))).await;
    assert_eq!(res.status, 200, "{}", res.text);

    // A writer role from the identity provider's token works, and the actor is its subject.
    let token = rs256(&idp_claims("idp-manager", &["contract_manager"]));
    let created = t
        .post(
            CONTRACTS,
            &token,
            json!({"title": "x", "contract_type": "m", "customer_ref": "c", "start_date": "2026-01-01"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let history = t.get(&format!("{CONTRACTS}/{}/history", created.body["id"].as_str().unwrap()), &token).await;
    assert_eq!(history.body["items"][0]["actor"], "idp-manager");

    // HS256 with the configured secret, or with the public key as the HMAC secret (the classic
    // algorithm-confusion attack), is refused.
    assert_unauthorized(&list_with(&t, &t.viewer()).await, "HS256 with the shared secret");
    let public = std::fs::read(fixture("rsa-public.pem")).unwrap();
    assert_unauthorized(
        &list_with(&t, &hs256(&public, &idp_claims("mallory", &["admin"]))).await,
        "HS256 with the public key",
    );
    // ES256 is not RS256.
    assert_unauthorized(&list_with(&t, &es256(&idp_claims("alice", &["viewer"]))).await, "ES256 against RS256");
    // An expired RS256 token is still refused.
    let mut expired = idp_claims("alice", &["viewer"]);
    expired["exp"] = json!(now() - 120);
    assert_unauthorized(&list_with(&t, &rs256(&expired)).await, "expired RS256");
    // The identity provider's tokens for other applications, or for none, do not get in.
    let mut other = claims("alice", &["admin"]);
    other["aud"] = json!("billing");
    assert_unauthorized(&list_with(&t, &rs256(&other)).await, "a token for another application");
    assert_unauthorized(&list_with(&t, &rs256(&claims("alice", &["admin"]))).await, "a token without aud");
}

#[actix_web::test]
async fn es256_tokens_from_an_identity_provider_are_accepted() {
    let t = with_idp_key("ec-public.pem").await;
    let res = list_with(&t, &es256(&idp_claims("idp-user", &["viewer"]))).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_unauthorized(&list_with(&t, &t.viewer()).await, "HS256 against ES256");
    let public = std::fs::read(fixture("ec-public.pem")).unwrap();
    assert_unauthorized(
        &list_with(&t, &hs256(&public, &idp_claims("mallory", &["admin"]))).await,
        "HS256 with the public key",
    );
    assert_unauthorized(&list_with(&t, &rs256(&idp_claims("alice", &["viewer"]))).await, "RS256 against ES256");
    let mut other = claims("alice", &["admin"]);
    other["aud"] = json!(["billing", "crm"]);
    assert_unauthorized(&list_with(&t, &es256(&other)).await, "a token for other applications");
}

#[actix_web::test]
async fn any_audience_is_accepted_from_an_identity_provider_only_when_allowed_explicitly() {
    let t = TestApp::spawn_with(|s| {
        s.jwt_secret = None;
        s.jwt_public_key_file = Some(fixture("rsa-public.pem"));
        s.jwt_allow_any_audience = true;
    })
    .await;
    let mut other = claims("alice", &["viewer"]);
    other["aud"] = json!("billing");
    for token in [rs256(&claims("alice", &["viewer"])), rs256(&other)] {
        let res = list_with(&t, &token).await;
        assert_eq!(res.status, 200, "{}", res.text);
    }
    // Roles are still required.
    let no_roles = json!({"sub": "alice", "exp": now() + 3600});
    assert_unauthorized(&list_with(&t, &rs256(&no_roles)).await, "no roles");
}

#[actix_web::test]
async fn roles_decide_what_a_caller_may_change() {
    let t = TestApp::spawn().await;
    let contract = json!({"title": "x", "contract_type": "m", "customer_ref": "c", "start_date": "2026-01-01"});

    // A viewer reads but does not write.
    let res = t.post(CONTRACTS, &t.viewer(), contract.clone()).await;
    res.assert_problem(403, "forbidden");
    assert!(res.header("www-authenticate").is_none());
    assert_eq!(t.get(CONTRACTS, &t.viewer()).await.body["items"], json!([]));

    // Team names alone grant nothing; unknown roles neither.
    let team = t.token("tina", &["pension-desk", "superuser"]);
    t.post(CONTRACTS, &team, contract.clone()).await.assert_problem(403, "forbidden");

    // Machine pushes (integration) and contract managers create contracts.
    let res = t.post(CONTRACTS, &t.token("crm", &["integration"]), contract.clone()).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let res = t.post(CONTRACTS, &t.manager(), contract.clone()).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let id = res.body["id"].as_str().unwrap().to_string();

    // The viewer cannot change or delete it either.
    let url = format!("{CONTRACTS}/{id}");
    t.patch(&url, &t.viewer(), json!({"title": "y"})).await.assert_problem(403, "forbidden");
    t.delete(&url, &t.viewer()).await.assert_problem(403, "forbidden");
    let res = t.request("POST", &format!("{url}/activate")).bearer(&t.viewer()).send().await;
    res.assert_problem(403, "forbidden");
    let now = t.get(&url, &t.viewer()).await;
    assert_eq!(now.body["title"], "x");
    assert_eq!(now.body["version"], 1);

    // Modelling is for admins only: a contract manager cannot define attributes.
    let definition = json!({"entity_kind": "contract", "key": "region", "label": "Region", "data_type": "text"});
    let res = t.post("/api/v1/attribute-definitions", &t.manager(), definition.clone()).await;
    res.assert_problem(403, "forbidden");
    let res = t.post("/api/v1/attribute-definitions", &t.token("crm", &["integration"]), definition.clone()).await;
    res.assert_problem(403, "forbidden");
    let defs = t.get("/api/v1/attribute-definitions", &t.manager()).await;
    assert_eq!(defs.status, 200);
    assert_eq!(defs.body["items"], json!([]));
    let res = t.post("/api/v1/attribute-definitions", &t.admin(), definition).await;
    assert_eq!(res.status, 201, "{}", res.text);
}

#[actix_web::test]
async fn health_probes_need_no_token() {
    let t = TestApp::spawn().await;
    let live = t.request("GET", "/health/live").send().await;
    assert_eq!(live.status, 200, "{}", live.text);
    assert!(live.header("content-type").unwrap().starts_with("application/json"));
    assert_eq!(live.body, json!({"status": "live"}));
    let ready = t.request("GET", "/health/ready").send().await;
    assert_eq!(ready.status, 200, "{}", ready.text);
    assert!(ready.header("content-type").unwrap().starts_with("application/json"));
    assert_eq!(ready.body, json!({"status": "ready"}));
    // A bad token does not get in the way of a probe.
    let live = t.request("GET", "/health/live").header("Authorization", "Bearer garbage").send().await;
    assert_eq!(live.status, 200);
}

#[actix_web::test]
async fn a_token_without_a_roles_claim_is_401() {
    let t = TestApp::spawn().await;
    let no_roles = json!({"sub": "alice", "iat": now(), "exp": now() + 3600});
    let res = list_with(&t, &hs256(SECRET.as_bytes(), &no_roles)).await;
    assert_unauthorized(&res, "no roles");
    assert!(res.body["detail"].as_str().unwrap().contains("roles"), "{}", res.text);
    let null_roles = json!({"sub": "alice", "roles": null, "exp": now() + 3600});
    assert_unauthorized(&list_with(&t, &hs256(SECRET.as_bytes(), &null_roles)).await, "roles null");
    // An empty list is a user without roles: they may read.
    let res = list_with(&t, &hs256(SECRET.as_bytes(), &claims("alice", &[]))).await;
    assert_eq!(res.status, 200, "{}", res.text);
    // Nothing is written with a token that lacks roles.
    let res = t
        .post(
            CONTRACTS,
            &hs256(SECRET.as_bytes(), &json!({"sub": "alice", "exp": now() + 3600})),
            json!({"title": "x", "contract_type": "m", "customer_ref": "c", "start_date": "2026-01-01"}),
        )
        .await;
    assert_unauthorized(&res, "write without roles");
    assert_eq!(t.get(CONTRACTS, &t.viewer()).await.body["items"], json!([]));
}

#[actix_web::test]
async fn numeric_dates_may_have_fractional_seconds() {
    let t = TestApp::spawn().await;
    // RFC 7519 §2: a NumericDate is seconds since the epoch, possibly non-integer.
    let fractional = json!({"sub": "alice", "roles": ["viewer"], "iat": now() as f64 - 0.25,
        "nbf": now() as f64 - 10.75, "exp": now() as f64 + 3600.5});
    let res = list_with(&t, &hs256(SECRET.as_bytes(), &fractional)).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let far = json!({"sub": "alice", "roles": ["viewer"], "exp": 4_102_444_800.5_f64});
    let res = list_with(&t, &hs256(SECRET.as_bytes(), &far)).await;
    assert_eq!(res.status, 200, "{}", res.text);
    // Fractional or not, an expired token stays expired.
    let expired = json!({"sub": "alice", "roles": ["viewer"], "exp": now() as f64 - 120.5});
    let res = list_with(&t, &hs256(SECRET.as_bytes(), &expired)).await;
    assert_unauthorized(&res, "expired, fractional");
    assert!(res.body["detail"].as_str().unwrap().contains("expired"), "{}", res.text);
    // A date that is no number at all is still malformed.
    let text = json!({"sub": "alice", "roles": ["viewer"], "exp": "tomorrow"});
    assert_unauthorized(&list_with(&t, &hs256(SECRET.as_bytes(), &text)).await, "exp as text");
}

/// Every operation the spec gates by role answers a caller without the role 403 before it reads
/// the body: a broken or invalid body gets the same 403, so the caller learns nothing about what
/// a valid request would look like, and nothing is stored.
#[actix_web::test]
async fn the_role_is_checked_before_the_body_is_read_or_judged() {
    let t = TestApp::spawn().await;
    let spec = t.request("GET", "/openapi.json").send().await.body;
    let field_worker = t.token("felix", &["field-team"]);
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            // Tasks are open to their assignee, a fact of the task, not of the token: those are judged
            // after the task is read, and are left out here.
            let gated = op["responses"]["403"]["description"]
                .as_str()
                .is_some_and(|d| d.starts_with("Role not allowed") || d == "Not an admin");
            if !gated || op.get("requestBody").is_none() {
                continue;
            }
            let url = path.replace("{id}", "0190d1a0-0000-7000-8000-000000000000").replace("{external_ref}", "EXT-1");
            let url = url.replace("{delivery_id}", "0190d1a0-0000-7000-8000-000000000001");
            for (content_type, body) in
                [("application/json", "{\"title\": "), ("application/json", "{\"no_such_field\": 1}")]
            {
                let res = t
                    .request(&method.to_uppercase(), &url)
                    .bearer(&field_worker)
                    .header("Idempotency-Key", &format!("k-{checked}-{}", body.len()))
                    .body(content_type, body)
                    .await;
                assert_eq!(res.status, 403, "{} {path} with {body}: {}", method.to_uppercase(), res.text);
                res.assert_problem(403, "forbidden");
            }
            checked += 1;
        }
    }
    assert!(checked >= 25, "only {checked} role-gated operations with a body found in the spec");
    let contracts = t.get("/api/v1/contracts", &t.viewer()).await;
    assert_eq!(contracts.body["items"], serde_json::json!([]));
}
