//! Training loop of the joint neural surrogates and the choice of the number of epochs by
//! k-fold cross-validation with early stopping (Gressmann et al. 2026).
//!
//! - Members: one training run fits `M` independent networks at once, stacked in one
//!   [`Network`] (see [`super::networks`]). Which rows member `m` trains on, and with what
//!   weight, is a [`MemberRows`]: every row with weight 1 (a single network, `M = 1`), every
//!   row with bootstrap counts as weights (ensemble members), or a subset of the rows per
//!   member (cross-validation folds).
//! - Loss of member `m`: the weighted mean over its rows of the per-row loss, MSE on the
//!   normalized objective targets plus the constraint loss (binary cross-entropy of a label
//!   head's logit against `1[c > 0]`, squared error of a value head against its normalized
//!   value, see [`super::constraint_targets`]; each averaged over its columns, equal weights). The optimized loss is the
//!   sum over members; Adam works element-wise, so each member trains as if it were alone.
//! - Optimizer: Adam (learning rate [`TrainingConfig::learning_rate`], 1e-3 by default) from
//!   freshly initialized networks; full batch when a member has at most
//!   [`TrainingConfig::batch_size`] rows, else an epoch is a pass over shuffled, nearly equal
//!   batches of at most that size (the same shuffled positions for every member).
//! - Epoch count: fixed ([`TrainingConfig::epochs`]) or selected by cross-validation: the rows
//!   are dealt into `cv_folds` folds (a seeded shuffle), and one network per fold (`M =
//!   cv_folds` members, trained together) learns on the other folds' rows for up to
//!   `max_epochs` epochs. After every epoch each member's validation loss on its held-out
//!   fold is taken (evaluation mode); a member stops counting `patience` epochs after its best
//!   one, and training ends when every member has stopped, at `max_epochs`, or when the
//!   wall-clock budget `cv_time_budget` runs out (each member then counts its best epoch so
//!   far). The count used for the final model is the mean of the folds' best epochs (rounded,
//!   at least 1). Each fold's held-out error per constraint head at its best epoch is kept
//!   too (with [`TrainingConfig::held_out_near_boundary`] a value head's is measured near
//!   its predicted boundary, see [`boundary_weights`]), pooled into
//!   [`EpochSelection::constraint_rmse`]: how well each constraint is known (logged, and
//!   the `σ` of a value head's held-out probability of feasibility, see
//!   [`super::constraint_targets`]). With fewer than `2 × cv_folds` rows there is no CV and
//!   `min(patience, max_epochs)` epochs are used. [`Stacking::Sequential`] trains the folds (and ensemble
//!   members) one after the other instead, as `M = 1` networks: the reference the stacked
//!   training is benchmarked against, and a fallback when `M` networks do not fit in memory.
//! - Final model ([`FinalModel`]): `Refit` trains a fresh network on every row for the
//!   selected count (the paper); `Folds` keeps the CV's fold networks instead, each restored
//!   to its parameters of its best validation epoch (copied whenever a member's validation
//!   loss improves), and the model predicts their mean — no final fit (the FT-Transformer's
//!   default, [`TrainingConfig::ft_transformer`]).
//! - Polish ([`TrainingConfig::polish_iterations`], off by default): [`fit`] (the refit, an
//!   ensemble's members) ends with that many full-batch L-BFGS iterations on all its rows
//!   ([`super::lbfgs`]), in evaluation mode.
//!
//! Randomness (initialization, dropout, batch order) comes from libtorch's global generator,
//! seeded with `tch::manual_seed`; [`with_seed`] holds a process-wide lock while a fit runs,
//! so concurrent fits cannot interleave draws and a fit on the CPU is deterministic.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::nn::OptimizerConfig;
use tch::{nn, Device, Kind, Tensor};

use super::constraint_targets::{blend, constraint_loss, head_estimates};
use super::networks::{copy_member, Architecture, Network};
use super::TorchResultExt;
use crate::surrogate::SurrogateError;

/// How several networks (CV folds, ensemble members) are trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stacking {
    /// All together, stacked in one network.
    #[default]
    Stacked,
    /// One after the other, as separate single networks.
    Sequential,
}

/// What the model used after cross-validation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FinalModel {
    /// A fresh network trained on every row for the selected number of epochs (the paper).
    #[default]
    Refit,
    /// The cross-validation's fold networks, each with its parameters of its best validation
    /// epoch; the model predicts their mean. No final fit.
    Folds,
}

impl FinalModel {
    pub fn as_str(self) -> &'static str {
        match self {
            FinalModel::Refit => "refit",
            FinalModel::Folds => "folds",
        }
    }
}

