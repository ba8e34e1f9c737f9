//! Classic constrained two-objective problems, as in Deb 2001 (*Multi-Objective Optimization
//! using Evolutionary Algorithms*, Wiley, §14.1) with constraints converted to `c = −g > 0`.
//!
//! - CONSTR (Deb 2001): `f = (x1, (1 + x2)/x1)`, `c1 = x2 + 9 x1 − 6`, `c2 = −x2 + 9 x1 − 1`,
//!   `x1 ∈ [0.1, 1]`, `x2 ∈ [0, 5]`. Front: `f2 = (7 − 9 f1)/f1` on `f1 ∈ [7/18, 2/3]` (on
//!   `c1 = 0`) and `f2 = 1/f1` on `[2/3, 1]` (`x2 = 0`).
//! - SRN (Srinivas & Deb 1994): `f1 = 2 + (x1 − 2)² + (x2 − 1)²`, `f2 = 9 x1 − (x2 − 1)²`,
//!   `c1 = 225 − x1² − x2²`, `c2 = 3 x2 − x1 − 10`, `x ∈ [−20, 20]²`. Pareto set
//!   `x1 = −2.5`, `x2 ∈ [2.5, 14.79]`: the line `f1 + f2 = −0.25`.
//! - TNK (Tanaka et al. 1995): `f = (x1, x2)`,
//!   `c1 = x1² + x2² − 1 − 0.1 cos(16 atan(x1/x2))`, `c2 = 0.5 − (x1 − ½)² − (x2 − ½)²`,
//!   `x ∈ [1e−6, π]²`. Front: the non-dominated part of `c1 = 0` inside `c2 ≥ 0`.
//! - OSY (Osyczka & Kundu 1995):
//!   `f1 = −[25 (x1 − 2)² + (x2 − 2)² + (x3 − 1)² + (x4 − 4)² + (x5 − 1)²]`, `f2 = Σ x_i²`,
//!   `c1 = x1 + x2 − 2`, `c2 = 6 − x1 − x2`, `c3 = 2 − x2 + x1`, `c4 = 2 − x1 + 3 x2`,
//!   `c5 = 4 − (x3 − 3)² − x4`, `c6 = (x5 − 3)² + x6 − 4`; bounds `x1, x2, x6 ∈ [0, 10]`,
//!   `x3, x5 ∈ [1, 5]`, `x4 ∈ [0, 6]`. Front: five segments with `x4 = x6 = 0` (Deb 2001,
//!   table 32), from `(−274, 76)` to `(−42, 4)`.
//!
//! Pareto-optimal points of CONSTR, TNK and OSY lie on constraint boundaries (`c = 0`), so
//! their fronts are the closure of the strictly feasible region's front.

use std::f64::consts::{FRAC_PI_2, PI};

use super::sampling::{linspace, nondominated, spread_along_front};
use super::{invalid_evaluation, numbered_schema, space_error, Problem, ProblemError};
use crate::problem::{Evaluation, ProblemSchema};
use crate::space::ParameterSpace;

pub(crate) const CONSTR_NAME: &str = "constr";
pub(crate) const SRN_NAME: &str = "srn";
pub(crate) const TNK_NAME: &str = "tnk";
pub(crate) const OSY_NAME: &str = "osy";

/// How far below zero a constraint of a sampled front point may be (rounding).
const BOUNDARY_TOLERANCE: f64 = 1e-9;

/// Dense samples per requested front point before thinning.
const OVERSAMPLING: usize = 40;

fn definition(
    problem: &'static str,
    bounds: &[(f64, f64)],
    n_constraints: usize,
) -> Result<(ParameterSpace, ProblemSchema), ProblemError> {
    let space = ParameterSpace::from_bounds(bounds).map_err(space_error(problem))?;
    Ok((space, numbered_schema(2, n_constraints)))
}

/// CONSTR: two parameters, two objectives, two constraints.
#[derive(Debug, Clone)]
pub struct Constr {
    space: ParameterSpace,
    schema: ProblemSchema,
}

