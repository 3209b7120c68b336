//! The delivery log (every email and webhook, with its attempts), replaying a failed delivery, and
//! the health of webhook endpoints (enabling a disabled one).

use super::auth::OrgAdmin;
use super::{audit, AppState, OrConflict, Paged, ServiceError};
use crate::domain::roles::Permission;
use crate::domain::HttpUrl;
use crate::queue::OutgoingMessage;
use crate::store::deliveries;
pub use crate::store::deliveries::{Delivery, DeliveryStatus};
use crate::store::endpoints::{self, EndpointHealth};

/// A page of the webhook endpoints with a health record: failing since when, disabled or not.
pub async fn endpoints(
    state: &AppState,
    admin: &OrgAdmin,
    after: Option<&str>,
    limit: usize,
) -> Result<Paged<EndpointHealth>, ServiceError> {
    admin.require(Permission::ReadDeliveries)?;
    let (mut page, next) = endpoints::list(state.store.as_ref(), &admin.org, after, limit).await?;
    if !admin.role.allows(Permission::SeeWebhookUrls) {
        for endpoint in &mut page {
            endpoint.url = shortened(&endpoint.url);
        }
    }
    Ok((page, next))
}

/// A webhook URL as someone without [`Permission::SeeWebhookUrls`] sees it.
fn shortened(url: &str) -> String {
    HttpUrl::parse(url)
        .map(|u| u.without_query().as_str().to_string())
        .unwrap_or_default()
}

/// A delivery as `admin` may see it: a webhook's target without its query, wherever it appears.
fn as_seen_by(admin: &OrgAdmin, mut delivery: Delivery) -> Delivery {
    if delivery.channel != "webhook" || admin.role.allows(Permission::SeeWebhookUrls) {
        return delivery;
    }
    let shown = shortened(&delivery.target);
    let hide = |text: &mut Option<String>| {
        if let Some(t) = text.as_mut() {
            *t = t.replace(&delivery.target, &shown);
        }
    };
    hide(&mut delivery.last_error);
    delivery.log.iter_mut().for_each(|attempt| hide(&mut attempt.detail));
    delivery.target = shown;
    delivery
}

/// Sends to a disabled endpoint again (its failure clock restarts).
pub async fn enable_endpoint(
    state: &AppState,
    admin: &OrgAdmin,
    url: Option<&str>,
) -> Result<EndpointHealth, ServiceError> {
    admin.require(Permission::ManageDeliveries)?;
    let url = HttpUrl::parse_field("url", url.ok_or_else(|| ServiceError::invalid("url", "is required"))?)?;
    let Some(current) = endpoints::get(state.store.as_ref(), &admin.org, url.as_str()).await? else {
        return Err(ServiceError::NotFound("webhook endpoint"));
    };
    let health = EndpointHealth::new(url.as_str());
    let entry = audit::entry(state, admin, "webhook_endpoint.enabled", Some(url.as_str()), vec![]);
    state
        .store
        .transact(vec![endpoints::write(&admin.org, &health, current.version), entry])
        .await
        .or_conflict("url", "the endpoint changed at the same time; try again")?;
    tracing::info!(org = %admin.org, "webhook endpoint enabled");
    Ok(health)
}

/// A page of the delivery log (newest event first), of one status or all (filtered after reading,
/// so a page may hold fewer than `limit`).
pub async fn list(
    state: &AppState,
    admin: &OrgAdmin,
    status: Option<DeliveryStatus>,
    after: Option<&str>,
    limit: usize,
) -> Result<Paged<Delivery>, ServiceError> {
    admin.require(Permission::ReadDeliveries)?;
    let (page, next) = deliveries::list(state.store.as_ref(), &admin.org, after, limit).await?;
    let items = page
        .into_iter()
        .filter(|d| status.is_none_or(|s| d.status == s))
        .map(|d| as_seen_by(admin, d))
        .collect();
    Ok((items, next))
}

/// Puts a failed delivery's job back on its queue; the worker attempts it again (and still never
/// delivers twice: a delivery that succeeded meanwhile is skipped).
pub async fn retry(state: &AppState, admin: &OrgAdmin, id: &str) -> Result<Delivery, ServiceError> {
    admin.require(Permission::ManageDeliveries)?;
    let delivery = deliveries::get(state.store.as_ref(), &admin.org, id)
        .await?
        .ok_or(ServiceError::NotFound("delivery"))?;
    if delivery.status != DeliveryStatus::Failed || delivery.job.is_empty() {
        return Err(ServiceError::conflict(
            "status",
            "only a failed delivery can be replayed",
        ));
    }
    // Recorded before the job is queued: a replay the log does not show must not happen.
    let entry = audit::entry(state, admin, "delivery.replayed", Some(id), vec![]);
    state.store.transact(vec![entry]).await?;
    let jobs = if delivery.channel == "webhook" {
        &state.webhook_jobs
    } else {
        &state.email_jobs
    };
    jobs.send(vec![OutgoingMessage {
        body: delivery.job.clone(),
    }])
    .await
    .map_err(|e| ServiceError::Internal(anyhow::Error::new(e).context("queueing a replay")))?;
    tracing::info!(org = %admin.org, delivery_id = %delivery.delivery_id, "delivery replayed");
    Ok(delivery)
}
