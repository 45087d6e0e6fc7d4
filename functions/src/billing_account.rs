//! What `billing-checkout` and `billing-portal` share: the caller's billing account, asked
//! with their own token (`billing_account()` refuses everyone but the organization's billing
//! admin), and its Stripe customer, created once per organization.

use serde_json::json;
use shared::billing::checkout::{BillingAccount, customer_form, customer_idempotency_key};
use shared::billing::client::Stripe;
use shared::error::ApiError;
use shared::postgrest::{Postgrest, send_json};
use shared::runtime::Ctx;

/// The caller's billing account; 403 for anyone who does not manage their organization's
/// billing (the database decides).
pub async fn load(ctx: &Ctx, client: &Postgrest) -> Result<BillingAccount, ApiError> {
    let rows: Vec<BillingAccount> =
        send_json(ctx, client.rpc("billing_account", &json!({}))?).await?;
    rows.into_iter().next().ok_or_else(|| ApiError::forbidden("you may not manage billing"))
}

/// The organization's Stripe customer, created and recorded when it has none. Concurrent first
/// purchases send the same Idempotency-Key, so Stripe makes one customer; the database keeps
/// the first row recorded and answers it to everyone.
pub async fn customer(
    ctx: &Ctx,
    client: &Postgrest,
    stripe: &Stripe<'_>,
    account: &BillingAccount,
) -> Result<String, ApiError> {
    if let Some(id) = &account.stripe_customer_id {
        return Ok(id.clone());
    }
    #[derive(serde::Deserialize)]
    struct Created {
        id: String,
    }
    let key = customer_idempotency_key(account);
    let created: Created = stripe
        .post("/v1/customers", &customer_form(account), Some(&key))
        .await
        .map_err(|e| e.log_into(ctx, "create customer"))?;
    let recorded: String = send_json(
        ctx,
        client.rpc("record_stripe_customer", &json!({ "customer_id": created.id }))?,
    )
    .await?;
    Ok(recorded)
}
