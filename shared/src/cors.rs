//! CORS for the frontend origins in `ALLOWED_ORIGINS`: preflight answers and the headers on every
//! response. Origins match exactly; there is no wildcard, since requests carry credentials.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};

use crate::error::ApiError;
use crate::runtime::Config;

const ALLOW_METHODS: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
/// What supabase-js and our frontend send.
const ALLOW_HEADERS: &str = "authorization, apikey, content-type, x-client-info, x-request-id";
const MAX_AGE_SECS: &str = "86400";
const EXPOSE_HEADERS: &str = "x-request-id, content-disposition";

/// The request's `Origin` when the configuration allows it.
pub fn allowed_origin<'a>(headers: &'a HeaderMap, config: &Config) -> Option<&'a HeaderValue> {
    let origin = headers.get(header::ORIGIN)?;
    let text = origin.to_str().ok()?;
    config.allowed_origins.iter().any(|allowed| allowed == text).then_some(origin)
}

/// The answer to an `OPTIONS` preflight: 204 with the allow headers for an allowed origin, a
/// JSON 403 for any other.
pub fn preflight(headers: &HeaderMap, config: &Config) -> Response<Bytes> {
    if allowed_origin(headers, config).is_none() {
        return ApiError::forbidden("this origin may not call the API").into_response();
    }
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let out = response.headers_mut();
    out.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(ALLOW_METHODS));
    out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOW_HEADERS));
    out.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE_SECS));
    apply(headers, &mut response, config);
    response
}

/// Adds the CORS response headers when the request came from an allowed origin. `Vary: Origin`
/// is always set so caches keep answers for different origins apart.
pub fn apply<B>(request_headers: &HeaderMap, response: &mut Response<B>, config: &Config) {
    let origin = allowed_origin(request_headers, config).cloned();
    let out = response.headers_mut();
    out.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = origin {
        out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        out.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        // Content-Disposition names a download (the audit export) for a frontend that saves it.
        out.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSE_HEADERS));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::tests::config;

    fn from(origin: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        headers
    }

    #[test]
    fn a_preflight_from_an_allowed_origin_gets_the_allow_headers() {
        let response = preflight(&from("https://app.salespulse.example"), &config());
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let headers = response.headers();
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://app.salespulse.example");
        assert!(headers[header::ACCESS_CONTROL_ALLOW_HEADERS].to_str().unwrap().contains("apikey"));
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_METHODS], ALLOW_METHODS);
    }

    #[test]
    fn a_preflight_from_another_origin_is_a_json_403() {
        for headers in [
            from("https://evil.example"),
            from("https://app.salespulse.example.evil"),
            HeaderMap::new(),
        ] {
            let response = preflight(&headers, &config());
            assert_eq!(response.status(), StatusCode::FORBIDDEN);
            assert!(response.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        }
    }

    #[test]
    fn responses_name_only_an_allowed_origin_and_always_vary_on_it() {
        let mut response = Response::new(Bytes::new());
        apply(&from("http://localhost:5173"), &mut response, &config());
        assert_eq!(
            response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "http://localhost:5173"
        );
        assert_eq!(response.headers()[header::VARY], "Origin");

        let mut response = Response::new(Bytes::new());
        apply(&from("http://localhost:9999"), &mut response, &config());
        assert!(response.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        assert_eq!(response.headers()[header::VARY], "Origin");
    }
}
