//! Feasibility from a regression of the constraint values (`[surrogate] kind = "gp"` with
//! `feasibility = "gp"`): the classic constrained Bayesian optimization model (Gardner et al.,
//! "Bayesian Optimization with Inequality Constraints", ICML 2014).
//!
//! Any trainer whose model predicts a mean and a variance (the GP) is fitted to the constraint
//! values of every row — one output per constraint, the rows' objectives unused — and its
//! prediction `μ_c, σ_c` becomes the probability that constraint `c` holds,
//! `P(c > 0) = Φ(μ_c / σ_c)`, and the score `μ_c / σ_c` (positive when satisfied; the search's
//! violation is `Σ max(0, −score)`, see [`crate::strategy::search`]). Smooth real-valued
//! constraints (OSY's linear and quadratic ones, C2-DTLZ2's) are learned as precisely as the
//! objectives; constraints reported as ±1 flags become a least-squares GP classifier
//! (Rasmussen & Williams 2006, § 6.5).

use super::{Model, Prediction, SurrogateError, Trainer, TrainingData};

/// Smallest predicted standard deviation used in `μ / σ` (in the constraint's own units,
/// relative to its largest training magnitude), so that a model certain at a training point
/// gives a large but finite score.
const MIN_RELATIVE_STD: f64 = 1e-9;

/// Fits `inner` to the constraint values and predicts feasibility from it.
pub struct ConstraintRegressionTrainer {
    inner: Box<dyn Trainer>,
}

impl ConstraintRegressionTrainer {
    pub fn new(inner: Box<dyn Trainer>) -> Self {
        ConstraintRegressionTrainer { inner }
    }
}

impl Trainer for ConstraintRegressionTrainer {
    fn name(&self) -> &'static str {
        "constraint-regression"
    }

    fn models_feasibility(&self) -> bool {
        true
    }

    /// Rows whose constraint values are not all finite are left out. With no constraints or no
    /// usable rows the model predicts nothing about feasibility.
    fn fit(&self, data: &TrainingData, seed: u64) -> Result<Box<dyn Model>, SurrogateError> {
        let n_constraints = data.constraints.first().map_or(0, Vec::len);
        let rows: Vec<usize> = (0..data.len())
            .filter(|&i| {
                data.constraints[i].len() == n_constraints
                    && data.constraints[i].iter().all(|c| c.is_finite())
            })
            .collect();
        if n_constraints == 0 || rows.len() < 2 {
            return Ok(Box::new(ConstraintRegressionModel {
                inner: None,
                n_constraints,
                scale: Vec::new(),
            }));
        }
        let values = TrainingData {
            x: rows.iter().map(|&i| data.x[i].clone()).collect(),
            objectives: rows.iter().map(|&i| data.constraints[i].clone()).collect(),
            constraints: vec![Vec::new(); rows.len()],
        };
        let scale = (0..n_constraints)
            .map(|c| {
                values
                    .objectives
                    .iter()
                    .map(|row| row[c].abs())
                    .fold(0.0, f64::max)
                    .max(f64::MIN_POSITIVE)
            })
            .collect();
        let inner = self.inner.fit(&values, seed)?;
        Ok(Box::new(ConstraintRegressionModel {
            inner: Some(inner),
            n_constraints,
            scale,
        }))
    }
}

/// Constraint-value regression turned into feasibility.
pub struct ConstraintRegressionModel {
    inner: Option<Box<dyn Model>>,
    n_constraints: usize,
    /// Largest training magnitude per constraint (for the floor on `σ`).
    scale: Vec<f64>,
}

impl Model for ConstraintRegressionModel {
    /// The constraints stand in for objectives here; a composite takes the objectives from its
    /// other model.
    fn n_objectives(&self) -> usize {
        self.n_constraints
    }

    fn predict(&self, x: &[Vec<f64>]) -> Result<Prediction, SurrogateError> {
        let Some(inner) = &self.inner else {
            return Ok(Prediction {
                mean: vec![Vec::new(); x.len()],
                variance: None,
                feasibility: None,
                constraint_scores: None,
            });
        };
        let values = inner.predict(x)?;
        let variance = values.variance.as_ref().ok_or_else(|| {
            SurrogateError::BadData(
                "feasibility by constraint regression needs a model that predicts a variance"
                    .to_string(),
            )
        })?;
        let scores: Vec<Vec<f64>> = values
            .mean
            .iter()
            .zip(variance)
            .map(|(mean, variance)| {
                mean.iter()
                    .zip(variance)
                    .zip(&self.scale)
                    .map(|((m, v), scale)| {
                        let std = v.max(0.0).sqrt().max(MIN_RELATIVE_STD * scale);
                        m / std
                    })
                    .collect()
            })
            .collect();
        let probabilities = scores
            .iter()
            .map(|row| row.iter().map(|&z| normal_cdf(z)).collect())
            .collect();
        Ok(Prediction {
            mean: values.mean,
            variance: values.variance,
            feasibility: Some(probabilities),
            constraint_scores: Some(scores),
        })
    }

