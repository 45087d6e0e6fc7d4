//! Stripe's request bodies: `application/x-www-form-urlencoded` with nested keys written the
//! way Stripe reads them, `line_items[0][price]=…`, `metadata[org_id]=…`, `lookup_keys[]=…`.

use std::fmt::Display;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but the unreserved characters is escaped in values; keys keep their brackets
/// readable (Stripe accepts them unescaped, as its own libraries send them).
const VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
const KEY: &AsciiSet = &VALUE.remove(b'[').remove(b']');

/// An ordered list of form fields. Order is kept so that a request's body is stable, which
/// matters to Stripe's idempotency check (same key, same parameters).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    fields: Vec<(String, String)>,
}

impl Form {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `key=value`; `key` is already in Stripe's bracket syntax.
    pub fn field(mut self, key: impl Into<String>, value: impl Display) -> Self {
        self.fields.push((key.into(), value.to_string()));
        self
    }

    /// Adds `key=value` when there is a value.
    pub fn optional(self, key: impl Into<String>, value: Option<impl Display>) -> Self {
        match value {
            Some(value) => self.field(key, value),
            None => self,
        }
    }

    /// Adds `parent[name]=value` for each pair, e.g. `metadata[org_id]=…`.
    pub fn map<'a>(
        mut self,
        parent: &str,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        for (name, value) in pairs {
            self = self.field(format!("{parent}[{name}]"), value);
        }
        self
    }

    /// Adds one indexed object per item: `parent[i][field]=value`.
    pub fn list<I, F>(mut self, parent: &str, items: I) -> Self
    where
        I: IntoIterator<Item = F>,
        F: IntoIterator<Item = (&'static str, String)>,
    {
        for (index, item) in items.into_iter().enumerate() {
            for (field, value) in item {
                self = self.field(format!("{parent}[{index}][{field}]"), value);
            }
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The encoded body (or query string).
    pub fn encode(&self) -> String {
        let pairs: Vec<String> = self
            .fields
            .iter()
            .map(|(key, value)| {
                format!("{}={}", utf8_percent_encode(key, KEY), utf8_percent_encode(value, VALUE))
            })
            .collect();
        pairs.join("&")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_fields_keep_stripes_bracket_syntax_and_their_order() {
        let form = Form::new()
            .field("mode", "subscription")
            .list(
                "line_items",
                [
                    vec![("price", "price_1".to_owned()), ("quantity", "12".to_owned())],
                    vec![("price", "price_2".to_owned()), ("quantity", "1".to_owned())],
                ],
            )
            .map("metadata", [("org_id", "o-1")])
            .field("lookup_keys[]", "team");
        assert_eq!(
            form.encode(),
            "mode=subscription&line_items[0][price]=price_1&line_items[0][quantity]=12\
             &line_items[1][price]=price_2&line_items[1][quantity]=1&metadata[org_id]=o-1\
             &lookup_keys[]=team"
        );
    }

    #[test]
    fn values_are_escaped_so_they_cannot_add_fields() {
        let form = Form::new()
            .field("success_url", "https://app.example/done?session={CHECKOUT_SESSION_ID}&x=1")
            .field("name", "Voice AI — 3 SIMs");
        assert_eq!(
            form.encode(),
            "success_url=https%3A%2F%2Fapp.example%2Fdone%3Fsession%3D%7BCHECKOUT_SESSION_ID%7D\
             %26x%3D1&name=Voice%20AI%20%E2%80%94%203%20SIMs"
        );
    }

    #[test]
    fn optional_fields_appear_only_with_a_value() {
        let form = Form::new().optional("customer", None::<&str>).optional("email", Some("a@b.c"));
        assert_eq!(form.encode(), "email=a%40b.c");
        assert!(Form::new().is_empty() && !form.is_empty());
    }
}
