//! The ZDT test problems (Zitzler, Deb & Thiele 2000, "Comparison of multiobjective
//! evolutionary algorithms: empirical results", Evolutionary Computation 8(2)).
//!
//! Two objectives, `f1` and `f2 = g · h(f1, g)`, with `x1 ∈ [0, 1]` and:
//! - ZDT1: `g = 1 + 9 Σ_{i≥2} x_i / (n − 1)`, `h = 1 − √(f1/g)`; front `f2 = 1 − √f1`;
//! - ZDT2: as ZDT1 with `h = 1 − (f1/g)²`; front `f2 = 1 − f1²`;
//! - ZDT3: as ZDT1 with `h = 1 − √(f1/g) − (f1/g) sin(10π f1)`; front on five pieces of
//!   `f2 = 1 − √f1 − f1 sin(10π f1)`;
//! - ZDT4: `x_i ∈ [−5, 5]` for `i ≥ 2`, `g = 1 + 10 (n − 1) + Σ_{i≥2} (x_i² − 10 cos(4π x_i))`,
//!   `h = 1 − √(f1/g)`; front `f2 = 1 − √f1`;
//! - ZDT6: `f1 = 1 − e^{−4 x1} sin⁶(6π x1)`, `g = 1 + 9 (Σ_{i≥2} x_i / (n − 1))^{1/4}`,
//!   `h = 1 − (f1/g)²`; front `f2 = 1 − f1²` for `f1 ∈ [0.2807753191, 1]`.
//!
//! The front is reached at `x_i = 0` for `i ≥ 2`.

use std::f64::consts::PI;

use super::sampling::{linspace, map_to_intervals};
use super::{invalid_evaluation, numbered_schema, space_error, Problem, ProblemError};
use crate::problem::{Evaluation, ProblemSchema};
use crate::space::ParameterSpace;

/// The `f1` ranges of ZDT3's five front pieces (pymoo's constants).
pub(crate) const ZDT3_FRONT_PIECES: [(f64, f64); 5] = [
    (0.0, 0.083_001_534_9),
    (0.182_228_780, 0.257_762_363_4),
    (0.409_313_674_8, 0.453_882_104_1),
    (0.618_396_794_4, 0.652_511_703_8),
    (0.823_331_798_3, 0.851_832_865_4),
];

/// The smallest `f1` of ZDT6, `min_{x1} 1 − e^{−4 x1} sin⁶(6π x1)`.
pub(crate) const ZDT6_MINIMUM_F1: f64 = 0.280_775_319_1;

/// Which ZDT problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ZdtKind {
    Zdt1,
    Zdt2,
    Zdt3,
    Zdt4,
    Zdt6,
}

impl ZdtKind {
    pub fn name(self) -> &'static str {
        match self {
            ZdtKind::Zdt1 => "zdt1",
            ZdtKind::Zdt2 => "zdt2",
            ZdtKind::Zdt3 => "zdt3",
            ZdtKind::Zdt4 => "zdt4",
            ZdtKind::Zdt6 => "zdt6",
        }
    }

    /// 30 for ZDT1–3, 10 for ZDT4 and ZDT6.
    pub fn default_dim(self) -> usize {
        match self {
            ZdtKind::Zdt1 | ZdtKind::Zdt2 | ZdtKind::Zdt3 => 30,
            ZdtKind::Zdt4 | ZdtKind::Zdt6 => 10,
        }
    }

    /// The front's `f2` as a function of `f1`.
    fn front_second(self, first: f64) -> f64 {
        match self {
            ZdtKind::Zdt1 | ZdtKind::Zdt4 => 1.0 - first.sqrt(),
            ZdtKind::Zdt2 | ZdtKind::Zdt6 => 1.0 - first * first,
            ZdtKind::Zdt3 => 1.0 - first.sqrt() - first * (10.0 * PI * first).sin(),
        }
    }
}

/// A ZDT problem of a given dimension.
#[derive(Debug, Clone)]
pub struct Zdt {
    kind: ZdtKind,
    space: ParameterSpace,
    schema: ProblemSchema,
}

impl Zdt {
    /// The smallest dimension (`g` needs at least one distance variable).
    pub const MINIMUM_DIM: usize = 2;

    pub fn new(kind: ZdtKind, dim: usize) -> Result<Self, ProblemError> {
        let problem = kind.name();
        if dim < Self::MINIMUM_DIM {
            return Err(ProblemError::DimensionTooSmall {
                problem,
                dim,
                minimum: Self::MINIMUM_DIM,
            });
        }
        let space = if kind == ZdtKind::Zdt4 {
            let mut bounds = vec![(-5.0, 5.0); dim];
            bounds[0] = (0.0, 1.0);
            ParameterSpace::from_bounds(&bounds)
        } else {
            ParameterSpace::uniform_box(dim, 0.0, 1.0)
        }
        .map_err(space_error(problem))?;
        Ok(Self {
            kind,
            space,
            schema: numbered_schema(2, 0),
        })
    }

