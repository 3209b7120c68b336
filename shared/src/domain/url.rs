use serde::{Deserialize, Serialize};

use super::FieldError;

/// An absolute `http` or `https` URL with a host and no credentials, at most 2048 characters, with
/// no spaces or control characters anywhere (a URL parser would silently drop a CR or LF, and the
/// text is handed back in links and redirects). The one URL type of Gatehouse: portal addresses,
/// redirects, webhook endpoints and the deployment's own addresses. Whether a webhook's address may
/// be reached is decided at delivery time (DNS can change), by the webhook client's network policy.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HttpUrl(String);

/// Webhook endpoints are ordinary URLs; the name says where one is used.
pub type WebhookUrl = HttpUrl;

impl HttpUrl {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        Self::parse_field("url", s)
    }

    /// The address without its query and fragment (where webhook receivers keep tokens): what
    /// someone without need to know is shown.
    pub fn without_query(&self) -> HttpUrl {
        let end = self.0.find(['?', '#']).unwrap_or(self.0.len());
        HttpUrl(self.0[..end].to_string())
    }

    /// Parses `s`, naming `field` in the error.
    pub fn parse_field(field: &str, s: &str) -> Result<Self, FieldError> {
        let bad = |m: &str| Err(FieldError::new(field, m));
        if s.len() > 2048 {
            return bad("must be at most 2048 characters");
        }
        if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return bad("must not contain spaces or control characters");
        }
        // RFC 3986 characters only, so the text is a URI wherever it is handed back (JSON answers,
        // Location headers, emails); anything else is percent-encoded by the caller, hosts in
        // punycode. `[` and `]` belong to IPv6 hosts alone (refused below) and `#` starts the one
        // fragment, so neither may appear in a path, query or fragment.
        if !s.chars().all(is_uri_char) || !percent_escapes_are_whole(s) || s.matches('#').count() > 1 {
            return bad(
                "must be a URI: ASCII letters, digits and -._~:/?#@!$&'()*+,;= (one # at most) with other characters percent-encoded",
            );
        }
        let Ok(url) = url::Url::parse(s) else {
            return bad("must be an absolute http or https URL");
        };
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return bad("must be an absolute http or https URL");
        }
        if !url.username().is_empty() || url.password().is_some() {
            return bad("must not carry credentials");
        }
        if !authority_is_a_host_name(s) {
            return bad("must name its host with letters, digits, dots and hyphens, and an optional port");
        }
        Ok(Self(s.to_string()))
    }
}

/// The authority as written (between `://` and the first `/`, `?` or `#`) is a host name or IPv4
/// address and an optional port: a parser accepts more (`*`, `!`, IPv6 literals), which the API's
/// published pattern does not.
fn authority_is_a_host_name(s: &str) -> bool {
    let Some((_, rest)) = s.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    !host.is_empty()
        && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && port.is_none_or(|p| (1..=5).contains(&p.len()) && p.chars().all(|c| c.is_ascii_digit()))
}

/// Unreserved and reserved characters of RFC 3986 outside IPv6 hosts, and `%` of a percent-encoding.
fn is_uri_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~:/?#@!$&'()*+,;=%".contains(c)
}

/// Every `%` starts a `%XX` escape.
fn percent_escapes_are_whole(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.iter().enumerate().filter(|(_, b)| **b == b'%').all(|(i, _)| {
        bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit) && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    })
}

super::validated_string!(HttpUrl);

/// The base of the links Gatehouse mails (a portal's address): an `http` or `https` origin and an
/// optional path, with no query, fragment or credentials, so that a link built on it always lands on
/// the page it names with the token in that page's own query. Kept without a trailing slash; links
/// are built with a URL builder ([`LinkBase::link`]), never by pasting text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LinkBase(String);

