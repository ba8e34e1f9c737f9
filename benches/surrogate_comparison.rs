//! Benchmark: the surrogate kinds compared on the same budget and seeds (issue 5's table).
//!
//! Every (problem, kind, seed) runs a whole optimization in process — the same strategy
//! `dmosopt run` drives, evaluating the builtin problem synchronously — with at most 500 true
//! evaluations, and prints: final hypervolume of the feasible evaluated points, the optimum
//! (hypervolume of a dense sample of the true Pareto front at the same reference point) and
//! their ratio, the feasible fraction of evaluated points, and the surrogate's mean fit time
//! per epoch. The GP row is the baseline measured in the same process.
//!
//! Run: `cargo bench --bench surrogate_comparison` (through scripts/common.sh's environment).
//! Choose with environment variables (comma separated): `COMPARE_PROBLEMS` (zdt2, zdt3, tnk,
//! osy, c2-dtlz2), `COMPARE_KINDS` (gp, gp+mlp, gp+gp, mlp, resnet, ft-transformer, ensemble, ensemble-explore: the
//! ensemble with `optimizer.exploration = 3`), `COMPARE_SEEDS`
//! (1,2,3), and `COMPARE_SET` (`;`-separated `key=value` overrides applied to every run, e.g.
//! `surrogate.cv_time_budget="10s"` for neural kinds only when the key applies).
//! `COMPARE_VERBOSE=1` also prints every epoch's report (hypervolume, feasible count, surrogate
//! quality on the batch it proposed) to standard error; `COMPARE_DUMP=file.csv` writes the
//! last run's evaluations (epoch, parameters, objectives, constraints, predicted objectives per line).

use std::path::Path;
use std::time::Instant;

use dmosopt::commands::run::{search_mode, strategy_config};
use dmosopt::config::resolve::{ProblemDefinition, RunConfig};
use dmosopt::indicators::hypervolume;
use dmosopt::problem::Outcome;
use dmosopt::strategy::{Ask, Strategy};

/// Problem settings: budget ≤ 500 true evaluations.
fn problem_section(problem: &str) -> Option<&'static str> {
    Some(match problem {
        "zdt2" | "zdt3" => {
            "n_initial = 3\nn_epochs = 8\npopulation_size = 200\nnum_generations = 100\n\
             resample_fraction = 0.25\nmax_evaluations = 500\n"
        }
        "tnk" => {
            "n_initial = 10\nn_epochs = 12\npopulation_size = 100\nnum_generations = 10\n\
             resample_fraction = 0.4\nmax_evaluations = 500\n"
        }
        "osy" | "c2-dtlz2" => {
            "n_initial = 10\nn_epochs = 11\npopulation_size = 100\nnum_generations = 10\n\
             resample_fraction = 0.4\nmax_evaluations = 500\n"
        }
        _ => return None,
    })
}

/// `optimizer.exploration` of the `ensemble-explore` kind: the ensemble ranked by
/// `mean − 3σ` of its members.
const EXPLORATION: f64 = 3.0;

/// Surrogate settings per kind: the defaults, with the CV capped for a benchmark.
fn surrogate_section(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "gp" => "kind = \"gp\"\n",
        "gp+mlp" => "kind = \"gp\"\nfeasibility = \"mlp\"\n",
        "gp+gp" => "kind = \"gp\"\nfeasibility = \"gp\"\n",
        "mlp" | "resnet" | "ft-transformer" => match kind {
            "mlp" => "kind = \"mlp\"\nmax_epochs = 1000\npatience = 50\ncv_time_budget = \"20s\"\n",
            "resnet" => {
                "kind = \"resnet\"\nmax_epochs = 1000\npatience = 50\ncv_time_budget = \"20s\"\n"
            }
            _ => {
                "kind = \"ft-transformer\"\nmax_epochs = 1000\npatience = 50\n\
                 cv_time_budget = \"20s\"\n"
            }
        },
        "ensemble" | "ensemble-explore" => {
            "kind = \"ensemble\"\nmember = \"mlp\"\nmembers = 5\nmax_epochs = 1000\n\
             patience = 50\ncv_time_budget = \"20s\"\n"
        }
        _ => return None,
    })
}

struct Outcomes {
    hypervolume: f64,
    optimum: f64,
    evaluations: usize,
    feasible: usize,
    fit_seconds: f64,
    wall_seconds: f64,
}

