//! Fixed-step integration of the two-compartment cell, NEURON-style (Hines & Carnevale 1997,
//! "The NEURON simulation environment", Neural Comput 9:1179–1209): per step of `dt`,
//!
//! 1. the voltages by an implicit (backward-Euler) 2×2 linear solve in which the ohmic
//!    currents enter with their chord conductances at the new voltage, the GHK calcium
//!    currents linearized with their (non-negative) slope, and the coupling implicitly —
//!    unconditionally stable for any conductance, capacitance and coupling in the bounds;
//! 2. the gates by exponential Euler at the new voltage (exact for a frozen voltage);
//! 3. the calcium pools by exponential Euler with the calcium current of the voltage solve.
//!
//! The instantaneous Na activation m∞(V)³ is taken at the old voltage (explicit), as are the
//! gate-dependent conductances; the scheme is first order in time.

use super::channels::{
    l_type_m_infinity, n_type_h_infinity, n_type_m_infinity, potassium_n_infinity, potassium_n_tau,
    sodium_h_infinity, sodium_h_tau, CAL_M_TAU, CAN_H_TAU, CAN_M_TAU,
};
use super::model::{Cell, State, CALCIUM_FACTOR, CALCIUM_REMOVAL};

/// The time step (ms).
pub const TIME_STEP: f64 = 0.025;

/// Advances a [`Cell`]'s [`State`] by one fixed step.
#[derive(Debug, Clone)]
pub struct Integrator<'cell> {
    cell: &'cell Cell,
    time_step: f64,
    /// exp(−dt/τ) of the voltage-independent gates.
    n_type_m_decay: f64,
    n_type_h_decay: f64,
    l_type_m_decay: f64,
    /// exp(−f·k_Ca·dt) of the calcium pools.
    calcium_decay: f64,
    /// Capacitance / dt (S/cm²).
    soma_capacitive: f64,
    dend_capacitive: f64,
}

impl<'cell> Integrator<'cell> {
    pub fn new(cell: &'cell Cell, time_step: f64) -> Self {
        Self {
            cell,
            time_step,
            n_type_m_decay: (-time_step / CAN_M_TAU).exp(),
            n_type_h_decay: (-time_step / CAN_H_TAU).exp(),
            l_type_m_decay: (-time_step / CAL_M_TAU).exp(),
            calcium_decay: (-CALCIUM_FACTOR * CALCIUM_REMOVAL * time_step).exp(),
            soma_capacitive: cell.soma_capacitance / time_step,
            dend_capacitive: cell.dend_capacitance / time_step,
        }
    }

    pub fn cell(&self) -> &Cell {
        self.cell
    }

    /// One step with a constant soma current density `injected` (mA/cm², depolarizing
    /// positive).
    #[inline]
    pub fn step(&self, state: &mut State, injected: f64) {
        let cell = self.cell;
        let soma = cell.soma_membrane(state);
        let dend = cell.dend_membrane(state);
        let (soma_voltage, dend_voltage) = (state.soma_voltage, state.dend_voltage);

        // (C/dt + G + s + gc) V' − gc V'_other = C/dt·V + ΣgE − I_Ca + s·V (+ I_inj)
        let soma_diagonal =
            self.soma_capacitive + soma.conductance + soma.calcium_slope + cell.soma_coupling;
        let dend_diagonal =
            self.dend_capacitive + dend.conductance + dend.calcium_slope + cell.dend_coupling;
        let soma_right = (self.soma_capacitive + soma.calcium_slope) * soma_voltage
            + soma.weighted_reversal
            - soma.calcium
            + injected;
        let dend_right = (self.dend_capacitive + dend.calcium_slope) * dend_voltage
            + dend.weighted_reversal
            - dend.calcium;
        let determinant = soma_diagonal * dend_diagonal - cell.soma_coupling * cell.dend_coupling;
        let new_soma = (soma_right * dend_diagonal + cell.soma_coupling * dend_right) / determinant;
        let new_dend = (dend_right * soma_diagonal + cell.dend_coupling * soma_right) / determinant;

        // Calcium currents as used in the voltage solve.
        let soma_calcium_current = soma.calcium + soma.calcium_slope * (new_soma - soma_voltage);
        let dend_calcium_current = dend.calcium + dend.calcium_slope * (new_dend - dend_voltage);

        state.soma_voltage = new_soma;
        state.dend_voltage = new_dend;

        let dt = self.time_step;
        let relax = |value: f64, target: f64, decay: f64| target + (value - target) * decay;
        state.sodium_h = relax(
            state.sodium_h,
            sodium_h_infinity(new_soma),
            (-dt / sodium_h_tau(new_soma)).exp(),
        );
        state.potassium_n = relax(
            state.potassium_n,
            potassium_n_infinity(new_soma),
            (-dt / potassium_n_tau(new_soma)).exp(),
        );
        state.soma_n_type_m = relax(
            state.soma_n_type_m,
            n_type_m_infinity(new_soma),
            self.n_type_m_decay,
        );
        state.soma_n_type_h = relax(
            state.soma_n_type_h,
            n_type_h_infinity(new_soma),
            self.n_type_h_decay,
        );
        state.dend_n_type_m = relax(
            state.dend_n_type_m,
            n_type_m_infinity(new_dend),
            self.n_type_m_decay,
        );
        state.dend_n_type_h = relax(
            state.dend_n_type_h,
            n_type_h_infinity(new_dend),
            self.n_type_h_decay,
        );
        state.dend_l_type_m = relax(
            state.dend_l_type_m,
            l_type_m_infinity(new_dend),
            self.l_type_m_decay,
        );
        state.soma_calcium = relax(
            state.soma_calcium,
            Cell::calcium_equilibrium(soma_calcium_current, cell.soma_calcium_rest),
            self.calcium_decay,
        );
        state.dend_calcium = relax(
            state.dend_calcium,
            Cell::calcium_equilibrium(dend_calcium_current, cell.dend_calcium_rest),
            self.calcium_decay,
        );
    }

