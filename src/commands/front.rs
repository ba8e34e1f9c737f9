//! `dmosopt front`: the non-dominated evaluations of a result file as a table, CSV or JSON.

use super::UsageError;
use crate::cli::FrontArgs;
use crate::report::front::{pareto_rows, render, FrontSelection};
use crate::store::read_run;
use crate::store::StoredRun;
use anyhow::Context;

pub fn front(args: &FrontArgs) -> anyhow::Result<()> {
    let run = read_run(&args.file, args.run.opt_id.as_deref(), args.run.problem)
        .with_context(|| format!("cannot read results from {}", args.file.display()))?;
    let selection = if args.all {
        FrontSelection::All
    } else {
        FrontSelection::Feasible
    };
    let mut rows = pareto_rows(&run, selection);
    if let Some(name) = &args.sort_by {
        sort_rows(&run, &mut rows, name)?;
    }
    print!("{}", render(&run, &rows, args.format));
    Ok(())
}

/// One kind of value of a stored row (parameters, objectives or constraints).
type Values = fn(&crate::store::StoredRow) -> &[f64];

/// Sort the front by the named parameter, objective or constraint (ascending).
fn sort_rows(run: &StoredRun, rows: &mut [usize], name: &str) -> anyhow::Result<()> {
    let columns: [(&[String], Values); 3] = [
        (&run.parameter_names, |r| &r.parameters),
        (&run.objective_names, |r| &r.objectives),
        (&run.constraint_names, |r| &r.constraints),
    ];
    for (names, values) in columns {
        if let Some(j) = names.iter().position(|n| n == name) {
            rows.sort_by(|&a, &b| {
                values(&run.rows[a])[j]
                    .total_cmp(&values(&run.rows[b])[j])
                    .then(a.cmp(&b))
            });
            return Ok(());
        }
    }
    let known: Vec<&str> = columns
        .iter()
        .flat_map(|(names, _)| names.iter().map(String::as_str))
        .collect();
    Err(UsageError(format!(
        "--sort-by {name}: no such column (choose one of: {})",
        known.join(", ")
    ))
    .into())
}
