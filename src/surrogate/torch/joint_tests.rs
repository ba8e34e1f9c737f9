use super::*;
use crate::surrogate::torch::constraint_targets::ConstraintProbability;
use crate::surrogate::torch::ensemble::{EnsembleConfig, EnsembleTrainer};
use crate::surrogate::torch::ft_transformer::FtSettings;
use crate::surrogate::torch::networks::Activation;
use crate::surrogate::torch::precision::Precision;
use crate::surrogate::torch::training::{FinalModel, Stacking};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

fn random_points(count: usize, dimension: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| (0..dimension).map(|_| rng.random::<f64>()).collect())
        .collect()
}

fn objectives(x: &[f64]) -> Vec<f64> {
    vec![
        (3.0 * x[0]).sin() + x[1] * x[1],
        10.0 * (x[2] - 0.5).powi(2) + 1.0,
    ]
}

fn constraint(x: &[f64]) -> Vec<f64> {
    vec![x[0] + x[1] - 1.0]
}

fn data(count: usize, seed: u64) -> TrainingData {
    let x = random_points(count, 3, seed);
    TrainingData {
        objectives: x.iter().map(|p| objectives(p)).collect(),
        constraints: x.iter().map(|p| constraint(p)).collect(),
        x,
    }
}

/// A small network of `kind`; `ft-transformer-bf16` is the FT-Transformer in mixed
/// precision, `ft-transformer` in `f32`.
fn small(kind: &str, epochs: Option<usize>) -> JointConfig {
    let architecture = match kind {
        "mlp" => Architecture::Mlp {
            width: 32,
            depth: 2,
            activation: Activation::Gelu,
        },
        "ft-transformer" | "ft-transformer-bf16" => Architecture::FtTransformer(FtSettings {
            width: 32,
            heads: 4,
            blocks: 2,
            ffn_hidden: 64,
            attention_dropout: 0.0,
            ffn_dropout: 0.0,
            residual_dropout: 0.05,
            precision: if kind == "ft-transformer" {
                Precision::F32
            } else {
                Precision::Bf16
            },
        }),
        _ => Architecture::Resnet {
            width: 32,
            hidden: 64,
            blocks: 2,
            dropout: 0.05,
        },
    };
    let mut config = JointConfig::new(architecture);
    config.training.learning_rate = 5e-3;
    config.training.epochs = epochs;
    config.training.max_epochs = 300;
    config.training.patience = 30;
    config.training.batch_size = 64;
    config.normalization = Normalization::Standard;
    config
}

fn small_ensemble(kind: &str) -> EnsembleConfig {
    EnsembleConfig {
        member: small(kind, Some(300)),
        members: 3,
        bootstrap: true,
    }
}

fn trainers(epochs: usize) -> Vec<(String, Box<dyn Trainer>)> {
    let mut all: Vec<(String, Box<dyn Trainer>)> = Vec::new();
    for kind in ["mlp", "resnet", "ft-transformer", "ft-transformer-bf16"] {
        all.push((
            kind.to_string(),
            Box::new(JointTrainer::new(small(kind, Some(epochs)))),
        ));
    }
    let mut ensemble = small_ensemble("mlp");
    ensemble.member.training.epochs = Some(epochs);
    all.push((
        "ensemble".to_string(),
        Box::new(EnsembleTrainer::new(ensemble)),
    ));
    all
}

fn relative_rmse(model: &dyn Model, test: &TrainingData, column: usize) -> f64 {
    let predicted = model.predict(&test.x).unwrap().mean;
    let truth: Vec<f64> = test.objectives.iter().map(|r| r[column]).collect();
    let mean = truth.iter().sum::<f64>() / truth.len() as f64;
    let spread = truth.iter().map(|t| (t - mean).powi(2)).sum::<f64>();
    let error = predicted
        .iter()
        .zip(&truth)
        .map(|(p, t)| (p[column] - t).powi(2))
        .sum::<f64>();
    (error / spread).sqrt()
}

