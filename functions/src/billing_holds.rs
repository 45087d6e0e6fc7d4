//! `billing-holds`: the organization's held pilot payments, for its billing admin.
//! GET lists them (newest first); POST `{id, action: "capture" | "cancel"}` settles one at
//! Stripe (localstripe in tests) and records the outcome with the admin's own token
//! (`settle_payment_hold()`). A retry of a done settlement answers the hold again; capturing a
//! canceled or expired hold (or the reverse) is 409 `hold_settled`.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;
use shared::auth;
use shared::billing::client::Stripe;
use shared::billing::form::Form;
use shared::billing::holds::{Hold, Settlement, Step, step};
use shared::error::ApiError;
use shared::http::{private_json_response, read_json};
use shared::postgrest::{Direction, Postgrest, send_json};
use shared::runtime::Ctx;
use uuid::Uuid;

use crate::billing_account;

pub const COLUMNS: &str = "id,org_id,stripe_payment_intent_id,amount_cents,currency,status,description,capture_before,warned_at";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    id: Uuid,
    action: Settlement,
}

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    let method = request.method().clone();
    if method != Method::GET && method != Method::POST {
        return Err(ApiError::method_not_allowed("GET or POST"));
    }
    let caller = auth::authenticate(&request, ctx).await?;
    let client = Postgrest::as_caller(&ctx.config, &caller);
    if method == Method::GET {
        billing_account::load(ctx, &client).await?;
        let query = client
            .from("payment_holds")
            .select(COLUMNS)
            .order("created_at", Direction::Descending)
            .limit(200);
        let holds: Vec<Hold> = send_json(ctx, query.get()?).await?;
        return Ok(private_json_response(&json!({ "holds": holds })));
    }
    let body: Body = read_json(&request)?;
    let stripe = Stripe::from_ctx(ctx)?;
    billing_account::load(ctx, &client).await?;
    let query = client.from("payment_holds").select(COLUMNS).eq("id", body.id);
    let found: Vec<Hold> = send_json(ctx, query.get()?).await?;
    let hold = found.into_iter().next().ok_or_else(|| ApiError::not_found("no such hold"))?;
    match step(&hold.status, body.action) {
        Step::AlreadyDone => return Ok(private_json_response(&json!({ "hold": hold }))),
        Step::Refused => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "hold_settled",
                format!("the hold is {} already", hold.status),
            ));
        }
        Step::Settle => {}
    }
    let key = format!("salespulse-hold-{}-{}", hold.id, body.action.outcome());
    let path = body.action.stripe_path(&hold.stripe_payment_intent_id);
    let _: serde_json::Value = stripe
        .post(&path, &Form::new(), Some(&key))
        .await
        .map_err(|e| e.log_into(ctx, "settle payment hold"))?;
    let arguments = json!({ "hold_id": hold.id, "outcome": body.action.outcome() });
    let settled: Vec<Hold> = send_json(ctx, client.rpc("settle_payment_hold", &arguments)?).await?;
    let hold = settled.into_iter().next().ok_or_else(|| ApiError::not_found("no such hold"))?;
    Ok(private_json_response(&json!({ "hold": hold })))
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http::{Method, Request};
    use serde_json::json;

    use crate::tests::{assert_names, call, call_as_user};

    #[test]
    fn holds_are_read_and_settled_by_a_signed_in_caller() {
        let put = Request::builder().method(Method::PUT).body(Bytes::new()).unwrap();
        assert_eq!(call("billing-holds", put).0, 405);
        let (status, body, _) = call("billing-holds", Request::new(Bytes::new()));
        assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (401, Some("missing_token")));
    }

    #[test]
    fn a_settlement_names_a_hold_and_capture_or_cancel() {
        let post = |body| call_as_user("billing-holds", "POST", "", &body);
        assert_names(&post(json!({"action": "capture"})), "body");
        assert_names(&post(json!({"id": "7", "action": "capture"})), "id");
        let id = "3b0b5c1e-8a7d-4c55-9a0e-5a1f2d3c4b5a";
        assert_names(&post(json!({"id": id, "action": "refund"})), "action");
    }
}
