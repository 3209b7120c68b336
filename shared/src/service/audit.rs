//! The audit log: every admin write records who did what, when and from where, in the same
//! transaction as the change (so a change that fails leaves no entry, and no change goes
//! unrecorded), and admins with `read_audit_log` list it with filters. Entries are append-only.

use super::auth::{DeveloperSession, OrgAdmin};
use super::{AppState, Paged, ServiceError};
use crate::domain::audit::{AuditActor, AuditEntry, FieldChange};
use crate::domain::roles::Permission;
use crate::domain::{now_rfc3339, AuditId};
use crate::store::{audit, Write};

/// The write that records `action` on `target` by `admin`, for the change's own transaction.
pub(crate) fn entry(
    state: &AppState,
    admin: &OrgAdmin,
    action: &str,
    target: Option<&str>,
    changes: Vec<FieldChange>,
) -> Write {
    let entry = AuditEntry {
        id: AuditId::generate(),
        org_id: admin.org.clone(),
        at: now_rfc3339(),
        actor: actor(admin),
        action: action.to_string(),
        target: target.map(str::to_string),
        source: admin.source.to_string(),
        changes,
    };
    audit::record(&entry, state.config.audit_retention.as_secs() as i64)
}

/// The write that records `action` on `target` by a developer acting on what is theirs (rolling a
/// key), for the change's own transaction.
pub(crate) fn developer_entry(
    state: &AppState,
    session: &DeveloperSession,
    source: std::net::IpAddr,
    action: &str,
    target: Option<&str>,
) -> Write {
    let entry = AuditEntry {
        id: AuditId::generate(),
        org_id: session.org.clone(),
        at: now_rfc3339(),
        actor: AuditActor {
            kind: "developer".into(),
            id: session.developer.to_string(),
            role: None,
            email: None,
        },
        action: action.to_string(),
        target: target.map(str::to_string),
        source: source.to_string(),
        changes: vec![],
    };
    audit::record(&entry, state.config.audit_retention.as_secs() as i64)
}

/// The admin as the audit log and security notices name them.
pub(crate) fn actor(admin: &OrgAdmin) -> AuditActor {
    admin.actor.clone()
}

/// What the audit log is filtered by; every filter given must match.
#[derive(Debug, Default)]
pub struct Filters {
    /// An actor's id (`ak_…` or `adm_…`).
    pub actor: Option<String>,
    /// An action (`settings.changed`), or every action of a thing (`api`).
    pub action: Option<String>,
    /// A target's id.
    pub target: Option<String>,
    /// RFC 3339 times, inclusive.
    pub from: Option<String>,
    pub to: Option<String>,
}

impl Filters {
    fn check(&self) -> Result<(Option<time::OffsetDateTime>, Option<time::OffsetDateTime>), ServiceError> {
        let parse = |field: &str, v: &Option<String>| {
            v.as_deref()
                .map(|t| {
                    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                        .map_err(|_| ServiceError::invalid(field, "must be an RFC 3339 time"))
                })
                .transpose()
        };
        Ok((parse("from", &self.from)?, parse("to", &self.to)?))
    }

    fn admit(&self, e: &AuditEntry, from: Option<time::OffsetDateTime>, to: Option<time::OffsetDateTime>) -> bool {
        let at = time::OffsetDateTime::parse(&e.at, &time::format_description::well_known::Rfc3339).ok();
        self.actor.as_ref().is_none_or(|a| &e.actor.id == a)
            && self
                .action
                .as_ref()
                .is_none_or(|a| &e.action == a || e.action.starts_with(&format!("{a}.")))
            && self.target.as_ref().is_none_or(|t| e.target.as_ref() == Some(t))
            && from.is_none_or(|f| at.is_some_and(|at| at >= f))
            && to.is_none_or(|t| at.is_some_and(|at| at <= t))
    }
}

/// A page of the audit log, newest first, filtered after reading (so a page may hold fewer than
/// `limit` entries while more follow).
pub async fn list(
    state: &AppState,
    admin: &OrgAdmin,
    filters: &Filters,
    after: Option<&str>,
    limit: usize,
) -> Result<Paged<AuditEntry>, ServiceError> {
    admin.require(Permission::ReadAuditLog)?;
    let (from, to) = filters.check()?;
    let (entries, next) = audit::list(state.store.as_ref(), &admin.org, after, limit).await?;
    Ok((
        entries.into_iter().filter(|e| filters.admit(e, from, to)).collect(),
        next,
    ))
}
