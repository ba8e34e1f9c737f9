//! A test double: a "surrogate" that evaluates the true problem, so the strategy and the MOEA
//! can be tested in milliseconds without libtorch.

use super::{Model, Prediction, SurrogateError, Trainer, TrainingData};
use crate::problems::Problem;
use crate::space::ParameterSpace;
use std::sync::Arc;

/// Trainer whose models answer with the true objectives of `problem`.
pub struct OracleTrainer {
    problem: Arc<dyn Problem>,
}

impl OracleTrainer {
    pub fn new(problem: Arc<dyn Problem>) -> Self {
        Self { problem }
    }
}

impl Trainer for OracleTrainer {
    fn name(&self) -> &'static str {
        "oracle"
    }

    fn fit(&self, data: &TrainingData, _seed: u64) -> Result<Box<dyn Model>, SurrogateError> {
        if data.is_empty() {
            return Err(SurrogateError::NoData);
        }
        Ok(Box::new(OracleModel {
            problem: self.problem.clone(),
        }))
    }
}

struct OracleModel {
    problem: Arc<dyn Problem>,
}

impl OracleModel {
    fn space(&self) -> &ParameterSpace {
        self.problem.space()
    }

    fn objectives_at(&self, unit: &[f64]) -> Vec<f64> {
        self.problem
            .evaluate(&self.space().denormalize(unit))
            .objectives
    }
}

impl Model for OracleModel {
    fn n_objectives(&self) -> usize {
        self.problem.schema().n_objectives()
    }

    fn predict(&self, x: &[Vec<f64>]) -> Result<Prediction, SurrogateError> {
        let mut mean = Vec::with_capacity(x.len());
        let mut feasibility = Vec::with_capacity(x.len());
        let mut scores = Vec::with_capacity(x.len());
        for unit in x {
            let evaluation = self.problem.evaluate(&self.space().denormalize(unit));
            feasibility.push(
                evaluation
                    .constraints
                    .iter()
                    .map(|&c| if c > 0.0 { 1.0 } else { 0.0 })
                    .collect(),
            );
            scores.push(evaluation.constraints);
            mean.push(evaluation.objectives);
        }
        let has_constraints = self.problem.schema().n_constraints() > 0;
        Ok(Prediction {
            mean,
            variance: None,
            feasibility: has_constraints.then_some(feasibility),
            constraint_scores: has_constraints.then_some(scores),
        })
    }

    /// Central finite differences of the true function (step 1e-6 in normalized units).
    fn objective_gradients(&self, x: &[Vec<f64>]) -> Result<Vec<Vec<Vec<f64>>>, SurrogateError> {
        let step = 1e-6;
        Ok(x.iter()
            .map(|unit| {
                let q = self.n_objectives();
                let mut grad = vec![vec![0.0; unit.len()]; q];
                for d in 0..unit.len() {
                    let mut plus = unit.clone();
                    let mut minus = unit.clone();
                    plus[d] = (plus[d] + step).min(1.0);
                    minus[d] = (minus[d] - step).max(0.0);
                    let width = plus[d] - minus[d];
                    let (fp, fm) = (self.objectives_at(&plus), self.objectives_at(&minus));
                    for j in 0..q {
                        grad[j][d] = (fp[j] - fm[j]) / width;
                    }
                }
                grad
            })
            .collect())
    }
}
