//! Paid features as the database resolves them for the caller (`resolved_feature_flags()`: user,
//! organization, global flag, plan, add-on, default). Policies refuse gated writes anyway; asking
//! first lets a function answer `feature_disabled` instead of a bare 403.

use http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::postgrest::{Postgrest, send_json};
use crate::runtime::Ctx;

/// The code of the 403 a function answers when the caller's plan or flags lack a feature.
pub const FEATURE_DISABLED: &str = "feature_disabled";

#[derive(Debug, Deserialize)]
struct Flag {
    key: String,
    value: Value,
}

/// Every feature and its value for the caller of `client`, in one round trip.
async fn fetch(ctx: &Ctx, client: &Postgrest) -> Result<Vec<Flag>, ApiError> {
    send_json(ctx, client.rpc("resolved_feature_flags", &json!({}))?).await
}

/// The caller's resolved flags as the frontend's store loads them: feature key to value.
pub async fn resolved(ctx: &Ctx, client: &Postgrest) -> Result<Map<String, Value>, ApiError> {
    Ok(by_key(fetch(ctx, client).await?))
}

fn by_key(flags: Vec<Flag>) -> Map<String, Value> {
    flags.into_iter().map(|flag| (flag.key, flag.value)).collect()
}

/// Ok when `feature` resolves to `true` for the caller of `client`, else a 403
/// `feature_disabled`.
pub async fn require(ctx: &Ctx, client: &Postgrest, feature: &str) -> Result<(), ApiError> {
    let flags = fetch(ctx, client).await?;
    if is_on(&flags, feature) { Ok(()) } else { Err(disabled(feature)) }
}

fn is_on(flags: &[Flag], feature: &str) -> bool {
    flags.iter().any(|flag| flag.key == feature && flag.value == Value::Bool(true))
}

/// The 403 for a feature the caller does not have.
pub fn disabled(feature: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        FEATURE_DISABLED,
        format!("the {feature} feature is not enabled for your plan or account"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(json: Value) -> Vec<Flag> {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn only_a_true_value_switches_a_feature_on() {
        let list = flags(json!([
            {"key": "referral_rules", "value": true},
            {"key": "what_if", "value": false},
            {"key": "voice_ai", "value": "true"},
        ]));
        assert!(is_on(&list, "referral_rules"));
        assert!(!is_on(&list, "what_if"));
        assert!(!is_on(&list, "voice_ai"), "a string is not a switched-on flag");
        assert!(!is_on(&list, "messaging"), "an unknown feature is off");
    }

    #[test]
    fn the_resolved_set_maps_every_feature_to_its_value_as_the_database_sent_it() {
        let list = flags(json!([
            {"key": "csv_export", "value": true},
            {"key": "what_if", "value": false},
            {"key": "seats_hint", "value": {"max": 5}},
        ]));
        let expected = json!({"csv_export": true, "what_if": false, "seats_hint": {"max": 5}});
        assert_eq!(Value::Object(by_key(list)), expected);
    }

    #[test]
    fn a_disabled_feature_is_a_403_naming_it() {
        let error = disabled("what_if");
        assert_eq!((error.status.as_u16(), error.code), (403, FEATURE_DISABLED));
        assert!(error.message.contains("what_if"));
    }
}
