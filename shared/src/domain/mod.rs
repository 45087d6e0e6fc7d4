//! Pure domain logic: plain Rust, no I/O, no async, no clock. Unit- and property-tested.

pub mod goals;
pub mod kpi;
