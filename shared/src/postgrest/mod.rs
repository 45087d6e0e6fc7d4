//! Typed PostgREST requests, built as plain `http::Request<Bytes>` values and sent through the
//! host's [`HttpClient`]. Our own small builder: the `postgrest` crate pins reqwest 0.11 (its
//! `execute` panics on wasip2) and would add ~90 KiB gzip to the Worker.
//!
//! A user's request goes out as that user: `apikey` is the anon key and `Authorization` carries
//! the caller's own JWT, so RLS decides what they see. The one exception lives in
//! [`service_role`].

pub mod service_role;

use std::fmt::Display;

use bytes::Bytes;
use http::{Method, Request, Response, header};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::runtime::{Config, Ctx};

/// Everything but RFC 3986's unreserved characters is escaped in paths and query values.
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Where and as whom requests go.
#[derive(Clone, Debug)]
pub struct Postgrest {
    base_url: String,
    apikey: String,
    bearer: String,
    schema: Option<String>,
}

impl Postgrest {
    /// Requests made as `caller`, with their own token: RLS applies.
    pub fn as_caller(config: &Config, caller: &Caller) -> Self {
        Self::with_bearer(config, caller.token())
    }

    fn with_bearer(config: &Config, bearer: &str) -> Self {
        Self {
            base_url: format!("{}/rest/v1", config.supabase_url),
            apikey: config.anon_key.clone(),
            bearer: bearer.to_owned(),
            schema: None,
        }
    }

    /// Targets another exposed schema (`Accept-Profile` on reads, `Content-Profile` on writes).
    pub fn schema(mut self, schema: &str) -> Self {
        self.schema = Some(schema.to_owned());
        self
    }

    /// A query on table or view `table`.
    pub fn from(&self, table: &str) -> Query {
        Query {
            client: self.clone(),
            path: format!("/{}", encode(table)),
            params: Vec::new(),
            prefer: Vec::new(),
            single: false,
        }
    }

    /// `POST /rpc/<function>` with named arguments.
    pub fn rpc(
        &self,
        function: &str,
        args: &(impl Serialize + ?Sized),
    ) -> Result<Request<Bytes>, ApiError> {
        let query = Query { path: format!("/rpc/{}", encode(function)), ..self.from("") };
        query.with_body(Method::POST, args)
    }
}

/// A request being built on one table: filters, columns, order, paging, preferences.
#[derive(Clone, Debug)]
pub struct Query {
    client: Postgrest,
    path: String,
    params: Vec<(String, String)>,
    prefer: Vec<String>,
    single: bool,
}

impl Query {
    /// Columns and embedded resources, in PostgREST's `select` syntax.
    pub fn select(mut self, columns: &str) -> Self {
        self.params.push(("select".into(), columns.into()));
        self
    }

    /// A filter `column=operator.value`, e.g. `filter("id", "eq", id)`.
    pub fn filter(mut self, column: &str, operator: &str, value: impl Display) -> Self {
        self.params.push((column.into(), format!("{operator}.{value}")));
        self
    }

    pub fn eq(self, column: &str, value: impl Display) -> Self {
        self.filter(column, "eq", value)
    }

    pub fn neq(self, column: &str, value: impl Display) -> Self {
        self.filter(column, "neq", value)
    }

    pub fn gt(self, column: &str, value: impl Display) -> Self {
        self.filter(column, "gt", value)
    }

    pub fn gte(self, column: &str, value: impl Display) -> Self {
        self.filter(column, "gte", value)
    }

    pub fn lt(self, column: &str, value: impl Display) -> Self {
        self.filter(column, "lt", value)
    }

    pub fn lte(self, column: &str, value: impl Display) -> Self {
        self.filter(column, "lte", value)
    }

    /// `is.null`, `is.true` or `is.false`.
    pub fn is(self, column: &str, value: IsValue) -> Self {
        let value = match value {
            IsValue::Null => "null",
            IsValue::True => "true",
            IsValue::False => "false",
        };
        self.filter(column, "is", value)
    }