#[test]
fn every_kind_learns_a_known_function_and_a_feasibility_boundary() {
    let train = data(300, 1);
    let test = data(200, 2);
    for (name, trainer) in trainers(400) {
        let untrained = JointTrainer::new(small("mlp", Some(1)))
            .fit(&train, 3)
            .unwrap();
        let model = trainer.fit(&train, 3).unwrap();
        for column in 0..2 {
            let error = relative_rmse(model.as_ref(), &test, column);
            let before = relative_rmse(untrained.as_ref(), &test, column);
            assert!(
                error < 0.2,
                "{name}: objective {column} relative RMSE {error}"
            );
            assert!(
                error < 0.5 * before,
                "{name}: {error} vs untrained {before}"
            );
        }
        let feasibility = model.predict(&test.x).unwrap().feasibility.unwrap();
        let correct = feasibility
            .iter()
            .zip(&test.constraints)
            .filter(|(p, c)| (p[0] > 0.5) == (c[0] > 0.0))
            .count();
        let accuracy = correct as f64 / test.len() as f64;
        assert!(accuracy > 0.9, "{name}: feasibility accuracy {accuracy}");
        assert!(trainer.models_feasibility());
    }
    // The paper's log-range targets (the default) learn too, less precisely on this function.
    let mut log_range = small("mlp", Some(400));
    log_range.normalization = Normalization::LogRange;
    let model = JointTrainer::new(log_range).fit(&train, 3).unwrap();
    for column in 0..2 {
        let error = relative_rmse(model.as_ref(), &test, column);
        assert!(
            error < 0.3,
            "log-range: objective {column} relative RMSE {error}"
        );
    }
}

#[test]
fn input_gradients_match_finite_differences() {
    let train = data(100, 4);
    let points = random_points(5, 3, 5);
    for (name, trainer) in trainers(50) {
        let model = trainer.fit(&train, 6).unwrap();
        let gradients = model.objective_gradients(&points).unwrap();
        assert_eq!(gradients.len(), 5);
        // Small enough not to cross a ReLU kink near the points (with 1e-3 the FT-Transformer's
        // head ReLU switches within the step at one point), large enough for f32.
        let h = 1e-4;
        for (i, point) in points.iter().enumerate() {
            for d in 0..3 {
                let (mut up, mut down) = (point.clone(), point.clone());
                up[d] += h;
                down[d] -= h;
                let values = model.predict(&[up, down]).unwrap().mean;
                for j in 0..2 {
                    let numeric = (values[0][j] - values[1][j]) / (2.0 * h);
                    let analytic = gradients[i][j][d];
                    let tolerance = 0.05 * (1.0 + numeric.abs());
                    assert!(
                        (numeric - analytic).abs() < tolerance,
                        "{name}: point {i} objective {j} dim {d}: {analytic} vs {numeric}"
                    );
                }
            }
        }
    }
}

#[test]
fn the_same_seed_gives_identical_predictions() {
    let train = data(80, 7);
    let points = random_points(10, 3, 8);
    for (name, trainer) in trainers(30) {
        let first = trainer.fit(&train, 11).unwrap().predict(&points).unwrap();
        let again = trainer.fit(&train, 11).unwrap().predict(&points).unwrap();
        let other = trainer.fit(&train, 12).unwrap().predict(&points).unwrap();
        assert_eq!(first, again, "{name}");
        assert_ne!(first.mean, other.mean, "{name}");
    }
}

