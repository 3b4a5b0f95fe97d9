//! Builds the application: shared state, middleware, every feature's routes and the OpenAPI
//! document; and runs the server.

use crate::auth::JwtKeys;
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::{migrations, Db, DbManager};
use crate::http::json::BodyLimit;
use crate::http::routing::{resource, AllowedMethods};
use crate::http::{errors::not_found_fallback, request_id, FieldError, Problem};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{middleware, web, App, HttpResponse, HttpServer};
use std::sync::Arc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

/// Everything the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub clock: Clock,
    pub jwt: Arc<JwtKeys>,
    pub settings: Settings,
    pub documents: crate::documents::storage::DocumentStore,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Pactum",
        description = "Contract management: contracts with user-defined attributes and hierarchy, \
            installations, obligations, service calls and dossiers.\n\n\
            Every `/api/v1` endpoint needs `Authorization: Bearer <JWT>`. Errors are RFC 9457 \
            `application/problem+json` documents with a stable `code`. Lists are cursor-paginated: \
            pass `next_cursor` back as `cursor`. Writes return an `ETag`; send it as `If-Match` to \
            avoid overwriting someone else's change (412 when stale).",
    ),
    paths(crate::health::live, crate::health::ready),
    components(schemas(Problem, FieldError)),
    modifiers(&BearerAuth),
    tags(
        (name = "contracts", description = "Signed agreements, their lifecycle and hierarchy"),
        (name = "attribute-definitions", description = "User-defined characteristics of contracts, installations and dossiers"),
        (name = "installations", description = "Delivered goods (machines, lifts, boilers) and their components"),
        (name = "coverage", description = "Which contracts cover which installations, seen from both sides"),
        (name = "obligations", description = "What contracts commit to: one-off and recurring (RFC 5545) obligations that generate tasks"),
        (name = "service-calls", description = "Unplanned work: repair requests checked against coverage and service levels, their SLA clocks and service actions"),
        (name = "integration", description = "Machine pushes: whole contract documents and installations by external reference, and NDJSON bulk imports"),
        (name = "tasks", description = "The one worklist, its calendar feed and personal feed tokens"),
        (name = "dossier-types", description = "User-modelled, versioned dossier types: attribute schema, default owner and rules"),
        (name = "dossiers", description = "Long-lived customer case files: attributes, history, as_of, posted events and rule firings"),
        (name = "workflows", description = "User-modelled, versioned workflow definitions"),
        (name = "workflow-instances", description = "Workflows running on dossiers; the active step is a task in the worklist"),
        (name = "documents", description = "Files attached to contracts, installations, service calls and dossiers: uploads, versions, downloads with ranges"),
        (name = "events", description = "The change feed"),
        (name = "webhooks", description = "Event subscriptions (admin): signed POSTs of the event log to a receiver, at least once, in order, with retries. \
            Each delivery carries `Pactum-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, \"<t>.<raw body>\")>`, \
            `Pactum-Event-Id`, `Pactum-Event-Type` and `Pactum-Delivery-Id`; the body is a `WebhookPayload`. \
            Verify the signature with the secret, reject a `t` more than 5 minutes off (replays), answer 2xx quickly, dedupe by event id."),
        (name = "health", description = "Probes"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A JWT with `sub` and `roles`; `pactum token` mints one for development."))
                    .build(),
            ),
        );
    }
}

/// Each feature's part of the OpenAPI document.
pub fn feature_docs() -> Vec<utoipa::openapi::OpenApi> {
    vec![
        crate::attributes::AttributesDoc::openapi(),
        crate::contracts::ContractsDoc::openapi(),
        crate::documents::DocumentsDoc::openapi(),
        crate::dossiers::DossiersDoc::openapi(),
        crate::events::EventsDoc::openapi(),
        crate::installations::InstallationsDoc::openapi(),
        crate::integration::IntegrationDoc::openapi(),
        crate::obligations::ObligationsDoc::openapi(),
        crate::service_calls::ServiceCallsDoc::openapi(),
        crate::tasks::TasksDoc::openapi(),
        crate::workflows::WorkflowsDoc::openapi(),
        crate::webhooks::WebhooksDoc::openapi(),
    ]
}

/// The complete OpenAPI document of the service.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    for part in feature_docs() {
        doc.merge(part);
    }
    crate::http::openapi::add_standard_problems(&mut doc);
    crate::http::openapi::refine_for_clients(&mut doc);
    doc
}

/// What each reader may see of the change feed: the features whose records are not open to
/// every token say so here.
pub fn feed_scopes() -> crate::events::FeedScopes {
    crate::events::FeedScopes(vec![
        crate::dossiers::api::FEED_SCOPE,
        crate::service_calls::api::FEED_SCOPE,
        crate::documents::api::FEED_SCOPE,
    ])
}