/// Rows per Adam step of the `mlp`, `resnet` and `ensemble` kinds. The paper trains in full
/// batches (up to 2 048 rows): at the few hundred rows of an expensive optimization that is
/// one Adam step per epoch, and early stopping ends the training while the network is still
/// far from the data. Batches of 32 take 16 steps per epoch at 500 rows; in the comparison
/// (docs/surrogates.md, seeds 1–3) the joint `mlp` went from 0.75 to 0.91 of the optimum on
/// OSY and from 0.56 to 0.74 on C2-DTLZ2.
pub const DEFAULT_BATCH_SIZE: usize = 32;

/// Optimizer and epoch-selection settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingConfig {
    pub learning_rate: f64,
    pub batch_size: usize,
    /// A fixed number of epochs; `None` selects it by cross-validation.
    pub epochs: Option<usize>,
    pub max_epochs: usize,
    pub cv_folds: usize,
    pub patience: usize,
    pub cv_time_budget: Duration,
    /// Refit on all rows after cross-validation, or keep the fold networks.
    pub final_model: FinalModel,
    /// L-BFGS iterations on all rows after the Adam epochs of [`fit`] (the refit, ensemble
    /// members; see [`super::lbfgs`]); 0: none.
    pub polish_iterations: usize,
    /// Folds and members trained together (default) or one after the other; not a key of the
    /// configuration file.
    pub stacking: Stacking,
    /// Measure a value head's held-out error near its predicted boundary
    /// ([`boundary_weights`]) instead of over all held-out rows (set by
    /// `constraint_probability = "held-out-boundary"`).
    pub held_out_near_boundary: bool,
}

impl Default for TrainingConfig {
    /// Adam at 1e-3 in batches of [`DEFAULT_BATCH_SIZE`] rows, up to 2 000 epochs chosen by
    /// 3-fold CV with patience 100 under a 40 s budget, refit on all rows.
    fn default() -> Self {
        TrainingConfig {
            learning_rate: 1e-3,
            batch_size: DEFAULT_BATCH_SIZE,
            epochs: None,
            max_epochs: 2000,
            cv_folds: 3,
            patience: 100,
            cv_time_budget: Duration::from_secs(40),
            final_model: FinalModel::Refit,
            polish_iterations: 0,
            stacking: Stacking::Stacked,
            held_out_near_boundary: false,
        }
    }
}

impl TrainingConfig {
    /// The defaults for a body: [`TrainingConfig::default`], except for the FT-Transformer
    /// (see [`TrainingConfig::ft_transformer`]).
    pub fn for_architecture(architecture: &Architecture) -> Self {
        match architecture {
            Architecture::FtTransformer(_) => Self::ft_transformer(),
            Architecture::Mlp { .. } | Architecture::Resnet { .. } => Self::default(),
        }
    }

    /// The FT-Transformer's defaults, chosen with `benches/surrogate_training.rs` (4 000 rows
    /// on two CPU cores, see docs/surrogates.md): batches of 64 rows (the work per row is
    /// about the same for any batch size, and at 2 048 rows per Adam step the network needs
    /// hundreds of epochs, so small batches learn far more per second), patience 20, the fold
    /// networks as the final model (no refit), and a 50 s budget for the cross-validation,
    /// which is then the whole training.
    pub fn ft_transformer() -> Self {
        TrainingConfig {
            batch_size: 64,
            patience: 20,
            cv_time_budget: Duration::from_secs(50),
            final_model: FinalModel::Folds,
            ..Self::default()
        }
    }
}

/// Serializes fits that draw from libtorch's global generator.
static GENERATOR: Mutex<()> = Mutex::new(());

/// Runs `f` with libtorch's generator seeded by `seed`, holding the process-wide lock.
pub fn with_seed<T>(seed: u64, f: impl FnOnce() -> T) -> T {
    let _guard = GENERATOR
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    tch::manual_seed(seed as i64);
    f()
}

/// Training tensors on the device: inputs `[N, n]`, objective targets `[N, q]`, constraint
/// labels `[N, k]` (`k` may be 0), all `f32`.
pub struct Dataset {
    pub x: Tensor,
    pub objectives: Tensor,
    /// Constraint targets: labels `1[c > 0]` or normalized values (see
    /// [`super::constraint_targets`]).
    pub labels: Tensor,
    /// `[k]`: 1 where a constraint head regresses a value, 0 where it classifies.
    pub value_mask: Tensor,
}

