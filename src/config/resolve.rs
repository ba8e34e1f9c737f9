//! From the file's optional keys to a [`RunConfig`] with every default filled in and every
//! cross-field rule checked. All problems found are reported together.

use super::evaluator::{resolve_evaluator, EvaluatorConfig};
use super::file::{
    Algorithm, DetailedParameter, FileConfig, GpFeasibility, NeuralSection, OptimizerSection,
    OutputSection, ParameterEntry, ProblemSection, SurrogateSection,
};
use crate::moea::Nsga2Params;
use crate::problem::ProblemSchema;
use crate::problems::{Builtin, Problem};
use crate::sampling::SamplingMethod;
use crate::space::{Parameter, ParameterSpace};
use crate::strategy::FeasibilityFloor;
use crate::surrogate::torch::ensemble::EnsembleConfig;
use crate::surrogate::torch::gp::GpConfig;
use crate::surrogate::torch::joint::JointConfig;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

/// Defaults of `[optimizer]` (dmosopt's where it has one).
pub mod defaults {
    pub const N_INITIAL: usize = 10;
    pub const N_EPOCHS: usize = 10;
    pub const POPULATION_SIZE: usize = 100;
    pub const NUM_GENERATIONS: usize = 100;
    pub const RESAMPLE_FRACTION: f64 = 0.25;
    pub const SEED: u64 = 0;
    /// Standard deviation of a local probe's step (`optimizer.probe_scale`), normalized.
    pub const PROBE_SCALE: f64 = 0.1;
}

/// A fully resolved run configuration: no optional values left.
#[derive(Clone)]
pub struct RunConfig {
    pub problem: ProblemConfig,
    pub optimizer: OptimizerConfig,
    pub evaluator: EvaluatorConfig,
    pub surrogate: SurrogateConfig,
    pub output: OutputConfig,
}

/// What is optimized.
#[derive(Clone)]
pub struct ProblemConfig {
    pub id: String,
    pub definition: ProblemDefinition,
    pub space: ParameterSpace,
    pub schema: ProblemSchema,
    /// `[problem.constants]`, numeric, in file order.
    pub constants: Vec<(String, f64)>,
    /// Hypervolume reference point (a builtin's default, or the user's), if any.
    pub reference_point: Option<Vec<f64>>,
    /// Feature names and lengths (`[problem.features]`, or the builtin's), in order.
    pub features: Vec<(String, usize)>,
}

