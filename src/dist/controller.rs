//! The controller (rank 0): the MPI sibling of [`crate::driver::run_local`]. It feeds the
//! [`Strategy`] to remote workers over a [`Transport`] and streams every result into the
//! [`RunStore`] the moment it arrives.
//!
//! **Dispatch** is dynamic: the controller keeps a queue of idle workers and asks the strategy
//! for as many candidates as there are idle workers; a worker gets its next candidate as soon
//! as its result is in. Results arrive in any order; the strategy accepts them so. Results that
//! arrive together are taken together, every idle worker gets its next task, and only then are
//! the new rows written (and flushed) — except before a proposal, which may take long: then
//! everything received is written first.
//!
//! **Epoch boundaries.** A surrogate epoch can only be proposed once its batch is complete
//! (the proposal reads every evaluated row, which is what makes a run reproducible whatever the
//! arrival order). While the last evaluations of a batch run, workers that finished early have
//! nothing to do ("draining"), and while the surrogate is fitted and searched (inside
//! [`Strategy::ask`]) every worker waits ("proposing"). Both are measured
//! ([`DispatchStats`]) and reported at the end. Handing out the next epoch's points before the
//! batch is complete would have to propose from a partial, arrival-order-dependent set of rows
//! and is deliberately not done.
//!
//! **Deadline.** From [`Deadline::stop_dispatch_at`] on no candidate is handed out; running
//! evaluations are awaited until [`Deadline::finish_by`], then abandoned.
//!
//! **Shutdown.** However the loop ends — finished, deadline, or an error — every worker rank
//! gets `Shutdown` (a busy worker abandons its evaluation), so no rank is left waiting.

use super::transport::{Rank, Transport};
use super::wire::{Hello, Message, Task};
use super::{DistError, Layout};
use crate::deadline::Deadline;
use crate::driver::{
    record_report, request, summarize, FailureLimit, ProgressSink, RunSummary, StopReason,
};
use crate::problem::{EvalId, EvalRecord};
use crate::store::RunStore;
use crate::strategy::{Ask, Candidate, EpochReport, Strategy};
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant, SystemTime};

/// How busy the workers were.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DispatchStats {
    pub n_workers: usize,
    /// Wall-clock seconds of the controller loop.
    pub elapsed_seconds: f64,
    /// Sum of the evaluations' own durations (worker-seconds of useful work).
    pub busy_seconds: f64,
    /// Worker-seconds spent idle while the strategy proposed (surrogate fit and search).
    pub proposing_idle_seconds: f64,
    /// Worker-seconds spent idle waiting for the last evaluations of a batch.
    pub draining_idle_seconds: f64,
}

impl DispatchStats {
    fn capacity(&self) -> f64 {
        self.n_workers as f64 * self.elapsed_seconds
    }

    /// Fraction of the workers' time spent evaluating.
    pub fn utilization(&self) -> f64 {
        fraction(self.busy_seconds, self.capacity())
    }

    /// Fraction of the workers' time lost to proposals.
    pub fn proposing_fraction(&self) -> f64 {
        fraction(self.proposing_idle_seconds, self.capacity())
    }

    /// Fraction of the workers' time lost waiting for the end of a batch.
    pub fn draining_fraction(&self) -> f64 {
        fraction(self.draining_idle_seconds, self.capacity())
    }
}

fn fraction(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        part / whole
    } else {
        0.0
    }
}

/// What a distributed run reports.
#[derive(Debug, Clone, PartialEq)]
pub struct DistSummary {
    pub run: RunSummary,
    pub dispatch: DispatchStats,
}

/// Collect one `Hello` from every worker rank (in rank order).
pub fn gather_hellos(
    transport: &mut dyn Transport,
    layout_size: usize,
) -> Result<Vec<(Rank, Hello)>, DistError> {
    let mut hellos: BTreeMap<Rank, Hello> = BTreeMap::new();
    while hellos.len() + 1 < layout_size {
        let (from, message) = transport.recv()?;
        match message {
            Message::Hello(hello) if from > 0 && !hellos.contains_key(&from) => {
                hellos.insert(from, hello);
            }
            other => {
                return Err(DistError::Unexpected {
                    kind: other.kind(),
                    from,
                    context: "while the ranks start",
                })
            }
        }
    }
    Ok(hellos.into_iter().collect())
}