impl Dataset {
    pub fn rows(&self) -> i64 {
        self.x.size().first().copied().unwrap_or(0)
    }

    /// The rows at `index` (an `Int64` tensor on the same device).
    pub fn select(&self, index: &Tensor) -> Result<Dataset, SurrogateError> {
        let pick = |t: &Tensor| t.f_index_select(0, index).context("selecting rows");
        Ok(Dataset {
            x: pick(&self.x)?,
            objectives: pick(&self.objectives)?,
            labels: pick(&self.labels)?,
            value_mask: self.value_mask.shallow_clone(),
        })
    }
}

/// The rows each of `M` members trains on: `T` positions per member, each a row of the
/// dataset (`index`, `[M, T]`; `None`: position `t` is row `t` for every member, `T = N`)
/// with a weight (`weights`, `[M, T]`; `None`: all ones).
pub struct MemberRows {
    members: i64,
    length: i64,
    index: Option<Tensor>,
    weights: Option<Tensor>,
}

fn index_tensor(values: &[i64], device: Device) -> Result<Tensor, SurrogateError> {
    Tensor::f_from_slice(values)
        .and_then(|t| t.f_to(device))
        .context("row indices")
}

impl MemberRows {
    /// `members` members on all `rows` rows with weight 1.
    pub fn all(members: i64, rows: i64) -> Self {
        MemberRows {
            members,
            length: rows,
            index: None,
            weights: None,
        }
    }

    /// Every member on every row, member `m` with the weights `weights[m]` (`[M, N]`, for
    /// example bootstrap counts).
    pub fn weighted(weights: Tensor) -> Result<Self, SurrogateError> {
        let (members, length) = weights.size2().context("reading row weights")?;
        Ok(MemberRows {
            members,
            length,
            index: None,
            weights: Some(weights.f_to_kind(Kind::Float).context("row weights")?),
        })
    }

    /// Member `m` on the rows `subsets[m]` with weight 1; shorter subsets are padded with
    /// weight-0 positions to the longest one.
    pub fn subsets(subsets: &[Vec<i64>], device: Device) -> Result<Self, SurrogateError> {
        let length = subsets.iter().map(Vec::len).max().unwrap_or(0);
        let mut index = Vec::with_capacity(subsets.len() * length);
        let mut weights = Vec::with_capacity(subsets.len() * length);
        for subset in subsets {
            let pad = subset.first().copied().unwrap_or(0);
            for position in 0..length {
                index.push(subset.get(position).copied().unwrap_or(pad));
                weights.push(if position < subset.len() { 1f32 } else { 0.0 });
            }
        }
        let shape = [subsets.len() as i64, length as i64];
        let index = index_tensor(&index, device)?
            .f_view(shape)
            .context("row indices")?;
        let weights = Tensor::f_from_slice(&weights)
            .and_then(|t| t.f_view(shape))
            .and_then(|t| t.f_to(device))
            .context("row weights")?;
        Ok(MemberRows {
            members: shape[0],
            length: shape[1],
            index: Some(index),
            weights: Some(weights),
        })
    }

    pub fn members(&self) -> i64 {
        self.members
    }

    /// Member `m` alone (`M = 1`).
    pub fn member(&self, m: i64) -> Result<MemberRows, SurrogateError> {
        let slice = |t: &Option<Tensor>| {
            t.as_ref()
                .map(|t| t.f_narrow(0, m, 1).context("one member's rows"))
                .transpose()
        };
        Ok(MemberRows {
            members: 1,
            length: self.length,
            index: slice(&self.index)?,
            weights: slice(&self.weights)?,
        })
    }

    /// The batch at `positions` (`None`: all positions) of every member.
    fn batch(&self, data: &Dataset, positions: Option<&Tensor>) -> Result<Batch, SurrogateError> {
        let pick = |t: &Tensor, dim: i64| match positions {
            Some(p) => t.f_index_select(dim, p).context("selecting a batch"),
            None => Ok(t.shallow_clone()),
        };
        let weights = self.weights.as_ref().map(|w| pick(w, 1)).transpose()?;
        let gather = |t: &Tensor| -> Result<Tensor, SurrogateError> {
            let width = t.size().get(1).copied().unwrap_or(0);
            match &self.index {
                None => {
                    let rows = pick(t, 0)?;
                    let count = rows.size().first().copied().unwrap_or(0);
                    rows.f_unsqueeze(0)
                        .and_then(|r| r.f_expand([self.members, count, width], false))
                        .context("sharing a batch between members")
                }
                Some(index) => {
                    let rows = pick(index, 1)?;
                    let count = rows.size().get(1).copied().unwrap_or(0);
                    rows.f_flatten(0, -1)
                        .and_then(|flat| t.f_index_select(0, &flat))
                        .and_then(|r| r.f_view([self.members, count, width]))
                        .context("gathering the members' rows")
                }
            }
        };
        Ok(Batch {
            x: gather(&data.x)?,
            objectives: gather(&data.objectives)?,
            labels: gather(&data.labels)?,
            value_mask: data.value_mask.shallow_clone(),
            weights,
        })
    }
}