/// Where the objective values come from.
#[derive(Clone)]
pub enum ProblemDefinition {
    Builtin {
        builtin: Builtin,
        dim: usize,
        n_objectives: usize,
        problem: Arc<dyn Problem>,
    },
    /// A user problem evaluated by an external simulation.
    External,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OptimizerConfig {
    pub algorithm: Algorithm,
    pub n_initial: usize,
    pub initial_method: SamplingMethod,
    pub n_epochs: usize,
    pub population_size: usize,
    pub num_generations: usize,
    pub resample_fraction: f64,
    pub seed: u64,
    pub max_evaluations: Option<usize>,
    pub nsga2: Nsga2Params,
    /// `κ` of the optimistic bound `mean − κ·σ` the search ranks by (0: the mean).
    pub exploration: f64,
    /// Refine each proposed batch on the surrogate (`strategy::refine`).
    pub refine: bool,
    /// Share of each proposed batch moved by a small random step (`strategy::probes`).
    pub probe_fraction: f64,
    /// Standard deviation of a probe's step, in normalized units.
    pub probe_scale: f64,
    /// Least predicted probability of feasibility of a point chosen for its expected gain
    /// (`min_feasibility`, `late_min_feasibility`, `late_share`).
    pub feasibility_floor: FeasibilityFloor,
    /// The expected gain's reference point, moved out by this fraction of its distance from
    /// the best evaluated feasible value of each objective (`strategy::search`).
    pub gain_reference_margin: f64,
}

impl OptimizerConfig {
    /// Points in the initial design.
    pub fn initial_design_size(&self, dim: usize) -> usize {
        self.n_initial * dim
    }
    /// Points evaluated on the true problem per surrogate epoch.
    pub fn resample_size(&self) -> usize {
        ((self.resample_fraction * self.population_size as f64).round() as usize).max(1)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum SurrogateConfig {
    Gp(GpConfig),
    /// A GP for the objectives and a joint network for feasibility (`feasibility = "mlp"`).
    GpWithFeasibility {
        gp: GpConfig,
        feasibility: JointConfig,
    },
    /// A GP for the objectives and GPs of the constraint values for feasibility
    /// (`feasibility = "gp"`).
    GpWithGpFeasibility(GpConfig),
    /// A joint neural network (`mlp`, `resnet` or `ft-transformer`).
    Neural(JointConfig),
    Ensemble(EnsembleConfig),
    None,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutputConfig {
    pub file: PathBuf,
}

/// Resolve a parsed file; `Err` carries every problem found, each naming its key.
pub fn resolve(file: &FileConfig) -> Result<RunConfig, Vec<String>> {
    let mut errors = Vec::new();
    let problem = match &file.problem {
        Some(section) => resolve_problem(section, &mut errors),
        None => {
            errors.push("missing section [problem]".to_string());
            None
        }
    };
    let optimizer = match &file.optimizer {
        Some(section) => resolve_optimizer(section, problem.as_ref(), &mut errors),
        None => {
            errors.push("missing section [optimizer]".to_string());
            None
        }
    };
    // Without a resolved problem, do not also complain that it needs a command.
    let builtin = problem
        .as_ref()
        .is_none_or(|p| matches!(p.definition, ProblemDefinition::Builtin { .. }));
    let evaluator = resolve_evaluator(file.evaluator.as_ref(), builtin, &mut errors);
    let targets = problem.as_ref().map_or((0, 0), |p| {
        (p.schema.n_objectives(), p.schema.n_constraints())
    });
    let surrogate = resolve_surrogate(file.surrogate.as_ref(), targets, &mut errors);
    let output = problem
        .as_ref()
        .map(|p| resolve_output(file.output.as_ref(), &p.id));
    match (problem, optimizer, surrogate, output) {
        (Some(problem), Some(optimizer), Some(surrogate), Some(output)) if errors.is_empty() => {
            Ok(RunConfig {
                problem,
                optimizer,
                evaluator,
                surrogate,
                output,
            })
        }
        _ => Err(errors),
    }
}

fn resolve_problem(section: &ProblemSection, errors: &mut Vec<String>) -> Option<ProblemConfig> {
    let id = match (&section.id, section.builtin) {
        (Some(id), _) => id.clone(),
        (None, Some(builtin)) => builtin.name().to_string(),
        (None, None) => {
            errors.push("problem.id: missing (the run's name and HDF5 group)".to_string());
            String::new()
        }
    };
    if id.contains('/') || id == "." || id == ".." {
        errors.push(format!(
            "problem.id = {id:?}: must not contain '/' (it names an HDF5 group)"
        ));
    }
    let constants = resolve_constants(section.constants.as_ref(), errors);
    let (definition, space, schema) = match section.builtin {
        Some(builtin) => resolve_builtin(builtin, section, &constants, errors)?,
        None => resolve_user_problem(section, errors)?,
    };
    for (name, _) in &constants {
        if space.names().contains(name) {
            errors.push(format!(
                "problem.constants.{name}: also a parameter in [problem.space]"
            ));
        }
    }
    let reference_point = match (&section.reference_point, &definition) {
        (Some(point), _) => {
            if point.len() != schema.n_objectives() {
                errors.push(format!(
                    "problem.reference_point: has {} values, the problem has {} objectives",
                    point.len(),
                    schema.n_objectives()
                ));
            }
            if point.iter().any(|v| !v.is_finite()) {
                errors.push("problem.reference_point: values must be finite".to_string());
            }
            Some(point.clone())
        }
        (None, ProblemDefinition::Builtin { builtin, .. }) => {
            Some(default_reference_point(*builtin, schema.n_objectives()))
        }
        (None, ProblemDefinition::External) => None,
    };
    let features = match (&section.features, section.builtin) {
        (Some(table), _) => resolve_features(table, errors),
        (None, Some(builtin)) => builtin.features(),
        (None, None) => Vec::new(),
    };
    Some(ProblemConfig {
        id,
        definition,
        space,
        schema,
        constants,
        reference_point,
        features,
    })
}

type ResolvedDefinition = (ProblemDefinition, ParameterSpace, ProblemSchema);

fn resolve_builtin(
    builtin: Builtin,
    section: &ProblemSection,
    constants: &[(String, f64)],
    errors: &mut Vec<String>,
) -> Option<ResolvedDefinition> {
    for (key, present) in [
        ("objectives", section.objectives.is_some()),
        ("constraints", section.constraints.is_some()),
        ("space", section.space.is_some()),
    ] {
        if present {
            errors.push(format!(
                "problem.{key}: not allowed with problem.builtin = \"{}\" (the builtin defines it)",
                builtin.name()
            ));
        }
    }
    match builtin.build_with_constants(section.dim, section.n_objectives, constants) {
        Ok(problem) => {
            let space = problem.space().clone();
            let schema = problem.schema().clone();
            Some((
                ProblemDefinition::Builtin {
                    builtin,
                    dim: space.dim(),
                    n_objectives: schema.n_objectives(),
                    problem,
                },
                space,
                schema,
            ))
        }
        Err(error) => {
            errors.push(format!("problem: {error}"));
            None
        }
    }
}

fn resolve_user_problem(
    section: &ProblemSection,
    errors: &mut Vec<String>,
) -> Option<ResolvedDefinition> {
    for (key, present) in [
        ("dim", section.dim.is_some()),
        ("n_objectives", section.n_objectives.is_some()),
    ] {
        if present {
            errors.push(format!("problem.{key}: only allowed with problem.builtin"));
        }
    }
    let objectives = section.objectives.clone().unwrap_or_default();
    if objectives.is_empty() {
        errors.push(
            "problem.objectives: a user problem needs at least one objective (or set problem.builtin)"
                .to_string(),
        );
    }
    let constraints = section.constraints.clone().unwrap_or_default();
    check_names("problem.objectives", &objectives, errors);
    check_names("problem.constraints", &constraints, errors);
    for name in &objectives {
        if constraints.contains(name) {
            errors.push(format!(
                "problem.constraints: `{name}` is also an objective"
            ));
        }
    }
    let space = match &section.space {
        None => {
            errors.push(
                "problem.space: missing section [problem.space] (or set problem.builtin)"
                    .to_string(),
            );
            return None;
        }
        Some(table) => resolve_space(table, errors)?,
    };
    Some((
        ProblemDefinition::External,
        space,
        ProblemSchema {
            objectives,
            constraints,
        },
    ))
}

fn check_names(key: &str, names: &[String], errors: &mut Vec<String>) {
    let mut seen = HashSet::new();
    for name in names {
        if name.trim().is_empty() {
            errors.push(format!("{key}: names must not be empty"));
        } else if !seen.insert(name) {
            errors.push(format!("{key}: `{name}` appears more than once"));
        }
    }
}

fn resolve_space(table: &toml::Table, errors: &mut Vec<String>) -> Option<ParameterSpace> {
    let mut parameters = Vec::new();
    for (name, value) in table {
        let entry: ParameterEntry = match value.clone().try_into() {
            Ok(entry) => entry,
            Err(_) => {
                errors.push(format!(
                    "problem.space.{name}: expected [lower, upper] or {{ bounds = [lower, upper], integer = true|false, log = true|false }}, got {value}"
                ));
                continue;
            }
        };
        let detailed = match entry {
            ParameterEntry::Bounds(bounds) => DetailedParameter {
                bounds,
                integer: false,
                log: false,
            },
            ParameterEntry::Detailed(detailed) => detailed,
        };
        parameters.push(Parameter {
            name: name.clone(),
            lower: detailed.bounds[0],
            upper: detailed.bounds[1],
            integer: detailed.integer,
            log: detailed.log,
        });
    }
    match ParameterSpace::new(parameters) {
        Ok(space) => Some(space),
        Err(error) => {
            errors.push(format!("problem.space: {error}"));
            None
        }
    }
}

/// `[problem.features]`: name = length (an integer ≥ 1), in file order.
fn resolve_features(table: &toml::Table, errors: &mut Vec<String>) -> Vec<(String, usize)> {
    let mut features = Vec::new();
    for (name, value) in table {
        match value {
            toml::Value::Integer(n) if *n >= 1 && *n <= 1 << 20 => {
                features.push((name.clone(), *n as usize));
            }
            other => errors.push(format!(
                "problem.features.{name}: must be a length (an integer >= 1), got {other}"
            )),
        }
    }
    features
}

fn resolve_constants(table: Option<&toml::Table>, errors: &mut Vec<String>) -> Vec<(String, f64)> {
    let mut constants = Vec::new();
    for (name, value) in table.into_iter().flatten() {
        match value {
            toml::Value::Float(v) => constants.push((name.clone(), *v)),
            toml::Value::Integer(v) => constants.push((name.clone(), *v as f64)),
            other => errors.push(format!(
                "problem.constants.{name}: must be a number, got {other}"
            )),
        }
    }
    constants
}

/// The customary hypervolume reference point of each builtin (objective space, minimized).
pub fn default_reference_point(builtin: Builtin, n_objectives: usize) -> Vec<f64> {
    match builtin {
        Builtin::Dtlz7 => {
            let mut point = vec![1.1; n_objectives];
            if let Some(last) = point.last_mut() {
                *last = 2.0 * n_objectives as f64 + 1.0;
            }
            point
        }
        Builtin::Constr => vec![1.1, 10.0],
        Builtin::Srn => vec![250.0, 50.0],
        Builtin::Tnk => vec![1.2, 1.2],
        Builtin::Osy => vec![0.0, 80.0],
        Builtin::Motoneuron | Builtin::MotoneuronWide => {
            crate::problems::motoneuron::REFERENCE_POINT.to_vec()
        }
        _ => vec![1.1; n_objectives],
    }
}

fn resolve_optimizer(
    section: &OptimizerSection,
    problem: Option<&ProblemConfig>,
    errors: &mut Vec<String>,
) -> Option<OptimizerConfig> {
    let mut nsga2 = Nsga2Params::default();
    let population_size = section.population_size.unwrap_or(defaults::POPULATION_SIZE);
    nsga2.population_size = population_size;
    if let Some(p) = section.crossover_probability {
        nsga2.crossover_probability = p;
    }
    // Written out (1 / number of parameters by default) so the resolved config is explicit.
    let dim = problem.map_or(1, |p| p.space.dim()).max(1);
    nsga2.mutation_probability = Some(section.mutation_probability.unwrap_or(1.0 / dim as f64));
    if let Some(eta) = section.crossover_eta {
        nsga2.crossover_eta = eta;
    }
    if let Some(eta) = section.mutation_eta {
        nsga2.mutation_eta = eta;
    }
    let default_floor = FeasibilityFloor::default();
    let min_feasibility = section.min_feasibility.unwrap_or(default_floor.early);
    let config = OptimizerConfig {
        algorithm: section.algorithm.unwrap_or(Algorithm::Nsga2),
        n_initial: section.n_initial.unwrap_or(defaults::N_INITIAL),
        initial_method: section.initial_method.unwrap_or(SamplingMethod::Slh),
        n_epochs: section.n_epochs.unwrap_or(defaults::N_EPOCHS),
        population_size,
        num_generations: section.num_generations.unwrap_or(defaults::NUM_GENERATIONS),
        resample_fraction: section
            .resample_fraction
            .unwrap_or(defaults::RESAMPLE_FRACTION),
        seed: section.seed.unwrap_or(defaults::SEED),
        max_evaluations: section.max_evaluations,
        nsga2,
        exploration: section.exploration.unwrap_or(0.0),
        refine: section.refine.unwrap_or(false),
        probe_fraction: section.probe_fraction.unwrap_or(0.0),
        probe_scale: section.probe_scale.unwrap_or(defaults::PROBE_SCALE),
        feasibility_floor: FeasibilityFloor {
            early: min_feasibility,
            late: section.late_min_feasibility.unwrap_or(min_feasibility),
            late_share: section.late_share.unwrap_or(default_floor.late_share),
        },
        gain_reference_margin: section.gain_reference_margin.unwrap_or(0.0),
    };
    let mut check = |ok: bool, message: String| {
        if !ok {
            errors.push(message);
        }
    };
    check(
        config.n_initial >= 1,
        "optimizer.n_initial: must be at least 1".into(),
    );
    check(
        config.population_size >= 4,
        format!(
            "optimizer.population_size = {}: must be at least 4",
            config.population_size
        ),
    );
    check(
        config.exploration.is_finite() && config.exploration >= 0.0,
        format!(
            "optimizer.exploration = {}: must be a finite number ≥ 0",
            config.exploration
        ),
    );
    check(
        (0.0..=1.0).contains(&config.probe_fraction),
        format!(
            "optimizer.probe_fraction = {}: must be in [0, 1]",
            config.probe_fraction
        ),
    );
    check(
        config.probe_scale.is_finite() && config.probe_scale > 0.0 && config.probe_scale <= 1.0,
        format!(
            "optimizer.probe_scale = {}: must be in (0, 1]",
            config.probe_scale
        ),
    );
    for (key, value) in [
        ("min_feasibility", config.feasibility_floor.early),
        ("late_min_feasibility", config.feasibility_floor.late),
    ] {
        check(
            (0.0..=1.0).contains(&value),
            format!("optimizer.{key} = {value}: must be in [0, 1]"),
        );
    }
    check(
        config.gain_reference_margin.is_finite() && config.gain_reference_margin >= 0.0,
        format!(
            "optimizer.gain_reference_margin = {}: must be a finite number ≥ 0",
            config.gain_reference_margin
        ),
    );
    check(
        config.feasibility_floor.late_share > 0.0 && config.feasibility_floor.late_share <= 1.0,
        format!(
            "optimizer.late_share = {}: must be in (0, 1]",
            config.feasibility_floor.late_share
        ),
    );
    check(
        config.num_generations >= 1,
        "optimizer.num_generations: must be at least 1".into(),
    );
    check(
        config.resample_fraction > 0.0 && config.resample_fraction <= 1.0,
        format!(
            "optimizer.resample_fraction = {}: must be in (0, 1]",
            config.resample_fraction
        ),
    );
    check(
        (0.0..=1.0).contains(&config.nsga2.crossover_probability),
        format!(
            "optimizer.crossover_probability = {}: must be in [0, 1]",
            config.nsga2.crossover_probability
        ),
    );
    if let Some(p) = config.nsga2.mutation_probability {
        check(
            p > 0.0 && p <= 1.0,
            format!("optimizer.mutation_probability = {p}: must be in (0, 1]"),
        );
    }
    for (key, eta) in [
        ("crossover_eta", config.nsga2.crossover_eta),
        ("mutation_eta", config.nsga2.mutation_eta),
    ] {
        check(
            eta.is_finite() && eta >= 0.0,
            format!("optimizer.{key} = {eta}: must be a finite number ≥ 0"),
        );
    }
    if let Some(max) = config.max_evaluations {
        check(
            max >= 1,
            "optimizer.max_evaluations: must be at least 1".into(),
        );
    }
    Some(config)
}

/// `targets`: the problem's numbers of objectives and constraints.
fn resolve_surrogate(
    section: Option<&SurrogateSection>,
    targets: (usize, usize),
    errors: &mut Vec<String>,
) -> Option<SurrogateConfig> {
    use super::neural::resolve_neural;
    match section {
        None => Some(SurrogateConfig::Gp(GpConfig::default())),
        Some(SurrogateSection::None {}) => Some(SurrogateConfig::None),
        Some(SurrogateSection::Mlp(neural)) => resolve_neural("mlp", neural, targets, errors),
        Some(SurrogateSection::Resnet(neural)) => resolve_neural("resnet", neural, targets, errors),
        Some(SurrogateSection::FtTransformer(neural)) => {
            resolve_neural("ft-transformer", neural, targets, errors)
        }
        Some(SurrogateSection::Ensemble(neural)) => {
            resolve_neural("ensemble", neural, targets, errors)
        }
        Some(SurrogateSection::Gp {
            device,
            restarts,
            iterations,
            learning_rate,
            feasibility,
            feasibility_network,
        }) => {
            let mut gp = GpConfig::default();
            if let Some(device) = device {
                gp.device = *device;
            }
            if let Some(restarts) = restarts {
                gp.restarts = *restarts;
            }
            if let Some(iterations) = iterations {
                gp.iterations = *iterations;
            }
            if let Some(rate) = learning_rate {
                gp.learning_rate = *rate;
            }
            if gp.restarts == 0 {
                errors.push("surrogate.restarts: must be at least 1".into());
            }
            if gp.iterations == 0 {
                errors.push("surrogate.iterations: must be at least 1".into());
            }
            if !(gp.learning_rate.is_finite() && gp.learning_rate > 0.0) {
                errors.push(format!(
                    "surrogate.learning_rate = {}: must be positive",
                    gp.learning_rate
                ));
            }
            let feasibility = feasibility.unwrap_or_default();
            if feasibility != GpFeasibility::Mlp && feasibility_network.is_some() {
                errors.push(
                    "surrogate.feasibility_network: only with feasibility = \"mlp\" (the \
                     network it configures)"
                        .into(),
                );
            }
            Some(match feasibility {
                GpFeasibility::None => SurrogateConfig::Gp(gp),
                GpFeasibility::Mlp => {
                    let defaults = NeuralSection::default();
                    let section = feasibility_network.as_ref().unwrap_or(&defaults);
                    let feasibility = super::neural::resolve_feasibility_network(
                        section, gp.device, targets, errors,
                    );
                    SurrogateConfig::GpWithFeasibility { gp, feasibility }
                }
                GpFeasibility::Gp => SurrogateConfig::GpWithGpFeasibility(gp),
            })
        }
    }
}

fn resolve_output(section: Option<&OutputSection>, id: &str) -> OutputConfig {
    OutputConfig {
        file: section
            .and_then(|s| s.file.clone())
            .unwrap_or_else(|| PathBuf::from(format!("{id}.h5"))),
    }
}

impl RunConfig {
    /// The file form of this configuration with every default written out; parsing it again
    /// gives the same `RunConfig`.
    pub fn to_file_config(&self) -> FileConfig {
        let problem = &self.problem;
        let mut section = ProblemSection {
            id: Some(problem.id.clone()),
            reference_point: problem.reference_point.clone(),
            ..ProblemSection::default()
        };
        match &problem.definition {
            ProblemDefinition::Builtin {
                builtin,
                dim,
                n_objectives,
                ..
            } => {
                section.builtin = Some(*builtin);
                section.dim = Some(*dim);
                section.n_objectives = Some(*n_objectives);
            }
            ProblemDefinition::External => {
                section.objectives = Some(problem.schema.objectives.clone());
                section.constraints = Some(problem.schema.constraints.clone());
                let mut table = toml::Table::new();
                for p in problem.space.parameters() {
                    let entry = if p.integer || p.log {
                        ParameterEntry::Detailed(DetailedParameter {
                            bounds: [p.lower, p.upper],
                            integer: p.integer,
                            log: p.log,
                        })
                    } else {
                        ParameterEntry::Bounds([p.lower, p.upper])
                    };
                    if let Ok(value) = toml::Value::try_from(entry) {
                        table.insert(p.name.clone(), value);
                    }
                }
                section.space = Some(table);
            }
        }
        if !problem.constants.is_empty() {
            section.constants = Some(
                problem
                    .constants
                    .iter()
                    .map(|(name, value)| (name.clone(), toml::Value::Float(*value)))
                    .collect(),
            );
        }
        if !problem.features.is_empty() {
            section.features = Some(
                problem
                    .features
                    .iter()
                    .map(|(name, n)| (name.clone(), toml::Value::Integer(*n as i64)))
                    .collect(),
            );
        }
        let o = &self.optimizer;
        let optimizer = OptimizerSection {
            algorithm: Some(o.algorithm),
            n_initial: Some(o.n_initial),
            initial_method: Some(o.initial_method),
            n_epochs: Some(o.n_epochs),
            population_size: Some(o.population_size),
            num_generations: Some(o.num_generations),
            resample_fraction: Some(o.resample_fraction),
            seed: Some(o.seed),
            max_evaluations: o.max_evaluations,
            crossover_probability: Some(o.nsga2.crossover_probability),
            mutation_probability: o.nsga2.mutation_probability,
            crossover_eta: Some(o.nsga2.crossover_eta),
            mutation_eta: Some(o.nsga2.mutation_eta),
            exploration: Some(o.exploration),
            refine: Some(o.refine),
            probe_fraction: Some(o.probe_fraction),
            probe_scale: Some(o.probe_scale),
            min_feasibility: Some(o.feasibility_floor.early),
            late_min_feasibility: Some(o.feasibility_floor.late),
            late_share: Some(o.feasibility_floor.late_share),
            gain_reference_margin: Some(o.gain_reference_margin),
        };
        let surrogate = match &self.surrogate {
            SurrogateConfig::None => SurrogateSection::None {},
            SurrogateConfig::Gp(gp) => gp_section(gp, GpFeasibility::None, None),
            SurrogateConfig::GpWithFeasibility { gp, feasibility } => gp_section(
                gp,
                GpFeasibility::Mlp,
                Some(super::neural::joint_section(feasibility)),
            ),
            SurrogateConfig::GpWithGpFeasibility(gp) => gp_section(gp, GpFeasibility::Gp, None),
            neural => super::neural::neural_section(neural).unwrap_or(SurrogateSection::None {}),
        };
        FileConfig {
            problem: Some(section),
            optimizer: Some(optimizer),
            evaluator: Some(self.evaluator.to_section()),
            surrogate: Some(surrogate),
            output: Some(OutputSection {
                file: Some(self.output.file.clone()),
            }),
        }
    }
}

fn gp_section(
    gp: &GpConfig,
    feasibility: GpFeasibility,
    feasibility_network: Option<NeuralSection>,
) -> SurrogateSection {
    SurrogateSection::Gp {
        device: Some(gp.device),
        restarts: Some(gp.restarts),
        iterations: Some(gp.iterations),
        learning_rate: Some(gp.learning_rate),
        feasibility: Some(feasibility),
        feasibility_network,
    }
}
