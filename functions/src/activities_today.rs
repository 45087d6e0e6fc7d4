//! `activities-today` (GET `[?user_id][&kind]`): what to do today and what is logged, per
//! current goal, in the member's local today (the goal's time zone). The target is the
//! engine's re-planned share of today — what remains of the goal spread over the working days
//! left — minus what is already logged today; `planned` is the original plan's share. A day
//! off has no target.

use bytes::Bytes;
use http::{Request, Response};
use serde_json::json;
use shared::domain::goals::Slice;
use shared::error::ApiError;
use shared::runtime::Ctx;

use crate::tracking;

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    tracking::answer(&request, ctx, false, |goal, plan, progress| {
        let stages = plan.stages.len();
        let on_today = |slices: &[Slice]| {
            slices
                .iter()
                .find(|slice| slice.start == goal.today)
                .map_or_else(|| vec![0; stages], |slice| slice.counts.clone())
        };
        let logged = goal
            .actuals
            .iter()
            .find(|day| day.day == goal.today)
            .map_or_else(|| vec![0; stages], |day| day.counts.clone());
        json!({
            "goal_id": goal.goal.id,
            "period_kind": goal.goal.period_kind,
            "today": goal.today,
            "stages": plan.stages,
            "planned": on_today(&plan.per_day),
            "target": on_today(&progress.per_day),
            "logged": logged,
            "logged_by_type": goal.logged_today,
        })
    })
    .await
}
