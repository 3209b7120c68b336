//! Email templates: for each notification a subject, a plain-text and an HTML handlebars template,
//! built into the binary from `email_templates/` and overridable file by file from a folder
//! (`EMAIL_TEMPLATES_DIR`; in AWS a Lambda layer at `/opt/email_templates`). HTML is escaped, text
//! and subjects are not. Strict mode: a variable missing from the data is an error, never a blank.

mod sample;

pub use sample::{merged, sample_data};

use crate::domain::notifications::{NotificationType, TYPES};
use handlebars::Handlebars;
use serde::Serialize;
use std::path::Path;

/// `(notification, subject, text, html)` for every built-in notification.
macro_rules! built_in {
    ($($name:literal),* $(,)?) => {
        &[$((
            $name,
            include_str!(concat!("../../../email_templates/", $name, ".subject.hbs")),
            include_str!(concat!("../../../email_templates/", $name, ".txt.hbs")),
            include_str!(concat!("../../../email_templates/", $name, ".html.hbs")),
        )),*]
    };
}

pub const NOTIFICATIONS: &[(&str, &str, &str, &str)] = built_in![
    "developer_welcome",
    "event_notice",
    "signup_received",
    "signup_approved",
    "signup_rejected",
    "signup_existing_account",
    "password_reset",
    "password_changed",
    "suspicious_login",
    "developer_invited",
    "key_approved",
    "key_approved_link",
    "key_request_declined",
    "key_updated",
    "key_revoked",
    "endpoint_disabled",
    "admin_key_created",
    "admin_key_revoked",
    "security_settings_changed",
    "admin_invited",
    "admin_invited_notice",
    "admin_role_changed",
    "admin_removed",
    "admin_password_reset",
    "admin_password_changed",
    "admin_suspicious_login",
    "key_request_pending",
    "key_request_digest",
];

/// The HTML frame every HTML template fills (`{{#> layout}} … {{/layout}}`).
const LAYOUT: (&str, &str) = (
    "layout.html.hbs",
    include_str!("../../../email_templates/layout.html.hbs"),
);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Subject,
    Text,
    Html,
}

