//! The event router: decodes outbox events from the table's stream and, once per batch, reads each
//! organisation (its `event_options` and switches), its admin users when an event notifies owners
//! or permission holders, and the preferences and language of each person a notice reaches; puts
//! in-app notifications in their inboxes, decides each email by the one resolution order
//! (`domain::notifications::resolve`), and sends the batch's email and webhook jobs in batches of
//! ten.

use async_trait::async_trait;
use aws_lambda_events::dynamodb::{Event as StreamEvent, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

use super::StreamHandler;
use crate::domain::jobs::{EmailJob, WebhookJob};
use crate::domain::notifications::{
    notification_type, resolve, Audience, Cadence, Channel, NotificationType, Preferences, Resolution, Suppressed,
};
use crate::domain::{
    now_epoch, AdminStatus, AdminUser, AdminUserId, DeveloperId, Email, Event, EventKind, LinkBase, Locale, OrgId,
    Organisation,
};
use crate::queue::{JobSender, OutgoingMessage};
use crate::store::inbox::{self, InboxItem};
use crate::store::preferences;
use crate::store::sessions::Account;
use crate::store::{admin_users, developers, every_page, orgs, table_keys, Store, StoreError};
use crate::templates::Templates;

pub struct EventRouter {
    store: Arc<dyn Store>,
    email_queue: Arc<dyn JobSender>,
    webhook_queue: Arc<dyn JobSender>,
    portal_url: LinkBase,
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

/// The notification types an event sends to people.
fn notice_types(event: &Event) -> Vec<&'static NotificationType> {
    event.notice_types().into_iter().filter_map(notification_type).collect()
}

/// Whether an event's types reach admin users it does not name (owners, permission holders), so
/// the organisation's admin users must be read.
fn needs_staff(types: &[&NotificationType]) -> bool {
    types.iter().any(|t| {
        matches!(
            t.audience,
            Audience::Owners | Audience::AdminAndOwners | Audience::Holders(_)
        )
    })
}

/// The people type `t` of `event` reaches, from the organisation's active admin users `staff`.
fn audience(t: &NotificationType, event: &Event, staff: &[AdminUser]) -> Vec<Person> {
    let concerned = concerned(event);
    // The person the event names, when they are of the kind the type is for.
    let named = |admin: bool| concerned.clone().filter(|p| matches!(p, Person::Admin(_)) == admin);
    let owners = || {
        staff
            .iter()
            .filter(|u| u.is_acting_owner())
            .map(|u| Person::Admin(u.id.clone()))
    };
    let mut people: Vec<Person> = match t.audience {
        Audience::Developer => named(false).into_iter().collect(),
        Audience::Admin => named(true).into_iter().collect(),
        Audience::Owners => owners().collect(),
        Audience::AdminAndOwners => named(true).into_iter().chain(owners()).collect(),
        Audience::Holders(permission) => staff
            .iter()
            .filter(|u| u.acts_with(permission))
            .map(|u| Person::Admin(u.id.clone()))
            .collect(),
        Audience::EventOptions => Vec::new(),
    };
    let mut seen = std::collections::HashSet::new();
    people.retain(|p| seen.insert(p.clone()));
    people
}

/// What the router knows of one event's organisation and people while it routes the event.
pub struct Reach<'a> {
    pub org: &'a Organisation,
    /// The organisation's admin users (read only when the event notifies some it does not name).
    pub staff: &'a [AdminUser],
    /// The preferences of each person a non-critical type reaches.
    pub chosen: &'a HashMap<Person, Preferences>,
    /// The locale of the person the event names, if they chose one.
    pub concerned_locale: Option<&'a Locale>,
}

