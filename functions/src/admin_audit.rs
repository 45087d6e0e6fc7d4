//! `admin-audit` (GET): the audit log, newest entry first, narrowed by filters and paged with a
//! keyset cursor. Platform admins read every entry, enterprise admins their organization's: the
//! read goes to PostgREST with the caller's own token and RLS decides; `may_read_audit_log()`
//! first turns "nothing you may read" into a 403, and impersonation sessions are refused.
//! `admin-audit-export` streams the same selection as CSV with the filters read here.

use bytes::Bytes;
use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use http::{Method, Request, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shared::auth::{self, Caller};
use shared::error::ApiError;
use shared::http::{private_json_response, require_method};
use shared::postgrest::{Direction, Postgrest, Query, send_json};
use shared::query::QueryParams;
use shared::runtime::Ctx;
use uuid::Uuid;

use crate::admin_flags::Scope;

/// Entries per page unless `limit` says otherwise, and the most it may say.
const DEFAULT_LIMIT: u64 = 50;
const MAX_LIMIT: u64 = 500;

/// The columns read, in the order the CSV export writes them.
pub(crate) const COLUMNS: [&str; 12] = [
    "id",
    "at",
    "actor_id",
    "impersonator_id",
    "actor_role",
    "action",
    "scope",
    "org_id",
    "target_type",
    "target_id",
    "before",
    "after",
];

/// One audit entry as PostgREST answers it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub(crate) struct Entry {
    pub id: i64,
    /// As PostgREST writes a timestamptz (ISO 8601 with offset).
    pub at: String,
    pub actor_id: Option<Uuid>,
    pub impersonator_id: Option<Uuid>,
    pub actor_role: String,
    pub action: String,
    pub scope: String,
    pub org_id: Option<Uuid>,
    pub target_type: String,
    pub target_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Which entries: every filter given must hold.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Filter {
    actor: Option<Uuid>,
    impersonator: Option<Uuid>,
    action: Option<String>,
    scope: Option<Scope>,
    org: Option<Uuid>,
    target_type: Option<String>,
    target_id: Option<String>,
    /// Entries at or after this instant.
    from: Option<DateTime<Utc>>,
    /// Entries before this instant.
    to: Option<DateTime<Utc>>,
}

impl Filter {
    /// Reads the filter parameters; each bad one is a 422 naming it.
    pub fn read(query: &mut QueryParams) -> Result<Self, ApiError> {
        let uuid = "a UUID";
        let filter = Self {
            actor: query.parse("actor", uuid)?,
            impersonator: query.parse("impersonator", uuid)?,
            action: query.text("action")?.map(|action| checked_action(&action)).transpose()?,
            scope: query.choice("scope", "global, org or user")?,
            org: query.parse("org", uuid)?,
            target_type: query
                .text("target_type")?
                .map(|t| bounded("target_type", t))
                .transpose()?,
            target_id: query.text("target_id")?.map(|t| bounded("target_id", t)).transpose()?,
            from: instant(query, "from")?,
            to: instant(query, "to")?,
        };
        if filter.target_id.is_some() && filter.target_type.is_none() {
            return Err(ApiError::validation("target_id", "needs target_type"));
        }
        if let (Some(from), Some(to)) = (filter.from, filter.to)
            && to <= from
        {
            return Err(ApiError::validation("to", "must be after from"));
        }
        Ok(filter)
    }

    /// `query` narrowed to the filter, newest first, after the cursor `before_id` if any.
    pub fn select(&self, query: Query, before_id: Option<i64>, rows: u64) -> Query {
        let mut query = query.select(&COLUMNS.join(","));
        let text = |value: &Uuid| value.to_string();
        let pairs = [
            ("actor_id", self.actor.as_ref().map(text)),
            ("impersonator_id", self.impersonator.as_ref().map(text)),
            ("action", self.action.clone()),
            ("scope", self.scope.map(|scope| json!(scope).as_str().unwrap_or_default().to_owned())),
            ("org_id", self.org.as_ref().map(text)),
            ("target_type", self.target_type.clone()),
            ("target_id", self.target_id.clone()),
        ];
        for (column, value) in pairs {
            if let Some(value) = value {
                query = query.eq(column, value);
            }
        }
        if let Some(from) = self.from {
            query = query.gte("at", from.to_rfc3339_opts(SecondsFormat::AutoSi, true));
        }
        if let Some(to) = self.to {
            query = query.lt("at", to.to_rfc3339_opts(SecondsFormat::AutoSi, true));
        }
        if let Some(id) = before_id {
            query = query.lt("id", id);
        }
        query.order("id", Direction::Descending).limit(rows)
    }
}

fn checked_action(action: &str) -> Result<String, ApiError> {
    let valid = action.len() >= 2
        && action.len() <= 100
        && action.starts_with(|c: char| c.is_ascii_lowercase())
        && action
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.".contains(&b));
    if valid {
        Ok(action.to_owned())
    } else {
        Err(ApiError::validation("action", "must be a dotted snake_case action such as flag.set"))
    }
}

fn bounded(name: &str, text: String) -> Result<String, ApiError> {
    if text.is_empty() || text.chars().count() > 200 {
        return Err(ApiError::validation(name, "must be 1 to 200 characters"));
    }
    Ok(text)
}

fn instant(query: &mut QueryParams, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    let expected = "an RFC 3339 instant such as 2026-11-24T09:00:00Z";
    query
        .text(name)?
        .map(|text| {
            DateTime::<FixedOffset>::parse_from_rfc3339(&text)
                .map(|at| at.with_timezone(&Utc))
                .map_err(|_| ApiError::validation(name, format!("must be {expected}")))
        })
        .transpose()
}

/// The caller's client for reading the log, once the database says they may read some of it
/// (of the filter's organization, when one is given). Impersonation sessions never may.
pub(crate) async fn authorize(
    ctx: &Ctx,
    caller: &Caller,
    filter: &Filter,
) -> Result<Postgrest, ApiError> {
    let refusal = "only platform and enterprise admins, in their own session, read the audit log";
    if caller.impersonator.is_some() {
        return Err(ApiError::forbidden(refusal));
    }
    let client = Postgrest::as_caller(&ctx.config, caller);
    let arguments = json!({ "organization": filter.org });
    let allowed: bool = send_json(ctx, client.rpc("may_read_audit_log", &arguments)?).await?;
    if allowed { Ok(client) } else { Err(ApiError::forbidden(refusal)) }
}

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    require_method(&request, Method::GET)?;
    let caller = auth::authenticate(&request, ctx).await?;
    let mut query = QueryParams::of(&request)?;
    let filter = Filter::read(&mut query)?;
    let limit_range = "a whole number from 1 to 500";
    let limit = query.parse::<u64>("limit", limit_range)?.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::validation("limit", format!("must be {limit_range}")));
    }
    let cursor = query.parse::<i64>("cursor", "the next_cursor of the page before")?;
    query.finish()?;
    let client = authorize(ctx, &caller, &filter).await?;
    // One more than asked tells whether a next page exists without counting.
    let mut entries: Vec<Entry> =
        send_json(ctx, filter.select(client.from("audit_log"), cursor, limit + 1).get()?).await?;
    let more = entries.len() as u64 > limit;
    entries.truncate(limit as usize);
    let next_cursor = if more { entries.last().map(|entry| entry.id.to_string()) } else { None };
    Ok(private_json_response(&json!({ "entries": entries, "next_cursor": next_cursor })))
}

