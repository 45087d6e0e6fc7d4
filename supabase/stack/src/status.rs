//! What `supabase status -o env` prints, and the same lines in `supabase/.temp/status.env`.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

use crate::config::Config;
use crate::keys::api_key;

/// `KEY=value` lines: API_URL, DB_URL, JWT_SECRET, ANON_KEY, SERVICE_ROLE_KEY.
pub fn lines(config: &Config) -> Result<Vec<(&'static str, String)>> {
    // Keys are issued at the start of the current day so repeated runs print the same keys.
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let issued_at = now - now % 86_400;
    Ok(vec![
        ("API_URL", config.api_url()),
        ("DB_URL", config.database_url.clone()),
        ("JWT_SECRET", config.jwt_secret.clone()),
        ("ANON_KEY", api_key(&config.jwt_secret, "anon", issued_at)?),
        ("SERVICE_ROLE_KEY", api_key(&config.jwt_secret, "service_role", issued_at)?),
    ])
}

/// Prints the status and writes it to the status file for scripts and tests.
pub fn publish(config: &Config) -> Result<()> {
    let text: String =
        lines(config)?.into_iter().map(|(key, value)| format!("{key}={value}\n")).collect();
    print!("{text}");
    if let Some(dir) = config.status_file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&config.status_file, text)
        .with_context(|| format!("writing {}", config.status_file.display()))?;
    Ok(())
}
