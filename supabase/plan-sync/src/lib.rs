//! The plan sync: makes Stripe's products and prices match `data/plans.yml` (create what is
//! missing by lookup key, archive what was removed, a changed amount as a new price that takes
//! the lookup key over) and writes the ids into `public.plans` / `public.add_ons`. A second run
//! finds nothing to do and reports 0 changes.

pub mod reconcile;

use std::collections::HashMap;
use std::fmt;

use anyhow::{Context, Result, anyhow};
use seed::{Offer, OfferKind};
use shared::billing::client::Stripe;
use shared::billing::form::Form;

use reconcile::{CATALOGUE_METADATA, Change, KEY_METADATA, Price, Product, plan};

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub products_created: usize,
    pub products_updated: usize,
    pub products_archived: usize,
    pub prices_created: usize,
    pub prices_activated: usize,
    pub prices_archived: usize,
    pub rows_written: u64,
}

impl Summary {
    pub fn changes(&self) -> u64 {
        (self.products_created
            + self.products_updated
            + self.products_archived
            + self.prices_created
            + self.prices_activated
            + self.prices_archived) as u64
            + self.rows_written
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} changes (products: {} created, {} updated, {} archived; prices: {} created, {} \
             reactivated, {} archived; database rows: {})",
            self.changes(),
            self.products_created,
            self.products_updated,
            self.products_archived,
            self.prices_created,
            self.prices_activated,
            self.prices_archived,
            self.rows_written
        )
    }
}

/// The Stripe ids of one offer after the sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synced {
    pub kind: OfferKind,
    pub key: String,
    pub product_id: String,
    pub price_id: String,
}

/// Brings Stripe in line with `offers` for the catalogue named `catalogue`; answers the ids per
/// offer and what changed in Stripe.
pub async fn sync_stripe(
    stripe: &Stripe<'_>,
    catalogue: &str,
    offers: &[Offer],
) -> Result<(Vec<Synced>, Summary)> {
    let products: Vec<Product> =
        stripe.list_all("/v1/products", &Form::new()).await.context("listing products")?;
    let prices: Vec<Price> =
        stripe.list_all("/v1/prices", &Form::new()).await.context("listing prices")?;
    let changes = plan(catalogue, offers, &products, &prices);
    let offer = |key: &str| offers.iter().find(|o| o.key == key).expect("changes name offers");
    let mut product_ids: HashMap<String, String> = HashMap::new();
    for product in &products {
        let key = product.metadata.get(KEY_METADATA);
        let ours = product.metadata.get(CATALOGUE_METADATA).map(String::as_str) == Some(catalogue);
        if let (Some(key), true) = (key, ours) {
            // Active products win over archived duplicates, as in the plan.
            if product.active || !product_ids.contains_key(key) {
                product_ids.insert(key.clone(), product.id.clone());
            }
        }
    }
    let mut summary = Summary::default();
    for change in &changes {
        match change {
            Change::CreateProduct { key } => {
                let offer = offer(key);
                let form = product_form(offer).map(
                    "metadata",
                    [(CATALOGUE_METADATA, catalogue), (KEY_METADATA, key.as_str())],
                );
                let idempotency = format!("sync-plans:{catalogue}:product:{key}");
                let created: Product = stripe
                    .post("/v1/products", &form, Some(&idempotency))
                    .await
                    .with_context(|| format!("creating the product of {key}"))?;
                product_ids.insert(key.clone(), created.id);
                summary.products_created += 1;
            }
            Change::UpdateProduct { id, key } => {
                let form = product_form(offer(key)).field("active", true);
                let _: Product = stripe
                    .post(&format!("/v1/products/{id}"), &form, None)
                    .await
                    .with_context(|| format!("updating the product of {key}"))?;
                summary.products_updated += 1;
            }
            Change::CreatePrice { key, replacing } => {
                let offer = offer(key);
                let product =
                    product_ids.get(key).ok_or_else(|| anyhow!("no product for {key}"))?;
                let form = Form::new()
                    .field("product", product)
                    .field("currency", &offer.currency)
                    .field("unit_amount", offer.price_cents)
                    .field("recurring[interval]", offer.interval)
                    .field("lookup_key", key)
                    .field("transfer_lookup_key", replacing.is_some())
                    .map("metadata", [(KEY_METADATA, key.as_str())]);
                // The price being replaced is part of the key: a retry of this very change
                // replays it, a later change of amount is a new request.
                let idempotency = format!(
                    "sync-plans:{catalogue}:price:{key}:{}:{}:{}:{}",
                    offer.price_cents,
                    offer.currency,
                    offer.interval,
                    replacing.as_deref().unwrap_or("none")
                );
                let _: Price = stripe
                    .post("/v1/prices", &form, Some(&idempotency))
                    .await
                    .with_context(|| format!("creating the price of {key}"))?;
                summary.prices_created += 1;
            }
            Change::ActivatePrice { id } => {
                set_price_active(stripe, id, true).await?;
                summary.prices_activated += 1;
            }
            Change::ArchivePrice { id } => {
                set_price_active(stripe, id, false).await?;
                summary.prices_archived += 1;
            }
            Change::ArchiveProduct { id } => {
                let _: Product = stripe
                    .post(&format!("/v1/products/{id}"), &Form::new().field("active", false), None)
                    .await
                    .with_context(|| format!("archiving product {id}"))?;
                summary.products_archived += 1;
            }
        }
    }
    let mut synced = Vec::new();
    for offer in offers {
        let lookup = Form::new().field("lookup_keys[]", &offer.key).field("active", true);
        let found: shared::billing::client::List<Price> =
            stripe.get("/v1/prices", &lookup).await.context("reading the synced prices")?;
        let price = found
            .data
            .into_iter()
            .next()
            .ok_or_else(|| anyhow!("no active price holds the lookup key {}", offer.key))?;
        synced.push(Synced {
            kind: offer.kind,
            key: offer.key.clone(),
            product_id: price.product,
            price_id: price.id,
        });
    }
    Ok((synced, summary))
}

