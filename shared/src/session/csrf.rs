//! CSRF protection for cookie sessions: an Origin check against `ALLOWED_ORIGINS`.
//!
//! A browser attaches the session cookie to any request for our host, including one a foreign
//! page makes it send; it also always names the page's origin in `Origin` on a POST, PUT, PATCH
//! or DELETE (script or form, same or cross origin), and a page cannot forge that header. So a
//! cookie-authenticated request that changes state must carry an `Origin` that is exactly one
//! of the frontend origins; a missing, `null` or other one is refused with 403 `csrf_failed`.
//! GET, HEAD and OPTIONS change nothing and pass. Bearer requests need no check: no browser
//! adds an `Authorization` header by itself.
//!
//! Chosen over a double-submit token because it needs no token plumbing: the frontend may live
//! on a sibling origin (`app.` beside `api.`), where it could not read a token cookie of ours,
//! and a page reload would need a token before it could refresh. `SameSite=Lax` on the cookies
//! is the second layer: cross-site form posts do not carry them at all.

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, header};

use crate::cors;
use crate::error::ApiError;
use crate::runtime::Config;

/// Whether a request with this method may change state (and so needs the check).
pub fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Refuses a cookie-authenticated `request` that changes state without an allowed `Origin`.
pub fn check(request: &Request<Bytes>, config: &Config) -> Result<(), ApiError> {
    if !changes_state(request.method()) || cors::allowed_origin(request.headers(), config).is_some()
    {
        Ok(())
    } else {
        Err(failed())
    }
}

/// For requests that start a session (sign-in): a browser's `Origin`, when present, must be an
/// allowed one, so no foreign page can sign a victim into the attacker's account. Scripts and
/// servers send none and pass.
pub fn refuse_foreign_origin(headers: &HeaderMap, config: &Config) -> Result<(), ApiError> {
    if headers.contains_key(header::ORIGIN) && cors::allowed_origin(headers, config).is_none() {
        Err(failed())
    } else {
        Ok(())
    }
}

fn failed() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "csrf_failed",
        "a cookie session's write must come from an allowed origin (Origin header)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::tests::config;

    fn request(method: Method, origin: Option<&str>) -> Request<Bytes> {
        let mut builder = Request::builder().method(method);
        if let Some(origin) = origin {
            builder = builder.header(header::ORIGIN, origin);
        }
        builder.body(Bytes::new()).unwrap()
    }

    #[test]
    fn a_write_from_an_allowed_origin_passes() {
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert!(
                check(&request(method, Some("https://app.salespulse.example")), &config()).is_ok()
            );
        }
        assert!(check(&request(Method::POST, Some("http://localhost:5173")), &config()).is_ok());
    }

    #[test]
    fn a_write_without_or_from_another_origin_is_csrf_failed() {
        for origin in [
            None,
            Some("null"),
            Some("https://evil.example"),
            Some("https://app.salespulse.example.evil.example"),
            Some("http://app.salespulse.example"),
            Some("https://APP.salespulse.example"),
            Some("https://app.salespulse.example:8443"),
        ] {
            let error = check(&request(Method::POST, origin), &config()).unwrap_err();
            assert_eq!(
                (error.status, error.code),
                (StatusCode::FORBIDDEN, "csrf_failed"),
                "{origin:?}"
            );
        }
    }

    #[test]
    fn reads_need_no_origin() {
        for method in [Method::GET, Method::HEAD, Method::OPTIONS] {
            assert!(check(&request(method.clone(), None), &config()).is_ok());
            assert!(check(&request(method, Some("https://evil.example")), &config()).is_ok());
        }
    }

    #[test]
    fn sign_in_refuses_only_a_foreign_browser_origin() {
        let headers = |origin: Option<&str>| request(Method::POST, origin).headers().clone();
        assert!(refuse_foreign_origin(&headers(None), &config()).is_ok());
        assert!(refuse_foreign_origin(&headers(Some("http://localhost:5173")), &config()).is_ok());
        for origin in ["https://evil.example", "null"] {
            let error = refuse_foreign_origin(&headers(Some(origin)), &config()).unwrap_err();
            assert_eq!(error.code, "csrf_failed");
        }
    }
}
