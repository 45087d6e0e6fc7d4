//! `local-stack`: the local stand-in for hosted Supabase.
//!
//! - `local-stack db setup` creates the database, applies the bootstrap and pending migrations,
//!   then seeds it from `data/` (plans, SIMs, the demo organization);
//! - `local-stack serve` runs the gateway in the foreground and prints the status;
//! - `local-stack status` prints the status only;
//! - `local-stack signing-key <kid>` prints a fresh ES256 key for `GOTRUE_JWT_KEYS`.

mod config;
mod db;
mod functions_host;
mod keys;
mod seeding;
mod server;
mod status;

use anyhow::{Result, bail};

use config::Config;

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let config = Config::from_env()?;
    match args.as_slice() {
        ["db", "setup"] => {
            let applied = db::setup(&config.database_url, &config.supabase_dir).await?;
            eprintln!("database ready; migrations applied now: {}", applied.len());
            let industries =
                seeding::seed(&config.database_url, &config.supabase_dir.join("../data")).await?;
            eprintln!("seeded from data/: SIMs for {}", industries.join(", "));
        }
        ["serve"] => serve(config).await?,
        ["status"] => status::publish(&config)?,
        ["signing-key", kid] => {
            println!("{}", serde_json::Value::from(vec![local_auth::new_signing_jwk(kid)?]));
        }
        _ => bail!("usage: local-stack (db setup | serve | status | signing-key <kid>)"),
    }
    Ok(())
}

async fn serve(config: Config) -> Result<()> {
    let started = std::time::Instant::now();
    let listener = tokio::net::TcpListener::bind((config.host.as_str(), config.port)).await?;
    let functions = functions_host::FunctionsHost::new(&config)?;
    let router = server::router(&config, functions).await?;
    status::publish(&config)?;
    eprintln!("local stack serving {} (ready in {:?})", config.api_url(), started.elapsed());
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
