//! Email templates: for each notification a subject, a plain-text and an HTML handlebars template,
//! and for each in-app notification its body, per language under `email_templates/<locale>/` (`en`
//! and `de` built into the binary). A folder (`EMAIL_TEMPLATES_DIR`; in AWS a Lambda layer at
//! `/opt/email_templates`) replaces them file by file (`<dir>/<locale>/<file>`; `<dir>/<file>` for
//! English) and may add languages (`<dir>/fr/…`). A file missing in a language falls back along
//! [`Locale::fallbacks`](crate::domain::Locale::fallbacks) to English. HTML is escaped, text and
//! subjects are not. Strict mode: a variable missing from the data is an error, never a blank.
//!
//! A file is compiled the first time it is rendered, so a function starts without compiling the
//! hundreds it may never send. A folder's files are checked at load instead: every file of every
//! language is rendered with the sample data then, so an override using a variable Gatehouse does
//! not provide stops the start with its name. The built-in files are held to the same check by a
//! test.

mod dates;
mod sample;

pub use sample::{merged, sample_data};

use crate::domain::notifications::{NotificationType, TYPES};
use crate::domain::Locale;
use handlebars::{Context, Handlebars};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::RwLock;

/// Every notification with templates: the email types and the `event_options` notice.
macro_rules! with_notifications {
    ($then:ident, $locale:literal) => {
        $then!(
            $locale;
            "developer_welcome",
            "event_notice",
            "signup_received",
            "signup_approved",
            "signup_rejected",
            "signup_existing_account",
            "password_reset",
            "email_confirmation",
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
            "quota_threshold",
            "quota_threshold_staff",
            "budget_threshold",
            "budget_threshold_staff",
            "delivery_dead_lettered",
            "endpoint_failing",
            "email_reputation",
        )
    };
}

/// Every in-app notification (its body template).
macro_rules! with_in_app {
    ($then:ident, $locale:literal) => {
        $then!(
            $locale;
            "developer_welcome",
            "signup_approved",
            "password_changed",
            "suspicious_login",
            "key_approved",
            "key_approved_link",
            "key_request_declined",
            "key_updated",
            "key_revoked",
            "endpoint_disabled",
            "admin_invited_notice",
            "admin_role_changed",
            "admin_removed",
            "admin_password_changed",
            "admin_suspicious_login",
            "admin_key_created",
            "admin_key_revoked",
            "security_settings_changed",
            "key_request_pending",
            "quota_threshold",
            "quota_threshold_staff",
            "budget_threshold",
            "budget_threshold_staff",
            "delivery_dead_lettered",
            "endpoint_failing",
            "email_reputation",
        )
    };
}

/// `(file name, text)` of each email part of one language.
macro_rules! email_files {
    ($locale:literal; $($name:literal),* $(,)?) => {
        &[
            ("layout.html.hbs", include_str!(concat!("../../../email_templates/", $locale, "/layout.html.hbs"))),
            ("footer.txt.hbs", include_str!(concat!("../../../email_templates/", $locale, "/footer.txt.hbs"))),
            $(
                (concat!($name, ".subject.hbs"), include_str!(concat!("../../../email_templates/", $locale, "/", $name, ".subject.hbs"))),
                (concat!($name, ".txt.hbs"), include_str!(concat!("../../../email_templates/", $locale, "/", $name, ".txt.hbs"))),
                (concat!($name, ".html.hbs"), include_str!(concat!("../../../email_templates/", $locale, "/", $name, ".html.hbs"))),
            )*
        ]
    };
}

/// `(file name, text)` of each in-app body of one language.
macro_rules! in_app_files {
    ($locale:literal; $($name:literal),* $(,)?) => {
        &[$(
            (concat!($name, ".inapp.hbs"), include_str!(concat!("../../../email_templates/", $locale, "/", $name, ".inapp.hbs"))),
        )*]
    };
}

/// The names alone.
macro_rules! names {
    ($locale:literal; $($name:literal),* $(,)?) => {
        &[$($name),*]
    };
}

type Files = &'static [(&'static str, &'static str)];

/// The built-in languages, each complete: every file English has.
const BUILT_IN: &[(&str, Files, Files)] = &[
    (
        "en",
        with_notifications!(email_files, "en"),
        with_in_app!(in_app_files, "en"),
    ),
    (
        "de",
        with_notifications!(email_files, "de"),
        with_in_app!(in_app_files, "de"),
    ),
];

