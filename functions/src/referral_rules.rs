//! `referral-rules`: how referrals help a member — extra deals (a close rate) and/or more
//! valuable referred deals (a value multiplier).
//!
//! - GET: the caller's rules (or with `user_id` a managed member's); `?id=`: one rule.
//! - POST: add a rule; PATCH `?id=`: change one. Both need the `referral_rules` feature
//!   (403 `feature_disabled` otherwise); the database refuses a new rule without it too.
//! - DELETE `?id=`. Reading and deleting stay open without the feature, so a downgrade loses
//!   nothing (as the feature-gate migration decides).

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use shared::auth::{self, Caller};
use shared::error::ApiError;
use shared::features;
use shared::http::{json_response, present, read_json};
use shared::postgrest::{Direction, Postgrest, send_json};
use shared::query::QueryParams;
use shared::runtime::Ctx;
use uuid::Uuid;

use crate::rows;

/// The feature flag that gates adding and changing rules.
pub const FEATURE: &str = "referral_rules";
const MAX_NAME_CHARS: usize = 200;
const MAX_MULTIPLIER: f64 = 100.0;
/// As the database's check allows.
const MAX_EXPECTED_REFERRALS: u32 = 100_000;

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    let method = request.method().clone();
    if !matches!(method, Method::GET | Method::POST | Method::PATCH | Method::DELETE) {
        return Err(ApiError::method_not_allowed("GET, POST, PATCH or DELETE"));
    }
    let caller = auth::authenticate(&request, ctx).await?;
    let client = Postgrest::as_caller(&ctx.config, &caller);
    match method {
        Method::GET => list(&request, ctx, &client, &caller).await,
        Method::DELETE => {
            caller.require_write()?;
            delete(&request, ctx, &client).await
        }
        _ => {
            caller.require_write()?;
            // Parse before asking for the flag: bad input is a 4xx without a round trip.
            let write = Write::parse(&request)?;
            features::require(ctx, &client, FEATURE).await?;
            write.send(ctx, &client, &caller).await
        }
    }
}

async fn list(
    request: &Request<Bytes>,
    ctx: &Ctx,
    client: &Postgrest,
    caller: &Caller,
) -> Result<Response<Bytes>, ApiError> {
    let mut query = QueryParams::of(request)?;
    if let Some(id) = query.parse::<Uuid>("id", "a rule id (UUID)")? {
        query.finish()?;
        let rule: Value =
            send_json(ctx, client.from("referral_rules").eq("id", id).single().get()?).await?;
        return Ok(json_response(StatusCode::OK, &json!({ "referral_rule": rule })));
    }
    let user_id = query.parse::<Uuid>("user_id", "a user id (UUID)")?.unwrap_or(caller.user_id);
    query.finish()?;
    let rules: Vec<Value> = send_json(
        ctx,
        client
            .from("referral_rules")
            .eq("user_id", user_id)
            .order("created_at", Direction::Ascending)
            .order("id", Direction::Ascending)
            .get()?,
    )
    .await?;
    Ok(json_response(StatusCode::OK, &json!({ "referral_rules": rules })))
}

/// A new rule, as sent.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct NewRule {
    name: String,
    #[serde(default)]
    referral_close_rate: Option<f64>,
    #[serde(default)]
    referred_value_multiplier: Option<f64>,
    /// Referrals expected a month; with a close rate, the goal engine plans with the rule.
    #[serde(default)]
    expected_referrals_per_month: Option<u32>,
    #[serde(default = "active")]
    active: bool,
}

fn active() -> bool {
    true
}

/// Changes to a rule; `null` clears the close rate or the multiplier (one must remain).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleChanges {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    referral_close_rate: Option<Option<f64>>,
    #[serde(default, deserialize_with = "present")]
    referred_value_multiplier: Option<Option<f64>>,
    #[serde(default, deserialize_with = "present")]
    expected_referrals_per_month: Option<Option<u32>>,
    #[serde(default)]
    active: Option<bool>,
}

/// A checked POST or PATCH.
enum Write {
    Add(NewRule),
    Change(Uuid, Map<String, Value>),
}

impl Write {
    fn parse(request: &Request<Bytes>) -> Result<Self, ApiError> {
        if request.method() == Method::POST {
            QueryParams::of(request)?.finish()?;
            let rule: NewRule = read_json(request)?;
            check_name(&rule.name)?;
            check_rates(rule.referral_close_rate, rule.referred_value_multiplier)?;
            check_expected(rule.expected_referrals_per_month)?;
            if rule.referral_close_rate.is_none() && rule.referred_value_multiplier.is_none() {
                return Err(ApiError::validation(
                    "body",
                    "give a referral_close_rate, a referred_value_multiplier or both",
                ));
            }
            return Ok(Self::Add(rule));
        }
        let id = rows::required_id(request, "a rule")?;
        let body: RuleChanges = read_json(request)?;
        let mut changes = Map::new();
        if let Some(name) = body.name {
            check_name(&name)?;
            changes.insert("name".into(), json!(name));
        }
        check_rates(body.referral_close_rate.flatten(), body.referred_value_multiplier.flatten())?;
        if let Some(rate) = body.referral_close_rate {
            changes.insert("referral_close_rate".into(), json!(rate));
        }
        if let Some(multiplier) = body.referred_value_multiplier {
            changes.insert("referred_value_multiplier".into(), json!(multiplier));
        }
        if let Some(expected) = body.expected_referrals_per_month {
            check_expected(expected)?;
            changes.insert("expected_referrals_per_month".into(), json!(expected));
        }
        if let Some(active) = body.active {
            changes.insert("active".into(), json!(active));
        }
        if changes.is_empty() {
            return Err(ApiError::validation("body", "change at least one field"));
        }
        Ok(Self::Change(id, changes))
    }

