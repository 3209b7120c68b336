//! The email worker: renders each job's template and sends one MIME message through the configured
//! mailer, once per delivery id however often SQS hands the job over.

use async_trait::async_trait;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::join_all;
use std::sync::Arc;
use tracing::Instrument;

use super::batch::{
    deliver_once, finish_batch, handed_over_before, job_span, Attempt, BatchOutcomes, DeliveryWorker, Retry,
};
use super::feedback;
use super::QueueHandler;
use crate::crypto::SecretBox;
use crate::domain::event_data::{EmailReputation, EventData};
use crate::domain::jobs::EmailJob;
use crate::domain::limits::Limits;
use crate::domain::notifications::{notification_type, Suppressed};
use crate::domain::{now_rfc3339, AdminUserId, DeveloperId, Email, Event, EventKind, LinkBase, Locale, OrgId};
use crate::mail::{EmailMessage, MailError, Mailer, Outgoing, UnsubscribeToken};
use crate::service::limits;
use crate::store::deliveries::{DeliveryTarget, WithheldReason};
use crate::store::Store;
use crate::store::{admin_users, developers, mail_stats, notices, suppression};
use crate::templates::Templates;

/// The emails that may go to a developer whose address is not confirmed: those carrying its
/// confirmation link.
const CONFIRMATION_TEMPLATES: [&str; 3] = ["developer_welcome", "signup_received", "email_confirmation"];

/// A job's recipient as the worker found them.
struct Addressed {
    /// Whether the email may show the event's private part.
    shows_private: bool,
    /// A developer whose address is not confirmed.
    unconfirmed: bool,
}

pub struct EmailWorker {
    store: Arc<dyn Store>,
    secrets: SecretBox,
    /// `None` when emails are switched off: each is recorded as skipped and counted.
    mailer: Option<Arc<dyn Mailer>>,
    templates: Arc<Templates>,
    from: Email,
    from_name: Option<String>,
    /// The API's public address, for unsubscribe URLs.
    api_base: LinkBase,
    /// The queue jobs come from, to postpone a job whose delivery another attempt holds.
    queue: Option<Arc<dyn crate::queue::JobScheduler>>,
    /// The per-recipient limits on emails a caller without a session can trigger.
    limits: Limits,
    /// The queue's `maxReceiveCount`: a failure on that receive is dead-lettered.
    max_receives: u32,
    /// Emails an organisation sends in a day before its bounce and complaint rates are told.
    reputation_min_sent: i64,
}

impl EmailWorker {
    pub fn new(
        store: Arc<dyn Store>,
        secrets: SecretBox,
        mailer: Option<Arc<dyn Mailer>>,
        templates: Arc<Templates>,
        from: Email,
        from_name: Option<String>,
        api_base: LinkBase,
    ) -> Self {
        Self {
            store,
            secrets,
            mailer,
            templates,
            from,
            from_name,
            api_base,
            queue: None,
            limits: Limits::default(),
            max_receives: 5,
            reputation_min_sent: 100,
        }
    }

    /// Emails an organisation sends in a day before its rates count (`EMAIL_REPUTATION_MIN_SENT`).
    pub fn reputation_after(mut self, sent: u64) -> Self {
        self.reputation_min_sent = i64::try_from(sent).unwrap_or(i64::MAX);
        self
    }

    /// The queue's `maxReceiveCount` (`QUEUE_MAX_RECEIVE_COUNT`), for counting dead letters.
    pub fn dead_lettered_after(mut self, receives: u32) -> Self {
        self.max_receives = receives;
        self
    }

    /// The deployment's limits instead of the defaults.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Jobs whose delivery another attempt holds come back when its lock expires, not sooner.
    pub fn postponing_on(mut self, queue: Arc<dyn crate::queue::JobScheduler>) -> Self {
        self.queue = Some(queue);
        self
    }

