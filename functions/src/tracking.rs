//! What `goals-progress` and `activities-today` share: one `goal_tracking` round trip for a
//! member's current goals (or one goal) with their SIM, local today and per-day actuals, turned
//! into the engine's plan and progress.

use bytes::Bytes;
use chrono::NaiveDate;
use http::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shared::auth;
use shared::domain::goals::{
    self, Calendar, DayLog, GoalInput, MAX_REFERRAL_RULES, Multiplier, Period, PeriodKind, Plan,
    Progress, Rate, ReferralRule,
};
use shared::error::ApiError;
use shared::http::{json_response, require_method};
use shared::postgrest::{Postgrest, send_json};
use shared::query::QueryParams;
use shared::runtime::Ctx;
use uuid::Uuid;

use crate::goals::funnel_of;

/// Which goals a request is about: `goal_id`, or the current ones of `user_id` (default the
/// caller), optionally of one period `kind`.
#[derive(Debug)]
struct Selection {
    goal_id: Option<Uuid>,
    user_id: Option<Uuid>,
    kind: Option<PeriodKind>,
}

impl Selection {
    /// The selection a query names; `goal_id` is a parameter only when `by_id`.
    fn from_query(query: &mut QueryParams, by_id: bool) -> Result<Self, ApiError> {
        Ok(Self {
            goal_id: if by_id { query.parse("goal_id", "a goal id (UUID)")? } else { None },
            user_id: query.parse("user_id", "a user id (UUID)")?,
            kind: query.choice("kind", "month, quarter or year")?,
        })
    }
}

/// The GET both functions answer: the caller, the goals the query selects (`goal_id` allowed
/// when `by_id`) in one round trip, and `{"goals": [...]}` with each goal `shape`d from its plan
/// and progress.
pub async fn answer(
    request: &Request<Bytes>,
    ctx: &Ctx,
    by_id: bool,
    shape: impl Fn(&Tracked, Plan, Progress) -> Value,
) -> Result<Response<Bytes>, ApiError> {
    require_method(request, Method::GET)?;
    let caller = auth::authenticate(request, ctx).await?;
    let mut query = QueryParams::of(request)?;
    let selection = Selection::from_query(&mut query, by_id)?;
    query.finish()?;
    let client = Postgrest::as_caller(&ctx.config, &caller);
    let goals = fetch(ctx, &client, &selection)
        .await?
        .iter()
        .map(|goal| {
            let plan = goal.plan()?;
            let progress = goal.progress(&plan)?;
            Ok(shape(goal, plan, progress))
        })
        .collect::<Result<Vec<Value>, ApiError>>()?;
    Ok(json_response(StatusCode::OK, &json!({ "goals": goals })))
}

/// One goal as `goal_tracking` answers it.
#[derive(Debug, Deserialize)]
pub struct Tracked {
    pub goal: GoalRow,
    pub today: NaiveDate,
    pub sim: SimJson,
    pub actuals: Vec<DayActuals>,
    pub logged_today: Vec<Value>,
    pub referrals: u64,
    pub deal_value_cents: u64,
    /// The member's active rules that plan with referrals.
    #[serde(default)]
    pub referral_rules: Vec<PlanningRule>,
}

/// A referral rule as the engine plans with it: referrals expected a month, their close rate,
/// and what a referred deal is worth against a cold one.
#[derive(Debug, Deserialize)]
pub struct PlanningRule {
    pub expected_referrals_per_month: Option<u64>,
    pub referral_close_rate: Option<f64>,
    pub referred_value_multiplier: Option<f64>,
}

impl PlanningRule {
    /// The engine's rule over a goal of `kind`: the monthly count times the period's months.
    /// A rule without a count or a close rate does not plan; a multiplier below 1 (the
    /// database allows it, the engine does not) plans as 1.
    fn for_period(&self, kind: PeriodKind) -> Option<ReferralRule> {
        let months = match kind {
            PeriodKind::Month => 1,
            PeriodKind::Quarter => 3,
            PeriodKind::Year => 12,
        };
        Some(ReferralRule {
            expected_referrals: self.expected_referrals_per_month?.saturating_mul(months),
            close_rate: Rate::from_decimal(self.referral_close_rate?)?,
            value_multiplier: self
                .referred_value_multiplier
                .and_then(Multiplier::from_decimal)
                .unwrap_or(Multiplier::ONE),
        })
    }
}

/// The engine's rules for a goal of `kind` from the member's rules.
pub fn planning_rules(rules: &[PlanningRule], kind: PeriodKind) -> Vec<ReferralRule> {
    rules.iter().filter_map(|rule| rule.for_period(kind)).take(MAX_REFERRAL_RULES).collect()
}

