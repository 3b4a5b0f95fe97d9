//! Builds the application: shared state, middleware, every feature's routes and the OpenAPI
//! document collected from them; and runs the server (`Application`, for `serve` and the tests).

use crate::auth::JwtKeys;
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::{migrations, Db, DbManager};
use crate::http::json::BodyLimit;
use crate::http::routing::{resource, Endpoints};
use crate::http::{errors::not_found_fallback, request_id};
use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{middleware, web, App, HttpResponse, HttpServer};
use std::net::SocketAddr;
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

impl AppState {
    /// The state `settings` describe, with `clock`: checks the settings, connects, migrates
    /// and opens the document store. Blocks (the database).
    pub fn prepare(settings: Settings, clock: Clock) -> Result<AppState, String> {
        let jwt = JwtKeys::from_config(&settings.jwt())?;
        if let crate::auth::jwt::KeySource::GeneratedSecret(path) = &jwt.source {
            tracing::warn!(
                path = %path.display(),
                "JWT_SECRET is not set: using a development secret from the data folder; set JWT_SECRET or JWT_PUBLIC_KEY_FILE in production"
            );
        }
        crate::contracts::model::check_number_pattern(&settings.contract_number_pattern)?;
        let db = prepare_database(&settings.effective_database_url(), settings.db_pool_size)?;
        let documents = crate::documents::storage::DocumentStore::open(
            settings.document_store_url.as_deref(),
            settings.document_store_endpoint.as_deref(),
            &settings.data_dir,
        )?;
        Ok(AppState { db, clock, jwt: Arc::new(jwt), settings, documents })
    }
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

/// Every feature's endpoints, in the order the document lists them.
const FEATURES: [fn(&mut Endpoints); 13] = [
    crate::health::endpoints,
    crate::attributes::endpoints,
    crate::contracts::endpoints,
    crate::documents::endpoints,
    crate::dossiers::endpoints,
    crate::events::endpoints,
    crate::installations::endpoints,
    crate::integration::endpoints,
    crate::obligations::endpoints,
    crate::service_calls::endpoints,
    crate::tasks::endpoints,
    crate::workflows::endpoints,
    crate::webhooks::endpoints,
];

/// The endpoints of every feature: the routes to serve and their operations.
pub fn endpoints() -> Endpoints {
    let mut endpoints = Endpoints::new();
    for feature in FEATURES {
        feature(&mut endpoints);
    }
    endpoints
}

/// Each feature's part of the OpenAPI document, as its endpoints describe it.
pub fn feature_docs() -> Vec<utoipa::openapi::OpenApi> {
    FEATURES
        .iter()
        .map(|feature| {
            let mut endpoints = Endpoints::new();
            feature(&mut endpoints);
            endpoints.openapi()
        })
        .collect()
}

/// The complete OpenAPI document of the service.
pub fn openapi() -> utoipa::openapi::OpenApi {
    document(&endpoints())
}

/// The OpenAPI document of `endpoints`: their operations and schemas, with what the document
/// says once for every operation (`http::openapi`).
fn document(endpoints: &Endpoints) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(endpoints.openapi());
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
    let endpoints = endpoints();
    let doc = document(&endpoints);
    let settings = &state.settings;
    App::new()
        .app_data(web::Data::new(state.db.clone()))
        .app_data(web::Data::new(state.clock.clone()))
        .app_data(web::Data::from(state.jwt.clone()))
        .app_data(web::Data::new(crate::contracts::model::NumberPattern(settings.contract_number_pattern.clone())))
        .app_data(web::Data::new(crate::integration::model::ImportMaxLines(settings.import_max_lines)))
        .app_data(web::Data::new(crate::dossiers::model::EventDataMaxBytes(settings.event_data_max_bytes)))
        .app_data(web::Data::new(settings.sla()))
        .app_data(web::Data::new(settings.document_limits()))
        .app_data(web::Data::new(settings.webhook_allow_private.clone()))
        .app_data(web::Data::new(state.documents.clone()))
        .app_data(web::Data::new(feed_scopes()))
        .app_data(web::Data::new(crate::flows::task_hooks()))
        .app_data(web::Data::new(crate::flows::attribute_hooks()))
        .app_data(web::Data::new(crate::flows::contract_hooks()))
        .app_data(web::Data::new(crate::flows::dossier_hooks()))
        .app_data(BodyLimit(settings.body_limit_bytes))
        .app_data(
            web::PathConfig::default().error_handler(|e, _| {
                crate::error::ApiError::not_found(format!("no resource at this path: {e}")).into()
            }),
        )
        .wrap(middleware::from_fn(crate::idempotency::middleware))
        .wrap(middleware::from_fn(crate::http::sanitize::check_url))
        .wrap(middleware::from_fn(request_id::middleware))
        .wrap(middleware::from_fn(crate::http::connection::close_after_refused_upload))
        .configure(|cfg| endpoints.register(cfg))
        .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", doc))
        .service(
            resource("/docs", "GET".into()).route(
                web::get()
                    .to(|| async { HttpResponse::PermanentRedirect().insert_header(("Location", "/docs/")).finish() }),
            ),
        )
        .default_service(web::to(not_found_fallback))
}

