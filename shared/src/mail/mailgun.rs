//! The outbound Mailgun client, over the host's [`HttpClient`] port: `POST
//! {api}/v3/{domain}/messages`, form-encoded, basic auth `api:<key>`, and Mailgun's answers read
//! into a [`MailgunError`] that says what went wrong and whether trying again can help.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use serde::Deserialize;

use crate::billing::form::Form;
use crate::error::ApiError;
use crate::runtime::{Ctx, HttpClient, HttpError};

/// Mailgun's US endpoint; EU domains use `https://api.eu.mailgun.net`.
pub const DEFAULT_API_URL: &str = "https://api.mailgun.net";

/// One e-mail to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    /// The `Message-Id` header, stable for one batch so that a resend is the same e-mail.
    pub message_id: String,
    /// Our outbox id, sent as the user variable `salespulse_batch_id`: Mailgun's webhook events
    /// carry it back.
    pub batch_id: String,
    /// Mailgun's tag (`o:tag`), for its statistics.
    pub tag: &'static str,
}

/// Why Mailgun did not take an e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailgunError {
    /// No answer: connection refused, timeout.
    Unreachable(HttpError),
    /// 401/403: the API key was refused (wrong key, or a key of another region).
    Unauthorized,
    /// 404: Mailgun does not know the sending domain (or it is in the other region).
    UnknownDomain(String),
    /// 400/413: the request itself is wrong (a bad address, a missing field); resending it
    /// unchanged gets the same answer.
    Rejected { status: StatusCode, message: String },
    /// 429: over the account's sending rate.
    RateLimited,
    /// 5xx or any other answer: Mailgun's trouble.
    Failed { status: StatusCode, message: String },
}

impl std::fmt::Display for MailgunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unreachable(error) => write!(f, "mailgun: {error}"),
            Self::Unauthorized => f.write_str("mailgun refused the API key (401)"),
            Self::UnknownDomain(domain) => {
                write!(f, "mailgun does not know the domain {domain} (404)")
            }
            Self::Rejected { status, message } => {
                write!(f, "mailgun rejected the e-mail ({}): {message}", status.as_u16())
            }
            Self::RateLimited => f.write_str("mailgun is rate-limiting us (429)"),
            Self::Failed { status, message } => {
                write!(f, "mailgun failed ({}): {message}", status.as_u16())
            }
        }
    }
}

impl std::error::Error for MailgunError {}

impl MailgunError {
    /// True when sending the same e-mail again cannot succeed. A refused key or an unknown
    /// domain is our configuration: once fixed, the retries go through.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Rejected { .. })
    }
}

/// A client for one Mailgun sending domain.
pub struct Mailgun<'a> {
    http: &'a dyn HttpClient,
    api_url: String,
    domain: String,
    api_key: String,
    from: String,
}

impl<'a> Mailgun<'a> {
    pub fn new(
        http: &'a dyn HttpClient,
        api_url: &str,
        domain: &str,
        api_key: &str,
        from: &str,
    ) -> Self {
        Self {
            http,
            api_url: api_url.trim_end_matches('/').to_owned(),
            domain: domain.to_owned(),
            api_key: api_key.to_owned(),
            from: from.to_owned(),
        }
    }

    /// The client the host is configured for; without a key, domain or sender, e-mail is off:
    /// [`super::unavailable`].
    pub fn from_ctx(ctx: &'a Ctx) -> Result<Self, ApiError> {
        let settings = &ctx.config.mail;
        let key = ctx.config.providers.mailgun_api_key.as_deref();
        let (Some(key), Some(domain), Some(from)) =
            (key, settings.domain.as_deref(), settings.from.as_deref())
        else {
            let missing: Vec<&str> = [
                (key.is_none(), "MAILGUN_API_KEY"),
                (settings.domain.is_none(), "MAILGUN_DOMAIN"),
                (settings.from.is_none(), "MAILGUN_FROM"),
            ]
            .into_iter()
            .filter_map(|(absent, name)| absent.then_some(name))
            .collect();
            return Err(super::unavailable(ctx, &missing));
        };
        Ok(Self::new(ctx.http.as_ref(), &settings.api_url, domain, key, from))
    }

