//! The callers, as axum extractors: each reads the bearer token and the path's organisation and asks
//! `service::auth` who it is. Also the caller's network address.

use axum::extract::{ConnectInfo, FromRequestParts, Path};
use axum::http::header;
use axum::http::request::Parts;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use super::problem::ApiError;
use crate::service::auth;
use crate::service::{AppState, ServiceError};

pub use crate::service::auth::{DeveloperSession, Operator, OrgAdmin};

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

async fn path_org(parts: &mut Parts, state: &AppState) -> Result<String, ApiError> {
    let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map_err(|_| ServiceError::NotFound("organisation"))?;
    Ok(params.get("org").cloned().unwrap_or_default())
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(auth::operator(state, bearer(parts))?)
    }
}

impl FromRequestParts<AppState> for OrgAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let org = path_org(parts, state).await?;
        let Ok(ClientAddress(source)) = ClientAddress::from_request_parts(parts, state).await;
        Ok(auth::org_admin(state, bearer(parts), &org, source).await?)
    }
}

/// The holder of an admin key, on a route with no organisation in its path (the gate's): the key
/// names its organisation.
pub struct KeyHolder(pub OrgAdmin);

impl FromRequestParts<AppState> for KeyHolder {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Ok(ClientAddress(source)) = ClientAddress::from_request_parts(parts, state).await;
        Ok(KeyHolder(auth::admin_by_key(state, bearer(parts), source).await?))
    }
}

impl FromRequestParts<AppState> for DeveloperSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let org = path_org(parts, state).await?;
        Ok(auth::developer_session(state, bearer(parts), &org).await?)
    }
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
