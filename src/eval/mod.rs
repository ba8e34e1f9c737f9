//! Evaluation of candidates: the [`Evaluator`] seam and the local pool of worker threads.
//!
//! Builtin problems are evaluated in-process ([`builtin`]); the subprocess protocol and MPI
//! workers come later behind the same trait. An evaluator never returns an error: whatever
//! goes wrong becomes an [`Outcome`] with a non-ok status.

pub mod builtin;
pub mod pool;

use crate::problem::{EvalRequest, Outcome};

/// Evaluates one request (blocking). Implementations must be usable from several threads.
pub trait Evaluator: Send + Sync {
    /// Evaluate on behalf of `worker` (0-based; at most one call per worker at a time).
    fn evaluate(&self, request: &EvalRequest, worker: u32) -> Outcome;

    /// The run is over (finished or stopping): end evaluations in progress soon, refuse new
    /// ones, release resources such as persistent processes. Called once, before the pool's
    /// threads are joined; the default does nothing.
    fn shutdown(&self) {}
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn unix_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
