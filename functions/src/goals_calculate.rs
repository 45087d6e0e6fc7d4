//! `goals-calculate` (POST): the activity plan for an income target, computed from the inputs
//! alone; with `today` (and the activities logged so far) also the remaining effort and pacing.
//! Stateless: it reads and writes nothing, but it is a user-facing function, so it requires a
//! signed-in user's JWT like every other.

use std::collections::BTreeMap;

use bytes::Bytes;
use chrono::NaiveDate;
use http::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use shared::auth;
use shared::domain::goals::{
    self, Calendar, DayLog, Funnel, GoalError, GoalInput, Multiplier, Period, PeriodKind, Plan,
    Progress, Rate, ReferralRule, Stage,
};
use shared::error::ApiError;
use shared::http::{json_response, read_json, require_method};
use shared::runtime::Ctx;

/// Most logged days one request may send (a year of days, several entries a day).
pub const MAX_LOGGED_DAYS: usize = 4_000;

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    require_method(&request, Method::POST)?;
    auth::authenticate(&request, ctx).await?;
    let body: Body = read_json(&request)?;
    let (input, tracking) = body.parse("")?;
    let plan = goals::plan(&input).map_err(invalid(""))?;
    let progress = match tracking {
        Some(Tracking { logged, today }) => {
            Some(goals::progress(&plan, &logged, today).map_err(invalid(""))?)
        }
        None => None,
    };
    Ok(json_response(StatusCode::OK, &Answer { plan, progress }))
}

/// The activities logged so far and the rep's local date, when the body sends `today`.
pub struct Tracking {
    pub logged: Vec<DayLog>,
    pub today: NaiveDate,
}

