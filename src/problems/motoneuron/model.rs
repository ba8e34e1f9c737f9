//! The two-compartment Booth–Rinzel–Kiehn motoneuron (Booth, Rinzel & Kiehn 1997, J
//! Neurophysiol 78:3371–3385) with the geometry and parameters of the dmosopt motoneuron
//! benchmark (fitted to the embryonic-stem-cell-derived motoneurons of Bhatt et al. 2004,
//! J Neurosci): its parameters, derived constants, state, membrane currents and the
//! quiescent steady state under a soma holding current.
//!
//! Units: V in mV, t in ms, conductance densities in S/cm², current densities in mA/cm²
//! (outward positive), capacitances as mA/cm² per mV/ms (= µF/cm² · 10⁻³), areas in cm²,
//! concentrations in mM.
//!
//! - Soma: length pp·L, dendrite (1 − pp)·L, both of diameter d (pp = 0.1, L = 120 µm,
//!   d = 5 µm); lateral areas π·d·length.
//! - Capacitance: dendrite `global_cm` = 2 µF/cm², soma `global_cm · cm_ratio`.
//! - Coupling: half-section conductances G_s = 2·(gc/pp)·10⁻³·A_s (S) in series,
//!   G = 1/(1/G_soma + 1/G_dend); the coupling current density of compartment s is
//!   (G/A_s)·(V_s − V_other).
//! - Soma: Na (m∞³h), K (n⁴), N-type Ca (m²h·GHK), KCa, leak; dendrite: N-type Ca, L-type
//!   Ca (m·GHK), KCa, leak. Calcium pools: d[Ca]/dt = f·(max(−α(I_Ca − I_Ca,rest), 0) −
//!   k_Ca([Ca] − 10⁻⁵)), f = 0.004, α = 1, k_Ca = 8 /ms; I_Ca,rest is the calcium current of
//!   the initial state (every compartment at [`INITIAL_VOLTAGE`], gates at steady state,
//!   [Ca] = 10⁻⁵ mM).

use super::channels::{
    kca_activation, l_type_m_infinity, n_type_h_infinity, n_type_m_infinity, potassium_n_infinity,
    potassium_reversal, sodium_h_infinity, sodium_m_infinity, sodium_reversal, GhkDrivingForce,
    L_TYPE_KTF_SCALE, N_TYPE_KTF_SCALE,
};

/// Fraction of the total length that is soma (`pp`).
pub const SOMA_FRACTION: f64 = 0.1;
/// Total length of soma + dendrite (µm, `Ltotal`).
pub const TOTAL_LENGTH: f64 = 120.0;
/// Diameter of both compartments (µm, `global_diam`).
pub const DIAMETER: f64 = 5.0;
/// Specific capacitance of the dendrite (µF/cm², `global_cm`).
pub const GLOBAL_CAPACITANCE: f64 = 2.0;
/// Leak reversal potential (mV, `e_pas`).
pub const LEAK_REVERSAL: f64 = -62.0;
/// Voltage every run starts from (mV, NEURON's `v_init`; equals the holding target).
pub const INITIAL_VOLTAGE: f64 = -60.0;

/// Resting (and initial) intracellular calcium (mM).
pub const CALCIUM_REST: f64 = 1e-5;
/// Calcium pool: conversion factor `f`.
pub const CALCIUM_FACTOR: f64 = 0.004;
/// Calcium pool: current-to-influx factor `α`.
pub const CALCIUM_ALPHA: f64 = 1.0;
/// Calcium pool: removal rate `k_Ca` (/ms).
pub const CALCIUM_REMOVAL: f64 = 8.0;

/// Number of free parameters.
pub const PARAMETER_COUNT: usize = 11;

/// The free parameters, in the benchmark's order.
pub const PARAMETER_NAMES: [&str; PARAMETER_COUNT] = [
    "gc",
    "soma_gmax_Na",
    "soma_gmax_K",
    "soma_gmax_KCa",
    "soma_gmax_CaN",
    "soma_g_pas",
    "dend_gmax_CaL",
    "dend_gmax_CaN",
    "dend_gmax_KCa",
    "dend_g_pas",
    "cm_ratio",
];

