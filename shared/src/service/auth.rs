//! Who is calling: the operator (the deployment's root key), an organisation's admin (an admin key
//! `gh_admin_<org>.<secret>`), or a logged-in developer (a session token
//! `gh_sess_<org>.<developer>.<secret>`). Keys and tokens are stored as their SHA-256. A valid caller
//! of one organisation gets 404 for anything of another; an invalid one gets 401.

use super::{AppState, ServiceError};
use crate::domain::{DeveloperId, OrgId};
use crate::secret::{constant_time_eq, new_token, token_hash, Secret};
use crate::store::{developers, orgs, sessions};

pub const ADMIN_KEY_PREFIX: &str = "gh_admin_";
pub const SESSION_PREFIX: &str = "gh_sess_";

/// The deployment's operator, proven by the root key.
pub struct Operator;

pub fn operator(state: &AppState, token: Option<&str>) -> Result<Operator, ServiceError> {
    let token = token.ok_or(ServiceError::Unauthorized)?;
    // Hashing both sides first makes the comparison constant-time whatever the lengths.
    let given = token_hash(token);
    let expected = token_hash(state.config.root_key.expose());
    if constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        Ok(Operator)
    } else {
        Err(ServiceError::Unauthorized)
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

/// An admin of one organisation.
#[derive(Debug, Clone)]
pub struct OrgAdmin {
    pub org: OrgId,
}

/// The admin holding `token`, when it is a live admin key of the organisation named `path_org`.
pub async fn org_admin(state: &AppState, token: Option<&str>, path_org: &str) -> Result<OrgAdmin, ServiceError> {
    let token = token.ok_or(ServiceError::Unauthorized)?;
    let (token_org, _) = token
        .strip_prefix(ADMIN_KEY_PREFIX)
        .and_then(|t| t.split_once('.'))
        .ok_or(ServiceError::Unauthorized)?;
    let token_org = OrgId::parse(token_org).map_err(|_| ServiceError::Unauthorized)?;
    orgs::find_admin_key(state.store.as_ref(), &token_org, &token_hash(token))
        .await?
        .ok_or(ServiceError::Unauthorized)?;
    if token_org.as_str() != path_org {
        return Err(ServiceError::NotFound("organisation"));
    }
    Ok(OrgAdmin { org: token_org })
}

/// A new session token for a developer: `gh_sess_<org>.<developer>.<secret>` and its hash.
pub fn new_session_token(org: &OrgId, developer: &DeveloperId) -> (Secret, String) {
    let random = new_token("");
    let token = Secret::new(format!("{SESSION_PREFIX}{org}.{developer}.{}", random.expose()));
    let hash = token_hash(token.expose());
    (token, hash)
}

/// A logged-in developer.
#[derive(Debug, Clone)]
pub struct DeveloperSession {
    pub org: OrgId,
    pub developer: DeveloperId,
    pub token_hash: String,
}

/// The developer holding `token`, when it is a live session of the organisation named `path_org`.
pub async fn developer_session(
    state: &AppState,
    token: Option<&str>,
    path_org: &str,
) -> Result<DeveloperSession, ServiceError> {
    let token = token.ok_or(ServiceError::Unauthorized)?;
    let mut pieces = token
        .strip_prefix(SESSION_PREFIX)
        .ok_or(ServiceError::Unauthorized)?
        .splitn(3, '.');
    let (Some(org), Some(developer), Some(_)) = (pieces.next(), pieces.next(), pieces.next()) else {
        return Err(ServiceError::Unauthorized);
    };
    let org = OrgId::parse(org).map_err(|_| ServiceError::Unauthorized)?;
    let developer = DeveloperId::parse(developer).ok_or(ServiceError::Unauthorized)?;
    let hash = token_hash(token);
    // The account decides too: a removed developer has no sessions, and a password change ends
    // every session begun before it (even one the deletes did not reach). Both read at once.
    let store = state.store.as_ref();
    let (session, account) = futures::try_join!(
        sessions::find(store, &org, &developer, &hash),
        developers::get(store, &org, &developer)
    )?;
    let (session, account) = session.zip(account).ok_or(ServiceError::Unauthorized)?;
    if session.started_at <= account.value.sessions_valid_after {
        return Err(ServiceError::Unauthorized);
    }
    if org.as_str() != path_org {
        return Err(ServiceError::NotFound("organisation"));
    }
    Ok(DeveloperSession {
        org,
        developer,
        token_hash: hash,
    })
}
