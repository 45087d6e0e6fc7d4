//! Validated values: each parses from YAML or fails with a reason, which serde reports at the
//! value's line.

use std::fmt;

use serde::Deserialize;

/// A stable identifier: lower-case letters, digits and `_`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Key(String);

impl TryFrom<String> for Key {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        let mut chars = value.chars();
        let starts_well = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if starts_well && rest_ok && value.len() <= 63 {
            Ok(Self(value))
        } else {
            Err(format!(
                "`{value}` is not a key (a-z first, then a-z, 0-9 or _, at most 63 characters)"
            ))
        }
    }
}

impl Key {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A share in (0, 1] with at most five decimals, as the database's numeric(6, 5) holds it.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(try_from = "f64")]
pub struct Rate(f64);

impl TryFrom<f64> for Rate {
    type Error = String;
    fn try_from(value: f64) -> Result<Self, String> {
        if !(value > 0.0 && value <= 1.0) {
            return Err(format!("{value} is not a rate in (0, 1]"));
        }
        let scaled = value * 100_000.0;
        if (scaled - scaled.round()).abs() > 1e-6 {
            return Err(format!("{value} has more than five decimals"));
        }
        Ok(Self(value))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.5}", self.0)
    }
}

/// A positive amount of money in the currency's minor unit (cents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct Cents(i64);

impl TryFrom<i64> for Cents {
    type Error = String;
    fn try_from(value: i64) -> Result<Self, String> {
        if value < 0 {
            Err(format!("{value} is negative; amounts are whole cents, zero or more"))
        } else {
            Ok(Self(value))
        }
    }
}

impl Cents {
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A whole number of at least one (seats, SIMs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct Count(i32);

impl TryFrom<i64> for Count {
    type Error = String;
    fn try_from(value: i64) -> Result<Self, String> {
        i32::try_from(value)
            .ok()
            .filter(|v| *v >= 1)
            .map(Self)
            .ok_or_else(|| format!("{value} is not a count of at least 1"))
    }
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Days an organization keeps full access after a failed payment, 0 to 60 as the plans table
/// allows; a week by default, about as long as Stripe's retries of the invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct GraceDays(i16);

impl TryFrom<i64> for GraceDays {
    type Error = String;
    fn try_from(value: i64) -> Result<Self, String> {
        i16::try_from(value)
            .ok()
            .filter(|v| (0..=60).contains(v))
            .map(Self)
            .ok_or_else(|| format!("{value} is not a grace period of 0 to 60 days"))
    }
}

impl Default for GraceDays {
    fn default() -> Self {
        Self(7)
    }
}

impl fmt::Display for GraceDays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An ISO 4217 code in lower case, as Stripe writes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Currency(String);

impl TryFrom<String> for Currency {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        if value.len() == 3 && value.chars().all(|c| c.is_ascii_lowercase()) {
            Ok(Self(value))
        } else {
            Err(format!("`{value}` is not a lower-case ISO 4217 code such as usd"))
        }
    }
}

impl Currency {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Text that is not blank and not longer than `MAX` characters.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Name<const MAX: usize>(String);

impl<const MAX: usize> TryFrom<String> for Name<MAX> {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        let length = value.trim().chars().count();
        if length == 0 {
            Err("must not be blank".to_owned())
        } else if length > MAX {
            Err(format!("is {length} characters long; at most {MAX}"))
        } else {
            Ok(Self(value.trim().to_owned()))
        }
    }
}

impl<const MAX: usize> Name<MAX> {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A billing interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interval {
    Month,
    Year,
}

impl Interval {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Month => "month",
            Self::Year => "year",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<T: TryFrom<V, Error = String>, V>(value: V, ok: bool) {
        assert_eq!(T::try_from(value).is_ok(), ok);
    }

    #[test]
    fn keys_are_lower_snake_case() {
        check::<Key, _>("voice_ai".to_owned(), true);
        check::<Key, _>("a1".to_owned(), true);
        for bad in ["", "Voice", "1a", "a-b", "a b", &"a".repeat(64)] {
            check::<Key, _>(bad.to_owned(), false);
        }
    }

    #[test]
    fn rates_lie_in_zero_to_one_with_five_decimals() {
        check::<Rate, _>(1.0, true);
        check::<Rate, _>(0.00001, true);
        check::<Rate, _>(0.0175, true);
        for bad in [0.0, -0.1, 1.01, 0.123456, f64::NAN] {
            check::<Rate, _>(bad, false);
        }
        assert_eq!(Rate::try_from(0.1).unwrap().to_string(), "0.10000");
    }

    #[test]
    fn amounts_and_counts_have_their_bounds() {
        check::<Cents, _>(0, true);
        check::<Cents, _>(-1, false);
        check::<Count, _>(1, true);
        check::<Count, _>(0, false);
        check::<Count, _>(i64::MAX, false);
        check::<GraceDays, _>(0, true);
        check::<GraceDays, _>(60, true);
        check::<GraceDays, _>(61, false);
        check::<GraceDays, _>(-1, false);
    }

    #[test]
    fn currencies_and_names_are_checked() {
        check::<Currency, _>("usd".to_owned(), true);
        check::<Currency, _>("USD".to_owned(), false);
        check::<Name<5>, _>(" abc ".to_owned(), true);
        check::<Name<5>, _>("   ".to_owned(), false);
        check::<Name<5>, _>("abcdef".to_owned(), false);
        assert_eq!(Name::<5>::try_from(" abc ".to_owned()).unwrap().as_str(), "abc");
    }
}
