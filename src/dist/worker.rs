//! The worker side: report setup, then evaluate tasks until the controller says stop.
//!
//! A leader evaluates on a thread of its own while its main thread keeps listening to the
//! controller: a result is sent the moment it is ready, and a `Shutdown` that arrives during
//! an evaluation (the deadline, or an error elsewhere) ends the worker at once: the evaluator
//! is told to stop ([`Evaluator::shutdown`]), and whatever still runs dies with the process
//! (under `srun`, Slurm also ends the processes it started). Members of a group only wait for the shutdown. A worker always ends with exit
//! code 0; failures are reported to the controller, which ends the run.

use super::transport::{Rank, Transport};
use super::wire::{Failure, Hello, Message, TaskResult};
use super::DistError;
use crate::eval::Evaluator;
use crate::problem::{EvalRequest, GroupInfo, Outcome};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The controller's rank.
const CONTROLLER: Rank = 0;

/// How often a busy worker checks for a shutdown.
const SHUTDOWN_POLL: Duration = Duration::from_millis(50);

/// How a worker's service ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerExit {
    /// Shut down while idle.
    Finished,
    /// Shut down during an evaluation, which was abandoned.
    Abandoned,
}

/// Report setup (`Ok(resolved config)` or `Err(why)`) and wait for the controller's decision:
/// `true` to start, `false` to stop.
pub fn hello(
    transport: &mut dyn Transport,
    setup: Result<String, String>,
) -> Result<bool, DistError> {
    transport.send(CONTROLLER, &Message::Hello(Hello { setup }))?;
    let (from, message) = transport.recv()?;
    match message {
        Message::Start if from == CONTROLLER => Ok(true),
        Message::Shutdown if from == CONTROLLER => Ok(false),
        other => Err(unexpected(&other, from, "before the start")),
    }
}

/// Evaluate every task from the controller until it sends `Shutdown`.
pub fn serve(
    transport: &mut dyn Transport,
    evaluator: Arc<dyn Evaluator>,
    worker: u32,
    group: Option<GroupInfo>,
) -> Result<WorkerExit, DistError> {
    let rank = transport.rank();
    let shared = Arc::clone(&evaluator);
    let (request_tx, request_rx) = channel::<EvalRequest>();
    let (outcome_tx, outcome_rx) = channel::<Outcome>();
    let evaluation = std::thread::Builder::new()
        .name(format!("dmosopt-eval-{rank}"))
        .spawn(move || {
            for request in request_rx {
                let _span =
                    tracing::debug_span!("eval", eval_id = request.eval_id, worker).entered();
                if outcome_tx
                    .send(evaluator.evaluate(&request, worker))
                    .is_err()
                {
                    return;
                }
            }
        })
        .map_err(|_| DistError::EvaluatorGone { rank })?;
    loop {
        let (from, message) = transport.recv()?;
        match message {
            Message::Task(task) if from == CONTROLLER => {
                let request = task.into_request(group.clone());
                if request_tx.send(request).is_err() {
                    return Err(evaluation_stopped(evaluation, rank));
                }
                match await_outcome(transport, &outcome_rx) {
                    Ok(Some(outcome)) => {
                        let result = TaskResult::from_outcome(outcome);
                        transport.send(CONTROLLER, &Message::Result(result))?;
                    }
                    Ok(None) => {
                        // Ask the evaluator to end the running evaluation (a subprocess
                        // evaluator kills its simulation); do not wait for it.
                        shared.shutdown();
                        return Ok(WorkerExit::Abandoned);
                    }
                    Err(DistError::EvaluatorGone { .. }) => {
                        return Err(evaluation_stopped(evaluation, rank))
                    }
                    Err(other) => return Err(other),
                }
            }
            Message::Shutdown if from == CONTROLLER => {
                shared.shutdown();
                drop(request_tx);
                // The thread is idle: it ends as soon as the request channel closes.
                let _ = evaluation.join();
                return Ok(WorkerExit::Finished);
            }
            other => return Err(unexpected(&other, from, "while waiting for a task")),
        }
    }
}

/// The outcome of the running evaluation, or `None` if a shutdown came first.
fn await_outcome(
    transport: &mut dyn Transport,
    outcomes: &Receiver<Outcome>,
) -> Result<Option<Outcome>, DistError> {
    loop {
        match outcomes.recv_timeout(SHUTDOWN_POLL) {
            Ok(outcome) => return Ok(Some(outcome)),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                return Err(DistError::EvaluatorGone {
                    rank: transport.rank(),
                })
            }
        }
        if let Some((from, message)) = transport.try_recv()? {
            return match message {
                Message::Shutdown if from == CONTROLLER => Ok(None),
                other => Err(unexpected(&other, from, "during an evaluation")),
            };
        }
    }
}

/// The evaluation thread ended: re-raise its panic (so that the rank aborts the job), or
/// report that it is gone.
fn evaluation_stopped(evaluation: JoinHandle<()>, rank: Rank) -> DistError {
    match evaluation.join() {
        Err(panic) => std::panic::resume_unwind(panic),
        Ok(()) => DistError::EvaluatorGone { rank },
    }
}

/// A group member: hold the slot until the controller sends `Shutdown`.
pub fn wait_for_shutdown(transport: &mut dyn Transport) -> Result<(), DistError> {
    let (from, message) = transport.recv()?;
    match message {
        Message::Shutdown if from == CONTROLLER => Ok(()),
        other => Err(unexpected(&other, from, "at a group member")),
    }
}

/// Tell the controller this worker cannot go on, then wait for its `Shutdown` (so that the
/// controller, not this rank, ends the job and reports why).
pub fn report_failure(transport: &mut dyn Transport, message: String) -> Result<(), DistError> {
    transport.send(CONTROLLER, &Message::Failed(Failure { message }))?;
    loop {
        let (from, message) = transport.recv()?;
        if from == CONTROLLER && message == Message::Shutdown {
            return Ok(());
        }
    }
}

fn unexpected(message: &Message, from: Rank, context: &'static str) -> DistError {
    DistError::Unexpected {
        kind: message.kind(),
        from,
        context,
    }
}