#[derive(Debug, Deserialize, Serialize)]
pub struct GoalRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub sim_id: Uuid,
    pub income_target_cents: u64,
    pub period_kind: PeriodKind,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub working_weekdays: Vec<u8>,
    pub days_off: Vec<NaiveDate>,
    pub time_zone: String,
}

#[derive(Debug, Deserialize)]
pub struct SimJson {
    pub id: Uuid,
    pub name: String,
    pub income_per_deal_cents: u64,
    pub commission_rate: f64,
    pub stages: Vec<StageJson>,
}

#[derive(Debug, Deserialize)]
pub struct StageJson {
    pub key: String,
    pub conversion_rate: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct DayActuals {
    pub day: NaiveDate,
    pub counts: Vec<u64>,
}

/// The plan of a saved `goal` on its `sim` with the member's planning `rules`. A saved goal
/// always plans (it was planned when set); a failure here means the data changed underneath,
/// which is our error, not the caller's.
pub fn plan_of(goal: &GoalRow, sim: &SimJson, rules: &[PlanningRule]) -> Result<Plan, ApiError> {
    let input = GoalInput {
        income_target_cents: goal.income_target_cents,
        income_per_deal_cents: sim.income_per_deal_cents,
        funnel: funnel_of(sim.stages.iter().map(|s| (s.key.clone(), s.conversion_rate)))?,
        period: Period::new(goal.period_kind, goal.period_start)
            .map_err(|_| ApiError::internal())?,
        calendar: Calendar::new(&goal.working_weekdays, &goal.days_off)
            .map_err(|_| ApiError::internal())?,
        referrals: planning_rules(rules, goal.period_kind),
    };
    goals::plan(&input).map_err(|_| ApiError::internal())
}

/// The member's goals `selection` names, with their actuals, in one round trip.
async fn fetch(
    ctx: &Ctx,
    client: &Postgrest,
    selection: &Selection,
) -> Result<Vec<Tracked>, ApiError> {
    let args = json!({
        "p_user_id": selection.user_id,
        "p_goal_id": selection.goal_id,
        "p_period_kind": selection.kind,
    });
    let tracked: Vec<Tracked> = send_json(ctx, client.rpc("goal_tracking", &args)?).await?;
    if selection.goal_id.is_some() && tracked.is_empty() {
        return Err(ApiError::not_found("no goal you may read has this id"));
    }
    Ok(tracked)
}

impl Tracked {
    /// The plan of the goal as saved (see [`plan_of`]).
    pub fn plan(&self) -> Result<Plan, ApiError> {
        plan_of(&self.goal, &self.sim, &self.referral_rules)
    }

    /// Where the member stands today on this goal.
    pub fn progress(&self, plan: &Plan) -> Result<Progress, ApiError> {
        let logged: Vec<DayLog> = self
            .actuals
            .iter()
            .map(|day| DayLog { date: day.day, counts: day.counts.clone() })
            .collect();
        goals::progress(plan, &logged, self.today).map_err(|_| ApiError::internal())
    }

    /// What the deals logged in the period earn the member: their value at the SIM's
    /// commission, in cents.
    pub fn income_logged_cents(&self) -> u64 {
        let commission = Rate::from_decimal(self.sim.commission_rate).unwrap_or(Rate::ONE);
        goals::income_per_deal(self.deal_value_cents, commission)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_plans_its_monthly_referrals_over_the_goals_months() {
        let rule = |expected, rate, multiplier| PlanningRule {
            expected_referrals_per_month: expected,
            referral_close_rate: rate,
            referred_value_multiplier: multiplier,
        };
        let planned = planning_rules(
            &[
                rule(Some(2), Some(0.5), Some(1.25)),
                rule(None, Some(0.5), None),
                rule(Some(2), None, Some(2.0)),
                rule(Some(3), Some(0.4), Some(0.5)),
            ],
            PeriodKind::Quarter,
        );
        assert_eq!(planned.len(), 2, "rules without a count or a close rate do not plan");
        assert_eq!(planned[0].expected_referrals, 6);
        assert_eq!(planned[0].value_multiplier, Multiplier::from_decimal(1.25).unwrap());
        assert_eq!(
            (planned[1].expected_referrals, planned[1].value_multiplier),
            (9, Multiplier::ONE)
        );
        let many: Vec<PlanningRule> = (0..30).map(|_| rule(Some(1), Some(1.0), None)).collect();
        assert_eq!(planning_rules(&many, PeriodKind::Year).len(), MAX_REFERRAL_RULES);
    }
}
