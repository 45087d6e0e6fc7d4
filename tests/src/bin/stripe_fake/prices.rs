//! `/v1/prices`: create (with `lookup_key` unique across prices unless `transfer_lookup_key`),
//! list (newest first; `active`, `product`, `lookup_keys[]`, `type`, pagination), retrieve and
//! update (`active`, `lookup_key`, `metadata`, `nickname`; the amount cannot change).

use serde_json::{Value, json};

use crate::params::{Params, Shape, StripeError, check};
use crate::{Answer, App, Call, localstripe_object, now};

const RECURRING: Shape = Shape::Object(&[
    ("interval", Shape::Text),
    ("interval_count", Shape::Text),
    ("usage_type", Shape::Text),
    ("trial_period_days", Shape::Text),
]);
const PRODUCT_DATA: Shape = Shape::Object(&[
    ("name", Shape::Text),
    ("active", Shape::Text),
    ("metadata", Shape::Metadata),
    ("statement_descriptor", Shape::Text),
    ("unit_label", Shape::Text),
]);
const EXPAND: Shape = Shape::List(&Shape::Text);
const CREATE: Shape = Shape::Object(&[
    ("active", Shape::Text),
    ("billing_scheme", Shape::Text),
    ("currency", Shape::Text),
    ("lookup_key", Shape::Text),
    ("metadata", Shape::Metadata),
    ("nickname", Shape::Text),
    ("product", Shape::Text),
    ("product_data", PRODUCT_DATA),
    ("recurring", RECURRING),
    ("tax_behavior", Shape::Text),
    ("transfer_lookup_key", Shape::Text),
    ("unit_amount", Shape::Text),
    ("expand", EXPAND),
]);
const UPDATE: Shape = Shape::Object(&[
    ("active", Shape::Text),
    ("lookup_key", Shape::Text),
    ("metadata", Shape::Metadata),
    ("nickname", Shape::Text),
    ("tax_behavior", Shape::Text),
    ("transfer_lookup_key", Shape::Text),
    ("expand", EXPAND),
]);
const LIST: Shape = Shape::Object(&[
    ("active", Shape::Text),
    ("currency", Shape::Text),
    ("limit", Shape::Text),
    ("lookup_keys", Shape::List(&Shape::Text)),
    ("product", Shape::Text),
    ("starting_after", Shape::Text),
    ("ending_before", Shape::Text),
    ("type", Shape::Text),
    ("expand", EXPAND),
]);

pub async fn create(app: App, call: Call) -> Answer {
    check(&call.params, &CREATE, "")?;
    let p = Params(&call.params);
    let currency = p.required("currency")?.to_ascii_lowercase();
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_lowercase()) {
        return Err(StripeError::invalid(
            None,
            Some("currency"),
            format!("Invalid currency: {currency}."),
        ));
    }
    let unit_amount = p
        .integer("unit_amount", "unit_amount")?
        .ok_or_else(|| StripeError::missing("unit_amount"))?;
    if !(0..=99_999_999).contains(&unit_amount) {
        return Err(StripeError::invalid(
            None,
            Some("unit_amount"),
            "This value must be between 0 and 99999999.",
        ));
    }
    let recurring = match p.child("recurring") {
        None => Value::Null,
        Some(r) => {
            let interval =
                r.required("interval").map_err(|_| StripeError::missing("recurring[interval]"))?;
            if !["day", "week", "month", "year"].contains(&interval) {
                return Err(StripeError::invalid(
                    None,
                    Some("recurring[interval]"),
                    "Invalid recurring[interval]: must be one of day, week, month, or year",
                ));
            }
            let count = r.integer("interval_count", "recurring[interval_count]")?.unwrap_or(1);
            json!({"aggregate_usage": null, "interval": interval, "interval_count": count,
                   "meter": null, "trial_period_days": null,
                   "usage_type": r.text("usage_type").unwrap_or("licensed")})
        }
    };
    let product = match (p.text("product"), p.child("product_data")) {
        (Some(_), Some(_)) => {
            return Err(StripeError::invalid(
                None,
                Some("product_data"),
                "You may only specify one of these parameters: product, product_data.",
            ));
        }
        (Some(id), None) => {
            localstripe_object(&app, &call.api_key, &format!("/v1/products/{id}"))
                .await
                .ok_or_else(|| StripeError::no_such("product", id, "product"))?;
            id.to_owned()
        }
        (None, Some(data)) => {
            let name =
                data.required("name").map_err(|_| StripeError::missing("product_data[name]"))?;
            create_product(&app, &call.api_key, name).await?
        }
        (None, None) => return Err(StripeError::missing("product")),
    };
    let lookup_key = p.text("lookup_key").map(str::to_owned);
    if lookup_key.as_ref().is_some_and(|k| k.chars().count() > 200) {
        return Err(StripeError::invalid(
            None,
            Some("lookup_key"),
            "lookup_key must be at most 200 characters.",
        ));
    }
    let transfer = p.boolean("transfer_lookup_key")?.unwrap_or(false);
    let active = p.boolean("active")?.unwrap_or(true);

    let mut store = app.store.lock().unwrap();
    if let Some(key) = &lookup_key {
        claim_lookup_key(&mut store.prices, key, transfer, None)?;
    }
    let id = store.new_id("price");
    let price = json!({
        "id": id, "object": "price", "active": active, "billing_scheme": "per_unit",
        "created": now(), "currency": currency, "custom_unit_amount": null, "livemode": false,
        "lookup_key": lookup_key, "metadata": p.metadata(), "nickname": p.text("nickname"),
        "product": product, "recurring": recurring,
        "tax_behavior": p.text("tax_behavior").unwrap_or("unspecified"), "tiers_mode": null,
        "transform_quantity": null,
        "type": if call.params.get("recurring").is_some() { "recurring" } else { "one_time" },
        "unit_amount": unit_amount, "unit_amount_decimal": unit_amount.to_string(),
    });
    store.prices.push(price.clone());
    Ok(price)
}