    /// Not used: a composite takes objective gradients from its objective model.
    fn objective_gradients(&self, x: &[Vec<f64>]) -> Result<Vec<Vec<Vec<f64>>>, SurrogateError> {
        match &self.inner {
            Some(inner) => inner.objective_gradients(x),
            None => Ok(vec![Vec::new(); x.len()]),
        }
    }
}

/// The standard normal distribution function `Φ(z) = ½ erfc(−z/√2)`.
///
/// Written here because the standard library has no `erf`; W. J. Cody's rational
/// approximation as given in Numerical Recipes (`erfcc`, fractional error < 1.2·10⁻⁷) is
/// plenty for a probability of feasibility.
pub fn normal_cdf(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    let x = -z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let polynomial = -x * x - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * polynomial.exp();
    let erfc = if x >= 0.0 { erfc } else { 2.0 - erfc };
    0.5 * erfc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Predicts `(x0 − 0.5)` with variance `0.01` for every output it was trained with.
    struct Line;
    struct LineModel {
        outputs: usize,
    }

    impl Trainer for Line {
        fn name(&self) -> &'static str {
            "line"
        }
        fn fit(&self, data: &TrainingData, _: u64) -> Result<Box<dyn Model>, SurrogateError> {
            assert!(data.constraints.iter().all(Vec::is_empty));
            Ok(Box::new(LineModel {
                outputs: data.objectives[0].len(),
            }))
        }
    }

    impl Model for LineModel {
        fn n_objectives(&self) -> usize {
            self.outputs
        }
        fn predict(&self, x: &[Vec<f64>]) -> Result<Prediction, SurrogateError> {
            Ok(Prediction {
                mean: x.iter().map(|p| vec![p[0] - 0.5; self.outputs]).collect(),
                variance: Some(vec![vec![0.01; self.outputs]; x.len()]),
                feasibility: None,
                constraint_scores: None,
            })
        }
        fn objective_gradients(
            &self,
            _: &[Vec<f64>],
        ) -> Result<Vec<Vec<Vec<f64>>>, SurrogateError> {
            Ok(Vec::new())
        }
    }

    #[test]
    fn the_normal_distribution_function_matches_known_values() {
        for (z, expected) in [
            (0.0, 0.5),
            (1.0, 0.841_344_746),
            (-1.0, 0.158_655_254),
            (1.96, 0.975_002_105),
            (-3.0, 0.001_349_898),
        ] {
            assert!((normal_cdf(z) - expected).abs() < 1e-6, "Φ({z})");
        }
        assert_eq!(normal_cdf(f64::INFINITY), 1.0);
        assert_eq!(normal_cdf(f64::NEG_INFINITY), 0.0);
    }

    #[test]
    fn feasibility_is_the_probability_that_the_regressed_value_is_positive() {
        let data = TrainingData {
            x: vec![vec![0.0], vec![1.0], vec![0.4]],
            objectives: vec![vec![1.0]; 3],
            constraints: vec![vec![-0.5, 3.0], vec![0.5, 3.0], vec![-0.1, f64::NAN]],
        };
        let model = ConstraintRegressionTrainer::new(Box::new(Line))
            .fit(&data, 1)
            .unwrap();
        let prediction = model.predict(&[vec![0.7], vec![0.5]]).unwrap();
        // μ = 0.2, σ = 0.1: score 2, P = Φ(2); at the boundary P = ½.
        let scores = prediction.constraint_scores.unwrap();
        let probabilities = prediction.feasibility.unwrap();
        assert!((scores[0][0] - 2.0).abs() < 1e-12 && scores[0].len() == 2);
        assert!((probabilities[0][0] - 0.977_249_868).abs() < 1e-6);
        assert!((probabilities[1][1] - 0.5).abs() < 1e-6);
    }

    #[test]
    fn without_constraints_nothing_is_predicted_about_feasibility() {
        let data = TrainingData {
            x: vec![vec![0.0], vec![1.0]],
            objectives: vec![vec![1.0]; 2],
            constraints: vec![Vec::new(); 2],
        };
        let model = ConstraintRegressionTrainer::new(Box::new(Line))
            .fit(&data, 1)
            .unwrap();
        assert!(model.predict(&[vec![0.3]]).unwrap().feasibility.is_none());
    }
}
