//! A local pool of worker threads, each taking the next request as soon as it is free
//! (dynamic dispatch) and reporting outcomes in completion order.

use super::Evaluator;
use crate::problem::{EvalRequest, Outcome};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PoolError {
    #[error("all evaluation workers have stopped")]
    WorkersGone,
    #[error("cannot start evaluation worker thread {worker}: {source}")]
    Spawn { worker: u32, source: std::io::Error },
}

/// Worker threads around one shared [`Evaluator`].
pub struct LocalPool {
    requests: Option<Sender<EvalRequest>>,
    outcomes: Receiver<Outcome>,
    workers: Vec<JoinHandle<()>>,
}

impl LocalPool {
    /// Start `n_workers` threads (at least one).
    pub fn new(evaluator: Arc<dyn Evaluator>, n_workers: usize) -> Result<Self, PoolError> {
        let (request_tx, request_rx) = channel::<EvalRequest>();
        let (outcome_tx, outcome_rx) = channel::<Outcome>();
        let request_rx = Arc::new(Mutex::new(request_rx));
        let mut workers = Vec::new();
        for worker in 0..n_workers.max(1) as u32 {
            let requests = Arc::clone(&request_rx);
            let outcomes = outcome_tx.clone();
            let evaluator = Arc::clone(&evaluator);
            let handle = std::thread::Builder::new()
                .name(format!("dmosopt-worker-{worker}"))
                .spawn(move || worker_loop(worker, evaluator.as_ref(), &requests, &outcomes))
                .map_err(|source| PoolError::Spawn { worker, source })?;
            workers.push(handle);
        }
        Ok(Self {
            requests: Some(request_tx),
            outcomes: outcome_rx,
            workers,
        })
    }

    pub fn n_workers(&self) -> usize {
        self.workers.len()
    }

    /// Queue a request for the next free worker.
    pub fn submit(&self, request: EvalRequest) -> Result<(), PoolError> {
        self.requests
            .as_ref()
            .ok_or(PoolError::WorkersGone)?
            .send(request)
            .map_err(|_| PoolError::WorkersGone)
    }

    /// The next outcome, blocking until one is ready.
    pub fn recv(&self) -> Result<Outcome, PoolError> {
        self.outcomes.recv().map_err(|_| PoolError::WorkersGone)
    }

    /// The next outcome, or `None` if none is ready within `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Option<Outcome>, PoolError> {
        match self.outcomes.recv_timeout(timeout) {
            Ok(outcome) => Ok(Some(outcome)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(PoolError::WorkersGone),
        }
    }

    /// Give up on the workers without waiting for them: evaluations still running are
    /// abandoned (used at a deadline, right before the process exits; dropping the pool would
    /// wait for them).
    pub fn abandon(mut self) {
        self.requests.take();
        self.workers.clear();
    }
}

fn worker_loop(
    worker: u32,
    evaluator: &dyn Evaluator,
    requests: &Mutex<Receiver<EvalRequest>>,
    outcomes: &Sender<Outcome>,
) {
    loop {
        let request = match requests.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(request) = request else { return };
        let _span = tracing::debug_span!("eval", eval_id = request.eval_id, worker).entered();
        if outcomes.send(evaluator.evaluate(&request, worker)).is_err() {
            return;
        }
    }
}

impl Drop for LocalPool {
    fn drop(&mut self) {
        // Closing the request channel ends every worker loop.
        self.requests.take();
        for handle in self.workers.drain(..) {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::Status;

    struct Square;
    impl Evaluator for Square {
        fn evaluate(&self, request: &EvalRequest, worker: u32) -> Outcome {
            Outcome {
                eval_id: request.eval_id,
                objectives: vec![request.parameters[0] * request.parameters[0]],
                constraints: vec![],
                status: Status::Ok,
                error: String::new(),
                features: None,
                worker,
                start_time: 0.0,
                duration: 0.0,
            }
        }
    }

    #[test]
    fn every_request_gets_exactly_one_outcome() {
        let pool = LocalPool::new(Arc::new(Square), 3).unwrap();
        for i in 0..50u64 {
            pool.submit(EvalRequest {
                eval_id: i,
                epoch: 0,
                parameters: vec![i as f64],
                group: None,
            })
            .unwrap();
        }
        let mut seen: Vec<u64> = (0..50).map(|_| pool.recv().unwrap().eval_id).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..50).collect::<Vec<_>>());
    }
}
