//! Referral impact: referrals a rep expects over the goal's period close into deals of their own
//! (the close rate), possibly worth more than a cold deal (the value multiplier). Their income
//! is taken off the target before the cold funnel is reversed, so the calls and appointments
//! the plan asks for drop accordingly.
//!
//! Rounding (integers only, so a hand check gives the same figures):
//! - referred deals of a rule = floor(expected referrals × close rate): a fraction of a referred
//!   deal is not counted on, so the plan still reaches the target;
//! - income of one referred deal = income per deal × multiplier, rounded half up to the cent;
//! - covered = min(referral income, target); the cold funnel needs ceil((target − covered) /
//!   income per deal) deals;
//! - share covered = floor(covered × 1 000 000 / target) millionths (0 for a target of 0).

use serde::Serialize;

use super::{GoalError, MAX_STAGE_COUNT, Rate, deals_needed};

/// Most referral rules one plan may take.
pub const MAX_REFERRAL_RULES: usize = 20;

/// How much more a referred deal brings than a cold one, in thousandths: 1 000 (as much) to
/// 100 000 (a hundred times), as the database's `numeric(6, 3)` multiplier holds exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Multiplier(u32);

const THOUSANDTHS: u32 = 1_000;

impl Multiplier {
    pub const ONE: Multiplier = Multiplier(THOUSANDTHS);

    /// A multiplier from thousandths; refuses less than 1 000 and more than 100 000.
    pub fn from_thousandths(thousandths: u32) -> Option<Self> {
        (THOUSANDTHS..=100 * THOUSANDTHS).contains(&thousandths).then_some(Self(thousandths))
    }

    /// A multiplier from a decimal such as 1.25, rounded to the nearest thousandth.
    pub fn from_decimal(value: f64) -> Option<Self> {
        if !value.is_finite() || !(1.0..=100.0).contains(&value) {
            return None;
        }
        Self::from_thousandths((value * f64::from(THOUSANDTHS)).round() as u32)
    }

    pub fn thousandths(self) -> u32 {
        self.0
    }
}

/// One rule: referrals expected over the goal's whole period, the share of them that close,
/// and how much more a referred deal is worth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferralRule {
    pub expected_referrals: u64,
    pub close_rate: Rate,
    pub value_multiplier: Multiplier,
}

/// What one rule brings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleImpact {
    pub referred_deals: u64,
    pub income_per_referred_deal_cents: u64,
    pub income_cents: u64,
}

/// What the referral rules bring against the target. All zero without rules.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReferralImpact {
    /// Per rule, in the order given.
    pub rules: Vec<RuleImpact>,
    pub referred_deals: u64,
    pub referral_income_cents: u64,
    /// The part of the target the referral income covers: min(referral income, target).
    pub covered_cents: u64,
    /// `covered_cents / target` in millionths, rounded down; 0 for a target of 0.
    pub covered_share_ppm: u32,
    /// Deals the cold funnel would need without referrals.
    pub cold_deals_without_referrals: u64,
    /// Deals the cold funnel needs with them (the plan's deal total).
    pub cold_deals: u64,
}

/// The referral impact of `rules` on `target_cents` at `income_per_deal_cents` a cold deal.
/// Errors name the rule's field (`referral_rules[i].…`).
pub fn impact(
    target_cents: u64,
    income_per_deal_cents: u64,
    rules: &[ReferralRule],
) -> Result<ReferralImpact, GoalError> {
    if rules.len() > MAX_REFERRAL_RULES {
        return Err(GoalError::new(
            "referral_rules",
            format!("may list at most {MAX_REFERRAL_RULES} rules"),
        ));
    }
    let mut per_rule = Vec::with_capacity(rules.len());
    for (i, rule) in rules.iter().enumerate() {
        if rule.expected_referrals > MAX_STAGE_COUNT {
            return Err(GoalError::new(
                format!("referral_rules[{i}].expected_referrals"),
                format!("must be at most {MAX_STAGE_COUNT}"),
            ));
        }
        let referred_deals = (u128::from(rule.expected_referrals)
            * u128::from(rule.close_rate.ppm())
            / 1_000_000) as u64;
        let per_deal = (u128::from(income_per_deal_cents)
            * u128::from(rule.value_multiplier.thousandths())
            + u128::from(THOUSANDTHS / 2))
            / u128::from(THOUSANDTHS);
        per_rule.push(RuleImpact {
            referred_deals,
            income_per_referred_deal_cents: saturate(per_deal),
            income_cents: saturate(u128::from(referred_deals) * per_deal),
        });
    }
    let referred_deals = per_rule.iter().map(|r| r.referred_deals).sum();
    let referral_income_cents =
        per_rule.iter().fold(0u64, |sum, r| sum.saturating_add(r.income_cents));
    let covered_cents = referral_income_cents.min(target_cents);
    let covered_share_ppm = match target_cents {
        0 => 0,
        target => (u128::from(covered_cents) * 1_000_000 / u128::from(target)) as u32,
    };
    Ok(ReferralImpact {
        rules: per_rule,
        referred_deals,
        referral_income_cents,
        covered_cents,
        covered_share_ppm,
        cold_deals_without_referrals: deals_needed(target_cents, income_per_deal_cents),
        cold_deals: deals_needed(target_cents - covered_cents, income_per_deal_cents),
    })
}

