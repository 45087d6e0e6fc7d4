//! Prints the seed script for `data/` (with the demo organization) on stdout:
//! `cargo run -q -p seed --bin seed-sql > supabase/seed.sql` keeps the Supabase CLI's seed file
//! (`supabase db reset`) equal to what `local-stack db setup` applies; a test checks it.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
    match seed::Seed::load(&data, true) {
        Ok(seed) => {
            print!("{}", seed.to_sql());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}