/// `final_model = "folds"`: the model is the CV's fold networks at their best epochs, and it
/// learns; the same seed gives the same model.
#[test]
fn the_fold_networks_are_the_final_model() {
    let train = data(150, 4);
    let test = data(200, 5);
    for kind in ["mlp", "ft-transformer-bf16"] {
        let mut config = small(kind, None);
        config.training.final_model = FinalModel::Folds;
        config.training.max_epochs = 150;
        config.training.patience = 15;
        let model = JointTrainer::new(config.clone()).fit(&train, 2).unwrap();
        let epochs = model.training_epochs().unwrap();
        assert!((2..=150).contains(&epochs), "{kind}: {epochs}");
        for column in 0..2 {
            let error = relative_rmse(model.as_ref(), &test, column);
            assert!(
                error < 0.3,
                "{kind}: objective {column} relative RMSE {error}"
            );
        }
        let points = random_points(10, 3, 8);
        let again = JointTrainer::new(config.clone()).fit(&train, 2).unwrap();
        assert_eq!(
            model.predict(&points).unwrap(),
            again.predict(&points).unwrap(),
            "{kind}"
        );
        // The refit model trains a new network after the same cross-validation: another
        // model with the same epoch count.
        config.training.final_model = FinalModel::Refit;
        let refit = JointTrainer::new(config).fit(&train, 2).unwrap();
        assert_eq!(refit.training_epochs(), Some(epochs), "{kind}");
        assert_ne!(
            refit.predict(&points).unwrap().mean,
            model.predict(&points).unwrap().mean,
            "{kind}"
        );
    }
    // With too few rows for cross-validation the folds' model falls back to a refit.
    let mut config = small("mlp", None);
    config.training.final_model = FinalModel::Folds;
    config.training.patience = 7;
    let model = JointTrainer::new(config).fit(&data(5, 1), 2).unwrap();
    assert_eq!(model.training_epochs(), Some(7));
}

#[test]
fn cross_validation_selects_and_reports_the_epochs() {
    let train = data(60, 9);
    let mut config = small("mlp", None);
    config.training.max_epochs = 120;
    config.training.patience = 20;
    let model = JointTrainer::new(config.clone()).fit(&train, 1).unwrap();
    let epochs = model.training_epochs().unwrap();
    assert!((1..=120).contains(&epochs), "{epochs}");
    // A zero time budget still finishes one fold (with at least one epoch).
    config.training.cv_time_budget = Duration::ZERO;
    let model = JointTrainer::new(config).fit(&train, 1).unwrap();
    assert_eq!(model.training_epochs(), Some(1));
}

#[test]
fn the_ensemble_reports_variance_and_objective_mode_no_feasibility() {
    let train = data(60, 10);
    let points = random_points(20, 3, 11);
    let mut ensemble = small_ensemble("resnet");
    ensemble.member.training.epochs = Some(50);
    let prediction = EnsembleTrainer::new(ensemble)
        .fit(&train, 2)
        .unwrap()
        .predict(&points)
        .unwrap();
    let variance = prediction.variance.unwrap();
    assert!(variance.iter().flatten().all(|v| *v >= 0.0));
    assert!(variance.iter().flatten().any(|v| *v > 0.0));
    assert!(prediction.feasibility.is_some());

    let mut objectives_only = small("mlp", Some(20));
    objectives_only.mode = JointMode::Objectives;
    let trainer = JointTrainer::new(objectives_only);
    assert!(!trainer.models_feasibility());
    let prediction = trainer.fit(&train, 2).unwrap().predict(&points).unwrap();
    assert!(prediction.feasibility.is_none());
    assert_eq!(prediction.mean.len(), 20);
    assert!(JointMode::parse("c").unwrap_err().contains("objectives"));
}

#[test]
fn stacked_and_sequential_ensembles_fit_the_function_with_a_spread() {
    let train = data(200, 12);
    let test = data(100, 13);
    for stacking in [Stacking::Stacked, Stacking::Sequential] {
        let mut ensemble = small_ensemble("mlp");
        ensemble.member.training.stacking = stacking;
        let model = EnsembleTrainer::new(ensemble).fit(&train, 4).unwrap();
        for column in 0..2 {
            let error = relative_rmse(model.as_ref(), &test, column);
            assert!(error < 0.2, "{stacking:?}: objective {column}: {error}");
        }
        let variance = model.predict(&test.x).unwrap().variance.unwrap();
        assert!(
            variance.iter().flatten().all(|v| *v > 0.0),
            "{stacking:?}: members differ everywhere"
        );
    }
}

