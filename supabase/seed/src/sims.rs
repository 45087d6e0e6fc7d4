//! `data/sims/<key>.yaml`: the global SIM catalogue, written to `public.sims` (org_id null) and
//! `public.sim_stages`. The file name is the SIM's key.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;

use crate::SeedError;
use crate::sql::literal;
use crate::values::{Cents, Key, Name, Rate};
use crate::yaml;

#[derive(Debug)]
pub struct Sim {
    key: String,
    file: SimFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SimFile {
    name: Name<200>,
    industry: Name<100>,
    #[serde(default)]
    description: String,
    average_deal_value_cents: Cents,
    #[serde(default = "full_income")]
    commission_rate: Rate,
    stages: Vec<Stage>,
    sources: Name<10_000>,
}

fn full_income() -> Rate {
    Rate::try_from(1.0).expect("1 is a rate")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stage {
    key: Key,
    name: Name<100>,
    activity: Activity,
    conversion_rate: Option<Rate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Activity {
    Call,
    Appointment,
    Deal,
    Referral,
    Custom,
}

impl Activity {
    fn as_str(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::Appointment => "appointment",
            Self::Deal => "deal",
            Self::Referral => "referral",
            Self::Custom => "custom",
        }
    }
}

/// Every `*.yaml` of `dir`, in file-name order.
pub fn load_dir(dir: &Path) -> Result<Vec<Sim>, SeedError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| SeedError::new(dir, None, format!("cannot read: {e}")))?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| SeedError::new(dir, None, e.to_string()))?.path();
        if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            paths.push(path);
        }
    }
    paths.sort();
    if paths.is_empty() {
        return Err(SeedError::new(dir, None, "no SIM files (*.yaml)"));
    }
    paths
        .iter()
        .map(|path| {
            let text = yaml::read_text(path)?;
            Sim::parse(path, &text)
        })
        .collect()
}