/// The free parameters (conductance densities in S/cm², `gc` in mS/cm²).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Parameters {
    pub gc: f64,
    pub soma_gmax_na: f64,
    pub soma_gmax_k: f64,
    pub soma_gmax_kca: f64,
    pub soma_gmax_can: f64,
    pub soma_g_pas: f64,
    pub dend_gmax_cal: f64,
    pub dend_gmax_can: f64,
    pub dend_gmax_kca: f64,
    pub dend_g_pas: f64,
    pub cm_ratio: f64,
}

impl Parameters {
    /// From values in [`PARAMETER_NAMES`] order; None for the wrong length.
    pub fn from_slice(values: &[f64]) -> Option<Self> {
        let &[gc, soma_gmax_na, soma_gmax_k, soma_gmax_kca, soma_gmax_can, soma_g_pas, dend_gmax_cal, dend_gmax_can, dend_gmax_kca, dend_g_pas, cm_ratio] =
            values
        else {
            return None;
        };
        Some(Self {
            gc,
            soma_gmax_na,
            soma_gmax_k,
            soma_gmax_kca,
            soma_gmax_can,
            soma_g_pas,
            dend_gmax_cal,
            dend_gmax_can,
            dend_gmax_kca,
            dend_g_pas,
            cm_ratio,
        })
    }

    /// The values in [`PARAMETER_NAMES`] order.
    pub fn to_array(self) -> [f64; PARAMETER_COUNT] {
        [
            self.gc,
            self.soma_gmax_na,
            self.soma_gmax_k,
            self.soma_gmax_kca,
            self.soma_gmax_can,
            self.soma_g_pas,
            self.dend_gmax_cal,
            self.dend_gmax_can,
            self.dend_gmax_kca,
            self.dend_g_pas,
            self.cm_ratio,
        ]
    }

    /// Every value finite and non-negative, `gc` and `cm_ratio` positive.
    pub fn is_valid(&self) -> bool {
        self.to_array()
            .iter()
            .all(|value| value.is_finite() && *value >= 0.0)
            && self.gc > 0.0
            && self.cm_ratio > 0.0
    }
}

/// The dynamic state of the cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct State {
    pub soma_voltage: f64,
    pub dend_voltage: f64,
    /// Soma Na inactivation `h`.
    pub sodium_h: f64,
    /// Soma delayed-rectifier activation `n`.
    pub potassium_n: f64,
    pub soma_n_type_m: f64,
    pub soma_n_type_h: f64,
    pub dend_n_type_m: f64,
    pub dend_n_type_h: f64,
    pub dend_l_type_m: f64,
    /// Intracellular calcium (mM).
    pub soma_calcium: f64,
    pub dend_calcium: f64,
}

impl State {
    pub fn is_finite(&self) -> bool {
        self.soma_voltage.is_finite() && self.dend_voltage.is_finite()
    }
}

/// The membrane of one compartment at one instant, linearized for the voltage solve: the
/// ionic current is `conductance · V − weighted_reversal + calcium` with the calcium current
/// varying with slope `calcium_slope` around the voltage it was evaluated at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Membrane {
    /// Σ g (ohmic chord conductances, S/cm²).
    pub conductance: f64,
    /// Σ g·E (mA/cm²).
    pub weighted_reversal: f64,
    /// The GHK calcium current (mA/cm²).
    pub calcium: f64,
    /// Its voltage slope (S/cm², ≥ 0).
    pub calcium_slope: f64,
}

impl Membrane {
    /// The total ionic current (mA/cm², outward positive) at the voltage it was built for.
    pub fn ionic_current(&self, voltage: f64) -> f64 {
        self.conductance * voltage - self.weighted_reversal + self.calcium
    }
}

/// The quiescent steady state under a constant soma current.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SteadyState {
    /// Soma current density (mA/cm², depolarizing positive) that holds the soma at the
    /// requested voltage.
    pub current: f64,
    pub dend_voltage: f64,
    pub soma_calcium: f64,
    pub dend_calcium: f64,
}

