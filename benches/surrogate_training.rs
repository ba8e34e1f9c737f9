//! Benchmark: training time of the joint neural surrogates, stacked (cross-validation folds
//! and ensemble members trained together as one network with a member dimension) against the
//! previous way (folds and members one after the other as single networks, in this process).
//!
//! Data shaped like the paper's neuron problems: n = 11 inputs uniform in [0, 1], q = 4
//! objectives (squared distances to fixed centres, scaled by 1, 10, 100, 1000, so that they
//! span a few decades), k = 8 constraints (sums of three inputs plus a sine, thresholded;
//! satisfied by about 50 % down to 0.5 % of the rows), at 1 000 and 4 000 training rows; the
//! held-out error is measured on 1 000 further rows.
//!
//! Settings: each kind's defaults (`mlp` 3 × 128 GELU; `ft-transformer` width 128, 4 heads, 3
//! blocks; `resnet` 192/384, 2 blocks, dropout
//! 0.15; `ensemble` of 5 default `mlp` members with bootstrap; Adam 1e-3, 3 folds, log-range
//! targets), except batches of 256 rows (`DMOSOPT_BENCH_BATCH`; the same batches for every kind,
//! so that the stacked and sequential ways compare like for like) and a fixed
//! epoch count `E` so that both ways do the same work: cross-validation runs `max_epochs =
//! patience = E` (no fold stops early), the fit runs `epochs = E`. `E` = 30, or
//! `DMOSOPT_BENCH_EPOCHS`; `DMOSOPT_BENCH_QUICK=1` runs 1 000 rows only with `E` = 10.
//!
//! Printed per kind and size: seconds of CV and of the final fit, stacked and sequential, the
//! ratio sequential / stacked (> 1: stacking is faster), milliseconds per epoch (stacked), and
//! the held-out error of the fitted model (mean over objectives of the RMSE relative to the
//! objective's spread; constraint-satisfaction accuracy) both ways. For `mlp` and `resnet` the
//! fit is one network (`M = 1`) and the same either way. The ensemble's CV is its member's
//! (`mlp`).
//!
//! A second table runs every kind with its defaults (epoch count by cross-validation with
//! early stopping under the default time budget), CV and final fit timed separately, which is
//! what one surrogate epoch of a run costs (the goal: FT-Transformer fit + CV ≤ 60 s at
//! 4 000 rows), with the libtorch thread count and the precision of the matrix products. The
//! FT-Transformer's default `final_model = "folds"` has no fit: its CV is the whole training.
//! `DMOSOPT_BENCH_QUICK=1` skips it unless `DMOSOPT_BENCH_DEFAULTS=1`;
//! `DMOSOPT_BENCH_ONLY_DEFAULTS=1` runs only it; `DMOSOPT_BENCH_KINDS` (comma-separated:
//! `mlp`, `resnet`, `ft-transf`, `ft-f32` — the FT-Transformer with `precision = "f32"`, not
//! run unless named — `ensemble`, `mlp-b2048` — the `mlp` in full batches of 2 048 rows, not
//! run unless named) chooses its kinds; `DMOSOPT_BENCH_THREADS` (say `1,2`) runs
//! it once per libtorch thread count (default 1, as `dmosopt run`; the first count also serves
//! the first table).
//!
//! Run: `cargo bench --bench surrogate_training` (through scripts/common.sh's environment).

use std::time::{Duration, Instant};