/// The plan, and where the rep stands when `today` was given.
#[derive(Serialize)]
struct Answer {
    #[serde(flatten)]
    plan: Plan,
    #[serde(skip_serializing_if = "Option::is_none")]
    progress: Option<Progress>,
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
    #[serde(default)]
    pub referral_rules: Vec<ReferralRuleBody>,
    /// Activities logged so far, per day and stage key; needs `today`.
    #[serde(default)]
    pub logged: Vec<LoggedDayBody>,
    /// The rep's local date; with it the answer carries `progress`.
    #[serde(default)]
    pub today: Option<NaiveDate>,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferralRuleBody {
    /// Referrals expected over the goal's whole period.
    pub expected_referrals: u64,
    /// Share of referrals that become deals, in (0, 1].
    pub close_rate: f64,
    /// Value of a referred deal relative to a cold one, 1 to 100 (thousandths kept); 1 when
    /// absent.
    #[serde(default)]
    pub value_multiplier: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggedDayBody {
    pub date: NaiveDate,
    /// Activities per stage key; stages left out count zero.
    pub counts: BTreeMap<String, u64>,
}

pub fn monday_to_friday() -> Vec<u8> {
    vec![1, 2, 3, 4, 5]
}

impl Body {
    /// The engine's input, and the log and today when `today` was sent. Error fields are
    /// prefixed with `at` (e.g. `changed.`) for bodies nested in another request.
    pub fn parse(self, at: &str) -> Result<(GoalInput, Option<Tracking>), ApiError> {
        let field = |name: &str| format!("{at}{name}");
        let rate = |value: f64, name: &str| {
            Rate::from_decimal(value)
                .ok_or_else(|| ApiError::validation(&field(name), "must be in (0, 1]"))
        };
        if self.sim.average_deal_value_cents == 0 {
            return Err(ApiError::validation(
                &field("sim.average_deal_value_cents"),
                "must be positive",
            ));
        }
        let commission = match self.sim.commission_rate {
            Some(value) => rate(value, "sim.commission_rate")?,
            None => Rate::ONE,
        };
        let income_per_deal = goals::income_per_deal(self.sim.average_deal_value_cents, commission);
        if income_per_deal == 0 {
            return Err(ApiError::validation(
                &field("sim.commission_rate"),
                "leaves less than one cent of income per deal",
            ));
        }
        let stages = self
            .sim
            .stages
            .into_iter()
            .enumerate()
            .map(|(i, stage)| {
                let name = format!("sim.stages[{i}].conversion_rate");
                let conversion = stage.conversion_rate.map(|r| rate(r, &name)).transpose()?;
                Ok(Stage { key: stage.key, conversion })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        let funnel = Funnel::new(stages).map_err(invalid(at))?;
        let referrals = self
            .referral_rules
            .into_iter()
            .enumerate()
            .map(|(i, rule)| {
                let multiplier = match rule.value_multiplier {
                    None => Multiplier::ONE,
                    Some(value) => Multiplier::from_decimal(value).ok_or_else(|| {
                        ApiError::validation(
                            &field(&format!("referral_rules[{i}].value_multiplier")),
                            "must be from 1 to 100",
                        )
                    })?,
                };
                Ok(ReferralRule {
                    expected_referrals: rule.expected_referrals,
                    close_rate: rate(rule.close_rate, &format!("referral_rules[{i}].close_rate"))?,
                    value_multiplier: multiplier,
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        let calendar = match self.calendar {
            Some(c) => Calendar::new(&c.working_weekdays, &c.days_off).map_err(invalid(at))?,
            None => Calendar::weekdays(),
        };
        let tracking = match self.today {
            Some(today) => {
                Some(Tracking { logged: day_logs(&funnel, self.logged, &field)?, today })
            }
            None if !self.logged.is_empty() => {
                return Err(ApiError::validation(&field("today"), "is required with logged"));
            }
            None => None,
        };
        let input = GoalInput {
            income_target_cents: self.income_target_cents,
            income_per_deal_cents: income_per_deal,
            funnel,
            period: Period::new(self.period.kind, self.period.start).map_err(invalid(at))?,
            calendar,
            referrals,
        };
        Ok((input, tracking))
    }
}

/// Logged days keyed by stage become counts in the funnel's order; a key that is no stage is
/// refused, naming it.
fn day_logs(
    funnel: &Funnel,
    logged: Vec<LoggedDayBody>,
    field: &impl Fn(&str) -> String,
) -> Result<Vec<DayLog>, ApiError> {
    if logged.len() > MAX_LOGGED_DAYS {
        return Err(ApiError::validation(
            &field("logged"),
            format!("may list at most {MAX_LOGGED_DAYS} days"),
        ));
    }
    let keys: Vec<&str> = funnel.stages().iter().map(|s| s.key.trim()).collect();
    logged
        .into_iter()
        .enumerate()
        .map(|(i, day)| {
            let mut counts = vec![0; keys.len()];
            for (key, count) in day.counts {
                let Some(stage) = keys.iter().position(|k| *k == key) else {
                    return Err(ApiError::validation(
                        &field(&format!("logged[{i}].counts.{key}")),
                        "is not a stage of the SIM",
                    ));
                };
                counts[stage] = count;
            }
            Ok(DayLog { date: day.date, counts })
        })
        .collect()
}

/// An engine error as a 422 naming the field, under `at`.
pub fn invalid(at: &str) -> impl Fn(GoalError) -> ApiError + '_ {
    move |error| ApiError::validation(&format!("{at}{}", error.field), error.message)
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
    fn referral_rules_lower_the_cold_funnel() {
        let mut body = example();
        body["referral_rules"] =
            json!([{"expected_referrals": 5, "close_rate": 0.2, "value_multiplier": 1.25}]);
        let (status, plan) = post_json(&body);
        assert_eq!(status, 200, "{plan}");
        assert_eq!(plan["totals"], json!([80, 4, 1]));
        assert_eq!(plan["projected_income_cents"], 2_025_000);
        assert_eq!(
            plan["referrals"],
            json!({"rules": [{"referred_deals": 1, "income_per_referred_deal_cents": 1_125_000,
                              "income_cents": 1_125_000}],
                   "referred_deals": 1, "referral_income_cents": 1_125_000,
                   "covered_cents": 1_125_000, "covered_share_ppm": 562_500,
                   "cold_deals_without_referrals": 3, "cold_deals": 1})
        );
        assert!(plan.get("progress").is_none());
    }

    #[test]
    fn with_today_and_the_log_it_answers_the_remaining_effort() {
        let mut body = example();
        body["today"] = json!("2026-01-05");
        body["logged"] = json!([{"date": "2026-01-02", "counts": {"call": 20, "deal": 1}},
                                {"date": "2026-01-05", "counts": {"appointment": 1}}]);
        let (status, answer) = post_json(&body);
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["totals"], json!([240, 12, 3]));
        let progress = &answer["progress"];
        assert_eq!(progress["today"], "2026-01-05");
        assert_eq!(progress["done"], json!([20, 1, 1]));
        assert_eq!(progress["remaining"], json!([220, 11, 2]));
        assert_eq!(progress["open_working_days"], 20);
        // 220 calls left this morning over 20 days: 11 today; the appointment is done.
        assert_eq!(progress["per_day"][0], json!({"start": "2026-01-05", "counts": [11, 0, 1]}));
        assert_eq!(progress["pacing"][0]["level"], "day");
        // By tonight 24 calls, 2 appointments and 2 deals were planned: all behind.
        assert_eq!(progress["pacing"][3]["status"], json!(["behind", "behind", "behind"]));
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
            &|b| b["referral_rules"] = json!([{"expected_referrals": 1, "close_rate": 0}]),
            "referral_rules[0].close_rate",
        );
        check(
            &|b| {
                b["referral_rules"] =
                    json!([{"expected_referrals": 1, "close_rate": 0.5, "value_multiplier": 0.9}])
            },
            "referral_rules[0].value_multiplier",
        );
        check(
            &|b| b["referral_rules"] = json!([{"expected_referrals": -1, "close_rate": 0.5}]),
            "referral_rules[0].expected_referrals",
        );
        check(
            &|b| {
                b["referral_rules"] =
                    json!([{"expected_referrals": 2_000_000_000_000u64, "close_rate": 0.5}])
            },
            "referral_rules[0].expected_referrals",
        );
        check(&|b| b["logged"] = json!([{"date": "2026-01-02", "counts": {"call": 1}}]), "today");
        check(
            &|b| {
                b["today"] = json!("2026-01-05");
                b["logged"] = json!([{"date": "2026-01-02", "counts": {"email": 1}}]);
            },
            "logged[0].counts.email",
        );
        check(
            &|b| {
                b["today"] = json!("2026-01-05");
                b["logged"] = json!([{"date": "2026-01-02", "counts": {"call": -1}}]);
            },
            "logged[0].counts.call",
        );
        check(&|b| b["today"] = json!("yesterday"), "today");
        check(
            &|b| b["calendar"] = json!({"working_weekdays": [6, 7], "days_off": ["2026-01-03", "2026-01-04", "2026-01-10", "2026-01-11", "2026-01-17", "2026-01-18", "2026-01-24", "2026-01-25", "2026-01-31"]}),
            "calendar",
        );
    }
}
