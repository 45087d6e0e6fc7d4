//! Passwords: bcrypt at GoTrue's cost with the `$2a$` prefix it writes, GoTrue's strength rule,
//! and a verification that costs the same whether or not the account exists.

use std::sync::OnceLock;

use crate::error::{AuthError, AuthResult};

/// GoTrue's `bcrypt.DefaultCost`.
const COST: u32 = 10;

/// Hashes `password` as GoTrue stores it (`$2a$10$…`).
pub fn hash(password: &str) -> AuthResult<String> {
    bcrypt::non_truncating_hash_with_result(password, COST)
        .map(|parts| parts.format_for_version(bcrypt::Version::TwoA))
        .map_err(|error| match error {
            bcrypt::BcryptError::Truncation(_) => {
                AuthError::validation("bcrypt: password length exceeds 72 bytes")
            }
            other => AuthError::internal(other),
        })
}

/// Checks `password` against a stored hash (`$2a$`, `$2b$` or `$2y$`). With no stored hash
/// (unknown e-mail, or a user without a password) a dummy hash is checked instead, so both
/// cases take a bcrypt verification's time and the caller cannot tell them apart.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let (hash, real) = match stored {
        Some(hash) if !hash.is_empty() => (hash, true),
        _ => (dummy_hash(), false),
    };
    bcrypt::verify(password, hash).unwrap_or(false) && real
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        bcrypt::hash_with_result("no account has this password", COST)
            .map(|parts| parts.format_for_version(bcrypt::Version::TwoA))
            .unwrap_or_default()
    })
}

/// GoTrue's `checkPasswordStrength` with the minimum length rule (its default configuration).
pub fn check_strength(password: &str, min_length: usize) -> AuthResult<()> {
    if password.len() < min_length {
        let mut error = AuthError::unprocessable(
            "weak_password",
            format!("Password should be at least {min_length} characters."),
        );
        error.reasons = vec!["length"];
        return Err(error);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_has_gotrues_prefix_and_verifies() {
        let hash = hash("correct horse").unwrap();
        assert!(hash.starts_with("$2a$10$"), "{hash}");
        assert!(verify("correct horse", Some(&hash)));
        assert!(!verify("wrong horse", Some(&hash)));
    }

    #[test]
    fn hashes_written_by_other_bcrypt_implementations_verify() {
        // OpenBSD's published test vector for "U*U", under each prefix bcrypt libraries write.
        let two_a = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
        for prefix in ["$2a$", "$2b$", "$2y$"] {
            let stored = two_a.replacen("$2a$", prefix, 1);
            assert!(verify("U*U", Some(&stored)), "{stored}");
            assert!(!verify("U*V", Some(&stored)), "{stored}");
        }
    }

    #[test]
    fn without_a_stored_hash_nothing_verifies() {
        assert!(!verify("anything", None));
        assert!(!verify("no account has this password", None));
        assert!(!verify("anything", Some("")));
    }

    #[test]
    fn a_password_over_72_bytes_is_refused_not_truncated() {
        let error = hash(&"x".repeat(73)).unwrap_err();
        assert_eq!((error.status.as_u16(), error.code), (400, "validation_failed"));
    }

    #[test]
    fn a_short_password_is_weak_for_its_length() {
        let error = check_strength("12345", 6).unwrap_err();
        assert_eq!((error.status.as_u16(), error.code), (422, "weak_password"));
        assert_eq!(error.reasons, ["length"]);
        assert!(check_strength("123456", 6).is_ok());
    }
}
