//! What must change in Stripe for its catalogue to match ours: pure, from the offers and what
//! Stripe holds now. Products are ours when their metadata names our catalogue; prices are
//! found by `lookup_key` (the offer's key). Stripe prices cannot change amount, so a changed
//! offer gets a new price that takes the lookup key over, and the old one is archived.

use std::collections::BTreeSet;
use std::collections::HashMap;

use seed::Offer;
use serde::Deserialize;

/// Product metadata naming the catalogue a product belongs to (so that other products of the
/// account are never touched) and the offer it sells.
pub const CATALOGUE_METADATA: &str = "salespulse_catalogue";
pub const KEY_METADATA: &str = "salespulse_key";

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Product {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub active: bool,
    #[serde(default)]
    pub metadata: HashMap<String, String>,
}

impl shared::billing::client::HasId for Product {
    fn id(&self) -> &str {
        &self.id
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Recurring {
    pub interval: String,
    #[serde(default = "one")]
    pub interval_count: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Price {
    pub id: String,
    pub product: String,
    pub active: bool,
    pub currency: String,
    #[serde(default)]
    pub unit_amount: Option<i64>,
    #[serde(default)]
    pub recurring: Option<Recurring>,
    #[serde(default)]
    pub lookup_key: Option<String>,
}

impl shared::billing::client::HasId for Price {
    fn id(&self) -> &str {
        &self.id
    }
}

/// One change to Stripe. Offers are named by key; a product created in the same run is found
/// by its key when its price is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    CreateProduct {
        key: String,
    },
    /// Name or description changed, or it was archived and is offered again.
    UpdateProduct {
        id: String,
        key: String,
    },
    /// A new price for the offer; `replacing` is the price whose lookup key it takes over.
    CreatePrice {
        key: String,
        replacing: Option<String>,
    },
    /// An archived price with the right amount that holds the key: offered again.
    ActivatePrice {
        id: String,
    },
    ArchivePrice {
        id: String,
    },
    ArchiveProduct {
        id: String,
    },
}

fn catalogue_of<'a>(product: &'a Product, catalogue: &str) -> Option<&'a str> {
    (product.metadata.get(CATALOGUE_METADATA).map(String::as_str) == Some(catalogue))
        .then(|| product.metadata.get(KEY_METADATA).map(String::as_str))
        .flatten()
}

fn sells(price: &Price, offer: &Offer) -> bool {
    price.unit_amount == Some(offer.price_cents)
        && price.currency == offer.currency
        && price
            .recurring
            .as_ref()
            .is_some_and(|r| r.interval == offer.interval && r.interval_count == 1)
}

/// The changes, in the order they must run: products, then prices, then archives.
pub fn plan(
    catalogue: &str,
    offers: &[Offer],
    products: &[Product],
    prices: &[Price],
) -> Vec<Change> {
    let ours: Vec<(&Product, &str)> =
        products.iter().filter_map(|p| catalogue_of(p, catalogue).map(|key| (p, key))).collect();
    let offered: BTreeSet<&str> = offers.iter().map(|o| o.key.as_str()).collect();
    let mut product_changes = Vec::new();
    let mut price_changes = Vec::new();
    let mut archives = Vec::new();

    for offer in offers {
        // An active product of the key first, so an archived duplicate never wins.
        let mut candidates: Vec<&Product> =
            ours.iter().filter(|(_, key)| *key == offer.key).map(|(p, _)| *p).collect();
        candidates.sort_by_key(|p| !p.active);
        let product = candidates.first();
        match product {
            None => product_changes.push(Change::CreateProduct { key: offer.key.clone() }),
            Some(p) => {
                let description = p.description.as_deref().unwrap_or("");
                if !p.active || p.name != offer.name || description != offer.description {
                    product_changes
                        .push(Change::UpdateProduct { id: p.id.clone(), key: offer.key.clone() });
                }
            }
        }
        let holder = prices.iter().find(|p| p.lookup_key.as_deref() == Some(offer.key.as_str()));
        let on_product = |price: &Price| product.is_some_and(|p| p.id == price.product);
        match holder {
            Some(price) if sells(price, offer) && on_product(price) => {
                if !price.active {
                    price_changes.push(Change::ActivatePrice { id: price.id.clone() });
                }
            }
            Some(price) => {
                price_changes.push(Change::CreatePrice {
                    key: offer.key.clone(),
                    replacing: Some(price.id.clone()),
                });
                if price.active {
                    archives.push(Change::ArchivePrice { id: price.id.clone() });
                }
            }
            None => {
                price_changes.push(Change::CreatePrice { key: offer.key.clone(), replacing: None })
            }
        }
    }

    // What is ours but no longer offered, or an active price that lost its lookup key.
    let our_products: BTreeSet<&str> = ours.iter().map(|(p, _)| p.id.as_str()).collect();
    for price in prices.iter().filter(|p| p.active && our_products.contains(p.product.as_str())) {
        let still_offered = price.lookup_key.as_deref().is_some_and(|key| offered.contains(key));
        let change = Change::ArchivePrice { id: price.id.clone() };
        if !still_offered && !archives.contains(&change) {
            archives.push(change);
        }
    }
    for (product, key) in &ours {
        if product.active && !offered.contains(key) {
            archives.push(Change::ArchiveProduct { id: product.id.clone() });
        }
    }
    product_changes.into_iter().chain(price_changes).chain(archives).collect()
}

