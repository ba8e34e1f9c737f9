//! `dmosopt plot`: draw the front and the hypervolume per epoch of a result file to PNG or
//! SVG (see [`crate::report::plot`]).

use super::UsageError;
use crate::cli::PlotArgs;
use crate::report::front::FrontSelection;
use crate::report::plot::{load_font, plot_run, ImageFormat};
use crate::store::read_run;
use anyhow::Context;

pub fn plot(args: &PlotArgs) -> anyhow::Result<()> {
    let format = ImageFormat::from_path(&args.output).map_err(|e| UsageError(e.to_string()))?;
    let run = read_run(&args.file, args.run.opt_id.as_deref(), args.run.problem)
        .with_context(|| format!("cannot read results from {}", args.file.display()))?;
    load_font()?;
    let selection = if args.all {
        FrontSelection::All
    } else {
        FrontSelection::Feasible
    };
    let summary = plot_run(&run, &args.output, format, selection)?;
    println!(
        "wrote {}: {} non-dominated of {} points{}",
        args.output.display(),
        summary.n_front,
        summary.n_points,
        if summary.hypervolume {
            ", hypervolume per epoch"
        } else {
            ""
        }
    );
    Ok(())
}
