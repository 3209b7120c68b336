//! The event router: decodes outbox events from the table's stream, reads each organisation's
//! `event_options` once per batch, puts in-app notifications in the inboxes of the people they
//! concern, and sends the batch's email and webhook jobs in batches of ten.

use async_trait::async_trait;
use aws_lambda_events::dynamodb::{Event as StreamEvent, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

use super::StreamHandler;
use crate::domain::jobs::{EmailJob, WebhookJob};
use crate::domain::notifications::{
    notification_type, resolve, Audience, Channel, NotificationType, Preferences, Resolution,
};
use crate::domain::{now_epoch, AdminUser, AdminUserId, DeveloperId, Event, EventKind, OrgId, Organisation};
use crate::queue::{JobSender, OutgoingMessage};
use crate::store::inbox::{self, InboxItem};
use crate::store::preferences;
use crate::store::sessions::Account;
use crate::store::{admin_users, every_page, orgs, table_keys, Store, StoreError};
use crate::templates::Templates;

pub struct EventRouter {
    store: Arc<dyn Store>,
    email_queue: Arc<dyn JobSender>,
    webhook_queue: Arc<dyn JobSender>,
    portal_url: String,
    templates: Arc<Templates>,
    /// How long inbox items are kept.
    retention_secs: i64,
}

/// The jobs one event makes.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    pub emails: Vec<EmailJob>,
    pub webhooks: Vec<WebhookJob>,
}

/// Whether type `t` goes in an inbox, with the organisation's switches and the person's choices.
fn in_app(t: &NotificationType, org: &Organisation, chosen: Option<&Preferences>) -> bool {
    resolve(t, Channel::InApp, &org.notification_switches, chosen) == Resolution::Send
}

/// The person an event is about, if it names one (`data.admin_id`, else `data.developer_id`).
fn concerned(event: &Event) -> Option<Person> {
    let named = |field: &str| event.data.get(field).and_then(|v| v.as_str());
    named("admin_id")
        .and_then(AdminUserId::parse)
        .map(Person::Admin)
        .or_else(|| {
            named("developer_id")
                .and_then(DeveloperId::parse)
                .map(Person::Developer)
        })
}

/// Someone with an inbox.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Person {
    Developer(DeveloperId),
    Admin(AdminUserId),
}

impl Person {
    pub fn account(&self) -> Account<'_> {
        match self {
            Person::Developer(id) => Account::Developer(id),
            Person::Admin(id) => Account::Admin(id),
        }
    }
}

impl EventRouter {
    pub fn new(
        store: Arc<dyn Store>,
        email_queue: Arc<dyn JobSender>,
        webhook_queue: Arc<dyn JobSender>,
        portal_url: String,
        templates: Arc<Templates>,
        retention_secs: i64,
    ) -> Self {
        Self {
            store,
            email_queue,
            webhook_queue,
            portal_url,
            templates,
            retention_secs,
        }
    }

    /// The inbox items an event makes: one per in-app notification type it sends and person of that
    /// type's audience, rendered from the event's public data (never its private part).
    pub fn inbox_items(
        &self,
        event: &Event,
        org: &Organisation,
        owners: &[AdminUserId],
        chosen: Option<&Preferences>,
    ) -> Vec<(Person, InboxItem)> {
        let concerned = concerned(event);
        let context = json!({
            "org": {"id": org.id, "name": org.name},
            "portal_url": org.settings.portal_url(&self.portal_url),
            "event": event.webhook_payload(),
            "data": event.data,
        });
        let mut items = Vec::new();
        for t in event
            .notice_types()
            .into_iter()
            .filter_map(notification_type)
            .filter(|t| in_app(t, org, None))
        {
            // The person the event names, when they are of the kind the type is for.
            let named = |admin: bool| concerned.clone().filter(|p| matches!(p, Person::Admin(_)) == admin);
            let to_owners = || owners.iter().cloned().map(Person::Admin);
            let people: Vec<Person> = match t.audience {
                Audience::Developer => named(false).into_iter().collect(),
                Audience::Admin => named(true).into_iter().collect(),
                Audience::Owners => to_owners().collect(),
                Audience::AdminAndOwners => named(true).into_iter().chain(to_owners()).collect(),
                Audience::EventOptions => continue,
            };
            let text = match self.templates.render_in_app(t, &context) {
                Ok(text) => text,
                Err(e) => {
                    tracing::error!(event_id = %event.id, notification = t.name, error = %e, "in-app text not rendered; item left out");
                    continue;
                }
            };
            for person in people {
                // Each person's own choices; an owner told of someone else's change has none here.
                let choices = chosen.filter(|_| concerned.as_ref() == Some(&person));
                if choices.is_some() && !in_app(t, org, choices) {
                    continue;
                }
                if items
                    .iter()
                    .any(|(p, i): &(Person, InboxItem)| p == &person && i.notification_type == t.name)
                {
                    continue;
                }
                let item = InboxItem {
                    id: event.id.clone(),
                    notification_type: t.name.to_string(),
                    category: t.category,
                    title: text.title.clone(),
                    body: text.body.clone(),
                    link: format!("{}{}", org.settings.portal_url(&self.portal_url), t.link),
                    created_at: event.occurred_at.clone(),
                    read: false,
                    archived: false,
                    expires_at: now_epoch() + self.retention_secs,
                };
                items.push((person, item));
            }
        }
        items
    }

