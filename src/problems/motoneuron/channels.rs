//! Channel kinetics of the Booth–Rinzel–Kiehn motoneuron (Booth, Rinzel & Kiehn 1997,
//! "Compartmental model of vertebrate motoneurons for Ca²⁺-dependent spiking and plateau
//! potentials under pharmacological treatment", J Neurophysiol 78:3371–3385): steady states
//! and time constants of every gate, the Ca²⁺-dependent activation of the KCa current, the
//! Goldman–Hodgkin–Katz (GHK) calcium driving force, and the Nernst reversal potentials.
//!
//! Units: V in mV, t in ms, concentrations in mM. Every function is defined for all finite
//! voltages (exponentials may overflow to ∞, which the Boltzmann forms turn into 0 or 1).

/// Temperature of the model (°C).
pub const CELSIUS: f64 = 36.0;

/// Gas constant (J/(mol·K)).
const GAS_CONSTANT: f64 = 8.314_462_618;
/// Faraday constant (C/mol).
const FARADAY: f64 = 96_485.332_12;

/// Intra- and extracellular Na⁺ (mM).
const SODIUM_INSIDE: f64 = 15.0;
const SODIUM_OUTSIDE: f64 = 145.0;
/// Intra- and extracellular K⁺ (mM).
const POTASSIUM_INSIDE: f64 = 145.0;
const POTASSIUM_OUTSIDE: f64 = 5.0;

/// Extracellular Ca²⁺ (mM).
pub const CALCIUM_OUTSIDE: f64 = 2.0;
/// Half-activation [Ca²⁺]ᵢ of the KCa current (mM).
pub const KCA_HALF_ACTIVATION: f64 = 0.0005;

/// Time constants of the voltage-independent calcium gates (ms).
pub const CAN_M_TAU: f64 = 4.0;
pub const CAN_H_TAU: f64 = 40.0;
pub const CAL_M_TAU: f64 = 60.0;

/// RT/F at [`CELSIUS`] (mV).
pub fn thermal_voltage() -> f64 {
    1e3 * GAS_CONSTANT * (CELSIUS + 273.15) / FARADAY
}

/// Nernst potential (mV) of a monovalent cation.
pub fn nernst(inside: f64, outside: f64) -> f64 {
    thermal_voltage() * (outside / inside).ln()
}

/// E_Na ≈ +60.4 mV (Na⁺ 15 mM inside, 145 mM outside, 36 °C).
pub fn sodium_reversal() -> f64 {
    nernst(SODIUM_INSIDE, SODIUM_OUTSIDE)
}

/// E_K ≈ −89.7 mV (K⁺ 145 mM inside, 5 mM outside, 36 °C).
pub fn potassium_reversal() -> f64 {
    nernst(POTASSIUM_INSIDE, POTASSIUM_OUTSIDE)
}

/// Na activation, instantaneous: m∞ = 1/(1 + exp(−(V + 35)/7.8)).
pub fn sodium_m_infinity(voltage: f64) -> f64 {
    1.0 / (1.0 + (-(voltage + 35.0) / 7.8).exp())
}

/// Na inactivation: h∞ = 1/(1 + exp((V + 55)/7)).
pub fn sodium_h_infinity(voltage: f64) -> f64 {
    1.0 / (1.0 + ((voltage + 55.0) / 7.0).exp())
}

/// Na inactivation time constant: τ_h = 30/(exp((V + 50)/15) + exp(−(V + 50)/16)) ms.
pub fn sodium_h_tau(voltage: f64) -> f64 {
    30.0 / (((voltage + 50.0) / 15.0).exp() + (-(voltage + 50.0) / 16.0).exp())
}

/// Delayed-rectifier K activation: n∞ = 1/(1 + exp(−(V + 28)/15)).
pub fn potassium_n_infinity(voltage: f64) -> f64 {
    1.0 / (1.0 + (-(voltage + 28.0) / 15.0).exp())
}

/// Delayed-rectifier time constant: τ_n = 7/(exp((V + 40)/40) + exp(−(V + 40)/50)) ms.
pub fn potassium_n_tau(voltage: f64) -> f64 {
    7.0 / (((voltage + 40.0) / 40.0).exp() + (-(voltage + 40.0) / 50.0).exp())
}

/// N-type Ca activation: m∞ = 1/(1 + exp(−(V + 30)/5)) (τ_m = 4 ms).
pub fn n_type_m_infinity(voltage: f64) -> f64 {
    1.0 / (1.0 + (-(voltage + 30.0) / 5.0).exp())
}

/// N-type Ca inactivation: h∞ = 1/(1 + exp((V + 45)/5)) (τ_h = 40 ms).
pub fn n_type_h_infinity(voltage: f64) -> f64 {
    1.0 / (1.0 + ((voltage + 45.0) / 5.0).exp())
}