use dmosopt::surrogate::torch::ensemble::{EnsembleConfig, EnsembleTrainer};
use dmosopt::surrogate::torch::ft_transformer::FtSettings;
use dmosopt::surrogate::torch::joint::{prepare, JointConfig, JointTrainer};
use dmosopt::surrogate::torch::networks::Architecture;
use dmosopt::surrogate::torch::precision::Precision;
use dmosopt::surrogate::torch::training::{select_epochs, with_seed, FinalModel, Stacking};
use dmosopt::surrogate::{Model, Trainer, TrainingData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::Device;

const INPUTS: usize = 11;
const OBJECTIVES: usize = 4;
const CONSTRAINTS: usize = 8;
const THRESHOLDS: [f64; CONSTRAINTS] = [1.5, 1.8, 2.1, 2.4, 2.6, 1.2, 2.0, 2.7];

fn rows(count: usize, seed: u64) -> TrainingData {
    let mut centres = ChaCha8Rng::seed_from_u64(99);
    let centre: Vec<Vec<f64>> = (0..OBJECTIVES)
        .map(|_| (0..INPUTS).map(|_| centres.random::<f64>()).collect())
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x: Vec<Vec<f64>> = (0..count)
        .map(|_| (0..INPUTS).map(|_| rng.random::<f64>()).collect())
        .collect();
    let objectives = x
        .iter()
        .map(|p| {
            (0..OBJECTIVES)
                .map(|j| {
                    let distance: f64 =
                        p.iter().zip(&centre[j]).map(|(a, c)| (a - c).powi(2)).sum();
                    10f64.powi(j as i32) * distance * (1.0 + 0.5 * (3.0 * p[j]).sin())
                })
                .collect()
        })
        .collect();
    let constraints = x
        .iter()
        .map(|p| {
            (0..CONSTRAINTS)
                .map(|l| p[l] + p[l + 1] + p[l + 2] + 0.2 * (5.0 * p[l + 3]).sin() - THRESHOLDS[l])
                .collect()
        })
        .collect();
    TrainingData {
        x,
        objectives,
        constraints,
    }
}

/// Mean over objectives of RMSE / spread, and the constraint-satisfaction accuracy.
fn held_out_error(model: &dyn Model, test: &TrainingData) -> (f64, f64) {
    let prediction = match model.predict(&test.x) {
        Ok(prediction) => prediction,
        Err(error) => {
            eprintln!("prediction failed: {error}");
            return (f64::NAN, f64::NAN);
        }
    };
    let mut relative = 0.0;
    for j in 0..OBJECTIVES {
        let truth: Vec<f64> = test.objectives.iter().map(|r| r[j]).collect();
        let mean = truth.iter().sum::<f64>() / truth.len() as f64;
        let spread: f64 = truth.iter().map(|t| (t - mean).powi(2)).sum();
        let error: f64 = prediction
            .mean
            .iter()
            .zip(&truth)
            .map(|(p, t)| (p[j] - t).powi(2))
            .sum();
        relative += (error / spread).sqrt() / OBJECTIVES as f64;
    }
    let accuracy = match &prediction.feasibility {
        Some(p) => {
            let correct = p
                .iter()
                .zip(&test.constraints)
                .flat_map(|(p, c)| p.iter().zip(c).map(|(p, c)| (*p > 0.5) == (*c > 0.0)))
                .filter(|&ok| ok)
                .count();
            correct as f64 / (test.len() * CONSTRAINTS) as f64
        }
        None => f64::NAN,
    };
    (relative, accuracy)
}

/// A kind under test: its member configuration and whether it is an ensemble.
struct Kind {
    name: &'static str,
    config: JointConfig,
    members: Option<usize>,
}

fn kinds(epochs: usize, batch_size: usize) -> Vec<Kind> {
    let with = |architecture: Architecture| {
        let mut config = JointConfig::new(architecture);
        config.training.batch_size = batch_size;
        config.training.max_epochs = epochs;
        config.training.patience = epochs;
        config.training.cv_time_budget = Duration::from_secs(3600);
        config
    };
    vec![
        Kind {
            name: "mlp",
            config: with(Architecture::default_mlp()),
            members: None,
        },
        Kind {
            name: "resnet",
            config: with(Architecture::default_resnet()),
            members: None,
        },
        Kind {
            name: "ensemble",
            config: with(Architecture::default_mlp()),
            members: Some(5),
        },
        Kind {
            name: "ft-transf",
            config: with(Architecture::default_ft_transformer()),
            members: None,
        },
    ]
}

fn trainer(kind: &Kind, stacking: Stacking, epochs: usize) -> Box<dyn Trainer> {
    let mut config = kind.config.clone();
    config.training.stacking = stacking;
    config.training.epochs = Some(epochs);
    match kind.members {
        None => Box::new(JointTrainer::new(config)),
        Some(members) => Box::new(EnsembleTrainer::new(EnsembleConfig {
            member: config,
            members,
            bootstrap: true,
        })),
    }
}

/// Seconds and epochs of the cross-validation of `kind` on `data`.
fn cross_validate(kind: &Kind, data: &TrainingData, stacking: Stacking) -> Option<(f64, usize)> {
    let mut config = kind.config.clone();
    config.training.stacking = stacking;
    let prepared = prepare(&config, data)
        .map_err(|error| eprintln!("{}: {error}", kind.name))
        .ok()?;
    let spec = prepared.spec(&config.architecture);
    let start = Instant::now();
    let selection = with_seed(1, || {
        select_epochs(&spec, &config.training, &prepared.dataset, 1)
    })
    .map_err(|error| eprintln!("{}: cross-validation: {error}", kind.name))
    .ok()?;
    Some((start.elapsed().as_secs_f64(), selection.epochs))
}

/// Seconds of the final fit and the held-out error of the model.
fn fit(
    kind: &Kind,
    data: &TrainingData,
    test: &TrainingData,
    stacking: Stacking,
    epochs: usize,
) -> Option<(f64, (f64, f64))> {
    let trainer = trainer(kind, stacking, epochs);
    let start = Instant::now();
    let model = trainer
        .fit(data, 1)
        .map_err(|error| eprintln!("{}: fit: {error}", kind.name))
        .ok()?;
    let seconds = start.elapsed().as_secs_f64();
    Some((seconds, held_out_error(model.as_ref(), test)))
}

/// A kind of the defaults table: name, member configuration (every default), ensemble size.
struct DefaultKind {
    name: &'static str,
    config: JointConfig,
    members: Option<usize>,
}

/// The kinds of the defaults table, filtered by `DMOSOPT_BENCH_KINDS` (comma-separated names;
/// `ft-f32` is the FT-Transformer with `precision = "f32"`, for the bf16 ratio; `mlp-b2048`
/// the `mlp` in the paper's full batches of 2 048 rows, the default before batches of 32).
fn default_kinds() -> Vec<DefaultKind> {
    let ft_f32 = match Architecture::default_ft_transformer() {
        Architecture::FtTransformer(settings) => Architecture::FtTransformer(FtSettings {
            precision: Precision::F32,
            ..settings
        }),
        other => other,
    };
    let all = [
        ("mlp", Architecture::default_mlp(), None),
        ("resnet", Architecture::default_resnet(), None),
        ("ft-transf", Architecture::default_ft_transformer(), None),
        ("ft-f32", ft_f32, None),
        ("ensemble", Architecture::default_mlp(), Some(5)),
    ];
    let wanted = std::env::var("DMOSOPT_BENCH_KINDS").ok();
    let full_batches = DefaultKind {
        name: "mlp-b2048",
        config: {
            let mut config = JointConfig::new(Architecture::default_mlp());
            config.training.batch_size = 2048;
            config
        },
        members: None,
    };
    all.into_iter()
        .map(|(name, architecture, members)| DefaultKind {
            name,
            config: JointConfig::new(architecture),
            members,
        })
        .chain(std::iter::once(full_batches))
        .filter(|kind| match &wanted {
            Some(list) => list.split(',').any(|w| w.trim() == kind.name),
            None => !matches!(kind.name, "ft-f32" | "mlp-b2048"),
        })
        .collect()
}

/// `bf16` or `f32`: what the kind's matrix products run in on this machine's CPU.
fn precision_of(config: &JointConfig) -> &'static str {
    match &config.architecture {
        Architecture::FtTransformer(ft)
            if ft.precision.compute_kind(Device::Cpu) == tch::Kind::BFloat16 =>
        {
            "bf16"
        }
        _ => "f32",
    }
}

