//! An admin user's own account: accepting an invitation here; login, logout, the profile and
//! password reset are the routes every account kind has (`credentials::routes`).

use axum::routing::post;
use axum::Router;

use super::auth::OrgAdmin;
use super::credentials;
use super::AppState;
use crate::domain::AdminUser;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/orgs/{org}/admins/accept",
            post(credentials::accept_invitation::<AdminUser>),
        )
        .merge(credentials::routes::<OrgAdmin>("/orgs/{org}"))
}
