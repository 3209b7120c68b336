//! Gatehouse: the developer portal and notification backend.
//!
//! Everything that decides anything lives in this crate; the Lambda binaries under `functions/` only
//! read configuration, build clients once and hand them to the pieces here.
//!
//! - [`domain`]: validated types (emails, ids, organisations, developers, events).
//! - [`store`], [`queue`], [`mail`]: ports with their adapters (AWS and in-memory / local files).
//! - [`service`]: the use cases (accounts, developers, keys, catalog, organisations, deliveries).
//! - [`http`]: the axum router served by Lambda and by the local runner alike; handlers only.
//! - [`pipeline`]: stream decoding, event routing, the email and webhook workers, the local pollers.
//! - [`app`]: wiring of the three ways to run (AWS, local emulator, embedded).

pub mod app;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod http;
pub mod mail;
pub mod pipeline;
pub mod queue;
pub mod secret;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod templates;
pub mod tls;
pub mod webhook;
