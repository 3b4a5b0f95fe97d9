//! Integration tests through the real HTTP API and the real database. `cargo test` runs them on
//! SQLite; with TEST_DATABASE_URL=postgres://… the same tests run on PostgreSQL.

mod common;

mod attributes;
mod auth;
mod calendar;
mod cli;
mod contracts;
mod conventions;
mod coverage;
mod documents;
mod dossiers;
mod events;
mod faults;
mod hierarchy;
mod idempotency;
mod installations;
mod integration;
mod lifecycle;
mod mixed;
mod obligations;
mod openapi;
mod reminders;
mod service_calls;
mod tasks;
mod unavailable;
mod webhooks;
mod workflows;
