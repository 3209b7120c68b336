//! Developer accounts: sign-up, login and logout, the developer's own profile, password reset and
//! the one-use links to choose a password. The account rules (logins, sessions, links) are
//! `credentials`', shared with admin users; this module says what is a developer's own.
//!
//! Answers never tell whether an email has an account: sign-up and reset requests get the same
//! answer and take about as long either way (both hash a password or write a token either way, and
//! wait for a response floor), and a failed login says only that the email or password is wrong.

use serde::Deserialize;
use serde_json::Value;
use std::net::IpAddr;

use super::auth::DeveloperSession;
use super::credentials::{self, LinkPurpose, PasswordLink, ResponseFloor};
pub use super::credentials::{LoginInput, ResetCompleteInput, ResetRequestInput};
use super::limits;
use super::{blocking, load_org_named, AppState, ServiceError};
use crate::domain::event_data::{Actor, DeveloperRef, DeveloperState, EventData, PasswordLinkSent, SuspiciousLogin};
use crate::domain::fields::FieldSpec;
use crate::domain::fields::{check_values, merge, Completeness};
use crate::domain::limits::Limit;
use crate::domain::Locale;
use crate::domain::{
    now_rfc3339, Developer, DeveloperId, DeveloperStatus, OrgId, Organisation, SignUp, SignupMode, ValidationErrors,
};
use crate::store::developers::{self, SignUpOutcome};
use crate::store::outbox::event_write;
use crate::store::Write;

credentials::holder!(
    Developer, DeveloperId, Developer, developers::save_unmoved,
    named "developer", sessions super::auth::SESSION_PREFIX, resets at "reset-password",
{
    fn refusal(&self) -> Option<ServiceError> {
        match self.status {
            DeveloperStatus::Active => None,
            DeveloperStatus::Pending => Some(ServiceError::Forbidden("this account is waiting for approval".into())),
            DeveloperStatus::Rejected => Some(ServiceError::Forbidden("this account is not active".into())),
        }
    }
    fn logins_open(org: &Organisation) -> Result<(), ServiceError> {
        if org.settings.disable_login {
            return Err(ServiceError::Forbidden("this portal does not take logins".into()));
        }
        Ok(())
    }
    fn takes_link(&self, _: LinkPurpose) -> bool {
        // An invited developer is active with no password yet; a reset is for an active one.
        self.status == DeveloperStatus::Active
    }
    fn set_password(&mut self, hash: String, now: i64) {
        self.password_hash = hash;
        self.updated_at = now_rfc3339();
        self.sessions_valid_after = now;
        self.links_valid_after = now;
        // The link came by email: whoever followed it reads the address.
        self.email_confirmed = true;
    }
    fn session_ttl_secs(_: &AppState, org: &Organisation) -> i64 {
        org.settings.session_ttl_secs
    }
    fn suspicious_login(&self, earlier_failures: u32, address: IpAddr) -> EventData {
        EventData::SuspiciousLogin(SuspiciousLogin {
            developer_id: self.id.clone(),
            email: self.email.clone(),
            failed_attempts: earlier_failures,
            address: address.to_string(),
        })
    }
    fn password_set(&self, _: LinkPurpose) -> Option<EventData> {
        Some(EventData::PasswordChanged(DeveloperRef::from(self)))
    }
    fn reset_requested(&self, state: &AppState, org: &Organisation, link: &PasswordLink) -> Vec<Write> {
        // An address nobody confirmed gets its confirmation again, never a reset link: whoever
        // signed up with someone else's address cannot make the portal mail them anything else.
        if !self.email_confirmed {
            return confirmation_again(state, org, self);
        }
        link.issue(
            state,
            &org.id,
            self.id.as_str(),
            EventData::PasswordResetRequested(link_sent(self, link)),
        )
    }
});

