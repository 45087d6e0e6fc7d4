//! The job `retention`: deletes what the product promised to forget (messages after twelve
//! months, and every table registered in the database's retention registry) in batches, each
//! one `retention_delete_batch` call and so one short transaction, until a batch finds nothing,
//! the time budget is spent or the batch cap is reached; then records the run's one audit entry with
//! the counts per table (`retention_record_run`). The cutoff is the job's clock, the same for
//! every batch of a run. Two runs at once are harmless: the database skips the rows the other
//! holds. No user calls it: the service role deletes from every organization.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::json;
use shared::billing::holds::timestamp;
use shared::error::ApiError;
use shared::postgrest::service_role::{self, Purpose};
use shared::postgrest::{send, send_json};
use shared::runtime::{Ctx, UnixSeconds};

pub const NAME: &str = "retention";
/// Hourly, on a trigger of its own: its batches do not share an invocation's subrequests with
/// another job.
pub const SCHEDULE: &str = "47 * * * *";

/// Rows per table per batch: a batch of this size holds its locks for tens of milliseconds
/// (scripts/bench-retention).
const BATCH_SIZE: u32 = 2000;
/// Each batch is a subrequest: the Workers free plan allows 50 per invocation, shared with the
/// other jobs of the trigger. A backlog larger than this is finished by the next runs.
const MAX_BATCHES: u32 = 30;
/// Wall time a run may spend, by the database's clock since the job's own.
const TIME_BUDGET_SECONDS: f64 = 20.0;

/// What one `retention_delete_batch` call answers.
#[derive(Debug, Deserialize)]
struct Batch {
    deleted: BTreeMap<String, u64>,
    /// The batch deleted something, so another may find more (rows held by another run or a
    /// user's transaction are skipped, so a short batch does not mean none are left).
    more: bool,
    /// The database's clock after the batch, in Unix seconds.
    at: f64,
}

/// A run's totals so far, and whether to ask for another batch.
#[derive(Debug, Default, PartialEq)]
struct Run {
    deleted: BTreeMap<String, u64>,
    batches: u32,
    complete: bool,
}

impl Run {
    /// Adds a batch; answers whether another one is due.
    fn add(&mut self, batch: &Batch, started: UnixSeconds) -> bool {
        for (table, count) in &batch.deleted {
            *self.deleted.entry(table.clone()).or_default() += count;
        }
        self.batches += 1;
        self.complete = !batch.more;
        let elapsed = batch.at - started as f64;
        batch.more && self.batches < MAX_BATCHES && elapsed < TIME_BUDGET_SECONDS
    }
}

pub async fn run(ctx: &Ctx) -> Result<(), ApiError> {
    let client = service_role::client(ctx, Purpose::Cron(NAME))?;
    let arguments = json!({ "batch_size": BATCH_SIZE, "as_of": timestamp(ctx.now) });
    let mut run = Run::default();
    let mut failure = None;
    loop {
        match send_json::<Batch>(ctx, client.rpc("retention_delete_batch", &arguments)?).await {
            Ok(batch) if run.add(&batch, ctx.now) => {}
            Ok(_) => break,
            Err(error) => {
                failure = Some(error);
                break;
            }
        }
    }
    // Recorded even after a failed batch: what the earlier ones deleted is gone all the same.
    let record =
        json!({ "deleted": run.deleted, "batches": run.batches, "complete": run.complete });
    send(ctx, client.rpc("retention_record_run", &record)?).await?;
    ctx.log.info("cron_done", json!({ "job": NAME, "run": record }));
    failure.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: UnixSeconds = 1_800_000_000;

    fn batch(messages: u64, threads: u64, more: bool, seconds_in: f64) -> Batch {
        let deleted = BTreeMap::from([
            ("public.messages".to_owned(), messages),
            ("public.message_threads".to_owned(), threads),
        ]);
        Batch { deleted, more, at: START as f64 + seconds_in }
    }

    #[test]
    fn counts_add_up_per_table_over_the_batches() {
        let mut run = Run::default();
        assert!(run.add(&batch(2000, 0, true, 0.2), START));
        assert!(!run.add(&batch(7, 3, false, 0.4), START));
        assert_eq!(run.deleted["public.messages"], 2007);
        assert_eq!(run.deleted["public.message_threads"], 3);
        assert_eq!((run.batches, run.complete), (2, true));
    }

    #[test]
    fn a_run_stops_when_nothing_is_left() {
        let mut run = Run::default();
        assert!(!run.add(&batch(0, 0, false, 0.1), START));
        assert!(run.complete);
    }

    #[test]
    fn a_run_stops_incomplete_when_its_time_is_spent() {
        let mut run = Run::default();
        assert!(run.add(&batch(2000, 0, true, TIME_BUDGET_SECONDS - 0.5), START));
        assert!(!run.add(&batch(2000, 0, true, TIME_BUDGET_SECONDS), START));
        assert_eq!((run.batches, run.complete), (2, false));
    }

    #[test]
    fn a_run_stops_incomplete_at_the_batch_cap() {
        let mut run = Run::default();
        let asked = std::iter::repeat_with(|| run.add(&batch(2000, 0, true, 1.0), START))
            .take_while(|another| *another)
            .count();
        assert_eq!(asked as u32 + 1, MAX_BATCHES);
        assert_eq!((run.batches, run.complete), (MAX_BATCHES, false));
    }
}