/// One batch of every member: inputs `[M, B, n]`, targets `[M, B, q]` and `[M, B, k]`, row
/// weights `[M, B]` (`None`: all ones).
pub struct Batch {
    x: Tensor,
    objectives: Tensor,
    labels: Tensor,
    /// `[k]`: which constraint heads regress values (see [`Dataset::value_mask`]).
    value_mask: Tensor,
    weights: Option<Tensor>,
}

/// What a network is built from.
pub struct NetworkSpec<'a> {
    pub architecture: &'a Architecture,
    pub inputs: i64,
    pub objectives: i64,
    pub constraints: i64,
    pub device: Device,
}

/// Trained networks (`M` members) and, when validated, each member's best epoch and its
/// held-out constraint errors there.
pub struct Fitted {
    pub store: nn::VarStore,
    pub network: Network,
    pub best_epochs: Vec<usize>,
    /// Per member, per constraint head: the mean squared error on the member's held-out rows
    /// at its best epoch — a value head's output against its target (rows weighted by
    /// [`boundary_weights`] with [`TrainingConfig::held_out_near_boundary`]), a label head's
    /// probability against its label (a member's row is empty without validation or
    /// constraints).
    pub constraint_errors: Vec<Vec<f64>>,
}

/// Each member's mean squared error per constraint head `[M, k]` from the network's `output`
/// on `batch`, weighted by the rows' weights: a value head's output against its normalized
/// value (with `near_boundary` also weighted by [`boundary_weights`]), a label
/// head's probability against the 0/1 label (the Brier score; see [`head_estimates`]).
fn constraint_head_errors(
    output: &Tensor,
    batch: &Batch,
    spec: &NetworkSpec<'_>,
    near_boundary: bool,
) -> Result<Tensor, SurrogateError> {
    let estimates = output
        .f_narrow(-1, spec.objectives, spec.constraints)
        .context("splitting constraint outputs")
        .and_then(|heads| head_estimates(&heads, &batch.value_mask))?;
    let squared = estimates
        .f_sub(&batch.labels)
        .and_then(|d| d.f_square())
        .context("the constraint heads' held-out errors")?;
    let weights = batch
        .weights
        .as_ref()
        .map(|w| w.f_unsqueeze(-1))
        .transpose()
        .context("row weights")?;
    let weights = if near_boundary {
        let near = boundary_weights(&estimates, &batch.value_mask)
            .context("the constraint heads' boundary weights")?;
        Some(match weights {
            Some(weights) => weights.f_mul(&near).context("row weights")?,
            None => near,
        })
    } else {
        weights
    };
    weighted_row_mean(&squared, weights.as_ref()).context("the constraint heads' held-out errors")
}

/// Width `τ` (in target units) of the band around a value head's predicted boundary
/// (`t̂ = 0`) in which its held-out error is measured.
const BOUNDARY_WIDTH: f64 = 0.2;
/// The weight every held-out row keeps however far from the boundary (so that without rows
/// near it the error is the plain mean over all rows).
const BOUNDARY_FLOOR: f64 = 1e-3;

/// Per row and constraint head `[.., k]`: `exp(−(t̂/τ)²) + 10⁻³` for a value head's
/// held-out estimate `t̂` ([`BOUNDARY_WIDTH`] `τ`), 1 for a label head.
///
/// Why: a value head's held-out error `σ` sets the sharpness of its probability of
/// feasibility `Φ(t̂/σ)`, which is between 0 and 1 only where the head predicts the boundary;
/// so `σ` should be the head's error *there* (the spread of the true `t` given `t̂ ≈ 0`).
/// Rows predicted far from it, where targets and errors are large (the initial design's
/// corners), would blur the probabilities where the front lies: OSY's front sits on up to
/// four constraint boundaries at once, and the refinement then stays a blurred `σ` inside
/// each. Weighting by the estimate, not the true target, keeps `σ` honest for a head that
/// predicts nothing (always `t̂ ≈ 0`, so every row counts).
fn boundary_weights(estimates: &Tensor, value_mask: &Tensor) -> Result<Tensor, tch::TchError> {
    let near = estimates
        .f_div_scalar(BOUNDARY_WIDTH)?
        .f_square()?
        .f_neg()?
        .f_exp()?
        .f_add_scalar(BOUNDARY_FLOOR)?;
    blend(&near, &near.f_ones_like()?, value_mask)
}

