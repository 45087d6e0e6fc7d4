//! The HTTP side: `/{table}` and `/rpc/{function}`, from request to response.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde_json::{Map, Value, json};

use crate::db::{self, Outcome, RequestSettings};
use crate::error::ApiError;
use crate::plan::{Planner, Shape};
use crate::request::{MediaType, Params, Prefer, Return, parse_params, range_header};
use crate::schema::{Function, Returns, Schema, Table};
use crate::{AppState, MAX_BODY_BYTES};

const TABLE_METHODS: &str = "OPTIONS,GET,HEAD,POST,PATCH,DELETE";

pub async fn table(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    serve_table(&state, &name, request).await.unwrap_or_else(IntoResponse::into_response)
}

pub async fn rpc(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    serve_rpc(&state, &name, request).await.unwrap_or_else(IntoResponse::into_response)
}

/// Answers `/rest/v1/` itself: PostgREST serves its OpenAPI document there, which this engine
/// does not produce.
pub async fn root() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "PGRST125", "Invalid path specified in request URL")
        .into_response()
}

/// The schema a request addresses: `Accept-Profile` for reads, `Content-Profile` for writes,
/// else the first exposed schema.
fn request_schema(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
) -> Result<String, ApiError> {
    let header = if matches!(*method, Method::GET | Method::HEAD) {
        "accept-profile"
    } else {
        "content-profile"
    };
    let Some(value) = headers.get(header) else {
        return Ok(state.config.schemas.first().cloned().unwrap_or_else(|| "public".to_owned()));
    };
    let wanted = value.to_str().unwrap_or_default().trim();
    if state.config.schemas.iter().any(|s| s == wanted) {
        Ok(wanted.to_owned())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "PGRST106",
            format!("The schema must be one of the following: {}", state.config.schemas.join(", ")),
        ))
    }
}

async fn read_body(body: Body) -> Result<bytes::Bytes, ApiError> {
    to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PGRST413",
            format!("The request body is larger than {MAX_BODY_BYTES} bytes"),
        )
    })
}

/// The request's settings for the transaction, as PostgREST sets them.
fn settings(
    schema: &Schema,
    role: &str,
    claims: Value,
    method: &Method,
    path: String,
    headers: &HeaderMap,
) -> RequestSettings {
    let mut header_object = Map::new();
    for (name, value) in headers {
        if let Ok(value) = value.to_str() {
            header_object.insert(name.as_str().to_owned(), Value::String(value.to_owned()));
        }
    }
    let mut cookies = Map::new();
    for cookie in headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()) {
        for pair in cookie.split(';') {
            if let Some((name, value)) = pair.trim().split_once('=') {
                cookies.insert(name.to_owned(), Value::String(value.to_owned()));
            }
        }
    }
    RequestSettings {
        role: role.to_owned(),
        claims,
        method: method.as_str().to_owned(),
        path,
        headers: Value::Object(header_object),
        cookies: Value::Object(cookies),
        role_settings: schema.role_settings.get(role).cloned().unwrap_or_default(),
        pre_request: schema.pre_request.clone(),
    }
}

