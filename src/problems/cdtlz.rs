//! C2-DTLZ2 (Jain & Deb 2014, "An evolutionary many-objective optimization algorithm using
//! reference-point-based nondominated sorting approach, part II", IEEE TEVC 18(4)).
//!
//! DTLZ2's objectives with one constraint that keeps only the parts of the front within `r`
//! of a corner `e_i` or of the centre `(1/√q, …, 1/√q)`:
//! `g = min( min_i [(f_i − 1)² + Σ_{j≠i} f_j² − r²], Σ_i (f_i − 1/√q)² − r² )`, feasible when
//! `g ≤ 0`; here `c1 = −g` (feasible when `c1 > 0`). Radius as in pymoo: `r = 0.2` for
//! `q = 2`, `0.4` for `q = 3`, `0.5` otherwise (Jain & Deb give 0.4 for three objectives and
//! 0.5 otherwise; with `r = 0.5` and two objectives the whole front would be feasible).
//!
//! BoTorch's `C2DTLZ2` differs: it uses `r = 0.2` and subtracts `r²` once per term of the
//! centre distance, i.e. an effective centre radius of `r √q`.
//!
//! Every ball centre has norm 1, so no feasible point off the unit sphere is non-dominated
//! (scaling it towards the origin stays in its ball): the constrained front is the feasible
//! part of DTLZ2's front.

use super::dtlz::{dtlz2_objectives, dtlz_definition, sphere_front_points};
use super::sampling::select_spread;
use super::{invalid_evaluation, Problem, ProblemError};
use crate::problem::{Evaluation, ProblemSchema};
use crate::space::ParameterSpace;

pub(crate) const C2_DTLZ2_NAME: &str = "c2-dtlz2";

/// Dense front samples per requested point before thinning.
const OVERSAMPLING: usize = 20;

/// C2-DTLZ2 with a given number of parameters and objectives.
#[derive(Debug, Clone)]
pub struct C2Dtlz2 {
    n_objectives: usize,
    radius: f64,
    space: ParameterSpace,
    schema: ProblemSchema,
}

impl C2Dtlz2 {
    /// `dim ≥ n_objectives ≥ 2`, with the default radius.
    pub fn new(dim: usize, n_objectives: usize) -> Result<Self, ProblemError> {
        Self::with_radius(dim, n_objectives, Self::default_radius(n_objectives))
    }

    /// As [`C2Dtlz2::new`] with an explicit radius `r > 0`.
    pub fn with_radius(dim: usize, n_objectives: usize, radius: f64) -> Result<Self, ProblemError> {
        if !(radius.is_finite() && radius > 0.0) {
            return Err(ProblemError::InvalidRadius {
                problem: C2_DTLZ2_NAME,
                radius,
            });
        }
        let (space, schema) = dtlz_definition(C2_DTLZ2_NAME, dim, n_objectives, 1)?;
        Ok(Self {
            n_objectives,
            radius,
            space,
            schema,
        })
    }

    /// pymoo's radius: 0.2 for two objectives, 0.4 for three, 0.5 otherwise.
    pub fn default_radius(n_objectives: usize) -> f64 {
        match n_objectives {
            2 => 0.2,
            3 => 0.4,
            _ => 0.5,
        }
    }

    pub fn radius(&self) -> f64 {
        self.radius
    }

    pub fn n_objectives(&self) -> usize {
        self.n_objectives
    }

    /// The constraint value `c1 = −g` for objectives `f`.
    pub fn constraint(&self, objectives: &[f64]) -> f64 {
        let squared_radius = self.radius * self.radius;
        let squares: f64 = objectives.iter().map(|f| f * f).sum();
        let corner = objectives
            .iter()
            .map(|f| (f - 1.0).powi(2) + squares - f * f - squared_radius)
            .fold(f64::INFINITY, f64::min);
        let centre_coordinate = 1.0 / (objectives.len() as f64).sqrt();
        let centre = objectives
            .iter()
            .map(|f| (f - centre_coordinate).powi(2))
            .sum::<f64>()
            - squared_radius;
        -corner.min(centre)
    }
}

impl Problem for C2Dtlz2 {
    fn space(&self) -> &ParameterSpace {
        &self.space
    }

    fn schema(&self) -> &ProblemSchema {
        &self.schema
    }

    fn evaluate(&self, x: &[f64]) -> Evaluation {
        if x.len() != self.space.dim() {
            return invalid_evaluation(&self.schema);
        }
        let objectives = dtlz2_objectives(x, self.n_objectives);
        let constraint = self.constraint(&objectives);
        Evaluation {
            objectives,
            constraints: vec![constraint],
        }
    }

