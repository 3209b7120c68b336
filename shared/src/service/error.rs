//! What a use case can answer besides success. `http::problem` turns each into problem+json in one
//! place; nothing here knows a status code.

use crate::domain::{FieldError, ValidationErrors};
use crate::store::developers::SaveError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("invalid input: {0}")]
    Validation(ValidationErrors),
    /// No valid credentials.
    #[error("unauthorized")]
    Unauthorized,
    /// A failed login: the same answer for an unknown email and a wrong password.
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("too many attempts")]
    TooManyRequests {
        retry_after_secs: i64,
        /// The field whose limit was reached, when the limit is about one (`to`, `catalog_id`).
        field: Option<FieldError>,
    },
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The change conflicts with the current state (a duplicate, a decided request, a lost race).
    #[error("conflict: {}: {}", .0.field, .0.message)]
    Conflict(FieldError),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ServiceError {
    pub fn invalid(field: &str, message: &str) -> Self {
        ServiceError::Validation(FieldError::new(field, message).into())
    }

    pub fn conflict(field: &str, message: impl Into<String>) -> Self {
        ServiceError::Conflict(FieldError::new(field, message))
    }
}

impl From<ValidationErrors> for ServiceError {
    fn from(e: ValidationErrors) -> Self {
        ServiceError::Validation(e)
    }
}

impl From<FieldError> for ServiceError {
    fn from(e: FieldError) -> Self {
        ServiceError::Validation(e.into())
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BadCursor => ServiceError::invalid("cursor", "is not a cursor from this list"),
            e => ServiceError::Internal(anyhow::Error::new(e).context("store")),
        }
    }
}

impl From<SaveError> for ServiceError {
    fn from(e: SaveError) -> Self {
        match e {
            SaveError::EmailTaken => ServiceError::conflict("email", "another account has this email"),
            SaveError::Conflict => ServiceError::conflict("developer", "changed by someone else meanwhile; try again"),
            SaveError::Store(e) => e.into(),
        }
    }
}

/// A write's lost race as a conflict naming `field`; any other store error stays internal.
pub trait OrConflict<T> {
    fn or_conflict(self, field: &str, message: &str) -> Result<T, ServiceError>;

    /// The usual message: someone else changed the record first.
    fn or_changed_meanwhile(self, field: &str) -> Result<T, ServiceError>
    where
        Self: Sized,
    {
        self.or_conflict(field, "changed by someone else meanwhile; try again")
    }
}

impl<T> OrConflict<T> for Result<T, StoreError> {
    fn or_conflict(self, field: &str, message: &str) -> Result<T, ServiceError> {
        self.map_err(|e| match e {
            StoreError::ConditionFailed { .. } => ServiceError::conflict(field, message),
            e => e.into(),
        })
    }
}
