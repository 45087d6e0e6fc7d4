//! `kpi-me` (GET `[?period=day|week|month|quarter|year|custom][&from&to][&user_id]`): a member's
//! KPIs for a period in their time zone (their profile's; `month` by default): per funnel stage
//! and per activity type the actual against the target, the conversion achieved against the
//! SIM's, pacing (expected by today vs actual as a ratio, a projection to the period's end) and
//! the alerts (behind pace, bottleneck stage, no activity for N working days) on the
//! organization's thresholds. One PostgREST round trip (`kpi_me_period`, with the caller's JWT:
//! a manager reads a member they manage, nobody else anyone); the goal engine plans the targets
//! and the pace. Without a goal covering the period the view is actuals and inactivity only
//! (`"mode": "actuals_only"`).

use bytes::Bytes;
use chrono::NaiveDate;
use http::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shared::auth;
use shared::domain::goals::{Plan, pace_between};
use shared::domain::kpi::{self, Measure, Pacing, Permille, StageMeasure};
use shared::error::ApiError;
use shared::http::{json_response, require_method};
use shared::postgrest::{Postgrest, send_json};
use shared::query::QueryParams;
use shared::runtime::Ctx;
use uuid::Uuid;

use crate::tracking::{GoalRow, PlanningRule, SimJson, plan_of};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PeriodName {
    Day,
    Week,
    Month,
    Quarter,
    Year,
    Custom,
}

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    require_method(&request, Method::GET)?;
    let caller = auth::authenticate(&request, ctx).await?;
    let mut query = QueryParams::of(&request)?;
    let period = query
        .choice("period", "day, week, month, quarter, year or custom")?
        .unwrap_or(PeriodName::Month);
    let from: Option<NaiveDate> = query.parse("from", "a date (YYYY-MM-DD)")?;
    let to: Option<NaiveDate> = query.parse("to", "a date (YYYY-MM-DD)")?;
    let user_id: Option<Uuid> = query.parse("user_id", "a user id (UUID)")?;
    query.finish()?;

    let args = json!({"p_period": period, "p_user_id": user_id, "p_from": from, "p_to": to});
    let client = Postgrest::as_caller(&ctx.config, &caller);
    let answer: Option<KpiRow> =
        send_json(ctx, client.rpc("kpi_me_period", &args)?).await.map_err(|error| {
            // The RPC's only refusal of values (22023) is the period's.
            if error.code == "rejected" {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_period",
                    "a custom period needs from and to (from <= to, at most 366 days apart); \
                     other periods take neither",
                )
            } else {
                error
            }
        })?;
    // Null: the member does not exist or is not one the caller may read; both look the same.
    let row = answer.ok_or_else(|| ApiError::not_found("no KPIs you may read for this member"))?;
    let view = view(user_id.unwrap_or(caller.user_id), period, row)?;
    Ok(json_response(StatusCode::OK, &view))
}

/// What `kpi_me` answers (see its migration); `kpi_org_member` answers the same for kpi-org's
/// drilldown.
#[derive(Debug, Deserialize)]
pub(crate) struct KpiRow {
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
    time_zone: String,
    goal: Option<GoalJson>,
    actuals: Vec<TypeActual>,
    stages: Vec<StageRow>,
    thresholds: Thresholds,
    last_active_on: Option<NaiveDate>,
    idle_working_days: u32,
    /// The alerts the data alone decides (bottleneck, inactive), as the database words them.
    alerts: Vec<Value>,
}

/// The covering goal as `goal_tracking` answers it (without per-day actuals).
#[derive(Debug, Deserialize)]
struct GoalJson {
    goal: GoalRow,
    sim: SimJson,
    #[serde(default)]
    referral_rules: Vec<PlanningRule>,
}

#[derive(Debug, Deserialize)]
struct TypeActual {
    #[serde(rename = "type")]
    activity_type: String,
    quantity: u64,
    value_cents: u64,
}