async fn serve_table(state: &AppState, name: &str, request: Request) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let method = parts.method.clone();
    if method == Method::OPTIONS {
        return Ok(([(header::ALLOW, TABLE_METHODS)], StatusCode::OK).into_response());
    }
    let schema_name = request_schema(state, &method, &parts.headers)?;
    let cache = state.schema();
    let table = cache.table(&schema_name, name).cloned().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "PGRST205",
            format!("Could not find the table '{schema_name}.{name}' in the schema cache"),
        )
    })?;
    let identity = state.verifier.identify(&parts.headers)?;
    let authenticated = identity.role != state.config.anon_role;
    let media = MediaType::from_headers(&parts.headers)?;
    let params = parse_params(parts.uri.query().unwrap_or_default(), |_| false)?;
    let prefer = Prefer::from_headers(&parts.headers);
    let range = range_header(&parts.headers)?;
    let settings = settings(
        &cache,
        &identity.role,
        identity.claims,
        &method,
        format!("/{name}"),
        &parts.headers,
    );
    let mut planner = Planner::new(&cache, &params, state.config.max_rows);
    let returns = prefer.return_.unwrap_or_default();
    let write_shape =
        if returns == Return::Representation { Shape::Media(media) } else { Shape::None };
    let singular = media == MediaType::Object;
    let check_single = |outcome: &Outcome| -> Result<(), ApiError> {
        if singular && outcome.page_total != 1 {
            return Err(not_one_row(outcome.page_total));
        }
        Ok(())
    };
    let (statement, status) = match method {
        Method::GET | Method::HEAD => {
            (planner.read(&table, Shape::Media(media), prefer.count, range)?, StatusCode::OK)
        }
        Method::POST => {
            let body = read_body(body).await?;
            let (text, columns) = insert_columns(&table, &params, &body)?;
            let location = returns == Return::HeadersOnly;
            let sql = planner.insert(
                &table,
                &columns,
                &text,
                prefer.resolution,
                write_shape,
                location,
            )?;
            (sql, StatusCode::CREATED)
        }
        Method::PATCH => {
            let body = read_body(body).await?;
            let (text, columns) = update_columns(&table, &params, &body)?;
            let status = if returns == Return::Representation {
                StatusCode::OK
            } else {
                StatusCode::NO_CONTENT
            };
            (planner.update(&table, &columns, &text, write_shape)?, status)
        }
        Method::DELETE => {
            let status = if returns == Return::Representation {
                StatusCode::OK
            } else {
                StatusCode::NO_CONTENT
            };
            (planner.delete(&table, write_shape)?, status)
        }
        _ => return Err(unsupported_method(&method)),
    };
    let read_only = matches!(method, Method::GET | Method::HEAD);
    let outcome =
        db::run(&state.pool, read_only, &settings, &statement, authenticated, check_single).await?;
    let mut response = if read_only {
        read_response(&outcome, &params, range, media)?
    } else {
        let mut response = body_response(status, &outcome, write_shape, media);
        let written = u64::try_from(outcome.page_total).unwrap_or(0);
        let range = if written == 0 || method == Method::POST {
            "*/*".to_owned()
        } else {
            format!("0-{}/*", written - 1)
        };
        insert_header(&mut response, header::CONTENT_RANGE, &range);
        if method == Method::POST
            && returns == Return::HeadersOnly
            && let Some(location) = location(&table, outcome.location.as_deref())
        {
            insert_header(&mut response, header::LOCATION, &location);
        }
        response
    };
    if !prefer.applied.is_empty() {
        insert_header(&mut response, "preference-applied", &prefer.applied.join(", "));
    }
    if method == Method::HEAD {
        *response.body_mut() = Body::empty();
    }
    apply_response_settings(&mut response, &outcome)?;
    Ok(response)
}

fn unsupported_method(method: &Method) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "PGRST117",
        format!("Unsupported HTTP method: {method}"),
    )
}

fn not_one_row(rows: i64) -> ApiError {
    ApiError::new(
        StatusCode::NOT_ACCEPTABLE,
        "PGRST116",
        "JSON object requested, multiple (or no) rows returned",
    )
    .details(format!("The result contains {rows} rows"))
}

fn insert_header(response: &mut Response, name: impl header::IntoHeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

fn body_response(
    status: StatusCode,
    outcome: &Outcome,
    shape: Shape,
    media: MediaType,
) -> Response {
    if shape == Shape::None {
        return status.into_response();
    }
    let body = outcome.body.clone().unwrap_or_default();
    (status, [(header::CONTENT_TYPE, media.content_type())], body).into_response()
}

/// 200, or 206 when a count shows the page is part of the result; Content-Range either way;
/// 416 for an offset past the end.
fn read_response(
    outcome: &Outcome,
    params: &Params,
    range: Option<(u64, Option<u64>)>,
    media: MediaType,
) -> Result<Response, ApiError> {
    let page = params.page_at(&[]);
    let first = page.offset.unwrap_or(0).max(range.map_or(0, |r| r.0));
    let rows = u64::try_from(outcome.page_total).unwrap_or(0);
    let total = outcome.total.and_then(|t| u64::try_from(t).ok());
    let total_text = total.map_or("*".to_owned(), |t| t.to_string());
    if let Some(total) = total
        && rows == 0
        && first > 0
        && first >= total
    {
        return Err(ApiError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "PGRST103",
            "Requested range not satisfiable",
        )
        .details(format!("An offset of {first} was requested, but there are only {total} rows.")));
    }
    let content_range = if rows == 0 {
        format!("*/{total_text}")
    } else {
        format!("{first}-{}/{total_text}", first.saturating_add(rows - 1))
    };
    let partial = total.is_some_and(|total| first > 0 || first.saturating_add(rows) < total);
    let status = if partial { StatusCode::PARTIAL_CONTENT } else { StatusCode::OK };
    let mut response = body_response(status, outcome, Shape::Media(media), media);
    insert_header(&mut response, header::CONTENT_RANGE, &content_range);
    Ok(response)
}

