//! Small pieces every handler uses at its boundary: reading a JSON body into a typed value,
//! answering JSON, checking the method, and the request id header.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::ApiError;

/// The largest request body any function reads; hosts refuse larger ones before reading them.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The header carrying a request's id, in and out.
pub const REQUEST_ID: &str = "x-request-id";

/// The caller's request id when it is one we can log and echo safely: 1 to 128 visible ASCII
/// characters.
pub fn incoming_request_id(headers: &HeaderMap) -> Option<String> {
    let id = headers.get(REQUEST_ID)?.to_str().ok()?;
    let sensible = !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic());
    sensible.then(|| id.to_owned())
}

/// The longest `Idempotency-Key` a client may send (Stripe's limit is 255).
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 200;

/// The caller's `Idempotency-Key` header, naming one attempt of a write that a retry must not
/// repeat: 1 to 200 visible ASCII characters (else a 400 `invalid_idempotency_key`), or none.
pub fn idempotency_key(request: &Request<Bytes>) -> Result<Option<String>, ApiError> {
    let Some(value) = request.headers().get("idempotency-key") else { return Ok(None) };
    let key = value.to_str().unwrap_or("");
    let sensible = !key.is_empty()
        && key.len() <= MAX_IDEMPOTENCY_KEY_LEN
        && key.bytes().all(|b| b.is_ascii_graphic());
    if !sensible {
        return Err(ApiError::bad_request(
            "invalid_idempotency_key",
            format!(
                "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters"
            ),
        ));
    }
    Ok(Some(key.to_owned()))
}

/// Refuses any method but `allowed` with a 405.
pub fn require_method(request: &Request<Bytes>, allowed: Method) -> Result<(), ApiError> {
    if request.method() == allowed {
        Ok(())
    } else {
        Err(ApiError::method_not_allowed(allowed.as_str()))
    }
}

/// Parses the body as JSON into `T`. Broken JSON is a 400 `invalid_json`; JSON of the wrong
/// shape (missing field, wrong type, unknown field) is a 422 naming the field's path.
pub fn read_json<T: DeserializeOwned>(request: &Request<Bytes>) -> Result<T, ApiError> {
    if let Some(content_type) = request.headers().get(header::CONTENT_TYPE) {
        let is_json = content_type
            .to_str()
            .map(|v| {
                v.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            ));
        }
    }
    if request.body().len() > MAX_BODY_BYTES {
        return Err(ApiError::payload_too_large(MAX_BODY_BYTES));
    }
    // Syntax first, so a truncated body is "not JSON" rather than a type error halfway in.
    let value: serde_json::Value = serde_json::from_slice(request.body())
        .map_err(|e| invalid_json(&without_position(&e.to_string())))?;
    from_json(value, "")
}

/// Turns part of a body, found at path `at` (empty for the whole body), into `T`; a value of
/// the wrong shape is a 422 naming the field's full path, e.g. `[2].occurred_on`.
pub fn from_json<T: DeserializeOwned>(value: serde_json::Value, at: &str) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let inner = error.path().to_string();
        let message = without_position(&error.into_inner().to_string());
        let path = match (at.is_empty(), inner == ".") {
            (true, true) => "body".to_owned(),
            (true, false) => inner,
            (false, true) => at.to_owned(),
            (false, false) => format!("{at}.{inner}"),
        };
        ApiError::validation(&path, message)
    })
}

/// For an `Option<Option<T>>` field with `#[serde(default, deserialize_with = "present")]`,
/// which tells a field left out (`None`: keep the value) from `null` (`Some(None)`: clear it).
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

fn invalid_json(message: &str) -> ApiError {
    ApiError::bad_request("invalid_json", format!("the body is not valid JSON: {message}"))
}

/// serde_json appends " at line L column C"; callers need the field, not the column.
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// A JSON response with `status`.
pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response<Bytes> {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut response = Response::new(Bytes::from(bytes));
            *response.status_mut() = status;
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        Err(_) => ApiError::internal().into_response(),
    }
}

