//! SalesPulse's common library. Everything here is runtime-neutral: the functions, the native
//! host and the WASM hosts all build on it.

pub mod error;
