//! A small JWT verifier for the algorithms Supabase signs with: HS256 (the legacy project secret),
//! ES256 and RS256 (the project's P-256 or RSA signing keys, published as a JWKS). Written over
//! `hmac`, `sha2`, `p256` and `crypto-bigint` instead of `jsonwebtoken`, whose RSA and EC code
//! costs ~220 KiB gzip in the Worker against a 512 KiB budget for the whole platform.
//!
//! Pinned: the algorithm decides the key type (an HS256 token is only ever checked with the
//! secret, never with a public key), `none` and every other algorithm are refused, `exp` is
//! required, `nbf` honoured, and the audience must match.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use p256::ecdsa::signature::Verifier;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::Sha256;

use super::rs256::RsaKey;
use crate::runtime::{ConfigError, UnixSeconds};

/// Clock skew tolerated between the issuer and us, for `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 30;

/// Why a token was refused. Logged, and mapped to a 401 without these details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwtError {
    Malformed(&'static str),
    UnsupportedAlgorithm(String),
    NoKeyFor(&'static str),
    BadSignature,
    Expired,
    NotYetValid,
    WrongAudience,
    /// The token names a published key we could not fetch (see `jwks`): maybe valid, so not a 401.
    KeysUnavailable,
}

/// The keys users' tokens may be signed with.
#[derive(Clone, Default)]
pub struct JwtKeys {
    secret: Option<Vec<u8>>,
    ec_keys: Vec<EcKey>,
    rsa_keys: Vec<(Option<String>, RsaKey)>,
}

#[derive(Clone)]
struct EcKey {
    kid: Option<String>,
    key: p256::ecdsa::VerifyingKey,
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default, rename = "use")]
    usage: Option<String>,
}

impl JwtKeys {
    /// Keys from the HS256 secret and/or a JWKS document (`SUPABASE_JWT_SECRET`, `SUPABASE_JWKS`).
    pub fn new(secret: Option<&str>, jwks: Option<&str>) -> Result<Self, ConfigError> {
        let mut keys = Self { secret: secret.map(|s| s.as_bytes().to_vec()), ..Self::default() };
        if let Some(jwks) = jwks {
            keys.add_jwks(jwks)
                .map_err(|reason| ConfigError::Invalid { name: "SUPABASE_JWKS", reason })?;
        }
        Ok(keys)
    }

    /// The public keys of a JWKS document, as the project publishes them.
    pub fn from_jwks(jwks: &str) -> Result<Self, String> {
        let mut keys = Self::default();
        keys.add_jwks(jwks)?;
        Ok(keys)
    }

    /// Whether a key for `alg` (named `kid`, when given) is among these. HS256 needs the secret.
    pub fn has_key(&self, alg: &str, kid: Option<&str>) -> bool {
        let named = |key_id: &Option<String>| kid.is_none() || key_id.as_deref() == kid;
        match alg {
            "HS256" => self.secret.is_some(),
            "ES256" => self.ec_keys.iter().any(|k| named(&k.kid)),
            "RS256" => self.rsa_keys.iter().any(|(key_id, _)| named(key_id)),
            _ => false,
        }
    }

    /// The legacy project secret, when configured: what HS256 tokens are signed with.
    pub fn hs256_secret(&self) -> Option<&[u8]> {
        self.secret.as_deref()
    }

    /// How many public keys these hold, for logs.
    pub fn public_key_count(&self) -> usize {
        self.ec_keys.len() + self.rsa_keys.len()
    }

