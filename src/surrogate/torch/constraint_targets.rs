//! Constraint targets of the joint neural surrogates: what each constraint head learns, and
//! how its output becomes a feasibility score.
//!
//! A constraint value `c > 0` means satisfied. Each of the `k` constraint heads learns one of:
//!
//! - **label** (the paper's head): a logit trained with binary cross-entropy on `1[c > 0]`.
//!   Right for pass/fail flags (the neuron models return ±1), and the only choice there.
//! - **value**: a regression on `t = asinh(c / s)` (MSE, like the objectives). `asinh` keeps the
//!   sign, is linear within `s` of the boundary and logarithmic beyond. The scale `s`
//!   ([`ConstraintScale`]) is by default the median of `|c|` over the training rows, which makes
//!   the target logarithmic for half of the rows (constraints spanning decades train as well as
//!   the objectives); once the evaluations crowd onto the boundary, where the fronts of
//!   constrained problems lie, that median shrinks and the target grows steep there. The root
//!   mean square of `c` (the alternative) keeps the target nearly linear over the bulk of the
//!   rows and compresses only outliers — right for polynomial constraints (OSY, C2-DTLZ2).
//!   A value head still knows *how far* a point is from feasibility when no training row is
//!   feasible — then every label is 0, binary cross-entropy has nothing to learn and the
//!   search is blind (C2-DTLZ2 from a random design).
//!
//! `auto` (the default) picks `value` for a column with at least three distinct values and
//! `label` for flags (at most two distinct values).
//!
//! Both heads give a *score* per constraint, positive when the point is predicted to satisfy
//! it: the logit of a label head, [`VALUE_SCORE_GAIN`]` · t̂` of a value head. The search ranks
//! predicted infeasible points by `Σ max(0, −score)`, which, unlike a probability, does not
//! saturate far from the feasible region. The predicted probability of satisfying the
//! constraint ([`ConstraintProbability`]) is a label head's `sigmoid(logit)`; for a value head
//! by default `sigmoid(score)` as well, or `Φ(t̂ / σ)` with `σ` the head's held-out root mean
//! squared error in the cross-validation (the chance that the true target is on the feasible
//! side, if the prediction errs like it did on held-out rows): as sharp as the head is
//! accurate, where the logistic form gives a point `s / 4` inside the boundary `p ≈ 0.73`
//! however well the model knows the boundary.

use serde::{Deserialize, Serialize};
use tch::{Reduction, Tensor};

use super::TorchResultExt;
use crate::surrogate::SurrogateError;

/// Feasibility score per unit of the normalized value target: `p = sigmoid(4 · asinh(c/s))`,
/// so a point at `c = s/4` away from the boundary is predicted feasible with p ≈ 0.73.
pub const VALUE_SCORE_GAIN: f64 = 4.0;

/// How the constraint heads are trained (`[surrogate] constraint_target`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConstraintTarget {
    /// `value` for columns with three or more distinct values, `label` for flags.
    #[default]
    Auto,
    /// Binary cross-entropy on `1[c > 0]` for every constraint (the paper).
    Label,
    /// Regression on `asinh(c / s)` for every constraint.
    Value,
}

/// The scale `s` of a value head's target `asinh(c / s)` (`[surrogate] constraint_scale`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConstraintScale {
    /// The median of `|c|` over the training rows.
    #[default]
    Median,
    /// The root mean square of `c` over the training rows.
    Rms,
}

impl ConstraintScale {
    /// The scale of one column; 1 where it would be 0 or not finite.
    fn of(self, column: &[f64]) -> f64 {
        let scale = match self {
            ConstraintScale::Rms => root_mean_square(column),
            ConstraintScale::Median => median_magnitude(column),
        };
        if scale > 0.0 && scale.is_finite() {
            scale
        } else {
            1.0
        }
    }
}

/// How a value head's prediction becomes a probability of feasibility
/// (`[surrogate] constraint_probability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConstraintProbability {
    /// `sigmoid(VALUE_SCORE_GAIN · t̂)`.
    #[default]
    Logistic,
    /// `Φ(t̂ / σ)` with `σ` the head's held-out error in the cross-validation (the logistic
    /// form where no cross-validation ran).
    HeldOut,
    /// [`ConstraintProbability::HeldOut`] with `σ` measured on the held-out rows the head
    /// predicts near its boundary (see `training::boundary_weights`): sharper where fronts lie
    /// on several boundaries at once.
    HeldOutBoundary,
}

