//! `health`: answers 200 when the function host is up. Touches nothing else, so load balancers
//! and the test scripts can poll it cheaply.

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use serde_json::json;
use shared::error::ApiError;
use shared::http::json_response;
use shared::runtime::Ctx;

pub async fn handle(_request: Request<Bytes>, _ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    Ok(json_response(StatusCode::OK, &json!({ "status": "ok" })))
}

#[cfg(test)]
mod tests {
    use crate::tests::call;

    #[test]
    fn health_answers_ok() {
        let (status, body, _) = call("health", http::Request::new(bytes::Bytes::new()));
        assert_eq!(status, 200);
        assert_eq!(body, serde_json::json!({"status": "ok"}));
    }
}