    /// Run `steps` steps with a constant current, writing the soma voltage of the start and of
    /// every step into `trace` (cleared first; `steps + 1` values). Stops early, returning
    /// false, when a voltage becomes non-finite.
    pub fn run_recording(
        &self,
        state: &mut State,
        injected: f64,
        steps: usize,
        trace: &mut Vec<f64>,
    ) -> bool {
        trace.clear();
        trace.reserve(steps + 1);
        trace.push(state.soma_voltage);
        for _ in 0..steps {
            self.step(state, injected);
            if !state.is_finite() {
                return false;
            }
            trace.push(state.soma_voltage);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problems::motoneuron::model::tests as model_tests;

    fn passive(g_pas: f64, cm_ratio: f64, gc: f64) -> Cell {
        Cell::new(model_tests::passive(g_pas, cm_ratio, gc))
    }

    #[test]
    fn a_passive_cell_relaxes_to_the_leak_reversal() {
        let cell = passive(1e-4, 1.0, 1.0);
        let integrator = Integrator::new(&cell, TIME_STEP);
        let mut state = cell.initial_state();
        let mut trace = Vec::new();
        assert!(integrator.run_recording(&mut state, 0.0, 400_000, &mut trace));
        assert_eq!(trace.len(), 400_001);
        // τ = 20 ms: after 10 s the deviation from −62 is ~e^(−500).
        assert!((state.soma_voltage + 62.0).abs() < 1e-9, "{state:?}");
        assert!((state.dend_voltage + 62.0).abs() < 1e-9, "{state:?}");
    }

    #[test]
    fn the_uniform_mode_decays_with_the_membrane_time_constant() {
        // Equal compartments: V(t) + 62 = 2·e^(−t/τ), τ = c_m/g_pas = 20 ms. Backward Euler
        // gives (1 + dt/τ)^(−n) per n steps.
        let cell = passive(1e-4, 1.0, 1.0);
        let integrator = Integrator::new(&cell, TIME_STEP);
        let mut state = cell.initial_state();
        for _ in 0..800 {
            integrator.step(&mut state, 0.0);
        }
        let expected = -62.0 + 2.0 * (1.0 + TIME_STEP / 20.0_f64).powi(-800);
        assert!((state.soma_voltage - expected).abs() < 1e-9);
        let exact = -62.0 + 2.0 * (-1.0_f64).exp();
        assert!((state.soma_voltage - exact).abs() < 1e-3);
    }

    #[test]
    fn stays_finite_with_extreme_conductances() {
        let mut parameters = passive(0.3, 1.0, 2.0).parameters;
        parameters.soma_gmax_na = 0.3;
        parameters.soma_gmax_k = 0.3;
        parameters.soma_gmax_can = 0.3;
        parameters.dend_gmax_cal = 0.3;
        parameters.dend_gmax_can = 0.3;
        parameters.soma_gmax_kca = 0.3;
        parameters.dend_gmax_kca = 0.3;
        let cell = Cell::new(parameters);
        let integrator = Integrator::new(&cell, TIME_STEP);
        let mut state = cell.initial_state();
        let mut trace = Vec::new();
        assert!(integrator.run_recording(&mut state, 5.0, 20_000, &mut trace));
        assert!(trace.iter().all(|v| (-100.0..=100.0).contains(v)));
    }
}
