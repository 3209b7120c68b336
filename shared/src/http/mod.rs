//! The HTTP API: one axum router, served by `lambda_http` in Lambda and by `axum::serve` locally.
//! One module per area; errors are `application/problem+json` (see [`problem`]).

mod auth;
mod catalog;
mod deliveries;
mod developers;
mod email_templates;
mod json;
mod keys;
mod orgs;
mod portal;
pub mod problem;
mod unsubscribe;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;

use crate::config::Config;
use crate::crypto::SecretBox;
use crate::domain::{now_rfc3339, Event, EventKind, OrgId, Organisation};
use crate::queue::Queue;
use crate::secret::Secret;
use crate::store::orgs as org_store;
use crate::store::Store;
use problem::ApiError;

/// What every handler may use, built once at start.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub secrets: SecretBox,
    /// Where replayed deliveries go back to.
    pub email_queue: Arc<dyn Queue>,
    pub webhook_queue: Arc<dyn Queue>,
    /// For template previews and test emails.
    pub templates: Arc<crate::templates::Templates>,
}

/// Request bodies are small JSON documents; anything larger is refused before it is read.
const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .merge(orgs::routes())
        .merge(portal::routes())
        .merge(developers::routes())
        .merge(catalog::routes())
        .merge(keys::routes())
        .merge(deliveries::routes())
        .merge(email_templates::routes())
        .merge(unsubscribe::routes())
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(access_log))
        .with_state(state)
}

/// The organisation of a path, or 404.
pub(crate) async fn load_org(state: &AppState, org: &str) -> Result<Organisation, ApiError> {
    let id = OrgId::parse(org).map_err(|_| ApiError::NotFound("organisation"))?;
    Ok(org_store::get_org(state.store.as_ref(), &id)
        .await?
        .ok_or(ApiError::NotFound("organisation"))?
        .value)
}

/// A list's page size: `default` when not given, 1 to 100 when given.
pub(crate) fn page_limit(limit: Option<usize>, default: usize) -> Result<usize, ApiError> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=100).contains(&n) => Ok(n),
        Some(_) => Err(crate::domain::ValidationErrors::from(crate::domain::FieldError::new(
            "limit",
            "must be from 1 to 100",
        ))
        .into()),
    }
}

/// A new event of `org`, its private part (if any) sealed for the person it concerns.
pub(crate) fn raise(
    state: &AppState,
    org: &Organisation,
    kind: EventKind,
    data: Value,
    private: Option<Value>,
) -> Event {
    let mut event = Event::new(org.id.clone(), kind, now_rfc3339(), data);
    event.private_sealed = private.map(|p| state.secrets.seal(&Secret::new(p.to_string())));
    event
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// One line per request: method, route template (never the raw path or query, which may hold
/// tokens), status and duration.
async fn access_log(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let started = Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        %method, %route, status = response.status().as_u16(), ms = started.elapsed().as_millis() as u64, "request"
    );
    response
}
