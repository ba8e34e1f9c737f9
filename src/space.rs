//! The parameter space: names, bounds, integer and log-scaled parameters.
//!
//! Every algorithm in the core works in *normalized* coordinates `u ∈ [0, 1]^n`; the space maps
//! them to real parameter values and back:
//! - linear parameter: `x = lo + u (hi − lo)`;
//! - log-scaled parameter (`0 < lo < hi`): `x = exp(ln lo + u (ln hi − ln lo))`, so the search
//!   sees equal steps per decade;
//! - integer parameter: `u` covers `[lo − ½, hi + ½]` and the value is rounded, so every integer
//!   in the bounds gets an equal share of the unit interval and every evaluated point is a true
//!   integer. `normalize` maps an integer to the centre of its share, so the round trip is exact.

use thiserror::Error;

/// One named, bounded parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    pub name: String,
    pub lower: f64,
    pub upper: f64,
    pub integer: bool,
    pub log: bool,
}

/// Why a parameter definition was rejected.
#[derive(Debug, Error, PartialEq)]
pub enum SpaceError {
    #[error("parameter `{name}`: bounds [{lower}, {upper}] are not finite")]
    NonFinite {
        name: String,
        lower: f64,
        upper: f64,
    },
    #[error("parameter `{name}`: lower bound {lower} is not below upper bound {upper}")]
    EmptyRange {
        name: String,
        lower: f64,
        upper: f64,
    },
    #[error("parameter `{name}`: log scale needs a positive lower bound, got {lower}")]
    LogNonPositive { name: String, lower: f64 },
    #[error("parameter `{name}`: integer bounds must be whole numbers, got [{lower}, {upper}]")]
    FractionalIntegerBounds {
        name: String,
        lower: f64,
        upper: f64,
    },
    #[error("parameter `{name}` is defined twice")]
    Duplicate { name: String },
    #[error("the parameter space is empty")]
    Empty,
    #[error("point has {got} values, the space has {expected} parameters")]
    DimensionMismatch { expected: usize, got: usize },
}

impl Parameter {
    /// A continuous parameter on a linear scale.
    pub fn continuous(name: impl Into<String>, lower: f64, upper: f64) -> Self {
        Self {
            name: name.into(),
            lower,
            upper,
            integer: false,
            log: false,
        }
    }

    fn validate(&self) -> Result<(), SpaceError> {
        let (name, lower, upper) = (self.name.clone(), self.lower, self.upper);
        if !lower.is_finite() || !upper.is_finite() {
            return Err(SpaceError::NonFinite { name, lower, upper });
        }
        if lower >= upper && !(self.integer && lower == upper) {
            return Err(SpaceError::EmptyRange { name, lower, upper });
        }
        if self.log && lower <= 0.0 {
            return Err(SpaceError::LogNonPositive { name, lower });
        }
        if self.integer && (lower.fract() != 0.0 || upper.fract() != 0.0) {
            return Err(SpaceError::FractionalIntegerBounds { name, lower, upper });
        }
        Ok(())
    }

    /// Map a normalized coordinate in [0, 1] to a parameter value (clamped, rounded if integer).
    pub fn denormalize(&self, u: f64) -> f64 {
        let u = u.clamp(0.0, 1.0);
        if self.integer {
            let (lo, hi) = if self.log {
                (
                    (self.lower - 0.5).max(self.lower * 0.5).ln(),
                    (self.upper + 0.5).ln(),
                )
            } else {
                (self.lower - 0.5, self.upper + 0.5)
            };
            let raw = lo + u * (hi - lo);
            let value = if self.log { raw.exp() } else { raw };
            value.round().clamp(self.lower, self.upper)
        } else if self.log {
            (self.lower.ln() + u * (self.upper.ln() - self.lower.ln())).exp()
        } else {
            self.lower + u * (self.upper - self.lower)
        }
    }

    /// Map a parameter value to its normalized coordinate in [0, 1].
    pub fn normalize(&self, x: f64) -> f64 {
        let u = if self.integer {
            let (lo, hi, v) = if self.log {
                (
                    (self.lower - 0.5).max(self.lower * 0.5).ln(),
                    (self.upper + 0.5).ln(),
                    x.round().max(self.lower).ln(),
                )
            } else {
                (self.lower - 0.5, self.upper + 0.5, x.round())
            };
            (v - lo) / (hi - lo)
        } else if self.log {
            (x.ln() - self.lower.ln()) / (self.upper.ln() - self.lower.ln())
        } else {
            (x - self.lower) / (self.upper - self.lower)
        };
        u.clamp(0.0, 1.0)
    }
}

/// An ordered set of parameters (configured order; names are unique).
#[derive(Debug, Clone, PartialEq)]
pub struct ParameterSpace {
    parameters: Vec<Parameter>,
}

impl ParameterSpace {
    /// Build a space, checking every parameter and that names are unique.
    pub fn new(parameters: Vec<Parameter>) -> Result<Self, SpaceError> {
        if parameters.is_empty() {
            return Err(SpaceError::Empty);
        }
        let mut seen = std::collections::HashSet::new();
        for parameter in &parameters {
            parameter.validate()?;
            if !seen.insert(parameter.name.as_str()) {
                return Err(SpaceError::Duplicate {
                    name: parameter.name.clone(),
                });
            }
        }
        Ok(Self { parameters })
    }

    /// A box `[lower, upper]^dim` with parameters named `x1 … x<dim>`.
    pub fn uniform_box(dim: usize, lower: f64, upper: f64) -> Result<Self, SpaceError> {
        Self::new(
            (1..=dim)
                .map(|i| Parameter::continuous(format!("x{i}"), lower, upper))
                .collect(),
        )
    }

