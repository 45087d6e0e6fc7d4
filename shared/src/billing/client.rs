//! The outbound Stripe API client, over the host's [`HttpClient`] port: form-encoded bodies,
//! the secret key as a bearer, a pinned `Stripe-Version`, `Idempotency-Key` on creations, and
//! Stripe's error body read into a [`StripeError`] that maps to what our caller may learn.

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::form::Form;
use crate::error::ApiError;
use crate::runtime::{Ctx, HttpClient, HttpError};

/// The API version every request pins, so that Stripe's object shapes do not move under us.
pub const API_VERSION: &str = "2024-06-20";

/// Stripe's own base URL; `STRIPE_API_URL` points elsewhere (localstripe, the test fake).
pub const DEFAULT_API_URL: &str = "https://api.stripe.com";

/// Stripe refuses idempotency keys longer than this.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// Why a Stripe call gave no object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StripeError {
    /// No answer: connection refused, timeout.
    Unreachable(HttpError),
    /// Stripe answered with an error body.
    Refused {
        status: StatusCode,
        /// `type`: `invalid_request_error`, `card_error`, `idempotency_error`, `api_error`, …
        kind: String,
        code: Option<String>,
        param: Option<String>,
        message: String,
    },
    /// A 2xx whose body is not the object expected (a bug on one side).
    UnexpectedBody(String),
}

impl std::fmt::Display for StripeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unreachable(error) => write!(f, "stripe: {error}"),
            Self::Refused { status, kind, code, param, message } => write!(
                f,
                "stripe refused ({} {kind}{}{}): {message}",
                status.as_u16(),
                code.as_deref().map(|c| format!(" {c}")).unwrap_or_default(),
                param.as_deref().map(|p| format!(" param {p}")).unwrap_or_default(),
            ),
            Self::UnexpectedBody(reason) => {
                write!(f, "stripe answered an unexpected body: {reason}")
            }
        }
    }
}

impl std::error::Error for StripeError {}

impl StripeError {
    /// Stripe's error `code`, when it sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Refused { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// What our caller may learn. Card errors and idempotency clashes are the caller's to see;
    /// Stripe down or rate-limiting is a retry-later; an object missing or in the wrong state is
    /// a 404/409; anything else (bad parameters, a wrong key) is our bug and a 500.
    pub fn to_api_error(&self) -> ApiError {
        let Self::Refused { status, kind, code, message, .. } = self else {
            return match self {
                Self::Unreachable(error) => ApiError::from(error.clone()),
                _ => ApiError::internal(),
            };
        };
        match (status.as_u16(), kind.as_str(), code.as_deref()) {
            (402, _, _) | (_, "card_error", _) => {
                ApiError::new(StatusCode::PAYMENT_REQUIRED, "payment_failed", message.clone())
            }
            (_, "idempotency_error", _) => ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different request",
            ),
            (404, _, _) | (_, _, Some("resource_missing")) => {
                ApiError::not_found("no such billing object")
            }
            (_, _, Some(state))
                if state.ends_with("_unexpected_state") || state == "charge_already_captured" =>
            {
                ApiError::conflict("the billing object is not in a state that allows this")
            }
            (429, _, _) => ApiError::unavailable(),
            (status, _, _) if status >= 500 => ApiError::unavailable(),
            _ => ApiError::internal(),
        }
    }

    /// [`Self::to_api_error`], logging what Stripe said (never the key).
    pub fn log_into(self, ctx: &Ctx, target: &str) -> ApiError {
        let error = self.to_api_error();
        let fields = json!({ "target": target, "error": self.to_string() });
        if error.status.is_server_error() {
            ctx.log.error("stripe_error", fields);
        } else {
            ctx.log.info("stripe_refused", fields);
        }
        error
    }
}

/// A page of a Stripe list.
#[derive(Debug, Clone, Deserialize)]
pub struct List<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub has_more: bool,
}

/// A client for one Stripe account: where its API is and the secret key.
pub struct Stripe<'a> {
    http: &'a dyn HttpClient,
    api_url: String,
    secret_key: String,
}

impl<'a> Stripe<'a> {
    pub fn new(http: &'a dyn HttpClient, api_url: &str, secret_key: &str) -> Self {
        Self {
            http,
            api_url: api_url.trim_end_matches('/').to_owned(),
            secret_key: secret_key.to_owned(),
        }
    }

