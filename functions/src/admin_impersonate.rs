//! `admin-impersonate`: support sessions. POST `{user_id, reason}` lets a platform admin see
//! the product as that user for 15 minutes: `admin_start_impersonation()`, called with the
//! admin's own token, checks the admin (a platform admin in their own session) and the target
//! (never a platform admin), records the session and audits it in one transaction; this
//! function then signs the user's access token with the `impersonator` and `read_only` claims
//! (see `shared::auth::impersonation`). No refresh token is issued. DELETE `?id=` ends the
//! session, audited too.
//!
//! The token reads everything as the user would and writes nothing: every table's write guards
//! refuse a token with an `impersonator`, and so do the admin RPCs, which also need a platform
//! admin as `sub`.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use shared::auth::{self, Caller, impersonation};
use shared::error::ApiError;
use shared::http::{json_response, private_json_response, read_json};
use shared::postgrest::{Postgrest, send_json};
use shared::query::QueryParams;
use shared::runtime::Ctx;
use uuid::Uuid;

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    let caller = auth::authenticate(&request, ctx).await?;
    // An impersonation token never starts or ends one (the database refuses it too).
    if caller.impersonator.is_some() {
        return Err(ApiError::forbidden("an impersonation session cannot impersonate"));
    }
    let client = Postgrest::as_caller(&ctx.config, &caller);
    match *request.method() {
        Method::POST => start(&request, ctx, &caller, &client).await,
        Method::DELETE => end(&request, ctx, &client).await,
        _ => Err(ApiError::method_not_allowed("POST or DELETE")),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    user_id: Uuid,
    /// Why (a ticket, the user's request): 10 to 500 characters, kept in the audit log.
    reason: String,
}

/// What `admin_start_impersonation()` answers.
#[derive(Debug, Deserialize)]
struct Started {
    session: Session,
    /// When the session (and so the token) expires, in Unix seconds.
    expires_at_unix: u64,
    user: User,
}

#[derive(Debug, Deserialize)]
struct Session {
    id: Uuid,
    admin_id: Uuid,
}

#[derive(Debug, Deserialize)]
struct User {
    id: Uuid,
    #[serde(default)]
    email: Option<String>,
    app_metadata: Value,
    user_metadata: Value,
}

async fn start(
    request: &Request<Bytes>,
    ctx: &Ctx,
    caller: &Caller,
    client: &Postgrest,
) -> Result<Response<Bytes>, ApiError> {
    caller.require_write()?;
    let body: StartBody = read_json(request)?;
    let reason = body.reason.trim();
    if !(10..=500).contains(&reason.chars().count()) {
        return Err(ApiError::validation("reason", "say why in 10 to 500 characters"));
    }
    // Without the project secret no token could be signed: refuse before anything is recorded.
    if ctx.config.jwt_keys.hs256_secret().is_none() {
        return Err(ApiError {
            code: "impersonation_unavailable",
            message: "impersonation needs the project's JWT secret (SUPABASE_JWT_SECRET)".into(),
            ..ApiError::unavailable()
        });
    }
    let arguments = json!({"target": body.user_id, "reason": reason});
    let started: Started =
        send_json(ctx, client.rpc("admin_start_impersonation", &arguments)?).await?;
    let expires_at = started.expires_at_unix;
    let grant = impersonation::Grant {
        user_id: started.user.id,
        email: started.user.email,
        app_metadata: started.user.app_metadata,
        user_metadata: started.user.user_metadata,
        impersonator: started.session.admin_id,
        session_id: started.session.id,
        issued_at: ctx.now,
        expires_at,
    };
    let token = impersonation::access_token(&grant, &ctx.config.supabase_url, &ctx.config.jwt_keys)
        .ok_or_else(ApiError::internal)?;
    let mut response = private_json_response(&json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": expires_at.saturating_sub(ctx.now),
        "expires_at": expires_at,
        "session_id": grant.session_id,
        "user": {"id": grant.user_id, "email": grant.email},
    }));
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}

async fn end(
    request: &Request<Bytes>,
    ctx: &Ctx,
    client: &Postgrest,
) -> Result<Response<Bytes>, ApiError> {
    let mut params = QueryParams::of(request)?;
    let session = params.require::<Uuid>("id", "an impersonation session id")?;
    params.finish()?;
    let ended: Value =
        send_json(ctx, client.rpc("admin_end_impersonation", &json!({"session": session}))?)
            .await?;
    Ok(json_response(StatusCode::OK, &ended))
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use shared::testing::hs256;

    use crate::tests::{NOW, SECRET, assert_names, call, call_as_user};

    #[test]
    fn bad_requests_are_refused_before_any_database_call() {
        let start = |body| call_as_user("admin-impersonate", "POST", "", &body);
        let user = "3b0b5c1e-8a7d-4c55-9a0e-5a1f2d3c4b5a";
        assert_names(&start(json!({"user_id": user, "reason": "  too short "})), "reason");
        assert_names(&start(json!({"user_id": user})), "body");
        assert_names(&start(json!({"user_id": "me", "reason": "ticket 42: goals"})), "user_id");
        assert_names(&call_as_user("admin-impersonate", "DELETE", "", &json!(null)), "id");
        assert_eq!(call_as_user("admin-impersonate", "GET", "", &json!(null)).0, 405);
    }

    #[test]
    fn an_impersonation_token_is_refused_before_anything_else() {
        let token = hs256(
            &json!({"sub": "3b0b5c1e-8a7d-4c55-9a0e-5a1f2d3c4b5a", "aud": "authenticated",
                    "role": "authenticated", "exp": NOW + 60,
                    "impersonator": "5d5d5d5d-1111-4a4a-8b8b-222233334444", "read_only": true}),
            SECRET,
        );
        let request = http::Request::builder()
            .method("POST")
            .uri("/functions/v1/admin-impersonate")
            .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
            .body(bytes::Bytes::from(
                json!({"user_id": "3b0b5c1e-8a7d-4c55-9a0e-5a1f2d3c4b5a", "reason": "ticket 42: goals"})
                    .to_string(),
            ))
            .unwrap();
        let (status, body, _) = call("admin-impersonate", request);
        assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (403, Some("forbidden")));
    }
}
