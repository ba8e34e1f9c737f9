//! Joint neural surrogate `f: R^n → R^(q+k)` (Gressmann et al. 2026): one network predicts
//! the `q` objectives (linear heads, MSE on normalized targets, see [`super::targets`]) and,
//! in mode `c+o`, whether each of the `k` constraints is satisfied: the paper's sigmoid heads
//! with binary cross-entropy on `1[c > 0]`, or — for constraints with real values, by default
//! — a regression on the normalized value (see [`super::constraint_targets`]); the loss is
//! the sum of both.
//!
//! Unlike the GP baseline it is trained on every row with finite objectives, infeasible ones
//! included ([`Trainer::models_feasibility`] is true in mode `c+o`). In mode `o` only the
//! objectives are modeled and the search keeps the GP's feasible-only rows. A
//! constraints-only mode is not offered: the MOEA needs predicted objectives.
//!
//! Bodies: [`super::networks`] (`mlp`, `resnet`, and `ft-transformer` from
//! [`super::ft_transformer`]). Training and the cross-validated choice of
//! the number of epochs (the folds trained together as one stacked network): [`super::training`].
//! The network computes in `f32` on the configured device; a fit is seeded and, on the CPU,
//! deterministic. Prediction runs in evaluation mode without gradients; input gradients of
//! the de-normalized objectives come from autograd. A [`JointModel`] may hold several stacked
//! members (a deep ensemble, [`super::ensemble`], or the cross-validation's fold networks with
//! `final_model = "folds"`, the FT-Transformer's default); a refitted model holds one.

use tch::{nn, Device, Kind, Tensor};

use super::constraint_targets::{
    probabilities, ConstraintProbability, ConstraintScale, ConstraintTarget, ConstraintTargets,
};
use super::networks::{Architecture, Network};
use super::targets::{Normalization, Targets};
use super::training::{
    cross_validate, fit, with_seed, Dataset, FinalModel, Fitted, MemberRows, NetworkSpec,
    TrainingConfig,
};
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
    pub constraint_target: ConstraintTarget,
    pub constraint_scale: ConstraintScale,
    pub constraint_probability: ConstraintProbability,
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
            constraint_target: ConstraintTarget::default(),
            constraint_scale: ConstraintScale::default(),
            constraint_probability: ConstraintProbability::default(),
            training: TrainingConfig::for_architecture(&architecture),
            architecture,
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
pub struct Prepared {
    pub dataset: Dataset,
    pub targets: Targets,
    pub constraint_targets: ConstraintTargets,
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
pub fn prepare(config: &JointConfig, data: &TrainingData) -> Result<Prepared, SurrogateError> {
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
    let constraint_targets = if k == 0 {
        ConstraintTargets::default()
    } else {
        ConstraintTargets::fit(
            &data.constraints,
            k,
            config.constraint_target,
            config.constraint_scale,
        )
    };
    let labels = if k == 0 {
        Tensor::f_zeros([rows as i64, 0], (Kind::Float, device)).context("empty labels")?
    } else {
        let labels: Vec<f64> = data
            .constraints
            .iter()
            .flat_map(|row| constraint_targets.forward(row))
            .collect();
        float_tensor(labels, k, device)?
    };
    let value_mask = Tensor::f_from_slice(&constraint_targets.value_mask())
        .and_then(|t| t.f_to_kind(Kind::Float))
        .and_then(|t| t.f_to(device))
        .context("uploading the constraint head mask")?;
    Ok(Prepared {
        dataset: Dataset {
            x: float_tensor(data.x.iter().flatten().copied().collect(), n, device)?,
            objectives: float_tensor(normalized, q, device)?,
            labels,
            value_mask,
        },
        targets,
        constraint_targets,
        inputs: n as i64,
        objectives: q as i64,
        constraints: k as i64,
        device,
    })
}

/// The number of training epochs and what the cross-validation measured on held-out rows.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochChoice {
    pub epochs: usize,
    /// Per constraint head, its held-out root mean squared error (empty when no
    /// cross-validation ran: fixed epochs, too few rows, no constraints).
    pub constraint_error: Vec<f64>,
}

