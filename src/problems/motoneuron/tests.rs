//! Whole-model tests of the motoneuron benchmark: the passive cell against its analytic
//! input resistance and time constant, a regularly firing cell, every constraint both
//! satisfied and violated, failures, determinism, and the two builtin variants.

use super::model::{Cell, Parameters};
use super::*;

/// A published fit of this model (the `BoothRinzelKiehn-MN` parameters of the livn package's
/// reduced calcium soma–dendrite model), inside the normal bounds: it fires regularly at
/// every f–I step and satisfies all eight constraints here.
const REGULAR_SPIKING: [f64; PARAMETER_COUNT] = [
    1.108122,
    0.113_997_03,
    0.104_588_18,
    0.005_655_824,
    0.003_234_942_4,
    1e-5,
    1.131_631_4e-5,
    1e-5,
    0.001_914_264_9,
    6.165_833e-5,
    1.130_389_7,
];

/// The one point of 2 048 scrambled-Sobol' points in the normal bounds (the bench's sweep,
/// seed 1) that satisfies all eight constraints: faster firing (5 → 34 Hz), R_in 247 MΩ.
const SOBOL_FEASIBLE: [f64; PARAMETER_COUNT] = [
    0.10771926641464234,
    0.24874501228332518,
    0.0606086266040802,
    0.0006276029586791993,
    0.004366518296003341,
    0.0006886121952533723,
    0.0003611847162246704,
    0.0008362479531764985,
    0.0025153893947601315,
    0.0007452359557151795,
    21.03168749809265,
];

/// From a random sweep of the wide bounds: fires in the holding state (one spike).
const FIRES_WHILE_HOLDING: [f64; PARAMETER_COUNT] = [
    1.6127794450619852,
    0.12360549242582922,
    0.20645555052010245,
    0.22385268025665497,
    0.01855859694996609,
    0.01341923840452587,
    0.28519963954059646,
    0.2143601950034894,
    0.1199502613974738,
    0.043791985626947416,
    2.3367736230944827,
];

fn passive(soma_g_pas: f64, dend_g_pas: f64, cm_ratio: f64, gc: f64) -> [f64; PARAMETER_COUNT] {
    Parameters {
        dend_g_pas,
        ..super::model::tests::passive(soma_g_pas, cm_ratio, gc)
    }
    .to_array()
}

fn feature<'a>(result: &'a MotoneuronResult, name: &str) -> &'a FeatureValue {
    &result
        .features
        .iter()
        .find(|(feature, _)| feature == name)
        .unwrap_or_else(|| panic!("no feature {name}"))
        .1
}

fn number(result: &MotoneuronResult, name: &str) -> f64 {
    match feature(result, name) {
        FeatureValue::Number(value) => *value,
        FeatureValue::Array(_) => panic!("{name} is an array"),
    }
}

fn array(result: &MotoneuronResult, name: &str) -> Vec<f64> {
    match feature(result, name) {
        FeatureValue::Array(values) => values.clone(),
        FeatureValue::Number(_) => panic!("{name} is a number"),
    }
}

/// Two passive compartments: input resistance 1/(g_s A_s + 1/(1/G + 1/(g_d A_d))) and the
/// slow time constant −1/λ of the 2×2 system
/// `C_s V̇_s = −(g_s + G/A_s) V_s + (G/A_s) V_d`, `C_d V̇_d = (G/A_d) V_s − (g_d + G/A_d) V_d`.
/// With g_s = g_d = g and C_s = C_d = C the slow mode is the uniform one, τ = C/g = c_m/g_pas.
fn analytic_passive(parameters: &[f64; PARAMETER_COUNT]) -> (f64, f64) {
    let cell = Cell::new(Parameters::from_slice(parameters).expect("11 values"));
    let (soma_g, dend_g) = (parameters[5], parameters[9]);
    let coupling = cell.coupling_conductance();
    let conductance =
        soma_g * cell.soma_area + 1.0 / (1.0 / coupling + 1.0 / (dend_g * cell.dend_area));
    let resistance = 1e-6 / conductance;
    let a = -(soma_g + cell.soma_coupling) / cell.soma_capacitance;
    let b = cell.soma_coupling / cell.soma_capacitance;
    let c = cell.dend_coupling / cell.dend_capacitance;
    let d = -(dend_g + cell.dend_coupling) / cell.dend_capacitance;
    let slow = 0.5 * (a + d) + (0.25 * (a - d) * (a - d) + b * c).sqrt();
    (resistance, -1.0 / slow)
}

