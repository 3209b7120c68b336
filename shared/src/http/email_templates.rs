//! Admin: the email templates — list them, preview one with sample data (optionally overridden),
//! and send a test email through the real pipeline (queue, worker, configured backend).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::OrgAdmin;
use super::json::JsonBody;
use super::problem::ApiError;
use super::{load_org, AppState};
use crate::domain::{now_rfc3339, Email, Event, EventKind, FieldError, Organisation, ValidationErrors};
use crate::pipeline::EmailJob;
use crate::queue::OutgoingMessage;
use crate::secret::Secret;
use crate::templates::{merged, sample_data, TemplateError, Templates};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/orgs/{org}/email-templates", get(list))
        .route("/orgs/{org}/email-templates/{name}/preview", post(preview))
        .route("/orgs/{org}/email-templates/{name}/test", post(send_test))
}

async fn list(_: OrgAdmin) -> Json<Value> {
    Json(json!({"items": Templates::names().collect::<Vec<_>>(), "sample_data": sample_data()}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewBody {
    /// Values to use instead of the samples (`data`, `private`, …), merged object by object.
    #[serde(default)]
    data: Option<Value>,
    /// For a test email: who gets it.
    #[serde(default)]
    to: Option<String>,
}

/// The sample data with this organisation's name and portal, and the caller's overrides.
fn data_for(state: &AppState, org: &Organisation, overrides: Option<&Value>) -> Result<Value, ApiError> {
    let own = json!({
        "org": {"id": org.id, "name": org.name},
        "portal_url": org.settings.portal_url(&state.config.portal_url),
    });
    let data = merged(sample_data(), &own);
    match overrides {
        None => Ok(data),
        Some(v) if v.is_object() => Ok(merged(data, v)),
        Some(_) => Err(ValidationErrors::from(FieldError::new("data", "must be an object")).into()),
    }
}

fn rendering_problem(e: TemplateError) -> ApiError {
    match e {
        TemplateError::Unknown(_) => ApiError::NotFound("email template"),
        other => ValidationErrors::from(FieldError::new("data", other.to_string())).into(),
    }
}

async fn preview(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, name)): Path<(String, String)>,
    JsonBody(body): JsonBody<PreviewBody>,
) -> Result<Json<Value>, ApiError> {
    let org = load_org(&state, admin.org.as_str()).await?;
    let data = data_for(&state, &org, body.data.as_ref())?;
    let rendered = state.templates.render(&name, &data).map_err(rendering_problem)?;
    Ok(Json(
        json!({"template": name, "subject": rendered.subject, "text": rendered.text, "html": rendered.html}),
    ))
}

/// Queues the template, rendered with sample data, for `to`: the email worker sends it through the
/// configured backend and the delivery log records it like any other email.
async fn send_test(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, name)): Path<(String, String)>,
    JsonBody(body): JsonBody<PreviewBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let org = load_org(&state, admin.org.as_str()).await?;
    let mut errors = ValidationErrors::default();
    let to = match body.to.as_deref() {
        Some(to) => errors.check("to", Email::parse(to)),
        None => {
            errors.push("to", "is required");
            None
        }
    };
    let data = data_for(&state, &org, body.data.as_ref())?;
    errors.into_result()?;
    let to = to.expect("checked above");
    // Rendered here too, so a bad template or override is a 400 now rather than a failed delivery.
    state.templates.render(&name, &data).map_err(rendering_problem)?;
    let mut event = Event::new(
        org.id.clone(),
        EventKind::TestEmail,
        now_rfc3339(),
        data["data"].clone(),
    );
    event.private_sealed = Some(state.secrets.seal(&Secret::new(data["private"].to_string())));
    let context = json!({"org": data["org"], "portal_url": data["portal_url"], "category": data["category"], "recipient": data["recipient"], "data_json": data["data_json"]});
    let job = EmailJob::new(&event, to, &name, context);
    let message = OutgoingMessage {
        body: serde_json::to_string(&job).expect("jobs serialize"),
    };
    state
        .email_queue
        .send(vec![message])
        .await
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("queueing a test email")))?;
    tracing::info!(org = %org.id, template = %name, delivery_id = %job.delivery_id, "test email queued");
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"template": name, "delivery_id": job.delivery_id})),
    ))
}
