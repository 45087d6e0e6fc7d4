//! `activities`: what a member did, logged and corrected.
//!
//! - POST: log one activity (an object) or many (an array); a batch is one insert, so it is
//!   written whole or not at all. Back-dating is allowed; a day after today is not.
//! - GET `?from&to[&user_id][&type][&limit][&offset]`: a page of activities in a date range,
//!   newest first; `?id=`: one activity with its annotations and its edit history.
//! - PATCH `?id=`: change fields and optionally annotate the change, in one transaction
//!   (`edit_activity`); the history trigger records who changed what.
//! - DELETE `?id=`.
//!
//! Everything goes through PostgREST as the caller: RLS lets members write only their own
//! activities (a manager reads a managed rep's, and gets 403 trying to edit one).

use bytes::Bytes;
use chrono::{Days, NaiveDate};
use http::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use shared::auth::{self, Caller};
use shared::error::ApiError;
use shared::http::{from_json, json_response, present, read_json};
use shared::postgrest::{Direction, Postgrest, send_json};
use shared::query::QueryParams;
use shared::runtime::Ctx;
use uuid::Uuid;

use crate::rows;

/// Most activities one POST may log.
pub const MAX_BATCH: usize = 1000;
/// Most activities one GET answers.
pub const MAX_PAGE: u64 = 1000;
const DEFAULT_PAGE: u64 = 100;
const MAX_QUANTITY: u32 = 10_000;
const MAX_NOTE_CHARS: usize = 2000;
/// A deal worth more than 100 billion is a typo.
const MAX_VALUE_CENTS: u64 = 10_000_000_000_000;
/// The earliest day the schema accepts.
const EARLIEST: NaiveDate = match NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(date) => date,
    None => panic!("a valid date"),
};

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    let method = request.method().clone();
    if !matches!(method, Method::GET | Method::POST | Method::PATCH | Method::DELETE) {
        return Err(ApiError::method_not_allowed("GET, POST, PATCH or DELETE"));
    }
    let caller = auth::authenticate(&request, ctx).await?;
    let client = Postgrest::as_caller(&ctx.config, &caller);
    if method == Method::GET {
        return read(&request, ctx, &client, &caller).await;
    }
    caller.require_write()?;
    let latest = latest_day(ctx.now);
    match method {
        Method::POST => log(&request, ctx, &client, &caller, latest).await,
        Method::PATCH => edit(&request, ctx, &client, latest).await,
        _ => delete(&request, ctx, &client).await,
    }
}

/// The latest day anyone may be living in at `now`: no time zone is more than 14 hours ahead
/// of UTC, so UTC's tomorrow. Logging on a later day is logging the future.
pub fn latest_day(now: u64) -> NaiveDate {
    let today = i64::try_from(now)
        .ok()
        .and_then(|seconds| chrono::DateTime::from_timestamp(seconds, 0))
        .map(|moment| moment.date_naive())
        .unwrap_or(NaiveDate::MAX);
    today.checked_add_days(Days::new(1)).unwrap_or(today)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityType {
    Call,
    Appointment,
    Deal,
    Referral,
    Custom,
}

/// One activity to log, as sent.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct NewActivity {
    #[serde(rename = "type")]
    kind: ActivityType,
    /// The SIM stage a custom activity counts for; only custom activities have one.
    #[serde(default)]
    stage_key: Option<String>,
    occurred_on: NaiveDate,
    #[serde(default = "one")]
    quantity: u32,
    /// Deal value; only deals have one.
    #[serde(default)]
    value_cents: Option<u64>,
    #[serde(default)]
    note: String,
    #[serde(default)]
    goal_id: Option<Uuid>,
}

fn one() -> u32 {
    1
}

/// The row inserted: the activity, owned by the caller.
#[derive(Serialize)]
struct ActivityRow<'a> {
    user_id: Uuid,
    #[serde(flatten)]
    activity: &'a NewActivity,
}

/// Names a field at `path` (an array item's `[i]`, or nothing for a single object).
fn field(path: &str, name: &str) -> String {
    if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") }
}

