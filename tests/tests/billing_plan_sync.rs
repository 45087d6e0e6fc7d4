//! The plan sync against Stripe (products in localstripe, prices in the Stripe fake, both at
//! `STRIPE_FAKE_URL`): a catalogue of this test's own (its own catalogue name and lookup keys,
//! so parallel tests and the real catalogue are never touched) is created, left alone by a
//! second run, changed and shrunk; and the real `sync-plans`, which scripts/test ran once, finds
//! nothing to do and left the ids in the plans tables.

mod support;

use std::rc::Rc;

use plan_sync::reconcile::{Price, Product};
use plan_sync::{Summary, sync_stripe};
use seed::{Offer, OfferKind};
use serde_json::Value;
use shared::billing::client::Stripe;
use shared::billing::form::Form;
use shared::runtime::native::ReqwestClient;
use support::world::owner;

fn fake_url() -> String {
    std::env::var("STRIPE_FAKE_URL").expect("STRIPE_FAKE_URL: scripts/test starts the Stripe fake")
}

fn stripe_key() -> String {
    std::env::var("STRIPE_SECRET_KEY").expect("STRIPE_SECRET_KEY: scripts/test sets it")
}

fn offer(tag: &str, key: &str, cents: i64, interval: &'static str) -> Offer {
    Offer {
        kind: OfferKind::Plan,
        key: format!("{tag}_{key}"),
        name: format!("{key} ({tag})"),
        description: format!("The {key} plan"),
        price_cents: cents,
        currency: "usd".into(),
        interval,
    }
}

fn tag() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    format!("t{}x{}", std::process::id(), nanos.subsec_nanos())
}

struct Account {
    http: Rc<ReqwestClient>,
    url: String,
    key: String,
}

impl Account {
    fn new() -> Self {
        Self {
            http: Rc::new(ReqwestClient::new(reqwest::Client::new())),
            url: fake_url(),
            key: stripe_key(),
        }
    }

    fn stripe(&self) -> Stripe<'_> {
        Stripe::new(self.http.as_ref(), &self.url, &self.key)
    }

    async fn run(&self, catalogue: &str, offers: &[Offer]) -> Summary {
        sync_stripe(&self.stripe(), catalogue, offers).await.expect("the sync runs").1
    }

    /// Products and prices of `catalogue`.
    async fn objects(&self, catalogue: &str) -> (Vec<Product>, Vec<Price>) {
        let stripe = self.stripe();
        let products: Vec<Product> = stripe
            .list_all::<Product>("/v1/products", &Form::new())
            .await
            .unwrap()
            .into_iter()
            .filter(|p| {
                p.metadata.get("salespulse_catalogue").map(String::as_str) == Some(catalogue)
            })
            .collect();
        let ids: Vec<&str> = products.iter().map(|p| p.id.as_str()).collect();
        let prices = stripe
            .list_all::<Price>("/v1/prices", &Form::new())
            .await
            .unwrap()
            .into_iter()
            .filter(|p| ids.contains(&p.product.as_str()))
            .collect();
        (products, prices)
    }
}

fn active_price<'a>(prices: &'a [Price], key: &str) -> &'a Price {
    let holders: Vec<&Price> =
        prices.iter().filter(|p| p.lookup_key.as_deref() == Some(key)).collect();
    assert_eq!(holders.len(), 1, "one price holds {key}: {holders:?}");
    assert!(holders[0].active, "{holders:?}");
    holders[0]
}

