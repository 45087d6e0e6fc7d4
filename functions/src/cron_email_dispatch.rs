//! The every-minute job `email-dispatch`: sends the e-mails about new messages whose batch is
//! due. `claim_email_batches()` leases the due batches (`for update skip locked` and a lease, so
//! a concurrent run never gets the same batch); each is sent through Mailgun and its outcome
//! recorded by the lease holder: sent with Mailgun's id, or a failed attempt that the database
//! schedules again with back-off or gives up. No user calls it: the service role reads every
//! recipient's batches.
//!
//! At least once, not exactly once: should a run stop between Mailgun's 200 and
//! `record_email_sent` (a crash, the database gone), the lease runs out and the next run sends
//! the batch again, with the same `Message-Id` and `salespulse_batch_id`, so the two copies are
//! recognisably one e-mail. The messages themselves are never touched.

use serde_json::json;
use shared::error::ApiError;
use shared::mail::digest::{self, Batch};
use shared::mail::mailgun::Mailgun;
use shared::postgrest::send_json;
use shared::postgrest::service_role::{self, Purpose};
use shared::runtime::Ctx;

pub const NAME: &str = "email-dispatch";
/// Every minute: a batch waits at most a minute past its window.
pub const SCHEDULE: &str = "* * * * *";

/// Batches one run sends; a run ends well within a minute even when Mailgun is slow.
const BATCHES_PER_RUN: u32 = 50;
/// How long a claim holds: longer than a run takes, short enough that a crashed run's batches
/// go out a few minutes later.
const LEASE_SECONDS: u32 = 300;

pub async fn run(ctx: &Ctx) -> Result<(), ApiError> {
    let client = service_role::client(ctx, Purpose::Cron(NAME))?;
    let mailgun = Mailgun::from_ctx(ctx)?;
    let Some(app_url) = ctx.config.mail.app_url.as_deref() else {
        return Err(shared::mail::unavailable(ctx, &["APP_URL"]));
    };
    let claim = json!({ "p_limit": BATCHES_PER_RUN, "p_lease_seconds": LEASE_SECONDS });
    let batches: Vec<Batch> = send_json(ctx, client.rpc("claim_email_batches", &claim)?).await?;
    let (mut sent, mut failed) = (0, 0);
    for batch in &batches {
        let email = digest::compose(batch, app_url, mailgun.domain());
        match mailgun.send(&email).await {
            Ok(mailgun_id) => {
                let record = json!({
                    "p_batch": batch.id, "p_lease_token": batch.lease_token,
                    "p_mailgun_id": mailgun_id,
                });
                let recorded: bool =
                    send_json(ctx, client.rpc("record_email_sent", &record)?).await?;
                if !recorded {
                    // Our lease ran out mid-send: another run may send this batch again.
                    ctx.log.error("email_lease_lost", json!({ "batch": batch.id }));
                }
                sent += 1;
            }
            Err(error) => {
                let record = json!({
                    "p_batch": batch.id, "p_lease_token": batch.lease_token,
                    "p_error": error.to_string(), "p_permanent": error.is_permanent(),
                });
                let status: Option<String> =
                    send_json(ctx, client.rpc("record_email_failure", &record)?).await?;
                let fields = json!({
                    "batch": batch.id, "attempt": batch.attempts + 1,
                    "error": error.to_string(), "status": status,
                });
                if status.as_deref() == Some("pending") {
                    ctx.log.info("email_retry_later", fields);
                } else {
                    ctx.log.error("email_failed", fields);
                }
                failed += 1;
            }
        }
    }
    ctx.log.info("cron_done", json!({ "job": NAME, "sent": sent, "failed": failed }));
    Ok(())
}
