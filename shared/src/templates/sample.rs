//! The variables templates may use, with sample values: every template is rendered with them when
//! loaded (so a misspelt or unknown variable stops the start, not a send), and admins preview
//! templates with them.

use serde_json::{json, Value};

/// Everything a notification's data can hold, with made-up values.
pub fn sample_data() -> Value {
    let mut sample = samples();
    // The health notices' (one `json!` holds only so many keys).
    sample["data"] = merged(
        sample["data"].take(),
        &json!({
            "delivery_id": "evt_01jsample0000000000000000.webhook.0123456789abcdef",
            "event_id": "evt_01jsample0000000000000000",
            "channel": "webhook",
            "target": "https://hooks.example.com/gatehouse",
            "last_error": "the endpoint answered 503",
            "failing_since": 1_767_225_600,
            "failing_for_minutes": 61,
            "disabled_in_hours": 119,
            "signal": "bounce",
            "sent": 400,
            "rate_percent": 6.5,
            "threshold_percent": 5.0,
        }),
    );
    sample
}

fn samples() -> Value {
    json!({
        "org": {"id": "acme", "name": "Acme"},
        "portal_url": "https://portal.example.com",
        "event": {"event": "developer_event.signed_up", "id": "evt_01JSAMPLE", "org_id": "acme", "occurred_at": "2026-01-01T00:00:00Z", "data": {}},
        "data": {
            "email": "ada@example.com",
            "failed_attempts": 3,
            "catalog_name": "Payments",
            "key_prefix": "gh_live_ab12…",
            "policy_names": "Gold",
            "url": "https://hooks.example.com/gatehouse",
            "reason": "it answered 410 Gone",
            "key_id": "ak_0123456789abcdef",
            "name": "CI deploys",
            "role": "admin",
            "old_role": "owner",
            "admin_id": "adm_01jsample0000000000000000",
            "by": {"kind": "admin_key", "id": "ak_fedcba9876543210", "role": "owner"},
            "changes": [{"field": "settings.signup_mode", "old": "open", "new": "invite_only"}],
            "request_id": "kr_01jsample0000000000000000",
            "cadence": "daily",
            "window": "2026-01-01",
            "from": "2026-01-01T00:00:00Z",
            "to": "2026-01-02T00:00:00Z",
            "count": 1,
            "more": 0,
            "requests": [{"request_id": "kr_01jsample0000000000000000", "email": "ada@example.com", "catalog_name": "Payments", "created_at": "2026-01-01T09:30:00Z"}],
            "previous_valid_until": "2026-01-02T00:00:00Z",
            "trigger_limit": 80,
            "quota_max": 1000,
            "quota_used": 800,
            "quota_remaining": 200,
            "reset_at": "2026-01-02T00:00:00Z",
            "amount": 5000,
            "spent": 4000,
            "currency": "EUR",
            "amount_text": "50.00 EUR",
            "spent_text": "40.00 EUR",
            "month": "2026-01",
            "resets_at": "2026-02-01T00:00:00Z",
            "budget_id": "bud_01jsample0000000000000000",
        },
        "private": {
            "reset_url": "https://portal.example.com/reset-password?token=sample",
            "expires_in": "1 hour",
            "address": "192.0.2.1",
            "key": "gh_live_sample",
            "generate_url": "https://portal.example.com/keys/generate?token=sample",
            "confirm_url": "https://portal.example.com/confirm-email?token=sample",
        },
        "category": "developer_event",
        "recipient": "ops@example.com",
        "data_json": "{\n  \"email\": \"ada@example.com\"\n}",
    })
}

/// `sample` with `overrides` merged in, object by object.
pub fn merged(mut sample: Value, overrides: &Value) -> Value {
    if let (Some(base), Some(extra)) = (sample.as_object_mut(), overrides.as_object()) {
        for (key, value) in extra {
            match base.get_mut(key) {
                Some(existing) if existing.is_object() && value.is_object() => {
                    *existing = merged(existing.take(), value)
                }
                _ => {
                    base.insert(key.clone(), value.clone());
                }
            }
        }
    }
    sample
}
