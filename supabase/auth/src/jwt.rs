//! Access tokens as Supabase Auth issues them, and their checks: HS256 with the project secret
//! (the legacy system, and always for the API keys), or ES256 with an asymmetric signing key
//! (`GOTRUE_JWT_KEYS`, as hosted Supabase's signing keys), whose public halves `/auth/v1` serves
//! at `/.well-known/jwks.json`.

use std::fmt;

use anyhow::{Context, bail, ensure};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::EncodePrivateKey;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

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

/// The keys access tokens are signed and checked with. As GoTrue reads `GOTRUE_JWT_KEYS` (a JSON
/// array of private JWKs): the key whose `key_ops` holds `sign` signs, and every key with
/// `verify` (a previous or standby key during a rotation) is published and accepted. Without
/// such keys the project secret signs. The secret always verifies: the API keys are HS256.
#[derive(Clone)]
pub struct SigningKeys {
    secret: String,
    signer: Option<(String, EncodingKey)>,
    published: Vec<PublicKey>,
}

#[derive(Clone)]
struct PublicKey {
    kid: String,
    key: DecodingKey,
    jwk: Value,
}

/// One entry of `GOTRUE_JWT_KEYS`. Only P-256 (ES256) keys are supported here.
#[derive(Deserialize)]
struct PrivateJwk {
    kty: String,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    d: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
    #[serde(default)]
    key_ops: Option<Vec<String>>,
}

