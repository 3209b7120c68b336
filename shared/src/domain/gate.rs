//! What the gate decides about a key, and the arithmetic of its limits: fixed windows that start on
//! period boundaries (no drift), the blocks of units a verifier leases, and the thresholds a count
//! crosses.

use serde::{Deserialize, Serialize};

/// The answer of a verification, in the words gateways match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VerifyCode {
    Valid,
    /// No such key, or a key of another organisation.
    NotFound,
    Revoked,
    /// Past its expiry (a rolled key after its grace period).
    Expired,
    /// The API asked for is in none of the key's policies.
    Forbidden,
    /// The policy's quota for this period is used up.
    UsageExceeded,
    /// The policy's rate for this window is used up.
    RateLimited,
    /// The developer holding the key is not active (pending or rejected).
    Disabled,
}

impl VerifyCode {
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyCode::Valid => "VALID",
            VerifyCode::NotFound => "NOT_FOUND",
            VerifyCode::Revoked => "REVOKED",
            VerifyCode::Expired => "EXPIRED",
            VerifyCode::Forbidden => "FORBIDDEN",
            VerifyCode::UsageExceeded => "USAGE_EXCEEDED",
            VerifyCode::RateLimited => "RATE_LIMITED",
            VerifyCode::Disabled => "DISABLED",
        }
    }
}

/// A fixed window of `secs` seconds starting at a multiple of `secs` since the epoch, so every
/// verifier agrees on it and a period refills at its boundary whatever happened before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    pub start: i64,
    pub secs: i64,
}

impl Window {
    /// The window of length `secs` (at least 1) that holds the instant `now` (epoch seconds).
    pub fn containing(now: i64, secs: u64) -> Self {
        let secs = i64::try_from(secs.max(1)).unwrap_or(i64::MAX);
        Self {
            start: now - now.rem_euclid(secs),
            secs,
        }
    }

    /// The first second after the window.
    pub fn end(self) -> i64 {
        self.start.saturating_add(self.secs)
    }
}

/// How many leases a window's remaining units are split into at most: each verifier takes at most
/// this share of what is left, so the units stranded in other verifiers' leases stay few, and the
/// last units go one at a time.
pub const LEASE_SHARE: u64 = 8;
/// The largest block one lease takes.
pub const MAX_LEASE_BLOCK: u64 = 100;

/// The block of units a verifier leases when `granted` of `limit` are already leased and it needs
/// `want` now: a share of what remains, between `want` and [`MAX_LEASE_BLOCK`]; 0 when fewer than
/// `want` remain.
pub fn lease_block(limit: u64, granted: u64, want: u64) -> u64 {
    let remaining = limit.saturating_sub(granted);
    if want == 0 || remaining < want {
        return 0;
    }
    (remaining / LEASE_SHARE)
        .clamp(1, MAX_LEASE_BLOCK)
        .max(want)
        .min(remaining)
}

/// The thresholds (percentages of `limit`) that a count passes when it grows from `before` to
/// `after`: each is reached by exactly one growth, whatever the steps.
pub fn thresholds_crossed(limit: u64, before: u64, after: u64, thresholds: &[u8]) -> Vec<u8> {
    let reached = |count: u64, t: u8| u128::from(count) * 100 >= u128::from(limit) * u128::from(t);
    thresholds
        .iter()
        .copied()
        .filter(|&t| limit > 0 && !reached(before, t) && reached(after, t))
        .collect()
}

/// The UTC day (`2026-12-03`) of an epoch second.
pub fn day_of(epoch: i64) -> String {
    let date = time::OffsetDateTime::from_unix_timestamp(epoch)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .date();
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_start_on_period_boundaries() {
        let w = Window::containing(1_000_000_123, 3600);
        assert_eq!((w.start, w.end()), (999_997_200, 1_000_000_800));
        assert_eq!(
            Window::containing(w.end(), 3600).start,
            w.end(),
            "the next period starts fresh"
        );
        assert_eq!(Window::containing(59, 60).start, 0);
        assert_eq!(Window::containing(60, 60).start, 60);
        assert_eq!(Window::containing(5, 0).secs, 1);
    }

    #[test]
    fn leases_shrink_as_the_window_empties_and_never_pass_the_limit() {
        assert_eq!(lease_block(50, 0, 1), 6);
        assert_eq!(lease_block(1_000_000, 0, 1), MAX_LEASE_BLOCK);
        assert_eq!(lease_block(50, 45, 1), 1);
        assert_eq!(lease_block(50, 49, 1), 1);
        assert_eq!(lease_block(50, 50, 1), 0);
        assert_eq!(lease_block(50, 48, 3), 0, "fewer remain than are wanted");
        assert_eq!(lease_block(50, 40, 3), 3);
        assert_eq!(lease_block(50, 0, 0), 0);
        // Leasing until nothing is left hands out exactly the limit.
        let mut granted = 0;
        while let block @ 1.. = lease_block(50, granted, 1) {
            granted += block;
        }
        assert_eq!(granted, 50);
    }

    #[test]
    fn each_threshold_is_crossed_once() {
        assert_eq!(thresholds_crossed(50, 0, 39, &[80, 100]), Vec::<u8>::new());
        assert_eq!(thresholds_crossed(50, 39, 40, &[80, 100]), vec![80]);
        assert_eq!(thresholds_crossed(50, 40, 49, &[80, 100]), Vec::<u8>::new());
        assert_eq!(thresholds_crossed(50, 0, 50, &[80, 100]), vec![80, 100]);
        assert_eq!(thresholds_crossed(50, 50, 60, &[80, 100]), Vec::<u8>::new());
        assert_eq!(thresholds_crossed(0, 0, 10, &[80]), Vec::<u8>::new());
    }

    #[test]
    fn days_are_utc_dates() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(1_796_285_035), "2026-12-03");
    }
}
