//! Browser sign-in sessions: Supabase Auth's tokens kept in `HttpOnly` cookies, so the hosted
//! frontend never holds a token in JavaScript. The pieces:
//!
//! - [`cookies`]: the access, refresh cookies, built and read;
//! - [`csrf`]: the Origin check cookie-authenticated writes need;
//! - [`client_ip`]: the caller's address, from the header the edge sets (for login throttling);
//! - [`gotrue`]: the password and refresh grants and logout at `/auth/v1`;
//! - [`context`]: `session_context()`, what the frontend's store needs, and the access verdict.
//!
//! [`open`] ties them together for `auth-login` and `auth-refresh`: a fresh session is checked
//! against the plan, then handed to the browser as cookies, or revoked.

pub mod client_ip;
pub mod context;
pub mod cookies;
pub mod csrf;
pub mod gotrue;

use bytes::Bytes;
use http::Response;
use serde_json::json;

use crate::auth;
use crate::error::ApiError;
use crate::runtime::{ConfigError, Ctx};

/// How sessions are kept, from `SESSION_COOKIE_SECURE`, `SESSION_REFRESH_MAX_AGE` and
/// `CLIENT_IP_HEADER` (documented in `.env.example`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionSettings {
    /// `Secure` and the `__Host-`/`__Secure-` name prefixes. Off only for local plain http.
    pub secure_cookies: bool,
    /// Max-Age of the refresh-token cookie, in seconds.
    pub refresh_max_age: u64,
    /// The request header the edge in front of the functions sets to the client's address,
    /// lower-case (`cf-connecting-ip` on Cloudflare).
    pub client_ip_header: String,
}

/// 30 days: how long a browser keeps the refresh token when `SESSION_REFRESH_MAX_AGE` is unset.
pub const DEFAULT_REFRESH_MAX_AGE: u64 = 30 * 24 * 3600;
/// The header Cloudflare sets to the connecting client's address (and overwrites if sent).
pub const DEFAULT_CLIENT_IP_HEADER: &str = "cf-connecting-ip";

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            secure_cookies: true,
            refresh_max_age: DEFAULT_REFRESH_MAX_AGE,
            client_ip_header: DEFAULT_CLIENT_IP_HEADER.to_owned(),
        }
    }
}

impl SessionSettings {
    /// Reads the settings through `get` (trimmed, empty means unset).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let secure_cookies = match get("SESSION_COOKIE_SECURE").as_deref() {
            None => defaults.secure_cookies,
            Some(value) => match value.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "SESSION_COOKIE_SECURE",
                        reason: "must be true or false".into(),
                    });
                }
            },
        };
        let refresh_max_age = match get("SESSION_REFRESH_MAX_AGE") {
            None => defaults.refresh_max_age,
            Some(value) => value.parse::<u64>().ok().filter(|&s| s > 0).ok_or_else(|| {
                ConfigError::Invalid {
                    name: "SESSION_REFRESH_MAX_AGE",
                    reason: "must be a positive number of seconds".into(),
                }
            })?,
        };
        let client_ip_header = get("CLIENT_IP_HEADER")
            .map(|name| name.to_ascii_lowercase())
            .unwrap_or(defaults.client_ip_header);
        if http::HeaderName::from_bytes(client_ip_header.as_bytes()).is_err() {
            return Err(ConfigError::Invalid {
                name: "CLIENT_IP_HEADER",
                reason: "must be a header name".into(),
            });
        }
        Ok(Self { secure_cookies, refresh_max_age, client_ip_header })
    }
}

