//! Who is calling: the operator (the deployment's root key) or an organisation's admin (an admin
//! key `gh_admin_<org>.<secret>`, stored as its SHA-256). An admin of one organisation gets 404 for
//! anything of another, never a hint that it exists.

use axum::extract::{FromRequestParts, Path};
use std::collections::HashMap;
use axum::http::request::Parts;
use axum::http::header;

use super::problem::ApiError;
use super::AppState;
use crate::domain::OrgId;
use crate::secret::{constant_time_eq, new_token, token_hash, Secret};
use crate::store::orgs;

pub const ADMIN_KEY_PREFIX: &str = "gh_admin_";

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

pub struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
        // Hashing both sides first makes the comparison constant-time whatever the lengths.
        let given = token_hash(token);
        let expected = token_hash(state.config.root_key.expose());
        if constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            Ok(Operator)
        } else {
            Err(ApiError::Unauthorized)
        }
    }
}

/// A new admin key for `org`: the key (shown once), its hash (stored) and a short display prefix.
pub fn new_admin_key(org: &OrgId) -> (Secret, String, String) {
    let random = new_token("");
    let key = Secret::new(format!("{ADMIN_KEY_PREFIX}{org}.{}", random.expose()));
    let hash = token_hash(key.expose());
    let prefix = format!("{ADMIN_KEY_PREFIX}{org}.{}…", &random.expose()[..4]);
    (key, hash, prefix)
}

/// An org admin, checked against the `{org}` of the path.
pub struct OrgAdmin {
    pub org: OrgId,
}

impl OrgAdmin {
    pub async fn check(state: &AppState, token: Option<&str>, path_org: &str) -> Result<Self, ApiError> {
        let token = token.ok_or(ApiError::Unauthorized)?;
        let (token_org, _) = token.strip_prefix(ADMIN_KEY_PREFIX).and_then(|t| t.split_once('.')).ok_or(ApiError::Unauthorized)?;
        let token_org = OrgId::parse(token_org).map_err(|_| ApiError::Unauthorized)?;
        orgs::find_admin_key(state.store.as_ref(), &token_org, &token_hash(token)).await?.ok_or(ApiError::Unauthorized)?;
        if token_org.as_str() != path_org {
            return Err(ApiError::NotFound("organisation"));
        }
        Ok(Self { org: token_org })
    }
}

impl FromRequestParts<AppState> for OrgAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound("organisation"))?;
        let path_org = params.get("org").map(String::as_str).unwrap_or_default();
        Self::check(state, bearer(parts), path_org).await
    }
}
