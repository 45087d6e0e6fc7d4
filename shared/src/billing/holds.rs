//! Held card payments (pilot purchases paid with `capture_method=manual`): what an admin's
//! capture or cancel does to a hold in each state, and which open holds the hourly job cancels
//! or warns about. Pure; the functions do the I/O.

use serde::Deserialize;
use uuid::Uuid;

use crate::runtime::UnixSeconds;

/// Cancel a hold this close to its capture deadline: Stripe lets the authorisation lapse at the
/// deadline, and the job runs hourly, so six hours leave room for a missed run.
pub const CANCEL_BEFORE_DEADLINE: UnixSeconds = 6 * 3600;

/// Warn the billing admins this long before the deadline (recorded in `warned_at`, once).
pub const WARN_BEFORE_DEADLINE: UnixSeconds = 2 * 24 * 3600;

/// A row of `payment_holds` as the functions read it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, serde::Serialize)]
pub struct Hold {
    pub id: Uuid,
    pub org_id: Uuid,
    pub stripe_payment_intent_id: String,
    pub amount_cents: i64,
    pub currency: String,
    pub status: String,
    pub description: String,
    /// As PostgREST writes a timestamptz; [`parse_timestamp`] reads it.
    pub capture_before: String,
    #[serde(default)]
    pub warned_at: Option<String>,
}

/// What the admin asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Settlement {
    Capture,
    Cancel,
}

impl Settlement {
    /// The hold's status once done.
    pub fn outcome(self) -> &'static str {
        match self {
            Self::Capture => "captured",
            Self::Cancel => "canceled",
        }
    }

    /// Stripe's endpoint for it.
    pub fn stripe_path(self, payment_intent: &str) -> String {
        match self {
            Self::Capture => format!("/v1/payment_intents/{payment_intent}/capture"),
            Self::Cancel => format!("/v1/payment_intents/{payment_intent}/cancel"),
        }
    }
}

/// What to do with a hold in `status` asked to be settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Ask Stripe, then record it.
    Settle,
    /// Already in the asked state (a retry): answer it as it is.
    AlreadyDone,
    /// Settled the other way, or expired: nothing can be done.
    Refused,
}

pub fn step(status: &str, asked: Settlement) -> Step {
    match status {
        "requires_capture" => Step::Settle,
        done if done == asked.outcome() => Step::AlreadyDone,
        _ => Step::Refused,
    }
}

/// What the hourly job does with one open hold at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    Cancel,
    Warn,
    Nothing,
}

pub fn due(capture_before: UnixSeconds, warned: bool, now: UnixSeconds) -> Due {
    let left = capture_before.saturating_sub(now);
    if left <= CANCEL_BEFORE_DEADLINE {
        Due::Cancel
    } else if left <= WARN_BEFORE_DEADLINE && !warned {
        Due::Warn
    } else {
        Due::Nothing
    }
}

/// Seconds since the epoch of a PostgREST timestamp (`2026-11-24T23:00:00+00:00`, any offset,
/// fractions allowed).
pub fn parse_timestamp(text: &str) -> Option<UnixSeconds> {
    let parsed = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    u64::try_from(parsed.timestamp()).ok()
}

/// `now` as the timestamp PostgREST filters take.
pub fn timestamp(now: UnixSeconds) -> String {
    chrono::DateTime::from_timestamp(i64::try_from(now).unwrap_or(i64::MAX), 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn an_open_hold_is_settled_a_settled_one_answered_or_refused() {
        assert_eq!(step("requires_capture", Settlement::Capture), Step::Settle);
        assert_eq!(step("captured", Settlement::Capture), Step::AlreadyDone);
        assert_eq!(step("canceled", Settlement::Cancel), Step::AlreadyDone);
        assert_eq!(step("captured", Settlement::Cancel), Step::Refused);
        assert_eq!(step("expired", Settlement::Capture), Step::Refused);
        assert_eq!(step("expired", Settlement::Cancel), Step::Refused);
    }

    #[test]
    fn the_job_cancels_near_the_deadline_and_warns_once_before() {
        let deadline = 1_800_000_000;
        assert_eq!(due(deadline, false, deadline - 3 * 24 * 3600), Due::Nothing);
        assert_eq!(due(deadline, false, deadline - 47 * 3600), Due::Warn);
        assert_eq!(due(deadline, true, deadline - 47 * 3600), Due::Nothing);
        assert_eq!(due(deadline, true, deadline - 6 * 3600), Due::Cancel);
        assert_eq!(due(deadline, false, deadline + 60), Due::Cancel);
    }

    proptest! {
        #[test]
        fn a_hold_is_never_left_to_lapse_unnoticed(left in 0u64..10 * 24 * 3600, warned: bool) {
            let now = 1_800_000_000;
            let answer = due(now + left, warned, now);
            prop_assert_eq!(answer == Due::Cancel, left <= CANCEL_BEFORE_DEADLINE);
            if left <= WARN_BEFORE_DEADLINE && !warned {
                prop_assert_ne!(answer, Due::Nothing);
            }
        }

        #[test]
        fn timestamps_read_back(now in 0u64..4_000_000_000) {
            prop_assert_eq!(parse_timestamp(&timestamp(now)), Some(now));
        }
    }

    #[test]
    fn postgrest_timestamps_parse_with_any_offset() {
        assert_eq!(parse_timestamp("2027-01-15T08:00:00+00:00"), Some(1_800_000_000));
        assert_eq!(parse_timestamp("2027-01-15T09:30:00.25+01:30"), Some(1_800_000_000));
        assert_eq!(parse_timestamp("yesterday"), None);
    }
}
