//! Surrogate quality on the points a model proposed, measured once they are evaluated: how well
//! epoch e's model predicted its own batch *before* those points were used for training (the
//! paper's "next-epoch test accuracy"). Pure functions; the strategy calls [`batch_quality`]
//! when an epoch's batch is complete.
//!
//! Definitions (also in `docs/file-format.md`):
//! - **NRMSE** of one objective = RMSE(predicted, true) / (max − min of the true values), over
//!   the batch's rows with finite true objectives and a prediction; NaN with fewer than 2 rows
//!   or a zero range. The batch's NRMSE is the mean over the objectives where it is defined
//!   (NaN where none is).
//! - **Spearman** of one objective = the Pearson correlation of the ranks of predicted and true
//!   values (tied values get the average of their positions), over the same rows; NaN with
//!   fewer than 2 rows or when either side is constant. Averaged over objectives likewise.
//! - **Feasibility**: a point is predicted feasible when its predicted probability of being
//!   feasible — the product of the per-constraint probabilities ([`feasible_probability`]) —
//!   is > 0.5; it is feasible when the evaluation succeeded with finite objectives and every
//!   constraint > 0 (a failed simulation counts as infeasible). Over every row of the batch
//!   with a predicted probability: accuracy = share of rows predicted correctly; F1 of the
//!   feasible class = 2·TP / (2·TP + FP + FN), NaN when TP + FP + FN = 0 (no feasible row,
//!   none predicted). Both NaN when the problem has no constraints or the model predicts no
//!   feasibility.

/// Quality of one epoch's model on its own batch; NaN where not applicable.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchQuality {
    pub nrmse: f64,
    pub spearman: f64,
    pub feasibility_accuracy: f64,
    pub feasibility_f1: f64,
}

impl BatchQuality {
    /// Nothing measured (the initial design, the direct search, a model without predictions).
    pub const NONE: Self = Self {
        nrmse: f64::NAN,
        spearman: f64::NAN,
        feasibility_accuracy: f64::NAN,
        feasibility_f1: f64::NAN,
    };

    /// Whether any metric was measured.
    pub fn is_measured(&self) -> bool {
        [
            self.nrmse,
            self.spearman,
            self.feasibility_accuracy,
            self.feasibility_f1,
        ]
        .iter()
        .any(|v| !v.is_nan())
    }
}

/// One evaluated point of a batch with what its model predicted for it.
#[derive(Debug, Clone, Copy)]
pub struct QualityRow<'a> {
    /// Predicted objectives (`None` for points proposed without a model).
    pub predicted: Option<&'a [f64]>,
    /// Predicted probability that the point is feasible (`None` without a feasibility model).
    pub predicted_feasibility: Option<f64>,
    /// True objectives.
    pub objectives: &'a [f64],
    /// Whether the evaluation succeeded with finite objectives.
    pub finite: bool,
    /// Whether it is feasible (finite and every constraint satisfied).
    pub feasible: bool,
}

/// The quality of a batch's predictions (see the module documentation);
/// `has_constraints`: whether the problem has constraints (feasibility is measured only then).
pub fn batch_quality(rows: &[QualityRow], has_constraints: bool) -> BatchQuality {
    let scored: Vec<(&[f64], &[f64])> = rows
        .iter()
        .filter(|r| r.finite)
        .filter_map(|r| r.predicted.map(|p| (p, r.objectives)))
        .collect();
    let n_objectives = scored.first().map_or(0, |(p, t)| p.len().min(t.len()));
    let per_objective = |metric: fn(&[f64], &[f64]) -> f64| {
        let values: Vec<f64> = (0..n_objectives)
            .map(|j| {
                let predicted: Vec<f64> = scored.iter().map(|(p, _)| p[j]).collect();
                let truth: Vec<f64> = scored.iter().map(|(_, t)| t[j]).collect();
                metric(&predicted, &truth)
            })
            .collect();
        mean_defined(&values)
    };
    let (feasibility_accuracy, feasibility_f1) = if has_constraints {
        let (predicted, actual): (Vec<bool>, Vec<bool>) = rows
            .iter()
            .filter_map(|r| r.predicted_feasibility.map(|p| (p > 0.5, r.feasible)))
            .unzip();
        classification(&predicted, &actual)
    } else {
        (f64::NAN, f64::NAN)
    };
    BatchQuality {
        nrmse: per_objective(nrmse),
        spearman: per_objective(spearman),
        feasibility_accuracy,
        feasibility_f1,
    }
}

/// The probability that every constraint is satisfied, from per-constraint probabilities
/// (their product: constraints treated as independent; 1 for no constraints).
pub fn feasible_probability(per_constraint: &[f64]) -> f64 {
    per_constraint.iter().product()
}

/// RMSE(predicted, truth) / (max − min of truth); NaN with fewer than 2 values or a zero range.
pub fn nrmse(predicted: &[f64], truth: &[f64]) -> f64 {
    let n = predicted.len().min(truth.len());
    if n < 2 {
        return f64::NAN;
    }
    let (lo, hi) = truth[..n]
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let range = hi - lo;
    if range.is_nan() || range <= 0.0 {
        return f64::NAN;
    }
    let mse = predicted
        .iter()
        .zip(truth)
        .map(|(p, t)| (p - t) * (p - t))
        .sum::<f64>()
        / n as f64;
    mse.sqrt() / range
}

/// Spearman's rank correlation (average ranks for ties); NaN with fewer than 2 values or when
/// either side is constant.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    if n < 2 {
        return f64::NAN;
    }
    pearson(&average_ranks(&a[..n]), &average_ranks(&b[..n]))
}

/// 1-based ranks; tied values share the average of their positions (NaN sorts last).
pub fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]).then(i.cmp(&j)));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Positions start+1 ..= end share their mean.
        let rank = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        cov += (x - ma) * (y - mb);
        va += (x - ma) * (x - ma);
        vb += (y - mb) * (y - mb);
    }
    if va <= 0.0 || vb <= 0.0 {
        return f64::NAN;
    }
    cov / (va * vb).sqrt()
}

/// (accuracy, F1 of the positive class) of `predicted` against `actual`; accuracy NaN when
/// empty, F1 NaN when there is neither a positive prediction nor a positive row.
pub fn classification(predicted: &[bool], actual: &[bool]) -> (f64, f64) {
    let n = predicted.len().min(actual.len());
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let (mut tp, mut fp, mut fn_, mut correct) = (0usize, 0usize, 0usize, 0usize);
    for (&p, &a) in predicted.iter().zip(actual) {
        match (p, a) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fn_ += 1,
            (false, false) => {}
        }
        correct += usize::from(p == a);
    }
    let accuracy = correct as f64 / n as f64;
    let denominator = 2 * tp + fp + fn_;
    let f1 = if denominator == 0 {
        f64::NAN
    } else {
        (2 * tp) as f64 / denominator as f64
    };
    (accuracy, f1)
}

/// The mean of the non-NaN values; NaN when there are none.
fn mean_defined(values: &[f64]) -> f64 {
    let defined: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if defined.is_empty() {
        f64::NAN
    } else {
        defined.iter().sum::<f64>() / defined.len() as f64
    }
}

#[cfg(test)]
#[path = "quality_tests.rs"]
mod tests;