    /// The preferences of the person the event is about, when it notifies them (read once a batch).
    async fn choices(
        &self,
        event: &Event,
        cache: &mut HashMap<(OrgId, Person), Preferences>,
    ) -> Result<Option<Preferences>, StoreError> {
        let Some(person) = concerned(event).filter(|_| !event.notice_types().is_empty()) else {
            return Ok(None);
        };
        let key = (event.org_id.clone(), person);
        if let Some(found) = cache.get(&key) {
            return Ok(Some(found.clone()));
        }
        let found = preferences::get(self.store.as_ref(), &event.org_id, key.1.account())
            .await?
            .value;
        cache.insert(key, found.clone());
        Ok(Some(found))
    }

    /// Puts the event's inbox items; one already there (a batch routed again) is left as it is.
    async fn deliver_in_app(
        &self,
        event: &Event,
        org: &Organisation,
        owners: &mut HashMap<OrgId, Vec<AdminUserId>>,
        chosen: Option<&Preferences>,
    ) -> Result<usize, StoreError> {
        let types: Vec<_> = event
            .notice_types()
            .into_iter()
            .filter_map(notification_type)
            .filter(|t| in_app(t, org, None))
            .collect();
        if types.is_empty() {
            return Ok(0);
        }
        // The owners are read (once a batch) only for an event that notifies them.
        let for_owners = types
            .iter()
            .any(|t| matches!(t.audience, Audience::Owners | Audience::AdminAndOwners));
        if for_owners && !owners.contains_key(&org.id) {
            let store = self.store.as_ref();
            let users: Vec<AdminUser> =
                every_page(|after| async move { admin_users::page(store, &org.id, after.as_deref(), 100).await })
                    .await?
                    .into_iter()
                    .map(|u| u.value)
                    .collect();
            let acting = users
                .into_iter()
                .filter(AdminUser::is_acting_owner)
                .map(|u| u.id)
                .collect();
            owners.insert(org.id.clone(), acting);
        }
        let mut put = 0;
        let org_owners = owners.get(&org.id).map(Vec::as_slice).unwrap_or_default();
        for (person, item) in self.inbox_items(event, org, org_owners, chosen) {
            let Some(write) = inbox::put_new(&org.id, person.account(), &item) else {
                continue;
            };
            match self.store.transact(vec![write]).await {
                Ok(()) => put += 1,
                Err(StoreError::ConditionFailed { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(put)
    }

    /// The deliveries an event makes in an organisation: the email to the person it concerns, and the
    /// organisation's `event_options` destinations for the event's family.
    pub fn plan(&self, event: &Event, org: &Organisation, chosen: Option<&Preferences>) -> Plan {
        let context = json!({
            "org": {"id": org.id, "name": org.name},
            "portal_url": self.portal_url,
        });
        let mut plan = Plan::default();
        let concerned = event.concerned_email();
        for personal in event.personal_emails() {
            // The person's own choices count for the email about them; owners' notices are critical.
            let person = concerned.as_ref().is_some_and(|c| c == &personal);
            let mut job = EmailJob::new(event, personal.to, personal.template, context.clone());
            if let Some(t) = notification_type(personal.template) {
                let choices = chosen.filter(|_| person);
                // Still queued when withheld, so the delivery log says why it was not sent.
                if let Resolution::Withheld(why) = resolve(t, Channel::Email, &org.notification_switches, choices) {
                    job.withheld = Some(why);
                }
            }
            plan.emails.push(job);
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
                let mut job = EmailJob::new(event, address.clone(), EventKind::ADMIN_NOTICE_TEMPLATE, notice);
                // The family's feed obeys the organisation's switch (no person's choices apply).
                if let Some(t) = notification_type(category.as_str()) {
                    if let Resolution::Withheld(why) = resolve(t, Channel::Email, &org.notification_switches, None) {
                        job.withheld = Some(why);
                    }
                }
                plan.emails.push(job);
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
        let mut owners = HashMap::new();
        let mut chosen_by: HashMap<(OrgId, Person), Preferences> = HashMap::new();
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
            let chosen = match self.choices(&decoded, &mut chosen_by).await {
                Ok(chosen) => chosen,
                Err(e) => {
                    tracing::error!(error = ?e, "reading preferences failed; the rest of the batch will be retried");
                    retry_from = Some(record);
                    break;
                }
            };
            let in_app = match self.deliver_in_app(&decoded, &org, &mut owners, chosen.as_ref()).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(error = ?e, "putting inbox items failed; the rest of the batch will be retried");
                    retry_from = Some(record);
                    break;
                }
            };
            let plan = self.plan(&decoded, &org, chosen.as_ref());
            tracing::info!(
                event_id = %decoded.id, kind = %decoded.kind, org = %decoded.org_id,
                emails = plan.emails.len(), webhooks = plan.webhooks.len(), in_app, "event routed"
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
