//! Verification of Stripe's `Stripe-Signature` webhook header.
//!
//! Stripe signs `"{t}.{raw body}"` with HMAC-SHA256 under the endpoint's secret and sends
//! `t=<unix seconds>,v1=<hex>[,v1=<hex>…]` (other schemes such as `v0` are ignored). While a
//! secret is being rolled, an event carries one `v1` per live secret, so any match is enough.
//! The timestamp is covered by the signature, so bounding its age bounds replays.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::hex;
use crate::runtime::UnixSeconds;

/// How far the signed timestamp may be from now, either way (Stripe's libraries use 300 s).
pub const TOLERANCE_SECONDS: u64 = 300;

/// Why a webhook's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// The header is not a list of `key=value` pairs with exactly one numeric `t`.
    Malformed,
    /// The header carries no `v1` signature at all.
    NoSignature,
    /// No `v1` signature matches the body under the secret.
    Mismatch,
    /// The signature matches but was made more than [`TOLERANCE_SECONDS`] away from now.
    Stale,
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SignatureError::Malformed => "the Stripe-Signature header is malformed",
            SignatureError::NoSignature => "the Stripe-Signature header has no v1 signature",
            SignatureError::Mismatch => "no v1 signature matches the body",
            SignatureError::Stale => "the signature's timestamp is outside the tolerance",
        })
    }
}

/// Checks `header` against the raw `body` and the endpoint `secret` at time `now`; answers the
/// signed timestamp. The body must be the bytes as received: re-serialized JSON would not match.
pub fn verify(
    header: &str,
    body: &[u8],
    secret: &str,
    now: UnixSeconds,
) -> Result<UnixSeconds, SignatureError> {
    let parsed = parse(header)?;
    if parsed.v1.is_empty() {
        return Err(SignatureError::NoSignature);
    }
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(parsed.timestamp_text.as_bytes());
    mac.update(b".");
    mac.update(body);
    // `verify_slice` compares in constant time; every candidate is checked, match or not.
    let matched =
        parsed.v1.iter().filter_map(|v1| hex::decode(v1)).fold(false, |matched, candidate| {
            mac.clone().verify_slice(&candidate).is_ok() | matched
        });
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    if parsed.timestamp.abs_diff(now) > TOLERANCE_SECONDS {
        return Err(SignatureError::Stale);
    }
    Ok(parsed.timestamp)
}

struct Parsed<'a> {
    timestamp: UnixSeconds,
    /// `t` as sent: the signed string is built from these bytes, not from a reformatted number.
    timestamp_text: &'a str,
    v1: Vec<&'a str>,
}

