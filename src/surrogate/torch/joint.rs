//! Joint neural surrogate `f: R^n → R^(q+k)` (Gressmann et al. 2026): one network predicts
//! the `q` objectives (linear heads, MSE on normalized targets, see [`super::targets`]) and,
//! in mode `c+o`, the probability that each of the `k` constraints is satisfied (sigmoid
//! heads, binary cross-entropy on `1[c > 0]`); the loss is the sum of both.
//!
//! Unlike the GP baseline it is trained on every row with finite objectives, infeasible ones
//! included ([`Trainer::models_feasibility`] is true in mode `c+o`). In mode `o` only the
//! objectives are modeled and the search keeps the GP's feasible-only rows. A
//! constraints-only mode is not offered: the MOEA needs predicted objectives.
//!
//! Bodies: [`super::networks`] (`mlp`, `resnet`, and `ft-transformer` from
//! [`super::ft_transformer`]). Training and the cross-validated choice of
//! the number of epochs: [`super::training`]. The network computes in `f32` on the configured
//! device; a fit is seeded and, on the CPU, deterministic. Prediction runs in evaluation mode
//! without gradients; input gradients of the de-normalized objectives come from autograd.

use tch::{nn, Device, Kind, Tensor};

use super::networks::{Architecture, Network};
use super::targets::{Normalization, Targets};
use super::training::{select_epochs, train, with_seed, Dataset, NetworkSpec, TrainingConfig};
use super::{resolve_device, tensor_to_rows, validate_rows, TorchResultExt};
use crate::surrogate::{DeviceChoice, Model, Prediction, SurrogateError, Trainer, TrainingData};

/// What the joint network models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JointMode {
    /// Objectives and constraint satisfaction (`c+o`).
    #[default]
    ConstraintsAndObjectives,
    /// Objectives only (`o`).
    Objectives,
}

impl JointMode {
    pub fn as_str(self) -> &'static str {
        match self {
            JointMode::ConstraintsAndObjectives => "c+o",
            JointMode::Objectives => "o",
        }
    }

    /// Parses `c+o` or `o`; `c` is refused with the reason.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "c+o" => Ok(JointMode::ConstraintsAndObjectives),
            "o" => Ok(JointMode::Objectives),
            "c" => Err(
                "a constraints-only model predicts no objectives, which the MOEA \
                        needs to search; use \"c+o\" (joint) or \"o\""
                    .to_string(),
            ),
            other => Err(format!("unknown mode `{other}`: expected \"c+o\" or \"o\"")),
        }
    }
}

/// Settings of a joint network surrogate (`mlp`, `resnet` or `ft-transformer`).
#[derive(Debug, Clone, PartialEq)]
pub struct JointConfig {
    pub device: DeviceChoice,
    pub mode: JointMode,
    pub normalization: Normalization,
    pub architecture: Architecture,
    pub training: TrainingConfig,
}

impl JointConfig {
    /// Defaults for an architecture.
    pub fn new(architecture: Architecture) -> Self {
        JointConfig {
            device: DeviceChoice::Cpu,
            mode: JointMode::default(),
            normalization: Normalization::default(),
            architecture,
            training: TrainingConfig::default(),
        }
    }
}

/// Trains a [`JointModel`].
#[derive(Debug, Clone)]
pub struct JointTrainer {
    config: JointConfig,
}

impl JointTrainer {
    pub fn new(config: JointConfig) -> Self {
        JointTrainer { config }
    }
}

/// Training tensors and the fitted normalization.
pub(super) struct Prepared {
    pub dataset: Dataset,
    pub targets: Targets,
    pub inputs: i64,
    pub objectives: i64,
    pub constraints: i64,
    pub device: Device,
}

impl Prepared {
    pub fn spec<'a>(&self, architecture: &'a Architecture) -> NetworkSpec<'a> {
        NetworkSpec {
            architecture,
            inputs: self.inputs,
            objectives: self.objectives,
            constraints: self.constraints,
            device: self.device,
        }
    }
}

fn float_tensor(rows: Vec<f64>, width: usize, device: Device) -> Result<Tensor, SurrogateError> {
    let count = rows.len().checked_div(width).unwrap_or(0) as i64;
    Tensor::f_from_slice(&rows)
        .and_then(|t| t.f_view([count, width as i64]))
        .and_then(|t| t.f_to_kind(Kind::Float))
        .and_then(|t| t.f_to(device))
        .context("uploading training data")
}

