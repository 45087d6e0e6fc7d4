//! `admin-sims`: SIM management. GET lists the SIMs the caller may read (retired ones included)
//! with their stages and per-organization availability; POST creates one, PUT replaces one's
//! fields and funnel, PATCH `{id, status}` retires or restores it and PATCH
//! `{id, availability: {org_id, offered}}` offers or withholds a global SIM for one
//! organization. Every write is one RPC with the caller's own token (`admin_save_sim`,
//! `admin_set_sim_status`, `admin_set_sim_availability`): the database checks who may manage
//! which SIM (platform admins every one, enterprise admins their organization's within its SIM
//! limit, no read-only session) and audits the change in the same transaction.
//!
//! Bodies are checked here first the way the goal engine reads a funnel, so a SIM saved here
//! always plans: the database checks the same rules again.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shared::auth::{self, Caller};
use shared::domain::goals::{Funnel, Rate, Stage};
use shared::error::ApiError;
use shared::http::{json_response, present, read_json};
use shared::postgrest::{Direction, Postgrest, send_json};
use shared::query::QueryParams;
use shared::runtime::Ctx;
use uuid::Uuid;

use crate::activities::ActivityType;

/// Most SIMs one page lists, and the page size when none is asked.
pub const MAX_PAGE: u64 = 200;
const DEFAULT_PAGE: u64 = 50;

const COLUMNS: &str = "*,sim_stages(position,key,name,activity_type,conversion_rate),\
                       sim_org_availability(org_id,offered)";

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    let caller = auth::authenticate(&request, ctx).await?;
    let client = Postgrest::as_caller(&ctx.config, &caller);
    match *request.method() {
        Method::GET => list(&request, ctx, &client).await,
        Method::POST => save(&request, ctx, &caller, &client, None).await,
        Method::PUT => {
            let id = QueryParams::of(&request)?.require::<Uuid>("id", "a SIM id")?;
            save(&request, ctx, &caller, &client, Some(id)).await
        }
        Method::PATCH => change(&request, ctx, &caller, &client).await,
        _ => Err(ApiError::method_not_allowed("GET, POST, PUT or PATCH")),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    Available,
    Retired,
}

/// A SIM as POST and PUT send it: the whole SIM, stages in funnel order ending in the deal.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct SimBody {
    /// The owning organization; absent or null for a global SIM (platform admins only).
    #[serde(default)]
    org_id: Option<Uuid>,
    key: String,
    name: String,
    industry: String,
    #[serde(default)]
    description: String,
    average_deal_value_cents: u64,
    /// Share of the deal value the seller earns, in (0, 1]; 1 when absent.
    #[serde(default)]
    commission_rate: Option<f64>,
    #[serde(default)]
    sources: String,
    /// Global SIMs: offered to every organization without an override (default), or only to
    /// those offered it one by one.
    #[serde(default)]
    offered_by_default: Option<bool>,
    stages: Vec<StageBody>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct StageBody {
    key: String,
    name: String,
    activity_type: ActivityType,
    /// Share of this stage reaching the next, in (0, 1] with at most five decimals; absent on
    /// the deal.
    #[serde(default)]
    conversion_rate: Option<f64>,
}

/// PATCH: one change of status or of availability.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    id: Uuid,
    #[serde(default)]
    status: Option<Status>,
    #[serde(default)]
    availability: Option<AvailabilityBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AvailabilityBody {
    org_id: Uuid,
    /// true offers, false withholds, null returns to the SIM's default; required either way.
    #[serde(deserialize_with = "present")]
    offered: Option<Option<bool>>,
}

