//! Who is calling: the operator (the deployment's root key), an organisation's admin (an admin key
//! `gh_admin_<org>.<secret>`, or a logged-in admin user's session `gh_asess_<org>.<admin>.<secret>`),
//! or a logged-in developer (a session token `gh_sess_<org>.<developer>.<secret>`). Keys and tokens
//! are stored as their SHA-256. A valid caller of one organisation gets 404 for anything of another;
//! an invalid one gets 401.

use std::net::IpAddr;

use super::credentials;
use super::{AppState, ServiceError};
use crate::domain::audit::AuditActor;
use crate::domain::roles::{Permission, Role};
use crate::domain::{now_rfc3339, AdminUser, AdminUserId, Developer, DeveloperId, OrgId};
use crate::secret::{constant_time_eq, new_token, token_hash, Secret};
use crate::store::orgs;

pub const ADMIN_KEY_PREFIX: &str = "gh_admin_";
pub const SESSION_PREFIX: &str = "gh_sess_";
pub const ADMIN_SESSION_PREFIX: &str = "gh_asess_";

/// The deployment's operator, proven by the root key.
pub struct Operator;

pub fn operator(state: &AppState, token: Option<&str>) -> Result<Operator, ServiceError> {
    let token = token.ok_or(ServiceError::Unauthorized)?;
    // Hashing both sides first makes the comparison constant-time whatever the lengths.
    let given = token_hash(token);
    let matches = |key: &Secret| constant_time_eq(given.as_bytes(), token_hash(key.expose()).as_bytes());
    // Every key is compared, so the time does not tell which one matched.
    if state.config.root_keys.iter().fold(false, |any, key| matches(key) | any) {
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

/// An admin of one organisation (an admin key or a logged-in admin user), with the role that
/// bounds what it may do.
#[derive(Debug, Clone)]
pub struct OrgAdmin {
    pub org: OrgId,
    pub role: Role,
    /// Who it is, as the audit log and notices name them.
    pub actor: AuditActor,
    /// Where the request came from, for the audit log.
    pub source: IpAddr,
    /// An admin user's session: their id and the session token's hash.
    pub session: Option<(AdminUserId, String)>,
}

impl OrgAdmin {
    /// Ok when this admin's role allows `permission`; 403 otherwise. Every admin use case calls it
    /// first, before reading its input, so a refused caller learns nothing and changes nothing.
    pub fn require(&self, permission: Permission) -> Result<(), ServiceError> {
        if self.role.allows(permission) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(format!(
                "the {} role may not do this",
                self.role
            )))
        }
    }

    /// As [`OrgAdmin::require`], for a change of `field`, which the refusal names.
    pub fn require_for(&self, permission: Permission, field: &str) -> Result<(), ServiceError> {
        self.require(permission).map_err(|_| {
            ServiceError::Forbidden(format!("the {} role may not change `{field}`; owners only", self.role))
        })
    }
}

/// How stale a key's `last_used_at` may get before a request writes it again.
const LAST_USED_PRECISION_SECS: i64 = 60;

/// The admin holding `token`, when it is a live admin key or admin user session of the
/// organisation named `path_org`.
pub async fn org_admin(
    state: &AppState,
    token: Option<&str>,
    path_org: &str,
    source: IpAddr,
) -> Result<OrgAdmin, ServiceError> {
    let token = token.ok_or(ServiceError::Unauthorized)?;
    if token.starts_with(ADMIN_SESSION_PREFIX) {
        return admin_session(state, token, path_org, source).await;
    }
    let (token_org, _) = token
        .strip_prefix(ADMIN_KEY_PREFIX)
        .and_then(|t| t.split_once('.'))
        .ok_or(ServiceError::Unauthorized)?;
    let token_org = OrgId::parse(token_org).map_err(|_| ServiceError::Unauthorized)?;
    let hash = token_hash(token);
    let store = state.store.as_ref();
    let mut key = orgs::find_admin_key(store, &token_org, &hash)
        .await?
        .ok_or(ServiceError::Unauthorized)?;
    if token_org.as_str() != path_org {
        return Err(ServiceError::NotFound("organisation"));
    }
    let now = time::OffsetDateTime::now_utc();
    let stale = key
        .last_used_at
        .as_deref()
        .and_then(|t| time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok())
        .is_none_or(|t| (now - t).whole_seconds() >= LAST_USED_PRECISION_SECS);
    if stale {
        key.last_used_at = Some(now_rfc3339());
        orgs::mark_admin_key_used(store, &token_org, &hash, &key).await?;
    }
    Ok(OrgAdmin {
        org: token_org,
        role: key.role,
        actor: AuditActor {
            kind: "admin_key".into(),
            id: orgs::admin_key_id(&hash),
            role: Some(key.role),
            email: None,
        },
        source,
        session: None,
    })
}

/// The admin holding an admin key, of the organisation the key names: for routes with no
/// organisation in their path (the gate's). Sessions are not taken: a gateway is a machine.
pub async fn admin_by_key(state: &AppState, token: Option<&str>, source: IpAddr) -> Result<OrgAdmin, ServiceError> {
    let token = token.ok_or(ServiceError::Unauthorized)?;
    let (org, _) = token
        .strip_prefix(ADMIN_KEY_PREFIX)
        .and_then(|t| t.split_once('.'))
        .ok_or(ServiceError::Unauthorized)?;
    let org = org.to_string();
    org_admin(state, Some(token), &org, source).await
}

/// The admin user holding a session token (`credentials::session`: live, active, begun after
/// their last password or role change).
async fn admin_session(
    state: &AppState,
    token: &str,
    path_org: &str,
    source: IpAddr,
) -> Result<OrgAdmin, ServiceError> {
    let live = credentials::session::<AdminUser>(state, token, path_org).await?;
    let user = live.account;
    Ok(OrgAdmin {
        org: live.org,
        role: user.role,
        actor: AuditActor {
            kind: "admin_user".into(),
            id: user.id.to_string(),
            role: Some(user.role),
            email: Some(user.email),
        },
        source,
        session: Some((user.id, live.token_hash)),
    })
}

/// A logged-in developer.
#[derive(Debug, Clone)]
pub struct DeveloperSession {
    pub org: OrgId,
    pub developer: DeveloperId,
    pub token_hash: String,
}

/// The developer holding `token`, when it is a live session of the organisation named `path_org`
/// (`credentials::session`: live, the account active, begun after its last password or status
/// change).
pub async fn developer_session(
    state: &AppState,
    token: Option<&str>,
    path_org: &str,
) -> Result<DeveloperSession, ServiceError> {
    let token = token.ok_or(ServiceError::Unauthorized)?;
    let live = credentials::session::<Developer>(state, token, path_org).await?;
    Ok(DeveloperSession {
        org: live.org,
        developer: live.account.id,
        token_hash: live.token_hash,
    })
}
