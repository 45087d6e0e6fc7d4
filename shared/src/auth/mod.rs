//! Who is calling: the user's Supabase JWT from `Authorization: Bearer` or the session cookie,
//! verified, as a typed [`Caller`]. Functions forward the same token to PostgREST, so RLS
//! decides what the caller sees; this check only turns bad tokens away early with a clean 401.

pub mod impersonation;
pub mod jwks;
pub mod jwt;
mod rs256;

use bytes::Bytes;
use http::{Request, StatusCode, header};
use serde_json::{Map, Value, json};
use uuid::Uuid;

pub use jwt::{JwtError, JwtKeys};

use crate::error::ApiError;
use crate::runtime::Ctx;
use crate::session::{cookies, csrf};

/// The audience and role Supabase Auth gives signed-in users' tokens.
pub const USER_AUDIENCE: &str = "authenticated";
pub const USER_ROLE: &str = "authenticated";

/// A signed-in user, as their verified token describes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: Uuid,
    pub email: Option<String>,
    /// The organization, when the token carries one (`app_metadata.org_id`).
    pub org_id: Option<Uuid>,
    /// A platform admin acting as this user (top-level claim `impersonator`).
    pub impersonator: Option<Uuid>,
    /// Reads only (claim `read_only`, and always when there is an `impersonator`, as the
    /// database's `private.is_read_only()` decides). Functions refuse writes; RLS does too.
    pub read_only: bool,
    token: String,
}

impl Caller {
    /// The verified token, to forward to PostgREST as the caller.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Refuses a write for a read-only (impersonation) session.
    pub fn require_write(&self) -> Result<(), ApiError> {
        if self.read_only { Err(ApiError::forbidden("this session is read-only")) } else { Ok(()) }
    }

    fn from_claims(claims: &Map<String, Value>, token: &str) -> Result<Self, ApiError> {
        if claims.get("role").and_then(Value::as_str) != Some(USER_ROLE) {
            return Err(invalid_token());
        }
        let user_id = claims
            .get("sub")
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(invalid_token)?;
        let app = claims.get("app_metadata").and_then(Value::as_object);
        let app_field = |name: &str| app.and_then(|a| a.get(name));
        let uuid_of = |value: Option<&Value>| {
            value.and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok())
        };
        let impersonator = uuid_of(claims.get("impersonator"));
        let read_only = impersonator.is_some()
            || claims.get("read_only").and_then(Value::as_bool).unwrap_or(false);
        Ok(Self {
            user_id,
            email: claims
                .get("email")
                .and_then(Value::as_str)
                .filter(|e| !e.is_empty())
                .map(str::to_owned),
            org_id: uuid_of(app_field("org_id")),
            impersonator,
            read_only,
            token: token.to_owned(),
        })
    }
}

/// The signed-in user making `request`, or a 401: the access token from `Authorization: Bearer`
/// or, failing that, from the session cookie. A cookie-authenticated request that changes state
/// must also pass the CSRF check (403 `csrf_failed`, see [`crate::session::csrf`]).
pub async fn authenticate(request: &Request<Bytes>, ctx: &Ctx) -> Result<Caller, ApiError> {
    let token = match credential(request, ctx) {
        Some(Credential::Bearer(token)) => token,
        Some(Credential::Cookie(token)) => {
            csrf::check(request, &ctx.config)?;
            token
        }
        None => {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing_token",
                "sign in: send Authorization: Bearer <access token>, or the session cookie",
            ));
        }
    };
    verify_access_token(token, ctx).await
}

/// Where a request's access token came from.
enum Credential<'a> {
    Bearer(&'a str),
    Cookie(&'a str),
}

/// A bearer token wins, except the anon key (what supabase-js sends when it holds no session)
/// beside a session cookie: then the cookie signs the request in.
fn credential<'a>(request: &'a Request<Bytes>, ctx: &Ctx) -> Option<Credential<'a>> {
    let cookie = cookies::read(request.headers(), cookies::access_name(&ctx.config.session));
    match (bearer_token(request), cookie) {
        (Some(bearer), Some(cookie)) if bearer == ctx.config.anon_key => {
            Some(Credential::Cookie(cookie))
        }
        (Some(bearer), _) => Some(Credential::Bearer(bearer)),
        (None, cookie) => cookie.map(Credential::Cookie),
    }
}