    /// The client the host is configured for; without `STRIPE_SECRET_KEY` billing is off and
    /// callers get a 503 `billing_unavailable` (logged).
    pub fn from_ctx(ctx: &'a Ctx) -> Result<Self, ApiError> {
        let Some(key) = ctx.config.providers.stripe_secret_key.as_deref() else {
            ctx.log.error("stripe_unconfigured", json!({}));
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "billing_unavailable",
                "billing is not available on this deployment",
            ));
        };
        Ok(Self::new(ctx.http.as_ref(), &ctx.config.billing.api_url, key))
    }

    /// The request for `method path` with `form` as body (POST) or query (GET, DELETE).
    pub fn request(
        &self,
        method: Method,
        path: &str,
        form: &Form,
        idempotency_key: Option<&str>,
    ) -> Result<Request<Bytes>, StripeError> {
        let invalid = |reason: String| StripeError::Unreachable(HttpError::InvalidRequest(reason));
        let as_body = method == Method::POST;
        let mut uri = format!("{}{path}", self.api_url);
        if !as_body && !form.is_empty() {
            uri = format!("{uri}?{}", form.encode());
        }
        let mut builder = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.secret_key))
            .header("stripe-version", API_VERSION);
        if as_body {
            builder = builder.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        if let Some(key) = idempotency_key {
            if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY_LEN {
                return Err(invalid(format!("an idempotency key of {} bytes", key.len())));
            }
            builder = builder.header("idempotency-key", key);
        }
        let body = if as_body { Bytes::from(form.encode()) } else { Bytes::new() };
        builder.body(body).map_err(|e| invalid(e.to_string()))
    }

    /// Sends a request and reads Stripe's answer as `T`.
    pub async fn send<T: DeserializeOwned>(
        &self,
        request: Request<Bytes>,
    ) -> Result<T, StripeError> {
        let response = self.http.send(request).await.map_err(StripeError::Unreachable)?;
        read_answer(response.status(), response.body())
    }

    /// `POST path` with `form`, idempotent under `idempotency_key` when given.
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &Form,
        idempotency_key: Option<&str>,
    ) -> Result<T, StripeError> {
        self.send(self.request(Method::POST, path, form, idempotency_key)?).await
    }

    /// `GET path?query`.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &Form,
    ) -> Result<T, StripeError> {
        self.send(self.request(Method::GET, path, query, None)?).await
    }

    /// Every object of a list endpoint, following `has_more` with `starting_after`.
    pub async fn list_all<T: DeserializeOwned + HasId>(
        &self,
        path: &str,
        query: &Form,
    ) -> Result<Vec<T>, StripeError> {
        let mut all: Vec<T> = Vec::new();
        loop {
            let mut page_query = query.clone().field("limit", 100);
            if let Some(last) = all.last() {
                page_query = page_query.field("starting_after", last.id());
            }
            let page: List<T> = self.get(path, &page_query).await?;
            let more = page.has_more && !page.data.is_empty();
            all.extend(page.data);
            if !more {
                return Ok(all);
            }
        }
    }
}

/// Objects with a Stripe id, for pagination.
pub trait HasId {
    fn id(&self) -> &str;
}