impl NewActivity {
    fn check(&self, path: &str, latest: NaiveDate) -> Result<(), ApiError> {
        check_stage(self.kind, self.stage_key.as_deref(), path)?;
        check_day(self.occurred_on, latest, &field(path, "occurred_on"))?;
        check_quantity(self.quantity, &field(path, "quantity"))?;
        if let Some(value) = self.value_cents {
            check_value(self.kind, value, &field(path, "value_cents"))?;
        }
        check_note(&self.note, &field(path, "note"))
    }
}

/// A custom activity names its stage by key; no other kind does.
fn check_stage(kind: ActivityType, stage_key: Option<&str>, path: &str) -> Result<(), ApiError> {
    match (kind, stage_key) {
        (ActivityType::Custom, None) => Err(ApiError::validation(
            &field(path, "stage_key"),
            "is required for a custom activity (the SIM stage it counts for)",
        )),
        (ActivityType::Custom, Some(key)) => check_stage_key(key, &field(path, "stage_key")),
        (_, Some(_)) => Err(ApiError::validation(
            &field(path, "stage_key"),
            "only custom activities name a stage",
        )),
        (_, None) => Ok(()),
    }
}

/// Stage keys as the SIMs spell them: a lower-case letter, then letters, digits or `_`.
fn check_stage_key(key: &str, name: &str) -> Result<(), ApiError> {
    let mut bytes = key.bytes();
    let valid = key.len() <= 63
        && bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(ApiError::validation(name, "must be a stage key such as listing (a-z, 0-9, _)"))
    }
}

fn check_day(day: NaiveDate, latest: NaiveDate, name: &str) -> Result<(), ApiError> {
    if day > latest {
        Err(ApiError::validation(name, "is in the future: log what happened, today or earlier"))
    } else if day < EARLIEST {
        Err(ApiError::validation(name, format!("must be on or after {EARLIEST}")))
    } else {
        Ok(())
    }
}

fn check_quantity(quantity: u32, name: &str) -> Result<(), ApiError> {
    if (1..=MAX_QUANTITY).contains(&quantity) {
        Ok(())
    } else {
        Err(ApiError::validation(name, format!("must be from 1 to {MAX_QUANTITY}")))
    }
}

fn check_value(kind: ActivityType, value: u64, name: &str) -> Result<(), ApiError> {
    if kind != ActivityType::Deal {
        Err(ApiError::validation(name, "only deals have a value"))
    } else if value > MAX_VALUE_CENTS {
        Err(ApiError::validation(name, format!("must be at most {MAX_VALUE_CENTS}")))
    } else {
        Ok(())
    }
}

fn check_note(note: &str, name: &str) -> Result<(), ApiError> {
    if note.chars().count() > MAX_NOTE_CHARS {
        Err(ApiError::validation(name, format!("must be at most {MAX_NOTE_CHARS} characters")))
    } else {
        Ok(())
    }
}

/// The activities a POST body logs: an object, or a non-empty array of at most [`MAX_BATCH`].
fn read_batch(request: &Request<Bytes>, latest: NaiveDate) -> Result<Vec<NewActivity>, ApiError> {
    let body: Value = read_json(request)?;
    let items: Vec<(String, Value)> = match body {
        Value::Array(items) if items.is_empty() => {
            return Err(ApiError::validation("body", "log at least one activity"));
        }
        Value::Array(items) if items.len() > MAX_BATCH => {
            return Err(ApiError::validation(
                "body",
                format!("log at most {MAX_BATCH} activities at once"),
            ));
        }
        Value::Array(items) => {
            items.into_iter().enumerate().map(|(i, item)| (format!("[{i}]"), item)).collect()
        }
        single => vec![(String::new(), single)],
    };
    items
        .into_iter()
        .map(|(path, item)| {
            let activity: NewActivity = from_json(item, &path)?;
            activity.check(&path, latest)?;
            Ok(activity)
        })
        .collect()
}

