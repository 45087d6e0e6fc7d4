//! Integration tests live in `tests/tests/`, one module per area. They talk HTTP to the local stack
//! that `scripts/test` starts, found through `supabase/.temp/status.env`. The library holds what
//! the test binaries (`src/bin`) and the tests share.

pub mod worker_routes;

/// The local fakes' (`stripe-fake`, `mailgun-fake`) port: `--port P` on their command line, else
/// `default`.
pub fn port_arg(default: u16) -> u16 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--port")
        .and_then(|i| args.get(i + 1))
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(default)
}
