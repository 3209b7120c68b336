//! Abuse limits: how many times one subject (a source address, a recipient address, an email tried
//! at login) may do one thing in a window, and what the deployment configured for each. The rule that
//! applies them is `service::limits`; the counters are `store::rate_counters`.

use std::fmt;
use std::net::IpAddr;

/// At most `max` in `window_secs`, the window starting at the first one counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub max: u32,
    pub window_secs: i64,
}

impl RateLimit {
    pub const fn new(max: u32, window_secs: i64) -> Self {
        Self { max, window_secs }
    }

    /// `10/1h`, `3/30m`, `1/1d`, `20/900s`; `off` for no limit.
    pub fn parse(text: &str) -> Result<Option<Self>, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let expected = || format!("`{text}` is not <count>/<window> like 10/1h (units s, m, h, d) or off");
        let (max, window) = text.split_once('/').ok_or_else(expected)?;
        let max: u32 = max.trim().parse().map_err(|_| expected())?;
        let window = window.trim();
        let split = window.len().checked_sub(1).ok_or_else(expected)?;
        let (amount, unit) = window.split_at(split);
        let amount: i64 = if amount.is_empty() { Ok(1) } else { amount.parse() }.map_err(|_| expected())?;
        let unit_secs = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3_600,
            "d" => 86_400,
            _ => return Err(expected()),
        };
        let window_secs = amount.checked_mul(unit_secs).ok_or_else(expected)?;
        if max == 0 || !(1..=31 * 86_400).contains(&window_secs) {
            return Err(format!(
                "`{text}`: the count must be at least 1 and the window from 1s to 31d"
            ));
        }
        Ok(Some(Self { max, window_secs }))
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self.window_secs;
        match w {
            w if w % 86_400 == 0 => write!(f, "{}/{}d", self.max, w / 86_400),
            w if w % 3_600 == 0 => write!(f, "{}/{}h", self.max, w / 3_600),
            w if w % 60 == 0 => write!(f, "{}/{}m", self.max, w / 60),
            w => write!(f, "{}/{}s", self.max, w),
        }
    }
}

/// Every limit of the deployment. `name` keys its counters; `env` configures it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// Sign-ups per source address (an organisation may lower it).
    SignUpsPerSource,
    /// Password-reset requests per source address.
    ResetRequestsPerSource,
    /// Password links used (reset completions and invitation acceptances) per source address.
    PasswordLinksPerSource,
    /// One-click unsubscribe posts per source address.
    UnsubscribesPerSource,
    /// Generate Key link redemptions per source address.
    KeyLinksPerSource,
    /// Reads that need no session (the published catalog, the unsubscribe page) per source address.
    PublicReadsPerSource,
    /// Failed logins per email (known or not) before logins for it wait.
    LoginFailuresPerEmail,
    /// Failed logins per source address before its logins wait.
    LoginFailuresPerSource,
    /// Password-reset emails per recipient.
    ResetEmailsPerRecipient,
    /// "Someone tried to sign up with your email" notices per recipient.
    SignUpNoticesPerRecipient,
    /// Welcome and sign-up confirmation emails per recipient.
    WelcomeEmailsPerRecipient,
    /// Test emails (`POST /orgs/{org}/email-templates/{name}/test`) per organisation.
    TestEmailsPerOrg,
    /// Keys issued to one developer (auto-approved, approved, subscribed or generated): each is
    /// emailed, and key emails are critical (no unsubscribe).
    KeysIssuedPerDeveloper,
}

impl Limit {
    pub const ALL: [Limit; 13] = [
        Limit::SignUpsPerSource,
        Limit::ResetRequestsPerSource,
        Limit::PasswordLinksPerSource,
        Limit::UnsubscribesPerSource,
        Limit::KeyLinksPerSource,
        Limit::PublicReadsPerSource,
        Limit::LoginFailuresPerEmail,
        Limit::LoginFailuresPerSource,
        Limit::ResetEmailsPerRecipient,
        Limit::SignUpNoticesPerRecipient,
        Limit::WelcomeEmailsPerRecipient,
        Limit::TestEmailsPerOrg,
        Limit::KeysIssuedPerDeveloper,
    ];

