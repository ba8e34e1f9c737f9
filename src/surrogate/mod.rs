//! Surrogate models: what the optimizer needs from a model, independent of how it is built.
//!
//! A [`Trainer`] turns [`TrainingData`] into a trained [`Model`] (the egobox split: the
//! trainer holds hyperparameters, the model holds fitted state). All inputs are in the
//! *normalized* coordinates of the [`crate::space::ParameterSpace`] (`[0, 1]^n`); all outputs
//! are in the problem's own units. `torch/` holds the libtorch implementations and is the only
//! place that imports `tch`; [`oracle`] is a test double that answers with the true function.

pub mod composite;
pub mod constraint_regression;
pub mod oracle;
#[cfg(test)]
pub mod stub;
pub mod torch;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Where a libtorch surrogate trains and predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceChoice {
    /// CUDA when a GPU is visible, else CPU.
    Auto,
    /// Always the CPU (deterministic for a given seed).
    #[default]
    Cpu,
    /// The first CUDA device; an error when none is available.
    Cuda,
}

/// Rows used to fit a surrogate (normalized inputs, raw outputs).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrainingData {
    /// Normalized inputs, one row per sample.
    pub x: Vec<Vec<f64>>,
    /// Objective values, one row per sample (all finite).
    pub objectives: Vec<Vec<f64>>,
    /// Constraint values, one row per sample (empty rows when the problem has none).
    pub constraints: Vec<Vec<f64>>,
}

impl TrainingData {
    pub fn len(&self) -> usize {
        self.x.len()
    }
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }
}

/// A batch of predictions, one row per input point.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prediction {
    /// Predicted objective means.
    pub mean: Vec<Vec<f64>>,
    /// Predicted objective variances, when the model has them.
    pub variance: Option<Vec<Vec<f64>>>,
    /// Predicted probability that each constraint is satisfied, when the model has them.
    pub feasibility: Option<Vec<Vec<f64>>>,
    /// Predicted feasibility score of each constraint (positive: satisfied; the probability is
    /// its logistic sigmoid), when the model has them. Unlike the probability it keeps
    /// growing with the distance from the feasible region, so the search ranks infeasible
    /// candidates by it.
    pub constraint_scores: Option<Vec<Vec<f64>>>,
}

/// Why a surrogate could not be trained or used.
#[derive(Debug, Error)]
pub enum SurrogateError {
    #[error("surrogate training data is empty")]
    NoData,
    #[error("surrogate training data is inconsistent: {0}")]
    BadData(String),
    #[error("{kind} surrogate: Cholesky factorization failed even with jitter {jitter:e}")]
    Cholesky { kind: &'static str, jitter: f64 },
    #[error("surrogate device `{0}` is not available on this machine")]
    DeviceUnavailable(String),
    #[error("{kind} surrogate: training produced non-finite values ({detail})")]
    NonFinite { kind: &'static str, detail: String },
    #[error("libtorch error in {context}: {message}")]
    Torch {
        context: &'static str,
        message: String,
    },
}

/// A trained model: predictions and input gradients, batched.
pub trait Model {
    /// Number of objective outputs.
    fn n_objectives(&self) -> usize;

    /// Predict objectives (and variance / feasibility where available) at normalized points.
    fn predict(&self, x: &[Vec<f64>]) -> Result<Prediction, SurrogateError>;

    /// Gradients of each predicted objective mean with respect to the normalized inputs,
    /// indexed `[point][objective][dimension]`.
    fn objective_gradients(&self, x: &[Vec<f64>]) -> Result<Vec<Vec<Vec<f64>>>, SurrogateError>;

    /// The number of training epochs of a neural model (chosen by cross-validation or fixed).
    fn training_epochs(&self) -> Option<usize> {
        None
    }
}

/// Builds a model from data. `seed` makes training deterministic (on CPU).
pub trait Trainer {
    /// A short name for logs ("gp", "oracle", …).
    fn name(&self) -> &'static str;

    /// Whether the model predicts constraint satisfaction (then it is trained on infeasible
    /// rows too; otherwise the search gives it feasible rows only when it can).
    fn models_feasibility(&self) -> bool {
        false
    }

    fn fit(&self, data: &TrainingData, seed: u64) -> Result<Box<dyn Model>, SurrogateError>;
}
