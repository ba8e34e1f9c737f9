//! A surrogate assembled from two: one model predicts the objectives, another the feasibility
//! of the constraints (`[surrogate] kind = "gp"` with `feasibility = "mlp"`).
//!
//! The objective model (the GP) keeps its smooth prior and its variance; the feasibility model
//! (a joint network with value or label heads, [`super::torch::joint`]) learns from every row,
//! infeasible ones included, which a feasible-only GP never sees. Both train on every row
//! with finite objectives ([`Trainer::models_feasibility`] is true). Predictions: objective
//! means, variances and gradients from the first; constraint probabilities and scores from
//! the second.

use super::{Model, Prediction, SurrogateError, Trainer, TrainingData};

/// Trains an objective model and a feasibility model on the same rows.
pub struct CompositeTrainer {
    objectives: Box<dyn Trainer>,
    feasibility: Box<dyn Trainer>,
}

impl CompositeTrainer {
    pub fn new(objectives: Box<dyn Trainer>, feasibility: Box<dyn Trainer>) -> Self {
        CompositeTrainer {
            objectives,
            feasibility,
        }
    }
}

impl Trainer for CompositeTrainer {
    fn name(&self) -> &'static str {
        "composite"
    }

    /// Always: the second model is there to predict feasibility.
    fn models_feasibility(&self) -> bool {
        true
    }

    fn fit(&self, data: &TrainingData, seed: u64) -> Result<Box<dyn Model>, SurrogateError> {
        let objectives = self.objectives.fit(data, seed)?;
        let feasibility = self.feasibility.fit(data, seed.wrapping_add(1))?;
        Ok(Box::new(CompositeModel {
            objectives,
            feasibility,
        }))
    }
}

/// Objectives from one model, feasibility from the other.
pub struct CompositeModel {
    objectives: Box<dyn Model>,
    feasibility: Box<dyn Model>,
}

impl Model for CompositeModel {
    fn n_objectives(&self) -> usize {
        self.objectives.n_objectives()
    }

    fn predict(&self, x: &[Vec<f64>]) -> Result<Prediction, SurrogateError> {
        let objectives = self.objectives.predict(x)?;
        let feasibility = self.feasibility.predict(x)?;
        Ok(Prediction {
            mean: objectives.mean,
            variance: objectives.variance,
            feasibility: feasibility.feasibility,
            constraint_scores: feasibility.constraint_scores,
        })
    }

    fn objective_gradients(&self, x: &[Vec<f64>]) -> Result<Vec<Vec<Vec<f64>>>, SurrogateError> {
        self.objectives.objective_gradients(x)
    }

    fn training_epochs(&self) -> Option<usize> {
        self.feasibility.training_epochs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problems::Builtin;
    use crate::surrogate::oracle::OracleTrainer;
    use std::sync::Arc;

    /// Predicts constant objectives and no feasibility.
    struct Constant;

    impl Model for Constant {
        fn n_objectives(&self) -> usize {
            2
        }
        fn predict(&self, x: &[Vec<f64>]) -> Result<Prediction, SurrogateError> {
            Ok(Prediction {
                mean: vec![vec![7.0, 8.0]; x.len()],
                variance: Some(vec![vec![0.5, 0.5]; x.len()]),
                ..Prediction::default()
            })
        }
        fn objective_gradients(
            &self,
            x: &[Vec<f64>],
        ) -> Result<Vec<Vec<Vec<f64>>>, SurrogateError> {
            Ok(vec![vec![vec![0.0; 2]; 2]; x.len()])
        }
    }

    struct ConstantTrainer;

    impl Trainer for ConstantTrainer {
        fn name(&self) -> &'static str {
            "constant"
        }
        fn fit(&self, _: &TrainingData, _: u64) -> Result<Box<dyn Model>, SurrogateError> {
            Ok(Box::new(Constant))
        }
    }

    #[test]
    fn objectives_come_from_one_model_and_feasibility_from_the_other() {
        let problem: Arc<dyn crate::problems::Problem> = Builtin::Tnk.build(None, None).unwrap();
        let oracle = OracleTrainer::new(problem.clone());
        let trainer = CompositeTrainer::new(Box::new(ConstantTrainer), Box::new(oracle));
        assert!(trainer.models_feasibility());
        let data = TrainingData {
            x: vec![vec![0.5, 0.5]],
            objectives: vec![vec![1.0, 1.0]],
            constraints: vec![vec![0.1, 0.1]],
        };
        let model = trainer.fit(&data, 1).unwrap();
        let x = vec![vec![0.5, 0.5], vec![0.01, 0.01]];
        let prediction = model.predict(&x).unwrap();
        assert_eq!(prediction.mean, vec![vec![7.0, 8.0]; 2]);
        assert_eq!(prediction.variance, Some(vec![vec![0.5, 0.5]; 2]));
        let truth = OracleTrainer::new(problem)
            .fit(&data, 1)
            .unwrap()
            .predict(&x)
            .unwrap();
        assert_eq!(prediction.feasibility, truth.feasibility);
        assert_eq!(prediction.constraint_scores, truth.constraint_scores);
        assert_eq!(model.n_objectives(), 2);
    }
}