/// A 200 JSON response about one user that no shared cache may keep (`Cache-Control: no-store`).
pub fn private_json_response(body: &impl Serialize) -> Response<Bytes> {
    let mut response = json_response(StatusCode::OK, body);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[test]
    fn an_idempotency_key_must_be_sensible() {
        let with = |key: &str| {
            Request::builder().header("idempotency-key", key).body(Bytes::new()).unwrap()
        };
        assert_eq!(idempotency_key(&with("abc-1")).unwrap().as_deref(), Some("abc-1"));
        assert!(idempotency_key(&with(&"x".repeat(200))).is_ok());
        let error = idempotency_key(&with(&"x".repeat(201))).unwrap_err();
        assert_eq!((error.status.as_u16(), error.code), (400, "invalid_idempotency_key"));
        assert!(idempotency_key(&with("two words")).is_err());
        assert_eq!(idempotency_key(&Request::new(Bytes::new())).unwrap(), None);
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Body {
        amount: u64,
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Item {
        rate: f64,
    }

    fn request(body: &str) -> Request<Bytes> {
        Request::builder()
            .method(Method::POST)
            .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
            .body(Bytes::from(body.to_owned()))
            .unwrap()
    }

    fn error_of(body: &str) -> (u16, &'static str, String) {
        let error = read_json::<Body>(&request(body)).unwrap_err();
        (error.status.as_u16(), error.code, error.message)
    }

    #[test]
    fn a_well_formed_body_becomes_the_typed_value() {
        let body: Body = read_json(&request(r#"{"amount": 5, "items": [{"rate": 0.5}]}"#)).unwrap();
        assert_eq!(body, Body { amount: 5, items: vec![Item { rate: 0.5 }] });
    }

    #[test]
    fn broken_json_is_a_400() {
        for body in ["{", "", "not json", "[1, 2", r#"{"amount": 5, "items": []} trailing"#] {
            let (status, code, _) = error_of(body);
            assert_eq!((status, code), (400, "invalid_json"), "{body:?}");
        }
    }

    #[test]
    fn json_of_the_wrong_shape_is_a_422_naming_the_field() {
        let check = |body: &str, expected: &str| {
            let (status, code, message) = error_of(body);
            assert_eq!((status, code), (422, "validation_failed"), "{body}");
            assert!(message.starts_with(expected), "{message:?} should start with {expected:?}");
            assert!(!message.contains("line 1"), "{message}");
        };
        check(r#"{"items": []}"#, "body: missing field `amount`");
        check(r#"{"amount": "5", "items": []}"#, "amount: invalid type: string");
        check(
            r#"{"amount": 1, "items": [{"rate": 1}, {"rate": "x"}]}"#,
            "items[1].rate: invalid type",
        );
        check(r#"{"amount": 1, "items": [], "extra": 1}"#, "extra: unknown field `extra`");
        check(r#""text""#, "body: invalid type: string");
    }

    #[test]
    fn a_field_left_out_differs_from_a_null_one() {
        #[derive(Debug, Deserialize, PartialEq)]
        struct Patch {
            #[serde(default, deserialize_with = "present")]
            note: Option<Option<String>>,
        }
        let read = |body: &str| read_json::<Patch>(&request(body)).unwrap().note;
        assert_eq!(read("{}"), None);
        assert_eq!(read(r#"{"note": null}"#), Some(None));
        assert_eq!(read(r#"{"note": "hi"}"#), Some(Some("hi".into())));
    }

    #[test]
    fn part_of_a_body_is_read_with_its_path_in_errors() {
        let item = |value: serde_json::Value| from_json::<Item>(value, "[2]");
        assert_eq!(item(json!({"rate": 0.5})).unwrap(), Item { rate: 0.5 });
        let message = item(json!({"rate": "x"})).unwrap_err().message;
        assert!(message.starts_with("[2].rate: invalid type"), "{message}");
        let message = item(json!(7)).unwrap_err().message;
        assert!(message.starts_with("[2]: invalid type"), "{message}");
    }

    #[test]
    fn a_body_that_is_not_json_by_content_type_is_a_415() {
        let mut request = request("{}");
        request.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert_eq!(read_json::<Body>(&request).unwrap_err().status, 415);
    }

    #[test]
    fn an_oversized_body_is_a_413() {
        let big =
            format!(r#"{{"amount": 1, "items": [], "pad": "{}"}}"#, "x".repeat(MAX_BODY_BYTES));
        assert_eq!(error_of(&big).0, 413);
    }

    #[test]
    fn only_the_allowed_method_passes() {
        assert!(require_method(&request("{}"), Method::POST).is_ok());
        let error = require_method(&request("{}"), Method::GET).unwrap_err();
        assert_eq!((error.status.as_u16(), error.message.as_str()), (405, "use GET"));
    }

    #[test]
    fn a_request_id_is_taken_only_when_it_is_sensible() {
        let check = |value: &str, expected: Option<&str>| {
            let mut headers = HeaderMap::new();
            headers.insert(REQUEST_ID, HeaderValue::from_str(value).unwrap());
            assert_eq!(incoming_request_id(&headers).as_deref(), expected, "{value:?}");
        };
        check("abc-123", Some("abc-123"));
        check("", None);
        check("has space", None);
        check(&"x".repeat(129), None);
        assert_eq!(incoming_request_id(&HeaderMap::new()), None);
    }

    #[test]
    fn a_json_response_carries_its_status_and_content_type() {
        let response = json_response(StatusCode::CREATED, &json!({"ok": true}));
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(response.body().as_ref(), br#"{"ok":true}"#);
    }
}
