//! The seed loader: reads `data/` (the SIM catalogue, the plans and add-ons, the demo
//! organization), validates every file, and turns them into one SQL script that can run any
//! number of times — a second run changes nothing.
//!
//! A malformed file is refused with its path, line and reason ([`SeedError`]).

mod demo;
mod error;
mod plans;
mod sims;
mod sql;
mod values;
mod yaml;

use std::path::Path;

pub use error::SeedError;
pub use plans::{Offer, OfferKind};

use demo::Demo;
use plans::Catalogue;
use sims::Sim;

/// Everything the seed writes.
#[derive(Debug)]
pub struct Seed {
    catalogue: Catalogue,
    sims: Vec<Sim>,
    demo: Option<Demo>,
}

impl Seed {
    /// Reads and validates `data_dir/plans.yml`, `data_dir/sims/*.yaml` and, when
    /// `with_demo`, `data_dir/demo.yml`.
    pub fn load(data_dir: &Path, with_demo: bool) -> Result<Self, SeedError> {
        let catalogue = Catalogue::load(&data_dir.join("plans.yml"))?;
        let sims = sims::load_dir(&data_dir.join("sims"))?;
        let demo = if with_demo { Some(Demo::load(&data_dir.join("demo.yml"))?) } else { None };
        if let Some(demo) = &demo {
            demo.check_plan(&catalogue, &data_dir.join("demo.yml"))?;
        }
        Ok(Self { catalogue, sims, demo })
    }

    /// The plans and add-ons of `plans_yml` alone (the plan sync needs nothing else).
    pub fn offers(plans_yml: &Path) -> Result<Vec<Offer>, SeedError> {
        Ok(Catalogue::load(plans_yml)?.offers())
    }

    /// The industries of the SIM catalogue, one per SIM file.
    pub fn industries(&self) -> Vec<&str> {
        self.sims.iter().map(Sim::industry).collect()
    }

    /// One SQL script for the whole seed, meant to run in one transaction.
    pub fn to_sql(&self) -> String {
        let mut script = String::from(
            "-- Generated from data/ by the seed loader (supabase/seed); safe to run again.\n\
             -- Regenerate: cargo run -q -p seed --bin seed-sql > supabase/seed.sql\n",
        );
        script.push_str(&self.catalogue.to_sql());
        for sim in &self.sims {
            script.push_str(&sim.to_sql());
        }
        if let Some(demo) = &self.demo {
            script.push_str(&demo.to_sql());
        }
        script
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data_dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data")
    }

    #[test]
    fn the_repository_data_loads_with_five_industries_or_more() {
        let seed = Seed::load(&data_dir(), true).expect("data/ is valid");
        let industries: std::collections::BTreeSet<_> = seed.industries().into_iter().collect();
        assert!(industries.len() >= 5, "{industries:?}");
        for industry in ["Real estate", "Insurance", "Mortgage", "Solar", "B2B SaaS"] {
            assert!(industries.contains(industry), "{industry} missing");
        }
    }

    #[test]
    fn the_repository_plans_include_both_voice_ai_add_ons() {
        let seed = Seed::load(&data_dir(), false).unwrap();
        let sql = seed.to_sql();
        assert!(sql.contains("'voice_ai_single_sim'") && sql.contains("'voice_ai_three_sims'"));
        assert!(!sql.contains("auth.users"), "no demo users without with_demo");
    }

    #[test]
    fn the_supabase_cli_seed_file_is_the_generated_script() {
        let committed =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../seed.sql"))
                .unwrap();
        let generated = Seed::load(&data_dir(), true).unwrap().to_sql();
        assert!(
            committed == generated,
            "supabase/seed.sql is stale: cargo run -q -p seed --bin seed-sql > supabase/seed.sql"
        );
    }

    #[test]
    fn the_script_only_inserts_what_is_missing_or_different() {
        let sql = Seed::load(&data_dir(), true).unwrap().to_sql();
        let inserts = sql.matches("insert into").count();
        let guarded = sql.matches("on conflict").count()
            + sql.matches("where not exists (select 1 from auth.users").count();
        assert!(inserts > 0);
        assert_eq!(inserts, guarded, "every insert skips what exists");
    }
}
