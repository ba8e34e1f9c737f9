//! The local driver: feeds a [`Strategy`] from a [`LocalPool`] and streams every completed
//! evaluation into a [`RunStore`]. No more than one request per worker is outstanding, so a
//! killed run loses at most the evaluations that were running. With a [`Deadline`] no new
//! candidate is handed out from `T − margin` on; running evaluations are awaited until
//! [`Deadline::finish_by`] and abandoned after that (the MPI sibling is `dist::controller`).
//! A [`FailureLimit`] stops a run whose evaluations mostly fail (every record is stored before
//! the check).

use crate::deadline::Deadline;
use crate::eval::pool::{LocalPool, PoolError};
use crate::problem::{EvalRecord, EvalRequest, Outcome, Status};
use crate::store::{EpochSummary, RunStore, StoreError};
use crate::strategy::{Ask, Candidate, EpochReport, Strategy, StrategyError};
use std::collections::BTreeMap;
use std::time::{Instant, SystemTime};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum DriverError {
    #[error(transparent)]
    Strategy(#[from] StrategyError),
    #[error(transparent)]
    Pool(#[from] PoolError),
    #[error("cannot save results: {0}")]
    Store(#[from] StoreError),
    #[error(
        "stopping the run: {failed} of {completed} evaluations were not ok ({percent:.0}%), \
         more than evaluator.max_failure_fraction = {limit}; every completed evaluation is in \
         the result file. Last failure (evaluation {eval_id}, {status}): {error}",
        percent = 100.0 * *failed as f64 / *completed as f64
    )]
    TooManyFailures {
        failed: usize,
        completed: usize,
        limit: f64,
        eval_id: u64,
        status: Status,
        error: String,
    },
}

/// Stops a run when more than `max_fraction` of the completed evaluations are not ok, checked
/// once at least [`FailureLimit::MIN_EVALUATIONS`] have completed (a fraction of 1 never stops).
#[derive(Debug, Clone)]
pub struct FailureLimit {
    max_fraction: f64,
    completed: usize,
    failed: usize,
}

impl FailureLimit {
    /// Evaluations that must complete before the fraction is judged.
    pub const MIN_EVALUATIONS: usize = 10;

    pub fn new(max_fraction: f64) -> Self {
        Self {
            max_fraction,
            completed: 0,
            failed: 0,
        }
    }

    /// Count one completed evaluation; an error when the limit is now exceeded.
    pub fn record(&mut self, record: &EvalRecord) -> Result<(), DriverError> {
        self.completed += 1;
        if record.status == Status::Ok {
            return Ok(());
        }
        self.failed += 1;
        let fraction = self.failed as f64 / self.completed as f64;
        if self.completed >= Self::MIN_EVALUATIONS && fraction > self.max_fraction {
            return Err(DriverError::TooManyFailures {
                failed: self.failed,
                completed: self.completed,
                limit: self.max_fraction,
                eval_id: record.eval_id,
                status: record.status,
                error: record.error.lines().next().unwrap_or_default().to_string(),
            });
        }
        Ok(())
    }
}

/// Hooks for progress display.
pub trait ProgressSink {
    /// A batch of `n` candidates of `epoch` was handed out.
    fn dispatched(&mut self, _epoch: u32, _n: usize) {}
    /// One evaluation completed.
    fn completed(&mut self, _epoch: u32, _status: Status) {}
    /// An epoch completed.
    fn epoch_done(&mut self, _report: &EpochReport) {}
}

/// A sink that shows nothing.
pub struct NoProgress;
impl ProgressSink for NoProgress {}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The strategy finished (epochs or evaluation budget used up).
    Finished,
    /// The deadline came first; `abandoned` evaluations were still running at the end.
    Deadline { abandoned: usize },
}

/// What a finished run reports.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    pub stop: StopReason,
    pub n_evaluations: usize,
    /// Evaluations per status, in [`Status::ALL`] order.
    pub status_counts: BTreeMap<&'static str, usize>,
    pub n_feasible: usize,
    pub epochs: Vec<EpochReport>,
    pub final_hypervolume: f64,
    pub elapsed_seconds: f64,
}

/// Run the strategy to completion (or to the deadline).
pub fn run_local(
    strategy: &mut Strategy,
    pool: &LocalPool,
    store: &mut dyn RunStore,
    progress: &mut dyn ProgressSink,
    failures: &mut FailureLimit,
    deadline: Option<&Deadline>,
) -> Result<RunSummary, DriverError> {
    let clock = Instant::now();
    let capacity = pool.n_workers();
    let mut outstanding = 0usize;
    let mut epochs = Vec::new();
    let done = |strategy: &Strategy, epochs, stop| {
        Ok(summarize(
            strategy,
            epochs,
            clock.elapsed().as_secs_f64(),
            stop,
        ))
    };
    loop {
        if deadline.is_some_and(|d| !d.accepts_new_work(SystemTime::now())) {
            break;
        }
        // Keep every worker busy: wait only when no more work can be handed out.
        let ask = if outstanding < capacity {
            strategy.ask(capacity - outstanding)?
        } else {
            Ask::Wait
        };
        // Proposals are durable before any of them is dispatched (resume).
        store.record_proposals(&strategy.take_proposals())?;
        for report in strategy.take_reports() {
            record_report(store, progress, &report)?;
            epochs.push(report);
        }
        match ask {
            Ask::Evaluate(batch) => {
                if let Some(first) = batch.first() {
                    progress.dispatched(first.epoch, batch.len());
                }
                for candidate in batch {
                    pool.submit(request(&candidate))?;
                    outstanding += 1;
                }
            }
            Ask::Wait => {
                let Some(outcome) = next_outcome(pool, deadline)? else {
                    let abandoned = outstanding;
                    return done(strategy, epochs, StopReason::Deadline { abandoned });
                };
                complete(strategy, store, progress, failures, outcome)?;
                outstanding -= 1;
            }
            Ask::Finished => return done(strategy, epochs, StopReason::Finished),
        }
    }
    // No new work from the deadline on: await what is running.
    while outstanding > 0 {
        let Some(outcome) = next_outcome(pool, deadline)? else {
            break;
        };
        complete(strategy, store, progress, failures, outcome)?;
        outstanding -= 1;
    }
    let abandoned = outstanding;
    done(strategy, epochs, StopReason::Deadline { abandoned })
}