    /// Why this email must not go out, if it must not: a suppressed address (bounced or complained),
    /// or an opt-out of this category of non-essential email.
    async fn withheld(&self, job: &EmailJob) -> Result<Option<(WithheldReason, String)>, crate::store::StoreError> {
        if let Some(entry) = suppression::suppressed(self.store.as_ref(), &job.to).await? {
            crate::telemetry::count("EmailsSkipped", "suppressed");
            return Ok(Some((
                WithheldReason::SuppressedAddress,
                format!(
                    "the address is suppressed after a {} ({}, {})",
                    entry.reason, entry.detail, entry.at
                ),
            )));
        }
        // A person's unsubscribe is a preference, applied by the router; a feed's is an opt-out.
        if let Some((category, None)) = unsubscribe_category(job) {
            if suppression::opted_out(self.store.as_ref(), &job.event.org_id, &job.to, &category).await? {
                crate::telemetry::count("EmailsSkipped", "unsubscribed");
                return Ok(Some((
                    WithheldReason::Unsubscribed,
                    format!("the recipient unsubscribed from {category}"),
                )));
            }
        }
        Ok(None)
    }

    /// Counts the email against its recipient's limit, if its kind has one: `Some` when the limit is
    /// reached and the email must be withheld.
    async fn over_limit(&self, job: &EmailJob) -> Result<Option<(WithheldReason, String)>, crate::store::StoreError> {
        let limit = limits::withhold_email(
            self.store.as_ref(),
            &self.limits,
            &job.event.org_id,
            &job.template,
            &job.to,
            &job.delivery_id,
        )
        .await?;
        Ok(limit.map(|limit| {
            crate::telemetry::count("EmailsSkipped", "rate_limited");
            let rate = self.limits.get(limit).map(|r| r.to_string()).unwrap_or_default();
            (
                WithheldReason::RateLimited,
                format!("the recipient reached the limit {} ({rate})", limit.name()),
            )
        }))
    }

    /// Records SES feedback: the addresses of permanent bounces and complaints are suppressed, and
    /// counted against the organisation that sent to them.
    async fn take_feedback(&self, found: Vec<feedback::Suppress>) -> Result<(), Retry> {
        for s in &found {
            suppression::suppress(self.store.as_ref(), &s.email, s.reason, &s.detail).await?;
            tracing::info!(reason = s.reason, detail = %s.detail, "address suppressed");
            if let Some(org) = s.org.as_deref().and_then(|o| OrgId::parse(o).ok()) {
                self.count_feedback(&org, s.reason).await?;
            }
        }
        Ok(())
    }

    /// Counts a bounce or complaint of `org` today, and tells its managers of deliveries when
    /// today's rate reaches where SES reviews an account (once a day per signal).
    async fn count_feedback(&self, org: &OrgId, reason: &str) -> Result<(), Retry> {
        let store = self.store.as_ref();
        let (count, threshold_percent) = match reason {
            "bounce" => ("bounced", BOUNCE_NOTICE_PERCENT),
            _ => ("complained", COMPLAINT_NOTICE_PERCENT),
        };
        mail_stats::add(store, org, count, 1).await?;
        let today = mail_stats::today_of(store, org).await?;
        let found = if reason == "bounce" {
            today.bounced
        } else {
            today.complained
        };
        if today.sent < self.reputation_min_sent.max(1) {
            return Ok(());
        }
        let rate_percent = found as f64 * 100.0 / today.sent as f64;
        if rate_percent < threshold_percent {
            return Ok(());
        }
        let data = EventData::EmailReputation(EmailReputation {
            signal: reason.to_string(),
            sent: today.sent,
            count: found,
            rate_percent: (rate_percent * 100.0).round() / 100.0,
            threshold_percent,
        });
        let event = Event::new(org.clone(), data.kind(), now_rfc3339(), data.public());
        if notices::raise_once_a_day(store, &format!("email_reputation:{reason}"), &event).await? {
            tracing::warn!(org = %org, signal = reason, rate_percent, "email reputation notice raised");
        }
        Ok(())
    }

