//! The request extractors: the JSON body, the query string and the path, each answering a rejection
//! in problem+json through [`ApiError`] (naming the field, parameter or header) instead of axum's
//! plain-text rejections.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::problem::ApiError;
use crate::domain::ValidationErrors;

/// A JSON body: `content-type: application/json` (or `application/*+json`), at most
/// `MAX_BODY_BYTES`, and a `T` (a type error names the field).
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|m| {
                let m = m.trim().to_ascii_lowercase();
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge {
                    limit: super::MAX_BODY_BYTES,
                }
            } else {
                ApiError::MalformedJson(e.body_text())
            }
        })?;
        let mut value: Value = serde_json::from_slice(&bytes).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
        integral_numbers_as_integers(&mut value);
        serde_path_to_error::deserialize(value)
            .map(JsonBody)
            .map_err(|e| field_error(e, "body"))
    }
}

/// JSON has one number type: `3.0` is the integer 3 (JSON Schema agrees), so a client whose JSON
/// library writes every number with a fraction is understood. Fractions stay fractions.
fn integral_numbers_as_integers(value: &mut Value) {
    match value {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            // Within ±2^53 every integer is exact as an f64.
            if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 {
                *value = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers_as_integers),
        Value::Object(map) => map.values_mut().for_each(integral_numbers_as_integers),
        _ => {}
    }
}

/// The query string as a `T`. Query types deny unknown fields, so a misspelt parameter is a 400
/// naming it rather than silently ignored.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(Query)
            .map_err(|e| field_error(e, "query"))
    }
}

/// The path parameters as a `T`.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|rejection| {
                let mut errors = ValidationErrors::default();
                errors.push("path", rejection.body_text());
                errors.into()
            })
    }
}

/// A deserialisation error as a validation error on the field it happened at (an unknown field is
/// reported at its own name). Where serde gives no path, serde's message names the field
/// (`unknown field `x`, expected …`, wording serde fixes); failing that, the whole body or query.
fn field_error<E: std::fmt::Display>(e: serde_path_to_error::Error<E>, whole: &str) -> ApiError {
    let path = e.path().to_string();
    let message = e.into_inner().to_string();
    let field = if path != "." {
        path
    } else {
        message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split_once('`'))
            .map_or_else(|| whole.to_string(), |(name, _)| name.to_string())
    };
    let mut errors = ValidationErrors::default();
    errors.push(field, message);
    errors.into()
}

/// The query of a list with no filters. Every list takes `limit` (1 to 100) and `cursor` (the
/// previous page's `next_cursor`) and answers `{items, next_cursor}` ([`page`]); `next_cursor` is
/// null on the last page. A cursor is the store's position of the page's last record,
/// base64url-encoded so callers treat it as opaque.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageQuery {
    limit: Option<usize>,
    cursor: Option<String>,
}

impl PageQuery {
    /// The store cursor to read after and the page size.
    pub(crate) fn resolve(&self, default_limit: usize) -> Result<(Option<String>, usize), ApiError> {
        page_args(self.limit, self.cursor.as_deref(), default_limit)
    }
}

/// `limit` and `cursor` of a list's query (for lists whose query has filters besides).
pub(crate) fn page_args(
    limit: Option<usize>,
    cursor: Option<&str>,
    default_limit: usize,
) -> Result<(Option<String>, usize), ApiError> {
    Ok((
        decode_cursor(cursor)?,
        crate::service::page_limit(limit, default_limit)?,
    ))
}

fn decode_cursor(cursor: Option<&str>) -> Result<Option<String>, ApiError> {
    match cursor {
        None | Some("") => Ok(None),
        Some(c) => URL_SAFE_NO_PAD
            .decode(c)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .map(Some)
            .ok_or_else(|| crate::service::ServiceError::invalid("cursor", "is not a cursor from this list").into()),
    }
}

/// A page of a list, in the one shape every list answers with.
pub(crate) fn page(items: Vec<Value>, next: Option<String>) -> Value {
    json!({"items": items, "next_cursor": next.map(|n| URL_SAFE_NO_PAD.encode(n))})
}
