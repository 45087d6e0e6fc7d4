//! `auth-logout` (POST): ends the caller's session at Supabase Auth (its refresh tokens die with
//! it) and deletes both session cookies. 204.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use shared::auth;
use shared::error::ApiError;
use shared::http::require_method;
use shared::runtime::Ctx;
use shared::session::{cookies, gotrue};

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    require_method(&request, Method::POST)?;
    let caller = auth::authenticate(&request, ctx).await?;
    gotrue::logout(ctx, caller.token()).await?;
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    cookies::clear_session(&mut response, &ctx.config.session);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http::{Method, Request};

    use crate::tests::call;

    #[test]
    fn logout_needs_post_and_a_session() {
        assert_eq!(call("auth-logout", Request::new(Bytes::new())).0, 405);
        let post = Request::builder().method(Method::POST).body(Bytes::new()).unwrap();
        let (status, body, _) = call("auth-logout", post);
        assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (401, Some("missing_token")));
    }
}