#[test]
fn a_passive_cell_matches_the_analytic_input_resistance_and_time_constant() {
    // (soma g_pas, dend g_pas, cm_ratio, gc, relative tolerance of τ). τ is compared with
    // the slow mode as backward Euler resolves it: e^(−dt/τ) becomes 1/(1 + dt/τ) per step,
    // i.e. an effective τ' = dt/ln(1 + dt/τ) (20.0125 ms for τ = 20 ms).
    let table = [
        // Equal compartments, strong coupling: τ = c_m/g_pas = 2e-3/1e-4 = 20 ms; the fast
        // mode (τ₁ = C/(g + G/A_s + G/A_d) = 0.05 ms) is gone before the 10 % point.
        (1e-4, 1e-4, 1.0, 2.0, 1e-5),
        (2e-4, 2e-4, 1.0, 2.0, 1e-5),
        // Weaker coupling: the fast mode (τ₁ = 0.2 ms) still shapes the first milliseconds
        // of the fitted window (measured −0.8 %).
        (2e-4, 2e-4, 1.0, 0.5, 0.01),
        // Unequal: a leaky, slow soma on a tight dendrite (measured −0.3 %).
        (1e-3, 5e-5, 5.0, 0.5, 0.01),
    ];
    let backward_euler = |tau: f64| integrate::TIME_STEP / (1.0 + integrate::TIME_STEP / tau).ln();
    for (soma_g, dend_g, cm_ratio, gc, tolerance) in table {
        let parameters = passive(soma_g, dend_g, cm_ratio, gc);
        let (resistance, tau) = analytic_passive(&parameters);
        let tau = backward_euler(tau);
        let result = simulate(&parameters);
        let (measured_resistance, measured_tau) = (number(&result, "rn"), number(&result, "tau"));
        assert!(
            (measured_resistance / resistance - 1.0).abs() < 1e-6,
            "{parameters:?}: Rin {measured_resistance} vs {resistance}"
        );
        assert!(
            (measured_tau / tau - 1.0).abs() < tolerance,
            "{parameters:?}: τ {measured_tau} vs {tau}"
        );
        // Held at −60 mV without firing.
        assert!(number(&result, "initial_v_error").abs() < 1e-3);
        assert!(array(&result, "fI").iter().all(|rate| *rate == 0.0));
    }
    let (_, equal_tau) = analytic_passive(&passive(1e-4, 1e-4, 1.0, 2.0));
    assert!((equal_tau - 20.0).abs() < 1e-9, "{equal_tau}");
}

#[test]
fn the_sobol_feasible_point_fires_regularly_and_is_feasible() {
    let result = simulate(&SOBOL_FEASIBLE);
    assert_eq!(result.constraints, vec![1.0; 8], "{result:?}");
    let rates = array(&result, "fI");
    assert!(rates.windows(2).all(|pair| pair[1] > pair[0]), "{rates:?}");
    for ratio in array(&result, "ISI_ratio") {
        assert!((1.0..1.3).contains(&ratio), "{ratio}");
    }
    let rn = number(&result, "rn");
    assert!((200.0..300.0).contains(&rn), "{rn}");
}