    /// Adds a JWKS document's keys. Entries that are not signature keys on P-256 or RSA
    /// (symmetric keys, encryption keys, other curves) are skipped: tokens they signed are
    /// refused.
    fn add_jwks(&mut self, jwks: &str) -> Result<(), String> {
        let jwks: Jwks = serde_json::from_str(jwks).map_err(|e| e.to_string())?;
        for jwk in jwks.keys {
            if jwk.usage.as_deref().is_some_and(|u| u != "sig") {
                continue;
            }
            let bytes = |field: Option<&String>| field.and_then(|f| URL_SAFE_NO_PAD.decode(f).ok());
            match (jwk.kty.as_str(), jwk.crv.as_deref()) {
                ("EC", Some("P-256")) => {
                    let coordinate = |c| {
                        bytes(c)
                            .filter(|b| b.len() == 32)
                            .ok_or("a P-256 key needs 32-byte x and y")
                    };
                    let mut point = vec![0x04];
                    point.extend(coordinate(jwk.x.as_ref())?);
                    point.extend(coordinate(jwk.y.as_ref())?);
                    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                        .map_err(|_| "a P-256 key is not on the curve")?;
                    self.ec_keys.push(EcKey { kid: jwk.kid, key });
                }
                ("RSA", _) => {
                    let key = bytes(jwk.n.as_ref())
                        .zip(bytes(jwk.e.as_ref()))
                        .and_then(|(n, e)| RsaKey::new(&n, &e))
                        .ok_or("an RSA key needs a 2048 to 4096-bit n and an odd e")?;
                    self.rsa_keys.push((jwk.kid, key));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// What a token's header says about its signature: the algorithm and the key's id.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Header {
    pub alg: String,
    #[serde(default)]
    pub kid: Option<String>,
}

/// A token's header, unverified: enough to choose the keys to verify it with.
pub fn header(token: &str) -> Result<Header, JwtError> {
    let encoded = token.split('.').next().unwrap_or_default();
    decode_json(encoded).ok_or(JwtError::Malformed("header"))
}

/// Verifies `token` at time `now` for `audience` and returns its claims.
pub fn verify(
    token: &str,
    keys: &JwtKeys,
    audience: &str,
    now: UnixSeconds,
) -> Result<Map<String, Value>, JwtError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed("a JWT has three parts"));
    };
    let header: Header = decode_json(header).ok_or(JwtError::Malformed("header"))?;
    let signature =
        URL_SAFE_NO_PAD.decode(signature).map_err(|_| JwtError::Malformed("signature"))?;
    let signed = &token[..header_and_payload_len(token)];
    match header.alg.as_str() {
        "HS256" => verify_hs256(signed.as_bytes(), &signature, keys)?,
        "ES256" => verify_es256(signed.as_bytes(), &signature, header.kid.as_deref(), keys)?,
        "RS256" => verify_rs256(signed.as_bytes(), &signature, header.kid.as_deref(), keys)?,
        other => return Err(JwtError::UnsupportedAlgorithm(other.to_owned())),
    }
    let claims: Map<String, Value> = decode_json(payload).ok_or(JwtError::Malformed("claims"))?;
    check_times(&claims, now)?;
    check_audience(&claims, audience)?;
    Ok(claims)
}

fn header_and_payload_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(token.len())
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Option<T> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// An HS256 JWT over `claims` signed with `secret`, as Supabase Auth signs with the legacy
/// project secret.
pub fn sign_hs256(claims: &Value, secret: &[u8]) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let signed = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(signed.as_bytes());
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

fn verify_hs256(signed: &[u8], signature: &[u8], keys: &JwtKeys) -> Result<(), JwtError> {
    let secret = keys.secret.as_deref().ok_or(JwtError::NoKeyFor("HS256"))?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret).map_err(|_| JwtError::NoKeyFor("HS256"))?;
    mac.update(signed);
    mac.verify_slice(signature).map_err(|_| JwtError::BadSignature)
}

fn verify_es256(
    signed: &[u8],
    signature: &[u8],
    kid: Option<&str>,
    keys: &JwtKeys,
) -> Result<(), JwtError> {
    let signature =
        p256::ecdsa::Signature::from_slice(signature).map_err(|_| JwtError::BadSignature)?;
    let mut candidates =
        keys.ec_keys.iter().filter(|k| kid.is_none() || k.kid.as_deref() == kid).peekable();
    if candidates.peek().is_none() {
        return Err(JwtError::NoKeyFor("ES256"));
    }
    if candidates.any(|k| k.key.verify(signed, &signature).is_ok()) {
        Ok(())
    } else {
        Err(JwtError::BadSignature)
    }
}

fn verify_rs256(
    signed: &[u8],
    signature: &[u8],
    kid: Option<&str>,
    keys: &JwtKeys,
) -> Result<(), JwtError> {
    let mut candidates = keys
        .rsa_keys
        .iter()
        .filter(|(key_id, _)| kid.is_none() || key_id.as_deref() == kid)
        .peekable();
    if candidates.peek().is_none() {
        return Err(JwtError::NoKeyFor("RS256"));
    }
    if candidates.any(|(_, key)| key.verify(signed, signature)) {
        Ok(())
    } else {
        Err(JwtError::BadSignature)
    }
}

fn check_times(claims: &Map<String, Value>, now: UnixSeconds) -> Result<(), JwtError> {
    let time = |name: &str| claims.get(name).map(|v| v.as_f64().ok_or(JwtError::Malformed("time")));
    let exp = time("exp").ok_or(JwtError::Malformed("exp is required"))??;
    if (now as f64) >= exp + LEEWAY_SECS as f64 {
        return Err(JwtError::Expired);
    }
    if let Some(nbf) = time("nbf").transpose()?
        && (now as f64) + (LEEWAY_SECS as f64) < nbf
    {
        return Err(JwtError::NotYetValid);
    }
    Ok(())
}

