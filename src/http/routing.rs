//! Endpoints registered once: each handler added to [`Endpoints`] gives both its route and its
//! operation in the OpenAPI document, both read from its `#[utoipa::path]` (path, method,
//! documentation, the schemas it refers to). A wrong method on a known path answers 405 with
//! the `Allow` header listing the methods registered for that path.

use super::errors::ApiError;
use actix_web::http::Method;
use actix_web::{web, FromRequest, Handler, HttpRequest, Resource, Responder, ResponseError, Route};
use utoipa::openapi::path::{HttpMethod, Paths};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{OpenApi, RefOr};

/// One or more features' endpoints, in the order they were added: the routes to serve and the
/// part of the OpenAPI document that describes them.
#[derive(Default)]
pub struct Endpoints {
    paths: Paths,
    schemas: Vec<(String, RefOr<Schema>)>,
    routes: Vec<(String, Method, Route)>,
}

impl Endpoints {
    pub fn new() -> Endpoints {
        Endpoints::default()
    }

    /// Adds `handler`, documented by `_doc`, the type `#[utoipa::path]` generates beside it
    /// (`api::__path_list` for `api::list`); the two must belong together (checked in debug
    /// builds). The route's path and method are the documented ones. A handler that takes a
    /// role gate (see [`RoleGate`]) is documented with its 403.
    pub fn add<P, F, Args>(&mut self, _doc: P, handler: F) -> &mut Endpoints
    where
        P: utoipa::Path + utoipa::__dev::SchemaReferences + for<'t> utoipa::__dev::Tags<'t>,
        F: Handler<Args>,
        Args: FromRequest + RoleGate + 'static,
        F::Output: Responder + 'static,
    {
        debug_assert_eq!(
            std::any::type_name::<P>().replace("__path_", ""),
            std::any::type_name::<F>(),
            "a handler registered with another handler's documentation"
        );
        let path = P::path();
        let mut operation = P::operation();
        operation.tags.get_or_insert_with(Vec::new).extend(P::tags().into_iter().map(str::to_string));
        if let Some(roles) = Args::roles() {
            super::openapi::role_gated(&mut operation, &roles);
        }
        P::schemas(&mut self.schemas);
        for method in P::methods() {
            let route = web::route().method(actix_method(&method)).to(handler.clone());
            self.routes.push((path.clone(), actix_method(&method), route));
            self.paths.add_path_operation(&path, vec![method], operation.clone());
        }
        self
    }

    /// Adds a schema the operations' bodies do not bring along: one only a parameter refers to
    /// (the derives collect the schemas of bodies and answers, not of parameters), or one the
    /// document describes for another party (what a webhook receiver gets).
    pub fn schema<S: utoipa::ToSchema>(&mut self) -> &mut Endpoints {
        S::schemas(&mut self.schemas);
        self.schemas.push((S::name().into_owned(), S::schema()));
        self
    }

    /// The operations and the schemas they refer to, as an OpenAPI document to merge.
    pub fn openapi(&self) -> OpenApi {
        let mut doc = OpenApi::default();
        doc.paths = self.paths.clone();
        let components = doc.components.get_or_insert_with(Default::default);
        components.schemas.extend(self.schemas.iter().cloned());
        doc
    }

    /// Registers the routes: one resource per path, with every method added for it and a 405
    /// with `Allow` for the others. Where two paths can match one URL, the one with a fixed
    /// segment where the other has a parameter comes first (`/contracts/by-external-ref/{ref}`
    /// before `/contracts/{id}/documents`), so the order features are added in does not matter.
    pub fn register(self, cfg: &mut web::ServiceConfig) {
        let mut resources: Vec<(String, Vec<(Method, Route)>)> = Vec::new();
        for (path, method, route) in self.routes {
            match resources.iter_mut().find(|(p, _)| *p == path) {
                Some((_, routes)) => routes.push((method, route)),
                None => resources.push((path, vec![(method, route)])),
            }
        }
        resources.sort_by_key(|(path, _)| path.split('/').map(|segment| segment.contains('{')).collect::<Vec<_>>());
        for (path, routes) in resources {
            let allowed: Vec<&Method> = ALLOW_ORDER.iter().filter(|m| routes.iter().any(|(r, _)| r == *m)).collect();
            let allow = allowed.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ");
            let mut resource = resource(&path, allow);
            for (_, route) in routes {
                resource = resource.route(route);
            }
            cfg.service(resource);
        }
    }
}

/// The order methods are listed in an `Allow` header.
const ALLOW_ORDER: [Method; 5] = [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE];

fn actix_method(method: &HttpMethod) -> Method {
    match method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Post => Method::POST,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Options => Method::OPTIONS,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Trace => Method::TRACE,
    }
}

/// What a handler's extractors say about who may call it, for its documentation: a role gate
/// (`auth::Allowed`) refuses every caller without one of its roles with 403 before the
/// handler runs, so its operation documents that 403. Read off the handler's signature, so the
/// document cannot claim a gate the handler lacks or miss one it has. Every extractor a
/// registered handler takes implements this trait; one that gates nothing keeps the default.
pub trait RoleGate {
    /// The roles besides admin that pass the gate (none: admins only); `None` without a gate.
    fn roles() -> Option<Vec<&'static str>> {
        None
    }
}

impl<T: ?Sized> RoleGate for web::Data<T> {}
impl<T> RoleGate for web::Path<T> {}
impl RoleGate for HttpRequest {}
impl RoleGate for web::Payload {}
impl<T> RoleGate for super::ApiJson<T> {}
impl RoleGate for super::IfMatch {}

macro_rules! role_gate_tuples {
    ($($($t:ident)*;)*) => {$(
        impl<$($t: RoleGate),*> RoleGate for ($($t,)*) {
            fn roles() -> Option<Vec<&'static str>> {
                None$(.or_else($t::roles))*
            }
        }
    )*};
}

role_gate_tuples! {
    ;
    A;
    A B;
    A B C;
    A B C D;
    A B C D E;
    A B C D E F;
    A B C D E F G;
    A B C D E F G H;
    A B C D E F G H I;
    A B C D E F G H I J;
    A B C D E F G H I J K;
    A B C D E F G H I J K L;
}

/// A resource whose unmatched methods get a 405 problem with `Allow` (e.g. `"GET, POST"`).
pub fn resource(path: &str, allow: String) -> Resource {
    web::resource(path).default_service(web::to(move |req: HttpRequest| {
        let allow = allow.clone();
        async move { method_not_allowed(req, allow) }
    }))
}

fn method_not_allowed(req: HttpRequest, allow: String) -> actix_web::HttpResponse {
    ApiError::new(
        crate::error::Kind::MethodNotAllowed,
        "method_not_allowed",
        format!("{} is not supported on {}; allowed: {}", req.method(), req.path(), allow),
    )
    .with_header("allow", allow)
    .error_response()
}
