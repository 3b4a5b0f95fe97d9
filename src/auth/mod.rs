//! Authentication (JWT bearer tokens) and the permission roles ([`principal::Role`]).

pub mod allowed;
pub mod jwt;
pub mod principal;

pub use allowed::{
    AdminOnly, Allowed, CallRegistrars, CaseWorkers, ContractWriters, Generators, Pushers, RoleSet, ServiceAgents,
};
pub use jwt::JwtKeys;
pub use principal::{Principal, Role};