#[test]
fn a_regularly_spiking_cell_has_a_monotonic_fi_curve_and_is_feasible() {
    let result = simulate(&REGULAR_SPIKING);
    assert_eq!(result.constraints, vec![1.0; 8], "{result:?}");
    let rates = array(&result, "fI");
    assert!(rates.windows(2).all(|pair| pair[1] > pair[0]), "{rates:?}");
    assert!(rates[0] >= 3.0 && rates[6] <= 25.0, "{rates:?}");
    // Regular: ISIs vary by < 20 % within a step and adapt mildly.
    let (means, deviations) = (array(&result, "ISI_mean"), array(&result, "ISI_std"));
    for (mean, deviation) in means.iter().zip(&deviations) {
        assert!(deviation / mean < 0.2, "{mean} ± {deviation}");
    }
    for ratio in array(&result, "ISI_ratio") {
        assert!((1.0..1.3).contains(&ratio), "{ratio}");
    }
    // Spikes: threshold around −35 mV, amplitude around 60 mV.
    for threshold in array(&result, "threshold") {
        assert!((-45.0..-25.0).contains(&threshold), "{threshold}");
    }
    for amplitude in array(&result, "spike_amplitude") {
        assert!((50.0..70.0).contains(&amplitude), "{amplitude}");
    }
    // Near the targets: R_in inside its range, the other objectives small.
    assert_eq!(result.objectives[0], 0.0, "{:?}", result.objectives);
    assert!(result.objectives.iter().all(|value| *value < 10.0));
    let (rn, tau) = (number(&result, "rn"), number(&result, "tau"));
    assert!((540.0..=598.0).contains(&rn) && (15.0..25.0).contains(&tau));
    // Depolarizing holding current; more of it at −57.4 mV than at −60 mV.
    let (hold, rest) = (
        number(&result, "ic_constant_hold"),
        number(&result, "ic_constant_rest"),
    );
    assert!(hold > 0.0 && rest > hold, "{hold} {rest}");
}

#[test]
fn every_constraint_is_both_satisfied_and_violated() {
    const S: f64 = 1.0;
    const V: f64 = -1.0;
    // monotonic_fI, rn, tau, amplitude, first ISI, adaptation, pre_spk, initial_v
    let table: [(&str, [f64; PARAMETER_COUNT], [f64; 8]); 4] = [
        ("regular spiking", REGULAR_SPIKING, [S; 8]),
        // Passive: no spikes at all.
        (
            "passive",
            passive(1e-4, 1e-4, 1.0, 1.0),
            [V, S, S, V, V, V, S, S],
        ),
        // Barely leaky: R_in = 5 300 MΩ, τ = 2e-3/1e-6 = 2 000 ms.
        (
            "leak-free",
            passive(1e-6, 1e-6, 1.0, 1.0),
            [V, V, V, V, V, V, S, S],
        ),
        (
            "fires while holding",
            FIRES_WHILE_HOLDING,
            [V, S, V, V, V, V, V, V],
        ),
    ];
    for (name, parameters, expected) in &table {
        let result = simulate(parameters);
        assert_eq!(&result.constraints[..], &expected[..], "{name}: {result:?}");
    }
    for (index, name) in CONSTRAINT_NAMES.iter().enumerate() {
        let values: Vec<f64> = table.iter().map(|row| row.2[index]).collect();
        assert!(values.contains(&S) && values.contains(&V), "{name}");
    }
    // The firing cell's initial-voltage error is the firing marker.
    let firing = simulate(&FIRES_WHILE_HOLDING);
    assert_eq!(
        number(&firing, "initial_v_error"),
        protocol::FIRING_INITIAL_V_ERROR
    );
    assert!(number(&firing, "pre_spk_count") >= 1.0);
}

#[test]
fn objectives_of_a_silent_cell_follow_the_definitions() {
    let result = simulate(&passive(1e-4, 1e-4, 1.0, 1.0));
    let rn = number(&result, "rn");
    let tau = number(&result, "tau");
    let expected_rn = objectives::range_distance(rn, 540.0, 598.0).powi(2);
    let expected_tau = objectives::range_distance(tau, 16.308, 19.375).powi(2);
    let expected_rates = objectives::RATE_TARGETS
        .iter()
        .map(|target| target * target)
        .sum::<f64>()
        / 7.0;
    let expected = [expected_rn, expected_tau, expected_rates, 3600.0];
    for (actual, expected) in result.objectives.iter().zip(expected) {
        assert!(
            (actual - expected).abs() <= 1e-9 * expected.max(1.0),
            "{actual} vs {expected}"
        );
    }
    // No spikes: ISIs, thresholds and amplitudes undefined, counts 0.
    assert!(array(&result, "ISI_first")
        .iter()
        .all(|value| value.is_nan()));
    assert!(array(&result, "threshold")
        .iter()
        .all(|value| value.is_nan()));
    assert!(array(&result, "ISI_count")
        .iter()
        .all(|value| *value == 0.0));
}

