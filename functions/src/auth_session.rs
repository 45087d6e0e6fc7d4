//! `auth-session` (GET): the current session's context, the same body `auth-login` answers,
//! evaluated again now: an org suspended since sign-in gets its 403 here. Cookie or bearer.

use bytes::Bytes;
use http::{Method, Request, Response};
use shared::auth;
use shared::error::ApiError;
use shared::http::require_method;
use shared::runtime::Ctx;
use shared::session::context;

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    require_method(&request, Method::GET)?;
    let caller = auth::authenticate(&request, ctx).await?;
    let context = context::fetch(ctx, &caller).await?;
    match context.refusal() {
        Some(refusal) => Err(refusal),
        None => Ok(context.into_response()),
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http::{Method, Request};

    use crate::tests::call;

    #[test]
    fn the_session_is_read_with_get_and_needs_one() {
        let post = Request::builder().method(Method::POST).body(Bytes::new()).unwrap();
        assert_eq!(call("auth-session", post).0, 405);
        let (status, body, _) = call("auth-session", Request::new(Bytes::new()));
        assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (401, Some("missing_token")));
    }
}
