//! The HTTP API: one axum router, served by `lambda_http` in Lambda and by `axum::serve` locally.
//! One module per area; each handler extracts and checks the request, calls one `service` function
//! and shapes the answer. Errors are `application/problem+json` (see [`problem`]).

mod admin_accounts;
mod admin_keys;
mod admin_users;
mod api_keys;
mod audit;
mod auth;
mod budgets;
mod catalog;
mod credentials;
mod deliveries;
mod developers;
mod digests;
mod email_templates;
mod extract;
mod gate;
mod notification_types;
mod notifications;
mod orgs;
mod portal;
pub mod problem;
mod unsubscribe;
mod usage;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use lambda_http::RequestExt;
use std::time::Instant;
use tracing::Instrument;

pub use crate::service::AppState;

/// Request bodies are small JSON documents; anything larger is refused (413) before it is read.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// The answer header carrying the id of the request (Lambda's request id, or a new one locally).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .merge(orgs::routes())
        .merge(admin_keys::routes())
        .merge(admin_users::routes())
        .merge(admin_accounts::routes())
        .merge(notifications::routes())
        .merge(notification_types::routes())
        .merge(digests::routes())
        .merge(audit::routes())
        .merge(portal::routes())
        .merge(developers::routes())
        .merge(catalog::routes())
        .merge(api_keys::routes())
        .merge(deliveries::routes())
        .merge(email_templates::routes())
        .merge(unsubscribe::routes())
        .merge(gate::routes())
        .merge(usage::routes())
        .merge(budgets::routes())
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(request_span))
        .with_state(state)
}

/// A record as its organisation's callers see it: everything but the organisation it belongs to.
pub(crate) fn without_org<T: serde::Serialize>(record: &T) -> serde_json::Value {
    let mut value = serde_json::to_value(record).expect("records serialize");
    if let Some(map) = value.as_object_mut() {
        map.remove("org_id");
    }
    value
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// An answer that shows a secret once (an API key, an admin key, a session token, a signing
/// secret): never stored by a cache on the way, HTTP/1.0 caches included. Every such answer is
/// this type; `openapi.yaml` marks the secret (`x-secret`) and declares both headers.
pub(crate) struct ShownOnce(pub axum::http::StatusCode, pub serde_json::Value);

impl axum::response::IntoResponse for ShownOnce {
    fn into_response(self) -> Response {
        use axum::http::{header, HeaderValue};
        let mut response = (self.0, axum::Json(self.1)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        response
    }
}

/// The organisation of a request: the path segment where the route template has `{org}`.
fn org_of(route: &str, path: &str) -> Option<String> {
    let position = route.split('/').position(|segment| segment == "{org}")?;
    path.split('/').nth(position).map(str::to_string)
}

/// Runs every request inside a span carrying its route template (never the raw path or query, which
/// may hold tokens), organisation and request id, so every log line of the request (a 500's cause
/// included) names it; answers with the id in `x-request-id`, and logs one line per request.
async fn request_span(request: Request, next: Next) -> Response {
    let request_id = request
        .lambda_context_ref()
        .map(|context| context.request_id.clone())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| ulid::Ulid::new().to_string().to_lowercase());
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let org = org_of(&route, request.uri().path()).unwrap_or_default();
    let span = tracing::info_span!("request", %method, %route, %org, %request_id);
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            ms = started.elapsed().as_millis() as u64,
            "request"
        );
    });
    crate::telemetry::request(&format!("{method} {route}"), response.status().as_u16());
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_organisation_is_read_where_the_route_has_it() {
        assert_eq!(
            super::org_of("/orgs/{org}/keys/{id}", "/orgs/acme/keys/k1").as_deref(),
            Some("acme")
        );
        assert_eq!(super::org_of("/health", "/health"), None);
    }
}
