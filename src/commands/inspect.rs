//! `dmosopt inspect`: a summary of a result file — evaluations per epoch and status, failure
//! reasons (grouped by their first line, counted), evaluation durations, the per-epoch table
//! (`run/epochs`: hypervolume, fit and search time, the surrogate's training epochs and its
//! quality on the batch it proposed — NRMSE, Spearman, feasibility accuracy and F1, `n/a`
//! where not measured) and the proposals still pending.

use crate::cli::InspectArgs;
use crate::problem::Status;
use crate::report::front::row_is_feasible;
use crate::store::{read_run, StoredRun};
use anyhow::Context;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

pub fn inspect(args: &InspectArgs) -> anyhow::Result<()> {
    let run = read_run(&args.file, args.run.opt_id.as_deref(), args.run.problem)
        .with_context(|| format!("cannot read results from {}", args.file.display()))?;
    print!("{}", summary(&run));
    Ok(())
}

/// The whole report as text.
pub fn summary(run: &StoredRun) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "optimization `{}`, problem {}: {} evaluations, {} parameters, objectives [{}], \
         constraints [{}]",
        run.opt_id,
        run.problem_id,
        run.rows.len(),
        run.parameter_names.len(),
        run.objective_names.join(", "),
        run.constraint_names.join(", ")
    );
    per_epoch(run, &mut out);
    failures(run, &mut out);
    timing(run, &mut out);
    epoch_table(run, &mut out);
    pending(run, &mut out);
    out
}

fn per_epoch(run: &StoredRun, out: &mut String) {
    let mut table: BTreeMap<u32, [usize; 5]> = BTreeMap::new();
    for row in &run.rows {
        let counts = table.entry(row.epoch).or_default();
        let status = row.status.unwrap_or(Status::Ok);
        let k = Status::ALL.iter().position(|s| *s == status).unwrap_or(0);
        counts[k] += 1;
        counts[4] += usize::from(row_is_feasible(row));
    }
    let _ = writeln!(out, "\nevaluations per epoch:");
    let _ = writeln!(
        out,
        "{:>6} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9}",
        "epoch", "total", "ok", "failed", "timeout", "invalid", "feasible"
    );
    for (epoch, c) in &table {
        let _ = writeln!(
            out,
            "{epoch:>6} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9}",
            c[0] + c[1] + c[2] + c[3],
            c[0],
            c[1],
            c[2],
            c[3],
            c[4]
        );
    }
}

fn failures(run: &StoredRun, out: &mut String) {
    let mut reasons: BTreeMap<(String, String), usize> = BTreeMap::new();
    for row in &run.rows {
        let status = row.status.unwrap_or(Status::Ok);
        if status == Status::Ok {
            continue;
        }
        let reason = row
            .error
            .as_deref()
            .and_then(|e| e.lines().next())
            .unwrap_or("")
            .to_string();
        *reasons.entry((status.to_string(), reason)).or_default() += 1;
    }
    if reasons.is_empty() {
        let _ = writeln!(out, "\nfailures: none");
        return;
    }
    let mut sorted: Vec<_> = reasons.into_iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let _ = writeln!(out, "\nfailures (by reason):");
    for ((status, reason), n) in sorted {
        let _ = writeln!(out, "{n:>6} {status:<8} {reason}");
    }
}

fn timing(run: &StoredRun, out: &mut String) {
    let mut durations: Vec<f64> = run
        .rows
        .iter()
        .filter_map(|r| r.duration)
        .filter(|d| d.is_finite())
        .collect();
    if durations.is_empty() {
        return;
    }
    durations.sort_by(f64::total_cmp);
    let n = durations.len();
    let quantile = |q: f64| durations[((n - 1) as f64 * q).round() as usize];
    let mean = durations.iter().sum::<f64>() / n as f64;
    let _ = writeln!(
        out,
        "\nevaluation time (s): min {:.3}, median {:.3}, mean {mean:.3}, p90 {:.3}, max {:.3}, \
         total {:.1}",
        durations[0],
        quantile(0.5),
        quantile(0.9),
        durations[n - 1],
        durations.iter().sum::<f64>()
    );
}

fn epoch_table(run: &StoredRun, out: &mut String) {
    if run.epochs.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nepochs:");
    let _ = writeln!(
        out,
        "{:>6} {:>12} {:>9} {:>12} {:>8} {:>9} {:>10} {:>7} {:>8} {:>9} {:>7}",
        "epoch",
        "evaluations",
        "feasible",
        "hypervolume",
        "fit_s",
        "search_s",
        "sur_epochs",
        "nrmse",
        "spearman",
        "feas_acc",
        "feas_f1"
    );
    for e in &run.epochs {
        let surrogate_epochs = if e.surrogate_epochs < 0 {
            "n/a".to_string()
        } else {
            e.surrogate_epochs.to_string()
        };
        let _ = writeln!(
            out,
            "{:>6} {:>12} {:>9} {:>12.6} {:>8.2} {:>9.2} {surrogate_epochs:>10} {:>7} {:>8} \
             {:>9} {:>7}",
            e.epoch,
            e.n_evaluations,
            e.n_feasible,
            e.hypervolume,
            e.fit_seconds,
            e.search_seconds,
            metric(e.nrmse),
            metric(e.spearman),
            metric(e.feasibility_accuracy),
            metric(e.feasibility_f1)
        );
    }
}

/// A quality metric with three decimals, `n/a` when not measured (NaN).
fn metric(value: f64) -> String {
    if value.is_nan() {
        "n/a".to_string()
    } else {
        format!("{value:.3}")
    }
}

fn pending(run: &StoredRun, out: &mut String) {
    let done: HashSet<u64> = run.rows.iter().filter_map(|r| r.eval_id).collect();
    let pending = run
        .proposals
        .iter()
        .filter(|p| !done.contains(&p.eval_id))
        .count();
    if pending > 0 {
        let _ = writeln!(
            out,
            "\n{pending} proposed evaluations have no result (in flight at an interruption): \
             `dmosopt run CONFIG --resume` evaluates them"
        );
    }
}