fn parse(header: &str) -> Result<Parsed<'_>, SignatureError> {
    let mut timestamp = None;
    let mut v1 = Vec::new();
    for item in header.split(',') {
        let (key, value) = item.trim().split_once('=').ok_or(SignatureError::Malformed)?;
        match key {
            "t" if timestamp.is_none() => timestamp = Some(value),
            "t" => return Err(SignatureError::Malformed),
            "v1" => v1.push(value),
            _ => {}
        }
    }
    let timestamp_text = timestamp.ok_or(SignatureError::Malformed)?;
    let all_digits =
        !timestamp_text.is_empty() && timestamp_text.bytes().all(|b| b.is_ascii_digit());
    let timestamp = all_digits
        .then(|| timestamp_text.parse().ok())
        .flatten()
        .ok_or(SignatureError::Malformed)?;
    Ok(Parsed { timestamp, timestamp_text, v1 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::stripe_signature_header;
    use proptest::prelude::*;

    const SECRET: &str = "whsec_test_secret";
    const NOW: UnixSeconds = 1_764_000_000;
    const BODY: &[u8] = br#"{"id":"evt_1","type":"invoice.paid"}"#;

    fn v1(secret: &str, timestamp: UnixSeconds, body: &[u8]) -> String {
        let header = stripe_signature_header(secret, timestamp, body);
        header.split_once(",v1=").expect("the header has a v1").1.to_string()
    }

    #[test]
    fn a_header_signed_with_the_secret_now_is_accepted() {
        let header = stripe_signature_header(SECRET, NOW, BODY);
        assert_eq!(verify(&header, BODY, SECRET, NOW), Ok(NOW));
    }

    #[test]
    fn a_changed_body_is_refused() {
        let header = stripe_signature_header(SECRET, NOW, BODY);
        let changed = br#"{"id":"evt_1","type":"invoice.paid" }"#;
        assert_eq!(verify(&header, changed, SECRET, NOW), Err(SignatureError::Mismatch));
    }

    #[test]
    fn another_secret_is_refused() {
        let header = stripe_signature_header("whsec_other", NOW, BODY);
        assert_eq!(verify(&header, BODY, SECRET, NOW), Err(SignatureError::Mismatch));
    }

    #[test]
    fn a_timestamp_changed_after_signing_is_refused() {
        let header = format!("t={},v1={}", NOW + 1, v1(SECRET, NOW, BODY));
        assert_eq!(verify(&header, BODY, SECRET, NOW), Err(SignatureError::Mismatch));
    }

    #[test]
    fn the_tolerance_is_300_seconds_either_way() {
        for signed_at in [NOW - 300, NOW + 300] {
            let header = stripe_signature_header(SECRET, signed_at, BODY);
            assert_eq!(verify(&header, BODY, SECRET, NOW), Ok(signed_at));
        }
        for signed_at in [NOW - 301, NOW + 301] {
            let header = stripe_signature_header(SECRET, signed_at, BODY);
            assert_eq!(verify(&header, BODY, SECRET, NOW), Err(SignatureError::Stale));
        }
    }

    #[test]
    fn any_of_several_v1_signatures_may_match_during_a_secret_roll() {
        let old = v1("whsec_old", NOW, BODY);
        let new = v1(SECRET, NOW, BODY);
        for header in [format!("t={NOW},v1={old},v1={new}"), format!("t={NOW},v1={new},v1={old}")] {
            assert_eq!(verify(&header, BODY, SECRET, NOW), Ok(NOW));
        }
    }

    #[test]
    fn other_schemes_are_ignored_and_never_accepted() {
        let signature = v1(SECRET, NOW, BODY);
        let with_v0 = format!("t={NOW},v0=deadbeef,v1={signature}");
        assert_eq!(verify(&with_v0, BODY, SECRET, NOW), Ok(NOW));
        let v0_only = format!("t={NOW},v0={signature}");
        assert_eq!(verify(&v0_only, BODY, SECRET, NOW), Err(SignatureError::NoSignature));
    }

    #[test]
    fn upper_case_hex_is_accepted_and_non_hex_does_not_match() {
        let signature = v1(SECRET, NOW, BODY);
        let upper = format!("t={NOW},v1={}", signature.to_uppercase());
        assert_eq!(verify(&upper, BODY, SECRET, NOW), Ok(NOW));
        let garbled = format!("t={NOW},v1=zz{}", &signature[2..]);
        assert_eq!(verify(&garbled, BODY, SECRET, NOW), Err(SignatureError::Mismatch));
        let odd = format!("t={NOW},v1={}", &signature[1..]);
        assert_eq!(verify(&odd, BODY, SECRET, NOW), Err(SignatureError::Mismatch));
    }

    #[test]
    fn malformed_headers_are_refused() {
        let signature = v1(SECRET, NOW, BODY);
        for header in [
            String::new(),
            format!("v1={signature}"),
            format!("t=,v1={signature}"),
            format!("t=-5,v1={signature}"),
            format!("t=+{NOW},v1={signature}"),
            format!("t=99999999999999999999999,v1={signature}"),
            format!("t={NOW},t={NOW},v1={signature}"),
            format!("t={NOW};v1={signature}"),
            format!("t={NOW},v1{signature}"),
        ] {
            assert_eq!(
                verify(&header, BODY, SECRET, NOW),
                Err(SignatureError::Malformed),
                "{header}"
            );
        }
    }

    #[test]
    fn every_refusal_has_its_own_message() {
        let messages: std::collections::HashSet<String> = [
            SignatureError::Malformed,
            SignatureError::NoSignature,
            SignatureError::Mismatch,
            SignatureError::Stale,
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(messages.len(), 4);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn whatever_is_signed_within_the_tolerance_verifies(
            body in proptest::collection::vec(any::<u8>(), 0..256),
            secret in "[ -~]{1,40}",
            skew in -300i64..=300,
        ) {
            let signed_at = NOW.checked_add_signed(skew).unwrap();
            let header = stripe_signature_header(&secret, signed_at, &body);
            prop_assert_eq!(verify(&header, &body, &secret, NOW), Ok(signed_at));
        }

        #[test]
        fn flipping_any_bit_of_the_body_breaks_the_signature(
            body in proptest::collection::vec(any::<u8>(), 1..256),
            bit in any::<prop::sample::Index>(),
        ) {
            let header = stripe_signature_header(SECRET, NOW, &body);
            let mut tampered = body.clone();
            let position = bit.index(body.len() * 8);
            tampered[position / 8] ^= 1 << (position % 8);
            prop_assert_eq!(verify(&header, &tampered, SECRET, NOW), Err(SignatureError::Mismatch));
        }

        #[test]
        fn no_header_text_makes_the_verifier_panic(header in ".{0,200}") {
            let _ = verify(&header, BODY, SECRET, NOW);
        }
    }
}