async fn log(
    request: &Request<Bytes>,
    ctx: &Ctx,
    client: &Postgrest,
    caller: &Caller,
    latest: NaiveDate,
) -> Result<Response<Bytes>, ApiError> {
    let batch = read_batch(request, latest)?;
    let rows: Vec<ActivityRow> =
        batch.iter().map(|activity| ActivityRow { user_id: caller.user_id, activity }).collect();
    let logged: Vec<Value> = send_json(ctx, client.from("activities").insert(&rows)?).await?;
    Ok(json_response(StatusCode::CREATED, &json!({ "activities": logged })))
}

async fn read(
    request: &Request<Bytes>,
    ctx: &Ctx,
    client: &Postgrest,
    caller: &Caller,
) -> Result<Response<Bytes>, ApiError> {
    let mut query = QueryParams::of(request)?;
    if let Some(id) = query.parse::<Uuid>("id", "an activity id (UUID)")? {
        query.finish()?;
        return read_one(ctx, client, id).await;
    }
    let from: NaiveDate = query.require("from", "a date (YYYY-MM-DD)")?;
    let to: NaiveDate = query.require("to", "a date (YYYY-MM-DD)")?;
    if to < from {
        return Err(ApiError::validation("to", "must be on or after from"));
    }
    let user_id = query.parse::<Uuid>("user_id", "a user id (UUID)")?.unwrap_or(caller.user_id);
    let kind: Option<ActivityType> =
        query.choice("type", "call, appointment, deal, referral or custom")?;
    let limit = query.parse::<u64>("limit", "a whole number")?.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::validation("limit", format!("must be from 1 to {MAX_PAGE}")));
    }
    let offset = query.parse::<u64>("offset", "a whole number")?.unwrap_or(0);
    query.finish()?;

    let mut select = client
        .from("activities")
        .eq("user_id", user_id)
        .gte("occurred_on", from)
        .lte("occurred_on", to);
    if let Some(kind) = kind {
        select = select.eq("type", json!(kind).as_str().unwrap_or_default());
    }
    // One row more than the page says whether another page follows, without counting them all.
    let select = select
        .order("occurred_on", Direction::Descending)
        .order("created_at", Direction::Descending)
        .order("id", Direction::Ascending)
        .limit(limit + 1)
        .offset(offset);
    let mut page: Vec<Value> = send_json(ctx, select.get()?).await?;
    let more = page.len() as u64 > limit;
    page.truncate(limit as usize);
    let next_offset = more.then(|| offset.saturating_add(limit));
    Ok(json_response(StatusCode::OK, &json!({ "activities": page, "next_offset": next_offset })))
}

/// One activity, its annotations and its history (oldest change first).
async fn read_one(ctx: &Ctx, client: &Postgrest, id: Uuid) -> Result<Response<Bytes>, ApiError> {
    let activity: Value = send_json(
        ctx,
        client
            .from("activities")
            .select("*,annotations(id,author_id,on_date,body,created_at)")
            .eq("id", id)
            .single()
            .get()?,
    )
    .await?;
    let history: Vec<Value> = send_json(
        ctx,
        client
            .from("activity_history")
            .select("operation,changed_by,impersonator,changed_by_role,changed_at,before,after")
            .eq("activity_id", id)
            .order("id", Direction::Ascending)
            .get()?,
    )
    .await?;
    Ok(json_response(StatusCode::OK, &json!({ "activity": activity, "history": history })))
}

/// A PATCH body: the fields to change (`null` clears `value_cents` or `goal_id`) and an
/// optional annotation explaining the change.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Edit {
    #[serde(rename = "type", default)]
    kind: Option<ActivityType>,
    #[serde(default, deserialize_with = "present")]
    stage_key: Option<Option<String>>,
    #[serde(default)]
    occurred_on: Option<NaiveDate>,
    #[serde(default)]
    quantity: Option<u32>,
    #[serde(default, deserialize_with = "present")]
    value_cents: Option<Option<u64>>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default, deserialize_with = "present")]
    goal_id: Option<Option<Uuid>>,
    #[serde(default)]
    annotation: Option<String>,
}