/// Hands a session Supabase Auth just issued to the browser: reads `session_context()` with the
/// new access token; a refused session is revoked at once and answered 403 with the reason
/// code; any other gets its cookies and the context as a 200 body. The tokens never appear in
/// the body.
pub async fn open(ctx: &Ctx, session: gotrue::Session) -> Result<Response<Bytes>, ApiError> {
    let caller = auth::verify_access_token(&session.access_token, ctx).await?;
    let context = context::fetch(ctx, &caller).await?;
    if let Some(refusal) = context.refusal() {
        if let Err(error) = gotrue::logout(ctx, &session.access_token).await {
            // The access token still expires on its own; the refresh token is never handed out.
            ctx.log.error("refused_session_not_revoked", json!({ "code": error.code }));
        }
        ctx.log.info("session_refused", json!({ "user_id": caller.user_id, "code": refusal.code }));
        return Err(refusal);
    }
    let mut response = context.into_response();
    cookies::set_session(&mut response, &session, &ctx.config.session)?;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use http::{StatusCode, header};
    use serde_json::Value;

    use super::*;
    use crate::runtime::tests::{SECRET, ScriptedHttp, ctx_with, env};
    use crate::session::context::tests::context_json;
    use crate::session::gotrue::tests::{answer, session_of};
    use crate::testing::block_on;

    #[test]
    fn settings_default_to_secure_cookies_thirty_days_and_cloudflares_header() {
        let settings = SessionSettings::from_lookup(env(&[])).unwrap();
        assert_eq!(settings, SessionSettings::default());
        assert!(settings.secure_cookies);
        assert_eq!(settings.refresh_max_age, 2_592_000);
        assert_eq!(settings.client_ip_header, "cf-connecting-ip");
    }

    #[test]
    fn settings_are_read_and_bad_values_named() {
        let settings = SessionSettings::from_lookup(env(&[
            ("SESSION_COOKIE_SECURE", "FALSE"),
            ("SESSION_REFRESH_MAX_AGE", "3600"),
            ("CLIENT_IP_HEADER", "X-Forwarded-For"),
        ]))
        .unwrap();
        assert_eq!((settings.secure_cookies, settings.refresh_max_age), (false, 3600));
        assert_eq!(settings.client_ip_header, "x-forwarded-for");
        for (name, value) in [
            ("SESSION_COOKIE_SECURE", "maybe"),
            ("SESSION_REFRESH_MAX_AGE", "0"),
            ("SESSION_REFRESH_MAX_AGE", "a week"),
            ("CLIENT_IP_HEADER", "not a header"),
        ] {
            let error = SessionSettings::from_lookup(env(&[(name, value)])).unwrap_err();
            assert!(error.to_string().starts_with(name), "{error}");
        }
    }

    fn fresh_session() -> gotrue::Session {
        session_of(&crate::auth::jwt::tests::hs256(&crate::auth::jwt::tests::user_claims(), SECRET))
    }

    #[test]
    fn an_allowed_session_gets_its_cookies_and_the_context_without_tokens() {
        let http = ScriptedHttp::answering([answer(200, &context_json("full", None))]);
        let ctx = ctx_with(http.clone());
        let session = fresh_session();
        let response = block_on(open(&ctx, session.clone())).unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        let body = String::from_utf8(response.body().to_vec()).unwrap();
        assert!(!body.contains(&session.access_token) && !body.contains(&session.refresh_token));
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["access"]["mode"], "full");
        assert_eq!(response.headers().get_all(header::SET_COOKIE).iter().count(), 3);
        let sent = http.sent.borrow();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].uri().path(), "/rest/v1/rpc/session_context");
        assert_eq!(
            sent[0].headers()[header::AUTHORIZATION],
            format!("Bearer {}", session.access_token)
        );
    }

    #[test]
    fn a_refused_session_is_revoked_and_answered_with_its_reason() {
        let http = ScriptedHttp::answering([
            answer(200, &context_json("refused", Some("org_suspended"))),
            answer(204, ""),
        ]);
        let ctx = ctx_with(http.clone());
        let error = block_on(open(&ctx, fresh_session())).unwrap_err();
        assert_eq!((error.status, error.code), (StatusCode::FORBIDDEN, "org_suspended"));
        let sent = http.sent.borrow();
        assert_eq!(sent[1].uri().to_string(), "http://127.0.0.1:54321/auth/v1/logout?scope=local");
    }

    #[test]
    fn a_refused_session_is_refused_even_when_revoking_it_fails() {
        let http = ScriptedHttp::answering([
            answer(200, &context_json("refused", Some("seat_limit_exceeded"))),
            answer(503, "down"),
        ]);
        let error = block_on(open(&ctx_with(http), fresh_session())).unwrap_err();
        assert_eq!(error.code, "seat_limit_exceeded");
    }

    #[test]
    fn a_token_that_does_not_verify_opens_nothing() {
        let http = ScriptedHttp::answering([]);
        let error = block_on(open(&ctx_with(http.clone()), session_of("not.a.jwt"))).unwrap_err();
        assert_eq!(error.status, StatusCode::UNAUTHORIZED);
        assert!(http.sent.borrow().is_empty());
    }
}