/// The mean over rows (dimension 1) of `values` (`[M, B]` or `[M, B, k]`), weighted by
/// `weights` (the same shape, or broadcastable to it; `None`: all ones).
fn weighted_row_mean(values: &Tensor, weights: Option<&Tensor>) -> Result<Tensor, tch::TchError> {
    let rows = [1i64].as_slice();
    match weights {
        None => values.f_mean_dim(rows, false, Kind::Float),
        Some(weights) => weights
            .f_sum_dim_intlist(rows, false, Kind::Float)
            .and_then(|total| total.f_clamp_min(1e-12))
            .and_then(|total| {
                values
                    .f_mul(weights)?
                    .f_sum_dim_intlist(rows, false, Kind::Float)?
                    .f_div(&total)
            }),
    }
}

/// Each member's joint loss `[M]` on `batch` (training or evaluation mode): the weighted
/// mean over its rows of the row's mean squared objective error plus its mean constraint
/// binary cross-entropy.
pub fn member_losses(
    network: &Network,
    batch: &Batch,
    objectives: i64,
    constraints: i64,
    train: bool,
) -> Result<Tensor, SurrogateError> {
    let output = network.forward_weighted(&batch.x, batch.weights.as_ref(), train)?;
    losses_of_output(&output, batch, objectives, constraints)
}

/// [`member_losses`] from the network's `output` on `batch`.
fn losses_of_output(
    output: &Tensor,
    batch: &Batch,
    objectives: i64,
    constraints: i64,
) -> Result<Tensor, SurrogateError> {
    let last = [-1i64].as_slice();
    let mut per_row = output
        .f_narrow(-1, 0, objectives)
        .and_then(|p| p.f_sub(&batch.objectives))
        .and_then(|d| d.f_square())
        .and_then(|s| s.f_mean_dim(last, false, Kind::Float))
        .context("the objective loss")?;
    if constraints > 0 {
        let constraint = output
            .f_narrow(-1, objectives, constraints)
            .context("splitting constraint outputs")?;
        let constraint = constraint_loss(&constraint, &batch.labels, &batch.value_mask)?
            .f_mean_dim(last, false, Kind::Float)
            .context("the constraint loss")?;
        per_row = per_row.f_add(&constraint).context("the joint loss")?;
    }
    weighted_row_mean(&per_row, batch.weights.as_ref()).context("the members' mean loss")
}

/// Held-out rows of every member, the early-stopping patience, and whether training ends
/// with each member's parameters of its best validation epoch.
pub struct Validation {
    batch: Batch,
    patience: usize,
    restore_best: bool,
}

impl Validation {
    /// Member `m` is validated on the rows `held_out[m]`.
    pub fn new(
        data: &Dataset,
        held_out: &[Vec<i64>],
        patience: usize,
        device: Device,
    ) -> Result<Self, SurrogateError> {
        Ok(Validation {
            batch: MemberRows::subsets(held_out, device)?.batch(data, None)?,
            patience: patience.max(1),
            restore_best: false,
        })
    }

    /// Training with this validation returns each member with the parameters of its best
    /// validation epoch, not of its last.
    pub fn restoring_best(self) -> Self {
        Validation {
            restore_best: true,
            ..self
        }
    }
}

/// Per-member early stopping: the best validation loss and its epoch, and whether the member
/// has stopped.
struct EarlyStopping {
    best: Vec<(f64, usize)>,
    stopped: Vec<bool>,
    patience: usize,
    /// Per member: the held-out constraint errors at its best epoch so far.
    constraint_errors: Vec<Vec<f64>>,
}

impl EarlyStopping {
    fn new(members: usize, patience: usize) -> Self {
        EarlyStopping {
            best: vec![(f64::INFINITY, 0); members],
            stopped: vec![false; members],
            patience,
            constraint_errors: vec![Vec::new(); members],
        }
    }

    /// Records the epoch's validation losses; true when every member has stopped.
    fn record(&mut self, epoch: usize, losses: &[f64]) -> bool {
        for (m, &loss) in losses.iter().enumerate() {
            if self.stopped[m] {
                continue;
            }
            if loss < self.best[m].0 {
                self.best[m] = (loss, epoch);
            }
            if !loss.is_finite() || epoch >= self.best[m].1 + self.patience {
                self.stopped[m] = true;
            }
        }
        self.stopped.iter().all(|&s| s)
    }

