//! The motoneuron benchmark: fit a two-compartment Booth–Rinzel–Kiehn motoneuron (Booth,
//! Rinzel & Kiehn 1997, "Compartmental model of vertebrate motoneurons for Ca²⁺-dependent
//! spiking and plateau potentials under pharmacological treatment", J Neurophysiol
//! 78:3371–3385) to current-clamp recordings of motoneurons derived from mouse embryonic stem
//! cells (Bhatt et al. 2004, J Neurosci), the flagship single-cell problem of the dmosopt
//! paper. 11 parameters, 4 objectives that are 0 inside the target ranges, 8 ±1 constraints
//! that random sampling rarely satisfies jointly. Pure Rust, no NEURON; see
//! `docs/motoneuron.md` for the differences from the NEURON original.
//!
//! - `channels.rs`: gate kinetics, GHK calcium driving force, reversal potentials;
//! - `model.rs`: parameters, geometry, currents, calcium pools, quiescent steady state;
//! - `integrate.rs`: fixed-step (0.025 ms) implicit voltage / exponential-Euler gate stepping;
//! - `protocol.rs`: holding-current search, passive step, seven f–I steps;
//! - `features.rs`: spikes, threshold, amplitude, ISIs, input resistance, time constant;
//! - `objectives.rs`: targets, objectives, constraints.
//!
//! Two builtins share the model: `motoneuron` (the paper's bounds) and `motoneuron-wide`
//! (every conductance density — the nine `gmax`/`g_pas` parameters — in [1e-5, 0.3] S/cm²;
//! `gc` and `cm_ratio` unchanged).
//!
//! [`simulate`] is the richer entry point for a protocol-speaking simulator: objectives,
//! constraints and the stored features of one evaluation.

mod channels;
mod features;
mod integrate;
mod model;
mod objectives;
mod protocol;

use super::{invalid_evaluation, space_error, Problem, ProblemError};
use crate::problem::{Evaluation, ProblemSchema};
use crate::space::{Parameter, ParameterSpace};

pub use model::{PARAMETER_COUNT, PARAMETER_NAMES};
pub use objectives::{
    ADAPTATION_TARGET, AMPLITUDE_TARGET, CONSTRAINT_NAMES, INPUT_RESISTANCE_TARGET,
    OBJECTIVE_NAMES, RATE_TARGETS, TIME_CONSTANT_TARGET,
};

pub(crate) const MOTONEURON_NAME: &str = "motoneuron";
pub(crate) const MOTONEURON_WIDE_NAME: &str = "motoneuron-wide";

/// The paper's bounds, in [`PARAMETER_NAMES`] order (`gc` in mS/cm², conductance densities in
/// S/cm², `cm_ratio` dimensionless).
pub const NORMAL_BOUNDS: [(f64, f64); PARAMETER_COUNT] = [
    (0.1, 2.0),
    (0.1, 0.3),
    (0.01, 0.3),
    (1e-4, 0.01),
    (1e-5, 0.03),
    (1e-5, 0.01),
    (1e-5, 1e-3),
    (1e-5, 1e-3),
    (1e-4, 5e-3),
    (1e-5, 0.01),
    (1.0, 40.0),
];

/// The wide variant's bounds of every conductance density (S/cm²).
pub const WIDE_CONDUCTANCE_BOUNDS: (f64, f64) = (1e-5, 0.3);

/// The raw-objective hypervolume reference point of both variants: an input resistance
/// 100 MΩ outside its range (10⁴ MΩ²), a time constant 10 ms outside (100 ms²), a
/// root-mean-square rate error of 10 Hz (100 Hz²), and no spikes at all (3 600 mV²).
pub const REFERENCE_POINT: [f64; 4] = [1e4, 100.0, 100.0, 3600.0];

/// Which bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MotoneuronVariant {
    /// The paper's bounds ([`NORMAL_BOUNDS`]).
    Normal,
    /// Conductance densities widened to [`WIDE_CONDUCTANCE_BOUNDS`].
    Wide,
}

impl MotoneuronVariant {
    pub fn name(self) -> &'static str {
        match self {
            MotoneuronVariant::Normal => MOTONEURON_NAME,
            MotoneuronVariant::Wide => MOTONEURON_WIDE_NAME,
        }
    }

    /// The bounds of every parameter, in [`PARAMETER_NAMES`] order.
    pub fn bounds(self) -> [(f64, f64); PARAMETER_COUNT] {
        let mut bounds = NORMAL_BOUNDS;
        if self == MotoneuronVariant::Wide {
            // Everything but gc (first) and cm_ratio (last) is a conductance density.
            for bound in &mut bounds[1..PARAMETER_COUNT - 1] {
                *bound = WIDE_CONDUCTANCE_BOUNDS;
            }
        }
        bounds
    }
}

