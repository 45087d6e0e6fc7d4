//! Integration tests live in `tests/tests/`, one module per area. They talk HTTP to the local stack
//! that `scripts/test` starts, found through `supabase/.temp/status.env`.
