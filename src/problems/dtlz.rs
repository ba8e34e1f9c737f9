//! The DTLZ test problems (Deb, Thiele, Laumanns & Zitzler 2005, "Scalable test problems for
//! evolutionary multiobjective optimization", in *Evolutionary Multiobjective Optimization*).
//!
//! `q` objectives, `n = q + k − 1` parameters in `[0, 1]`: position variables `x_1 … x_{q−1}`
//! and distance variables `x_M` (the last `k`). Default `k`: 5 (DTLZ1), 10 (DTLZ2–6),
//! 20 (DTLZ7).
//! - DTLZ1: `g = 100 [k + Σ ((x_i − ½)² − cos(20π (x_i − ½)))]`,
//!   `f_i = ½ (1 + g) x_1 ⋯ x_{q−i} (1 − x_{q−i+1})`; front `Σ f = ½`.
//! - DTLZ2: `g = Σ (x_i − ½)²`, `f_i = (1 + g) cos(θ_1) ⋯ cos(θ_{q−i}) sin(θ_{q−i+1})` with
//!   `θ_j = x_j π/2`; front `Σ f² = 1`.
//! - DTLZ3: DTLZ2 with DTLZ1's `g`. DTLZ4: DTLZ2 with `θ_j = x_j^100 π/2`.
//! - DTLZ5 (`g` of DTLZ2) and DTLZ6 (`g = Σ x_i^{0.1}`): `θ_1 = x_1 π/2`,
//!   `θ_j = π (1 + 2 g x_j) / (4 (1 + g))` for `j ≥ 2`; degenerate (curve) front.
//! - DTLZ7: `f_i = x_i` (`i < q`), `g = 1 + 9/k Σ x_i`,
//!   `f_q = (1 + g) (q − Σ_{i<q} f_i / (1 + g) (1 + sin(3π f_i)))`; `2^{q−1}` disconnected
//!   front pieces.
//!
//! The front is reached at `x_M = ½` (DTLZ1–5) or `x_M = 0` (DTLZ6, DTLZ7).

use std::f64::consts::{FRAC_PI_2, FRAC_PI_4, PI};

use super::sampling::{kronecker, linspace, map_to_intervals, simplex_points};
use super::{invalid_evaluation, numbered_schema, space_error, Problem, ProblemError};
use crate::problem::{Evaluation, ProblemSchema};
use crate::space::ParameterSpace;

/// The ranges of each `f_i`, `i < q`, on DTLZ7's front (pymoo's constants): where
/// `t(s) = s (1 + sin(3π s))` exceeds its value at every smaller `s`.
pub(crate) const DTLZ7_FRONT_PIECES: [(f64, f64); 2] =
    [(0.0, 0.251_411_836_0), (0.631_626_530_7, 0.859_400_856_6)];

/// Which DTLZ problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DtlzKind {
    Dtlz1,
    Dtlz2,
    Dtlz3,
    Dtlz4,
    Dtlz5,
    Dtlz6,
    Dtlz7,
}

impl DtlzKind {
    pub fn name(self) -> &'static str {
        match self {
            DtlzKind::Dtlz1 => "dtlz1",
            DtlzKind::Dtlz2 => "dtlz2",
            DtlzKind::Dtlz3 => "dtlz3",
            DtlzKind::Dtlz4 => "dtlz4",
            DtlzKind::Dtlz5 => "dtlz5",
            DtlzKind::Dtlz6 => "dtlz6",
            DtlzKind::Dtlz7 => "dtlz7",
        }
    }

    /// The usual number `k` of distance variables.
    pub fn default_distance_variables(self) -> usize {
        match self {
            DtlzKind::Dtlz1 => 5,
            DtlzKind::Dtlz7 => 20,
            _ => 10,
        }
    }
}

/// A DTLZ problem with a given number of parameters and objectives.
#[derive(Debug, Clone)]
pub struct Dtlz {
    kind: DtlzKind,
    n_objectives: usize,
    space: ParameterSpace,
    schema: ProblemSchema,
}

impl Dtlz {
    /// The fewest objectives.
    pub const MINIMUM_OBJECTIVES: usize = 2;