/// `/table?pk=eq.value` for the one row a POST created.
fn location(table: &Table, keys: Option<&str>) -> Option<String> {
    let rows: Vec<Map<String, Value>> = serde_json::from_str(keys?).ok()?;
    let [row] = rows.as_slice() else { return None };
    let filters: Vec<String> = table
        .primary_key
        .iter()
        .map(|column| {
            let value = match row.get(column) {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            let encoded: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
            format!("{column}=eq.{encoded}")
        })
        .collect();
    Some(format!("/{}?{}", table.name, filters.join("&")))
}

/// `response.status` and `response.headers` a function set during the request.
fn apply_response_settings(response: &mut Response, outcome: &Outcome) -> Result<(), ApiError> {
    let invalid = |code: &str, message: &str| {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, code, message.to_owned())
    };
    if let Some(status) = &outcome.response_status {
        let status =
            status.parse::<u16>().ok().and_then(|s| StatusCode::from_u16(s).ok()).ok_or_else(
                || invalid("PGRST112", "response.status GUC must be a valid status code"),
            )?;
        *response.status_mut() = status;
    }
    if let Some(headers) = &outcome.response_headers {
        let list: Vec<Map<String, Value>> = serde_json::from_str(headers).map_err(|_| {
            invalid("PGRST111", "response.headers GUC must be a JSON array composed of objects")
        })?;
        for (name, value) in list.iter().flatten() {
            let name = header::HeaderName::from_bytes(name.as_bytes()).ok();
            let value = value.as_str().and_then(|v| HeaderValue::from_str(v).ok());
            if let (Some(name), Some(value)) = (name, value) {
                response.headers_mut().insert(name, value);
            }
        }
    }
    Ok(())
}

fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|error| ApiError::body("Empty or invalid json").details(error.to_string()))
}

fn unknown_column(table: &Table, column: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "PGRST204",
        format!("Could not find the '{column}' column of '{}' in the schema cache", table.name),
    )
}

fn check_columns(table: &Table, columns: &[String]) -> Result<(), ApiError> {
    match columns.iter().find(|c| table.column(c).is_none()) {
        Some(column) => Err(unknown_column(table, column)),
        None => Ok(()),
    }
}

