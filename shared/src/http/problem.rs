//! RFC 9457 problem details: every error a caller sees, decided in one place. The service layer's
//! errors and the transport's own (malformed JSON, wrong media type, too large a body, no route) are
//! mapped here; unexpected errors are logged with their cause (inside the request's span, so with its
//! id) and answered with a bare 500.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::domain::{FieldError, ValidationErrors};
use crate::service::ServiceError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("payload too large")]
    PayloadTooLarge { limit: usize },
}

impl From<ValidationErrors> for ApiError {
    fn from(e: ValidationErrors) -> Self {
        ApiError::Service(e.into())
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

fn service_problem(error: &ServiceError) -> Response {
    match error {
        ServiceError::Validation(errors) => problem(
            StatusCode::BAD_REQUEST,
            "validation",
            "Invalid input",
            &errors.to_string(),
            Some(&errors.0),
        ),
        ServiceError::Unauthorized => {
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
        ServiceError::InvalidCredentials => problem(
            StatusCode::UNAUTHORIZED,
            "invalid-credentials",
            "Invalid credentials",
            "the email or the password is wrong",
            None,
        ),
        ServiceError::TooManyRequests {
            retry_after_secs,
            field,
        } => {
            let detail = match field {
                Some(f) => format!("{}: {}; try again later", f.field, f.message),
                None => "too many requests; try again later".to_string(),
            };
            let mut r = problem(
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-requests",
                "Too many requests",
                &detail,
                field.as_ref().map(std::slice::from_ref),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(*retry_after_secs));
            r
        }
        ServiceError::Forbidden(detail) => problem(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail, None),
        ServiceError::NotFound(what) => problem(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            &format!("{what} not found"),
            None,
        ),
        ServiceError::Conflict(error) => problem(
            StatusCode::CONFLICT,
            "conflict",
            "Conflict",
            &format!("{}: {}", error.field, error.message),
            Some(std::slice::from_ref(error)),
        ),
        ServiceError::Internal(e) => {
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Service(e) => service_problem(e),
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
                "content-type: send the body as application/json",
                Some(&[FieldError::new("content-type", "must be application/json")]),
            ),
            ApiError::PayloadTooLarge { limit } => problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
                &format!("the body must be at most {limit} bytes"),
                None,
            ),
        }
    }
}

pub async fn not_found() -> Response {
    ApiError::Service(ServiceError::NotFound("route")).into_response()
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
