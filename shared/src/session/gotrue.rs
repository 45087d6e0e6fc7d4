//! Supabase Auth (GoTrue v2) at `{SUPABASE_URL}/auth/v1`: the password and refresh-token grants
//! and logout, called with the anon key as `apikey`, as supabase-js does.

use bytes::Bytes;
use http::{Method, Request, Response, header};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::runtime::Ctx;

/// A session Supabase Auth issued.
#[derive(Clone, Deserialize, PartialEq, Eq)]
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
    /// The access token's lifetime in seconds.
    pub expires_in: u64,
}

/// Tokens stay out of `{:?}` output, which may end up in logs.
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("expires_in", &self.expires_in).finish_non_exhaustive()
    }
}

/// Why a grant gave no session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantError {
    /// Supabase Auth refused it (a 4xx): wrong credentials, a used or unknown refresh token, a
    /// banned user… GoTrue's `error_code`, for the log only.
    Refused(String),
    /// Supabase Auth is down or answered nonsense: the caller's fault it is not.
    Failed(ApiError),
}

/// `POST /token?grant_type=password`.
pub async fn password_grant(ctx: &Ctx, email: &str, password: &str) -> Result<Session, GrantError> {
    grant(ctx, "password", json!({ "email": email, "password": password })).await
}

/// `POST /token?grant_type=refresh_token`: a new session, the old refresh token spent.
pub async fn refresh_grant(ctx: &Ctx, refresh_token: &str) -> Result<Session, GrantError> {
    grant(ctx, "refresh_token", json!({ "refresh_token": refresh_token })).await
}