    fn best_epochs(&self) -> Vec<usize> {
        self.best.iter().map(|b| b.1.max(1)).collect()
    }
}

/// A copy of every parameter (and batch-normalization statistic) of a stacked network, each
/// member's slice updated when that member reaches a new best validation loss.
struct BestWeights {
    /// `(variable, copy)` pairs.
    tensors: Vec<(Tensor, Tensor)>,
}

impl BestWeights {
    fn new(store: &nn::VarStore) -> Result<Self, SurrogateError> {
        let tensors = tch::no_grad(|| {
            store
                .variables()
                .into_values()
                .map(|variable| {
                    let copy = variable.f_detach_copy()?;
                    Ok((variable, copy))
                })
                .collect::<Result<Vec<_>, tch::TchError>>()
        })
        .context("copying the best parameters")?;
        Ok(BestWeights { tensors })
    }

    /// Records member `member`'s current parameters as its best.
    fn save(&mut self, member: i64) -> Result<(), SurrogateError> {
        tch::no_grad(|| {
            for (variable, copy) in &self.tensors {
                let mut slot = copy.f_narrow(0, member, 1)?;
                slot.f_copy_(&variable.f_narrow(0, member, 1)?)?;
            }
            Ok(())
        })
        .context("saving a member's best parameters")
    }

    /// Puts every member's best parameters back into the network.
    fn restore(&self) -> Result<(), SurrogateError> {
        tch::no_grad(|| {
            for (variable, copy) in &self.tensors {
                variable.shallow_clone().f_copy_(copy)?;
            }
            Ok(())
        })
        .context("restoring the best parameters")
    }
}

/// A new store holding `members` freshly initialized networks of `spec`.
fn fresh_network(
    spec: &NetworkSpec<'_>,
    members: i64,
) -> Result<(nn::VarStore, Network), SurrogateError> {
    let store = nn::VarStore::new(spec.device);
    let network = Network::new(
        &store.root(),
        members,
        spec.inputs,
        spec.objectives + spec.constraints,
        spec.architecture,
    )?;
    Ok((store, network))
}

/// Trains `rows.members()` fresh stacked networks for up to `epochs` epochs. With
/// `validation`, each member's best validation epoch is tracked (and, if it asks so, the
/// member's parameters at that epoch are kept and returned) and training stops once every
/// member is `patience` epochs past its best; training also stops at `deadline`.
pub fn train(
    spec: &NetworkSpec<'_>,
    config: &TrainingConfig,
    data: &Dataset,
    rows: &MemberRows,
    epochs: usize,
    validation: Option<&Validation>,
    deadline: Option<Instant>,
) -> Result<Fitted, SurrogateError> {
    let (store, network) = fresh_network(spec, rows.members)?;
    let mut optimizer = nn::Adam::default()
        .build(&store, config.learning_rate)
        .context("building the Adam optimizer")?;
    let batch = config.batch_size.max(2) as i64;
    let batches = (rows.length + batch - 1) / batch;
    let whole = if batches <= 1 {
        Some(rows.batch(data, None)?)
    } else {
        None
    };
    let mut stopping =
        EarlyStopping::new(rows.members as usize, validation.map_or(1, |v| v.patience));
    let mut best = match validation {
        Some(validation) if validation.restore_best => Some(BestWeights::new(&store)?),
        _ => None,
    };
    for epoch in 1..=epochs {
        let mut epoch_loss: Option<Tensor> = None;
        let mut step = |part: &Batch| -> Result<(), SurrogateError> {
            let loss = member_losses(&network, part, spec.objectives, spec.constraints, true)?
                .f_sum(Kind::Float)
                .context("summing the members' losses")?;
            optimizer.zero_grad();
            loss.f_backward().context("back-propagating the loss")?;
            optimizer.step();
            let loss = loss.f_detach().context("the training loss")?;
            epoch_loss = Some(match epoch_loss.take() {
                None => loss,
                Some(total) => total.f_add(&loss).context("the training loss")?,
            });
            Ok(())
        };
        match &whole {
            Some(all) => step(all)?,
            None => {
                let order = Tensor::f_randperm(rows.length, (Kind::Int64, spec.device))
                    .context("shuffling rows")?;
                for positions in order
                    .f_tensor_split(batches, 0)
                    .context("splitting batches")?
                {
                    step(&rows.batch(data, Some(&positions))?)?;
                }
            }
        }
        if let Some(loss) = epoch_loss {
            let value = scalar(&loss)?;
            if !value.is_finite() {
                return Err(SurrogateError::NonFinite {
                    kind: spec.architecture.name(),
                    detail: format!("training loss {value} at epoch {epoch}"),
                });
            }
        }
        if let Some(validation) = validation {
            // One forward pass serves the losses and, when a member improves, its held-out
            // constraint errors.
            let batch = &validation.batch;
            let output =
                tch::no_grad(|| network.forward_weighted(&batch.x, batch.weights.as_ref(), false))?;
            let losses = losses_of_output(&output, batch, spec.objectives, spec.constraints)?;
            let losses = super::tensor_to_vec(&losses)?;
            tracing::trace!(epoch, ?losses, "validation losses of the members");
            let done = stopping.record(epoch, &losses);
            let improved: Vec<usize> = (0..stopping.best.len())
                .filter(|&member| stopping.best[member].1 == epoch)
                .collect();
            if spec.constraints > 0 && !improved.is_empty() {
                let errors =
                    constraint_head_errors(&output, batch, spec, config.held_out_near_boundary)?;
                let errors = super::tensor_to_rows(&errors)?;
                for &member in &improved {
                    stopping.constraint_errors[member] = errors[member].clone();
                }
            }
            if let Some(best) = best.as_mut() {
                for &member in &improved {
                    best.save(member as i64)?;
                }
            }
            if done {
                break;
            }
        }
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            break;
        }
    }
    if let Some(best) = &best {
        best.restore()?;
    }
    Ok(Fitted {
        store,
        network,
        best_epochs: stopping.best_epochs(),
        constraint_errors: stopping.constraint_errors,
    })
}

