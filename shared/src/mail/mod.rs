//! E-mail through Mailgun: where its API is and what we send from ([`MailSettings`]), the client
//! ([`mailgun`]), the e-mail announcing new messages ([`digest`]) and the webhook's signature
//! ([`webhook`]).

pub mod digest;
pub mod mailgun;
pub mod webhook;

use http::StatusCode;
use serde_json::json;

use crate::error::ApiError;
use crate::runtime::{ConfigError, Ctx, http_url};

/// How e-mail is sent. Sending needs `MAILGUN_API_KEY` (in `ProviderKeys`), a domain, a sender
/// and the app's URL for links; without them the mail job reports itself unconfigured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSettings {
    /// Mailgun's API base URL (`MAILGUN_API_URL`, default `https://api.mailgun.net`; EU
    /// domains use `https://api.eu.mailgun.net`).
    pub api_url: String,
    /// The sending domain as Mailgun knows it (`MAILGUN_DOMAIN`, e.g. `mg.salespulse.example`).
    pub domain: Option<String>,
    /// The `From` of every e-mail (`MAILGUN_FROM`, e.g. `SalesPulse <no-reply@mg.salespulse.example>`).
    pub from: Option<String>,
    /// The frontend's base URL, for links in e-mails (`APP_URL`, e.g. `https://app.salespulse.example`).
    pub app_url: Option<String>,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            api_url: mailgun::DEFAULT_API_URL.to_owned(),
            domain: None,
            from: None,
            app_url: None,
        }
    }
}

impl MailSettings {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let url = |name: &'static str| {
            http_url(name, get(name)).map(|url| url.map(|u| u.trim_end_matches('/').to_owned()))
        };
        let domain = get("MAILGUN_DOMAIN");
        if let Some(domain) = &domain {
            let valid = domain.contains('.')
                && domain.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
            if !valid {
                return Err(ConfigError::Invalid {
                    name: "MAILGUN_DOMAIN",
                    reason: "must be a domain name such as mg.example.com".into(),
                });
            }
        }
        Ok(Self {
            api_url: url("MAILGUN_API_URL")?.unwrap_or_else(|| mailgun::DEFAULT_API_URL.to_owned()),
            domain,
            from: get("MAILGUN_FROM"),
            app_url: url("APP_URL")?,
        })
    }
}

/// E-mail is off on this deployment: the settings named in `missing` are not set (logged; the
/// answer names none of them).
pub fn unavailable(ctx: &Ctx, missing: &[&str]) -> ApiError {
    ctx.log.error("mail_unconfigured", json!({ "missing": missing }));
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "mail_unavailable",
        "e-mail is not available on this deployment",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::tests::env;

    #[test]
    fn mailguns_us_endpoint_is_the_default_and_urls_and_the_domain_are_checked() {
        assert_eq!(MailSettings::from_lookup(env(&[])).unwrap(), MailSettings::default());
        let settings = MailSettings::from_lookup(env(&[
            ("MAILGUN_API_URL", "https://api.eu.mailgun.net/"),
            ("MAILGUN_DOMAIN", "mg.salespulse.example"),
            ("MAILGUN_FROM", "SalesPulse <no-reply@mg.salespulse.example>"),
            ("APP_URL", "https://app.salespulse.example/"),
        ]))
        .unwrap();
        assert_eq!(settings.api_url, "https://api.eu.mailgun.net");
        assert_eq!(settings.app_url.as_deref(), Some("https://app.salespulse.example"));
        let check = |pairs: &[(&str, &str)], named: &str| {
            let error = MailSettings::from_lookup(env(pairs)).unwrap_err();
            assert!(error.to_string().contains(named), "{error}");
        };
        check(&[("MAILGUN_API_URL", "api.mailgun.net")], "MAILGUN_API_URL");
        check(&[("APP_URL", "app.example")], "APP_URL");
        check(&[("MAILGUN_DOMAIN", "mg example/com")], "MAILGUN_DOMAIN");
        check(&[("MAILGUN_DOMAIN", "localhost")], "MAILGUN_DOMAIN");
    }
}
