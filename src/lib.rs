//! Pactum: a contract-management backend. README.md says how to run and use it, ARCHITECTURE.md
//! is the map of this code.

pub mod attributes;
pub mod auth;
pub mod clock;
pub mod config;
pub mod contracts;
pub mod db;
pub mod documents;
pub mod dossiers;
pub mod error;
pub mod events;
pub mod flows;
pub mod health;
pub mod http;
pub mod idempotency;
pub mod installations;
pub mod integration;
pub mod jobs;
pub mod obligations;
pub mod scheduler;
pub mod seed;
pub mod service_calls;
pub mod startup;
pub mod tasks;
pub mod webhooks;
pub mod workflows;
