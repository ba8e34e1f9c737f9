//! A [`Model`] made of plain functions of one point, for unit tests of the code that only
//! queries a model (selection, refinement): no training, no variance, no input gradients.

use super::{Model, Prediction, SurrogateError};

/// A prediction row (objectives, probabilities or scores) of one point.
pub type Row = fn(&[f64]) -> Vec<f64>;

/// One row per point from each function; `feasibility` and `constraint_scores` are optional
/// as in [`Prediction`].
pub struct FnModel {
    pub n_objectives: usize,
    pub mean: Row,
    pub feasibility: Option<Row>,
    pub constraint_scores: Option<Row>,
}

impl Model for FnModel {
    fn n_objectives(&self) -> usize {
        self.n_objectives
    }

    fn predict(&self, x: &[Vec<f64>]) -> Result<Prediction, SurrogateError> {
        let rows = |f: Row| x.iter().map(|p| f(p)).collect();
        Ok(Prediction {
            mean: rows(self.mean),
            variance: None,
            feasibility: self.feasibility.map(rows),
            constraint_scores: self.constraint_scores.map(rows),
        })
    }

    fn objective_gradients(&self, _: &[Vec<f64>]) -> Result<Vec<Vec<Vec<f64>>>, SurrogateError> {
        Ok(Vec::new())
    }
}