/// The number of epochs: fixed, or chosen by cross-validation (logged).
pub fn choose_epochs(
    config: &JointConfig,
    prepared: &Prepared,
    seed: u64,
) -> Result<EpochChoice, SurrogateError> {
    choose_epochs_keeping(config, prepared, seed, false).map(|(choice, _)| choice)
}

/// [`choose_epochs`], and with `keep_folds` the cross-validation's fold networks at their
/// best epochs (`None` with a fixed epoch count or too few rows for cross-validation).
fn choose_epochs_keeping(
    config: &JointConfig,
    prepared: &Prepared,
    seed: u64,
    keep_folds: bool,
) -> Result<(EpochChoice, Option<Fitted>), SurrogateError> {
    if let Some(epochs) = config.training.epochs {
        let choice = EpochChoice {
            epochs: epochs.max(1),
            constraint_error: Vec::new(),
        };
        return Ok((choice, None));
    }
    let spec = prepared.spec(&config.architecture);
    let (selection, folds) =
        cross_validate(&spec, &config.training, &prepared.dataset, seed, keep_folds)?;
    tracing::info!(
        kind = config.architecture.name(),
        epochs = selection.epochs,
        folds = ?selection.fold_epochs,
        seconds = format!("{:.2}", selection.seconds),
        constraint_rmse = ?selection.constraint_rmse,
        "neural surrogate: epochs selected by cross-validation"
    );
    let choice = EpochChoice {
        epochs: selection.epochs,
        constraint_error: selection.constraint_rmse,
    };
    Ok((choice, folds))
}

/// Trains the final network(s) for the chosen epochs: one member per row of `rows` (one for a
/// plain joint model, several for an ensemble), trained together.
pub fn fit_final(
    config: &JointConfig,
    prepared: &Prepared,
    rows: &MemberRows,
    choice: &EpochChoice,
) -> Result<JointModel, SurrogateError> {
    let spec = prepared.spec(&config.architecture);
    let fitted = fit(
        &spec,
        &config.training,
        &prepared.dataset,
        rows,
        choice.epochs,
    )?;
    model_of(fitted, config, prepared, choice)
}

/// The model of trained networks (every member predicts; the model averages them).
fn model_of(
    fitted: Fitted,
    config: &JointConfig,
    prepared: &Prepared,
    choice: &EpochChoice,
) -> Result<JointModel, SurrogateError> {
    let (normal_factor, normal_mask) = prepared
        .constraint_targets
        .probability_map(config.constraint_probability, &choice.constraint_error)
        .upload(prepared.device)?;
    Ok(JointModel {
        _store: fitted.store,
        members: fitted.network.members(),
        network: fitted.network,
        targets: prepared.targets.clone(),
        score_gain: score_gain(&prepared.constraint_targets, prepared.device)?,
        objectives: prepared.objectives,
        constraints: prepared.constraints,
        inputs: prepared.inputs,
        device: prepared.device,
        epochs: choice.epochs,
        normal_factor,
        normal_mask,
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
            let keep_folds = self.config.training.final_model == FinalModel::Folds;
            let (choice, folds) = choose_epochs_keeping(&self.config, &prepared, seed, keep_folds)?;
            if let Some(folds) = folds {
                let model = model_of(folds, &self.config, &prepared, &choice)?;
                return Ok(Box::new(model) as Box<dyn Model>);
            }
            tch::manual_seed(seed.wrapping_add(1) as i64);
            let rows = MemberRows::all(1, prepared.dataset.rows());
            let model = fit_final(&self.config, &prepared, &rows, &choice)?;
            Ok(Box::new(model) as Box<dyn Model>)
        })
    }
}

