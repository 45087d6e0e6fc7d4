//! `admin-flags`: PUT lets a platform admin set a flag for everyone (`global`), one organization
//! (`org`) or one user (`user`), or remove it with `"value": null`; GET lists the flags set, by
//! feature (`key`), `scope`, `org_id` or `user_id`, a page at a time. Both reach PostgREST with
//! the admin's own token: `admin_set_flag()` and `admin_list_flags()` check the caller (platform
//! admin, not a read-only or impersonation session) and the feature_flags trigger audits each
//! change in the same transaction, so no service-role key is involved.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::auth;
use shared::error::ApiError;
use shared::http::{json_response, present, read_json};
use shared::postgrest::{Postgrest, send_json};
use shared::query::QueryParams;
use shared::runtime::Ctx;
use uuid::Uuid;

/// How far a flag or an audited action reaches.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Scope {
    Global,
    Org,
    User,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    key: String,
    scope: Scope,
    /// The organization (scope `org`) or user (scope `user`); none for `global`.
    #[serde(default)]
    target_id: Option<Uuid>,
    /// The new value, or `null` to remove the flag; required either way.
    #[serde(deserialize_with = "present")]
    value: Option<Option<Value>>,
}

/// The arguments of `admin_set_flag()`, named as in SQL.
#[derive(Serialize)]
struct Arguments<'a> {
    feature: &'a str,
    flag_scope: Scope,
    target: Option<Uuid>,
    flag_value: Option<&'a Value>,
}

/// Most flags one page lists, and the page size when none is asked.
pub const MAX_PAGE: u32 = 500;
const DEFAULT_PAGE: u32 = 50;

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    match *request.method() {
        Method::PUT => set(request, ctx).await,
        Method::GET => list(request, ctx).await,
        _ => Err(ApiError::method_not_allowed("GET or PUT")),
    }
}

/// The arguments of `admin_list_flags()`, named as in SQL.
#[derive(Debug, PartialEq, Serialize)]
struct ListArguments {
    feature: Option<String>,
    flag_scope: Option<Scope>,
    org: Option<Uuid>,
    member: Option<Uuid>,
    page_size: u32,
    page_offset: u32,
}

fn list_arguments(request: &Request<Bytes>) -> Result<ListArguments, ApiError> {
    let mut params = QueryParams::of(request)?;
    let arguments = ListArguments {
        feature: params.text("key")?,
        flag_scope: params.choice("scope", "global, org or user")?,
        org: params.parse("org_id", "an organization id")?,
        member: params.parse("user_id", "a user id")?,
        page_size: params.parse("limit", "a whole number")?.unwrap_or(DEFAULT_PAGE),
        page_offset: params.parse("offset", "a whole number")?.unwrap_or(0),
    };
    params.finish()?;
    if !(1..=MAX_PAGE).contains(&arguments.page_size) {
        return Err(ApiError::validation("limit", format!("must be 1 to {MAX_PAGE}")));
    }
    if i32::try_from(arguments.page_offset).is_err() {
        return Err(ApiError::validation("offset", "is too large"));
    }
    Ok(arguments)
}

async fn list(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    let caller = auth::authenticate(&request, ctx).await?;
    let arguments = list_arguments(&request)?;
    let client = Postgrest::as_caller(&ctx.config, &caller);
    let page: Value = send_json(ctx, client.rpc("admin_list_flags", &arguments)?).await?;
    Ok(json_response(StatusCode::OK, &page))
}

async fn set(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    let caller = auth::authenticate(&request, ctx).await?;
    let body: Body = read_json(&request)?;
    let arguments = arguments(&body)?;
    let client = Postgrest::as_caller(&ctx.config, &caller);
    let changed: Value = send_json(ctx, client.rpc("admin_set_flag", &arguments)?).await?;
    Ok(json_response(StatusCode::OK, &changed))
}

/// The RPC's arguments, once the target fits the scope (the database checks again).
fn arguments(body: &Body) -> Result<Arguments<'_>, ApiError> {
    match (body.scope, body.target_id) {
        (Scope::Global, Some(_)) => {
            return Err(ApiError::validation("target_id", "a global flag takes no target"));
        }
        (Scope::Org | Scope::User, None) => {
            return Err(ApiError::validation("target_id", "an org or user flag needs its target"));
        }
        _ => {}
    }
    Ok(Arguments {
        feature: &body.key,
        flag_scope: body.scope,
        target: body.target_id,
        flag_value: body.value.as_ref().and_then(Option::as_ref),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::tests::{assert_names, call_as_user};

    fn body(json: Value) -> Body {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn the_target_must_fit_the_scope() {
        let global = body(
            json!({"key": "what_if", "scope": "global", "target_id": Uuid::nil(), "value": true}),
        );
        assert!(arguments(&global).is_err());
        let org = body(json!({"key": "what_if", "scope": "org", "value": true}));
        assert!(arguments(&org).is_err());
        let user = body(
            json!({"key": "what_if", "scope": "user", "target_id": Uuid::nil(), "value": false}),
        );
        let fitted = arguments(&user).unwrap();
        assert_eq!((fitted.target, fitted.flag_value), (Some(Uuid::nil()), Some(&json!(false))));
    }

    #[test]
    fn a_null_value_removes_and_a_missing_one_is_refused() {
        let remove = body(json!({"key": "what_if", "scope": "global", "value": null}));
        assert_eq!(arguments(&remove).unwrap().flag_value, None);
        let answer =
            call_as_user("admin-flags", "PUT", "", &json!({"key": "what_if", "scope": "global"}));
        assert_names(&answer, "body");
    }

    #[test]
    fn list_filters_are_typed_and_pages_bounded() {
        let get = |query: &str| call_as_user("admin-flags", "GET", query, &Value::Null);
        assert_names(&get("?scope=team"), "scope");
        assert_names(&get("?org_id=7"), "org_id");
        assert_names(&get("?user_id=me"), "user_id");
        assert_names(&get("?limit=0"), "limit");
        assert_names(&get("?limit=501"), "limit");
        assert_names(&get("?offset=-1"), "offset");
        assert_names(&get("?offset=3000000000"), "offset");
        assert_names(&get("?team=1"), "team");
        let request = Request::builder()
            .uri(format!(
                "/functions/v1/admin-flags?key=voice_ai&scope=user&user_id={}&limit=10&offset=20",
                Uuid::nil()
            ))
            .body(Bytes::new())
            .unwrap();
        assert_eq!(
            list_arguments(&request).unwrap(),
            ListArguments {
                feature: Some("voice_ai".into()),
                flag_scope: Some(Scope::User),
                org: None,
                member: Some(Uuid::nil()),
                page_size: 10,
                page_offset: 20,
            }
        );
    }

    #[test]
    fn bad_bodies_name_their_field_before_any_database_call() {
        let put = |body: Value| call_as_user("admin-flags", "PUT", "", &body);
        assert_names(&put(json!({"key": "what_if", "scope": "everyone", "value": true})), "scope");
        assert_names(&put(json!({"key": "what_if", "scope": "org", "value": true})), "target_id");
        assert_names(
            &put(json!({"key": "what_if", "scope": "org", "target_id": "7", "value": true})),
            "target_id",
        );
        assert_eq!(call_as_user("admin-flags", "DELETE", "", &Value::Null).0, 405);
    }
}