#[test]
fn bad_data_is_an_error() {
    let trainer = JointTrainer::new(small("mlp", Some(5)));
    let empty = TrainingData::default();
    assert!(matches!(
        trainer.fit(&empty, 1),
        Err(SurrogateError::NoData)
    ));
    let mut ragged = data(10, 1);
    ragged.x[3].pop();
    assert!(matches!(
        trainer.fit(&ragged, 1),
        Err(SurrogateError::BadData(m)) if m.contains("row 3")
    ));
    let mut nan = data(10, 1);
    nan.objectives[4][1] = f64::NAN;
    assert!(matches!(
        trainer.fit(&nan, 1),
        Err(SurrogateError::BadData(_))
    ));
    let model = trainer.fit(&data(10, 1), 1).unwrap();
    assert!(matches!(
        model.predict(&[vec![0.5]]),
        Err(SurrogateError::BadData(_))
    ));
}

#[test]
fn cuda_trains_when_a_gpu_is_present() {
    if !tch::Cuda::is_available() {
        eprintln!("skipped: no CUDA device visible to libtorch");
        return;
    }
    let mut config = small("resnet", Some(50));
    config.device = DeviceChoice::Cuda;
    let model = JointTrainer::new(config).fit(&data(100, 3), 1).unwrap();
    let prediction = model.predict(&random_points(4, 3, 2)).unwrap();
    assert_eq!(prediction.mean.len(), 4);
    assert_eq!(
        model
            .objective_gradients(&random_points(2, 3, 3))
            .unwrap()
            .len(),
        2
    );
}

/// Fit + CV time at the paper's neuron scale (n = 11, q = 4, k = 8, 1 000 rows) with each
/// kind's defaults; run with `--ignored --nocapture`.
#[test]
#[ignore]
fn timing_at_neuron_scale() {
    let x = random_points(1000, 11, 1);
    let data = TrainingData {
        objectives: x
            .iter()
            .map(|p| {
                (0..4)
                    .map(|j| (p[j] - 0.5).powi(2) * 10f64.powi(j as i32) + p[10])
                    .collect()
            })
            .collect(),
        constraints: x
            .iter()
            .map(|p| (0..8).map(|c| p[c] + p[c + 1] + p[c + 2] - 1.2).collect())
            .collect(),
        x,
    };
    let ensemble = EnsembleConfig {
        member: JointConfig::new(Architecture::default_mlp()),
        members: 5,
        bootstrap: true,
    };
    let kinds: Vec<(&str, Box<dyn Trainer>)> = vec![
        (
            "mlp",
            Box::new(JointTrainer::new(JointConfig::new(
                Architecture::default_mlp(),
            ))),
        ),
        (
            "resnet",
            Box::new(JointTrainer::new(JointConfig::new(
                Architecture::default_resnet(),
            ))),
        ),
        ("ensemble", Box::new(EnsembleTrainer::new(ensemble))),
    ];
    for (name, trainer) in kinds {
        let start = std::time::Instant::now();
        let model = trainer.fit(&data, 1).unwrap();
        eprintln!(
            "{name}: fit + CV {:.1} s, {} epochs",
            start.elapsed().as_secs_f64(),
            model.training_epochs().unwrap_or(0)
        );
    }
}

/// `c = 0.25 − ‖x − (0.8, 0.8, 0.8)‖`: satisfied only near a corner that no training row
/// reaches, so every label is 0.
fn far_corner_constraint(x: &[f64]) -> Vec<f64> {
    let distance = x.iter().map(|v| (v - 0.8).powi(2)).sum::<f64>().sqrt();
    vec![0.25 - distance]
}