fn saturate(value: u128) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::plan;
    use super::super::tests::input_strategy;
    use super::*;

    fn rule(referrals: u64, close: f64, multiplier: f64) -> ReferralRule {
        ReferralRule {
            expected_referrals: referrals,
            close_rate: Rate::from_decimal(close).unwrap(),
            value_multiplier: Multiplier::from_decimal(multiplier).unwrap(),
        }
    }

    #[test]
    fn five_referrals_closing_one_in_five_at_a_quarter_more_cover_most_of_the_target() {
        // README's example: 1 referred deal worth 900 000 × 1.25 = 1 125 000 of 2 000 000;
        // the cold funnel still needs ceil(875 000 / 900 000) = 1 deal instead of 3.
        let impact = impact(2_000_000, 900_000, &[rule(5, 0.2, 1.25)]).unwrap();
        assert_eq!(
            impact,
            ReferralImpact {
                rules: vec![RuleImpact {
                    referred_deals: 1,
                    income_per_referred_deal_cents: 1_125_000,
                    income_cents: 1_125_000,
                }],
                referred_deals: 1,
                referral_income_cents: 1_125_000,
                covered_cents: 1_125_000,
                covered_share_ppm: 562_500,
                cold_deals_without_referrals: 3,
                cold_deals: 1,
            }
        );
    }

    #[test]
    fn a_fraction_of_a_referred_deal_is_not_counted_on() {
        let impact = impact(2_000_000, 900_000, &[rule(4, 0.2, 1.0)]).unwrap();
        assert_eq!((impact.referred_deals, impact.cold_deals), (0, 3));
        assert_eq!(impact.covered_share_ppm, 0);
    }

    #[test]
    fn referrals_worth_more_than_the_target_cover_it_all_and_no_more() {
        let impact = impact(2_000_000, 900_000, &[rule(10, 0.5, 1.0), rule(3, 1.0, 2.0)]).unwrap();
        assert_eq!(impact.referred_deals, 8);
        assert_eq!(impact.referral_income_cents, 5 * 900_000 + 3 * 1_800_000);
        assert_eq!((impact.covered_cents, impact.covered_share_ppm), (2_000_000, 1_000_000));
        assert_eq!(impact.cold_deals, 0);
    }

    #[test]
    fn the_multiplier_rounds_half_up_to_the_cent() {
        let per_deal = |income: u64| {
            let rule = ReferralRule { value_multiplier: Multiplier(1_002), ..rule(1, 1.0, 1.0) };
            impact(0, income, &[rule]).unwrap().rules[0].income_per_referred_deal_cents
        };
        assert_eq!(per_deal(333), 334); // 333.666
        assert_eq!(per_deal(250), 251); // 250.5, half up
        assert_eq!(per_deal(249), 249); // 249.498
        assert_eq!(per_deal(1_000), 1_002);
    }

    #[test]
    fn no_rules_and_a_zero_target_change_nothing() {
        let none = impact(2_000_000, 900_000, &[]).unwrap();
        assert_eq!((none.cold_deals, none.cold_deals_without_referrals), (3, 3));
        let zero = impact(0, 900_000, &[rule(5, 1.0, 1.0)]).unwrap();
        assert_eq!((zero.covered_cents, zero.covered_share_ppm, zero.cold_deals), (0, 0, 0));
        assert_eq!(zero.referral_income_cents, 4_500_000);
    }

    #[test]
    fn multipliers_stay_between_one_and_a_hundred() {
        assert_eq!(Multiplier::from_decimal(1.25).unwrap().thousandths(), 1_250);
        assert_eq!(Multiplier::from_decimal(1.0), Some(Multiplier::ONE));
        for bad in [0.999, 0.5, 100.001, f64::NAN, f64::INFINITY, -1.0] {
            assert_eq!(Multiplier::from_decimal(bad), None, "{bad}");
        }
        assert_eq!(Multiplier::from_thousandths(999), None);
        assert_eq!(Multiplier::from_thousandths(100_001), None);
    }

    #[test]
    fn too_many_rules_or_referrals_name_the_field() {
        let many = vec![rule(1, 1.0, 1.0); MAX_REFERRAL_RULES + 1];
        assert_eq!(impact(1, 1, &many).unwrap_err().field, "referral_rules");
        let absurd = [rule(1, 1.0, 1.0), rule(MAX_STAGE_COUNT + 1, 1.0, 1.0)];
        assert_eq!(
            impact(1, 1, &absurd).unwrap_err().field,
            "referral_rules[1].expected_referrals"
        );
    }

    // --- properties ---------------------------------------------------------------------------

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn referrals_cover_at_most_the_target_and_the_cold_deals_the_rest(input in input_strategy()) {
            let impact = impact(input.income_target_cents, input.income_per_deal_cents, &input.referrals).unwrap();
            prop_assert!(impact.covered_cents <= input.income_target_cents);
            prop_assert!(impact.covered_share_ppm <= 1_000_000);
            prop_assert!(impact.cold_deals <= impact.cold_deals_without_referrals);
            let cold_income = impact.cold_deals * input.income_per_deal_cents;
            prop_assert!(cold_income + impact.covered_cents >= input.income_target_cents);
            if impact.cold_deals > 0 {
                prop_assert!(cold_income - input.income_per_deal_cents + impact.covered_cents < input.income_target_cents);
            }
        }

        #[test]
        fn more_expected_referrals_never_ask_for_more_cold_effort(input in input_strategy(), more in 1u64..20) {
            prop_assume!(!input.referrals.is_empty());
            let fewer = plan(&input).unwrap();
            let mut richer = input.clone();
            richer.referrals[0].expected_referrals += more;
            let richer = plan(&richer).unwrap();
            prop_assert!(fewer.totals.iter().zip(&richer.totals).all(|(f, r)| r <= f));
            prop_assert!(richer.referrals.covered_cents >= fewer.referrals.covered_cents);
        }
    }
}
