//! Objectives and constraints of the motoneuron benchmark: targets from the recordings of
//! Bhatt et al. 2004 (J Neurosci) of motoneurons derived from mouse embryonic stem cells.
//!
//! With d(x; lo, hi) = 0 inside [lo, hi] and the distance to the nearer bound outside:
//!
//! | objective | value |
//! |---|---|
//! | `rn_error` | d(R_in; 540, 598)² (MΩ²) |
//! | `tau_error` | d(τ; 16.308, 19.375)² (ms²); an undefined τ counts as 0 |
//! | `fI_error` | mean over the 7 steps of (rate − target rate)² (Hz²) |
//! | `spike_amplitude_error` | mean over the 7 steps of d(mean amplitude; 60, 80)² (mV²); a step without spikes has amplitude 0 (error 3 600) |
//!
//! Constraints are +1 (satisfied) or −1 (violated):
//!
//! | constraint | satisfied when |
//! |---|---|
//! | `monotonic_fI` | rates strictly increase over steps 1…6 |
//! | `rn_constr` | 0 < R_in < 1 000 MΩ |
//! | `tau_constr` | τ is defined and 0 < τ < 1 000 ms |
//! | `spike_amplitude_constr` | every step has spikes with a determined threshold, so the amplitude objective measures real spikes |
//! | `first_ISI_constr` | every step has ≥ 2 spikes |
//! | `ISI_adaptation_constr` | every step has ≥ 3 spikes |
//! | `pre_spk_count` | no spike before the f–I stimulus in the holding state |
//! | `initial_v_constr` | the holding run does not fire and its mean is within 1 mV of −60 mV |

use super::protocol::Measurements;

/// Input resistance target (MΩ).
pub const INPUT_RESISTANCE_TARGET: (f64, f64) = (540.0, 598.0);
/// Membrane time constant target (ms).
pub const TIME_CONSTANT_TARGET: (f64, f64) = (16.308, 19.375);
/// Mean firing rates at 20, 30, …, 80 pA (Hz).
pub const RATE_TARGETS: [f64; 7] = [3.88, 9.09, 11.75, 14.29, 15.96, 16.58, 18.25];
/// Spike amplitude target (mV).
pub const AMPLITUDE_TARGET: (f64, f64) = (60.0, 80.0);
/// ISI adaptation (last/first ISI) target: recorded as a feature, not an objective.
pub const ADAPTATION_TARGET: (f64, f64) = (1.2, 1.6);
/// Upper limits of the input-resistance and time-constant constraints.
pub const INPUT_RESISTANCE_LIMIT: f64 = 1000.0;
pub const TIME_CONSTANT_LIMIT: f64 = 1000.0;
/// Largest |mean − V_hold| of a satisfied `initial_v_constr` (mV).
pub const INITIAL_V_LIMIT: f64 = 1.0;
/// Steps that must have strictly increasing rates (all but the last).
pub const MONOTONIC_STEPS: usize = 6;

pub const OBJECTIVE_NAMES: [&str; 4] =
    ["rn_error", "tau_error", "fI_error", "spike_amplitude_error"];

pub const CONSTRAINT_NAMES: [&str; 8] = [
    "monotonic_fI",
    "rn_constr",
    "tau_constr",
    "spike_amplitude_constr",
    "first_ISI_constr",
    "ISI_adaptation_constr",
    "pre_spk_count",
    "initial_v_constr",
];

/// 0 inside [lower, upper], else the distance to the nearer bound (NaN stays NaN).
pub fn range_distance(value: f64, lower: f64, upper: f64) -> f64 {
    if value < lower {
        lower - value
    } else if value > upper {
        value - upper
    } else if value.is_nan() {
        f64::NAN
    } else {
        0.0
    }
}

/// The four objectives, in [`OBJECTIVE_NAMES`] order.
pub fn objectives(measurements: &Measurements) -> [f64; 4] {
    let (rn_low, rn_high) = INPUT_RESISTANCE_TARGET;
    let (tau_low, tau_high) = TIME_CONSTANT_TARGET;
    let (amplitude_low, amplitude_high) = AMPLITUDE_TARGET;
    let tau = if measurements.time_constant.is_finite() {
        measurements.time_constant
    } else {
        0.0
    };
    let steps = &measurements.steps;
    let count = steps.len().max(1) as f64;
    let rate_error = steps
        .iter()
        .zip(RATE_TARGETS)
        .map(|(step, target)| (step.rate - target).powi(2))
        .sum::<f64>()
        / count;
    let amplitude_error = steps
        .iter()
        .map(|step| {
            let amplitude = if step.spike_count == 0 {
                0.0
            } else {
                step.mean_amplitude
            };
            range_distance(amplitude, amplitude_low, amplitude_high).powi(2)
        })
        .sum::<f64>()
        / count;
    [
        range_distance(measurements.input_resistance, rn_low, rn_high).powi(2),
        range_distance(tau, tau_low, tau_high).powi(2),
        rate_error,
        amplitude_error,
    ]
}

fn flag(satisfied: bool) -> f64 {
    if satisfied {
        1.0
    } else {
        -1.0
    }
}

/// The eight constraints (±1), in [`CONSTRAINT_NAMES`] order.
pub fn constraints(measurements: &Measurements) -> [f64; 8] {
    let steps = &measurements.steps;
    let monotonic = steps.len() >= MONOTONIC_STEPS
        && steps[..MONOTONIC_STEPS]
            .windows(2)
            .all(|pair| pair[1].rate > pair[0].rate);
    let rin = measurements.input_resistance;
    let tau = measurements.time_constant;
    let all_steps = |test: &dyn Fn(&super::features::StepFeatures) -> bool| {
        !steps.is_empty() && steps.iter().all(test)
    };
    let holding = &measurements.holding;
    [
        flag(monotonic),
        flag(rin > 0.0 && rin < INPUT_RESISTANCE_LIMIT),
        flag(tau > 0.0 && tau < TIME_CONSTANT_LIMIT),
        flag(all_steps(&|step| {
            step.spike_count > 0 && step.mean_amplitude.is_finite()
        })),
        flag(all_steps(&|step| step.spike_count >= 2)),
        flag(all_steps(&|step| step.spike_count >= 3)),
        flag(holding.pre_stimulus_spike_count == 0),
        flag(measurements.initial_v_error.abs() < INITIAL_V_LIMIT),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_distance_table() {
        let table = [
            (5.0, 0.0),
            (540.0, 0.0),
            (560.0, 0.0),
            (598.0, 0.0),
            (600.0, 2.0),
            (530.0, 10.0),
        ];
        for (value, expected) in table {
            let lower = if value == 5.0 { 0.0 } else { 540.0 };
            let upper = if value == 5.0 { 10.0 } else { 598.0 };
            assert_eq!(range_distance(value, lower, upper), expected, "{value}");
        }
        assert!(range_distance(f64::NAN, 0.0, 1.0).is_nan());
    }
}
