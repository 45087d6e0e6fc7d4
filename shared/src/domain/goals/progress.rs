//! Remaining effort and pacing: a plan, the activities logged so far and the rep's `today`
//! (their local date, decided by the caller) give what is done, what is left, the rest of the
//! period re-planned, and whether each period is on pace.
//!
//! Re-planning, per stage, with T the stage's total, `before` what was logged on days before
//! today and `logged today` what was logged today (an activity dated later counts as today's:
//! it cannot be done after it was logged):
//! 1. the open days are the plan's working days from today on; past days are never re-planned;
//! 2. what was left at the start of today, max(T − before, 0), is spread over the open days by
//!    the plan's rounding rule (front-loaded), which gives today its share;
//! 3. today's entry is max(share − logged today, 0): what is still to do today;
//! 4. any surplus logged today beyond its share lowers the later days: what is left after today,
//!    max(T − before − max(share, logged today), 0), is spread again over the open days after
//!    today.
//!
//! So the open days add up to `remaining` = max(T − done, 0), never below zero; a rep exactly on
//! plan sees the rest of the original plan unchanged; a rep whose day is over may pass the next
//! date as `today`, which makes today's log count as past.
//! Activities logged outside the period are ignored; a day may be listed more than once.
//!
//! Pacing compares, for today's day, week and month (clipped to the period) and the whole
//! period, what the original plan expected by the end of today with what was logged there. A
//! stage is `behind` below 90 % of that, `ahead` above 110 %, `on_pace` otherwise (when nothing
//! was expected yet: `ahead` once anything is logged, else `on_pace`).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use super::{GoalError, Plan, Slice, share_of_day, sum_by, week_start};

/// Percent of the expected count below which a stage is behind, and above which it is ahead.
pub const BEHIND_BELOW_PERCENT: u64 = 90;
pub const AHEAD_ABOVE_PERCENT: u64 = 110;

/// Activities logged on one day: counts per stage, in the plan's stage order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayLog {
    pub date: NaiveDate,
    pub counts: Vec<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaceStatus {
    Ahead,
    OnPace,
    Behind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaceLevel {
    Day,
    Week,
    Month,
    Period,
    /// Any other range of days (see [`pace_between`]).
    Range,
}

/// Pace over one day, week, month or the whole period (per stage, in plan order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Pace {
    pub level: PaceLevel,
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// The original plan over the whole slice.
    pub planned: Vec<u64>,
    /// The original plan over the slice's days up to and including today.
    pub expected: Vec<u64>,
    /// Logged on the slice's days.
    pub actual: Vec<u64>,
    pub status: Vec<PaceStatus>,
}

/// Where a rep stands on `today`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub today: NaiveDate,
    /// Stage keys, as in the plan.
    pub stages: Vec<String>,
    /// Logged within the period.
    pub done: Vec<u64>,
    /// max(total − done, 0) per stage.
    pub remaining: Vec<u64>,
    /// Working days from today to the period's end.
    pub open_working_days: usize,
    /// The open days re-planned (empty once the period is over); they add up to `remaining`.
    pub per_day: Vec<Slice>,
    pub per_week: Vec<Slice>,
    pub per_month: Vec<Slice>,
    /// Today's day, week and month (while today is in the period), then the whole period.
    pub pacing: Vec<Pace>,
}