/// The service, ready to start: an HTTP server on `settings.bind_addr` that answers with
/// [`app`], and the background jobs whose intervals are not 0 (scheduler, document retention,
/// webhook dispatcher). `serve` runs it until a signal; the test harness starts one per test.
pub struct Application {
    state: AppState,
    workers: Option<usize>,
    signals: bool,
}

/// A started [`Application`]: where it listens, and the server to await (or spawn).
pub struct Running {
    pub addr: SocketAddr,
    pub server: Server,
}

impl Application {
    pub fn new(state: AppState) -> Application {
        Application { state, workers: None, signals: true }
    }

    /// Worker threads (default: one per core).
    pub fn workers(mut self, workers: usize) -> Application {
        self.workers = Some(workers);
        self
    }

    /// Leaves SIGINT and SIGTERM to the program around the server (the tests run many).
    pub fn without_signals(mut self) -> Application {
        self.signals = false;
        self
    }

    /// Starts the background jobs and binds the address; the server answers while its
    /// [`Running::server`] is awaited or spawned, and on shutdown lets in-flight requests
    /// finish within `SHUTDOWN_TIMEOUT_SECS`. Needs an actix runtime.
    pub fn start(self) -> Result<Running, String> {
        let state = self.state;
        let settings = &state.settings;
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
            settings.dispatch(),
            settings.webhook_dispatch_interval_secs,
        );
        let bind_addr = settings.bind_addr.clone();
        let shutdown_timeout = settings.shutdown_timeout_secs;
        let server_state = state.clone();
        let mut server = HttpServer::new(move || app(&server_state))
            .shutdown_timeout(shutdown_timeout)
            // A client that closes its side has gone: its request's future is dropped, which
            // stops work such as task generation (see `obligations::generation::catch_up`).
            .h1_allow_half_closed(false);
        if let Some(workers) = self.workers {
            server = server.workers(workers);
        }
        if !self.signals {
            server = server.disable_signals();
        }
        let server = server.bind(&bind_addr).map_err(|e| format!("cannot listen on {bind_addr}: {e}"))?;
        let addr = server.addrs()[0];
        tracing::info!(%addr, backend = ?state.db.backend(), "Pactum listening");
        Ok(Running { addr, server: server.run() })
    }
}

/// Connects, migrates, and serves until SIGTERM/SIGINT (in-flight requests finish).
pub async fn serve(settings: Settings) -> Result<(), String> {
    // Connecting and migrating block; they run on the blocking pool like every database call.
    let state = web::block(move || AppState::prepare(settings, Clock::system())).await.map_err(|e| e.to_string())??;
    let running = Application::new(state).start()?;
    running.server.await.map_err(|e| format!("server failed: {e}"))
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