    /// The sending domain, which also names our `Message-Id`s.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The request that sends `email`.
    pub fn request(&self, email: &Email) -> Result<Request<Bytes>, MailgunError> {
        let form = Form::new()
            .field("from", &self.from)
            .field("to", &email.to)
            .field("subject", &email.subject)
            .field("text", &email.text)
            .field("h:Message-Id", &email.message_id)
            .field("v:salespulse_batch_id", &email.batch_id)
            .field("o:tag", email.tag);
        let credentials = BASE64.encode(format!("api:{}", self.api_key));
        Request::builder()
            .method(Method::POST)
            .uri(format!("{}/v3/{}/messages", self.api_url, self.domain))
            .header(header::AUTHORIZATION, format!("Basic {credentials}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .body(Bytes::from(form.encode()))
            .map_err(|e| MailgunError::Unreachable(HttpError::InvalidRequest(e.to_string())))
    }

    /// Sends `email`; answers the id Mailgun gave it (None when a 2xx carried no readable id:
    /// the e-mail was taken all the same).
    pub async fn send(&self, email: &Email) -> Result<Option<String>, MailgunError> {
        let response =
            self.http.send(self.request(email)?).await.map_err(MailgunError::Unreachable)?;
        read_answer(response.status(), response.body(), &self.domain)
    }
}

/// Mailgun's answer to a send: `{"id": "<…>", "message": "Queued. Thank you."}` on 200, else a
/// `{"message": …}` body (or plain text, such as 401's `Forbidden`) read into a [`MailgunError`].
pub fn read_answer(
    status: StatusCode,
    body: &[u8],
    domain: &str,
) -> Result<Option<String>, MailgunError> {
    #[derive(Deserialize)]
    struct Answer {
        id: Option<String>,
        message: Option<String>,
    }
    let answer = serde_json::from_slice::<Answer>(body).ok();
    if status.is_success() {
        return Ok(answer.and_then(|a| a.id));
    }
    let message = answer
        .and_then(|a| a.message)
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(300).collect());
    Err(match status.as_u16() {
        401 | 403 => MailgunError::Unauthorized,
        404 => MailgunError::UnknownDomain(domain.to_owned()),
        400 | 413 => MailgunError::Rejected { status, message },
        429 => MailgunError::RateLimited,
        _ => MailgunError::Failed { status, message },
    })
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;
    use crate::runtime::Config;
    use crate::runtime::tests::{ScriptedHttp, config, ctx_with};
    use crate::testing::block_on;

    fn answer(status: u16, body: &str) -> Result<http::Response<Bytes>, HttpError> {
        Ok(http::Response::builder().status(status).body(Bytes::from(body.to_owned())).unwrap())
    }

    fn email() -> Email {
        Email {
            to: "rep@example.test".into(),
            subject: "Dana wrote to you".into(),
            text: "Hello & welcome".into(),
            message_id: "<batch-1@mg.example.test>".into(),
            batch_id: "b-1".into(),
            tag: "new-messages",
        }
    }

    fn form_fields(body: &[u8]) -> Vec<(String, String)> {
        let text = String::from_utf8(body.to_vec()).unwrap();
        text.split('&')
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap();
                let decode = |s: &str| {
                    percent_encoding::percent_decode_str(&s.replace('+', " "))
                        .decode_utf8()
                        .unwrap()
                        .into_owned()
                };
                (decode(key), decode(value))
            })
            .collect()
    }

    #[test]
    fn an_email_is_a_form_post_to_the_domain_with_basic_auth_and_our_batch_id() {
        let http = ScriptedHttp::answering([answer(
            200,
            r#"{"id": "<20261125.1@mg.example.test>", "message": "Queued. Thank you."}"#,
        )]);
        let mailgun = Mailgun::new(
            http.as_ref(),
            "https://api.eu.mailgun.net/",
            "mg.example.test",
            "key-1",
            "SalesPulse <no-reply@mg.example.test>",
        );
        let id = block_on(mailgun.send(&email())).unwrap();
        assert_eq!(id.as_deref(), Some("<20261125.1@mg.example.test>"));
        let sent = &http.sent.borrow()[0];
        assert_eq!(sent.method(), Method::POST);
        assert_eq!(sent.uri(), "https://api.eu.mailgun.net/v3/mg.example.test/messages");
        assert_eq!(sent.headers()[header::AUTHORIZATION], "Basic YXBpOmtleS0x");
        assert_eq!(sent.headers()[header::CONTENT_TYPE], "application/x-www-form-urlencoded");
        let fields = form_fields(sent.body());
        let expected = [
            ("from", "SalesPulse <no-reply@mg.example.test>"),
            ("to", "rep@example.test"),
            ("subject", "Dana wrote to you"),
            ("text", "Hello & welcome"),
            ("h:Message-Id", "<batch-1@mg.example.test>"),
            ("v:salespulse_batch_id", "b-1"),
            ("o:tag", "new-messages"),
        ];
        let expected: Vec<(String, String)> =
            expected.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(fields, expected);
    }

    #[test]
    fn mailguns_answers_become_errors_that_say_whether_a_retry_can_help() {
        let check = |status: u16, body: &str, expected: MailgunError, permanent: bool| {
            let error =
                read_answer(StatusCode::from_u16(status).unwrap(), body.as_bytes(), "mg.test")
                    .unwrap_err();
            assert_eq!(error, expected);
            assert_eq!(error.is_permanent(), permanent, "{error}");
        };
        check(401, "Forbidden", MailgunError::Unauthorized, false);
        check(
            404,
            r#"{"message": "Domain not found: mg.test"}"#,
            MailgunError::UnknownDomain("mg.test".into()),
            false,
        );
        check(
            400,
            r#"{"message": "to parameter is not a valid address. please check documentation"}"#,
            MailgunError::Rejected {
                status: StatusCode::BAD_REQUEST,
                message: "to parameter is not a valid address. please check documentation".into(),
            },
            true,
        );
        check(429, r#"{"message": "Too many requests"}"#, MailgunError::RateLimited, false);
        check(
            502,
            "<html>bad gateway</html>",
            MailgunError::Failed {
                status: StatusCode::BAD_GATEWAY,
                message: "<html>bad gateway</html>".into(),
            },
            false,
        );
        let unreachable = MailgunError::Unreachable(HttpError::Timeout);
        assert!(!unreachable.is_permanent());
        assert_eq!(unreachable.to_string(), "mailgun: upstream timed out");
        assert!(MailgunError::UnknownDomain("mg.test".into()).to_string().contains("mg.test"));
    }

    #[test]
    fn a_taken_email_without_a_readable_id_is_still_taken() {
        let taken = read_answer(StatusCode::OK, b"Queued", "mg.test").unwrap();
        assert_eq!(taken, None);
    }

    #[test]
    fn without_key_domain_or_sender_mail_is_unavailable() {
        let ctx = ctx_with(Rc::new(ScriptedHttp::default()));
        let error = Mailgun::from_ctx(&ctx).err().unwrap();
        assert_eq!((error.status.as_u16(), error.code), (503, "mail_unavailable"));

        let mut configured: Config = config();
        configured.providers.mailgun_api_key = Some("key-1".into());
        configured.mail.domain = Some("mg.example.test".into());
        configured.mail.from = Some("no-reply@mg.example.test".into());
        let mut ctx = ctx;
        ctx.config = std::sync::Arc::new(configured);
        let mailgun = Mailgun::from_ctx(&ctx).ok().unwrap();
        assert_eq!(mailgun.domain(), "mg.example.test");
    }
}
