//! RFC 9457 problem details: every error a caller sees, decided in one place. Unexpected errors are
//! logged with their cause and answered with a bare 500.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::domain::{FieldError, ValidationErrors};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid input")]
    Validation(ValidationErrors),
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("unauthorized")]
    Unauthorized,
    /// A failed login: the same answer for an unknown email and a wrong password.
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: i64 },
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("conflict")]
    Conflict(FieldError),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl From<ValidationErrors> for ApiError {
    fn from(e: ValidationErrors) -> Self {
        ApiError::Validation(e)
    }
}

impl From<crate::store::developers::SaveError> for ApiError {
    fn from(e: crate::store::developers::SaveError) -> Self {
        use crate::store::developers::SaveError;
        match e {
            SaveError::EmailTaken => ApiError::Conflict(FieldError::new("email", "another account has this email")),
            SaveError::Conflict => ApiError::Conflict(FieldError::new(
                "developer",
                "changed by someone else meanwhile; try again",
            )),
            SaveError::Store(e) => e.into(),
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError::Internal(anyhow::Error::new(e).context("store"))
    }
}

fn problem(status: StatusCode, kind: &str, title: &str, detail: &str, errors: Option<&[FieldError]>) -> Response {
    let mut body = json!({
        "type": format!("https://gatehouse.dev/problems/{kind}"),
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    });
    if let Some(errors) = errors {
        body["errors"] = json!(errors);
    }
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Validation(errors) => problem(
                StatusCode::BAD_REQUEST,
                "validation",
                "Invalid input",
                &errors.to_string(),
                Some(&errors.0),
            ),
            ApiError::MalformedJson(detail) => problem(
                StatusCode::BAD_REQUEST,
                "malformed-json",
                "Malformed JSON",
                detail,
                None,
            ),
            ApiError::UnsupportedMediaType => problem(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "send the body as application/json",
                None,
            ),
            ApiError::Unauthorized => {
                let mut r = problem(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "Unauthorized",
                    "a valid bearer token is required",
                    None,
                );
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
                r
            }
            ApiError::InvalidCredentials => problem(
                StatusCode::UNAUTHORIZED,
                "invalid-credentials",
                "Invalid credentials",
                "the email or the password is wrong",
                None,
            ),
            ApiError::TooManyRequests { retry_after_secs } => {
                let mut r = problem(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too-many-requests",
                    "Too many requests",
                    "too many failed attempts; try again later",
                    None,
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from(*retry_after_secs));
                r
            }
            ApiError::Forbidden(detail) => problem(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail, None),
            ApiError::NotFound(what) => problem(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                &format!("{what} not found"),
                None,
            ),
            ApiError::Conflict(error) => problem(
                StatusCode::CONFLICT,
                "conflict",
                "Conflict",
                &format!("{}: {}", error.field, error.message),
                Some(std::slice::from_ref(error)),
            ),
            ApiError::Internal(e) => {
                tracing::error!(error = ?e, "request failed");
                problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    "something went wrong on our side",
                    None,
                )
            }
        }
    }
}

pub async fn not_found() -> Response {
    ApiError::NotFound("route").into_response()
}

pub async fn method_not_allowed() -> Response {
    problem(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        "this route does not take that method",
        None,
    )
}