    /// `in.(…)` with every value double-quoted, so commas and parentheses in values are safe.
    pub fn in_list<V: Display>(self, column: &str, values: impl IntoIterator<Item = V>) -> Self {
        let quoted: Vec<String> = values
            .into_iter()
            .map(|v| format!("\"{}\"", v.to_string().replace('\\', "\\\\").replace('"', "\\\"")))
            .collect();
        self.filter(column, "in", format!("({})", quoted.join(",")))
    }

    /// Adds an ordering term; several calls order by several columns.
    pub fn order(mut self, column: &str, direction: Direction) -> Self {
        let term = match direction {
            Direction::Ascending => format!("{column}.asc"),
            Direction::Descending => format!("{column}.desc"),
        };
        match self.params.iter_mut().find(|(k, _)| k == "order") {
            Some((_, existing)) => {
                existing.push(',');
                existing.push_str(&term);
            }
            None => self.params.push(("order".into(), term)),
        }
        self
    }

    pub fn limit(mut self, rows: u64) -> Self {
        self.params.push(("limit".into(), rows.to_string()));
        self
    }

    pub fn offset(mut self, rows: u64) -> Self {
        self.params.push(("offset".into(), rows.to_string()));
        self
    }

    /// Exactly one row: PostgREST answers an object, or 406 `PGRST116` (mapped to our 404).
    pub fn single(mut self) -> Self {
        self.single = true;
        self
    }

    /// Adds a `Prefer` value, e.g. `count=exact`.
    pub fn prefer(mut self, preference: &str) -> Self {
        self.prefer.push(preference.into());
        self
    }

    /// `GET`: read the rows.
    pub fn get(self) -> Result<Request<Bytes>, ApiError> {
        self.build(Method::GET, Bytes::new())
    }

    /// `POST`: insert one row (an object) or many (an array); answers the rows inserted.
    pub fn insert(self, rows: &(impl Serialize + ?Sized)) -> Result<Request<Bytes>, ApiError> {
        self.prefer("return=representation").with_body(Method::POST, rows)
    }

    /// `POST` with `on_conflict`: insert, or update the rows clashing on `on_conflict` columns.
    pub fn upsert(
        mut self,
        rows: &(impl Serialize + ?Sized),
        on_conflict: &str,
    ) -> Result<Request<Bytes>, ApiError> {
        self.params.push(("on_conflict".into(), on_conflict.into()));
        self.prefer("resolution=merge-duplicates").insert(rows)
    }

    /// `PATCH`: change the filtered rows; answers them.
    pub fn update(self, changes: &(impl Serialize + ?Sized)) -> Result<Request<Bytes>, ApiError> {
        self.prefer("return=representation").with_body(Method::PATCH, changes)
    }

    /// `DELETE` the filtered rows; answers them.
    pub fn delete(self) -> Result<Request<Bytes>, ApiError> {
        self.prefer("return=representation").build(Method::DELETE, Bytes::new())
    }

    fn with_body(
        self,
        method: Method,
        body: &(impl Serialize + ?Sized),
    ) -> Result<Request<Bytes>, ApiError> {
        let body = serde_json::to_vec(body).map_err(|_| ApiError::internal())?;
        self.build(method, Bytes::from(body))
    }