/// L-type Ca activation: m∞ = 1/(1 + exp(−(V + 40)/7)) (τ_m = 60 ms).
pub fn l_type_m_infinity(voltage: f64) -> f64 {
    1.0 / (1.0 + (-(voltage + 40.0) / 7.0).exp())
}

/// Fraction of KCa conductance open at [Ca²⁺]ᵢ: [Ca]/([Ca] + 0.0005 mM).
pub fn kca_activation(calcium: f64) -> f64 {
    calcium / (calcium + KCA_HALF_ACTIVATION)
}

/// The GHK calcium driving force of one channel type (NEURON's `ghk(v, cai, cao)` with a
/// channel-specific `KTF`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GhkDrivingForce {
    /// f = KTF/2 (mV), KTF = (scale/293.15)·(T + 273.15).
    half_ktf: f64,
}

/// KTF scale of the N-type channel (the original's 36/293.15).
pub const N_TYPE_KTF_SCALE: f64 = 36.0;
/// KTF scale of the L-type channel (the original's 25/293.15).
pub const L_TYPE_KTF_SCALE: f64 = 25.0;

impl GhkDrivingForce {
    /// KTF = (scale/293.15)·(36 + 273.15) mV.
    pub fn new(ktf_scale: f64) -> Self {
        Self {
            half_ktf: ktf_scale / 293.15 * (CELSIUS + 273.15) / 2.0,
        }
    }

    #[cfg(test)]
    pub fn half_ktf(&self) -> f64 {
        self.half_ktf
    }

    /// GHK(V) = −f·(1 − ([Ca]ᵢ/[Ca]ₒ)·e^ν)·ν/(e^ν − 1), ν = V/f (mV; negative = inward), and
    /// its slope dGHK/dV (dimensionless, ≥ 0: the GHK current increases with V). For
    /// |ν| < 1e-4 the factor ν/(e^ν − 1) is replaced by 1 − ν/2.
    pub fn value_and_slope(&self, voltage: f64, calcium_inside: f64) -> (f64, f64) {
        let f = self.half_ktf;
        let nu = voltage / f;
        let ratio = calcium_inside / CALCIUM_OUTSIDE;
        let exp_nu = nu.exp();
        let (efun, efun_slope) = if nu.abs() < 1e-4 {
            (1.0 - nu / 2.0, -0.5)
        } else {
            let denominator = exp_nu - 1.0;
            let efun = nu / denominator;
            (
                efun,
                (denominator - nu * exp_nu) / (denominator * denominator),
            )
        };
        let blocking = 1.0 - ratio * exp_nu;
        let value = -f * blocking * efun;
        // d/dν of −f·(1 − r e^ν)·E(ν), then divided by f for d/dV.
        let slope = -(blocking * efun_slope) + ratio * exp_nu * efun;
        (
            value,
            if slope.is_nan() {
                slope
            } else {
                slope.max(0.0)
            },
        )
    }

    /// GHK(V) only.
    #[cfg(test)]
    pub fn value(&self, voltage: f64, calcium_inside: f64) -> f64 {
        self.value_and_slope(voltage, calcium_inside).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64, tolerance: f64) -> bool {
        (actual - expected).abs() <= tolerance * expected.abs().max(1e-12)
    }

    /// Values worked out by hand from the formulas (exp evaluated to 6+ digits).
    #[test]
    fn gate_steady_states_and_time_constants_at_chosen_voltages() {
        type Gate = fn(f64) -> f64;
        let cases: [(&str, Gate, f64, f64); 16] = [
            // At the half-activation voltage every Boltzmann gate is ½.
            ("m_Na(-35)", sodium_m_infinity, -35.0, 0.5),
            ("h_Na(-55)", sodium_h_infinity, -55.0, 0.5),
            ("n_K(-28)", potassium_n_infinity, -28.0, 0.5),
            ("m_CaN(-30)", n_type_m_infinity, -30.0, 0.5),
            ("h_CaN(-45)", n_type_h_infinity, -45.0, 0.5),
            ("m_CaL(-40)", l_type_m_infinity, -40.0, 0.5),
            // m∞(−60) = 1/(1 + e^(25/7.8)) = 1/(1 + 24.658661) = 0.0389732
            ("m_Na(-60)", sodium_m_infinity, -60.0, 0.038_973_19),
            // h∞(−60) = 1/(1 + e^(−5/7)) = 1/(1 + 0.489542) = 0.671347
            ("h_Na(-60)", sodium_h_infinity, -60.0, 0.671_347_45),
            // n∞(−60) = 1/(1 + e^(32/15)) = 1/(1 + 8.442963) = 0.105899
            ("n_K(-60)", potassium_n_infinity, -60.0, 0.105_898_96),
            // m_CaN∞(−60) = 1/(1 + e^6) = 0.00247262
            ("m_CaN(-60)", n_type_m_infinity, -60.0, 0.002_472_623),
            // h_CaN∞(−60) = 1/(1 + e^(−3)) = 0.952574
            ("h_CaN(-60)", n_type_h_infinity, -60.0, 0.952_574_13),
            // m_CaL∞(−60) = 1/(1 + e^(20/7)) = 1/(1 + 17.411708) = 0.0543133
            ("m_CaL(-60)", l_type_m_infinity, -60.0, 0.054_313_27),
            // τ_h(−50) = 30/(1 + 1) = 15; τ_n(−40) = 7/2 = 3.5
            ("tau_h(-50)", sodium_h_tau, -50.0, 15.0),
            ("tau_n(-40)", potassium_n_tau, -40.0, 3.5),
            // τ_h(−20) = 30/(e^2 + e^(−1.875)) = 30/(7.389056 + 0.153355) = 3.977508
            ("tau_h(-20)", sodium_h_tau, -20.0, 3.977_508),
            // τ_n(0) = 7/(e^1 + e^(−0.8)) = 7/(2.718282 + 0.449329) = 2.209867
            ("tau_n(0)", potassium_n_tau, 0.0, 2.209_867),
        ];
        for (name, gate, voltage, expected) in cases {
            let actual = gate(voltage);
            assert!(
                close(actual, expected, 2e-6),
                "{name}: {actual} vs {expected}"
            );
        }
    }