impl Sim {
    pub fn industry(&self) -> &str {
        self.file.industry.as_str()
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self, SeedError> {
        let key = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
        let key_ok = key.starts_with(|c: char| c.is_ascii_lowercase())
            && key.len() <= 63
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !key_ok {
            return Err(SeedError::new(
                path,
                None,
                "the file name is the SIM's key: a-z first, then a-z, 0-9, - or _",
            ));
        }
        let file: SimFile = yaml::parse(path, text)?;
        check_funnel(&file.stages).map_err(|(stage, reason)| {
            let line = match stage {
                Some(key) => yaml::line_of_nth(text, &format!("key: {key}"), 1),
                None => yaml::line_of_nth(text, "stages:", 1),
            };
            SeedError::new(path, line, reason)
        })?;
        Ok(Self { key, file })
    }

    pub fn to_sql(&self) -> String {
        let f = &self.file;
        let key = literal(&self.key);
        let mut sql = format!("\n-- SIM {} (data/sims)\n", self.key);
        sql.push_str(&format!(
            "insert into public.sims as t (org_id, key, name, industry, description, \
             average_deal_value_cents, commission_rate, sources, created_by)\n\
             values (null, {key}, {}, {}, {}, {}, {}, {}, null)\n\
             on conflict on constraint sims_key_unique do update set name = excluded.name, \
             industry = excluded.industry, description = excluded.description, \
             average_deal_value_cents = excluded.average_deal_value_cents, \
             commission_rate = excluded.commission_rate, sources = excluded.sources\n  \
             where (t.name, t.industry, t.description, t.average_deal_value_cents, \
             t.commission_rate, t.sources) is distinct from (excluded.name, excluded.industry, \
             excluded.description, excluded.average_deal_value_cents, excluded.commission_rate, \
             excluded.sources);\n",
            literal(f.name.as_str()),
            literal(f.industry.as_str()),
            literal(&f.description),
            f.average_deal_value_cents,
            f.commission_rate,
            literal(f.sources.as_str()),
        ));
        let stages: Vec<String> = f
            .stages
            .iter()
            .enumerate()
            .map(|(i, s)| {
                format!(
                    "({}, {}, {}, '{}'::public.activity_type, {}::numeric)",
                    i + 1,
                    literal(s.key.as_str()),
                    literal(s.name.as_str()),
                    s.activity.as_str(),
                    s.conversion_rate.map_or_else(|| "null".to_owned(), |r| r.to_string()),
                )
            })
            .collect();
        let desired = format!(
            "with desired (position, key, name, activity_type, conversion_rate) as (values {}),\n\
             sim as (select id from public.sims where org_id is null and key = {key})\n",
            stages.join(", ")
        );
        // Stages that differ from the file go; the missing ones come; equal ones stay untouched.
        sql.push_str(&format!(
            "{desired}delete from public.sim_stages st using sim where st.sim_id = sim.id \
             and not exists (select 1 from desired d where d.position = st.position \
             and d.key = st.key and d.name = st.name and d.activity_type = st.activity_type \
             and d.conversion_rate is not distinct from st.conversion_rate);\n"
        ));
        sql.push_str(&format!(
            "{desired}insert into public.sim_stages (sim_id, position, key, name, activity_type, conversion_rate)\n\
             select sim.id, d.position, d.key, d.name, d.activity_type, d.conversion_rate from desired d, sim\n\
             on conflict (sim_id, position) do nothing;\n"
        ));
        sql
    }
}

/// The funnel rules the database also enforces: stages in order ending in exactly one deal,
/// each earlier stage with a conversion rate, the deal without one, keys unique.
fn check_funnel(stages: &[Stage]) -> Result<(), (Option<String>, String)> {
    if stages.len() < 2 || stages.len() > 20 {
        return Err((None, format!("a funnel has 2 to 20 stages, not {}", stages.len())));
    }
    let mut keys = BTreeSet::new();
    for (i, stage) in stages.iter().enumerate() {
        let key = stage.key.as_str().to_owned();
        if !keys.insert(key.clone()) {
            return Err((Some(key.clone()), format!("stage key `{key}` is used twice")));
        }
        let last = i + 1 == stages.len();
        match (stage.activity == Activity::Deal, last, stage.conversion_rate.is_some()) {
            (true, false, _) => {
                return Err((Some(key), "the deal stage must be the last stage".to_owned()));
            }
            (false, true, _) => {
                return Err((
                    Some(key),
                    "the last stage must be the deal (activity: deal)".to_owned(),
                ));
            }
            (true, true, true) => {
                return Err((Some(key), "the deal stage has no conversion_rate".to_owned()));
            }
            (false, false, false) => {
                return Err((
                    Some(key),
                    "conversion_rate is missing: the share that reaches the next stage".to_owned(),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "name: Test\nindustry: Testing\naverage_deal_value_cents: 100000\n\
                         commission_rate: 0.05\nstages:\n  - key: call\n    name: Call\n    \
                         activity: call\n    conversion_rate: 0.1\n  - key: deal\n    name: Deal\n    \
                         activity: deal\nsources: reasoned\n";

    fn check_error(text: &str, line: Option<usize>, reason_part: &str) {
        let e = Sim::parse(Path::new("data/sims/test.yaml"), text).unwrap_err();
        assert_eq!((e.line, e.file.to_str()), (line, Some("data/sims/test.yaml")), "{e}");
        assert!(e.reason.contains(reason_part), "{e}");
    }

    #[test]
    fn a_valid_sim_becomes_an_upsert_and_a_stage_sync() {
        let sim = Sim::parse(Path::new("data/sims/test.yaml"), VALID).unwrap();
        let sql = sim.to_sql();
        assert!(sql.contains(
            "values (null, 'test', 'Test', 'Testing', '', 100000, 0.05000, 'reasoned', null)"
        ));
        assert!(
            sql.contains("(1, 'call', 'Call', 'call'::public.activity_type, 0.10000::numeric)")
        );
        assert!(sql.contains("(2, 'deal', 'Deal', 'deal'::public.activity_type, null::numeric)"));
        assert!(sql.contains("on conflict (sim_id, position) do nothing"));
    }

    #[test]
    fn a_rate_above_one_is_refused_at_its_stage() {
        check_error(
            &VALID.replace("conversion_rate: 0.1", "conversion_rate: 1.5"),
            Some(6),
            "stages[0]: 1.5 is not a rate in (0, 1]",
        );
    }

    #[test]
    fn funnel_mistakes_are_refused_at_the_stage() {
        check_error(
            &VALID.replace("activity: deal", "activity: call"),
            Some(10),
            "the last stage must be the deal",
        );
        check_error(
            &VALID.replace("activity: deal", "activity: deal\n    conversion_rate: 0.5"),
            Some(10),
            "has no conversion_rate",
        );
        check_error(
            &VALID.replace("    conversion_rate: 0.1\n", ""),
            Some(6),
            "conversion_rate is missing",
        );
        check_error(
            &VALID.replace("key: deal", "key: call"),
            Some(6),
            "stage key `call` is used twice",
        );
        check_error(
            &VALID.replace("activity: call", "activity: deal"),
            Some(6),
            "must be the last stage",
        );
    }

    #[test]
    fn a_one_stage_funnel_and_missing_sources_are_refused() {
        let one_stage = "name: T\nindustry: I\naverage_deal_value_cents: 1\nstages:\n  - key: deal\n    \
                         name: Deal\n    activity: deal\nsources: x\n";
        check_error(one_stage, Some(4), "2 to 20 stages");
        check_error(&VALID.replace("sources: reasoned\n", ""), Some(1), "missing field `sources`");
        check_error(
            &VALID.replace("activity: call", "activity: meeting"),
            Some(8),
            "unknown variant `meeting`",
        );
    }

    #[test]
    fn the_file_name_must_be_a_key() {
        let e = Sim::parse(Path::new("data/sims/Real Estate.yaml"), VALID).unwrap_err();
        assert!(e.reason.contains("file name"), "{e}");
    }
}
