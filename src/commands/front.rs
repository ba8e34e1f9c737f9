//! `dmosopt front`: the non-dominated evaluations of a result file as a table, CSV or JSON.

use crate::cli::FrontArgs;
use crate::report::front::{pareto_rows, render, FrontSelection};
use crate::store::read_run;
use anyhow::Context;

pub fn front(args: &FrontArgs) -> anyhow::Result<()> {
    let run = read_run(&args.file, args.opt_id.as_deref(), args.problem)
        .with_context(|| format!("cannot read results from {}", args.file.display()))?;
    let selection = if args.all {
        FrontSelection::All
    } else {
        FrontSelection::Feasible
    };
    let rows = pareto_rows(&run, selection);
    print!("{}", render(&run, &rows, args.format));
    Ok(())
}