/// A cell built from [`Parameters`]: the parameters and every derived constant.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub parameters: Parameters,
    /// Membrane areas (cm²).
    pub soma_area: f64,
    pub dend_area: f64,
    /// Capacitances (mA/cm² per mV/ms).
    pub soma_capacitance: f64,
    pub dend_capacitance: f64,
    /// Coupling conductance densities G/A_s (S/cm²).
    pub soma_coupling: f64,
    pub dend_coupling: f64,
    pub sodium_reversal: f64,
    pub potassium_reversal: f64,
    pub n_type: GhkDrivingForce,
    pub l_type: GhkDrivingForce,
    /// Calcium currents of the initial state (mA/cm²), the pools' reference.
    pub soma_calcium_rest: f64,
    pub dend_calcium_rest: f64,
}

/// Membrane area (cm²) of a cylinder of `length` and [`DIAMETER`] (µm).
fn lateral_area(length: f64) -> f64 {
    std::f64::consts::PI * DIAMETER * length * 1e-8
}

impl Cell {
    pub fn new(parameters: Parameters) -> Self {
        let soma_area = lateral_area(SOMA_FRACTION * TOTAL_LENGTH);
        let dend_area = lateral_area((1.0 - SOMA_FRACTION) * TOTAL_LENGTH);
        let half_section = |area: f64| 2.0 * (parameters.gc / SOMA_FRACTION) * 1e-3 * area;
        let coupling = 1.0 / (1.0 / half_section(soma_area) + 1.0 / half_section(dend_area));
        let mut cell = Self {
            parameters,
            soma_area,
            dend_area,
            soma_capacitance: GLOBAL_CAPACITANCE * parameters.cm_ratio * 1e-3,
            dend_capacitance: GLOBAL_CAPACITANCE * 1e-3,
            soma_coupling: coupling / soma_area,
            dend_coupling: coupling / dend_area,
            sodium_reversal: sodium_reversal(),
            potassium_reversal: potassium_reversal(),
            n_type: GhkDrivingForce::new(N_TYPE_KTF_SCALE),
            l_type: GhkDrivingForce::new(L_TYPE_KTF_SCALE),
            soma_calcium_rest: 0.0,
            dend_calcium_rest: 0.0,
        };
        let initial = cell.resting_gates(INITIAL_VOLTAGE, INITIAL_VOLTAGE);
        cell.soma_calcium_rest = cell.soma_membrane(&initial).calcium;
        cell.dend_calcium_rest = cell.dend_membrane(&initial).calcium;
        cell
    }

    /// The soma–dendrite coupling conductance (S).
    #[cfg(test)]
    pub fn coupling_conductance(&self) -> f64 {
        self.soma_coupling * self.soma_area
    }

    /// A current (nA) injected into the soma as a density (mA/cm²).
    pub fn soma_density(&self, nanoamperes: f64) -> f64 {
        nanoamperes * 1e-6 / self.soma_area
    }

    /// The state of a run's start: both compartments at [`INITIAL_VOLTAGE`], gates at steady
    /// state, calcium at rest.
    pub fn initial_state(&self) -> State {
        self.resting_gates(INITIAL_VOLTAGE, INITIAL_VOLTAGE)
    }

    /// Voltages as given, gates at their steady state there, calcium at rest.
    pub fn resting_gates(&self, soma_voltage: f64, dend_voltage: f64) -> State {
        State {
            soma_voltage,
            dend_voltage,
            sodium_h: sodium_h_infinity(soma_voltage),
            potassium_n: potassium_n_infinity(soma_voltage),
            soma_n_type_m: n_type_m_infinity(soma_voltage),
            soma_n_type_h: n_type_h_infinity(soma_voltage),
            dend_n_type_m: n_type_m_infinity(dend_voltage),
            dend_n_type_h: n_type_h_infinity(dend_voltage),
            dend_l_type_m: l_type_m_infinity(dend_voltage),
            soma_calcium: CALCIUM_REST,
            dend_calcium: CALCIUM_REST,
        }
    }

    /// The soma membrane at the state's soma voltage.
    pub fn soma_membrane(&self, state: &State) -> Membrane {
        let parameters = &self.parameters;
        let voltage = state.soma_voltage;
        let activation = sodium_m_infinity(voltage);
        let sodium =
            parameters.soma_gmax_na * activation * activation * activation * state.sodium_h;
        let n_squared = state.potassium_n * state.potassium_n;
        let potassium = parameters.soma_gmax_k * n_squared * n_squared
            + parameters.soma_gmax_kca * kca_activation(state.soma_calcium);
        let leak = parameters.soma_g_pas;
        let (driving, slope) = self.n_type.value_and_slope(voltage, state.soma_calcium);
        let calcium_gate = parameters.soma_gmax_can
            * state.soma_n_type_m
            * state.soma_n_type_m
            * state.soma_n_type_h;
        Membrane {
            conductance: sodium + potassium + leak,
            weighted_reversal: sodium * self.sodium_reversal
                + potassium * self.potassium_reversal
                + leak * LEAK_REVERSAL,
            calcium: calcium_gate * driving,
            calcium_slope: calcium_gate * slope,
        }
    }