    /// `dim ≥ n_objectives` (at least one distance variable), `n_objectives ≥ 2`.
    pub fn new(kind: DtlzKind, dim: usize, n_objectives: usize) -> Result<Self, ProblemError> {
        let (space, schema) = dtlz_definition(kind.name(), dim, n_objectives, 0)?;
        Ok(Self {
            kind,
            n_objectives,
            space,
            schema,
        })
    }

    pub fn kind(&self) -> DtlzKind {
        self.kind
    }

    pub fn n_objectives(&self) -> usize {
        self.n_objectives
    }
}

/// Check DTLZ sizes and build the unit box and schema (shared with C2-DTLZ2).
pub(crate) fn dtlz_definition(
    problem: &'static str,
    dim: usize,
    n_objectives: usize,
    n_constraints: usize,
) -> Result<(ParameterSpace, ProblemSchema), ProblemError> {
    if n_objectives < Dtlz::MINIMUM_OBJECTIVES {
        return Err(ProblemError::TooFewObjectives {
            problem,
            n_objectives,
            minimum: Dtlz::MINIMUM_OBJECTIVES,
        });
    }
    if dim < n_objectives {
        return Err(ProblemError::DimensionTooSmall {
            problem,
            dim,
            minimum: n_objectives,
        });
    }
    let space = ParameterSpace::uniform_box(dim, 0.0, 1.0).map_err(space_error(problem))?;
    Ok((space, numbered_schema(n_objectives, n_constraints)))
}

/// `Σ (x − ½)²`: DTLZ2's `g`.
fn sphere_distance(distance: &[f64]) -> f64 {
    distance.iter().map(|v| (v - 0.5).powi(2)).sum()
}

/// `100 [k + Σ ((x − ½)² − cos(20π (x − ½)))]`: DTLZ1's and DTLZ3's `g`.
fn rastrigin_distance(distance: &[f64]) -> f64 {
    let sum: f64 = distance
        .iter()
        .map(|v| (v - 0.5).powi(2) - (20.0 * PI * (v - 0.5)).cos())
        .sum();
    100.0 * (distance.len() as f64 + sum)
}

/// Objectives on a sphere of `radius`: `f_1 = r Π cos θ_j`, …, `f_q = r sin θ_1`.
pub(crate) fn sphere_objectives(angles: &[f64], radius: f64) -> Vec<f64> {
    let count = angles.len() + 1;
    (0..count)
        .map(|i| {
            let cosines = count - 1 - i;
            let product: f64 = angles[..cosines].iter().map(|a| a.cos()).product();
            let last = if i > 0 { angles[cosines].sin() } else { 1.0 };
            radius * product * last
        })
        .collect()
}

/// Objectives on the simplex `Σ f = scale`: `f_i = scale · x_1 ⋯ x_{q−i} (1 − x_{q−i+1})`.
fn linear_objectives(position: &[f64], scale: f64) -> Vec<f64> {
    let count = position.len() + 1;
    (0..count)
        .map(|i| {
            let products = count - 1 - i;
            let product: f64 = position[..products].iter().product();
            let last = if i > 0 { 1.0 - position[products] } else { 1.0 };
            scale * product * last
        })
        .collect()
}

/// DTLZ2's objectives for `q` objectives (`x` has at least `q` values).
pub(crate) fn dtlz2_objectives(x: &[f64], n_objectives: usize) -> Vec<f64> {
    let (position, distance) = x.split_at(n_objectives - 1);
    let angles: Vec<f64> = position.iter().map(|v| v * FRAC_PI_2).collect();
    sphere_objectives(&angles, 1.0 + sphere_distance(distance))
}

/// The unit vectors of `q` non-negative coordinates: the evenly spread DTLZ2 front.
pub(crate) fn sphere_front_points(n_objectives: usize, count: usize) -> Vec<Vec<f64>> {
    if n_objectives == 2 {
        return linspace(count, 0.0, FRAC_PI_2)
            .into_iter()
            .map(|angle| vec![angle.cos(), angle.sin()])
            .collect();
    }
    simplex_points(n_objectives, count)
        .into_iter()
        .map(|point| {
            let norm = point.iter().map(|v| v * v).sum::<f64>().sqrt();
            point.into_iter().map(|v| v / norm).collect()
        })
        .collect()
}

