//! What a subscription purchase is and the Checkout Session it becomes, without I/O: the
//! buyer's choice checked against the catalogue and the organization (seats between its members
//! and the plan's limit, add-ons billed like the plan), then Stripe's form.

use serde::Deserialize;
use uuid::Uuid;

use super::form::Form;
use crate::error::ApiError;

/// Stripe takes at most 20 recurring line items in a subscription Checkout Session.
pub const MAX_RECURRING_LINE_ITEMS: usize = 20;

/// Most units of one add-on in one purchase.
pub const MAX_ADD_ON_QUANTITY: u32 = 100;

/// The caller's organization as `billing_account()` answers it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct BillingAccount {
    pub org_id: Uuid,
    pub org_name: String,
    pub org_kind: String,
    pub billing_email: Option<String>,
    pub stripe_customer_id: Option<String>,
    pub member_count: i32,
}

/// A plan or add-on row as the catalogue tables hold it (`max_users` only for plans).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct CatalogueRow {
    pub key: String,
    pub billing_interval: String,
    pub active: bool,
    pub stripe_price_id: Option<String>,
    #[serde(default)]
    pub max_users: Option<i32>,
    /// Read for pilot purchases, which are priced from the plan rather than by its Stripe price.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub price_cents: i64,
    #[serde(default)]
    pub currency: String,
}

/// An add-on asked for, with how many.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AddOnChoice {
    pub key: String,
    #[serde(default = "one")]
    pub quantity: u32,
}

fn one() -> u32 {
    1
}

/// A checked purchase: Stripe price ids with quantities, the plan first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purchase {
    pub plan_key: String,
    pub seats: u32,
    pub line_items: Vec<(String, u32)>,
}

fn not_for_sale(key: &str) -> ApiError {
    ApiError::new(
        http::StatusCode::SERVICE_UNAVAILABLE,
        "billing_unavailable",
        format!("{key} cannot be bought yet: its Stripe price is not synced"),
    )
}

/// Checks the choice against the catalogue rows found (`plan`: the row of the plan asked for,
/// if any; `add_ons`: rows of the add-ons asked for) and the organization's members.
pub fn purchase(
    account: &BillingAccount,
    plan_key: &str,
    plan: Option<&CatalogueRow>,
    seats: Option<u32>,
    choices: &[AddOnChoice],
    add_ons: &[CatalogueRow],
) -> Result<Purchase, ApiError> {
    let plan = plan.filter(|p| p.active).ok_or_else(|| {
        ApiError::validation("plan", format!("no plan named {plan_key} is offered"))
    })?;
    let members = u32::try_from(account.member_count).unwrap_or(0).max(1);
    let seats = seats.unwrap_or(members);
    if seats < members {
        return Err(ApiError::validation(
            "seats",
            format!("the organization has {members} members: buy at least {members} seats"),
        ));
    }
    let max = plan.max_users.and_then(|m| u32::try_from(m).ok());
    if let Some(max) = max.filter(|&max| seats > max) {
        return Err(ApiError::validation(
            "seats",
            format!("the {plan_key} plan takes at most {max} seats"),
        ));
    }
    let plan_price = plan.stripe_price_id.clone().ok_or_else(|| not_for_sale(plan_key))?;
    let mut line_items = vec![(plan_price, seats)];
    for (index, choice) in choices.iter().enumerate() {
        let at = format!("add_ons[{index}]");
        if choices[..index].iter().any(|c| c.key == choice.key) {
            return Err(ApiError::validation(&at, format!("{} is listed twice", choice.key)));
        }
        if !(1..=MAX_ADD_ON_QUANTITY).contains(&choice.quantity) {
            return Err(ApiError::validation(
                &format!("{at}.quantity"),
                format!("between 1 and {MAX_ADD_ON_QUANTITY}"),
            ));
        }
        let row =
            add_ons.iter().find(|row| row.key == choice.key && row.active).ok_or_else(|| {
                ApiError::validation(&at, format!("no add-on named {} is offered", choice.key))
            })?;
        if row.billing_interval != plan.billing_interval {
            return Err(ApiError::validation(
                &at,
                format!(
                    "{} is billed per {}, the {plan_key} plan per {}: choose a plan billed like it",
                    choice.key, row.billing_interval, plan.billing_interval
                ),
            ));
        }
        let price = row.stripe_price_id.clone().ok_or_else(|| not_for_sale(&choice.key))?;
        line_items.push((price, choice.quantity));
    }
    if line_items.len() > MAX_RECURRING_LINE_ITEMS {
        return Err(ApiError::validation("add_ons", "too many add-ons in one purchase"));
    }
    Ok(Purchase { plan_key: plan_key.to_owned(), seats, line_items })
}

/// Where Checkout sends the customer back.
pub struct ReturnUrls<'a> {
    pub success: &'a str,
    pub cancel: Option<&'a str>,
}

