use super::*;
use crate::surrogate::torch::networks::Activation;
use rand::Rng;

/// `y = sin(3 x0) + x1² + noise` and a constraint label `x0 > x1`, `rows` rows, 3 inputs.
fn dataset(rows: usize, noise: f64, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut x, mut y, mut labels) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rows {
        let point: Vec<f32> = (0..3).map(|_| rng.random::<f32>()).collect();
        let value = (3.0 * point[0]).sin() + point[1] * point[1];
        y.push(value + (noise * (rng.random::<f64>() - 0.5)) as f32);
        labels.push(if point[0] > point[1] { 1f32 } else { 0.0 });
        x.extend(point);
    }
    let n = rows as i64;
    Dataset {
        x: Tensor::from_slice(&x).view([n, 3]),
        objectives: Tensor::from_slice(&y).view([n, 1]),
        labels: Tensor::from_slice(&labels).view([n, 1]),
        value_mask: Tensor::from_slice(&[0f32]),
    }
}

fn spec(architecture: &Architecture) -> NetworkSpec<'_> {
    NetworkSpec {
        architecture,
        inputs: 3,
        objectives: 1,
        constraints: 1,
        device: Device::Cpu,
    }
}

fn config() -> TrainingConfig {
    TrainingConfig {
        learning_rate: 5e-3,
        batch_size: 16,
        max_epochs: 400,
        patience: 30,
        ..TrainingConfig::default()
    }
}

fn mlp() -> Architecture {
    Architecture::Mlp {
        width: 64,
        depth: 2,
        activation: Activation::Relu,
    }
}

fn resnet() -> Architecture {
    Architecture::Resnet {
        width: 16,
        hidden: 32,
        blocks: 1,
        dropout: 0.1,
    }
}

#[test]
fn a_member_trains_as_if_alone_whatever_the_others_rows() {
    let data = dataset(40, 0.0, 1);
    for architecture in [mlp(), resnet()] {
        let member_zero: Vec<i64> = (0..20).collect();
        let fit_with = |other: Vec<i64>| {
            let rows = MemberRows::subsets(&[member_zero.clone(), other], Device::Cpu).unwrap();
            with_seed(3, || {
                train(
                    &spec(&architecture),
                    &config(),
                    &data,
                    &rows,
                    20,
                    None,
                    None,
                )
                .unwrap()
            })
        };
        let first = fit_with((20..40).collect());
        let second = fit_with((0..40).rev().step_by(2).collect());
        let probe = dataset(10, 0.0, 2).x.unsqueeze(0).expand([2, 10, 3], false);
        let predict =
            |fitted: &Fitted| tch::no_grad(|| fitted.network.forward(&probe, false)).unwrap();
        let (a, b) = (predict(&first), predict(&second));
        let difference = |m: i64| {
            (a.narrow(0, m, 1) - b.narrow(0, m, 1))
                .abs()
                .max()
                .double_value(&[])
        };
        let name = architecture.name();
        assert!(
            difference(0) < 1e-5,
            "{name}: member 0 moved {}",
            difference(0)
        );
        assert!(difference(1) > 1e-3, "{name}: member 1 saw other rows");
    }
}

#[test]
fn stacked_cross_validation_selects_a_sensible_epoch_count() {
    // Few noisy rows: the validation loss falls, then rises as the network overfits, so each
    // fold stops early at an interior best epoch.
    let noisy = dataset(60, 0.6, 4);
    let architecture = mlp();
    let mut settings = config();
    settings.cv_time_budget = Duration::from_secs(600);
    let selection = with_seed(5, || {
        select_epochs(&spec(&architecture), &settings, &noisy, 5)
    })
    .unwrap();
    assert_eq!(selection.fold_epochs.len(), 3);
    for &best in &selection.fold_epochs {
        assert!(
            (5..settings.max_epochs - settings.patience).contains(&best),
            "{selection:?}"
        );
    }
    let mean = selection.fold_epochs.iter().sum::<usize>() as f64 / 3.0;
    assert_eq!(selection.epochs, mean.round() as usize);
    // Folds one after the other pick a count of the same order.
    settings.stacking = Stacking::Sequential;
    let sequential = with_seed(5, || {
        select_epochs(&spec(&architecture), &settings, &noisy, 5)
    })
    .unwrap();
    let ratio = sequential.epochs as f64 / selection.epochs as f64;
    assert!(
        (0.33..3.0).contains(&ratio),
        "{selection:?} vs {sequential:?}"
    );
}