impl SigningKeys {
    /// The secret alone (HS256), or with the asymmetric keys of `jwt_keys` (`GOTRUE_JWT_KEYS`).
    pub fn new(secret: &str, jwt_keys: Option<&str>) -> anyhow::Result<Self> {
        let mut keys = Self { secret: secret.to_owned(), signer: None, published: Vec::new() };
        let Some(jwt_keys) = jwt_keys else { return Ok(keys) };
        let entries: Vec<PrivateJwk> = serde_json::from_str(jwt_keys)
            .context("GOTRUE_JWT_KEYS must be a JSON array of JWKs")?;
        for entry in entries {
            let kid = entry.kid.clone().context("every key of GOTRUE_JWT_KEYS needs a kid")?;
            ensure!(
                entry.kty == "EC" && entry.crv.as_deref() == Some("P-256"),
                "GOTRUE_JWT_KEYS: key {kid} is not a P-256 (ES256) key, the only kind supported"
            );
            let private = entry
                .d
                .as_deref()
                .map(|d| {
                    let bytes = URL_SAFE_NO_PAD.decode(d).ok()?;
                    p256::SecretKey::from_slice(&bytes).ok()
                })
                .map(|key| key.with_context(|| format!("GOTRUE_JWT_KEYS: key {kid} has a bad d")))
                .transpose()?;
            let (x, y) = match &private {
                Some(private) => public_coordinates(private),
                None => (
                    entry
                        .x
                        .clone()
                        .with_context(|| format!("GOTRUE_JWT_KEYS: key {kid} lacks x"))?,
                    entry
                        .y
                        .clone()
                        .with_context(|| format!("GOTRUE_JWT_KEYS: key {kid} lacks y"))?,
                ),
            };
            ensure!(
                entry.x.as_ref().is_none_or(|given| *given == x)
                    && entry.y.as_ref().is_none_or(|given| *given == y),
                "GOTRUE_JWT_KEYS: key {kid} has an x or y that does not match its d"
            );
            let ops = entry.key_ops.unwrap_or_else(|| {
                let ops: &[&str] =
                    if private.is_some() { &["sign", "verify"] } else { &["verify"] };
                ops.iter().map(|op| (*op).to_owned()).collect()
            });
            if ops.iter().any(|op| op == "sign") {
                ensure!(keys.signer.is_none(), "GOTRUE_JWT_KEYS: only one key may sign");
                let private = private
                    .with_context(|| format!("GOTRUE_JWT_KEYS: signing key {kid} lacks d"))?;
                let der = private.to_pkcs8_der().context("encoding a signing key")?;
                keys.signer = Some((kid.clone(), EncodingKey::from_ec_der(der.as_bytes())));
            }
            if ops.iter().any(|op| op == "verify") {
                let key = DecodingKey::from_ec_components(&x, &y)
                    .with_context(|| format!("GOTRUE_JWT_KEYS: key {kid} is not a P-256 point"))?;
                let jwk = json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid,
                                 "alg": "ES256", "use": "sig", "key_ops": ["verify"]});
                keys.published.push(PublicKey { kid, key, jwk });
            }
        }
        if keys.signer.is_none() && !keys.published.is_empty() {
            bail!("GOTRUE_JWT_KEYS: no key may sign (key_ops with \"sign\" and a d)");
        }
        Ok(keys)
    }

    /// An access token over `claims`: ES256 with the signing key's `kid` when there is one,
    /// else HS256 with the secret.
    pub fn sign(&self, claims: &impl Serialize) -> Result<String, AuthError> {
        let (header, key) = match &self.signer {
            Some((kid, key)) => {
                (Header { kid: Some(kid.clone()), ..Header::new(Algorithm::ES256) }, key)
            }
            None => {
                (Header::new(Algorithm::HS256), &EncodingKey::from_secret(self.secret.as_bytes()))
            }
        };
        encode(&header, claims, key).map_err(AuthError::internal)
    }

    /// Verifies a token signed with the secret or with a published key (by `kid`).
    pub fn verify<T: serde::de::DeserializeOwned>(&self, token: &str) -> Result<T, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|error| bad_jwt(&error))?;
        match header.alg {
            Algorithm::HS256 => verify(token, &self.secret),
            Algorithm::ES256 => {
                let key = self
                    .published
                    .iter()
                    .find(|k| header.kid.as_deref() == Some(k.kid.as_str()))
                    .ok_or_else(|| {
                        AuthError::forbidden(
                            "bad_jwt",
                            "invalid JWT: unable to parse or verify signature, token is \
                             unverifiable: no key for its kid",
                        )
                    })?;
                verify_with(token, &key.key, Algorithm::ES256)
            }
            _ => verify_with(
                token,
                &DecodingKey::from_secret(self.secret.as_bytes()),
                Algorithm::HS256,
            ),
        }
    }

    /// The JWKS `/.well-known/jwks.json` serves: public keys only, none for HS256.
    pub fn jwks(&self) -> Value {
        json!({ "keys": self.published.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
    }
}

/// A fresh private JWK for `GOTRUE_JWT_KEYS` that signs and verifies.
pub fn new_signing_jwk(kid: &str) -> anyhow::Result<Value> {
    loop {
        let mut d = [0u8; 32];
        getrandom::getrandom(&mut d).context("reading randomness")?;
        // All but a 2^-32 sliver of 32-byte strings are valid scalars.
        if let Ok(private) = p256::SecretKey::from_slice(&d) {
            let (x, y) = public_coordinates(&private);
            return Ok(json!({"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256",
                             "use": "sig", "key_ops": ["sign", "verify"],
                             "x": x, "y": y, "d": URL_SAFE_NO_PAD.encode(d)}));
        }
    }
}

/// The public point of a private key as JWK `x` and `y`.
fn public_coordinates(private: &p256::SecretKey) -> (String, String) {
    let point = private.public_key().to_encoded_point(false);
    let coordinate = |c: Option<&_>| URL_SAFE_NO_PAD.encode(c.expect("an uncompressed point"));
    (coordinate(point.x()), coordinate(point.y()))
}

/// Names the keys, never their secrets.
impl fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeys")
            .field("signing_kid", &self.signer.as_ref().map(|(kid, _)| kid))
            .field("published", &self.published.iter().map(|k| &k.kid).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Verifies an HS256 token (an API key) with the project secret.
pub fn verify<T: serde::de::DeserializeOwned>(token: &str, secret: &str) -> Result<T, AuthError> {
    verify_with(token, &DecodingKey::from_secret(secret.as_bytes()), Algorithm::HS256)
}

/// Verifies signature and expiry (no leeway, no audience check: GoTrue checks neither more).
fn verify_with<T: serde::de::DeserializeOwned>(
    token: &str,
    key: &DecodingKey,
    algorithm: Algorithm,
) -> Result<T, AuthError> {
    let mut validation = Validation::new(algorithm);
    validation.leeway = 0;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    decode::<T>(token, key, &validation).map(|data| data.claims).map_err(|error| bad_jwt(&error))
}

fn bad_jwt(error: &jsonwebtoken::errors::Error) -> AuthError {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters";

    fn secret_only() -> SigningKeys {
        SigningKeys::new(SECRET, None).unwrap()
    }

    /// A private JWK as `GOTRUE_JWT_KEYS` holds it, from a fixed seed.
    fn private_jwk(seed: u8, kid: &str, ops: &[&str]) -> Value {
        json!({"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "key_ops": ops,
               "d": URL_SAFE_NO_PAD.encode([seed; 32])})
    }

    fn asymmetric(keys: &[Value]) -> SigningKeys {
        SigningKeys::new(SECRET, Some(&Value::from(keys.to_vec()).to_string())).unwrap()
    }

    fn far_future() -> i64 {
        i64::from(i32::MAX) * 2
    }

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
        let token = secret_only().sign(&original).unwrap();
        assert_eq!(verify::<AccessClaims>(&token, SECRET).unwrap(), original);
    }

    #[test]
    fn an_expired_token_is_a_bad_jwt() {
        let token = secret_only().sign(&claims(1000)).unwrap();
        let error = verify::<AccessClaims>(&token, SECRET).unwrap_err();
        assert_eq!((error.status.as_u16(), error.code), (403, "bad_jwt"));
        assert!(error.message.contains("token is expired"), "{}", error.message);
    }

    #[test]
    fn another_secret_or_garbage_is_refused() {
        let token = secret_only().sign(&claims(i64::from(i32::MAX))).unwrap();
        let wrong = verify::<AccessClaims>(&token, "another-secret-of-at-least-32-chars!!");
        assert!(wrong.unwrap_err().message.contains("signature is invalid"));
        assert_eq!(verify::<AccessClaims>("not.a.jwt", SECRET).unwrap_err().code, "bad_jwt");
    }

    #[test]
    fn a_signing_key_signs_es256_with_its_kid_and_verifies_its_tokens() {
        let keys = asymmetric(&[private_jwk(1, "one", &["sign", "verify"])]);
        let token = keys.sign(&claims(far_future())).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!((header.alg, header.kid.as_deref()), (Algorithm::ES256, Some("one")));
        assert_eq!(keys.verify::<AccessClaims>(&token).unwrap(), claims(far_future()));
        let api_key = secret_only().sign(&claims(far_future())).unwrap();
        assert!(keys.verify::<AccessClaims>(&api_key).is_ok(), "the secret still verifies");
    }

    #[test]
    fn the_jwks_publishes_public_halves_of_every_verify_key_and_nothing_for_hs256() {
        assert_eq!(secret_only().jwks(), json!({"keys": []}));
        let keys = asymmetric(&[
            private_jwk(2, "two", &["sign", "verify"]),
            private_jwk(1, "one", &["verify"]),
        ]);
        let jwks = keys.jwks();
        let published: Vec<&str> =
            jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
        assert_eq!(published, ["two", "one"]);
        assert!(jwks["keys"].as_array().unwrap().iter().all(|k| k.get("d").is_none()));
        assert_eq!(jwks["keys"][0]["alg"], "ES256");
    }

    #[test]
    fn during_a_rotation_tokens_of_the_previous_key_still_verify_and_unknown_keys_do_not() {
        let before = asymmetric(&[private_jwk(1, "one", &["sign", "verify"])]);
        let old_token = before.sign(&claims(far_future())).unwrap();
        let after = asymmetric(&[
            private_jwk(2, "two", &["sign", "verify"]),
            private_jwk(1, "one", &["verify"]),
        ]);
        assert!(after.verify::<AccessClaims>(&old_token).is_ok());
        let stranger = asymmetric(&[private_jwk(3, "one", &["sign"])]);
        let forged = stranger.sign(&claims(far_future())).unwrap();
        assert!(after.verify::<AccessClaims>(&forged).unwrap_err().message.contains("invalid"));
        let unknown = asymmetric(&[private_jwk(3, "three", &["sign", "verify"])]);
        let token = unknown.sign(&claims(far_future())).unwrap();
        assert_eq!(after.verify::<AccessClaims>(&token).unwrap_err().code, "bad_jwt");
    }

    #[test]
    fn a_generated_key_is_one_the_server_accepts_and_signs_with() {
        let jwk = new_signing_jwk("fresh").unwrap();
        let keys = asymmetric(std::slice::from_ref(&jwk));
        let token = keys.sign(&claims(far_future())).unwrap();
        assert!(keys.verify::<AccessClaims>(&token).is_ok());
        assert_ne!(jwk["d"], new_signing_jwk("fresh").unwrap()["d"]);
    }

    #[test]
    fn broken_key_configurations_are_refused() {
        let check = |jwt_keys: &str| {
            assert!(SigningKeys::new(SECRET, Some(jwt_keys)).is_err(), "{jwt_keys}");
        };
        check("{}");
        check(r#"[{"kty":"EC","crv":"P-256","d":"AQ"}]"#);
        check(r#"[{"kty":"RSA","kid":"r","n":"AQAB","e":"AQAB"}]"#);
        check(&json!([private_jwk(1, "one", &["verify"])]).to_string());
        check(&json!([private_jwk(1, "a", &["sign"]), private_jwk(2, "b", &["sign"])]).to_string());
        let mut mismatched = private_jwk(1, "one", &["sign", "verify"]);
        mismatched["x"] = json!(URL_SAFE_NO_PAD.encode([7; 32]));
        check(&json!([mismatched]).to_string());
        check(r#"[{"kty":"EC","crv":"P-256","kid":"k","key_ops":["sign"]}]"#);
    }
}