#[derive(Debug, Deserialize)]
struct StageRow {
    key: String,
    name: String,
    activity_type: String,
    actual: u64,
    actual_in_goal: u64,
    sim_rate: Option<f64>,
    achieved_rate: Option<f64>,
}

#[derive(Debug, Deserialize, Serialize)]
struct Thresholds {
    behind_pace_threshold: f64,
    bottleneck_threshold: f64,
    bottleneck_min_count: u64,
    inactivity_alert_days: u32,
}

#[derive(Debug, Serialize)]
struct StageView<'a> {
    key: &'a str,
    name: &'a str,
    activity_type: &'a str,
    actual: u64,
    plan: Pacing,
    sim_rate: Option<f64>,
    achieved_rate: Option<f64>,
    /// Achieved over the SIM's rate, to three decimals.
    conversion_vs_sim: Option<f64>,
}

#[derive(Debug, Serialize)]
struct TypeView {
    #[serde(rename = "type")]
    activity_type: String,
    actual: u64,
    value_cents: u64,
    /// Null for a type no stage of the goal's SIM plans (or without a goal).
    plan: Option<Pacing>,
}

/// The answer for `row`: the engine's plan of the goal paced over the period, shaped per stage
/// and per type, with every alert.
pub(crate) fn view(user_id: Uuid, period: PeriodName, row: KpiRow) -> Result<Value, ApiError> {
    let behind = Permille::from_decimal(row.thresholds.behind_pace_threshold)
        .ok_or_else(ApiError::internal)?;
    let plan =
        row.goal.as_ref().map(|g| plan_of(&g.goal, &g.sim, &g.referral_rules)).transpose()?;
    let measures = match &plan {
        Some(plan) => stage_measures(plan, &row)?,
        None => Vec::new(),
    };
    let stages: Vec<StageView> = row
        .stages
        .iter()
        .zip(&measures)
        .map(|(stage, measure)| StageView {
            key: &stage.key,
            name: &stage.name,
            activity_type: &stage.activity_type,
            actual: stage.actual,
            plan: kpi::pacing(measure.measure, behind),
            sim_rate: stage.sim_rate,
            achieved_rate: stage.achieved_rate,
            conversion_vs_sim: match (stage.achieved_rate, stage.sim_rate) {
                (Some(achieved), Some(sim)) if sim > 0.0 => {
                    Some((achieved / sim * 1000.0).round() / 1000.0)
                }
                _ => None,
            },
        })
        .collect();
    let alerts: Vec<Value> = kpi::behind_pace_alerts(&measures, behind)
        .into_iter()
        .map(|alert| serde_json::to_value(alert).unwrap_or(Value::Null))
        .chain(row.alerts.iter().cloned())
        .collect();
    let goal = row.goal.as_ref().map(|g| {
        json!({
            "id": g.goal.id,
            "period_kind": g.goal.period_kind,
            "period_start": g.goal.period_start,
            "period_end": g.goal.period_end,
            "income_target_cents": g.goal.income_target_cents,
            "covers_period": g.goal.period_start <= row.from && row.to <= g.goal.period_end,
            "sim": {"id": g.sim.id, "name": g.sim.name},
        })
    });
    Ok(json!({
        "user_id": user_id,
        "mode": if plan.is_some() { "targets" } else { "actuals_only" },
        "period": {"kind": period, "from": row.from, "to": row.to, "today": row.today,
                   "time_zone": row.time_zone},
        "goal": goal,
        "activity_types": type_views(&measures, &row.actuals, behind),
        "stages": stages,
        "thresholds": row.thresholds,
        "last_active_on": row.last_active_on,
        "idle_working_days": row.idle_working_days,
        "alerts": alerts,
    }))
}

