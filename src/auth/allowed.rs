//! Role-gated callers as extractors. A handler that takes `Allowed<R>` before its body is
//! refused with 403 before the body is read or judged, so a caller without the role learns
//! nothing about what a valid request would look like. The sets below are the whole write
//! policy in one place; admins pass every set.

use super::principal::{Principal, Role};
use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use std::future::{ready, Ready};
use std::marker::PhantomData;
use std::ops::Deref;

/// The roles an operation is open to, besides admin.
pub trait RoleSet {
    const ROLES: &'static [Role];
}

macro_rules! role_sets {
    ($($(#[$doc:meta])* $name:ident = [$($role:ident),*];)*) => {$(
        $(#[$doc])*
        pub struct $name;
        impl RoleSet for $name {
            const ROLES: &'static [Role] = &[$(Role::$role),*];
        }
    )*};
}

role_sets! {
    /// Modelling and configuration: attribute definitions, dossier types, workflows, webhooks.
    AdminOnly = [];
    /// Contracts, installations, coverage and obligations.
    ContractWriters = [ContractManager, Integration];
    /// Task generation: the contract side and the planners who run the worklist.
    Generators = [ContractManager, Integration, Planner];
    /// Pushing and importing contract documents.
    Pushers = [Integration, ContractManager];
    /// Registering service calls (a CRM or monitoring system pushes them too).
    CallRegistrars = [ServiceAgent, Integration];
    /// Moving service calls along and adding service actions.
    ServiceAgents = [ServiceAgent];
    /// Dossiers and workflow instances.
    CaseWorkers = [CaseWorker];
}

/// An authenticated caller holding admin or one of `R`'s roles.
pub struct Allowed<R: RoleSet> {
    principal: Principal,
    set: PhantomData<R>,
}

impl<R: RoleSet> Clone for Allowed<R> {
    fn clone(&self) -> Allowed<R> {
        Allowed { principal: self.principal.clone(), set: PhantomData }
    }
}

impl<R: RoleSet> Allowed<R> {
    pub fn into_inner(self) -> Principal {
        self.principal
    }
}

impl<R: RoleSet> Deref for Allowed<R> {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.principal
    }
}

/// The operation of a handler that takes `Allowed<R>` documents its 403.
impl<R: RoleSet> crate::http::routing::RoleGate for Allowed<R> {
    fn roles() -> Option<Vec<&'static str>> {
        Some(R::ROLES.iter().map(|r| r.as_str()).collect())
    }
}

impl<R: RoleSet> FromRequest for Allowed<R> {
    type Error = ApiError;
    type Future = Ready<Result<Allowed<R>, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let checked = Principal::from_request(req, payload)
            .into_inner()
            .and_then(|principal| principal.require_any(R::ROLES).map(|()| principal));
        ready(checked.map(|principal| Allowed { principal, set: PhantomData }))
    }
}
