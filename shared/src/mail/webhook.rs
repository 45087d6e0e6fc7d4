//! Mailgun's webhooks, in the JSON form Mailgun sends them:
//! `{"signature": {"timestamp", "token", "signature"}, "event-data": {…}}`.
//!
//! The signature is the hex HMAC-SHA256 of `timestamp` followed by `token` (no separator) under
//! the webhook signing key. It covers those two values and nothing else: `event-data` is not
//! signed. A signature is therefore good for one delivery only: the database keeps every token it
//! accepted for longer than a signature stays fresh ([`MAX_AGE_SECONDS`]) and refuses one it has
//! seen, so a captured delivery cannot be replayed, neither as it was nor with another event.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use sha2::Sha256;
use uuid::Uuid;

use crate::hex;
use crate::runtime::UnixSeconds;

/// How old a signature may be. Mailgun retries a delivery we did not take for 8 hours (after 5,
/// 10 and 15 minutes, then 1, 2 and 4 hours) and does not document whether a retry is signed
/// again; a shorter window would drop exactly the retried events. The window only bounds how long
/// tokens are kept: a replay inside it is refused by its token, not by the clock.
pub const MAX_AGE_SECONDS: UnixSeconds = 9 * 60 * 60;

/// How far ahead of our clock a signature may be: clock skew, not retries.
pub const MAX_AHEAD_SECONDS: UnixSeconds = 300;

/// The longest token accepted (Mailgun's have 50 characters); the token table checks the same.
pub const MAX_TOKEN_CHARS: usize = 200;

/// The most characters kept of Mailgun's explanation of a failure (`delivery-status`).
pub const MAX_DETAIL_CHARS: usize = 1000;

/// The most characters kept of Mailgun's short reason and of the message's `Message-Id`.
pub const MAX_REASON_CHARS: usize = 200;
pub const MAX_MESSAGE_ID_CHARS: usize = 500;

/// The user variable the sender sets to the outbox row an e-mail belongs to
/// (`v:salespulse_batch_id` when sending).
pub const BATCH_ID_VARIABLE: &str = "salespulse_batch_id";

/// A delivery as Mailgun posts it; other top-level fields are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct Delivery {
    pub signature: Signature,
    /// Read after the signature is checked, by [`read_event`].
    #[serde(rename = "event-data")]
    pub event_data: Value,
}

/// The `signature` object. Its `parent-signature` (subaccounts' events, signed with the primary
/// account's key) is not read: the endpoint is configured with one key.
#[derive(Debug, Clone, Deserialize)]
pub struct Signature {
    /// Unix seconds, kept as written since the text is what was signed. Mailgun sends a string;
    /// its documentation's table says integer, so a JSON number is accepted too.
    #[serde(deserialize_with = "seconds_as_written")]
    pub timestamp: String,
    pub token: String,
    /// Hex digest.
    pub signature: String,
}

fn seconds_as_written<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Text(String),
        Number(u64),
    }
    Ok(match Written::deserialize(deserializer)? {
        Written::Text(text) => text,
        Written::Number(seconds) => seconds.to_string(),
    })
}

/// Why a signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// The timestamp is not a number of seconds, or the token is empty or too long.
    Malformed,
    /// The digest does not match the timestamp and token under the key.
    Mismatch,
    /// Signed more than [`MAX_AGE_SECONDS`] ago.
    Stale,
    /// Signed more than [`MAX_AHEAD_SECONDS`] ahead of our clock.
    Ahead,
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SignatureError::Malformed => "the signature's timestamp or token is malformed",
            SignatureError::Mismatch => "the signature does not match the timestamp and token",
            SignatureError::Stale => "the signature is too old",
            SignatureError::Ahead => "the signature's timestamp is ahead of our clock",
        })
    }
}

/// Checks `signature` under the webhook signing `key` at time `now`; answers the signed time.
/// The digest is compared in constant time, and before the clock, so a forger learns nothing
/// about freshness.
pub fn verify(
    signature: &Signature,
    key: &str,
    now: UnixSeconds,
) -> Result<UnixSeconds, SignatureError> {
    let signed_at = parse_seconds(&signature.timestamp).ok_or(SignatureError::Malformed)?;
    let token_chars = signature.token.chars().count();
    if token_chars == 0 || token_chars > MAX_TOKEN_CHARS {
        return Err(SignatureError::Malformed);
    }
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(signature.timestamp.as_bytes());
    mac.update(signature.token.as_bytes());
    let matches =
        hex::decode(&signature.signature).is_some_and(|digest| mac.verify_slice(&digest).is_ok());
    if !matches {
        return Err(SignatureError::Mismatch);
    }
    if signed_at.saturating_add(MAX_AGE_SECONDS) < now {
        return Err(SignatureError::Stale);
    }
    if signed_at > now.saturating_add(MAX_AHEAD_SECONDS) {
        return Err(SignatureError::Ahead);
    }
    Ok(signed_at)
}