fn check_audience(claims: &Map<String, Value>, audience: &str) -> Result<(), JwtError> {
    let matches = match claims.get("aud") {
        Some(Value::String(aud)) => aud == audience,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(audience)),
        _ => false,
    };
    if matches { Ok(()) } else { Err(JwtError::WrongAudience) }
}

#[cfg(test)]
pub(crate) mod tests {
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::Signer;
    use serde_json::json;

    use super::*;
    use crate::auth::rs256;
    use crate::runtime::tests::SECRET;
    pub use crate::testing::hs256;

    pub const NOW: UnixSeconds = 1_800_000_000;

    pub fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn signing_key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32].into()).unwrap()
    }

    pub fn es256(claims: &Value, key: &SigningKey, kid: &str) -> String {
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": kid}).to_string();
        let signed = format!("{}.{}", b64(header.as_bytes()), b64(claims.to_string().as_bytes()));
        let signature: p256::ecdsa::Signature = key.sign(signed.as_bytes());
        format!("{signed}.{}", b64(&signature.to_bytes()))
    }

    pub fn jwks(entries: &[(&SigningKey, &str)]) -> String {
        let keys: Vec<Value> = entries
            .iter()
            .map(|(key, kid)| {
                let point = key.verifying_key().to_encoded_point(false);
                json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
                       "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap())})
            })
            .chain([
                json!({"kty": "RSA", "n": rs256::tests::N, "e": rs256::tests::E, "kid": "rsa-1"}),
            ])
            .collect();
        json!({ "keys": keys }).to_string()
    }

    pub fn user_claims() -> Value {
        json!({"sub": "8f4e2a43-3c6f-4f8e-9a43-7d2f5c3b1e10", "aud": "authenticated",
               "role": "authenticated", "exp": NOW + 3600, "iat": NOW - 10})
    }

    fn secret_keys() -> JwtKeys {
        JwtKeys::new(Some(SECRET), None).unwrap()
    }

    #[test]
    fn a_token_signed_with_the_secret_verifies() {
        let claims = verify(&hs256(&user_claims(), SECRET), &secret_keys(), "authenticated", NOW);
        assert_eq!(claims.unwrap()["role"], "authenticated");
    }

    #[test]
    fn a_token_signed_with_a_jwks_key_verifies_by_kid_or_by_trying_each() {
        let (one, two) = (signing_key(1), signing_key(2));
        let keys = JwtKeys::new(None, Some(&jwks(&[(&one, "one"), (&two, "two")]))).unwrap();
        let token = es256(&user_claims(), &two, "two");
        assert!(verify(&token, &keys, "authenticated", NOW).is_ok());

        let header = b64(br#"{"alg":"ES256"}"#);
        let without_kid = format!("{header}.{}", token.split_once('.').unwrap().1);
        let resigned = {
            let signed = without_kid.rsplit_once('.').unwrap().0.to_owned();
            let signature: p256::ecdsa::Signature = two.sign(signed.as_bytes());
            format!("{signed}.{}", b64(&signature.to_bytes()))
        };
        assert!(verify(&resigned, &keys, "authenticated", NOW).is_ok());

        let unknown_kid = es256(&user_claims(), &two, "three");
        assert_eq!(
            verify(&unknown_kid, &keys, "authenticated", NOW),
            Err(JwtError::NoKeyFor("ES256"))
        );
        let wrong_key = es256(&user_claims(), &signing_key(3), "one");
        assert_eq!(verify(&wrong_key, &keys, "authenticated", NOW), Err(JwtError::BadSignature));
    }

    #[test]
    fn tokens_that_must_not_pass_are_refused_with_the_reason() {
        let check = |token: &str, keys: &JwtKeys, expected: JwtError| {
            assert_eq!(verify(token, keys, "authenticated", NOW), Err(expected), "{token}");
        };
        let keys = secret_keys();
        let mut claims = user_claims();
        check(
            &hs256(&claims, "another-secret-of-at-least-32-characters"),
            &keys,
            JwtError::BadSignature,
        );
        claims["exp"] = json!(NOW - LEEWAY_SECS);
        check(&hs256(&claims, SECRET), &keys, JwtError::Expired);
        claims["exp"] = json!(NOW + 60);
        claims["nbf"] = json!(NOW + LEEWAY_SECS + 1);
        check(&hs256(&claims, SECRET), &keys, JwtError::NotYetValid);
        let mut claims = user_claims();
        claims["aud"] = json!("service");
        check(&hs256(&claims, SECRET), &keys, JwtError::WrongAudience);
        claims.as_object_mut().unwrap().remove("aud");
        check(&hs256(&claims, SECRET), &keys, JwtError::WrongAudience);
        let mut claims = user_claims();
        claims.as_object_mut().unwrap().remove("exp");
        check(&hs256(&claims, SECRET), &keys, JwtError::Malformed("exp is required"));
        claims["exp"] = json!("soon");
        check(&hs256(&claims, SECRET), &keys, JwtError::Malformed("time"));

        check("a.b", &keys, JwtError::Malformed("a JWT has three parts"));
        check("a.b.c.d", &keys, JwtError::Malformed("a JWT has three parts"));
        check("!!.e30.e30", &keys, JwtError::Malformed("header"));
        let token = hs256(&user_claims(), SECRET);
        let (signed, _) = token.rsplit_once('.').unwrap();
        check(&format!("{signed}.!!"), &keys, JwtError::Malformed("signature"));
        let (_, rest) = token.split_once('.').unwrap();
        let none = format!("{}.{rest}", b64(br#"{"alg":"none"}"#));
        check(&none, &keys, JwtError::UnsupportedAlgorithm("none".into()));
        let rs256 = format!("{}.{rest}", b64(br#"{"alg":"RS256","kid":"rsa"}"#));
        check(&rs256, &keys, JwtError::NoKeyFor("RS256"));
        let hs512 = format!("{}.{rest}", b64(br#"{"alg":"HS512"}"#));
        check(&hs512, &keys, JwtError::UnsupportedAlgorithm("HS512".into()));
        let garbage_claims = format!("{}.{}", b64(br#"{"alg":"HS256"}"#), b64(b"[1]"));
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(garbage_claims.as_bytes());
        let garbage = format!("{garbage_claims}.{}", b64(&mac.finalize().into_bytes()));
        check(&garbage, &keys, JwtError::Malformed("claims"));
    }

    #[test]
    fn the_algorithm_decides_the_key_type() {
        let key = signing_key(1);
        let only_jwks = JwtKeys::new(None, Some(&jwks(&[(&key, "k")]))).unwrap();
        assert_eq!(
            verify(&hs256(&user_claims(), SECRET), &only_jwks, "authenticated", NOW),
            Err(JwtError::NoKeyFor("HS256"))
        );
        let es = es256(&user_claims(), &key, "k");
        assert_eq!(
            verify(&es, &secret_keys(), "authenticated", NOW),
            Err(JwtError::NoKeyFor("ES256"))
        );
        let (signed, _) = es.rsplit_once('.').unwrap();
        let short = format!("{signed}.{}", b64(&[1, 2, 3]));
        assert_eq!(verify(&short, &only_jwks, "authenticated", NOW), Err(JwtError::BadSignature));
    }

    #[test]
    fn a_token_signed_with_a_jwks_rsa_key_verifies() {
        let keys = JwtKeys::new(None, Some(&jwks(&[(&signing_key(1), "one")]))).unwrap();
        let claims = verify(rs256::tests::TOKEN, &keys, "authenticated", NOW).unwrap();
        assert_eq!(claims["sub"], "8f4e2a43-3c6f-4f8e-9a43-7d2f5c3b1e10");
        let (signed, _) = rs256::tests::TOKEN.rsplit_once('.').unwrap();
        let forged = format!("{signed}.{}", b64(&[7; 256]));
        assert_eq!(verify(&forged, &keys, "authenticated", NOW), Err(JwtError::BadSignature));
        let (_, rest) = rs256::tests::TOKEN.split_once('.').unwrap();
        let other_kid = format!("{}.{rest}", b64(br#"{"alg":"RS256","kid":"two"}"#));
        assert_eq!(
            verify(&other_kid, &keys, "authenticated", NOW),
            Err(JwtError::NoKeyFor("RS256"))
        );
    }

    #[test]
    fn an_audience_list_may_contain_ours() {
        let mut claims = user_claims();
        claims["aud"] = json!(["other", "authenticated"]);
        assert!(verify(&hs256(&claims, SECRET), &secret_keys(), "authenticated", NOW).is_ok());
    }

    #[test]
    fn a_jwks_with_a_broken_p256_key_is_a_configuration_error() {
        let check = |jwks: &str| assert!(JwtKeys::new(None, Some(jwks)).is_err(), "{jwks}");
        check("{");
        check(r#"{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}"#);
        let zeros = b64(&[0; 32]);
        check(&format!(r#"{{"keys":[{{"kty":"EC","crv":"P-256","x":"{zeros}","y":"{zeros}"}}]}}"#));
        let skipped =
            format!(r#"{{"keys":[{{"kty":"EC","crv":"P-256","use":"enc","x":"{zeros}"}}]}}"#);
        assert!(JwtKeys::new(None, Some(&skipped)).is_ok());
    }
}
