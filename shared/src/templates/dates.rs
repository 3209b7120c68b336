//! The `date` helper: a timestamp as a person reads it, in the template's language
//! (`{{date data.reset_at}}` → "2 Dec 2026, 17:51 UTC", in German "2. Dez. 2026, 17:51 UTC").
//! It takes an RFC 3339 time or epoch seconds; anything else is written as it is, so an odd value
//! shows rather than failing the email.

use handlebars::{Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderErrorReason};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

const ENGLISH_MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const GERMAN_MONTHS: [&str; 12] = [
    "Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.", "Okt.", "Nov.", "Dez.",
];

/// `at` in UTC as `locale` writes a date and time: German for `de` (and `de_AT`, …), English
/// otherwise, the month as a word so no reader mistakes day for month.
pub fn human_date(locale: &str, at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    let month = usize::from(u8::from(at.month())) - 1;
    let (day, year, hour, minute) = (at.day(), at.year(), at.hour(), at.minute());
    match locale.split(['_', '-']).next() {
        Some("de") => format!("{day}. {} {year}, {hour:02}:{minute:02} UTC", GERMAN_MONTHS[month]),
        _ => format!("{day} {} {year}, {hour:02}:{minute:02} UTC", ENGLISH_MONTHS[month]),
    }
}

/// The text `date` writes for `value`.
fn shown(locale: &str, value: &Value) -> String {
    let at = match value {
        Value::String(text) => OffsetDateTime::parse(text, &Rfc3339).ok(),
        Value::Number(n) => n.as_i64().and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok()),
        _ => None,
    };
    match (at, value) {
        (Some(at), _) => human_date(locale, at),
        (None, Value::String(text)) => text.clone(),
        (None, other) => other.to_string(),
    }
}

/// Registers `date` for one language's templates.
pub fn register(registry: &mut Handlebars<'static>, locale: &str) {
    let locale = locale.to_string();
    registry.register_helper(
        "date",
        Box::new(
            move |h: &Helper,
                  _: &Handlebars,
                  _: &Context,
                  _: &mut RenderContext,
                  out: &mut dyn Output|
                  -> HelperResult {
                let value = h
                    .param(0)
                    .ok_or(RenderErrorReason::ParamNotFoundForIndex("date", 0))?
                    .value();
                out.write(&shown(&locale, value))?;
                Ok(())
            },
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates_read_as_people_write_them() {
        let at = json!("2026-12-02T17:51:57.286100674Z");
        assert_eq!(shown("en", &at), "2 Dec 2026, 17:51 UTC");
        assert_eq!(shown("de", &at), "2. Dez. 2026, 17:51 UTC");
        assert_eq!(shown("de_AT", &at), "2. Dez. 2026, 17:51 UTC");
        assert_eq!(
            shown("fr", &json!("2026-03-09T08:05:00+02:00")),
            "9 Mar 2026, 06:05 UTC"
        );
        assert_eq!(shown("en", &json!(1_767_225_600)), "1 Jan 2026, 00:00 UTC");
        assert_eq!(shown("en", &json!("soon")), "soon", "what is not a time shows as it is");
    }
}