/// A new confirmation link for an unconfirmed developer, and the event that mails it (at most
/// `RATE_LIMIT_WELCOME_EMAILS_PER_RECIPIENT` reach the address).
fn confirmation_again(state: &AppState, org: &Organisation, developer: &Developer) -> Vec<Write> {
    let link = PasswordLink::confirmation(state, org);
    link.issue(
        state,
        &org.id,
        developer.id.as_str(),
        EventData::EmailConfirmationRequested(link_sent(developer, &link)),
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmEmailInput {
    pub token: Option<String>,
}

/// Confirms a developer's address from the one-use link their welcome (or a later confirmation)
/// email carried. Counted per source address like every link (`Limit::PasswordLinksPerSource`).
pub async fn confirm_email(
    state: &AppState,
    org: &str,
    source: IpAddr,
    input: ConfirmEmailInput,
) -> Result<Developer, ServiceError> {
    let org = load_org_named(state, org).await?;
    let mut errors = ValidationErrors::default();
    let token = crate::domain::required(&mut errors, "token", input.token.as_deref()).map(str::to_string);
    let Some(token) = token else {
        return Err(errors.into());
    };
    limits::per_source(state, &org, Limit::PasswordLinksPerSource, source).await?;
    let (found, use_up) = credentials::redeem_link::<Developer>(state, &org.id, &token, true).await?;
    let mut developer = found.value;
    developer.email_confirmed = true;
    developer.updated_at = now_rfc3339();
    let writes = vec![developers::save_unmoved(&developer, found.version), use_up];
    state
        .store
        .transact(writes)
        .await
        .map_err(credentials::link_used_meanwhile)?;
    tracing::info!(org = %org.id, developer = %developer.id, "developer confirmed their email address");
    Ok(developer)
}

/// What the email of a developer's password link carries.
pub(crate) fn link_sent(developer: &Developer, link: &PasswordLink) -> PasswordLinkSent {
    PasswordLinkSent {
        developer_id: developer.id.clone(),
        email: developer.email.clone(),
        expires_at: link.expires_at,
        url: link.url.clone(),
        expires_in: link.expires_in(),
    }
}

/// What a portal shows before anyone logs in: the organisation's name, whether it takes sign-ups
/// and logins, the fields its forms ask for and the languages it speaks.
#[derive(Debug, serde::Serialize)]
pub struct PortalFace {
    pub id: OrgId,
    pub name: String,
    /// `open`, `admin_approval` or `invite_only`; `closed` while sign-ups are disabled.
    pub signup: &'static str,
    pub login: bool,
    pub signup_fields: Vec<FieldSpec>,
    pub key_request_fields: Vec<FieldSpec>,
    pub default_locale: Locale,
    pub locales: Vec<String>,
}

pub async fn portal_face(state: &AppState, org: &str, source: IpAddr) -> Result<PortalFace, ServiceError> {
    let org = super::load_org_named_recent(state, org).await?;
    limits::per_source(state, &org, Limit::PublicReadsPerSource, source).await?;
    let settings = org.settings;
    let signup = match (settings.disable_signup, settings.signup_mode) {
        (true, _) => "closed",
        (false, SignupMode::Open) => "open",
        (false, SignupMode::AdminApproval) => "admin_approval",
        (false, SignupMode::InviteOnly) => "invite_only",
    };
    Ok(PortalFace {
        id: org.id,
        name: org.name,
        signup,
        login: !settings.disable_login,
        signup_fields: settings.signup_fields,
        key_request_fields: settings.key_request_fields,
        default_locale: settings
            .default_locale
            .unwrap_or_else(|| Locale::parse("en").expect("en is a language")),
        locales: state.templates.locales().map(str::to_owned).collect(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignUpInput {
    pub email: Option<String>,
    pub password: Option<String>,
    pub fields: Option<Value>,
    /// The language of their emails (`de`, `pt_BR`); the organisation's default when left out.
    pub locale: Option<String>,
}

/// A locale as given (`null` or absent: none), or a 400 naming `locale`.
fn given_locale(value: Option<&str>) -> Result<Option<Locale>, ServiceError> {
    value
        .map(Locale::parse)
        .transpose()
        .map_err(|e| ServiceError::invalid("locale", &e.message))
}

/// Signs a developer up. Whether or not the email had an account, the caller gets the same `Ok(())`
/// after the same time; the owner of a taken address is told someone tried. Counted per source
/// address (`Limit::SignUpsPerSource`, lowered by the organisation's own setting).
pub async fn sign_up(state: &AppState, org: &str, source: IpAddr, input: SignUpInput) -> Result<(), ServiceError> {
    let floor = ResponseFloor::start(state);
    let org = load_org_named(state, org).await?;
    if org.settings.disable_signup || org.settings.signup_mode == SignupMode::InviteOnly {
        return Err(ServiceError::Forbidden("this portal does not take sign-ups".into()));
    }
    let sign_up = SignUp::parse(
        input.email.as_deref(),
        input.password.as_deref(),
        input.fields.as_ref(),
        &org.settings.signup_fields,
    )?;
    let locale = given_locale(input.locale.as_deref())?;
    limits::per_source(state, &org, Limit::SignUpsPerSource, source).await?;
    let status = match org.settings.signup_mode {
        SignupMode::AdminApproval => DeveloperStatus::Pending,
        _ => DeveloperStatus::Active,
    };
    let developer = {
        let (org_id, now) = (org.id.clone(), now_rfc3339());
        let mut developer = blocking(move || sign_up.into_developer(org_id, status, now)).await?;
        developer.locale = locale;
        developer.email_confirmed = !org.settings.confirm_email;
        developer
    };
    // The welcome email carries the confirmation link of an address that must confirm.
    let confirmation = org
        .settings
        .confirm_email
        .then(|| PasswordLink::confirmation(state, &org));
    let mut signed_up = DeveloperState::of(&developer, None);
    signed_up.confirmation = confirmation.as_ref().map(|l| (l.url.clone(), l.expires_in()));
    let event = state.raise(&org.id, EventData::DeveloperSignedUp(signed_up));
    let link_record: Vec<Write> = confirmation
        .iter()
        .map(|l| l.record(&org.id, developer.id.as_str()))
        .collect();
    match developers::create(state.store.as_ref(), &developer, &event, link_record).await? {
        SignUpOutcome::Created => {
            tracing::info!(org = %org.id, developer = %developer.id, event_id = %event.id, "developer signed up");
        }
        SignUpOutcome::EmailTaken => {
            if let Some(existing) = developers::find_by_email(state.store.as_ref(), &org.id, &developer.email).await? {
                let writes = if existing.value.email_confirmed {
                    let notice = state.raise(
                        &org.id,
                        EventData::SignUpWithExistingEmail(DeveloperRef::from(&existing.value)),
                    );
                    vec![event_write(&notice)]
                } else {
                    confirmation_again(state, &org, &existing.value)
                };
                state.store.transact(writes).await?;
            }
            tracing::info!(org = %org.id, "sign-up with an email that has an account");
        }
    }
    floor.wait().await;
    Ok(())
}

#[async_trait::async_trait]
impl credentials::OwnSession for DeveloperSession {
    type Account = Developer;
    type ProfileInput = ProfileInput;

    fn own(&self) -> Result<(&crate::domain::OrgId, &DeveloperId, &str), ServiceError> {
        Ok((&self.org, &self.developer, &self.token_hash))
    }

    async fn edit_profile(&self, state: &AppState, input: ProfileInput) -> Result<Developer, ServiceError> {
        edit_profile(state, self, input).await
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileInput {
    pub fields: Option<Value>,
    /// A language (`de`, `pt_BR`), or `null` for the organisation's default.
    #[serde(default, deserialize_with = "super::present")]
    pub locale: Option<Option<String>>,
}

/// A developer changes their own profile fields (`null` removes an optional one).
async fn edit_profile(
    state: &AppState,
    session: &DeveloperSession,
    input: ProfileInput,
) -> Result<Developer, ServiceError> {
    let org = super::load_org_recent(state, &session.org).await?;
    let mut errors = ValidationErrors::default();
    let changes = check_values(
        &org.settings.signup_fields,
        input.fields.as_ref(),
        Completeness::Partial,
        &mut errors,
    );
    errors.into_result()?;
    let locale = input.locale.map(|l| given_locale(l.as_deref())).transpose()?;
    let found = developers::get(state.store.as_ref(), &org.id, &session.developer)
        .await?
        .ok_or(ServiceError::Unauthorized)?;
    let mut developer = found.value;
    developer.fields = merge(developer.fields, changes);
    if let Some(locale) = locale {
        developer.locale = locale;
    }
    developer.updated_at = now_rfc3339();
    let event = state.raise(
        &org.id,
        EventData::DeveloperUpdated(DeveloperState::of(&developer, Some(Actor::Developer))),
    );
    let email = developer.email.clone();
    developers::save(
        state.store.as_ref(),
        &developer,
        found.version,
        &email,
        vec![],
        &[event],
    )
    .await?;
    Ok(developer)
}
