//! The session cookies. Both are `HttpOnly` (no script reads a token), `Secure` and
//! `SameSite=Lax` (not sent on cross-site subrequests or form posts):
//!
//! | cookie | holds | Path | Max-Age |
//! |---|---|---|---|
//! | `__Host-sp-access` | the access token | `/` | the token's lifetime |
//! | `__Secure-sp-refresh` | the refresh token | each of [`REFRESH_PATHS`] | `SESSION_REFRESH_MAX_AGE` |
//!
//! `__Host-` makes the browser refuse the cookie unless it is Secure, host-only (no `Domain`)
//! and `Path=/`, so a sibling subdomain cannot plant or shadow it. The refresh cookie is scoped
//! to the two functions that spend it, which `__Host-` forbids, so it takes `__Secure-`: it is
//! set twice, same name and value, once per path (a cookie has one Path), and set, rotated and
//! cleared always as a pair. Logout needs it because the access cookie dies with its token: a
//! browser that idled past the token's lifetime can still end its session. With
//! `SESSION_COOKIE_SECURE=false` (local plain http only) both lose `Secure` and their prefix.
//! Only the names of the configured mode are ever read.

use bytes::Bytes;
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue, Response};

use super::SessionSettings;
use super::gotrue::Session;
use crate::error::ApiError;

/// The only paths the browser sends the refresh cookie to: the functions that spend it
/// (`auth-refresh` for a new session, `auth-logout` to revoke one whose access token expired).
pub const REFRESH_PATHS: [&str; 2] = ["/functions/v1/auth-refresh", "/functions/v1/auth-logout"];

const ACCESS: &str = "sp-access";
const REFRESH: &str = "sp-refresh";

/// The access cookie's name in this configuration.
pub fn access_name(settings: &SessionSettings) -> &'static str {
    if settings.secure_cookies { "__Host-sp-access" } else { ACCESS }
}

/// The refresh cookie's name in this configuration.
pub fn refresh_name(settings: &SessionSettings) -> &'static str {
    if settings.secure_cookies { "__Secure-sp-refresh" } else { REFRESH }
}

/// One `Set-Cookie` value with the attributes every session cookie shares.
fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age: u64,
    settings: &SessionSettings,
) -> Result<HeaderValue, ApiError> {
    if !value.bytes().all(is_cookie_octet) {
        // Tokens are base64url and dots; anything else would break the header.
        return Err(ApiError::internal());
    }
    let secure = if settings.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Max-Age={max_age}; Path={path}; HttpOnly{secure}; SameSite=Lax"
    ))
    .map_err(|_| ApiError::internal())
}

