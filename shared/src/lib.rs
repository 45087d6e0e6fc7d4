//! SalesPulse's common library. Everything here is runtime-neutral: the functions, the native
//! host and the WASM hosts all build on it. No tokio, no host SDK: I/O goes through the
//! [`runtime::HttpClient`] port that each host implements.

pub mod auth;
pub mod billing;
pub mod cors;
pub mod csv;
pub mod domain;
pub mod error;
pub mod features;
pub(crate) mod hex;
pub mod http;
pub mod log;
pub mod mail;
pub mod postgrest;
pub mod query;
pub mod runtime;
pub mod session;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