impl ConstraintProbability {
    /// Whether a value head's probability is `Φ(t̂ / σ)` (either held-out form).
    pub fn is_held_out(self) -> bool {
        matches!(self, Self::HeldOut | Self::HeldOutBoundary)
    }
}

/// A value head's held-out error below this is taken as this (a perfect fit on the folds
/// must not make the probability a step at the predicted boundary).
pub const MIN_HELD_OUT_ERROR: f64 = 1e-3;

impl ConstraintTarget {
    pub fn as_str(self) -> &'static str {
        match self {
            ConstraintTarget::Auto => "auto",
            ConstraintTarget::Label => "label",
            ConstraintTarget::Value => "value",
        }
    }
}

/// What one constraint head learns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HeadKind {
    Label,
    /// Regression on `asinh(c / scale)`.
    Value {
        scale: f64,
    },
}

/// The fitted targets of `k` constraint heads.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConstraintTargets {
    pub heads: Vec<HeadKind>,
}

impl ConstraintTargets {
    /// Chooses each column's head and a value head's scale (see the module documentation) from
    /// `constraints` (rows of `width` finite values).
    pub fn fit(
        constraints: &[Vec<f64>],
        width: usize,
        choice: ConstraintTarget,
        scale: ConstraintScale,
    ) -> Self {
        let heads = (0..width)
            .map(|j| {
                let column: Vec<f64> = constraints.iter().map(|row| row[j]).collect();
                let value = match choice {
                    ConstraintTarget::Label => false,
                    ConstraintTarget::Value => true,
                    ConstraintTarget::Auto => distinct_values_at_least(&column, 3),
                };
                if value {
                    HeadKind::Value {
                        scale: scale.of(&column),
                    }
                } else {
                    HeadKind::Label
                }
            })
            .collect();
        ConstraintTargets { heads }
    }

    /// Training targets of one row: labels `1[c > 0]` or `asinh(c / s)`.
    pub fn forward(&self, row: &[f64]) -> Vec<f64> {
        self.heads
            .iter()
            .zip(row)
            .map(|(head, &c)| match head {
                HeadKind::Label => f64::from(u8::from(c > 0.0)),
                HeadKind::Value { scale } => (c / scale).asinh(),
            })
            .collect()
    }

    /// Per head: 1 for a value head (MSE), 0 for a label head (binary cross-entropy).
    pub fn value_mask(&self) -> Vec<f64> {
        self.heads
            .iter()
            .map(|head| f64::from(u8::from(matches!(head, HeadKind::Value { .. }))))
            .collect()
    }

    /// Per head: the factor from the head's output to its feasibility score.
    pub fn score_gain(&self) -> Vec<f64> {
        self.heads
            .iter()
            .map(|head| match head {
                HeadKind::Label => 1.0,
                HeadKind::Value { .. } => VALUE_SCORE_GAIN,
            })
            .collect()
    }

    /// How each head's score becomes a probability: under either held-out form
    /// ([`ConstraintProbability::is_held_out`]) a value head with a held-out error `σ`
    /// (`held_out_error`, per head; empty when no cross-validation ran) maps its score `g · t̂`
    /// to `Φ(t̂ / σ)`; every other head to `sigmoid(score)`.
    pub fn probability_map(
        &self,
        choice: ConstraintProbability,
        held_out_error: &[f64],
    ) -> ProbabilityMap {
        let held_out = choice.is_held_out();
        let per_head: Vec<Option<f64>> = self
            .heads
            .iter()
            .enumerate()
            .map(|(j, head)| {
                if !held_out || !matches!(head, HeadKind::Value { .. }) {
                    return None;
                }
                let error = held_out_error.get(j).copied().filter(|e| e.is_finite())?;
                Some(1.0 / (VALUE_SCORE_GAIN * error.max(MIN_HELD_OUT_ERROR)))
            })
            .collect();
        ProbabilityMap {
            normal_factor: per_head.iter().map(|f| f.unwrap_or(1.0)).collect(),
            normal: per_head.iter().map(Option::is_some).collect(),
        }
    }