async fn list(
    request: &Request<Bytes>,
    ctx: &Ctx,
    client: &Postgrest,
) -> Result<Response<Bytes>, ApiError> {
    let mut params = QueryParams::of(request)?;
    let id = params.parse::<Uuid>("id", "a SIM id")?;
    let status = params.choice::<Status>("status", "available or retired")?;
    let org = params.parse::<Uuid>("org_id", "an organization id")?;
    let global = params.parse::<bool>("global", "true or false")?;
    let limit = params.parse::<u64>("limit", "a whole number")?.unwrap_or(DEFAULT_PAGE);
    let offset = params.parse::<u64>("offset", "a whole number")?.unwrap_or(0);
    params.finish()?;
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::validation("limit", format!("must be 1 to {MAX_PAGE}")));
    }
    let mut query = client.from("sims").select(COLUMNS);
    if let Some(id) = id {
        query = query.eq("id", id);
    }
    if let Some(status) = status {
        query = query.eq("status", status_name(status));
    }
    if let Some(org) = org {
        query = query.eq("org_id", org);
    }
    if let Some(global) = global {
        query = query.filter("org_id", if global { "is" } else { "not.is" }, "null");
    }
    let query = query
        .order("org_id", Direction::Ascending)
        .order("key", Direction::Ascending)
        .order("id", Direction::Ascending)
        .limit(limit)
        .offset(offset);
    let mut sims: Vec<Value> = send_json(ctx, query.get()?).await?;
    for sim in &mut sims {
        sort_stages(sim);
    }
    Ok(json_response(StatusCode::OK, &json!({ "sims": sims, "limit": limit, "offset": offset })))
}

fn status_name(status: Status) -> &'static str {
    match status {
        Status::Available => "available",
        Status::Retired => "retired",
    }
}

/// Stages come embedded in no particular order; the funnel's is the one that means something.
fn sort_stages(sim: &mut Value) {
    if let Some(stages) = sim.get_mut("sim_stages").and_then(Value::as_array_mut) {
        stages.sort_by_key(|stage| stage["position"].as_u64().unwrap_or(u64::MAX));
    }
}

async fn save(
    request: &Request<Bytes>,
    ctx: &Ctx,
    caller: &Caller,
    client: &Postgrest,
    id: Option<Uuid>,
) -> Result<Response<Bytes>, ApiError> {
    caller.require_write()?;
    let body: SimBody = read_json(request)?;
    check(&body)?;
    #[derive(Serialize)]
    struct Saved<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<Uuid>,
        #[serde(flatten)]
        body: &'a SimBody,
    }
    let arguments = json!({ "sim": Saved { id, body: &body } });
    let sim: Value = send_json(ctx, client.rpc("admin_save_sim", &arguments)?).await?;
    let status = if id.is_some() { StatusCode::OK } else { StatusCode::CREATED };
    Ok(json_response(status, &json!({ "sim": sim })))
}

async fn change(
    request: &Request<Bytes>,
    ctx: &Ctx,
    caller: &Caller,
    client: &Postgrest,
) -> Result<Response<Bytes>, ApiError> {
    caller.require_write()?;
    let body: ChangeBody = read_json(request)?;
    let call = match (body.status, body.availability) {
        (Some(status), None) => {
            client.rpc("admin_set_sim_status", &json!({"sim": body.id, "new_status": status}))?
        }
        (None, Some(availability)) => client.rpc(
            "admin_set_sim_availability",
            &json!({"sim": body.id, "org": availability.org_id,
                    "offered": availability.offered.flatten()}),
        )?,
        _ => {
            return Err(ApiError::validation("body", "send either status or availability"));
        }
    };
    let changed: Value = send_json(ctx, call).await?;
    Ok(json_response(StatusCode::OK, &changed))
}