    pub fn kind(&self) -> ZdtKind {
        self.kind
    }
}

impl Problem for Zdt {
    fn space(&self) -> &ParameterSpace {
        &self.space
    }

    fn schema(&self) -> &ProblemSchema {
        &self.schema
    }

    fn evaluate(&self, x: &[f64]) -> Evaluation {
        let Some((&x1, rest)) = x.split_first() else {
            return invalid_evaluation(&self.schema);
        };
        if x.len() != self.space.dim() {
            return invalid_evaluation(&self.schema);
        }
        let count = rest.len() as f64;
        let mean = rest.iter().sum::<f64>() / count;
        let (first, g) = match self.kind {
            ZdtKind::Zdt1 | ZdtKind::Zdt2 | ZdtKind::Zdt3 => (x1, 1.0 + 9.0 * mean),
            ZdtKind::Zdt4 => {
                let rastrigin: f64 = rest
                    .iter()
                    .map(|v| v * v - 10.0 * (4.0 * PI * v).cos())
                    .sum();
                (x1, 1.0 + 10.0 * count + rastrigin)
            }
            ZdtKind::Zdt6 => {
                let first = 1.0 - (-4.0 * x1).exp() * (6.0 * PI * x1).sin().powi(6);
                (first, 1.0 + 9.0 * mean.powf(0.25))
            }
        };
        let ratio = first / g;
        let h = match self.kind {
            ZdtKind::Zdt1 | ZdtKind::Zdt4 => 1.0 - ratio.sqrt(),
            ZdtKind::Zdt2 | ZdtKind::Zdt6 => 1.0 - ratio * ratio,
            ZdtKind::Zdt3 => 1.0 - ratio.sqrt() - ratio * (10.0 * PI * first).sin(),
        };
        Evaluation {
            objectives: vec![first, g * h],
            constraints: Vec::new(),
        }
    }

