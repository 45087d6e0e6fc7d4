//! Settings, read with GoTrue's environment variable names and defaults.

use anyhow::{Context, Result};

use crate::jwt::SigningKeys;

/// How the auth server behaves. Built by the stack from its environment (`from_lookup`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Owner connection the server writes `auth.*` through, as GoTrue does (`DATABASE_URL`).
    pub database_url: String,
    /// HS256 secret shared with `/rest/v1` (the stack's `jwt_secret`); it signs the API keys.
    pub jwt_secret: String,
    /// What signs and verifies access tokens: the secret, or the ES256 keys of
    /// `GOTRUE_JWT_KEYS`.
    pub keys: SigningKeys,
    /// `iss` of every access token: `<API_URL>/auth/v1`.
    pub issuer: String,
    /// Access token lifetime in seconds (`GOTRUE_JWT_EXP`, default 3600).
    pub jwt_exp: i64,
    /// Roles whose bearer token may call `/admin` (`GOTRUE_JWT_ADMIN_ROLES`).
    pub admin_roles: Vec<String>,
    /// `role` of new users and `aud` of their tokens (`GOTRUE_JWT_DEFAULT_GROUP_NAME`,
    /// `GOTRUE_JWT_AUD`).
    pub default_role: String,
    pub audience: String,
    /// `GOTRUE_SITE_URL`, reported nowhere yet but kept for redirects.
    pub site_url: String,
    /// `GOTRUE_DISABLE_SIGNUP`.
    pub disable_signup: bool,
    /// `GOTRUE_MAILER_AUTOCONFIRM`: locally true, so sign-up returns a session.
    pub mailer_autoconfirm: bool,
    /// `GOTRUE_PASSWORD_MIN_LENGTH` (default 6).
    pub password_min_length: usize,
    /// `GOTRUE_SECURITY_REFRESH_TOKEN_ROTATION_ENABLED` (default true).
    pub refresh_token_rotation: bool,
    /// `GOTRUE_SECURITY_REFRESH_TOKEN_REUSE_INTERVAL` in seconds (default 10).
    pub refresh_token_reuse_interval: i64,
}

impl Settings {
    /// Reads the settings through `var` (an environment lookup that treats empty as unset).
    pub fn from_lookup(
        var: impl Fn(&str) -> Option<String>,
        database_url: String,
        jwt_secret: String,
        api_url: &str,
    ) -> Result<Self> {
        let number = |name: &str, default: i64| -> Result<i64> {
            var(name)
                .map(|v| v.parse().with_context(|| format!("{name} must be a whole number")))
                .transpose()
                .map(|v| v.unwrap_or(default))
        };
        let flag = |name: &str, default: bool| -> Result<bool> {
            var(name)
                .map(|v| parse_bool(&v).with_context(|| format!("{name} must be true or false")))
                .transpose()
                .map(|v| v.unwrap_or(default))
        };
        let jwt_exp = number("GOTRUE_JWT_EXP", 3600)?;
        anyhow::ensure!(jwt_exp > 0, "GOTRUE_JWT_EXP must be positive");
        Ok(Self {
            keys: SigningKeys::new(&jwt_secret, var("GOTRUE_JWT_KEYS").as_deref())?,
            database_url,
            jwt_secret,
            issuer: format!("{api_url}/auth/v1"),
            jwt_exp,
            admin_roles: var("GOTRUE_JWT_ADMIN_ROLES")
                .unwrap_or_else(|| "service_role,supabase_admin".to_owned())
                .split(',')
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty())
                .collect(),
            default_role: var("GOTRUE_JWT_DEFAULT_GROUP_NAME")
                .unwrap_or_else(|| "authenticated".to_owned()),
            audience: var("GOTRUE_JWT_AUD").unwrap_or_else(|| "authenticated".to_owned()),
            site_url: var("GOTRUE_SITE_URL").unwrap_or_else(|| "http://127.0.0.1:3000".to_owned()),
            disable_signup: flag("GOTRUE_DISABLE_SIGNUP", false)?,
            mailer_autoconfirm: flag("GOTRUE_MAILER_AUTOCONFIRM", true)?,
            password_min_length: usize::try_from(number("GOTRUE_PASSWORD_MIN_LENGTH", 6)?)
                .context("GOTRUE_PASSWORD_MIN_LENGTH must not be negative")?,
            refresh_token_rotation: flag("GOTRUE_SECURITY_REFRESH_TOKEN_ROTATION_ENABLED", true)?,
            refresh_token_reuse_interval: number(
                "GOTRUE_SECURITY_REFRESH_TOKEN_REUSE_INTERVAL",
                10,
            )?,
        })
    }
}

/// Go's `strconv.ParseBool`, which GoTrue's config loader uses.
fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(env: &[(&str, &str)]) -> Result<Settings> {
        let env: HashMap<String, String> =
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::from_lookup(
            |name| env.get(name).cloned(),
            "postgres://x@y/z".into(),
            "s".repeat(32),
            "http://127.0.0.1:54321",
        )
    }

    #[test]
    fn the_defaults_are_gotrues() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.issuer, "http://127.0.0.1:54321/auth/v1");
        assert_eq!(
            (s.jwt_exp, s.password_min_length, s.refresh_token_reuse_interval),
            (3600, 6, 10)
        );
        assert_eq!(s.admin_roles, ["service_role", "supabase_admin"]);
        assert!(s.mailer_autoconfirm && s.refresh_token_rotation && !s.disable_signup);
    }

    #[test]
    fn gotrue_variables_override_the_defaults() {
        let s = settings(&[
            ("GOTRUE_JWT_EXP", "60"),
            ("GOTRUE_DISABLE_SIGNUP", "t"),
            ("GOTRUE_PASSWORD_MIN_LENGTH", "10"),
        ])
        .unwrap();
        assert_eq!((s.jwt_exp, s.password_min_length), (60, 10));
        assert!(s.disable_signup);
    }

    #[test]
    fn malformed_values_are_refused() {
        assert!(settings(&[("GOTRUE_JWT_EXP", "soon")]).is_err());
        assert!(settings(&[("GOTRUE_JWT_EXP", "0")]).is_err());
        assert!(settings(&[("GOTRUE_DISABLE_SIGNUP", "yes")]).is_err());
        assert!(settings(&[("GOTRUE_PASSWORD_MIN_LENGTH", "-1")]).is_err());
    }
}
