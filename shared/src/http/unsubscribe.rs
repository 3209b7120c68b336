//! One-click unsubscribe (RFC 8058), without login: `POST /portal/{org}/unsubscribe?token=…` (what
//! mail clients send, body `List-Unsubscribe=One-Click`) opts the address out of the token's
//! category. `GET` only shows a page with a button that posts, because link scanners fetch links
//! and must not unsubscribe anyone.

use super::extract::{Path, Query};
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::ClientAddress;
use super::problem::ApiError;
use super::AppState;
use crate::service::unsubscribe;

pub fn routes() -> Router<AppState> {
    Router::new().route("/portal/{org}/unsubscribe", get(page).post(one_click))
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

async fn one_click(
    State(state): State<AppState>,
    Path(org): Path<String>,
    ClientAddress(address): ClientAddress,
    Query(query): Query<TokenQuery>,
) -> Result<Json<Value>, ApiError> {
    let token = unsubscribe::unsubscribe(&state, &org, address, query.token.as_deref()).await?;
    Ok(Json(json!({"unsubscribed": token.category})))
}

async fn page(
    State(state): State<AppState>,
    Path(org): Path<String>,
    ClientAddress(address): ClientAddress,
    Query(query): Query<TokenQuery>,
) -> Result<Html<String>, ApiError> {
    let token = unsubscribe::page(&state, &org, address, query.token.as_deref()).await?;
    let raw = query.token.unwrap_or_default();
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let action: String = url::form_urlencoded::byte_serialize(raw.as_bytes()).collect();
    Ok(Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Unsubscribe</title></head><body>\
         <p>Stop emails of the kind <strong>{}</strong> to {}?</p>\
         <form method=\"post\" action=\"?token={}\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
         <button type=\"submit\">Unsubscribe</button></form></body></html>",
        escape(&token.category),
        escape(token.email.as_str()),
        escape(&action),
    )))
}