/// A trained joint network (`members` stacked networks; predictions average them).
pub struct JointModel {
    _store: nn::VarStore,
    network: Network,
    members: i64,
    targets: Targets,
    /// `[k]`: constraint head output → feasibility score.
    score_gain: Tensor,
    objectives: i64,
    constraints: i64,
    inputs: i64,
    device: Device,
    epochs: usize,
    /// `[k]` each: how a feasibility score becomes a probability
    /// ([`super::constraint_targets::probabilities`]).
    normal_factor: Tensor,
    normal_mask: Tensor,
}

fn score_gain(targets: &ConstraintTargets, device: Device) -> Result<Tensor, SurrogateError> {
    Tensor::f_from_slice(&targets.score_gain())
        .and_then(|t| t.f_to_kind(Kind::Float))
        .and_then(|t| t.f_to(device))
        .context("uploading constraint score gains")
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

    /// De-normalized objectives `[M, rows, q]` and constraint feasibility scores `[M, rows, k]`
    /// (probabilities are their sigmoid) of the `M` members for points `[rows, n]`.
    pub(super) fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor), SurrogateError> {
        let shared = x
            .f_unsqueeze(0)
            .and_then(|t| t.f_expand([self.members, -1, -1], false))
            .context("sharing points between members")?;
        let output = self.network.forward(&shared, false)?;
        let objectives = output
            .f_narrow(-1, 0, self.objectives)
            .context("splitting objective outputs")?;
        let objectives = self.targets.inverse(&objectives, self.device)?;
        let scores = output
            .f_narrow(-1, self.objectives, self.constraints)
            .and_then(|t| t.f_mul(&self.score_gain))
            .context("constraint scores")?;
        Ok((objectives, scores))
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

    /// Probabilities of feasibility `[.., k]` from feasibility scores `[.., k]` (see
    /// [`super::constraint_targets`]).
    pub(super) fn probabilities(&self, scores: &Tensor) -> Result<Tensor, SurrogateError> {
        probabilities(scores, &self.normal_factor, &self.normal_mask)
    }

    /// The members' mean input gradient `[rows, q, n]` of each objective. Members are
    /// independent, so one backward pass of an objective summed over members and rows gives
    /// the sum of the members' gradients at every point; it is divided by `M`.
    pub(super) fn gradient_tensor(&self, x: &[Vec<f64>]) -> Result<Tensor, SurrogateError> {
        let points = self
            .upload(x)?
            .f_set_requires_grad(true)
            .context("tracking input gradients")?;
        let (objectives, _) = self.forward(&points)?;
        let mut per_objective = Vec::with_capacity(self.objectives as usize);
        for j in 0..self.objectives {
            let total = objectives
                .f_select(-1, j)
                .and_then(|t| t.f_sum(Kind::Float))
                .context("summing an objective")?;
            let keep_graph = j + 1 < self.objectives;
            let gradient = Tensor::f_run_backward(&[total], &[&points], keep_graph, false)
                .context("input gradients")?
                .pop()
                .ok_or_else(|| SurrogateError::BadData("no input gradient".to_string()))?
                .f_div_scalar(self.members as f64)
                .context("the members' mean gradient")?;
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
        let (objectives, scores) = self.predict_tensors(x)?;
        let over_members = |t: &Tensor| {
            t.f_mean_dim([0i64].as_slice(), false, Kind::Float)
                .context("the members' mean")
        };
        let (objectives, scores) = (over_members(&objectives)?, over_members(&scores)?);
        let (feasibility, constraint_scores) = if self.models_constraints() {
            let probabilities = self.probabilities(&scores)?;
            (
                Some(tensor_to_rows(&probabilities)?),
                Some(tensor_to_rows(&scores)?),
            )
        } else {
            (None, None)
        };
        Ok(Prediction {
            mean: tensor_to_rows(&objectives)?,
            variance: None,
            feasibility,
            constraint_scores,
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
