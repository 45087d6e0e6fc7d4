//! What a function sees of the host it runs in: configuration, the one outbound-HTTP port, the
//! request id, the clock and the log sink. Hosts (native, Workers, Spin) build a [`Ctx`] per
//! request; functions never reach for the environment, the network or the clock themselves.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use bytes::Bytes;

use crate::auth::JwtKeys;
use crate::billing::BillingSettings;
use crate::log::Logger;
use crate::mail::MailSettings;
use crate::session::SessionSettings;

#[cfg(feature = "native")]
pub mod native;

/// Everything a function may be configured with. Hosts read it once through
/// [`Config::from_lookup`] from whatever they have: process environment, Worker vars and secrets,
/// Spin variables. The names are documented in `.env.example`.
#[derive(Clone)]
pub struct Config {
    /// Base URL of the Supabase project, without a trailing slash (`SUPABASE_URL`).
    pub supabase_url: String,
    /// The project's anon (publishable) key, sent as `apikey` to PostgREST (`SUPABASE_ANON_KEY`).
    pub anon_key: String,
    /// The service-role key (`SUPABASE_SERVICE_ROLE_KEY`); only `postgrest::service_role` reads it.
    pub service_role_key: Option<String>,
    /// Configured keys that verify users' JWTs: the legacy HS256 secret (`SUPABASE_JWT_SECRET`)
    /// and/or public signing keys as a JWKS document (`SUPABASE_JWKS`). Keys of the project's
    /// published JWKS are fetched besides (`auth::jwks`).
    pub jwt_keys: JwtKeys,
    /// Frontend origins allowed to call the functions from a browser (`ALLOWED_ORIGINS`,
    /// comma-separated, exact `scheme://host[:port]`).
    pub allowed_origins: Vec<String>,
    /// Keys of the providers the platform calls; each feature checks the one it needs.
    pub providers: ProviderKeys,
    /// How browser sign-in sessions are kept (cookies, the client address header).
    pub session: SessionSettings,
    /// Where Stripe's API is and where Checkout and the portal send customers back.
    pub billing: BillingSettings,
    /// Where Mailgun's API is, the sending domain and sender, the app's URL for links.
    pub mail: MailSettings,
}

/// Secrets of the external providers. Absent ones leave their features unavailable.
#[derive(Clone, Default)]
pub struct ProviderKeys {
    /// `STRIPE_SECRET_KEY`
    pub stripe_secret_key: Option<String>,
    /// `STRIPE_WEBHOOK_SECRET`
    pub stripe_webhook_secret: Option<String>,
    /// `MAILGUN_API_KEY`
    pub mailgun_api_key: Option<String>,
    /// `MAILGUN_WEBHOOK_SIGNING_KEY`: verifies Mailgun's webhooks (not the API key).
    pub mailgun_webhook_signing_key: Option<String>,
    /// `OPENAI_API_KEY`
    pub openai_api_key: Option<String>,
    /// `ELEVENLABS_API_KEY`
    pub elevenlabs_api_key: Option<String>,
}