impl Edit {
    /// The changes as `edit_activity` takes them. Changing the type away from custom clears
    /// the stage, away from deal clears the value.
    fn changes(&self, latest: NaiveDate) -> Result<Map<String, Value>, ApiError> {
        let mut changes = Map::new();
        if let Some(kind) = self.kind {
            changes.insert("type".into(), json!(kind));
            match &self.stage_key {
                Some(key) => check_stage(kind, key.as_deref(), "")?,
                None if kind == ActivityType::Custom => check_stage(kind, None, "")?,
                None => {
                    changes.insert("stage_key".into(), Value::Null);
                }
            }
            if kind != ActivityType::Deal && self.value_cents.is_none() {
                changes.insert("value_cents".into(), Value::Null);
            }
        }
        if let Some(key) = &self.stage_key {
            if let Some(key) = key {
                check_stage_key(key, "stage_key")?;
            }
            changes.insert("stage_key".into(), json!(key));
        }
        if let Some(day) = self.occurred_on {
            check_day(day, latest, "occurred_on")?;
            changes.insert("occurred_on".into(), json!(day));
        }
        if let Some(quantity) = self.quantity {
            check_quantity(quantity, "quantity")?;
            changes.insert("quantity".into(), json!(quantity));
        }
        if let Some(value) = self.value_cents {
            if let Some(value) = value {
                check_value(self.kind.unwrap_or(ActivityType::Deal), value, "value_cents")?;
            }
            changes.insert("value_cents".into(), json!(value));
        }
        if let Some(note) = &self.note {
            check_note(note, "note")?;
            changes.insert("note".into(), json!(note));
        }
        if let Some(goal) = self.goal_id {
            changes.insert("goal_id".into(), json!(goal));
        }
        if let Some(annotation) = &self.annotation {
            let length = annotation.trim().chars().count();
            if length == 0 || annotation.chars().count() > MAX_NOTE_CHARS {
                return Err(ApiError::validation(
                    "annotation",
                    format!("must have 1 to {MAX_NOTE_CHARS} characters"),
                ));
            }
        }
        if changes.is_empty() && self.annotation.is_none() {
            return Err(ApiError::validation("body", "change at least one field or annotate"));
        }
        Ok(changes)
    }
}

async fn edit(
    request: &Request<Bytes>,
    ctx: &Ctx,
    client: &Postgrest,
    latest: NaiveDate,
) -> Result<Response<Bytes>, ApiError> {
    let id = rows::required_id(request, "an activity")?;
    let body: Edit = read_json(request)?;
    let changes = body.changes(latest)?;
    let args = json!({"p_id": id, "p_changes": changes, "p_annotation": body.annotation});
    let edited: Option<Value> = send_json(ctx, client.rpc("edit_activity", &args)?).await?;
    let edited = edited.ok_or_else(no_such_activity)?;
    Ok(json_response(StatusCode::OK, &edited))
}

async fn delete(
    request: &Request<Bytes>,
    ctx: &Ctx,
    client: &Postgrest,
) -> Result<Response<Bytes>, ApiError> {
    let id = rows::required_id(request, "an activity")?;
    let activity =
        rows::delete(ctx, client, "activities", id).await?.ok_or_else(no_such_activity)?;
    Ok(json_response(StatusCode::OK, &json!({ "activity": activity })))
}