/// DTLZ7's last objective `(1 + g) (q − Σ f_i / (1 + g) (1 + sin(3π f_i)))`, where
/// `g = 1 + 9/k Σ x_M` (so `g = 1` on the front).
fn dtlz7_last(firsts: &[f64], g: f64) -> f64 {
    let count = firsts.len() as f64 + 1.0;
    let sum: f64 = firsts
        .iter()
        .map(|f| f / (1.0 + g) * (1.0 + (3.0 * PI * f).sin()))
        .sum();
    (1.0 + g) * (count - sum)
}

impl Problem for Dtlz {
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
        let (position, distance) = x.split_at(self.n_objectives - 1);
        let to_angle = |v: &f64| v * FRAC_PI_2;
        let objectives = match self.kind {
            DtlzKind::Dtlz1 => {
                linear_objectives(position, 0.5 * (1.0 + rastrigin_distance(distance)))
            }
            DtlzKind::Dtlz2 => dtlz2_objectives(x, self.n_objectives),
            DtlzKind::Dtlz3 => sphere_objectives(
                &position.iter().map(to_angle).collect::<Vec<_>>(),
                1.0 + rastrigin_distance(distance),
            ),
            DtlzKind::Dtlz4 => sphere_objectives(
                &position
                    .iter()
                    .map(|v| v.powi(100) * FRAC_PI_2)
                    .collect::<Vec<_>>(),
                1.0 + sphere_distance(distance),
            ),
            DtlzKind::Dtlz5 | DtlzKind::Dtlz6 => {
                let g = if self.kind == DtlzKind::Dtlz5 {
                    sphere_distance(distance)
                } else {
                    distance.iter().map(|v| v.powf(0.1)).sum()
                };
                let angles: Vec<f64> = position
                    .iter()
                    .enumerate()
                    .map(|(j, v)| {
                        if j == 0 {
                            v * FRAC_PI_2
                        } else {
                            FRAC_PI_4 * (1.0 + 2.0 * g * v) / (1.0 + g)
                        }
                    })
                    .collect();
                sphere_objectives(&angles, 1.0 + g)
            }
            DtlzKind::Dtlz7 => {
                let g = 1.0 + 9.0 * distance.iter().sum::<f64>() / distance.len() as f64;
                let mut objectives = position.to_vec();
                objectives.push(dtlz7_last(position, g));
                objectives
            }
        };
        Evaluation {
            objectives,
            constraints: Vec::new(),
        }
    }

    /// DTLZ1: the simplex `Σ f = ½`; DTLZ2–4: the unit sphere; DTLZ5/6: the curve
    /// `θ_j = π/4 (j ≥ 2)` for `q ≤ 3` (None for more objectives, where the true front is not
    /// just that curve); DTLZ7: the `2^{q−1}` pieces, sampled by a Kronecker sequence.
    fn pareto_front(&self, n: usize) -> Option<Vec<Vec<f64>>> {
        let q = self.n_objectives;
        match self.kind {
            DtlzKind::Dtlz1 => Some(
                simplex_points(q, n)
                    .into_iter()
                    .map(|point| point.into_iter().map(|v| 0.5 * v).collect())
                    .collect(),
            ),
            DtlzKind::Dtlz2 | DtlzKind::Dtlz3 | DtlzKind::Dtlz4 => Some(sphere_front_points(q, n)),
            DtlzKind::Dtlz5 | DtlzKind::Dtlz6 if q <= 3 => Some(
                linspace(n, 0.0, FRAC_PI_2)
                    .into_iter()
                    .map(|first| {
                        let mut angles = vec![FRAC_PI_4; q - 1];
                        angles[0] = first;
                        sphere_objectives(&angles, 1.0)
                    })
                    .collect(),
            ),
            DtlzKind::Dtlz5 | DtlzKind::Dtlz6 => None,
            DtlzKind::Dtlz7 => {
                let units = if q == 2 {
                    linspace(n, 0.0, 1.0).into_iter().map(|u| vec![u]).collect()
                } else {
                    kronecker(n, q - 1)
                };
                Some(
                    units
                        .into_iter()
                        .map(|unit| {
                            let mut point: Vec<f64> = unit
                                .into_iter()
                                .map(|u| map_to_intervals(u, &DTLZ7_FRONT_PIECES))
                                .collect();
                            point.push(dtlz7_last(&point, 1.0));
                            point
                        })
                        .collect(),
                )
            }
        }
    }
}

