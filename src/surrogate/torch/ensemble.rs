//! Deep ensemble of joint neural surrogates (Lakshminarayanan, Pritzel & Blundell, "Simple
//! and Scalable Predictive Uncertainty Estimation using Deep Ensembles", NeurIPS 2017).
//!
//! `members` networks of one architecture (`mlp`, `resnet` or `ft-transformer`, see
//! [`super::joint`]) differ in their initialization and, with `bootstrap`, in their training rows: member `m` weights row
//! `i` by the number of times `i` is drawn in `N` draws with replacement (multinomial counts,
//! drawn from the fit seed), which is training on a bootstrap resample. The number of epochs
//! is chosen once, by cross-validation on all rows (or fixed), and used by every member. The
//! members are stacked in one network ([`super::networks`]) and trained together in one run
//! ([`super::training`]); a prediction is one forward pass of all members. Predictions: the
//! mean of the members' objective means, their variance across members (the ensemble's
//! epistemic spread, in the objectives' units), the mean of the members' constraint
//! probabilities and feasibility scores, and the mean of their input gradients (one backward
//! pass per objective).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::{Kind, Tensor};

use super::joint::{choose_epochs, fit_final, gradient_rows, prepare, JointConfig, JointModel};
use super::training::{with_seed, MemberRows};
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
        let members = self.config.members as i64;
        let choice = with_seed(seed, || choose_epochs(member, &prepared, seed))?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let training_seed: u64 = rng.random();
        let member_rows = if self.config.bootstrap {
            let mut counts = vec![0f32; (members * rows) as usize];
            for m in 0..members {
                for _ in 0..rows {
                    counts[(m * rows + rng.random_range(0..rows)) as usize] += 1.0;
                }
            }
            let weights = Tensor::f_from_slice(&counts)
                .and_then(|t| t.f_view([members, rows]))
                .and_then(|t| t.f_to(prepared.device))
                .context("bootstrap counts")?;
            MemberRows::weighted(weights)?
        } else {
            MemberRows::all(members, rows)
        };
        let model = with_seed(training_seed, || {
            fit_final(member, &prepared, &member_rows, &choice)
        })?;
        Ok(Box::new(EnsembleModel {
            model,
            epochs: choice.epochs,
        }))
    }
}

/// The trained members, stacked in one [`JointModel`].
pub struct EnsembleModel {
    model: JointModel,
    epochs: usize,
}

/// Mean and (population) variance over the member dimension 0.
fn mean_and_variance(stacked: &Tensor) -> Result<(Tensor, Tensor), SurrogateError> {
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
        self.model.n_objectives()
    }

    fn predict(&self, x: &[Vec<f64>]) -> Result<Prediction, SurrogateError> {
        if x.is_empty() {
            return Ok(Prediction::default());
        }
        let (objectives, scores) = self.model.predict_tensors(x)?;
        let (mean, variance) = mean_and_variance(&objectives)?;
        let (feasibility, constraint_scores) = if self.model.models_constraints() {
            let probabilities = self.model.probabilities(&scores)?;
            let (p, _) = mean_and_variance(&probabilities)?;
            let (s, _) = mean_and_variance(&scores)?;
            (Some(tensor_to_rows(&p)?), Some(tensor_to_rows(&s)?))
        } else {
            (None, None)
        };
        Ok(Prediction {
            mean: tensor_to_rows(&mean)?,
            variance: Some(tensor_to_rows(&variance)?),
            feasibility,
            constraint_scores,
        })
    }

    fn objective_gradients(&self, x: &[Vec<f64>]) -> Result<Vec<Vec<Vec<f64>>>, SurrogateError> {
        if x.is_empty() {
            return Ok(Vec::new());
        }
        gradient_rows(&self.model.gradient_tensor(x)?, self.n_objectives())
    }

    fn training_epochs(&self) -> Option<usize> {
        Some(self.epochs)
    }
}
