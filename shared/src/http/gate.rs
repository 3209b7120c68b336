//! The verify route for gateways other than API Gateway (rules in `service::gate`).

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};

use super::auth::KeyHolder;
use super::extract::JsonBody;
use super::problem::ApiError;
use super::AppState;
use crate::service::gate::{self, Verdict, VerifyInput};

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/keys/verify", post(verify))
}

/// Always 200 for a well-formed question: the verdict says whether the key may pass.
async fn verify(
    KeyHolder(gateway): KeyHolder,
    State(state): State<AppState>,
    JsonBody(input): JsonBody<VerifyInput>,
) -> Result<Json<Verdict>, ApiError> {
    Ok(Json(gate::verify(&state, &gateway, input).await?))
}