/// Checks `data` and builds the training tensors.
pub(super) fn prepare(
    config: &JointConfig,
    data: &TrainingData,
) -> Result<Prepared, SurrogateError> {
    let rows = data.len();
    if rows == 0 {
        return Err(SurrogateError::NoData);
    }
    if rows < 2 {
        return Err(SurrogateError::BadData(
            "a neural surrogate needs at least 2 rows".to_string(),
        ));
    }
    if data.objectives.len() != rows {
        return Err(SurrogateError::BadData(format!(
            "{rows} input rows but {} objective rows",
            data.objectives.len()
        )));
    }
    let n = data.x[0].len();
    let q = data.objectives[0].len();
    if n == 0 || q == 0 {
        return Err(SurrogateError::BadData(
            "inputs and objectives need at least one column".to_string(),
        ));
    }
    validate_rows(&data.x, n, "inputs")?;
    validate_rows(&data.objectives, q, "objectives")?;
    let k = match config.mode {
        JointMode::Objectives => 0,
        JointMode::ConstraintsAndObjectives if data.constraints.is_empty() => 0,
        JointMode::ConstraintsAndObjectives => {
            if data.constraints.len() != rows {
                return Err(SurrogateError::BadData(format!(
                    "{rows} input rows but {} constraint rows",
                    data.constraints.len()
                )));
            }
            let k = data.constraints[0].len();
            validate_rows(&data.constraints, k, "constraints")?;
            k
        }
    };
    let device = resolve_device(config.device)?;
    let targets = Targets::fit(&data.objectives, q, config.normalization);
    let normalized: Vec<f64> = data
        .objectives
        .iter()
        .flat_map(|r| targets.forward(r))
        .collect();
    let labels: Vec<f64> = if k == 0 {
        Vec::new()
    } else {
        data.constraints
            .iter()
            .flatten()
            .map(|&c| if c > 0.0 { 1.0 } else { 0.0 })
            .collect()
    };
    let labels = if k == 0 {
        Tensor::f_zeros([rows as i64, 0], (Kind::Float, device)).context("empty labels")?
    } else {
        float_tensor(labels, k, device)?
    };
    Ok(Prepared {
        dataset: Dataset {
            x: float_tensor(data.x.iter().flatten().copied().collect(), n, device)?,
            objectives: float_tensor(normalized, q, device)?,
            labels,
        },
        targets,
        inputs: n as i64,
        objectives: q as i64,
        constraints: k as i64,
        device,
    })
}

/// The number of epochs: fixed, or chosen by cross-validation (logged).
pub(super) fn choose_epochs(
    config: &JointConfig,
    prepared: &Prepared,
    seed: u64,
) -> Result<usize, SurrogateError> {
    if let Some(epochs) = config.training.epochs {
        return Ok(epochs.max(1));
    }
    let spec = prepared.spec(&config.architecture);
    let selection = select_epochs(&spec, &config.training, &prepared.dataset, seed)?;
    tracing::info!(
        kind = config.architecture.name(),
        epochs = selection.epochs,
        folds = ?selection.fold_epochs,
        seconds = format!("{:.2}", selection.seconds),
        "neural surrogate: epochs selected by cross-validation"
    );
    Ok(selection.epochs)
}

/// Trains the final network on `dataset` for `epochs` epochs.
pub(super) fn fit_final(
    config: &JointConfig,
    prepared: &Prepared,
    dataset: &Dataset,
    epochs: usize,
) -> Result<JointModel, SurrogateError> {
    let spec = prepared.spec(&config.architecture);
    let fitted = train(&spec, &config.training, dataset, None, epochs, None)?;
    Ok(JointModel {
        _store: fitted.store,
        network: fitted.network,
        targets: prepared.targets.clone(),
        objectives: prepared.objectives,
        constraints: prepared.constraints,
        inputs: prepared.inputs,
        device: prepared.device,
        epochs,
    })
}