    /// The job addressed to its person as they are now: a developer or admin user who changed their
    /// address or language since the event gets it at the new address, in the new language. An
    /// account that is gone keeps the address the event was routed to. Whether the email may show
    /// the event's private part was decided for the address it was routed to, and stays so.
    async fn addressed_now(&self, mut job: EmailJob) -> Result<(EmailJob, Addressed), crate::store::StoreError> {
        let shows_private = job.event.shows_private_to(&job.to, &job.template);
        let org = &job.event.org_id;
        let store = self.store.as_ref();
        let mut unconfirmed = false;
        let now = match job.person.as_deref() {
            Some(id) => match (DeveloperId::parse(id), AdminUserId::parse(id)) {
                (Some(id), _) => developers::get(store, org, &id).await?.map(|d| {
                    unconfirmed = !d.value.email_confirmed;
                    (d.value.email, d.value.locale)
                }),
                (_, Some(id)) => admin_users::get(store, org, &id)
                    .await?
                    .map(|a| (a.value.email, a.value.locale)),
                _ => None,
            },
            None => None,
        };
        if let Some((email, locale)) = now {
            if email.normalized() != job.to.normalized() {
                tracing::info!(delivery_id = %job.delivery_id, "email follows its person to their current address");
            }
            job.to = email;
            job.languages = Locale::fallbacks(locale.as_ref(), job.default_locale.as_ref());
        }
        Ok((
            job,
            Addressed {
                shows_private,
                unconfirmed,
            },
        ))
    }

    fn compose(&self, job: &EmailJob, shows_private: bool) -> Result<Outgoing, String> {
        let mut data = job.context.clone();
        data["event"] = job.event.webhook_payload();
        data["data"] = job.event.data.clone();
        if let (Some(sealed), true) = (&job.event.private_sealed, shows_private) {
            let opened = self.secrets.open(sealed).map_err(|e| e.to_string())?;
            data["private"] = serde_json::from_str(opened.expose()).map_err(|e| e.to_string())?;
        }
        let mut headers = vec![
            (feedback::ORG_HEADER.into(), job.event.org_id.to_string()),
            ("X-Gatehouse-Event".into(), job.event.id.to_string()),
            ("X-Gatehouse-Event-Type".into(), job.event.kind.name().into()),
        ];
        if let Some((category, person)) = unsubscribe_category(job) {
            let token = UnsubscribeToken {
                org: job.event.org_id.clone(),
                email: job.to.clone(),
                category,
                person,
            };
            // The portal's page for the link in the text; the router put the organisation's
            // portal address in the context.
            let portal = data["portal_url"].as_str().and_then(|p| LinkBase::parse(p).ok());
            let (one_click, page) = token.links(&self.secrets, &self.api_base, portal.as_ref());
            headers.extend(one_click);
            data["unsubscribe_url"] = page.into();
        }
        let rendered = self
            .templates
            .render_value(&job.template, &job.languages, data)
            .map_err(|e| e.to_string())?;
        let message = EmailMessage {
            from: self.from.clone(),
            from_name: self.from_name.clone(),
            to: job.to.clone(),
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            headers,
        };
        Outgoing::new(message).map_err(|e| e.to_string())
    }

