//! Exact Gaussian-process surrogate: one independent GP per objective.
//!
//! # Model
//! Each objective `j` gets a zero-mean GP on its standardized values
//! `(y_j − mean_j) / std_j` (a constant objective gets `std_j = 1`) with the Matérn-5/2
//! kernel with automatic relevance determination (ARD),
//!
//! ```text
//! k(x, x') = σ² (1 + √5 r + 5 r² / 3) exp(−√5 r),   r² = Σ_d (x_d − x'_d)² / ℓ_d²,
//! ```
//!
//! plus Gaussian observation noise `σ_n² ≥ 1e-6` (Rasmussen & Williams 2006, § 4.2, eq. 4.17).
//! Inputs are the normalized coordinates in `[0, 1]^n`.
//!
//! # Training
//! The hyperparameters `θ = (log ℓ_1 … log ℓ_n, log σ², log σ_n²)` maximize the log marginal
//! likelihood (R&W § 2.3 and eq. 5.8, computed as in algorithm 2.1 with a Cholesky factor)
//! plus weak Gaussian priors on `θ` (a MAP fit: the priors only keep flat likelihoods from
//! running to the bounds). `θ` is clamped to boxes after every step (ℓ ∈ [1e-3, 1e3],
//! σ² ∈ [1e-4, 1e4], σ_n² ∈ [1e-6, 10]). Adam runs for [`GpConfig::iterations`] steps from
//! [`GpConfig::restarts`] starting points per objective (the first at ℓ = ½√n, σ² = 1,
//! σ_n² = 1e-2; the others drawn log-uniformly around it from a generator seeded by the fit's
//! seed); each objective keeps the best point any of its restarts visited.
//!
//! All objectives × restarts form one batch: the covariance matrices are one `[B, N, N]`
//! tensor, factored with one batched `linalg_cholesky_ex`, and one Adam (written here,
//! element-wise, so the batch members stay independent) minimizes the sum of the members'
//! negative log posteriors. Its gradient is taken in closed form from `½ (K⁻¹ − α αᵀ)`
//! (R&W eq. 5.9) rather than by autograd through the factorization, which is several times
//! slower; a step costs one batched Cholesky, one `cholesky_inverse` and a handful of fused
//! `[B, N, N]` passes. A member whose factorization fails is retried with jitter
//! `1e-8 … 1e-2 · σ²` added to the diagonal; a member whose loss or gradient is not finite
//! goes back to its last finite parameters, with its Adam moments reset and its step halved.
//!
//! # Prediction
//! The trained model keeps, per objective, the Cholesky factor `L` of `K + σ_n² I` and
//! `α = K⁻¹ y`; the posterior of the latent function at `x*` is
//! `mean = k*ᵀ α`, `variance = σ² − ‖L⁻¹ k*‖²` (R&W eqs. 2.25–2.26, algorithm 2.1), returned
//! in the objectives' own units. Input gradients of the mean come from autograd. Work is done
//! in chunks of up to [`PREDICTION_CHUNK_ROWS`] points, in `f64`, on the configured device.
//!
//! # Memory
//! Training holds about ten `[B, N, N]` tensors; objectives are trained (and factored) in
//! groups so that one such tensor stays under 512 MiB, and prediction chunks shrink so that
//! an `[m, N, chunk]` tensor does too. The model keeps `m` factors of `N × N`.
//!
//! Reference: C. E. Rasmussen and C. K. I. Williams, *Gaussian Processes for Machine
//! Learning*, MIT Press, 2006, ch. 2 (regression) and § 4.2 (Matérn kernels).

use std::ops::Range;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use super::{resolve_device, rows_to_tensor, tensor_to_vec, validate_rows, TorchResultExt};
use crate::surrogate::{DeviceChoice, Model, Prediction, SurrogateError, Trainer, TrainingData};

/// The name used in errors and logs.
const KIND: &str = "gp";

/// Diagonal jitter tried, in order, relative to each member's signal variance.
const JITTER_LEVELS: [f64; 8] = [0.0, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2];

/// Bounds on the length scales (normalized input units).
const LENGTH_SCALE_BOUNDS: (f64, f64) = (1e-3, 1e3);
/// Bounds on the signal variance (standardized output units).
const SIGNAL_VARIANCE_BOUNDS: (f64, f64) = (1e-4, 1e4);
/// Bounds on the noise variance (standardized output units); the lower one is the noise floor.
const NOISE_VARIANCE_BOUNDS: (f64, f64) = (1e-6, 10.0);
/// Starting noise variance of the first restart.
const INITIAL_NOISE_VARIANCE: f64 = 1e-2;

/// Standard deviations of the Gaussian priors on the log hyperparameters.
const LOG_LENGTH_SCALE_PRIOR_STD: f64 = 1.5;
const LOG_SIGNAL_VARIANCE_PRIOR_STD: f64 = 1.5;
const LOG_NOISE_VARIANCE_PRIOR_STD: f64 = 3.0;
/// Median of the noise-variance prior (standardized output units).
const NOISE_VARIANCE_PRIOR_MEDIAN: f64 = 1e-3;

/// Inputs are shifted by this before scaling, so that squared distances computed as
/// `|a|² + |b|² − 2 a·b` lose less to cancellation.
const INPUT_CENTRE: f64 = 0.5;
/// Squared distances are clamped below at this, which keeps `sqrt` differentiable at 0.
const MIN_SQUARED_DISTANCE: f64 = 1e-30;

/// Most points per chunk in [`GpModel::predict`] and [`GpModel::objective_gradients`].
pub const PREDICTION_CHUNK_ROWS: usize = 4096;

/// Most elements of one `[B, N, N]` training tensor or `[m, N, c]` prediction tensor
/// (512 MiB in `f64`): objectives are trained in groups, and prediction chunks shrink, to
/// stay under it.
const MAX_BATCH_ELEMENTS: usize = 1 << 26;

const ADAM_BETA1: f64 = 0.9;
const ADAM_BETA2: f64 = 0.999;
const ADAM_EPSILON: f64 = 1e-8;

/// Hyperparameters of the GP trainer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GpConfig {
    /// Starting points of the hyperparameter search per objective (at least one is used).
    pub restarts: usize,
    /// Adam steps per fit.
    pub iterations: usize,
    /// Adam step size (in log-hyperparameter units).
    pub learning_rate: f64,
    /// Where to train and predict.
    pub device: DeviceChoice,
}

impl Default for GpConfig {
    fn default() -> Self {
        Self {
            restarts: 3,
            iterations: 150,
            learning_rate: 0.05,
            device: DeviceChoice::Cpu,
        }
    }
}

/// Fitted hyperparameters of one objective's GP (output units are standardized).
#[derive(Debug, Clone, PartialEq)]
pub struct GpHyperparameters {
    /// ARD length scale per input dimension (normalized input units).
    pub length_scales: Vec<f64>,
    /// Signal variance `σ²`.
    pub signal_variance: f64,
    /// Noise variance `σ_n²`.
    pub noise_variance: f64,
    /// Negative log marginal likelihood plus the negative log prior at these values.
    pub negative_log_posterior: f64,
}

/// Trains a [`GpModel`]: an exact GP per objective (see the module documentation).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GpTrainer {
    pub config: GpConfig,
}

impl GpTrainer {
    pub fn new(config: GpConfig) -> Self {
        Self { config }
    }

    /// Like [`Trainer::fit`], but returns the concrete model (with its hyperparameters).
    pub fn fit_gp(&self, data: &TrainingData, seed: u64) -> Result<GpModel, SurrogateError> {
        let targets = StandardizedTargets::from_data(data)?;
        check_config(&self.config)?;
        let device = resolve_device(self.config.device)?;
        tch::manual_seed(i64::from_ne_bytes(seed.to_ne_bytes()));
        let layout = Layout {
            dimension: data.x[0].len(),
        };
        let inputs = rows_to_tensor(&data.x, layout.dimension, "x", device)?
            .f_sub_scalar(INPUT_CENTRE)
            .context("centring gp inputs")?;
        let restarts = self.config.restarts.max(1);
        let group_size = objectives_per_group(targets.points, restarts);
        let fit = FitPlan {
            inputs: &inputs,
            targets: &targets,
            layout,
            restarts,
            group_size,
            device,
        };
        fit.run(&self.config, seed)
    }
}

/// Objectives trained together, so that a `[B, N, N]` tensor stays under
/// [`MAX_BATCH_ELEMENTS`] (at least one objective per group).
fn objectives_per_group(points: usize, restarts: usize) -> usize {
    let per_objective = restarts
        .saturating_mul(points.saturating_mul(points))
        .max(1);
    (MAX_BATCH_ELEMENTS / per_objective).max(1)
}

/// Everything a fit needs, shared by the objective groups.
struct FitPlan<'a> {
    /// Centred training inputs `[N, n]`.
    inputs: &'a Tensor,
    targets: &'a StandardizedTargets,
    layout: Layout,
    restarts: usize,
    group_size: usize,
    device: Device,
}

