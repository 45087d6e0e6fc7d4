//! Who a request runs as: the JWT (`Authorization: Bearer`, or Supabase's `apikey` header when
//! there is no Authorization) verified with HS256 and the secret, or with a public key of the
//! JWKS (`/auth/v1`'s asymmetric signing keys, by `kid`), its `role` claim, else the anonymous
//! role. The header's algorithm picks the key type: an HS256 token never meets a public key.

use anyhow::Context;
use http::HeaderMap;
use jsonwebtoken::jwk::JwkSet;
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
    secret: DecodingKey,
    /// Public keys with their `kid` and algorithm.
    public_keys: Vec<(Option<String>, Algorithm, DecodingKey)>,
    anon_role: String,
}

impl Verifier {
    /// Checks tokens with `secret` (HS256) and the public keys of `jwks`, when given.
    pub fn new(secret: &str, jwks: Option<&str>, anon_role: &str) -> anyhow::Result<Self> {
        let mut public_keys = Vec::new();
        if let Some(jwks) = jwks {
            let set: JwkSet = serde_json::from_str(jwks).context("the JWKS is not a JWK set")?;
            for jwk in &set.keys {
                let Some(algorithm) =
                    jwk.common.key_algorithm.and_then(|a| a.to_string().parse::<Algorithm>().ok())
                else {
                    continue;
                };
                let key = DecodingKey::from_jwk(jwk).context("a JWKS key is not usable")?;
                public_keys.push((jwk.common.key_id.clone(), algorithm, key));
            }
        }
        Ok(Self {
            secret: DecodingKey::from_secret(secret.as_bytes()),
            public_keys,
            anon_role: anon_role.to_owned(),
        })
    }

    /// The key and validation for a token whose header names `algorithm` and `kid`.
    fn key_for(
        &self,
        algorithm: Algorithm,
        kid: Option<&str>,
    ) -> Option<(&DecodingKey, Validation)> {
        let key = match algorithm {
            Algorithm::HS256 => Some(&self.secret),
            _ => self
                .public_keys
                .iter()
                .find(|(key_id, a, _)| {
                    *a == algorithm && (kid.is_none() || key_id.as_deref() == kid)
                })
                .map(|(_, _, key)| key),
        }?;
        let mut validation = Validation::new(algorithm);
        // PostgREST checks `exp` when present but does not require it, nor an audience.
        validation.required_spec_claims.clear();
        validation.validate_aud = false;
        validation.leeway = 30;
        Some((key, validation))
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
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| ApiError::jwt("JWSError (CompactDecodeError Invalid token)"))?;
        let (key, validation) = self
            .key_for(header.alg, header.kid.as_deref())
            .ok_or_else(|| ApiError::jwt("JWSError JWSInvalidSignature"))?;
        jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation)
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
        Verifier::new(SECRET, None, "anon").unwrap().identify(&map)
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

    fn identify_with(verifier: &Verifier, token: &str) -> Result<Identity, ApiError> {
        let mut map = HeaderMap::new();
        map.insert("authorization", format!("Bearer {token}").parse().unwrap());
        verifier.identify(&map)
    }

    fn signer(jwk: &Value) -> local_auth::SigningKeys {
        local_auth::SigningKeys::new(SECRET, Some(&json!([jwk]).to_string())).unwrap()
    }

    #[test]
    fn an_es256_token_verifies_with_the_jwks_key_its_kid_names() {
        let keys = signer(&local_auth::new_signing_jwk("k1").unwrap());
        let verifier = Verifier::new(SECRET, Some(&keys.jwks().to_string()), "anon").unwrap();
        let claims = json!({"role": "authenticated", "sub": "u1", "exp": now() + 60});
        let identity = identify_with(&verifier, &keys.sign(&claims).unwrap()).unwrap();
        assert_eq!(
            (identity.role.as_str(), &identity.claims["sub"]),
            ("authenticated", &json!("u1"))
        );
        let hs256 = token(claims, SECRET);
        assert_eq!(identify_with(&verifier, &hs256).unwrap().role, "authenticated");
    }

    #[test]
    fn the_algorithm_picks_the_key_and_foreign_keys_are_refused() {
        let jwk = local_auth::new_signing_jwk("k1").unwrap();
        let keys = signer(&jwk);
        let jwks = keys.jwks().to_string();
        let verifier = Verifier::new(SECRET, Some(&jwks), "anon").unwrap();
        let claims = json!({"role": "service_role", "exp": now() + 60});
        let refused = |token: &str| {
            let error = identify_with(&verifier, token).unwrap_err();
            assert_eq!(error.message, "JWSError JWSInvalidSignature", "{token}");
        };
        refused(&token(claims.clone(), &keys.jwks()["keys"][0].to_string()));
        refused(&token(claims.clone(), &jwks));
        refused(&signer(&local_auth::new_signing_jwk("k1").unwrap()).sign(&claims).unwrap());
        refused(&signer(&local_auth::new_signing_jwk("k9").unwrap()).sign(&claims).unwrap());
        let secret_only = Verifier::new(SECRET, None, "anon").unwrap();
        let error = identify_with(&secret_only, &keys.sign(&claims).unwrap()).unwrap_err();
        assert_eq!(error.message, "JWSError JWSInvalidSignature");
        assert!(Verifier::new(SECRET, Some("[]"), "anon").is_err());
    }
}
