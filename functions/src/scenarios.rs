//! `scenarios`: what-if planning. POST simulates a changed copy of a goal's inputs against the
//! real ones (the engine's `what_if`) and, with `save`, keeps the scenario; GET lists the
//! caller's saved scenarios without their inputs and results, or reads one in full (`?id=`);
//! DELETE `?id=` removes one. Everything goes through
//! PostgREST as the caller, so RLS decides whose scenarios are seen; nothing here writes a goal.
//!
//! Simulating and saving need the `what_if` feature (403 `feature_disabled`; the insert policy
//! checks it again). Listing and deleting stay open, as in the database, so that a downgraded
//! plan loses nothing.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shared::auth::{self, Caller};
use shared::domain::goals::{self, WhatIf};
use shared::error::ApiError;
use shared::features;
use shared::http::{from_json, json_response, read_json};
use shared::postgrest::{Direction, Postgrest, send_json};
use shared::query::QueryParams;
use shared::runtime::Ctx;
use uuid::Uuid;

use crate::goals_calculate::{self, Body};

/// The feature flag that gates simulating and saving.
pub const FEATURE: &str = "what_if";

/// Most saved scenarios one list answers.
pub const LIST_LIMIT: u64 = 100;

/// A saved scenario in full, and as a list shows it (a year's plans weigh ~100 KB each).
const COLUMNS: &str = "id,name,goal_id,inputs,result,created_at,updated_at";
const LIST_COLUMNS: &str = "id,name,goal_id,created_at,updated_at";

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    let caller = auth::authenticate(&request, ctx).await?;
    let client = Postgrest::as_caller(&ctx.config, &caller);
    match *request.method() {
        Method::POST => simulate(&request, ctx, &caller, &client).await,
        Method::GET => list(&request, ctx, &client).await,
        Method::DELETE => delete(&request, ctx, &caller, &client).await,
        _ => Err(ApiError::method_not_allowed("GET, POST or DELETE")),
    }
}

/// POST body: the real inputs, the changed copy, and optionally how to save the scenario.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SimulateBody {
    /// goals-calculate bodies; kept as sent to be saved, read into [`Body`] to be planned.
    real: Value,
    changed: Value,
    #[serde(default)]
    save: Option<SaveBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SaveBody {
    name: String,
    /// The caller's goal the real inputs come from, if any.
    #[serde(default)]
    goal_id: Option<Uuid>,
}

/// A `scenarios` row to insert; serialized straight into the request body.
#[derive(Serialize)]
struct NewScenario<'a> {
    name: &'a str,
    goal_id: Option<Uuid>,
    inputs: Inputs<'a>,
    result: &'a WhatIf,
}

#[derive(Serialize)]
struct Inputs<'a> {
    real: &'a Value,
    changed: &'a Value,
}

/// The simulation, and the saved row when it was saved.
#[derive(Serialize)]
struct Simulated {
    #[serde(flatten)]
    what_if: WhatIf,
    #[serde(skip_serializing_if = "Option::is_none")]
    saved: Option<Value>,
}

async fn simulate(
    request: &Request<Bytes>,
    ctx: &Ctx,
    caller: &Caller,
    client: &Postgrest,
) -> Result<Response<Bytes>, ApiError> {
    let body: SimulateBody = read_json(request)?;
    let real = input_of(&body.real, "real")?;
    let changed = input_of(&body.changed, "changed")?;
    if let Some(save) = &body.save {
        let name = save.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(ApiError::validation("save.name", "must be 1 to 200 characters"));
        }
        caller.require_write()?;
    }
    features::require(ctx, client, FEATURE).await?;
    let what_if = goals::what_if(&real, &changed).map_err(goals_calculate::invalid(""))?;
    let Some(save) = &body.save else {
        return Ok(json_response(StatusCode::OK, &Simulated { what_if, saved: None }));
    };
    if let Some(goal_id) = save.goal_id {
        let own_goal = client
            .from("goals")
            .select("id")
            .eq("id", goal_id)
            .eq("user_id", caller.user_id)
            .get()?;
        let found: Vec<Value> = send_json(ctx, own_goal).await?;
        if found.is_empty() {
            return Err(ApiError::not_found("no such goal of yours"));
        }
    }
    let row = NewScenario {
        name: save.name.trim(),
        goal_id: save.goal_id,
        inputs: Inputs { real: &body.real, changed: &body.changed },
        result: &what_if,
    };
    let inserted: Vec<Value> =
        send_json(ctx, client.from("scenarios").select(COLUMNS).insert(&row)?).await?;
    let saved = inserted.into_iter().next().ok_or_else(ApiError::internal)?;
    Ok(json_response(StatusCode::CREATED, &Simulated { what_if, saved: Some(saved) }))
}

/// A nested goals-calculate body as the engine's input; a scenario compares plans, so the
/// progress fields have no meaning in it. Errors name fields under `at`.
fn input_of(value: &Value, at: &str) -> Result<goals::GoalInput, ApiError> {
    let body: Body = from_json(value.clone(), at)?;
    if body.today.is_some() || !body.logged.is_empty() {
        return Err(ApiError::validation(
            &format!("{at}.today"),
            "a scenario compares plans; send today and logged to goals-calculate",
        ));
    }
    Ok(body.parse(&format!("{at}."))?.0)
}