impl FitPlan<'_> {
    /// Trains each group of objectives (all restarts batched), then builds the model.
    fn run(&self, config: &GpConfig, seed: u64) -> Result<GpModel, SurrogateError> {
        let objectives = self.targets.objectives;
        let initial = initial_parameters(self.layout, objectives, self.restarts, seed);
        let per_objective = self.restarts * self.layout.width();
        let mut chosen = Vec::with_capacity(objectives);
        for first in (0..objectives).step_by(self.group_size) {
            let group = first..(first + self.group_size).min(objectives);
            let objective = MarginalLikelihood::new(self, group.clone())?;
            let start = group.start * per_objective;
            let end = group.end * per_objective;
            let search = optimise(&objective, initial[start..end].to_vec(), config)?;
            chosen.extend(choose_best_restarts(
                &search,
                self.layout,
                group,
                self.restarts,
            )?);
        }
        GpModel::build(self, chosen)
    }
}

impl Trainer for GpTrainer {
    fn name(&self) -> &'static str {
        KIND
    }

    fn fit(&self, data: &TrainingData, seed: u64) -> Result<Box<dyn Model>, SurrogateError> {
        Ok(Box::new(self.fit_gp(data, seed)?))
    }
}

fn check_config(config: &GpConfig) -> Result<(), SurrogateError> {
    if config.learning_rate.is_finite() && config.learning_rate > 0.0 {
        Ok(())
    } else {
        Err(SurrogateError::BadData(format!(
            "gp learning_rate must be positive and finite, got {}",
            config.learning_rate
        )))
    }
}

/// Where each hyperparameter sits in a member's parameter row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    dimension: usize,
}

impl Layout {
    /// Parameters per batch member: the log length scales, log σ², log σ_n².
    fn width(self) -> usize {
        self.dimension + 2
    }
    fn signal_index(self) -> usize {
        self.dimension
    }
    fn noise_index(self) -> usize {
        self.dimension + 1
    }

    /// The first restart's length scale.
    fn default_length_scale(self) -> f64 {
        0.5 * (self.dimension as f64).sqrt()
    }

    /// Lower and upper bounds on a member's log parameters.
    fn bounds(self) -> (Vec<f64>, Vec<f64>) {
        let mut lower = vec![LENGTH_SCALE_BOUNDS.0.ln(); self.dimension];
        let mut upper = vec![LENGTH_SCALE_BOUNDS.1.ln(); self.dimension];
        lower.extend([SIGNAL_VARIANCE_BOUNDS.0.ln(), NOISE_VARIANCE_BOUNDS.0.ln()]);
        upper.extend([SIGNAL_VARIANCE_BOUNDS.1.ln(), NOISE_VARIANCE_BOUNDS.1.ln()]);
        (lower, upper)
    }

    /// Means and standard deviations of the Gaussian priors on a member's log parameters.
    fn prior(self) -> (Vec<f64>, Vec<f64>) {
        let mut mean = vec![self.default_length_scale().ln(); self.dimension];
        let mut std = vec![LOG_LENGTH_SCALE_PRIOR_STD; self.dimension];
        mean.extend([0.0, NOISE_VARIANCE_PRIOR_MEDIAN.ln()]);
        std.extend([LOG_SIGNAL_VARIANCE_PRIOR_STD, LOG_NOISE_VARIANCE_PRIOR_STD]);
        (mean, std)
    }
}

/// Objective values standardized per objective, laid out objective-major.
struct StandardizedTargets {
    objectives: usize,
    points: usize,
    /// `values[j * points + i]` is point `i` of objective `j`, standardized.
    values: Vec<f64>,
    means: Vec<f64>,
    stds: Vec<f64>,
}

impl StandardizedTargets {
    /// Validates the training data and standardizes its objectives.
    fn from_data(data: &TrainingData) -> Result<Self, SurrogateError> {
        let (dimension, objectives) = training_shape(data)?;
        validate_rows(&data.x, dimension, "x")?;
        validate_rows(&data.objectives, objectives, "objectives")?;
        let points = data.len();
        let mut values = Vec::with_capacity(points * objectives);
        let mut means = Vec::with_capacity(objectives);
        let mut stds = Vec::with_capacity(objectives);
        for objective in 0..objectives {
            let column: Vec<f64> = data.objectives.iter().map(|row| row[objective]).collect();
            let (mean, std) = mean_and_std(&column);
            values.extend(column.iter().map(|value| (value - mean) / std));
            means.push(mean);
            stds.push(std);
        }
        Ok(Self {
            objectives,
            points,
            values,
            means,
            stds,
        })
    }
}

/// The input dimension and objective count, after the row-count checks.
fn training_shape(data: &TrainingData) -> Result<(usize, usize), SurrogateError> {
    if data.is_empty() {
        return Err(SurrogateError::NoData);
    }
    if data.objectives.len() != data.x.len() {
        return Err(SurrogateError::BadData(format!(
            "x has {} rows but objectives has {}",
            data.x.len(),
            data.objectives.len()
        )));
    }
    let dimension = data.x[0].len();
    let objectives = data.objectives[0].len();
    if dimension == 0 {
        return Err(SurrogateError::BadData("x row 0 has no values".to_string()));
    }
    if objectives == 0 {
        return Err(SurrogateError::BadData(
            "objectives row 0 has no values".to_string(),
        ));
    }
    Ok((dimension, objectives))
}

/// Mean and population standard deviation; a (numerically) constant column gets std 1.
fn mean_and_std(values: &[f64]) -> (f64, f64) {
    let count = values.len() as f64;
    let mean = values.iter().sum::<f64>() / count;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / count;
    let std = variance.sqrt();
    if std.is_finite() && std > 1e-12 * mean.abs().max(1.0) {
        (mean, std)
    } else {
        (mean, 1.0)
    }
}

/// Starting log parameters for every member (objective-major, restart-minor).
fn initial_parameters(layout: Layout, objectives: usize, restarts: usize, seed: u64) -> Vec<f64> {
    let mut generator = ChaCha8Rng::seed_from_u64(seed);
    let base_length_scale = layout.default_length_scale().ln();
    let mut parameters = Vec::with_capacity(objectives * restarts * layout.width());
    for _ in 0..objectives {
        for restart in 0..restarts {
            if restart == 0 {
                parameters.extend(std::iter::repeat_n(base_length_scale, layout.dimension));
                parameters.extend([0.0, INITIAL_NOISE_VARIANCE.ln()]);
            } else {
                let mut uniform = |low: f64, high: f64| generator.random_range(low.ln()..high.ln());
                for _ in 0..layout.dimension {
                    parameters.push(base_length_scale + uniform(0.2, 5.0));
                }
                parameters.push(uniform(0.3, 3.0));
                parameters.push(uniform(1e-4, 1e-1));
            }
        }
    }
    parameters
}

/// The batched training objective: negative log posterior of every member.
struct MarginalLikelihood {
    /// Centred training inputs `[N, n]`.
    inputs: Tensor,
    /// Standardized targets per member `[B, N, 1]`.
    targets: Tensor,
    identity: Tensor,
    prior_mean: Tensor,
    prior_std: Tensor,
    layout: Layout,
    members: usize,
    device: Device,
}

/// Losses (and gradients) of all members at one parameter setting.
struct Evaluation {
    losses: Vec<f64>,
    usable: Vec<bool>,
    gradients: Option<Vec<f64>>,
}

/// What the loss of a batch computes, kept for its gradient.
struct Forward {
    terms: KernelTerms,
    factor: Factor,
    /// `(K + jitter)⁻¹ y` `[B, N, 1]`.
    alpha: Tensor,
    /// Negative log posterior `[B]`.
    loss: Tensor,
}

impl MarginalLikelihood {
    /// The objective for every restart of the objectives in `group`.
    fn new(plan: &FitPlan<'_>, group: Range<usize>) -> Result<Self, SurrogateError> {
        let FitPlan {
            inputs,
            targets,
            layout,
            restarts,
            device,
            ..
        } = *plan;
        let members = group.len() * restarts;
        let per_objective = targets_tensor(targets, device)?; // [m, N, 1]
        let member_objective: Vec<i64> = (0..members)
            .map(|member| (group.start + member / restarts) as i64)
            .collect();
        let index = Tensor::f_from_slice(&member_objective)
            .and_then(|t| t.f_to(device))
            .context("building the gp member index")?;
        let targets = per_objective
            .f_index_select(0, &index)
            .context("repeating gp targets per restart")?;
        let (prior_mean, prior_std) = layout.prior();
        Ok(Self {
            identity: identity(row_count(inputs)?, device)?,
            inputs: inputs.shallow_clone(),
            targets,
            prior_mean: row_tensor(&prior_mean, device)?,
            prior_std: row_tensor(&prior_std, device)?,
            layout,
            members,
            device,
        })
    }

