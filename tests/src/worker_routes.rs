//! The Cloudflare Workers' routes, as their configs ([`config_path`]) declare them, and
//! the Worker Cloudflare's edge picks for a URL: of the route patterns that match it, the most
//! specific wins. A pattern is `<host>/<path>`, its path ending in `*` to match any rest
//! (query strings included); without `*` it matches the path exactly.

use std::path::{Path, PathBuf};

/// One `{ pattern, zone_name }` of a Worker's `routes`.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    pub worker: String,
    pub host: String,
    /// From the first `/`, with its trailing `*` if any.
    pub path: String,
    pub zone_name: String,
}

impl Route {
    fn parse(worker: &str, route: &toml::Value) -> Result<Self, String> {
        let field = |key: &str| {
            route.get(key).and_then(toml::Value::as_str).map(str::to_owned).ok_or_else(|| {
                format!("{worker}: every route is {{ pattern = …, zone_name = … }}: {route}")
            })
        };
        let pattern = field("pattern")?;
        let (host, path) = pattern
            .find('/')
            .map(|at| pattern.split_at(at))
            .ok_or_else(|| format!("{worker}: the route {pattern:?} has no path"))?;
        if path.trim_end_matches('*').contains('*') {
            return Err(format!("{worker}: the route {pattern:?} has a wildcard inside its path"));
        }
        let (host, path) = (host.to_owned(), path.to_owned());
        Ok(Self { worker: worker.to_owned(), host, path, zone_name: field("zone_name")? })
    }

    /// Whether the route takes `path_and_query` (what follows the host).
    pub fn matches(&self, path_and_query: &str) -> bool {
        match self.path.strip_suffix('*') {
            Some(prefix) => path_and_query.starts_with(prefix),
            None => path_and_query == self.path,
        }
    }

    /// A longer pattern is more specific: the edge prefers it.
    fn specificity(&self) -> usize {
        self.path.trim_end_matches('*').len()
    }
}

/// Every Worker's routes.
#[derive(Debug)]
pub struct Routes(pub Vec<Route>);

impl Routes {
    /// The routes in the config of each of `workers`, under the repository `root`.
    pub fn load(root: &Path, workers: &[&str]) -> Result<Self, String> {
        let mut routes = Vec::new();
        for worker in workers {
            let config = config(root, worker)?;
            let declared = config.get("routes").and_then(toml::Value::as_array);
            for route in declared.ok_or_else(|| format!("{worker}: no routes"))? {
                routes.push(Route::parse(worker, route)?);
            }
        }
        Ok(Self(routes))
    }

    /// The Worker the edge runs for `path_and_query`: that of the most specific matching route;
    /// `Err` when two Workers' routes match equally well, `Ok(None)` when none matches.
    pub fn worker_for(&self, path_and_query: &str) -> Result<Option<&str>, String> {
        let matching: Vec<&Route> = self.0.iter().filter(|r| r.matches(path_and_query)).collect();
        let Some(best) = matching.iter().map(|route| route.specificity()).max() else {
            return Ok(None);
        };
        let mut workers: Vec<&str> = matching
            .iter()
            .filter(|route| route.specificity() == best)
            .map(|route| route.worker.as_str())
            .collect();
        workers.sort_unstable();
        workers.dedup();
        match workers[..] {
            [worker] => Ok(Some(worker)),
            _ => Err(format!("{path_and_query} is routed to {workers:?} alike")),
        }
    }
}

/// The Worker that takes every path no other Worker claims; its config is the project's
/// `wrangler.toml`, which `wrangler dev` and `wrangler deploy` use without `-c`.
pub const DEFAULT_WORKER: &str = "app";

/// Where `worker`'s config is: `wrangler.toml` for the default Worker, else
/// `wrangler/<worker>.toml`.
pub fn config_path(root: &Path, worker: &str) -> PathBuf {
    if worker == DEFAULT_WORKER {
        root.join("wrangler.toml")
    } else {
        root.join("wrangler").join(format!("{worker}.toml"))
    }
}

/// `worker`'s config, parsed.
pub fn config(root: &Path, worker: &str) -> Result<toml::Table, String> {
    let path = config_path(root, worker);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.parse().map_err(|e| format!("{}: {e}", path.display()))
}
