//! Random refresh-token strings, in the alphabet and length GoTrue uses (12 of `[a-z0-9]`).

use crate::error::{AuthError, AuthResult};

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const LENGTH: usize = 12;

pub fn refresh_token() -> AuthResult<String> {
    let mut token = String::with_capacity(LENGTH);
    let mut bytes = [0u8; 32];
    while token.len() < LENGTH {
        getrandom::getrandom(&mut bytes).map_err(AuthError::internal)?;
        // Bytes of 252 and above are dropped so that each character is equally likely.
        let usable = bytes.iter().filter(|&&b| usize::from(b) < 252);
        for &b in usable.take(LENGTH - token.len()) {
            token.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
        }
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_are_twelve_lowercase_alphanumerics_and_differ() {
        let a = refresh_token().unwrap();
        let b = refresh_token().unwrap();
        assert_eq!(a.len(), 12);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)), "{a}");
        assert_ne!(a, b);
    }
}
