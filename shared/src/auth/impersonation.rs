//! The access token of a support impersonation: the user's own claims as Supabase Auth would
//! issue them, plus `impersonator` (the platform admin) and `read_only: true`, signed with the
//! project's HS256 secret so that PostgREST and every function accept it like a sign-in of the
//! user. The claims are what make it harmless: `private.is_read_only()` refuses every write of a
//! token with an `impersonator`, and [`super::Caller`] marks it read-only.
//!
//! No refresh token exists for it: when it expires (15 minutes, set by the database) the admin
//! starts another session, with another reason, audited again.

use serde_json::{Value, json};
use uuid::Uuid;

use super::{USER_AUDIENCE, USER_ROLE, jwt};
use crate::runtime::UnixSeconds;

/// The user to act as and the session the database opened for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    pub user_id: Uuid,
    pub email: Option<String>,
    pub app_metadata: Value,
    pub user_metadata: Value,
    pub impersonator: Uuid,
    pub session_id: Uuid,
    pub issued_at: UnixSeconds,
    pub expires_at: UnixSeconds,
}

/// The claims of the impersonation token: Supabase's access-token claims for the user, with the
/// issuer `{supabase_url}/auth/v1`, and the impersonation ones.
pub fn claims(grant: &Grant, supabase_url: &str) -> Value {
    json!({
        "iss": format!("{}/auth/v1", supabase_url.trim_end_matches('/')),
        "sub": grant.user_id,
        "aud": USER_AUDIENCE,
        "role": USER_ROLE,
        "email": grant.email.as_deref().unwrap_or_default(),
        "phone": "",
        "app_metadata": grant.app_metadata,
        "user_metadata": grant.user_metadata,
        "iat": grant.issued_at,
        "exp": grant.expires_at,
        "aal": "aal1",
        "amr": [{"method": "impersonation", "timestamp": grant.issued_at}],
        "is_anonymous": false,
        "impersonator": grant.impersonator,
        "read_only": true,
        "impersonation_id": grant.session_id,
    })
}

/// The signed token, or `None` without an HS256 secret to sign with (a project on asymmetric
/// keys only: see the README's "Impersonation").
pub fn access_token(grant: &Grant, supabase_url: &str, keys: &jwt::JwtKeys) -> Option<String> {
    let secret = keys.hs256_secret()?;
    Some(jwt::sign_hs256(&claims(grant, supabase_url), secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Caller;
    use crate::runtime::tests::SECRET;

    const NOW: UnixSeconds = 1_800_000_000;

    fn grant() -> Grant {
        Grant {
            user_id: Uuid::from_u128(1),
            email: Some("rep@example.com".into()),
            app_metadata: json!({"provider": "email"}),
            user_metadata: json!({"full_name": "Rep"}),
            impersonator: Uuid::from_u128(2),
            session_id: Uuid::from_u128(3),
            issued_at: NOW,
            expires_at: NOW + 900,
        }
    }

    #[test]
    fn the_token_verifies_as_the_user_read_only_with_the_impersonator() {
        let keys = jwt::JwtKeys::new(Some(SECRET), None).unwrap();
        let token = access_token(&grant(), "http://127.0.0.1:54321/", &keys).unwrap();
        let claims = jwt::verify(&token, &keys, USER_AUDIENCE, NOW + 60).unwrap();
        assert_eq!(claims["iss"], "http://127.0.0.1:54321/auth/v1");
        assert_eq!((claims["iat"].as_u64(), claims["exp"].as_u64()), (Some(NOW), Some(NOW + 900)));
        assert_eq!(claims["impersonation_id"], json!(Uuid::from_u128(3)));
        let caller = Caller::from_claims(&claims, &token).unwrap();
        assert_eq!(caller.user_id, Uuid::from_u128(1));
        assert_eq!(caller.email.as_deref(), Some("rep@example.com"));
        assert_eq!(caller.impersonator, Some(Uuid::from_u128(2)));
        assert!(caller.read_only && caller.require_write().is_err());
    }

    #[test]
    fn the_token_expires_when_the_session_does() {
        let keys = jwt::JwtKeys::new(Some(SECRET), None).unwrap();
        let token = access_token(&grant(), "https://x.supabase.co", &keys).unwrap();
        let late = NOW + 900 + jwt::LEEWAY_SECS + 1;
        assert_eq!(jwt::verify(&token, &keys, USER_AUDIENCE, late), Err(jwt::JwtError::Expired));
    }

    #[test]
    fn without_the_project_secret_no_token_is_made() {
        let keys = jwt::JwtKeys::new(None, None).unwrap();
        assert_eq!(access_token(&grant(), "https://x.supabase.co", &keys), None);
    }

    #[test]
    fn a_user_without_email_gets_an_empty_one_as_supabase_issues_it() {
        let mut grant = grant();
        grant.email = None;
        assert_eq!(claims(&grant, "https://x.supabase.co")["email"], "");
    }
}
