//! Document templates: admin-kept minijinja templates that render a contract (its fields,
//! attributes, parent, covered installations and obligations) into an HTML document, stored
//! like an upload as a document of kind `generated`. HTML, not PDF: a PDF renderer (a headless
//! browser or a typesetting engine) would add far more to the build and the image than the
//! rest of the service together; a browser prints the HTML to PDF.

use super::store::{self, TemplateRow};
use crate::db::Expected;
use crate::db::{DbConnection, Hold};
use crate::error::{check_text, ApiError, FieldError};
use crate::events::store as events;
use crate::events::Ctx;
use crate::http::Patch;
use serde_json::{json, Value};

pub const ENTITY: &str = "document_template";

/// Longest template body, in bytes.
pub const MAX_BODY: usize = 256 * 1024;
/// Work one rendering may do (minijinja fuel): enough for any real document, not for a loop
/// that never ends.
const FUEL: u64 = 2_000_000;

fn snapshot(t: &TemplateRow) -> Value {
    json!({"key": t.key, "name": t.name, "body": t.body})
}

fn environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.set_fuel(Some(FUEL));
    env
}

/// The fields of a template that are wrong: key, name, and a body that does not compile.
pub fn check(key: &str, name: &str, body: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let key_ok = (1..=63).contains(&key.len())
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !key_ok {
        errors.push(FieldError::new(
            "key",
            "invalid_value",
            "a key is snake_case: a-z, 0-9 and _, starting with a letter, at most 63",
        ));
    }
    check_text(&mut errors, "name", name, 200);
    if body.len() > MAX_BODY {
        errors.push(FieldError::new("body", "too_long", format!("at most {MAX_BODY} bytes")));
    } else if let Err(e) = environment().template_from_str(body) {
        errors.push(FieldError::new("body", "invalid_template", e.to_string()));
    }
    errors
}

pub fn load(conn: &mut DbConnection, id: &str) -> Result<TemplateRow, ApiError> {
    store::template(conn, id)?.ok_or_else(|| ApiError::not_found(format!("document template {id} does not exist")))
}

pub fn create(
    conn: &mut DbConnection,
    ctx: &Ctx,
    key: String,
    name: String,
    body: String,
) -> Result<TemplateRow, ApiError> {
    let errors = check(&key, &name, &body);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if store::template_by_key(conn, &key)?.is_some() {
        return Err(ApiError::conflict("duplicate_key", format!("a document template with key {key} exists")));
    }
    let now = ctx.now.naive_utc();
    let row = TemplateRow {
        id: uuid::Uuid::now_v7().to_string(),
        key,
        name,
        body,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    store::insert_template(conn, &row)?;
    events::record(conn, ctx, ENTITY, &row.id, "created", &Value::Null, &snapshot(&row))?;
    Ok(row)
}

pub fn update(
    conn: &mut DbConnection,
    ctx: &Ctx,
    id: &str,
    (name, body): (Patch<String>, Patch<String>),
    expected: &Expected,
) -> Result<TemplateRow, ApiError> {
    Hold::Update.row(conn, "document_templates", id)?;
    let old = load(conn, id)?;
    expected.check(old.version)?;
    let mut row = old.clone();
    let mut errors = Vec::new();
    row.name = name.require("name", old.name.clone()).unwrap_or_else(|e| {
        errors.push(e);
        old.name.clone()
    });
    row.body = body.require("body", old.body.clone()).unwrap_or_else(|e| {
        errors.push(e);
        old.body.clone()
    });
    errors.extend(check(&row.key, &row.name, &row.body));
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if row == old {
        return Ok(old);
    }
    row.version = old.version + 1;
    row.updated_at = ctx.now.naive_utc();
    if !store::update_template(conn, &row, old.version)? {
        return Err(ApiError::conflict(
            "concurrent_update",
            "the template changed meanwhile; fetch it again and retry",
        ));
    }
    events::record(conn, ctx, ENTITY, id, "updated", &snapshot(&old), &snapshot(&row))?;
    Ok(row)
}

pub fn delete(conn: &mut DbConnection, ctx: &Ctx, id: &str, expected: &Expected) -> Result<(), ApiError> {
    Hold::Update.row(conn, "document_templates", id)?;
    let old = load(conn, id)?;
    expected.check(old.version)?;
    store::delete_template(conn, id)?;
    events::record(conn, ctx, ENTITY, id, "deleted", &snapshot(&old), &Value::Null)?;
    Ok(())
}

/// Renders template `key` with `context` (the contract and what belongs to it); 404 for an
/// unknown key, 422 when the template fails on this contract (its message says where).
pub fn render(conn: &mut DbConnection, key: &str, context: &Value) -> Result<(TemplateRow, String), ApiError> {
    let t = store::template_by_key(conn, key)?
        .ok_or_else(|| ApiError::invalid("template", "not_found", format!("no document template has key {key}")))?;
    let html = environment()
        .render_str(&t.body, minijinja::Value::from_serialize(context))
        .map_err(|e| ApiError::invalid("template", "render_failed", e.to_string()))?;
    Ok((t, html))
}