impl Constr {
    pub fn new() -> Result<Self, ProblemError> {
        let (space, schema) = definition(CONSTR_NAME, &[(0.1, 1.0), (0.0, 5.0)], 2)?;
        Ok(Self { space, schema })
    }
}

impl Problem for Constr {
    fn space(&self) -> &ParameterSpace {
        &self.space
    }

    fn schema(&self) -> &ProblemSchema {
        &self.schema
    }

    fn evaluate(&self, x: &[f64]) -> Evaluation {
        let &[x1, x2] = x else {
            return invalid_evaluation(&self.schema);
        };
        Evaluation {
            objectives: vec![x1, (1.0 + x2) / x1],
            constraints: vec![x2 + 9.0 * x1 - 6.0, -x2 + 9.0 * x1 - 1.0],
        }
    }

    /// `n` points evenly spaced in `f1 ∈ [7/18, 1]`.
    fn pareto_front(&self, n: usize) -> Option<Vec<Vec<f64>>> {
        Some(
            linspace(n, 7.0 / 18.0, 1.0)
                .into_iter()
                .map(|first| {
                    let second = if first <= 2.0 / 3.0 {
                        (7.0 - 9.0 * first) / first
                    } else {
                        1.0 / first
                    };
                    vec![first, second]
                })
                .collect(),
        )
    }
}

/// SRN: two parameters, two objectives, two constraints.
#[derive(Debug, Clone)]
pub struct Srn {
    space: ParameterSpace,
    schema: ProblemSchema,
}

impl Srn {
    pub fn new() -> Result<Self, ProblemError> {
        let (space, schema) = definition(SRN_NAME, &[(-20.0, 20.0), (-20.0, 20.0)], 2)?;
        Ok(Self { space, schema })
    }
}

impl Problem for Srn {
    fn space(&self) -> &ParameterSpace {
        &self.space
    }

    fn schema(&self) -> &ProblemSchema {
        &self.schema
    }

    fn evaluate(&self, x: &[f64]) -> Evaluation {
        let &[x1, x2] = x else {
            return invalid_evaluation(&self.schema);
        };
        Evaluation {
            objectives: vec![
                2.0 + (x1 - 2.0).powi(2) + (x2 - 1.0).powi(2),
                9.0 * x1 - (x2 - 1.0).powi(2),
            ],
            constraints: vec![225.0 - x1 * x1 - x2 * x2, 3.0 * x2 - x1 - 10.0],
        }
    }

    /// `n` points of the Pareto set `x1 = −2.5`, `x2 ∈ [2.5, √(225 − 6.25)]`, evenly spaced
    /// along the line `f1 + f2 = −0.25`.
    fn pareto_front(&self, n: usize) -> Option<Vec<Vec<f64>>> {
        let highest = (225.0_f64 - 6.25).sqrt();
        Some(
            linspace(n, 1.5_f64.powi(2), (highest - 1.0).powi(2))
                .into_iter()
                .map(|square| vec![22.25 + square, -22.5 - square])
                .collect(),
        )
    }
}

/// TNK: two parameters, two objectives, two constraints; disconnected front.
#[derive(Debug, Clone)]
pub struct Tnk {
    space: ParameterSpace,
    schema: ProblemSchema,
}

impl Tnk {
    pub fn new() -> Result<Self, ProblemError> {
        let (space, schema) = definition(TNK_NAME, &[(1e-6, PI), (1e-6, PI)], 2)?;
        Ok(Self { space, schema })
    }
}

impl Problem for Tnk {
    fn space(&self) -> &ParameterSpace {
        &self.space
    }

    fn schema(&self) -> &ProblemSchema {
        &self.schema
    }