/// The rules the goal engine and the database hold a SIM to, checked before any call so that a
/// bad SIM is a 422 naming its field.
fn check(body: &SimBody) -> Result<(), ApiError> {
    let key_ok = is_slug(&body.key, b"_-");
    if !key_ok {
        return Err(ApiError::validation("key", "must be a lower-case slug of 1 to 63 characters"));
    }
    text(&body.name, "name", 200)?;
    text(&body.industry, "industry", 100)?;
    if body.average_deal_value_cents == 0 || body.average_deal_value_cents > i64::MAX as u64 {
        return Err(ApiError::validation("average_deal_value_cents", "must be positive"));
    }
    if let Some(rate) = body.commission_rate {
        five_decimal_rate(rate, "commission_rate")?;
    }
    if body.org_id.is_some() && body.offered_by_default == Some(false) {
        return Err(ApiError::validation(
            "offered_by_default",
            "only a global SIM is offered organization by organization",
        ));
    }
    let last = body.stages.len().saturating_sub(1);
    let mut funnel = Vec::with_capacity(body.stages.len());
    for (i, stage) in body.stages.iter().enumerate() {
        let field = |name: &str| format!("stages[{i}].{name}");
        let stage_key_ok = is_slug(&stage.key, b"_");
        if !stage_key_ok {
            return Err(ApiError::validation(
                &field("key"),
                "must be lower-case letters, digits and _ (1 to 63, a letter first)",
            ));
        }
        text(&stage.name, &field("name"), 100)?;
        if (stage.activity_type == ActivityType::Deal) != (i == last) {
            return Err(ApiError::validation(
                &field("activity_type"),
                "the last stage, and only it, is the deal",
            ));
        }
        let conversion =
            stage.conversion_rate.map(|r| five_decimal_rate(r, &field("conversion_rate")));
        funnel.push(Stage { key: stage.key.clone(), conversion: conversion.transpose()? });
    }
    Funnel::new(funnel).map_err(|error| {
        ApiError::validation(error.field.trim_start_matches("sim."), error.message)
    })?;
    Ok(())
}

/// 1 to 63 characters: a lower-case letter, then lower-case letters, digits and `also`.
fn is_slug(text: &str, also: &[u8]) -> bool {
    text.len() <= 63
        && text.starts_with(|c: char| c.is_ascii_lowercase())
        && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || also.contains(&b))
}

fn text(value: &str, field: &str, max: usize) -> Result<(), ApiError> {
    let length = value.trim().chars().count();
    if length == 0 || value.chars().count() > max {
        return Err(ApiError::validation(field, format!("must be 1 to {max} characters")));
    }
    Ok(())
}

