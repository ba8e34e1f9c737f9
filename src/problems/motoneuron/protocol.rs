//! The current-clamp protocol of the motoneuron benchmark (after Bhatt et al. 2004, J
//! Neurosci) and the measurements it yields.
//!
//! 1. Holding current: the constant soma current whose 1 000 ms run (from the initial state,
//!    every compartment at −60 mV) has a mean soma voltage of V_hold = −60 mV. The root finder
//!    starts from the current that holds the quiescent steady state at V_hold (solved without
//!    simulating, see [`Cell::steady_holding`]) and its steady-state slope, then takes secant
//!    steps, bisecting once the root is bracketed, inside ±0.5 mA/cm² of the start; it stops
//!    when the mean is within 10⁻⁴ mV of the target, when a step is below 10⁻⁶ mA/cm², or
//!    after 8 runs, and keeps the best run. The same search at V_rest = −57.4 mV gives the
//!    second holding current (a feature only).
//! 2. Passive: −0.1 nA from 250 ms for 1 000 ms on top of the holding current → input
//!    resistance and time constant.
//! 3. f–I: 20, 30, …, 80 pA from 500 ms for 1 000 ms on top of the holding current → spikes,
//!    rates, ISIs, threshold, amplitude.
//!
//! Every protocol run starts from the initial state with the holding current, so its
//! pre-stimulus segment is the first 250 or 500 ms of the accepted holding run: the runs are
//! continued from states saved during that run (bitwise the same as re-simulating them).
//! Nothing after a stimulus ends enters a measurement, so the original's 3 000 and 2 000 ms
//! runs are stopped when the stimulus ends.

use super::features::{
    detect_spikes, fit_time_constant, input_resistance, step_features, StepFeatures,
    TimeConstantFit, SPIKE_DETECTION_VOLTAGE,
};
use super::integrate::{Integrator, TIME_STEP};
use super::model::{Cell, State};

/// Holding target (mV).
pub const HOLDING_VOLTAGE: f64 = -60.0;
/// Resting target of the second holding current (mV).
pub const RESTING_VOLTAGE: f64 = -57.4;
/// Length of a holding run (ms).
pub const HOLDING_DURATION: f64 = 1000.0;
/// Half-width of the holding-current search interval around its start (mA/cm²).
pub const HOLDING_BRACKET: f64 = 0.5;
/// Step size at which the holding search stops (mA/cm²).
pub const HOLDING_CURRENT_TOLERANCE: f64 = 1e-6;
/// Mean-voltage error at which the holding search stops (mV).
pub const HOLDING_VOLTAGE_TOLERANCE: f64 = 1e-4;
/// Most holding runs per search.
pub const MAXIMUM_HOLDING_RUNS: usize = 8;
/// The initial-voltage error reported when the cell fires in the holding run (mV).
pub const FIRING_INITIAL_V_ERROR: f64 = 1000.0;

/// Passive step: amplitude (nA), onset and duration (ms).
pub const PASSIVE_CURRENT: f64 = -0.1;
pub const PASSIVE_ONSET: f64 = 250.0;
pub const PASSIVE_DURATION: f64 = 1000.0;

/// f–I steps: amplitudes (nA), onset and duration (ms).
pub const STEP_CURRENTS: [f64; 7] = [0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08];
pub const STEP_ONSET: f64 = 500.0;
pub const STEP_DURATION: f64 = 1000.0;

/// Why a simulation produced no measurements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimulationFailure {
    /// A parameter is not finite, negative, or `gc`/`cm_ratio` is not positive.
    InvalidParameters,
    /// A voltage became non-finite.
    NonFinite,
}

/// The outcome of a holding-current search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Holding {
    /// The accepted current (mA/cm²).
    pub current: f64,
    /// Mean soma voltage of its 1 000 ms run (mV).
    pub mean_voltage: f64,
    /// Spikes in that run.
    pub spike_count: usize,
    /// Spikes before the f–I onset (500 ms).
    pub pre_stimulus_spike_count: usize,
    /// Holding runs simulated by the search.
    pub runs: usize,
    /// State at the passive onset and at the f–I onset.
    state_at_passive_onset: State,
    state_at_step_onset: State,
}

/// Everything the protocol measures.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurements {
    pub holding: Holding,
    /// Holding current at V_rest (mA/cm²).
    pub resting_current: f64,
    /// Mean voltage of the holding run − V_hold, or [`FIRING_INITIAL_V_ERROR`] when that run
    /// has spikes (mV).
    pub initial_v_error: f64,
    /// Input resistance (MΩ).
    pub input_resistance: f64,
    /// The time-constant fit (None when the response has no downward deflection).
    pub time_constant_fit: Option<TimeConstantFit>,
    /// τ (ms) of a valid fit, NaN otherwise.
    pub time_constant: f64,
    /// One per f–I step.
    pub steps: Vec<StepFeatures>,
}

fn steps_for(duration: f64) -> usize {
    (duration / TIME_STEP).round() as usize
}