#[tokio::test]
async fn a_second_run_changes_nothing_and_a_changed_amount_moves_the_lookup_key() {
    let account = Account::new();
    let tag = tag();
    let catalogue = format!("sync-{tag}");
    let offers = vec![
        offer(&tag, "solo", 2900, "month"),
        offer(&tag, "team", 4900, "month"),
        offer(&tag, "annual", 49000, "year"),
    ];

    let first = account.run(&catalogue, &offers).await;
    assert_eq!(
        (first.products_created, first.prices_created, first.changes()),
        (3, 3, 6),
        "{first}"
    );
    let (products, prices) = account.objects(&catalogue).await;
    assert_eq!((products.len(), prices.len()), (3, 3));
    let annual = active_price(&prices, &offers[2].key);
    assert_eq!(
        (annual.unit_amount, annual.recurring.as_ref().unwrap().interval.as_str()),
        (Some(49000), "year")
    );

    let second = account.run(&catalogue, &offers).await;
    assert_eq!(second.changes(), 0, "{second}");
    assert_eq!(second.to_string().split(' ').take(2).collect::<Vec<_>>(), ["0", "changes"]);
    let (products_after, prices_after) = account.objects(&catalogue).await;
    assert_eq!(
        (products_after, prices_after),
        (products.clone(), prices.clone()),
        "no new objects"
    );

    // Team costs more now: a new price takes the key over, the old one is archived.
    let mut dearer = offers.clone();
    dearer[1].price_cents = 5900;
    let old_team = active_price(&prices, &offers[1].key).id.clone();
    let third = account.run(&catalogue, &dearer).await;
    assert_eq!(
        (third.prices_created, third.prices_archived, third.changes()),
        (1, 1, 2),
        "{third}"
    );
    let (_, prices) = account.objects(&catalogue).await;
    let team = active_price(&prices, &dearer[1].key);
    assert_eq!(team.unit_amount, Some(5900));
    let old = prices.iter().find(|p| p.id == old_team).unwrap();
    assert!(!old.active && old.lookup_key.is_none(), "{old:?}");
    assert_eq!(account.run(&catalogue, &dearer).await.changes(), 0);

    // Solo is withdrawn: its price and product are archived, nothing is deleted.
    let fewer = dearer[1..].to_vec();
    let fourth = account.run(&catalogue, &fewer).await;
    assert_eq!((fourth.prices_archived, fourth.products_archived), (1, 1), "{fourth}");
    let (products, prices) = account.objects(&catalogue).await;
    assert_eq!(products.iter().filter(|p| !p.active).count(), 1);
    assert_eq!(prices.iter().filter(|p| p.active).count(), 2);
    assert_eq!(account.run(&catalogue, &fewer).await.changes(), 0);

    // Offered again: the archived product and price come back rather than being duplicated.
    let fifth = account.run(&catalogue, &dearer).await;
    assert_eq!(
        (fifth.products_updated, fifth.prices_activated, fifth.prices_created),
        (1, 1, 0),
        "{fifth}"
    );
    let (products, _) = account.objects(&catalogue).await;
    assert_eq!(products.len(), 3);
}

#[tokio::test]
async fn another_catalogue_in_the_same_account_is_never_touched() {
    let account = Account::new();
    let tag = tag();
    let mine = format!("mine-{tag}");
    let theirs = format!("theirs-{tag}");
    account.run(&theirs, &[offer(&tag, "their_plan", 1000, "month")]).await;
    account.run(&mine, &[offer(&tag, "my_plan", 2000, "month")]).await;
    let emptied = account.run(&mine, &[offer(&tag, "my_plan", 2000, "month")]).await;
    assert_eq!(emptied.changes(), 0);
    let (products, prices) = account.objects(&theirs).await;
    assert!(products.iter().all(|p| p.active) && prices.iter().all(|p| p.active));
}

#[tokio::test]
async fn the_real_sync_ran_once_a_second_run_reports_0_changes_and_the_ids_are_stored() {
    let binary =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/sync-plans");
    let plans = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/plans.yml");
    let stack = support::Stack::from_status();
    let output = std::process::Command::new(&binary)
        .arg("--plans")
        .arg(&plans)
        .env("DATABASE_URL", &stack.db_url)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (scripts/setup builds it)", binary.display()));
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{printed}{}", String::from_utf8_lossy(&output.stderr));
    assert!(printed.starts_with("sync-plans: 0 changes"), "{printed}");

    let rows = owner(&stack)
        .await
        .query(
            "select key, stripe_product_id, stripe_price_id from public.plans where active
             union all select key, stripe_product_id, stripe_price_id from public.add_ons where active",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 6, "four plans and two add-ons in data/plans.yml");
    let client = reqwest::Client::new();
    for row in rows {
        let (key, product, price): (String, Option<String>, Option<String>) =
            (row.get(0), row.get(1), row.get(2));
        let price: Value = client
            .get(format!("{}/v1/prices/{}", fake_url(), price.expect("a price id")))
            .bearer_auth(stripe_key())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            (price["lookup_key"].as_str(), price["active"].as_bool()),
            (Some(key.as_str()), Some(true))
        );
        assert_eq!(price["product"].as_str(), product.as_deref());
    }
}
