//! Space-filling designs on the unit cube `[0, 1)^dim`, used for the initial samples of an
//! optimization.
//!
//! * [`SamplingMethod::Slh`] — symmetric Latin hypercube (Ye, Li & Sudjianto 2000,
//!   "Algorithmic construction of optimal symmetric Latin hypercube designs", JSPI 90),
//!   dmosopt's default (module `slh`).
//! * [`SamplingMethod::Lhs`] — Latin hypercube with jitter inside the strata (McKay, Beckman &
//!   Conover 1979, "A comparison of three methods for selecting values of input variables in
//!   the analysis of output from a computer code", Technometrics 21(2)) (module `lhs`).
//! * [`SamplingMethod::Sobol`] — Owen-scrambled Sobol' sequence (Sobol' 1967; Owen 1995;
//!   hash-based scrambling of Burley 2020, "Practical hash-based Owen scrambling", JCGT 9(4),
//!   via the `sobol_burley` crate) (module `sobol`).
//! * [`SamplingMethod::Mc`] — plain Monte Carlo, independent uniform draws
//!   (module `monte_carlo`).
//!
//! Every method draws all of its randomness from the RNG it is given, so a design is
//! reproducible from the RNG state.

mod lhs;
mod monte_carlo;
mod slh;
mod sobol;

#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

/// A design for the initial samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SamplingMethod {
    /// Symmetric Latin hypercube (dmosopt's default).
    Slh,
    /// Latin hypercube, jittered within the strata.
    Lhs,
    /// Owen-scrambled Sobol' sequence.
    Sobol,
    /// Monte Carlo: independent uniform points.
    Mc,
}

impl SamplingMethod {
    /// Every method, in declaration order.
    pub const ALL: [SamplingMethod; 4] = [
        SamplingMethod::Slh,
        SamplingMethod::Lhs,
        SamplingMethod::Sobol,
        SamplingMethod::Mc,
    ];

    /// The name used in configuration files (the serde name): `slh`, `lhs`, `sobol`, `mc`.
    pub fn name(self) -> &'static str {
        match self {
            SamplingMethod::Slh => "slh",
            SamplingMethod::Lhs => "lhs",
            SamplingMethod::Sobol => "sobol",
            SamplingMethod::Mc => "mc",
        }
    }
}

impl fmt::Display for SamplingMethod {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// The error of parsing an unknown sampling-method name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown sampling method `{0}` (expected one of: slh, lhs, sobol, mc)")]
pub struct UnknownSamplingMethod(pub String);

impl FromStr for SamplingMethod {
    type Err = UnknownSamplingMethod;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        SamplingMethod::ALL
            .into_iter()
            .find(|method| method.name() == text)
            .ok_or_else(|| UnknownSamplingMethod(text.to_string()))
    }
}

/// `n` points in `[0,1]^dim`, reproducible for a given RNG state.
///
/// Every coordinate lies in `[0, 1)`. `n == 0` gives no points; `dim == 0` gives `n` empty
/// points.
pub fn sample_unit<R: rand::Rng + ?Sized>(
    method: SamplingMethod,
    n: usize,
    dim: usize,
    rng: &mut R,
) -> Vec<Vec<f64>> {
    match method {
        SamplingMethod::Slh => slh::sample(n, dim, rng),
        SamplingMethod::Lhs => lhs::sample(n, dim, rng),
        SamplingMethod::Sobol => sobol::sample(n, dim, rng),
        SamplingMethod::Mc => monte_carlo::sample(n, dim, rng),
    }
}

/// The point at relative position `offset ∈ [0, 1)` inside stratum `stratum` of `count`, kept
/// in `[stratum / count, (stratum + 1) / count)` despite rounding (so also below 1).
fn within_stratum(stratum: usize, count: usize, offset: f64) -> f64 {
    let lower = stratum as f64 / count as f64;
    let upper = (stratum + 1) as f64 / count as f64;
    let value = (stratum as f64 + offset) / count as f64;
    if value < upper {
        value.max(lower)
    } else {
        // The largest float below `upper` (positive, so one step down in its bit pattern).
        f64::from_bits(upper.to_bits() - 1).max(lower)
    }
}
