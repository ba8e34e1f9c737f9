//! The quality metrics against hand-computed values.

use super::*;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn average_ranks_share_ties() {
    assert_eq!(average_ranks(&[3.0, 1.0, 2.0]), vec![3.0, 1.0, 2.0]);
    assert_eq!(
        average_ranks(&[10.0, 20.0, 20.0, 30.0]),
        vec![1.0, 2.5, 2.5, 4.0]
    );
    assert_eq!(average_ranks(&[5.0, 5.0, 5.0]), vec![2.0, 2.0, 2.0]);
    assert!(average_ranks(&[]).is_empty());
}

#[test]
fn spearman_by_hand() {
    // Monotone but not linear: rank correlation 1 (and −1 reversed).
    assert!(close(
        spearman(&[1.0, 2.0, 3.0, 4.0], &[1.0, 4.0, 9.0, 16.0]),
        1.0
    ));
    assert!(close(
        spearman(&[1.0, 2.0, 3.0, 4.0], &[16.0, 9.0, 4.0, 1.0]),
        -1.0
    ));
    // Ties: ranks [1, 2.5, 2.5, 4] vs [1, 2, 3, 4]: cov 4.5, var 4.5 and 5 → √0.9.
    assert!(close(
        spearman(&[1.0, 2.0, 2.0, 3.0], &[1.0, 2.0, 3.0, 4.0]),
        0.9_f64.sqrt()
    ));
    // Constant side, too few rows: undefined.
    assert!(spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]).is_nan());
    assert!(spearman(&[1.0], &[1.0]).is_nan());
}

#[test]
fn nrmse_by_hand() {
    // Errors [0, 0, 0, 2]: RMSE 1, range 3.
    assert!(close(
        nrmse(&[0.0, 1.0, 2.0, 5.0], &[0.0, 1.0, 2.0, 3.0]),
        1.0 / 3.0
    ));
    assert!(close(nrmse(&[4.0, 2.0], &[4.0, 2.0]), 0.0));
    // The range is that of the true values: constant truth is undefined.
    assert!(nrmse(&[1.0, 2.0, 3.0], &[2.0, 2.0, 2.0]).is_nan());
    assert!(nrmse(&[1.0], &[2.0]).is_nan());
}

#[test]
fn classification_by_hand() {
    let (t, f) = (true, false);
    // TP 2, FP 1, FN 1, TN 1.
    let (accuracy, f1) = classification(&[t, t, f, f, t], &[t, f, t, f, t]);
    assert!(close(accuracy, 0.6));
    assert!(close(f1, 2.0 / 3.0));
    // All one class.
    let (accuracy, f1) = classification(&[f, f, f], &[f, f, f]);
    assert!(close(accuracy, 1.0));
    assert!(f1.is_nan(), "no feasible row, none predicted: F1 undefined");
    let (accuracy, f1) = classification(&[t, t], &[t, t]);
    assert!(close(accuracy, 1.0) && close(f1, 1.0));
    let (accuracy, f1) = classification(&[f, f], &[t, t]);
    assert!(close(accuracy, 0.0) && close(f1, 0.0));
    let (accuracy, f1) = classification(&[], &[]);
    assert!(accuracy.is_nan() && f1.is_nan());
}

#[test]
fn feasible_probability_is_the_product() {
    assert!(close(feasible_probability(&[0.9, 0.5]), 0.45));
    assert!(close(feasible_probability(&[]), 1.0));
}

#[test]
fn batch_quality_by_hand() {
    let row = |predicted: Option<&'static [f64]>,
               p: Option<f64>,
               objectives: &'static [f64],
               finite: bool,
               feasible: bool| QualityRow {
        predicted,
        predicted_feasibility: p,
        objectives,
        finite,
        feasible,
    };
    let rows = [
        // Objective 1: truth [0, 1, 2, 3], predicted [0, 1, 2, 5] → NRMSE 1/3, Spearman 1.
        // Objective 2: constant truth → both undefined, so the means are objective 1's.
        row(Some(&[0.0, 1.0]), Some(0.9), &[0.0, 7.0], true, true),
        row(Some(&[1.0, 2.0]), Some(0.8), &[1.0, 7.0], true, false),
        row(Some(&[2.0, 3.0]), Some(0.2), &[2.0, 7.0], true, true),
        row(Some(&[5.0, 4.0]), Some(0.4), &[3.0, 7.0], true, false),
        // A failed evaluation: not in NRMSE/Spearman, counts as infeasible (and predicted
        // feasible: a false positive).
        row(
            Some(&[9.0, 9.0]),
            Some(0.6),
            &[f64::NAN, f64::NAN],
            false,
            false,
        ),
        // Proposed without a model: ignored everywhere.
        row(None, None, &[4.0, 7.0], true, true),
    ];
    let quality = batch_quality(&rows, true);
    assert!(close(quality.nrmse, 1.0 / 3.0), "{quality:?}");
    assert!(close(quality.spearman, 1.0), "{quality:?}");
    // Predicted [T, T, F, F, T] vs actual [T, F, T, F, F]: TP 1, FP 2, FN 1, TN 1.
    assert!(close(quality.feasibility_accuracy, 0.4), "{quality:?}");
    assert!(close(quality.feasibility_f1, 2.0 / 5.0), "{quality:?}");
    assert!(quality.is_measured());

    let unconstrained = batch_quality(&rows, false);
    assert!(unconstrained.feasibility_accuracy.is_nan() && unconstrained.feasibility_f1.is_nan());
    assert!(close(unconstrained.nrmse, 1.0 / 3.0));

    let no_model = batch_quality(&rows[5..], true);
    assert!(!no_model.is_measured(), "{no_model:?}");
    assert!(!BatchQuality::NONE.is_measured());
}
