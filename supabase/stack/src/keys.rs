//! The project's JWT secret and the two API keys Supabase derives from it.

use std::path::Path;

use anyhow::{Context, Result};
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::json;

/// API keys live ten years, like the keys `supabase start` prints.
const KEY_LIFETIME_SECS: u64 = 10 * 365 * 24 * 3600;

/// A random secret kept in `supabase/.temp/jwt-secret` (ignored by git), made on first use.
pub fn local_secret(supabase_dir: &Path) -> Result<String> {
    let path = supabase_dir.join(".temp").join("jwt-secret");
    if let Ok(secret) = std::fs::read_to_string(&path) {
        let secret = secret.trim();
        if secret.len() >= 32 {
            return Ok(secret.to_owned());
        }
    }
    let secret = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    std::fs::create_dir_all(path.parent().expect("a joined path has a parent"))
        .with_context(|| format!("creating {}", path.display()))?;
    std::fs::write(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
    Ok(secret)
}

/// An API key: a JWT with only `iss`, `role`, `iat` and `exp`, as Supabase issues them.
pub fn api_key(secret: &str, role: &str, issued_at: u64) -> Result<String> {
    let claims = json!({
        "iss": "supabase-demo",
        "role": role,
        "iat": issued_at,
        "exp": issued_at + KEY_LIFETIME_SECS,
    });
    encode(&Header::default(), &claims, &EncodingKey::from_secret(secret.as_bytes()))
        .context("signing an API key")
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation, decode};

    #[test]
    fn an_api_key_carries_its_role_and_verifies_with_the_secret() {
        let key = api_key("0123456789abcdef0123456789abcdef", "anon", 1_700_000_000).unwrap();
        let validation = Validation { validate_exp: false, ..Validation::default() };
        let data = decode::<serde_json::Value>(
            &key,
            &DecodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
            &validation,
        )
        .unwrap();
        assert_eq!(data.claims["role"], "anon");
    }

    #[test]
    fn the_local_secret_is_made_once_and_then_reused() {
        let dir = std::env::temp_dir().join(format!("keys-{}", uuid::Uuid::new_v4()));
        let first = local_secret(&dir).unwrap();
        assert_eq!(local_secret(&dir).unwrap(), first);
        assert!(first.len() >= 32);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
