//! `data/plans.yml`: the plans and add-ons, written to `public.plans` and `public.add_ons`.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;

use crate::SeedError;
use crate::sql::{literal, text_array};
use crate::values::{Cents, Count, Currency, GraceDays, Interval, Key, Name};
use crate::yaml;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    plans: Vec<Plan>,
    #[serde(default)]
    add_ons: Vec<AddOn>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Plan {
    key: Key,
    name: Name<100>,
    #[serde(default)]
    description: String,
    price_cents: Cents,
    #[serde(default = "usd")]
    currency: Currency,
    interval: Interval,
    max_users: Count,
    max_sims: Count,
    #[serde(default)]
    payment_grace_days: GraceDays,
    #[serde(default)]
    features: Vec<Key>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddOn {
    key: Key,
    name: Name<100>,
    #[serde(default)]
    description: String,
    price_cents: Cents,
    #[serde(default = "usd")]
    currency: Currency,
    interval: Interval,
    sim_count: Option<Count>,
    #[serde(default)]
    features: Vec<Key>,
}

/// Whether an offer is a plan (`public.plans`) or an add-on (`public.add_ons`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferKind {
    Plan,
    AddOn,
}

/// A plan or add-on with what Stripe needs to sell it; `key` is the price's lookup_key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub kind: OfferKind,
    pub key: String,
    pub name: String,
    pub description: String,
    pub price_cents: i64,
    pub currency: String,
    pub interval: &'static str,
}

fn usd() -> Currency {
    Currency::try_from("usd".to_owned()).expect("usd is a currency")
}

impl Catalogue {
    pub fn load(path: &Path) -> Result<Self, SeedError> {
        let text = yaml::read_text(path)?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self, SeedError> {
        let catalogue: Self = yaml::parse(path, text)?;
        if catalogue.plans.is_empty() {
            return Err(SeedError::new(path, None, "there must be at least one plan"));
        }
        // Keys are Stripe lookup keys too: unique across plans and add-ons.
        let mut seen = BTreeSet::new();
        let keys =
            catalogue.plans.iter().map(|p| &p.key).chain(catalogue.add_ons.iter().map(|a| &a.key));
        for key in keys {
            if !seen.insert(key) {
                let line = yaml::line_of_nth(text, &format!("key: {}", key.as_str()), 2);
                return Err(SeedError::new(
                    path,
                    line,
                    format!(
                        "key `{}` is used twice (plan and add-on keys are Stripe lookup keys)",
                        key.as_str()
                    ),
                ));
            }
        }
        Ok(catalogue)
    }

    /// Every plan and add-on as Stripe sells it: one product with one recurring price each.
    pub fn offers(&self) -> Vec<Offer> {
        let plans = self.plans.iter().map(|p| Offer {
            kind: OfferKind::Plan,
            key: p.key.as_str().to_owned(),
            name: p.name.as_str().to_owned(),
            description: p.description.clone(),
            price_cents: p.price_cents.get(),
            currency: p.currency.as_str().to_owned(),
            interval: p.interval.as_str(),
        });
        let add_ons = self.add_ons.iter().map(|a| Offer {
            kind: OfferKind::AddOn,
            key: a.key.as_str().to_owned(),
            name: a.name.as_str().to_owned(),
            description: a.description.clone(),
            price_cents: a.price_cents.get(),
            currency: a.currency.as_str().to_owned(),
            interval: a.interval.as_str(),
        });
        plans.chain(add_ons).collect()
    }

    pub fn has_plan(&self, key: &str) -> bool {
        self.plans.iter().any(|p| p.key.as_str() == key)
    }

    pub fn to_sql(&self) -> String {
        let mut sql = String::from("\n-- plans and add-ons (data/plans.yml)\n");
        let features: BTreeSet<&str> = self
            .plans
            .iter()
            .flat_map(|p| &p.features)
            .chain(self.add_ons.iter().flat_map(|a| &a.features))
            .map(Key::as_str)
            .collect();
        sql.push_str(&format!(
            "do $$\ndeclare unknown text;\nbegin\n  select string_agg(f, ', ') into unknown\n    \
             from unnest({}) f where f not in (select key from public.features);\n  \
             if unknown is not null then\n    raise exception 'data/plans.yml names unknown features: %', unknown;\n  \
             end if;\nend\n$$;\n",
            text_array(features)
        ));

        let rows: Vec<String> = self
            .plans
            .iter()
            .enumerate()
            .map(|(i, p)| {
                format!(
                    "  ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
                    literal(p.key.as_str()),
                    literal(p.name.as_str()),
                    literal(&p.description),
                    p.price_cents,
                    literal(p.currency.as_str()),
                    literal(p.interval.as_str()),
                    p.max_users,
                    p.max_sims,
                    p.payment_grace_days,
                    text_array(p.features.iter().map(Key::as_str)),
                    i + 1,
                )
            })
            .collect();
        sql.push_str(&format!(
            "insert into public.plans as t (key, name, description, price_cents, currency, \
             billing_interval, max_users, max_sims, payment_grace_days, features, sort_order)\n\
             values\n{}\n\
             on conflict (key) do update set name = excluded.name, description = excluded.description, \
             price_cents = excluded.price_cents, currency = excluded.currency, \
             billing_interval = excluded.billing_interval, max_users = excluded.max_users, \
             max_sims = excluded.max_sims, payment_grace_days = excluded.payment_grace_days, \
             features = excluded.features, active = true, sort_order = excluded.sort_order\n  \
             where (t.name, t.description, t.price_cents, t.currency, t.billing_interval, \
             t.max_users, t.max_sims, t.payment_grace_days, t.features, t.active, t.sort_order) \
             is distinct from (excluded.name, excluded.description, excluded.price_cents, \
             excluded.currency, excluded.billing_interval, excluded.max_users, excluded.max_sims, \
             excluded.payment_grace_days, excluded.features, true, excluded.sort_order);\n",
            rows.join(",\n")
        ));
        sql.push_str(&format!(
            "update public.plans set active = false where active and key <> all ({});\n",
            text_array(self.plans.iter().map(|p| p.key.as_str()))
        ));

        if !self.add_ons.is_empty() {
            let rows: Vec<String> = self
                .add_ons
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    format!(
                        "  ({}, {}, {}, {}, {}, {}, {}, {}, {})",
                        literal(a.key.as_str()),
                        literal(a.name.as_str()),
                        literal(&a.description),
                        a.price_cents,
                        literal(a.currency.as_str()),
                        literal(a.interval.as_str()),
                        a.sim_count.map_or_else(|| "null".to_owned(), |c| c.to_string()),
                        text_array(a.features.iter().map(Key::as_str)),
                        i + 1,
                    )
                })
                .collect();
            sql.push_str(&format!(
                "insert into public.add_ons as t (key, name, description, price_cents, currency, \
                 billing_interval, sim_count, features, sort_order)\nvalues\n{}\n\
                 on conflict (key) do update set name = excluded.name, description = excluded.description, \
                 price_cents = excluded.price_cents, currency = excluded.currency, \
                 billing_interval = excluded.billing_interval, sim_count = excluded.sim_count, \
                 features = excluded.features, active = true, sort_order = excluded.sort_order\n  \
                 where (t.name, t.description, t.price_cents, t.currency, t.billing_interval, \
                 t.sim_count, t.features, t.active, t.sort_order) is distinct from (excluded.name, \
                 excluded.description, excluded.price_cents, excluded.currency, \
                 excluded.billing_interval, excluded.sim_count, excluded.features, true, \
                 excluded.sort_order);\n",
                rows.join(",\n")
            ));
        }
        sql.push_str(&format!(
            "update public.add_ons set active = false where active and key <> all ({});\n",
            text_array(self.add_ons.iter().map(|a| a.key.as_str()))
        ));
        sql
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "plans:\n  - key: solo\n    name: Solo\n    price_cents: 2900\n    \
                         interval: month\n    max_users: 1\n    max_sims: 1\n    features: [what_if]\n\
                         add_ons:\n  - key: voice\n    name: Voice\n    price_cents: 100\n    \
                         interval: month\n    sim_count: 3\n";

