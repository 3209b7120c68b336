//! Admin: an organisation's developers — search by email prefix, view, edit any field, remove.
//! Approving or rejecting a pending sign-up is a status change.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::OrgAdmin;
use super::json::JsonBody;
use super::portal::PasswordLink;
use super::problem::ApiError;
use super::{load_org, page_limit, raise, AppState};
use crate::domain::fields::{check_values, merge, Completeness};
use crate::domain::{
    now_rfc3339, required, Developer, DeveloperId, DeveloperStatus, Email, EventKind, FieldError, ValidationErrors,
};
use crate::store::developers;
use crate::store::orgs::Versioned;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/orgs/{org}/developers", get(search).post(invite))
        .route("/orgs/{org}/developers/{id}", get(read).patch(edit).delete(remove))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    email: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

async fn search(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Query(query): Query<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = page_limit(query.limit, 20)?;
    let cursor = match query.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(
            URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    ApiError::from(ValidationErrors::from(FieldError::new(
                        "cursor",
                        "is not a cursor from this list",
                    )))
                })?,
        ),
    };
    let prefix = query.email.unwrap_or_default();
    let (found, next) = developers::search(
        state.store.as_ref(),
        &admin.org,
        prefix.trim(),
        cursor.as_deref(),
        limit,
    )
    .await
    .map_err(|e| match e {
        crate::store::StoreError::Invalid(_) => {
            ValidationErrors::from(FieldError::new("cursor", "is not a cursor from this list")).into()
        }
        e => ApiError::from(e),
    })?;
    Ok(Json(json!({
        "items": found.iter().map(|d| d.profile()).collect::<Vec<_>>(),
        "next_cursor": next.map(|n| URL_SAFE_NO_PAD.encode(n)),
    })))
}

/// How long an invitation's set-password link works.
const INVITATION_TTL_SECS: i64 = 7 * 24 * 3600;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteBody {
    email: Option<String>,
    fields: Option<Value>,
}

/// Creates an account (the way in for `invite_only` portals) and emails the developer a link to
/// choose their password; until then no password works.
async fn invite(
    admin: OrgAdmin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<InviteBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let org = load_org(&state, admin.org.as_str()).await?;
    let mut errors = ValidationErrors::default();
    let email =
        required(&mut errors, "email", body.email.as_deref()).and_then(|e| errors.check("email", Email::parse(e)));
    let fields = check_values(
        &org.settings.signup_fields,
        body.fields.as_ref(),
        Completeness::Whole,
        &mut errors,
    );
    let Some(email) = email else {
        return Err(errors.into());
    };
    errors.into_result()?;
    let now = now_rfc3339();
    let developer = Developer {
        id: DeveloperId::generate(),
        org_id: org.id.clone(),
        email,
        password_hash: String::new(),
        fields,
        status: DeveloperStatus::Active,
        created_at: now.clone(),
        updated_at: now,
        known_addresses: Vec::new(),
    };
    let link = PasswordLink::new(&state, &org, INVITATION_TTL_SECS);
    let (token, event) = link.issue(&state, &org, &developer, EventKind::DeveloperInvited);
    match developers::create(state.store.as_ref(), &developer, &event, vec![token]).await? {
        developers::SignUpOutcome::Created => {}
        developers::SignUpOutcome::EmailTaken => {
            return Err(ApiError::Conflict(FieldError::new(
                "email",
                "an account with this email exists",
            )));
        }
    }
    tracing::info!(org = %org.id, developer = %developer.id, "developer invited");
    Ok((StatusCode::CREATED, Json(developer.profile())))
}

async fn find(state: &AppState, admin: &OrgAdmin, id: &str) -> Result<Versioned<crate::domain::Developer>, ApiError> {
    let id = DeveloperId::parse(id).ok_or(ApiError::NotFound("developer"))?;
    developers::get(state.store.as_ref(), &admin.org, &id)
        .await?
        .ok_or(ApiError::NotFound("developer"))
}

async fn read(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(find(&state, &admin, &id).await?.value.profile()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditBody {
    email: Option<String>,
    fields: Option<Value>,
    status: Option<DeveloperStatus>,
}

async fn edit(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<EditBody>,
) -> Result<Json<Value>, ApiError> {
    let org = load_org(&state, admin.org.as_str()).await?;
    let mut errors = ValidationErrors::default();
    let email = body
        .email
        .as_deref()
        .and_then(|e| errors.check("email", Email::parse(e)));
    let changes = check_values(
        &org.settings.signup_fields,
        body.fields.as_ref(),
        Completeness::Partial,
        &mut errors,
    );
    errors.into_result()?;

    let found = find(&state, &admin, &id).await?;
    let mut developer = found.value;
    let previous_email = developer.email.clone();
    let previous_status = developer.status;
    if let Some(email) = email {
        developer.email = email;
    }
    developer.fields = merge(developer.fields, changes);
    if let Some(status) = body.status {
        developer.status = status;
    }
    developer.updated_at = now_rfc3339();

    let data = json!({"developer_id": developer.id, "email": developer.email, "fields": developer.fields, "status": developer.status, "by": "admin"});
    let mut events = vec![raise(&state, &org, EventKind::DeveloperUpdated, data.clone(), None)];
    match (previous_status, developer.status) {
        (before, DeveloperStatus::Active) if before != DeveloperStatus::Active => {
            events.push(raise(&state, &org, EventKind::DeveloperApproved, data, None));
        }
        (DeveloperStatus::Pending, DeveloperStatus::Rejected) => {
            events.push(raise(&state, &org, EventKind::DeveloperRejected, data, None));
        }
        _ => {}
    }
    developers::save(
        state.store.as_ref(),
        &developer,
        found.version,
        &previous_email,
        vec![],
        &events,
    )
    .await?;
    Ok(Json(developer.profile()))
}

async fn remove(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let org = load_org(&state, admin.org.as_str()).await?;
    let found = find(&state, &admin, &id).await?;
    let event = raise(
        &state,
        &org,
        EventKind::DeveloperDeleted,
        json!({"developer_id": found.value.id, "email": found.value.email}),
        None,
    );
    // Keys go first: a developer who is gone must hold no working key.
    super::keys::remove_all_of(&state, &org, &found.value).await?;
    developers::delete(state.store.as_ref(), &found.value, found.version, &event).await?;
    tracing::info!(org = %org.id, developer = %found.value.id, "developer removed");
    Ok(StatusCode::NO_CONTENT)
}
