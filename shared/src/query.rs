//! A request's query string, read parameter by parameter: each one parsed into its type or a
//! 422 naming it, repeated or unknown parameters refused, so a typo never silently widens a read.

use std::str::FromStr;

use bytes::Bytes;
use http::Request;
use percent_encoding::percent_decode_str;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The parameters not read yet.
#[derive(Debug)]
pub struct QueryParams {
    pairs: Vec<(String, String)>,
}

impl QueryParams {
    /// The parameters of `request` (`a=1&b=x+y`), percent-decoded, `+` read as a space.
    pub fn of(request: &Request<Bytes>) -> Result<Self, ApiError> {
        let mut pairs = Vec::new();
        for part in request.uri().query().unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            let decode = |text: &str| {
                percent_decode_str(&text.replace('+', " "))
                    .decode_utf8()
                    .map(|text| text.into_owned())
                    .map_err(|_| ApiError::bad_request("invalid_query", "the query is not UTF-8"))
            };
            pairs.push((decode(name)?, decode(value)?));
        }
        Ok(Self { pairs })
    }

    /// Whether `name` was given (without reading it).
    pub fn has(&self, name: &str) -> bool {
        self.pairs.iter().any(|(n, _)| n == name)
    }

    /// The text of `name`, if given once; given twice is a 422.
    pub fn text(&mut self, name: &str) -> Result<Option<String>, ApiError> {
        let mut values = Vec::new();
        self.pairs.retain(|(n, v)| {
            let taken = n == name;
            if taken {
                values.push(v.clone());
            }
            !taken
        });
        match values.len() {
            0 => Ok(None),
            1 => Ok(values.pop()),
            _ => Err(ApiError::validation(name, "is given more than once")),
        }
    }

    /// `name` parsed as `T`; `expected` says what a valid value looks like.
    pub fn parse<T: FromStr>(&mut self, name: &str, expected: &str) -> Result<Option<T>, ApiError> {
        self.text(name)?
            .map(|text| {
                text.parse::<T>()
                    .map_err(|_| ApiError::validation(name, format!("must be {expected}")))
            })
            .transpose()
    }

    /// `name` as one of the serde names of `T` (an enum such as `month` or `call`).
    pub fn choice<T: DeserializeOwned>(
        &mut self,
        name: &str,
        expected: &str,
    ) -> Result<Option<T>, ApiError> {
        self.text(name)?
            .map(|text| {
                serde_json::from_value(serde_json::Value::String(text))
                    .map_err(|_| ApiError::validation(name, format!("must be {expected}")))
            })
            .transpose()
    }

    /// Like [`Self::parse`], for a parameter that must be given.
    pub fn require<T: FromStr>(&mut self, name: &str, expected: &str) -> Result<T, ApiError> {
        self.parse(name, expected)?
            .ok_or_else(|| ApiError::validation(name, format!("is required ({expected})")))
    }

    /// Refuses any parameter left unread.
    pub fn finish(self) -> Result<(), ApiError> {
        match self.pairs.first() {
            Some((name, _)) => Err(ApiError::validation(name, "is not a parameter of this call")),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn params(query: &str) -> QueryParams {
        let request = Request::builder().uri(format!("/f?{query}")).body(Bytes::new()).unwrap();
        QueryParams::of(&request).unwrap()
    }

    fn message(error: ApiError) -> (u16, String) {
        (error.status.as_u16(), error.message)
    }

    #[test]
    fn parameters_are_decoded_and_parsed_into_their_types() {
        let mut query = params("from=2026-01-01&note=a+b%2Cc&limit=50&flag&kind=month");
        #[derive(Debug, PartialEq, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        enum Kind {
            Month,
        }
        assert_eq!(query.choice::<Kind>("kind", "month").unwrap(), Some(Kind::Month));
        assert!(query.has("from") && !query.has("to"));
        let from: NaiveDate = query.require("from", "a date").unwrap();
        assert_eq!(from, NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
        assert_eq!(query.text("note").unwrap().as_deref(), Some("a b,c"));
        assert_eq!(query.parse::<u64>("limit", "a number").unwrap(), Some(50));
        assert_eq!(query.text("flag").unwrap().as_deref(), Some(""));
        assert_eq!(query.parse::<u64>("offset", "a number").unwrap(), None);
        query.finish().unwrap();
    }

    #[test]
    fn bad_missing_repeated_and_unknown_parameters_are_422s_naming_them() {
        let mut query = params("limit=ten&to=2026-01-01&to=2026-02-01&surprise=1&kind=week");
        assert_eq!(
            message(query.choice::<chrono::Weekday>("kind", "a weekday").unwrap_err()),
            (422, "kind: must be a weekday".into())
        );
        assert_eq!(
            message(query.parse::<u64>("limit", "a whole number").unwrap_err()),
            (422, "limit: must be a whole number".into())
        );
        assert_eq!(
            message(query.require::<NaiveDate>("from", "YYYY-MM-DD").unwrap_err()),
            (422, "from: is required (YYYY-MM-DD)".into())
        );
        assert_eq!(
            message(query.text("to").unwrap_err()),
            (422, "to: is given more than once".into())
        );
        assert_eq!(
            message(query.finish().unwrap_err()),
            (422, "surprise: is not a parameter of this call".into())
        );
    }

    #[test]
    fn a_query_that_is_not_utf8_is_a_400() {
        let request = Request::builder().uri("/f?x=%FF").body(Bytes::new()).unwrap();
        assert_eq!(QueryParams::of(&request).unwrap_err().code, "invalid_query");
        assert!(QueryParams::of(&Request::new(Bytes::new())).unwrap().finish().is_ok());
    }
}
