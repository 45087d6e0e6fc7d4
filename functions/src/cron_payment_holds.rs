//! The hourly job `payment-holds-expiry`: a held payment whose capture deadline is near is
//! canceled at Stripe and marked `expired` (the authorisation would lapse anyway, and the buyer's
//! card is freed at once); one within two days of it gets `warned_at` set once, the warning the
//! billing admins see in `billing-holds` (sending it by e-mail is the notifications' job). No user
//! calls it: the service role reads and writes every organization's holds.

use serde_json::json;
use shared::billing::client::Stripe;
use shared::billing::form::Form;
use shared::billing::holds::{Due, Hold, WARN_BEFORE_DEADLINE, due, parse_timestamp, timestamp};
use shared::error::ApiError;
use shared::postgrest::service_role::{self, Purpose};
use shared::postgrest::{IsValue, send, send_json};
use shared::runtime::Ctx;

use crate::billing_holds::COLUMNS;

pub const NAME: &str = "payment-holds-expiry";
/// Hourly, at a quarter past: holds have days before their deadline.
pub const SCHEDULE: &str = "17 * * * *";

pub async fn run(ctx: &Ctx) -> Result<(), ApiError> {
    let client = service_role::client(ctx, Purpose::Cron(NAME))?;
    let horizon = timestamp(ctx.now + WARN_BEFORE_DEADLINE);
    let query = client
        .from("payment_holds")
        .select(COLUMNS)
        .eq("status", "requires_capture")
        .lte("capture_before", &horizon)
        .limit(500);
    let holds: Vec<Hold> = send_json(ctx, query.get()?).await?;
    let stripe = Stripe::from_ctx(ctx)?;
    let (mut canceled, mut warned) = (0, 0);
    for hold in holds {
        let Some(deadline) = parse_timestamp(&hold.capture_before) else { continue };
        match due(deadline, hold.warned_at.is_some(), ctx.now) {
            Due::Cancel => {
                let key = format!("salespulse-hold-{}-expired", hold.id);
                let path = format!("/v1/payment_intents/{}/cancel", hold.stripe_payment_intent_id);
                if let Err(error) =
                    stripe.post::<serde_json::Value>(&path, &Form::new(), Some(&key)).await
                {
                    // Left open: the next run tries again; the log says why.
                    error.log_into(ctx, "expire payment hold");
                    continue;
                }
                let changes = json!({ "status": "expired", "canceled_at": timestamp(ctx.now) });
                let update = client
                    .from("payment_holds")
                    .eq("id", hold.id)
                    .eq("status", "requires_capture")
                    .update(&changes)?;
                send(ctx, update).await?;
                canceled += 1;
            }
            Due::Warn => {
                let update = client
                    .from("payment_holds")
                    .eq("id", hold.id)
                    .is("warned_at", IsValue::Null)
                    .update(&json!({ "warned_at": timestamp(ctx.now) }))?;
                send(ctx, update).await?;
                ctx.log.info(
                    "payment_hold_expiring",
                    json!({ "hold": hold.id, "org": hold.org_id, "capture_before": hold.capture_before }),
                );
                warned += 1;
            }
            Due::Nothing => {}
        }
    }
    ctx.log.info("cron_done", json!({ "job": NAME, "expired": canceled, "warned": warned }));
    Ok(())
}