    /// Losses at `parameters` (flat, member-major), with gradients when asked.
    fn evaluate(
        &self,
        parameters: &[f64],
        with_gradients: bool,
    ) -> Result<Evaluation, SurrogateError> {
        let shape = [self.members as i64, self.layout.width() as i64];
        let parameters = Tensor::f_from_slice(parameters)
            .and_then(|t| t.f_view(shape))
            .and_then(|t| t.f_to(self.device))
            .context("uploading gp hyperparameters")?;
        tch::no_grad(|| {
            let forward = self.forward(&parameters)?;
            let gradient = if with_gradients {
                Some(self.gradient(&forward, &parameters)?)
            } else {
                None
            };
            finish_evaluation(&forward.loss, &forward.factor.usable, gradient.as_ref())
        })
    }

    /// Covariances, their factors, `α` and the negative log posterior per member
    /// (R&W algorithm 2.1 plus the prior).
    fn forward(&self, parameters: &Tensor) -> Result<Forward, SurrogateError> {
        let terms = kernel_terms(&self.inputs, parameters, self.layout)?;
        let factor = robust_cholesky(&terms.kernel, &terms.signal, &self.identity)?;
        let alpha = self
            .targets
            .f_cholesky_solve(&factor.lower, false)
            .context("gp cholesky solve")?;
        let data_fit = self
            .targets
            .f_mul(&alpha)
            .and_then(|t| t.f_sum_dim_intlist([1i64, 2].as_slice(), false, Kind::Double))
            .and_then(|t| t.f_mul_scalar(0.5))
            .context("gp data-fit term")?;
        let log_determinant = factor
            .lower
            .f_diagonal(0, -2, -1)
            .and_then(|t| t.f_log())
            .and_then(|t| t.f_sum_dim_intlist([-1i64].as_slice(), false, Kind::Double))
            .context("gp log-determinant term")?;
        let points = row_count(&self.inputs)? as f64;
        let normaliser = 0.5 * points * (2.0 * std::f64::consts::PI).ln();
        let prior = self.negative_log_prior(parameters)?;
        let loss = data_fit
            .f_add(&log_determinant)
            .and_then(|t| t.f_add(&prior))
            .and_then(|t| t.f_add_scalar(normaliser))
            .context("gp loss")?;
        Ok(Forward {
            terms,
            factor,
            alpha,
            loss,
        })
    }

    /// `½ Σ ((θ − μ) / s)²` per member `[B]`.
    fn negative_log_prior(&self, parameters: &Tensor) -> Result<Tensor, SurrogateError> {
        self.standardized_parameters(parameters)?
            .f_square()
            .and_then(|t| t.f_sum_dim_intlist([1i64].as_slice(), false, Kind::Double))
            .and_then(|t| t.f_mul_scalar(0.5))
            .context("gp prior term")
    }

    /// `(θ − μ) / s` `[B, n + 2]`.
    fn standardized_parameters(&self, parameters: &Tensor) -> Result<Tensor, SurrogateError> {
        parameters
            .f_sub(&self.prior_mean)
            .and_then(|t| t.f_div(&self.prior_std))
            .context("gp standardized hyperparameters")
    }

    /// Gradients `[B, n + 2]` of the members' losses, in closed form (R&W eq. 5.9).
    ///
    /// With `W = ½ (K⁻¹ − α αᵀ)` the gradient of the negative log likelihood with respect to
    /// `K`: `∂/∂ log σ² = σ² Σ W ∘ M`, `∂/∂ log σ_n² = σ_n² tr W` and
    /// `∂/∂ log ℓ_d = −2 Σ_ij G_ij (a_id − a_jd)²` with `G = σ² W ∘ ∂M/∂s²` and the scaled
    /// inputs `a = √5 x / ℓ` (so `s² = |a_i − a_j|²`). This avoids autograd through the
    /// Cholesky factorization, whose backward pass costs several times the factorization.
    /// Members that did not factor get garbage here; the caller discards them.
    fn gradient(&self, forward: &Forward, parameters: &Tensor) -> Result<Tensor, SurrogateError> {
        let terms = &forward.terms;
        let alpha = &forward.alpha;
        let members = self.members as i64;
        let mut weight = forward
            .factor
            .lower
            .f_cholesky_inverse(false)
            .and_then(|t| t.f_contiguous())
            .context("gp kernel inverse")?;
        let _ = alpha
            .f_neg()
            .and_then(|negated| weight.f_baddbmm_(&negated, &alpha.f_transpose(1, 2)?))
            .and_then(|_| weight.f_mul_scalar_(0.5))
            .context("gp kernel gradient")?;
        let signal_gradient = weight
            .f_view([members, 1, -1])
            .and_then(|w| w.f_bmm(&terms.correlation.f_view([members, -1, 1])?))
            .and_then(|t| t.f_view([members, 1]))
            .and_then(|t| t.f_mul(&terms.signal.f_unsqueeze(1)?))
            .context("gp signal-variance gradient")?;
        let noise_gradient = weight
            .f_diagonal(0, -2, -1)
            .and_then(|t| t.f_sum_dim_intlist([-1i64].as_slice(), true, Kind::Double))
            .and_then(|t| t.f_mul(&terms.noise.f_unsqueeze(1)?))
            .context("gp noise-variance gradient")?;
        let _ = weight
            .f_mul_(&terms.slope)
            .and_then(|_| weight.f_mul_(&per_member_raw(&terms.signal)?))
            .context("gp distance weights")?;
        let length_scale_gradient = length_scale_gradient(&weight, &terms.scaled_inputs)?;
        let prior_gradient = self
            .standardized_parameters(parameters)?
            .f_div(&self.prior_std)
            .context("gp prior gradient")?;
        Tensor::f_cat(&[length_scale_gradient, signal_gradient, noise_gradient], 1)
            .and_then(|t| t.f_add(&prior_gradient))
            .context("gp gradient")
    }
}

/// `−2 Σ_ij G_ij (a_id − a_jd)²` `[B, n]` for weights `G` `[B, N, N]` and scaled inputs `a`
/// `[B, N, n]`, expanded as `Σ_i a_id² (row_i + column_i) − 2 Σ_i a_id (G a)_id`.
fn length_scale_gradient(weights: &Tensor, scaled: &Tensor) -> Result<Tensor, SurrogateError> {
    let margins = weights
        .f_sum_dim_intlist([-1i64].as_slice(), false, Kind::Double)
        .and_then(|rows| {
            weights
                .f_sum_dim_intlist([-2i64].as_slice(), false, Kind::Double)
                .and_then(|columns| rows.f_add(&columns))
        })
        .and_then(|t| t.f_unsqueeze(-1))
        .context("gp weight margins")?;
    let squares = scaled
        .f_square()
        .and_then(|t| t.f_mul(&margins))
        .and_then(|t| t.f_sum_dim_intlist([1i64].as_slice(), false, Kind::Double))
        .context("gp length-scale squares")?;
    let cross = weights
        .f_matmul(scaled)
        .and_then(|t| t.f_mul(scaled))
        .and_then(|t| t.f_sum_dim_intlist([1i64].as_slice(), false, Kind::Double))
        .and_then(|t| t.f_mul_scalar(2.0))
        .context("gp length-scale cross terms")?;
    squares
        .f_sub(&cross)
        .and_then(|t| t.f_mul_scalar(-2.0))
        .context("gp length-scale gradient")
}

fn finish_evaluation(
    loss: &Tensor,
    usable: &Tensor,
    gradient: Option<&Tensor>,
) -> Result<Evaluation, SurrogateError> {
    let losses = tensor_to_vec(loss)?;
    let usable = tensor_to_vec(usable)?.iter().map(|v| *v != 0.0).collect();
    let gradients = gradient.map(tensor_to_vec).transpose()?;
    Ok(Evaluation {
        losses,
        usable,
        gradients,
    })
}

/// Standardized targets as `[m, N, 1]`.
fn targets_tensor(targets: &StandardizedTargets, device: Device) -> Result<Tensor, SurrogateError> {
    let shape = [targets.objectives as i64, targets.points as i64, 1];
    Tensor::f_from_slice(&targets.values)
        .and_then(|t| t.f_view(shape))
        .and_then(|t| t.f_to(device))
        .context("uploading gp targets")
}

/// A `[1, len]` tensor.
fn row_tensor(values: &[f64], device: Device) -> Result<Tensor, SurrogateError> {
    Tensor::f_from_slice(values)
        .and_then(|t| t.f_view([1, values.len() as i64]))
        .and_then(|t| t.f_to(device))
        .context("uploading a gp constant")
}

fn identity(size: i64, device: Device) -> Result<Tensor, SurrogateError> {
    Tensor::f_eye(size, (Kind::Double, device)).context("building an identity matrix")
}

/// Number of rows of a 2-D tensor.
fn row_count(tensor: &Tensor) -> Result<i64, SurrogateError> {
    tensor
        .size2()
        .map(|(rows, _)| rows)
        .context("reading a gp tensor shape")
}

/// `[B]` → `[B, 1, 1]`, for scaling a batch of matrices.
fn per_member(values: &Tensor) -> Result<Tensor, SurrogateError> {
    values
        .f_view([-1, 1, 1])
        .context("shaping per-member values")
}

