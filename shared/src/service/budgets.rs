//! Budgets and spend: admins set a monthly budget for a key or a developer (the generic resource use
//! cases of `service::catalog`), a billing system reports spend (`POST /orgs/{org}/usage`,
//! idempotent by the report's id), and crossing a budget's thresholds tells the developer, the
//! admins who read usage and `event_options.quota_event`, once each per month.

use serde::{Deserialize, Serialize};

use super::auth::OrgAdmin;
use super::catalog::AdminResource;
use super::{audit, AppState, ServiceError};
use crate::domain::api_keys::ApiKey;
use crate::domain::budgets::{check_currency, money_text, month_of, Budget, Subject};
use crate::domain::catalog::{check_trigger_limits, default_trigger_limits};
use crate::domain::event_data::{BudgetThreshold, EventData};
use crate::domain::gate::thresholds_crossed;
use crate::domain::roles::Permission;
use crate::domain::{epoch_rfc3339, now_epoch, now_rfc3339, BudgetId, DeveloperId, KeyId, OrgId, ValidationErrors};
use crate::store::outbox::event_write;
use crate::store::spend::{self, MonthSpend};
use crate::store::{developers, resources, StoreError};

/// The largest budget or report, in minor units (JSON's exact integers).
const MAX_AMOUNT: u64 = 9_007_199_254_740_991;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetInput {
    key_id: Option<String>,
    developer_id: Option<String>,
    amount: i64,
    currency: String,
    trigger_limits: Option<Vec<i64>>,
}

/// The subject named by `key_id` or `developer_id` (exactly one), checked to exist in `org`.
async fn subject_of(
    state: &AppState,
    org: &OrgId,
    key_id: Option<&str>,
    developer_id: Option<&str>,
) -> Result<Subject, ServiceError> {
    let store = state.store.as_ref();
    match (key_id, developer_id) {
        (Some(key), None) => {
            let found = match KeyId::parse(key) {
                Some(id) => resources::get::<ApiKey>(store, org, id.as_str()).await?.map(|_| id),
                None => None,
            };
            found
                .map(Subject::Key)
                .ok_or_else(|| ServiceError::invalid("key_id", "is not a key of this organisation"))
        }
        (None, Some(developer)) => {
            let found = match DeveloperId::parse(developer) {
                Some(id) => developers::get(store, org, &id).await?.map(|_| id),
                None => None,
            };
            found
                .map(Subject::Developer)
                .ok_or_else(|| ServiceError::invalid("developer_id", "is not a developer of this organisation"))
        }
        _ => Err(ServiceError::invalid(
            "key_id",
            "name exactly one of key_id and developer_id",
        )),
    }
}

fn check_amount(field: &str, amount: i64, errors: &mut ValidationErrors) -> u64 {
    match u64::try_from(amount) {
        Ok(a @ 1..=MAX_AMOUNT) => a,
        _ => {
            errors.push(field, "must be a whole number of minor units (cents), at least 1");
            0
        }
    }
}

impl AdminResource for Budget {
    const NAME: &'static str = "budget";
    const READ: Permission = Permission::ReadUsage;
    const MANAGE: Permission = Permission::ManageBudgets;
    type Input = BudgetInput;

    fn new_id() -> String {
        BudgetId::generate().to_string()
    }

    async fn build(
        state: &AppState,
        org: &OrgId,
        id: String,
        input: BudgetInput,
        created_at: String,
    ) -> Result<Self, ServiceError> {
        let mut errors = ValidationErrors::default();
        let amount = check_amount("amount", input.amount, &mut errors);
        let currency = check_currency(&input.currency, &mut errors);
        let trigger_limits = match &input.trigger_limits {
            None => default_trigger_limits(),
            Some(given) => check_trigger_limits(given, &mut errors),
        };
        errors.into_result()?;
        let subject = subject_of(state, org, input.key_id.as_deref(), input.developer_id.as_deref()).await?;
        let id = BudgetId::parse(&id).ok_or(ServiceError::NotFound("budget"))?;
        let others = resources::all::<Budget>(state.store.as_ref(), org).await?;
        if others.iter().any(|b| b.id != id && b.subject() == subject) {
            let field = match subject {
                Subject::Key(_) => "key_id",
                Subject::Developer(_) => "developer_id",
            };
            return Err(ServiceError::conflict(field, "already has a budget; change that one"));
        }
        let (key_id, developer_id) = match subject {
            Subject::Key(k) => (Some(k), None),
            Subject::Developer(d) => (None, Some(d)),
        };
        Ok(Budget {
            id,
            org_id: org.clone(),
            key_id,
            developer_id,
            amount,
            currency,
            trigger_limits,
            created_at,
            updated_at: now_rfc3339(),
        })
    }
}

