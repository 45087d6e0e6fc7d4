//! `/v1/checkout/sessions` (create, list, retrieve, line items), `/v1/billing_portal/sessions`,
//! and the test-only completion that sends the signed events Stripe sends when a customer pays.

use serde_json::{Value, json};

use crate::params::{Params, Shape, StripeError, check};
use crate::{Answer, App, Call, localstripe_object, now};

const PRODUCT_DATA: Shape = Shape::Object(&[
    ("name", Shape::Text),
    ("description", Shape::Text),
    ("metadata", Shape::Metadata),
]);
const RECURRING: Shape =
    Shape::Object(&[("interval", Shape::Text), ("interval_count", Shape::Text)]);
const PRICE_DATA: Shape = Shape::Object(&[
    ("currency", Shape::Text),
    ("product", Shape::Text),
    ("product_data", PRODUCT_DATA),
    ("recurring", RECURRING),
    ("tax_behavior", Shape::Text),
    ("unit_amount", Shape::Text),
]);
const ADJUSTABLE: Shape =
    Shape::Object(&[("enabled", Shape::Text), ("minimum", Shape::Text), ("maximum", Shape::Text)]);
const LINE_ITEM: Shape = Shape::Object(&[
    ("price", Shape::Text),
    ("price_data", PRICE_DATA),
    ("quantity", Shape::Text),
    ("adjustable_quantity", ADJUSTABLE),
    ("tax_rates", Shape::List(&Shape::Text)),
]);
const SUBSCRIPTION_DATA: Shape = Shape::Object(&[
    ("metadata", Shape::Metadata),
    ("description", Shape::Text),
    ("trial_period_days", Shape::Text),
]);
const PAYMENT_INTENT_DATA: Shape = Shape::Object(&[
    ("capture_method", Shape::Text),
    ("description", Shape::Text),
    ("metadata", Shape::Metadata),
    ("setup_future_usage", Shape::Text),
]);
const CREATE: Shape = Shape::Object(&[
    ("mode", Shape::Text),
    ("line_items", Shape::List(&LINE_ITEM)),
    ("success_url", Shape::Text),
    ("cancel_url", Shape::Text),
    ("customer", Shape::Text),
    ("customer_email", Shape::Text),
    ("client_reference_id", Shape::Text),
    ("metadata", Shape::Metadata),
    ("subscription_data", SUBSCRIPTION_DATA),
    ("payment_intent_data", PAYMENT_INTENT_DATA),
    ("allow_promotion_codes", Shape::Text),
    ("billing_address_collection", Shape::Text),
    ("locale", Shape::Text),
    ("expires_at", Shape::Text),
    ("payment_method_types", Shape::List(&Shape::Text)),
    ("expand", Shape::List(&Shape::Text)),
]);
const PORTAL: Shape = Shape::Object(&[
    ("customer", Shape::Text),
    ("return_url", Shape::Text),
    ("configuration", Shape::Text),
    ("locale", Shape::Text),
    ("expand", Shape::List(&Shape::Text)),
]);

/// Most line items per session: payment mode 100; subscription mode 20 recurring plus 20
/// one-time (Stripe's documented limits).
const MAX_PAYMENT_ITEMS: usize = 100;
const MAX_SUBSCRIPTION_ITEMS_PER_KIND: usize = 20;

pub struct Session {
    pub object: Value,
    pub line_items: Vec<Value>,
    /// `subscription_data` / `payment_intent_data` as sent, for what completing it creates.
    pub params: Value,
}

fn url_param(p: &Params, name: &str) -> Result<Option<String>, StripeError> {
    match p.text(name) {
        None => Ok(None),
        Some(url)
            if (url.starts_with("https://") || url.starts_with("http://")) && url.len() <= 5000 =>
        {
            Ok(Some(url.to_owned()))
        }
        Some(_) => Err(StripeError::invalid(Some("url_invalid"), Some(name), "Not a valid URL")),
    }
}