/// Position variables `x_1 … x_{q−1}` whose DTLZ2 angles point along `direction` (any
/// non-negative vector): `θ_j = atan2(d_{q−j}, ‖(d_1 … d_{q−j−1})‖)`.
#[cfg(test)]
pub(crate) fn position_for_direction(direction: &[f64]) -> Vec<f64> {
    let count = direction.len();
    (0..count - 1)
        .map(|j| {
            let last = count - 1 - j;
            let rest = direction[..last].iter().map(|v| v * v).sum::<f64>().sqrt();
            direction[last].atan2(rest) / FRAC_PI_2
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problems::sampling::dominates;

    const KINDS: [DtlzKind; 7] = [
        DtlzKind::Dtlz1,
        DtlzKind::Dtlz2,
        DtlzKind::Dtlz3,
        DtlzKind::Dtlz4,
        DtlzKind::Dtlz5,
        DtlzKind::Dtlz6,
        DtlzKind::Dtlz7,
    ];

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    fn build(kind: DtlzKind, n_objectives: usize) -> Dtlz {
        let dim = n_objectives + kind.default_distance_variables() - 1;
        Dtlz::new(kind, dim, n_objectives).unwrap()
    }

    /// The value of the distance variables that puts a point on the front.
    fn optimal_distance(kind: DtlzKind) -> f64 {
        match kind {
            DtlzKind::Dtlz6 | DtlzKind::Dtlz7 => 0.0,
            _ => 0.5,
        }
    }

    /// Does `f` satisfy the front equation of `kind` (and is it on the optimal pieces)?
    fn on_front(kind: DtlzKind, f: &[f64]) -> bool {
        let q = f.len();
        let squares: f64 = f.iter().map(|v| v * v).sum();
        match kind {
            DtlzKind::Dtlz1 => close(f.iter().sum::<f64>(), 0.5, 1e-12),
            DtlzKind::Dtlz2 | DtlzKind::Dtlz3 | DtlzKind::Dtlz4 => close(squares, 1.0, 1e-12),
            DtlzKind::Dtlz5 | DtlzKind::Dtlz6 => {
                close(squares, 1.0, 1e-12) && (q < 3 || close(f[0], f[1], 1e-12))
            }
            DtlzKind::Dtlz7 => {
                let expected = 2.0 * q as f64
                    - f[..q - 1]
                        .iter()
                        .map(|v| v * (1.0 + (3.0 * PI * v).sin()))
                        .sum::<f64>();
                close(f[q - 1], expected, 1e-12)
            }
        }
    }

    #[test]
    fn optimal_distance_variables_put_points_on_the_front() {
        let positions = [0.0, 0.13, 0.5, 0.77, 1.0];
        for kind in KINDS {
            for q in [2, 3, 5] {
                let problem = build(kind, q);
                for i in 0..positions.len() {
                    let mut x = vec![optimal_distance(kind); problem.space().dim()];
                    for (j, value) in x.iter_mut().take(q - 1).enumerate() {
                        *value = positions[(i + j) % positions.len()];
                    }
                    let f = problem.evaluate(&x).objectives;
                    assert_eq!(f.len(), q);
                    assert!(f.iter().all(|v| *v >= -1e-15), "{kind:?} {f:?}");
                    assert!(on_front(kind, &f), "{kind:?} q={q} x={x:?} f={f:?}");
                }
            }
        }
    }

    #[test]
    fn other_distance_variables_are_off_the_front() {
        for kind in KINDS {
            let problem = build(kind, 3);
            let mut x = vec![0.9; problem.space().dim()];
            x[0] = 0.3;
            x[1] = 0.6;
            let f = problem.evaluate(&x).objectives;
            let worse = match kind {
                DtlzKind::Dtlz1 => f.iter().sum::<f64>() > 0.5 + 1e-3,
                DtlzKind::Dtlz7 => {
                    f[2] > 2.0 * 3.0
                        - 0.3 * (1.0 + (0.9 * PI).sin())
                        - 0.6 * (1.0 + (1.8 * PI).sin())
                }
                _ => f.iter().map(|v| v * v).sum::<f64>() > 1.0 + 1e-3,
            };
            assert!(worse, "{kind:?} {f:?}");
        }
    }

    #[test]
    fn known_values() {
        // DTLZ1, q = 3, x = ½ everywhere: g = 0, f = ½ (x1 x2, x1 (1 − x2), 1 − x1).
        let f = build(DtlzKind::Dtlz1, 3).evaluate(&[0.5; 7]).objectives;
        assert_eq!(f, vec![0.125, 0.125, 0.25]);
        // DTLZ2, q = 2, x1 = ½, x_M = 0: g = k/4 = 2.5, f = 3.5 (cos π/4, sin π/4).
        let f = build(DtlzKind::Dtlz2, 2)
            .evaluate(&[0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
            .objectives;
        assert!(close(f[0], 3.5 * FRAC_PI_4.cos(), 1e-12) && close(f[1], f[0], 1e-12));
        // DTLZ4 biases towards the last objective: x1 = 0.9 → θ ≈ 0, f ≈ (1, 0) for q = 2.
        let mut x = vec![0.5; 11];
        x[0] = 0.9;
        let f = build(DtlzKind::Dtlz4, 2).evaluate(&x).objectives;
        assert!(f[0] > 0.999_999 && f[1] < 1e-4, "{f:?}");
        // DTLZ5, q = 3, x = (½, 1, 0 …): g = 10/4, θ1 = π/4, θ2 = π (1 + 2g) / (4 (1 + g)) = 3π/7.
        let mut x = vec![0.0; 12];
        x[0] = 0.5;
        x[1] = 1.0;
        let f = build(DtlzKind::Dtlz5, 3).evaluate(&x).objectives;
        let (first, second) = (FRAC_PI_4, 3.0 * PI / 7.0);
        let expected = [
            3.5 * first.cos() * second.cos(),
            3.5 * first.cos() * second.sin(),
            3.5 * first.sin(),
        ];
        for (value, target) in f.iter().zip(expected) {
            assert!(close(*value, target, 1e-12), "{f:?} vs {expected:?}");
        }
        // DTLZ6, q = 2, x_M = 1: g = 10, f = 11 (cos θ1, sin θ1).
        let mut x = vec![1.0; 11];
        x[0] = 0.0;
        let f = build(DtlzKind::Dtlz6, 2).evaluate(&x).objectives;
        assert!(close(f[0], 11.0, 1e-12) && close(f[1], 0.0, 1e-12), "{f:?}");
        // DTLZ7, q = 2, x = 0: f = (0, 2 · 2).
        let f = build(DtlzKind::Dtlz7, 2).evaluate(&[0.0; 21]).objectives;
        assert_eq!(f, vec![0.0, 4.0]);
    }

    #[test]
    fn dimensions_names_and_bounds() {
        let cases = [
            (DtlzKind::Dtlz1, 3, 7),
            (DtlzKind::Dtlz2, 3, 12),
            (DtlzKind::Dtlz5, 4, 13),
            (DtlzKind::Dtlz7, 3, 22),
            (DtlzKind::Dtlz7, 2, 21),
        ];
        for (kind, q, dim) in cases {
            let problem = build(kind, q);
            assert_eq!(problem.space().dim(), dim, "{kind:?}");
            for (i, parameter) in problem.space().parameters().iter().enumerate() {
                assert_eq!(parameter.name, format!("x{}", i + 1));
                assert_eq!((parameter.lower, parameter.upper), (0.0, 1.0));
            }
            let expected: Vec<String> = (1..=q).map(|i| format!("f{i}")).collect();
            assert_eq!(problem.schema().objectives, expected);
            assert!(problem.schema().constraints.is_empty());
        }
    }

    #[test]
    fn bad_sizes_are_rejected_with_the_name() {
        let cases = [
            (DtlzKind::Dtlz2, 12, 1, "n_objectives = 1"),
            (DtlzKind::Dtlz3, 2, 3, "dim = 2"),
            (DtlzKind::Dtlz7, 0, 2, "dim = 0"),
        ];
        for (kind, dim, q, fragment) in cases {
            let message = Dtlz::new(kind, dim, q).unwrap_err().to_string();
            assert!(
                message.contains(kind.name()) && message.contains(fragment),
                "{message}"
            );
        }
        assert!(Dtlz::new(DtlzKind::Dtlz1, 3, 3).is_ok());
    }

    #[test]
    fn fronts_satisfy_their_equations() {
        for kind in KINDS {
            for q in [2, 3, 4] {
                let problem = build(kind, q);
                let Some(front) = problem.pareto_front(60) else {
                    assert!(matches!(kind, DtlzKind::Dtlz5 | DtlzKind::Dtlz6) && q > 3);
                    continue;
                };
                assert_eq!(front.len(), 60, "{kind:?} q={q}");
                for point in &front {
                    assert_eq!(point.len(), q);
                    assert!(point.iter().all(|v| *v >= -1e-15));
                    assert!(on_front(kind, point), "{kind:?} q={q} {point:?}");
                }
                for (i, a) in front.iter().enumerate() {
                    for b in &front[i + 1..] {
                        assert!(!dominates(a, b) && !dominates(b, a), "{kind:?} {a:?} {b:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn dtlz7_front_points_lie_on_the_pieces() {
        for q in [2, 3, 4] {
            for point in build(DtlzKind::Dtlz7, q).pareto_front(200).unwrap() {
                for value in &point[..q - 1] {
                    assert!(DTLZ7_FRONT_PIECES
                        .iter()
                        .any(|&(lower, upper)| *value >= lower && *value <= upper));
                }
            }
        }
    }

    #[test]
    fn dtlz7_pieces_are_where_the_last_objective_sets_new_minima() {
        let steps = 200_000;
        let mut best = f64::NEG_INFINITY;
        for i in 0..=steps {
            let s = i as f64 / steps as f64;
            let t = s * (1.0 + (3.0 * PI * s).sin());
            let optimal = t > best;
            best = best.max(t);
            let inside = |margin: f64| {
                DTLZ7_FRONT_PIECES
                    .iter()
                    .any(|&(lower, upper)| s >= lower + margin && s <= upper - margin)
            };
            if inside(1e-4) {
                assert!(optimal, "s = {s} should be optimal");
            }
            if !inside(-1e-4) {
                assert!(!optimal, "s = {s} should be dominated");
            }
        }
    }

    #[test]
    fn directions_map_to_positions() {
        for direction in [
            vec![1.0, 1.0],
            vec![1.0, 2.0, 3.0],
            vec![0.2, 0.0, 0.5, 0.9],
        ] {
            let q = direction.len();
            let problem = build(DtlzKind::Dtlz2, q);
            let mut x = vec![0.5; problem.space().dim()];
            x[..q - 1].copy_from_slice(&position_for_direction(&direction));
            let f = problem.evaluate(&x).objectives;
            let norm = direction.iter().map(|v| v * v).sum::<f64>().sqrt();
            for (value, component) in f.iter().zip(&direction) {
                assert!(
                    close(*value, component / norm, 1e-12),
                    "{f:?} {direction:?}"
                );
            }
        }
    }

    #[test]
    fn wrong_length_gives_nan() {
        let evaluation = build(DtlzKind::Dtlz2, 3).evaluate(&[0.5; 3]);
        assert_eq!(evaluation.objectives.len(), 3);
        assert!(evaluation.objectives.iter().all(|v| v.is_nan()));
    }
}
