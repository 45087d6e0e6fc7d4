//! The reverse funnel: from an income target to the number of deals, and from each stage's count
//! back to the stage before it. Integer arithmetic only, so `ceil` never lands one off.

use super::GoalError;

/// A conversion or commission rate in parts per million, in (0, 1]. The database keeps five
/// decimals (`numeric(6, 5)`), which parts per million hold exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rate(u32);

impl Rate {
    pub const ONE: Rate = Rate(PPM);

    /// A rate from parts per million; refuses 0 and more than 1 000 000.
    pub fn from_ppm(ppm: u32) -> Option<Self> {
        (1..=PPM).contains(&ppm).then_some(Self(ppm))
    }

    /// A rate from a decimal such as 0.25, rounded to the nearest millionth.
    pub fn from_decimal(value: f64) -> Option<Self> {
        if !value.is_finite() || value <= 0.0 || value > 1.0 {
            return None;
        }
        Self::from_ppm((value * f64::from(PPM)).round() as u32)
    }

    pub fn ppm(self) -> u32 {
        self.0
    }
}

const PPM: u32 = 1_000_000;

/// The most activities of one stage a plan may ask for; beyond it the inputs are not a plan a
/// person can act on, and the arithmetic stays far from overflow.
pub const MAX_STAGE_COUNT: u64 = 1_000_000_000_000;

/// One funnel stage: a key, and the rate converting it into the next stage (none for the deal).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stage {
    pub key: String,
    pub conversion: Option<Rate>,
}

/// Stages in order, ending in the one deal stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Funnel {
    stages: Vec<Stage>,
}

/// Most stages a funnel may have.
pub const MAX_STAGES: usize = 20;

impl Funnel {
    /// A funnel whose stages are non-empty, unique keys; every stage but the last converts into
    /// the next, the last (the deal) has no rate.
    pub fn new(stages: Vec<Stage>) -> Result<Self, GoalError> {
        if stages.is_empty() || stages.len() > MAX_STAGES {
            return Err(GoalError::new(
                "sim.stages",
                format!("must list 1 to {MAX_STAGES} stages"),
            ));
        }
        let last = stages.len() - 1;
        for (i, stage) in stages.iter().enumerate() {
            let key = stage.key.trim();
            if key.is_empty() || key.len() > 100 {
                return Err(GoalError::new(
                    format!("sim.stages[{i}].key"),
                    "must be 1 to 100 characters",
                ));
            }
            if stages[..i].iter().any(|s| s.key.trim() == key) {
                return Err(GoalError::new(format!("sim.stages[{i}].key"), "must be unique"));
            }
            match (i == last, stage.conversion) {
                (true, Some(_)) => {
                    return Err(GoalError::new(
                        format!("sim.stages[{i}].conversion_rate"),
                        "the last stage is the deal and has no conversion rate",
                    ));
                }
                (false, None) => {
                    return Err(GoalError::new(
                        format!("sim.stages[{i}].conversion_rate"),
                        "is required for every stage before the deal",
                    ));
                }
                _ => {}
            }
        }
        Ok(Self { stages })
    }

    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// How many of each stage reach `deals` deals: the deal stage is `deals`, each earlier stage
    /// is `ceil(next / rate)`.
    pub fn reverse(&self, deals: u64) -> Result<Vec<u64>, GoalError> {
        let mut counts = vec![0; self.stages.len()];
        let mut next = deals;
        for (i, stage) in self.stages.iter().enumerate().rev() {
            let count = match stage.conversion {
                None => u128::from(next),
                Some(rate) => div_ceil(u128::from(next) * u128::from(PPM), u128::from(rate.ppm())),
            };
            if count > u128::from(MAX_STAGE_COUNT) {
                return Err(GoalError::new(
                    "income_target_cents",
                    format!("needs more than {MAX_STAGE_COUNT} {} for this funnel", stage.key),
                ));
            }
            counts[i] = count as u64;
            next = count as u64;
        }
        Ok(counts)
    }
}

/// Deals needed for `target_cents` at `income_per_deal_cents` each: `ceil(target / income)`.
pub fn deals_needed(target_cents: u64, income_per_deal_cents: u64) -> u64 {
    div_ceil(u128::from(target_cents), u128::from(income_per_deal_cents.max(1))) as u64
}