/// The notifications with email templates.
pub const NOTIFICATIONS: &[&str] = with_notifications!(names, "en");

const LAYOUT: &str = "layout.html.hbs";
/// What follows every plain-text part (the unsubscribe link, where the email has one); the text
/// templates themselves stay free of a layout.
const TEXT_FOOTER: &str = "footer.txt.hbs";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Subject,
    Text,
    Html,
    InApp,
}

impl Part {
    fn suffix(self) -> &'static str {
        match self {
            Part::Subject => "subject.hbs",
            Part::Text => "txt.hbs",
            Part::Html => "html.hbs",
            Part::InApp => "inapp.hbs",
        }
    }

    fn of(file_name: &str) -> Option<Part> {
        [Part::Subject, Part::Text, Part::Html, Part::InApp]
            .into_iter()
            .find(|p| {
                file_name
                    .strip_suffix(p.suffix())
                    .is_some_and(|stem| stem.ends_with('.'))
            })
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

/// One language's templates: subjects, texts and in-app bodies unescaped; HTML escaped, in the
/// language's own layout. Each file is compiled when first rendered.
struct Language {
    locale: String,
    /// Every file's text, by file name.
    sources: BTreeMap<String, Cow<'static, str>>,
    compiled: RwLock<Compiled>,
}

struct Compiled {
    plain: Handlebars<'static>,
    html: Handlebars<'static>,
}

impl Language {
    fn new(locale: &str) -> Self {
        let mut plain = Handlebars::new();
        plain.set_strict_mode(true);
        plain.register_escape_fn(handlebars::no_escape);
        let mut html = Handlebars::new();
        html.set_strict_mode(true);
        for registry in [&mut plain, &mut html] {
            dates::register(registry, locale);
        }
        Self {
            locale: locale.to_string(),
            sources: BTreeMap::new(),
            compiled: RwLock::new(Compiled { plain, html }),
        }
    }

    fn has(&self, file_name: &str) -> bool {
        self.sources.contains_key(file_name)
    }

    fn add(&mut self, file_name: &str, text: Cow<'static, str>) {
        if file_name == LAYOUT || Part::of(file_name).is_some() {
            self.sources.insert(file_name.to_string(), text);
        }
    }

    /// Compiles `file_name` (and, for HTML, the layout) unless it is already.
    fn compile(&self, compiled: &mut Compiled, file_name: &str) -> Result<(), TemplateError> {
        let invalid = |name: &str, e: handlebars::TemplateError| TemplateError::Invalid {
            name: format!("{}/{name}", self.locale),
            message: e.to_string(),
        };
        let part = Part::of(file_name);
        let registry = if part == Some(Part::Html) {
            &mut compiled.html
        } else {
            &mut compiled.plain
        };
        if registry.has_template(file_name) {
            return Ok(());
        }
        if part == Some(Part::Html) && !registry.has_template("layout") {
            if let Some(layout) = self.sources.get(LAYOUT) {
                registry
                    .register_partial("layout", layout.as_ref())
                    .map_err(|e| invalid(LAYOUT, e))?;
            }
        }
        let text = self.sources.get(file_name).map(|t| t.as_ref()).unwrap_or_default();
        registry
            .register_template_string(file_name, text)
            .map_err(|e| invalid(file_name, e))
    }

    /// Compiles every file now (a folder's files are checked at load).
    fn compile_all(&self) -> Result<(), TemplateError> {
        let mut compiled = self.compiled.write().expect("templates lock");
        for file_name in self.sources.keys().filter(|f| f.as_str() != LAYOUT) {
            self.compile(&mut compiled, file_name)?;
        }
        Ok(())
    }

    fn render(&self, file_name: &str, data: &Context) -> Result<String, TemplateError> {
        let html = Part::of(file_name) == Some(Part::Html);
        let render = |compiled: &Compiled| {
            let registry = if html { &compiled.html } else { &compiled.plain };
            registry
                .render_with_context(file_name, data)
                .map_err(|e| render_failed(file_name, e))
        };
        {
            let compiled = self.compiled.read().expect("templates lock");
            let registry = if html { &compiled.html } else { &compiled.plain };
            if registry.has_template(file_name) {
                return render(&compiled);
            }
        }
        let mut compiled = self.compiled.write().expect("templates lock");
        self.compile(&mut compiled, file_name)?;
        render(&compiled)
    }
}

pub struct Templates {
    languages: BTreeMap<String, Language>,
}

impl Templates {
    /// The built-in templates, each replaced by `<dir>/<locale>/<file>` (or `<dir>/<file>` for
    /// English) where that file exists, and the languages `dir` adds.
    pub fn load(override_dir: Option<&Path>) -> Result<Self, TemplateError> {
        let read = |path: &Path, name: String| {
            std::fs::read_to_string(path).map_err(|e| TemplateError::Invalid {
                name,
                message: e.to_string(),
            })
        };
        let mut languages = BTreeMap::new();
        let mut overridden = false;
        for (locale, email, in_app) in BUILT_IN {
            let mut language = Language::new(locale);
            for (file_name, built_in) in email.iter().chain(in_app.iter()) {
                let replaced = override_dir.and_then(|d| {
                    let own = d.join(locale).join(file_name);
                    let english = d.join(file_name);
                    [own]
                        .into_iter()
                        .chain((*locale == Locale::FALLBACK).then_some(english))
                        .find(|p| p.is_file())
                });
                let text = match replaced {
                    Some(path) => {
                        overridden = true;
                        Cow::Owned(read(&path, format!("{locale}/{file_name}"))?)
                    }
                    None => Cow::Borrowed(*built_in),
                };
                language.add(file_name, text);
            }
            languages.insert(locale.to_string(), language);
        }
        // Languages the folder adds: any subfolder named like a locale.
        if let Some(dir) = override_dir.filter(|d| d.is_dir()) {
            let entries = std::fs::read_dir(dir).map_err(|e| TemplateError::Invalid {
                name: dir.display().to_string(),
                message: e.to_string(),
            })?;
            for entry in entries.flatten() {
                let Some(locale) = entry.file_name().to_str().and_then(|n| Locale::parse(n).ok()) else {
                    continue;
                };
                if !entry.path().is_dir() || languages.contains_key(locale.as_str()) {
                    continue;
                }
                overridden = true;
                let mut language = Language::new(locale.as_str());
                let files = std::fs::read_dir(entry.path()).map_err(|e| TemplateError::Invalid {
                    name: locale.to_string(),
                    message: e.to_string(),
                })?;
                for file in files.flatten() {
                    let Some(file_name) = file.file_name().to_str().map(str::to_string) else {
                        continue;
                    };
                    let text = read(&file.path(), format!("{locale}/{file_name}"))?;
                    language.add(&file_name, Cow::Owned(text));
                }
                languages.insert(locale.to_string(), language);
            }
        }
        let templates = Self { languages };
        if overridden {
            templates.check()?;
        }
        Ok(templates)
    }

    /// Every file of every language against every variable Gatehouse provides: an unknown one fails
    /// here, not at a send. In-app bodies never see the private part: rendered without it here,
    /// they must not need it.
    pub fn check(&self) -> Result<(), TemplateError> {
        for language in self.languages.values() {
            language.compile_all()?;
        }
        let sample = sample_data();
        let mut public = sample.clone();
        public.as_object_mut().expect("an object").remove("private");
        for (locale, language) in &self.languages {
            let chain = [locale.clone()];
            for t in TYPES.iter().filter(|t| t.in_app) {
                if !language.has(&file(t.template, Part::InApp)) && locale != Locale::FALLBACK {
                    continue;
                }
                if let Err(e) = self.render_in_app(t, &chain, &public) {
                    return Err(TemplateError::Invalid {
                        name: format!("{locale}/{}", file(t.template, Part::InApp)),
                        message: format!("an in-app text uses what it cannot: {e}"),
                    });
                }
            }
            for name in NOTIFICATIONS {
                if let Err(e) = self.render(name, &chain, &sample) {
                    return Err(TemplateError::Invalid {
                        name: format!("{locale}/{name}"),
                        message: format!("uses a variable Gatehouse does not provide: {e}"),
                    });
                }
            }
        }
        Ok(())
    }

    /// The names of every notification's templates.
    pub fn names() -> impl Iterator<Item = &'static str> {
        NOTIFICATIONS.iter().copied()
    }

    /// The languages there are templates in.
    pub fn locales(&self) -> impl Iterator<Item = &str> {
        self.languages.keys().map(String::as_str)
    }

    /// The language of `languages` (best first, English last) that has `file_name`.
    fn pick(&self, languages: &[String], file_name: &str) -> Option<&Language> {
        languages
            .iter()
            .map(String::as_str)
            .chain([Locale::FALLBACK])
            .filter_map(|l| self.languages.get(l))
            .find(|l| l.has(file_name))
    }

    fn render_part(
        &self,
        languages: &[String],
        name: &str,
        part: Part,
        data: &Context,
    ) -> Result<String, TemplateError> {
        let file_name = file(name, part);
        let language = self
            .pick(languages, &file_name)
            .ok_or_else(|| TemplateError::Unknown(name.to_string()))?;
        language.render(&file_name, data)
    }

    /// A notification's in-app title (the email's subject) and body, from the event's public data,
    /// in the first of `languages` that has them.
    pub fn render_in_app(
        &self,
        t: &NotificationType,
        languages: &[String],
        data: &impl Serialize,
    ) -> Result<InAppText, TemplateError> {
        let data = &context(t.template, data)?;
        Ok(InAppText {
            title: self
                .render_part(languages, t.template, Part::Subject, data)?
                .trim()
                .to_string(),
            body: self
                .render_part(languages, t.template, Part::InApp, data)?
                .trim()
                .to_string(),
        })
    }

    /// A notification's email, each part in the first of `languages` that has it.
    pub fn render(&self, name: &str, languages: &[String], data: &impl Serialize) -> Result<Rendered, TemplateError> {
        // The data converted once for the three parts.
        self.render_context(name, languages, &context(name, data)?)
    }

    /// [`Templates::render`] of data already in JSON, taken as it is (no copy).
    pub fn render_value(
        &self,
        name: &str,
        languages: &[String],
        data: serde_json::Value,
    ) -> Result<Rendered, TemplateError> {
        self.render_context(name, languages, &Context::from(data))
    }

    fn render_context(&self, name: &str, languages: &[String], data: &Context) -> Result<Rendered, TemplateError> {
        if !NOTIFICATIONS.contains(&name) {
            return Err(TemplateError::Unknown(name.to_string()));
        }
        Ok(Rendered {
            // A subject is one line; templates end with a newline.
            subject: self
                .render_part(languages, name, Part::Subject, data)?
                .trim()
                .to_string(),
            text: self.render_part(languages, name, Part::Text, data)? + &self.text_footer(languages, data)?,
            html: self.render_part(languages, name, Part::Html, data)?,
        })
    }

    /// The footer of a plain-text part in the first of `languages` that has one, after a blank
    /// line; nothing when it renders empty.
    fn text_footer(&self, languages: &[String], data: &Context) -> Result<String, TemplateError> {
        let Some(language) = self.pick(languages, TEXT_FOOTER) else {
            return Ok(String::new());
        };
        let footer = language.render(TEXT_FOOTER, data)?;
        Ok(if footer.trim().is_empty() {
            String::new()
        } else {
            format!("\n{footer}")
        })
    }
}