/// `[B]` → `[B, 1, 1]` without the error mapping (for use inside `and_then`).
fn per_member_raw(values: &Tensor) -> Result<Tensor, tch::TchError> {
    values.f_view([-1, 1, 1])
}

/// Inputs `[p, n]` scaled as `√5 x / ℓ` by each member's length scales `[B, 1, n]`:
/// `[B, p, n]`. The Matérn-5/2 argument `s = √5 r` is then a plain Euclidean distance.
fn scale_inputs(inputs: &Tensor, length_scales: &Tensor) -> Result<Tensor, SurrogateError> {
    inputs
        .f_unsqueeze(0)
        .and_then(|t| t.f_div(length_scales))
        .and_then(|t| t.f_mul_scalar(5f64.sqrt()))
        .context("scaling gp inputs")
}

/// Squared norms of scaled inputs `[B, p, n]` as `[B, p, 1]`.
fn squared_norms(scaled: &Tensor) -> Result<Tensor, tch::TchError> {
    scaled
        .f_square()
        .and_then(|t| t.f_sum_dim_intlist([-1i64].as_slice(), true, Kind::Double))
}

/// `|a_i|² − 2 a_i·b_j + |b_j|²` `[B, p, q]` for scaled inputs `[B, p, n]`, `[B, q, n]`.
fn squared_distances(left: &Tensor, right: &Tensor) -> Result<Tensor, SurrogateError> {
    let right_transposed = right.f_transpose(1, 2).context("matern transpose")?;
    let right_norms = squared_norms(right)
        .and_then(|t| t.f_transpose(1, 2))
        .context("matern right norms")?;
    let mut squared = squared_norms(left)
        .and_then(|norms| norms.f_baddbmm(left, &right_transposed, 1.0, -2.0))
        .context("matern cross products")?;
    let _ = squared.f_add_(&right_norms).context("matern distances")?;
    Ok(squared)
}

/// Unit-variance Matérn-5/2 correlations `(1 + s + s²/3) e^(−s)` between scaled inputs
/// `[B, p, n]` and `[B, q, n]`: `[B, p, q]`. Out of place, so autograd can run through it.
fn matern52_correlation(left: &Tensor, right: &Tensor) -> Result<Tensor, SurrogateError> {
    let distance = squared_distances(left, right)?
        .f_clamp_min(MIN_SQUARED_DISTANCE)
        .and_then(|t| t.f_sqrt())
        .context("matern distances")?;
    let envelope = distance
        .f_neg()
        .and_then(|t| t.f_exp())
        .context("matern envelope")?;
    distance
        .f_square()
        .and_then(|t| t.f_div_scalar(3.0))
        .and_then(|t| t.f_add(&distance))
        .and_then(|t| t.f_add_scalar(1.0))
        .and_then(|t| t.f_mul(&envelope))
        .context("matern correlation")
}

/// Length scales `[B, 1, n]`, signal variances `[B]` and noise variances `[B]` of a
/// parameter batch `[B, n + 2]`.
fn unpack_parameters(
    parameters: &Tensor,
    layout: Layout,
) -> Result<(Tensor, Tensor, Tensor), SurrogateError> {
    let length_scales = parameters
        .f_narrow(1, 0, layout.dimension as i64)
        .and_then(|t| t.f_exp())
        .and_then(|t| t.f_unsqueeze(1))
        .context("gp length scales")?;
    let signal = parameters
        .f_select(1, layout.signal_index() as i64)
        .and_then(|t| t.f_exp())
        .context("gp signal variance")?;
    let noise = parameters
        .f_select(1, layout.noise_index() as i64)
        .and_then(|t| t.f_exp())
        .context("gp noise variance")?;
    Ok((length_scales, signal, noise))
}

/// The training covariance of a parameter batch and the pieces its gradient needs.
struct KernelTerms {
    /// Scaled training inputs `√5 x / ℓ` `[B, N, n]`.
    scaled_inputs: Tensor,
    /// Unit-variance correlations `M` `[B, N, N]`.
    correlation: Tensor,
    /// `∂M/∂s² = −(1 + s) e^(−s) / 6` `[B, N, N]`.
    slope: Tensor,
    /// `σ² M + σ_n² I` `[B, N, N]`.
    kernel: Tensor,
    /// `σ²` `[B]`.
    signal: Tensor,
    /// `σ_n²` `[B]`.
    noise: Tensor,
}

/// The training covariances `σ² M(X, X) + σ_n² I` of a parameter batch `[B, n + 2]`.
///
/// Element-wise work is fused in place (the `[B, N, N]` passes dominate a training step at
/// moderate `N`), so this must run without autograd.
fn kernel_terms(
    inputs: &Tensor,
    parameters: &Tensor,
    layout: Layout,
) -> Result<KernelTerms, SurrogateError> {
    let (length_scales, signal, noise) = unpack_parameters(parameters, layout)?;
    let scaled_inputs = scale_inputs(inputs, &length_scales)?;
    let mut distance = squared_distances(&scaled_inputs, &scaled_inputs)?;
    let _ = distance
        .f_clamp_min_(0.0)
        .and_then(|_| distance.f_sqrt_())
        .context("gp distances")?;
    let (correlation, slope) = matern52_with_slope(&distance)?;
    let kernel = correlation
        .f_mul(&per_member(&signal)?)
        .context("gp covariance")?;
    let _ = kernel
        .f_diagonal(0, -2, -1)
        .and_then(|mut diagonal| diagonal.f_add_(&noise.f_unsqueeze(1)?))
        .context("gp noise diagonal")?;
    Ok(KernelTerms {
        scaled_inputs,
        correlation,
        slope,
        kernel,
        signal,
        noise,
    })
}

/// Matérn-5/2 correlation `(1 + s + s²/3) e^(−s)` and its derivative with respect to `s²`,
/// `−(1 + s) e^(−s) / 6`, from distances `s` (in place where possible).
fn matern52_with_slope(distance: &Tensor) -> Result<(Tensor, Tensor), SurrogateError> {
    let mut envelope = distance.f_neg().context("matern envelope")?;
    let _ = envelope.f_exp_().context("matern envelope")?;
    let mut slope = distance.f_add_scalar(1.0).context("matern polynomial")?;
    let mut correlation = distance.f_mul(distance).context("matern polynomial")?;
    let _ = correlation
        .f_div_scalar_(3.0)
        .and_then(|_| correlation.f_add_(&slope))
        .and_then(|_| correlation.f_mul_(&envelope))
        .context("matern correlation")?;
    let _ = slope
        .f_mul_(&envelope)
        .and_then(|_| slope.f_mul_scalar_(-1.0 / 6.0))
        .context("matern slope")?;
    Ok((correlation, slope))
}

/// A batched Cholesky factorization and which members succeeded.
struct Factor {
    lower: Tensor,
    /// Boolean `[B]`.
    usable: Tensor,
    usable_flags: Vec<bool>,
}

/// Factors each member of `kernel` `[B, N, N]`, adding jitter `JITTER_LEVELS · σ²` to the
/// diagonal of the members that fail until they succeed or the levels run out.
fn robust_cholesky(
    kernel: &Tensor,
    signal: &Tensor,
    identity: &Tensor,
) -> Result<Factor, SurrogateError> {
    let signal_values = tensor_to_vec(&signal.f_detach().context("gp signal")?)?;
    let mut levels = vec![0usize; signal_values.len()];
    loop {
        let jitter: Vec<f64> = levels
            .iter()
            .zip(&signal_values)
            .map(|(level, signal)| JITTER_LEVELS[*level] * signal)
            .collect();
        let (lower, info) = add_jitter(kernel, &jitter, identity)?
            .f_linalg_cholesky_ex(false, false)
            .context("gp cholesky")?;
        let failed: Vec<bool> = tensor_to_vec(&info)?.iter().map(|v| *v != 0.0).collect();
        let mut retry = false;
        for (level, _) in levels
            .iter_mut()
            .zip(&failed)
            .filter(|(_, failed)| **failed)
        {
            if *level + 1 < JITTER_LEVELS.len() {
                *level += 1;
                retry = true;
            }
        }
        if !retry {
            let usable = info.f_eq(0).context("gp cholesky status")?;
            let usable_flags = failed.iter().map(|failed| !failed).collect();
            return Ok(Factor {
                lower,
                usable,
                usable_flags,
            });
        }
    }
}

/// `kernel + diag(jitter_b)` per member (the kernel itself when no jitter is needed).
fn add_jitter(
    kernel: &Tensor,
    jitter: &[f64],
    identity: &Tensor,
) -> Result<Tensor, SurrogateError> {
    if jitter.iter().all(|value| *value == 0.0) {
        return Ok(kernel.shallow_clone());
    }
    let values = Tensor::f_from_slice(jitter)
        .and_then(|t| t.f_to(kernel.device()))
        .context("uploading gp jitter")?;
    identity
        .f_mul(&per_member(&values)?)
        .and_then(|t| kernel.f_add(&t))
        .context("adding gp jitter")
}

