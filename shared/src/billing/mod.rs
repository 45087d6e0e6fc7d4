//! Stripe billing: what the functions share about Stripe's requests and events.

pub mod checkout;
pub mod client;
pub mod form;
pub mod holds;
pub mod signature;

use crate::runtime::{ConfigError, http_url};

/// Where billing talks to Stripe and where Stripe sends the customer back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingSettings {
    /// Stripe's API base URL (`STRIPE_API_URL`, default `https://api.stripe.com`).
    pub api_url: String,
    /// Where Checkout returns after a purchase (`BILLING_SUCCESS_URL`); Stripe replaces
    /// `{CHECKOUT_SESSION_ID}` in it.
    pub success_url: Option<String>,
    /// Where Checkout returns when the customer gives up (`BILLING_CANCEL_URL`).
    pub cancel_url: Option<String>,
    /// Where the billing portal's "return" link leads (`BILLING_PORTAL_RETURN_URL`).
    pub portal_return_url: Option<String>,
}

impl Default for BillingSettings {
    fn default() -> Self {
        Self {
            api_url: client::DEFAULT_API_URL.to_owned(),
            success_url: None,
            cancel_url: None,
            portal_return_url: None,
        }
    }
}

impl BillingSettings {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let url = |name: &'static str| http_url(name, get(name));
        Ok(Self {
            api_url: url("STRIPE_API_URL")?
                .map(|u| u.trim_end_matches('/').to_owned())
                .unwrap_or_else(|| client::DEFAULT_API_URL.to_owned()),
            success_url: url("BILLING_SUCCESS_URL")?,
            cancel_url: url("BILLING_CANCEL_URL")?,
            portal_return_url: url("BILLING_PORTAL_RETURN_URL")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::tests::env;

    #[test]
    fn stripes_own_url_is_the_default_and_every_url_is_checked() {
        assert_eq!(BillingSettings::from_lookup(env(&[])).unwrap(), BillingSettings::default());
        let settings = BillingSettings::from_lookup(env(&[
            ("STRIPE_API_URL", "http://127.0.0.1:12111/"),
            ("BILLING_SUCCESS_URL", "https://app.example/billing/done"),
        ]))
        .unwrap();
        assert_eq!(settings.api_url, "http://127.0.0.1:12111");
        assert_eq!(settings.success_url.as_deref(), Some("https://app.example/billing/done"));
        let error = BillingSettings::from_lookup(env(&[("BILLING_CANCEL_URL", "app.example")]))
            .unwrap_err();
        assert!(error.to_string().contains("BILLING_CANCEL_URL"), "{error}");
    }
}
