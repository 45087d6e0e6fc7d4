//! `sync-plans [--plans data/plans.yml] [--catalogue salespulse]`: Stripe's products and
//! prices made to match the plans file, their ids written into the database. Reads
//! `STRIPE_SECRET_KEY`, `STRIPE_API_URL` (default Stripe's) and `DATABASE_URL` (the owner
//! connection, as for migrations). Prints one summary line; a second run prints "0 changes".

use std::path::PathBuf;
use std::rc::Rc;

use anyhow::{Context, Result, anyhow};
use plan_sync::{sync_stripe, write_ids};
use shared::billing::client::{DEFAULT_API_URL, Stripe};
use shared::runtime::native::ReqwestClient;

fn argument(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let plans =
        PathBuf::from(argument(&args, "--plans").unwrap_or_else(|| "data/plans.yml".into()));
    let catalogue = argument(&args, "--catalogue").unwrap_or_else(|| "salespulse".into());
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let key = env("STRIPE_SECRET_KEY").ok_or_else(|| anyhow!("STRIPE_SECRET_KEY is not set"))?;
    let api_url = env("STRIPE_API_URL").unwrap_or_else(|| DEFAULT_API_URL.to_owned());
    let database_url = env("DATABASE_URL").ok_or_else(|| anyhow!("DATABASE_URL is not set"))?;

    let offers = seed::Seed::offers(&plans).map_err(|e| anyhow!("{e}"))?;
    let http = Rc::new(ReqwestClient::new(reqwest::Client::new()));
    let stripe = Stripe::new(http.as_ref(), &api_url, &key);
    let (synced, mut summary) = sync_stripe(&stripe, &catalogue, &offers).await?;

    let (db, connection) = tokio_postgres::connect(&database_url, tokio_postgres::NoTls)
        .await
        .context("connecting to DATABASE_URL")?;
    tokio::spawn(connection);
    summary.rows_written = write_ids(&db, &synced).await?;
    println!("sync-plans: {summary}");
    Ok(())
}
