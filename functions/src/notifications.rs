//! `notifications`: the in-app toast feed and the caller's notification preferences (needs the
//! `messaging` feature; toasts are raised for new messages only).
//!
//! - GET `[?after=<id>][&limit=1..100]`: toasts after the id `after` (0: from the first),
//!   oldest first, with `next_cursor` to poll from next (`notification_feed`).
//! - POST `{"seen_through": <id>}`: marks the caller's toasts up to that id seen.
//! - GET `?preferences`: the caller's preferences (the defaults while they have set none).
//! - PUT `{in_app_toasts?, email_on_message?, email_batch_minutes?}`: changes those given.

use bytes::Bytes;
use http::{Method, Request, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use shared::auth::Caller;
use shared::error::ApiError;
use shared::http::{private_json_response, read_json};
use shared::postgrest::Postgrest;
use shared::query::QueryParams;
use shared::runtime::Ctx;

use crate::messaging::{self, caller_client};

const MAX_TOASTS_PER_PAGE: u32 = 100;
const DEFAULT_TOASTS_PER_PAGE: u32 = 50;
/// As the `notification_preferences.email_batch_minutes` check allows (a day).
const MAX_BATCH_MINUTES: u16 = 1440;
const PREFERENCE_COLUMNS: &str = "in_app_toasts,email_on_message,email_batch_minutes";

/// A user's notification choices; `Default` is the table's column defaults (no row yet).
#[derive(Debug, Deserialize, Serialize)]
struct Preferences {
    in_app_toasts: bool,
    email_on_message: bool,
    email_batch_minutes: u16,
}

impl Default for Preferences {
    fn default() -> Self {
        Self { in_app_toasts: true, email_on_message: true, email_batch_minutes: 15 }
    }
}

/// The preferences a PUT changes; those left out keep their value.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PreferenceChanges {
    #[serde(default)]
    in_app_toasts: Option<bool>,
    #[serde(default)]
    email_on_message: Option<bool>,
    #[serde(default)]
    email_batch_minutes: Option<u16>,
}

impl PreferenceChanges {
    /// The row to upsert: the caller's id and the changed columns.
    fn row(self, caller: &Caller) -> Result<Map<String, Value>, ApiError> {
        let mut row = Map::new();
        if let Some(on) = self.in_app_toasts {
            row.insert("in_app_toasts".into(), json!(on));
        }
        if let Some(on) = self.email_on_message {
            row.insert("email_on_message".into(), json!(on));
        }
        if let Some(minutes) = self.email_batch_minutes {
            if !(1..=MAX_BATCH_MINUTES).contains(&minutes) {
                return Err(ApiError::validation(
                    "email_batch_minutes",
                    format!("must be from 1 to {MAX_BATCH_MINUTES}"),
                ));
            }
            row.insert("email_batch_minutes".into(), json!(minutes));
        }
        if row.is_empty() {
            return Err(ApiError::validation("body", "change at least one preference"));
        }
        row.insert("user_id".into(), json!(caller.user_id));
        Ok(row)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Seen {
    seen_through: i64,
}

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    let method = request.method().clone();
    if !matches!(method, Method::GET | Method::POST | Method::PUT) {
        return Err(ApiError::method_not_allowed("GET, POST or PUT"));
    }
    let (caller, client) = caller_client(&request, ctx, method != Method::GET).await?;
    let mut query = QueryParams::of(&request)?;
    match method {
        Method::GET if query.has("preferences") => {
            query.text("preferences")?;
            query.finish()?;
            preferences(ctx, &client).await
        }
        Method::GET => {
            let after = query.parse::<i64>("after", "a notification id")?.unwrap_or(0);
            let limit = messaging::limit(&mut query, MAX_TOASTS_PER_PAGE, DEFAULT_TOASTS_PER_PAGE)?;
            query.finish()?;
            let args = json!({ "p_after": after, "p_limit": limit });
            let feed = client.rpc("notification_feed", &args)?;
            let page: Value = messaging::gated_read(ctx, &client, feed).await?;
            Ok(private_json_response(&page))
        }
        Method::POST => {
            query.finish()?;
            let seen: Seen = read_json(&request)?;
            let args = json!({ "p_through": seen.seen_through });
            let mark = client.rpc("mark_notifications_seen", &args)?;
            let marked: u64 = messaging::gated_write(ctx, &client, mark).await?;
            Ok(private_json_response(&json!({ "marked_seen": marked })))
        }
        _ => {
            query.finish()?;
            let changes: PreferenceChanges = read_json(&request)?;
            let row = changes.row(&caller)?;
            let upsert = client
                .from("notification_preferences")
                .select(PREFERENCE_COLUMNS)
                .upsert(&row, "user_id")?;
            let saved: Vec<Preferences> = messaging::gated_write(ctx, &client, upsert).await?;
            let saved = saved.into_iter().next().ok_or_else(ApiError::internal)?;
            Ok(private_json_response(&json!({ "preferences": saved })))
        }
    }
}

async fn preferences(ctx: &Ctx, client: &Postgrest) -> Result<Response<Bytes>, ApiError> {
    let read = client.from("notification_preferences").select(PREFERENCE_COLUMNS).get()?;
    let rows: Vec<Preferences> = messaging::gated_read(ctx, client, read).await?;
    let preferences = rows.into_iter().next().unwrap_or_default();
    Ok(private_json_response(&json!({ "preferences": preferences })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{assert_names, call_as_user};

    #[test]
    fn bad_requests_are_refused_before_any_request() {
        let call = |method, query: &str, body| call_as_user("notifications", method, query, &body);
        assert_names(&call("GET", "?after=x", json!(null)), "after");
        assert_names(&call("GET", "?limit=101", json!(null)), "limit");
        assert_names(&call("GET", "?preferences&limit=1", json!(null)), "limit");
        assert_names(&call("POST", "", json!({})), "body");
        assert_names(&call("POST", "", json!({"seen_through": "x"})), "seen_through");
        assert_names(&call("PUT", "", json!({})), "body");
        assert_names(&call("PUT", "", json!({"email_batch_minutes": 0})), "email_batch_minutes");
        assert_names(&call("PUT", "", json!({"email_batch_minutes": 1441})), "email_batch_minutes");
        assert_names(&call("PUT", "", json!({"sms": true})), "sms");
        assert_eq!(call("DELETE", "", json!(null)).0, 405);
    }
}