/// Progress on `plan` with `logged` activities as of `today`. Errors name the field
/// (`logged[i].counts`) when a day's counts do not list one number per stage.
pub fn progress(plan: &Plan, logged: &[DayLog], today: NaiveDate) -> Result<Progress, GoalError> {
    let stages = plan.stages.len();
    let mut by_day: BTreeMap<NaiveDate, Vec<u64>> = BTreeMap::new();
    for (i, day) in logged.iter().enumerate() {
        if day.counts.len() != stages {
            return Err(GoalError::new(
                format!("logged[{i}].counts"),
                format!("must list {stages} counts, one per stage"),
            ));
        }
        if (plan.period.start..=plan.period.end).contains(&day.date) {
            let sums = by_day.entry(day.date).or_insert_with(|| vec![0; stages]);
            sums.iter_mut().zip(&day.counts).for_each(|(sum, n)| *sum = sum.saturating_add(*n));
        }
    }
    let sum_logged = |from: NaiveDate, to: NaiveDate| column_sums(by_day.range(from..=to), stages);
    let done = sum_logged(plan.period.start, plan.period.end);
    let before = match today.pred_opt() {
        Some(yesterday) if today > plan.period.start => sum_logged(plan.period.start, yesterday),
        _ => vec![0; stages],
    };
    // Activities dated after today cannot have been done later: they count as today's.
    let logged_today = match today.max(plan.period.start) {
        from if from <= plan.period.end => sum_logged(from, plan.period.end),
        _ => vec![0; stages],
    };

    let open: Vec<NaiveDate> =
        plan.per_day.iter().map(|d| d.start).filter(|&d| d >= today).collect();
    let mut per_day: Vec<Slice> =
        open.iter().map(|&date| Slice { start: date, counts: vec![0; stages] }).collect();
    let today_is_open = open.first() == Some(&today);
    for stage in 0..stages {
        let left_at_start = plan.totals[stage].saturating_sub(before[stage]);
        let left_after_today = if today_is_open {
            let share = share_of_day(left_at_start, open.len(), 0);
            per_day[0].counts[stage] = share.saturating_sub(logged_today[stage]);
            left_at_start.saturating_sub(share.max(logged_today[stage]))
        } else {
            left_at_start.saturating_sub(logged_today[stage])
        };
        let later = &mut per_day[usize::from(today_is_open)..];
        let count = later.len();
        for (i, day) in later.iter_mut().enumerate() {
            day.counts[stage] = share_of_day(left_after_today, count, i);
        }
    }

    Ok(Progress {
        today,
        stages: plan.stages.clone(),
        remaining: plan.totals.iter().zip(&done).map(|(t, d)| t.saturating_sub(*d)).collect(),
        done,
        open_working_days: open.len(),
        per_week: sum_by(&per_day, week_start),
        per_month: sum_by(&per_day, |d| d.with_day(1).unwrap_or(d)),
        per_day,
        pacing: pacing(plan, &by_day, today),
    })
}

fn pacing(plan: &Plan, by_day: &BTreeMap<NaiveDate, Vec<u64>>, today: NaiveDate) -> Vec<Pace> {
    let (start, end) = (plan.period.start, plan.period.end);
    let mut slices = Vec::new();
    if (start..=end).contains(&today) {
        let week = week_start(today);
        let month = today.with_day(1).unwrap_or(today);
        let month_end = month.checked_add_months(chrono::Months::new(1)).and_then(|d| d.pred_opt());
        slices.push((PaceLevel::Day, today, today));
        slices.push((PaceLevel::Week, week.max(start), (week + chrono::Days::new(6)).min(end)));
        slices.push((PaceLevel::Month, month.max(start), month_end.unwrap_or(end).min(end)));
    }
    slices.push((PaceLevel::Period, start, end));
    let stages = plan.stages.len();
    slices
        .into_iter()
        .map(|(level, from, to)| {
            let actual = column_sums(by_day.range(from..=to), stages);
            pace(plan, level, from, to, today, actual)
        })
        .collect()
}

/// The pace of `actual` (per stage, logged from `from` to `to`) against the plan's days in that
/// range as of `today`: a dashboard's week, month or custom range inside a longer goal.
pub fn pace_between(
    plan: &Plan,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
    actual: Vec<u64>,
) -> Pace {
    pace(plan, PaceLevel::Range, from, to, today, actual)
}

fn pace(
    plan: &Plan,
    level: PaceLevel,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
    actual: Vec<u64>,
) -> Pace {
    let stages = plan.stages.len();
    let days = plan.per_day.iter().filter(|d| (from..=to).contains(&d.start));
    let planned = column_sums(days.clone().map(|d| (&d.start, &d.counts)), stages);
    let due = days.filter(|d| d.start <= today).map(|d| (&d.start, &d.counts));
    let expected = column_sums(due, stages);
    let status = expected.iter().zip(&actual).map(|(&e, &a)| status(e, a)).collect();
    Pace { level, start: from, end: to, planned, expected, actual, status }
}

/// The pace of `actual` against `expected` (see the module's thresholds).
pub fn status(expected: u64, actual: u64) -> PaceStatus {
    let (expected, actual) = (u128::from(expected), u128::from(actual));
    if actual * 100 < expected * u128::from(BEHIND_BELOW_PERCENT) {
        PaceStatus::Behind
    } else if actual * 100 > expected * u128::from(AHEAD_ABOVE_PERCENT) {
        PaceStatus::Ahead
    } else {
        PaceStatus::OnPace
    }
}