#[test]
fn failures_give_nan_objectives_and_violated_constraints() {
    let mut bad = REGULAR_SPIKING;
    bad[0] = f64::NAN;
    let mut negative = REGULAR_SPIKING;
    negative[3] = -1.0;
    for parameters in [&bad[..], &negative[..], &REGULAR_SPIKING[..10], &[]] {
        let result = simulate(parameters);
        assert!(result.objectives.iter().all(|value| value.is_nan()));
        assert_eq!(result.constraints, vec![-1.0; 8]);
        let names: Vec<&str> = result
            .features
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(names, FEATURE_NAMES);
    }
    let problem = Motoneuron::new(MotoneuronVariant::Normal).expect("motoneuron");
    let evaluation = problem.evaluate(&REGULAR_SPIKING[..5]);
    assert!(evaluation.objectives.iter().all(|value| value.is_nan()));
    assert_eq!(evaluation.constraints.len(), 8);
}

#[test]
fn simulations_are_deterministic() {
    let bits = |result: &MotoneuronResult| -> Vec<u64> {
        let mut bits: Vec<u64> = result
            .objectives
            .iter()
            .chain(&result.constraints)
            .map(|value| value.to_bits())
            .collect();
        for (_, value) in &result.features {
            match value {
                FeatureValue::Number(number) => bits.push(number.to_bits()),
                FeatureValue::Array(values) => bits.extend(values.iter().map(|v| v.to_bits())),
            }
        }
        bits
    };
    let first = simulate(&REGULAR_SPIKING);
    let second = simulate(&REGULAR_SPIKING);
    assert_eq!(bits(&first), bits(&second));
    let problem = Motoneuron::new(MotoneuronVariant::Normal).expect("motoneuron");
    let evaluation = problem.evaluate(&REGULAR_SPIKING);
    assert_eq!(evaluation.objectives, first.objectives);
    assert_eq!(evaluation.constraints, first.constraints);
}

#[test]
fn the_variants_have_the_specified_names_bounds_and_outputs() {
    let normal = Motoneuron::new(MotoneuronVariant::Normal).expect("normal");
    let wide = Motoneuron::new(MotoneuronVariant::Wide).expect("wide");
    assert_eq!(
        normal.space().names(),
        PARAMETER_NAMES.map(String::from).to_vec()
    );
    assert_eq!(wide.space().names(), normal.space().names());
    assert_eq!(
        normal.schema().objectives,
        ["rn_error", "tau_error", "fI_error", "spike_amplitude_error"]
    );
    assert_eq!(
        normal.schema().constraints,
        CONSTRAINT_NAMES.map(String::from).to_vec()
    );
    for (index, (parameter, wide_parameter)) in normal
        .space()
        .parameters()
        .iter()
        .zip(wide.space().parameters())
        .enumerate()
    {
        assert_eq!((parameter.lower, parameter.upper), NORMAL_BOUNDS[index]);
        let expected = if index == 0 || index == PARAMETER_COUNT - 1 {
            NORMAL_BOUNDS[index]
        } else {
            WIDE_CONDUCTANCE_BOUNDS
        };
        assert_eq!((wide_parameter.lower, wide_parameter.upper), expected);
    }
    assert_eq!(NORMAL_BOUNDS[0], (0.1, 2.0));
    assert_eq!(NORMAL_BOUNDS[10], (1.0, 40.0));
    for (index, value) in REGULAR_SPIKING.iter().enumerate() {
        let (lower, upper) = NORMAL_BOUNDS[index];
        assert!(
            (lower..=upper).contains(value),
            "{}",
            PARAMETER_NAMES[index]
        );
    }
    assert!(passive_reference_run().is_finite());
}
