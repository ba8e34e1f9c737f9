//! In-process evaluation of builtin problems. A panic inside a problem becomes a `failed`
//! outcome instead of taking the run down.

use super::{unix_seconds, Evaluator};
use crate::problem::{EvalRequest, Outcome, Status};
use crate::problems::Problem;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

pub struct BuiltinEvaluator {
    problem: Arc<dyn Problem>,
}

impl BuiltinEvaluator {
    pub fn new(problem: Arc<dyn Problem>) -> Self {
        Self { problem }
    }
}

impl Evaluator for BuiltinEvaluator {
    fn evaluate(&self, request: &EvalRequest, worker: u32) -> Outcome {
        let start_time = unix_seconds();
        let clock = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| {
            self.problem.evaluate_with_features(&request.parameters)
        }));
        let mut outcome = match result {
            Ok((evaluation, features)) => Outcome {
                features: features.map(|f| f.to_string()),
                worker,
                start_time,
                ..Outcome::success(request.eval_id, evaluation)
            },
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".to_string());
                let mut outcome = Outcome::failure(
                    request.eval_id,
                    self.problem.schema(),
                    Status::Failed,
                    format!("builtin problem panicked: {message}"),
                );
                outcome.worker = worker;
                outcome.start_time = start_time;
                outcome
            }
        };
        outcome.duration = clock.elapsed().as_secs_f64();
        outcome
    }
}