/// Why a configuration could not be read. Names the variable, never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    Missing(&'static str),
    Invalid { name: &'static str, reason: String },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing(name) => write!(f, "{name} is not set"),
            Self::Invalid { name, reason } => write!(f, "{name} is invalid: {reason}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The variable `name`'s `value` when it is an http(s) URL; anything else is invalid.
pub(crate) fn http_url(
    name: &'static str,
    value: Option<String>,
) -> Result<Option<String>, ConfigError> {
    match value {
        Some(value) if !(value.starts_with("https://") || value.starts_with("http://")) => {
            Err(ConfigError::Invalid { name, reason: "must start with http:// or https://".into() })
        }
        other => Ok(other),
    }
}

impl Config {
    /// Reads the configuration through `get`, which answers a variable's value by name. Empty
    /// values count as unset.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let required = |name: &'static str| get(name).ok_or(ConfigError::Missing(name));

        let supabase_url = required("SUPABASE_URL")?.trim_end_matches('/').to_owned();
        if !(supabase_url.starts_with("https://") || supabase_url.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                name: "SUPABASE_URL",
                reason: "must start with http:// or https://".into(),
            });
        }
        // Both optional: a project without the legacy secret verifies with its published keys.
        let jwt_keys =
            JwtKeys::new(get("SUPABASE_JWT_SECRET").as_deref(), get("SUPABASE_JWKS").as_deref())?;
        let allowed_origins = get("ALLOWED_ORIGINS")
            .map(|list| {
                list.split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_owned())
                    .filter(|o| !o.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            supabase_url,
            anon_key: required("SUPABASE_ANON_KEY")?,
            service_role_key: get("SUPABASE_SERVICE_ROLE_KEY"),
            jwt_keys,
            allowed_origins,
            providers: ProviderKeys {
                stripe_secret_key: get("STRIPE_SECRET_KEY"),
                stripe_webhook_secret: get("STRIPE_WEBHOOK_SECRET"),
                mailgun_api_key: get("MAILGUN_API_KEY"),
                mailgun_webhook_signing_key: get("MAILGUN_WEBHOOK_SIGNING_KEY"),
                openai_api_key: get("OPENAI_API_KEY"),
                elevenlabs_api_key: get("ELEVENLABS_API_KEY"),
            },
            session: SessionSettings::from_lookup(get)?,
            billing: BillingSettings::from_lookup(get)?,
            mail: MailSettings::from_lookup(get)?,
        })
    }
}

/// Secrets stay out of `{:?}` output, which may end up in logs.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("supabase_url", &self.supabase_url)
            .field("allowed_origins", &self.allowed_origins)
            .finish_non_exhaustive()
    }
}

/// Why an outbound request got no response. The message is for logs, never for callers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The request could not be turned into the host's request type (a bug on our side).
    InvalidRequest(String),
    /// Connecting, sending or reading failed.
    Unreachable(String),
    /// The host's time limit passed.
    Timeout,
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidRequest(reason) => write!(f, "invalid outbound request: {reason}"),
            Self::Unreachable(reason) => write!(f, "upstream unreachable: {reason}"),
            Self::Timeout => f.write_str("upstream timed out"),
        }
    }
}

impl std::error::Error for HttpError {}

/// The future an [`HttpClient`] returns. Not `Send`: the WASM hosts are single-threaded.
pub type HttpFuture<'a> =
    Pin<Box<dyn Future<Output = Result<http::Response<Bytes>, HttpError>> + 'a>>;

/// The one outbound-HTTP port. Every call to PostgREST or a provider goes through it; each host
/// brings its implementation (reqwest natively, `worker::Fetch`, Spin's outbound HTTP).
pub trait HttpClient {
    fn send<'a>(&'a self, request: http::Request<Bytes>) -> HttpFuture<'a>;
}

/// Seconds since the Unix epoch. Hosts read their clock (`std::time` does not work on
/// wasm32-unknown-unknown), functions only read this value.
pub type UnixSeconds = u64;

/// The context a function runs in, built by the host for one request.
#[derive(Clone)]
pub struct Ctx {
    pub config: Arc<Config>,
    pub http: Rc<dyn HttpClient>,
    /// The caller's `x-request-id` when it was a sensible one, else an id the host made.
    pub request_id: String,
    /// When the request arrived.
    pub now: UnixSeconds,
    /// Structured log lines, tagged with the request id.
    pub log: Logger,
}

impl Ctx {
    /// A context logging to standard error; use [`Ctx::with_log_sink`] to send lines elsewhere.
    pub fn new(
        config: Arc<Config>,
        http: Rc<dyn HttpClient>,
        request_id: impl Into<String>,
        now: UnixSeconds,
    ) -> Self {
        let request_id = request_id.into();
        let log = Logger::stderr(&request_id);
        Self { config, http, request_id, now, log }
    }

