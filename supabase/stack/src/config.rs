//! Configuration from the environment, with PostgREST's variable names where PostgREST has one.

use std::path::PathBuf;

use anyhow::{Context, Result};

/// Where the stack finds its database, its files and its secret.
#[derive(Debug, Clone)]
pub struct Config {
    /// The owner connection used to create the database and run migrations (`DATABASE_URL`).
    pub database_url: String,
    /// The login the gateway serves requests through (`PGRST_DB_URI`), normally `authenticator`.
    pub db_uri: String,
    /// Exposed schemas, first is the default (`PGRST_DB_SCHEMAS`).
    pub db_schemas: Vec<String>,
    /// Role for requests without a JWT (`PGRST_DB_ANON_ROLE`).
    pub anon_role: String,
    /// Upper bound on rows a GET returns (`PGRST_DB_MAX_ROWS`), none when unset.
    pub max_rows: Option<u64>,
    /// HS256 secret that signs every JWT (`PGRST_JWT_SECRET`, or `JWT_SECRET`).
    pub jwt_secret: String,
    /// Connections `/rest/v1` keeps to the database (`PGRST_DB_POOL`, default 10).
    pub db_pool: usize,
    pub host: String,
    pub port: u16,
    /// The repository's `supabase/` folder: bootstrap, migrations.
    pub supabase_dir: PathBuf,
    /// Where `serve` writes the status lines (`STACK_STATUS_FILE`, default
    /// `supabase/.temp/status.env`).
    pub status_file: PathBuf,
    /// `/auth/v1`'s settings (GoTrue's `GOTRUE_*` names).
    pub auth: local_auth::Settings,
}

const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/salespulse";

impl Config {
    pub fn from_env() -> Result<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let supabase_dir = var("SUPABASE_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."));
        let database_url = var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        let db_uri = match var("PGRST_DB_URI") {
            Some(uri) => uri,
            None => with_user(&database_url, "authenticator")?,
        };
        let jwt_secret = match var("PGRST_JWT_SECRET").or_else(|| var("JWT_SECRET")) {
            Some(secret) => secret,
            None => crate::keys::local_secret(&supabase_dir)?,
        };
        let host = var("PGRST_SERVER_HOST").unwrap_or_else(|| "127.0.0.1".to_owned());
        let port = var("PGRST_SERVER_PORT")
            .map(|v| v.parse().context("PGRST_SERVER_PORT must be a port number"))
            .transpose()?
            .unwrap_or(54321);
        let auth = local_auth::Settings::from_lookup(
            var,
            database_url.clone(),
            jwt_secret.clone(),
            &api_url(&host, port),
        )?;
        Ok(Self {
            auth,
            database_url,
            db_uri,
            db_schemas: var("PGRST_DB_SCHEMAS")
                .unwrap_or_else(|| "public".to_owned())
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            anon_role: var("PGRST_DB_ANON_ROLE").unwrap_or_else(|| "anon".to_owned()),
            max_rows: var("PGRST_DB_MAX_ROWS")
                .map(|v| v.parse().context("PGRST_DB_MAX_ROWS must be a whole number"))
                .transpose()?,
            jwt_secret,
            db_pool: var("PGRST_DB_POOL")
                .map(|v| v.parse().context("PGRST_DB_POOL must be a whole number"))
                .transpose()?
                .unwrap_or(10),
            host,
            port,
            status_file: var("STACK_STATUS_FILE")
                .map(PathBuf::from)
                .unwrap_or_else(|| supabase_dir.join(".temp").join("status.env")),
            supabase_dir,
        })
    }

    pub fn api_url(&self) -> String {
        api_url(&self.host, self.port)
    }

    /// The PostgREST settings of `/rest/v1`.
    pub fn rest(&self) -> local_rest::RestConfig {
        local_rest::RestConfig {
            db_uri: self.db_uri.clone(),
            schemas: self.db_schemas.clone(),
            anon_role: self.anon_role.clone(),
            max_rows: self.max_rows,
            jwt_secret: self.jwt_secret.clone(),
            jwks: Some(self.auth.keys.jwks().to_string()),
            pool_size: self.db_pool,
        }
    }
}

fn api_url(host: &str, port: u16) -> String {
    format!("http://{host}:{port}")
}

/// The same connection string with another user name (and no password).
fn with_user(url: &str, user: &str) -> Result<String> {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
        .context("DATABASE_URL must be a postgres:// URL")?;
    let host_part = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    Ok(format!("postgres://{user}@{host_part}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateway_login_replaces_the_owner_in_the_url() {
        let check = |url: &str, expected: &str| {
            assert_eq!(with_user(url, "authenticator").unwrap(), expected)
        };
        check(
            "postgres://postgres@127.0.0.1:5432/db",
            "postgres://authenticator@127.0.0.1:5432/db",
        );
        check(
            "postgresql://u:p@h:1/db?sslmode=disable",
            "postgres://authenticator@h:1/db?sslmode=disable",
        );
        check("postgres://127.0.0.1/db", "postgres://authenticator@127.0.0.1/db");
    }

    #[test]
    fn a_url_of_another_scheme_is_refused() {
        assert!(with_user("mysql://x@y/z", "a").is_err());
    }
}