/// Check every worker's setup against rank 0's resolved configuration.
pub fn check_hellos(hellos: &[(Rank, Hello)], config: &str) -> Result<(), DistError> {
    let failures: Vec<(Rank, &String)> = hellos
        .iter()
        .filter_map(|(rank, hello)| hello.setup.as_ref().err().map(|e| (*rank, e)))
        .collect();
    if let Some((rank, message)) = failures.first() {
        return Err(DistError::WorkerSetup {
            rank: *rank,
            message: (*message).clone(),
            others: failures.len() - 1,
        });
    }
    for (rank, hello) in hellos {
        if let Ok(theirs) = &hello.setup {
            if theirs != config {
                return Err(DistError::ConfigMismatch {
                    rank: *rank,
                    difference: first_difference(config, theirs),
                });
            }
        }
    }
    Ok(())
}

fn first_difference(ours: &str, theirs: &str) -> String {
    let mut ours_lines = ours.lines();
    let mut theirs_lines = theirs.lines();
    loop {
        match (ours_lines.next(), theirs_lines.next()) {
            (Some(a), Some(b)) if a == b => continue,
            (a, b) => {
                return format!(
                    "rank 0 has `{}`, the worker has `{}`",
                    a.unwrap_or("<end>"),
                    b.unwrap_or("<end>")
                )
            }
        }
    }
}

/// Send `message` to every worker rank.
pub fn broadcast(
    transport: &mut dyn Transport,
    layout_size: usize,
    message: &Message,
) -> Result<(), DistError> {
    for rank in 1..layout_size {
        transport.send(rank, message)?;
    }
    Ok(())
}

/// Run the strategy on the workers to completion (or to the deadline), then shut every worker
/// rank down.
pub fn run(
    strategy: &mut Strategy,
    transport: &mut dyn Transport,
    layout: Layout,
    store: &mut dyn RunStore,
    progress: &mut dyn ProgressSink,
    failures: &mut FailureLimit,
    deadline: Option<&Deadline>,
) -> Result<DistSummary, DistError> {
    let mut dispatcher = Dispatcher {
        failures,
        transport,
        layout,
        idle: (0..layout.n_workers() as u32).collect(),
        busy: BTreeMap::new(),
        pending: Vec::new(),
        stats: DispatchStats {
            n_workers: layout.n_workers(),
            ..DispatchStats::default()
        },
        store,
        progress,
    };
    let clock = Instant::now();
    let mut epochs = Vec::new();
    let outcome = dispatcher.drive(strategy, deadline, &mut epochs);
    dispatcher.stats.elapsed_seconds = clock.elapsed().as_secs_f64();
    // Whatever happened, keep what arrived and release every worker rank.
    let flushed = dispatcher.flush();
    let shutdown = broadcast(
        dispatcher.transport,
        layout.world_size(),
        &Message::Shutdown,
    );
    let stop = outcome?;
    flushed?;
    shutdown?;
    if let StopReason::Deadline { abandoned } = stop {
        tracing::warn!(abandoned, "stopped at the deadline");
    }
    Ok(DistSummary {
        run: summarize(strategy, epochs, dispatcher.stats.elapsed_seconds, stop),
        dispatch: dispatcher.stats,
    })
}

/// The controller's state while a run is on.
struct Dispatcher<'a> {
    transport: &'a mut dyn Transport,
    layout: Layout,
    idle: VecDeque<u32>,
    /// Busy workers and the evaluation each is running.
    busy: BTreeMap<u32, EvalId>,
    /// Completed records not yet in the store (written right after the next dispatch).
    pending: Vec<EvalRecord>,
    stats: DispatchStats,
    store: &'a mut dyn RunStore,
    progress: &'a mut dyn ProgressSink,
    failures: &'a mut FailureLimit,
}

