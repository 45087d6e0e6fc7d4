//! What the native host pays to run non-`Send` function futures on a `LocalPoolHandle`: one
//! `health` dispatch awaited directly on the runtime's thread, against the same dispatch sent to
//! a pool worker and awaited from a multi-threaded runtime, as `local-stack` does.
//! `cargo bench -p functions --bench local_pool`

use std::rc::Rc;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use shared::runtime::{Config, Ctx, HttpClient, HttpError, HttpFuture};
use tokio_util::task::LocalPoolHandle;

struct NoNetwork;

impl HttpClient for NoNetwork {
    fn send<'a>(&'a self, _request: http::Request<Bytes>) -> HttpFuture<'a> {
        Box::pin(async { Err(HttpError::Unreachable("benchmarks use no network".into())) })
    }
}

fn config() -> Arc<Config> {
    let vars = [
        ("SUPABASE_URL", "http://127.0.0.1:54321"),
        ("SUPABASE_ANON_KEY", "anon"),
        ("SUPABASE_JWT_SECRET", "bench-jwt-secret-with-at-least-32-characters"),
    ];
    Arc::new(
        Config::from_lookup(|name| {
            vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
        })
        .unwrap(),
    )
}

async fn health(config: Arc<Config>) -> http::Response<Bytes> {
    let ctx = Ctx::new(config, Rc::new(NoNetwork), "bench", 0).with_log_sink(Rc::new(|_| {}));
    functions::dispatch("health", http::Request::new(Bytes::new()), &ctx).await
}

fn local_pool(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    let pool = LocalPoolHandle::new(2);
    let config = config();
    c.bench_function("health awaited directly", |b| {
        b.iter(|| runtime.block_on(health(config.clone())))
    });
    c.bench_function("health through the LocalPoolHandle", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let config = config.clone();
                pool.spawn_pinned(move || health(config)).await.unwrap()
            })
        })
    });
}

criterion_group!(benches, local_pool);
criterion_main!(benches);