/// The motoneuron benchmark as an in-process [`Problem`].
#[derive(Debug, Clone)]
pub struct Motoneuron {
    variant: MotoneuronVariant,
    space: ParameterSpace,
    schema: ProblemSchema,
}

impl Motoneuron {
    pub fn new(variant: MotoneuronVariant) -> Result<Self, ProblemError> {
        let parameters = PARAMETER_NAMES
            .iter()
            .zip(variant.bounds())
            .map(|(name, (lower, upper))| Parameter::continuous(*name, lower, upper))
            .collect();
        let space = ParameterSpace::new(parameters).map_err(space_error(variant.name()))?;
        let schema = ProblemSchema {
            objectives: OBJECTIVE_NAMES
                .iter()
                .map(|name| name.to_string())
                .collect(),
            constraints: CONSTRAINT_NAMES
                .iter()
                .map(|name| name.to_string())
                .collect(),
        };
        Ok(Self {
            variant,
            space,
            schema,
        })
    }

    pub fn variant(&self) -> MotoneuronVariant {
        self.variant
    }
}

impl Problem for Motoneuron {
    fn space(&self) -> &ParameterSpace {
        &self.space
    }

    fn schema(&self) -> &ProblemSchema {
        &self.schema
    }

    fn evaluate(&self, x: &[f64]) -> Evaluation {
        if x.len() != PARAMETER_COUNT {
            return invalid_evaluation(&self.schema);
        }
        let result = simulate(x);
        Evaluation {
            objectives: result.objectives,
            constraints: result.constraints,
        }
    }

    fn evaluate_with_features(&self, x: &[f64]) -> (Evaluation, Option<serde_json::Value>) {
        if x.len() != PARAMETER_COUNT {
            return (invalid_evaluation(&self.schema), None);
        }
        let result = simulate(x);
        let features = features_json(&result.features);
        (
            Evaluation {
                objectives: result.objectives,
                constraints: result.constraints,
            },
            Some(features),
        )
    }
}

/// Features as a JSON object: numbers, per-step arrays; NaN becomes `null`.
pub fn features_json(features: &[(String, FeatureValue)]) -> serde_json::Value {
    let number = |v: f64| {
        serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number)
    };
    features
        .iter()
        .map(|(name, value)| {
            let value = match value {
                FeatureValue::Number(v) => number(*v),
                FeatureValue::Array(values) => {
                    serde_json::Value::Array(values.iter().map(|v| number(*v)).collect())
                }
            };
            (name.clone(), value)
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// One stored feature value.
#[derive(Debug, Clone, PartialEq)]
pub enum FeatureValue {
    Number(f64),
    /// One value per f–I step.
    Array(Vec<f64>),
}

/// Everything one evaluation produces.
#[derive(Debug, Clone, PartialEq)]
pub struct MotoneuronResult {
    /// In [`OBJECTIVE_NAMES`] order; NaN when the simulation failed.
    pub objectives: Vec<f64>,
    /// In [`CONSTRAINT_NAMES`] order, +1 satisfied / −1 violated; all −1 on failure.
    pub constraints: Vec<f64>,
    /// Always the names of [`FEATURE_NAMES`] in that order (values NaN on failure):
    /// `ic_constant_hold`, `ic_constant_rest` (holding currents at −60 and −57.4 mV,
    /// mA/cm²), `initial_v_error` (mV), `rn` (MΩ), `tau` (ms, NaN when the fit is invalid),
    /// `pre_spk_count`, then per f–I step: `fI` (Hz), `ISI_first`, `ISI_last`, `ISI_ratio`,
    /// `ISI_mean`, `ISI_std` (ms; ratio = last/first), `ISI_count`, `threshold` (mV),
    /// `spike_amplitude` (mean peak − threshold, mV).
    pub features: Vec<(String, FeatureValue)>,
}

/// The feature names of [`MotoneuronResult::features`], in order.
pub const FEATURE_NAMES: [&str; 15] = [
    "ic_constant_hold",
    "ic_constant_rest",
    "initial_v_error",
    "rn",
    "tau",
    "pre_spk_count",
    "fI",
    "ISI_first",
    "ISI_last",
    "ISI_ratio",
    "ISI_mean",
    "ISI_std",
    "ISI_count",
    "threshold",
    "spike_amplitude",
];

/// [`FEATURE_NAMES`] with their lengths: 1 for the scalars, one value per f–I step for the
/// rest.
pub fn feature_shape() -> Vec<(String, usize)> {
    FEATURE_NAMES
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let n = if index < SCALAR_FEATURES {
                1
            } else {
                protocol::STEP_CURRENTS.len()
            };
            ((*name).to_owned(), n)
        })
        .collect()
}