/// Digits only: no sign, no exponent, no fraction, nothing that would sign differently than it reads.
fn parse_seconds(text: &str) -> Option<UnixSeconds> {
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| text.parse().ok()).flatten()
}

/// What an event is about, for the events the platform records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// The recipient's server accepted the message.
    Delivered,
    /// Mailgun could not deliver it ([`Severity`] says whether it will try again).
    Failed,
    /// The recipient marked it as spam.
    Complained,
    /// The recipient followed Mailgun's unsubscribe link.
    Unsubscribed,
}

/// A failure's severity: Mailgun gave up (`permanent`) or will retry (`temporary`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Permanent,
    Temporary,
}

/// One recorded event, parsed from `event-data`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MailEvent {
    /// Mailgun's event id; unique within a day only, so it identifies the event with `occurred_at`.
    pub event_id: String,
    pub kind: EventKind,
    /// Set for failures only.
    pub severity: Option<Severity>,
    /// The address, trimmed (the database lower-cases it).
    pub recipient: String,
    /// Mailgun's short reason (`bounce`, `suppress-bounce`, `generic`, …), empty when none.
    pub reason: String,
    /// The receiving server's answer (`delivery-status`: code and message), empty when none.
    pub detail: String,
    /// When it happened: Unix seconds with Mailgun's fraction.
    pub occurred_at: f64,
    /// The outbox row the e-mail was sent for (user variable [`BATCH_ID_VARIABLE`]), when it is one.
    pub batch_id: Option<Uuid>,
    pub message_id: Option<String>,
}

/// What `event-data` reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Reported {
    /// One of the events the platform records.
    Event(MailEvent),
    /// Any other event type (`accepted`, `opened`, `clicked`, …), named: nothing to record.
    Other(String),
}

/// Why a signed `event-data` cannot be recorded; names the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventError(pub String);

impl std::fmt::Display for EventError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads `event-data`. Only what the event type needs is required; extra fields are ignored.
pub fn read_event(data: &Value) -> Result<Reported, EventError> {
    let kind = match required_text(data, "event")? {
        "delivered" => EventKind::Delivered,
        "failed" => EventKind::Failed,
        "complained" => EventKind::Complained,
        "unsubscribed" => EventKind::Unsubscribed,
        other => return Ok(Reported::Other(other.to_owned())),
    };
    let event_id = required_text(data, "id")?;
    if event_id.chars().count() > MAX_REASON_CHARS {
        return Err(invalid("id", "is too long"));
    }
    let occurred_at = data["timestamp"]
        .as_f64()
        .filter(|seconds| seconds.is_finite() && *seconds > 0.0)
        .ok_or_else(|| invalid("timestamp", "must be a positive number of seconds"))?;
    let severity = match (kind, data["severity"].as_str()) {
        (EventKind::Failed, Some("permanent")) => Some(Severity::Permanent),
        (EventKind::Failed, Some("temporary")) => Some(Severity::Temporary),
        (EventKind::Failed, _) => {
            return Err(invalid("severity", "must be permanent or temporary"));
        }
        _ => None,
    };
    Ok(Reported::Event(MailEvent {
        event_id: event_id.to_owned(),
        kind,
        severity,
        recipient: recipient(data)?,
        reason: clipped(data["reason"].as_str().unwrap_or(""), MAX_REASON_CHARS),
        detail: clipped(&delivery_detail(&data["delivery-status"]), MAX_DETAIL_CHARS),
        occurred_at,
        batch_id: data["user-variables"][BATCH_ID_VARIABLE]
            .as_str()
            .and_then(|id| Uuid::try_parse(id).ok()),
        message_id: data["message"]["headers"]["message-id"]
            .as_str()
            .filter(|id| !id.is_empty())
            .map(|id| clipped(id, MAX_MESSAGE_ID_CHARS)),
    }))
}

fn invalid(field: &str, problem: &str) -> EventError {
    EventError(format!("event-data.{field} {problem}"))
}

fn required_text<'a>(data: &'a Value, field: &str) -> Result<&'a str, EventError> {
    data[field]
        .as_str()
        .filter(|text| !text.trim().is_empty())
        .ok_or_else(|| invalid(field, "must be a non-empty string"))
}