    /// Dense points of the unit sphere, kept where `c1 ≥ 0`, thinned to `n` by farthest-point
    /// selection (fewer when the feasible part is too small to hold `n` distinct samples).
    fn pareto_front(&self, n: usize) -> Option<Vec<Vec<f64>>> {
        let samples: Vec<Vec<f64>> = sphere_front_points(self.n_objectives, OVERSAMPLING * n)
            .into_iter()
            .filter(|point| self.constraint(point) >= 0.0)
            .collect();
        Some(select_spread(samples, n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problems::dtlz::position_for_direction;
    use crate::problems::sampling::dominates;

    fn point_along(problem: &C2Dtlz2, direction: &[f64]) -> Vec<f64> {
        let mut x = vec![0.5; problem.space().dim()];
        x[..direction.len() - 1].copy_from_slice(&position_for_direction(direction));
        x
    }

    #[test]
    fn front_centre_and_corners_are_feasible_and_between_is_not() {
        let cases: [(&[f64], bool); 10] = [
            (&[1.0, 1.0], true),
            (&[1.0, 0.0], true),
            (&[0.0, 1.0], true),
            (&[1.0, 0.414], false),
            (&[1.0, 1.0, 1.0], true),
            (&[1.0, 0.0, 0.0], true),
            (&[0.0, 0.0, 1.0], true),
            (&[1.0, 0.5, 0.0], false),
            (&[1.0, 1.0, 1.0, 1.0, 1.0], true),
            (&[1.0, 0.6, 0.6, 0.0, 0.0], false),
        ];
        for (direction, feasible) in cases {
            let q = direction.len();
            let problem = C2Dtlz2::new(q + 9, q).unwrap();
            let evaluation = problem.evaluate(&point_along(&problem, direction));
            let norm: f64 = evaluation.objectives.iter().map(|f| f * f).sum();
            assert!((norm - 1.0).abs() < 1e-12, "{direction:?}: on the front");
            assert_eq!(
                evaluation.constraints[0] > 0.0,
                feasible,
                "{direction:?}: {:?}",
                evaluation.constraints
            );
        }
    }

    #[test]
    fn constraint_matches_hand_computed_values() {
        // q = 2, r = 0.2: at the centre c = r² = 0.04; at (1, 0) c = r² as well.
        let problem = C2Dtlz2::new(11, 2).unwrap();
        let half = 0.5_f64.sqrt();
        assert!((problem.constraint(&[half, half]) - 0.04).abs() < 1e-12);
        assert!((problem.constraint(&[1.0, 0.0]) - 0.04).abs() < 1e-12);
        // f = (0, 0): corner distance² = 1, centre distance² = 1 → c = r² − 1.
        assert!((problem.constraint(&[0.0, 0.0]) - (0.04 - 1.0)).abs() < 1e-12);
    }

    #[test]
    fn default_radius_and_sizes() {
        for (q, radius) in [(2, 0.2), (3, 0.4), (4, 0.5), (8, 0.5)] {
            let problem = C2Dtlz2::new(q + 9, q).unwrap();
            assert_eq!(problem.radius(), radius);
            assert_eq!(problem.space().dim(), q + 9);
            assert_eq!(problem.schema().n_objectives(), q);
            assert_eq!(problem.schema().constraints, ["c1"]);
        }
        let cases = [(2, 3, "dim = 2"), (12, 1, "n_objectives = 1")];
        for (dim, q, fragment) in cases {
            let message = C2Dtlz2::new(dim, q).unwrap_err().to_string();
            assert!(
                message.contains("c2-dtlz2") && message.contains(fragment),
                "{message}"
            );
        }
        assert!(C2Dtlz2::with_radius(12, 3, 0.0).is_err());
        assert!(C2Dtlz2::with_radius(12, 3, 0.3).is_ok());
    }

    #[test]
    fn front_is_feasible_on_the_sphere_and_non_dominated() {
        for q in [2, 3, 4] {
            let problem = C2Dtlz2::new(q + 9, q).unwrap();
            let front = problem.pareto_front(80).unwrap();
            assert_eq!(front.len(), 80, "q = {q}");
            for point in &front {
                let norm: f64 = point.iter().map(|f| f * f).sum();
                assert!((norm - 1.0).abs() < 1e-12);
                assert!(problem.constraint(point) >= 0.0);
            }
            for (i, a) in front.iter().enumerate() {
                for b in &front[i + 1..] {
                    assert!(!dominates(a, b) && !dominates(b, a));
                }
            }
        }
    }
}