/// The POST body as JSON text and the columns to insert: `columns=`, else the keys of the
/// objects, which must all have the same keys.
fn insert_columns(
    table: &Table,
    params: &Params,
    body: &[u8],
) -> Result<(String, Vec<String>), ApiError> {
    let value = parse_json(body)?;
    let objects: Vec<&Map<String, Value>> = match &value {
        Value::Object(object) => vec![object],
        Value::Array(items) => items
            .iter()
            .map(|item| {
                item.as_object().ok_or_else(|| ApiError::body("All object keys must match"))
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(ApiError::body("Empty or invalid json")),
    };
    let columns = match &params.columns {
        Some(columns) => columns.clone(),
        None => {
            let keys = |o: &Map<String, Value>| {
                let mut keys: Vec<String> = o.keys().cloned().collect();
                keys.sort();
                keys
            };
            let first = objects.first().map(|o| keys(o)).unwrap_or_default();
            if objects.iter().any(|o| keys(o) != first) {
                return Err(ApiError::body("All object keys must match"));
            }
            first
        }
    };
    check_columns(table, &columns)?;
    Ok((value.to_string(), columns))
}

/// The PATCH body (one object) and the columns it sets.
fn update_columns(
    table: &Table,
    params: &Params,
    body: &[u8],
) -> Result<(String, Vec<String>), ApiError> {
    let value = parse_json(body)?;
    let Value::Object(object) = &value else {
        return Err(ApiError::body("Empty or invalid json"));
    };
    let columns = params.columns.clone().unwrap_or_else(|| object.keys().cloned().collect());
    check_columns(table, &columns)?;
    Ok((value.to_string(), columns))
}

async fn serve_rpc(state: &AppState, name: &str, request: Request) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let method = parts.method.clone();
    if method == Method::OPTIONS {
        return Ok(([(header::ALLOW, "OPTIONS,GET,HEAD,POST")], StatusCode::OK).into_response());
    }
    if !matches!(method, Method::GET | Method::HEAD | Method::POST) {
        return Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "PGRST101",
            "Only GET, HEAD and POST are allowed on functions",
        ));
    }
    let schema_name = request_schema(state, &method, &parts.headers)?;
    let cache = state.schema();
    let overloads = cache.functions(&schema_name, name);
    let is_argument =
        |key: &str| overloads.iter().any(|f| f.arguments.iter().any(|a| a.name == key));
    let query = parts.uri.query().unwrap_or_default();
    let params = if method == Method::POST {
        parse_params(query, |_| false)?
    } else {
        parse_params(query, is_argument)?
    };
    let identity = state.verifier.identify(&parts.headers)?;
    let authenticated = identity.role != state.config.anon_role;
    let media = MediaType::from_headers(&parts.headers)?;
    let prefer = Prefer::from_headers(&parts.headers);
    let range = range_header(&parts.headers)?;
    let (arguments, raw_body) = if method == Method::POST {
        let body = read_body(body).await?;
        if body.iter().all(u8::is_ascii_whitespace) {
            (json!({}), None)
        } else {
            let value = parse_json(&body)?;
            (value, Some(String::from_utf8_lossy(&body).into_owned()))
        }
    } else {
        let object: Map<String, Value> =
            params.arguments.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
        (Value::Object(object), None)
    };
    let (function, whole_body) =
        choose_function(&schema_name, name, overloads, &arguments, raw_body.as_deref())?;
    let shape = match (function.returns, function.returns_set) {
        (Returns::Void, _) => Shape::None,
        (Returns::Scalar, false) => Shape::Scalar,
        (Returns::Scalar, true) => Shape::ScalarSet,
        (Returns::Row, false) => Shape::Media(MediaType::Object),
        (Returns::Row, true) => Shape::Media(media),
    };
    let settings = settings(
        &cache,
        &identity.role,
        identity.claims,
        &method,
        format!("/rpc/{name}"),
        &parts.headers,
    );
    let mut planner = Planner::new(&cache, &params, state.config.max_rows);
    let statement =
        planner.call(function, &arguments, whole_body.as_deref(), shape, prefer.count, range)?;
    let singular = media == MediaType::Object && function.returns_set;
    let check = |outcome: &Outcome| {
        if singular && outcome.page_total != 1 {
            return Err(not_one_row(outcome.page_total));
        }
        Ok(())
    };
    let read_only = method != Method::POST || function.read_only;
    let outcome =
        db::run(&state.pool, read_only, &settings, &statement, authenticated, check).await?;
    let mut response = match shape {
        Shape::None => StatusCode::NO_CONTENT.into_response(),
        Shape::Media(_) if function.returns_set => read_response(&outcome, &params, range, media)?,
        _ => {
            let content_type = if singular { media } else { MediaType::Json };
            body_response(StatusCode::OK, &outcome, Shape::Media(content_type), content_type)
        }
    };
    if method == Method::HEAD {
        *response.body_mut() = Body::empty();
    }
    apply_response_settings(&mut response, &outcome)?;
    Ok(response)
}