impl Reach<'_> {
    /// The languages to write to `person` in, best first (their locale, the organisation's, English).
    fn languages_of(&self, person: Option<&Person>, event: &Event) -> Vec<String> {
        let locale = person.and_then(|p| match p {
            _ if concerned(event).as_ref() == Some(p) => self.concerned_locale,
            Person::Admin(id) => self.staff.iter().find(|u| &u.id == id).and_then(|u| u.locale.as_ref()),
            Person::Developer(_) => None,
        });
        Locale::fallbacks(locale, self.org.settings.default_locale.as_ref())
    }

    /// The person with this email, if it is one: the person the event names, or an admin user.
    fn person_at(&self, to: &Email, event: &Event) -> Option<Person> {
        if event.concerned_email().is_some_and(|c| &c.to == to) {
            concerned(event)
        } else {
            self.staff
                .iter()
                .find(|u| &u.email == to)
                .map(|u| Person::Admin(u.id.clone()))
        }
    }

    fn resolve(&self, t: &NotificationType, channel: Channel, person: Option<&Person>) -> Resolution {
        let chosen = person.and_then(|p| self.chosen.get(p));
        resolve(t, channel, &self.org.notification_switches, chosen)
    }
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
        portal_url: LinkBase,
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
    pub fn inbox_items(&self, event: &Event, reach: &Reach<'_>) -> Vec<(Person, InboxItem)> {
        let org = reach.org;
        let links = org.link_base(&self.portal_url);
        let context = json!({
            "org": {"id": org.id, "name": org.name},
            "portal_url": links,
            "event": event.webhook_payload(),
            "data": event.data,
        });
        let mut items = Vec::new();
        for t in notice_types(event).into_iter().filter(|t| t.in_app) {
            let people: Vec<Person> = audience(t, event, reach.staff)
                .into_iter()
                .filter(|p| reach.resolve(t, Channel::InApp, Some(p)) == Resolution::Send)
                .filter(|p| {
                    !items
                        .iter()
                        .any(|(q, i): &(Person, InboxItem)| q == p && i.notification_type == t.name)
                })
                .collect();
            // Rendered once per language among the people.
            let mut texts: HashMap<Vec<String>, crate::templates::InAppText> = HashMap::new();
            for person in people {
                let languages = reach.languages_of(Some(&person), event);
                let text = match texts.get(&languages) {
                    Some(text) => text.clone(),
                    None => match self.templates.render_in_app(t, &languages, &context) {
                        Ok(text) => {
                            texts.insert(languages, text.clone());
                            text
                        }
                        Err(e) => {
                            tracing::error!(event_id = %event.id, notification = t.name, error = %e, "in-app text not rendered; item left out");
                            continue;
                        }
                    },
                };
                let item = InboxItem {
                    id: event.id.clone(),
                    notification_type: t.name.to_string(),
                    category: t.category,
                    title: text.title,
                    body: text.body,
                    link: links.link(t.link, &[]),
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

    /// The organisation's active admin users, read once a batch and only for an event that notifies
    /// some it does not name.
    async fn staff<'c>(
        &self,
        types: &[&NotificationType],
        org: &OrgId,
        cache: &'c mut HashMap<OrgId, Vec<AdminUser>>,
    ) -> Result<&'c [AdminUser], StoreError> {
        if !needs_staff(types) {
            return Ok(&[]);
        }
        if !cache.contains_key(org) {
            let store = self.store.as_ref();
            let users: Vec<AdminUser> =
                every_page(|after| async move { admin_users::page(store, org, after.as_deref(), 100).await })
                    .await?
                    .into_iter()
                    .map(|u| u.value)
                    .filter(|u| u.status == AdminStatus::Active)
                    .collect();
            cache.insert(org.clone(), users);
        }
        Ok(cache.get(org).map(Vec::as_slice).unwrap_or_default())
    }

    /// The preferences of each person a non-critical type of the event reaches (critical types go
    /// whatever anyone chose), each read once a batch.
    async fn choices(
        &self,
        event: &Event,
        types: &[&NotificationType],
        staff: &[AdminUser],
        cache: &mut HashMap<(OrgId, Person), Preferences>,
    ) -> Result<HashMap<Person, Preferences>, StoreError> {
        let mut people: Vec<Person> = Vec::new();
        for t in types.iter().filter(|t| !t.critical) {
            for person in audience(t, event, staff) {
                if !people.contains(&person) {
                    people.push(person);
                }
            }
        }
        // The ones not read yet in this batch, read at once.
        let unread: Vec<&Person> = people
            .iter()
            .filter(|p| !cache.contains_key(&(event.org_id.clone(), (*p).clone())))
            .collect();
        let store = self.store.as_ref();
        let read = futures::future::try_join_all(
            unread
                .iter()
                .map(|p| async move { preferences::get(store, &event.org_id, p.account()).await }),
        )
        .await?;
        for (person, found) in unread.into_iter().zip(read) {
            cache.insert((event.org_id.clone(), person.clone()), found.value);
        }
        Ok(people
            .into_iter()
            .filter_map(|p| {
                let found = cache.get(&(event.org_id.clone(), p.clone()))?.clone();
                Some((p, found))
            })
            .collect())
    }

    /// The locale of the person the event names, when it notifies them (their account read once a
    /// batch; an admin user's from the staff already read).
    async fn concerned_locale(
        &self,
        event: &Event,
        types: &[&NotificationType],
        staff: &[AdminUser],
        cache: &mut HashMap<(OrgId, Person), Option<Locale>>,
    ) -> Result<Option<Locale>, StoreError> {
        let reaches_them = types.iter().any(|t| {
            matches!(
                t.audience,
                Audience::Developer | Audience::Admin | Audience::AdminAndOwners
            )
        });
        let Some(person) = concerned(event).filter(|_| reaches_them) else {
            return Ok(None);
        };
        if let Person::Admin(id) = &person {
            if let Some(user) = staff.iter().find(|u| &u.id == id) {
                return Ok(user.locale.clone());
            }
        }
        let key = (event.org_id.clone(), person);
        if let Some(found) = cache.get(&key) {
            return Ok(found.clone());
        }
        let store = self.store.as_ref();
        let found = match &key.1 {
            Person::Developer(id) => developers::get(store, &event.org_id, id)
                .await?
                .and_then(|d| d.value.locale),
            Person::Admin(id) => admin_users::get(store, &event.org_id, id)
                .await?
                .and_then(|u| u.value.locale),
        };
        cache.insert(key, found.clone());
        Ok(found)
    }

    /// Puts the event's inbox items; one already there (a batch routed again) is left as it is.
    async fn deliver_in_app(&self, event: &Event, reach: &Reach<'_>) -> Result<usize, StoreError> {
        // One conditional put per item, all at once: a condition failing (an item already there)
        // must not cancel the others, so they are not one transaction.
        let puts = self
            .inbox_items(event, reach)
            .into_iter()
            .filter_map(|(person, item)| inbox::put_new(&reach.org.id, person.account(), &item))
            .map(|write| self.store.transact(vec![write]));
        let mut put = 0;
        for outcome in futures::future::join_all(puts).await {
            match outcome {
                Ok(()) => put += 1,
                Err(StoreError::ConditionFailed { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(put)
    }

    /// The deliveries an event makes in an organisation: the emails to the people it concerns (the
    /// person it names, the owners it lists, the admin users who decide what it asks), and the
    /// organisation's `event_options` destinations for the event's family.
    pub fn plan(&self, event: &Event, reach: &Reach<'_>) -> Plan {
        let org = reach.org;
        let context = json!({
            "org": {"id": org.id, "name": org.name},
            "portal_url": org.link_base(&self.portal_url),
        });
        let mut plan = Plan::default();
        let concerned_email = event.concerned_email();
        let concerned = concerned(event);
        for personal in event.personal_emails() {
            // The person's own choices count for the email about them; owners' notices are critical.
            let person = concerned_email
                .as_ref()
                .is_some_and(|c| c == &personal)
                .then_some(concerned.as_ref())
                .flatten();
            let reader = reach.person_at(&personal.to, event);
            let mut job = EmailJob::new(event, personal.to, personal.template, context.clone());
            job.languages = reach.languages_of(reader.as_ref(), event);
            job.person = reader.as_ref().map(|p| p.account().id().to_string());
            job.default_locale = org.settings.default_locale.clone();
            if let Some(t) = notification_type(personal.template) {
                // Still queued when withheld, so the delivery log says why it was not sent.
                if let Resolution::Withheld(why) = reach.resolve(t, Channel::Email, person) {
                    job.withheld = Some(why);
                }
            }
            plan.emails.push(job);
        }
        // The admin users who decide what the event asks, each by their own choices: at once, or
        // left for their digest.
        if let Some(t) = event.deciders_template().and_then(notification_type) {
            let deciders = audience(t, event, reach.staff);
            for user in reach.staff {
                let person = Person::Admin(user.id.clone());
                if !deciders.contains(&person) {
                    continue;
                }
                let mut job = EmailJob::new(event, user.email.clone(), t.template, context.clone());
                job.languages = reach.languages_of(Some(&person), event);
                job.person = Some(user.id.to_string());
                job.default_locale = org.settings.default_locale.clone();
                job.withheld = match reach.resolve(t, Channel::Email, Some(&person)) {
                    Resolution::Withheld(why) => Some(why),
                    Resolution::NotAChannel => continue,
                    Resolution::Send => reach
                        .chosen
                        .get(&person)
                        .filter(|p| p.cadence(t) != Cadence::Immediate)
                        .map(|_| Suppressed::Digest),
                };
                plan.emails.push(job);
            }
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
                job.languages = reach.languages_of(None, event);
                // The family's feed obeys the organisation's switch (no person's choices apply).
                if let Some(t) = notification_type(category.as_str()) {
                    if let Resolution::Withheld(why) = reach.resolve(t, Channel::Email, None) {
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

/// What one batch reads once and reuses: organisations, their active admin users, people's
/// notification choices and the languages of the people events name.
#[derive(Default)]
struct BatchCache {
    orgs: HashMap<OrgId, Option<Organisation>>,
    staff: HashMap<OrgId, Vec<AdminUser>>,
    chosen: HashMap<(OrgId, Person), Preferences>,
    locales: HashMap<(OrgId, Person), Option<Locale>>,
}

/// A record that cannot be routed now: which step failed, and why. The batch resumes at it.
struct NotNow {
    step: &'static str,
    cause: StoreError,
}

fn not_now(step: &'static str) -> impl FnOnce(StoreError) -> NotNow {
    move |cause| NotNow { step, cause }
}

impl EventRouter {
    /// Routes one event: its inbox items are put, its email and webhook jobs returned (none for a
    /// record that is no event, cannot decode, or belongs to no organisation).
    async fn route_one(&self, record: &EventRecord, cache: &mut BatchCache) -> Result<Plan, NotNow> {
        let decoded = match outbox_event(record) {
            None => return Ok(Plan::default()),
            Some(Ok(e)) => e,
            Some(Err(e)) => {
                // A record that cannot decode never will: log it and let the stream move on.
                tracing::error!(event_id = %record.event_id, error = %e, "undecodable outbox event skipped");
                return Ok(Plan::default());
            }
        };
        let org = self
            .org(&mut cache.orgs, &decoded.org_id)
            .await
            .map_err(not_now("reading the organisation"))?;
        let Some(org) = org else {
            tracing::warn!(event_id = %decoded.id, org = %decoded.org_id, "event of a missing organisation skipped");
            return Ok(Plan::default());
        };
        let types = notice_types(&decoded);
        let staff = self
            .staff(&types, &org.id, &mut cache.staff)
            .await
            .map_err(not_now("reading admin users"))?;
        // The people's choices and the named person's language, read together.
        let (chosen, concerned_locale) = futures::future::try_join(
            self.choices(&decoded, &types, staff, &mut cache.chosen),
            self.concerned_locale(&decoded, &types, staff, &mut cache.locales),
        )
        .await
        .map_err(not_now("reading preferences or an account"))?;
        let reach = Reach {
            org: &org,
            staff,
            chosen: &chosen,
            concerned_locale: concerned_locale.as_ref(),
        };
        let in_app = self
            .deliver_in_app(&decoded, &reach)
            .await
            .map_err(not_now("putting inbox items"))?;
        let plan = self.plan(&decoded, &reach);
        tracing::debug!(
            event_id = %decoded.id, kind = %decoded.kind, org = %decoded.org_id,
            emails = plan.emails.len(), webhooks = plan.webhooks.len(), in_app, "event routed"
        );
        Ok(plan)
    }
}

/// How long the batch's oldest event waited in the stream (a stream source that does not stamp
/// its records, as the local ones may not, records nothing).
fn record_batch_age(event: &StreamEvent) {
    let oldest = event
        .records
        .iter()
        .map(|r| r.change.approximate_creation_date_time.timestamp_millis())
        .min()
        .unwrap_or_default();
    let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    // Before 2001: not stamped.
    if oldest > 978_307_200_000 {
        let age = u64::try_from(now - i128::from(oldest)).unwrap_or_default();
        crate::telemetry::stream_batch_age(std::time::Duration::from_millis(age));
    }
}

#[async_trait]
impl StreamHandler for EventRouter {
    #[tracing::instrument(name = "route_events", skip_all, fields(records = event.records.len()))]
    async fn handle(&self, event: StreamEvent) -> DynamoDbEventResponse {
        let mut cache = BatchCache::default();
        let mut emails = Vec::new();
        let mut webhooks = Vec::new();
        let Some(first) = event.records.first() else {
            return DynamoDbEventResponse::default();
        };
        record_batch_age(&event);
        // Where to resume when a record cannot be routed now; the records before it are still sent.
        let mut retry_from = None;
        for record in &event.records {
            match self.route_one(record, &mut cache).await {
                Ok(plan) => {
                    emails.extend(plan.emails);
                    webhooks.extend(plan.webhooks);
                }
                Err(NotNow { step, cause }) => {
                    tracing::error!(error = ?cause, "{step} failed; the rest of the batch will be retried");
                    retry_from = Some(record);
                    break;
                }
            }
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
        let (email_jobs, webhook_jobs) = (emails.len(), webhooks.len());
        match sent.await {
            Ok(()) => {
                // One line per batch; each event's routing is logged at debug.
                tracing::info!(
                    email_jobs,
                    webhook_jobs,
                    retried = retry_from.is_some(),
                    "events routed"
                );
                retry_from.map(failure).unwrap_or_default()
            }
            Err(e) => {
                // Jobs carry stable delivery ids, so re-routing the whole batch delivers nothing twice.
                tracing::error!(error = ?e, "sending jobs failed; the batch will be retried");
                failure(first)
            }
        }
    }
}