async fn grant(ctx: &Ctx, grant_type: &str, body: Value) -> Result<Session, GrantError> {
    let request = auth_request(ctx, Method::POST, &format!("/token?grant_type={grant_type}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Bytes::from(body.to_string()))
        .map_err(|_| GrantError::Failed(ApiError::internal()))?;
    let response = send(ctx, request).await.map_err(GrantError::Failed)?;
    if response.status().is_client_error() {
        let code = serde_json::from_slice::<Value>(response.body())
            .ok()
            .and_then(|body| body.get("error_code").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| response.status().as_str().to_owned());
        ctx.log.info("auth_grant_refused", json!({ "grant_type": grant_type, "error_code": code }));
        return Err(GrantError::Refused(code));
    }
    if !response.status().is_success() {
        return Err(GrantError::Failed(upstream_failed(ctx, &response)));
    }
    serde_json::from_slice(response.body()).map_err(|error| {
        ctx.log.error("auth_unexpected_body", json!({ "error": error.to_string() }));
        GrantError::Failed(ApiError::internal())
    })
}

/// `POST /logout?scope=local`: ends the session of `access_token` and its refresh tokens. A
/// session that is already gone (401/403/404) counts as ended.
pub async fn logout(ctx: &Ctx, access_token: &str) -> Result<(), ApiError> {
    let request = auth_request(ctx, Method::POST, "/logout?scope=local")
        .header(header::AUTHORIZATION, format!("Bearer {access_token}"))
        .body(Bytes::new())
        .map_err(|_| ApiError::internal())?;
    let response = send(ctx, request).await?;
    let status = response.status().as_u16();
    if response.status().is_success() || matches!(status, 401 | 403 | 404) {
        Ok(())
    } else {
        Err(upstream_failed(ctx, &response))
    }
}

fn auth_request(ctx: &Ctx, method: Method, path: &str) -> http::request::Builder {
    Request::builder()
        .method(method)
        .uri(format!("{}/auth/v1{path}", ctx.config.supabase_url))
        .header("apikey", &ctx.config.anon_key)
        .header(header::ACCEPT, "application/json")
}

async fn send(ctx: &Ctx, request: Request<Bytes>) -> Result<Response<Bytes>, ApiError> {
    let path = request.uri().path().to_owned();
    ctx.http.send(request).await.map_err(|error| {
        ctx.log.error("auth_unreachable", json!({ "path": path, "error": error.to_string() }));
        ApiError::from(error)
    })
}

fn upstream_failed(ctx: &Ctx, response: &Response<Bytes>) -> ApiError {
    ctx.log.error("auth_failed", json!({ "status": response.status().as_u16() }));
    ApiError::unavailable()
}

#[cfg(test)]
pub(crate) mod tests {
    use std::rc::Rc;

    use http::StatusCode;

    use super::*;
    use crate::runtime::HttpError;
    use crate::runtime::tests::{ScriptedHttp, ctx_with};
    use crate::testing::block_on;

    pub fn answer(status: u16, body: &str) -> Result<Response<Bytes>, HttpError> {
        let mut response = Response::new(Bytes::from(body.to_owned()));
        *response.status_mut() = StatusCode::from_u16(status).unwrap();
        Ok(response)
    }

    pub fn session_of(access_token: &str) -> Session {
        Session {
            access_token: access_token.into(),
            refresh_token: "refresh-1".into(),
            expires_in: 3600,
        }
    }

    fn session_json() -> String {
        json!({"access_token": "a.b.c", "token_type": "bearer", "expires_in": 3600,
               "expires_at": 1_800_003_600, "refresh_token": "r1", "user": {"id": "u"}})
        .to_string()
    }

    #[test]
    fn the_password_grant_posts_the_credentials_with_the_anon_key() {
        let http = ScriptedHttp::answering([answer(200, &session_json())]);
        let session = block_on(password_grant(&ctx_with(http.clone()), "a@b.test", "pw")).unwrap();
        assert_eq!(
            session,
            Session { access_token: "a.b.c".into(), refresh_token: "r1".into(), expires_in: 3600 }
        );
        assert!(!format!("{session:?}").contains("a.b.c"), "tokens stay out of Debug");
        let sent = &http.sent.borrow()[0];
        assert_eq!(
            sent.uri().to_string(),
            "http://127.0.0.1:54321/auth/v1/token?grant_type=password"
        );
        assert_eq!(sent.headers()["apikey"], "anon-key");
        assert!(sent.headers().get(header::AUTHORIZATION).is_none());
        let body: Value = serde_json::from_slice(sent.body()).unwrap();
        assert_eq!(body, json!({"email": "a@b.test", "password": "pw"}));
    }

    #[test]
    fn the_refresh_grant_posts_the_refresh_token() {
        let http = ScriptedHttp::answering([answer(200, &session_json())]);
        block_on(refresh_grant(&ctx_with(http.clone()), "r0")).unwrap();
        let sent = &http.sent.borrow()[0];
        assert_eq!(sent.uri().query(), Some("grant_type=refresh_token"));
        assert_eq!(sent.body().as_ref(), br#"{"refresh_token":"r0"}"#);
    }

    #[test]
    fn a_client_error_is_a_refusal_and_anything_else_a_failure() {
        let run = |reply: Result<Response<Bytes>, HttpError>| {
            block_on(password_grant(&ctx_with(ScriptedHttp::answering([reply])), "a@b.test", "pw"))
        };
        assert_eq!(
            run(answer(
                400,
                r#"{"code":400,"error_code":"invalid_credentials","msg":"Invalid login credentials"}"#
            )),
            Err(GrantError::Refused("invalid_credentials".into()))
        );
        assert_eq!(run(answer(429, "slow down")), Err(GrantError::Refused("429".into())));
        assert_eq!(
            run(answer(502, "bad gateway")),
            Err(GrantError::Failed(ApiError::unavailable()))
        );
        assert_eq!(run(answer(200, "{}")), Err(GrantError::Failed(ApiError::internal())));
        assert_eq!(
            run(Err(HttpError::Unreachable("refused".into()))),
            Err(GrantError::Failed(ApiError::unavailable()))
        );
    }

    #[test]
    fn logout_revokes_the_session_of_the_token_and_tolerates_a_gone_one() {
        for status in [204, 401, 403, 404] {
            let http = ScriptedHttp::answering([answer(status, "")]);
            block_on(logout(&ctx_with(http.clone()), "a.b.c")).unwrap();
            let sent = &http.sent.borrow()[0];
            assert_eq!(
                sent.uri().path_and_query().unwrap().as_str(),
                "/auth/v1/logout?scope=local"
            );
            assert_eq!(sent.headers()[header::AUTHORIZATION], "Bearer a.b.c");
        }
        let http: Rc<ScriptedHttp> = ScriptedHttp::answering([answer(500, "")]);
        assert_eq!(block_on(logout(&ctx_with(http), "a.b.c")), Err(ApiError::unavailable()));
    }
}