/// The second table: every kind with its defaults (cross-validated epoch count with early
/// stopping and the default time budget), CV and final fit timed separately. This is what a
/// run pays per epoch; the goal is FT-Transformer fit + CV ≤ 60 s at 4 000 rows. With
/// `final_model = "folds"` (the FT-Transformer's default) the CV's fold networks are the
/// model: the whole `Trainer::fit` is the CV, and there is no fit.
fn defaults_table(sizes: &[usize], test: &TrainingData, threads: &[i32]) {
    println!("\nwith the defaults:");
    for kind in default_kinds() {
        let t = &kind.config.training;
        println!(
            "  {:<9} batch {}, max_epochs {}, patience {}, cv_folds {}, cv_time_budget {} s, \
             final_model {}, precision {}",
            kind.name,
            t.batch_size,
            t.max_epochs,
            t.patience,
            t.cv_folds,
            t.cv_time_budget.as_secs(),
            t.final_model.as_str(),
            precision_of(&kind.config),
        );
    }
    println!(
        "{:<9} {:>5} {:>7} {:>9} {:>8} {:>7} {:>8} {:>9} {:>18}",
        "kind", "rows", "threads", "precision", "CV s", "epochs", "fit s", "total s", "error"
    );
    for &size in sizes {
        let data = rows(size, size as u64);
        for &count in threads {
            tch::set_num_threads(count);
            for default in default_kinds() {
                let name = default.name;
                let kind = Kind {
                    name,
                    config: default.config.clone(),
                    members: default.members,
                };
                let (cv_seconds, epochs, fit_seconds, (relative, accuracy)) =
                    if kind.config.training.final_model == FinalModel::Folds {
                        let start = Instant::now();
                        let Ok(model) = JointTrainer::new(kind.config.clone())
                            .fit(&data, 1)
                            .map_err(|error| eprintln!("{name}: {error}"))
                        else {
                            continue;
                        };
                        let seconds = start.elapsed().as_secs_f64();
                        let epochs = model.training_epochs().unwrap_or(0);
                        (seconds, epochs, None, held_out_error(model.as_ref(), test))
                    } else {
                        let Some((cv_seconds, epochs)) =
                            cross_validate(&kind, &data, Stacking::Stacked)
                        else {
                            continue;
                        };
                        let Some((fit_seconds, error)) =
                            fit(&kind, &data, test, Stacking::Stacked, epochs)
                        else {
                            continue;
                        };
                        (cv_seconds, epochs, Some(fit_seconds), error)
                    };
                println!(
                    "{name:<9} {size:>5} {count:>7} {:>9} {cv_seconds:>8.1} {epochs:>7} {:>8} \
                     {:>9.1} {:>18}",
                    precision_of(&kind.config),
                    fit_seconds.map_or("-".to_string(), |s| format!("{s:.1}")),
                    cv_seconds + fit_seconds.unwrap_or(0.0),
                    format!("{relative:.3} / {accuracy:.3}"),
                );
            }
        }
    }
}

