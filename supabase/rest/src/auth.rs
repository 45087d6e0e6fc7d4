//! Who a request runs as: the JWT (`Authorization: Bearer`, or Supabase's `apikey` header when
//! there is no Authorization) verified with HS256, its `role` claim, else the anonymous role.

use http::HeaderMap;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use serde_json::{Map, Value, json};

use crate::error::ApiError;

/// The role a request switches to and the claims it exposes as `request.jwt.claims`.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub role: String,
    pub claims: Value,
}

pub struct Verifier {
    key: DecodingKey,
    validation: Validation,
    anon_role: String,
}

impl Verifier {
    pub fn new(secret: &str, anon_role: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        // PostgREST checks `exp` when present but does not require it, nor an audience.
        validation.required_spec_claims.clear();
        validation.validate_aud = false;
        validation.leeway = 30;
        Self {
            key: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            anon_role: anon_role.to_owned(),
        }
    }

    pub fn identify(&self, headers: &HeaderMap) -> Result<Identity, ApiError> {
        let Some(token) = bearer_token(headers)? else {
            return Ok(Identity {
                role: self.anon_role.clone(),
                claims: json!({ "role": self.anon_role }),
            });
        };
        let claims = self.verify(&token)?;
        let role = match claims.get("role") {
            Some(Value::String(role)) if !role.is_empty() => role.clone(),
            _ => self.anon_role.clone(),
        };
        Ok(Identity { role, claims: Value::Object(claims) })
    }

    fn verify(&self, token: &str) -> Result<Map<String, Value>, ApiError> {
        let parts = token.split('.').count();
        if parts != 3 {
            return Err(ApiError::jwt(format!(
                "JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got \
                 {parts})"
            )));
        }
        jsonwebtoken::decode::<Map<String, Value>>(token, &self.key, &self.validation)
            .map(|data| data.claims)
            .map_err(|error| {
                ApiError::jwt(match error.kind() {
                    ErrorKind::ExpiredSignature => "JWT expired",
                    ErrorKind::ImmatureSignature => "JWT not yet valid",
                    ErrorKind::InvalidSignature => "JWSError JWSInvalidSignature",
                    ErrorKind::InvalidAlgorithm => "JWSError (JWSAlgorithmMismatch)",
                    _ => "JWSError (CompactDecodeError Invalid token)",
                })
            })
    }
}

/// The token of `Authorization: Bearer …`, else of `apikey`; none when neither is sent.
fn bearer_token(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    if let Some(value) = headers.get(http::header::AUTHORIZATION) {
        let text = value.to_str().unwrap_or_default().trim();
        let token = text
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or_else(|| ApiError::jwt("JWSError (CompactDecodeError Invalid token)"))?;
        return Ok(Some(token.to_owned()));
    }
    Ok(headers.get("apikey").and_then(|v| v.to_str().ok()).map(|v| v.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};

    const SECRET: &str = "a-test-secret-of-thirty-two-chars!!";

    fn token(claims: Value, secret: &str) -> String {
        encode(&Header::default(), &claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
    }

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            .try_into()
            .unwrap()
    }

    fn identify(headers: &[(&'static str, String)]) -> Result<Identity, ApiError> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, value.parse().unwrap());
        }
        Verifier::new(SECRET, "anon").identify(&map)
    }

    #[test]
    fn no_token_runs_as_the_anonymous_role() {
        let identity = identify(&[]).unwrap();
        assert_eq!(identity, Identity { role: "anon".into(), claims: json!({"role": "anon"}) });
    }

    #[test]
    fn a_valid_token_switches_to_its_role_and_keeps_its_claims() {
        let jwt = token(json!({"role": "authenticated", "sub": "u1", "exp": now() + 60}), SECRET);
        let identity = identify(&[("authorization", format!("Bearer {jwt}"))]).unwrap();
        assert_eq!(identity.role, "authenticated");
        assert_eq!(identity.claims["sub"], "u1");
    }

    #[test]
    fn the_apikey_header_counts_when_there_is_no_authorization() {
        let jwt = token(json!({"role": "service_role"}), SECRET);
        assert_eq!(identify(&[("apikey", jwt.clone())]).unwrap().role, "service_role");
        let user = token(json!({"role": "authenticated"}), SECRET);
        let both = identify(&[("apikey", jwt), ("authorization", format!("Bearer {user}"))]);
        assert_eq!(both.unwrap().role, "authenticated");
    }

    #[test]
    fn a_token_without_a_role_runs_as_anonymous() {
        let jwt = token(json!({"sub": "u1"}), SECRET);
        assert_eq!(identify(&[("apikey", jwt)]).unwrap().role, "anon");
    }

    #[test]
    fn bad_tokens_are_pgrst301_with_postgrest_messages() {
        let check = |value: String, message: &str| {
            let error = identify(&[("authorization", value)]).unwrap_err();
            assert_eq!((error.status.as_u16(), error.code.as_str()), (401, "PGRST301"));
            assert_eq!(error.message, message);
        };
        let expired = token(json!({"role": "authenticated", "exp": now() - 3600}), SECRET);
        check(format!("Bearer {expired}"), "JWT expired");
        let forged = token(json!({"role": "service_role"}), "another-secret-entirely-32-chars");
        check(format!("Bearer {forged}"), "JWSError JWSInvalidSignature");
        check(
            "Bearer not-a-jwt".into(),
            "JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got 1)",
        );
        check("Basic abc".into(), "JWSError (CompactDecodeError Invalid token)");
    }
}
