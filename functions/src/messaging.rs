//! What the messaging functions (`messages`, `message-thread`, `messages-unread`,
//! `notifications`) share: the `messaging` feature gate, the caller's client, page parameters and
//! the checks of a message's text. The database decides who may read and write what (RLS on
//! `message_threads`, `messages`, `notifications`); these functions parse, gate and shape.

use bytes::Bytes;
use http::Request;
use serde::de::DeserializeOwned;
use shared::auth::{self, Caller};
use shared::error::ApiError;
use shared::features;
use shared::postgrest::{Postgrest, send_json};
use shared::query::QueryParams;
use shared::runtime::Ctx;
use uuid::Uuid;

/// The feature flag that gates messaging (the policies check it on every write too).
pub const FEATURE: &str = "messaging";
/// As the `messages.body` check allows.
pub const MAX_BODY_CHARS: usize = 4000;
/// As the `message_threads.subject` check allows.
pub const MAX_SUBJECT_CHARS: usize = 200;

/// The signed-in caller and their PostgREST client; `writes`: the session must be allowed to
/// write (not a read-only impersonation).
pub async fn caller_client(
    request: &Request<Bytes>,
    ctx: &Ctx,
    writes: bool,
) -> Result<(Caller, Postgrest), ApiError> {
    let caller = auth::authenticate(request, ctx).await?;
    if writes {
        caller.require_write()?;
    }
    let client = Postgrest::as_caller(&ctx.config, &caller);
    Ok((caller, client))
}

/// A read as the caller, sent while the feature is asked for: one round trip of latency instead
/// of two. The answer is dropped when `messaging` is off.
pub async fn gated_read<T: DeserializeOwned>(
    ctx: &Ctx,
    client: &Postgrest,
    read: Request<Bytes>,
) -> Result<T, ApiError> {
    let (allowed, answer) = futures_util::future::join(
        features::require(ctx, client, FEATURE),
        send_json::<T>(ctx, read),
    )
    .await;
    allowed?;
    answer
}

/// A write as the caller, sent once the feature is known to be on.
pub async fn gated_write<T: DeserializeOwned>(
    ctx: &Ctx,
    client: &Postgrest,
    write: Request<Bytes>,
) -> Result<T, ApiError> {
    features::require(ctx, client, FEATURE).await?;
    send_json(ctx, write).await
}

/// The `before` cursor of a keyset page, as the database wrote it in `next_cursor`
/// (`<microseconds>_<uuid>`, see `private.page_cursor`).
pub fn cursor(query: &mut QueryParams) -> Result<Option<String>, ApiError> {
    let Some(text) = query.text("before")? else { return Ok(None) };
    let well_formed = text.split_once('_').is_some_and(|(micros, id)| {
        micros.parse::<i64>().is_ok() && id.len() == 36 && id.parse::<Uuid>().is_ok()
    });
    if well_formed {
        Ok(Some(text))
    } else {
        Err(ApiError::validation("before", "must be a next_cursor this API answered"))
    }
}

/// The `limit` parameter: 1 to `max` rows, `default` when absent.
pub fn limit(query: &mut QueryParams, max: u32, default: u32) -> Result<u32, ApiError> {
    match query.parse::<u32>("limit", &format!("a whole number from 1 to {max}"))? {
        None => Ok(default),
        Some(rows) if (1..=max).contains(&rows) => Ok(rows),
        Some(_) => Err(ApiError::validation("limit", format!("must be from 1 to {max}"))),
    }
}

/// Plain text of 1 to `max` characters (not only white space), without control characters
/// other than line breaks and tabs; `field` names it in the 422.
pub fn check_text(field: &str, text: &str, max: usize, required: bool) -> Result<(), ApiError> {
    let count = text.chars().count();
    if count > max || (required && text.trim().is_empty()) {
        let least = if required { 1 } else { 0 };
        return Err(ApiError::validation(field, format!("must have {least} to {max} characters")));
    }
    if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(ApiError::validation(field, "must be plain text without control characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(text: &str) -> QueryParams {
        let request = Request::builder().uri(format!("/x?{text}")).body(Bytes::new()).unwrap();
        QueryParams::of(&request).unwrap()
    }

    #[test]
    fn a_cursor_is_microseconds_and_a_row_id() {
        let good = "1795000000123456_3b0b5c1e-8a7d-4c55-9a0e-5a1f2d3c4b5a";
        assert_eq!(cursor(&mut query(&format!("before={good}"))).unwrap().as_deref(), Some(good));
        assert_eq!(cursor(&mut query("")).unwrap(), None);
        for bad in [
            "1795",
            "x_3b0b5c1e-8a7d-4c55-9a0e-5a1f2d3c4b5a",
            "1_2",
            "1_3b0b5c1e8a7d4c559a0e5a1f2d3c4b5a",
        ] {
            let error = cursor(&mut query(&format!("before={bad}"))).unwrap_err();
            assert!(error.message.starts_with("before: "), "{bad}: {error}");
        }
    }

    #[test]
    fn a_limit_stays_in_its_range() {
        assert_eq!(limit(&mut query(""), 100, 20).unwrap(), 20);
        assert_eq!(limit(&mut query("limit=100"), 100, 20).unwrap(), 100);
        for bad in ["limit=0", "limit=101", "limit=-1", "limit=x"] {
            assert!(limit(&mut query(bad), 100, 20).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_message_is_plain_text_within_its_size() {
        assert!(check_text("body", "Hello,\n\tthere\r\n", MAX_BODY_CHARS, true).is_ok());
        assert!(check_text("body", &"é".repeat(MAX_BODY_CHARS), MAX_BODY_CHARS, true).is_ok());
        assert!(check_text("body", &"é".repeat(MAX_BODY_CHARS + 1), MAX_BODY_CHARS, true).is_err());
        assert!(check_text("body", " \n ", MAX_BODY_CHARS, true).is_err());
        assert!(check_text("body", "nul\0byte", MAX_BODY_CHARS, true).is_err());
        assert!(check_text("body", "bell\u{7}", MAX_BODY_CHARS, true).is_err());
        assert!(check_text("subject", "", MAX_SUBJECT_CHARS, false).is_ok());
    }
}