pub async fn create(app: App, call: Call) -> Answer {
    check(&call.params, &CREATE, "")?;
    let p = Params(&call.params);
    let mode = p.required("mode")?;
    if !["payment", "setup", "subscription"].contains(&mode) {
        return Err(StripeError::invalid(
            None,
            Some("mode"),
            "Invalid mode: must be one of payment, setup, or subscription",
        ));
    }
    let success_url =
        url_param(&p, "success_url")?.ok_or_else(|| StripeError::missing("success_url"))?;
    let cancel_url = url_param(&p, "cancel_url")?;
    if p.text("customer").is_some() && p.text("customer_email").is_some() {
        return Err(StripeError::invalid(
            None,
            Some("customer_email"),
            "You may only specify one of these parameters: customer, customer_email.",
        ));
    }
    if let Some(customer) = p.text("customer") {
        localstripe_object(&app, &call.api_key, &format!("/v1/customers/{customer}"))
            .await
            .ok_or_else(|| StripeError::no_such("customer", customer, "customer"))?;
    }
    if p.text("client_reference_id").is_some_and(|id| id.chars().count() > 200) {
        return Err(StripeError::invalid(
            None,
            Some("client_reference_id"),
            "client_reference_id must be at most 200 characters.",
        ));
    }
    if mode != "payment" && call.params.get("payment_intent_data").is_some() {
        return Err(StripeError::invalid(
            None,
            Some("payment_intent_data"),
            format!("You can not pass `payment_intent_data` in `{mode}` mode."),
        ));
    }
    if mode != "subscription" && call.params.get("subscription_data").is_some() {
        return Err(StripeError::invalid(
            None,
            Some("subscription_data"),
            format!("You can not pass `subscription_data` in `{mode}` mode."),
        ));
    }
    let capture = p.child("payment_intent_data").and_then(|d| d.text("capture_method"));
    if capture.is_some_and(|c| !["automatic", "automatic_async", "manual"].contains(&c)) {
        return Err(StripeError::invalid(
            None,
            Some("payment_intent_data[capture_method]"),
            "Invalid payment_intent_data[capture_method]: must be one of automatic, automatic_async, or manual",
        ));
    }
    let items =
        call.params.get("line_items").and_then(Value::as_array).cloned().unwrap_or_default();
    if mode != "setup" && items.is_empty() {
        return Err(StripeError::missing("line_items"));
    }
    let mut line_items = Vec::new();
    let mut store = app.store.lock().unwrap();
    for (index, item) in items.iter().enumerate() {
        let at = |field: &str| format!("line_items[{index}][{field}]");
        let item = Params(item);
        let quantity = item
            .integer("quantity", &at("quantity"))?
            .ok_or_else(|| StripeError::missing(&at("quantity")))?;
        if !(1..=999_999).contains(&quantity) {
            return Err(StripeError::invalid(
                None,
                Some(&at("quantity")),
                "Quantity must be between 1 and 999999.",
            ));
        }
        let price = match (item.text("price"), item.child("price_data")) {
            (Some(id), None) => {
                let price = store
                    .prices
                    .iter()
                    .find(|p| p["id"] == id)
                    .cloned()
                    .ok_or_else(|| StripeError::no_such("price", id, &at("price")))?;
                if price["active"] != true {
                    return Err(StripeError::invalid(
                        None,
                        Some(&at("price")),
                        "The price specified is inactive. This field only accepts active prices.",
                    ));
                }
                price
            }
            (None, Some(data)) => inline_price(&mut store, &data, &at("price_data"))?,
            (Some(_), Some(_)) => {
                return Err(StripeError::invalid(
                    None,
                    Some(&at("price_data")),
                    "You may only specify one of these parameters: price, price_data.",
                ));
            }
            (None, None) => return Err(StripeError::missing(&at("price"))),
        };
        let amount = price["unit_amount"].as_i64().unwrap_or(0) * quantity;
        line_items.push(json!({
            "id": store.new_id("li"), "object": "item", "amount_discount": 0,
            "amount_subtotal": amount, "amount_tax": 0, "amount_total": amount,
            "currency": price["currency"], "description": price["nickname"].as_str().or(price["lookup_key"].as_str()).unwrap_or(""),
            "price": price, "quantity": quantity,
        }));
    }
    let recurring = line_items.iter().filter(|li| li["price"]["type"] == "recurring").count();
    let one_time = line_items.len() - recurring;
    match mode {
        "subscription" => {
            if recurring == 0 {
                return Err(StripeError::invalid(
                    None,
                    Some("line_items"),
                    "You must provide at least one recurring price in `subscription` mode when using prices.",
                ));
            }
            if recurring > MAX_SUBSCRIPTION_ITEMS_PER_KIND
                || one_time > MAX_SUBSCRIPTION_ITEMS_PER_KIND
            {
                return Err(StripeError::invalid(
                    None,
                    Some("line_items"),
                    format!(
                        "`line_items` in `subscription` mode may hold at most {MAX_SUBSCRIPTION_ITEMS_PER_KIND} recurring and {MAX_SUBSCRIPTION_ITEMS_PER_KIND} one-time prices."
                    ),
                ));
            }
            let intervals: Vec<&Value> = line_items
                .iter()
                .map(|li| &li["price"]["recurring"])
                .filter(|r| !r.is_null())
                .collect();
            if intervals.windows(2).any(|w| {
                w[0]["interval"] != w[1]["interval"]
                    || w[0]["interval_count"] != w[1]["interval_count"]
            }) {
                return Err(StripeError::invalid(
                    None,
                    Some("line_items"),
                    "Checkout does not support multiple prices with different billing intervals.",
                ));
            }
        }
        "payment" => {
            if recurring > 0 {
                return Err(StripeError::invalid(
                    None,
                    Some("line_items"),
                    "You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.",
                ));
            }
            if line_items.len() > MAX_PAYMENT_ITEMS {
                return Err(StripeError::invalid(
                    None,
                    Some("line_items"),
                    format!(
                        "`line_items` in `payment` mode may hold at most {MAX_PAYMENT_ITEMS} items."
                    ),
                ));
            }
        }
        _ => {}
    }
    let currencies: Vec<&Value> = line_items.iter().map(|li| &li["currency"]).collect();
    if currencies.windows(2).any(|w| w[0] != w[1]) {
        return Err(StripeError::invalid(
            None,
            Some("line_items"),
            "All line items must share one currency.",
        ));
    }
    let total: i64 = line_items.iter().map(|li| li["amount_total"].as_i64().unwrap_or(0)).sum();
    let id = store.new_id("cs_test");
    let object = json!({
        "id": id, "object": "checkout.session", "amount_subtotal": total, "amount_total": total,
        "cancel_url": cancel_url, "client_reference_id": p.text("client_reference_id"),
        "created": now(), "currency": currencies.first().cloned().cloned(),
        "customer": p.text("customer"), "customer_email": p.text("customer_email"),
        "expires_at": now() + 24 * 3600, "invoice": null, "livemode": false,
        "metadata": p.metadata(), "mode": mode, "payment_intent": null,
        "payment_status": "unpaid", "status": "open", "subscription": null,
        "success_url": success_url, "ui_mode": "hosted",
        "url": format!("{}/c/pay/{id}", app.base_url),
    });
    store.sessions.push(Session {
        object: object.clone(),
        line_items,
        params: call.params.clone(),
    });
    Ok(object)
}

