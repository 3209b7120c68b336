//! The JSON body extractor: checks the content type and names the field of a type error, answering
//! in problem+json instead of axum's plain-text rejections.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use super::problem::ApiError;
use crate::domain::ValidationErrors;

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
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
        serde_path_to_error::deserialize(value).map(JsonBody).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." { "body".to_string() } else { path };
            let mut errors = ValidationErrors::default();
            errors.push(field, e.into_inner().to_string());
            errors.into()
        })
    }
}
