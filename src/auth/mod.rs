//! Authentication (JWT bearer tokens) and the permission roles of DESIGN.md §3.

pub mod jwt;
pub mod principal;

pub use jwt::JwtKeys;
pub use principal::{Principal, Role};