/// What the features above the worklist do when their tasks change.
pub fn task_hooks() -> crate::tasks::service::TaskHooks {
    crate::tasks::service::TaskHooks { step_done: crate::workflows::service::step_done }
}

/// The application with all routes and middleware.
pub fn app(
    state: &AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let doc = openapi();
    let allowed = AllowedMethods::from_openapi(&doc);
    App::new()
        .app_data(web::Data::new(state.db.clone()))
        .app_data(web::Data::new(state.clock.clone()))
        .app_data(web::Data::from(state.jwt.clone()))
        .app_data(web::Data::new(state.settings.clone()))
        .app_data(web::Data::new(state.documents.clone()))
        .app_data(web::Data::new(allowed))
        .app_data(web::Data::new(feed_scopes()))
        .app_data(web::Data::new(task_hooks()))
        .app_data(BodyLimit(state.settings.body_limit_bytes))
        .app_data(
            web::PathConfig::default().error_handler(|e, _| {
                crate::http::ApiError::not_found(format!("no resource at this path: {e}")).into()
            }),
        )
        .wrap(middleware::from_fn(crate::idempotency::middleware))
        .wrap(middleware::from_fn(crate::http::sanitize::check_url))
        .wrap(middleware::from_fn(request_id::middleware))
        .wrap(middleware::from_fn(crate::http::connection::close_after_refused_upload))
        .configure(crate::health::routes)
        .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", doc))
        .service(
            resource("/docs").route(
                web::get()
                    .to(|| async { HttpResponse::PermanentRedirect().insert_header(("Location", "/docs/")).finish() }),
            ),
        )
        .service(
            web::scope("/api/v1")
                .configure(crate::attributes::routes)
                .configure(crate::integration::routes)
                .configure(crate::documents::routes)
                .configure(crate::contracts::routes)
                .configure(crate::dossiers::routes)
                .configure(crate::events::routes)
                .configure(crate::installations::routes)
                .configure(crate::obligations::routes)
                .configure(crate::service_calls::routes)
                .configure(crate::tasks::routes)
                .configure(crate::webhooks::routes)
                .configure(crate::workflows::routes),
        )
        .default_service(web::to(not_found_fallback))
}

/// Connects, migrates, and serves until SIGTERM/SIGINT (in-flight requests finish).
pub async fn serve(settings: Settings) -> Result<(), String> {
    let jwt = JwtKeys::from_settings(&settings)?;
    if let crate::auth::jwt::KeySource::GeneratedSecret(path) = &jwt.source {
        tracing::warn!(
            path = %path.display(),
            "JWT_SECRET is not set: using a development secret from the data folder; set JWT_SECRET or JWT_PUBLIC_KEY_FILE in production"
        );
    }
    crate::contracts::model::check_number_pattern(&settings.contract_number_pattern)?;
    let url = settings.effective_database_url();
    let pool_size = settings.db_pool_size;
    // Connecting and migrating block; they run on the blocking pool like every database call.
    let db = actix_web::web::block(move || prepare_database(&url, pool_size)).await.map_err(|e| e.to_string())??;
    let documents = crate::documents::storage::DocumentStore::from_settings(&settings)?;
    let state = AppState { db, clock: Clock::system(), jwt: Arc::new(jwt), settings: settings.clone(), documents };
    crate::scheduler::spawn(
        state.db.clone(),
        state.clock.clone(),
        settings.contract_reminders.clone(),
        settings.scheduler_interval_secs,
    );
    crate::documents::retention::spawn(
        state.db.clone(),
        state.documents.clone(),
        state.clock.clone(),
        settings.document_retention_days,
        settings.scheduler_interval_secs,
    );
    crate::webhooks::dispatcher::spawn(
        state.db.clone(),
        state.clock.clone(),
        crate::webhooks::dispatcher::DispatchConfig::from_settings(&settings),
        settings.webhook_dispatch_interval_secs,
    );
    tracing::info!(addr = %settings.bind_addr, backend = ?state.db.backend(), "Pactum listening");
    let server_state = state.clone();
    HttpServer::new(move || app(&server_state))
        .bind(&settings.bind_addr)
        .map_err(|e| format!("cannot listen on {}: {e}", settings.bind_addr))?
        .shutdown_timeout(settings.shutdown_timeout_secs)
        // A client that closes its side has gone: its request's future is dropped, which stops
        // work such as task generation (see `obligations::generation::catch_up`).
        .h1_allow_half_closed(false)
        .run()
        .await
        .map_err(|e| format!("server failed: {e}"))
}

/// Opens the database named by `url`, applies pending migrations and returns the pool.
pub fn prepare_database(url: &str, pool_size: u32) -> Result<Db, String> {
    let mut conn = DbManager::new(url).establish().map_err(|e| e.0)?;
    let applied = migrations::run(&mut conn).map_err(|e| e.0)?;
    if applied > 0 {
        tracing::info!(applied, "database migrations applied");
    }
    Ok(Db::new(url, pool_size))
}
