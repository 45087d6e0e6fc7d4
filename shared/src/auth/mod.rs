//! Who is calling: the user's Supabase JWT from `Authorization: Bearer`, verified, as a typed
//! [`Caller`]. Functions forward the same token to PostgREST, so RLS decides what the caller
//! sees; this check only turns bad tokens away early with a clean 401.

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

/// The signed-in user making `request`, or a 401.
pub async fn authenticate(request: &Request<Bytes>, ctx: &Ctx) -> Result<Caller, ApiError> {
    let token = bearer_token(request).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing_token",
            "sign in: send Authorization: Bearer <access token>",
        )
    })?;
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