/// The Checkout Session for a subscription: the organization in `client_reference_id` and in
/// the metadata of the session and of the subscription it creates (so every later event names
/// it), the plan's price with the seats as quantity, then the add-ons.
pub fn subscription_session(
    account: &BillingAccount,
    customer_id: &str,
    purchase: &Purchase,
    urls: &ReturnUrls,
) -> Form {
    let org = account.org_id.to_string();
    let metadata = [("org_id", org.as_str()), ("plan", purchase.plan_key.as_str())];
    Form::new()
        .field("mode", "subscription")
        .field("customer", customer_id)
        .field("client_reference_id", &org)
        .list(
            "line_items",
            purchase.line_items.iter().map(|(price, quantity)| {
                [("price", price.clone()), ("quantity", quantity.to_string())]
            }),
        )
        .map("metadata", metadata)
        .map("subscription_data[metadata]", metadata)
        .field("success_url", urls.success)
        .optional("cancel_url", urls.cancel)
}

/// The Checkout Session for a pilot purchase ("proof"): one payment of the plan's price for the
/// seats, authorised now and captured only when the admin decides (`capture_method=manual`); the
/// payment intent carries the organization so the hold can be recorded from Stripe's events.
pub fn proof_session(
    account: &BillingAccount,
    customer_id: &str,
    plan: &CatalogueRow,
    seats: u32,
    urls: &ReturnUrls,
) -> Form {
    let org = account.org_id.to_string();
    let metadata = [("org_id", org.as_str()), ("kind", "proof"), ("plan", plan.key.as_str())];
    let description = format!("Pilot of {} for {seats} seats", plan.name);
    Form::new()
        .field("mode", "payment")
        .field("customer", customer_id)
        .field("client_reference_id", &org)
        .field("line_items[0][price_data][currency]", &plan.currency)
        .field("line_items[0][price_data][unit_amount]", plan.price_cents)
        .field("line_items[0][price_data][product_data][name]", &description)
        .field("line_items[0][quantity]", seats)
        .field("payment_intent_data[capture_method]", "manual")
        .field("payment_intent_data[description]", &description)
        .map("payment_intent_data[metadata]", metadata)
        .map("metadata", metadata)
        .field("success_url", urls.success)
        .optional("cancel_url", urls.cancel)
}

/// The customer Stripe keeps for the organization; created once per organization (the
/// Idempotency-Key is [`customer_idempotency_key`]).
pub fn customer_form(account: &BillingAccount) -> Form {
    let org = account.org_id.to_string();
    Form::new()
        .field("name", &account.org_name)
        .optional("email", account.billing_email.as_deref())
        .map("metadata", [("org_id", org.as_str())])
}