impl Part {
    fn suffix(self) -> &'static str {
        match self {
            Part::Subject => "subject.hbs",
            Part::Text => "txt.hbs",
            Part::Html => "html.hbs",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template {name}: {message}")]
    Invalid { name: String, message: String },
    #[error("no email template named {0}")]
    Unknown(String),
    #[error("rendering {name}: {message}")]
    Render { name: String, message: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The text of an inbox item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InAppText {
    pub title: String,
    pub body: String,
}

pub struct Templates {
    plain: Handlebars<'static>,
    html: Handlebars<'static>,
}

impl Templates {
    /// The built-in templates, each replaced by `<dir>/<name>.<part>.hbs` where that file exists.
    pub fn load(override_dir: Option<&Path>) -> Result<Self, TemplateError> {
        let mut plain = Handlebars::new();
        plain.set_strict_mode(true);
        plain.register_escape_fn(handlebars::no_escape);
        let mut html = Handlebars::new();
        html.set_strict_mode(true);
        let source = |file_name: &str, built_in: &str| -> Result<String, TemplateError> {
            match override_dir.map(|d| d.join(file_name)).filter(|p| p.is_file()) {
                Some(path) => std::fs::read_to_string(&path).map_err(|e| TemplateError::Invalid {
                    name: file_name.to_string(),
                    message: e.to_string(),
                }),
                None => Ok(built_in.to_string()),
            }
        };
        let invalid = |name: &str| {
            let name = name.to_string();
            move |e: handlebars::TemplateError| TemplateError::Invalid {
                name,
                message: e.to_string(),
            }
        };
        html.register_partial("layout", source(LAYOUT.0, LAYOUT.1)?)
            .map_err(invalid(LAYOUT.0))?;
        for (name, subject, text, body) in NOTIFICATIONS {
            for (part, built_in) in [(Part::Subject, subject), (Part::Text, text), (Part::Html, body)] {
                let file_name = format!("{name}.{}", part.suffix());
                let registry = if part == Part::Html { &mut html } else { &mut plain };
                registry
                    .register_template_string(&file_name, source(&file_name, built_in)?)
                    .map_err(invalid(&file_name))?;
            }
        }
        for t in TYPES.iter().filter(|t| t.in_app) {
            let name = format!("in_app.{}", t.name);
            plain.register_template_string(&name, t.body).map_err(invalid(&name))?;
        }
        let templates = Self { plain, html };
        // Every template against every variable Gatehouse provides: an unknown one fails here.
        let sample = sample_data();
        // In-app text never sees the private part: rendered without it here, it must not need it.
        let mut public = sample.clone();
        public.as_object_mut().expect("an object").remove("private");
        for t in TYPES.iter().filter(|t| t.in_app) {
            if let Err(TemplateError::Render { name, message }) = templates.render_in_app(t, &public) {
                return Err(TemplateError::Invalid {
                    name,
                    message: format!("an in-app text uses what it cannot: {message}"),
                });
            }
        }
        for (name, ..) in NOTIFICATIONS {
            if let Err(TemplateError::Render { name, message }) = templates.render(name, &sample) {
                return Err(TemplateError::Invalid {
                    name,
                    message: format!("uses a variable Gatehouse does not provide: {message}"),
                });
            }
        }
        Ok(templates)
    }

    /// The names of every notification's templates.
    pub fn names() -> impl Iterator<Item = &'static str> {
        NOTIFICATIONS.iter().map(|(name, ..)| *name)
    }

    /// A notification's in-app title (the email's subject) and body, from the event's public data.
    pub fn render_in_app(&self, t: &NotificationType, data: &impl Serialize) -> Result<InAppText, TemplateError> {
        let render = |file: String| {
            self.plain.render(&file, data).map_err(|e| TemplateError::Render {
                name: file.clone(),
                message: e.to_string(),
            })
        };
        Ok(InAppText {
            title: render(format!("{}.{}", t.template, Part::Subject.suffix()))?
                .trim()
                .to_string(),
            body: render(format!("in_app.{}", t.name))?.trim().to_string(),
        })
    }

    pub fn render(&self, name: &str, data: &impl Serialize) -> Result<Rendered, TemplateError> {
        let file = |part: Part| format!("{name}.{}", part.suffix());
        if !self.plain.has_template(&file(Part::Subject)) {
            return Err(TemplateError::Unknown(name.to_string()));
        }
        let render = |registry: &Handlebars<'static>, part: Part| {
            registry.render(&file(part), data).map_err(|e| TemplateError::Render {
                name: file(part),
                message: e.to_string(),
            })
        };
        let subject = render(&self.plain, Part::Subject)?;
        Ok(Rendered {
            // A subject is one line; templates end with a newline.
            subject: subject.trim().to_string(),
            text: render(&self.plain, Part::Text)?,
            html: render(&self.html, Part::Html)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn welcome_data(email: &str) -> serde_json::Value {
        json!({"org": {"name": "Acme & Co"}, "data": {"email": email}, "portal_url": "https://portal.example.com"})
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let t = Templates::load(None).unwrap();
        let r = t.render("developer_welcome", &welcome_data("a<b@example.com")).unwrap();
        assert_eq!(r.subject, "Welcome to the Acme & Co developer portal");
        assert!(r.text.contains("Acme & Co"));
        assert!(r.html.contains("Acme &amp; Co"));
        assert!(r.html.contains("a&lt;b@example.com"));
    }

    #[test]
    fn a_missing_variable_is_an_error() {
        let t = Templates::load(None).unwrap();
        let err = t
            .render("developer_welcome", &json!({"org": {"name": "x"}}))
            .unwrap_err();
        assert!(matches!(err, TemplateError::Render { .. }), "{err}");
        assert!(matches!(t.render("nope", &json!({})), Err(TemplateError::Unknown(_))));
    }

    #[test]
    fn every_notification_renders_with_a_full_context() {
        let t = Templates::load(None).unwrap();
        let context = merged(
            sample_data(),
            &json!({"private": {"reset_url": "https://portal.example.com/reset-password?token=t"}}),
        );
        for (name, ..) in NOTIFICATIONS {
            let r = t.render(name, &context).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!r.subject.is_empty() && !r.subject.contains('\n'), "{name}");
            assert!(r.html.contains("Acme developer portal"), "{name} uses the layout");
            assert!(r.html.starts_with("<!doctype html>"), "{name}");
        }
        let reset = t.render("password_reset", &context).unwrap();
        assert!(reset.text.contains("https://portal.example.com/reset-password?token=t"));
        assert!(reset
            .html
            .contains("https://portal.example.com/reset-password?token&#x3D;t"));
    }

    #[test]
    fn every_notice_to_a_person_has_a_type_and_in_app_text_shows_no_secret() {
        use crate::domain::notifications::notification_type;
        use crate::domain::notifications::TYPES;
        for (name, ..) in NOTIFICATIONS {
            assert!(TYPES.iter().any(|t| t.template == *name), "{name} has a type");
            assert_eq!(notification_type(name).is_some(), *name != "event_notice", "{name}");
        }
        assert!(TYPES
            .iter()
            .all(|t| NOTIFICATIONS.iter().any(|(n, ..)| *n == t.template)));
        let t = Templates::load(None).unwrap();
        let key = notification_type("key_approved").unwrap();
        let text = t.render_in_app(key, &sample_data()).unwrap();
        assert_eq!(text.title, "Your Acme API key for Payments");
        assert!(
            text.body.contains("Payments") && !text.body.contains("gh_live_sample"),
            "{text:?}"
        );
        let settings = notification_type("security_settings_changed").unwrap();
        let text = t.render_in_app(settings, &sample_data()).unwrap();
        assert_eq!(text.body, "settings.signup_mode: open → invite_only");
    }

    #[test]
    fn notices_name_an_admin_user_by_email_and_a_key_by_id() {
        let t = Templates::load(None).unwrap();
        let key = sample_data();
        let user = merged(
            sample_data(),
            &json!({"data": {"by": {"kind": "admin_user", "id": "adm_x", "role": "owner", "email": "owner@example.com"}}}),
        );
        for name in [
            "security_settings_changed",
            "admin_role_changed",
            "admin_key_created",
            "admin_invited",
        ] {
            let by_key = t.render(name, &key).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                by_key.text.contains("admin key ak_fedcba9876543210 (owner)"),
                "{name}: {}",
                by_key.text
            );
            let by_user = t.render(name, &user).unwrap();
            assert!(
                by_user.text.contains("owner@example.com (owner)"),
                "{name}: {}",
                by_user.text
            );
            assert!(!by_user.text.contains("admin key ak_"), "{name}");
        }
    }

    #[test]
    fn a_folder_overrides_single_files() {
        let dir = std::env::temp_dir().join(format!("gh-templates-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("developer_welcome.subject.hbs"), "Hi from {{org.name}}").unwrap();
        let t = Templates::load(Some(&dir)).unwrap();
        let r = t.render("developer_welcome", &welcome_data("d@example.com")).unwrap();
        assert_eq!(r.subject, "Hi from Acme & Co");
        assert!(r.text.contains("developer account"), "the other parts stay built in");
        std::fs::write(dir.join("developer_welcome.txt.hbs"), "{{#if}}").unwrap();
        assert!(Templates::load(Some(&dir)).is_err(), "a broken override fails at load");
        std::fs::write(dir.join("developer_welcome.txt.hbs"), "Hello {{data.nickname}}").unwrap();
        let err = Templates::load(Some(&dir))
            .err()
            .expect("an unknown variable fails at load");
        assert!(
            err.to_string().contains("developer_welcome.txt.hbs") && err.to_string().contains("does not provide"),
            "{err}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
