//! The event router: decodes outbox events from the table's stream, reads each organisation's
//! `event_options` once per batch, and sends the batch's email and webhook jobs in batches of ten.

use async_trait::async_trait;
use aws_lambda_events::dynamodb::{Event as StreamEvent, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

use super::StreamHandler;
use crate::domain::jobs::{EmailJob, WebhookJob};
use crate::domain::{Event, EventKind, OrgId, Organisation};
use crate::queue::{JobSender, OutgoingMessage};
use crate::store::{orgs, table_keys, Store};

pub struct EventRouter {
    store: Arc<dyn Store>,
    email_queue: Arc<dyn JobSender>,
    webhook_queue: Arc<dyn JobSender>,
    portal_url: String,
}

/// The jobs one event makes.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    pub emails: Vec<EmailJob>,
    pub webhooks: Vec<WebhookJob>,
}

impl EventRouter {
    pub fn new(
        store: Arc<dyn Store>,
        email_queue: Arc<dyn JobSender>,
        webhook_queue: Arc<dyn JobSender>,
        portal_url: String,
    ) -> Self {
        Self {
            store,
            email_queue,
            webhook_queue,
            portal_url,
        }
    }

    /// The deliveries an event makes in an organisation: the email to the person it concerns, and the
    /// organisation's `event_options` destinations for the event's family.
    pub fn plan(&self, event: &Event, org: &Organisation) -> Plan {
        let context = json!({
            "org": {"id": org.id, "name": org.name},
            "portal_url": self.portal_url,
        });
        let mut plan = Plan::default();
        for personal in event.personal_emails() {
            plan.emails
                .push(EmailJob::new(event, personal.to, personal.template, context.clone()));
        }
        // Key requests of `webhook`-approval entries go to the organisation's hand-off endpoint,
        // whose owner approves or declines them through the admin API.
        let hand_off = event.kind == EventKind::KeyRequestCreated
            && event.data.get("approval").and_then(|a| a.as_str()) == Some("webhook");
        if let (true, Some(url)) = (hand_off, &org.settings.key_request_webhook) {
            plan.webhooks.push(WebhookJob::new(event, url.clone()));
        }
        let category = event.kind.category();
        if let Some(target) = category.target(&org.event_options) {
            if let Some(url) = &target.webhook {
                plan.webhooks.push(WebhookJob::new(event, url.clone()));
            }
            if let Some(address) = &target.email {
                let mut notice = context;
                notice["category"] = json!(category.as_str());
                notice["recipient"] = json!(address);
                notice["data_json"] = json!(serde_json::to_string_pretty(&event.data).unwrap_or_default());
                plan.emails.push(EmailJob::new(
                    event,
                    address.clone(),
                    EventKind::ADMIN_NOTICE_TEMPLATE,
                    notice,
                ));
            }
        }
        plan
    }

    async fn org(
        &self,
        cache: &mut HashMap<OrgId, Option<Organisation>>,
        id: &OrgId,
    ) -> Result<Option<Organisation>, crate::store::StoreError> {
        if let Some(found) = cache.get(id) {
            return Ok(found.clone());
        }
        let found = orgs::get_org(self.store.as_ref(), id).await?.map(|v| v.value);
        cache.insert(id.clone(), found.clone());
        Ok(found)
    }
}

/// The outbox event a stream record carries, if it is one (an insert with the sort key `EVENT`).
fn outbox_event(record: &EventRecord) -> Option<Result<Event, serde_dynamo::Error>> {
    if record.event_name != "INSERT" {
        return None;
    }
    let sk: Option<String> = record.change.keys.get("SK").and_then(|v| match v {
        serde_dynamo::AttributeValue::S(s) => Some(s.clone()),
        _ => None,
    });
    if sk.as_deref() != Some(table_keys::EVENT_SK) {
        return None;
    }
    Some(serde_dynamo::from_item(record.change.new_image.clone()))
}

fn failure(record: &EventRecord) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    let mut item = DynamoDbBatchItemFailure::default();
    item.item_identifier = record.change.sequence_number.clone();
    response.batch_item_failures.push(item);
    response
}

#[async_trait]
impl StreamHandler for EventRouter {
    #[tracing::instrument(name = "route_events", skip_all, fields(records = event.records.len()))]
    async fn handle(&self, event: StreamEvent) -> DynamoDbEventResponse {
        let mut orgs_seen = HashMap::new();
        let mut emails = Vec::new();
        let mut webhooks = Vec::new();
        let Some(first) = event.records.first() else {
            return DynamoDbEventResponse::default();
        };
        // Where to resume when a record cannot be routed now; the records before it are still sent.
        let mut retry_from = None;
        for record in &event.records {
            let decoded = match outbox_event(record) {
                None => continue,
                Some(Ok(e)) => e,
                Some(Err(e)) => {
                    // A record that cannot decode never will: log it and let the stream move on.
                    tracing::error!(event_id = %record.event_id, error = %e, "undecodable outbox event skipped");
                    continue;
                }
            };
            let org = match self.org(&mut orgs_seen, &decoded.org_id).await {
                Ok(Some(org)) => org,
                Ok(None) => {
                    tracing::warn!(event_id = %decoded.id, org = %decoded.org_id, "event of a missing organisation skipped");
                    continue;
                }
                Err(e) => {
                    tracing::error!(error = ?e, "reading the organisation failed; the rest of the batch will be retried");
                    retry_from = Some(record);
                    break;
                }
            };
            let plan = self.plan(&decoded, &org);
            tracing::info!(
                event_id = %decoded.id, kind = %decoded.kind, org = %decoded.org_id,
                emails = plan.emails.len(), webhooks = plan.webhooks.len(), "event routed"
            );
            emails.extend(plan.emails);
            webhooks.extend(plan.webhooks);
        }
        let encode = |body: String| OutgoingMessage { body };
        let email_messages = emails
            .iter()
            .map(|j| encode(serde_json::to_string(j).expect("jobs serialize")))
            .collect();
        let webhook_messages = webhooks
            .iter()
            .map(|j| encode(serde_json::to_string(j).expect("jobs serialize")))
            .collect();
        let sent = async {
            self.email_queue.send(email_messages).await?;
            self.webhook_queue.send(webhook_messages).await
        };
        match sent.await {
            Ok(()) => retry_from.map(failure).unwrap_or_default(),
            Err(e) => {
                // Jobs carry stable delivery ids, so re-routing the whole batch delivers nothing twice.
                tracing::error!(error = ?e, "sending jobs failed; the batch will be retried");
                failure(first)
            }
        }
    }
}
