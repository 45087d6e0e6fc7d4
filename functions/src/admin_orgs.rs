//! `admin-orgs`: platform admins create organizations and suspend or reactivate them.
//!
//! - POST `{name, slug, kind, plan_key, admin_email}`: a new organization on an active plan,
//!   with the user who signed up with `admin_email` (in no organization yet) as its enterprise
//!   admin, through `admin_create_org()`; 201.
//! - PATCH `{org_id, status, reason}`: `suspended` or `active`, with a reason, through
//!   `admin_set_org_status()`. Members of a suspended organization are refused at their next
//!   request; setting the status it already has changes nothing (`changed: false`).
//!
//! Each call reaches PostgREST with the admin's own token: the RPC refuses anyone but a
//! platform admin in their own session and writes the action's one audit entry (before and
//! after) in the same transaction.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::auth;
use shared::error::ApiError;
use shared::http::{json_response, read_json};
use shared::postgrest::{Postgrest, send_json};
use shared::runtime::Ctx;
use uuid::Uuid;

const MAX_NAME_CHARS: usize = 200;
const MAX_REASON_CHARS: usize = 1000;
const MAX_EMAIL_CHARS: usize = 320;

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Individual,
    Team,
    Enterprise,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    Active,
    Suspended,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOrg {
    name: String,
    slug: String,
    kind: Kind,
    plan_key: String,
    admin_email: String,
}

/// The arguments of `admin_create_org()`, named as in SQL.
#[derive(Debug, PartialEq, Serialize)]
struct CreateArguments<'a> {
    org_name: &'a str,
    org_slug: &'a str,
    org_kind: Kind,
    plan: &'a str,
    admin_email: &'a str,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusChange {
    org_id: Uuid,
    status: Status,
    reason: String,
}

/// The arguments of `admin_set_org_status()`, named as in SQL.
#[derive(Debug, PartialEq, Serialize)]
struct StatusArguments<'a> {
    org: Uuid,
    new_status: Status,
    reason: &'a str,
}

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    let creating = match *request.method() {
        Method::POST => true,
        Method::PATCH => false,
        _ => return Err(ApiError::method_not_allowed("POST, PATCH")),
    };
    let caller = auth::authenticate(&request, ctx).await?;
    let client = Postgrest::as_caller(&ctx.config, &caller);
    let rpc = if creating {
        let body: NewOrg = read_json(&request)?;
        client.rpc("admin_create_org", &create_arguments(&body)?)?
    } else {
        let body: StatusChange = read_json(&request)?;
        client.rpc("admin_set_org_status", &status_arguments(&body)?)?
    };
    let answer: Value = send_json(ctx, rpc).await?;
    match (answer.is_null(), creating) {
        (true, true) => Err(ApiError::not_found("no user signed up with admin_email")),
        (true, false) => Err(ApiError::not_found("no such organization")),
        (false, true) => Ok(json_response(StatusCode::CREATED, &answer)),
        (false, false) => Ok(json_response(StatusCode::OK, &answer)),
    }
}

/// The new organization's fields, checked as the database will check them (which it does
/// again), so that a bad one is named.
fn create_arguments(body: &NewOrg) -> Result<CreateArguments<'_>, ApiError> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::validation(
            "name",
            format!("must be 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    if !is_slug(&body.slug) {
        return Err(ApiError::validation(
            "slug",
            "must be 2 to 63 lower-case letters, digits and hyphens, not starting with a hyphen",
        ));
    }
    if body.plan_key.is_empty() {
        return Err(ApiError::validation("plan_key", "is required"));
    }
    let email = body.admin_email.trim();
    if !email.contains('@') || email.chars().count() > MAX_EMAIL_CHARS {
        return Err(ApiError::validation("admin_email", "must be an e-mail address"));
    }
    Ok(CreateArguments {
        org_name: name,
        org_slug: &body.slug,
        org_kind: body.kind,
        plan: &body.plan_key,
        admin_email: email,
    })
}

/// `^[a-z0-9][a-z0-9-]{1,62}$`, the organizations.slug check.
fn is_slug(slug: &str) -> bool {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    (2..=63).contains(&slug.len())
        && slug.starts_with(allowed)
        && slug.chars().all(|c| allowed(c) || c == '-')
}

fn status_arguments(body: &StatusChange) -> Result<StatusArguments<'_>, ApiError> {
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::validation(
            "reason",
            format!("must be 1 to {MAX_REASON_CHARS} characters: say why"),
        ));
    }
    Ok(StatusArguments { org: body.org_id, new_status: body.status, reason })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::tests::{assert_names, call_as_user};

    fn new_org(changes: Value) -> NewOrg {
        let mut body = json!({"name": " Acme ", "slug": "acme-2", "kind": "enterprise",
                              "plan_key": "enterprise", "admin_email": " boss@acme.test "});
        body.as_object_mut().unwrap().extend(changes.as_object().unwrap().clone());
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn a_new_org_reaches_the_rpc_trimmed() {
        let body = new_org(json!({}));
        assert_eq!(
            serde_json::to_value(create_arguments(&body).unwrap()).unwrap(),
            json!({"org_name": "Acme", "org_slug": "acme-2", "org_kind": "enterprise",
                   "plan": "enterprise", "admin_email": "boss@acme.test"})
        );
    }

    #[test]
    fn bad_fields_of_a_new_org_are_named() {
        let named = |changes: Value| create_arguments(&new_org(changes)).unwrap_err().message;
        assert!(named(json!({"name": "  "})).starts_with("name: "));
        assert!(named(json!({"name": "x".repeat(201)})).starts_with("name: "));
        for slug in ["a", "-acme", "Acme", "acme_co", "acme co", &"a".repeat(64)] {
            assert!(named(json!({ "slug": slug })).starts_with("slug: "), "{slug}");
        }
        assert!(named(json!({"plan_key": ""})).starts_with("plan_key: "));
        assert!(named(json!({"admin_email": "boss"})).starts_with("admin_email: "));
        assert!(is_slug("a1") && is_slug("0-acme") && is_slug(&"a".repeat(63)));
    }

    #[test]
    fn a_status_change_needs_a_reason() {
        let change = |reason: &str| StatusChange {
            org_id: Uuid::nil(),
            status: Status::Suspended,
            reason: reason.to_owned(),
        };
        assert!(status_arguments(&change(" \n")).unwrap_err().message.starts_with("reason: "));
        assert!(status_arguments(&change(&"x".repeat(1001))).is_err());
        let fine = change(" unpaid since March ");
        assert_eq!(
            status_arguments(&fine).unwrap(),
            StatusArguments {
                org: Uuid::nil(),
                new_status: Status::Suspended,
                reason: "unpaid since March"
            }
        );
    }

    #[test]
    fn bad_bodies_and_methods_are_refused_before_any_database_call() {
        let call = |method: &str, body: Value| call_as_user("admin-orgs", method, "", &body);
        assert_names(&call("POST", json!({"name": "Acme"})), "body");
        assert_names(
            &call(
                "POST",
                json!({"name": "Acme", "slug": "acme", "kind": "guild",
                                 "plan_key": "team", "admin_email": "a@b.c"}),
            ),
            "kind",
        );
        assert_names(
            &call("PATCH", json!({"org_id": Uuid::nil(), "status": "closed", "reason": "x"})),
            "status",
        );
        assert_names(
            &call("PATCH", json!({"org_id": Uuid::nil(), "status": "active", "reason": ""})),
            "reason",
        );
        assert_eq!(call("GET", Value::Null).0, 405);
    }
}
