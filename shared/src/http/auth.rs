//! Who is calling: the operator (the deployment's root key), an organisation's admin (an admin key
//! `gh_admin_<org>.<secret>`), or a logged-in developer (a session token
//! `gh_sess_<org>.<developer>.<secret>`). Keys and tokens are stored as their SHA-256. A valid caller
//! of one organisation gets 404 for anything of another; an invalid one gets 401.

use axum::extract::{ConnectInfo, FromRequestParts, Path};
use axum::http::header;
use axum::http::request::Parts;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use super::problem::ApiError;
use super::AppState;
use crate::domain::{DeveloperId, OrgId};
use crate::secret::{constant_time_eq, new_token, token_hash, Secret};
use crate::store::{orgs, sessions};

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
        let (token_org, _) = token
            .strip_prefix(ADMIN_KEY_PREFIX)
            .and_then(|t| t.split_once('.'))
            .ok_or(ApiError::Unauthorized)?;
        let token_org = OrgId::parse(token_org).map_err(|_| ApiError::Unauthorized)?;
        orgs::find_admin_key(state.store.as_ref(), &token_org, &token_hash(token))
            .await?
            .ok_or(ApiError::Unauthorized)?;
        if token_org.as_str() != path_org {
            return Err(ApiError::NotFound("organisation"));
        }
        Ok(Self { org: token_org })
    }
}

impl FromRequestParts<AppState> for OrgAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let path_org = path_org(parts, state).await?;
        Self::check(state, bearer(parts), &path_org).await
    }
}

pub const SESSION_PREFIX: &str = "gh_sess_";

/// A new session token for a developer: `gh_sess_<org>.<developer>.<secret>` and its hash.
pub fn new_session_token(org: &OrgId, developer: &DeveloperId) -> (Secret, String) {
    let random = new_token("");
    let token = Secret::new(format!("{SESSION_PREFIX}{org}.{developer}.{}", random.expose()));
    let hash = token_hash(token.expose());
    (token, hash)
}

/// A logged-in developer of the path's organisation.
pub struct DeveloperSession {
    pub org: OrgId,
    pub developer: DeveloperId,
    pub token_hash: String,
}

impl FromRequestParts<AppState> for DeveloperSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let path_org = path_org(parts, state).await?;
        let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
        let mut pieces = token
            .strip_prefix(SESSION_PREFIX)
            .ok_or(ApiError::Unauthorized)?
            .splitn(3, '.');
        let (Some(org), Some(developer), Some(_)) = (pieces.next(), pieces.next(), pieces.next()) else {
            return Err(ApiError::Unauthorized);
        };
        let org = OrgId::parse(org).map_err(|_| ApiError::Unauthorized)?;
        let developer = DeveloperId::parse(developer).ok_or(ApiError::Unauthorized)?;
        let hash = token_hash(token);
        sessions::find(state.store.as_ref(), &org, &developer, &hash)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        if org.as_str() != path_org {
            return Err(ApiError::NotFound("organisation"));
        }
        Ok(Self {
            org,
            developer,
            token_hash: hash,
        })
    }
}

async fn path_org(parts: &mut Parts, state: &AppState) -> Result<String, ApiError> {
    let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map_err(|_| ApiError::NotFound("organisation"))?;
    Ok(params.get("org").cloned().unwrap_or_default())
}

/// The caller's address: API Gateway's `sourceIp` in Lambda, the TCP peer locally. Forwarding
/// headers are not trusted (anyone can send them).
pub struct ClientAddress(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(lambda_http::request::RequestContext::ApiGatewayV2(context)) =
            parts.extensions.get::<lambda_http::request::RequestContext>()
        {
            if let Some(ip) = context.http.source_ip.as_deref().and_then(|ip| ip.parse().ok()) {
                return Ok(Self(ip));
            }
        }
        if let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() {
            return Ok(Self(peer.ip()));
        }
        Ok(Self(IpAddr::from([0, 0, 0, 0])))
    }
}