    /// The same context writing its log lines through `sink` (one JSON line per call).
    pub fn with_log_sink(mut self, sink: Rc<dyn Fn(&str)>) -> Self {
        self.log = Logger::new(sink, &self.request_id);
        self
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::cell::RefCell;
    use std::collections::HashMap;

    use super::*;

    /// An outbound port answering from a script, recording what was sent. For unit tests only.
    #[derive(Default)]
    pub struct ScriptedHttp {
        pub answers: RefCell<Vec<Result<http::Response<Bytes>, HttpError>>>,
        pub sent: RefCell<Vec<http::Request<Bytes>>>,
    }

    impl ScriptedHttp {
        pub fn answering(
            answers: impl IntoIterator<Item = Result<http::Response<Bytes>, HttpError>>,
        ) -> Rc<Self> {
            let mut answers: Vec<_> = answers.into_iter().collect();
            answers.reverse();
            Rc::new(Self { answers: RefCell::new(answers), sent: RefCell::default() })
        }
    }

    impl HttpClient for ScriptedHttp {
        fn send<'a>(&'a self, request: http::Request<Bytes>) -> HttpFuture<'a> {
            self.sent.borrow_mut().push(request);
            let answer = self.answers.borrow_mut().pop().unwrap_or(Err(HttpError::Timeout));
            Box::pin(async move { answer })
        }
    }

    pub const SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters";

    pub fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    pub fn config() -> Config {
        Config::from_lookup(env(&[
            ("SUPABASE_URL", "http://127.0.0.1:54321/"),
            ("SUPABASE_ANON_KEY", "anon-key"),
            ("SUPABASE_SERVICE_ROLE_KEY", "service-key"),
            ("SUPABASE_JWT_SECRET", SECRET),
            ("ALLOWED_ORIGINS", "https://app.salespulse.example, http://localhost:5173/"),
        ]))
        .unwrap()
    }

    pub fn ctx_with(http: Rc<dyn HttpClient>) -> Ctx {
        Ctx::new(Arc::new(config()), http, "req-1", 1_800_000_000).with_log_sink(Rc::new(|_| {}))
    }

    #[test]
    fn a_full_configuration_reads_every_variable() {
        let config = config();
        assert_eq!(config.supabase_url, "http://127.0.0.1:54321");
        assert_eq!(config.anon_key, "anon-key");
        assert_eq!(config.service_role_key.as_deref(), Some("service-key"));
        assert_eq!(
            config.allowed_origins,
            ["https://app.salespulse.example", "http://localhost:5173"]
        );
        assert!(config.providers.stripe_secret_key.is_none());
    }

    #[test]
    fn missing_or_invalid_variables_are_named() {
        let check = |pairs: &[(&str, &str)], expected: &str| {
            let error = Config::from_lookup(env(pairs)).unwrap_err();
            assert!(error.to_string().contains(expected), "{error} lacks {expected}");
        };
        check(&[], "SUPABASE_URL is not set");
        check(&[("SUPABASE_URL", "ftp://x")], "SUPABASE_URL is invalid");
        check(&[("SUPABASE_URL", "https://x")], "SUPABASE_ANON_KEY is not set");
        check(
            &[("SUPABASE_URL", "https://x"), ("SUPABASE_JWT_SECRET", SECRET)],
            "SUPABASE_ANON_KEY is not set",
        );
        check(
            &[("SUPABASE_URL", "https://x"), ("SUPABASE_JWKS", "{"), ("SUPABASE_ANON_KEY", "a")],
            "SUPABASE_JWKS is invalid",
        );
    }

    #[test]
    fn a_project_without_the_legacy_secret_needs_no_configured_key() {
        let config = Config::from_lookup(env(&[
            ("SUPABASE_URL", "https://x"),
            ("SUPABASE_ANON_KEY", "a"),
            ("SUPABASE_JWT_SECRET", " "),
        ]))
        .unwrap();
        assert!(!config.jwt_keys.has_key("HS256", None) && !config.jwt_keys.has_key("ES256", None));
    }

    #[test]
    fn debug_output_shows_no_secret() {
        let shown = format!("{:?}", config());
        assert!(!shown.contains(SECRET) && !shown.contains("service-key"), "{shown}");
    }

    #[test]
    fn http_errors_describe_themselves_for_logs() {
        assert_eq!(HttpError::Timeout.to_string(), "upstream timed out");
        assert!(HttpError::Unreachable("refused".into()).to_string().contains("refused"));
        assert!(HttpError::InvalidRequest("uri".into()).to_string().contains("uri"));
    }
}
