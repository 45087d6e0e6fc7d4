//! The goal engine: an income target over a period becomes the calls, appointments and deals a
//! rep needs per working day, week and month. Pure: no I/O, no clock, integer cents.
//!
//! Rounding rule: deals = ceil(target / income per deal); each earlier stage =
//! ceil(next stage / its conversion rate). A stage's total T over N working days gives every
//! day floor(T / N) and the first T mod N working days one more, so daily targets are whole
//! numbers, differ by at most one, and add up to exactly T. Weeks (ISO, Monday first, clipped to
//! the period) and months are sums of their days, so every level adds up to the same totals.
//!
//! # API (everything below is re-exported here, `shared::domain::goals::…`)
//! - [`plan`]`(&GoalInput) -> Result<Plan, GoalError>`. [`GoalInput`] holds
//!   `income_target_cents`, `income_per_deal_cents` ([`income_per_deal`] from a deal value and
//!   a commission [`Rate`]), a [`Funnel`] of [`Stage`]s, a [`Period`], a [`Calendar`] and
//!   `referrals: Vec<`[`ReferralRule`]`>` (empty: none). [`Plan`] has `stages` (keys, funnel
//!   order), `totals`, `per_day`/`per_week`/`per_month` ([`Slice`]: `start` + `counts` per
//!   stage) and `referrals` ([`ReferralImpact`]: referred deals, `covered_cents`,
//!   `covered_share_ppm`, cold deals with and without referrals); see `referrals.rs` for its
//!   rounding. With rules, `totals` is the cold funnel: what the rep still has to work for.
//! - [`progress`]`(&Plan, &[DayLog], today: NaiveDate) -> Result<Progress, GoalError>`:
//!   remaining effort and pacing. [`DayLog`] `{ date, counts }` lists counts per stage in the
//!   plan's order (sum a day's activities by stage first). `today` is the rep's local date — the
//!   caller decides it, e.g. `(now() at time zone goals.time_zone)::date` in SQL. [`Progress`]:
//!   `done`, `remaining`, the open days re-planned (`per_day`/`per_week`/`per_month`) and
//!   `pacing` ([`Pace`] per [`PaceLevel`] day/week/month/period with `planned`, `expected`,
//!   `actual` and a [`PaceStatus`] per stage: behind below 90 %, ahead above 110 % of expected).
//!   The re-planning rule is in `progress.rs`. [`pace_between`] paces any range of the plan's
//!   days (a dashboard's week inside a year goal) against counts logged there.
//! - [`what_if`]`(&real, &changed) -> Result<WhatIf, GoalError>`: both plans and a
//!   [`PlanDiff`] (scenario − real per stage total and per day, stages matched by key);
//!   [`compare`] does the diff of two plans alone.
//! - Every error is a [`GoalError`] `{ field, message }`, the field named by its path in the
//!   request (`income_target_cents`, `sim.stages[1].conversion_rate`, `logged[3].counts`,
//!   `referral_rules[0].expected_referrals`, `changed.calendar`, …).

mod calendar;
mod funnel;
mod progress;
mod referrals;
mod what_if;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

pub use calendar::{Calendar, MAX_DAYS_OFF, Period, PeriodKind, week_start};
pub use funnel::{Funnel, MAX_STAGE_COUNT, MAX_STAGES, Rate, Stage, deals_needed, income_per_deal};
pub use progress::{
    AHEAD_ABOVE_PERCENT, BEHIND_BELOW_PERCENT, DayLog, Pace, PaceLevel, PaceStatus, Progress,
    pace_between, progress,
};
pub use referrals::{
    MAX_REFERRAL_RULES, Multiplier, ReferralImpact, ReferralRule, RuleImpact,
    impact as referral_impact,
};
pub use what_if::{DayDelta, PlanDiff, WhatIf, compare, what_if};

/// An input that breaks a rule, naming the field by its path in the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoalError {
    pub field: String,
    pub message: String,
}

impl GoalError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// Largest income target accepted: 10^13 cents (100 billion in the currency).
pub const MAX_TARGET_CENTS: u64 = 10_000_000_000_000;

/// What a plan is made from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoalInput {
    pub income_target_cents: u64,
    pub income_per_deal_cents: u64,
    pub funnel: Funnel,
    pub period: Period,
    pub calendar: Calendar,
    /// Referral rules lowering the cold funnel; empty for none.
    pub referrals: Vec<ReferralRule>,
}

/// Activity targets per stage (in funnel order) over one day, week or month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Slice {
    /// The day, the Monday of the week, or the first day of the month.
    pub start: NaiveDate,
    pub counts: Vec<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanPeriod {
    pub kind: PeriodKind,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub working_days: usize,
}