/// A price made for one line item from `price_data`, as Stripe does (not listed, not reusable).
fn inline_price(store: &mut crate::Store, data: &Params, at: &str) -> Result<Value, StripeError> {
    let currency = data
        .text("currency")
        .filter(|c| c.len() == 3)
        .ok_or_else(|| StripeError::missing(&format!("{at}[currency]")))?;
    let unit_amount = data
        .integer("unit_amount", &format!("{at}[unit_amount]"))?
        .ok_or_else(|| StripeError::missing(&format!("{at}[unit_amount]")))?;
    if unit_amount < 0 {
        return Err(StripeError::invalid(
            None,
            Some(&format!("{at}[unit_amount]")),
            "This value must be greater than or equal to 0.",
        ));
    }
    let name = match (data.text("product"), data.child("product_data")) {
        (Some(product), None) => product.to_owned(),
        (None, Some(product)) => product
            .text("name")
            .filter(|n| !n.is_empty())
            .ok_or_else(|| StripeError::missing(&format!("{at}[product_data][name]")))?
            .to_owned(),
        _ => return Err(StripeError::missing(&format!("{at}[product_data]"))),
    };
    let recurring = data.child("recurring").map(|r| json!({"interval": r.text("interval"), "interval_count": r.integer("interval_count", "").ok().flatten().unwrap_or(1)}));
    Ok(json!({
        "id": store.new_id("price"), "object": "price", "active": false, "currency": currency,
        "lookup_key": null, "nickname": name, "product": null, "metadata": {},
        "recurring": recurring, "type": if recurring.is_some() { "recurring" } else { "one_time" },
        "unit_amount": unit_amount,
    }))
}