impl LinkBase {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        Self::parse_field("url", s)
    }

    /// Parses `s`, naming `field` in the error.
    pub fn parse_field(field: &str, s: &str) -> Result<Self, FieldError> {
        HttpUrl::parse_field(field, s)?;
        if s.contains(['?', '#']) {
            return Err(FieldError::new(
                field,
                "must be an origin and an optional path, without a query or fragment",
            ));
        }
        Ok(Self(s.trim_end_matches('/').to_string()))
    }

    /// This base with `segments` appended to its path, each percent-encoded as one segment.
    pub fn under(&self, segments: &[&str]) -> LinkBase {
        let text: String = self.with_segments(segments.iter().copied()).into();
        Self(text.trim_end_matches('/').to_string())
    }

    /// The base as a URL with `segments` appended to its path.
    fn with_segments<'a>(&self, segments: impl IntoIterator<Item = &'a str>) -> url::Url {
        let mut url = url::Url::parse(&self.0).expect("a link base is a valid URL");
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            path.extend(segments);
        }
        url
    }

    /// The link to `page` (`reset-password`, `admin/accept-invitation`) under this base, with
    /// `query`'s pairs percent-encoded: `https://portal.example.com/dev/reset-password?token=…`.
    pub fn link(&self, page: &str, query: &[(&str, &str)]) -> String {
        let mut url = self.with_segments(page.split('/').filter(|part| !part.is_empty()));
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url.into()
    }
}

super::validated_string!(LinkBase);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_absolute_web_addresses() {
        for ok in [
            "https://example.com",
            "http://127.0.0.1:9000/hook",
            "https://portal.example.com/a?b=c#d",
            "https://example.com/caf%C3%A9?q=a+b&r=%2F",
            "HTTPS://Example.COM:8443?x=1",
        ] {
            assert_eq!(HttpUrl::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn without_query_keeps_origin_and_path() {
        for (full, shown) in [
            (
                "https://hooks.example.com/in/abc?token=s3cret",
                "https://hooks.example.com/in/abc",
            ),
            ("https://hooks.example.com:8443#frag", "https://hooks.example.com:8443"),
            ("https://hooks.example.com/a", "https://hooks.example.com/a"),
        ] {
            assert_eq!(HttpUrl::parse(full).unwrap().without_query().as_str(), shown);
        }
    }

    #[test]
    fn refuses_other_schemes_credentials_and_control_characters() {
        for bad in [
            "",
            "example.com",
            "javascript:alert(1)",
            "ftp://example.com",
            "https://user:pw@example.com",
            "https://example.com/\r\nSet-Cookie: a=b",
            "https://example.com/\nx",
            "https://example.com/\tx",
            "https://exa mple.com",
            "https://example.com/\u{0}",
            "https://example.com/caf\u{e9}",
            "https://example.com/#\u{1F60D}",
            "https://example.com/a|b",
            "https://example.com/{x}",
            "https://example.com/100%",
            "https://example.com/%zz",
            "https://L6*",
            "https://ex!ample.com/",
            "https://example.com:/",
            "https://example.com:123456/",
            "HttP://vrVQQ5A7r0#.%8C%EC['0%26%3C%e7%f1",
            "https://example.com/a[1]",
            "https://example.com/#a#b",
        ] {
            assert!(HttpUrl::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            HttpUrl::parse_field("settings.portal_url", "nope").unwrap_err().field,
            "settings.portal_url"
        );
        let long = format!("https://example.com/{}", "a".repeat(2048));
        assert!(HttpUrl::parse(&long).is_err());
    }

    #[test]
    fn a_link_base_is_an_origin_and_a_path_only() {
        for bad in [
            "https://p.example.com/a?b=1",
            "https://p.example.com/#f",
            "https://p.example.com?",
            "https://user@p.example.com",
            "ftp://p.example.com",
        ] {
            assert!(LinkBase::parse(bad).is_err(), "{bad:?}");
        }
        let base = LinkBase::parse("https://p.example.com/dev/").unwrap();
        assert_eq!(base.as_str(), "https://p.example.com/dev");
        assert_eq!(
            base.link("reset-password", &[("token", "gh_reset_a+b/c")]),
            "https://p.example.com/dev/reset-password?token=gh_reset_a%2Bb%2Fc"
        );
        let origin = LinkBase::parse("https://p.example.com").unwrap();
        assert_eq!(
            origin.link("admin/accept-invitation", &[("token", "t")]),
            "https://p.example.com/admin/accept-invitation?token=t"
        );
        assert_eq!(origin.link("keys", &[]), "https://p.example.com/keys");
        let org = origin.under(&["o", "acme"]);
        assert_eq!(org.as_str(), "https://p.example.com/o/acme");
        assert_eq!(
            org.link("keys/generate", &[("token", "t")]),
            "https://p.example.com/o/acme/keys/generate?token=t"
        );
        assert_eq!(base.under(&["o", "a/b"]).as_str(), "https://p.example.com/dev/o/a%2Fb");
    }
}