fn run_one(config: &RunConfig) -> Result<Outcomes, String> {
    let ProblemDefinition::Builtin { problem, .. } = &config.problem.definition else {
        return Err("not a builtin problem".to_string());
    };
    let reference = config
        .problem
        .reference_point
        .clone()
        .ok_or("no reference point")?;
    let front = problem.pareto_front(4000).ok_or("no known front")?;
    let optimum = hypervolume(&front, &reference);
    let start = Instant::now();
    let mut strategy = Strategy::new(
        config.problem.space.clone(),
        config.problem.schema.clone(),
        strategy_config(config),
        search_mode(config),
    );
    let mut reports = Vec::new();
    loop {
        let ask = strategy.ask(usize::MAX).map_err(|e| e.to_string())?;
        reports.extend(strategy.take_reports());
        match ask {
            Ask::Evaluate(batch) => {
                for candidate in batch {
                    let evaluation = problem.evaluate(&candidate.parameters);
                    strategy
                        .tell(Outcome::success(candidate.eval_id, evaluation))
                        .map_err(|e| e.to_string())?;
                }
            }
            Ask::Wait => return Err("the strategy waits with nothing in flight".to_string()),
            Ask::Finished => break,
        }
    }
    reports.extend(strategy.take_reports());
    if std::env::var_os("COMPARE_VERBOSE").is_some() {
        for r in &reports {
            eprintln!(
                "  epoch {:>2}: evals {:>3} feasible {:>3} HV {:.4} fit {:.1}s ({:?} epochs) search {:.1}s \
                 nrmse {:.3} spearman {:.3} feas-acc {:.3} f1 {:.3}",
                r.epoch,
                r.n_evaluations,
                r.n_feasible,
                r.hypervolume,
                r.fit_seconds,
                r.surrogate_epochs,
                r.search_seconds,
                r.quality.nrmse,
                r.quality.spearman,
                r.quality.feasibility_accuracy,
                r.quality.feasibility_f1,
            );
        }
    }
    if let Some(path) = std::env::var_os("COMPARE_DUMP") {
        let rows: Vec<String> = strategy
            .records()
            .map(|r| {
                let values: Vec<String> = std::iter::once(r.epoch.to_string())
                    .chain(r.parameters.iter().map(f64::to_string))
                    .chain(r.objectives.iter().map(f64::to_string))
                    .chain(r.constraints.iter().map(f64::to_string))
                    .chain(r.predictions.iter().flatten().map(f64::to_string))
                    .collect();
                values.join(",")
            })
            .collect();
        if let Err(error) = std::fs::write(&path, rows.join("\n")) {
            eprintln!("COMPARE_DUMP: {error}");
        }
    }
    let feasible: Vec<Vec<f64>> = strategy
        .records()
        .filter(|r| r.is_feasible() && r.has_finite_objectives())
        .map(|r| r.objectives.clone())
        .collect();
    let surrogate_epochs: Vec<f64> = reports
        .iter()
        .filter(|r| r.epoch > 0 || r.fit_seconds > 0.0)
        .map(|r| r.fit_seconds)
        .filter(|s| *s > 0.0)
        .collect();
    Ok(Outcomes {
        hypervolume: hypervolume(&feasible, &reference),
        optimum,
        evaluations: strategy.n_completed(),
        feasible: feasible.len(),
        fit_seconds: surrogate_epochs.iter().sum::<f64>() / surrogate_epochs.len().max(1) as f64,
        wall_seconds: start.elapsed().as_secs_f64(),
    })
}

fn list(name: &str, default: &str) -> Vec<String> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_string())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn main() {
    let problems = list("COMPARE_PROBLEMS", "zdt2,zdt3,tnk,osy,c2-dtlz2");
    let kinds = list("COMPARE_KINDS", "gp,resnet,ensemble");
    let seeds = list("COMPARE_SEEDS", "1");
    let overrides: Vec<String> = std::env::var("COMPARE_SET")
        .map(|s| {
            s.split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    println!(
        "| problem | kind | seed | evals | HV | optimum | HV/opt | feasible % | fit s/epoch | wall s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for problem in &problems {
        let Some(optimizer) = problem_section(problem) else {
            eprintln!("unknown problem {problem}");
            continue;
        };
        let mut baseline: Option<f64> = None;
        for kind in &kinds {
            let Some(surrogate) = surrogate_section(kind) else {
                eprintln!("unknown kind {kind}");
                continue;
            };
            for seed in &seeds {
                let text = format!(
                    "[problem]\nbuiltin = \"{problem}\"\n[optimizer]\n{optimizer}seed = {seed}\n\
                     [surrogate]\n{surrogate}"
                );
                let mut applicable: Vec<String> = overrides
                    .iter()
                    .filter(|o| kind != "gp" || !o.starts_with("surrogate."))
                    .cloned()
                    .collect();
                if kind == "ensemble-explore" {
                    applicable.insert(0, format!("optimizer.exploration={EXPLORATION}"));
                }
                let config =
                    match dmosopt::config::load_str(&text, Path::new("bench.toml"), &applicable) {
                        Ok(config) => config,
                        Err(error) => {
                            eprintln!("{problem}/{kind}: {error}");
                            continue;
                        }
                    };
                match run_one(&config) {
                    Ok(o) => {
                        let ratio = o.hypervolume / o.optimum;
                        if kind == "gp" {
                            baseline.get_or_insert(ratio);
                        }
                        println!(
                            "| {problem} | {kind} | {seed} | {} | {:.4} | {:.4} | {:.3} | {:.1} | {:.2} | {:.0} |",
                            o.evaluations,
                            o.hypervolume,
                            o.optimum,
                            ratio,
                            100.0 * o.feasible as f64 / o.evaluations.max(1) as f64,
                            o.fit_seconds,
                            o.wall_seconds,
                        );
                    }
                    Err(error) => eprintln!("{problem}/{kind}/{seed}: {error}"),
                }
            }
        }
        if let Some(baseline) = baseline {
            println!("<!-- {problem}: GP baseline HV/opt {baseline:.3} -->");
        }
    }
}