    /// The counter name, part of each counter's key and of the metric.
    pub fn name(self) -> &'static str {
        match self {
            Limit::SignUpsPerSource => "signups_per_source",
            Limit::ResetRequestsPerSource => "reset_requests_per_source",
            Limit::PasswordLinksPerSource => "password_links_per_source",
            Limit::UnsubscribesPerSource => "unsubscribes_per_source",
            Limit::KeyLinksPerSource => "key_links_per_source",
            Limit::PublicReadsPerSource => "public_reads_per_source",
            Limit::LoginFailuresPerEmail => "login_failures_per_email",
            Limit::LoginFailuresPerSource => "login_failures_per_source",
            Limit::ResetEmailsPerRecipient => "reset_emails_per_recipient",
            Limit::SignUpNoticesPerRecipient => "signup_notices_per_recipient",
            Limit::WelcomeEmailsPerRecipient => "welcome_emails_per_recipient",
            Limit::TestEmailsPerOrg => "test_emails_per_org",
            Limit::KeysIssuedPerDeveloper => "keys_issued_per_developer",
        }
    }

    /// The environment variable that sets it: `RATE_LIMIT_` and the name in capitals.
    pub fn env(self) -> &'static str {
        match self {
            Limit::SignUpsPerSource => "RATE_LIMIT_SIGNUPS_PER_SOURCE",
            Limit::ResetRequestsPerSource => "RATE_LIMIT_RESET_REQUESTS_PER_SOURCE",
            Limit::PasswordLinksPerSource => "RATE_LIMIT_PASSWORD_LINKS_PER_SOURCE",
            Limit::UnsubscribesPerSource => "RATE_LIMIT_UNSUBSCRIBES_PER_SOURCE",
            Limit::KeyLinksPerSource => "RATE_LIMIT_KEY_LINKS_PER_SOURCE",
            Limit::PublicReadsPerSource => "RATE_LIMIT_PUBLIC_READS_PER_SOURCE",
            Limit::LoginFailuresPerEmail => "RATE_LIMIT_LOGIN_FAILURES_PER_EMAIL",
            Limit::LoginFailuresPerSource => "RATE_LIMIT_LOGIN_FAILURES_PER_SOURCE",
            Limit::ResetEmailsPerRecipient => "RATE_LIMIT_RESET_EMAILS_PER_RECIPIENT",
            Limit::SignUpNoticesPerRecipient => "RATE_LIMIT_SIGNUP_NOTICES_PER_RECIPIENT",
            Limit::WelcomeEmailsPerRecipient => "RATE_LIMIT_WELCOME_EMAILS_PER_RECIPIENT",
            Limit::TestEmailsPerOrg => "RATE_LIMIT_TEST_EMAILS_PER_ORG",
            Limit::KeysIssuedPerDeveloper => "RATE_LIMIT_KEYS_ISSUED_PER_DEVELOPER",
        }
    }

    /// The largest count the limit may be set to. A per-recipient counter remembers each email it
    /// counted (so a retried delivery counts once), which must fit in one record.
    pub fn max_count(self) -> u32 {
        match self {
            Limit::ResetEmailsPerRecipient | Limit::SignUpNoticesPerRecipient | Limit::WelcomeEmailsPerRecipient => 100,
            _ => 1_000_000,
        }
    }

    pub fn default_limit(self) -> RateLimit {
        const MINUTE: i64 = 60;
        const HOUR: i64 = 3_600;
        const DAY: i64 = 86_400;
        match self {
            Limit::SignUpsPerSource => RateLimit::new(10, HOUR),
            Limit::ResetRequestsPerSource => RateLimit::new(20, HOUR),
            Limit::PasswordLinksPerSource => RateLimit::new(20, HOUR),
            // Mail providers post one-click unsubscribes from their own servers, for many people.
            Limit::UnsubscribesPerSource => RateLimit::new(60, MINUTE),
            Limit::KeyLinksPerSource => RateLimit::new(20, HOUR),
            Limit::PublicReadsPerSource => RateLimit::new(300, MINUTE),
            Limit::LoginFailuresPerEmail => RateLimit::new(5, 15 * MINUTE),
            Limit::LoginFailuresPerSource => RateLimit::new(20, 15 * MINUTE),
            Limit::ResetEmailsPerRecipient => RateLimit::new(3, HOUR),
            Limit::SignUpNoticesPerRecipient => RateLimit::new(1, DAY),
            Limit::WelcomeEmailsPerRecipient => RateLimit::new(3, DAY),
            Limit::TestEmailsPerOrg => RateLimit::new(10, HOUR),
            Limit::KeysIssuedPerDeveloper => RateLimit::new(10, HOUR),
        }
    }
}

