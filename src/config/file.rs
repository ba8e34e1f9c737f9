//! The configuration file as written by the user: a serde mirror of the TOML with every key
//! optional and unknown keys rejected (`deny_unknown_fields`). Defaults and cross-field checks
//! live in [`super::resolve`]; nothing here knows a default.

use crate::problems::Builtin;
use crate::sampling::SamplingMethod;
use crate::surrogate::torch::constraint_targets::{
    ConstraintProbability, ConstraintScale, ConstraintTarget,
};
use crate::surrogate::torch::networks::Activation;
use crate::surrogate::torch::precision::Precision;
use crate::surrogate::torch::targets::Normalization;
use crate::surrogate::torch::training::FinalModel;
use crate::surrogate::DeviceChoice;
use serde::{Deserialize, Serialize};

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub problem: Option<ProblemSection>,
    pub optimizer: Option<OptimizerSection>,
    pub evaluator: Option<EvaluatorSection>,
    pub surrogate: Option<SurrogateSection>,
    pub output: Option<OutputSection>,
}

/// `[problem]`: what is optimized.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProblemSection {
    /// Name of the run; also the HDF5 group (`opt_id`).
    pub id: Option<String>,
    /// A builtin benchmark problem that fills space, objectives and constraints.
    pub builtin: Option<Builtin>,
    /// Number of parameters of a scalable builtin.
    pub dim: Option<usize>,
    /// Number of objectives of a scalable builtin (DTLZ, C2-DTLZ2).
    pub n_objectives: Option<usize>,
    /// Objective names of a user problem (all minimized).
    pub objectives: Option<Vec<String>>,
    /// Constraint names of a user problem (feasible iff value > 0).
    pub constraints: Option<Vec<String>>,
    /// Reference point for the hypervolume, one value per objective.
    pub reference_point: Option<Vec<f64>>,
    /// Parameters of a user problem, by name.
    pub space: Option<toml::Table>,
    /// Fixed values passed to the simulation with every request.
    pub constants: Option<toml::Table>,
    /// Feature names and lengths (1: a number; n > 1: an array of n numbers), stored in the
    /// HDF5 `features` column.
    pub features: Option<toml::Table>,
}

/// One parameter in `[problem.space]`: `x = [0.0, 1.0]` or the table form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParameterEntry {
    Bounds([f64; 2]),
    Detailed(DetailedParameter),
}

/// `n = { bounds = [1, 8], integer = true }`, `k = { bounds = [1e-5, 1e-1], log = true }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetailedParameter {
    pub bounds: [f64; 2],
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub integer: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub log: bool,
}

/// `[evaluator]`: how candidates are evaluated. Without `command`, a builtin problem is
/// evaluated in-process; with it, the command is run under the subprocess protocol
/// (`docs/protocol.md`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluatorSection {
    /// The simulation's argv (program and arguments; never run through a shell).
    pub command: Option<Vec<String>>,
    pub mode: Option<ProtocolMode>,
    /// Time limit of one evaluation: `"30s"`, `"5m"`, `"1h30m"` or a number of seconds.
    pub timeout: Option<DurationValue>,
    /// Time between SIGTERM and SIGKILL when a process group is killed.
    pub kill_grace: Option<DurationValue>,
    /// Extra attempts for a failed, timed-out or invalid evaluation.
    pub retries: Option<u32>,
    /// Working-directory template (`{eval_id}`, `{epoch}`, `{worker}`).
    pub workdir: Option<String>,
    /// Extra environment variables for the simulation.
    pub env: Option<toml::Table>,
    /// The run stops when more than this fraction of completed evaluations are not ok.
    pub max_failure_fraction: Option<f64>,
    /// MPI: ranks that evaluate one candidate together.
    pub ranks_per_worker: Option<usize>,
}

/// How the simulation process lives: one per evaluation, or one per worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProtocolMode {
    Oneshot,
    Persistent,
}

impl ProtocolMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ProtocolMode::Oneshot => "oneshot",
            ProtocolMode::Persistent => "persistent",
        }
    }
}

/// A duration as written: a number of seconds or a text like `"1h30m"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DurationValue {
    Seconds(f64),
    Text(String),
}

/// `[optimizer]`: the epoch loop and the MOEA.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizerSection {
    pub algorithm: Option<Algorithm>,
    /// Initial design size = n_initial × number of parameters.
    pub n_initial: Option<usize>,
    pub initial_method: Option<SamplingMethod>,
    /// Surrogate epochs after the initial design (0 = initial design only).
    pub n_epochs: Option<usize>,
    pub population_size: Option<usize>,
    pub num_generations: Option<usize>,
    /// Fraction of the population evaluated on the true problem per epoch.
    pub resample_fraction: Option<f64>,
    pub seed: Option<u64>,
    /// Stop after this many true evaluations in total.
    pub max_evaluations: Option<usize>,
    pub crossover_probability: Option<f64>,
    /// Probability of mutating each parameter (default 1 / number of parameters).
    pub mutation_probability: Option<f64>,
    pub crossover_eta: Option<f64>,
    pub mutation_eta: Option<f64>,
    /// Weight of the surrogate's predicted standard deviation in the search (mean − κ·σ).
    pub exploration: Option<f64>,
    /// Refine each proposed batch by a pattern search on the surrogate.
    pub refine: Option<bool>,
    /// Share of each proposed batch moved by a small random step (local probes).
    pub probe_fraction: Option<f64>,
    /// Standard deviation of a probe's step, as a fraction of each parameter's range.
    pub probe_scale: Option<f64>,
    /// Least predicted probability of feasibility of a point chosen for its expected gain.
    pub min_feasibility: Option<f64>,
    /// That floor once `late_share` of the planned evaluations are done.
    pub late_min_feasibility: Option<f64>,
    /// Share of the planned evaluations after which `late_min_feasibility` applies.
    pub late_share: Option<f64>,
    /// The expected gain's reference point, moved out by this fraction of its distance from
    /// the best evaluated feasible value of each objective.
    pub gain_reference_margin: Option<f64>,
}