    fn check_error(text: &str, line: Option<usize>, reason_part: &str) {
        let e = Catalogue::parse(Path::new("data/plans.yml"), text).unwrap_err();
        assert_eq!((e.line, e.file.to_str()), (line, Some("data/plans.yml")), "{e}");
        assert!(e.reason.contains(reason_part), "{e}");
    }

    #[test]
    fn a_valid_catalogue_becomes_upserts_that_skip_unchanged_rows() {
        let sql = Catalogue::parse(Path::new("p.yml"), VALID).unwrap().to_sql();
        assert!(sql.contains(
            "('solo', 'Solo', '', 2900, 'usd', 'month', 1, 1, 7, array['what_if']::text[], 1)"
        ));
        assert!(sql.contains("('voice', 'Voice', '', 100, 'usd', 'month', 3, array[]::text[], 1)"));
        assert!(sql.contains("is distinct from"));
        assert!(sql.contains("update public.plans set active = false where active and key <> all (array['solo']::text[])"));
        assert!(sql.contains("unnest(array['what_if']::text[])"));
    }

    #[test]
    fn a_plan_names_its_own_grace_period_after_a_failed_payment() {
        let text = VALID.replace("max_sims: 1", "max_sims: 1\n    payment_grace_days: 14");
        let sql = Catalogue::parse(Path::new("p.yml"), &text).unwrap().to_sql();
        assert!(sql.contains("'month', 1, 1, 14, array['what_if']"), "{sql}");
    }

    #[test]
    fn a_negative_price_is_refused_at_its_plan() {
        check_error(&VALID.replace("2900", "-5"), Some(2), "plans[0]: -5 is negative");
    }

    #[test]
    fn unknown_values_and_fields_are_refused_where_they_are() {
        check_error(
            &VALID.replace("interval: month\n    max_users", "interval: week\n    max_users"),
            Some(5),
            "unknown variant `week`",
        );
        check_error(
            &VALID.replace("max_sims: 1", "max_sims: 1\n    max_simz: 2"),
            Some(8),
            "unknown field `max_simz`",
        );
        check_error(
            &VALID.replace("max_users: 1", "max_users: 0"),
            Some(2),
            "plans[0]: 0 is not a count of at least 1",
        );
        check_error(
            &VALID.replace("max_sims: 1", "max_sims: 1\n    payment_grace_days: 90"),
            Some(2),
            "plans[0]: 90 is not a grace period of 0 to 60 days",
        );
    }

    #[test]
    fn a_key_used_twice_is_refused_at_the_second_use() {
        check_error(
            &VALID.replace("key: voice", "key: solo"),
            Some(10),
            "key `solo` is used twice",
        );
    }

    #[test]
    fn a_catalogue_without_plans_is_refused() {
        check_error("plans: []\n", None, "at least one plan");
        check_error("add_ons: []\n", Some(1), "missing field `plans`");
    }
}
