//! `flags` (GET): the caller's resolved feature flags, feature key to value, as the frontend's
//! store loads them. One round trip: `resolved_feature_flags()` resolves every feature in
//! Postgres (user over org over global over plan and paid add-ons over the feature's default,
//! all in `private.flag_value`) with the caller's own token.

use bytes::Bytes;
use http::{Method, Request, Response};
use serde_json::json;
use shared::auth;
use shared::error::ApiError;
use shared::features;
use shared::http::{private_json_response, require_method};
use shared::postgrest::Postgrest;
use shared::runtime::Ctx;

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    require_method(&request, Method::GET)?;
    let caller = auth::authenticate(&request, ctx).await?;
    let client = Postgrest::as_caller(&ctx.config, &caller);
    let flags = features::resolved(ctx, &client).await?;
    Ok(private_json_response(&json!({ "flags": flags })))
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http::{Method, Request};

    use crate::tests::{call, call_as_user};

    #[test]
    fn flags_are_read_with_get_by_a_signed_in_caller() {
        let post = Request::builder().method(Method::POST).body(Bytes::new()).unwrap();
        assert_eq!(call("flags", post).0, 405);
        let (status, body, _) = call("flags", Request::new(Bytes::new()));
        assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (401, Some("missing_token")));
    }

    #[test]
    fn an_unreachable_database_is_a_503_not_an_empty_set() {
        let (status, body) = call_as_user("flags", "GET", "", &serde_json::Value::Null);
        assert_eq!((status, body["error"]["code"].as_str()), (503, Some("upstream_unavailable")));
    }
}