/// Per-member Adam moments and step counts.
struct Adam {
    first_moment: Vec<f64>,
    second_moment: Vec<f64>,
    steps: Vec<i32>,
    width: usize,
}

impl Adam {
    fn new(members: usize, width: usize) -> Self {
        Self {
            first_moment: vec![0.0; members * width],
            second_moment: vec![0.0; members * width],
            steps: vec![0; members],
            width,
        }
    }

    fn reset(&mut self, member: usize) {
        let range = member * self.width..(member + 1) * self.width;
        self.first_moment[range.clone()].fill(0.0);
        self.second_moment[range].fill(0.0);
        self.steps[member] = 0;
    }

    /// One Adam step of `member` (its parameter and gradient slices).
    fn step(&mut self, member: usize, parameters: &mut [f64], gradient: &[f64], rate: f64) {
        self.steps[member] += 1;
        let step = self.steps[member];
        let first_correction = 1.0 - ADAM_BETA1.powi(step);
        let second_correction = 1.0 - ADAM_BETA2.powi(step);
        let offset = member * self.width;
        for (index, (parameter, grad)) in parameters.iter_mut().zip(gradient).enumerate() {
            let first = &mut self.first_moment[offset + index];
            let second = &mut self.second_moment[offset + index];
            *first = ADAM_BETA1 * *first + (1.0 - ADAM_BETA1) * grad;
            *second = ADAM_BETA2 * *second + (1.0 - ADAM_BETA2) * grad * grad;
            let corrected_first = *first / first_correction;
            let corrected_second = *second / second_correction;
            *parameter -= rate * corrected_first / (corrected_second.sqrt() + ADAM_EPSILON);
        }
    }
}

/// The best parameters each member visited and their losses (`inf` when never finite).
struct Search {
    parameters: Vec<f64>,
    losses: Vec<f64>,
}

/// Runs Adam on all members at once; see the module documentation.
fn optimise(
    objective: &MarginalLikelihood,
    initial: Vec<f64>,
    config: &GpConfig,
) -> Result<Search, SurrogateError> {
    let mut state = SearchState::new(initial, objective.members, objective.layout);
    for iteration in 0..=config.iterations {
        let stepping = iteration < config.iterations;
        let evaluation = objective.evaluate(&state.parameters, stepping)?;
        for member in 0..objective.members {
            state.update(member, &evaluation, config.learning_rate);
        }
    }
    Ok(state.best)
}

/// The optimiser's per-member bookkeeping.
struct SearchState {
    width: usize,
    lower_bounds: Vec<f64>,
    upper_bounds: Vec<f64>,
    /// Current parameters, member-major.
    parameters: Vec<f64>,
    /// The parameters of each member's last finite evaluation.
    last_finite: Vec<f64>,
    best: Search,
    /// Per-member step multiplier, halved after each non-finite evaluation.
    step_scale: Vec<f64>,
    adam: Adam,
}

impl SearchState {
    fn new(initial: Vec<f64>, members: usize, layout: Layout) -> Self {
        let (lower_bounds, upper_bounds) = layout.bounds();
        Self {
            width: layout.width(),
            lower_bounds,
            upper_bounds,
            last_finite: initial.clone(),
            best: Search {
                parameters: initial.clone(),
                losses: vec![f64::INFINITY; members],
            },
            parameters: initial,
            step_scale: vec![1.0; members],
            adam: Adam::new(members, layout.width()),
        }
    }

    /// Records `member`'s evaluation and, when it has a gradient, steps it (or, when the
    /// evaluation is not finite, sends it back to its last finite parameters).
    fn update(&mut self, member: usize, evaluation: &Evaluation, learning_rate: f64) {
        let range = member * self.width..(member + 1) * self.width;
        let gradient = evaluation.gradients.as_ref().map(|g| &g[range.clone()]);
        let loss = evaluation.losses[member];
        let finite = evaluation.usable[member]
            && loss.is_finite()
            && gradient.is_none_or(|g| g.iter().all(|v| v.is_finite()));
        if finite {
            self.last_finite[range.clone()].copy_from_slice(&self.parameters[range.clone()]);
            if loss < self.best.losses[member] {
                self.best.losses[member] = loss;
                self.best.parameters[range.clone()]
                    .copy_from_slice(&self.parameters[range.clone()]);
            }
        }
        let Some(gradient) = gradient else { return };
        let parameters = &mut self.parameters[range.clone()];
        if finite {
            let rate = learning_rate * self.step_scale[member];
            self.adam.step(member, parameters, gradient, rate);
            clamp(parameters, &self.lower_bounds, &self.upper_bounds);
        } else {
            parameters.copy_from_slice(&self.last_finite[range]);
            self.adam.reset(member);
            self.step_scale[member] *= 0.5;
        }
    }
}

fn clamp(parameters: &mut [f64], lower: &[f64], upper: &[f64]) {
    for ((parameter, low), high) in parameters.iter_mut().zip(lower).zip(upper) {
        *parameter = parameter.clamp(*low, *high);
    }
}

/// For each objective, the parameters and loss of its best restart.
fn choose_best_restarts(
    search: &Search,
    layout: Layout,
    group: Range<usize>,
    restarts: usize,
) -> Result<Vec<(Vec<f64>, f64)>, SurrogateError> {
    let width = layout.width();
    group
        .enumerate()
        .map(|(local, objective)| {
            let members = local * restarts..(local + 1) * restarts;
            let best = members
                .filter(|member| search.losses[*member].is_finite())
                .min_by(|a, b| search.losses[*a].total_cmp(&search.losses[*b]))
                .ok_or_else(|| SurrogateError::NonFinite {
                    kind: KIND,
                    detail: format!(
                        "objective {objective}: no restart reached a finite marginal likelihood"
                    ),
                })?;
            let parameters = search.parameters[best * width..(best + 1) * width].to_vec();
            Ok((parameters, search.losses[best]))
        })
        .collect()
}

/// A trained exact GP per objective (see the module documentation).
pub struct GpModel {
    device: Device,
    dimension: usize,
    /// Training points `N`.
    points: usize,
    posterior: Posterior,
    /// Per-objective output mean and standard deviation `[m, 1]`.
    output_mean: Tensor,
    output_std: Tensor,
    hyperparameters: Vec<GpHyperparameters>,
}

/// The precomputed posterior of a group of objectives (standardized units).
struct Posterior {
    /// Training inputs scaled by each objective's length scales, `√5 x / ℓ` `[g, N, n]`.
    scaled_inputs: Tensor,
    /// `[g, 1, n]`.
    length_scales: Tensor,
    /// Signal variances `[g, 1]`.
    signal: Tensor,
    /// Cholesky factors of `K + σ_n² I` `[g, N, N]`.
    lower: Tensor,
    /// `(K + σ_n² I)⁻¹ y` `[g, N, 1]`.
    alpha: Tensor,
}

impl Posterior {
    /// Factors the covariances of one group of objectives with their chosen hyperparameters.
    fn factor(
        inputs: &Tensor,
        targets: &Tensor,
        layout: Layout,
        chosen: &[(Vec<f64>, f64)],
        device: Device,
    ) -> Result<Self, SurrogateError> {
        let flat: Vec<f64> = chosen.iter().flat_map(|(p, _)| p.iter().copied()).collect();
        let shape = [chosen.len() as i64, layout.width() as i64];
        let parameters = Tensor::f_from_slice(&flat)
            .and_then(|t| t.f_view(shape))
            .and_then(|t| t.f_to(device))
            .context("uploading chosen gp hyperparameters")?;
        let identity = identity(row_count(inputs)?, device)?;
        let terms = kernel_terms(inputs, &parameters, layout)?;
        let factor = robust_cholesky(&terms.kernel, &terms.signal, &identity)?;
        if factor.usable_flags.iter().any(|usable| !usable) {
            return Err(SurrogateError::Cholesky {
                kind: KIND,
                jitter: JITTER_LEVELS[JITTER_LEVELS.len() - 1],
            });
        }
        let alpha = targets
            .f_cholesky_solve(&factor.lower, false)
            .context("gp cholesky solve")?;
        if tensor_to_vec(&alpha)?.iter().any(|v| !v.is_finite()) {
            return Err(SurrogateError::NonFinite {
                kind: KIND,
                detail: "the posterior weights are not finite".to_string(),
            });
        }
        Ok(Self {
            scaled_inputs: terms.scaled_inputs,
            length_scales: unpack_parameters(&parameters, layout)?.0,
            signal: terms.signal.f_view([-1, 1]).context("gp signal shape")?,
            lower: factor.lower,
            alpha,
        })
    }

    /// Stacks the groups' posteriors along the objective axis.
    fn concatenate(mut groups: Vec<Self>) -> Result<Self, SurrogateError> {
        if groups.len() == 1 {
            if let Some(only) = groups.pop() {
                return Ok(only);
            }
        }
        let join = |select: fn(&Self) -> &Tensor| {
            let parts: Vec<&Tensor> = groups.iter().map(select).collect();
            Tensor::f_cat(&parts, 0).context("joining gp objective groups")
        };
        Ok(Self {
            scaled_inputs: join(|p| &p.scaled_inputs)?,
            length_scales: join(|p| &p.length_scales)?,
            signal: join(|p| &p.signal)?,
            lower: join(|p| &p.lower)?,
            alpha: join(|p| &p.alpha)?,
        })
    }
}