/// A budget with where its month stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetStatus {
    #[serde(flatten)]
    pub budget: Budget,
    pub month: String,
    pub spent: u64,
    pub remaining: u64,
    pub resets_at: String,
}

async fn status_of(state: &AppState, budget: Budget) -> Result<BudgetStatus, ServiceError> {
    let (month, next) = month_of(now_epoch());
    let spent = spend::read(state.store.as_ref(), &budget.org_id, budget.subject().id(), &month)
        .await?
        .value
        .spent;
    Ok(BudgetStatus {
        remaining: budget.amount.saturating_sub(spent),
        budget,
        month,
        spent,
        resets_at: epoch_rfc3339(next),
    })
}

/// A budget with this month's spend against it.
pub async fn status(state: &AppState, admin: &OrgAdmin, id: &str) -> Result<BudgetStatus, ServiceError> {
    let budget = super::catalog::get::<Budget>(state, admin, id).await?;
    status_of(state, budget).await
}

/// The organisation's budgets with this month's spend, a page at a time.
pub async fn list(
    state: &AppState,
    admin: &OrgAdmin,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<BudgetStatus>, Option<String>), ServiceError> {
    let (budgets, next) = super::catalog::list::<Budget>(state, admin, after, limit).await?;
    let mut shown = Vec::with_capacity(budgets.len());
    for budget in budgets {
        shown.push(status_of(state, budget).await?);
    }
    Ok((shown, next))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpendReport {
    /// The reporter's id of this report: sent again, it counts once.
    pub id: Option<String>,
    pub key_id: Option<String>,
    pub developer_id: Option<String>,
    /// Minor units (cents); required (optional here so a caller without the permission is told 403
    /// before anything about the body).
    pub amount: Option<i64>,
    /// The currency of `amount`; the budget's when absent.
    pub currency: Option<String>,
}

/// One subject's month after a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubjectSpend {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<KeyId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub developer_id: Option<DeveloperId>,
    pub month: String,
    pub spent: u64,
    pub currency: String,
    pub budget_id: Option<BudgetId>,
    pub budget: Option<u64>,
    pub remaining: Option<u64>,
}

/// What a report came to: counted now, or counted before (`duplicate`, nothing changed).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reported {
    pub id: String,
    pub duplicate: bool,
    pub spend: Vec<SubjectSpend>,
}

const REPORT_ATTEMPTS: usize = 8;

