//! One invocation, end to end: the event's source found, the routing config checked if the
//! source routes, the source's work done, and the invocation's EMF metrics line printed.

use crate::function::{Function, Invocation};
use crate::{metrics, sources};
use serde_json::Value;
use std::time::Instant;

/// Handles one event, taking no new work after `deadline` (the invocation's deadline less the
/// configured margin).
pub fn handle(function: &mut Function, event: &Value, deadline: Instant) -> anyhow::Result<Value> {
    let started = Instant::now();
    let mut invocation = Invocation::new(function, deadline);
    let answer = sources::source_of(event).map_err(anyhow::Error::from).and_then(|source| {
        tracing::debug!(source = source.name(), "event");
        if source.routes() {
            invocation.refresh_routes()?;
        }
        source.handle(event, &mut invocation)
    });
    let mut tally = invocation.tally;
    tally.bulk = function.take_bulk_stats();
    tally.bulk_concurrency = function.bulk_concurrency() as u64;
    let now_ms = chrono::Utc::now().timestamp_millis();
    println!("{}", metrics::emf_line(&function.config().function_name, &tally, started.elapsed(), now_ms));
    answer
}