fn product_form(offer: &Offer) -> Form {
    let form = Form::new().field("name", &offer.name);
    // Stripe refuses an empty description; none is sent then.
    form.optional("description", Some(&offer.description).filter(|d| !d.is_empty()))
}

async fn set_price_active(stripe: &Stripe<'_>, id: &str, active: bool) -> Result<()> {
    let _: Price = stripe
        .post(&format!("/v1/prices/{id}"), &Form::new().field("active", active), None)
        .await
        .with_context(|| format!("setting price {id} active={active}"))?;
    Ok(())
}

/// Writes the ids into `public.plans` / `public.add_ons`, touching only rows whose ids differ;
/// answers how many rows changed. Offers missing from the tables (the seed has not run) are an
/// error: their ids would be lost.
pub async fn write_ids(db: &tokio_postgres::Client, synced: &[Synced]) -> Result<u64> {
    let mut written = 0;
    for offer in synced {
        let table = match offer.kind {
            OfferKind::Plan => "public.plans",
            OfferKind::AddOn => "public.add_ons",
        };
        let exists = db
            .query_opt(&format!("select 1 from {table} where key = $1"), &[&offer.key])
            .await
            .with_context(|| format!("reading {table}"))?;
        if exists.is_none() {
            return Err(anyhow!("{table} has no row {}: load the seed first", offer.key));
        }
        written += db
            .execute(
                &format!(
                    "update {table} set stripe_product_id = $2, stripe_price_id = $3 \
                     where key = $1 and (stripe_product_id, stripe_price_id) is distinct from ($2, $3)"
                ),
                &[&offer.key, &offer.product_id, &offer.price_id],
            )
            .await
            .with_context(|| format!("writing the ids of {}", offer.key))?;
    }
    Ok(written)
}