pub async fn list(app: App, call: Call) -> Answer {
    let p = Params(&call.params);
    let store = app.store.lock().unwrap();
    let data: Vec<Value> = store
        .sessions
        .iter()
        .rev()
        .map(|s| &s.object)
        .filter(|s| p.text("customer").is_none_or(|c| s["customer"] == c))
        .cloned()
        .collect();
    Ok(json!({"object": "list", "data": data, "has_more": false, "url": "/v1/checkout/sessions"}))
}

pub async fn retrieve(app: App, _call: Call, id: String) -> Answer {
    let store = app.store.lock().unwrap();
    store
        .sessions
        .iter()
        .find(|s| s.object["id"] == id.as_str())
        .map(|s| s.object.clone())
        .ok_or_else(|| StripeError::no_such("checkout.session", &id, ""))
}

pub async fn line_items(app: App, _call: Call, id: String) -> Answer {
    let store = app.store.lock().unwrap();
    let session = store
        .sessions
        .iter()
        .find(|s| s.object["id"] == id.as_str())
        .ok_or_else(|| StripeError::no_such("checkout.session", &id, ""))?;
    Ok(json!({"object": "list", "data": session.line_items, "has_more": false,
              "url": format!("/v1/checkout/sessions/{id}/line_items")}))
}

pub async fn portal(app: App, call: Call) -> Answer {
    check(&call.params, &PORTAL, "")?;
    let p = Params(&call.params);
    let customer = p.required("customer")?;
    localstripe_object(&app, &call.api_key, &format!("/v1/customers/{customer}"))
        .await
        .ok_or_else(|| StripeError::no_such("customer", customer, "customer"))?;
    let return_url = url_param(&p, "return_url")?;
    let id = app.store.lock().unwrap().new_id("bps");
    Ok(json!({
        "id": id, "object": "billing_portal.session", "configuration": "bpc_fake_default",
        "created": now(), "customer": customer, "livemode": false, "locale": p.text("locale"),
        "on_behalf_of": null, "return_url": return_url,
        "url": format!("{}/p/session/{id}", app.base_url),
    }))
}