    pub fn has_value_heads(&self) -> bool {
        self.heads
            .iter()
            .any(|head| matches!(head, HeadKind::Value { .. }))
    }
}

/// Per head, how its feasibility score becomes a probability (see
/// [`ConstraintTargets::probability_map`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProbabilityMap {
    /// `Φ(score · normal_factor)` where `normal` holds.
    pub normal_factor: Vec<f64>,
    /// Per head: the normal form (else `sigmoid(score)`).
    pub normal: Vec<bool>,
}

impl ProbabilityMap {
    /// The map's `[k]` factors and 0/1 mask on `device`, for [`probabilities`].
    pub fn upload(&self, device: tch::Device) -> Result<(Tensor, Tensor), SurrogateError> {
        let mask: Vec<f64> = self
            .normal
            .iter()
            .map(|&n| f64::from(u8::from(n)))
            .collect();
        let upload = |values: &[f64]| {
            Tensor::f_from_slice(values)
                .and_then(|t| t.f_to_kind(tch::Kind::Float))
                .and_then(|t| t.f_to(device))
                .context("uploading the constraint probability map")
        };
        Ok((upload(&self.normal_factor)?, upload(&mask)?))
    }
}

/// Probabilities of feasibility `[.., k]` from feasibility scores `[.., k]`: `Φ(score · factor)`
/// where `normal_mask` is 1, `sigmoid(score)` where it is 0 (tensors of
/// [`ProbabilityMap::upload`]). `Φ(z) = erfc(−z/√2) / 2`, accurate in both tails.
pub fn probabilities(
    scores: &Tensor,
    normal_factor: &Tensor,
    normal_mask: &Tensor,
) -> Result<Tensor, SurrogateError> {
    let normal = scores
        .f_mul(normal_factor)
        .and_then(|z| z.f_mul_scalar(-std::f64::consts::FRAC_1_SQRT_2))
        .and_then(|z| z.f_erfc())
        .and_then(|t| t.f_mul_scalar(0.5))
        .context("the normal feasibility probabilities")?;
    let logistic = scores
        .f_sigmoid()
        .context("the logistic feasibility probabilities")?;
    blend(&normal, &logistic, normal_mask).context("combining feasibility probabilities")
}

/// Per head: `where_one` where `mask` is 1, `where_zero` where it is 0.
pub(super) fn blend(
    where_one: &Tensor,
    where_zero: &Tensor,
    mask: &Tensor,
) -> Result<Tensor, tch::TchError> {
    let other = mask.f_neg()?.f_add_scalar(1.0)?;
    where_one.f_mul(mask)?.f_add(&where_zero.f_mul(&other)?)
}

/// What each head's output `[.., k]` estimates of its target: a value head's output itself,
/// a label head's probability (the sigmoid of its logit).
pub fn head_estimates(outputs: &Tensor, value_mask: &Tensor) -> Result<Tensor, SurrogateError> {
    outputs
        .f_sigmoid()
        .and_then(|probability| blend(outputs, &probability, value_mask))
        .context("the constraint heads' estimates")
}

/// Element-wise constraint loss `[rows, k]`: squared error where `value_mask` is 1, binary
/// cross-entropy with logits where it is 0.
pub fn constraint_loss(
    outputs: &Tensor,
    targets: &Tensor,
    value_mask: &Tensor,
) -> Result<Tensor, SurrogateError> {
    let cross_entropy = outputs
        .f_binary_cross_entropy_with_logits::<Tensor>(targets, None, None, Reduction::None)
        .context("the constraint label loss")?;
    let squared = outputs
        .f_sub(targets)
        .and_then(|d| d.f_square())
        .context("the constraint value loss")?;
    blend(&squared, &cross_entropy, value_mask).context("combining constraint losses")
}

fn distinct_values_at_least(column: &[f64], count: usize) -> bool {
    let mut seen: Vec<f64> = Vec::with_capacity(count);
    for &value in column {
        if !seen.contains(&value) {
            seen.push(value);
            if seen.len() >= count {
                return true;
            }
        }
    }
    false
}

