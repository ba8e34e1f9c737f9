//! `delay`: a **benchmark tool** for the evaluation machinery (local pool, MPI dispatch), not an
//! optimization test problem. Its objectives are ZDT1's (cheap, two objectives, scalable `dim`,
//! default 2), and every evaluation first sleeps for
//! `delay_ms + u · delay_jitter_ms` milliseconds, where `u ∈ [0, 1)` is a hash of the point —
//! so the sleep looks random across points but the same point always takes the same time and a
//! run stays reproducible. Both values come from `[problem.constants]` (default 0: an instant
//! evaluation):
//!
//! ```toml
//! [problem]
//! builtin = "delay"
//! dim = 6
//! [problem.constants]
//! delay_ms = 0            # fixed part
//! delay_jitter_ms = 200   # uniform extra part: sleeps of 0–200 ms
//! ```

use std::time::Duration;

use super::{Problem, ProblemError, Zdt, ZdtKind};
use crate::problem::{Evaluation, ProblemSchema};
use crate::space::ParameterSpace;

pub(crate) const DELAY_NAME: &str = "delay";
/// Constant with the fixed part of the sleep (milliseconds).
pub const DELAY_CONSTANT: &str = "delay_ms";
/// Constant with the width of the uniform extra part (milliseconds).
pub const JITTER_CONSTANT: &str = "delay_jitter_ms";

/// How long an evaluation of [`Delay`] sleeps.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DelayTiming {
    pub base: Duration,
    pub jitter: Duration,
}

impl DelayTiming {
    /// Read `delay_ms` and `delay_jitter_ms` from `[problem.constants]` (missing = 0; other
    /// constants are ignored).
    pub fn from_constants(constants: &[(String, f64)]) -> Result<Self, ProblemError> {
        let mut timing = DelayTiming::default();
        for (name, value) in constants {
            let slot = match name.as_str() {
                DELAY_CONSTANT => &mut timing.base,
                JITTER_CONSTANT => &mut timing.jitter,
                _ => continue,
            };
            if !value.is_finite() || *value < 0.0 {
                return Err(ProblemError::InvalidDelay {
                    constant: name.clone(),
                    value: *value,
                });
            }
            *slot = Duration::from_secs_f64(value / 1000.0);
        }
        Ok(timing)
    }

    /// The sleep for point `x`.
    pub fn for_point(&self, x: &[f64]) -> Duration {
        self.base + self.jitter.mul_f64(unit_hash(x))
    }
}

/// ZDT1 objectives behind a sleep.
#[derive(Debug, Clone)]
pub struct Delay {
    zdt: Zdt,
    timing: DelayTiming,
}

impl Delay {
    pub const DEFAULT_DIM: usize = 2;

    pub fn new(dim: usize, timing: DelayTiming) -> Result<Self, ProblemError> {
        let zdt = Zdt::new(ZdtKind::Zdt1, dim).map_err(|error| match error {
            ProblemError::DimensionTooSmall { dim, minimum, .. } => {
                ProblemError::DimensionTooSmall {
                    problem: DELAY_NAME,
                    dim,
                    minimum,
                }
            }
            other => other,
        })?;
        Ok(Self { zdt, timing })
    }

    pub fn timing(&self) -> DelayTiming {
        self.timing
    }
}

impl Problem for Delay {
    fn space(&self) -> &ParameterSpace {
        self.zdt.space()
    }

    fn schema(&self) -> &ProblemSchema {
        self.zdt.schema()
    }

    fn evaluate(&self, x: &[f64]) -> Evaluation {
        let sleep = self.timing.for_point(x);
        if !sleep.is_zero() {
            std::thread::sleep(sleep);
        }
        self.zdt.evaluate(x)
    }

    fn pareto_front(&self, n: usize) -> Option<Vec<Vec<f64>>> {
        self.zdt.pareto_front(n)
    }
}

/// A number in `[0, 1)` that looks random across points (SplitMix64 over the values' bits).
fn unit_hash(x: &[f64]) -> f64 {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for value in x {
        state ^= value.to_bits();
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        state = z ^ (z >> 31);
    }
    (state >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_comes_from_constants_and_bad_values_are_named() {
        let constants = vec![
            ("delay_ms".to_string(), 50.0),
            ("delay_jitter_ms".to_string(), 20.0),
            ("other".to_string(), -3.0),
        ];
        let timing = DelayTiming::from_constants(&constants).unwrap();
        assert_eq!(timing.base, Duration::from_millis(50));
        assert_eq!(timing.jitter, Duration::from_millis(20));
        let error = DelayTiming::from_constants(&[("delay_ms".to_string(), -1.0)])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("delay_ms") && error.contains("-1"),
            "{error}"
        );
        assert_eq!(
            DelayTiming::from_constants(&[]).unwrap(),
            DelayTiming::default()
        );
    }

    #[test]
    fn sleeps_spread_over_the_jitter_and_repeat_per_point() {
        let timing = DelayTiming {
            base: Duration::from_millis(10),
            jitter: Duration::from_millis(100),
        };
        let sleeps: Vec<Duration> = (0..200)
            .map(|i| timing.for_point(&[i as f64 / 200.0, 0.5]))
            .collect();
        assert!(sleeps
            .iter()
            .all(|s| *s >= timing.base && *s < timing.base + timing.jitter));
        let mean = sleeps.iter().map(Duration::as_secs_f64).sum::<f64>() / 200.0;
        assert!((mean - 0.060).abs() < 0.01, "{mean}");
        assert_eq!(
            timing.for_point(&[0.25, 0.5]),
            timing.for_point(&[0.25, 0.5])
        );
    }

    #[test]
    fn objectives_are_zdt1s() {
        let delay = Delay::new(3, DelayTiming::default()).unwrap();
        let zdt1 = Zdt::new(ZdtKind::Zdt1, 3).unwrap();
        let x = [0.3, 0.2, 0.1];
        assert_eq!(delay.evaluate(&x), zdt1.evaluate(&x));
        assert!(Delay::new(1, DelayTiming::default())
            .unwrap_err()
            .to_string()
            .contains("`delay`"));
    }
}