#[test]
fn sequential_members_are_copied_into_one_stacked_network() {
    let data = dataset(30, 0.0, 7);
    let architecture = resnet();
    let mut settings = config();
    settings.stacking = Stacking::Sequential;
    let rows = MemberRows::subsets(&[(0..15).collect(), (15..30).collect()], Device::Cpu).unwrap();
    let fitted = with_seed(8, || fit(&spec(&architecture), &settings, &data, &rows, 10)).unwrap();
    assert_eq!(fitted.network.members(), 2);
    // The same two trainings, one member each, give the stacked network's members.
    let singles = with_seed(8, || {
        (0..2)
            .map(|m| {
                train(
                    &spec(&architecture),
                    &settings,
                    &data,
                    &rows.member(m).unwrap(),
                    10,
                    None,
                    None,
                )
                .unwrap()
            })
            .collect::<Vec<_>>()
    });
    let probe = dataset(6, 0.0, 9).x.unsqueeze(0);
    let together = tch::no_grad(|| {
        fitted
            .network
            .forward(&probe.expand([2, 6, 3], false), false)
    })
    .unwrap();
    for (m, single) in singles.iter().enumerate() {
        let alone = tch::no_grad(|| single.network.forward(&probe, false)).unwrap();
        let difference = (alone - together.narrow(0, m as i64, 1))
            .abs()
            .max()
            .double_value(&[]);
        assert!(difference < 1e-5, "member {m}: {difference}");
    }
}

#[test]
fn restoring_best_returns_each_member_at_its_best_validation_epoch() {
    // Few noisy rows and a high learning rate: each fold overfits, so its best epoch comes
    // before the last one and its last parameters validate worse than its best ones.
    let noisy = dataset(60, 0.6, 4);
    let architecture = mlp();
    let mut settings = config();
    settings.learning_rate = 2e-2;
    let held: Vec<Vec<i64>> = (0..3).map(|f| (f * 20..f * 20 + 20).collect()).collect();
    let kept: Vec<Vec<i64>> = (0..3)
        .map(|f| (0..60).filter(|r| r / 20 != f).collect())
        .collect();
    let rows = MemberRows::subsets(&kept, Device::Cpu).unwrap();
    let run = |restore: bool| {
        let mut validation = Validation::new(&noisy, &held, 1000, Device::Cpu).unwrap();
        if restore {
            validation = validation.restoring_best();
        }
        let fitted = with_seed(6, || {
            train(
                &spec(&architecture),
                &settings,
                &noisy,
                &rows,
                60,
                Some(&validation),
                None,
            )
            .unwrap()
        });
        let losses = tch::no_grad(|| {
            member_losses(&fitted.network, &validation.batch, 1, 1, false).unwrap()
        });
        (
            fitted.best_epochs,
            super::super::tensor_to_vec(&losses).unwrap(),
        )
    };
    let (last_epochs, last) = run(false);
    let (best_epochs, best) = run(true);
    assert_eq!(best_epochs, last_epochs);
    for m in 0..3 {
        assert!(
            best_epochs[m] < 60,
            "member {m} still improving: {best_epochs:?}"
        );
        assert!(
            best[m] < last[m],
            "member {m}: best {best:?} vs last {last:?}"
        );
    }
    // cross_validate keeps the fold networks (one member per fold) only when asked.
    settings.cv_time_budget = Duration::from_secs(600);
    settings.max_epochs = 60;
    let (selection, folds) = with_seed(5, || {
        cross_validate(&spec(&architecture), &settings, &noisy, 5, true)
    })
    .unwrap();
    let folds = folds.unwrap();
    assert_eq!(folds.network.members(), 3);
    assert_eq!(folds.best_epochs, selection.fold_epochs);
    let (_, none) = with_seed(5, || {
        cross_validate(&spec(&architecture), &settings, &noisy, 5, false)
    })
    .unwrap();
    assert!(none.is_none());
}

/// `rows` uniform points in `[0, 1]³` (seeded), each with the objective and constraint
/// targets `row(point, rng)` returns (the rng draws after the point's, for noise); heads as in
/// `value_mask`.
fn constraint_dataset(
    seed: u64,
    rows: usize,
    value_mask: &[f32],
    mut row: impl FnMut(&[f32], &mut ChaCha8Rng) -> (f32, Vec<f32>),
) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut x, mut y, mut targets) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rows {
        let point: Vec<f32> = (0..3).map(|_| rng.random::<f32>()).collect();
        let (objective, constraints) = row(&point, &mut rng);
        y.push(objective);
        targets.extend(constraints);
        x.extend(point);
    }
    let n = rows as i64;
    Dataset {
        x: Tensor::from_slice(&x).view([n, 3]),
        objectives: Tensor::from_slice(&y).view([n, 1]),
        labels: Tensor::from_slice(&targets).view([n, value_mask.len() as i64]),
        value_mask: Tensor::from_slice(value_mask),
    }
}

