//! `auth-logout` (POST): ends the caller's session at Supabase Auth (its refresh tokens die with
//! it) and deletes the session cookies. 204, also when the access token has expired: the refresh
//! cookie (sent here too) then yields the session to revoke, and when nothing is left to revoke
//! the cookies still go. Only a request with no credential at all is a 401 `missing_token`.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use serde_json::json;
use shared::auth::{self, Caller};
use shared::error::ApiError;
use shared::http::require_method;
use shared::runtime::Ctx;
use shared::session::gotrue::{self, GrantError};
use shared::session::{cookies, csrf};

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    require_method(&request, Method::POST)?;
    let refresh_token =
        cookies::read(request.headers(), cookies::refresh_name(&ctx.config.session));
    if refresh_token.is_some() {
        // A cookie that can revoke a session: the CSRF rule of every cookie write.
        csrf::check(&request, &ctx.config)?;
    }
    let access = auth::authenticate(&request, ctx).await;
    match revocation(access.as_ref().map(Caller::token), refresh_token)? {
        Revocation::Session(access_token) => gotrue::logout(ctx, access_token).await?,
        Revocation::ByRefreshToken(refresh_token) => {
            match gotrue::refresh_grant(ctx, refresh_token).await {
                Ok(session) => gotrue::logout(ctx, &session.access_token).await?,
                // Spent or unknown: no session of this browser's is left to end.
                Err(GrantError::Refused(_)) => {}
                // Still revocable later: keep the cookies so the browser can try again.
                Err(GrantError::Failed(error)) => return Err(error),
            }
        }
        Revocation::Nothing => ctx.log.info("logout_without_session", json!({})),
    }
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    cookies::clear_session(&mut response, &ctx.config.session);
    Ok(response)
}

/// What logout revokes.
#[derive(Debug, PartialEq, Eq)]
enum Revocation<'a> {
    /// The session of this valid access token.
    Session(&'a str),
    /// The session this refresh token yields when spent (the access token is unusable).
    ByRefreshToken(&'a str),
    /// None: the access token is unusable and no refresh token came; the cookies just go.
    Nothing,
}

/// Decides from the access token's verdict and the refresh cookie. A 401 verdict (expired,
/// invalid or missing token) falls back to the refresh token; a missing token with no refresh
/// token is no credential at all and stays a 401. Any other refusal (403 `csrf_failed`, 503)
/// stands, so a cross-site logout changes nothing.
fn revocation<'a>(
    access: Result<&'a str, &ApiError>,
    refresh_token: Option<&'a str>,
) -> Result<Revocation<'a>, ApiError> {
    match (access, refresh_token) {
        (Ok(access_token), _) => Ok(Revocation::Session(access_token)),
        (Err(error), _) if error.status != StatusCode::UNAUTHORIZED => Err(error.clone()),
        (Err(_), Some(refresh_token)) => Ok(Revocation::ByRefreshToken(refresh_token)),
        (Err(error), None) if error.code == "missing_token" => Err(error.clone()),
        (Err(_), None) => Ok(Revocation::Nothing),
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http::{Method, Request, StatusCode, header};
    use serde_json::json;

    use super::{Revocation, revocation};
    use crate::tests::{NOW, SECRET, call};
    use shared::error::ApiError;

    fn error(status: StatusCode, code: &'static str) -> ApiError {
        ApiError::new(status, code, "")
    }

    #[test]
    fn a_valid_access_token_revokes_its_own_session() {
        for refresh in [None, Some("r1")] {
            assert_eq!(revocation(Ok("a.b.c"), refresh), Ok(Revocation::Session("a.b.c")));
        }
    }

    #[test]
    fn an_unusable_access_token_falls_back_to_the_refresh_token() {
        for code in ["token_expired", "invalid_token", "missing_token"] {
            let unusable = error(StatusCode::UNAUTHORIZED, code);
            assert_eq!(
                revocation(Err(&unusable), Some("r1")),
                Ok(Revocation::ByRefreshToken("r1")),
                "{code}"
            );
        }
    }

    #[test]
    fn an_unusable_access_token_alone_revokes_nothing_but_no_credential_is_a_401() {
        for code in ["token_expired", "invalid_token"] {
            let unusable = error(StatusCode::UNAUTHORIZED, code);
            assert_eq!(revocation(Err(&unusable), None), Ok(Revocation::Nothing), "{code}");
        }
        let missing = error(StatusCode::UNAUTHORIZED, "missing_token");
        assert_eq!(revocation(Err(&missing), None), Err(missing));
    }

    #[test]
    fn a_csrf_refusal_or_an_outage_stands_even_with_a_refresh_token() {
        for refused in [
            error(StatusCode::FORBIDDEN, "csrf_failed"),
            error(StatusCode::SERVICE_UNAVAILABLE, "auth_unavailable"),
        ] {
            assert_eq!(revocation(Err(&refused), Some("r1")), Err(refused.clone()));
        }
    }

    fn logout(cookie: &str, origin: &str) -> (StatusCode, serde_json::Value, Vec<String>) {
        let request = Request::builder()
            .method(Method::POST)
            .header(header::ORIGIN, origin)
            .header(header::COOKIE, cookie)
            .body(Bytes::new())
            .unwrap();
        let (status, body, response) = call("auth-logout", request);
        let set_cookies = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|value| value.to_str().unwrap().to_owned())
            .collect();
        (status, body, set_cookies)
    }

    #[test]
    fn logout_needs_post_and_a_credential() {
        assert_eq!(call("auth-logout", Request::new(Bytes::new())).0, 405);
        let post = Request::builder().method(Method::POST).body(Bytes::new()).unwrap();
        let (status, body, _) = call("auth-logout", post);
        assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (401, Some("missing_token")));
    }

    #[test]
    fn an_expired_access_cookie_alone_still_clears_every_cookie() {
        let expired = shared::testing::hs256(
            &json!({"sub": "3b0b5c1e-8a7d-4c55-9a0e-5a1f2d3c4b5a", "aud": "authenticated",
                    "role": "authenticated", "exp": NOW - 60}),
            SECRET,
        );
        let (status, _, cleared) =
            logout(&format!("__Host-sp-access={expired}"), "https://app.example");
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(cleared.len(), 3);
        assert!(cleared.iter().all(|cookie| cookie.contains("Max-Age=0")), "{cleared:?}");
    }

    #[test]
    fn a_foreign_page_spending_the_refresh_cookie_is_csrf_failed_and_clears_nothing() {
        let (status, body, cleared) = logout("__Secure-sp-refresh=r1", "https://evil.example");
        assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (403, Some("csrf_failed")));
        assert!(cleared.is_empty());
    }

    #[test]
    fn when_auth_is_unreachable_the_cookies_stay_for_another_try() {
        let (status, _, cleared) = logout("__Secure-sp-refresh=r1", "https://app.example");
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(cleared.is_empty());
    }
}
