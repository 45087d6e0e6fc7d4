//! `admin-users`: members administered by platform admins (every organization) and by an
//! enterprise admin whose plan includes `member_admin` (their own organization).
//!
//! - GET `?search&org_id&role&team_id&org_status&sort&order&limit&offset`: one page of members,
//!   searched by part of the name or e-mail, with the total, through `admin_list_users()`.
//! - PATCH `{user_id, team_id}` moves a member to a team of their organization (`null`: none);
//!   `{user_id, role}` changes their role; `{user_id, org_id, team_id?, role?}` moves them to
//!   another organization (platform admins; role `rep` unless given).
//!
//! Each call is one RPC with the admin's own token: the database checks the caller (no
//! read-only or impersonation session), keeps its rules (seat limit, an enterprise admin per
//! organization) and writes the action's one audit entry in the same transaction.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::auth;
use shared::error::ApiError;
use shared::http::{json_response, present, private_json_response, read_json};
use shared::postgrest::{Postgrest, send_json};
use shared::query::QueryParams;
use shared::runtime::Ctx;
use uuid::Uuid;

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;
const MAX_SEARCH_CHARS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
enum Role {
    Rep,
    TeamManager,
    EnterpriseTm,
    EnterpriseAdmin,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
enum OrgStatus {
    Active,
    Suspended,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
enum Sort {
    Name,
    Email,
    Org,
    Team,
    Role,
    JoinedAt,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Order {
    Asc,
    Desc,
}

/// The arguments of `admin_list_users()`, named as in SQL.
#[derive(Debug, PartialEq, Serialize)]
struct ListArguments {
    search: Option<String>,
    org: Option<Uuid>,
    member_role: Option<Role>,
    team: Option<Uuid>,
    organization_status: Option<OrgStatus>,
    sort: Sort,
    descending: bool,
    page_size: u32,
    page_offset: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Change {
    user_id: Uuid,
    /// A team of the member's (new) organization, or `null` for none; left out: unchanged.
    #[serde(default, deserialize_with = "present")]
    team_id: Option<Option<Uuid>>,
    #[serde(default)]
    role: Option<Role>,
    #[serde(default)]
    org_id: Option<Uuid>,
}

/// One change, one RPC: its name and arguments.
#[derive(Debug, PartialEq, Serialize)]
#[serde(untagged)]
enum Action {
    MoveToTeam { member: Uuid, team: Option<Uuid> },
    SetRole { member: Uuid, new_role: Role },
    MoveToOrg { member: Uuid, org: Uuid, team: Option<Uuid>, new_role: Role },
}

impl Action {
    fn rpc(&self) -> &'static str {
        match self {
            Self::MoveToTeam { .. } => "admin_move_member_to_team",
            Self::SetRole { .. } => "admin_set_member_role",
            Self::MoveToOrg { .. } => "admin_move_member_to_org",
        }
    }
}

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    match *request.method() {
        Method::GET => list(&request, ctx).await,
        Method::PATCH => change(&request, ctx).await,
        _ => Err(ApiError::method_not_allowed("GET, PATCH")),
    }
}

async fn list(request: &Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    let caller = auth::authenticate(request, ctx).await?;
    let arguments = list_arguments(QueryParams::of(request)?)?;
    let client = Postgrest::as_caller(&ctx.config, &caller);
    let page: Value = send_json(ctx, client.rpc("admin_list_users", &arguments)?).await?;
    Ok(private_json_response(&page))
}

fn list_arguments(mut query: QueryParams) -> Result<ListArguments, ApiError> {
    let search = query.text("search")?.map(|text| text.trim().to_owned());
    if search.as_ref().is_some_and(|text| text.chars().count() > MAX_SEARCH_CHARS) {
        return Err(ApiError::validation(
            "search",
            format!("must be at most {MAX_SEARCH_CHARS} characters"),
        ));
    }
    let roles = "rep, team_manager, enterprise_tm or enterprise_admin";
    let arguments = ListArguments {
        search: search.filter(|text| !text.is_empty()),
        org: query.parse("org_id", "an organization id (UUID)")?,
        member_role: query.choice("role", roles)?,
        team: query.parse("team_id", "a team id (UUID)")?,
        organization_status: query.choice("org_status", "active or suspended")?,
        sort: query
            .choice("sort", "name, email, org, team, role or joined_at")?
            .unwrap_or(Sort::Name),
        descending: query.choice("order", "asc or desc")? == Some(Order::Desc),
        page_size: query.parse("limit", "a whole number")?.unwrap_or(DEFAULT_PAGE),
        page_offset: query.parse("offset", "a whole number")?.unwrap_or(0),
    };
    if !(1..=MAX_PAGE).contains(&arguments.page_size) {
        return Err(ApiError::validation("limit", format!("must be from 1 to {MAX_PAGE}")));
    }
    query.finish()?;
    Ok(arguments)
}

async fn change(request: &Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    let caller = auth::authenticate(request, ctx).await?;
    let action = action(read_json(request)?)?;
    let client = Postgrest::as_caller(&ctx.config, &caller);
    let changed: Value = send_json(ctx, client.rpc(action.rpc(), &action)?).await?;
    if changed.is_null() {
        return Err(ApiError::not_found("no such member (or organization)"));
    }
    Ok(json_response(StatusCode::OK, &changed))
}

/// Which one change the body asks for.
fn action(change: Change) -> Result<Action, ApiError> {
    let member = change.user_id;
    match (change.org_id, change.team_id, change.role) {
        (Some(org), team, role) => Ok(Action::MoveToOrg {
            member,
            org,
            team: team.flatten(),
            new_role: role.unwrap_or(Role::Rep),
        }),
        (None, Some(team), None) => Ok(Action::MoveToTeam { member, team }),
        (None, None, Some(new_role)) => Ok(Action::SetRole { member, new_role }),
        (None, Some(_), Some(_)) => Err(ApiError::validation(
            "role",
            "change the team and the role in two requests (both together only with org_id)",
        )),
        (None, None, None) => Err(ApiError::validation("body", "give team_id, role or org_id")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::tests::{assert_names, call_as_user};

    fn arguments(query: &str) -> Result<ListArguments, ApiError> {
        let request = Request::builder().uri(format!("/f?{query}")).body(Bytes::new()).unwrap();
        list_arguments(QueryParams::of(&request).unwrap())
    }

    fn change(body: Value) -> Result<Action, ApiError> {
        action(serde_json::from_value(body).unwrap())
    }

    #[test]
    fn a_bare_list_is_the_first_page_by_name() {
        assert_eq!(
            arguments("").unwrap(),
            ListArguments {
                search: None,
                org: None,
                member_role: None,
                team: None,
                organization_status: None,
                sort: Sort::Name,
                descending: false,
                page_size: DEFAULT_PAGE,
                page_offset: 0,
            }
        );
    }

    #[test]
    fn every_filter_reaches_its_sql_argument() {
        let org = Uuid::from_u128(7);
        let listed = arguments(&format!(
            "search=+Ann%40x+&org_id={org}&role=team_manager&org_status=suspended&sort=joined_at\
             &order=desc&limit=20&offset=40"
        ))
        .unwrap();
        assert_eq!(
            serde_json::to_value(&listed).unwrap(),
            json!({"search": "Ann@x", "org": org, "member_role": "team_manager", "team": null,
                   "organization_status": "suspended", "sort": "joined_at", "descending": true,
                   "page_size": 20, "page_offset": 40})
        );
        assert_eq!(arguments("search=++").unwrap().search, None, "a blank search is none");
    }

    #[test]
    fn bad_parameters_name_themselves() {
        let named = |query: &str| arguments(query).unwrap_err().message;
        assert!(named("limit=0").starts_with("limit: "));
        assert!(named("limit=201").starts_with("limit: "));
        assert!(named("offset=-1").starts_with("offset: "));
        assert!(named("role=boss").starts_with("role: "));
        assert!(named("sort=salary").starts_with("sort: "));
        assert!(named("order=up").starts_with("order: "));
        assert!(named("org_id=7").starts_with("org_id: "));
        assert!(named(&format!("search={}", "a".repeat(101))).starts_with("search: "));
        assert!(named("page=2").starts_with("page: "), "unknown parameters are refused");
    }

    #[test]
    fn each_body_asks_for_one_action() {
        let member = Uuid::from_u128(1);
        let (org, team) = (Uuid::from_u128(2), Uuid::from_u128(3));
        assert_eq!(
            change(json!({"user_id": member, "team_id": null})).unwrap(),
            Action::MoveToTeam { member, team: None }
        );
        assert_eq!(
            change(json!({"user_id": member, "role": "enterprise_tm"})).unwrap(),
            Action::SetRole { member, new_role: Role::EnterpriseTm }
        );
        let moved = change(json!({"user_id": member, "org_id": org, "team_id": team})).unwrap();
        assert_eq!(moved, Action::MoveToOrg { member, org, team: Some(team), new_role: Role::Rep });
        assert_eq!(moved.rpc(), "admin_move_member_to_org");
        assert_eq!(
            serde_json::to_value(&moved).unwrap(),
            json!({"member": member, "org": org, "team": team, "new_role": "rep"})
        );
        let both = change(json!({"user_id": member, "team_id": team, "role": "rep"}));
        assert!(both.unwrap_err().message.starts_with("role: "));
        assert!(change(json!({"user_id": member})).unwrap_err().message.starts_with("body: "));
    }

    #[test]
    fn bad_bodies_and_methods_are_refused_before_any_database_call() {
        let patch = |body: Value| call_as_user("admin-users", "PATCH", "", &body);
        assert_names(&patch(json!({"user_id": "x", "role": "rep"})), "user_id");
        assert_names(&patch(json!({"user_id": Uuid::nil(), "role": "owner"})), "role");
        assert_names(&patch(json!({"user_id": Uuid::nil(), "salary": 1})), "salary");
        assert_names(&call_as_user("admin-users", "GET", "?limit=x", &Value::Null), "limit");
        assert_eq!(call_as_user("admin-users", "DELETE", "", &Value::Null).0, 405);
    }
}