/// The next outcome; `None` once the deadline's time to finish has run out.
fn next_outcome(
    pool: &LocalPool,
    deadline: Option<&Deadline>,
) -> Result<Option<Outcome>, PoolError> {
    match deadline {
        Some(deadline) => pool.recv_timeout(deadline.time_to_finish(SystemTime::now())),
        None => pool.recv().map(Some),
    }
}

/// Tell the strategy one outcome, store the completed record, then apply the failure limit.
fn complete(
    strategy: &mut Strategy,
    store: &mut dyn RunStore,
    progress: &mut dyn ProgressSink,
    failures: &mut FailureLimit,
    outcome: Outcome,
) -> Result<(), DriverError> {
    let record = strategy.tell(outcome)?;
    store.append(&record)?;
    progress.completed(record.epoch, record.status);
    failures.record(&record)
}

pub(crate) fn request(candidate: &Candidate) -> EvalRequest {
    EvalRequest {
        eval_id: candidate.eval_id,
        epoch: candidate.epoch,
        parameters: candidate.parameters.clone(),
        group: None,
    }
}

/// Store an epoch summary and show it.
pub(crate) fn record_report(
    store: &mut dyn RunStore,
    progress: &mut dyn ProgressSink,
    report: &EpochReport,
) -> Result<(), StoreError> {
    store.record_epoch(&EpochSummary {
        epoch: report.epoch,
        n_evaluations: report.n_evaluations as u64,
        n_feasible: report.n_feasible as u64,
        hypervolume: report.hypervolume,
        fit_seconds: report.fit_seconds,
        search_seconds: report.search_seconds,
        surrogate_epochs: report
            .surrogate_epochs
            .and_then(|n| i64::try_from(n).ok())
            .unwrap_or(-1),
        nrmse: report.quality.nrmse,
        spearman: report.quality.spearman,
        feasibility_accuracy: report.quality.feasibility_accuracy,
        feasibility_f1: report.quality.feasibility_f1,
    })?;
    progress.epoch_done(report);
    Ok(())
}

/// The summary of a run from the strategy's records.
pub(crate) fn summarize(
    strategy: &Strategy,
    epochs: Vec<EpochReport>,
    elapsed_seconds: f64,
    stop: StopReason,
) -> RunSummary {
    let mut status_counts: BTreeMap<&'static str, usize> =
        Status::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    let mut n_feasible = 0;
    for record in strategy.records() {
        *status_counts.entry(record.status.as_str()).or_default() += 1;
        n_feasible += usize::from(record.is_feasible());
    }
    RunSummary {
        stop,
        n_evaluations: strategy.n_completed(),
        status_counts,
        n_feasible,
        final_hypervolume: epochs.last().map_or(f64::NAN, |e| e.hypervolume),
        epochs,
        elapsed_seconds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(eval_id: u64, status: Status) -> EvalRecord {
        EvalRecord {
            eval_id,
            epoch: 0,
            parameters: vec![0.5],
            objectives: vec![f64::NAN],
            constraints: vec![],
            predictions: None,
            status,
            error: format!("reason {eval_id}\nstderr"),
            features: None,
            worker: 0,
            start_time: 0.0,
            duration: 0.0,
        }
    }

    #[test]
    fn failure_limit_waits_for_enough_evaluations_then_stops() {
        let mut limit = FailureLimit::new(0.5);
        for id in 0..9 {
            limit.record(&record(id, Status::Failed)).unwrap();
        }
        let error = limit
            .record(&record(9, Status::Timeout))
            .unwrap_err()
            .to_string();
        for fragment in [
            "10 of 10",
            "max_failure_fraction = 0.5",
            "evaluation 9, timeout",
            "reason 9",
        ] {
            assert!(error.contains(fragment), "{error}");
        }
        assert!(!error.contains("stderr"), "{error}");
    }

    #[test]
    fn failure_limit_allows_up_to_the_fraction() {
        let mut limit = FailureLimit::new(0.5);
        for id in 0..20 {
            let status = if id % 2 == 1 {
                Status::Invalid
            } else {
                Status::Ok
            };
            limit.record(&record(id, status)).unwrap();
        }
        let mut never = FailureLimit::new(1.0);
        for id in 0..50 {
            never.record(&record(id, Status::Failed)).unwrap();
        }
    }
}