    fn evaluate(&self, x: &[f64]) -> Evaluation {
        let &[x1, x2] = x else {
            return invalid_evaluation(&self.schema);
        };
        Evaluation {
            objectives: vec![x1, x2],
            constraints: vec![
                x1 * x1 + x2 * x2 - 1.0 - 0.1 * (16.0 * (x1 / x2).atan()).cos(),
                0.5 - (x1 - 0.5).powi(2) - (x2 - 0.5).powi(2),
            ],
        }
    }

    /// The curve `c1 = 0` (`r² = 1 + 0.1 cos(16 ψ)` at angle `ψ = atan(x1/x2)`), sampled
    /// densely, kept where `c2 ≥ 0` and non-dominated, then `n` points spread along it.
    fn pareto_front(&self, n: usize) -> Option<Vec<Vec<f64>>> {
        let samples: Vec<Vec<f64>> = linspace(OVERSAMPLING * n + 2000, 0.0, FRAC_PI_2)
            .into_iter()
            .map(|angle| {
                let radius = (1.0 + 0.1 * (16.0 * angle).cos()).sqrt();
                vec![radius * angle.sin(), radius * angle.cos()]
            })
            .filter(|point| 0.5 - (point[0] - 0.5).powi(2) - (point[1] - 0.5).powi(2) >= 0.0)
            .collect();
        Some(spread_along_front(nondominated(samples), n))
    }
}

/// OSY: six parameters, two objectives, six constraints.
#[derive(Debug, Clone)]
pub struct Osy {
    space: ParameterSpace,
    schema: ProblemSchema,
}

impl Osy {
    pub fn new() -> Result<Self, ProblemError> {
        let bounds = [
            (0.0, 10.0),
            (0.0, 10.0),
            (1.0, 5.0),
            (0.0, 6.0),
            (1.0, 5.0),
            (0.0, 10.0),
        ];
        let (space, schema) = definition(OSY_NAME, &bounds, 6)?;
        Ok(Self { space, schema })
    }

    /// The five Pareto-optimal segments (Deb 2001), slightly extended, at parameter `t ∈ [0, 1]`.
    fn segment_points(t: f64) -> [[f64; 6]; 5] {
        [
            [5.0, 1.0, 1.0 + 4.0 * t, 0.0, 5.0, 0.0],
            [5.0, 1.0, 1.0 + 4.0 * t, 0.0, 1.0, 0.0],
            [2.0 + 3.0 * t, t, 1.0, 0.0, 1.0, 0.0],
            [0.0, 2.0, 1.0 + 4.0 * t, 0.0, 1.0, 0.0],
            [t, 2.0 - t, 1.0, 0.0, 1.0, 0.0],
        ]
    }
}

impl Problem for Osy {
    fn space(&self) -> &ParameterSpace {
        &self.space
    }

    fn schema(&self) -> &ProblemSchema {
        &self.schema
    }

    fn evaluate(&self, x: &[f64]) -> Evaluation {
        let &[x1, x2, x3, x4, x5, x6] = x else {
            return invalid_evaluation(&self.schema);
        };
        let first = -(25.0 * (x1 - 2.0).powi(2)
            + (x2 - 2.0).powi(2)
            + (x3 - 1.0).powi(2)
            + (x4 - 4.0).powi(2)
            + (x5 - 1.0).powi(2));
        Evaluation {
            objectives: vec![first, x.iter().map(|v| v * v).sum()],
            constraints: vec![
                x1 + x2 - 2.0,
                6.0 - x1 - x2,
                2.0 - x2 + x1,
                2.0 - x1 + 3.0 * x2,
                4.0 - (x3 - 3.0).powi(2) - x4,
                (x5 - 3.0).powi(2) + x6 - 4.0,
            ],
        }
    }

