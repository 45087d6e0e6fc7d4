//! Parsing requests at the boundary: JSON bodies and the caller's bearer token.

use axum::body::Bytes;
use axum::http::HeaderMap;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::AppState;
use crate::error::{AuthError, AuthResult};
use crate::jwt::AccessClaims;
use crate::store;
use crate::user::User;

/// The body as `T`; an empty body reads as `{}`. Errors are GoTrue's `bad_json`.
pub fn json_body<T: DeserializeOwned>(body: &Bytes) -> AuthResult<T> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { body };
    serde_json::from_slice(body).map_err(|error| {
        AuthError::bad_request("bad_json", format!("Could not parse request body as JSON: {error}"))
    })
}

/// The token of `Authorization: Bearer <token>`, or GoTrue's 401 `no_authorization`.
pub fn bearer(headers: &HeaderMap) -> AuthResult<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            AuthError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "no_authorization",
                "This endpoint requires a Bearer token",
            )
        })
}

pub fn user_agent(headers: &HeaderMap) -> Option<&str> {
    headers.get(axum::http::header::USER_AGENT).and_then(|v| v.to_str().ok())
}

/// A caller whose access token verified and whose user (and session, when the token names one)
/// still exist, as GoTrue's `requireAuthentication` establishes.
pub struct Caller {
    pub user: User,
    pub session_id: Option<Uuid>,
}

pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> AuthResult<Caller> {
    let claims: AccessClaims = state.settings.keys.verify(bearer(headers)?)?;
    if claims.sub.is_empty() {
        return Err(AuthError::forbidden("bad_jwt", "invalid claim: missing sub claim"));
    }
    let user_id = Uuid::parse_str(&claims.sub).map_err(|_| {
        AuthError::bad_request("bad_jwt", "invalid claim: sub claim must be a UUID")
    })?;
    let db = state.pool.get().await?;
    let user = store::user_by_id(&db, user_id).await?.ok_or_else(|| {
        AuthError::forbidden("user_not_found", "User from sub claim in JWT does not exist")
    })?;
    let session_id = match claims.session_id.as_str() {
        "" | "00000000-0000-0000-0000-000000000000" => None,
        sid => {
            let sid = Uuid::parse_str(sid).map_err(|_| {
                AuthError::forbidden("bad_jwt", "invalid claim: session_id claim must be a UUID")
            })?;
            if !store::session_exists(&db, sid).await? {
                return Err(AuthError::forbidden(
                    "session_not_found",
                    "Session from session_id claim in JWT does not exist",
                ));
            }
            Some(sid)
        }
    };
    Ok(Caller { user, session_id })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn an_empty_body_reads_as_an_empty_object() {
        assert_eq!(
            json_body::<Value>(&Bytes::from_static(b"  ")).unwrap(),
            Value::Object(Default::default())
        );
    }

    #[test]
    fn malformed_json_is_bad_json() {
        let error = json_body::<Value>(&Bytes::from_static(b"{nope")).unwrap_err();
        assert_eq!((error.status.as_u16(), error.code), (400, "bad_json"));
    }

    #[test]
    fn only_a_bearer_authorization_counts() {
        let check = |value: Option<&str>, expected: Option<&str>| {
            let mut headers = HeaderMap::new();
            if let Some(v) = value {
                headers.insert("authorization", v.parse().unwrap());
            }
            assert_eq!(bearer(&headers).ok(), expected, "{value:?}");
        };
        check(Some("Bearer abc"), Some("abc"));
        check(Some("bearer abc"), Some("abc"));
        check(Some("Basic abc"), None);
        check(Some("Bearer "), None);
        check(None, None);
    }
}