#[test]
fn value_heads_point_to_a_feasible_region_no_training_row_reaches() {
    let x: Vec<Vec<f64>> = random_points(400, 3, 11)
        .into_iter()
        .map(|p| p.into_iter().map(|v| 0.6 * v).collect())
        .collect();
    let data = TrainingData {
        objectives: x.iter().map(|p| objectives(p)).collect(),
        constraints: x.iter().map(|p| far_corner_constraint(p)).collect(),
        x,
    };
    assert!(data.constraints.iter().all(|c| c[0] < 0.0));
    let toward = [vec![0.2; 3], vec![0.4; 3], vec![0.6; 3], vec![0.8; 3]];
    let scores = |target: ConstraintTarget| {
        let mut config = small("mlp", Some(300));
        config.constraint_target = target;
        let model = JointTrainer::new(config).fit(&data, 3).unwrap();
        let prediction = model.predict(&toward).unwrap();
        let probabilities = prediction.feasibility.unwrap();
        let scores = prediction.constraint_scores.unwrap();
        for (p, s) in probabilities.iter().zip(&scores) {
            let sigmoid = 1.0 / (1.0 + (-s[0]).exp());
            assert!((p[0] - sigmoid).abs() < 1e-5, "{p:?} {s:?}");
        }
        scores.into_iter().map(|s| s[0]).collect::<Vec<f64>>()
    };
    let values = scores(ConstraintTarget::Auto);
    // The value head knows the distance: its score rises toward the corner, within the data
    // and beyond it.
    assert!(
        values.windows(2).all(|w| w[1] > w[0] + 0.1),
        "value scores {values:?}"
    );
    // Labels alone: all 0, nothing to learn but "infeasible everywhere".
    let labels = scores(ConstraintTarget::Label);
    assert!(labels.iter().all(|&s| s < -3.0), "label scores {labels:?}");
}

#[test]
fn held_out_probabilities_are_as_sharp_as_the_constraint_head_is_accurate() {
    // A linear constraint the network learns almost exactly: c = x0 + x1 − 1.
    let train = data(300, 21);
    let near = [vec![0.56, 0.5, 0.5], vec![0.44, 0.5, 0.5]];
    let probabilities = |choice: ConstraintProbability| {
        let mut config = small("mlp", None);
        config.constraint_probability = choice;
        let model = JointTrainer::new(config).fit(&train, 5).unwrap();
        let prediction = model.predict(&near).unwrap();
        prediction
            .feasibility
            .unwrap()
            .into_iter()
            .map(|p| p[0])
            .collect::<Vec<f64>>()
    };
    // 0.06 inside and outside the boundary: the logistic score (4 · asinh(c / s), s ≈ 0.4)
    // leaves both near ½; the held-out error (a few hundredths) makes them nearly sure.
    let logistic = probabilities(ConstraintProbability::Logistic);
    assert!(
        logistic[0] < 0.8 && logistic[1] > 0.2,
        "logistic {logistic:?}"
    );
    let held_out = probabilities(ConstraintProbability::HeldOut);
    assert!(
        held_out[0] > 0.9 && held_out[1] < 0.1,
        "held-out {held_out:?} (logistic {logistic:?})"
    );
}

#[test]
fn an_ensemble_of_ft_transformers_reports_variance() {
    let train = data(60, 12);
    let points = random_points(10, 3, 13);
    let ensemble = EnsembleConfig {
        member: small("ft-transformer", Some(20)),
        members: 2,
        bootstrap: true,
    };
    let prediction = EnsembleTrainer::new(ensemble)
        .fit(&train, 4)
        .unwrap()
        .predict(&points)
        .unwrap();
    let variance = prediction.variance.unwrap();
    assert!(variance.iter().flatten().any(|v| *v > 0.0));
    assert_eq!(prediction.feasibility.unwrap().len(), 10);
}