/// One holding run of [`HOLDING_DURATION`] with a constant current.
fn holding_run(
    integrator: &Integrator,
    current: f64,
    trace: &mut Vec<f64>,
) -> Result<(f64, Holding), SimulationFailure> {
    let cell = integrator.cell();
    let mut state = cell.initial_state();
    let total = steps_for(HOLDING_DURATION);
    let passive_onset = steps_for(PASSIVE_ONSET);
    let step_onset = steps_for(STEP_ONSET);
    let mut state_at_passive_onset = state;
    let mut state_at_step_onset = state;
    trace.clear();
    trace.push(state.soma_voltage);
    for step in 1..=total {
        integrator.step(&mut state, current);
        if !state.is_finite() {
            return Err(SimulationFailure::NonFinite);
        }
        trace.push(state.soma_voltage);
        if step == passive_onset {
            state_at_passive_onset = state;
        }
        if step == step_onset {
            state_at_step_onset = state;
        }
    }
    let mean_voltage = trace.iter().sum::<f64>() / trace.len() as f64;
    let spikes = detect_spikes(trace, SPIKE_DETECTION_VOLTAGE);
    let pre_stimulus_spike_count = spikes
        .iter()
        .filter(|spike| spike.index < step_onset)
        .count();
    Ok((
        mean_voltage,
        Holding {
            current,
            mean_voltage,
            spike_count: spikes.len(),
            pre_stimulus_spike_count,
            runs: 0,
            state_at_passive_onset,
            state_at_step_onset,
        },
    ))
}

/// Search the holding current for a mean soma voltage of `target`.
pub fn search_holding(
    integrator: &Integrator,
    target: f64,
    trace: &mut Vec<f64>,
) -> Result<Holding, SimulationFailure> {
    let cell = integrator.cell();
    let parameters = &cell.parameters;
    // Input conductance of the passive cell, a fallback for the steady-state slope.
    let passive_slope = parameters.soma_g_pas
        + cell.soma_coupling * parameters.dend_g_pas / (parameters.dend_g_pas + cell.dend_coupling);
    let (start, slope) = match cell.steady_holding(target) {
        Some(steady) => {
            let step = 0.05;
            let slope = cell
                .steady_holding(target + step)
                .map(|above| (above.current - steady.current) / step)
                .filter(|slope| slope.is_finite() && *slope > 0.0)
                .unwrap_or(passive_slope);
            (steady.current, slope)
        }
        None => (
            passive_slope * (target - super::model::LEAK_REVERSAL),
            passive_slope,
        ),
    };
    let (low_limit, high_limit) = (start - HOLDING_BRACKET, start + HOLDING_BRACKET);
    // (current, error) of every run; the bracket of a sign change once one is seen.
    let mut best: Option<(f64, Holding)> = None;
    let mut previous: Option<(f64, f64)> = None;
    let mut below: Option<(f64, f64)> = None;
    let mut above: Option<(f64, f64)> = None;
    let mut current = start;
    let mut runs = 0;
    while runs < MAXIMUM_HOLDING_RUNS {
        let (mean, holding) = holding_run(integrator, current, trace)?;
        runs += 1;
        let error = mean - target;
        if best.is_none_or(|(best_error, _)| error.abs() < best_error.abs()) {
            best = Some((error, holding));
        }
        if error.abs() <= HOLDING_VOLTAGE_TOLERANCE {
            break;
        }
        // The mean rises with the current: error < 0 means the current is too low.
        if error < 0.0 {
            below = Some((current, error));
        } else {
            above = Some((current, error));
        }
        let mut next = match previous {
            Some((previous_current, previous_error)) if previous_error != error => {
                current - error * (current - previous_current) / (error - previous_error)
            }
            _ => current - error * slope,
        };
        if let (Some((low, _)), Some((high, _))) = (below, above) {
            let (lower, upper) = (low.min(high), low.max(high));
            if !(next > lower && next < upper && next.is_finite()) {
                next = 0.5 * (low + high);
            }
        }
        let next = if next.is_finite() {
            next.clamp(low_limit, high_limit)
        } else {
            start
        };
        if (next - current).abs() <= HOLDING_CURRENT_TOLERANCE {
            break;
        }
        previous = Some((current, error));
        current = next;
    }
    let (_, mut holding) = best.ok_or(SimulationFailure::NonFinite)?;
    holding.runs = runs;
    Ok(holding)
}

/// Run the whole protocol on `cell`.
pub fn measure(cell: &Cell) -> Result<Measurements, SimulationFailure> {
    if !cell.parameters.is_valid() {
        return Err(SimulationFailure::InvalidParameters);
    }
    let integrator = Integrator::new(cell, TIME_STEP);
    let mut trace = Vec::with_capacity(steps_for(HOLDING_DURATION) + 1);
    let holding = search_holding(&integrator, HOLDING_VOLTAGE, &mut trace)?;
    let resting = search_holding(&integrator, RESTING_VOLTAGE, &mut trace)?;
    let initial_v_error = if holding.spike_count > 0 {
        FIRING_INITIAL_V_ERROR
    } else {
        holding.mean_voltage - HOLDING_VOLTAGE
    };

    let mut state = holding.state_at_passive_onset;
    let passive_current = holding.current + cell.soma_density(PASSIVE_CURRENT);
    if !integrator.run_recording(
        &mut state,
        passive_current,
        steps_for(PASSIVE_DURATION),
        &mut trace,
    ) {
        return Err(SimulationFailure::NonFinite);
    }
    let input_resistance = input_resistance(&trace, PASSIVE_CURRENT);
    let time_constant_fit = fit_time_constant(&trace, TIME_STEP);
    let time_constant = time_constant_fit
        .filter(TimeConstantFit::is_valid)
        .map_or(f64::NAN, |fit| fit.tau);

    let mut steps = Vec::with_capacity(STEP_CURRENTS.len());
    for amplitude in STEP_CURRENTS {
        let mut state = holding.state_at_step_onset;
        let current = holding.current + cell.soma_density(amplitude);
        if !integrator.run_recording(&mut state, current, steps_for(STEP_DURATION), &mut trace) {
            return Err(SimulationFailure::NonFinite);
        }
        steps.push(step_features(&trace, TIME_STEP, STEP_DURATION));
    }
    Ok(Measurements {
        holding,
        resting_current: resting.current,
        initial_v_error,
        input_resistance,
        time_constant_fit,
        time_constant,
        steps,
    })
}
