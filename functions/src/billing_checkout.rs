//! `billing-checkout` (POST `{kind?, plan, seats?, add_ons?: [{key, quantity?}]}`): the
//! organization's billing admin (an individual account's owner) starts a Stripe Checkout Session
//! for a plan with its seats and add-ons; the answer carries the session's `url` to send the
//! browser to. Stripe reports the outcome to `stripe-webhook`. `kind: "proof"` is a pilot: one
//! payment of the plan's price for the seats, only authorised (`capture_method=manual`), which
//! the admin captures or cancels later in `billing-holds`.
//!
//! A client retrying sends the same `Idempotency-Key` header: Stripe then answers the same
//! session (keys are scoped to the organization here, so two organizations never share one).

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use shared::auth;
use shared::billing::checkout::{
    AddOnChoice, CatalogueRow, ReturnUrls, proof_session, purchase, subscription_session,
};
use shared::billing::client::Stripe;
use shared::error::ApiError;
use shared::http::{idempotency_key, private_json_response, read_json, require_method};
use shared::postgrest::{Postgrest, send_json};
use shared::runtime::Ctx;

use crate::billing_account;

/// A subscription, or a pilot ("proof"): one payment for the plan and seats, held until the
/// admin captures it in `billing-holds`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    #[default]
    Subscription,
    Proof,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    #[serde(default)]
    kind: Kind,
    plan: String,
    #[serde(default)]
    seats: Option<u32>,
    #[serde(default)]
    add_ons: Vec<AddOnChoice>,
}

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    require_method(&request, Method::POST)?;
    let caller = auth::authenticate(&request, ctx).await?;
    let body: Body = read_json(&request)?;
    let client_key = idempotency_key(&request)?;
    let stripe = Stripe::from_ctx(ctx)?;
    let success = ctx.config.billing.success_url.as_deref().ok_or_else(|| {
        ctx.log.error("billing_unconfigured", json!({ "missing": "BILLING_SUCCESS_URL" }));
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "billing_unavailable",
            "billing is not available on this deployment",
        )
    })?;
    let client = Postgrest::as_caller(&ctx.config, &caller);
    let account = billing_account::load(ctx, &client).await?;

    let columns = "key,billing_interval,active,stripe_price_id";
    let plans: Vec<CatalogueRow> = send_json(
        ctx,
        client
            .from("plans")
            .select(&format!("{columns},max_users,name,price_cents,currency"))
            .eq("key", &body.plan)
            .get()?,
    )
    .await?;
    let add_ons: Vec<CatalogueRow> = if body.add_ons.is_empty() {
        Vec::new()
    } else {
        let keys = body.add_ons.iter().map(|a| a.key.as_str());
        send_json(ctx, client.from("add_ons").select(columns).in_list("key", keys).get()?).await?
    };
    if body.kind == Kind::Proof && !body.add_ons.is_empty() {
        return Err(ApiError::validation("add_ons", "a pilot is of the plan alone"));
    }
    let chosen =
        purchase(&account, &body.plan, plans.first(), body.seats, &body.add_ons, &add_ons)?;

    let customer = billing_account::customer(ctx, &client, &stripe, &account).await?;
    let urls = ReturnUrls { success, cancel: ctx.config.billing.cancel_url.as_deref() };
    let form = match (body.kind, plans.first()) {
        (Kind::Proof, Some(plan)) => proof_session(&account, &customer, plan, chosen.seats, &urls),
        _ => subscription_session(&account, &customer, &chosen, &urls),
    };
    let key = stripe_idempotency_key(&account.org_id.to_string(), client_key.as_deref(), ctx);
    #[derive(Deserialize)]
    struct Session {
        id: String,
        url: Option<String>,
    }
    let session: Session = stripe
        .post("/v1/checkout/sessions", &form, Some(&key))
        .await
        .map_err(|e| e.log_into(ctx, "create checkout session"))?;
    Ok(private_json_response(&json!({
        "id": session.id, "url": session.url, "customer": customer,
        "plan": chosen.plan_key, "seats": chosen.seats,
    })))
}

/// The key Stripe sees: the organization plus the client's key (hashed: fixed length, nothing
/// of the client's text reaches Stripe), or this request's id when the client sent none.
fn stripe_idempotency_key(org: &str, client_key: Option<&str>, ctx: &Ctx) -> String {
    let part = match client_key {
        Some(key) => Sha256::digest(key.as_bytes()).iter().map(|b| format!("{b:02x}")).collect(),
        None => format!("request-{}", ctx.request_id),
    };
    format!("salespulse-checkout-{org}-{part}")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::tests::{assert_names, call, call_as_user, ctx};

    #[test]
    fn a_checkout_is_started_with_post_by_a_signed_in_caller() {
        let get = Request::builder().method(Method::GET).body(Bytes::new()).unwrap();
        assert_eq!(call("billing-checkout", get).0, 405);
        let post = Request::builder().method(Method::POST).body(Bytes::new()).unwrap();
        let (status, body, _) = call("billing-checkout", post);
        assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (401, Some("missing_token")));
    }

    #[test]
    fn bad_bodies_name_their_field_before_any_call() {
        let post = |body| call_as_user("billing-checkout", "POST", "", &body);
        assert_names(&post(json!({})), "body");
        assert_names(&post(json!({"plan": "team", "seats": -1})), "seats");
        assert_names(
            &post(json!({"plan": "team", "add_ons": [{"key": "v", "qty": 1}]})),
            "add_ons[0].qty",
        );
        assert_names(&post(json!({"plan": "team", "coupon": "FREE"})), "coupon");
    }

    #[test]
    fn without_a_stripe_key_billing_is_unavailable() {
        let (status, body) = call_as_user("billing-checkout", "POST", "", &json!({"plan": "team"}));
        assert_eq!((status, body["error"]["code"].as_str()), (503, Some("billing_unavailable")));
    }

    #[test]
    fn the_idempotency_key_is_scoped_to_the_organization_and_hashed() {
        let ctx = ctx();
        let a = stripe_idempotency_key("org-a", Some("retry-1"), &ctx);
        assert_eq!(a, stripe_idempotency_key("org-a", Some("retry-1"), &ctx));
        assert_ne!(a, stripe_idempotency_key("org-b", Some("retry-1"), &ctx));
        assert!(!a.contains("retry-1") && a.len() < 255, "{a}");
        assert_eq!(
            stripe_idempotency_key("org-a", None, &ctx),
            "salespulse-checkout-org-a-request-req-1"
        );
    }
}
