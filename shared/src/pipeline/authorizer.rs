//! The API Gateway HTTP API authorizer: a REQUEST authorizer, payload format 2.0, simple responses.
//! It takes the key from `x-api-key` or `Authorization: Bearer`, asks the gate the same question
//! the verify route does, and allows the call only for `VALID`, passing the key's organisation, id,
//! developer, policy and remaining quota to the integration as `$context.authorizer.*`.
//!
//! It only looks (cost 0): API Gateway caches its answers per key for the authorizer's TTL, so the
//! calls it sees are not all the calls made. Every call is counted from the API's access log
//! instead ([`super::access_log`]), which also fills the quota the authorizer checks.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

use crate::domain::gate::VerifyCode;
use crate::domain::{ApiId, OrgId};
use crate::service::gate::Gate;
use crate::store::StoreError;

/// What API Gateway sends (the fields used; the rest is ignored). Header names arrive lower-cased.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerRequest {
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub route_arn: Option<String>,
    #[serde(default)]
    pub headers: HashMap<String, String>,
}

/// The simple response: allowed or not, and what the integration may read.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerResponse {
    pub is_authorized: bool,
    pub context: AuthorizerContext,
}

/// `$context.authorizer.<name>` for the integration and the access log; empty when refused, but for
/// the code.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AuthorizerContext {
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub developer_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_id: Option<String>,
    /// Quota units left this period, when the policy has a quota.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota_remaining: Option<u64>,
}

/// The key a request presents: `x-api-key`, else `Authorization: Bearer …`.
pub fn presented_key(headers: &HashMap<String, String>) -> Option<&str> {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    };
    if let Some(key) = header("x-api-key").filter(|k| !k.is_empty()) {
        return Some(key);
    }
    let (scheme, token) = header("authorization")?.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The authorizer of one protected API: keys of `org` only (any organisation's when unset), for the
/// Gatehouse API `api_id` (any API of the key's policy when unset).
pub struct Authorizer {
    gate: Arc<Gate>,
    org: Option<OrgId>,
    api_id: Option<ApiId>,
}

impl Authorizer {
    pub fn new(gate: Arc<Gate>, org: Option<OrgId>, api_id: Option<ApiId>) -> Self {
        Self { gate, org, api_id }
    }

    /// The answer for one request; a store failure is an error (API Gateway then answers 500: a
    /// gate that cannot look stays shut).
    pub async fn handle(&self, request: &AuthorizerRequest) -> Result<AuthorizerResponse, StoreError> {
        let Some(key) = presented_key(&request.headers) else {
            return Ok(refused(VerifyCode::NotFound));
        };
        let verdict = self
            .gate
            .decide(self.org.as_ref(), key, self.api_id.as_ref(), 0)
            .await?;
        tracing::info!(code = verdict.code.as_str(), key = ?verdict.key_id, "authorized");
        if !verdict.valid {
            return Ok(refused(verdict.code));
        }
        Ok(AuthorizerResponse {
            is_authorized: true,
            context: AuthorizerContext {
                code: verdict.code.as_str().into(),
                org_id: verdict.org_id.map(|o| o.to_string()),
                key_id: verdict.key_id.map(|k| k.to_string()),
                developer_id: verdict.developer_id.map(|d| d.to_string()),
                policy_id: verdict.policy_id.map(|p| p.to_string()),
                quota_remaining: verdict.remaining,
            },
        })
    }
}

fn refused(code: VerifyCode) -> AuthorizerResponse {
    AuthorizerResponse {
        is_authorized: false,
        context: AuthorizerContext {
            code: code.as_str().into(),
            ..AuthorizerContext::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_comes_from_x_api_key_or_a_bearer_token() {
        let headers = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<HashMap<_, _>>()
        };
        assert_eq!(
            presented_key(&headers(&[("x-api-key", "gh_live_a")])),
            Some("gh_live_a")
        );
        assert_eq!(
            presented_key(&headers(&[("authorization", "Bearer gh_live_b")])),
            Some("gh_live_b")
        );
        assert_eq!(
            presented_key(&headers(&[
                ("x-api-key", "gh_live_a"),
                ("authorization", "Bearer gh_live_b")
            ])),
            Some("gh_live_a"),
            "x-api-key first"
        );
        assert_eq!(presented_key(&headers(&[("authorization", "Basic abc")])), None);
        assert_eq!(presented_key(&headers(&[("authorization", "Bearer ")])), None);
        assert_eq!(presented_key(&headers(&[])), None);
    }
}