/// `data` as handlebars reads it.
fn context(name: &str, data: &impl Serialize) -> Result<Context, TemplateError> {
    Context::wraps(data).map_err(|e| render_failed(name, e))
}

fn render_failed(name: &str, e: handlebars::RenderError) -> TemplateError {
    TemplateError::Render {
        name: name.to_string(),
        message: e.to_string(),
    }
}

fn file(name: &str, part: Part) -> String {
    format!("{name}.{}", part.suffix())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// English: no preference, the last fallback.
    const EN: &[String] = &[];

    fn languages(locale: &str) -> Vec<String> {
        Locale::fallbacks(Some(&Locale::parse(locale).unwrap()), None)
    }

    fn welcome_data(email: &str) -> serde_json::Value {
        json!({"org": {"name": "Acme & Co"}, "data": {"email": email}, "portal_url": "https://portal.example.com"})
    }

    /// What a start checks of a folder's files, the built-in ones pass: each compiles, and each
    /// renders with every variable Gatehouse provides and no other.
    #[test]
    fn every_built_in_file_compiles_and_renders_with_the_sample_data() {
        Templates::load(None).unwrap().check().unwrap();
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let t = Templates::load(None).unwrap();
        let r = t
            .render("developer_welcome", EN, &welcome_data("a<b@example.com"))
            .unwrap();
        assert_eq!(r.subject, "Welcome to the Acme & Co developer portal");
        assert!(r.text.contains("Acme & Co"));
        assert!(r.html.contains("Acme &amp; Co"));
        assert!(r.html.contains("a&lt;b@example.com"));
    }

    #[test]
    fn the_text_part_ends_with_the_unsubscribe_link_where_the_email_has_one() {
        let t = Templates::load(None).unwrap();
        let mut data = sample_data();
        let without = t.render("key_revoked", EN, &data).unwrap();
        assert!(!without.text.contains("Unsubscribe"), "{}", without.text);
        data["unsubscribe_url"] = json!("https://portal.example.com/o/acme/unsubscribe?token=u");
        for (locale, words) in [
            ("en", "Unsubscribe from these notices: "),
            ("de", "Diese Benachrichtigungen abbestellen: "),
        ] {
            let r = t.render("key_revoked", &languages(locale), &data).unwrap();
            assert!(
                r.text.contains("\n-- \n"),
                "{locale}: a signature separator before the footer: {}",
                r.text
            );
            assert!(
                r.text
                    .trim_end()
                    .ends_with(&format!("{words}https://portal.example.com/o/acme/unsubscribe?token=u")),
                "{locale}: {}",
                r.text
            );
            // HTML writes the `=` as a character reference, which the attribute's reader undoes.
            assert!(
                r.html
                    .contains("https://portal.example.com/o/acme/unsubscribe?token&#x3D;u"),
                "{locale}"
            );
        }
    }

    #[test]
    fn a_missing_variable_is_an_error() {
        let t = Templates::load(None).unwrap();
        let err = t
            .render("developer_welcome", EN, &json!({"org": {"name": "x"}}))
            .unwrap_err();
        assert!(matches!(err, TemplateError::Render { .. }), "{err}");
        assert!(matches!(
            t.render("nope", EN, &json!({})),
            Err(TemplateError::Unknown(_))
        ));
    }

    #[test]
    fn every_notification_renders_with_a_full_context() {
        let t = Templates::load(None).unwrap();
        let context = merged(
            sample_data(),
            &json!({"private": {"reset_url": "https://portal.example.com/reset-password?token=t"}}),
        );
        for name in NOTIFICATIONS {
            let r = t.render(name, EN, &context).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!r.subject.is_empty() && !r.subject.contains('\n'), "{name}");
            assert!(r.html.contains("Acme developer portal"), "{name} uses the layout");
            assert!(r.html.starts_with("<!doctype html>"), "{name}");
        }
        let reset = t.render("password_reset", EN, &context).unwrap();
        assert!(reset.text.contains("https://portal.example.com/reset-password?token=t"));
        assert!(reset
            .html
            .contains("https://portal.example.com/reset-password?token&#x3D;t"));
    }

    /// Emails read as a person reads them: times as dates in the recipient's language, and links
    /// to the portal's pages, never an API path to call.
    #[test]
    fn emails_show_dates_in_their_language_and_link_portal_pages_not_api_paths() {
        let t = Templates::load(None).unwrap();
        let mut data = sample_data();
        data["data"]["requests"][0]["created_at"] = json!("2026-12-02T17:51:57.286100674Z");
        let english = t.render("key_request_digest", EN, &data).unwrap();
        assert!(english.text.contains("at 2 Dec 2026, 17:51 UTC"), "{}", english.text);
        assert!(english
            .text
            .contains("between 1 Jan 2026, 00:00 UTC and 2 Jan 2026, 00:00 UTC"));
        assert!(!english.text.contains("2026-12-02T"), "{}", english.text);
        let german = t.render("key_request_digest", &languages("de"), &data).unwrap();
        assert!(german.text.contains("am 2. Dez. 2026, 17:51 UTC"), "{}", german.text);
        let notice = t.render("security_settings_changed", EN, &data).unwrap();
        assert!(
            notice.text.contains("https://portal.example.com/admin/audit-log"),
            "{}",
            notice.text
        );

        for locale in ["en", "de"] {
            for name in NOTIFICATIONS {
                let r = t.render(name, &languages(locale), &data).unwrap();
                for part in [&r.subject, &r.text, &r.html] {
                    assert!(!names_an_api_path(part), "{locale}/{name} names an API path: {part}");
                }
            }
        }
    }

    /// Whether `text` tells the reader to call the API (`GET /orgs/…`, `/portal/{org}/…`).
    fn names_an_api_path(text: &str) -> bool {
        let verbs = ["GET /", "POST /", "PUT /", "PATCH /", "DELETE /"];
        verbs.iter().any(|v| text.contains(v)) || text.contains("/orgs/") || text.contains("/portal/acme/")
    }

    #[test]
    fn every_notice_to_a_person_has_a_type_and_in_app_text_shows_no_secret() {
        use crate::domain::notifications::notification_type;
        use crate::domain::notifications::TYPES;
        for name in NOTIFICATIONS {
            assert!(TYPES.iter().any(|t| t.template == *name), "{name} has a type");
            assert_eq!(notification_type(name).is_some(), *name != "event_notice", "{name}");
        }
        assert!(TYPES.iter().all(|t| NOTIFICATIONS.contains(&t.template)));
        let t = Templates::load(None).unwrap();
        let key = notification_type("key_approved").unwrap();
        let text = t.render_in_app(key, EN, &sample_data()).unwrap();
        assert_eq!(text.title, "Your Acme API key for Payments");
        assert!(
            text.body.contains("Payments") && !text.body.contains("gh_live_sample"),
            "{text:?}"
        );
        let settings = notification_type("security_settings_changed").unwrap();
        let text = t.render_in_app(settings, EN, &sample_data()).unwrap();
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
            let by_key = t.render(name, EN, &key).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                by_key.text.contains("admin key ak_fedcba9876543210 (owner)"),
                "{name}: {}",
                by_key.text
            );
            let by_user = t.render(name, EN, &user).unwrap();
            assert!(
                by_user.text.contains("owner@example.com (owner)"),
                "{name}: {}",
                by_user.text
            );
            assert!(!by_user.text.contains("admin key ak_"), "{name}");
        }
    }

    #[test]
    fn every_built_in_language_is_complete_and_falls_back_from_region_to_language_to_english() {
        let t = Templates::load(None).unwrap();
        let (_, english_email, english_in_app) = BUILT_IN[0];
        for (locale, email, in_app) in BUILT_IN {
            let names: Vec<&str> = email.iter().chain(in_app.iter()).map(|(n, _)| *n).collect();
            for (name, _) in english_email.iter().chain(english_in_app.iter()) {
                assert!(names.contains(name), "{locale} has {name}");
            }
        }
        assert_eq!(t.locales().collect::<Vec<_>>(), ["de", "en"]);
        let welcome = welcome_data("d@example.com");
        let german = t.render("developer_welcome", &languages("de_AT"), &welcome).unwrap();
        assert_eq!(german.subject, "Willkommen im Entwicklerportal von Acme & Co");
        assert!(
            german.html.contains("Entwicklerportal von Acme &amp; Co</p>"),
            "the German layout"
        );
        let english = t.render("developer_welcome", &languages("fr"), &welcome).unwrap();
        assert_eq!(english.subject, "Welcome to the Acme & Co developer portal");
        let key = crate::domain::notifications::notification_type("key_revoked").unwrap();
        let text = t.render_in_app(key, &languages("de"), &sample_data()).unwrap();
        assert!(
            text.title.starts_with("Ihr API-Schlüssel") && text.body.contains("widerrufen"),
            "{text:?}"
        );
        // The organisation's default before English.
        let chain = Locale::fallbacks(Some(&Locale::parse("fr").unwrap()), Some(&Locale::parse("de").unwrap()));
        assert!(t
            .render("developer_welcome", &chain, &welcome)
            .unwrap()
            .subject
            .starts_with("Willkommen"));
    }

    #[test]
    fn a_folder_adds_a_language_whose_missing_files_fall_back() {
        let dir = std::env::temp_dir().join(format!("gh-templates-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(dir.join("fr")).unwrap();
        std::fs::write(
            dir.join("fr/developer_welcome.subject.hbs"),
            "Bienvenue chez {{org.name}}",
        )
        .unwrap();
        std::fs::write(dir.join("de/").with_file_name("not-a-locale.txt"), "ignored").unwrap();
        let t = Templates::load(Some(&dir)).unwrap();
        let r = t
            .render("developer_welcome", &languages("fr_CA"), &welcome_data("d@example.com"))
            .unwrap();
        assert_eq!(r.subject, "Bienvenue chez Acme & Co");
        assert!(r.text.contains("developer account"), "the rest in English");
        std::fs::write(dir.join("fr/developer_welcome.txt.hbs"), "Bonjour {{data.surnom}}").unwrap();
        let err = Templates::load(Some(&dir))
            .err()
            .expect("an added language is checked at load too");
        assert!(err.to_string().contains("fr/developer_welcome"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_folder_overrides_single_files() {
        let dir = std::env::temp_dir().join(format!("gh-templates-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("developer_welcome.subject.hbs"), "Hi from {{org.name}}").unwrap();
        let t = Templates::load(Some(&dir)).unwrap();
        let r = t
            .render("developer_welcome", EN, &welcome_data("d@example.com"))
            .unwrap();
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