/// A product made in localstripe for `product_data`.
async fn create_product(app: &App, api_key: &str, name: &str) -> Result<String, StripeError> {
    let product = crate::localstripe_post(
        app,
        api_key,
        "/v1/products",
        &[("name", name), ("type", "service")],
    )
    .await?;
    product["id"].as_str().map(str::to_owned).ok_or_else(|| {
        StripeError::invalid(None, Some("product_data"), "the product could not be created")
    })
}

/// Makes `key` free for the price `owner` (None: a new price): another price holding it is an
/// error, unless `transfer` moves it from there.
fn claim_lookup_key(
    prices: &mut [Value],
    key: &str,
    transfer: bool,
    owner: Option<&str>,
) -> Result<(), StripeError> {
    let holder = prices.iter_mut().find(|price| {
        price["lookup_key"].as_str() == Some(key)
            && Some(price["id"].as_str().unwrap_or("")) != owner
    });
    if let Some(holder) = holder {
        if !transfer {
            return Err(StripeError::invalid(
                None,
                Some("lookup_key"),
                format!(
                    "A price (`{}`) already uses that lookup key.",
                    holder["id"].as_str().unwrap_or("")
                ),
            ));
        }
        holder["lookup_key"] = Value::Null;
    }
    Ok(())
}

pub async fn list(app: App, call: Call) -> Answer {
    check(&call.params, &LIST, "")?;
    let p = Params(&call.params);
    let limit = p.integer("limit", "limit")?.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(StripeError::invalid(
            None,
            Some("limit"),
            "This value must be between 1 and 100.",
        ));
    }
    let lookup_keys: Vec<&str> = call
        .params
        .get("lookup_keys")
        .and_then(Value::as_array)
        .map(|keys| keys.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if lookup_keys.len() > 10 {
        return Err(StripeError::invalid(
            None,
            Some("lookup_keys"),
            "You may pass up to 10 lookup keys.",
        ));
    }
    let active = p.boolean("active")?;
    let store = app.store.lock().unwrap();
    let matching: Vec<&Value> = store
        .prices
        .iter()
        .rev()
        .filter(|price| active.is_none_or(|a| price["active"] == a))
        .filter(|price| p.text("product").is_none_or(|id| price["product"] == id))
        .filter(|price| p.text("type").is_none_or(|t| price["type"] == t))
        .filter(|price| p.text("currency").is_none_or(|c| price["currency"] == c))
        .filter(|price| {
            lookup_keys.is_empty()
                || price["lookup_key"].as_str().is_some_and(|k| lookup_keys.contains(&k))
        })
        .collect();
    let start = match p.text("starting_after") {
        Some(after) => match matching.iter().position(|price| price["id"] == after) {
            Some(at) => at + 1,
            None => return Err(StripeError::no_such("price", after, "starting_after")),
        },
        None => 0,
    };
    let page: Vec<Value> =
        matching.iter().skip(start).take(limit as usize).map(|&v| v.clone()).collect();
    let has_more = matching.len() > start + page.len();
    Ok(json!({"object": "list", "data": page, "has_more": has_more, "url": "/v1/prices"}))
}

pub async fn retrieve(app: App, _call: Call, id: String) -> Answer {
    let store = app.store.lock().unwrap();
    store
        .prices
        .iter()
        .find(|price| price["id"] == id.as_str())
        .cloned()
        .ok_or_else(|| StripeError::no_such("price", &id, ""))
}

pub async fn update(app: App, call: Call, id: String) -> Answer {
    check(&call.params, &UPDATE, "")?;
    let p = Params(&call.params);
    let active = p.boolean("active")?;
    let transfer = p.boolean("transfer_lookup_key")?.unwrap_or(false);
    let mut store = app.store.lock().unwrap();
    if !store.prices.iter().any(|price| price["id"] == id.as_str()) {
        return Err(StripeError::no_such("price", &id, ""));
    }
    if let Some(key) = p.text("lookup_key").filter(|k| !k.is_empty()) {
        claim_lookup_key(&mut store.prices, key, transfer, Some(&id))?;
    }
    let price =
        store.prices.iter_mut().find(|price| price["id"] == id.as_str()).expect("found above");
    if let Some(active) = active {
        price["active"] = json!(active);
    }
    if let Some(key) = p.text("lookup_key") {
        price["lookup_key"] = if key.is_empty() { Value::Null } else { json!(key) };
    }
    if let Some(nickname) = p.text("nickname") {
        price["nickname"] = json!(nickname);
    }
    if let Some(Value::Object(changes)) = call.params.get("metadata") {
        for (name, value) in changes {
            match value.as_str() {
                Some("") => price["metadata"].as_object_mut().map(|m| m.remove(name)),
                _ => {
                    price["metadata"].as_object_mut().map(|m| m.insert(name.clone(), value.clone()))
                }
            };
        }
    }
    Ok(price.clone())
}
