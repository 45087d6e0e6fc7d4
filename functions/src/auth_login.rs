//! `auth-login` (POST `{email, password}`): signs a browser in. Asks Postgres whether the
//! account or address is locked out (429 `too_many_attempts` with `Retry-After`), tries
//! Supabase Auth's password grant, tells Postgres the outcome, then checks the plan
//! (`session_context`) and hands the session over as cookies with the context as the body
//! (see `shared::session`). Every failed grant answers the same 401 `invalid_credentials`,
//! whether or not the e-mail belongs to anyone.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;
use shared::error::ApiError;
use shared::http::{read_json, require_method};
use shared::postgrest::service_role::{self, Purpose};
use shared::postgrest::{self, Postgrest};
use shared::runtime::Ctx;
use shared::session::gotrue::{self, GrantError};
use shared::session::{self, client_ip::client_ip, csrf};

/// Longest e-mail address Postgres' throttle accepts (RFC 5321's path limit).
const MAX_EMAIL_CHARS: usize = 320;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    email: String,
    password: String,
}

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    require_method(&request, Method::POST)?;
    csrf::refuse_foreign_origin(request.headers(), &ctx.config)?;
    let body: Body = read_json(&request)?;
    let email = body.email.trim();
    if email.is_empty() || email.chars().count() > MAX_EMAIL_CHARS {
        return Err(ApiError::validation("email", "must be 1 to 320 characters"));
    }
    if body.password.is_empty() {
        return Err(ApiError::validation("password", "must not be empty"));
    }
    let address = client_ip(request.headers(), &ctx.config.session);
    let throttle =
        Throttle { client: service_role::client(ctx, Purpose::LoginThrottle)?, email, address };

    let wait = throttle.call(ctx, "login_throttle_check", None).await?;
    if wait > 0 {
        return Err(too_many_attempts(wait));
    }
    match gotrue::password_grant(ctx, email, &body.password).await {
        Ok(session) => {
            throttle.call(ctx, "login_throttle_record", Some(true)).await?;
            session::open(ctx, session).await
        }
        Err(GrantError::Refused(_)) => {
            throttle.call(ctx, "login_throttle_record", Some(false)).await?;
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "the e-mail address or the password is wrong",
            ))
        }
        // Not the caller's failure: nothing is counted.
        Err(GrantError::Failed(error)) => Err(error),
    }
}

/// The attempt's throttle counters in Postgres, through the service role (no user yet).
struct Throttle<'a> {
    client: Postgrest,
    email: &'a str,
    address: Option<String>,
}

impl Throttle<'_> {
    /// Runs `login_throttle_check` or, with an outcome, `login_throttle_record`; both answer
    /// the seconds to wait.
    async fn call(
        &self,
        ctx: &Ctx,
        function: &str,
        succeeded: Option<bool>,
    ) -> Result<i64, ApiError> {
        let mut args = json!({ "p_email": self.email, "p_ip": self.address });
        if let Some(succeeded) = succeeded {
            args["p_succeeded"] = json!(succeeded);
        }
        postgrest::send_json(ctx, self.client.rpc(function, &args)?).await
    }
}

fn too_many_attempts(seconds: i64) -> ApiError {
    ApiError {
        retry_after: Some(u32::try_from(seconds).unwrap_or(u32::MAX)),
        ..ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "too many failed sign-ins; wait before trying again",
        )
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http::{Method, Request, header};

    use crate::tests::call;

    fn login(body: &str, origin: Option<&str>) -> Request<Bytes> {
        let mut builder = Request::builder()
            .method(Method::POST)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(origin) = origin {
            builder = builder.header(header::ORIGIN, origin);
        }
        builder.body(Bytes::from(body.to_owned())).unwrap()
    }

    #[test]
    fn only_post_is_allowed() {
        let (status, _, _) = call("auth-login", Request::new(Bytes::new()));
        assert_eq!(status, 405);
    }

    #[test]
    fn a_foreign_page_cannot_sign_a_browser_in() {
        let (status, body, _) = call(
            "auth-login",
            login(r#"{"email":"a@b.test","password":"x"}"#, Some("https://evil.example")),
        );
        assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (403, Some("csrf_failed")));
    }

    #[test]
    fn malformed_credentials_are_refused_before_any_call() {
        for (body, status, code) in [
            (r#"{"email":"a@b.test"}"#, 422, "validation_failed"),
            (r#"{"email":" ","password":"x"}"#, 422, "validation_failed"),
            (r#"{"email":"a@b.test","password":""}"#, 422, "validation_failed"),
            (r#"{"email":"a@b.test","password":"x","admin":true}"#, 422, "validation_failed"),
            ("{", 400, "invalid_json"),
        ] {
            let (actual, answer, _) = call("auth-login", login(body, Some("https://app.example")));
            assert_eq!(
                (actual.as_u16(), answer["error"]["code"].as_str()),
                (status, Some(code)),
                "{body}"
            );
        }
        let long = format!(r#"{{"email":"{}@b.test","password":"x"}}"#, "a".repeat(320));
        assert_eq!(call("auth-login", login(&long, None)).0, 422);
    }
}