/// The MOEA that searches the surrogate (or the true function).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Algorithm {
    Nsga2,
}

/// `[surrogate]`: the model that stands in for the simulation during the search, a closed
/// choice tagged by `kind`; each kind accepts only its own keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum SurrogateSection {
    /// Exact Gaussian process per objective (Matérn-5/2, ARD).
    Gp {
        device: Option<DeviceChoice>,
        /// Random restarts of the hyperparameter optimization.
        restarts: Option<usize>,
        /// Adam iterations per restart.
        iterations: Option<usize>,
        /// Adam learning rate.
        learning_rate: Option<f64>,
        /// What predicts constraint satisfaction next to the GP's objectives.
        feasibility: Option<GpFeasibility>,
        /// With `feasibility = "mlp"`: that network's keys (those of `kind = "mlp"`), as the
        /// table `[surrogate.feasibility_network]`.
        feasibility_network: Option<NeuralSection>,
    },
    /// Joint neural surrogate, multilayer perceptron body.
    Mlp(NeuralSection),
    /// Joint neural surrogate, ResNet body (Gorishniy et al. 2021).
    Resnet(NeuralSection),
    /// Joint neural surrogate, FT-Transformer body (Gorishniy et al. 2021).
    FtTransformer(NeuralSection),
    /// Deep ensemble of joint neural surrogates.
    Ensemble(NeuralSection),
    /// No surrogate: the MOEA runs on the true function.
    None {},
}

/// The keys of the neural kinds (`mlp`, `resnet`, `ft-transformer`, `ensemble`); which apply to which kind is
/// checked in [`super::neural`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeuralSection {
    pub device: Option<DeviceChoice>,
    /// `"c+o"` (objectives and constraint satisfaction) or `"o"`.
    pub mode: Option<String>,
    pub normalization: Option<Normalization>,
    /// What the constraint heads learn: `auto`, `label` or `value`.
    pub constraint_target: Option<ConstraintTarget>,
    /// The scale of a value head's target: `rms` or `median`.
    pub constraint_scale: Option<ConstraintScale>,
    /// A value head's probability of feasibility: `held-out` or `logistic`.
    pub constraint_probability: Option<ConstraintProbability>,
    /// Ensemble: the members' body (`mlp`, `resnet` or `ft-transformer`).
    pub member: Option<MemberKind>,
    /// Ensemble: number of members.
    pub members: Option<usize>,
    /// Ensemble: train each member on a bootstrap resample.
    pub bootstrap: Option<bool>,
    pub width: Option<usize>,
    /// MLP: number of hidden layers.
    pub depth: Option<usize>,
    pub activation: Option<Activation>,
    /// ResNet: hidden width of a residual block.
    pub hidden: Option<usize>,
    /// ResNet: number of residual blocks; FT-Transformer: number of transformer blocks.
    pub blocks: Option<usize>,
    pub dropout: Option<f64>,
    /// FT-Transformer: attention heads (`width` must be divisible by it).
    pub heads: Option<usize>,
    /// FT-Transformer: hidden width of a block's feed-forward network.
    pub ffn_hidden: Option<usize>,
    pub attention_dropout: Option<f64>,
    pub ffn_dropout: Option<f64>,
    pub residual_dropout: Option<f64>,
    /// FT-Transformer: precision of the blocks' matrix products (`auto`, `f32`, `bf16`).
    pub precision: Option<Precision>,
    pub learning_rate: Option<f64>,
    pub batch_size: Option<usize>,
    /// A fixed number of training epochs (no cross-validation).
    pub epochs: Option<usize>,
    pub max_epochs: Option<usize>,
    pub cv_folds: Option<usize>,
    pub patience: Option<usize>,
    pub cv_time_budget: Option<DurationValue>,
    /// After cross-validation: `refit` on all rows, or keep the `folds` networks.
    pub final_model: Option<FinalModel>,
    /// L-BFGS iterations on all rows after the final fit's Adam epochs (0: none).
    pub polish: Option<usize>,
}

/// `[surrogate] kind = "gp"`: the model of constraint satisfaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GpFeasibility {
    /// None: the GP trains on feasible rows only (the dmosopt baseline).
    #[default]
    None,
    /// A joint `mlp` trained on every row predicts feasibility (its keys in
    /// `[surrogate.feasibility_network]`, defaults otherwise); the GP then trains on every
    /// row too.
    Mlp,
    /// A GP per constraint regresses its value on every row; the probability that it holds is
    /// `Φ(μ/σ)` (constrained Bayesian optimization). The objective GP trains on every row too.
    Gp,
}

/// The body of an ensemble's members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MemberKind {
    Mlp,
    Resnet,
    FtTransformer,
}

/// `[output]`: where results go.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSection {
    pub file: Option<std::path::PathBuf>,
}