fn no_such_activity() -> ApiError {
    ApiError::not_found("no activity of yours has this id")
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::tests::{NOW, assert_names, call_as_user};

    fn request(method: &str, query: &str, body: &Value) -> (u16, Value) {
        call_as_user("activities", method, query, body)
    }

    /// Asserts a 422 naming `field`; bad input never reaches the network.
    fn refused(method: &str, query: &str, body: Value, field: &str) {
        assert_names(&request(method, query, &body), field);
    }

    #[test]
    fn the_latest_day_is_utc_tomorrow() {
        // 1_800_000_000 is 2027-01-15T08:00:00Z.
        assert_eq!(latest_day(NOW), NaiveDate::from_ymd_opt(2027, 1, 16).unwrap());
    }

    #[test]
    fn bad_activities_are_refused_naming_the_field_and_item() {
        let call = json!({"type": "call", "occurred_on": "2026-03-02", "quantity": 12});
        let with = |change: Value| {
            let mut body = call.clone();
            body.as_object_mut().unwrap().extend(change.as_object().unwrap().clone());
            body
        };
        refused("POST", "", json!([]), "body");
        refused("POST", "", json!(vec![call.clone(); MAX_BATCH + 1]), "body");
        refused("POST", "", json!([call, with(json!({"quantity": 0}))]), "[1].quantity");
        refused("POST", "", with(json!({"quantity": 10_001})), "quantity");
        refused("POST", "", with(json!({"type": "meeting"})), "type");
        refused("POST", "", with(json!({"occurred_on": "2027-01-17"})), "occurred_on");
        refused("POST", "", with(json!({"occurred_on": "1999-12-31"})), "occurred_on");
        refused("POST", "", with(json!({"type": "custom"})), "stage_key");
        refused("POST", "", with(json!({"type": "custom", "stage_key": "Listing"})), "stage_key");
        refused("POST", "", with(json!({"stage_key": "listing"})), "stage_key");
        refused("POST", "", with(json!({"value_cents": 100})), "value_cents");
        refused(
            "POST",
            "",
            with(json!({"type": "deal", "value_cents": MAX_VALUE_CENTS + 1})),
            "value_cents",
        );
        refused("POST", "", with(json!({"note": "x".repeat(2001)})), "note");
        refused("POST", "", with(json!({"surprise": 1})), "surprise");
        refused("POST", "", json!([call, 5]), "[1]");
    }

    #[test]
    fn bad_reads_edits_and_deletes_are_refused_naming_the_parameter() {
        refused("GET", "", json!(null), "from");
        refused("GET", "?from=2026-01-01&to=2025-12-31", json!(null), "to");
        refused("GET", "?from=2026-01-01&to=2026-01-31&limit=0", json!(null), "limit");
        refused("GET", "?from=2026-01-01&to=2026-01-31&type=meeting", json!(null), "type");
        refused("GET", "?from=2026-01-01&to=2026-01-31&page=2", json!(null), "page");
        refused("GET", "?id=42", json!(null), "id");
        refused("PATCH", "", json!({"quantity": 2}), "id");
        let id = "?id=3b0b5c1e-8a7d-4c55-9a0e-5a1f2d3c4b5a";
        refused("PATCH", id, json!({}), "body");
        refused("PATCH", id, json!({"quantity": 0}), "quantity");
        refused("PATCH", id, json!({"type": "custom"}), "stage_key");
        refused("PATCH", id, json!({"type": "call", "stage_key": "listing"}), "stage_key");
        refused("PATCH", id, json!({"type": "call", "value_cents": 5}), "value_cents");
        refused("PATCH", id, json!({"occurred_on": "2030-01-01"}), "occurred_on");
        refused("PATCH", id, json!({"annotation": "  "}), "annotation");
        refused("PATCH", id, json!({"owner": "me"}), "owner");
        refused("DELETE", "", json!(null), "id");
    }

    #[test]
    fn an_edit_changing_the_type_clears_what_the_new_type_lacks() {
        let latest = latest_day(NOW);
        let to_call = Edit { kind: Some(ActivityType::Call), ..Edit::default() };
        assert_eq!(
            Value::Object(to_call.changes(latest).unwrap()),
            json!({"type": "call", "stage_key": null, "value_cents": null})
        );
        let to_custom = Edit {
            kind: Some(ActivityType::Custom),
            stage_key: Some(Some("listing".into())),
            ..Edit::default()
        };
        assert_eq!(
            Value::Object(to_custom.changes(latest).unwrap()),
            json!({"type": "custom", "stage_key": "listing", "value_cents": null})
        );
        let clear_value = Edit { value_cents: Some(None), goal_id: Some(None), ..Edit::default() };
        assert_eq!(
            Value::Object(clear_value.changes(latest).unwrap()),
            json!({"value_cents": null, "goal_id": null})
        );
        let annotate_only = Edit { annotation: Some("back-dated".into()), ..Edit::default() };
        assert!(annotate_only.changes(latest).unwrap().is_empty());
    }

    #[test]
    fn other_methods_are_405() {
        assert_eq!(request("PUT", "", &json!({})).0, 405);
    }
}