fn scalar(tensor: &Tensor) -> Result<f64, SurrogateError> {
    tensor.f_double_value(&[]).context("reading a loss")
}

/// Trains the members of `rows` for `epochs` epochs without validation: stacked in one run,
/// or (with [`Stacking::Sequential`]) one after the other and then copied into one stacked
/// network, so that prediction is the same either way.
pub fn fit(
    spec: &NetworkSpec<'_>,
    config: &TrainingConfig,
    data: &Dataset,
    rows: &MemberRows,
    epochs: usize,
) -> Result<Fitted, SurrogateError> {
    let fit_rows = |rows: &MemberRows| {
        let fitted = train(spec, config, data, rows, epochs, None, None)?;
        polish(spec, config, data, rows, &fitted)?;
        Ok::<_, SurrogateError>(fitted)
    };
    if config.stacking == Stacking::Stacked || rows.members <= 1 {
        return fit_rows(rows);
    }
    let singles = (0..rows.members)
        .map(|m| fit_rows(&rows.member(m)?))
        .collect::<Result<Vec<_>, _>>()?;
    let (store, network) = fresh_network(spec, rows.members)?;
    for (m, single) in singles.iter().enumerate() {
        copy_member(&single.store, 0, &store, m as i64)?;
    }
    Ok(Fitted {
        store,
        network,
        best_epochs: vec![1; rows.members as usize],
        constraint_errors: Vec::new(),
    })
}

/// Ends a fit with [`TrainingConfig::polish_iterations`] L-BFGS iterations on all of `rows`
/// (see [`super::lbfgs`]); nothing when that is 0.
fn polish(
    spec: &NetworkSpec<'_>,
    config: &TrainingConfig,
    data: &Dataset,
    rows: &MemberRows,
    fitted: &Fitted,
) -> Result<(), SurrogateError> {
    if config.polish_iterations == 0 {
        return Ok(());
    }
    let all = rows.batch(data, None)?;
    let started = Instant::now();
    let report = super::lbfgs::polish(
        &fitted.store.trainable_variables(),
        config.polish_iterations,
        || {
            member_losses(
                &fitted.network,
                &all,
                spec.objectives,
                spec.constraints,
                false,
            )?
            .f_sum(Kind::Float)
            .context("summing the members' losses")
        },
    )?;
    tracing::debug!(
        ?report,
        seconds = started.elapsed().as_secs_f64(),
        "L-BFGS polish of the trained network"
    );
    Ok(())
}

/// The epoch count chosen by cross-validation, the folds' best epochs and the time taken.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochSelection {
    pub epochs: usize,
    pub fold_epochs: Vec<usize>,
    pub seconds: f64,
    /// Per constraint head: the root mean squared held-out error over the folds at their
    /// best epochs, with [`TrainingConfig::held_out_near_boundary`] a value head's near its
    /// predicted boundary (empty without CV or without constraints).
    pub constraint_rmse: Vec<f64>,
}

