//! `goals-calculate` (POST): the activity plan for an income target, computed from the inputs
//! alone. Stateless: it reads and writes nothing, but it is a user-facing function, so it
//! requires a signed-in user's JWT like every other.

use bytes::Bytes;
use chrono::NaiveDate;
use http::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use shared::auth;
use shared::domain::goals::{
    self, Calendar, Funnel, GoalError, GoalInput, Period, PeriodKind, Rate, Stage,
};
use shared::error::ApiError;
use shared::http::{json_response, read_json, require_method};
use shared::runtime::Ctx;

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    require_method(&request, Method::POST)?;
    auth::authenticate(&request, ctx).await?;
    let body: Body = read_json(&request)?;
    let input = GoalInput::try_from(body)?;
    let plan = goals::plan(&input).map_err(invalid)?;
    Ok(json_response(StatusCode::OK, &plan))
}

/// The request body, as sent. Field names follow the `goals` and `sims` tables.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    pub income_target_cents: u64,
    pub period: PeriodBody,
    pub sim: SimBody,
    #[serde(default)]
    pub calendar: Option<CalendarBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodBody {
    pub kind: PeriodKind,
    pub start: NaiveDate,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimBody {
    pub average_deal_value_cents: u64,
    /// Share of the deal value the rep earns, in (0, 1]; 1 when absent.
    #[serde(default)]
    pub commission_rate: Option<f64>,
    pub stages: Vec<StageBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageBody {
    pub key: String,
    /// Share of this stage reaching the next, in (0, 1]; absent on the last stage (the deal).
    #[serde(default)]
    pub conversion_rate: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarBody {
    /// ISO weekdays worked (1 = Monday … 7 = Sunday); Monday to Friday when absent.
    #[serde(default = "monday_to_friday")]
    pub working_weekdays: Vec<u8>,
    #[serde(default)]
    pub days_off: Vec<NaiveDate>,
}

fn monday_to_friday() -> Vec<u8> {
    vec![1, 2, 3, 4, 5]
}

impl TryFrom<Body> for GoalInput {
    type Error = ApiError;

    fn try_from(body: Body) -> Result<Self, ApiError> {
        let rate = |value: f64, field: &str| {
            Rate::from_decimal(value)
                .ok_or_else(|| ApiError::validation(field, "must be in (0, 1]"))
        };
        if body.sim.average_deal_value_cents == 0 {
            return Err(ApiError::validation("sim.average_deal_value_cents", "must be positive"));
        }
        let commission = match body.sim.commission_rate {
            Some(value) => rate(value, "sim.commission_rate")?,
            None => Rate::ONE,
        };
        let income_per_deal = goals::income_per_deal(body.sim.average_deal_value_cents, commission);
        if income_per_deal == 0 {
            return Err(ApiError::validation(
                "sim.commission_rate",
                "leaves less than one cent of income per deal",
            ));
        }
        let stages = body
            .sim
            .stages
            .into_iter()
            .enumerate()
            .map(|(i, stage)| {
                let field = format!("sim.stages[{i}].conversion_rate");
                let conversion = stage.conversion_rate.map(|r| rate(r, &field)).transpose()?;
                Ok(Stage { key: stage.key, conversion })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        let calendar = match body.calendar {
            Some(c) => Calendar::new(&c.working_weekdays, &c.days_off).map_err(invalid)?,
            None => Calendar::weekdays(),
        };
        Ok(GoalInput {
            income_target_cents: body.income_target_cents,
            income_per_deal_cents: income_per_deal,
            funnel: Funnel::new(stages).map_err(invalid)?,
            period: Period::new(body.period.kind, body.period.start).map_err(invalid)?,
            calendar,
        })
    }
}

fn invalid(error: GoalError) -> ApiError {
    ApiError::validation(&error.field, error.message)
}

#[cfg(test)]
mod tests {
    use http::header;
    use serde_json::{Value, json};
    use shared::testing::hs256;

    use crate::tests::{NOW, SECRET, call};

    fn user_token(exp: u64) -> String {
        hs256(
            &json!({"sub": "3b0b5c1e-8a7d-4c55-9a0e-5a1f2d3c4b5a", "aud": "authenticated",
                    "role": "authenticated", "exp": exp}),
            SECRET,
        )
    }

    pub fn example() -> Value {
        json!({
            "income_target_cents": 2_000_000,
            "period": {"kind": "month", "start": "2026-01-01"},
            "sim": {
                "average_deal_value_cents": 30_000_000,
                "commission_rate": 0.03,
                "stages": [
                    {"key": "call", "conversion_rate": 0.05},
                    {"key": "appointment", "conversion_rate": 0.25},
                    {"key": "deal"}
                ]
            },
            "calendar": {"working_weekdays": [1, 2, 3, 4, 5], "days_off": ["2026-01-01"]}
        })
    }

    fn post(body: &str, token: Option<&str>) -> (u16, Value) {
        let mut builder = http::Request::builder()
            .method("POST")
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let (status, body, _) =
            call("goals-calculate", builder.body(bytes::Bytes::from(body.to_owned())).unwrap());
        (status.as_u16(), body)
    }

    fn post_json(body: &Value) -> (u16, Value) {
        post(&body.to_string(), Some(&user_token(NOW + 60)))
    }

    #[test]
    fn a_signed_in_user_gets_the_plan() {
        let (status, plan) = post_json(&example());
        assert_eq!(status, 200, "{plan}");
        assert_eq!(plan["totals"], json!([240, 12, 3]));
        assert_eq!(plan["stages"], json!(["call", "appointment", "deal"]));
        assert_eq!(plan["income_per_deal_cents"], 900_000);
        assert_eq!(
            plan["period"],
            json!({"kind": "month", "start": "2026-01-01", "end": "2026-01-31", "working_days": 21})
        );
        assert_eq!(plan["per_day"][0], json!({"start": "2026-01-02", "counts": [12, 1, 1]}));
        assert_eq!(plan["per_month"], json!([{"start": "2026-01-01", "counts": [240, 12, 3]}]));
    }

    #[test]
    fn the_calendar_and_commission_have_defaults() {
        let mut body = example();
        body.as_object_mut().unwrap().remove("calendar");
        body["sim"].as_object_mut().unwrap().remove("commission_rate");
        let (status, plan) = post_json(&body);
        assert_eq!((status, plan["period"]["working_days"].as_u64()), (200, Some(22)));
        assert_eq!(plan["income_per_deal_cents"], 30_000_000);
    }

    #[test]
    fn it_needs_a_valid_unexpired_user_token() {
        let body = example().to_string();
        assert_eq!(post(&body, None).1["error"]["code"], "missing_token");
        assert_eq!(post(&body, Some("garbage")).1["error"]["code"], "invalid_token");
        let (status, error) = post(&body, Some(&user_token(NOW - 3600)));
        assert_eq!((status, error["error"]["code"].as_str()), (401, Some("token_expired")));
    }

    #[test]
    fn only_post_is_allowed() {
        let request = http::Request::builder().method("GET").body(bytes::Bytes::new()).unwrap();
        assert_eq!(call("goals-calculate", request).0, 405);
    }

    #[test]
    fn broken_json_is_a_400() {
        let (status, error) = post("{\"income_target_cents\": ", Some(&user_token(NOW + 60)));
        assert_eq!((status, error["error"]["code"].as_str()), (400, Some("invalid_json")));
    }

    #[test]
    fn bad_fields_are_422s_that_name_the_field() {
        let check = |change: &dyn Fn(&mut Value), field: &str| {
            let mut body = example();
            change(&mut body);
            let (status, error) = post_json(&body);
            assert_eq!(status, 422, "{error}");
            assert_eq!(error["error"]["code"], "validation_failed");
            let message = error["error"]["message"].as_str().unwrap();
            assert!(message.starts_with(&format!("{field}: ")), "{message:?} should name {field}");
        };
        check(&|b| b["income_target_cents"] = json!(-5), "income_target_cents");
        check(&|b| b["income_target_cents"] = json!("2000000"), "income_target_cents");
        check(&|b| b["income_target_cents"] = json!(20_000_000_000_000u64), "income_target_cents");
        check(
            &|b| {
                b.as_object_mut().unwrap().remove("sim");
            },
            "body",
        );
        check(&|b| b["surprise"] = json!(1), "surprise");
        check(&|b| b["period"]["kind"] = json!("week"), "period.kind");
        check(&|b| b["period"]["start"] = json!("2026-13-01"), "period.start");
        check(&|b| b["period"]["start"] = json!("2026-01-15"), "period.start");
        check(&|b| b["sim"]["average_deal_value_cents"] = json!(0), "sim.average_deal_value_cents");
        check(&|b| b["sim"]["commission_rate"] = json!(1.5), "sim.commission_rate");
        check(
            &|b| {
                b["sim"]["average_deal_value_cents"] = json!(1);
                b["sim"]["commission_rate"] = json!(0.1);
            },
            "sim.commission_rate",
        );
        check(
            &|b| b["sim"]["stages"][1]["conversion_rate"] = json!(0),
            "sim.stages[1].conversion_rate",
        );
        check(
            &|b| b["sim"]["stages"][1]["conversion_rate"] = json!("high"),
            "sim.stages[1].conversion_rate",
        );
        check(
            &|b| b["sim"]["stages"][2]["conversion_rate"] = json!(0.5),
            "sim.stages[2].conversion_rate",
        );
        check(&|b| b["sim"]["stages"][0]["key"] = json!("deal"), "sim.stages[2].key");
        check(&|b| b["sim"]["stages"] = json!([]), "sim.stages");
        check(&|b| b["calendar"]["working_weekdays"] = json!([]), "calendar.working_weekdays");
        check(&|b| b["calendar"]["working_weekdays"] = json!([9]), "calendar.working_weekdays[0]");
        check(&|b| b["calendar"]["days_off"] = json!(["soon"]), "calendar.days_off[0]");
        check(
            &|b| b["calendar"] = json!({"working_weekdays": [6, 7], "days_off": ["2026-01-03", "2026-01-04", "2026-01-10", "2026-01-11", "2026-01-17", "2026-01-18", "2026-01-24", "2026-01-25", "2026-01-31"]}),
            "calendar",
        );
    }
}
