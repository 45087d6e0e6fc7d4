//! `admin-audit-export` (GET): the audit entries `admin-audit`'s filters select, as one CSV file
//! of any size, streamed. The function reads [`PAGE_ROWS`] entries at a time from PostgREST
//! (keyset on id, the caller's token each time, so RLS decides every page) and sends each page
//! as a chunk before it reads the next: memory holds one page whatever the export's size.
//!
//! Everything that can fail before the first byte (token, filters, access, the first page)
//! answers a JSON error. A page failing later aborts the stream, so the client sees a broken
//! download rather than a file that merely looks complete.

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat};
use futures_util::{StreamExt, stream};
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use serde_json::{Value, json};
use shared::auth;
use shared::csv::write_record;
use shared::error::ApiError;
use shared::http::require_method;
use shared::postgrest::{Postgrest, send_json};
use shared::query::QueryParams;
use shared::runtime::Ctx;

use crate::admin_audit::{COLUMNS, Entry, Filter, authorize};
use crate::body::{Aborted, Body};

/// Entries per PostgREST request, and so per chunk (about 0.5 MB of CSV).
pub const PAGE_ROWS: u64 = 2000;

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Body>, ApiError> {
    require_method(&request, Method::GET)?;
    let caller = auth::authenticate(&request, ctx).await?;
    let mut query = QueryParams::of(&request)?;
    let filter = Filter::read(&mut query)?;
    query.finish()?;
    let client = authorize(ctx, &caller, &filter).await?;
    let mut pages = Pages { ctx: ctx.clone(), client, filter, before_id: None, done: false };
    let first = pages.next_page().await?;

    let mut head = String::new();
    write_record(&mut head, COLUMNS);
    head.push_str(&first);
    let rest = stream::unfold(pages, |mut pages| async move {
        if pages.done {
            return None;
        }
        match pages.next_page().await {
            Ok(csv) => Some((Ok(Bytes::from(csv)), pages)),
            Err(error) => {
                pages.ctx.log.error("audit_export_aborted", json!({ "code": error.code }));
                pages.done = true;
                Some((Err(Aborted), pages))
            }
        }
    });
    let chunks = stream::once(async move { Ok(Bytes::from(head)) }).chain(rest);

    let mut response = Response::new(Body::Chunks(Box::pin(chunks)));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let disposition = format!("attachment; filename=\"{}\"", file_name(ctx.now));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).map_err(|_| ApiError::internal())?,
    );
    Ok(response)
}

/// The pages of one export, newest first.
struct Pages {
    ctx: Ctx,
    client: Postgrest,
    filter: Filter,
    /// The last id sent: the next page holds older entries.
    before_id: Option<i64>,
    /// The last page came back short: nothing older matches.
    done: bool,
}

impl Pages {
    /// The next page as CSV records (possibly none).
    async fn next_page(&mut self) -> Result<String, ApiError> {
        let query = self.filter.select(self.client.from("audit_log"), self.before_id, PAGE_ROWS);
        let entries: Vec<Entry> = send_json(&self.ctx, query.get()?).await?;
        self.done = (entries.len() as u64) < PAGE_ROWS;
        self.before_id = entries.last().map(|entry| entry.id).or(self.before_id);
        let mut csv = String::with_capacity(entries.len() * 256);
        for entry in &entries {
            write_entry(&mut csv, entry);
        }
        Ok(csv)
    }
}

/// One entry as a CSV record, in [`COLUMNS`] order; before and after as JSON text.
fn write_entry(out: &mut String, entry: &Entry) {
    let uuid = |id: &Option<uuid::Uuid>| id.map(|id| id.to_string()).unwrap_or_default();
    let json = |value: &Option<Value>| value.as_ref().map(Value::to_string).unwrap_or_default();
    let cells = [
        entry.id.to_string(),
        entry.at.clone(),
        uuid(&entry.actor_id),
        uuid(&entry.impersonator_id),
        entry.actor_role.clone(),
        entry.action.clone(),
        entry.scope.clone(),
        uuid(&entry.org_id),
        entry.target_type.clone(),
        entry.target_id.clone().unwrap_or_default(),
        json(&entry.before),
        json(&entry.after),
    ];
    write_record(out, cells.iter().map(String::as_str));
}

/// `audit-log-20261124T093000Z.csv`: when the export was asked for, in UTC.
fn file_name(now: u64) -> String {
    let at = i64::try_from(now).ok().and_then(|now| DateTime::from_timestamp(now, 0));
    // RFC 3339 without its separators: no strftime machinery in the WASM builds.
    let rfc3339 = at.map(|at| at.to_rfc3339_opts(SecondsFormat::Secs, true)).unwrap_or_default();
    let stamp: String = rfc3339.chars().filter(|c| !matches!(c, '-' | ':')).collect();
    format!("audit-log-{stamp}.csv")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::tests::{assert_names, call_as_user};

    #[test]
    fn an_entry_becomes_one_record_in_column_order() {
        let entry: Entry = serde_json::from_value(json!({
            "id": 7, "at": "2026-11-24T09:30:00.123+00:00",
            "actor_id": "3b0b5c1e-8a7d-4c55-9a0e-5a1f2d3c4b5a", "impersonator_id": null,
            "actor_role": "authenticated", "action": "flag.set", "scope": "org",
            "org_id": null, "target_type": "feature_flag", "target_id": "=cmd|' /C calc'!A0",
            "before": null, "after": {"value": -1, "note": "a, \"b\""}
        }))
        .unwrap();
        let mut csv = String::new();
        write_entry(&mut csv, &entry);
        assert_eq!(
            csv,
            "7,2026-11-24T09:30:00.123+00:00,3b0b5c1e-8a7d-4c55-9a0e-5a1f2d3c4b5a,,authenticated,\
             flag.set,org,,feature_flag,'=cmd|' /C calc'!A0,,\
             \"{\"\"note\"\":\"\"a, \\\"\"b\\\"\"\"\",\"\"value\"\":-1}\"\r\n"
        );
    }

    #[test]
    fn the_file_is_named_after_the_moment_of_the_request() {
        assert_eq!(file_name(1_800_000_000), "audit-log-20270115T080000Z.csv");
    }

    #[test]
    fn bad_requests_are_json_errors_before_any_byte_of_csv() {
        let get = |query: &str| call_as_user("admin-audit-export", "GET", query, &Value::Null);
        assert_names(&get("?limit=10"), "limit");
        assert_names(&get("?from=soon"), "from");
        assert_eq!(call_as_user("admin-audit-export", "DELETE", "", &Value::Null).0, 405);
        // No database here: the access check fails as an outage, still as JSON.
        let (status, body) = get("");
        assert_eq!((status, body["error"]["code"].as_str()), (503, Some("upstream_unavailable")));
    }
}