/// RFC 6265's cookie-octet: visible ASCII but `"`, `,`, `;` and `\`.
fn is_cookie_octet(byte: u8) -> bool {
    matches!(byte, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

/// Adds the cookies of `session` to `response`.
pub fn set_session(
    response: &mut Response<Bytes>,
    session: &Session,
    settings: &SessionSettings,
) -> Result<(), ApiError> {
    let access = set_cookie(
        access_name(settings),
        &session.access_token,
        "/",
        session.expires_in,
        settings,
    )?;
    let refresh = REFRESH_PATHS.map(|path| {
        set_cookie(
            refresh_name(settings),
            &session.refresh_token,
            path,
            settings.refresh_max_age,
            settings,
        )
    });
    let headers = response.headers_mut();
    headers.append(SET_COOKIE, access);
    for cookie in refresh {
        headers.append(SET_COOKIE, cookie?);
    }
    Ok(())
}

/// Adds cookies that delete every session cookie (same name, Path and prefix; `Max-Age=0`).
pub fn clear_session(response: &mut Response<Bytes>, settings: &SessionSettings) {
    let access = (access_name(settings), "/");
    let refresh = REFRESH_PATHS.map(|path| (refresh_name(settings), path));
    for (name, path) in [access].into_iter().chain(refresh) {
        if let Ok(value) = set_cookie(name, "", path, 0, settings) {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
}

/// The value of the cookie `name` the request carries (the first, if several), if any.
pub fn read<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().trim_matches('"'))
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secure() -> SessionSettings {
        SessionSettings::default()
    }

    fn plain_http() -> SessionSettings {
        SessionSettings { secure_cookies: false, ..SessionSettings::default() }
    }

    fn session() -> Session {
        Session {
            access_token: "eyJh.eyJz.c2ln".into(),
            refresh_token: "r3fr3sh".into(),
            expires_in: 3600,
        }
    }

    fn set_cookies(response: &Response<Bytes>) -> Vec<String> {
        response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn a_session_sets_a_host_only_access_cookie_and_the_refresh_cookie_for_refresh_and_logout() {
        let mut response = Response::new(Bytes::new());
        set_session(&mut response, &session(), &secure()).unwrap();
        assert_eq!(
            set_cookies(&response),
            [
                "__Host-sp-access=eyJh.eyJz.c2ln; Max-Age=3600; Path=/; HttpOnly; Secure; SameSite=Lax",
                "__Secure-sp-refresh=r3fr3sh; Max-Age=2592000; Path=/functions/v1/auth-refresh; HttpOnly; Secure; SameSite=Lax",
                "__Secure-sp-refresh=r3fr3sh; Max-Age=2592000; Path=/functions/v1/auth-logout; HttpOnly; Secure; SameSite=Lax",
            ]
        );
    }

    #[test]
    fn plain_http_drops_secure_and_the_prefixes_only() {
        let mut response = Response::new(Bytes::new());
        set_session(&mut response, &session(), &plain_http()).unwrap();
        let cookies = set_cookies(&response);
        assert_eq!(
            cookies[0],
            "sp-access=eyJh.eyJz.c2ln; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax"
        );
        assert!(cookies[1].starts_with("sp-refresh=r3fr3sh; Max-Age=2592000; Path=/functions/v1/auth-refresh; HttpOnly; SameSite=Lax"));
        assert!(cookies[2].starts_with("sp-refresh=r3fr3sh; Max-Age=2592000; Path=/functions/v1/auth-logout; HttpOnly; SameSite=Lax"));
    }

    #[test]
    fn clearing_expires_every_cookie_with_its_own_path_and_prefix() {
        for (settings, access, refresh) in [
            (secure(), "__Host-sp-access", "__Secure-sp-refresh"),
            (plain_http(), "sp-access", "sp-refresh"),
        ] {
            let mut response = Response::new(Bytes::new());
            clear_session(&mut response, &settings);
            let cookies = set_cookies(&response);
            assert!(cookies[0].starts_with(&format!("{access}=; Max-Age=0; Path=/; HttpOnly")));
            assert_eq!(cookies.len(), 3);
            for (cookie, path) in cookies[1..].iter().zip(REFRESH_PATHS) {
                assert!(
                    cookie.starts_with(&format!("{refresh}=; Max-Age=0; Path={path}; HttpOnly"))
                );
            }
        }
    }

    #[test]
    fn a_token_that_cannot_be_a_cookie_value_is_an_internal_error() {
        for bad in ["a;b", "a b", "a,b", "a\"b", "é"] {
            let mut token = session();
            token.refresh_token = bad.into();
            let mut response = Response::new(Bytes::new());
            assert_eq!(
                set_session(&mut response, &token, &secure()).unwrap_err(),
                ApiError::internal(),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_cookie_is_read_by_exact_name_from_any_cookie_header() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("theme=dark; sp-access=shadow"));
        headers.append(COOKIE, HeaderValue::from_static("__Host-sp-access=tok.en; x=1"));
        assert_eq!(read(&headers, "__Host-sp-access"), Some("tok.en"));
        assert_eq!(read(&headers, "sp-access"), Some("shadow"));
        assert_eq!(read(&headers, "__host-sp-access"), None, "names are case-sensitive");
        assert_eq!(read(&headers, "theme"), Some("dark"));
        assert_eq!(read(&headers, "missing"), None);

        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("a=; b=\"quoted\";c"));
        assert_eq!(read(&headers, "a"), None, "an empty value is no cookie");
        assert_eq!(read(&headers, "b"), Some("quoted"));
        assert_eq!(read(&headers, "c"), None);
    }

    #[test]
    fn only_the_configured_modes_names_are_used() {
        assert_eq!(
            (access_name(&secure()), refresh_name(&secure())),
            ("__Host-sp-access", "__Secure-sp-refresh")
        );
        assert_eq!(
            (access_name(&plain_http()), refresh_name(&plain_http())),
            ("sp-access", "sp-refresh")
        );
    }
}
