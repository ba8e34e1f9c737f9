//! `dmosopt inspect`, `front --sort-by` and `--initial-data` on our files and on files written
//! by the Python dmosopt (`/work/shared/reference/dmosopt-files`, via `DMOSOPT_REFERENCE_FILES`
//! or that default path; tests that need them are skipped when they are absent).

use std::path::Path;
use std::process::Output;

mod common;

use common::{reference, stdout};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn dmosopt(dir: &Path, args: &[&str]) -> Output {
    common::command(dir, args)
        .env("OMP_NUM_THREADS", "1")
        .output()
        .expect("start dmosopt")
}

#[test]
fn inspect_groups_failure_reasons_and_counts_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let python = std::env::var("DMOSOPT_PYTHON").unwrap_or_else(|_| "python3".into());
    let config = format!(
        r#"
[problem]
id = "misbehave"
objectives = ["f"]
constraints = ["c"]
[problem.space]
mode = {{ bounds = [0, 13], integer = true }}
[optimizer]
n_initial = 28
initial_method = "lhs"
n_epochs = 0
population_size = 8
seed = 1
[surrogate]
kind = "none"
[evaluator]
command = [{python:?}, "{ROOT}/tests/simulators/misbehave.py", "inspect-{pid}"]
timeout = "2s"
max_failure_fraction = 1.0
[evaluator.env]
MISBEHAVE_C = "1.0"
"#,
        pid = std::process::id()
    );
    std::fs::write(dir.path().join("m.toml"), config).unwrap();
    let run = dmosopt(dir.path(), &["run", "m.toml", "-o", "m.h5", "-w", "4"]);
    assert!(run.status.success(), "{run:?}");
    let text = stdout(&dmosopt(dir.path(), &["inspect", "m.h5"]));
    for fragment in [
        "28 evaluations",
        "evaluations per epoch",
        "failures (by reason)",
        "timeout",
        "invalid",
        "evaluation time (s)",
        "hypervolume",
    ] {
        assert!(text.contains(fragment), "missing {fragment:?} in\n{text}");
    }
}

#[test]
fn front_and_inspect_read_python_dmosopt_files() {
    let (Some(constr), Some(multi)) = (
        reference("constr_features.h5"),
        reference("multiproblem_nested.h5"),
    ) else {
        eprintln!("reference files absent: skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let front = stdout(&dmosopt(
        dir.path(),
        &["front", constr.to_str().unwrap(), "--sort-by", "b"],
    ));
    assert!(front.contains("non-dominated"), "{front}");
    let b: Vec<f64> = front
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split_whitespace().nth(2).unwrap().parse().unwrap())
        .collect();
    assert!(b.windows(2).all(|w| w[0] <= w[1]), "{front}");
    let bad = dmosopt(
        dir.path(),
        &["front", constr.to_str().unwrap(), "--sort-by", "zz"],
    );
    assert_eq!(bad.status.code(), Some(2));

    let multi = multi.to_str().unwrap();
    let listed = stdout(&dmosopt(
        dir.path(),
        &["front", multi, "--opt-id", "mp", "--problem", "5"],
    ));
    assert!(listed.contains("non-dominated"), "{listed}");
    let inspect = stdout(&dmosopt(
        dir.path(),
        &["inspect", multi, "--opt-id", "mp", "--problem", "3"],
    ));
    assert!(inspect.contains("evaluations per epoch"), "{inspect}");
}

