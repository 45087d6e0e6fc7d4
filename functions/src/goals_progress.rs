//! `goals-progress` (GET `[?goal_id][&user_id][&kind]`): for each current goal of the caller
//! (or of a member they manage), or for one goal, targets against actuals: the plan's totals,
//! what is done and remaining, the rest of the period re-planned per day, week and month, and
//! pacing for today's day, week, month and the whole period. One PostgREST round trip
//! (`goal_tracking`); the engine does the rest.

use bytes::Bytes;
use http::{Request, Response};
use serde_json::json;
use shared::error::ApiError;
use shared::runtime::Ctx;

use crate::tracking;

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    tracking::answer(&request, ctx, true, |goal, plan, progress| {
        json!({
            "goal": goal.goal,
            "sim": {"id": goal.sim.id, "name": goal.sim.name},
            "today": goal.today,
            "plan": {
                "stages": plan.stages,
                "totals": plan.totals,
                "period": plan.period,
                "projected_income_cents": plan.projected_income_cents,
                "referrals": plan.referrals,
            },
            "progress": progress,
            "income_logged_cents": goal.income_logged_cents(),
            "referrals_logged": goal.referrals,
        })
    })
    .await
}