    /// `n` points evenly spaced in `f1` (over the five pieces for ZDT3).
    fn pareto_front(&self, n: usize) -> Option<Vec<Vec<f64>>> {
        let firsts: Vec<f64> = match self.kind {
            ZdtKind::Zdt3 => linspace(n, 0.0, 1.0)
                .into_iter()
                .map(|u| map_to_intervals(u, &ZDT3_FRONT_PIECES))
                .collect(),
            ZdtKind::Zdt6 => linspace(n, ZDT6_MINIMUM_F1, 1.0),
            _ => linspace(n, 0.0, 1.0),
        };
        Some(
            firsts
                .into_iter()
                .map(|first| vec![first, self.kind.front_second(first)])
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: [ZdtKind; 5] = [
        ZdtKind::Zdt1,
        ZdtKind::Zdt2,
        ZdtKind::Zdt3,
        ZdtKind::Zdt4,
        ZdtKind::Zdt6,
    ];

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    /// Exact hypervolume of a two-objective set with respect to `reference`.
    fn hypervolume_2d(points: &[Vec<f64>], reference: [f64; 2]) -> f64 {
        let mut sorted: Vec<&Vec<f64>> = points
            .iter()
            .filter(|p| p[0] < reference[0] && p[1] < reference[1])
            .collect();
        sorted.sort_by(|a, b| a[0].total_cmp(&b[0]));
        let mut volume = 0.0;
        let mut ceiling = reference[1];
        for point in sorted {
            if point[1] < ceiling {
                volume += (reference[0] - point[0]) * (ceiling - point[1]);
                ceiling = point[1];
            }
        }
        volume
    }

    #[test]
    fn points_with_zero_distance_variables_lie_on_the_front() {
        for kind in KINDS {
            for dim in [2, kind.default_dim()] {
                let problem = Zdt::new(kind, dim).unwrap();
                for t in [0.0, 0.05, 0.2, 0.5, 0.83, 1.0] {
                    let mut x = vec![0.0; dim];
                    x[0] = t;
                    let f = problem.evaluate(&x).objectives;
                    let expected_first = if kind == ZdtKind::Zdt6 {
                        1.0 - (-4.0 * t).exp() * (6.0 * PI * t).sin().powi(6)
                    } else {
                        t
                    };
                    assert!(close(f[0], expected_first, 1e-12), "{kind:?} t={t}");
                    assert!(
                        close(f[1], kind.front_second(f[0]), 1e-12),
                        "{kind:?} t={t}: {f:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn zdt1_matches_the_closed_form() {
        let problem = Zdt::new(ZdtKind::Zdt1, 30).unwrap();
        let f = problem.evaluate(&[0.25; 30]).objectives;
        let g: f64 = 1.0 + 9.0 * 0.25;
        assert!(close(f[0], 0.25, 1e-15));
        assert!(close(f[1], g * (1.0 - (0.25 / g).sqrt()), 1e-12));
    }

    #[test]
    fn distance_variables_away_from_zero_are_worse() {
        for kind in KINDS {
            let problem = Zdt::new(kind, kind.default_dim()).unwrap();
            let mut x = vec![0.3; kind.default_dim()];
            x[0] = 0.4;
            let f = problem.evaluate(&x).objectives;
            assert!(f[1] > kind.front_second(f[0]) + 1e-3, "{kind:?}");
        }
    }

    #[test]
    fn bounds_and_names() {
        let cases = [
            (ZdtKind::Zdt1, 30, (0.0, 1.0)),
            (ZdtKind::Zdt2, 30, (0.0, 1.0)),
            (ZdtKind::Zdt3, 30, (0.0, 1.0)),
            (ZdtKind::Zdt4, 10, (-5.0, 5.0)),
            (ZdtKind::Zdt6, 10, (0.0, 1.0)),
        ];
        for (kind, dim, rest) in cases {
            let problem = Zdt::new(kind, dim).unwrap();
            let parameters = problem.space().parameters();
            assert_eq!(parameters.len(), dim);
            assert_eq!((parameters[0].lower, parameters[0].upper), (0.0, 1.0));
            for (i, parameter) in parameters.iter().enumerate() {
                assert_eq!(parameter.name, format!("x{}", i + 1));
                if i > 0 {
                    assert_eq!((parameter.lower, parameter.upper), rest, "{kind:?}");
                }
            }
            assert_eq!(problem.schema().objectives, ["f1", "f2"]);
            assert!(problem.schema().constraints.is_empty());
        }
    }

    #[test]
    fn too_small_dimension_is_rejected_with_the_name() {
        for kind in KINDS {
            let message = Zdt::new(kind, 1).unwrap_err().to_string();
            assert!(
                message.contains(kind.name()) && message.contains("dim = 1"),
                "{message}"
            );
        }
    }

    #[test]
    fn fronts_satisfy_their_equation_and_have_n_points() {
        for kind in KINDS {
            let problem = Zdt::new(kind, kind.default_dim()).unwrap();
            let front = problem.pareto_front(101).unwrap();
            assert_eq!(front.len(), 101);
            for point in &front {
                assert!(close(point[1], kind.front_second(point[0]), 1e-12));
            }
        }
    }

    #[test]
    fn front_hypervolumes_match_the_reference_values() {
        let cases = [
            (ZdtKind::Zdt1, [1.0, 1.0], 2.0 / 3.0),
            (ZdtKind::Zdt1, [1.1, 1.1], 0.876_667),
            (ZdtKind::Zdt2, [1.0, 1.0], 1.0 / 3.0),
            (ZdtKind::Zdt3, [1.0, 1.0], 1.044_426),
            (ZdtKind::Zdt3, [1.1, 1.1], 1.331_763),
            (ZdtKind::Zdt4, [1.0, 1.0], 2.0 / 3.0),
            (ZdtKind::Zdt6, [1.0, 1.0], 0.325_955),
            (ZdtKind::Zdt6, [1.1, 1.1], 0.507_878),
        ];
        for (kind, reference, expected) in cases {
            let problem = Zdt::new(kind, kind.default_dim()).unwrap();
            let volume = hypervolume_2d(&problem.pareto_front(20_000).unwrap(), reference);
            assert!(
                close(volume, expected, 2e-4),
                "{kind:?}: {volume} vs {expected}"
            );
        }
    }

    #[test]
    fn zdt3_pieces_are_where_the_curve_sets_new_minima() {
        // A point of the curve is Pareto-optimal iff its f2 is below every f2 at smaller f1.
        let steps = 200_000;
        let mut best = f64::INFINITY;
        for i in 0..=steps {
            let first = i as f64 / steps as f64;
            let second = ZdtKind::Zdt3.front_second(first);
            let optimal = second < best;
            best = best.min(second);
            let inside = |margin: f64| {
                ZDT3_FRONT_PIECES
                    .iter()
                    .any(|&(lower, upper)| first >= lower + margin && first <= upper - margin)
            };
            if inside(1e-4) {
                assert!(optimal, "f1 = {first} should be optimal");
            }
            if !inside(-1e-4) {
                assert!(!optimal, "f1 = {first} should be dominated");
            }
        }
    }

    #[test]
    fn zdt6_smallest_first_objective_matches_the_constant() {
        let steps = 1_000_000;
        let smallest = (0..=steps)
            .map(|i| {
                let x = i as f64 / steps as f64;
                1.0 - (-4.0 * x).exp() * (6.0 * PI * x).sin().powi(6)
            })
            .fold(f64::INFINITY, f64::min);
        assert!(close(smallest, ZDT6_MINIMUM_F1, 1e-9), "{smallest}");
    }

    #[test]
    fn wrong_length_gives_nan() {
        let problem = Zdt::new(ZdtKind::Zdt1, 5).unwrap();
        for x in [vec![], vec![0.5; 4], vec![0.5; 6]] {
            let evaluation = problem.evaluate(&x);
            assert_eq!(evaluation.objectives.len(), 2);
            assert!(evaluation.objectives.iter().all(|v| v.is_nan()));
        }
    }
}