/// The income one deal brings: the deal value times the commission rate, rounded half up to
/// the cent (as the database's `round(value * rate)` does for positive values).
pub fn income_per_deal(deal_value_cents: u64, commission: Rate) -> u64 {
    let scaled = u128::from(deal_value_cents) * u128::from(commission.ppm()) + u128::from(PPM / 2);
    (scaled / u128::from(PPM)) as u64
}

fn div_ceil(numerator: impl Into<u128>, denominator: u128) -> u128 {
    numerator.into().div_ceil(denominator)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(value: f64) -> Option<Rate> {
        Rate::from_decimal(value)
    }

    fn stage(key: &str, conversion: Option<f64>) -> Stage {
        Stage { key: key.into(), conversion: conversion.map(|r| rate(r).unwrap()) }
    }

    #[test]
    fn rates_are_exact_millionths_in_the_open_closed_unit_interval() {
        assert_eq!(rate(0.3).unwrap().ppm(), 300_000);
        assert_eq!(rate(0.00001).unwrap().ppm(), 10);
        assert_eq!(rate(1.0), Some(Rate::ONE));
        for bad in [0.0, -0.1, 1.000_001, f64::NAN, f64::INFINITY, 0.000_000_1] {
            assert_eq!(rate(bad), None, "{bad}");
        }
        assert_eq!(Rate::from_ppm(0), None);
        assert_eq!(Rate::from_ppm(1_000_001), None);
    }

    #[test]
    fn a_rate_of_three_tenths_needs_exactly_ten_calls_for_three_appointments() {
        // 3 / 0.3 in floating point is 10.000000000000002, whose ceil would be 11.
        let funnel = Funnel::new(vec![stage("call", Some(0.3)), stage("deal", None)]).unwrap();
        assert_eq!(funnel.reverse(3).unwrap(), [10, 3]);
    }

    #[test]
    fn each_stage_is_the_ceiling_of_the_next_over_its_rate() {
        let funnel = Funnel::new(vec![
            stage("call", Some(0.1)),
            stage("appointment", Some(0.25)),
            stage("deal", None),
        ])
        .unwrap();
        assert_eq!(funnel.reverse(0).unwrap(), [0, 0, 0]);
        assert_eq!(funnel.reverse(1).unwrap(), [40, 4, 1]);
        assert_eq!(funnel.reverse(7).unwrap(), [280, 28, 7]);
        assert_eq!(Funnel::new(vec![stage("deal", None)]).unwrap().reverse(5).unwrap(), [5]);
    }

    #[test]
    fn a_funnel_asking_for_an_absurd_count_is_refused() {
        let funnel =
            Funnel::new(vec![stage("call", Some(0.000_001)), stage("deal", None)]).unwrap();
        let error = funnel.reverse(MAX_STAGE_COUNT).unwrap_err();
        assert_eq!(error.field, "income_target_cents");
    }

    #[test]
    fn malformed_funnels_name_the_stage_at_fault() {
        let check = |stages: Vec<Stage>, field: &str| {
            assert_eq!(Funnel::new(stages).unwrap_err().field, field);
        };
        check(vec![], "sim.stages");
        check((0..=MAX_STAGES).map(|i| stage(&format!("s{i}"), Some(0.5))).collect(), "sim.stages");
        check(vec![stage("call", Some(0.5))], "sim.stages[0].conversion_rate");
        check(vec![stage("call", None), stage("deal", None)], "sim.stages[0].conversion_rate");
        check(vec![stage(" ", Some(0.5)), stage("deal", None)], "sim.stages[0].key");
        check(vec![stage("deal", Some(0.5)), stage("deal", None)], "sim.stages[1].key");
    }

    #[test]
    fn deals_round_up_and_income_per_deal_rounds_half_up() {
        assert_eq!(deals_needed(0, 500), 0);
        assert_eq!(deals_needed(1_000, 500), 2);
        assert_eq!(deals_needed(1_001, 500), 3);
        assert_eq!(income_per_deal(900_000, Rate::ONE), 900_000);
        assert_eq!(income_per_deal(900_000, rate(0.025).unwrap()), 22_500);
        assert_eq!(income_per_deal(5, rate(0.5).unwrap()), 3);
        assert_eq!(income_per_deal(1, rate(0.4).unwrap()), 0);
    }
}