/// Selects the number of epochs by k-fold CV (see the module documentation).
pub fn select_epochs(
    spec: &NetworkSpec<'_>,
    config: &TrainingConfig,
    data: &Dataset,
    seed: u64,
) -> Result<EpochSelection, SurrogateError> {
    cross_validate(spec, config, data, seed, false).map(|(selection, _)| selection)
}

/// [`select_epochs`], and with `keep_folds` the fold networks (one member per fold, each with
/// the parameters of its best validation epoch); `None` when there were too few rows for CV.
pub fn cross_validate(
    spec: &NetworkSpec<'_>,
    config: &TrainingConfig,
    data: &Dataset,
    seed: u64,
    keep_folds: bool,
) -> Result<(EpochSelection, Option<Fitted>), SurrogateError> {
    let start = Instant::now();
    let rows = data.rows() as usize;
    let folds = config.cv_folds.max(2);
    if rows < 2 * folds {
        let selection = EpochSelection {
            epochs: config.patience.min(config.max_epochs).max(1),
            fold_epochs: Vec::new(),
            seconds: 0.0,
            constraint_rmse: Vec::new(),
        };
        return Ok((selection, None));
    }
    let mut order: Vec<i64> = (0..rows as i64).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let (mut kept, mut held) = (vec![Vec::new(); folds], vec![Vec::new(); folds]);
    for (position, &row) in order.iter().enumerate() {
        for fold in 0..folds {
            if position % folds == fold {
                held[fold].push(row);
            } else {
                kept[fold].push(row);
            }
        }
    }
    let deadline = start + config.cv_time_budget;
    let patience = config.patience.max(1);
    // Trains the folds `held`/`kept` (one member each) and returns their best epochs.
    let train_folds = |held: &[Vec<i64>], kept: &[Vec<i64>]| {
        let mut validation = Validation::new(data, held, patience, spec.device)?;
        if keep_folds {
            validation = validation.restoring_best();
        }
        let members = MemberRows::subsets(kept, spec.device)?;
        train(
            spec,
            config,
            data,
            &members,
            config.max_epochs,
            Some(&validation),
            Some(deadline),
        )
    };
    let (fold_epochs, fold_errors, networks) = match config.stacking {
        Stacking::Stacked => {
            let fitted = train_folds(&held, &kept)?;
            (
                fitted.best_epochs.clone(),
                fitted.constraint_errors.clone(),
                Some(fitted),
            )
        }
        Stacking::Sequential => {
            let mut singles = Vec::new();
            for fold in 0..folds {
                singles.push(train_folds(
                    std::slice::from_ref(&held[fold]),
                    std::slice::from_ref(&kept[fold]),
                )?);
                if Instant::now() >= deadline {
                    break;
                }
            }
            let fold_epochs = singles
                .iter()
                .flat_map(|single| single.best_epochs.iter().copied())
                .collect::<Vec<_>>();
            let fold_errors = singles
                .iter()
                .flat_map(|single| single.constraint_errors.iter().cloned())
                .collect::<Vec<_>>();
            let networks = if keep_folds {
                let (store, network) = fresh_network(spec, singles.len() as i64)?;
                for (m, single) in singles.iter().enumerate() {
                    copy_member(&single.store, 0, &store, m as i64)?;
                }
                Some(Fitted {
                    store,
                    network,
                    best_epochs: fold_epochs.clone(),
                    constraint_errors: fold_errors.clone(),
                })
            } else {
                None
            };
            (fold_epochs, fold_errors, networks)
        }
    };
    let mean = fold_epochs.iter().sum::<usize>() as f64 / fold_epochs.len().max(1) as f64;
    let selection = EpochSelection {
        epochs: (mean.round() as usize).max(1),
        fold_epochs,
        seconds: start.elapsed().as_secs_f64(),
        constraint_rmse: pooled_rmse(&fold_errors),
    };
    Ok((selection, networks.filter(|_| keep_folds)))
}

/// Per column: the root of the mean over members of their mean squared errors (members
/// without errors, which never reached a finite validation loss, are left out).
fn pooled_rmse(member_errors: &[Vec<f64>]) -> Vec<f64> {
    let measured: Vec<&Vec<f64>> = member_errors.iter().filter(|e| !e.is_empty()).collect();
    let width = measured.first().map_or(0, |e| e.len());
    (0..width)
        .map(|column| {
            let total: f64 = measured.iter().map(|e| e[column]).sum();
            (total / measured.len() as f64).sqrt()
        })
        .collect()
}

#[cfg(test)]
#[path = "training_tests.rs"]
mod tests;