/// The signed-in user an access token describes, once verified; a 401 otherwise.
pub async fn verify_access_token(token: &str, ctx: &Ctx) -> Result<Caller, ApiError> {
    let claims = jwks::verify(token, ctx, USER_AUDIENCE).await.map_err(|error| {
        ctx.log.info("jwt_refused", json!({ "reason": format!("{error:?}") }));
        match error {
            JwtError::Expired => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "token_expired",
                "the access token has expired",
            ),
            JwtError::KeysUnavailable => ApiError {
                code: "auth_unavailable",
                message: "the keys that verify sign-ins could not be fetched, try again shortly"
                    .into(),
                ..ApiError::unavailable()
            },
            _ => invalid_token(),
        }
    })?;
    Caller::from_claims(&claims, token)
}

fn invalid_token() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "invalid_token", "the access token is not valid here")
}

fn bearer_token(request: &Request<Bytes>) -> Option<&str> {
    let value = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use http::Method;

    use super::jwt::tests::{hs256, user_claims};
    use super::*;
    use crate::runtime::tests::{SECRET, ScriptedHttp, ctx_with};
    use crate::testing::block_on;

    fn request_with(authorization: Option<&str>) -> Request<Bytes> {
        let mut builder = Request::builder();
        if let Some(value) = authorization {
            builder = builder.header(header::AUTHORIZATION, value);
        }
        builder.body(Bytes::new()).unwrap()
    }

    fn caller_of(claims: &Value) -> Result<Caller, ApiError> {
        let ctx = ctx_with(Rc::new(ScriptedHttp::default()));
        block_on(authenticate(
            &request_with(Some(&format!("Bearer {}", hs256(claims, SECRET)))),
            &ctx,
        ))
    }

    #[test]
    fn a_valid_user_token_becomes_the_caller() {
        let mut claims = user_claims();
        claims["email"] = json!("rep@example.com");
        let caller = caller_of(&claims).unwrap();
        assert_eq!(caller.user_id.to_string(), "8f4e2a43-3c6f-4f8e-9a43-7d2f5c3b1e10");
        assert_eq!(caller.email.as_deref(), Some("rep@example.com"));
        assert_eq!((caller.org_id, caller.impersonator, caller.read_only), (None, None, false));
        assert_eq!(caller.token(), hs256(&claims, SECRET));
        assert!(caller.require_write().is_ok());
    }

    #[test]
    fn org_comes_from_app_metadata_and_impersonation_from_top_level_claims() {
        let mut claims = user_claims();
        claims["app_metadata"] = json!({"org_id": "0b6c1f9e-1111-4a4a-8b8b-222233334444"});
        claims["impersonator"] = json!("5d5d5d5d-1111-4a4a-8b8b-222233334444");
        let caller = caller_of(&claims).unwrap();
        assert_eq!(caller.org_id.unwrap().to_string(), "0b6c1f9e-1111-4a4a-8b8b-222233334444");
        assert!(caller.impersonator.is_some() && caller.read_only);
        assert_eq!(caller.require_write().unwrap_err().status, StatusCode::FORBIDDEN);

        let mut claims = user_claims();
        claims["read_only"] = json!(true);
        assert!(caller_of(&claims).unwrap().read_only);
    }

    #[test]
    fn requests_without_a_usable_token_are_401_with_a_reason_code() {
        let ctx = ctx_with(Rc::new(ScriptedHttp::default()));
        let check = |authorization: Option<&str>, code: &str| {
            let error = block_on(authenticate(&request_with(authorization), &ctx)).unwrap_err();
            assert_eq!(
                (error.status, error.code),
                (StatusCode::UNAUTHORIZED, code),
                "{authorization:?}"
            );
        };
        check(None, "missing_token");
        check(Some("Basic abc"), "missing_token");
        check(Some("Bearer "), "missing_token");
        check(Some("Bearer not.a.jwt"), "invalid_token");
        let mut expired = user_claims();
        expired["exp"] = json!(1_000);
        check(Some(&format!("bearer {}", hs256(&expired, SECRET))), "token_expired");
    }

    fn cookie_request(method: Method, cookie: &str, origin: Option<&str>) -> Request<Bytes> {
        let mut builder = Request::builder().method(method).header(header::COOKIE, cookie);
        if let Some(origin) = origin {
            builder = builder.header(header::ORIGIN, origin);
        }
        builder.body(Bytes::new()).unwrap()
    }

    #[test]
    fn the_access_cookie_signs_a_read_in_without_any_origin() {
        let ctx = ctx_with(Rc::new(ScriptedHttp::default()));
        let token = hs256(&user_claims(), SECRET);
        let request = cookie_request(Method::GET, &format!("x=1; __Host-sp-access={token}"), None);
        let caller = block_on(authenticate(&request, &ctx)).unwrap();
        assert_eq!(caller.token(), token);
    }

    #[test]
    fn a_cookie_write_needs_an_allowed_origin_and_a_bearer_write_does_not() {
        let ctx = ctx_with(Rc::new(ScriptedHttp::default()));
        let token = hs256(&user_claims(), SECRET);
        let cookie = format!("__Host-sp-access={token}");
        let allowed = cookie_request(Method::POST, &cookie, Some("http://localhost:5173"));
        assert!(block_on(authenticate(&allowed, &ctx)).is_ok());
        for origin in [None, Some("https://evil.example")] {
            let error =
                block_on(authenticate(&cookie_request(Method::POST, &cookie, origin), &ctx))
                    .unwrap_err();
            assert_eq!((error.status, error.code), (StatusCode::FORBIDDEN, "csrf_failed"));
        }
        let bearer = Request::builder()
            .method(Method::DELETE)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::ORIGIN, "https://evil.example")
            .body(Bytes::new())
            .unwrap();
        assert!(block_on(authenticate(&bearer, &ctx)).is_ok());
    }

    #[test]
    fn a_bearer_wins_over_the_cookie_unless_it_is_the_anon_key() {
        let ctx = ctx_with(Rc::new(ScriptedHttp::default()));
        let token = hs256(&user_claims(), SECRET);
        let mut request = cookie_request(Method::GET, &format!("__Host-sp-access={token}"), None);
        request.headers_mut().insert(header::AUTHORIZATION, "Bearer anon-key".parse().unwrap());
        assert_eq!(block_on(authenticate(&request, &ctx)).unwrap().token(), token);
        request.headers_mut().insert(header::AUTHORIZATION, "Bearer not.a.jwt".parse().unwrap());
        assert_eq!(block_on(authenticate(&request, &ctx)).unwrap_err().code, "invalid_token");
        // Without a cookie the anon key is just a token that is not a user's.
        let anon_only = request_with(Some("Bearer anon-key"));
        assert_eq!(block_on(authenticate(&anon_only, &ctx)).unwrap_err().code, "invalid_token");
    }

    #[test]
    fn an_unprefixed_or_refresh_cookie_is_no_access_cookie_in_secure_mode() {
        let ctx = ctx_with(Rc::new(ScriptedHttp::default()));
        let token = hs256(&user_claims(), SECRET);
        for cookie in [format!("sp-access={token}"), format!("__Secure-sp-refresh={token}")] {
            let error = block_on(authenticate(&cookie_request(Method::GET, &cookie, None), &ctx))
                .unwrap_err();
            assert_eq!(error.code, "missing_token", "{cookie}");
        }
    }

    #[test]
    fn tokens_of_other_roles_or_without_a_user_are_refused() {
        let check = |claims: Value| {
            assert_eq!(caller_of(&claims).unwrap_err().code, "invalid_token", "{claims}");
        };
        let mut claims = user_claims();
        claims["role"] = json!("service_role");
        check(claims);
        let mut claims = user_claims();
        claims["sub"] = json!("not-a-uuid");
        check(claims);
        let mut claims = user_claims();
        claims.as_object_mut().unwrap().remove("sub");
        check(claims);
    }
}