#[cfg(test)]
mod tests {
    use seed::OfferKind;

    use super::*;

    fn offer(key: &str, cents: i64) -> Offer {
        Offer {
            kind: OfferKind::Plan,
            key: key.into(),
            name: format!("{key} plan"),
            description: String::new(),
            price_cents: cents,
            currency: "usd".into(),
            interval: "month",
        }
    }

    fn product(id: &str, key: &str, active: bool) -> Product {
        Product {
            id: id.into(),
            name: format!("{key} plan"),
            description: None,
            active,
            metadata: HashMap::from([
                (CATALOGUE_METADATA.into(), "sp".into()),
                (KEY_METADATA.into(), key.into()),
            ]),
        }
    }

    fn price(id: &str, product: &str, key: Option<&str>, cents: i64, active: bool) -> Price {
        Price {
            id: id.into(),
            product: product.into(),
            active,
            currency: "usd".into(),
            unit_amount: Some(cents),
            recurring: Some(Recurring { interval: "month".into(), interval_count: 1 }),
            lookup_key: key.map(Into::into),
        }
    }

    #[test]
    fn an_empty_account_gets_a_product_and_a_price_per_offer() {
        let changes = plan("sp", &[offer("solo", 2900), offer("team", 4900)], &[], &[]);
        assert_eq!(
            changes,
            [
                Change::CreateProduct { key: "solo".into() },
                Change::CreateProduct { key: "team".into() },
                Change::CreatePrice { key: "solo".into(), replacing: None },
                Change::CreatePrice { key: "team".into(), replacing: None },
            ]
        );
    }

    #[test]
    fn a_matching_account_needs_no_change() {
        let products = [product("prod_1", "solo", true)];
        let prices = [price("price_1", "prod_1", Some("solo"), 2900, true)];
        assert_eq!(plan("sp", &[offer("solo", 2900)], &products, &prices), []);
    }

    #[test]
    fn a_changed_amount_is_a_new_price_taking_the_key_and_the_old_one_archived() {
        let products = [product("prod_1", "solo", true)];
        let prices = [price("price_1", "prod_1", Some("solo"), 2900, true)];
        assert_eq!(
            plan("sp", &[offer("solo", 3900)], &products, &prices),
            [
                Change::CreatePrice { key: "solo".into(), replacing: Some("price_1".into()) },
                Change::ArchivePrice { id: "price_1".into() },
            ]
        );
    }

    #[test]
    fn a_removed_offer_is_archived_and_other_catalogues_are_left_alone() {
        let mut foreign = product("prod_9", "solo", true);
        foreign.metadata.insert(CATALOGUE_METADATA.into(), "someone-else".into());
        let products = [product("prod_1", "solo", true), product("prod_2", "old", true), foreign];
        let prices = [
            price("price_1", "prod_1", Some("solo"), 2900, true),
            price("price_2", "prod_2", Some("old"), 100, true),
            price("price_3", "prod_1", None, 1900, true),
            price("price_9", "prod_9", Some("other"), 5, true),
        ];
        assert_eq!(
            plan("sp", &[offer("solo", 2900)], &products, &prices),
            [
                Change::ArchivePrice { id: "price_2".into() },
                Change::ArchivePrice { id: "price_3".into() },
                Change::ArchiveProduct { id: "prod_2".into() },
            ]
        );
    }

    #[test]
    fn an_offer_back_after_removal_reuses_its_archived_product_and_price() {
        let mut renamed = product("prod_1", "solo", false);
        renamed.name = "Old name".into();
        let prices = [price("price_1", "prod_1", Some("solo"), 2900, false)];
        assert_eq!(
            plan("sp", &[offer("solo", 2900)], &[renamed], &prices),
            [
                Change::UpdateProduct { id: "prod_1".into(), key: "solo".into() },
                Change::ActivatePrice { id: "price_1".into() },
            ]
        );
    }

    #[test]
    fn a_key_held_by_a_price_of_another_product_is_taken_over() {
        let products = [product("prod_1", "solo", true)];
        let prices = [price("price_x", "prod_elsewhere", Some("solo"), 2900, true)];
        assert_eq!(
            plan("sp", &[offer("solo", 2900)], &products, &prices),
            [
                Change::CreatePrice { key: "solo".into(), replacing: Some("price_x".into()) },
                Change::ArchivePrice { id: "price_x".into() },
            ]
        );
    }
}
