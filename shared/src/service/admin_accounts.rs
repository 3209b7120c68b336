//! An admin user's own account: accepting an invitation (choosing the first password), logging in
//! and out, resetting a forgotten password, and their profile (name, locale). The account rules are
//! `credentials`', the same as a developer's; this module says what is an admin user's own.

use serde::Deserialize;
use std::net::IpAddr;

use super::auth::OrgAdmin;
use super::credentials::{self, PasswordLink};
pub use super::credentials::{LinkPurpose, LoginInput, ResetCompleteInput, ResetRequestInput};
use super::{audit, AppState, OrConflict, ServiceError};
use crate::domain::audit::{changes, FieldChange};
use crate::domain::event_data::{AdminLinkSent, AdminRef, AdminSuspiciousLogin, EventData};
use crate::domain::{
    now_rfc3339, parse_person_name, AdminStatus, AdminUser, AdminUserId, Locale, Organisation, ValidationErrors,
};
use crate::store::admin_users;
use crate::store::Write;

credentials::holder!(
    AdminUser, AdminUserId, Admin, admin_users::save,
    named "admin", sessions super::auth::ADMIN_SESSION_PREFIX, resets at "admin/reset-password",
{
    fn refusal(&self) -> Option<ServiceError> {
        // An invited admin has no password yet, so no login reaches this.
        (self.status != AdminStatus::Active).then_some(ServiceError::InvalidCredentials)
    }
    fn logins_open(_: &Organisation) -> Result<(), ServiceError> {
        // `disable_login` is the portal's: admins still log in to run the organisation.
        Ok(())
    }
    fn takes_link(&self, purpose: LinkPurpose) -> bool {
        // An invitation link sets the first password; a reset link changes an active admin's.
        self.status
            == match purpose {
                LinkPurpose::Invitation => AdminStatus::Invited,
                LinkPurpose::Reset => AdminStatus::Active,
            }
    }
    fn set_password(&mut self, hash: String, now: i64) {
        self.password_hash = hash;
        self.status = AdminStatus::Active;
        self.updated_at = now_rfc3339();
        self.sessions_valid_after = now;
        self.links_valid_after = now;
    }
    fn session_ttl_secs(state: &AppState, _: &Organisation) -> i64 {
        // Admin sessions hold more power than a developer's: a working day by default.
        state.config.admin_session_ttl.as_secs() as i64
    }
    fn suspicious_login(&self, earlier_failures: u32, address: IpAddr) -> EventData {
        EventData::AdminSuspiciousLogin(AdminSuspiciousLogin {
            admin_id: self.id.clone(),
            email: self.email.clone(),
            failed_attempts: earlier_failures,
            address: address.to_string(),
        })
    }
    fn password_set(&self, purpose: LinkPurpose) -> Option<EventData> {
        (purpose == LinkPurpose::Reset).then(|| EventData::AdminPasswordChanged(AdminRef::from(self)))
    }
    fn reset_requested(&self, state: &AppState, org: &Organisation, link: &PasswordLink) -> Vec<Write> {
        let sent = AdminLinkSent {
            admin_id: self.id.clone(),
            email: self.email.clone(),
            role: None,
            by: None,
            recipients: vec![],
            expires_at: link.expires_at,
            url: link.url.clone(),
            expires_in: link.expires_in(),
        };
        link.issue(
            state,
            &org.id,
            self.id.as_str(),
            EventData::AdminPasswordResetRequested(sent),
        )
    }
});

/// The admin user behind a session; an admin key has no account of its own.
fn session_of(admin: &OrgAdmin) -> Result<&(AdminUserId, String), ServiceError> {
    admin
        .session
        .as_ref()
        .ok_or_else(|| ServiceError::Forbidden("an admin key has no account; log in as an admin user".into()))
}

#[async_trait::async_trait]
impl credentials::OwnSession for OrgAdmin {
    type Account = AdminUser;
    type ProfileInput = ProfileInput;

    fn own(&self) -> Result<(&crate::domain::OrgId, &AdminUserId, &str), ServiceError> {
        let (id, token_hash) = session_of(self)?;
        Ok((&self.org, id, token_hash))
    }

    async fn edit_profile(&self, state: &AppState, input: ProfileInput) -> Result<AdminUser, ServiceError> {
        edit_profile(state, self, input).await
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileInput {
    /// A new name; `null` removes it.
    #[serde(default, deserialize_with = "super::present")]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    pub locale: Option<Option<String>>,
}

/// An admin user changes their own name or locale (audited like every admin write).
async fn edit_profile(state: &AppState, admin: &OrgAdmin, input: ProfileInput) -> Result<AdminUser, ServiceError> {
    let (id, _) = session_of(admin)?;
    let mut errors = ValidationErrors::default();
    let name = input
        .name
        .map(|n| n.map(|n| errors.check("name", parse_person_name(&n))));
    let locale = input
        .locale
        .map(|l| l.map(|l| errors.check("locale", Locale::parse(&l))));
    errors.into_result()?;
    let found = admin_users::get(state.store.as_ref(), &admin.org, id)
        .await?
        .ok_or(ServiceError::Unauthorized)?;
    let mut user = found.value;
    let before = serde_json::json!({"name": user.name, "locale": user.locale});
    if let Some(name) = name {
        user.name = name.flatten();
    }
    if let Some(locale) = locale {
        user.locale = locale.flatten();
    }
    let after = serde_json::json!({"name": user.name, "locale": user.locale});
    let changed: Vec<FieldChange> = changes("", &before, &after, &[]);
    if changed.is_empty() {
        return Ok(user);
    }
    user.updated_at = now_rfc3339();
    state
        .store
        .transact(vec![
            admin_users::save(&user, found.version),
            audit::entry(state, admin, "admin.profile_changed", Some(user.id.as_str()), changed),
        ])
        .await
        .or_changed_meanwhile("admin")?;
    Ok(user)
}