/// A billing system reports spend of a key (which counts for its developer too) or a developer,
/// this month. The report's marker, each subject's month and the threshold events it crosses are
/// one transaction, so a report sent twice counts once and each threshold is told once.
pub async fn report(state: &AppState, admin: &OrgAdmin, input: SpendReport) -> Result<Reported, ServiceError> {
    admin.require(Permission::ManageBudgets)?;
    let mut errors = ValidationErrors::default();
    let id = match input.id.as_deref() {
        Some(id) if !id.is_empty() && id.len() <= 200 && !id.chars().any(char::is_control) => id.to_string(),
        _ => {
            errors.push(
                "id",
                "is required: your id of this report (1 to 200 characters), so a resend counts once",
            );
            String::new()
        }
    };
    let amount = match input.amount {
        Some(amount) => check_amount("amount", amount, &mut errors),
        None => {
            errors.push("amount", "is required: minor units (cents), at least 1");
            0
        }
    };
    let currency = input.currency.as_deref().map(|c| check_currency(c, &mut errors));
    errors.into_result()?;
    let store = state.store.as_ref();
    let org = &admin.org;
    // The key's spend counts for its developer too.
    let mut subjects = vec![subject_of(state, org, input.key_id.as_deref(), input.developer_id.as_deref()).await?];
    let mut developer_of_key = None;
    if let Subject::Key(key) = &subjects[0] {
        let key = resources::get::<ApiKey>(store, org, key.as_str())
            .await?
            .ok_or(ServiceError::NotFound("key"))?;
        developer_of_key = Some(key.value.developer_id.clone());
        subjects.push(Subject::Developer(key.value.developer_id));
    }
    let budgets = resources::all::<Budget>(store, org).await?;
    let budget_of = |s: &Subject| budgets.iter().find(|b| &b.subject() == s);
    let currency = match (currency, subjects.iter().find_map(budget_of)) {
        (Some(given), Some(b)) if given != b.currency => {
            return Err(ServiceError::invalid(
                "currency",
                &format!("must be the budget's, {}", b.currency),
            ));
        }
        (Some(given), _) => given,
        (None, Some(b)) => b.currency.clone(),
        (None, None) => {
            return Err(ServiceError::invalid(
                "currency",
                "is required where no budget names one",
            ));
        }
    };
    if let Some(other) = subjects.iter().filter_map(budget_of).find(|b| b.currency != currency) {
        return Err(ServiceError::invalid(
            "currency",
            &format!(
                "the developer's and the key's budgets differ in currency ({})",
                other.currency
            ),
        ));
    }
    let holder = match (&subjects[0], &developer_of_key) {
        (Subject::Developer(d), _) | (_, Some(d)) => d.clone(),
        _ => unreachable!("a key's developer is read above"),
    };
    let email = developers::get(store, org, &holder)
        .await?
        .map(|d| d.value.email)
        .ok_or(ServiceError::NotFound("developer"))?;
    let now = now_epoch();
    let (month, next) = month_of(now);
    for _ in 0..REPORT_ATTEMPTS {
        let mut writes = vec![spend::counted_once(org, &id, now)];
        let mut shown = Vec::new();
        for subject in &subjects {
            let read = spend::read(store, org, subject.id(), &month).await?;
            let before = read.value.spent;
            let after = MonthSpend {
                spent: before.saturating_add(amount),
                currency: currency.clone(),
            };
            writes.push(spend::write(org, subject.id(), &month, next, &after, read.version));
            let budget = budget_of(subject);
            if let Some(budget) = budget {
                for trigger_limit in thresholds_crossed(budget.amount, before, after.spent, &budget.trigger_limits) {
                    let data = BudgetThreshold {
                        message: format!(
                            "Budget trigger reached: {trigger_limit}% of {}",
                            money_text(budget.amount, &currency)
                        ),
                        org: org.clone(),
                        trigger_limit,
                        budget_id: budget.id.clone(),
                        key_id: budget.key_id.clone(),
                        developer_id: holder.clone(),
                        email: email.clone(),
                        amount: budget.amount,
                        spent: after.spent,
                        currency: currency.clone(),
                        amount_text: money_text(budget.amount, &currency),
                        spent_text: money_text(after.spent, &currency),
                        month: month.clone(),
                        resets_at: epoch_rfc3339(next),
                    };
                    writes.push(event_write(&state.raise(org, EventData::BudgetThresholdReached(data))));
                }
            }
            let (key_id, developer_id) = match subject {
                Subject::Key(k) => (Some(k.clone()), None),
                Subject::Developer(d) => (None, Some(d.clone())),
            };
            shown.push(SubjectSpend {
                key_id,
                developer_id,
                month: month.clone(),
                spent: after.spent,
                currency: currency.clone(),
                budget_id: budget.map(|b| b.id.clone()),
                budget: budget.map(|b| b.amount),
                remaining: budget.map(|b| b.amount.saturating_sub(after.spent)),
            });
        }
        writes.push(audit::entry(
            state,
            admin,
            "usage.reported",
            Some(subjects[0].id()),
            vec![],
        ));
        match store.transact(writes).await {
            Ok(()) => {
                return Ok(Reported {
                    id,
                    duplicate: false,
                    spend: shown,
                })
            }
            Err(StoreError::ConditionFailed { index: Some(0) }) => {
                return Ok(Reported {
                    id,
                    duplicate: true,
                    spend: vec![],
                })
            }
            // Another report of the same subject landed first: read its month again.
            Err(StoreError::ConditionFailed { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ServiceError::conflict(
        "id",
        "the subject's spend is being reported elsewhere; send it again",
    ))
}