#[test]
fn cross_validation_measures_each_value_heads_held_out_error() {
    // A value head on `x0 − x1` (learnable), one on noise (not) and a label head on
    // `x2 > 0.5` (learnable, its error a Brier score): the held-out errors must tell them
    // apart, folds trained together or one after the other.
    let data = constraint_dataset(8, 90, &[1.0, 1.0, 0.0], |point, rng| {
        let targets = vec![
            point[0] - point[1],
            rng.random::<f32>() * 2.0 - 1.0,
            if point[2] > 0.5 { 1.0 } else { 0.0 },
        ];
        (point[2], targets)
    });
    let architecture = mlp();
    let spec = NetworkSpec {
        constraints: 3,
        ..spec(&architecture)
    };
    for stacking in [Stacking::Stacked, Stacking::Sequential] {
        let settings = TrainingConfig {
            stacking,
            ..config()
        };
        let selection = with_seed(2, || select_epochs(&spec, &settings, &data, 5)).unwrap();
        let rmse = &selection.constraint_rmse;
        assert_eq!(rmse.len(), 3, "{stacking:?}: {rmse:?}");
        assert!(rmse[0] < 0.1, "{stacking:?}: learnable head {rmse:?}");
        // Uniform noise on [−1, 1] has standard deviation 0.58.
        assert!(rmse[1] > 0.4, "{stacking:?}: noise head {rmse:?}");
        // A probability: at most 1, and a coin (0.5) would give 0.5.
        assert!(rmse[2] < 0.35, "{stacking:?}: label head {rmse:?}");
    }
    // Too few rows for cross-validation: nothing measured.
    let few = data.select(&Tensor::from_slice(&[0i64, 1, 2])).unwrap();
    let selection = with_seed(2, || select_epochs(&spec, &config(), &few, 5)).unwrap();
    assert!(selection.constraint_rmse.is_empty());
}

#[test]
fn boundary_weights_favour_value_heads_predicted_near_their_boundary() {
    // Two rows, a value head and a label head.
    let estimates = Tensor::from_slice(&[0f32, 0.9, 0.2, 0.1]).view([2, 2]);
    let mask = Tensor::from_slice(&[1f32, 0.0]);
    let weights = boundary_weights(&estimates, &mask).unwrap();
    let weights: Vec<f64> = Vec::<f32>::try_from(weights.flatten(0, -1))
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect();
    let expected = [
        1.0 + BOUNDARY_FLOOR,
        1.0,
        (-1f64).exp() + BOUNDARY_FLOOR,
        1.0,
    ];
    for (got, want) in weights.iter().zip(expected) {
        assert!((got - want).abs() < 1e-6, "{weights:?} != {expected:?}");
    }
}

#[test]
fn held_out_near_boundary_measures_the_error_where_the_head_predicts_its_boundary() {
    // `t = 2 (x0 − ½)`, exact where |t| < 0.4 and noisy (±1) elsewhere: near the boundary
    // (`held-out-boundary`) the error is the small one near `t = 0`; over all rows (the
    // default) about 0.45.
    let data = constraint_dataset(3, 300, &[1.0], |point, rng| {
        let t = 2.0 * (point[0] - 0.5);
        let noise = if t.abs() < 0.4 {
            0.0
        } else {
            rng.random::<f32>() * 2.0 - 1.0
        };
        (point[1], vec![t + noise])
    });
    let architecture = mlp();
    let error = |held_out_near_boundary: bool| {
        let settings = TrainingConfig {
            held_out_near_boundary,
            ..config()
        };
        let selection = with_seed(2, || {
            select_epochs(&spec(&architecture), &settings, &data, 5)
        })
        .unwrap();
        selection.constraint_rmse[0]
    };
    let (near, all) = (error(true), error(false));
    assert!(near < 0.25, "held-out error near the boundary {near}");
    assert!(all > 0.35, "held-out error over all rows {all}");
}

#[test]
fn polish_brings_the_refit_closer_to_the_data_and_to_held_out_rows() {
    let data = dataset(200, 0.0, 5);
    let unseen = dataset(200, 0.0, 6);
    let architecture = Architecture::Mlp {
        width: 64,
        depth: 2,
        activation: Activation::Gelu,
    };
    let spec = spec(&architecture);
    let loss_on = |fitted: &Fitted, rows: &Dataset| {
        let batch = MemberRows::all(1, rows.rows()).batch(rows, None).unwrap();
        let loss = member_losses(&fitted.network, &batch, 1, 1, false).unwrap();
        loss.double_value(&[0])
    };
    let fit_with = |polish_iterations: usize| {
        let config = TrainingConfig {
            polish_iterations,
            ..config()
        };
        with_seed(4, || {
            fit(&spec, &config, &data, &MemberRows::all(1, data.rows()), 60).unwrap()
        })
    };
    let (plain, polished) = (fit_with(0), fit_with(200));
    let (train_plain, train_polished) = (loss_on(&plain, &data), loss_on(&polished, &data));
    let (held_plain, held_polished) = (loss_on(&plain, &unseen), loss_on(&polished, &unseen));
    assert!(
        train_polished < 0.5 * train_plain,
        "training loss {train_plain} → {train_polished}"
    );
    assert!(
        held_polished < held_plain,
        "held-out loss {held_plain} → {held_polished}"
    );
}