/// A rate in (0, 1] the database keeps exactly (`numeric(6, 5)`).
fn five_decimal_rate(value: f64, field: &str) -> Result<Rate, ApiError> {
    let scaled = value * 100_000.0;
    let rate = Rate::from_decimal(value)
        .filter(|_| (scaled - scaled.round()).abs() < 1e-6 && scaled.round() >= 1.0)
        .ok_or_else(|| {
            ApiError::validation(field, "must be in (0, 1] with at most five decimals")
        })?;
    Ok(rate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{assert_names, call_as_user};

    fn sim() -> Value {
        json!({
            "key": "insurance", "name": "Insurance", "industry": "Insurance",
            "average_deal_value_cents": 200_000, "commission_rate": 0.1,
            "stages": [
                {"key": "call", "name": "Call", "activity_type": "call", "conversion_rate": 0.2},
                {"key": "deal", "name": "Policy", "activity_type": "deal"}
            ]
        })
    }

    /// `body` with the field at `pointer` set (added when absent).
    fn with(mut body: Value, pointer: &str, value: Value) -> Value {
        let (parent, name) = pointer.rsplit_once('/').unwrap();
        let target = if parent.is_empty() { &mut body } else { body.pointer_mut(parent).unwrap() };
        target.as_object_mut().unwrap().insert(name.to_owned(), value);
        body
    }

    fn checked(body: Value) -> Result<(), ApiError> {
        check(&serde_json::from_value(body).unwrap())
    }

    #[test]
    fn a_funnel_the_engine_plans_passes() {
        assert!(checked(sim()).is_ok());
        let deal_only = with(
            sim(),
            "/stages",
            json!([{"key": "deal", "name": "Deal", "activity_type": "deal"}]),
        );
        assert!(checked(deal_only).is_ok());
    }

    #[test]
    fn funnels_the_engine_cannot_plan_name_their_field() {
        let message_of = |body: Value| checked(body).unwrap_err().message;
        let field = |body: Value, name: &str| {
            let message = message_of(body);
            assert!(message.starts_with(&format!("{name}: ")), "{message:?} should name {name}");
        };
        field(with(sim(), "/stages", json!([])), "stages");
        field(with(sim(), "/stages/0/activity_type", json!("deal")), "stages[0].activity_type");
        field(with(sim(), "/stages/1/activity_type", json!("call")), "stages[1].activity_type");
        field(
            with(sim(), "/stages/0/conversion_rate", json!(0.123456)),
            "stages[0].conversion_rate",
        );
        field(with(sim(), "/stages/0/conversion_rate", json!(1.5)), "stages[0].conversion_rate");
        field(
            with(sim(), "/stages/0/conversion_rate", json!(0.000001)),
            "stages[0].conversion_rate",
        );
        field(with(sim(), "/stages/0/conversion_rate", Value::Null), "stages[0].conversion_rate");
        field(with(sim(), "/stages/1/conversion_rate", json!(0.5)), "stages[1].conversion_rate");
        field(with(sim(), "/stages/1/key", json!("call")), "stages[1].key");
        field(with(sim(), "/stages/1/key", json!("Deal Stage")), "stages[1].key");
        field(with(sim(), "/stages/0/name", json!("  ")), "stages[0].name");
        field(with(sim(), "/key", json!("Insurance")), "key");
        field(with(sim(), "/name", json!("")), "name");
        field(with(sim(), "/average_deal_value_cents", json!(0)), "average_deal_value_cents");
        field(with(sim(), "/commission_rate", json!(0)), "commission_rate");
        let mut owned = sim();
        owned["org_id"] = json!(Uuid::nil());
        owned["offered_by_default"] = json!(false);
        field(owned, "offered_by_default");
        let stages: Vec<Value> = (0..21)
            .map(|i| json!({"key": format!("s{i}"), "name": "S", "activity_type": "call", "conversion_rate": 0.5}))
            .chain([json!({"key": "deal", "name": "Deal", "activity_type": "deal"})])
            .collect();
        field(with(sim(), "/stages", json!(stages)), "stages");
    }

    #[test]
    fn five_decimal_rates_are_kept_exactly() {
        for rate in [0.00001, 0.05, 0.12345, 1.0] {
            assert!(five_decimal_rate(rate, "r").is_ok(), "{rate}");
        }
        for rate in [0.0, 0.000004, 0.123451, 1.00001, f64::NAN, -0.5] {
            assert!(five_decimal_rate(rate, "r").is_err(), "{rate}");
        }
    }

    #[test]
    fn bad_requests_are_refused_before_any_database_call() {
        assert_names(
            &call_as_user("admin-sims", "POST", "", &with(sim(), "/key", json!(""))),
            "key",
        );
        assert_names(&call_as_user("admin-sims", "POST", "", &json!({"key": "x"})), "body");
        assert_names(&call_as_user("admin-sims", "PUT", "", &sim()), "id");
        assert_names(&call_as_user("admin-sims", "PUT", "?id=7", &sim()), "id");
        assert_names(&call_as_user("admin-sims", "PATCH", "", &json!({"id": Uuid::nil()})), "body");
        let both = json!({"id": Uuid::nil(), "status": "retired",
                          "availability": {"org_id": Uuid::nil(), "offered": true}});
        assert_names(&call_as_user("admin-sims", "PATCH", "", &both), "body");
        let no_offered = json!({"id": Uuid::nil(), "availability": {"org_id": Uuid::nil()}});
        assert_names(&call_as_user("admin-sims", "PATCH", "", &no_offered), "availability");
        assert_names(
            &call_as_user("admin-sims", "PATCH", "", &json!({"id": Uuid::nil(), "status": "gone"})),
            "status",
        );
        assert_names(&call_as_user("admin-sims", "GET", "?limit=0", &Value::Null), "limit");
        assert_names(&call_as_user("admin-sims", "GET", "?status=old", &Value::Null), "status");
        assert_names(&call_as_user("admin-sims", "GET", "?page=2", &Value::Null), "page");
        assert_eq!(call_as_user("admin-sims", "DELETE", "", &Value::Null).0, 405);
    }

    #[test]
    fn stages_are_listed_in_funnel_order() {
        let mut sim =
            json!({"sim_stages": [{"position": 2, "key": "deal"}, {"position": 1, "key": "call"}]});
        sort_stages(&mut sim);
        assert_eq!(sim["sim_stages"][0]["key"], "call");
    }
}
