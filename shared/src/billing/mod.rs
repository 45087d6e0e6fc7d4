//! Stripe billing: what the functions share about Stripe's requests and events.

pub mod signature;