/// The recipient as `email_suppressions` stores addresses: an `@` with something on both sides,
/// at most 320 characters.
fn recipient(data: &Value) -> Result<String, EventError> {
    let address = required_text(data, "recipient")?.trim();
    let characters: Vec<char> = address.chars().collect();
    let has_both_sides =
        characters.len() >= 3 && characters[1..characters.len() - 1].contains(&'@');
    if !has_both_sides || characters.len() > 320 || address.chars().any(char::is_whitespace) {
        return Err(invalid("recipient", "is not an e-mail address"));
    }
    Ok(address.to_owned())
}

/// `delivery-status` as one line: the SMTP code and the server's message (else Mailgun's
/// description), e.g. `550 5.1.1 mailbox does not exist`.
fn delivery_detail(status: &Value) -> String {
    let code = status["code"].as_i64().map(|code| code.to_string());
    let explanation = [&status["message"], &status["description"]]
        .into_iter()
        .filter_map(Value::as_str)
        .map(str::trim)
        .find(|text| !text.is_empty());
    [code.as_deref(), explanation].into_iter().flatten().collect::<Vec<_>>().join(" ")
}

fn clipped(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::testing::mailgun_signature;

    const KEY: &str = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0";
    const NOW: UnixSeconds = 1_764_028_800;
    const TOKEN: &str = "c0ffee0123456789abcdef0123456789abcdef0123456789ab";
    // `printf '%s' "1764028800$TOKEN" | openssl dgst -sha256 -hmac "$KEY"`, and with the key
    // `another-signing-key`: digests computed outside this code.
    const SIGNED_BY_KEY: &str = "bbcc0094e43789661c166cf434c13ba4a3d014044af09368dcb0dd7cab3031cc";
    const SIGNED_BY_OTHER: &str =
        "d4e33587defa040d696175762327a61e1369c10ff1b9e0158cd3ecfc49ef40de";

    fn signature(timestamp: &str, token: &str, digest: &str) -> Signature {
        Signature {
            timestamp: timestamp.to_owned(),
            token: token.to_owned(),
            signature: digest.to_owned(),
        }
    }

    fn signed(timestamp: UnixSeconds, token: &str) -> Signature {
        signature(&timestamp.to_string(), token, &mailgun_signature(KEY, timestamp, token))
    }

    #[test]
    fn the_known_vector_verifies_and_the_test_signer_agrees_with_openssl() {
        let known = signature("1764028800", TOKEN, SIGNED_BY_KEY);
        assert_eq!(verify(&known, KEY, NOW), Ok(NOW));
        assert_eq!(mailgun_signature(KEY, NOW, TOKEN), SIGNED_BY_KEY);
        assert_eq!(mailgun_signature("another-signing-key", NOW, TOKEN), SIGNED_BY_OTHER);
    }

    #[test]
    fn another_key_a_changed_timestamp_or_token_or_digest_is_a_mismatch() {
        let cases = [
            signature("1764028800", TOKEN, SIGNED_BY_OTHER),
            signature("1764028801", TOKEN, SIGNED_BY_KEY),
            signature("1764028800", &TOKEN.replace("c0ffee", "c0ffef"), SIGNED_BY_KEY),
            signature("1764028800", TOKEN, &SIGNED_BY_KEY.replace("bbcc", "bbcd")),
            signature("1764028800", TOKEN, &SIGNED_BY_KEY[..62]),
            signature("1764028800", TOKEN, &format!("zz{}", &SIGNED_BY_KEY[2..])),
            signature("1764028800", TOKEN, ""),
        ];
        for case in cases {
            assert_eq!(verify(&case, KEY, NOW), Err(SignatureError::Mismatch), "{case:?}");
        }
    }

    #[test]
    fn upper_case_hex_verifies() {
        let upper = signature("1764028800", TOKEN, &SIGNED_BY_KEY.to_uppercase());
        assert_eq!(verify(&upper, KEY, NOW), Ok(NOW));
    }

    #[test]
    fn nine_hours_back_and_five_minutes_ahead_are_the_limits() {
        for signed_at in [NOW - MAX_AGE_SECONDS, NOW + MAX_AHEAD_SECONDS] {
            assert_eq!(verify(&signed(signed_at, TOKEN), KEY, NOW), Ok(signed_at));
        }
        let stale = signed(NOW - MAX_AGE_SECONDS - 1, TOKEN);
        assert_eq!(verify(&stale, KEY, NOW), Err(SignatureError::Stale));
        let ahead = signed(NOW + MAX_AHEAD_SECONDS + 1, TOKEN);
        assert_eq!(verify(&ahead, KEY, NOW), Err(SignatureError::Ahead));
    }

    #[test]
    fn a_forged_signature_is_a_mismatch_however_old_or_new() {
        for signed_at in [0, NOW - MAX_AGE_SECONDS - 1, NOW + 3600] {
            let forged = signature(&signed_at.to_string(), TOKEN, SIGNED_BY_OTHER);
            assert_eq!(verify(&forged, KEY, NOW), Err(SignatureError::Mismatch));
        }
    }

    #[test]
    fn malformed_timestamps_and_tokens_are_refused_before_any_digest() {
        let long_token = "t".repeat(MAX_TOKEN_CHARS + 1);
        for (timestamp, token) in [
            ("", TOKEN),
            ("-5", TOKEN),
            ("+1764028800", TOKEN),
            ("1764028800.5", TOKEN),
            ("1.7e9", TOKEN),
            (" 1764028800", TOKEN),
            ("99999999999999999999999", TOKEN),
            ("1764028800", ""),
            ("1764028800", long_token.as_str()),
        ] {
            let case = signature(timestamp, token, SIGNED_BY_KEY);
            assert_eq!(verify(&case, KEY, NOW), Err(SignatureError::Malformed), "{case:?}");
        }
        let longest = "t".repeat(MAX_TOKEN_CHARS);
        assert_eq!(verify(&signed(NOW, &longest), KEY, NOW), Ok(NOW));
    }

    #[test]
    fn the_timestamp_may_come_as_a_string_or_a_number() {
        for timestamp in [json!("1764028800"), json!(1_764_028_800u64)] {
            let delivery: Delivery = serde_json::from_value(json!({
                "signature": {"timestamp": timestamp, "token": TOKEN, "signature": SIGNED_BY_KEY},
                "event-data": {}
            }))
            .unwrap();
            assert_eq!(verify(&delivery.signature, KEY, NOW), Ok(NOW));
        }
        let fraction = serde_json::from_value::<Delivery>(json!({
            "signature": {"timestamp": 1.5, "token": TOKEN, "signature": SIGNED_BY_KEY},
            "event-data": {}
        }));
        assert!(fraction.is_err());
    }

    #[test]
    fn every_refusal_has_its_own_message() {
        let messages: std::collections::HashSet<String> = [
            SignatureError::Malformed,
            SignatureError::Mismatch,
            SignatureError::Stale,
            SignatureError::Ahead,
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(messages.len(), 4);
    }

    /// A `failed` event as Mailgun's documentation shows one, trimmed to what matters here.
    fn permanent_failure() -> Value {
        json!({
            "event": "failed",
            "id": "G9Bn5sl1TC6nu79C8C0bwg",
            "timestamp": 1_764_028_790.375_624,
            "log-level": "error",
            "severity": "permanent",
            "reason": "bounce",
            "recipient": " Rep@Example.test ",
            "delivery-status": {"attempt-no": 1, "code": 550,
                                "message": "5.1.1 The email account does not exist",
                                "description": "", "session-seconds": 0.1},
            "message": {"headers": {"message-id": "batch-1@mg.salespulse.test",
                                    "to": "rep@example.test", "subject": "New messages"}},
            "user-variables": {"salespulse_batch_id": "5f0c8a8e-3d3c-4b55-9a7f-2b9d1c4e6f10"},
            "flags": {"is-test-mode": false},
        })
    }

    fn event_of(data: &Value) -> MailEvent {
        match read_event(data) {
            Ok(Reported::Event(event)) => event,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    #[test]
    fn a_permanent_failure_is_read_with_its_detail_and_batch() {
        assert_eq!(
            event_of(&permanent_failure()),
            MailEvent {
                event_id: "G9Bn5sl1TC6nu79C8C0bwg".into(),
                kind: EventKind::Failed,
                severity: Some(Severity::Permanent),
                recipient: "Rep@Example.test".into(),
                reason: "bounce".into(),
                detail: "550 5.1.1 The email account does not exist".into(),
                occurred_at: 1_764_028_790.375_624,
                batch_id: Some(Uuid::from_u128(0x5f0c8a8e_3d3c_4b55_9a7f_2b9d1c4e6f10)),
                message_id: Some("batch-1@mg.salespulse.test".into()),
            }
        );
    }

    #[test]
    fn each_recorded_type_is_read_and_only_failures_carry_a_severity() {
        let mut temporary = permanent_failure();
        temporary["severity"] = json!("temporary");
        assert_eq!(event_of(&temporary).severity, Some(Severity::Temporary));
        for (kind, expected) in [
            ("delivered", EventKind::Delivered),
            ("complained", EventKind::Complained),
            ("unsubscribed", EventKind::Unsubscribed),
        ] {
            let data = json!({"event": kind, "id": "e1", "timestamp": 1_764_028_790,
                              "recipient": "rep@example.test", "severity": "permanent"});
            let event = event_of(&data);
            assert_eq!((event.kind, event.severity), (expected, None), "{kind}");
            assert_eq!((event.detail.as_str(), event.batch_id, event.message_id), ("", None, None));
        }
    }

    #[test]
    fn other_event_types_are_named_and_need_nothing_else() {
        for kind in ["accepted", "opened", "clicked", "rejected", "stored"] {
            assert_eq!(read_event(&json!({"event": kind})), Ok(Reported::Other(kind.to_owned())));
        }
    }

    #[test]
    fn the_detail_falls_back_to_the_description_and_is_clipped() {
        let mut failure = permanent_failure();
        failure["delivery-status"] = json!({"code": 605, "message": "", "description": "Not delivering to previously bounced address"});
        assert_eq!(event_of(&failure).detail, "605 Not delivering to previously bounced address");
        failure["delivery-status"] = json!({"message": "é".repeat(MAX_DETAIL_CHARS + 5)});
        assert_eq!(event_of(&failure).detail.chars().count(), MAX_DETAIL_CHARS);
        failure["reason"] = json!("r".repeat(MAX_REASON_CHARS * 2));
        assert_eq!(event_of(&failure).reason.len(), MAX_REASON_CHARS);
    }

    #[test]
    fn a_batch_id_that_is_no_uuid_is_left_out() {
        let mut failure = permanent_failure();
        failure["user-variables"] = json!({"salespulse_batch_id": "b-1"});
        assert_eq!(event_of(&failure).batch_id, None);
        failure["user-variables"] = json!({"salespulse_batch_id": 7});
        assert_eq!(event_of(&failure).batch_id, None);
    }

    #[test]
    fn unusable_events_name_their_field() {
        let cases: [(&str, Value); 9] = [
            ("event", json!(null)),
            ("id", json!(null)),
            ("id", json!("x".repeat(MAX_REASON_CHARS + 1))),
            ("timestamp", json!("yesterday")),
            ("timestamp", json!(-1)),
            ("severity", json!("fatal")),
            ("recipient", json!("not-an-address")),
            ("recipient", json!("a b@example.test")),
            ("recipient", json!(format!("{}@example.test", "a".repeat(320)))),
        ];
        for (field, value) in cases {
            let mut failure = permanent_failure();
            failure[field] = value;
            let error = read_event(&failure).unwrap_err();
            assert!(error.0.starts_with(&format!("event-data.{field} ")), "{error}");
        }
        assert!(read_event(&json!("not an object")).is_err());
    }

    #[test]
    fn an_address_needs_something_on_both_sides_of_an_at() {
        for address in ["@example.test", "rep@", "@", "a@"] {
            let mut failure = permanent_failure();
            failure["recipient"] = json!(address);
            assert!(read_event(&failure).is_err(), "{address}");
        }
        let mut failure = permanent_failure();
        failure["recipient"] = json!("a@b");
        assert_eq!(event_of(&failure).recipient, "a@b");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn whatever_is_signed_inside_the_window_verifies(
            key in "[ -~]{1,60}",
            token in "[0-9a-z]{1,200}",
            offset in -(MAX_AGE_SECONDS as i64)..=(MAX_AHEAD_SECONDS as i64),
        ) {
            let signed_at = NOW.checked_add_signed(offset).unwrap();
            let signature = signature(
                &signed_at.to_string(), &token, &mailgun_signature(&key, signed_at, &token));
            prop_assert_eq!(verify(&signature, &key, NOW), Ok(signed_at));
        }

        #[test]
        fn changing_any_character_of_the_token_breaks_the_signature(
            position in 0..TOKEN.len(),
            replacement in proptest::char::range('a', 'z'),
        ) {
            let mut token: Vec<char> = TOKEN.chars().collect();
            prop_assume!(token[position] != replacement);
            token[position] = replacement;
            let token: String = token.into_iter().collect();
            let tampered = signature("1764028800", &token, SIGNED_BY_KEY);
            prop_assert_eq!(verify(&tampered, KEY, NOW), Err(SignatureError::Mismatch));
        }

        #[test]
        fn no_signature_text_makes_the_verifier_panic(
            timestamp in ".{0,30}", token in ".{0,60}", digest in ".{0,80}",
        ) {
            let _ = verify(&signature(&timestamp, &token, &digest), KEY, NOW);
        }
    }
}