    /// The five segments sampled densely, kept where feasible (up to rounding) and
    /// non-dominated, then `n` points spread along the front.
    fn pareto_front(&self, n: usize) -> Option<Vec<Vec<f64>>> {
        let samples: Vec<Vec<f64>> = linspace(OVERSAMPLING * n + 2000, 0.0, 1.0)
            .into_iter()
            .flat_map(Self::segment_points)
            .map(|x| self.evaluate(&x))
            .filter(|evaluation| {
                evaluation
                    .constraints
                    .iter()
                    .all(|c| *c >= -BOUNDARY_TOLERANCE)
            })
            .map(|evaluation| evaluation.objectives)
            .collect();
        Some(spread_along_front(nondominated(samples), n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::is_feasible;

    fn problems() -> [(&'static str, Box<dyn Problem>); 4] {
        [
            (CONSTR_NAME, Box::new(Constr::new().unwrap())),
            (SRN_NAME, Box::new(Srn::new().unwrap())),
            (TNK_NAME, Box::new(Tnk::new().unwrap())),
            (OSY_NAME, Box::new(Osy::new().unwrap())),
        ]
    }

    fn problem(name: &str) -> Box<dyn Problem> {
        problems()
            .into_iter()
            .find(|(candidate, _)| *candidate == name)
            .map(|(_, problem)| problem)
            .unwrap()
    }

    #[test]
    fn feasibility_of_known_points() {
        let cases: [(&str, &[f64], bool); 16] = [
            (CONSTR_NAME, &[0.5, 2.0], true),
            (CONSTR_NAME, &[0.8, 0.001], true),
            (CONSTR_NAME, &[0.5, 1.6], true),
            (CONSTR_NAME, &[0.2, 0.5], false),
            (CONSTR_NAME, &[0.5, 4.0], false),
            (SRN_NAME, &[-2.5, 5.0], true),
            (SRN_NAME, &[-2.5, 14.0], true),
            (SRN_NAME, &[0.0, 0.0], false),
            (SRN_NAME, &[15.0, 10.0], false),
            (TNK_NAME, &[0.9, 0.9], true),
            (TNK_NAME, &[0.5, 0.5], false),
            (TNK_NAME, &[2.0, 2.0], false),
            (OSY_NAME, &[4.9, 1.0, 3.0, 0.0, 5.0, 0.1], true),
            (OSY_NAME, &[0.5, 1.6, 1.1, 0.0, 1.0, 0.1], true),
            (OSY_NAME, &[0.0, 0.0, 3.0, 0.0, 3.0, 0.0], false),
            (OSY_NAME, &[5.0, 1.0, 1.0, 0.0, 3.0, 0.0], false),
        ];
        for (name, x, feasible) in cases {
            let evaluation = problem(name).evaluate(x);
            assert_eq!(
                is_feasible(&evaluation.constraints),
                feasible,
                "{name} {x:?}: {:?}",
                evaluation.constraints
            );
        }
    }

    #[test]
    fn known_optimal_points_are_on_the_boundary_with_front_values() {
        let cases: [(&str, &[f64], [f64; 2]); 9] = [
            (CONSTR_NAME, &[0.5, 1.5], [0.5, 5.0]),
            (CONSTR_NAME, &[7.0 / 18.0, 2.5], [7.0 / 18.0, 9.0]),
            (CONSTR_NAME, &[0.8, 0.0], [0.8, 1.25]),
            (SRN_NAME, &[-2.5, 5.0], [38.25, -38.5]),
            (SRN_NAME, &[-2.5, 2.5], [24.5, -24.75]),
            (OSY_NAME, &[5.0, 1.0, 5.0, 0.0, 5.0, 0.0], [-274.0, 76.0]),
            (OSY_NAME, &[5.0, 1.0, 1.0, 0.0, 5.0, 0.0], [-258.0, 52.0]),
            (OSY_NAME, &[1.0, 1.0, 1.0, 0.0, 1.0, 0.0], [-42.0, 4.0]),
            (OSY_NAME, &[0.0, 2.0, 3.0, 0.0, 1.0, 0.0], [-120.0, 14.0]),
        ];
        for (name, x, expected) in cases {
            let evaluation = problem(name).evaluate(x);
            assert!(
                evaluation.constraints.iter().all(|c| *c >= -1e-12),
                "{name} {x:?}: {:?}",
                evaluation.constraints
            );
            for (value, target) in evaluation.objectives.iter().zip(expected) {
                assert!(
                    (value - target).abs() < 1e-12,
                    "{name} {x:?}: {value} vs {target}"
                );
            }
        }
    }

    #[test]
    fn tnk_front_points_lie_on_the_first_constraint_boundary() {
        let tnk = problem(TNK_NAME);
        let front = tnk.pareto_front(100).unwrap();
        assert!(front.len() >= 95, "{}", front.len());
        for point in front {
            // TNK's objectives are its parameters, so a front point is its own preimage.
            let evaluation = tnk.evaluate(&point);
            assert_eq!(evaluation.objectives, point);
            assert!(evaluation.constraints[0].abs() < 1e-12, "{point:?}");
            assert!(evaluation.constraints[1] >= 0.0, "{point:?}");
        }
    }

    #[test]
    fn fronts_have_the_known_extent() {
        let cases: [(&str, [f64; 2], [f64; 2]); 4] = [
            (CONSTR_NAME, [7.0 / 18.0, 1.0], [1.0, 9.0]),
            (SRN_NAME, [24.5, 212.4196], [-212.6696, -24.75]),
            (TNK_NAME, [0.041_667, 1.038_449], [0.041_667, 1.038_449]),
            (OSY_NAME, [-274.0, -42.0], [4.0, 76.0]),
        ];
        for (name, first, second) in cases {
            let front = problem(name).pareto_front(200).unwrap();
            let extent = |d: usize| {
                front
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                        (lo.min(p[d]), hi.max(p[d]))
                    })
            };
            for ((lower, upper), [expected_lower, expected_upper]) in
                [(extent(0), first), (extent(1), second)]
            {
                let tolerance = 1e-3 * (expected_upper - expected_lower).abs().max(1.0);
                assert!(
                    (lower - expected_lower).abs() < tolerance
                        && (upper - expected_upper).abs() < tolerance,
                    "{name}: [{lower}, {upper}] vs [{expected_lower}, {expected_upper}]"
                );
            }
        }
    }

    #[test]
    fn names_bounds_and_schema() {
        type Bounds = &'static [(f64, f64)];
        let cases: [(&str, Bounds, usize); 4] = [
            (CONSTR_NAME, &[(0.1, 1.0), (0.0, 5.0)], 2),
            (SRN_NAME, &[(-20.0, 20.0), (-20.0, 20.0)], 2),
            (TNK_NAME, &[(1e-6, PI), (1e-6, PI)], 2),
            (
                OSY_NAME,
                &[
                    (0.0, 10.0),
                    (0.0, 10.0),
                    (1.0, 5.0),
                    (0.0, 6.0),
                    (1.0, 5.0),
                    (0.0, 10.0),
                ],
                6,
            ),
        ];
        for (name, bounds, n_constraints) in cases {
            let problem = problem(name);
            let parameters = problem.space().parameters();
            assert_eq!(parameters.len(), bounds.len(), "{name}");
            for (i, (parameter, bound)) in parameters.iter().zip(bounds).enumerate() {
                assert_eq!(parameter.name, format!("x{}", i + 1));
                assert_eq!((parameter.lower, parameter.upper), *bound, "{name}");
            }
            assert_eq!(problem.schema().objectives, ["f1", "f2"]);
            let expected: Vec<String> = (1..=n_constraints).map(|i| format!("c{i}")).collect();
            assert_eq!(problem.schema().constraints, expected);
        }
    }

    #[test]
    fn wrong_length_gives_nan() {
        for (name, problem) in problems() {
            let evaluation = problem.evaluate(&[1.0; 3]);
            assert_eq!(evaluation.objectives.len(), 2, "{name}");
            assert_eq!(
                evaluation.constraints.len(),
                problem.schema().n_constraints()
            );
            assert!(evaluation.objectives.iter().all(|v| v.is_nan()));
            assert!(evaluation.constraints.iter().all(|v| v.is_nan()));
        }
    }
}