    /// The dendrite membrane at the state's dendrite voltage.
    pub fn dend_membrane(&self, state: &State) -> Membrane {
        let parameters = &self.parameters;
        let voltage = state.dend_voltage;
        let potassium = parameters.dend_gmax_kca * kca_activation(state.dend_calcium);
        let leak = parameters.dend_g_pas;
        let (n_driving, n_slope) = self.n_type.value_and_slope(voltage, state.dend_calcium);
        let (l_driving, l_slope) = self.l_type.value_and_slope(voltage, state.dend_calcium);
        let n_gate = parameters.dend_gmax_can
            * state.dend_n_type_m
            * state.dend_n_type_m
            * state.dend_n_type_h;
        let l_gate = parameters.dend_gmax_cal * state.dend_l_type_m;
        Membrane {
            conductance: potassium + leak,
            weighted_reversal: potassium * self.potassium_reversal + leak * LEAK_REVERSAL,
            calcium: n_gate * n_driving + l_gate * l_driving,
            calcium_slope: n_gate * n_slope + l_gate * l_slope,
        }
    }

    /// The calcium concentration the pool settles at for a constant calcium current.
    pub fn calcium_equilibrium(calcium_current: f64, rest_current: f64) -> f64 {
        CALCIUM_REST
            + (-CALCIUM_ALPHA * (calcium_current - rest_current)).max(0.0) / CALCIUM_REMOVAL
    }

    /// The state with voltages as given, gates at steady state and the calcium pools at their
    /// equilibrium for the resulting calcium currents (a few fixed-point passes; the GHK
    /// force depends only weakly on [Ca]ᵢ).
    pub fn steady_state_at(&self, soma_voltage: f64, dend_voltage: f64) -> State {
        let mut state = self.resting_gates(soma_voltage, dend_voltage);
        for _ in 0..4 {
            state.soma_calcium = Self::calcium_equilibrium(
                self.soma_membrane(&state).calcium,
                self.soma_calcium_rest,
            );
            state.dend_calcium = Self::calcium_equilibrium(
                self.dend_membrane(&state).calcium,
                self.dend_calcium_rest,
            );
        }
        state
    }

    /// Net current leaving the dendrite (ionic + coupling, mA/cm²) at steady state.
    fn dend_balance(&self, soma_voltage: f64, dend_voltage: f64) -> f64 {
        let state = self.steady_state_at(soma_voltage, dend_voltage);
        self.dend_membrane(&state).ionic_current(dend_voltage)
            + self.dend_coupling * (dend_voltage - soma_voltage)
    }