/// Median of `|c|` over the column (0 when it is empty).
fn median_magnitude(column: &[f64]) -> f64 {
    let mut magnitudes: Vec<f64> = column.iter().map(|c| c.abs()).collect();
    magnitudes.sort_by(f64::total_cmp);
    match magnitudes.len() {
        0 => 0.0,
        n if n % 2 == 1 => magnitudes[n / 2],
        n => 0.5 * (magnitudes[n / 2 - 1] + magnitudes[n / 2]),
    }
}

/// Root mean square of the column (0 when it is empty).
fn root_mean_square(column: &[f64]) -> f64 {
    if column.is_empty() {
        return 0.0;
    }
    (column.iter().map(|c| c * c).sum::<f64>() / column.len() as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_picks_labels_for_flags_and_values_otherwise() {
        let rows = vec![
            vec![1.0, -0.5, 0.0],
            vec![-1.0, 2.0, 1.0],
            vec![1.0, -8.0, 0.0],
        ];
        let targets =
            ConstraintTargets::fit(&rows, 3, ConstraintTarget::Auto, ConstraintScale::Median);
        assert_eq!(targets.heads[0], HeadKind::Label);
        assert_eq!(targets.heads[1], HeadKind::Value { scale: 2.0 });
        assert_eq!(targets.heads[2], HeadKind::Label);
        assert_eq!(targets.value_mask(), vec![0.0, 1.0, 0.0]);
        assert_eq!(targets.score_gain(), vec![1.0, VALUE_SCORE_GAIN, 1.0]);
        assert!(targets.has_value_heads());
    }

    #[test]
    fn the_rms_scale_is_the_root_mean_square_of_the_column() {
        let rows = vec![vec![-0.5], vec![2.0], vec![-8.0], vec![0.0]];
        let rms = ConstraintTargets::fit(&rows, 1, ConstraintTarget::Value, ConstraintScale::Rms);
        let expected = ((0.25 + 4.0 + 64.0) / 4.0f64).sqrt();
        assert_eq!(rms.heads[0], HeadKind::Value { scale: expected });
        let median =
            ConstraintTargets::fit(&rows, 1, ConstraintTarget::Value, ConstraintScale::Median);
        assert_eq!(median.heads[0], HeadKind::Value { scale: 1.25 });
        // An all-zero column falls back to 1.
        let zeros = vec![vec![0.0]; 3];
        let targets =
            ConstraintTargets::fit(&zeros, 1, ConstraintTarget::Value, ConstraintScale::Rms);
        assert_eq!(targets.heads[0], HeadKind::Value { scale: 1.0 });
    }

    fn probabilities_of(map: &ProbabilityMap, scores: &[f32]) -> Vec<f32> {
        let (factor, mask) = map.upload(tch::Device::Cpu).unwrap();
        let scores = Tensor::from_slice(scores).view([1, -1]);
        let p = probabilities(&scores, &factor, &mask).unwrap();
        Vec::<f32>::try_from(p.flatten(0, -1)).unwrap()
    }

    #[test]
    fn held_out_probabilities_are_normal_in_units_of_the_held_out_error() {
        let targets = ConstraintTargets {
            heads: vec![HeadKind::Label, HeadKind::Value { scale: 1.0 }],
        };
        let map = targets.probability_map(ConstraintProbability::HeldOut, &[0.3, 0.05]);
        assert_eq!(map.normal, vec![false, true]);
        // A value head predicting t̂ = σ (score 4σ) is feasible with Φ(1); 2σ below, Φ(−2).
        let gain = VALUE_SCORE_GAIN as f32;
        let p = probabilities_of(&map, &[0.0, gain * 0.05]);
        assert!(
            (p[0] - 0.5).abs() < 1e-6,
            "a label head stays logistic: {p:?}"
        );
        assert!((p[1] - 0.841_345).abs() < 1e-4, "{p:?}");
        let p = probabilities_of(&map, &[2.0, -gain * 0.1]);
        assert!((p[0] - 1.0 / (1.0 + (-2.0f32).exp())).abs() < 1e-6, "{p:?}");
        assert!((p[1] - 0.022_750).abs() < 1e-4, "{p:?}");
        // Far tails do not round to exactly 0 or 1 too early, and stay ordered.
        let p = probabilities_of(&map, &[0.0, -gain * 0.4]);
        assert!(p[1] > 0.0 && p[1] < 1e-10, "{p:?}");
    }

    #[test]
    fn logistic_probabilities_without_a_held_out_error_or_when_chosen() {
        let targets = ConstraintTargets {
            heads: vec![HeadKind::Value { scale: 1.0 }],
        };
        let logistic = 1.0 / (1.0 + (-1.0f32).exp());
        for map in [
            targets.probability_map(ConstraintProbability::Logistic, &[0.05]),
            targets.probability_map(ConstraintProbability::HeldOut, &[]),
            targets.probability_map(ConstraintProbability::HeldOut, &[f64::NAN]),
        ] {
            assert_eq!(map.normal, vec![false]);
            let p = probabilities_of(&map, &[1.0]);
            assert!((p[0] - logistic).abs() < 1e-6, "{p:?}");
        }
        // A perfect fit on the folds does not make the probability a step.
        let map = targets.probability_map(ConstraintProbability::HeldOut, &[0.0]);
        let factor = 1.0 / (VALUE_SCORE_GAIN * MIN_HELD_OUT_ERROR);
        assert_eq!(map.normal_factor, vec![factor]);
    }

    #[test]
    fn forced_choices_apply_to_every_column() {
        let rows = vec![vec![1.0, -0.5], vec![-1.0, 2.0], vec![3.0, -8.0]];
        let labels =
            ConstraintTargets::fit(&rows, 2, ConstraintTarget::Label, ConstraintScale::Median);
        assert!(!labels.has_value_heads());
        assert_eq!(labels.forward(&[0.5, -0.5]), vec![1.0, 0.0]);
        assert_eq!(labels.forward(&[0.0, 1.0]), vec![0.0, 1.0]);
        let values =
            ConstraintTargets::fit(&rows, 2, ConstraintTarget::Value, ConstraintScale::Median);
        assert_eq!(values.heads[0], HeadKind::Value { scale: 1.0 });
        let t = values.forward(&[-3.0, 4.0]);
        assert!((t[0] - (-3.0f64).asinh()).abs() < 1e-12);
        assert!((t[1] - 2.0f64.asinh()).abs() < 1e-12);
    }

    #[test]
    fn value_targets_keep_the_sign_and_compress_magnitudes() {
        let targets = ConstraintTargets {
            heads: vec![HeadKind::Value { scale: 1.0 }],
        };
        let near = targets.forward(&[0.01])[0];
        let far = targets.forward(&[1e6])[0];
        assert!(near > 0.0 && (near - 0.01).abs() < 1e-6);
        assert!(far > 10.0 && far < 20.0);
        assert!(targets.forward(&[-1e6])[0] < -10.0);
        assert_eq!(targets.forward(&[0.0])[0], 0.0);
    }

    #[test]
    fn the_loss_is_squared_error_for_values_and_cross_entropy_for_labels() {
        let outputs = Tensor::from_slice(&[0.5f32, 2.0]).view([1, 2]);
        let targets = Tensor::from_slice(&[1.0f32, 1.5]).view([1, 2]);
        let mask = Tensor::from_slice(&[0.0f32, 1.0]);
        let loss = constraint_loss(&outputs, &targets, &mask).unwrap();
        let loss = Vec::<f32>::try_from(loss.flatten(0, -1)).unwrap();
        let bce = (1.0 + (-0.5f32).exp()).ln();
        assert!((loss[0] - bce).abs() < 1e-6, "{loss:?}");
        assert!((loss[1] - 0.25).abs() < 1e-6, "{loss:?}");
    }

    #[test]
    fn a_zero_column_gets_unit_scale() {
        let rows = vec![vec![0.0], vec![0.0], vec![0.0], vec![5.0], vec![-5.0]];
        let targets =
            ConstraintTargets::fit(&rows, 1, ConstraintTarget::Auto, ConstraintScale::Median);
        assert_eq!(targets.heads[0], HeadKind::Value { scale: 1.0 });
    }
}