/// The plan for a goal: totals per stage and their spread over days, weeks and months.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub income_target_cents: u64,
    pub income_per_deal_cents: u64,
    /// What the planned cold deals and the referred deals bring: at least the target, and less
    /// than one cold deal more unless referrals alone exceed it.
    pub projected_income_cents: u64,
    pub period: PlanPeriod,
    /// Stage keys, in funnel order; every `counts` lists stages in this order.
    pub stages: Vec<String>,
    pub totals: Vec<u64>,
    pub per_day: Vec<Slice>,
    pub per_week: Vec<Slice>,
    pub per_month: Vec<Slice>,
    pub referrals: ReferralImpact,
}

/// The plan reaching `input`'s target.
pub fn plan(input: &GoalInput) -> Result<Plan, GoalError> {
    if input.income_target_cents > MAX_TARGET_CENTS {
        return Err(GoalError::new(
            "income_target_cents",
            format!("must be at most {MAX_TARGET_CENTS}"),
        ));
    }
    if input.income_per_deal_cents == 0 {
        return Err(GoalError::new("sim", "a deal must bring at least one cent of income"));
    }
    let days = input.calendar.working_days(input.period);
    if days.is_empty() {
        return Err(GoalError::new("calendar", "leaves no working day in the period"));
    }
    let referrals = referrals::impact(
        input.income_target_cents,
        input.income_per_deal_cents,
        &input.referrals,
    )?;
    let deals = referrals.cold_deals;
    let totals = input.funnel.reverse(deals)?;
    let per_day: Vec<Slice> = days
        .iter()
        .enumerate()
        .map(|(i, &date)| Slice {
            start: date,
            counts: totals.iter().map(|&total| share_of_day(total, days.len(), i)).collect(),
        })
        .collect();
    Ok(Plan {
        income_target_cents: input.income_target_cents,
        income_per_deal_cents: input.income_per_deal_cents,
        projected_income_cents: deals
            .saturating_mul(input.income_per_deal_cents)
            .saturating_add(referrals.referral_income_cents),
        period: PlanPeriod {
            kind: input.period.kind(),
            start: input.period.start(),
            end: input.period.end(),
            working_days: days.len(),
        },
        stages: input.funnel.stages().iter().map(|s| s.key.trim().to_owned()).collect(),
        per_week: sum_by(&per_day, week_start),
        per_month: sum_by(&per_day, |d| d.with_day(1).unwrap_or(d)),
        totals,
        per_day,
        referrals,
    })
}

/// Day `index`'s share of `total` over `days` working days (see the module's rounding rule).
fn share_of_day(total: u64, days: usize, index: usize) -> u64 {
    let days = days as u64;
    total / days + u64::from((index as u64) < total % days)
}