#[test]
fn initial_data_from_a_python_dmosopt_file_seeds_the_initial_design() {
    let Some(constr) = reference("constr_features.h5") else {
        eprintln!("reference files absent: skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // The space of constr_features.h5: a, b, c (objectives f1, f2; constraints c1, c2).
    let config = r#"
[problem]
id = "seeded"
objectives = ["f1", "f2"]
constraints = ["c1", "c2"]
[problem.space]
a = [0.1, 1.0]
b = [0.0, 5.0]
c = [0.0, 1.0]
[optimizer]
n_initial = 10
n_epochs = 0
seed = 1
[surrogate]
kind = "none"
[evaluator]
command = ["false"]
"#;
    std::fs::write(dir.path().join("s.toml"), config).unwrap();
    let out = dmosopt(
        dir.path(),
        &[
            "run",
            "s.toml",
            "-o",
            "s.h5",
            "--initial-data",
            constr.to_str().unwrap(),
            "--set",
            "evaluator.max_failure_fraction=1.0",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let run = dmosopt::store::read_run(&dir.path().join("s.h5"), None, None).unwrap();
    let source = dmosopt::store::read_run(&constr, None, None).unwrap();
    // All 17 imported rows first (eval_ids 0..17, epoch 0), then 3·10 − 17 sampled ones.
    assert_eq!(run.rows.len(), 30, "{run:?}");
    let imported: Vec<_> = run
        .rows
        .iter()
        .filter(|r| r.eval_id.unwrap() < 17)
        .collect();
    assert_eq!(imported.len(), 17);
    assert!(imported.iter().all(|r| r.epoch == 0));
    assert_eq!(imported[0].objectives, source.rows[0].objectives);
}

#[test]
fn inspect_shows_the_surrogate_quality_of_a_neural_run() {
    let dir = tempfile::tempdir().unwrap();
    let config = r#"
[problem]
id = "tnk"
builtin = "tnk"
[optimizer]
n_initial = 10
n_epochs = 2
population_size = 20
num_generations = 10
seed = 4
[surrogate]
kind = "mlp"
width = 16
depth = 2
epochs = 20
"#;
    std::fs::write(dir.path().join("t.toml"), config).unwrap();
    let run = dmosopt(dir.path(), &["run", "t.toml", "-o", "t.h5"]);
    assert!(run.status.success(), "{run:?}");

    let stored = dmosopt::store::read_run(&dir.path().join("t.h5"), None, None).unwrap();
    assert_eq!(stored.epochs.len(), 3, "{:?}", stored.epochs);
    let initial = stored.epochs[0];
    assert_eq!(initial.surrogate_epochs, -1);
    assert!(initial.nrmse.is_nan() && initial.feasibility_accuracy.is_nan());
    for e in &stored.epochs[1..] {
        // The configured epoch count, and metrics measured on the batch (TNK has constraints
        // and the network predicts them).
        assert_eq!(e.surrogate_epochs, 20, "{e:?}");
        assert!(e.nrmse.is_finite() && e.nrmse >= 0.0, "{e:?}");
        assert!((-1.0..=1.0).contains(&e.spearman), "{e:?}");
        assert!((0.0..=1.0).contains(&e.feasibility_accuracy), "{e:?}");
    }
    let predicted: Vec<_> = stored.proposals.iter().filter(|p| p.epoch > 0).collect();
    assert!(!predicted.is_empty());
    assert!(predicted
        .iter()
        .all(|p| p.feasibility.is_some_and(|f| (0.0..=1.0).contains(&f))
            && p.surrogate_epochs == Some(20)));

    let text = stdout(&dmosopt(dir.path(), &["inspect", "t.h5"]));
    let header = text
        .lines()
        .find(|l| l.contains("hypervolume") && l.contains("nrmse"))
        .unwrap_or_else(|| panic!("no epoch table in\n{text}"));
    for column in ["sur_epochs", "spearman", "feas_acc", "feas_f1"] {
        assert!(header.contains(column), "missing {column:?} in\n{text}");
    }
    let row = |epoch: &str| -> Vec<String> {
        let start = text.find(header).unwrap();
        text[start..]
            .lines()
            .map(|l| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .find(|cells| cells.first().map(String::as_str) == Some(epoch))
            .unwrap_or_else(|| panic!("no row for epoch {epoch} in\n{text}"))
    };
    // epoch, evaluations, feasible, hypervolume, fit_s, search_s, then the quality columns.
    assert_eq!(row("0")[6..], ["n/a", "n/a", "n/a", "n/a", "n/a"], "{text}");
    let second = row("1");
    assert_eq!(second[6], "20", "{text}");
    assert_eq!(
        second[7],
        format!("{:.3}", stored.epochs[1].nrmse),
        "{text}"
    );
    assert_eq!(
        second[9],
        format!("{:.3}", stored.epochs[1].feasibility_accuracy),
        "{text}"
    );
}
