//! `auth-refresh` (POST): a new session for the refresh cookie. Supabase Auth rotates the
//! refresh token; the new pair goes back as cookies with a fresh `session_context` (so a
//! session refused since sign-in ends here: 403 with the reason, cookies cleared). A spent,
//! unknown or missing refresh token is a 401 `invalid_refresh_token` that clears the cookies; reusing a spent one past GoTrue's reuse
//! interval also revokes the whole session (its reuse detection).

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use shared::error::ApiError;
use shared::http::require_method;
use shared::runtime::Ctx;
use shared::session::gotrue::{self, GrantError};
use shared::session::{self, cookies, csrf};

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    require_method(&request, Method::POST)?;
    // Cookie-authenticated and state-changing: the same CSRF rule as every cookie write.
    csrf::check(&request, &ctx.config)?;
    let settings = &ctx.config.session;
    let Some(refresh_token) = cookies::read(request.headers(), cookies::refresh_name(settings))
    else {
        return Ok(ended(ctx, invalid_refresh_token()));
    };
    match gotrue::refresh_grant(ctx, refresh_token).await {
        Ok(new_session) => match session::open(ctx, new_session).await {
            // The plan refused the new session, which is revoked: the cookies are worthless.
            Err(refusal) if refusal.status == StatusCode::FORBIDDEN => Ok(ended(ctx, refusal)),
            answer => answer,
        },
        Err(GrantError::Refused(_)) => Ok(ended(ctx, invalid_refresh_token())),
        Err(GrantError::Failed(error)) => Err(error),
    }
}

fn invalid_refresh_token() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
        "the session has ended; sign in again",
    )
}

/// `error`'s answer, deleting the session cookies: the session is over.
fn ended(ctx: &Ctx, error: ApiError) -> Response<Bytes> {
    let mut response = error.into_response();
    cookies::clear_session(&mut response, &ctx.config.session);
    response
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http::{Method, Request, header};

    use crate::tests::call;

    #[test]
    fn without_a_refresh_cookie_the_session_is_over_and_its_cookies_cleared() {
        let request = Request::builder()
            .method(Method::POST)
            .header(header::ORIGIN, "https://app.example")
            .body(Bytes::new())
            .unwrap();
        let (status, body, response) = call("auth-refresh", request);
        assert_eq!(
            (status.as_u16(), body["error"]["code"].as_str()),
            (401, Some("invalid_refresh_token"))
        );
        let cleared: Vec<_> = response.headers().get_all(header::SET_COOKIE).iter().collect();
        assert_eq!(cleared.len(), 3);
        assert!(cleared.iter().all(|c| c.to_str().unwrap().contains("Max-Age=0")));
    }

    #[test]
    fn a_refresh_from_a_foreign_origin_is_csrf_failed() {
        let request = Request::builder()
            .method(Method::POST)
            .header(header::ORIGIN, "https://evil.example")
            .header(header::COOKIE, "__Secure-sp-refresh=r1")
            .body(Bytes::new())
            .unwrap();
        let (status, body, _) = call("auth-refresh", request);
        assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (403, Some("csrf_failed")));
        assert_eq!(call("auth-refresh", Request::new(Bytes::new())).0, 405);
    }
}
