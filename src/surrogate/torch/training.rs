//! Training loop of the joint neural surrogates and the choice of the number of epochs by
//! k-fold cross-validation with early stopping (Gressmann et al. 2026).
//!
//! - Loss: MSE on the normalized objective targets plus binary cross-entropy of the
//!   constraint logits against `1[c > 0]`, equal weights.
//! - Optimizer: Adam (learning rate [`TrainingConfig::learning_rate`], 1e-3 by default) from a
//!   freshly initialized network; full batch when the data has at most
//!   [`TrainingConfig::batch_size`] rows, else an epoch is a pass over shuffled, nearly equal
//!   batches of at most that size.
//! - Epoch count: fixed ([`TrainingConfig::epochs`]) or selected by cross-validation: the rows
//!   are dealt into `cv_folds` folds (a seeded shuffle); for each fold a fresh network trains on
//!   the others for up to `max_epochs` epochs, the validation loss (evaluation mode) is taken
//!   after every epoch, and training stops `patience` epochs after the best one. The count used
//!   for the final model is the mean of the folds' best epochs (rounded, at least 1). The
//!   folds run one after the other under a wall-clock budget (`cv_time_budget`): when it runs
//!   out, the fold in progress counts with its best epoch so far and the remaining folds are
//!   skipped. With fewer than `2 × cv_folds` rows there is no CV and `min(patience,
//!   max_epochs)` epochs are used.
//!
//! Randomness (initialization, dropout, batch order) comes from libtorch's global generator,
//! seeded with `tch::manual_seed`; [`with_seed`] holds a process-wide lock while a fit runs,
//! so concurrent fits cannot interleave draws and a fit on the CPU is deterministic.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tch::nn::OptimizerConfig;
use tch::{nn, Device, Kind, Reduction, Tensor};

use super::networks::{Architecture, Network};
use super::TorchResultExt;
use crate::surrogate::SurrogateError;

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
}

impl Default for TrainingConfig {
    fn default() -> Self {
        TrainingConfig {
            learning_rate: 1e-3,
            batch_size: 2048,
            epochs: None,
            max_epochs: 2000,
            cv_folds: 3,
            patience: 100,
            cv_time_budget: Duration::from_secs(120),
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
    pub labels: Tensor,
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
        })
    }
}

/// What a network is built from.
pub struct NetworkSpec<'a> {
    pub architecture: &'a Architecture,
    pub inputs: i64,
    pub objectives: i64,
    pub constraints: i64,
    pub device: Device,
}

/// A trained network, the best validation epoch (when validated) and the epochs run.
pub struct Fitted {
    pub store: nn::VarStore,
    pub network: Network,
    pub best_epoch: usize,
}

/// The joint loss of `network` on `data` (training or evaluation mode).
pub fn joint_loss(
    network: &Network,
    data: &Dataset,
    objectives: i64,
    constraints: i64,
    train: bool,
) -> Result<Tensor, SurrogateError> {
    let output = network.forward(&data.x, train)?;
    let predicted = output
        .f_narrow(1, 0, objectives)
        .context("splitting objective outputs")?;
    let mut loss = predicted
        .f_mse_loss(&data.objectives, Reduction::Mean)
        .context("the objective loss")?;
    if constraints > 0 {
        let logits = output
            .f_narrow(1, objectives, constraints)
            .context("splitting constraint outputs")?;
        let bce = logits
            .f_binary_cross_entropy_with_logits::<Tensor>(&data.labels, None, None, Reduction::Mean)
            .context("the constraint loss")?;
        loss = loss.f_add(&bce).context("the joint loss")?;
    }
    Ok(loss)
}

fn scalar(tensor: &Tensor) -> Result<f64, SurrogateError> {
    tensor.f_double_value(&[]).context("reading a loss")
}

