//! Deep ensemble of joint neural surrogates (Lakshminarayanan, Pritzel & Blundell, "Simple
//! and Scalable Predictive Uncertainty Estimation using Deep Ensembles", NeurIPS 2017).
//!
//! `members` networks of one architecture (`mlp`, `resnet` or `ft-transformer`, see
//! [`super::joint`]) differ in their initialization seed and, with `bootstrap`, in their
//! training rows (a bootstrap resample of the data per member). The number of epochs is
//! chosen once, by the members' cross-validation on all rows (or fixed), and used by every
//! member. Predictions: the mean
//! of the members' objective means, their variance across members (the ensemble's epistemic
//! spread, in the objectives' units), the mean of the members' constraint probabilities, and
//! the mean of their input gradients.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::{Kind, Tensor};

use super::joint::{choose_epochs, fit_final, gradient_rows, prepare, JointConfig, JointModel};
use super::training::with_seed;
use super::{tensor_to_rows, TorchResultExt};
use crate::surrogate::{Model, Prediction, SurrogateError, Trainer, TrainingData};

/// Settings of a deep ensemble.
#[derive(Debug, Clone, PartialEq)]
pub struct EnsembleConfig {
    /// The members' settings (architecture, mode, normalization, training).
    pub member: JointConfig,
    pub members: usize,
    pub bootstrap: bool,
}

/// Trains an [`EnsembleModel`].
#[derive(Debug, Clone)]
pub struct EnsembleTrainer {
    config: EnsembleConfig,
}

impl EnsembleTrainer {
    pub fn new(config: EnsembleConfig) -> Self {
        EnsembleTrainer { config }
    }
}

impl Trainer for EnsembleTrainer {
    fn name(&self) -> &'static str {
        "ensemble"
    }

    fn models_feasibility(&self) -> bool {
        super::joint::JointTrainer::new(self.config.member.clone()).models_feasibility()
    }

    fn fit(&self, data: &TrainingData, seed: u64) -> Result<Box<dyn Model>, SurrogateError> {
        if self.config.members == 0 {
            return Err(SurrogateError::BadData(
                "an ensemble needs at least one member".to_string(),
            ));
        }
        let member = &self.config.member;
        let prepared = prepare(member, data)?;
        let rows = prepared.dataset.rows();
        let epochs = with_seed(seed, || choose_epochs(member, &prepared, seed))?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut members = Vec::with_capacity(self.config.members);
        for _ in 0..self.config.members {
            let member_seed: u64 = rng.random();
            let resample: Option<Vec<i64>> = self
                .config
                .bootstrap
                .then(|| (0..rows).map(|_| rng.random_range(0..rows)).collect());
            let model = with_seed(member_seed, || match &resample {
                None => fit_final(member, &prepared, &prepared.dataset, epochs),
                Some(index) => {
                    let index = Tensor::f_from_slice(index)
                        .and_then(|t| t.f_to(prepared.device))
                        .context("bootstrap indices")?;
                    let dataset = prepared.dataset.select(&index)?;
                    fit_final(member, &prepared, &dataset, epochs)
                }
            })?;
            members.push(model);
        }
        Ok(Box::new(EnsembleModel { members, epochs }))
    }
}

/// The trained members.
pub struct EnsembleModel {
    members: Vec<JointModel>,
    epochs: usize,
}

fn mean_and_variance(values: Vec<Tensor>) -> Result<(Tensor, Tensor), SurrogateError> {
    let stacked = Tensor::f_stack(&values, 0).context("stacking member predictions")?;
    let mean = stacked
        .f_mean_dim([0i64].as_slice(), false, Kind::Float)
        .context("ensemble mean")?;
    let variance = stacked
        .f_var_correction([0i64].as_slice(), 0.0, false)
        .context("ensemble variance")?;
    Ok((mean, variance))
}

impl Model for EnsembleModel {
    fn n_objectives(&self) -> usize {
        self.members.first().map_or(0, |m| m.n_objectives())
    }

    fn predict(&self, x: &[Vec<f64>]) -> Result<Prediction, SurrogateError> {
        if x.is_empty() {
            return Ok(Prediction::default());
        }
        let mut objectives = Vec::with_capacity(self.members.len());
        let mut probabilities = Vec::with_capacity(self.members.len());
        for member in &self.members {
            let (o, p) = member.predict_tensors(x)?;
            objectives.push(o);
            probabilities.push(p);
        }
        let (mean, variance) = mean_and_variance(objectives)?;
        let feasibility = if self.members.iter().any(JointModel::models_constraints) {
            let (p, _) = mean_and_variance(probabilities)?;
            Some(tensor_to_rows(&p)?)
        } else {
            None
        };
        Ok(Prediction {
            mean: tensor_to_rows(&mean)?,
            variance: Some(tensor_to_rows(&variance)?),
            feasibility,
        })
    }

    fn objective_gradients(&self, x: &[Vec<f64>]) -> Result<Vec<Vec<Vec<f64>>>, SurrogateError> {
        if x.is_empty() {
            return Ok(Vec::new());
        }
        let gradients = self
            .members
            .iter()
            .map(|member| member.gradient_tensor(x))
            .collect::<Result<Vec<_>, _>>()?;
        let (mean, _) = mean_and_variance(gradients)?;
        gradient_rows(&mean, self.n_objectives())
    }

    fn training_epochs(&self) -> Option<usize> {
        Some(self.epochs)
    }
}