impl Dispatcher<'_> {
    /// One round: hand out work to every idle worker, write what arrived, wait for results.
    /// Workers come first, the disk second — but everything received is written before the
    /// strategy may fit a surrogate, so a kill during a long fit loses nothing.
    fn drive(
        &mut self,
        strategy: &mut Strategy,
        deadline: Option<&Deadline>,
        epochs: &mut Vec<EpochReport>,
    ) -> Result<StopReason, DistError> {
        let time_left = || deadline.map(|d| d.time_to_finish(SystemTime::now()));
        loop {
            if deadline.is_some_and(|d| !d.accepts_new_work(SystemTime::now())) {
                break;
            }
            if !self.idle.is_empty() {
                if strategy.n_queued() == 0 && strategy.n_in_flight() == 0 {
                    self.flush()?;
                }
                let asked = Instant::now();
                let ask = strategy.ask(self.idle.len())?;
                // Proposals are durable before any of them is dispatched (resume).
                self.store.record_proposals(&strategy.take_proposals())?;
                self.stats.proposing_idle_seconds += self.idle_seconds_since(asked);
                let finished = match ask {
                    Ask::Evaluate(batch) => {
                        self.dispatch(&batch)?;
                        false
                    }
                    Ask::Wait => false,
                    Ask::Finished => true,
                };
                self.flush()?;
                for report in strategy.take_reports() {
                    record_report(self.store, self.progress, &report)?;
                    epochs.push(report);
                }
                if finished {
                    return Ok(StopReason::Finished);
                }
            }
            // The queue is empty or every worker is busy: wait for results.
            let waiting = Instant::now();
            let idle = self.idle.len();
            let received = self.receive(strategy, time_left())?;
            self.stats.draining_idle_seconds += idle as f64 * waiting.elapsed().as_secs_f64();
            if !received {
                return Ok(self.abandoned());
            }
        }
        // No new work from the deadline on: await what is running.
        while !self.busy.is_empty() {
            self.flush()?;
            if !self.receive(strategy, time_left())? {
                return Ok(self.abandoned());
            }
        }
        Ok(StopReason::Deadline { abandoned: 0 })
    }

    fn dispatch(&mut self, batch: &[Candidate]) -> Result<(), DistError> {
        if let Some(first) = batch.first() {
            self.progress.dispatched(first.epoch, batch.len());
        }
        let workers: Vec<u32> = self.idle.drain(..batch.len()).collect();
        for (candidate, worker) in batch.iter().zip(workers) {
            let task = Task::from_request(&request(candidate));
            self.transport
                .send(self.layout.leader(worker), &Message::Task(task))?;
            self.busy.insert(worker, candidate.eval_id);
        }
        Ok(())
    }

    /// Write the records received so far, then apply the failure limit (every record is
    /// stored before the run may stop).
    fn flush(&mut self) -> Result<(), DistError> {
        let records: Vec<EvalRecord> = self.pending.drain(..).collect();
        for record in &records {
            self.store.append(record)?;
        }
        for record in &records {
            self.failures.record(record)?;
        }
        Ok(())
    }

    fn abandoned(&self) -> StopReason {
        StopReason::Deadline {
            abandoned: self.busy.len(),
        }
    }

    fn idle_seconds_since(&self, start: Instant) -> f64 {
        self.idle.len() as f64 * start.elapsed().as_secs_f64()
    }

    /// Wait for one message (up to `timeout`), then take every other one that has already
    /// arrived; `false` if the timeout passed first.
    fn receive(
        &mut self,
        strategy: &mut Strategy,
        timeout: Option<Duration>,
    ) -> Result<bool, DistError> {
        let Some((from, message)) = self.transport.recv_timeout(timeout)? else {
            return Ok(false);
        };
        self.handle(strategy, from, message)?;
        while let Some((from, message)) = self.transport.try_recv()? {
            self.handle(strategy, from, message)?;
        }
        Ok(true)
    }

    fn handle(
        &mut self,
        strategy: &mut Strategy,
        from: Rank,
        message: Message,
    ) -> Result<(), DistError> {
        match message {
            Message::Result(result) => {
                let worker = self
                    .layout
                    .worker_led_by(from)
                    .filter(|worker| self.busy.get(worker) == Some(&result.eval_id))
                    .ok_or(DistError::Unexpected {
                        kind: "result",
                        from,
                        context: "for a task it was not given",
                    })?;
                self.busy.remove(&worker);
                self.idle.push_back(worker);
                let outcome = result.into_outcome(worker);
                self.stats.busy_seconds += outcome.duration;
                let record = strategy.tell(outcome)?;
                self.progress.completed(record.epoch, record.status);
                self.pending.push(record);
                Ok(())
            }
            Message::Failed(failure) => Err(DistError::WorkerFailed {
                worker: ((from.max(1) - 1) / self.layout.ranks_per_worker()) as u32,
                rank: from,
                message: failure.message,
            }),
            other => Err(DistError::Unexpected {
                kind: other.kind(),
                from,
                context: "during the run",
            }),
        }
    }
}
