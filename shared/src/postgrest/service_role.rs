//! The service-role PostgREST client: requests that bypass RLS. The one place the service-role
//! key is used. Only for Stripe/Mailgun webhooks (no user is calling), cron jobs, sign-in
//! throttling (no user yet), and platform admin actions that write the audit log in the same request. Every use is logged with its
//! purpose; anything a user asks for goes through [`Postgrest::as_caller`] instead.

use serde_json::json;

use super::Postgrest;
use crate::error::ApiError;
use crate::runtime::Ctx;

/// Why a function needs to bypass RLS; logged with every client made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A provider's webhook, named (e.g. "stripe").
    Webhook(&'static str),
    /// A scheduled job, named as in `functions::CRON_JOBS`.
    Cron(&'static str),
    /// A platform admin's action, named; the function writes the audit log row itself.
    AuditedAdminAction(&'static str),
    /// Sign-in throttling: checking and recording attempts before any user is signed in.
    LoginThrottle,
}

/// A client acting as the service role. Fails with a 500 (details logged) when the host has no
/// `SUPABASE_SERVICE_ROLE_KEY`.
pub fn client(ctx: &Ctx, purpose: Purpose) -> Result<Postgrest, ApiError> {
    let Some(key) = ctx.config.service_role_key.as_deref() else {
        ctx.log.error("service_role_unconfigured", json!({ "purpose": format!("{purpose:?}") }));
        return Err(ApiError::internal());
    };
    ctx.log.info("service_role", json!({ "purpose": format!("{purpose:?}") }));
    let mut client = Postgrest::with_bearer(&ctx.config, key);
    client.apikey = key.to_owned();
    Ok(client)
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::sync::Arc;

    use super::*;
    use crate::runtime::tests::{ScriptedHttp, config, ctx_with};

    #[test]
    fn the_service_client_sends_the_service_key_and_logs_why() {
        let lines = Rc::new(RefCell::new(Vec::<String>::new()));
        let sink = lines.clone();
        let ctx = ctx_with(Rc::new(ScriptedHttp::default()))
            .with_log_sink(Rc::new(move |l: &str| sink.borrow_mut().push(l.to_owned())));
        let request = client(&ctx, Purpose::Webhook("stripe")).unwrap().from("t").get().unwrap();
        assert_eq!(request.headers()["apikey"], "service-key");
        assert_eq!(request.headers()["authorization"], "Bearer service-key");
        assert!(
            lines.borrow()[0].contains(r#""purpose":"Webhook(\"stripe\")""#),
            "{:?}",
            lines.borrow()
        );
    }

    #[test]
    fn without_the_key_it_is_an_internal_error() {
        let mut unconfigured = config();
        unconfigured.service_role_key = None;
        let mut ctx = ctx_with(Rc::new(ScriptedHttp::default()));
        ctx.config = Arc::new(unconfigured);
        assert_eq!(client(&ctx, Purpose::Cron("nightly")).unwrap_err(), ApiError::internal());
    }
}