/// Each stage's target and expected-by-today over the period from the engine's `plan`, against
/// what was done on the days the goal covers.
fn stage_measures(plan: &Plan, row: &KpiRow) -> Result<Vec<StageMeasure>, ApiError> {
    let done: Vec<u64> = row.stages.iter().map(|s| s.actual_in_goal).collect();
    let keys: Vec<&str> = row.stages.iter().map(|s| s.key.as_str()).collect();
    if keys.len() != plan.stages.len() || keys.iter().zip(&plan.stages).any(|(k, p)| k != p) {
        // The stages and the plan come from the same SIM in one query: they always match.
        return Err(ApiError::internal());
    }
    let pace = pace_between(plan, row.from, row.to, row.today, done);
    Ok(row
        .stages
        .iter()
        .enumerate()
        .map(|(i, stage)| StageMeasure {
            key: stage.key.clone(),
            activity_type: stage.activity_type.clone(),
            measure: Measure {
                target: pace.planned[i],
                expected: pace.expected[i],
                actual: pace.actual[i],
            },
        })
        .collect())
}

/// Per activity type: what was logged over the period, and the plan of the stages counting it.
/// Planned types first, in funnel order, then the others by name.
fn type_views(
    measures: &[StageMeasure],
    actuals: &[TypeActual],
    behind: Permille,
) -> Vec<TypeView> {
    let logged = |kind: &str| {
        actuals.iter().filter(|a| a.activity_type == kind).fold((0u64, 0u64), |(n, v), a| {
            (n.saturating_add(a.quantity), v.saturating_add(a.value_cents))
        })
    };
    let planned = kpi::by_type(measures);
    let mut unplanned: Vec<&str> = actuals
        .iter()
        .map(|a| a.activity_type.as_str())
        .filter(|kind| !planned.iter().any(|(p, _)| p == kind))
        .collect();
    unplanned.sort_unstable();
    unplanned.dedup();
    let with_plan = planned.iter().map(|(kind, measure)| (kind.as_str(), Some(*measure)));
    with_plan
        .chain(unplanned.into_iter().map(|kind| (kind, None)))
        .map(|(kind, measure)| {
            let (actual, value_cents) = logged(kind);
            TypeView {
                activity_type: kind.to_owned(),
                actual,
                value_cents,
                plan: measure.map(|m| kpi::pacing(m, behind)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `kpi_me` answers for a rep of the real-estate SIM in the week of Monday 9 November
    /// 2026, judged on Wednesday the 11th, with a November goal of 1 400 000 cents worked every
    /// day: [90, 9, 3, 2] over 30 days, so 3 calls a day (and one appointment on each of the
    /// first nine days).
    fn row(stage_actuals: [u64; 4]) -> KpiRow {
        let stage = |key: &str, kind: &str, actual: u64, rate: Option<f64>| {
            json!({"key": key, "name": key, "activity_type": kind, "actual": actual,
                   "actual_in_goal": actual, "sim_rate": rate, "achieved_rate": null})
        };
        serde_json::from_value(json!({
            "from": "2026-11-09", "to": "2026-11-15", "today": "2026-11-11",
            "time_zone": "Europe/Berlin",
            "goal": {
                "goal": {"id": Uuid::nil(), "user_id": Uuid::nil(), "sim_id": Uuid::nil(),
                         "income_target_cents": 1_400_000, "period_kind": "month",
                         "period_start": "2026-11-01", "period_end": "2026-11-30",
                         "working_weekdays": [1, 2, 3, 4, 5, 6, 7], "days_off": [],
                         "time_zone": "UTC"},
                "sim": {"id": Uuid::nil(), "name": "Real estate", "income_per_deal_cents": 700_000,
                        "commission_rate": 0.0175,
                        "stages": [{"key": "call", "conversion_rate": 0.1},
                                   {"key": "appointment", "conversion_rate": 0.35},
                                   {"key": "listing", "conversion_rate": 0.8},
                                   {"key": "deal", "conversion_rate": null}]},
                "referral_rules": []
            },
            "actuals": [{"type": "call", "stage_key": null, "quantity": stage_actuals[0], "value_cents": 0},
                        {"type": "referral", "stage_key": null, "quantity": 2, "value_cents": 0}],
            "stages": [stage("call", "call", stage_actuals[0], Some(0.1)),
                       stage("appointment", "appointment", stage_actuals[1], Some(0.35)),
                       stage("listing", "custom", stage_actuals[2], Some(0.8)),
                       stage("deal", "deal", stage_actuals[3], None)],
            "thresholds": {"behind_pace_threshold": 0.1, "bottleneck_threshold": 0.5,
                           "bottleneck_min_count": 10, "inactivity_alert_days": 3},
            "last_active_on": "2026-11-10", "idle_working_days": 0,
            "alerts": [{"kind": "bottleneck", "stage_key": "call"}]
        }))
        .unwrap()
    }

    fn answer(stage_actuals: [u64; 4]) -> Value {
        view(Uuid::nil(), PeriodName::Week, row(stage_actuals)).unwrap()
    }

    #[test]
    fn the_engine_plans_the_week_and_paces_it_on_today() {
        let view = answer([9, 3, 0, 0]);
        assert_eq!(view["mode"], "targets");
        assert_eq!(view["period"]["kind"], "week");
        // 7 days of 3 calls; by Wednesday 9 were due and 9 were made.
        let call = &view["stages"][0];
        assert_eq!(
            call["plan"],
            json!({"target": 21, "expected": 9, "pace_ratio": 1.0,
                                        "projected": 21, "on_pace": true})
        );
        // Appointments: 9 days of one (1 to 9 November), so one this week, due on Monday.
        assert_eq!(view["stages"][1]["plan"]["target"], 1);
        assert_eq!(view["goal"]["covers_period"], true);
    }

    #[test]
    fn behind_pace_alerts_come_first_then_the_databases() {
        let view = answer([8, 3, 0, 0]);
        let alerts = view["alerts"].as_array().unwrap();
        // 8 of 9 calls is 11 % behind (threshold 10 %); the listing and deal had nothing due.
        assert_eq!(alerts[0]["kind"], "behind_pace");
        assert_eq!(
            (alerts[0]["stage_key"].clone(), alerts[0]["pace_ratio"].clone()),
            (json!("call"), json!(0.889))
        );
        assert_eq!(alerts[1], json!({"kind": "bottleneck", "stage_key": "call"}));
        assert_eq!(alerts.len(), 2, "{view}");
    }

    #[test]
    fn types_list_planned_ones_in_funnel_order_then_the_rest() {
        let view = answer([9, 1, 0, 0]);
        let types: Vec<(&str, bool)> = view["activity_types"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["type"].as_str().unwrap(), t["plan"].is_null()))
            .collect();
        assert_eq!(
            types,
            [
                ("call", false),
                ("appointment", false),
                ("custom", false),
                ("deal", false),
                ("referral", true)
            ]
        );
        assert_eq!(view["activity_types"][4]["actual"], 2);
    }

    #[test]
    fn without_a_goal_the_view_is_actuals_only() {
        let mut row = row([0; 4]);
        row.goal = None;
        row.stages.clear();
        let view = view(Uuid::nil(), PeriodName::Month, row).unwrap();
        assert_eq!(view["mode"], "actuals_only");
        assert_eq!(view["goal"], Value::Null);
        assert_eq!(view["stages"], json!([]));
        assert_eq!(view["activity_types"][0]["plan"], Value::Null);
        assert_eq!(view["alerts"], json!([{"kind": "bottleneck", "stage_key": "call"}]));
    }

    #[test]
    fn stages_out_of_step_with_the_plan_are_our_error() {
        let mut row = row([0; 4]);
        row.stages.swap(0, 1);
        assert_eq!(view(Uuid::nil(), PeriodName::Week, row).unwrap_err().status, 500);
    }
}
