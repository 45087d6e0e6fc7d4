//! Seeding after the migrations: `data/` turned into SQL by the `seed` crate and applied in one
//! transaction. The script only inserts what is missing and updates what differs, so running
//! `db setup` again changes nothing.

use std::path::Path;

use anyhow::{Context, Result};

/// Serialises concurrent seedings of one database (two set-ups racing to create a demo user).
const SEED_LOCK_KEY: i64 = 0x5a1e_5b02;

/// Loads and validates `data_dir`, applies it with the demo organization; returns the SIM
/// catalogue's industries.
pub async fn seed(url: &str, data_dir: &Path) -> Result<Vec<String>> {
    let seed = seed::Seed::load(data_dir, true)?;
    let client = crate::db::connect(url).await?;
    let script = format!(
        "begin;\nselect pg_advisory_xact_lock({SEED_LOCK_KEY});\n{}\ncommit;",
        seed.to_sql()
    );
    if let Err(error) = client.batch_execute(&script).await {
        let _ = client.batch_execute("rollback").await;
        return Err(anyhow::Error::new(error)).context("seeding from data/");
    }
    Ok(seed.industries().into_iter().map(str::to_owned).collect())
}