impl GpModel {
    /// Factors the chosen hyperparameters' covariances, group by group.
    fn build(plan: &FitPlan<'_>, chosen: Vec<(Vec<f64>, f64)>) -> Result<Self, SurrogateError> {
        let device = plan.device;
        let all_targets = targets_tensor(plan.targets, device)?;
        let mut groups = Vec::new();
        for (index, group) in chosen.chunks(plan.group_size).enumerate() {
            let targets = all_targets
                .f_narrow(0, (index * plan.group_size) as i64, group.len() as i64)
                .context("selecting gp targets")?;
            groups.push(tch::no_grad(|| {
                Posterior::factor(plan.inputs, &targets, plan.layout, group, device)
            })?);
        }
        let joined = Posterior::concatenate(groups)?;
        Ok(Self {
            device,
            dimension: plan.layout.dimension,
            points: plan.targets.points,
            posterior: joined,
            output_mean: column_tensor(&plan.targets.means, device)?,
            output_std: column_tensor(&plan.targets.stds, device)?,
            hyperparameters: describe(&chosen, plan.layout),
        })
    }

    /// Points per prediction chunk: at most [`PREDICTION_CHUNK_ROWS`], fewer when a
    /// `[m, N, chunk]` tensor would exceed [`MAX_BATCH_ELEMENTS`].
    fn chunk_rows(&self) -> usize {
        let per_row = self.n_objectives().saturating_mul(self.points).max(1);
        (MAX_BATCH_ELEMENTS / per_row).clamp(1, PREDICTION_CHUNK_ROWS)
    }

    /// The fitted hyperparameters, one entry per objective.
    pub fn hyperparameters(&self) -> &[GpHyperparameters] {
        &self.hyperparameters
    }

    /// Posterior means in output units `[m, c]` for centred points `[c, n]`, and the
    /// standardized cross-covariances `[m, N, c]`.
    fn mean_and_cross(&self, points: &Tensor) -> Result<(Tensor, Tensor), SurrogateError> {
        let scaled = scale_inputs(points, &self.posterior.length_scales)?;
        let cross = matern52_correlation(&self.posterior.scaled_inputs, &scaled)?
            .f_mul(
                &self
                    .posterior
                    .signal
                    .f_unsqueeze(-1)
                    .context("gp signal shape")?,
            )
            .context("gp cross-covariance")?;
        let mean = cross
            .f_transpose(1, 2)
            .and_then(|t| t.f_matmul(&self.posterior.alpha))
            .and_then(|t| t.f_squeeze_dim(-1))
            .and_then(|t| t.f_mul(&self.output_std))
            .and_then(|t| t.f_add(&self.output_mean))
            .context("gp posterior mean")?;
        Ok((mean, cross))
    }

    /// Posterior variances in output units `[m, c]` from cross-covariances `[m, N, c]`.
    fn variance(&self, cross: &Tensor) -> Result<Tensor, SurrogateError> {
        let explained = self
            .posterior
            .lower
            .f_linalg_solve_triangular(cross, false, true, false)
            .and_then(|t| t.f_square())
            .and_then(|t| t.f_sum_dim_intlist([1i64].as_slice(), false, Kind::Double))
            .context("gp explained variance")?;
        self.posterior
            .signal
            .f_sub(&explained)
            .and_then(|t| t.f_clamp_min(0.0))
            .and_then(|t| t.f_mul(&self.output_std.f_square()?))
            .context("gp posterior variance")
    }

    /// Centred points `[c, n]` on the model's device.
    fn upload(&self, rows: &[Vec<f64>]) -> Result<Tensor, SurrogateError> {
        rows_to_tensor(rows, self.dimension, "x", self.device)?
            .f_sub_scalar(INPUT_CENTRE)
            .context("centring gp inputs")
    }

    fn predict_chunk(&self, rows: &[Vec<f64>]) -> Result<(Vec<f64>, Vec<f64>), SurrogateError> {
        let points = self.upload(rows)?;
        let (mean, cross) = self.mean_and_cross(&points)?;
        let variance = self.variance(&cross)?;
        let transpose = |t: Tensor| t.f_transpose(0, 1).context("gp output layout");
        Ok((
            tensor_to_vec(&transpose(mean)?)?,
            tensor_to_vec(&transpose(variance)?)?,
        ))
    }

    /// Gradients `[c, m, n]` (flat) of the means at `rows`.
    fn gradient_chunk(&self, rows: &[Vec<f64>]) -> Result<Vec<f64>, SurrogateError> {
        let points = self
            .upload(rows)?
            .f_set_requires_grad(true)
            .context("tracking gp inputs")?;
        let (mean, _) = self.mean_and_cross(&points)?;
        let objectives = self.n_objectives();
        let mut gradients = Vec::with_capacity(objectives);
        for objective in 0..objectives {
            let total = mean
                .f_select(0, objective as i64)
                .and_then(|t| t.f_sum(Kind::Double))
                .context("gp mean sum")?;
            let keep_graph = objective + 1 < objectives;
            let mut gradient = Tensor::f_run_backward(&[&total], &[&points], keep_graph, false)
                .context("gp input gradients")?;
            gradients.push(gradient.pop().ok_or(SurrogateError::Torch {
                context: "gp input gradients",
                message: "no gradient returned".to_string(),
            })?);
        }
        let stacked = Tensor::f_stack(&gradients, 1).context("stacking gp gradients")?;
        tensor_to_vec(&stacked)
    }
}

/// A `[len, 1]` tensor.
fn column_tensor(values: &[f64], device: Device) -> Result<Tensor, SurrogateError> {
    Tensor::f_from_slice(values)
        .and_then(|t| t.f_view([values.len() as i64, 1]))
        .and_then(|t| t.f_to(device))
        .context("uploading a gp constant")
}

fn describe(chosen: &[(Vec<f64>, f64)], layout: Layout) -> Vec<GpHyperparameters> {
    chosen
        .iter()
        .map(|(parameters, loss)| GpHyperparameters {
            length_scales: parameters[..layout.dimension]
                .iter()
                .map(|v| v.exp())
                .collect(),
            signal_variance: parameters[layout.signal_index()].exp(),
            noise_variance: parameters[layout.noise_index()].exp(),
            negative_log_posterior: *loss,
        })
        .collect()
}

impl Model for GpModel {
    fn n_objectives(&self) -> usize {
        self.hyperparameters.len()
    }

    fn predict(&self, x: &[Vec<f64>]) -> Result<Prediction, SurrogateError> {
        validate_rows(x, self.dimension, "x")?;
        let objectives = self.n_objectives();
        let mut mean = Vec::with_capacity(x.len());
        let mut variance = Vec::with_capacity(x.len());
        for rows in x.chunks(self.chunk_rows()) {
            let (chunk_mean, chunk_variance) = tch::no_grad(|| self.predict_chunk(rows))?;
            mean.extend(chunk_mean.chunks(objectives).map(<[f64]>::to_vec));
            variance.extend(chunk_variance.chunks(objectives).map(<[f64]>::to_vec));
        }
        Ok(Prediction {
            mean,
            variance: Some(variance),
            feasibility: None,
            constraint_scores: None,
        })
    }

