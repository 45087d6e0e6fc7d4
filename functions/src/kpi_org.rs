//! `kpi-org` (GET): the managers' dashboard of the members they manage, for a period in the
//! organization's time zone (`period=day|week|month|quarter|year|custom`, `from`/`to` for
//! custom; `month` by default), optionally of one `team_id`: a page of members (`sort`,
//! `direction`, `limit`, `offset`) with actual vs target per funnel stage and pacing, the total
//! count, aggregates per team and for the whole scope, and a trendline (`granularity`) with its
//! moving average. `drilldown=<user id>` answers one managed member's `kpi_me` view instead.
//!
//! One PostgREST round trip (`kpi_org` or `kpi_org_member`, with the caller's JWT): Postgres
//! aggregates and RLS decides who is visible. Only a refusal costs a second one, to tell a plan
//! without `org_dashboard` (403 `feature_disabled`) from a caller who manages nobody (403).

use bytes::Bytes;
use chrono::NaiveDate;
use http::{Method, Request, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shared::auth;
use shared::error::ApiError;
use shared::features;
use shared::http::{private_json_response, require_method};
use shared::postgrest::{Postgrest, send_json};
use shared::query::QueryParams;
use shared::runtime::Ctx;
use uuid::Uuid;

use crate::kpi_me::{self, KpiRow, PeriodName};

/// The feature flag that gates the organization's dashboards.
pub const FEATURE: &str = "org_dashboard";
/// Most members on one page.
pub const MAX_LIMIT: u32 = 200;
/// Longest custom period, in days between `from` and `to`.
const MAX_CUSTOM_DAYS: i64 = 366;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
enum SortKey {
    Name,
    Team,
    Pace,
    Activities,
    Calls,
    Appointments,
    Deals,
    DealValue,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
enum Direction {
    Asc,
    Desc,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
enum Granularity {
    Day,
    Week,
    Month,
}

/// The period a query names: a named one around today, or a checked custom range.
#[derive(Debug, PartialEq)]
struct PeriodQuery {
    period: PeriodName,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

impl PeriodQuery {
    fn parse(query: &mut QueryParams) -> Result<Self, ApiError> {
        let period = query
            .choice("period", "day, week, month, quarter, year or custom")?
            .unwrap_or(PeriodName::Month);
        let from: Option<NaiveDate> = query.parse("from", "a date (YYYY-MM-DD)")?;
        let to: Option<NaiveDate> = query.parse("to", "a date (YYYY-MM-DD)")?;
        match (period, from, to) {
            (PeriodName::Custom, Some(from), Some(to)) => {
                if to < from {
                    return Err(ApiError::validation("to", "must not be before from"));
                }
                if (to - from).num_days() > MAX_CUSTOM_DAYS {
                    return Err(ApiError::validation(
                        "to",
                        format!("must be at most {MAX_CUSTOM_DAYS} days after from"),
                    ));
                }
            }
            (PeriodName::Custom, None, _) => {
                return Err(ApiError::validation("from", "is required for a custom period"));
            }
            (PeriodName::Custom, _, None) => {
                return Err(ApiError::validation("to", "is required for a custom period"));
            }
            (_, Some(_), _) => {
                return Err(ApiError::validation("from", "is for a custom period only"));
            }
            (_, _, Some(_)) => {
                return Err(ApiError::validation("to", "is for a custom period only"));
            }
            _ => {}
        }
        Ok(Self { period, from, to })
    }
}

/// The dashboard's arguments, as `kpi_org` takes them.
#[derive(Debug, PartialEq, Serialize)]
struct DashboardArgs {
    p_period: PeriodName,
    p_from: Option<NaiveDate>,
    p_to: Option<NaiveDate>,
    p_team_id: Option<Uuid>,
    p_sort: SortKey,
    p_direction: Direction,
    p_limit: u32,
    p_offset: u32,
    p_granularity: Option<Granularity>,
}

/// What a request asks for.
#[derive(Debug, PartialEq)]
enum View {
    Dashboard(DashboardArgs),
    Member { user_id: Uuid, period: PeriodQuery },
}

impl View {
    fn parse(request: &Request<Bytes>) -> Result<Self, ApiError> {
        let mut query = QueryParams::of(request)?;
        let period = PeriodQuery::parse(&mut query)?;
        if let Some(user_id) = query.parse("drilldown", "a user id (UUID)")? {
            // The drilldown takes the period only; anything else is refused by `finish`.
            query.finish()?;
            return Ok(Self::Member { user_id, period });
        }
        let team_id = query.parse("team_id", "a team id (UUID)")?;
        let sort = query
            .choice(
                "sort",
                "name, team, pace, activities, calls, appointments, deals or deal_value",
            )?
            .unwrap_or(SortKey::Name);
        let direction = query.choice("direction", "asc or desc")?.unwrap_or(Direction::Asc);
        let limit = query.parse::<u32>("limit", "a whole number from 1 to 200")?.unwrap_or(50);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::validation("limit", "must be a whole number from 1 to 200"));
        }
        let offset = query.parse::<u32>("offset", "a whole number, 0 or more")?.unwrap_or(0);
        let granularity = query.choice("granularity", "day, week or month")?;
        query.finish()?;
        Ok(Self::Dashboard(DashboardArgs {
            p_period: period.period,
            p_from: period.from,
            p_to: period.to,
            p_team_id: team_id,
            p_sort: sort,
            p_direction: direction,
            p_limit: limit,
            p_offset: offset,
            p_granularity: granularity,
        }))
    }
}

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    require_method(&request, Method::GET)?;
    let caller = auth::authenticate(&request, ctx).await?;
    let view = View::parse(&request)?;
    let client = Postgrest::as_caller(&ctx.config, &caller);
    match view {
        View::Dashboard(args) => {
            let answer: Value = ask(ctx, &client, client.rpc("kpi_org", &args)?).await?;
            if args.p_team_id.is_some() && answer["team"].is_null() {
                return Err(ApiError::not_found("no team you manage has this id"));
            }
            Ok(private_json_response(&answer))
        }
        View::Member { user_id, period } => {
            let args = json!({"p_user_id": user_id, "p_period": period.period,
                              "p_from": period.from, "p_to": period.to});
            let row: Option<KpiRow> =
                ask(ctx, &client, client.rpc("kpi_org_member", &args)?).await?;
            let row = row.ok_or_else(|| ApiError::not_found("no member you manage has this id"))?;
            // The very view the member sees in kpi-me.
            Ok(private_json_response(&kpi_me::view(user_id, period.period, row)?))
        }
    }
}

/// The RPC's answer; its refusal (42501) is a plan without the dashboard or a caller who
/// manages nobody, told apart by asking for the caller's flags (only then).
async fn ask<T: DeserializeOwned>(
    ctx: &Ctx,
    client: &Postgrest,
    request: Request<Bytes>,
) -> Result<T, ApiError> {
    match send_json(ctx, request).await {
        Err(error) if error.status == StatusCode::FORBIDDEN => {
            features::require(ctx, client, FEATURE).await?;
            Err(ApiError::forbidden(
                "only team managers, enterprise TMs and enterprise admins see the organization's KPIs",
            ))
        }
        answer => answer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Result<View, (u16, String)> {
        let request = Request::builder().uri(format!("/kpi-org?{query}")).body(Bytes::new());
        View::parse(&request.unwrap()).map_err(|e| (e.status.as_u16(), e.message))
    }

    fn dashboard(query: &str) -> DashboardArgs {
        match parse(query) {
            Ok(View::Dashboard(args)) => args,
            other => panic!("{query}: {other:?}"),
        }
    }

    #[test]
    fn no_parameter_asks_for_this_month_by_name_fifty_at_a_time() {
        assert_eq!(
            serde_json::to_value(dashboard("")).unwrap(),
            json!({"p_period": "month", "p_from": null, "p_to": null, "p_team_id": null,
                   "p_sort": "name", "p_direction": "asc", "p_limit": 50, "p_offset": 0,
                   "p_granularity": null})
        );
    }

    #[test]
    fn every_parameter_is_read_into_its_type() {
        let team = "7d9f5a3e-2c41-4b8e-9f0a-1b2c3d4e5f60";
        let args = dashboard(&format!(
            "period=custom&from=2026-03-01&to=2026-03-31&team_id={team}&sort=deal_value\
             &direction=desc&limit=200&offset=400&granularity=week"
        ));
        assert_eq!(
            serde_json::to_value(args).unwrap(),
            json!({"p_period": "custom", "p_from": "2026-03-01", "p_to": "2026-03-31",
                   "p_team_id": team, "p_sort": "deal_value", "p_direction": "desc",
                   "p_limit": 200, "p_offset": 400, "p_granularity": "week"})
        );
    }

    #[test]
    fn a_drilldown_names_a_member_and_takes_the_period_only() {
        let member = "7d9f5a3e-2c41-4b8e-9f0a-1b2c3d4e5f60";
        assert_eq!(
            parse(&format!("drilldown={member}&period=week")).unwrap(),
            View::Member {
                user_id: member.parse().unwrap(),
                period: PeriodQuery { period: PeriodName::Week, from: None, to: None },
            }
        );
        assert_eq!(
            parse(&format!("drilldown={member}&sort=pace")).unwrap_err(),
            (422, "sort: is not a parameter of this call".into())
        );
    }

    #[test]
    fn bad_parameters_are_refused_naming_the_parameter() {
        let check = |query: &str, message: &str| {
            let (status, text) = parse(query).unwrap_err();
            assert!(status == 422 && text.ends_with(message), "{query}: {status} {text}");
        };
        check("period=fortnight", "must be day, week, month, quarter, year or custom");
        check("period=custom&to=2026-03-01", "is required for a custom period");
        check("period=custom&from=2026-03-01", "is required for a custom period");
        check("period=custom&from=2026-03-02&to=2026-03-01", "must not be before from");
        check("period=custom&from=2025-01-01&to=2026-01-03", "must be at most 366 days after from");
        check("from=2026-03-01", "is for a custom period only");
        check("period=week&to=2026-03-01", "is for a custom period only");
        check(
            "sort=email",
            "must be name, team, pace, activities, calls, appointments, deals or deal_value",
        );
        check("direction=up", "must be asc or desc");
        check("limit=0", "must be a whole number from 1 to 200");
        check("limit=201", "must be a whole number from 1 to 200");
        check("limit=-1", "must be a whole number from 1 to 200");
        check("offset=-1", "must be a whole number, 0 or more");
        check("granularity=hour", "must be day, week or month");
        check("team_id=team-a", "must be a team id (UUID)");
        check("drilldown=someone", "must be a user id (UUID)");
        check("limit=5&limit=6", "is given more than once");
        check("page=2", "is not a parameter of this call");
    }

    #[test]
    fn a_custom_period_of_366_days_is_allowed() {
        let args = dashboard("period=custom&from=2024-01-01&to=2025-01-01");
        assert_eq!(
            (args.p_from, args.p_to),
            ("2024-01-01".parse().ok(), "2025-01-01".parse().ok())
        );
    }
}
