//! `goals`: GET the current goals (the caller's, or with `user_id` a member they manage), PUT or
//! POST to set the caller's goal for a period. Setting validates the goal against its SIM by
//! planning it with the engine, then upserts it (one goal per member, period kind and start)
//! through PostgREST as the caller; the answer carries the saved goal and its plan.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shared::auth::{self, Caller};
use shared::domain::goals::{
    self, Calendar, Funnel, GoalError, GoalInput, Period, PeriodKind, Rate, Stage,
};
use shared::error::ApiError;
use shared::http::{json_response, read_json};
use shared::postgrest::{Direction, IsValue, Postgrest, send_json};
use shared::query::QueryParams;
use shared::runtime::Ctx;
use uuid::Uuid;

use crate::goals_calculate::{CalendarBody, PeriodBody, monday_to_friday};
use crate::tracking::{PlanningRule, planning_rules};

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    let method = request.method().clone();
    if !matches!(method, Method::GET | Method::PUT | Method::POST) {
        return Err(ApiError::method_not_allowed("GET, PUT or POST"));
    }
    let caller = auth::authenticate(&request, ctx).await?;
    let client = Postgrest::as_caller(&ctx.config, &caller);
    if method == Method::GET {
        current(&request, ctx, &client).await
    } else {
        caller.require_write()?;
        set(&request, ctx, &client, &caller).await
    }
}

/// The goals whose period contains the member's local today (in each goal's time zone).
async fn current(
    request: &Request<Bytes>,
    ctx: &Ctx,
    client: &Postgrest,
) -> Result<Response<Bytes>, ApiError> {
    let mut query = QueryParams::of(request)?;
    let user_id: Option<Uuid> = query.parse("user_id", "a user id (UUID)")?;
    let kind: Option<PeriodKind> = query.choice("kind", "month, quarter or year")?;
    query.finish()?;
    let args = json!({"p_user_id": user_id, "p_period_kind": kind, "p_with_actuals": false});
    let tracked: Vec<Value> = send_json(ctx, client.rpc("goal_tracking", &args)?).await?;
    let goals: Vec<Value> = tracked
        .into_iter()
        .map(|t| json!({"goal": t["goal"], "sim": t["sim"], "today": t["today"]}))
        .collect();
    Ok(json_response(StatusCode::OK, &json!({ "goals": goals })))
}

/// The body of PUT/POST: the goal for one period.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GoalBody {
    sim_id: Uuid,
    income_target_cents: u64,
    period: PeriodBody,
    #[serde(default)]
    calendar: Option<CalendarBody>,
    /// IANA name; the database checks it. Kept as it is when left out.
    #[serde(default)]
    time_zone: Option<String>,
}

/// A SIM as the caller may read it, with its funnel.
#[derive(Debug, Deserialize)]
struct SimRow {
    status: String,
    income_per_deal_cents: u64,
    sim_stages: Vec<StageRow>,
}

#[derive(Debug, Deserialize)]
struct StageRow {
    position: u16,
    key: String,
    conversion_rate: Option<f64>,
}

/// The row upserted into `goals`.
#[derive(Debug, Serialize)]
struct GoalRow<'a> {
    user_id: Uuid,
    sim_id: Uuid,
    income_target_cents: u64,
    period_kind: PeriodKind,
    period_start: chrono::NaiveDate,
    working_weekdays: &'a [u8],
    days_off: &'a [chrono::NaiveDate],
    #[serde(skip_serializing_if = "Option::is_none")]
    time_zone: Option<&'a str>,
}

async fn set(
    request: &Request<Bytes>,
    ctx: &Ctx,
    client: &Postgrest,
    caller: &Caller,
) -> Result<Response<Bytes>, ApiError> {
    let body: GoalBody = read_json(request)?;
    let period = Period::new(body.period.kind, body.period.start).map_err(invalid)?;
    let (weekdays, days_off) = match body.calendar {
        Some(calendar) => (calendar.working_weekdays, calendar.days_off),
        None => (monday_to_friday(), Vec::new()),
    };
    let calendar = Calendar::new(&weekdays, &days_off).map_err(invalid)?;
    if let Some(zone) = &body.time_zone {
        check_time_zone(zone)?;
    }

    let sims: Vec<SimRow> = send_json(
        ctx,
        client
            .from("sims")
            .select("status,income_per_deal_cents,sim_stages(position,key,conversion_rate)")
            .eq("id", body.sim_id)
            .get()?,
    )
    .await?;
    let sim = sims
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::validation("sim_id", "no SIM with this id is available to you"))?;
    // The member's active referral rules plan with the goal, as goals-progress plans it.
    let rules: Vec<PlanningRule> = send_json(
        ctx,
        client
            .from("referral_rules")
            .select("expected_referrals_per_month,referral_close_rate,referred_value_multiplier")
            .eq("user_id", caller.user_id)
            .is("active", IsValue::True)
            .order("created_at", Direction::Ascending)
            .order("id", Direction::Ascending)
            .get()?,
    )
    .await?;
    if sim.status != "available" {
        return Err(ApiError::validation("sim_id", "this SIM is retired; choose another"));
    }
    let input = GoalInput {
        income_target_cents: body.income_target_cents,
        income_per_deal_cents: sim.income_per_deal_cents,
        funnel: funnel_of(stages_in_order(sim.sim_stages))?,
        period,
        calendar,
        referrals: planning_rules(&rules, period.kind()),
    };
    let plan = goals::plan(&input).map_err(invalid)?;

    let row = GoalRow {
        user_id: caller.user_id,
        sim_id: body.sim_id,
        income_target_cents: body.income_target_cents,
        period_kind: period.kind(),
        period_start: period.start(),
        working_weekdays: &weekdays,
        days_off: &days_off,
        time_zone: body.time_zone.as_deref(),
    };
    let saved: Vec<Value> =
        send_json(ctx, client.from("goals").upsert(&[row], "user_id,period_kind,period_start")?)
            .await?;
    let goal = saved.into_iter().next().ok_or_else(ApiError::internal)?;
    Ok(json_response(StatusCode::OK, &json!({ "goal": goal, "plan": plan })))
}

/// A SIM's stages, in funnel order as (key, conversion rate), as the engine's funnel. The
/// database keeps SIMs valid, so a funnel that does not build is our error.
pub(crate) fn funnel_of(
    stages: impl IntoIterator<Item = (String, Option<f64>)>,
) -> Result<Funnel, ApiError> {
    let stages = stages
        .into_iter()
        .map(|(key, rate)| match rate.map(Rate::from_decimal) {
            Some(None) => Err(ApiError::internal()),
            rate => Ok(Stage { key, conversion: rate.flatten() }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Funnel::new(stages).map_err(|_| ApiError::internal())
}

fn stages_in_order(mut stages: Vec<StageRow>) -> impl Iterator<Item = (String, Option<f64>)> {
    stages.sort_by_key(|s| s.position);
    stages.into_iter().map(|s| (s.key, s.conversion_rate))
}

/// IANA names are ASCII letters, digits and `/_+-`; the database checks the name exists.
fn check_time_zone(zone: &str) -> Result<(), ApiError> {
    let plausible = !zone.is_empty()
        && zone.len() <= 64
        && zone.bytes().all(|b| b.is_ascii_alphanumeric() || b"/_+-".contains(&b));
    if plausible {
        Ok(())
    } else {
        Err(ApiError::validation("time_zone", "must be an IANA time zone such as Europe/Paris"))
    }
}

fn invalid(error: GoalError) -> ApiError {
    ApiError::validation(&error.field, error.message)
}
