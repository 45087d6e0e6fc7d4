//! `/rest/v1`: the PostgREST protocol for the local stack, over tokio-postgres.
//!
//! Parse -> plan -> execute -> respond: query strings and headers become typed values
//! ([`request`], [`parse`]), a pure planner turns them into one SQL statement whose JSON Postgres
//! builds ([`plan`]), [`db`] runs it in a transaction with PostgREST's role switch and request
//! settings, and [`handler`] shapes the HTTP answer. [`schema`] is the schema cache, reloaded on
//! `NOTIFY pgrst, 'reload schema'`.

mod auth;
mod db;
mod error;
mod handler;
mod parse;
mod plan;
mod request;
mod schema;
mod sql;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::routing::any;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use futures_util::StreamExt;
use http::{HeaderName, Method, header};
use tokio_postgres::{AsyncMessage, NoTls};
use tower_http::cors::{AllowHeaders, Any, CorsLayer};

pub use error::ApiError;

/// Largest request body `/rest/v1` reads; larger ones are refused with 413.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// PostgREST's settings, read by the stack from the variables of the same names.
#[derive(Debug, Clone)]
pub struct RestConfig {
    /// `PGRST_DB_URI`: the login requests are served through (`authenticator`).
    pub db_uri: String,
    /// `PGRST_DB_SCHEMAS`: exposed schemas, the first being the default.
    pub schemas: Vec<String>,
    /// `PGRST_DB_ANON_ROLE`.
    pub anon_role: String,
    /// `PGRST_DB_MAX_ROWS`.
    pub max_rows: Option<u64>,
    /// `PGRST_JWT_SECRET`: HS256.
    pub jwt_secret: String,
    /// Public keys that verify tokens besides the secret (a JWKS), as PostgREST accepts a JWKS
    /// for its JWT secret: the local stack passes `/auth/v1`'s asymmetric signing keys.
    pub jwks: Option<String>,
    /// `PGRST_DB_POOL`: connections in the pool.
    pub pool_size: usize,
}

pub(crate) struct AppState {
    config: RestConfig,
    pool: Pool,
    verifier: auth::Verifier,
    cache: RwLock<Arc<schema::Schema>>,
}

impl AppState {
    /// The current schema cache.
    fn schema(&self) -> Arc<schema::Schema> {
        self.cache.read().map_or_else(|poisoned| poisoned.into_inner().clone(), |c| c.clone())
    }

    async fn reload(&self) -> Result<()> {
        let client = self.pool.get().await.context("connecting to load the schema cache")?;
        let fresh = schema::introspect(&**client, &self.config.schemas)
            .await
            .context("loading the schema cache")?;
        let mut cache = self.cache.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        *cache = Arc::new(fresh);
        Ok(())
    }
}

/// The `/rest/v1` router: loads the schema cache first, then keeps it fresh in the background.
pub async fn router(config: RestConfig) -> Result<Router> {
    let pg_config: tokio_postgres::Config =
        config.db_uri.parse().context("PGRST_DB_URI is not a valid connection string")?;
    let manager = Manager::from_config(
        pg_config,
        NoTls,
        ManagerConfig { recycling_method: RecyclingMethod::Fast },
    );
    let pool = Pool::builder(manager)
        .max_size(config.pool_size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(Duration::from_secs(10)))
        .build()
        .context("building the database pool")?;
    let state = Arc::new(AppState {
        verifier: auth::Verifier::new(
            &config.jwt_secret,
            config.jwks.as_deref(),
            &config.anon_role,
        )?,
        config,
        pool,
        cache: RwLock::new(Arc::new(schema::Schema::default())),
    });
    state.reload().await?;
    tokio::spawn(listen_for_reloads(state.clone()));
    Ok(Router::new()
        .route("/", any(handler::root))
        .route("/rpc/{function}", any(handler::rpc))
        .route("/{table}", any(handler::table))
        .layer(cors())
        .with_state(state))
}

/// CORS as PostgREST answers it: any origin, the request's headers allowed, the range headers
/// exposed.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
            Method::HEAD,
        ])
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([
            header::CONTENT_ENCODING,
            header::CONTENT_LOCATION,
            header::CONTENT_RANGE,
            header::CONTENT_TYPE,
            header::DATE,
            header::LOCATION,
            header::SERVER,
            header::TRANSFER_ENCODING,
            HeaderName::from_static("range-unit"),
        ])
        .max_age(Duration::from_secs(86_400))
}

/// LISTENs on `pgrst` on a connection of its own and reloads the cache on `reload schema`,
/// `reload config` (or an empty payload), reconnecting after a loss and reloading then, since notices may have been
/// missed.
async fn listen_for_reloads(state: Arc<AppState>) {
    loop {
        match tokio_postgres::connect(&state.config.db_uri, NoTls).await {
            Ok((client, mut connection)) => {
                let (sender, mut notices) = tokio::sync::mpsc::unbounded_channel();
                let driver = tokio::spawn(async move {
                    let mut messages =
                        futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(Ok(message)) = messages.next().await {
                        if let AsyncMessage::Notification(notice) = message {
                            let _ = sender.send(notice.payload().to_owned());
                        }
                    }
                });
                if let Err(error) = client.batch_execute("listen pgrst").await {
                    tracing::warn!(%error, "could not listen for schema reloads");
                } else {
                    if let Err(error) = state.reload().await {
                        tracing::warn!(error = %format!("{error:#}"), "schema cache reload failed");
                    }
                    while let Some(payload) = notices.recv().await {
                        // `reload config` too: the pre-request function is in-database config.
                        if payload.is_empty()
                            || payload == "reload schema"
                            || payload == "reload config"
                        {
                            match state.reload().await {
                                Ok(()) => tracing::info!("schema cache reloaded"),
                                Err(error) => tracing::warn!(
                                    error = %format!("{error:#}"),
                                    "schema cache reload failed"
                                ),
                            }
                        }
                    }
                }
                driver.abort();
            }
            Err(error) => tracing::warn!(%error, "schema listener could not connect"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