/// The overload the arguments name (PGRST202 when none, PGRST203 when several), and the whole
/// body when the function takes one unnamed json or jsonb parameter.
fn choose_function<'a>(
    schema: &str,
    name: &str,
    overloads: &'a [Function],
    arguments: &Value,
    raw_body: Option<&str>,
) -> Result<(&'a Function, Option<String>), ApiError> {
    let given: Vec<&str> = match arguments {
        Value::Object(object) => object.keys().map(String::as_str).collect(),
        _ => Vec::new(),
    };
    let single_json = |f: &Function| {
        f.arguments.len() == 1
            && f.arguments[0].name.is_empty()
            && matches!(f.arguments[0].type_name.as_str(), "json" | "jsonb")
    };
    let fits = |f: &&Function| {
        if raw_body.is_some() && single_json(f) {
            return true;
        }
        arguments.is_object()
            && given.iter().all(|g| f.arguments.iter().any(|a| a.name == *g))
            && f.arguments.iter().all(|a| a.has_default || given.contains(&a.name.as_str()))
    };
    let matching: Vec<&Function> = overloads.iter().filter(fits).collect();
    match matching.as_slice() {
        [one] => {
            let whole = single_json(one).then(|| raw_body.unwrap_or("{}").to_owned());
            Ok((one, whole))
        }
        [] => {
            let mut names = given.clone();
            names.sort_unstable();
            Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "PGRST202",
                format!(
                    "Could not find the function {schema}.{name}({}) in the schema cache",
                    names.join(", ")
                ),
            )
            .details(format!(
                "Searched for the function {schema}.{name} with parameters {} or with a single \
                 unnamed json/jsonb parameter, but no matches were found in the schema cache.",
                names.join(", ")
            ))
            .hint(
                "If a new function was created in the database with this name and parameters, \
                 try reloading the schema cache.",
            ))
        }
        _ => Err(ApiError::new(
            StatusCode::MULTIPLE_CHOICES,
            "PGRST203",
            format!(
                "Could not choose the best candidate function between: {}",
                matching
                    .iter()
                    .map(|f| {
                        let args: Vec<String> = f
                            .arguments
                            .iter()
                            .map(|a| format!("{} => {}", a.name, a.type_name))
                            .collect();
                        format!("{schema}.{name}({})", args.join(", "))
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .hint(
            "Try renaming the parameters or the function itself in the database so function \
             overloading can be resolved",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Argument, Column};

    fn table() -> Table {
        Table {
            schema: "public".into(),
            name: "items".into(),
            columns: ["id", "name", "owner"]
                .iter()
                .map(|c| Column { name: c.to_string(), type_name: "text".into() })
                .collect(),
            primary_key: vec!["id".into()],
            unique_keys: vec![],
        }
    }

    fn no_params() -> Params {
        parse_params("", |_| false).unwrap()
    }

    #[test]
    fn insert_columns_come_from_the_keys_which_must_match() {
        let (_, columns) =
            insert_columns(&table(), &no_params(), br#"[{"id":1,"name":"a"},{"name":"b","id":2}]"#)
                .unwrap();
        assert_eq!(columns, vec!["id", "name"]);
        let error =
            insert_columns(&table(), &no_params(), br#"[{"id":1},{"name":"b"}]"#).unwrap_err();
        assert_eq!(
            (error.code.as_str(), error.message.as_str()),
            ("PGRST102", "All object keys must match")
        );
    }

    #[test]
    fn an_unknown_body_column_is_pgrst204_and_bad_json_pgrst102() {
        let error = insert_columns(&table(), &no_params(), br#"{"nope":1}"#).unwrap_err();
        assert_eq!((error.code.as_str(), error.status.as_u16()), ("PGRST204", 400));
        assert_eq!(
            error.message,
            "Could not find the 'nope' column of 'items' in the schema cache"
        );
        let error = insert_columns(&table(), &no_params(), b"{not json").unwrap_err();
        assert_eq!((error.code.as_str(), error.status.as_u16()), ("PGRST102", 400));
        assert_eq!(update_columns(&table(), &no_params(), b"[1]").unwrap_err().code, "PGRST102");
    }

    #[test]
    fn the_columns_parameter_overrides_the_keys() {
        let params = parse_params("columns=id", |_| false).unwrap();
        let (_, columns) = insert_columns(&table(), &params, br#"{"id":1,"extra":2}"#).unwrap();
        assert_eq!(columns, vec!["id"]);
    }

    #[test]
    fn location_names_the_primary_key_of_the_one_created_row() {
        assert_eq!(
            location(&table(), Some(r#"[{"id":"a b"}]"#)).as_deref(),
            Some("/items?id=eq.a+b")
        );
        assert_eq!(location(&table(), Some(r#"[{"id":1},{"id":2}]"#)), None);
    }

    fn function(args: &[(&str, &str, bool)]) -> Function {
        Function {
            schema: "public".into(),
            name: "f".into(),
            arguments: args
                .iter()
                .map(|(n, t, d)| Argument {
                    name: n.to_string(),
                    type_name: t.to_string(),
                    has_default: *d,
                })
                .collect(),
            returns: Returns::Scalar,
            returns_set: false,
            read_only: true,
            return_table: None,
        }
    }

    #[test]
    fn a_function_is_chosen_by_its_argument_names() {
        let overloads = [
            function(&[("a", "int4", false)]),
            function(&[("b", "text", false), ("c", "text", true)]),
        ];
        let (chosen, whole) =
            choose_function("public", "f", &overloads, &json!({"b": "x"}), None).unwrap();
        assert_eq!(chosen.arguments[0].name, "b");
        assert_eq!(whole, None);
        let error = choose_function("public", "f", &overloads, &json!({"z": 1}), None).unwrap_err();
        assert_eq!((error.code.as_str(), error.status.as_u16()), ("PGRST202", 404));
        assert_eq!(error.message, "Could not find the function public.f(z) in the schema cache");
    }

    #[test]
    fn a_single_unnamed_json_parameter_takes_the_whole_body() {
        let overloads = [function(&[("", "jsonb", false)])];
        let (_, whole) =
            choose_function("public", "f", &overloads, &json!([1]), Some("[1]")).unwrap();
        assert_eq!(whole.as_deref(), Some("[1]"));
    }

    #[test]
    fn overloads_with_the_same_names_are_pgrst203() {
        let overloads = [function(&[("a", "int4", false)]), function(&[("a", "text", false)])];
        let error = choose_function("public", "f", &overloads, &json!({"a": 1}), None).unwrap_err();
        assert_eq!((error.code.as_str(), error.status.as_u16()), ("PGRST203", 300));
    }
}