impl Trainer for JointTrainer {
    fn name(&self) -> &'static str {
        self.config.architecture.name()
    }

    fn models_feasibility(&self) -> bool {
        self.config.mode == JointMode::ConstraintsAndObjectives
    }

    fn fit(&self, data: &TrainingData, seed: u64) -> Result<Box<dyn Model>, SurrogateError> {
        let prepared = prepare(&self.config, data)?;
        with_seed(seed, || {
            let epochs = choose_epochs(&self.config, &prepared, seed)?;
            tch::manual_seed(seed.wrapping_add(1) as i64);
            let model = fit_final(&self.config, &prepared, &prepared.dataset, epochs)?;
            Ok(Box::new(model) as Box<dyn Model>)
        })
    }
}

/// A trained joint network.
pub struct JointModel {
    _store: nn::VarStore,
    network: Network,
    targets: Targets,
    objectives: i64,
    constraints: i64,
    inputs: i64,
    device: Device,
    epochs: usize,
}

impl JointModel {
    fn upload(&self, x: &[Vec<f64>]) -> Result<Tensor, SurrogateError> {
        validate_rows(x, self.inputs as usize, "points")?;
        float_tensor(
            x.iter().flatten().copied().collect(),
            self.inputs as usize,
            self.device,
        )
    }

    /// De-normalized objectives `[rows, q]` and constraint probabilities `[rows, k]`.
    pub(super) fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor), SurrogateError> {
        let output = self.network.forward(x, false)?;
        let objectives = output
            .f_narrow(1, 0, self.objectives)
            .context("splitting objective outputs")?;
        let objectives = self.targets.inverse(&objectives, self.device)?;
        let probabilities = output
            .f_narrow(1, self.objectives, self.constraints)
            .and_then(|t| t.f_sigmoid())
            .context("constraint probabilities")?;
        Ok((objectives, probabilities))
    }

    pub(super) fn predict_tensors(
        &self,
        x: &[Vec<f64>],
    ) -> Result<(Tensor, Tensor), SurrogateError> {
        let x = self.upload(x)?;
        tch::no_grad(|| self.forward(&x))
    }

    pub(super) fn models_constraints(&self) -> bool {
        self.constraints > 0
    }

    pub(super) fn gradient_tensor(&self, x: &[Vec<f64>]) -> Result<Tensor, SurrogateError> {
        let mut per_objective = Vec::with_capacity(self.objectives as usize);
        for j in 0..self.objectives {
            let points = self
                .upload(x)?
                .f_set_requires_grad(true)
                .context("tracking input gradients")?;
            let (objectives, _) = self.forward(&points)?;
            let total = objectives
                .f_select(1, j)
                .and_then(|t| t.f_sum(Kind::Float))
                .context("summing an objective")?;
            let gradient = Tensor::f_run_backward(&[total], &[&points], false, false)
                .context("input gradients")?
                .pop()
                .ok_or_else(|| SurrogateError::BadData("no input gradient".to_string()))?;
            per_objective.push(gradient);
        }
        Tensor::f_stack(&per_objective, 1).context("stacking gradients")
    }
}

/// Rows `[point][objective][dimension]` from a `[points, q, n]` tensor.
pub(super) fn gradient_rows(
    gradient: &Tensor,
    objectives: usize,
) -> Result<Vec<Vec<Vec<f64>>>, SurrogateError> {
    let flat = gradient.f_flatten(1, 2).context("flattening gradients")?;
    let rows = tensor_to_rows(&flat)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let width = row.len() / objectives.max(1);
            row.chunks(width.max(1)).map(<[f64]>::to_vec).collect()
        })
        .collect())
}

impl Model for JointModel {
    fn n_objectives(&self) -> usize {
        self.objectives as usize
    }

    fn predict(&self, x: &[Vec<f64>]) -> Result<Prediction, SurrogateError> {
        if x.is_empty() {
            return Ok(Prediction::default());
        }
        let (objectives, probabilities) = self.predict_tensors(x)?;
        Ok(Prediction {
            mean: tensor_to_rows(&objectives)?,
            variance: None,
            feasibility: if self.models_constraints() {
                Some(tensor_to_rows(&probabilities)?)
            } else {
                None
            },
        })
    }

    fn objective_gradients(&self, x: &[Vec<f64>]) -> Result<Vec<Vec<Vec<f64>>>, SurrogateError> {
        if x.is_empty() {
            return Ok(Vec::new());
        }
        gradient_rows(&self.gradient_tensor(x)?, self.objectives as usize)
    }

    fn training_epochs(&self) -> Option<usize> {
        Some(self.epochs)
    }
}

#[cfg(test)]
#[path = "joint_tests.rs"]
mod tests;