/// Completes an open session as a paying customer would, and sends the signed events Stripe
/// sends to the webhook endpoint: for a subscription `customer.subscription.created`,
/// `invoice.paid` and `checkout.session.completed`; for a payment, the payment intent made in
/// localstripe with a test card (`payment_intent.amount_capturable_updated` when held by
/// `capture_method=manual`, else `payment_intent.succeeded`) and `checkout.session.completed`. Answers the events and each delivery's
/// status.
pub async fn complete(app: App, id: String, body: axum::body::Bytes) -> Answer {
    let options: Value = serde_json::from_slice(&body).unwrap_or(json!({}));
    let webhook_url =
        options["webhook_url"].as_str().map(str::to_owned).or(app.webhook_url.clone());
    let (Some(webhook_url), Some(secret)) = (webhook_url, app.webhook_secret.clone()) else {
        return Err(StripeError::invalid(None, None, "no webhook endpoint is configured"));
    };
    let api_key = "sk_test_stripe_fake";
    let (session, items, params) = {
        let store = app.store.lock().unwrap();
        let session = store
            .sessions
            .iter()
            .find(|s| s.object["id"] == id.as_str())
            .ok_or_else(|| StripeError::no_such("checkout.session", &id, ""))?;
        if session.object["status"] != "open" {
            return Err(StripeError::invalid(
                None,
                None,
                "This Checkout Session is no longer open.",
            ));
        }
        (session.object.clone(), session.line_items.clone(), session.params.clone())
    };
    let customer = match session["customer"].as_str() {
        Some(customer) => customer.to_owned(),
        None => {
            let email = session["customer_email"].as_str().unwrap_or("buyer@example.com");
            let created =
                crate::localstripe_post(&app, api_key, "/v1/customers", &[("email", email)])
                    .await?;
            created["id"].as_str().unwrap_or_default().to_owned()
        }
    };
    let mut events = Vec::new();
    let mut completed = session.clone();
    completed["status"] = json!("complete");
    completed["customer"] = json!(customer);
    if session["mode"] == "subscription" {
        let (subscription, invoice) = {
            let mut store = app.store.lock().unwrap();
            let subscription_id = store.new_id("sub");
            let invoice_id = store.new_id("in");
            let start = now();
            let period_end = start + period_seconds(&items);
            let subscription_items: Vec<Value> = items.iter().map(|li| json!({
                "id": store.new_id("si"), "object": "subscription_item", "created": start,
                "price": li["price"], "quantity": li["quantity"], "subscription": subscription_id,
                "metadata": {},
            })).collect();
            let metadata = params
                .get("subscription_data")
                .and_then(|d| d.get("metadata"))
                .cloned()
                .unwrap_or(json!({}));
            let subscription = json!({
                "id": subscription_id, "object": "subscription", "cancel_at": null,
                "cancel_at_period_end": false, "canceled_at": null, "created": start,
                "currency": session["currency"], "current_period_start": start,
                "current_period_end": period_end, "customer": customer, "ended_at": null,
                "items": {"object": "list", "data": subscription_items, "has_more": false},
                "latest_invoice": invoice_id, "livemode": false, "metadata": metadata,
                "quantity": items.first().map(|li| li["quantity"].clone()), "start_date": start,
                "status": "active",
            });
            let invoice = json!({
                "id": invoice_id, "object": "invoice", "amount_due": session["amount_total"],
                "amount_paid": session["amount_total"], "amount_remaining": 0,
                "billing_reason": "subscription_create", "created": start,
                "currency": session["currency"], "customer": customer, "paid": true,
                "period_start": start, "period_end": period_end, "status": "paid",
                "subscription": subscription_id,
            });
            (subscription, invoice)
        };
        completed["subscription"] = subscription["id"].clone();
        completed["invoice"] = invoice["id"].clone();
        completed["payment_status"] = json!("paid");
        events.push(("customer.subscription.created", subscription));
        events.push(("invoice.paid", invoice));
    } else if session["mode"] == "payment" {
        let intent = params.get("payment_intent_data");
        let capture = intent
            .and_then(|d| d.get("capture_method"))
            .and_then(Value::as_str)
            .unwrap_or("automatic");
        let metadata = intent.and_then(|d| d.get("metadata")).cloned().unwrap_or(json!({}));
        let payment_intent =
            pay_in_localstripe(&app, api_key, &customer, &session, capture, &metadata).await?;
        completed["payment_intent"] = payment_intent["id"].clone();
        if capture == "manual" {
            // Authorised, not captured: the funds are not the merchant's yet.
            events.push(("payment_intent.amount_capturable_updated", payment_intent));
        } else {
            completed["payment_status"] = json!("paid");
            events.push(("payment_intent.succeeded", payment_intent));
        }
    }
    events.push(("checkout.session.completed", completed.clone()));
    {
        let mut store = app.store.lock().unwrap();
        if let Some(stored) = store.sessions.iter_mut().find(|s| s.object["id"] == id.as_str()) {
            stored.object = completed.clone();
        }
    }
    let mut sent = Vec::new();
    for (kind, object) in events {
        let event_id = app.store.lock().unwrap().new_id("evt");
        let event = json!({
            "id": event_id, "object": "event", "api_version": "2024-06-20", "created": now(),
            "data": {"object": object}, "livemode": false, "pending_webhooks": 1,
            "request": {"id": null, "idempotency_key": null}, "type": kind,
        });
        let payload = event.to_string();
        let signature =
            shared::testing::stripe_signature_header(&secret, now(), payload.as_bytes());
        let status = match app
            .http
            .post(&webhook_url)
            .header("content-type", "application/json; charset=utf-8")
            .header("stripe-signature", signature)
            .body(payload)
            .send()
            .await
        {
            Ok(answer) => answer.status().as_u16(),
            Err(_) => 0,
        };
        sent.push(json!({"event": event, "delivery_status": status}));
    }
    Ok(json!({"session": completed, "deliveries": sent}))
}