    fn build(self, method: Method, body: Bytes) -> Result<Request<Bytes>, ApiError> {
        let mut uri = format!("{}{}", self.client.base_url, self.path);
        for (i, (key, value)) in self.params.iter().enumerate() {
            uri.push(if i == 0 { '?' } else { '&' });
            uri.push_str(&encode(key));
            uri.push('=');
            uri.push_str(&encode(value));
        }
        let reads = method == Method::GET || method == Method::HEAD;
        let accept =
            if self.single { "application/vnd.pgrst.object+json" } else { "application/json" };
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("apikey", &self.client.apikey)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.client.bearer))
            .header(header::ACCEPT, accept);
        if !reads {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        if let Some(schema) = &self.client.schema {
            request =
                request.header(if reads { "accept-profile" } else { "content-profile" }, schema);
        }
        if !self.prefer.is_empty() {
            request = request.header("prefer", self.prefer.join(","));
        }
        request.body(body).map_err(|_| ApiError::internal())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Ascending,
    Descending,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IsValue {
    Null,
    True,
    False,
}

fn encode(text: &str) -> String {
    utf8_percent_encode(text, ESCAPED).to_string()
}

/// Sends `request` through the host's port. A 2xx comes back as is; an error status or an
/// unreachable PostgREST becomes the [`ApiError`] the caller may see, with details logged.
pub async fn send(ctx: &Ctx, request: Request<Bytes>) -> Result<Response<Bytes>, ApiError> {
    let target = format!("{} {}", request.method(), request.uri().path());
    let response = ctx.http.send(request).await.map_err(|error| {
        ctx.log.error(
            "postgrest_unreachable",
            json!({ "target": target, "error": error.to_string() }),
        );
        ApiError::from(error)
    })?;
    if response.status().is_success() {
        return Ok(response);
    }
    let body = String::from_utf8_lossy(response.body());
    let excerpt: String = body.chars().take(500).collect();
    let error = ApiError::from_postgrest(response.status(), response.body());
    let fields = json!({ "target": target, "status": response.status().as_u16(), "body": excerpt });
    if error.status.is_server_error() {
        ctx.log.error("postgrest_error", fields);
    } else {
        ctx.log.info("postgrest_refused", fields);
    }
    Err(error)
}

/// [`send`], then the body as JSON of type `T`.
pub async fn send_json<T: DeserializeOwned>(
    ctx: &Ctx,
    request: Request<Bytes>,
) -> Result<T, ApiError> {
    let response = send(ctx, request).await?;
    serde_json::from_slice(response.body()).map_err(|error| {
        ctx.log.error("postgrest_unexpected_body", json!({ "error": error.to_string() }));
        ApiError::internal()
    })
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use http::StatusCode;
    use serde_json::Value;

    use super::*;
    use crate::auth::jwt::tests::{hs256, user_claims};
    use crate::runtime::HttpError;
    use crate::runtime::tests::{SECRET, ScriptedHttp, config, ctx_with};

    fn caller_client() -> (Postgrest, String) {
        let token = hs256(&user_claims(), SECRET);
        let mut request = Request::new(Bytes::new());
        request
            .headers_mut()
            .insert(header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        let ctx = ctx_with(Rc::new(ScriptedHttp::default()));
        let caller = crate::testing::block_on(crate::auth::authenticate(&request, &ctx)).unwrap();
        (Postgrest::as_caller(&config(), &caller), token)
    }

    fn answer(status: u16, body: &str) -> Result<Response<Bytes>, HttpError> {
        let mut response = Response::new(Bytes::from(body.to_owned()));
        *response.status_mut() = StatusCode::from_u16(status).unwrap();
        Ok(response)
    }

    #[test]
    fn a_read_goes_out_as_the_caller_with_filters_order_and_paging() {
        let (client, token) = caller_client();
        let request = client
            .from("activities")
            .select("id,kind,occurred_on")
            .eq("user_id", "8f4e2a43-3c6f-4f8e-9a43-7d2f5c3b1e10")
            .gte("occurred_on", "2026-01-01")
            .is("deleted_at", IsValue::Null)
            .order("occurred_on", Direction::Descending)
            .order("id", Direction::Ascending)
            .limit(50)
            .offset(100)
            .get()
            .unwrap();
        assert_eq!(request.method(), Method::GET);
        assert_eq!(
            request.uri().to_string(),
            "http://127.0.0.1:54321/rest/v1/activities?select=id%2Ckind%2Coccurred_on\
             &user_id=eq.8f4e2a43-3c6f-4f8e-9a43-7d2f5c3b1e10&occurred_on=gte.2026-01-01\
             &deleted_at=is.null&order=occurred_on.desc%2Cid.asc&limit=50&offset=100"
        );
        let headers = request.headers();
        assert_eq!(headers["apikey"], "anon-key");
        assert_eq!(headers[header::AUTHORIZATION], format!("Bearer {token}"));
        assert_eq!(headers[header::ACCEPT], "application/json");
        assert!(headers.get(header::CONTENT_TYPE).is_none() && headers.get("prefer").is_none());
    }

    #[test]
    fn values_are_escaped_and_in_lists_quoted() {
        let (client, _) = caller_client();
        let request = client
            .from("my table")
            .in_list("name", ["a,b", "say \"hi\"", "c"])
            .neq("note", "x&y=z")
            .filter("n", "lt", 5)
            .gt("m", 1)
            .lte("k", 2)
            .get()
            .unwrap();
        let query = request.uri().query().unwrap();
        assert!(request.uri().path().ends_with("/my%20table"));
        assert!(
            query.starts_with("name=in.%28%22a%2Cb%22%2C%22say%20%5C%22hi%5C%22%22%2C%22c%22%29"),
            "{query}"
        );
        assert!(query.contains("&note=neq.x%26y%3Dz&n=lt.5&m=gt.1&k=lte.2"), "{query}");
    }

    #[test]
    fn writes_send_json_and_ask_for_the_rows_back() {
        let (client, _) = caller_client();
        let row = json!({"kind": "call"});
        let insert = client.from("activities").insert(&row).unwrap();
        assert_eq!(
            (insert.method(), insert.headers()["prefer"].to_str().unwrap()),
            (&Method::POST, "return=representation")
        );
        assert_eq!(insert.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(serde_json::from_slice::<Value>(insert.body()).unwrap(), row);

        let upsert = client
            .from("goals")
            .upsert(std::slice::from_ref(&row), "user_id,period_kind,period_start")
            .unwrap();
        assert_eq!(upsert.uri().query(), Some("on_conflict=user_id%2Cperiod_kind%2Cperiod_start"));
        assert_eq!(upsert.headers()["prefer"], "resolution=merge-duplicates,return=representation");

        let update = client.from("goals").eq("id", 7).update(&row).unwrap();
        assert_eq!((update.method(), update.uri().query()), (&Method::PATCH, Some("id=eq.7")));

        let delete = client.from("goals").eq("id", 7).prefer("count=exact").delete().unwrap();
        assert_eq!(delete.method(), Method::DELETE);
        assert_eq!(delete.headers()["prefer"], "count=exact,return=representation");
    }

    #[test]
    fn single_rows_rpc_and_other_schemas_set_their_headers() {
        let (client, _) = caller_client();
        let single = client.from("profiles").eq("id", 1).single().get().unwrap();
        assert_eq!(single.headers()[header::ACCEPT], "application/vnd.pgrst.object+json");

        let rpc = client.rpc("goal_progress", &json!({"goal_id": 3})).unwrap();
        assert_eq!(rpc.uri().path(), "/rest/v1/rpc/goal_progress");
        assert_eq!(
            (rpc.method(), rpc.body().as_ref()),
            (&Method::POST, br#"{"goal_id":3}"#.as_ref())
        );

        let other = client.clone().schema("reporting");
        assert_eq!(other.from("t").get().unwrap().headers()["accept-profile"], "reporting");
        assert_eq!(other.rpc("f", &json!({})).unwrap().headers()["content-profile"], "reporting");
    }

    #[test]
    fn sending_returns_success_and_maps_failures() {
        let (client, _) = caller_client();
        let http = ScriptedHttp::answering([
            answer(200, r#"[{"id":1}]"#),
            answer(403, r#"{"code":"42501","message":"permission denied for table goals"}"#),
            Err(HttpError::Unreachable("connection refused".into())),
            answer(200, "not json"),
            answer(503, "down"),
        ]);
        let ctx = ctx_with(http.clone());
        let run = |request| crate::testing::block_on(send_json::<Value>(&ctx, request));
        assert_eq!(run(client.from("goals").get().unwrap()), Ok(json!([{"id": 1}])));
        assert_eq!(
            run(client.from("goals").get().unwrap()).unwrap_err().status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(run(client.from("goals").get().unwrap()).unwrap_err().retry_after, Some(5));
        assert_eq!(
            run(client.from("goals").get().unwrap()).unwrap_err().status,
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            run(client.from("goals").get().unwrap()).unwrap_err().status,
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(http.sent.borrow().len(), 5);
    }
}
