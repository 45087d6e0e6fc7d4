//! E-mail addresses as GoTrue's `validateEmail` accepts them (checkmail's format rule, lower-cased).

use crate::error::{AuthError, AuthResult};

/// Returns the address lower-cased, or GoTrue's `validation_failed` error.
pub fn validate(email: &str) -> AuthResult<String> {
    if email.is_empty() {
        return Err(AuthError::validation("An email address is required"));
    }
    if email.len() > 255 {
        return Err(AuthError::validation("An email address is too long"));
    }
    if !has_valid_format(email) {
        return Err(AuthError::validation("Unable to validate email address: invalid format"));
    }
    Ok(email.to_lowercase())
}

/// `local@domain`: the local part from the HTML5 set of characters, the domain dot-separated
/// labels of letters, digits and inner hyphens, at most 63 characters each.
fn has_valid_format(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else { return false };
    let local_ok = !local.is_empty()
        && local.chars().all(|c| c.is_ascii_alphanumeric() || ".!#$%&'*+/=?^_`{|}~-".contains(c));
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    local_ok && domain.split('.').all(label_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_addresses_come_back_lower_cased() {
        assert_eq!(validate("Ann.Lee+x@Example.COM").unwrap(), "ann.lee+x@example.com");
        assert_eq!(validate("a@localhost").unwrap(), "a@localhost");
    }

    #[test]
    fn malformed_addresses_fail_validation() {
        for bad in ["plainaddress", "@x.co", "a@", "a@-x.co", "a@x..co", "a b@x.co", "a@x@y.co"] {
            let error = validate(bad).unwrap_err();
            assert_eq!((error.status.as_u16(), error.code), (400, "validation_failed"), "{bad}");
            assert_eq!(error.message, "Unable to validate email address: invalid format");
        }
    }

    #[test]
    fn empty_and_overlong_addresses_have_their_own_messages() {
        assert_eq!(validate("").unwrap_err().message, "An email address is required");
        let long = format!("{}@x.co", "a".repeat(260));
        assert_eq!(validate(&long).unwrap_err().message, "An email address is too long");
    }
}