/// Trains a fresh network for up to `epochs` epochs. With `validation`, stops `patience`
/// epochs after the best validation loss and reports that epoch; training also stops at
/// `deadline`.
pub fn train(
    spec: &NetworkSpec<'_>,
    config: &TrainingConfig,
    data: &Dataset,
    validation: Option<(&Dataset, usize)>,
    epochs: usize,
    deadline: Option<Instant>,
) -> Result<Fitted, SurrogateError> {
    let store = nn::VarStore::new(spec.device);
    let network = Network::new(
        &store.root(),
        spec.inputs,
        spec.objectives + spec.constraints,
        spec.architecture,
    )?;
    let mut optimizer = nn::Adam::default()
        .build(&store, config.learning_rate)
        .context("building the Adam optimizer")?;
    let rows = data.rows();
    let batch = config.batch_size.max(2) as i64;
    let batches = (rows + batch - 1) / batch;
    let mut best = (f64::INFINITY, 0usize);
    for epoch in 1..=epochs {
        let shuffled: Vec<Dataset>;
        let parts: Vec<&Dataset> = if batches <= 1 {
            vec![data]
        } else {
            let order =
                Tensor::f_randperm(rows, (Kind::Int64, spec.device)).context("shuffling rows")?;
            shuffled = order
                .f_tensor_split(batches, 0)
                .context("splitting batches")?
                .iter()
                .map(|index| data.select(index))
                .collect::<Result<_, _>>()?;
            shuffled.iter().collect()
        };
        for part in parts {
            let loss = joint_loss(&network, part, spec.objectives, spec.constraints, true)?;
            let value = scalar(&loss)?;
            if !value.is_finite() {
                return Err(SurrogateError::NonFinite {
                    kind: spec.architecture.name(),
                    detail: format!("training loss {value} at epoch {epoch}"),
                });
            }
            optimizer.zero_grad();
            loss.f_backward().context("back-propagating the loss")?;
            optimizer.step();
        }
        if let Some((validation, patience)) = validation {
            let loss = tch::no_grad(|| {
                joint_loss(
                    &network,
                    validation,
                    spec.objectives,
                    spec.constraints,
                    false,
                )
            })?;
            let value = scalar(&loss)?;
            if value < best.0 {
                best = (value, epoch);
            }
            if !value.is_finite() || epoch >= best.1 + patience {
                break;
            }
        }
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            break;
        }
    }
    Ok(Fitted {
        store,
        network,
        best_epoch: best.1.max(1),
    })
}

/// The epoch count chosen by cross-validation, the folds that finished and the time taken.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochSelection {
    pub epochs: usize,
    pub fold_epochs: Vec<usize>,
    pub seconds: f64,
}

/// Selects the number of epochs by k-fold CV (see the module documentation).
pub fn select_epochs(
    spec: &NetworkSpec<'_>,
    config: &TrainingConfig,
    data: &Dataset,
    seed: u64,
) -> Result<EpochSelection, SurrogateError> {
    let start = Instant::now();
    let rows = data.rows() as usize;
    let folds = config.cv_folds.max(2);
    if rows < 2 * folds {
        return Ok(EpochSelection {
            epochs: config.patience.min(config.max_epochs).max(1),
            fold_epochs: Vec::new(),
            seconds: 0.0,
        });
    }
    let mut order: Vec<i64> = (0..rows as i64).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let deadline = start + config.cv_time_budget;
    let mut fold_epochs = Vec::new();
    for fold in 0..folds {
        let (mut held, mut kept) = (Vec::new(), Vec::new());
        for (position, &row) in order.iter().enumerate() {
            if position % folds == fold {
                held.push(row);
            } else {
                kept.push(row);
            }
        }
        let index = |values: Vec<i64>| {
            Tensor::f_from_slice(&values)
                .and_then(|t| t.f_to(spec.device))
                .context("fold indices")
        };
        let training = data.select(&index(kept)?)?;
        let validation = data.select(&index(held)?)?;
        let fitted = train(
            spec,
            config,
            &training,
            Some((&validation, config.patience.max(1))),
            config.max_epochs,
            Some(deadline),
        )?;
        fold_epochs.push(fitted.best_epoch);
        if Instant::now() >= deadline {
            break;
        }
    }
    let mean = fold_epochs.iter().sum::<usize>() as f64 / fold_epochs.len().max(1) as f64;
    Ok(EpochSelection {
        epochs: (mean.round() as usize).max(1),
        fold_epochs,
        seconds: start.elapsed().as_secs_f64(),
    })
}