#[cfg(test)]
mod tests {
    use http::Request;

    use super::*;
    use crate::tests::{assert_names, call_as_user};

    fn filter(query: &str) -> Result<Filter, ApiError> {
        let request = Request::builder().uri(format!("/f?{query}")).body(Bytes::new()).unwrap();
        let mut params = QueryParams::of(&request)?;
        let filter = Filter::read(&mut params)?;
        params.finish()?;
        Ok(filter)
    }

    fn url_of(filter: &Filter, before: Option<i64>) -> String {
        let ctx = crate::tests::ctx();
        let client = Postgrest::as_caller(&ctx.config, &crate::tests::caller());
        filter.select(client.from("audit_log"), before, 100).get().unwrap().uri().to_string()
    }

    #[test]
    fn every_filter_becomes_an_equality_or_a_range_on_its_column() {
        let actor = "3b0b5c1e-8a7d-4c55-9a0e-5a1f2d3c4b5a";
        let read = filter(&format!(
            "actor={actor}&action=flag.set&scope=org&target_type=feature_flag&target_id=a%2Cb\
             &from=2026-11-01T00:00:00%2B01:00&to=2026-11-24T12:30:00Z"
        ))
        .unwrap();
        let url = url_of(&read, Some(900));
        for part in [
            &format!("actor_id=eq.{actor}"),
            "action=eq.flag.set",
            "scope=eq.org",
            "target_type=eq.feature_flag",
            "target_id=eq.a%2Cb",
            "at=gte.2026-10-31T23%3A00%3A00Z",
            "at=lt.2026-11-24T12%3A30%3A00Z",
            "id=lt.900",
            "order=id.desc&limit=100",
        ] {
            assert!(url.contains(part), "{url} lacks {part}");
        }
        assert!(!url.contains("org_id=") && !url.contains("impersonator_id="), "{url}");
        assert!(!url_of(&filter("").unwrap(), None).contains("id=lt."));
    }

    #[test]
    fn bad_filters_are_422s_naming_the_parameter() {
        let names = |query: &str, name: &str| {
            let error = filter(query).unwrap_err();
            assert_eq!(error.status, 422, "{query}");
            assert!(error.message.starts_with(&format!("{name}: ")), "{query}: {}", error.message);
        };
        names("actor=me", "actor");
        names("org=7", "org");
        names("scope=team", "scope");
        names("action=Flag.Set", "action");
        names("action=x", "action");
        names("action=flag%3Bdrop", "action");
        names("from=yesterday", "from");
        names("from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", "to");
        names("target_id=7", "target_id");
        names("target_type=", "target_type");
        names("colour=red", "colour");
        names(
            "org=3b0b5c1e-8a7d-4c55-9a0e-5a1f2d3c4b5a&org=3b0b5c1e-8a7d-4c55-9a0e-5a1f2d3c4b5a",
            "org",
        );
    }

    #[test]
    fn paging_parameters_are_checked_before_any_database_call() {
        let get = |query: &str| call_as_user("admin-audit", "GET", query, &Value::Null);
        assert_names(&get("?limit=0"), "limit");
        assert_names(&get("?limit=501"), "limit");
        assert_names(&get("?cursor=next"), "cursor");
        assert_names(&get("?scope=team"), "scope");
        assert_eq!(call_as_user("admin-audit", "POST", "", &Value::Null).0, 405);
    }
}