/// One billing period of the session's recurring prices, in seconds (months as 30 days).
fn period_seconds(items: &[Value]) -> u64 {
    let recurring = items.iter().map(|li| &li["price"]["recurring"]).find(|r| !r.is_null());
    let count = recurring.and_then(|r| r["interval_count"].as_u64()).unwrap_or(1);
    let unit = match recurring.and_then(|r| r["interval"].as_str()) {
        Some("day") => 86_400,
        Some("week") => 7 * 86_400,
        Some("year") => 365 * 86_400,
        _ => 30 * 86_400,
    };
    count * unit
}

/// The payment a customer makes at Checkout, made in localstripe with a test card: a payment
/// intent confirmed at once, held when `capture` is manual. Answers it once localstripe's charge
/// has settled.
async fn pay_in_localstripe(
    app: &App,
    api_key: &str,
    customer: &str,
    session: &Value,
    capture: &str,
    metadata: &Value,
) -> Result<Value, StripeError> {
    let card = crate::localstripe_post(
        app,
        api_key,
        "/v1/payment_methods",
        &[
            ("type", "card"),
            ("card[number]", "4242424242424242"),
            ("card[exp_month]", "12"),
            ("card[exp_year]", "2034"),
            ("card[cvc]", "123"),
        ],
    )
    .await?;
    let amount = session["amount_total"].as_i64().unwrap_or(0).to_string();
    let currency = session["currency"].as_str().unwrap_or("usd");
    let payment_method = card["id"].as_str().unwrap_or_default();
    let mut fields = vec![
        ("amount", amount.as_str()),
        ("currency", currency),
        ("customer", customer),
        ("payment_method", payment_method),
        ("capture_method", capture),
        ("confirm", "true"),
    ];
    let pairs: Vec<(String, String)> = metadata
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (format!("metadata[{k}]"), v.as_str().unwrap_or("").to_owned()))
                .collect()
        })
        .unwrap_or_default();
    fields.extend(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let created = crate::localstripe_post(app, api_key, "/v1/payment_intents", &fields).await?;
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    let settled = if capture == "manual" { "requires_capture" } else { "succeeded" };
    for _ in 0..50 {
        let intent = localstripe_object(app, api_key, &format!("/v1/payment_intents/{id}"))
            .await
            .unwrap_or_default();
        if intent["status"] == settled {
            return Ok(intent);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Err(StripeError::invalid(
        None,
        None,
        format!("localstripe's payment intent {id} did not reach {settled}"),
    ))
}
