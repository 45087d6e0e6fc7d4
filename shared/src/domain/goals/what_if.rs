//! What-if: the engine over a changed copy of a goal's inputs, and the difference against the
//! real plan. Pure, so it cannot write anything; saving a scenario is the caller's business.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::{GoalError, GoalInput, Plan, plan};

/// Both plans and how the scenario differs from the real one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WhatIf {
    pub real: Plan,
    pub scenario: Plan,
    pub difference: PlanDiff,
}

/// Scenario minus real. Stages are matched by key: the scenario's stages in order, then the
/// real plan's stages the scenario lacks; a stage a plan lacks counts as zero in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanDiff {
    pub stages: Vec<String>,
    pub totals: Vec<i64>,
    /// Every date either plan works, in order (zero rows included, so a client can chart it).
    pub per_day: Vec<DayDelta>,
    pub working_days: i64,
    pub projected_income_cents: i64,
    pub referral_covered_cents: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DayDelta {
    pub date: NaiveDate,
    pub counts: Vec<i64>,
}

/// Plans `real` and `changed` and compares them. An error names its field under `real.` or
/// `changed.`.
pub fn what_if(real: &GoalInput, changed: &GoalInput) -> Result<WhatIf, GoalError> {
    let prefixed = |side: &str| {
        let side = side.to_owned();
        move |e: GoalError| GoalError::new(format!("{side}.{}", e.field), e.message)
    };
    let real = plan(real).map_err(prefixed("real"))?;
    let scenario = plan(changed).map_err(prefixed("changed"))?;
    let difference = compare(&real, &scenario);
    Ok(WhatIf { real, scenario, difference })
}

/// `scenario` minus `real`.
pub fn compare(real: &Plan, scenario: &Plan) -> PlanDiff {
    let mut stages = scenario.stages.clone();
    stages.extend(real.stages.iter().filter(|k| !scenario.stages.contains(k)).cloned());
    let align = |plan: &Plan, counts: &[u64]| -> Vec<i64> {
        stages
            .iter()
            .map(|key| plan.stages.iter().position(|k| k == key).map_or(0, |i| signed(counts[i])))
            .collect()
    };
    let mut days: BTreeMap<NaiveDate, Vec<i64>> = BTreeMap::new();
    for day in &scenario.per_day {
        days.insert(day.start, align(scenario, &day.counts));
    }
    for day in &real.per_day {
        let real_counts = align(real, &day.counts);
        let entry = days.entry(day.start).or_insert_with(|| vec![0; stages.len()]);
        entry.iter_mut().zip(real_counts).for_each(|(delta, r)| *delta -= r);
    }
    let totals = align(scenario, &scenario.totals)
        .into_iter()
        .zip(align(real, &real.totals))
        .map(|(s, r)| s - r)
        .collect();
    PlanDiff {
        stages,
        totals,
        per_day: days.into_iter().map(|(date, counts)| DayDelta { date, counts }).collect(),
        working_days: signed(scenario.period.working_days as u64)
            - signed(real.period.working_days as u64),
        projected_income_cents: difference(
            scenario.projected_income_cents,
            real.projected_income_cents,
        ),
        referral_covered_cents: difference(
            scenario.referrals.covered_cents,
            real.referrals.covered_cents,
        ),
    }
}

/// Counts are at most `MAX_STAGE_COUNT` (10^12), far inside `i64`.
fn signed(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// `a − b` for cents, clamped to `i64`'s range.
fn difference(a: u64, b: u64) -> i64 {
    let delta = i128::from(a) - i128::from(b);
    i64::try_from(delta).unwrap_or(if delta < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::tests::{date, input_strategy, real_estate};
    use super::super::{Calendar, Funnel, Rate, Stage};
    use super::*;

    #[test]
    fn a_higher_target_shows_the_extra_effort_per_stage_and_day() {
        let result = what_if(&real_estate(2_000_000), &real_estate(2_700_001)).unwrap();
        // 3 deals -> 4: 16 appointments, 320 calls.
        assert_eq!(result.scenario.totals, [320, 16, 4]);
        assert_eq!(result.difference.stages, ["call", "appointment", "deal"]);
        assert_eq!(result.difference.totals, [80, 4, 1]);
        assert_eq!(result.difference.projected_income_cents, 900_000);
        assert_eq!(result.difference.working_days, 0);
        // Day one: 16 calls instead of 12 (320 = 21 × 15 + 5), the fourth deal on day four.
        assert_eq!(result.difference.per_day[0].counts, [4, 0, 0]);
        assert_eq!(result.difference.per_day[3].counts, [4, 0, 1]);
        assert_eq!(result.difference.per_day.len(), 21);
    }

    #[test]
    fn another_sim_and_calendar_are_matched_by_stage_key_and_date() {
        let mut changed = real_estate(2_000_000);
        changed.funnel = Funnel::new(vec![
            Stage { key: "email".into(), conversion: Rate::from_ppm(500_000) },
            Stage { key: "deal".into(), conversion: None },
        ])
        .unwrap();
        changed.calendar = Calendar::new(&[1, 2, 3, 4, 5, 6], &[]).unwrap();
        let result = what_if(&real_estate(2_000_000), &changed).unwrap();
        let diff = &result.difference;
        assert_eq!(diff.stages, ["email", "deal", "call", "appointment"]);
        assert_eq!(diff.totals, [6, 0, -240, -12]);
        assert_eq!(diff.working_days, 27 - 21);
        // New Year's Day is worked in the scenario only.
        assert_eq!(
            diff.per_day[0],
            DayDelta { date: date("2026-01-01"), counts: vec![1, 1, 0, 0] }
        );
        assert_eq!(diff.per_day.len(), 27);
    }

    #[test]
    fn errors_say_which_side_is_at_fault() {
        let mut bad = real_estate(2_000_000);
        bad.income_per_deal_cents = 0;
        assert_eq!(what_if(&bad, &real_estate(1)).unwrap_err().field, "real.sim");
        assert_eq!(what_if(&real_estate(1), &bad).unwrap_err().field, "changed.sim");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(100))]

        #[test]
        fn the_difference_is_scenario_minus_real(real in input_strategy(), changed in input_strategy()) {
            let result = what_if(&real, &changed).unwrap();
            let diff = &result.difference;
            for (stage, key) in diff.stages.iter().enumerate() {
                let total = |plan: &Plan| plan.stages.iter().position(|k| k == key).map_or(0, |i| plan.totals[i] as i64);
                prop_assert_eq!(diff.totals[stage], total(&result.scenario) - total(&result.real));
                let day_sum: i64 = diff.per_day.iter().map(|d| d.counts[stage]).sum();
                prop_assert_eq!(day_sum, diff.totals[stage]);
            }
            let same = compare(&result.real, &result.real);
            prop_assert!(same.totals.iter().chain(same.per_day.iter().flat_map(|d| &d.counts)).all(|&n| n == 0));
        }
    }
}