    fn objective_gradients(&self, x: &[Vec<f64>]) -> Result<Vec<Vec<Vec<f64>>>, SurrogateError> {
        validate_rows(x, self.dimension, "x")?;
        let per_point = self.n_objectives() * self.dimension;
        let mut gradients = Vec::with_capacity(x.len());
        for rows in x.chunks(self.chunk_rows()) {
            let flat = tch::with_grad(|| self.gradient_chunk(rows))?;
            gradients.extend(flat.chunks(per_point).map(|point| {
                point
                    .chunks(self.dimension)
                    .map(<[f64]>::to_vec)
                    .collect::<Vec<_>>()
            }));
        }
        Ok(gradients)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn random_points(count: usize, dimension: usize, seed: u64) -> Vec<Vec<f64>> {
        let mut generator = ChaCha8Rng::seed_from_u64(seed);
        (0..count)
            .map(|_| (0..dimension).map(|_| generator.random::<f64>()).collect())
            .collect()
    }

    fn training_data(x: Vec<Vec<f64>>, function: impl Fn(&[f64]) -> Vec<f64>) -> TrainingData {
        let objectives = x.iter().map(|row| function(row)).collect();
        TrainingData {
            constraints: vec![Vec::new(); x.len()],
            x,
            objectives,
        }
    }

    fn fit(data: &TrainingData, seed: u64) -> GpModel {
        GpTrainer::default().fit_gp(data, seed).unwrap()
    }

    /// Root-mean-square error of objective `objective`, divided by the spread of the truth.
    fn normalized_rmse(
        model: &dyn Model,
        x: &[Vec<f64>],
        function: impl Fn(&[f64]) -> Vec<f64>,
        objective: usize,
    ) -> f64 {
        let prediction = model.predict(x).unwrap();
        let truth: Vec<f64> = x.iter().map(|row| function(row)[objective]).collect();
        let predicted: Vec<f64> = prediction.mean.iter().map(|row| row[objective]).collect();
        let count = truth.len() as f64;
        let mean = truth.iter().sum::<f64>() / count;
        let spread = (truth.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / count).sqrt();
        let squared_error: f64 = truth
            .iter()
            .zip(&predicted)
            .map(|(t, p)| (t - p).powi(2))
            .sum();
        (squared_error / count).sqrt() / spread
    }

    fn one_dimensional(x: &[f64]) -> Vec<f64> {
        vec![(6.0 * x[0]).sin() + 0.5 * x[0]]
    }

    /// Smooth test function of any dimension (five distinct terms from five dimensions on).
    fn five_dimensional(x: &[f64]) -> Vec<f64> {
        let quadratic: f64 = x
            .iter()
            .enumerate()
            .map(|(i, v)| (i as f64 + 1.0) * (v - 0.3).powi(2))
            .sum();
        let at = |index: usize| x[index % x.len()];
        vec![quadratic + (3.0 * at(0)).sin() * at(1) + 0.5 * (2.0 * at(2) + at(3)).cos()]
    }

    #[test]
    fn learns_a_smooth_one_dimensional_function() {
        let x: Vec<Vec<f64>> = (0..15).map(|i| vec![i as f64 / 14.0]).collect();
        let model = fit(&training_data(x, one_dimensional), 1);
        let held_out: Vec<Vec<f64>> = (0..101).map(|i| vec![i as f64 / 100.0]).collect();
        let error = normalized_rmse(&model, &held_out, one_dimensional, 0);
        println!(
            "1-D normalized RMSE {error:.2e}, {:?}",
            model.hyperparameters()
        );
        assert!(error < 0.01, "normalized RMSE {error}");
    }

    #[test]
    fn learns_a_five_dimensional_function_from_100_points() {
        let data = training_data(random_points(100, 5, 2), five_dimensional);
        let model = fit(&data, 3);
        let error = normalized_rmse(&model, &random_points(500, 5, 4), five_dimensional, 0);
        println!(
            "5-D normalized RMSE {error:.3}, {:?}",
            model.hyperparameters()
        );
        assert!(error < 0.1, "normalized RMSE {error}");
    }

    #[test]
    fn variance_is_small_at_data_and_large_far_away() {
        let x: Vec<Vec<f64>> = (0..10).map(|i| vec![0.3 * i as f64 / 9.0]).collect();
        let data = training_data(x.clone(), one_dimensional);
        let model = fit(&data, 5);
        let at_data = model.predict(&x).unwrap().variance.unwrap();
        let far = model.predict(&[vec![1.0]]).unwrap().variance.unwrap();
        let largest_at_data = at_data.iter().map(|row| row[0]).fold(0.0, f64::max);
        println!(
            "variance at data ≤ {largest_at_data:.2e}, far away {:.2e}",
            far[0][0]
        );
        assert!(largest_at_data < 1e-4, "variance at data {largest_at_data}");
        assert!(
            far[0][0] > 1e3 * largest_at_data.max(1e-9),
            "far {}",
            far[0][0]
        );
    }

    #[test]
    fn gradients_match_central_differences() {
        let function = |x: &[f64]| vec![five_dimensional(x)[0], (x[0] - x[2]).powi(2) * 40.0];
        let data = training_data(random_points(40, 5, 6), function);
        let model = fit(&data, 7);
        let points = random_points(6, 5, 8);
        let gradients = model.objective_gradients(&points).unwrap();
        assert_eq!(gradients.len(), points.len());
        let step = 1e-5;
        for (point, gradient) in points.iter().zip(&gradients) {
            assert_eq!(gradient.len(), 2);
            for (objective, analytic) in gradient.iter().enumerate() {
                assert_eq!(analytic.len(), 5);
                let numeric: Vec<f64> = (0..5)
                    .map(|dimension| {
                        let mut up = point.clone();
                        let mut down = point.clone();
                        up[dimension] += step;
                        down[dimension] -= step;
                        let mean = model.predict(&[up, down]).unwrap().mean;
                        (mean[0][objective] - mean[1][objective]) / (2.0 * step)
                    })
                    .collect();
                let difference: f64 = analytic
                    .iter()
                    .zip(&numeric)
                    .map(|(a, n)| (a - n).powi(2))
                    .sum::<f64>()
                    .sqrt();
                let scale = numeric.iter().map(|n| n * n).sum::<f64>().sqrt();
                assert!(
                    difference < 1e-4 * scale,
                    "objective {objective}: autograd {analytic:?} vs differences {numeric:?}"
                );
            }
        }
    }

    #[test]
    fn kernel_gradient_shortcut_matches_autograd_through_cholesky() {
        let function = |x: &[f64]| vec![five_dimensional(x)[0], x[0] * x[1]];
        let data = training_data(random_points(25, 3, 40), function);
        let targets = StandardizedTargets::from_data(&data).unwrap();
        let layout = Layout { dimension: 3 };
        let inputs = rows_to_tensor(&data.x, 3, "x", Device::Cpu).unwrap() - INPUT_CENTRE;
        let plan = FitPlan {
            inputs: &inputs,
            targets: &targets,
            layout,
            restarts: 2,
            group_size: 2,
            device: Device::Cpu,
        };
        let objective = MarginalLikelihood::new(&plan, 0..2).unwrap();
        let parameters = initial_parameters(layout, 2, 2, 41);
        let evaluation = objective.evaluate(&parameters, true).unwrap();
        let shortcut = evaluation.gradients.unwrap();

        let tracked = Tensor::from_slice(&parameters)
            .view([4, 5])
            .set_requires_grad(true);
        let (length_scales, signal, noise) = unpack_parameters(&tracked, layout).unwrap();
        let scaled = scale_inputs(&objective.inputs, &length_scales).unwrap();
        let kernel = matern52_correlation(&scaled, &scaled).unwrap() * signal.view([-1, 1, 1])
            + &objective.identity * noise.view([-1, 1, 1]);
        let lower = kernel.linalg_cholesky(false);
        let whitened = lower.linalg_solve_triangular(&objective.targets, false, true, false);
        let loss = whitened.square().sum(Kind::Double) * 0.5
            + lower.diagonal(0, -2, -1).log().sum(Kind::Double)
            + objective
                .negative_log_prior(&tracked)
                .unwrap()
                .sum(Kind::Double);
        loss.backward();
        let reference = Vec::<f64>::try_from(tracked.grad().flatten(0, -1)).unwrap();
        let scale = reference.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (a, b) in shortcut.iter().zip(&reference) {
            assert!(
                (a - b).abs() < 1e-8 * scale,
                "{shortcut:?} vs {reference:?}"
            );
        }
        let normaliser = 4.0 * 0.5 * 25.0 * (2.0 * std::f64::consts::PI).ln();
        let total: f64 = evaluation.losses.iter().sum::<f64>() - normaliser;
        let expected = f64::try_from(loss).unwrap();
        assert!((total - expected).abs() < 1e-9 * expected.abs().max(1.0));
    }

    #[test]
    fn training_objectives_in_groups_matches_one_batch() {
        let function = |x: &[f64]| vec![five_dimensional(x)[0], x[0] * x[1], (3.0 * x[2]).sin()];
        let data = training_data(random_points(40, 3, 42), function);
        let targets = StandardizedTargets::from_data(&data).unwrap();
        let inputs = rows_to_tensor(&data.x, 3, "x", Device::Cpu).unwrap() - INPUT_CENTRE;
        let points = random_points(20, 3, 43);
        let predict = |group_size: usize| {
            let plan = FitPlan {
                inputs: &inputs,
                targets: &targets,
                layout: Layout { dimension: 3 },
                restarts: 2,
                group_size,
                device: Device::Cpu,
            };
            let model = plan.run(&GpConfig::default(), 44).unwrap();
            model.predict(&points).unwrap()
        };
        let together = predict(3);
        let apart = predict(2);
        for (a, b) in together
            .mean
            .iter()
            .flatten()
            .zip(apart.mean.iter().flatten())
        {
            assert!((a - b).abs() <= 1e-9 * (1.0 + a.abs()), "{a} vs {b}");
        }
        assert_eq!(objectives_per_group(300, 3), 248);
        assert_eq!(objectives_per_group(5000, 3), 1);
    }

    #[test]
    fn non_finite_evaluations_restore_the_last_finite_parameters() {
        let layout = Layout { dimension: 1 };
        let mut state = SearchState::new(vec![0.0, 0.0, -4.0, 0.5, 0.5, -4.0], 2, layout);
        let finite = Evaluation {
            losses: vec![1.0, 2.0],
            usable: vec![true, true],
            gradients: Some(vec![1.0, 1.0, 1.0, -1.0, -1.0, -1.0]),
        };
        for member in 0..2 {
            state.update(member, &finite, 0.1);
        }
        let after_step = state.parameters.clone();
        assert!((after_step[0] + 0.1).abs() < 1e-9 && (after_step[3] - 0.6).abs() < 1e-9);
        let broken = Evaluation {
            losses: vec![f64::NAN, 1.5],
            usable: vec![true, true],
            gradients: Some(vec![f64::NAN, f64::NAN, f64::NAN, -1.0, -1.0, -1.0]),
        };
        for member in 0..2 {
            state.update(member, &broken, 0.1);
        }
        assert_eq!(&state.parameters[..3], &[0.0, 0.0, -4.0]);
        assert_eq!(state.step_scale, vec![0.5, 1.0]);
        assert_eq!(state.best.losses, vec![1.0, 1.5]);
        assert_eq!(&state.best.parameters[3..], &after_step[3..]);
    }

    #[test]
    fn same_seed_gives_identical_predictions() {
        let data = training_data(random_points(60, 4, 9), five_dimensional);
        let points = random_points(50, 4, 10);
        let first = fit(&data, 11).predict(&points).unwrap();
        let second = fit(&data, 11).predict(&points).unwrap();
        assert_eq!(first, second);
    }

    #[test]
    fn objectives_on_very_different_scales_both_fit() {
        let function = |x: &[f64]| {
            vec![
                1e6 * five_dimensional(x)[0],
                3.0 + 1e-6 * ((4.0 * x[1]).sin() + x[0] * x[2]),
            ]
        };
        let data = training_data(random_points(100, 5, 12), function);
        let model = fit(&data, 13);
        let held_out = random_points(300, 5, 14);
        for objective in 0..2 {
            let error = normalized_rmse(&model, &held_out, function, objective);
            println!("objective {objective}: normalized RMSE {error:.3}");
            assert!(
                error < 0.1,
                "objective {objective}: normalized RMSE {error}"
            );
        }
        let variance = model.predict(&held_out).unwrap().variance.unwrap();
        assert!(variance.iter().all(|row| row[0] > row[1]));
    }

    #[test]
    fn constant_objective_is_predicted_as_the_constant() {
        let data = training_data(random_points(20, 2, 15), |x| vec![7.5, x[0]]);
        let model = fit(&data, 16);
        let prediction = model.predict(&random_points(10, 2, 17)).unwrap();
        for row in &prediction.mean {
            assert!(
                (row[0] - 7.5).abs() < 1e-6,
                "constant predicted as {}",
                row[0]
            );
        }
    }

    #[test]
    fn exact_duplicate_points_do_not_fail() {
        let mut x = random_points(30, 3, 18);
        x.extend(x.clone());
        x.extend(x[..10].to_vec());
        let data = training_data(x, five_dimensional);
        let model = fit(&data, 19);
        let error = normalized_rmse(&model, &random_points(200, 3, 20), five_dimensional, 0);
        assert!(error.is_finite() && error < 0.2, "normalized RMSE {error}");
    }

    #[test]
    fn cholesky_jitter_rescues_a_singular_matrix_and_reports_hopeless_ones() {
        let identity = identity(3, Device::Cpu).unwrap();
        let singular = Tensor::ones([1, 3, 3], (Kind::Double, Device::Cpu));
        let indefinite = identity.f_mul_scalar(-1.0).unwrap().unsqueeze(0);
        let kernel = Tensor::cat(&[singular, indefinite], 0);
        let signal = Tensor::from_slice(&[1.0, 1.0]);
        let factor = robust_cholesky(&kernel, &signal, &identity).unwrap();
        assert_eq!(factor.usable_flags, vec![true, false]);
        let lower = factor.lower.get(0);
        let rebuilt = lower.matmul(&lower.transpose(0, 1));
        let error = f64::try_from((rebuilt - kernel.get(0)).abs().max()).unwrap();
        assert!(error > 0.0 && error <= 1e-2, "jitter added {error}");
    }

    #[test]
    fn bad_data_is_rejected_with_the_row() {
        let trainer = GpTrainer::default();
        let empty = TrainingData::default();
        assert!(matches!(
            trainer.fit(&empty, 0),
            Err(SurrogateError::NoData)
        ));
        let mut ragged = training_data(random_points(5, 2, 21), five_dimensional);
        ragged.x[2].push(0.5);
        let error = trainer.fit(&ragged, 0).err().unwrap();
        assert!(matches!(&error, SurrogateError::BadData(m) if m.contains("x row 2")));
        let mut non_finite = training_data(random_points(5, 2, 22), five_dimensional);
        non_finite.objectives[3][0] = f64::NAN;
        let error = trainer.fit(&non_finite, 0).err().unwrap();
        assert!(matches!(&error, SurrogateError::BadData(m) if m.contains("objectives row 3")));
        let mut mismatched = training_data(random_points(5, 2, 23), five_dimensional);
        mismatched.objectives.pop();
        assert!(matches!(
            trainer.fit(&mismatched, 0),
            Err(SurrogateError::BadData(_))
        ));
        let model = trainer
            .fit(&training_data(random_points(5, 2, 24), five_dimensional), 0)
            .unwrap();
        let error = model.predict(&[vec![0.5, 0.5], vec![0.5]]).err().unwrap();
        assert!(matches!(&error, SurrogateError::BadData(m) if m.contains("x row 1")));
        assert!(model.predict(&[]).unwrap().mean.is_empty());
    }

    #[test]
    fn large_batches_are_chunked_consistently() {
        let data = training_data(random_points(30, 2, 25), five_dimensional);
        let model = fit(&data, 26);
        let points = random_points(PREDICTION_CHUNK_ROWS + 5, 2, 27);
        let batched = model.predict(&points).unwrap();
        assert_eq!(batched.mean.len(), points.len());
        let gradients = model.objective_gradients(&points).unwrap();
        assert_eq!(gradients.len(), points.len());
        let last = points.len() - 1;
        let single = model.predict(&points[last..]).unwrap();
        assert!((single.mean[0][0] - batched.mean[last][0]).abs() < 1e-9);
        let single_gradient = model.objective_gradients(&points[last..]).unwrap();
        for (a, b) in single_gradient[0][0].iter().zip(&gradients[last][0]) {
            assert!((a - b).abs() < 1e-9);
        }
    }

    #[test]
    fn cuda_fit_matches_cpu_fit() {
        if !tch::Cuda::is_available() {
            println!("skipping cuda_fit_matches_cpu_fit: no CUDA device");
            let trainer = GpTrainer::new(GpConfig {
                device: DeviceChoice::Cuda,
                ..GpConfig::default()
            });
            let data = training_data(random_points(5, 2, 28), five_dimensional);
            let error = trainer.fit(&data, 0).err().unwrap();
            assert!(matches!(error, SurrogateError::DeviceUnavailable(_)));
            return;
        }
        let data = training_data(random_points(80, 4, 29), five_dimensional);
        let points = random_points(100, 4, 30);
        let cpu = fit(&data, 31).predict(&points).unwrap();
        let trainer = GpTrainer::new(GpConfig {
            device: DeviceChoice::Cuda,
            ..GpConfig::default()
        });
        let cuda = trainer.fit(&data, 31).unwrap();
        let prediction = cuda.predict(&points).unwrap();
        let gradients = cuda.objective_gradients(&points).unwrap();
        assert_eq!(gradients.len(), points.len());
        for (a, b) in cpu.mean.iter().zip(&prediction.mean) {
            assert!(
                (a[0] - b[0]).abs() < 1e-4 * (1.0 + a[0].abs()),
                "{a:?} vs {b:?}"
            );
        }
    }

    #[test]
    #[ignore = "timing print; run with --ignored --nocapture"]
    fn timing_300_points_30_dimensions_2_objectives() {
        let function = |x: &[f64]| {
            let first: f64 = x.iter().map(|v| (v - 0.4).powi(2)).sum();
            let second: f64 = x
                .iter()
                .enumerate()
                .map(|(i, v)| (v * (i % 5 + 1) as f64).sin())
                .sum();
            vec![first, second]
        };
        let data = training_data(random_points(300, 30, 32), function);
        let started = Instant::now();
        let model = fit(&data, 33);
        let fit_seconds = started.elapsed().as_secs_f64();
        let points = random_points(10_000, 30, 34);
        let started = Instant::now();
        model.predict(&points).unwrap();
        let predict_seconds = started.elapsed().as_secs_f64();
        let started = Instant::now();
        model.objective_gradients(&points).unwrap();
        let gradient_seconds = started.elapsed().as_secs_f64();
        let errors: Vec<f64> = (0..2)
            .map(|j| normalized_rmse(&model, &points[..1000], function, j))
            .collect();
        println!(
            "gp 300 × 30 × 2 objectives, {} threads: fit {fit_seconds:.2} s, predict 10 000 \
             points {predict_seconds:.3} s, gradients 10 000 points {gradient_seconds:.3} s, \
             held-out normalized RMSE {errors:.3?}",
            tch::get_num_threads()
        );
    }
}