/// The limits in force: each limit's setting, `None` where switched off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits(Vec<(Limit, Option<RateLimit>)>);

impl Default for Limits {
    fn default() -> Self {
        Self(Limit::ALL.iter().map(|l| (*l, Some(l.default_limit()))).collect())
    }
}

impl Limits {
    pub fn get(&self, limit: Limit) -> Option<RateLimit> {
        self.0.iter().find(|(l, _)| *l == limit).and_then(|(_, r)| *r)
    }

    pub fn set(&mut self, limit: Limit, value: Option<RateLimit>) {
        match self.0.iter_mut().find(|(l, _)| *l == limit) {
            Some(slot) => slot.1 = value,
            None => self.0.push((limit, value)),
        }
    }
}

/// What a source address counts as: an IPv4 address itself, an IPv6 address by its /64 network
/// (one subscriber usually holds a whole /64, so counting single IPv6 addresses would count nothing).
pub fn source_subject(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_as_count_per_window() {
        assert_eq!(RateLimit::parse("10/1h").unwrap(), Some(RateLimit::new(10, 3_600)));
        assert_eq!(RateLimit::parse("3/h").unwrap(), Some(RateLimit::new(3, 3_600)));
        assert_eq!(RateLimit::parse(" 5/15m ").unwrap(), Some(RateLimit::new(5, 900)));
        assert_eq!(RateLimit::parse("1/1d").unwrap(), Some(RateLimit::new(1, 86_400)));
        assert_eq!(RateLimit::parse("OFF").unwrap(), None);
        for bad in [
            "10",
            "0/1h",
            "10/0s",
            "10/1w",
            "ten/1h",
            "10/",
            "10/32d",
            "-1/1h",
            "10/99999999999999999d",
        ] {
            assert!(RateLimit::parse(bad).is_err(), "{bad} must be refused");
        }
        for text in ["10/1h", "5/15m", "1/1d", "7/90s"] {
            assert_eq!(RateLimit::parse(text).unwrap().unwrap().to_string(), text);
        }
    }

    #[test]
    fn every_limit_has_its_own_name_and_variable() {
        let names: std::collections::HashSet<_> = Limit::ALL.iter().map(|l| l.name()).collect();
        assert_eq!(names.len(), Limit::ALL.len());
        for limit in Limit::ALL {
            assert_eq!(limit.env(), format!("RATE_LIMIT_{}", limit.name().to_ascii_uppercase()));
        }
        let limits = Limits::default();
        for limit in Limit::ALL {
            assert!(limit.default_limit().max <= limit.max_count(), "{limit:?}");
        }
        assert_eq!(limits.get(Limit::SignUpsPerSource), Some(RateLimit::new(10, 3_600)));
        assert_eq!(
            limits.get(Limit::ResetEmailsPerRecipient),
            Some(RateLimit::new(3, 3_600))
        );
    }

    #[test]
    fn ipv6_sources_count_by_their_network() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(source_subject(a), source_subject(b));
        assert_ne!(source_subject(a), source_subject(c));
        assert_eq!(source_subject("::ffff:10.1.2.3".parse().unwrap()), "10.1.2.3");
        assert_eq!(source_subject("10.1.2.3".parse().unwrap()), "10.1.2.3");
    }
}
