//! The developer portal: sign-up.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::json::JsonBody;
use super::problem::ApiError;
use super::AppState;
use crate::domain::{now_rfc3339, Event, EventKind, FieldError, OrgId, SignUp};
use crate::store::developers::{self, SignUpOutcome};
use crate::store::orgs;

pub fn routes() -> Router<AppState> {
    Router::new().route("/portal/{org}/signup", post(sign_up))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignUpBody {
    email: Option<String>,
    password: Option<String>,
    fields: Option<Value>,
}

async fn sign_up(
    Path(org): Path<String>,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<SignUpBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let org_id = OrgId::parse(&org).map_err(|_| ApiError::NotFound("organisation"))?;
    let org = orgs::get_org(state.store.as_ref(), &org_id).await?.ok_or(ApiError::NotFound("organisation"))?.value;
    if org.settings.disable_signup {
        return Err(ApiError::Forbidden("this portal does not take sign-ups".into()));
    }
    let sign_up = SignUp::parse(body.email.as_deref(), body.password.as_deref(), body.fields.as_ref())?;
    let now = now_rfc3339();
    let developer = {
        let (org_id, now) = (org_id.clone(), now.clone());
        // argon2id takes tens of milliseconds of CPU: keep it off the async workers.
        tokio::task::spawn_blocking(move || sign_up.into_developer(org_id, now))
            .await
            .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("hashing the password")))?
    };
    let event = Event::new(
        org_id,
        EventKind::DeveloperSignedUp,
        now,
        json!({
            "developer_id": developer.id,
            "email": developer.email,
            "fields": developer.fields,
            "status": developer.status,
        }),
    );
    match developers::create_developer(state.store.as_ref(), &developer, &event).await? {
        SignUpOutcome::Created => {}
        SignUpOutcome::EmailTaken => {
            return Err(ApiError::Conflict(FieldError::new("email", "an account with this email exists")));
        }
    }
    tracing::info!(org = %developer.org_id, developer = %developer.id, event_id = %event.id, "developer signed up");
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": developer.id,
            "email": developer.email,
            "fields": developer.fields,
            "status": developer.status,
            "created_at": developer.created_at,
        })),
    ))
}