async fn list(
    request: &Request<Bytes>,
    ctx: &Ctx,
    client: &Postgrest,
) -> Result<Response<Bytes>, ApiError> {
    let mut params = QueryParams::of(request)?;
    let id: Option<Uuid> = params.parse("id", "a UUID")?;
    params.finish()?;
    let query = client.from("scenarios");
    match id {
        Some(id) => {
            let rows: Vec<Value> =
                send_json(ctx, query.select(COLUMNS).eq("id", id).get()?).await?;
            let row = rows.into_iter().next().ok_or_else(no_such_scenario)?;
            Ok(json_response(StatusCode::OK, &row))
        }
        None => {
            let query = query
                .select(LIST_COLUMNS)
                .order("created_at", Direction::Descending)
                .order("id", Direction::Ascending)
                .limit(LIST_LIMIT);
            let rows: Vec<Value> = send_json(ctx, query.get()?).await?;
            Ok(json_response(StatusCode::OK, &rows))
        }
    }
}

async fn delete(
    request: &Request<Bytes>,
    ctx: &Ctx,
    caller: &Caller,
    client: &Postgrest,
) -> Result<Response<Bytes>, ApiError> {
    caller.require_write()?;
    let mut params = QueryParams::of(request)?;
    let id: Uuid = params.require("id", "a UUID")?;
    params.finish()?;
    let deleted: Vec<Value> =
        send_json(ctx, client.from("scenarios").select("id").eq("id", id).delete()?).await?;
    if deleted.is_empty() {
        return Err(no_such_scenario());
    }
    Ok(json_response(StatusCode::OK, &json!({ "deleted": id })))
}

fn no_such_scenario() -> ApiError {
    ApiError::not_found("no such scenario")
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http::header;
    use serde_json::{Value, json};
    use shared::testing::hs256;

    use crate::tests::{NOW, SECRET, call};

    fn request(method: &str, query: &str, body: &Value) -> http::Request<Bytes> {
        let token = hs256(
            &json!({"sub": "3b0b5c1e-8a7d-4c55-9a0e-5a1f2d3c4b5a", "aud": "authenticated",
                    "role": "authenticated", "exp": NOW + 60}),
            SECRET,
        );
        http::Request::builder()
            .method(method)
            .uri(format!("http://localhost/functions/v1/scenarios{query}"))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Bytes::from(body.to_string()))
            .unwrap()
    }

    fn goal(target: u64) -> Value {
        json!({"income_target_cents": target, "period": {"kind": "month", "start": "2026-01-01"},
               "sim": {"average_deal_value_cents": 100_000,
                       "stages": [{"key": "call", "conversion_rate": 0.1}, {"key": "deal"}]}})
    }

    fn error_of(answer: (http::StatusCode, Value, http::Response<Bytes>)) -> (u16, String) {
        let message = answer.1["error"]["message"].as_str().unwrap_or_default().to_owned();
        (answer.0.as_u16(), message)
    }

    #[test]
    fn bad_inputs_are_refused_before_anything_is_asked_of_the_database() {
        let check = |body: Value, field: &str| {
            let (status, message) = error_of(call("scenarios", request("POST", "", &body)));
            assert_eq!(status, 422, "{message}");
            assert!(message.starts_with(&format!("{field}: ")), "{message:?} should name {field}");
        };
        let mut bad = goal(1);
        bad["sim"]["stages"][0]["conversion_rate"] = json!(2);
        check(json!({"real": goal(1), "changed": bad}), "changed.sim.stages[0].conversion_rate");
        check(json!({"real": bad, "changed": goal(1)}), "real.sim.stages[0].conversion_rate");
        let mut tracked = goal(1);
        tracked["logged"] = json!([{"date": "2026-01-02", "counts": {"call": 1}}]);
        check(json!({"real": tracked, "changed": goal(1)}), "real.today");
        check(json!({"real": goal(1), "changed": goal(2), "save": {"name": ""}}), "save.name");
        let long = "x".repeat(201);
        check(json!({"real": goal(1), "changed": goal(2), "save": {"name": long}}), "save.name");
    }

    #[test]
    fn the_feature_is_asked_of_the_database_before_simulating() {
        // No network in unit tests: the flag look-up fails as an unreachable upstream.
        let body = json!({"real": goal(1), "changed": goal(2)});
        let (status, _) = error_of(call("scenarios", request("POST", "", &body)));
        assert_eq!(status, 503);
    }

    #[test]
    fn ids_must_be_uuids_and_other_methods_are_refused() {
        let none = Value::Null;
        assert_eq!(error_of(call("scenarios", request("DELETE", "", &none))).0, 422);
        assert_eq!(error_of(call("scenarios", request("GET", "?id=7", &none))).0, 422);
        assert_eq!(error_of(call("scenarios", request("PATCH", "", &none))).0, 405);
    }
}