/// How many of [`FEATURE_NAMES`] are numbers; the rest are per-step arrays.
const SCALAR_FEATURES: usize = 6;

/// Simulate the protocol for `parameters` (in [`PARAMETER_NAMES`] order, real units). A
/// point of the wrong length, invalid parameters or a non-finite voltage give NaN
/// objectives, every constraint −1 and NaN features.
pub fn simulate(parameters: &[f64]) -> MotoneuronResult {
    let measured = model::Parameters::from_slice(parameters)
        .ok_or(protocol::SimulationFailure::InvalidParameters)
        .and_then(|parameters| protocol::measure(&model::Cell::new(parameters)));
    match measured {
        Ok(measurements) => MotoneuronResult {
            objectives: objectives::objectives(&measurements).to_vec(),
            constraints: objectives::constraints(&measurements).to_vec(),
            features: features_of(&measurements),
        },
        Err(_) => failed_result(),
    }
}

fn failed_result() -> MotoneuronResult {
    let steps = protocol::STEP_CURRENTS.len();
    MotoneuronResult {
        objectives: vec![f64::NAN; OBJECTIVE_NAMES.len()],
        constraints: vec![-1.0; CONSTRAINT_NAMES.len()],
        features: FEATURE_NAMES
            .iter()
            .enumerate()
            .map(|(index, name)| {
                let value = if index < SCALAR_FEATURES {
                    FeatureValue::Number(f64::NAN)
                } else {
                    FeatureValue::Array(vec![f64::NAN; steps])
                };
                (name.to_string(), value)
            })
            .collect(),
    }
}

fn features_of(measurements: &protocol::Measurements) -> Vec<(String, FeatureValue)> {
    let steps = &measurements.steps;
    let per_step = |value: fn(&features::StepFeatures) -> f64| {
        FeatureValue::Array(steps.iter().map(value).collect())
    };
    let values = [
        FeatureValue::Number(measurements.holding.current),
        FeatureValue::Number(measurements.resting_current),
        FeatureValue::Number(measurements.initial_v_error),
        FeatureValue::Number(measurements.input_resistance),
        FeatureValue::Number(measurements.time_constant),
        FeatureValue::Number(measurements.holding.pre_stimulus_spike_count as f64),
        per_step(|step| step.rate),
        per_step(|step| step.isi.first),
        per_step(|step| step.isi.last),
        per_step(|step| step.isi.ratio),
        per_step(|step| step.isi.mean),
        per_step(|step| step.isi.std),
        per_step(|step| step.isi.count as f64),
        per_step(|step| step.threshold),
        per_step(|step| step.mean_amplitude),
    ];
    FEATURE_NAMES
        .iter()
        .zip(values)
        .map(|(name, value)| (name.to_string(), value))
        .collect()
}

/// A cost yardstick: 1 000 ms of a passive-only cell (every active conductance 0, g_pas =
/// 10⁻⁴ S/cm²) with the same integrator; returns the final soma voltage.
pub fn passive_reference_run() -> f64 {
    let cell = model::Cell::new(model::Parameters {
        gc: 1.0,
        soma_gmax_na: 0.0,
        soma_gmax_k: 0.0,
        soma_gmax_kca: 0.0,
        soma_gmax_can: 0.0,
        soma_g_pas: 1e-4,
        dend_gmax_cal: 0.0,
        dend_gmax_can: 0.0,
        dend_gmax_kca: 0.0,
        dend_g_pas: 1e-4,
        cm_ratio: 1.0,
    });
    let integrator = integrate::Integrator::new(&cell, integrate::TIME_STEP);
    let mut state = cell.initial_state();
    let steps = (protocol::HOLDING_DURATION / integrate::TIME_STEP).round() as usize;
    for _ in 0..steps {
        integrator.step(&mut state, 0.0);
    }
    state.soma_voltage
}

#[cfg(test)]
mod tests;