    async fn send(
        self,
        ctx: &Ctx,
        client: &Postgrest,
        caller: &Caller,
    ) -> Result<Response<Bytes>, ApiError> {
        match self {
            Self::Add(rule) => {
                let mut row = serde_json::to_value(&rule).map_err(|_| ApiError::internal())?;
                row["user_id"] = json!(caller.user_id);
                let added: Vec<Value> =
                    send_json(ctx, client.from("referral_rules").insert(&row)?).await?;
                let rule = added.into_iter().next().ok_or_else(ApiError::internal)?;
                Ok(json_response(StatusCode::CREATED, &json!({ "referral_rule": rule })))
            }
            Self::Change(id, changes) => {
                let changed: Vec<Value> =
                    send_json(ctx, client.from("referral_rules").eq("id", id).update(&changes)?)
                        .await?;
                let rule = changed.into_iter().next().ok_or_else(no_such_rule)?;
                Ok(json_response(StatusCode::OK, &json!({ "referral_rule": rule })))
            }
        }
    }
}

fn check_name(name: &str) -> Result<(), ApiError> {
    let length = name.trim().chars().count();
    if length == 0 || name.chars().count() > MAX_NAME_CHARS {
        Err(ApiError::validation("name", format!("must have 1 to {MAX_NAME_CHARS} characters")))
    } else {
        Ok(())
    }
}

fn check_rates(close_rate: Option<f64>, multiplier: Option<f64>) -> Result<(), ApiError> {
    if close_rate.is_some_and(|rate| !(rate > 0.0 && rate <= 1.0)) {
        return Err(ApiError::validation("referral_close_rate", "must be in (0, 1]"));
    }
    // A referred deal is worth at least a cold one: the goal engine plans with 1 to 100.
    if multiplier.is_some_and(|m| !(1.0..=MAX_MULTIPLIER).contains(&m)) {
        return Err(ApiError::validation(
            "referred_value_multiplier",
            format!("must be from 1 to {MAX_MULTIPLIER}"),
        ));
    }
    Ok(())
}

fn check_expected(expected: Option<u32>) -> Result<(), ApiError> {
    if expected.is_some_and(|n| n > MAX_EXPECTED_REFERRALS) {
        return Err(ApiError::validation(
            "expected_referrals_per_month",
            format!("must be at most {MAX_EXPECTED_REFERRALS}"),
        ));
    }
    Ok(())
}

async fn delete(
    request: &Request<Bytes>,
    ctx: &Ctx,
    client: &Postgrest,
) -> Result<Response<Bytes>, ApiError> {
    let id = rows::required_id(request, "a rule")?;
    let rule = rows::delete(ctx, client, "referral_rules", id).await?.ok_or_else(no_such_rule)?;
    Ok(json_response(StatusCode::OK, &json!({ "referral_rule": rule })))
}

fn no_such_rule() -> ApiError {
    ApiError::not_found("no referral rule of yours has this id")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{assert_names, call_as_user};

    fn refused(method: &str, query: &str, body: Value, field: &str) {
        assert_names(&call_as_user("referral-rules", method, query, &body), field);
    }

    #[test]
    fn bad_rules_are_refused_before_any_request() {
        refused("POST", "", json!({"name": "x"}), "body");
        refused("POST", "", json!({"name": " ", "referral_close_rate": 0.4}), "name");
        refused("POST", "", json!({"name": "x", "referral_close_rate": 0}), "referral_close_rate");
        refused(
            "POST",
            "",
            json!({"name": "x", "referral_close_rate": 1.5}),
            "referral_close_rate",
        );
        refused(
            "POST",
            "",
            json!({"name": "x", "referred_value_multiplier": 101}),
            "referred_value_multiplier",
        );
        refused("POST", "", json!({"name": "x", "bonus": 1}), "bonus");
        refused(
            "POST",
            "",
            json!({"name": "x", "referred_value_multiplier": 0.5}),
            "referred_value_multiplier",
        );
        refused(
            "POST",
            "",
            json!({"name": "x", "referral_close_rate": 0.5, "expected_referrals_per_month": 100_001}),
            "expected_referrals_per_month",
        );
        refused(
            "POST",
            "",
            json!({"name": "x", "referral_close_rate": 0.5, "expected_referrals_per_month": -1}),
            "expected_referrals_per_month",
        );
        refused("POST", "?id=1", json!({"name": "x", "referral_close_rate": 0.4}), "id");
        refused("PATCH", "", json!({"active": false}), "id");
        let id = "?id=3b0b5c1e-8a7d-4c55-9a0e-5a1f2d3c4b5a";
        refused("PATCH", id, json!({}), "body");
        refused("PATCH", id, json!({"referral_close_rate": -1}), "referral_close_rate");
        refused("DELETE", "", json!(null), "id");
        refused("GET", "?user_id=me", json!(null), "user_id");
    }
}