fn column_sums<'a>(
    rows: impl Iterator<Item = (&'a NaiveDate, &'a Vec<u64>)>,
    stages: usize,
) -> Vec<u64> {
    rows.fold(vec![0; stages], |mut sums, (_, counts)| {
        sums.iter_mut().zip(counts).for_each(|(sum, n)| *sum = sum.saturating_add(*n));
        sums
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::tests::{column_sums as slice_sums, date, input_strategy, real_estate};
    use super::super::{GoalInput, plan};
    use super::*;

    /// README's plan: 240 calls, 12 appointments, 3 deals over January's 21 working days.
    fn january() -> Plan {
        plan(&real_estate(2_000_000)).unwrap()
    }

    fn log(day: &str, counts: [u64; 3]) -> DayLog {
        DayLog { date: date(day), counts: counts.to_vec() }
    }

    /// The plan's own days before `today`, logged exactly.
    fn on_plan_until(plan: &Plan, today: NaiveDate) -> Vec<DayLog> {
        let days = plan.per_day.iter().take_while(|d| d.start < today);
        days.map(|d| DayLog { date: d.start, counts: d.counts.clone() }).collect()
    }

    #[test]
    fn a_rep_exactly_on_plan_keeps_the_rest_of_the_plan() {
        let plan = january();
        // Monday 12 January is the seventh working day.
        let today = date("2026-01-12");
        let progress = progress(&plan, &on_plan_until(&plan, today), today).unwrap();
        assert_eq!(progress.done, [72, 6, 3]);
        assert_eq!(progress.remaining, [168, 6, 0]);
        assert_eq!(progress.open_working_days, 15);
        assert_eq!(progress.per_day, plan.per_day[6..]);
    }

    #[test]
    fn a_surplus_logged_today_lowers_the_later_days_only() {
        let plan = january();
        let today = date("2026-01-12");
        let mut logged = on_plan_until(&plan, today);
        logged.push(log("2026-01-12", [20, 0, 0]));
        let progress = progress(&plan, &logged, today).unwrap();
        // 168 calls were left this morning: today's share is 12 (168 = 15 × 11 + 3); 20 were
        // made, so 148 remain for the 14 later days: 8 days of 11, then 10.
        assert_eq!(progress.remaining[0], 148);
        assert_eq!(progress.per_day[0].counts, [0, 1, 0]);
        assert_eq!(progress.per_day[1].counts[0], 11);
        assert_eq!(progress.per_day[8].counts[0], 11);
        assert_eq!(progress.per_day[9].counts[0], 10);
        assert_eq!(slice_sums(&progress.per_day, 3), progress.remaining);
    }

    #[test]
    fn what_is_still_to_do_today_shrinks_as_the_rep_logs() {
        let plan = january();
        let today = date("2026-01-12");
        let mut logged = on_plan_until(&plan, today);
        logged.push(log("2026-01-12", [5, 1, 0]));
        let progress = progress(&plan, &logged, today).unwrap();
        assert_eq!(progress.per_day[0].counts, [7, 0, 0]);
        assert_eq!(progress.per_day[1..], plan.per_day[7..]);
    }

    #[test]
    fn over_performance_never_plans_below_zero() {
        let plan = january();
        let logged = [log("2026-01-02", [300, 20, 4])];
        let progress = progress(&plan, &logged, date("2026-01-05")).unwrap();
        assert_eq!(progress.remaining, [0, 0, 0]);
        assert!(progress.per_day.iter().all(|d| d.counts == [0, 0, 0]));
        assert_eq!(progress.pacing.last().unwrap().status, [PaceStatus::Ahead; 3]);
    }

    #[test]
    fn a_weekend_today_spreads_what_was_logged_over_the_coming_days() {
        let plan = january();
        // Saturday 10 January: six working days are past, on plan, and 10 calls made today.
        let today = date("2026-01-10");
        let mut logged = on_plan_until(&plan, today);
        logged.push(log("2026-01-10", [10, 0, 0]));
        let progress = progress(&plan, &logged, today).unwrap();
        assert_eq!(progress.open_working_days, 15);
        assert_eq!(progress.per_day[0].start, date("2026-01-12"));
        assert_eq!(progress.remaining[0], 240 - 72 - 10);
        assert_eq!(slice_sums(&progress.per_day, 3), progress.remaining);
        assert_eq!(progress.pacing[0].level, PaceLevel::Day);
        assert_eq!(progress.pacing[0].planned, [0, 0, 0]);
    }

    #[test]
    fn before_the_period_everything_is_open_and_after_it_nothing() {
        let plan = january();
        let early = progress(&plan, &[], date("2025-12-20")).unwrap();
        assert_eq!(early.per_day, plan.per_day);
        assert_eq!(early.pacing.len(), 1);
        assert_eq!(early.pacing[0].expected, [0, 0, 0]);
        assert_eq!(early.pacing[0].status, [PaceStatus::OnPace; 3]);

        let logged = [log("2026-01-05", [100, 5, 1]), log("2026-02-02", [50, 5, 5])];
        let late = progress(&plan, &logged, date("2026-02-03")).unwrap();
        assert_eq!((late.open_working_days, late.per_day.len()), (0, 0));
        assert_eq!(late.done, [100, 5, 1]);
        assert_eq!(late.remaining, [140, 7, 2]);
        assert_eq!(late.pacing[0].expected, plan.totals);
        assert_eq!(late.pacing[0].status, [PaceStatus::Behind; 3]);
    }

    #[test]
    fn pacing_covers_today_its_week_its_month_and_the_period() {
        let plan = january();
        let today = date("2026-01-12");
        let mut logged = on_plan_until(&plan, today);
        logged.push(log("2026-01-12", [12, 0, 0]));
        let pacing = progress(&plan, &logged, today).unwrap().pacing;
        let levels: Vec<_> = pacing.iter().map(|p| (p.level, p.start, p.end)).collect();
        assert_eq!(
            levels,
            [
                (PaceLevel::Day, today, today),
                (PaceLevel::Week, today, date("2026-01-18")),
                (PaceLevel::Month, date("2026-01-01"), date("2026-01-31")),
                (PaceLevel::Period, date("2026-01-01"), date("2026-01-31")),
            ]
        );
        // Today: 12 calls and 1 appointment planned; the calls are made, the appointment not.
        assert_eq!(
            (pacing[0].expected.clone(), pacing[0].actual.clone()),
            (vec![12, 1, 0], vec![12, 0, 0])
        );
        assert_eq!(pacing[0].status, [PaceStatus::OnPace, PaceStatus::Behind, PaceStatus::OnPace]);
        // The week: 12 + 12 + 12 + 11 + 11 calls planned, 12 expected by tonight.
        assert_eq!(pacing[1].planned[0], 58);
        assert_eq!(pacing[2].expected, [84, 7, 3]);
        assert_eq!(pacing[2].actual, [84, 6, 3]);
        // 6 appointments of 7 expected is under 90 %.
        assert_eq!(pacing[2].status, [PaceStatus::OnPace, PaceStatus::Behind, PaceStatus::OnPace]);
    }

    #[test]
    fn a_range_inside_the_period_is_paced_on_its_own_days() {
        let plan = january();
        // The week of 12 January (58 calls planned), judged on Wednesday the 14th: three days
        // of 12 calls were due; 30 were made.
        let pace = pace_between(
            &plan,
            date("2026-01-12"),
            date("2026-01-18"),
            date("2026-01-14"),
            vec![30, 1, 0],
        );
        assert_eq!(pace.level, PaceLevel::Range);
        assert_eq!((pace.planned[0], pace.expected[0]), (58, 36));
        assert_eq!(pace.status[0], PaceStatus::Behind);
        let before = pace_between(
            &plan,
            date("2026-01-19"),
            date("2026-01-25"),
            date("2026-01-14"),
            vec![0; 3],
        );
        assert_eq!(before.expected, [0, 0, 0], "nothing is due before the range starts");
        let outside = pace_between(
            &plan,
            date("2026-02-01"),
            date("2026-02-28"),
            date("2026-02-14"),
            vec![0; 3],
        );
        assert_eq!(outside.planned, [0, 0, 0], "the plan has no day after its period");
    }

    #[test]
    fn the_pace_thresholds_are_ninety_and_one_hundred_ten_percent() {
        let check = |expected, actual, status| assert_eq!(super::status(expected, actual), status);
        check(100, 89, PaceStatus::Behind);
        check(100, 90, PaceStatus::OnPace);
        check(100, 110, PaceStatus::OnPace);
        check(100, 111, PaceStatus::Ahead);
        check(0, 0, PaceStatus::OnPace);
        check(0, 1, PaceStatus::Ahead);
        check(1, 0, PaceStatus::Behind);
    }

    #[test]
    fn a_day_with_the_wrong_number_of_counts_names_its_field() {
        let logged =
            [log("2026-01-05", [1, 0, 0]), DayLog { date: date("2026-01-06"), counts: vec![1] }];
        let error = progress(&january(), &logged, date("2026-01-07")).unwrap_err();
        assert_eq!(error.field, "logged[1].counts");
    }

    // --- properties ---------------------------------------------------------------------------

    /// The reference: what was left this morning dealt one unit at a time over the open days;
    /// today's log taken off today's pile, any surplus taken off the later days' total, which
    /// is dealt again one unit at a time.
    fn naive(plan: &Plan, logged: &[DayLog], today: NaiveDate) -> Vec<Vec<u64>> {
        let open: Vec<NaiveDate> =
            plan.per_day.iter().map(|d| d.start).filter(|&d| d >= today).collect();
        let mut days = vec![vec![0u64; plan.stages.len()]; open.len()];
        for stage in 0..plan.stages.len() {
            let in_period = |d: &&DayLog| (plan.period.start..=plan.period.end).contains(&d.date);
            let mut before = 0;
            let mut on_today = 0;
            for day in logged.iter().filter(in_period) {
                if day.date < today {
                    before += day.counts[stage];
                } else {
                    on_today += day.counts[stage];
                }
            }
            let mut left = plan.totals[stage].saturating_sub(before);
            let deal = |days: &mut [Vec<u64>], units: u64| {
                for unit in 0..units {
                    let n = days.len() as u64;
                    days[(unit % n) as usize][stage] += 1;
                }
            };
            let first_open = usize::from(open.first() == Some(&today));
            if first_open == 1 {
                let mut morning = vec![vec![0u64; plan.stages.len()]; open.len()];
                deal(&mut morning[..], left);
                let share = morning[0][stage];
                days[0][stage] = share.saturating_sub(on_today);
                left = left.saturating_sub(share.max(on_today));
            } else {
                left = left.saturating_sub(on_today);
            }
            if open.len() > first_open {
                deal(&mut days[first_open..], left);
            }
        }
        days
    }

    fn case() -> impl Strategy<Value = (GoalInput, Vec<(u16, Vec<u64>)>, u16)> {
        (
            input_strategy(),
            prop::collection::vec((0u16..380, prop::collection::vec(0u64..40, 5)), 0..40),
            0u16..380,
        )
    }

    fn logs(plan: &Plan, raw: &[(u16, Vec<u64>)]) -> Vec<DayLog> {
        let origin = plan.period.start - chrono::Days::new(5);
        raw.iter()
            .map(|(offset, counts)| DayLog {
                date: origin + chrono::Days::new(u64::from(*offset)),
                counts: counts[..plan.stages.len()].to_vec(),
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn remaining_effort_equals_the_naive_reference((input, raw, offset) in case()) {
            let plan = plan(&input).unwrap();
            let logged = logs(&plan, &raw);
            let today = plan.period.start - chrono::Days::new(5) + chrono::Days::new(u64::from(offset));
            let progress = progress(&plan, &logged, today).unwrap();
            let days: Vec<Vec<u64>> = progress.per_day.iter().map(|d| d.counts.clone()).collect();
            prop_assert_eq!(days, naive(&plan, &logged, today));
        }

        #[test]
        fn remaining_effort_adds_up_to_what_is_left((input, raw, offset) in case()) {
            let plan = plan(&input).unwrap();
            let logged = logs(&plan, &raw);
            let today = plan.period.start - chrono::Days::new(5) + chrono::Days::new(u64::from(offset));
            let progress = progress(&plan, &logged, today).unwrap();
            let stages = plan.stages.len();
            let left: Vec<u64> = plan.totals.iter().zip(&progress.done).map(|(t, d)| t.saturating_sub(*d)).collect();
            prop_assert_eq!(&progress.remaining, &left);
            if progress.open_working_days > 0 {
                prop_assert_eq!(slice_sums(&progress.per_day, stages), left.clone());
                prop_assert_eq!(slice_sums(&progress.per_week, stages), left.clone());
                prop_assert_eq!(slice_sums(&progress.per_month, stages), left);
            }
            prop_assert!(progress.per_day.iter().all(|d| d.start >= today));
            let period = progress.pacing.last().unwrap();
            prop_assert_eq!(&period.actual, &progress.done);
            prop_assert_eq!(&period.planned, &plan.totals);
        }

        #[test]
        fn a_rep_on_plan_until_today_sees_the_rest_unchanged(input in input_strategy(), offset in 0u16..370) {
            let plan = plan(&input).unwrap();
            let today = plan.period.start + chrono::Days::new(u64::from(offset));
            let progress = progress(&plan, &on_plan_until(&plan, today), today).unwrap();
            let rest: Vec<Slice> = plan.per_day.iter().filter(|d| d.start >= today).cloned().collect();
            prop_assert_eq!(progress.per_day, rest);
        }
    }
}
