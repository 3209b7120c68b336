//! `openapi.yaml` held against real answers: every response the test server sends is checked
//! against the schema the document gives for its path, method, status and content type, so a field
//! a handler stops sending (or a 2xx the document does not know) fails the test that caused it.

use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The OpenAPI document, parsed once.
pub fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml")).unwrap();
        serde_norway::from_str(&text).expect("openapi.yaml parses")
    })
}

/// The documented path template a request path falls under: the one whose fixed segments match
/// most (`/orgs/{org}/webhook-endpoints/enable` before `/orgs/{org}/developers/{id}`).
pub fn template_of(path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('/').collect();
    let mut best: Option<(usize, &String)> = None;
    for template in spec()["paths"].as_object()?.keys() {
        let parts: Vec<&str> = template.split('/').collect();
        if parts.len() != segments.len() {
            continue;
        }
        let mut fixed = 0;
        let fits = parts.iter().zip(&segments).all(|(t, s)| {
            if t.starts_with('{') {
                !s.is_empty()
            } else {
                fixed += 1;
                t == s
            }
        });
        if fits && best.is_none_or(|(n, _)| fixed > n) {
            best = Some((fixed, template));
        }
    }
    best.map(|(_, t)| t.clone())
}

/// A JSON pointer as a URI fragment: characters a URI may not hold (`{`, `}`, …) percent-encoded.
fn uri_fragment(pointer: &str) -> String {
    pointer
        .chars()
        .map(|c| match c {
            'a'..='z'
            | 'A'..='Z'
            | '0'..='9'
            | '-'
            | '.'
            | '_'
            | '~'
            | '/'
            | ':'
            | '@'
            | '!'
            | '$'
            | '&'
            | '\''
            | '('
            | ')'
            | '*'
            | '+'
            | ','
            | ';'
            | '=' => c.to_string(),
            other => {
                let mut buf = [0u8; 4];
                other
                    .encode_utf8(&mut buf)
                    .bytes()
                    .map(|b| format!("%{b:02X}"))
                    .collect()
            }
        })
        .collect()
}

/// The object a `$ref` points at (or the value itself when it is none).
pub fn resolved(value: &Value) -> &Value {
    match value["$ref"].as_str() {
        Some(reference) => spec()
            .pointer(reference.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("{reference} resolves")),
        None => value,
    }
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Checks answers against the document; remembers what did not match.
#[derive(Clone, Default)]
pub struct ContractChecker {
    validators: Arc<Mutex<HashMap<String, Arc<jsonschema::Validator>>>>,
    pub violations: Arc<Mutex<Vec<String>>>,
}

impl ContractChecker {
    fn validator(&self, pointer: &str) -> Arc<jsonschema::Validator> {
        let mut cache = self.validators.lock().unwrap();
        cache
            .entry(pointer.to_string())
            .or_insert_with(|| {
                // The whole document as the root resource, so `$ref`s to components resolve.
                let mut root = spec().clone();
                root["$ref"] = Value::String(format!("#{}", uri_fragment(pointer)));
                Arc::new(jsonschema::draft202012::new(&root).unwrap_or_else(|e| panic!("schema at {pointer}: {e}")))
            })
            .clone()
    }

    /// Where `instance` breaks the schema at `pointer` (a JSON pointer into the document).
    pub fn validate(&self, pointer: &str, instance: &Value) -> Vec<String> {
        self.validator(pointer)
            .iter_errors(instance)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect()
    }

    /// The schema a webhook of `event` is published with.
    pub fn webhook_schema_pointer(event: &str) -> String {
        format!(
            "/webhooks/{}/post/requestBody/content/application~1json/schema",
            escape(event)
        )
    }

    /// What is wrong with this answer, per the document (nothing when it is undocumented and not a
    /// success).
    pub fn problems(
        &self,
        method: &str,
        path: &str,
        status: u16,
        headers: &axum::http::HeaderMap,
        body: &[u8],
    ) -> Vec<String> {
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let Some(template) = template_of(path) else {
            return Vec::new();
        };
        let method = method.to_lowercase();
        let operation = &spec()["paths"][&template][&method];
        if operation.is_null() {
            return Vec::new();
        }
        let what = format!("{} {template} → {status}", method.to_uppercase());
        let declared = &operation["responses"][status.to_string()];
        if declared.is_null() {
            return if (200..300).contains(&status) {
                vec![format!("{what}: this status is not documented")]
            } else {
                Vec::new()
            };
        }
        // Where the response object stands: its own place, or the component it refers to.
        let base = match declared["$ref"].as_str() {
            Some(r) => r.trim_start_matches('#').to_string(),
            None => format!("/paths/{}/{method}/responses/{status}", escape(&template)),
        };
        let response = spec().pointer(&base).cloned().unwrap_or(Value::Null);
        // A header the document fixes (`const`, e.g. `Cache-Control: no-store` of a secret shown
        // once) is sent with that value.
        let mut wrong_headers = Vec::new();
        for (name, header) in response["headers"].as_object().into_iter().flatten() {
            let header = resolved(header);
            if let Some(wanted) = header["schema"]["const"].as_str() {
                let sent = headers.get(name.as_str()).and_then(|v| v.to_str().ok());
                if sent != Some(wanted) {
                    wrong_headers.push(format!("{what}: header {name} is {sent:?}, not {wanted:?}"));
                }
            }
        }
        if !wrong_headers.is_empty() {
            return wrong_headers;
        }
        let media = content_type.split(';').next().unwrap_or_default().trim().to_string();
        let Some(content) = response["content"].as_object().filter(|c| !c.is_empty()) else {
            return if body.is_empty() {
                Vec::new()
            } else {
                vec![format!("{what}: a body the document does not describe")]
            };
        };
        if !content.contains_key(&media) {
            return vec![format!("{what}: content type {media:?} is not documented")];
        }
        if content[&media]["schema"].is_null() || !media.contains("json") {
            return Vec::new();
        }
        let instance: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => return vec![format!("{what}: the body is not JSON ({e})")],
        };
        let pointer = format!("{base}/content/{}/schema", escape(&media));
        self.validate(&pointer, &instance)
            .into_iter()
            .map(|problem| format!("{what}: {problem}"))
            .collect()
    }
}