    async fn deliver(&self, batch: &BatchOutcomes, message: &SqsMessage) -> Result<(), Retry> {
        let body = message.body.as_deref().unwrap_or_default();
        // SES feedback (through SNS or EventBridge) arrives on the worker's queues too.
        if let Some(found) = feedback::parse(body) {
            return self.take_feedback(found).await;
        }
        let job: EmailJob = serde_json::from_str(body).map_err(|e| Retry::Undecodable(e.to_string()))?;
        let (job, addressed) = self.addressed_now(job).await?;
        let target = DeliveryTarget {
            org: &job.event.org_id,
            delivery_id: &job.delivery_id,
            event_id: job.event.id.as_str(),
            occurred_at: &job.event.occurred_at,
            channel: "email",
            target: job.to.as_str(),
            job: body,
            handed_over_before: handed_over_before(message),
        };
        let outcome = deliver_once(self.store.as_ref(), batch, &target, None, || async {
            if let Some(why) = job.withheld {
                let (reason, metric, text) = match why {
                    Suppressed::OrgSwitch => (
                        WithheldReason::OrgSwitch,
                        "org_switch",
                        "the organisation switched this notification type off for email",
                    ),
                    Suppressed::Preference => (
                        WithheldReason::Preference,
                        "preference",
                        "the recipient turned this notification off",
                    ),
                    Suppressed::Digest => (
                        WithheldReason::Digest,
                        "digest",
                        "the recipient takes this notification in a digest",
                    ),
                };
                crate::telemetry::count("EmailsSkipped", metric);
                return Attempt::Skipped(reason, text.into());
            }
            if addressed.unconfirmed && !CONFIRMATION_TEMPLATES.contains(&job.template.as_str()) {
                crate::telemetry::count("EmailsSkipped", "unconfirmed");
                return Attempt::Skipped(
                    WithheldReason::Unconfirmed,
                    "the developer has not confirmed this address; only its confirmation goes to it".into(),
                );
            }
            match self.withheld(&job).await {
                Ok(Some((reason, why))) => return Attempt::Skipped(reason, why),
                Ok(None) => {}
                Err(e) => {
                    return Attempt::FailedForNow {
                        problem: format!("reading the suppression list: {e}"),
                        retry_after: None,
                    }
                }
            }
            let Some(mailer) = &self.mailer else {
                crate::telemetry::count("EmailsSkipped", "disabled");
                return Attempt::Skipped(
                    WithheldReason::EmailsDisabled,
                    "email notifications are switched off (EMAIL_BACKEND)".into(),
                );
            };
            // Counted last, so only an email that would otherwise go out uses up the recipient's limit.
            match self.over_limit(&job).await {
                Ok(Some((reason, why))) => return Attempt::Skipped(reason, why),
                Ok(None) => {}
                Err(e) => {
                    return Attempt::FailedForNow {
                        problem: format!("counting the recipient's emails: {e}"),
                        retry_after: None,
                    }
                }
            }
            let mail = match self.compose(&job, addressed.shows_private) {
                Ok(mail) => mail,
                // A template or header problem will not fix itself.
                Err(problem) => return Attempt::FailedForGood(problem),
            };
            match mailer.send(&mail).await {
                Ok(message_id) => {
                    tracing::debug!(delivery_id = %job.delivery_id, template = %job.template, %message_id, "email sent");
                    Attempt::Delivered
                }
                Err(MailError::Rejected(reason)) => Attempt::FailedForGood(format!("rejected: {reason}")),
                Err(e @ MailError::Unavailable(_)) => Attempt::FailedForNow {
                    problem: error_chain(&e),
                    retry_after: None,
                },
            }
        })
        .await;
        outcome
    }
}

/// What a non-essential email can be unsubscribed from: a person's notification type (with the
/// person, whose preference it turns off), or an `event_options` feed (opted out by address).
/// Essential ones (critical, account and security notices) have none.
pub fn unsubscribe_category(job: &EmailJob) -> Option<(String, Option<String>)> {
    if job.template == EventKind::ADMIN_NOTICE_TEMPLATE {
        let family = job.context.get("category")?.as_str()?;
        return Some((format!("event_notice.{family}"), None));
    }
    let t = notification_type(&job.template)?;
    let person = job.person.clone()?;
    t.unsubscribable().then(|| (t.name.to_string(), Some(person)))
}

/// An error with its causes, one line, for the delivery log.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Today's bounce and complaint rates at which an organisation is told: where SES reviews an
/// account (and may pause its sending for every organisation on it).
const BOUNCE_NOTICE_PERCENT: f64 = 5.0;
const COMPLAINT_NOTICE_PERCENT: f64 = 0.1;

impl DeliveryWorker for EmailWorker {
    const CHANNEL: &'static str = "email";
    type Job = EmailJob;
    fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }
    fn max_receives(&self) -> u32 {
        self.max_receives
    }
    fn scheduler(&self) -> Option<&dyn crate::queue::JobScheduler> {
        self.queue.as_deref()
    }
}

#[async_trait]
impl QueueHandler for EmailWorker {
    async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let batch = BatchOutcomes::new();
        let results = join_all(
            event
                .records
                .iter()
                .map(|m| self.deliver(&batch, m).instrument(job_span("email", m))),
        )
        .await;
        let sent = batch.sent_by_org();
        let response = finish_batch(self, batch, &event.records, results).await;
        for (org, count) in sent {
            if let Err(e) = mail_stats::add(self.store.as_ref(), &org, "sent", count).await {
                tracing::warn!(org = %org, error = %e, "could not count the organisation's sent emails");
            }
        }
        response
    }
}
