//! A member's KPIs over a period against the goal engine's plan: per funnel stage and per
//! activity type the target, what was expected by today and what was done, the pace as a ratio,
//! a projection to the end of the period, and the behind-pace alert on the organization's
//! threshold. Pure: the plan's numbers come from `goals::pace_between`, the counts from the
//! database.
//!
//! Rules, per stage (and per type, over the sums of its stages):
//! - `pace_ratio` = actual / expected, to three decimals; none while nothing is expected yet.
//! - `projected` = actual × target / expected, rounded half up: the rate so far carried over the
//!   rest of the plan's days. While nothing is expected yet it is actual + target (the whole
//!   plan still ahead); once the period is over (expected = target) it is the actual.
//! - behind pace: actual < expected × (1 − threshold), strictly; exactly at the threshold is on
//!   pace. Nothing expected yet is never behind.

use serde::Serialize;

/// A share between 0 and 1 in thousandths (the organization's `numeric(4, 3)` thresholds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Permille(u16);

impl Permille {
    /// `share` (0 to 1) to the nearest thousandth; `None` outside that range or not a number.
    pub fn from_decimal(share: f64) -> Option<Self> {
        (0.0..=1.0).contains(&share).then(|| Self((share * 1000.0).round() as u16))
    }

    pub fn as_decimal(self) -> f64 {
        f64::from(self.0) / 1000.0
    }
}

/// Counts over one period for a stage or a type: the plan's target, what the plan expected by
/// the end of today, and what was done on the days the plan covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Measure {
    pub target: u64,
    pub expected: u64,
    pub actual: u64,
}

impl std::ops::Add for Measure {
    type Output = Measure;

    fn add(self, other: Measure) -> Measure {
        Measure {
            target: self.target.saturating_add(other.target),
            expected: self.expected.saturating_add(other.expected),
            actual: self.actual.saturating_add(other.actual),
        }
    }
}

/// How a measure paces (see the module's rules).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Pacing {
    pub target: u64,
    pub expected: u64,
    pub pace_ratio: Option<f64>,
    pub projected: u64,
    pub on_pace: bool,
}

/// The pacing of `measure` with `behind` the organization's behind-pace threshold.
pub fn pacing(measure: Measure, behind: Permille) -> Pacing {
    let Measure { target, expected, actual } = measure;
    let (wide_actual, wide_expected) = (u128::from(actual), u128::from(expected));
    let projected = if expected == 0 {
        actual.saturating_add(target)
    } else {
        let scaled = (wide_actual * u128::from(target) * 2 + wide_expected) / (wide_expected * 2);
        u64::try_from(scaled).unwrap_or(u64::MAX)
    };
    let behind_below = wide_expected * u128::from(1000 - behind.0.min(1000));
    Pacing {
        target,
        expected,
        pace_ratio: (expected > 0).then(|| ratio(actual, expected)),
        projected,
        on_pace: expected == 0 || wide_actual * 1000 >= behind_below,
    }
}

/// `part / whole` to three decimals (`whole` > 0).
pub fn ratio(part: u64, whole: u64) -> f64 {
    let thousandths = (u128::from(part) * 2000 + u128::from(whole)) / (u128::from(whole) * 2);
    thousandths as f64 / 1000.0
}

/// One stage's planned and done counts, tagged with its activity type.
#[derive(Clone, Debug, PartialEq)]
pub struct StageMeasure {
    pub key: String,
    pub activity_type: String,
    pub measure: Measure,
}

/// A stage behind pace by more than the threshold.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BehindPace {
    pub kind: &'static str,
    pub stage_key: String,
    pub expected: u64,
    pub actual: u64,
    pub pace_ratio: Option<f64>,
    pub threshold: f64,
}

/// The behind-pace alerts of `stages`, in funnel order.
pub fn behind_pace_alerts(stages: &[StageMeasure], behind: Permille) -> Vec<BehindPace> {
    stages
        .iter()
        .filter_map(|stage| {
            let pace = pacing(stage.measure, behind);
            (!pace.on_pace).then(|| BehindPace {
                kind: "behind_pace",
                stage_key: stage.key.clone(),
                expected: stage.measure.expected,
                actual: stage.measure.actual,
                pace_ratio: pace.pace_ratio,
                threshold: behind.as_decimal(),
            })
        })
        .collect()
}