    /// A box with per-parameter bounds, parameters named `x1 … x<n>`.
    pub fn from_bounds(bounds: &[(f64, f64)]) -> Result<Self, SpaceError> {
        Self::new(
            bounds
                .iter()
                .enumerate()
                .map(|(i, &(lo, hi))| Parameter::continuous(format!("x{}", i + 1), lo, hi))
                .collect(),
        )
    }

    pub fn dim(&self) -> usize {
        self.parameters.len()
    }

    pub fn parameters(&self) -> &[Parameter] {
        &self.parameters
    }

    pub fn names(&self) -> Vec<String> {
        self.parameters.iter().map(|p| p.name.clone()).collect()
    }

    /// Normalized coordinates → parameter values (integers rounded, values clamped to bounds).
    pub fn denormalize(&self, unit: &[f64]) -> Vec<f64> {
        debug_assert_eq!(unit.len(), self.dim());
        self.parameters
            .iter()
            .zip(unit)
            .map(|(p, &u)| p.denormalize(u))
            .collect()
    }

    /// Parameter values → normalized coordinates in [0, 1].
    pub fn normalize(&self, values: &[f64]) -> Vec<f64> {
        debug_assert_eq!(values.len(), self.dim());
        self.parameters
            .iter()
            .zip(values)
            .map(|(p, &x)| p.normalize(x))
            .collect()
    }

    /// Snap normalized coordinates to what will really be evaluated (integer rounding), so the
    /// optimizer and the surrogate see the point that the simulation sees.
    pub fn snap(&self, unit: &[f64]) -> Vec<f64> {
        self.normalize(&self.denormalize(unit))
    }

    /// Check that a point has one value per parameter.
    pub fn check_point(&self, values: &[f64]) -> Result<(), SpaceError> {
        if values.len() != self.dim() {
            return Err(SpaceError::DimensionMismatch {
                expected: self.dim(),
                got: values.len(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn mixed_space() -> ParameterSpace {
        ParameterSpace::new(vec![
            Parameter::continuous("x", -2.0, 3.0),
            Parameter {
                name: "n".into(),
                lower: 1.0,
                upper: 8.0,
                integer: true,
                log: false,
            },
            Parameter {
                name: "k".into(),
                lower: 1e-5,
                upper: 1e-1,
                integer: false,
                log: true,
            },
            Parameter {
                name: "m".into(),
                lower: 1.0,
                upper: 1000.0,
                integer: true,
                log: true,
            },
        ])
        .unwrap()
    }

    #[test]
    fn rejects_bad_parameters() {
        let cases = [
            (Parameter::continuous("a", 1.0, 1.0), "not below"),
            (Parameter::continuous("a", 2.0, 1.0), "not below"),
            (Parameter::continuous("a", f64::NAN, 1.0), "not finite"),
            (
                Parameter {
                    log: true,
                    ..Parameter::continuous("a", 0.0, 1.0)
                },
                "positive lower",
            ),
            (
                Parameter {
                    integer: true,
                    ..Parameter::continuous("a", 0.5, 3.0)
                },
                "whole numbers",
            ),
        ];
        for (parameter, message) in cases {
            let err = ParameterSpace::new(vec![parameter])
                .unwrap_err()
                .to_string();
            assert!(err.contains(message), "{err}");
            assert!(err.contains("`a`"), "{err}");
        }
        let dup = ParameterSpace::new(vec![
            Parameter::continuous("a", 0.0, 1.0),
            Parameter::continuous("a", 0.0, 2.0),
        ]);
        assert!(matches!(dup, Err(SpaceError::Duplicate { .. })));
        assert_eq!(ParameterSpace::new(vec![]), Err(SpaceError::Empty));
    }

    #[test]
    fn log_parameter_is_uniform_in_decades() {
        let space = mixed_space();
        let k = &space.parameters()[2];
        assert!((k.denormalize(0.5) - 1e-3).abs() < 1e-12);
        assert!((k.normalize(1e-4) - 0.25).abs() < 1e-12);
    }

    #[test]
    fn integer_parameter_shares_are_equal() {
        let space = mixed_space();
        let n = &space.parameters()[1];
        let mut counts = [0usize; 8];
        for i in 0..8000 {
            let v = n.denormalize((i as f64 + 0.5) / 8000.0);
            counts[v as usize - 1] += 1;
        }
        assert!(counts.iter().all(|&c| c == 1000), "{counts:?}");
    }

    proptest! {
        #[test]
        fn denormalized_points_are_in_bounds_and_integers_are_whole(u in proptest::collection::vec(0.0f64..=1.0, 4)) {
            let space = mixed_space();
            let x = space.denormalize(&u);
            for (p, v) in space.parameters().iter().zip(&x) {
                prop_assert!(*v >= p.lower && *v <= p.upper, "{} = {v}", p.name);
                if p.integer { prop_assert_eq!(v.fract(), 0.0); }
            }
        }

        #[test]
        fn round_trip_is_identity_on_values(u in proptest::collection::vec(0.0f64..=1.0, 4)) {
            let space = mixed_space();
            let x = space.denormalize(&u);
            let back = space.denormalize(&space.normalize(&x));
            for (a, b) in x.iter().zip(&back) {
                prop_assert!((a - b).abs() <= 1e-9 * a.abs().max(1.0), "{a} vs {b}");
            }
        }
    }
}