fn main() {
    let quick = std::env::var("DMOSOPT_BENCH_QUICK").is_ok_and(|v| v == "1");
    let epochs = std::env::var("DMOSOPT_BENCH_EPOCHS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 10 } else { 30 });
    let batch_size = std::env::var("DMOSOPT_BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let sizes: &[usize] = if quick { &[1000] } else { &[1000, 4000] };
    // libtorch threads: `DMOSOPT_BENCH_THREADS`, a comma-separated list for the defaults
    // table (the first count serves the first table); 1 by default, as `dmosopt run`.
    let threads: Vec<i32> = std::env::var("DMOSOPT_BENCH_THREADS")
        .ok()
        .map(|list| {
            list.split(',')
                .filter_map(|t| t.trim().parse().ok())
                .collect()
        })
        .filter(|list: &Vec<i32>| !list.is_empty() && list.iter().all(|&t| t >= 1))
        .unwrap_or_else(|| vec![1]);
    tch::set_num_threads(threads[0]);
    let only_defaults = std::env::var("DMOSOPT_BENCH_ONLY_DEFAULTS").is_ok_and(|v| v == "1");
    let test = rows(1000, 7);
    println!(
        "neural surrogate training, n = {INPUTS}, q = {OBJECTIVES}, k = {CONSTRAINTS}, \
         E = {epochs} epochs, batches of {batch_size}, CPU, {} libtorch threads",
        tch::get_num_threads()
    );
    println!(
        "{:<9} {:>5} {:>5} {:>10} {:>10} {:>7} {:>9} {:>18} {:>18}",
        if only_defaults { "(skipped)" } else { "kind" },
        "rows",
        "phase",
        "stacked s",
        "seq. s",
        "ratio",
        "ms/epoch",
        "error stacked",
        "error seq."
    );
    // Warm libtorch up (thread pool, allocator) so that the first measurement is not slower.
    let _ = fit(
        &kinds(2, batch_size).remove(1),
        &rows(200, 1),
        &test,
        Stacking::Stacked,
        2,
    );
    let first_sizes: &[usize] = if only_defaults { &[] } else { sizes };
    for &size in first_sizes {
        let data = rows(size, size as u64);
        for kind in kinds(epochs, batch_size) {
            if kind.members.is_none() {
                let sequential = cross_validate(&kind, &data, Stacking::Sequential);
                let stacked = cross_validate(&kind, &data, Stacking::Stacked);
                let (Some(stacked), Some(sequential)) = (stacked, sequential) else {
                    continue;
                };
                println!(
                    "{:<9} {size:>5} {:>5} {:>10.2} {:>10.2} {:>7.2} {:>9.1} {:>18} {:>18}",
                    kind.name,
                    "cv",
                    stacked.0,
                    sequential.0,
                    sequential.0 / stacked.0,
                    1e3 * stacked.0 / epochs as f64,
                    format!("{} epochs", stacked.1),
                    format!("{} epochs", sequential.1),
                );
            }
            let stacked = fit(&kind, &data, &test, Stacking::Stacked, epochs);
            // A single network trains the same way either way: measure it once.
            let sequential = if kind.members.is_some() {
                fit(&kind, &data, &test, Stacking::Sequential, epochs)
            } else {
                None
            };
            let Some(stacked) = stacked else { continue };
            let show = |(relative, accuracy): (f64, f64)| format!("{relative:.3} / {accuracy:.3}");
            println!(
                "{:<9} {size:>5} {:>5} {:>10.2} {:>10} {:>7} {:>9.1} {:>18} {:>18}",
                kind.name,
                "fit",
                stacked.0,
                sequential.map_or("-".to_string(), |s| format!("{:.2}", s.0)),
                sequential.map_or("-".to_string(), |s| format!("{:.2}", s.0 / stacked.0)),
                1e3 * stacked.0 / epochs as f64,
                show(stacked.1),
                sequential.map_or("-".to_string(), |s| show(s.1)),
            );
        }
    }
    if std::env::var("DMOSOPT_BENCH_DEFAULTS").is_ok_and(|v| v != "0") || !quick || only_defaults {
        defaults_table(sizes, &test, &threads);
    }
    println!(
        "error: mean relative RMSE of the objectives / constraint-satisfaction accuracy on \
         1 000 held-out rows; ratio: sequential / stacked seconds"
    );
}
