//! Email templates: for each notification a subject, a plain-text and an HTML handlebars template,
//! built into the binary from `email_templates/` and overridable file by file from a folder
//! (`EMAIL_TEMPLATES_DIR`; in AWS a Lambda layer at `/opt/email_templates`). HTML is escaped, text
//! and subjects are not. Strict mode: a variable missing from the data is an error, never a blank.

use handlebars::Handlebars;
use serde::Serialize;
use std::path::Path;

/// `(notification, part, source)` for every built-in template.
const BUILT_IN: &[(&str, Part, &str)] = &[
    ("developer_welcome", Part::Subject, include_str!("../../../email_templates/developer_welcome.subject.hbs")),
    ("developer_welcome", Part::Text, include_str!("../../../email_templates/developer_welcome.txt.hbs")),
    ("developer_welcome", Part::Html, include_str!("../../../email_templates/developer_welcome.html.hbs")),
    ("event_notice", Part::Subject, include_str!("../../../email_templates/event_notice.subject.hbs")),
    ("event_notice", Part::Text, include_str!("../../../email_templates/event_notice.txt.hbs")),
    ("event_notice", Part::Html, include_str!("../../../email_templates/event_notice.html.hbs")),
];

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
        for (name, part, source) in BUILT_IN {
            let file_name = format!("{name}.{}", part.suffix());
            let overridden = override_dir.map(|d| d.join(&file_name)).filter(|p| p.is_file());
            let source = match overridden {
                Some(path) => std::fs::read_to_string(&path)
                    .map_err(|e| TemplateError::Invalid { name: file_name.clone(), message: e.to_string() })?,
                None => source.to_string(),
            };
            let registry = if *part == Part::Html { &mut html } else { &mut plain };
            registry
                .register_template_string(&file_name, source)
                .map_err(|e| TemplateError::Invalid { name: file_name.clone(), message: e.to_string() })?;
        }
        Ok(Self { plain, html })
    }

    pub fn render(&self, name: &str, data: &impl Serialize) -> Result<Rendered, TemplateError> {
        let file = |part: Part| format!("{name}.{}", part.suffix());
        if !self.plain.has_template(&file(Part::Subject)) {
            return Err(TemplateError::Unknown(name.to_string()));
        }
        let render = |registry: &Handlebars<'static>, part: Part| {
            registry
                .render(&file(part), data)
                .map_err(|e| TemplateError::Render { name: file(part), message: e.to_string() })
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
        let err = t.render("developer_welcome", &json!({"org": {"name": "x"}})).unwrap_err();
        assert!(matches!(err, TemplateError::Render { .. }), "{err}");
        assert!(matches!(t.render("nope", &json!({})), Err(TemplateError::Unknown(_))));
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
        std::fs::remove_dir_all(dir).unwrap();
    }
}
