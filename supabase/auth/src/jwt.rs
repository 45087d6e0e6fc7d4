//! Access tokens as Supabase Auth issues them (HS256 with the project secret), and their checks.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::AuthError;

/// One entry of the `amr` claim: how and when the session was authenticated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmrEntry {
    pub method: String,
    pub timestamp: i64,
}

/// The claims of an access token, named and ordered as GoTrue's `AccessTokenClaims`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessClaims {
    #[serde(default)]
    pub iss: String,
    #[serde(default)]
    pub sub: String,
    #[serde(default)]
    pub aud: Value,
    pub exp: i64,
    #[serde(default)]
    pub iat: i64,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub app_metadata: Value,
    #[serde(default)]
    pub user_metadata: Value,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub aal: String,
    #[serde(default)]
    pub amr: Vec<AmrEntry>,
    #[serde(default)]
    pub session_id: String,
    #[serde(default)]
    pub is_anonymous: bool,
}

pub fn sign(claims: &AccessClaims, secret: &str) -> Result<String, AuthError> {
    encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret.as_bytes()))
        .map_err(AuthError::internal)
}

/// Verifies signature and expiry (no leeway, no audience check: GoTrue checks neither more).
pub fn verify<T: serde::de::DeserializeOwned>(token: &str, secret: &str) -> Result<T, AuthError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    decode::<T>(token, &DecodingKey::from_secret(secret.as_bytes()), &validation)
        .map(|data| data.claims)
        .map_err(|error| {
            let reason = match error.kind() {
                ErrorKind::ExpiredSignature => "token has invalid claims: token is expired",
                ErrorKind::InvalidSignature => "token signature is invalid: signature is invalid",
                ErrorKind::InvalidAlgorithm => "token is unverifiable: signing method is invalid",
                _ => "token is malformed: could not parse the token",
            };
            AuthError::forbidden(
                "bad_jwt",
                format!("invalid JWT: unable to parse or verify signature, {reason}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters";

    fn claims(exp: i64) -> AccessClaims {
        AccessClaims {
            iss: "http://x/auth/v1".into(),
            sub: "c0ffee00-0000-4000-8000-000000000000".into(),
            aud: json!("authenticated"),
            exp,
            iat: 1,
            email: "a@b.co".into(),
            phone: String::new(),
            app_metadata: json!({"provider": "email", "providers": ["email"]}),
            user_metadata: json!({}),
            role: "authenticated".into(),
            aal: "aal1".into(),
            amr: vec![AmrEntry { method: "password".into(), timestamp: 1 }],
            session_id: "5e55e55e-0000-4000-8000-000000000000".into(),
            is_anonymous: false,
        }
    }

    #[test]
    fn a_signed_token_verifies_to_the_same_claims() {
        let original = claims(i64::from(i32::MAX) * 2);
        let token = sign(&original, SECRET).unwrap();
        assert_eq!(verify::<AccessClaims>(&token, SECRET).unwrap(), original);
    }

    #[test]
    fn an_expired_token_is_a_bad_jwt() {
        let token = sign(&claims(1000), SECRET).unwrap();
        let error = verify::<AccessClaims>(&token, SECRET).unwrap_err();
        assert_eq!((error.status.as_u16(), error.code), (403, "bad_jwt"));
        assert!(error.message.contains("token is expired"), "{}", error.message);
    }

    #[test]
    fn another_secret_or_garbage_is_refused() {
        let token = sign(&claims(i64::from(i32::MAX)), SECRET).unwrap();
        let wrong = verify::<AccessClaims>(&token, "another-secret-of-at-least-32-chars!!");
        assert!(wrong.unwrap_err().message.contains("signature is invalid"));
        assert_eq!(verify::<AccessClaims>("not.a.jwt", SECRET).unwrap_err().code, "bad_jwt");
    }
}