pub fn customer_idempotency_key(account: &BillingAccount) -> String {
    format!("salespulse-customer-{}", account.org_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(members: i32) -> BillingAccount {
        BillingAccount {
            org_id: Uuid::from_u128(7),
            org_name: "Acme".into(),
            org_kind: "team".into(),
            billing_email: Some("admin@acme.test".into()),
            stripe_customer_id: None,
            member_count: members,
        }
    }

    fn row(key: &str, interval: &str, price: Option<&str>, max_users: Option<i32>) -> CatalogueRow {
        CatalogueRow {
            key: key.into(),
            billing_interval: interval.into(),
            active: true,
            stripe_price_id: price.map(Into::into),
            max_users,
            name: key.to_uppercase(),
            price_cents: 4900,
            currency: "usd".into(),
        }
    }

    fn choice(key: &str, quantity: u32) -> AddOnChoice {
        AddOnChoice { key: key.into(), quantity }
    }

    fn check_refused(result: Result<Purchase, ApiError>, status: u16, starts: &str) {
        let error = result.unwrap_err();
        assert_eq!(error.status.as_u16(), status, "{error}");
        assert!(
            error.message.starts_with(starts),
            "{:?} should start with {starts:?}",
            error.message
        );
    }

    #[test]
    fn seats_default_to_the_members_and_add_ons_follow_the_plan() {
        let team = row("team", "month", Some("price_team"), Some(50));
        let voice = row("voice", "month", Some("price_voice"), None);
        let purchase =
            purchase(&account(4), "team", Some(&team), None, &[choice("voice", 2)], &[voice])
                .unwrap();
        assert_eq!(purchase.seats, 4);
        assert_eq!(
            purchase.line_items,
            [("price_team".to_owned(), 4), ("price_voice".to_owned(), 2)]
        );
    }

    #[test]
    fn seats_must_cover_the_members_and_fit_the_plan() {
        let team = row("team", "month", Some("price_team"), Some(50));
        check_refused(
            purchase(&account(4), "team", Some(&team), Some(3), &[], &[]),
            422,
            "seats: the organization has 4 members",
        );
        check_refused(
            purchase(&account(4), "team", Some(&team), Some(51), &[], &[]),
            422,
            "seats: the team plan takes at most 50",
        );
        assert_eq!(purchase(&account(0), "team", Some(&team), None, &[], &[]).unwrap().seats, 1);
    }

    #[test]
    fn unknown_retired_or_unsynced_offers_are_refused() {
        let mut retired = row("old", "month", Some("price_old"), Some(5));
        retired.active = false;
        check_refused(
            purchase(&account(1), "old", Some(&retired), None, &[], &[]),
            422,
            "plan: no plan named old",
        );
        check_refused(
            purchase(&account(1), "nope", None, None, &[], &[]),
            422,
            "plan: no plan named nope",
        );
        let unsynced = row("team", "month", None, Some(5));
        check_refused(
            purchase(&account(1), "team", Some(&unsynced), None, &[], &[]),
            503,
            "team cannot be bought yet",
        );
        let team = row("team", "month", Some("price_team"), Some(5));
        check_refused(
            purchase(&account(1), "team", Some(&team), None, &[choice("ghost", 1)], &[]),
            422,
            "add_ons[0]: no add-on named ghost",
        );
    }

    #[test]
    fn add_ons_must_be_distinct_sensible_and_billed_like_the_plan() {
        let annual = row("team_annual", "year", Some("price_annual"), Some(5));
        let voice = row("voice", "month", Some("price_voice"), None);
        check_refused(
            purchase(
                &account(1),
                "team_annual",
                Some(&annual),
                None,
                &[choice("voice", 1)],
                std::slice::from_ref(&voice),
            ),
            422,
            "add_ons[0]: voice is billed per month, the team_annual plan per year",
        );
        let team = row("team", "month", Some("price_team"), Some(5));
        check_refused(
            purchase(
                &account(1),
                "team",
                Some(&team),
                None,
                &[choice("voice", 1), choice("voice", 2)],
                std::slice::from_ref(&voice),
            ),
            422,
            "add_ons[1]: voice is listed twice",
        );
        check_refused(
            purchase(&account(1), "team", Some(&team), None, &[choice("voice", 0)], &[voice]),
            422,
            "add_ons[0].quantity",
        );
    }

    #[test]
    fn the_session_names_the_organization_everywhere_stripe_reports_it() {
        let purchase = Purchase {
            plan_key: "team".into(),
            seats: 12,
            line_items: vec![("price_team".into(), 12), ("price_voice".into(), 1)],
        };
        let urls =
            ReturnUrls { success: "https://app.test/ok", cancel: Some("https://app.test/no") };
        let form = subscription_session(&account(3), "cus_1", &purchase, &urls);
        let org = Uuid::from_u128(7);
        assert_eq!(
            form.encode(),
            format!(
                "mode=subscription&customer=cus_1&client_reference_id={org}\
                 &line_items[0][price]=price_team&line_items[0][quantity]=12\
                 &line_items[1][price]=price_voice&line_items[1][quantity]=1\
                 &metadata[org_id]={org}&metadata[plan]=team\
                 &subscription_data[metadata][org_id]={org}&subscription_data[metadata][plan]=team\
                 &success_url=https%3A%2F%2Fapp.test%2Fok&cancel_url=https%3A%2F%2Fapp.test%2Fno"
            )
        );
    }

    #[test]
    fn a_proof_is_one_held_payment_of_the_plans_price_for_the_seats() {
        let team = row("team", "month", Some("price_team"), Some(50));
        let urls = ReturnUrls { success: "https://app.test/ok", cancel: None };
        let form = proof_session(&account(3), "cus_1", &team, 3, &urls).encode();
        let org = Uuid::from_u128(7);
        for expected in [
            "mode=payment".to_owned(),
            "line_items[0][price_data][unit_amount]=4900&line_items[0][price_data][product_data][name]=Pilot%20of%20TEAM%20for%203%20seats&line_items[0][quantity]=3".to_owned(),
            "payment_intent_data[capture_method]=manual".to_owned(),
            format!("payment_intent_data[metadata][org_id]={org}&payment_intent_data[metadata][kind]=proof"),
            format!("metadata[org_id]={org}&metadata[kind]=proof&metadata[plan]=team"),
            format!("client_reference_id={org}"),
        ] {
            assert!(form.contains(&expected), "{form} lacks {expected}");
        }
    }

    #[test]
    fn the_customer_is_made_once_per_organization() {
        let form = customer_form(&account(1));
        assert_eq!(
            form.encode(),
            format!("name=Acme&email=admin%40acme.test&metadata[org_id]={}", Uuid::from_u128(7))
        );
        assert_eq!(
            customer_idempotency_key(&account(1)),
            format!("salespulse-customer-{}", Uuid::from_u128(7))
        );
    }
}