    /// The quiescent steady state with the soma clamped at `soma_voltage` by a constant
    /// current: the dendrite settles where its ionic and coupling currents cancel (the root
    /// nearest to the soma voltage in the direction the dendrite drifts from there, as the
    /// dynamics would reach it), and the current is what the soma then needs. None if the
    /// dendrite balance has no root within [−200, 100] mV or the values are not finite.
    pub fn steady_holding(&self, soma_voltage: f64) -> Option<SteadyState> {
        let start = soma_voltage;
        let at_start = self.dend_balance(soma_voltage, start);
        if !at_start.is_finite() {
            return None;
        }
        // Outward net current: the dendrite hyperpolarizes, so search downwards.
        let direction = if at_start > 0.0 { -1.0 } else { 1.0 };
        let (mut near, mut near_value) = (start, at_start);
        let mut far = start;
        let mut bracketed = at_start == 0.0;
        while !bracketed {
            far += direction * 1.0;
            if !(-200.0..=100.0).contains(&far) {
                return None;
            }
            let value = self.dend_balance(soma_voltage, far);
            if !value.is_finite() {
                return None;
            }
            if value == 0.0 || (value > 0.0) != (near_value > 0.0) {
                bracketed = true;
                if value == 0.0 {
                    near = far;
                    near_value = 0.0;
                }
            } else {
                near = far;
                near_value = value;
            }
        }
        // Bisection between `near` and `far` (sign change), to 1e-10 mV.
        let mut dend_voltage = near;
        if near_value != 0.0 {
            let (mut low, mut high) = (near, far);
            let low_positive = near_value > 0.0;
            for _ in 0..60 {
                let middle = 0.5 * (low + high);
                let value = self.dend_balance(soma_voltage, middle);
                if (value > 0.0) == low_positive {
                    low = middle;
                } else {
                    high = middle;
                }
                if (high - low).abs() < 1e-10 {
                    break;
                }
            }
            dend_voltage = 0.5 * (low + high);
        }
        let state = self.steady_state_at(soma_voltage, dend_voltage);
        let current = self.soma_membrane(&state).ionic_current(soma_voltage)
            + self.soma_coupling * (soma_voltage - dend_voltage);
        current.is_finite().then_some(SteadyState {
            current,
            dend_voltage,
            soma_calcium: state.soma_calcium,
            dend_calcium: state.dend_calcium,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn passive(g_pas: f64, cm_ratio: f64, gc: f64) -> Parameters {
        Parameters {
            gc,
            soma_gmax_na: 0.0,
            soma_gmax_k: 0.0,
            soma_gmax_kca: 0.0,
            soma_gmax_can: 0.0,
            soma_g_pas: g_pas,
            dend_gmax_cal: 0.0,
            dend_gmax_can: 0.0,
            dend_gmax_kca: 0.0,
            dend_g_pas: g_pas,
            cm_ratio,
        }
    }

    #[test]
    fn geometry_and_coupling() {
        let cell = Cell::new(passive(1e-4, 3.0, 1.0));
        // Soma 12 µm × 5 µm: π·60 µm² = 1.884956e-6 cm²; dendrite 9 times that.
        assert!((cell.soma_area - 1.884_956e-6).abs() < 1e-12);
        assert!((cell.dend_area / cell.soma_area - 9.0).abs() < 1e-12);
        // G_s = 2·10·1e-3·A_s; series of A_s and 9 A_s: G = 0.02·A_s·9/10.
        let expected = 0.02 * cell.soma_area * 0.9;
        assert!((cell.coupling_conductance() - expected).abs() < 1e-18);
        assert!((cell.soma_coupling - 0.018).abs() < 1e-12);
        assert!((cell.dend_coupling - 0.002).abs() < 1e-12);
        assert!((cell.soma_capacitance - 6e-3).abs() < 1e-15);
        assert!((cell.dend_capacitance - 2e-3).abs() < 1e-15);
        // −0.1 nA on the soma = −1e-7 mA / 1.884956e-6 cm².
        assert!((cell.soma_density(-0.1) + 0.053_051_6).abs() < 1e-7);
    }

    #[test]
    fn passive_steady_holding_is_the_linear_solution() {
        let (g_pas, gc) = (1e-4, 1.0);
        let cell = Cell::new(passive(g_pas, 1.0, gc));
        let steady = cell.steady_holding(-60.0).expect("steady state");
        // Dendrite: g (Vd + 62) + gcd (Vd − Vs) = 0.
        let gcd = cell.dend_coupling;
        let dend = (-62.0 * g_pas - 60.0 * gcd) / (g_pas + gcd);
        assert!((steady.dend_voltage - dend).abs() < 1e-8, "{steady:?}");
        let current = g_pas * 2.0 + cell.soma_coupling * (-60.0 - dend);
        assert!((steady.current - current).abs() < 1e-12);
        assert_eq!(cell.soma_calcium_rest, 0.0);
    }

    #[test]
    fn parameters_round_trip_and_validate() {
        let values: Vec<f64> = (1..=11).map(f64::from).collect();
        let parameters = Parameters::from_slice(&values).expect("11 values");
        assert_eq!(parameters.to_array().to_vec(), values);
        assert!(parameters.is_valid());
        assert!(Parameters::from_slice(&values[..10]).is_none());
        let mut bad = parameters;
        bad.gc = 0.0;
        assert!(!bad.is_valid());
        bad.gc = f64::NAN;
        assert!(!bad.is_valid());
    }
}