/// Stripe's answer: the object on 2xx, else its error body as a [`StripeError`].
pub fn read_answer<T: DeserializeOwned>(status: StatusCode, body: &[u8]) -> Result<T, StripeError> {
    if status.is_success() {
        return serde_json::from_slice(body)
            .map_err(|e| StripeError::UnexpectedBody(e.to_string()));
    }
    #[derive(Deserialize)]
    struct Envelope {
        error: Detail,
    }
    #[derive(Deserialize)]
    struct Detail {
        #[serde(rename = "type", default)]
        kind: Option<String>,
        #[serde(default)]
        code: Option<String>,
        #[serde(default)]
        param: Option<String>,
        #[serde(default)]
        message: Option<String>,
    }
    let detail = serde_json::from_slice::<Envelope>(body).ok().map(|e| e.error);
    let detail = detail.unwrap_or(Detail { kind: None, code: None, param: None, message: None });
    Err(StripeError::Refused {
        status,
        kind: detail.kind.unwrap_or_else(|| "api_error".into()),
        code: detail.code,
        param: detail.param,
        message: detail.message.unwrap_or_else(|| format!("HTTP {}", status.as_u16())),
    })
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use serde_json::Value;

    use super::*;
    use crate::runtime::tests::ScriptedHttp;
    use crate::testing::block_on;

    fn answer(status: u16, body: Value) -> Result<http::Response<Bytes>, HttpError> {
        Ok(http::Response::builder().status(status).body(Bytes::from(body.to_string())).unwrap())
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Thing {
        id: String,
    }

    impl HasId for Thing {
        fn id(&self) -> &str {
            &self.id
        }
    }

    #[test]
    fn a_creation_is_form_encoded_with_the_key_version_and_idempotency_key() {
        let http = ScriptedHttp::answering([answer(200, json!({"id": "cus_1"}))]);
        let stripe = Stripe::new(http.as_ref(), "http://stripe.local/", "sk_test_1");
        let form = Form::new().field("email", "a@b.c").map("metadata", [("org_id", "o1")]);
        let thing: Thing = block_on(stripe.post("/v1/customers", &form, Some("k-1"))).unwrap();
        assert_eq!(thing, Thing { id: "cus_1".into() });
        let sent = &http.sent.borrow()[0];
        assert_eq!(sent.method(), Method::POST);
        assert_eq!(sent.uri(), "http://stripe.local/v1/customers");
        assert_eq!(sent.headers()[header::AUTHORIZATION], "Bearer sk_test_1");
        assert_eq!(sent.headers()["stripe-version"], API_VERSION);
        assert_eq!(sent.headers()["idempotency-key"], "k-1");
        assert_eq!(sent.headers()[header::CONTENT_TYPE], "application/x-www-form-urlencoded");
        assert_eq!(sent.body().as_ref(), b"email=a%40b.c&metadata[org_id]=o1");
    }

    #[test]
    fn a_read_sends_its_form_as_the_query_and_no_idempotency_key() {
        let http = ScriptedHttp::answering([answer(200, json!({"data": [], "has_more": false}))]);
        let stripe = Stripe::new(http.as_ref(), "http://stripe.local", "sk_test_1");
        let _: List<Thing> =
            block_on(stripe.get("/v1/prices", &Form::new().field("lookup_keys[]", "team")))
                .unwrap();
        let sent = &http.sent.borrow()[0];
        assert_eq!(sent.uri(), "http://stripe.local/v1/prices?lookup_keys[]=team");
        assert!(sent.headers().get("idempotency-key").is_none() && sent.body().is_empty());
    }

    #[test]
    fn an_idempotency_key_stripe_would_refuse_is_not_sent() {
        let http = ScriptedHttp::default();
        let stripe = Stripe::new(&http, "http://s", "k");
        for key in [String::new(), "x".repeat(MAX_IDEMPOTENCY_KEY_LEN + 1)] {
            assert!(stripe.request(Method::POST, "/v1/x", &Form::new(), Some(&key)).is_err());
        }
    }

    #[test]
    fn a_list_is_read_page_by_page() {
        let http = ScriptedHttp::answering([
            answer(200, json!({"data": [{"id": "a"}, {"id": "b"}], "has_more": true})),
            answer(200, json!({"data": [{"id": "c"}], "has_more": false})),
        ]);
        let stripe = Stripe::new(http.as_ref(), "http://s", "k");
        let all: Vec<Thing> = block_on(stripe.list_all("/v1/products", &Form::new())).unwrap();
        assert_eq!(all.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(http.sent.borrow()[1].uri(), "http://s/v1/products?limit=100&starting_after=b");
    }

    #[test]
    fn stripes_error_body_is_read_and_mapped_to_what_the_caller_may_learn() {
        let check = |status: u16, body: Value, expected: (u16, &str)| {
            let error = read_answer::<Thing>(
                StatusCode::from_u16(status).unwrap(),
                body.to_string().as_bytes(),
            )
            .unwrap_err();
            let api = error.to_api_error();
            assert_eq!((api.status.as_u16(), api.code), expected, "{error}");
            error
        };
        let missing = check(
            400,
            json!({"error": {"type": "invalid_request_error", "code": "parameter_missing",
                             "param": "success_url", "message": "Missing required param: success_url."}}),
            (500, "internal_error"),
        );
        assert_eq!(missing.code(), Some("parameter_missing"));
        assert!(missing.to_string().contains("param success_url"), "{missing}");
        check(
            402,
            json!({"error": {"type": "card_error", "code": "card_declined", "message": "Your card was declined."}}),
            (402, "payment_failed"),
        );
        check(
            400,
            json!({"error": {"type": "idempotency_error", "message": "Keys for idempotent requests can only be used with the same parameters"}}),
            (409, "idempotency_key_reused"),
        );
        check(
            404,
            json!({"error": {"type": "invalid_request_error", "code": "resource_missing", "message": "No such payment_intent"}}),
            (404, "not_found"),
        );
        check(
            400,
            json!({"error": {"type": "invalid_request_error", "code": "payment_intent_unexpected_state", "message": "…"}}),
            (409, "conflict"),
        );
        check(
            401,
            json!({"error": {"type": "invalid_request_error", "message": "Invalid API Key"}}),
            (500, "internal_error"),
        );
        check(
            429,
            json!({"error": {"type": "invalid_request_error", "code": "rate_limit"}}),
            (503, "upstream_unavailable"),
        );
        let gateway = check(502, json!("<html>bad gateway</html>"), (503, "upstream_unavailable"));
        assert!(gateway.to_string().contains("HTTP 502"), "{gateway}");
    }

    #[test]
    fn no_answer_is_a_retry_later_and_a_strange_body_our_bug() {
        let http = ScriptedHttp::answering([Err(HttpError::Timeout), answer(200, json!([1]))]);
        let stripe = Stripe::new(http.as_ref(), "http://s", "k");
        let unreachable = block_on(stripe.get::<Thing>("/v1/x", &Form::new())).unwrap_err();
        assert_eq!(unreachable.to_api_error().status, 503);
        let strange = block_on(stripe.get::<Thing>("/v1/x", &Form::new())).unwrap_err();
        assert!(matches!(strange, StripeError::UnexpectedBody(_)));
        assert_eq!(strange.to_api_error().status, 500);
    }

    #[test]
    fn without_a_secret_key_billing_is_unavailable() {
        let ctx = crate::runtime::tests::ctx_with(Rc::new(ScriptedHttp::default()));
        let error = Stripe::from_ctx(&ctx).err().unwrap();
        assert_eq!((error.status.as_u16(), error.code), (503, "billing_unavailable"));
    }
}
