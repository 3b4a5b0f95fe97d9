//! The authenticated caller and permission checks.

use super::jwt::JwtKeys;
use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use std::future::{ready, Ready};

/// Permission roles carried in the token's `roles` claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Admin,
    ContractManager,
    Planner,
    ServiceAgent,
    CaseWorker,
    Integration,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::ContractManager => "contract_manager",
            Role::Planner => "planner",
            Role::ServiceAgent => "service_agent",
            Role::CaseWorker => "case_worker",
            Role::Integration => "integration",
            Role::Viewer => "viewer",
        }
    }
}

/// Who is calling: the token's subject and roles (permission roles and team names alike).
#[derive(Clone, Debug)]
pub struct Principal {
    pub sub: String,
    pub roles: Vec<String>,
}

impl Principal {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.iter().any(|r| r == role.as_str())
    }

    /// Passes for an admin only (modelling: attribute definitions, dossier types, workflows).
    pub fn require_admin(&self) -> Result<(), ApiError> {
        self.require_any(&[])
    }

    /// Passes for an admin or a holder of any of `roles`; 403 otherwise.
    pub fn require_any(&self, roles: &[Role]) -> Result<(), ApiError> {
        if self.has_role(Role::Admin) || roles.iter().any(|r| self.has_role(*r)) {
            return Ok(());
        }
        let mut names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        names.insert(0, Role::Admin.as_str());
        Err(ApiError::forbidden(format!("this action needs one of the roles: {}", names.join(", "))))
    }
}

/// Any authenticated caller passes: no role gate.
impl crate::http::routing::RoleGate for Principal {}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Ready<Result<Principal, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

fn authenticate(req: &HttpRequest) -> Result<Principal, ApiError> {
    let keys = req
        .app_data::<web::Data<JwtKeys>>()
        .ok_or_else(|| ApiError::internal("JWT keys are not configured in the app"))?;
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("an Authorization: Bearer <token> header is required"))?;
    let value = value.to_str().map_err(|_| ApiError::unauthorized("the Authorization header is malformed"))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthorized("the Authorization header must be `Bearer <token>`"))?;
    let claims = keys.verify(token).map_err(ApiError::unauthorized)?;
    if claims.sub.trim().is_empty() {
        return Err(ApiError::unauthorized("the token has an empty subject"));
    }
    Ok(Principal { sub: claims.sub, roles: claims.roles })
}
