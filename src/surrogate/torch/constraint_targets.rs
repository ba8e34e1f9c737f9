//! Constraint targets of the joint neural surrogates: what each constraint head learns, and
//! how its output becomes a feasibility score.
//!
//! A constraint value `c > 0` means satisfied. Each of the `k` constraint heads learns one of:
//!
//! - **label** (the paper's head): a logit trained with binary cross-entropy on `1[c > 0]`.
//!   Right for pass/fail flags (the neuron models return ±1), and the only choice there.
//! - **value**: a regression on `t = asinh(c / s)` with `s` the median of `|c|` over the training
//!   rows (MSE, like the objectives). `asinh` keeps the sign, is linear near the boundary and
//!   logarithmic far from it, so constraints spanning decades train as well as the objectives.
//!   A value head still knows *how far* a point is from feasibility when no training row is
//!   feasible — then every label is 0, binary cross-entropy has nothing to learn and the
//!   search is blind (C2-DTLZ2 from a random design).
//!
//! `auto` (the default) picks `value` for a column with at least three distinct values and
//! `label` for flags (at most two distinct values).
//!
//! Both heads give a *score* per constraint, positive when the point is predicted to satisfy
//! it: the logit of a label head, [`VALUE_SCORE_GAIN`]` · t̂` of a value head. The predicted
//! probability of satisfying the constraint is `sigmoid(score)`; the search ranks predicted
//! infeasible points by `Σ max(0, −score)`, which, unlike a probability, does not saturate far
//! from the feasible region.

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
    /// Chooses each column's head (see the module documentation) from `constraints`
    /// (rows of `width` finite values).
    pub fn fit(constraints: &[Vec<f64>], width: usize, choice: ConstraintTarget) -> Self {
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
                        scale: median_magnitude(&column),
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

    pub fn has_value_heads(&self) -> bool {
        self.heads
            .iter()
            .any(|head| matches!(head, HeadKind::Value { .. }))
    }
}

/// `1 − value_mask`: 1 for a label head, 0 for a value head.
fn label_mask(value_mask: &Tensor) -> Result<Tensor, SurrogateError> {
    value_mask
        .f_neg()
        .and_then(|m| m.f_add_scalar(1.0))
        .context("the constraint head mask")
}

/// What each head's output `[.., k]` estimates of its target: a value head's output itself,
/// a label head's probability (the sigmoid of its logit).
pub fn head_estimates(outputs: &Tensor, value_mask: &Tensor) -> Result<Tensor, SurrogateError> {
    let label_mask = label_mask(value_mask)?;
    outputs
        .f_mul(value_mask)
        .and_then(|values| values.f_add(&outputs.f_sigmoid()?.f_mul(&label_mask)?))
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
    let label_mask = label_mask(value_mask)?;
    squared
        .f_mul(value_mask)
        .and_then(|v| v.f_add(&cross_entropy.f_mul(&label_mask)?))
        .context("combining constraint losses")
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

/// Median of `|c|` over the column; 1 when that is 0 (or the column is empty).
fn median_magnitude(column: &[f64]) -> f64 {
    let mut magnitudes: Vec<f64> = column.iter().map(|c| c.abs()).collect();
    magnitudes.sort_by(f64::total_cmp);
    let median = match magnitudes.len() {
        0 => 0.0,
        n if n % 2 == 1 => magnitudes[n / 2],
        n => 0.5 * (magnitudes[n / 2 - 1] + magnitudes[n / 2]),
    };
    if median > 0.0 && median.is_finite() {
        median
    } else {
        1.0
    }
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
        let targets = ConstraintTargets::fit(&rows, 3, ConstraintTarget::Auto);
        assert_eq!(targets.heads[0], HeadKind::Label);
        assert_eq!(targets.heads[1], HeadKind::Value { scale: 2.0 });
        assert_eq!(targets.heads[2], HeadKind::Label);
        assert_eq!(targets.value_mask(), vec![0.0, 1.0, 0.0]);
        assert_eq!(targets.score_gain(), vec![1.0, VALUE_SCORE_GAIN, 1.0]);
        assert!(targets.has_value_heads());
    }

    #[test]
    fn forced_choices_apply_to_every_column() {
        let rows = vec![vec![1.0, -0.5], vec![-1.0, 2.0], vec![3.0, -8.0]];
        let labels = ConstraintTargets::fit(&rows, 2, ConstraintTarget::Label);
        assert!(!labels.has_value_heads());
        assert_eq!(labels.forward(&[0.5, -0.5]), vec![1.0, 0.0]);
        assert_eq!(labels.forward(&[0.0, 1.0]), vec![0.0, 1.0]);
        let values = ConstraintTargets::fit(&rows, 2, ConstraintTarget::Value);
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
        let targets = ConstraintTargets::fit(&rows, 1, ConstraintTarget::Auto);
        assert_eq!(targets.heads[0], HeadKind::Value { scale: 1.0 });
    }
}
