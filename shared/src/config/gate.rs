//! The configuration of the gate's own functions (the authorizer and the usage counter): the table,
//! and which keys the authorizer lets through. Nothing else: they hold no secret and send nothing.

use super::{bad, ConfigError};
use crate::domain::{ApiId, OrgId};

#[derive(Debug, Clone, PartialEq)]
pub struct GateConfig {
    /// `TABLE_NAME`.
    pub table_name: String,
    /// `GATE_ORG`: only this organisation's keys pass (any organisation's when unset).
    pub org: Option<OrgId>,
    /// `GATE_API_ID`: the Gatehouse API the protected routes are; a key passes only if one of its
    /// policies grants it (any API when unset).
    pub api_id: Option<ApiId>,
}

impl GateConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let org = get("GATE_ORG")
            .map(|v| OrgId::parse(&v).map_err(|_| bad("GATE_ORG", "must be an organisation id")))
            .transpose()?;
        let api_id = get("GATE_API_ID")
            .map(|v| ApiId::parse(&v).ok_or_else(|| bad("GATE_API_ID", "must be an API id (api_…)")))
            .transpose()?;
        Ok(Self {
            table_name: get("TABLE_NAME").unwrap_or_else(|| "gatehouse".into()),
            org,
            api_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_reads_its_table_and_bounds() {
        let config = GateConfig::from_lookup(|name| match name {
            "TABLE_NAME" => Some("t".into()),
            "GATE_ORG" => Some("acme".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(
            (config.table_name.as_str(), config.org.as_ref().map(|o| o.as_str())),
            ("t", Some("acme"))
        );
        let bad = GateConfig::from_lookup(|name| (name == "GATE_API_ID").then(|| "payments".into())).unwrap_err();
        assert_eq!(bad.name, "GATE_API_ID");
    }
}
