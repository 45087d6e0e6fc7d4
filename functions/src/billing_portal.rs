//! `billing-portal` (POST): a Stripe billing portal session for the caller's organization, where
//! its billing admin changes the payment method, seats or plan, downloads invoices or cancels.
//! Only an organization that has bought something has a customer to manage.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;
use shared::auth;
use shared::billing::client::Stripe;
use shared::billing::form::Form;
use shared::error::ApiError;
use shared::http::{private_json_response, require_method};
use shared::postgrest::Postgrest;
use shared::runtime::Ctx;

use crate::billing_account;

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    require_method(&request, Method::POST)?;
    let caller = auth::authenticate(&request, ctx).await?;
    let stripe = Stripe::from_ctx(ctx)?;
    let client = Postgrest::as_caller(&ctx.config, &caller);
    let account = billing_account::load(ctx, &client).await?;
    let Some(customer) = account.stripe_customer_id else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_billing_account",
            "the organization has bought nothing yet: start with billing-checkout",
        ));
    };
    let form = Form::new()
        .field("customer", &customer)
        .optional("return_url", ctx.config.billing.portal_return_url.as_deref());
    #[derive(Deserialize)]
    struct PortalSession {
        url: String,
    }
    let session: PortalSession = stripe
        .post("/v1/billing_portal/sessions", &form, None)
        .await
        .map_err(|e| e.log_into(ctx, "create portal session"))?;
    Ok(private_json_response(&json!({ "url": session.url })))
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http::{Method, Request};

    use crate::tests::{call, call_as_user};

    #[test]
    fn the_portal_is_opened_with_post_by_a_signed_in_caller() {
        let get = Request::builder().method(Method::GET).body(Bytes::new()).unwrap();
        assert_eq!(call("billing-portal", get).0, 405);
        let post = Request::builder().method(Method::POST).body(Bytes::new()).unwrap();
        let (status, body, _) = call("billing-portal", post);
        assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (401, Some("missing_token")));
    }

    #[test]
    fn without_a_stripe_key_billing_is_unavailable_before_any_database_call() {
        let (status, body) = call_as_user("billing-portal", "POST", "", &serde_json::json!({}));
        assert_eq!((status, body["error"]["code"].as_str()), (503, Some("billing_unavailable")));
    }
}
