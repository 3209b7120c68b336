//! Organisations: created by the operator (`POST /orgs`), read and changed by their admins.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{new_admin_key, Operator, OrgAdmin};
use super::json::JsonBody;
use super::problem::ApiError;
use super::AppState;
use crate::domain::{
    now_rfc3339, parse_event_options, parse_org_name, parse_settings, FieldError, OrgId, OrgPatch, Organisation,
    ValidationErrors,
};
use crate::store::orgs::{self, AdminKey};
use crate::store::StoreError;
use crate::webhook::SigningSecret;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/orgs", post(create))
        .route("/orgs/{org}", get(read).patch(update))
        .route("/orgs/{org}/webhook-secret/rotate", post(rotate_secret))
}

/// The organisation as admins see it (its secrets never).
fn view(org: &Organisation) -> Value {
    json!({
        "id": org.id,
        "name": org.name,
        "settings": org.settings,
        "event_options": org.event_options,
        "created_at": org.created_at,
        "updated_at": org.updated_at,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    id: Option<String>,
    name: Option<String>,
    settings: Option<Value>,
    event_options: Option<Value>,
}

async fn create(
    _: Operator,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut errors = ValidationErrors::default();
    let id = match body.id.as_deref() {
        Some(id) => errors.check("id", OrgId::parse(id)),
        None => Some(OrgId::generate()),
    };
    let name = match body.name.as_deref() {
        Some(n) => errors.check("name", parse_org_name(n)),
        None => {
            errors.push("name", "is required");
            None
        }
    };
    let settings = body
        .settings
        .as_ref()
        .map_or(Some(Default::default()), |v| parse_settings(v, &mut errors));
    let event_options = body
        .event_options
        .as_ref()
        .map_or(Some(Default::default()), |v| parse_event_options(v, &mut errors));
    let (Some(id), Some(name), Some(settings), Some(event_options)) = (id, name, settings, event_options) else {
        return Err(errors.into());
    };

    // Checked before the transaction, so a taken id costs a read rather than a cancelled transaction.
    if orgs::get_org(state.store.as_ref(), &id).await?.is_some() {
        return Err(ApiError::Conflict(FieldError::new(
            "id",
            "an organisation with this id exists",
        )));
    }
    let signing = SigningSecret::generate();
    let now = now_rfc3339();
    let org = Organisation {
        id: id.clone(),
        name,
        settings,
        event_options,
        webhook_secret_sealed: state.secrets.seal(signing.text()),
        previous_webhook_secret_sealed: None,
        previous_webhook_secret_until: None,
        created_at: now.clone(),
        updated_at: now.clone(),
    };
    let (key, key_hash, prefix) = new_admin_key(&id);
    let admin_key = AdminKey {
        org_id: id.clone(),
        prefix: prefix.clone(),
        name: "first admin key".into(),
        created_at: now,
    };
    match orgs::create_org(state.store.as_ref(), &org, &key_hash, &admin_key).await {
        Ok(()) => {}
        Err(StoreError::ConditionFailed { .. }) => {
            return Err(ApiError::Conflict(FieldError::new(
                "id",
                "an organisation with this id exists",
            )));
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(org = %org.id, "organisation created");
    let mut body = view(&org);
    // Shown once: only hashes and sealed copies are kept.
    body["admin_key"] = json!(key.expose());
    body["admin_key_prefix"] = json!(prefix);
    body["webhook_secret"] = json!(signing.text().expose());
    Ok((StatusCode::CREATED, Json(body)))
}

async fn read(admin: OrgAdmin, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let org = orgs::get_org(state.store.as_ref(), &admin.org)
        .await?
        .ok_or(ApiError::NotFound("organisation"))?;
    Ok(Json(view(&org.value)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    name: Option<String>,
    settings: Option<Value>,
    event_options: Option<Value>,
}

async fn update(
    admin: OrgAdmin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<PatchBody>,
) -> Result<Json<Value>, ApiError> {
    let mut errors = ValidationErrors::default();
    let patch = OrgPatch {
        name: body
            .name
            .as_deref()
            .and_then(|n| errors.check("name", parse_org_name(n))),
        settings: body.settings.as_ref().and_then(|v| parse_settings(v, &mut errors)),
        event_options: body
            .event_options
            .as_ref()
            .and_then(|v| parse_event_options(v, &mut errors)),
    };
    errors.into_result()?;
    let org = change_org(&state, &admin.org, |org| org.apply(patch.clone(), now_rfc3339())).await?;
    Ok(Json(view(&org)))
}

/// Applies `change` to the organisation as stored and saves it; re-reads and re-applies if another
/// update landed in between (optimistic concurrency, three tries).
async fn change_org(
    state: &AppState,
    id: &OrgId,
    change: impl Fn(&mut Organisation),
) -> Result<Organisation, ApiError> {
    for _ in 0..3 {
        let current = orgs::get_org(state.store.as_ref(), id)
            .await?
            .ok_or(ApiError::NotFound("organisation"))?;
        let mut org = current.value;
        change(&mut org);
        match orgs::update_org(state.store.as_ref(), &org, current.version, &[]).await {
            Ok(()) => return Ok(org),
            Err(StoreError::ConditionFailed { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict(FieldError::new(
        "organisation",
        "changed by someone else at the same time; try again",
    )))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    grace_period_secs: Option<i64>,
}

/// How long the previous secret keeps signing by default, and at most.
const DEFAULT_GRACE_SECS: i64 = 24 * 3600;
const MAX_GRACE_SECS: i64 = 7 * 24 * 3600;

/// A new signing secret, shown once; the previous one keeps signing alongside it (two `v1,`
/// signatures in `webhook-signature`) for the grace period, so receivers switch without a gap.
async fn rotate_secret(
    admin: OrgAdmin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RotateBody>,
) -> Result<Json<Value>, ApiError> {
    let grace = body.grace_period_secs.unwrap_or(DEFAULT_GRACE_SECS);
    if !(0..=MAX_GRACE_SECS).contains(&grace) {
        return Err(
            ValidationErrors::from(FieldError::new("grace_period_secs", "must be from 0 to 604800 seconds")).into(),
        );
    }
    let signing = SigningSecret::generate();
    let sealed = state.secrets.seal(signing.text());
    let until = crate::domain::now_epoch() + grace;
    let org = change_org(&state, &admin.org, |org| {
        org.previous_webhook_secret_sealed = (grace > 0).then(|| org.webhook_secret_sealed.clone());
        org.previous_webhook_secret_until = (grace > 0).then_some(until);
        org.webhook_secret_sealed = sealed.clone();
        org.updated_at = now_rfc3339();
    })
    .await?;
    tracing::info!(org = %org.id, grace_period_secs = grace, "webhook signing secret rotated");
    let previous_until = (grace > 0)
        .then(|| {
            time::OffsetDateTime::from_unix_timestamp(until)
                .ok()?
                .format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .flatten();
    Ok(Json(
        json!({"webhook_secret": signing.text().expose(), "previous_secret_valid_until": previous_until}),
    ))
}