/// The measures of `stages` summed per activity type, types in order of first appearance.
pub fn by_type(stages: &[StageMeasure]) -> Vec<(String, Measure)> {
    let mut types: Vec<(String, Measure)> = Vec::new();
    for stage in stages {
        match types.iter_mut().find(|(kind, _)| *kind == stage.activity_type) {
            Some((_, sum)) => *sum = *sum + stage.measure,
            None => types.push((stage.activity_type.clone(), stage.measure)),
        }
    }
    types
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const TEN_PERCENT: Permille = Permille(100);

    fn measure(target: u64, expected: u64, actual: u64) -> Measure {
        Measure { target, expected, actual }
    }

    fn check(m: Measure, ratio: Option<f64>, projected: u64, on_pace: bool) {
        let pace = pacing(m, TEN_PERCENT);
        assert_eq!(
            (pace.pace_ratio, pace.projected, pace.on_pace),
            (ratio, projected, on_pace),
            "{m:?}"
        );
    }

    #[test]
    fn pacing_worked_by_hand() {
        // 58 calls planned this week, 36 due by tonight, 30 made: 0.833 of pace, 48 by Sunday.
        check(measure(58, 36, 30), Some(0.833), 48, false);
        // Exactly on plan keeps the target as the projection.
        check(measure(58, 36, 36), Some(1.0), 58, true);
        // Ahead projects past the target.
        check(measure(20, 10, 15), Some(1.5), 30, true);
    }

    #[test]
    fn behind_pace_fires_only_past_the_threshold() {
        // 90 of 100 is exactly 10 % behind: on pace; 89 is past it.
        check(measure(200, 100, 90), Some(0.9), 180, true);
        check(measure(200, 100, 89), Some(0.89), 178, false);
        let strict = Permille::from_decimal(0.25).unwrap();
        assert!(pacing(measure(8, 4, 3), strict).on_pace, "3 of 4 is exactly 25 % behind");
        assert!(!pacing(measure(8, 4, 2), strict).on_pace);
    }

    #[test]
    fn nothing_expected_yet_is_on_pace_and_projects_the_whole_plan() {
        check(measure(40, 0, 0), None, 40, true);
        check(measure(40, 0, 3), None, 43, true);
        check(measure(0, 0, 0), None, 0, true);
    }

    #[test]
    fn a_finished_period_projects_what_was_done() {
        check(measure(40, 40, 25), Some(0.625), 25, false);
        check(measure(40, 40, 41), Some(1.025), 41, true);
    }

    #[test]
    fn ratios_round_half_up_to_three_decimals() {
        assert_eq!(ratio(1, 3), 0.333);
        assert_eq!(ratio(2, 3), 0.667);
        assert_eq!(ratio(1, 8), 0.125);
        assert_eq!(ratio(1, 2000), 0.001);
        assert_eq!(ratio(u64::MAX, 1), u64::MAX as f64);
    }

    #[test]
    fn thresholds_read_as_thousandths() {
        assert_eq!(Permille::from_decimal(0.1), Some(Permille(100)));
        assert_eq!(Permille::from_decimal(0.125), Some(Permille(125)));
        assert_eq!(Permille::from_decimal(1.5), None);
        assert_eq!(Permille::from_decimal(f64::NAN), None);
        assert_eq!(Permille(250).as_decimal(), 0.25);
    }

    fn stage(key: &str, activity_type: &str, m: Measure) -> StageMeasure {
        StageMeasure { key: key.into(), activity_type: activity_type.into(), measure: m }
    }

    #[test]
    fn alerts_name_each_stage_behind_in_funnel_order() {
        let stages = [
            stage("call", "call", measure(90, 30, 20)),
            stage("appointment", "appointment", measure(9, 3, 3)),
            stage("listing", "custom", measure(3, 1, 0)),
            stage("deal", "deal", measure(2, 0, 0)),
        ];
        let alerts = behind_pace_alerts(&stages, TEN_PERCENT);
        let named: Vec<_> = alerts.iter().map(|a| (a.stage_key.as_str(), a.pace_ratio)).collect();
        assert_eq!(named, [("call", Some(0.667)), ("listing", Some(0.0))]);
        assert_eq!(
            (alerts[0].kind, alerts[0].threshold, alerts[0].expected),
            ("behind_pace", 0.1, 30)
        );
    }

    #[test]
    fn types_sum_their_stages() {
        let stages = [
            stage("call", "call", measure(90, 30, 20)),
            stage("demo", "custom", measure(9, 3, 3)),
            stage("trial", "custom", measure(3, 1, 0)),
            stage("deal", "deal", measure(2, 0, 0)),
        ];
        let types = by_type(&stages);
        assert_eq!(
            types,
            [
                ("call".to_owned(), measure(90, 30, 20)),
                ("custom".to_owned(), measure(12, 4, 3)),
                ("deal".to_owned(), measure(2, 0, 0)),
            ]
        );
    }

    proptest! {
        #[test]
        fn the_projection_follows_the_pace(target in 0u64..100_000, due in 0u64..100_000, actual in 0u64..100_000) {
            let expected = due.min(target);
            let pace = pacing(measure(target, expected, actual), TEN_PERCENT);
            if expected > 0 {
                // At or above pace, the projection reaches the target; below it, it does not.
                prop_assert_eq!(pace.projected >= target, actual >= expected || pace.projected == target);
                prop_assert!(pace.projected >= actual);
                prop_assert_eq!(pace.on_pace, actual * 10 >= expected * 9);
            } else {
                prop_assert!(pace.on_pace);
                prop_assert_eq!(pace.projected, actual + target);
            }
        }
    }
}
