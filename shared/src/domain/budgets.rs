//! Budgets (AI Studio's budget control): a monthly amount of money, in minor units of one
//! currency, that a developer's or a key's reported spend is measured against, with thresholds
//! (percentages) at which people are told, once each per month.

use serde::{Deserialize, Serialize};

use super::{BudgetId, DeveloperId, KeyId, OrgId, ValidationErrors};

/// Whose spend a budget bounds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    Key(KeyId),
    Developer(DeveloperId),
}

impl Subject {
    /// The subject's id, which also names its spend records.
    pub fn id(&self) -> &str {
        match self {
            Subject::Key(k) => k.as_str(),
            Subject::Developer(d) => d.as_str(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    pub id: BudgetId,
    pub org_id: OrgId,
    /// Exactly one of `key_id` and `developer_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<KeyId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub developer_id: Option<DeveloperId>,
    /// The monthly amount, in minor units (cents).
    pub amount: u64,
    /// ISO 4217, upper case (`EUR`).
    pub currency: String,
    pub trigger_limits: Vec<u8>,
    pub created_at: String,
    pub updated_at: String,
}

impl Budget {
    pub fn subject(&self) -> Subject {
        match (&self.key_id, &self.developer_id) {
            (Some(key), _) => Subject::Key(key.clone()),
            (None, Some(developer)) => Subject::Developer(developer.clone()),
            (None, None) => unreachable!("a budget is built with a subject"),
        }
    }
}

/// A currency code: three upper-case letters.
pub fn check_currency(currency: &str, errors: &mut ValidationErrors) -> String {
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
        errors.push("currency", "must be an ISO 4217 code, three upper-case letters (EUR)");
    }
    currency.to_string()
}

/// An amount in minor units as people read it, with the currency's ISO 4217 minor unit:
/// `4000 EUR` → `40.00 EUR`, `4000 JPY` → `4000 JPY`, `4000 KWD` → `4.000 KWD`.
pub fn money_text(minor: u64, currency: &str) -> String {
    const NO_MINOR: [&str; 16] = [
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF",
    ];
    const THREE: [&str; 7] = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
    let digits = if NO_MINOR.contains(&currency) {
        0
    } else if THREE.contains(&currency) {
        3
    } else {
        2
    };
    if digits == 0 {
        return format!("{minor} {currency}");
    }
    let unit = 10u64.pow(digits);
    format!(
        "{}.{:0width$} {currency}",
        minor / unit,
        minor % unit,
        width = digits as usize
    )
}

/// The month (`2026-12`) of an epoch second, UTC, and the epoch second the next one starts.
pub fn month_of(epoch: i64) -> (String, i64) {
    let date = time::OffsetDateTime::from_unix_timestamp(epoch)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .date();
    let (year, month) = (date.year(), u8::from(date.month()));
    let (next_year, next_month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    let next = time::Date::from_calendar_date(next_year, time::Month::try_from(next_month).expect("1 to 12"), 1)
        .expect("the first of a month exists")
        .midnight()
        .assume_utc()
        .unix_timestamp();
    (format!("{year:04}-{month:02}"), next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_utc_calendar_months() {
        assert_eq!(month_of(0), ("1970-01".into(), 2_678_400));
        let (month, next) = month_of(1_796_285_035);
        assert_eq!(month, "2026-12");
        assert_eq!(next, 1_798_761_600, "1 January 2027");
    }

    #[test]
    fn money_reads_in_the_currency_s_minor_unit() {
        assert_eq!(money_text(4000, "EUR"), "40.00 EUR");
        assert_eq!(money_text(5, "USD"), "0.05 USD");
        assert_eq!(money_text(4000, "JPY"), "4000 JPY");
        assert_eq!(money_text(4000, "KWD"), "4.000 KWD");
    }

    #[test]
    fn currencies_are_iso_codes() {
        let mut errors = ValidationErrors::default();
        check_currency("EUR", &mut errors);
        assert!(errors.0.is_empty());
        for bad in ["eur", "EURO", "E1R", ""] {
            let mut errors = ValidationErrors::default();
            check_currency(bad, &mut errors);
            assert_eq!(errors.0.len(), 1, "{bad}");
        }
    }
}
