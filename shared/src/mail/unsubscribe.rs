//! One-click unsubscribe (RFC 8058): non-essential emails carry `List-Unsubscribe: <url>` and
//! `List-Unsubscribe-Post: List-Unsubscribe=One-Click`; a POST to the URL, without login, turns the
//! person's email preference for that notification type off (or, for an `event_options` address,
//! opts it out of that family). The URL's token is the organisation,
//! address and category sealed with the deployment's key: it cannot be forged or altered, and it
//! does not show the address.

use serde::{Deserialize, Serialize};

use crate::crypto::SecretBox;
use crate::domain::{Email, LinkBase, OrgId};
use crate::secret::Secret;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnsubscribeToken {
    pub org: OrgId,
    pub email: Email,
    /// A notification type (with `person`), or an `event_options` feed (`event_notice.<family>`).
    pub category: String,
    /// The developer or admin user whose preference the unsubscribe turns off; none for a feed
    /// address, which is opted out instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
}

impl UnsubscribeToken {
    pub fn seal(&self, secrets: &SecretBox) -> String {
        secrets.seal(&Secret::new(serde_json::to_string(self).expect("tokens serialize")))
    }

    pub fn open(secrets: &SecretBox, token: &str) -> Option<Self> {
        serde_json::from_str(secrets.open(token).ok()?.expose()).ok()
    }

    /// The unsubscribe URL under the API's public address.
    pub fn url(&self, secrets: &SecretBox, api_base: &LinkBase) -> String {
        self.one_click(&self.seal(secrets), api_base)
    }

    /// The one-click URL of an already sealed token.
    fn one_click(&self, sealed: &str, api_base: &LinkBase) -> String {
        api_base.link(&format!("portal/{}/unsubscribe", self.org), &[("token", sealed)])
    }

    /// The two headers RFC 8058 asks for.
    fn headers_for(url: &str) -> [(String, String); 2] {
        [
            ("List-Unsubscribe".into(), format!("<{url}>")),
            ("List-Unsubscribe-Post".into(), "List-Unsubscribe=One-Click".into()),
        ]
    }

    /// The headers (one-click, to the API) and the link a reader follows from the email: the
    /// portal's `unsubscribe` page, which says what it stops and posts to the same URL (the
    /// one-click URL itself when there is no portal address). The token is sealed once for both.
    pub fn links(
        &self,
        secrets: &SecretBox,
        api_base: &LinkBase,
        portal: Option<&LinkBase>,
    ) -> ([(String, String); 2], String) {
        let token = self.seal(secrets);
        let one_click = self.one_click(&token, api_base);
        let page = portal.map_or_else(|| one_click.clone(), |p| p.link("unsubscribe", &[("token", &token)]));
        (Self::headers_for(&one_click), page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_cannot_be_altered() {
        let secrets = SecretBox::from_base64(&Secret::new("Z2F0ZWhvdXNlLWxvY2FsLWRldi1rZXktMzItYnl0ZXM=")).unwrap();
        let token = UnsubscribeToken {
            org: OrgId::parse("acme").unwrap(),
            email: Email::parse("ada@example.com").unwrap(),
            category: "key_updated".into(),
            person: Some("dev_01jsample0000000000000000".into()),
        };
        let sealed = token.seal(&secrets);
        assert!(!sealed.contains("ada@example.com"));
        assert_eq!(UnsubscribeToken::open(&secrets, &sealed), Some(token.clone()));
        let mut altered = sealed.clone().into_bytes();
        let i = altered.len() - 5;
        altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            UnsubscribeToken::open(&secrets, &String::from_utf8(altered).unwrap()),
            None
        );
        let api = LinkBase::parse("https://api.example.com/").unwrap();
        let ([list, post], page) = token.links(&secrets, &api, None);
        assert!(
            list.1
                .starts_with("<https://api.example.com/portal/acme/unsubscribe?token=")
                && list.1.ends_with('>')
        );
        assert_eq!(post.1, "List-Unsubscribe=One-Click");
        assert_eq!(
            format!("<{page}>"),
            list.1,
            "without a portal the page is the one-click URL"
        );
        let portal = LinkBase::parse("https://portal.example.com/o/acme").unwrap();
        let ([list, _], page) = token.links(&secrets, &api, Some(&portal));
        let sealed = page
            .strip_prefix("https://portal.example.com/o/acme/unsubscribe?token=")
            .expect("the portal's page");
        assert!(list.1.contains(sealed), "one token sealed for both");
    }
}
