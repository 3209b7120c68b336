//! The email templates: list them, preview one with sample data (optionally overridden), and send a
//! test email through the real pipeline (queue, worker, configured backend).

use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::OrgAdmin;
use super::{audit, limits, load_org, AppState, ServiceError};
use crate::domain::audit::FieldChange;
use crate::domain::jobs::EmailJob;
use crate::domain::limits::Limit;
use crate::domain::roles::Permission;
use crate::domain::{now_rfc3339, Email, Event, EventKind, Locale, Organisation, ValidationErrors};
use crate::queue::OutgoingMessage;
use crate::secret::Secret;
use crate::templates::{merged, sample_data, Rendered, TemplateError, Templates};

/// Every template name, the languages there are templates in, and the sample data (every variable
/// templates may use).
pub fn catalogue(state: &AppState, admin: &OrgAdmin) -> Result<(Vec<&'static str>, Vec<String>, Value), ServiceError> {
    admin.require(Permission::ReadDeliveries)?;
    let locales = state.templates.locales().map(str::to_string).collect();
    Ok((Templates::names().collect(), locales, sample_data()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewInput {
    /// Values to use instead of the samples (`data`, `private`, …), merged object by object.
    #[serde(default)]
    pub data: Option<Value>,
    /// For a test email: who gets it.
    #[serde(default)]
    pub to: Option<String>,
    /// The language to render in (falling back like every email; default the organisation's).
    #[serde(default)]
    pub locale: Option<String>,
}

/// The languages a preview or test email is written in: the one asked for, then the
/// organisation's default, then English.
fn languages_for(org: &Organisation, input: &PreviewInput) -> Result<Vec<String>, ServiceError> {
    let asked = match input.locale.as_deref() {
        Some(l) => Some(Locale::parse(l).map_err(|e| ServiceError::invalid("locale", &e.message))?),
        None => None,
    };
    Ok(Locale::fallbacks(asked.as_ref(), org.settings.default_locale.as_ref()))
}

/// The sample data with this organisation's name and portal, and the caller's overrides.
fn data_for(state: &AppState, org: &Organisation, overrides: Option<&Value>) -> Result<Value, ServiceError> {
    let own = json!({
        "org": {"id": org.id, "name": org.name},
        "portal_url": state.link_base(org),
    });
    let data = merged(sample_data(), &own);
    match overrides {
        None => Ok(data),
        Some(v) if v.is_object() => Ok(merged(data, v)),
        Some(_) => Err(ServiceError::invalid("data", "must be an object")),
    }
}

fn rendering_problem(e: TemplateError) -> ServiceError {
    match e {
        TemplateError::Unknown(_) => ServiceError::NotFound("email template"),
        other => ServiceError::invalid("data", &other.to_string()),
    }
}

pub async fn preview(
    state: &AppState,
    admin: &OrgAdmin,
    name: &str,
    input: PreviewInput,
) -> Result<Rendered, ServiceError> {
    admin.require(Permission::ReadDeliveries)?;
    let org = load_org(state, &admin.org).await?;
    let data = data_for(state, &org, input.data.as_ref())?;
    let languages = languages_for(&org, &input)?;
    state
        .templates
        .render(name, &languages, &data)
        .map_err(rendering_problem)
}

/// Who a test email may go to: the organisation's admin users (the caller among them, when an
/// admin user) and its `admin_email`. Never anyone else: the route sends from the deployment's
/// verified sender.
async fn people_of(state: &AppState, org: &Organisation) -> Result<Vec<Email>, ServiceError> {
    let mut people: Vec<Email> = super::admin_users::all(state, &org.id)
        .await?
        .into_iter()
        .map(|u| u.value.email)
        .collect();
    people.extend(org.settings.admin_email.clone());
    Ok(people)
}

/// Queues the template, rendered with sample data, for `to` (a person of the organisation, at
/// most `RATE_LIMIT_TEST_EMAILS_PER_ORG`): the email worker sends it through the
/// configured backend and the delivery log records it like any other email. Returns the delivery id.
pub async fn send_test(
    state: &AppState,
    admin: &OrgAdmin,
    name: &str,
    input: PreviewInput,
) -> Result<String, ServiceError> {
    admin.require(Permission::ManageDeliveries)?;
    let org = load_org(state, &admin.org).await?;
    let mut errors = ValidationErrors::default();
    let to = match input.to.as_deref() {
        Some(to) => errors.check("to", Email::parse(to)),
        None => {
            errors.push("to", "is required");
            None
        }
    };
    // The links and names of a test email are the organisation's own: caller data fills only the
    // template's sample fields, never a link.
    for own in ["private", "portal_url", "org"] {
        if input.data.as_ref().is_some_and(|d| d.get(own).is_some()) {
            errors.push(
                format!("data.{own}"),
                "is the organisation's own in a test email; preview it instead",
            );
        }
    }
    let data = data_for(state, &org, input.data.as_ref())?;
    let languages = languages_for(&org, &input)?;
    errors.into_result()?;
    let to = to.expect("checked above");
    if !people_of(state, &org)
        .await?
        .iter()
        .any(|p| p.normalized() == to.normalized())
    {
        return Err(ServiceError::invalid(
            "to",
            "must be an admin user of the organisation or its admin_email",
        ));
    }
    limits::per_subject(
        state,
        &org.id,
        Limit::TestEmailsPerOrg,
        org.id.as_str(),
        ("to", "too many test emails from this organisation"),
    )
    .await?;
    // Rendered here too, so a bad template or override is a 400 now rather than a failed delivery.
    state
        .templates
        .render(name, &languages, &data)
        .map_err(rendering_problem)?;
    let mut event = Event::new(
        org.id.clone(),
        EventKind::TestEmail,
        now_rfc3339(),
        data["data"].clone(),
    );
    event.private_sealed = Some(state.secrets.seal(&Secret::new(data["private"].to_string())));
    let context = json!({"org": data["org"], "portal_url": data["portal_url"], "category": data["category"], "recipient": data["recipient"], "data_json": data["data_json"]});
    let mut job = EmailJob::new(&event, to, name, context);
    job.languages = languages;
    let message = OutgoingMessage {
        body: serde_json::to_string(&job).expect("jobs serialize"),
    };
    // Recorded before the email is queued, so every test email sent is in the log.
    let recipient = FieldChange {
        field: "to".into(),
        old: Value::Null,
        new: Value::from(job.to.as_str()),
    };
    let entry = audit::entry(state, admin, "email_template.test_sent", Some(name), vec![recipient]);
    state.store.transact(vec![entry]).await?;
    state
        .email_jobs
        .send(vec![message])
        .await
        .map_err(|e| ServiceError::Internal(anyhow::Error::new(e).context("queueing a test email")))?;
    tracing::info!(org = %org.id, template = %name, delivery_id = %job.delivery_id, "test email queued");
    Ok(job.delivery_id)
}