/// Adds consecutive days with the same key (week or month start) into one slice.
fn sum_by(days: &[Slice], key: impl Fn(NaiveDate) -> NaiveDate) -> Vec<Slice> {
    let mut groups: Vec<Slice> = Vec::new();
    for day in days {
        let start = key(day.start);
        match groups.last_mut() {
            Some(group) if group.start == start => {
                group.counts.iter_mut().zip(&day.counts).for_each(|(sum, n)| *sum += n);
            }
            _ => groups.push(Slice { start, counts: day.counts.clone() }),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    pub(super) fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    /// README's example: 300 000.00 homes at 3 %, 1 call in 20 to an appointment, 1 in 4 to a
    /// deal, January 2026 on weekdays without New Year's Day.
    pub(super) fn real_estate(target_cents: u64) -> GoalInput {
        let rate = |r: f64| Some(Rate::from_decimal(r).unwrap());
        GoalInput {
            income_target_cents: target_cents,
            // A 300 000.00 home at 3 % commission.
            income_per_deal_cents: income_per_deal(30_000_000, Rate::from_decimal(0.03).unwrap()),
            funnel: Funnel::new(vec![
                Stage { key: "call".into(), conversion: rate(0.05) },
                Stage { key: "appointment".into(), conversion: rate(0.25) },
                Stage { key: "deal".into(), conversion: None },
            ])
            .unwrap(),
            period: Period::new(PeriodKind::Month, date("2026-01-01")).unwrap(),
            calendar: Calendar::new(&[1, 2, 3, 4, 5], &[date("2026-01-01")]).unwrap(),
            referrals: Vec::new(),
        }
    }

    #[test]
    fn a_real_estate_month_worked_by_hand() {
        // 2 000 000 cents wanted, 900 000 per deal -> 3 deals; 3 / 0.25 = 12 appointments;
        // 12 / 0.05 = 240 calls; 21 working days (22 weekdays minus New Year's Day).
        let plan = plan(&real_estate(2_000_000)).unwrap();
        assert_eq!(plan.income_per_deal_cents, 900_000);
        assert_eq!(plan.projected_income_cents, 2_700_000);
        assert_eq!(plan.stages, ["call", "appointment", "deal"]);
        assert_eq!(plan.totals, [240, 12, 3]);
        assert_eq!(plan.period.working_days, 21);
        assert_eq!(plan.period.end, date("2026-01-31"));
        // 240 = 21 * 11 + 9: the first nine working days make 12 calls, the rest 11.
        assert_eq!(plan.per_day[0], Slice { start: date("2026-01-02"), counts: vec![12, 1, 1] });
        assert_eq!(plan.per_day[8].counts, [12, 1, 0]);
        assert_eq!(plan.per_day[9].counts, [11, 1, 0]);
        assert_eq!(plan.per_day[20].counts, [11, 0, 0]);
        assert_eq!(plan.per_week[0], Slice { start: date("2025-12-29"), counts: vec![12, 1, 1] });
        assert_eq!(plan.per_month, [Slice { start: date("2026-01-01"), counts: vec![240, 12, 3] }]);
    }

    #[test]
    fn referrals_lower_the_cold_funnel_worked_by_hand() {
        // 5 referrals closing 1 in 5 -> 1 referred deal worth 900 000 × 1.25 = 1 125 000, which
        // covers 56.25 % of 2 000 000; the cold funnel needs ceil(875 000 / 900 000) = 1 deal,
        // 4 appointments, 80 calls (80 = 21 × 3 + 17: the first 17 working days make 4 calls).
        let mut input = real_estate(2_000_000);
        input.referrals = vec![ReferralRule {
            expected_referrals: 5,
            close_rate: Rate::from_decimal(0.2).unwrap(),
            value_multiplier: Multiplier::from_decimal(1.25).unwrap(),
        }];
        let plan = plan(&input).unwrap();
        assert_eq!(plan.totals, [80, 4, 1]);
        assert_eq!(
            (plan.referrals.covered_cents, plan.referrals.covered_share_ppm),
            (1_125_000, 562_500)
        );
        assert_eq!(plan.projected_income_cents, 900_000 + 1_125_000);
        assert_eq!(plan.per_day[0].counts, [4, 1, 1]);
        assert_eq!(plan.per_day[3].counts, [4, 1, 0]);
        assert_eq!(plan.per_day[16].counts, [4, 0, 0]);
        assert_eq!(plan.per_day[17].counts, [3, 0, 0]);
    }

    #[test]
    fn a_goal_of_zero_income_needs_no_activity() {
        let plan = plan(&real_estate(0)).unwrap();
        assert_eq!(plan.totals, [0, 0, 0]);
        assert!(plan.per_day.iter().all(|d| d.counts == [0, 0, 0]));
        assert_eq!(plan.projected_income_cents, 0);
    }

    #[test]
    fn impossible_inputs_name_their_field() {
        let mut input = real_estate(MAX_TARGET_CENTS + 1);
        assert_eq!(plan(&input).unwrap_err().field, "income_target_cents");
        input.income_target_cents = 1;
        input.income_per_deal_cents = 0;
        assert_eq!(plan(&input).unwrap_err().field, "sim");
        input.income_per_deal_cents = 1;
        input.calendar = Calendar::new(
            &[1],
            &(1..=31).map(|d| date(&format!("2026-01-{d:02}"))).collect::<Vec<_>>(),
        )
        .unwrap();
        assert_eq!(plan(&input).unwrap_err().field, "calendar");
    }

    #[test]
    fn a_quarter_splits_into_its_three_months_and_fourteen_weeks() {
        let mut input = real_estate(50_000_000);
        input.period = Period::new(PeriodKind::Quarter, date("2026-01-01")).unwrap();
        let plan = plan(&input).unwrap();
        assert_eq!(plan.per_month.iter().map(|m| m.start.month()).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(plan.per_week.len(), 14);
    }

    // --- properties ---------------------------------------------------------------------------

    /// The reference: deals counted up one at a time, each stage grown one at a time until it
    /// converts into enough of the next, days dealt one activity at a time in turn.
    fn naive(input: &GoalInput) -> (Vec<u64>, Vec<Vec<u64>>) {
        let mut referral_income = 0;
        for rule in &input.referrals {
            let mut closed = 0u64;
            while u128::from(closed + 1) * 1_000_000
                <= u128::from(rule.expected_referrals) * u128::from(rule.close_rate.ppm())
            {
                closed += 1;
            }
            let thousandths =
                input.income_per_deal_cents * u64::from(rule.value_multiplier.thousandths());
            let worth = thousandths / 1_000 + u64::from(thousandths % 1_000 >= 500);
            referral_income += closed * worth;
        }
        let mut deals = 0;
        while deals * input.income_per_deal_cents + referral_income < input.income_target_cents {
            deals += 1;
        }
        let stages = input.funnel.stages();
        let mut totals = vec![0; stages.len()];
        let mut next = deals;
        for (i, stage) in stages.iter().enumerate().rev() {
            let mut count = next;
            if let Some(rate) = stage.conversion {
                count = 0;
                while u128::from(count) * u128::from(rate.ppm()) < u128::from(next) * 1_000_000 {
                    count += 1;
                }
            }
            totals[i] = count;
            next = count;
        }
        let days = input.calendar.working_days(input.period).len();
        let mut per_day = vec![vec![0; stages.len()]; days];
        for (stage, &total) in totals.iter().enumerate() {
            for unit in 0..total {
                per_day[unit as usize % days][stage] += 1;
            }
        }
        (totals, per_day)
    }

    pub(super) fn input_strategy() -> impl Strategy<Value = GoalInput> {
        (
            0u64..2_000_000,
            5_000u64..2_000_000,
            prop::collection::vec(200_000u32..=1_000_000, 0..4),
            prop_oneof![Just(PeriodKind::Month), Just(PeriodKind::Quarter), Just(PeriodKind::Year)],
            prop::collection::btree_set(1u8..=7, 1..=7),
            prop::collection::vec((0u64..40, 1u32..=1_000_000, 1_000u32..=3_000), 0..3),
        )
            .prop_map(|(target, per_deal, rates, kind, weekdays, rules)| {
                let mut stages: Vec<Stage> = rates
                    .iter()
                    .enumerate()
                    .map(|(i, &ppm)| Stage {
                        key: format!("s{i}"),
                        conversion: Rate::from_ppm(ppm),
                    })
                    .collect();
                stages.push(Stage { key: "deal".into(), conversion: None });
                let weekdays: Vec<u8> = weekdays.into_iter().collect();
                GoalInput {
                    income_target_cents: target,
                    income_per_deal_cents: per_deal,
                    funnel: Funnel::new(stages).unwrap(),
                    period: Period::new(kind, date("2026-01-01")).unwrap(),
                    calendar: Calendar::new(&weekdays, &[]).unwrap(),
                    referrals: rules
                        .into_iter()
                        .map(|(referrals, close, multiplier)| ReferralRule {
                            expected_referrals: referrals,
                            close_rate: Rate::from_ppm(close).unwrap(),
                            value_multiplier: Multiplier::from_thousandths(multiplier).unwrap(),
                        })
                        .collect(),
                }
            })
    }

    pub(super) fn column_sums(slices: &[Slice], stages: usize) -> Vec<u64> {
        (0..stages).map(|s| slices.iter().map(|d| d.counts[s]).sum()).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn the_plan_equals_the_naive_reference(input in input_strategy()) {
            let plan = plan(&input).unwrap();
            let (totals, per_day) = naive(&input);
            prop_assert_eq!(&plan.totals, &totals);
            let days: Vec<Vec<u64>> = plan.per_day.iter().map(|d| d.counts.clone()).collect();
            prop_assert_eq!(days, per_day);
        }

        #[test]
        fn days_weeks_and_months_add_up_to_the_totals_without_leak(input in input_strategy()) {
            let plan = plan(&input).unwrap();
            let stages = plan.stages.len();
            prop_assert_eq!(column_sums(&plan.per_day, stages), plan.totals.clone());
            prop_assert_eq!(column_sums(&plan.per_week, stages), plan.totals.clone());
            prop_assert_eq!(column_sums(&plan.per_month, stages), plan.totals.clone());
            for stage in 0..stages {
                let counts = plan.per_day.iter().map(|d| d.counts[stage]);
                let (min, max) = (counts.clone().min().unwrap(), counts.max().unwrap());
                prop_assert!(max - min <= 1);
            }
            prop_assert!(plan.projected_income_cents >= plan.income_target_cents);
            if plan.referrals.referral_income_cents <= plan.income_target_cents {
                prop_assert!(plan.projected_income_cents < plan.income_target_cents + plan.income_per_deal_cents);
            }
        }

        #[test]
        fn a_higher_target_never_asks_for_less_on_any_day(input in input_strategy(), more in 0u64..3_000_000) {
            let lower = plan(&input).unwrap();
            let higher = plan(&GoalInput { income_target_cents: input.income_target_cents + more, ..input }).unwrap();
            for (low, high) in lower.per_day.iter().zip(&higher.per_day) {
                prop_assert!(low.counts.iter().zip(&high.counts).all(|(l, h)| l <= h));
            }
        }
    }
}
