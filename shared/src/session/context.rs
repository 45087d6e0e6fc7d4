//! `public.session_context()`: the signed-in user's context (user, role, org, teams, plan,
//! resolved flags) and the plan's verdict on their access, computed by Postgres and read with
//! the user's own token. The body goes to the frontend as is; only `access` is read here.

use bytes::Bytes;
use http::{Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::http::private_json_response;
use crate::postgrest::{self, Postgrest};
use crate::runtime::Ctx;

/// The context and the access verdict it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionContext {
    pub body: Value,
    pub access: Access,
}

/// `access` of the context.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Access {
    pub mode: AccessMode,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessMode {
    /// Everything the role allows.
    Full,
    /// Reads only (the subscription is unpaid past grace); the database refuses writes too.
    ReadOnly,
    /// No session at all.
    Refused,
}

impl SessionContext {
    /// The 200 answer with the context: `Cache-Control: no-store`, since it describes one user
    /// and no shared cache may keep it.
    pub fn into_response(self) -> Response<Bytes> {
        private_json_response(&self.body)
    }

    /// The error a refused session answers with: 403 and the reason as its code.
    pub fn refusal(&self) -> Option<ApiError> {
        (self.access.mode == AccessMode::Refused).then(|| {
            let (code, message) = refusal_of(self.access.reason.as_deref());
            ApiError::new(StatusCode::FORBIDDEN, code, message)
        })
    }
}

/// The stable code and message of a refusal reason (an unknown one stays generic).
fn refusal_of(reason: Option<&str>) -> (&'static str, &'static str) {
    match reason {
        Some("org_suspended") => {
            ("org_suspended", "your organization is suspended; contact SalesPulse support")
        }
        Some("seat_limit_exceeded") => (
            "seat_limit_exceeded",
            "your organization has more members than its plan allows; ask an admin to free a seat or upgrade",
        ),
        Some("payment_required") => {
            ("payment_required", "your organization's subscription is unpaid; ask an admin to pay")
        }
        _ => ("access_refused", "this account may not sign in"),
    }
}

/// Reads the caller's context through PostgREST as the caller.
pub async fn fetch(ctx: &Ctx, caller: &Caller) -> Result<SessionContext, ApiError> {
    let request = Postgrest::as_caller(&ctx.config, caller).rpc("session_context", &json!({}))?;
    let body: Value = postgrest::send_json(ctx, request).await?;
    let access = body
        .get("access")
        .cloned()
        .and_then(|access| serde_json::from_value::<Access>(access).ok())
        .ok_or_else(|| {
            ctx.log.error("session_context_unexpected", json!({ "keys": keys_of(&body) }));
            ApiError::internal()
        })?;
    Ok(SessionContext { body, access })
}

fn keys_of(body: &Value) -> Vec<&str> {
    body.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use http::header;

    use crate::auth::jwt::tests::{hs256, user_claims};
    use crate::runtime::tests::{SECRET, ScriptedHttp, ctx_with};
    use crate::session::gotrue::tests::answer;
    use crate::testing::block_on;

    /// A context as `session_context()` answers it, with the given verdict.
    pub fn context_json(mode: &str, reason: Option<&str>) -> String {
        json!({
            "user": {"id": "8f4e2a43-3c6f-4f8e-9a43-7d2f5c3b1e10", "email": "rep@example.test",
                     "display_name": "Rep", "time_zone": "UTC"},
            "platform_admin": false, "role": "rep",
            "org": {"id": "0b6c1f9e-1111-4a4a-8b8b-222233334444", "name": "Org", "status": "active"},
            "teams": [], "plan": null, "flags": {},
            "access": {"mode": mode, "reason": reason, "warnings": []}
        })
        .to_string()
    }

    fn fetched(reply: &str) -> Result<SessionContext, ApiError> {
        let ctx = ctx_with(ScriptedHttp::answering([answer(200, reply)]));
        let mut request = http::Request::new(bytes::Bytes::new());
        let token = hs256(&user_claims(), SECRET);
        request
            .headers_mut()
            .insert(http::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        let caller = block_on(crate::auth::authenticate(&request, &ctx)).unwrap();
        block_on(fetch(&ctx, &caller))
    }

    #[test]
    fn the_context_is_read_and_its_access_parsed() {
        let context = fetched(&context_json("read_only", Some("payment_required"))).unwrap();
        assert_eq!(context.access.mode, AccessMode::ReadOnly);
        assert_eq!(context.access.reason.as_deref(), Some("payment_required"));
        assert_eq!(context.body["role"], "rep");
        assert!(context.refusal().is_none());
        let response = context.into_response();
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    }

    #[test]
    fn a_refusal_carries_its_reason_as_the_code() {
        for (reason, code) in [
            (Some("org_suspended"), "org_suspended"),
            (Some("seat_limit_exceeded"), "seat_limit_exceeded"),
            (Some("payment_required"), "payment_required"),
            (Some("something_new"), "access_refused"),
            (None, "access_refused"),
        ] {
            let error = fetched(&context_json("refused", reason)).unwrap().refusal().unwrap();
            assert_eq!((error.status, error.code), (StatusCode::FORBIDDEN, code));
        }
    }

    #[test]
    fn a_context_without_a_readable_access_is_our_bug() {
        for body in [r#"{"user": {}}"#, r#"{"access": {"mode": "sideways"}}"#, "null"] {
            assert_eq!(fetched(body).unwrap_err(), ApiError::internal(), "{body}");
        }
    }
}