    #[test]
    fn gates_saturate_without_nan_at_extreme_voltages() {
        for voltage in [-1e4, -500.0, 500.0, 1e4] {
            for value in [
                sodium_m_infinity(voltage),
                sodium_h_infinity(voltage),
                potassium_n_infinity(voltage),
                n_type_m_infinity(voltage),
                n_type_h_infinity(voltage),
                l_type_m_infinity(voltage),
                sodium_h_tau(voltage),
                potassium_n_tau(voltage),
            ] {
                assert!((0.0..=30.0).contains(&value), "{voltage}: {value}");
            }
        }
    }

    #[test]
    fn reversal_potentials_match_the_specification() {
        assert!(
            (sodium_reversal() - 60.44).abs() < 0.01,
            "{}",
            sodium_reversal()
        );
        assert!(
            (potassium_reversal() + 89.71).abs() < 0.01,
            "{}",
            potassium_reversal()
        );
        assert!(close(kca_activation(0.0005), 0.5, 1e-12));
        assert!(close(kca_activation(1e-5), 1e-5 / 5.1e-4, 1e-12));
    }

    #[test]
    fn ghk_driving_force_values_and_slope() {
        let n_type = GhkDrivingForce::new(N_TYPE_KTF_SCALE);
        // f = 36/293.15 · 309.15 / 2 = 18.98243 mV.
        assert!(close(n_type.half_ktf(), 18.982_432, 1e-6));
        // At V = 0 (ν = 0): GHK = −f·(1 − r).
        let ratio = 1e-5 / CALCIUM_OUTSIDE;
        assert!(close(
            n_type.value(0.0, 1e-5),
            -18.982_432 * (1.0 - ratio),
            1e-6
        ));
        // At V = −60: ν = −3.160817, ν/(e^ν − 1) = 3.160817/(1 − 0.0423911) = 3.300739;
        // GHK = −18.982432·(1 − 5e-6·0.0423911)·3.300739 = −62.6560.
        assert!(close(n_type.value(-60.0, 1e-5), -62.656_0, 1e-5));
        // Far below zero GHK ≈ V (slope → 1); with no inside calcium GHK → 0 far above zero.
        let (value, slope) = n_type.value_and_slope(-400.0, 0.0);
        assert!(close(value, -400.0, 1e-6) && close(slope, 1.0, 1e-6));
        assert!(n_type.value(400.0, 0.0).abs() < 1e-6);
        // The slope agrees with a centred difference, also across the |ν| < 1e-4 branch.
        for voltage in [-80.0, -30.0, -1e-4, 0.0, 1e-3, 20.0, 60.0] {
            for calcium in [1e-5, 1e-3] {
                let step = 1e-3;
                let numeric = (n_type.value(voltage + step, calcium)
                    - n_type.value(voltage - step, calcium))
                    / (2.0 * step);
                let (_, slope) = n_type.value_and_slope(voltage, calcium);
                assert!(
                    (slope - numeric).abs() < 1e-5,
                    "V = {voltage}: {slope} vs {numeric}"
                );
                assert!(slope > 0.0);
            }
        }
        let l_type = GhkDrivingForce::new(L_TYPE_KTF_SCALE);
        assert!(close(
            l_type.half_ktf(),
            n_type.half_ktf() * 25.0 / 36.0,
            1e-12
        ));
    }
}
