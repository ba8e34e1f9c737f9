//! The local driver: feeds a [`Strategy`] from a [`LocalPool`] and streams every completed
//! evaluation into a [`RunStore`]. No more than one request per worker is outstanding, so a
//! killed run loses at most the evaluations that were running.

use crate::eval::pool::{LocalPool, PoolError};
use crate::problem::{EvalRequest, Status};
use crate::store::{EpochSummary, RunStore, StoreError};
use crate::strategy::{Ask, Candidate, EpochReport, Strategy, StrategyError};
use std::collections::BTreeMap;
use std::time::Instant;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum DriverError {
    #[error(transparent)]
    Strategy(#[from] StrategyError),
    #[error(transparent)]
    Pool(#[from] PoolError),
    #[error("cannot save results: {0}")]
    Store(#[from] StoreError),
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

/// What a finished run reports.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    pub n_evaluations: usize,
    /// Evaluations per status, in [`Status::ALL`] order.
    pub status_counts: BTreeMap<&'static str, usize>,
    pub n_feasible: usize,
    pub epochs: Vec<EpochReport>,
    pub final_hypervolume: f64,
    pub elapsed_seconds: f64,
}

/// Run the strategy to completion.
pub fn run_local(
    strategy: &mut Strategy,
    pool: &LocalPool,
    store: &mut dyn RunStore,
    progress: &mut dyn ProgressSink,
) -> Result<RunSummary, DriverError> {
    let clock = Instant::now();
    let capacity = pool.n_workers();
    let mut outstanding = 0usize;
    let mut epochs = Vec::new();
    loop {
        let ask = strategy.ask(capacity - outstanding)?;
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
                let outcome = pool.recv()?;
                outstanding -= 1;
                let record = strategy.tell(outcome)?;
                store.append(&record)?;
                progress.completed(record.epoch, record.status);
            }
            Ask::Finished => break,
        }
        // Keep every worker busy: only wait when no more work can be handed out.
        while outstanding == capacity {
            let outcome = pool.recv()?;
            outstanding -= 1;
            let record = strategy.tell(outcome)?;
            store.append(&record)?;
            progress.completed(record.epoch, record.status);
        }
    }
    Ok(summarize(strategy, epochs, clock.elapsed().as_secs_f64()))
}

fn request(candidate: &Candidate) -> EvalRequest {
    EvalRequest {
        eval_id: candidate.eval_id,
        epoch: candidate.epoch,
        parameters: candidate.parameters.clone(),
    }
}

fn record_report(
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
    })?;
    progress.epoch_done(report);
    Ok(())
}

fn summarize(strategy: &Strategy, epochs: Vec<EpochReport>, elapsed_seconds: f64) -> RunSummary {
    let mut status_counts: BTreeMap<&'static str, usize> =
        Status::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    let mut n_feasible = 0;
    for record in strategy.records() {
        *status_counts.entry(record.status.as_str()).or_default() += 1;
        n_feasible += usize::from(record.is_feasible());
    }
    RunSummary {
        n_evaluations: strategy.n_completed(),
        status_counts,
        n_feasible,
        final_hypervolume: epochs.last().map_or(f64::NAN, |e| e.hypervolume),
        epochs,
        elapsed_seconds,
    }
}
