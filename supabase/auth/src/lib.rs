//! `local-auth`: the local stand-in for Supabase Auth (GoTrue v2), served at `/auth/v1`.
//!
//! E-mail/password sign-up, the password and refresh-token grants with rotation and reuse
//! detection, logout, the current user, and the admin user endpoints, over the `auth` schema
//! that `supabase/bootstrap/10_auth.sql` creates. Behaviour, bodies and error codes follow GoTrue.

mod admin;
mod email;
mod error;
mod gateway;
mod jwt;
mod password;
mod request;
mod secure;
mod session;
mod settings;
mod store;
mod user;
mod user_api;

use std::sync::Arc;

use anyhow::{Context, Result};
use axum::Router;
use axum::routing::{get, post};

pub use jwt::{SigningKeys, new_signing_jwk};
pub use settings::Settings;

/// What every handler shares: settings and the owner connection pool.
#[derive(Clone)]
pub(crate) struct AppState {
    settings: Arc<Settings>,
    pool: deadpool_postgres::Pool,
}

/// The `/auth/v1` router, to be nested there by the gateway. The pool connects lazily.
pub fn router(settings: Settings) -> Result<Router> {
    let pg_config: tokio_postgres::Config =
        settings.database_url.parse().context("DATABASE_URL is not a valid postgres URL")?;
    let manager = deadpool_postgres::Manager::from_config(
        pg_config,
        tokio_postgres::NoTls,
        deadpool_postgres::ManagerConfig {
            recycling_method: deadpool_postgres::RecyclingMethod::Fast,
        },
    );
    let pool = deadpool_postgres::Pool::builder(manager)
        .max_size(8)
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .context("building the auth connection pool")?;
    let state = AppState { settings: Arc::new(settings), pool };
    let admin = Router::new()
        .route("/users", get(admin::list_users).post(admin::create_user))
        .route(
            "/users/{id}",
            get(admin::get_user).put(admin::update_user).delete(admin::delete_user),
        )
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), admin::require_admin));
    Ok(Router::new()
        .route("/signup", post(session::signup))
        .route("/token", post(session::token))
        .route("/logout", post(session::logout))
        .route("/user", get(user_api::get_user).put(user_api::update_user))
        .route("/settings", get(gateway::settings))
        .route("/health", get(gateway::health))
        .nest("/admin", admin)
        .fallback(gateway::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), gateway::require_api_key))
        // Public, as on hosted Supabase: verifiers fetch it without a key.
        .route("/.well-known/jwks.json", get(gateway::jwks))
        .layer(axum::middleware::from_fn(error::api_version))
        .with_state(state))
}
