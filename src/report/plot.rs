//! Figures of a stored run (`dmosopt plot`): the Pareto front and the hypervolume per epoch,
//! drawn with plotters to PNG or SVG.
//!
//! The front panel depends on the number of objectives: one objective, the objective against
//! the evaluation number; two, a scatter f1 vs f2; three, the pairwise scatters (f1–f2, f1–f3,
//! f2–f3); more, parallel coordinates of the front with each objective min–max normalized
//! over the front. Evaluated points (feasible ones, or every usable one with `--all`) are grey,
//! the non-dominated ones highlighted. The hypervolume panel plots `run/epochs` (hypervolume
//! against evaluations); files without that table (the Python dmosopt's) or where it is NaN
//! throughout get a note in the title instead.
//!
//! Text needs a TrueType font: [`load_font`] registers DejaVu Sans
//! ([`DEFAULT_FONT`], Debian package [`FONT_PACKAGE`]) or the file named by [`FONT_ENV`].

use crate::report::front::{pareto_rows, row_is_feasible, usable, FrontSelection};
use crate::store::StoredRun;
use plotters::chart::{ChartBuilder, SeriesLabelPosition};
use plotters::coord::Shift;
use plotters::drawing::{DrawingArea, DrawingAreaErrorKind, IntoDrawingArea};
use plotters::element::{Circle, Text};
use plotters::prelude::{BitMapBackend, DrawingBackend, SVGBackend};
use plotters::series::LineSeries;
use plotters::style::{register_font, Color, FontStyle, RGBColor, BLACK, WHITE};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use thiserror::Error;

/// The font registered when [`FONT_ENV`] is not set.
pub const DEFAULT_FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
/// The Debian/Ubuntu package that provides [`DEFAULT_FONT`].
pub const FONT_PACKAGE: &str = "fonts-dejavu-core";
/// Environment variable naming another TrueType/OpenType font file.
pub const FONT_ENV: &str = "DMOSOPT_FONT";

const FONT: &str = "sans-serif";
const CLOUD: RGBColor = RGBColor(170, 170, 170);
const INFEASIBLE: RGBColor = RGBColor(240, 170, 110);
const FRONT: RGBColor = RGBColor(31, 90, 180);
const HYPERVOLUME: RGBColor = RGBColor(200, 50, 40);
const GRID: RGBColor = RGBColor(235, 235, 235);

/// Why a figure could not be made.
#[derive(Debug, Error)]
pub enum PlotError {
    #[error("{}: unsupported image extension {extension}; use .png or .svg", path.display())]
    Extension { path: PathBuf, extension: String },
    #[error(
        "cannot load the font {}: {detail} (install the Debian/Ubuntu package {FONT_PACKAGE}, \
         or set {FONT_ENV} to a TrueType font file)",
        path.display()
    )]
    Font { path: PathBuf, detail: String },
    #[error("{}: cannot draw the figure: {detail}", path.display())]
    Draw { path: PathBuf, detail: String },
}

/// The image format, chosen by the output file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Svg,
}

impl ImageFormat {
    /// `.png` or `.svg` (any case); anything else is [`PlotError::Extension`].
    pub fn from_path(path: &Path) -> Result<Self, PlotError> {
        let extension = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match extension.as_deref() {
            Some("png") => Ok(Self::Png),
            Some("svg") => Ok(Self::Svg),
            other => Err(PlotError::Extension {
                path: path.to_path_buf(),
                extension: other.map_or("(none)".to_string(), |e| format!("`.{e}`")),
            }),
        }
    }
}

/// Register the font for text ([`FONT_ENV`] or [`DEFAULT_FONT`]); done once per process.
pub fn load_font() -> Result<(), PlotError> {
    let path =
        std::env::var_os(FONT_ENV).map_or_else(|| PathBuf::from(DEFAULT_FONT), PathBuf::from);
    load_font_from(&path)
}

/// Register the font in `path` as plotters' `sans-serif` (the first successful call wins).
pub fn load_font_from(path: &Path) -> Result<(), PlotError> {
    static LOADED: OnceLock<()> = OnceLock::new();
    if LOADED.get().is_some() {
        return Ok(());
    }
    let error = |detail: String| PlotError::Font {
        path: path.to_path_buf(),
        detail,
    };
    let bytes = std::fs::read(path).map_err(|e| error(e.to_string()))?;
    // plotters keeps the font for the life of the process.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    register_font(FONT, FontStyle::Normal, bytes)
        .map_err(|_| error("not a TrueType/OpenType font".into()))?;
    let _ = LOADED.set(());
    Ok(())
}

/// What was drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotSummary {
    /// Evaluated points drawn (feasible ones, or every usable one with `All`).
    pub n_points: usize,
    /// Non-dominated points.
    pub n_front: usize,
    /// Whether the hypervolume panel was drawn.
    pub hypervolume: bool,
}

/// Draw the figure of `run` to `path` (call [`load_font`] first).
pub fn plot_run(
    run: &StoredRun,
    path: &Path,
    format: ImageFormat,
    selection: FrontSelection,
) -> Result<PlotSummary, PlotError> {
    let figure = Figure::new(run, selection);
    let size = figure.size();
    let drawn = match format {
        ImageFormat::Png => {
            let root = BitMapBackend::new(path, size).into_drawing_area();
            draw(&root, &figure)
                .and_then(|()| root.present())
                .map_err(|e| e.to_string())
        }
        ImageFormat::Svg => {
            let root = SVGBackend::new(path, size).into_drawing_area();
            draw(&root, &figure)
                .and_then(|()| root.present())
                .map_err(|e| e.to_string())
        }
    };
    drawn.map_err(|detail| PlotError::Draw {
        path: path.to_path_buf(),
        detail,
    })?;
    Ok(PlotSummary {
        n_points: figure.cloud.len() + figure.infeasible.len(),
        n_front: figure.front.len(),
        hypervolume: figure.hypervolume.is_ok(),
    })
}

/// The data of a figure, gathered before drawing.
struct Figure<'a> {
    run: &'a StoredRun,
    /// Feasible evaluated rows.
    cloud: Vec<usize>,
    /// Usable infeasible rows (only with `All`).
    infeasible: Vec<usize>,
    /// Non-dominated rows.
    front: Vec<usize>,
    /// (evaluations, hypervolume) per epoch, or why there is none.
    hypervolume: Result<Vec<(f64, f64)>, &'static str>,
    title: String,
    /// A second title line (why the hypervolume is not shown).
    note: Option<String>,
}

impl<'a> Figure<'a> {
    fn new(run: &'a StoredRun, selection: FrontSelection) -> Self {
        let feasible: Vec<usize> = (0..run.rows.len())
            .filter(|&i| row_is_feasible(&run.rows[i]))
            .collect();
        let infeasible: Vec<usize> = match selection {
            FrontSelection::Feasible => Vec::new(),
            FrontSelection::All => (0..run.rows.len())
                .filter(|&i| usable(&run.rows[i]) && !row_is_feasible(&run.rows[i]))
                .collect(),
        };
        let front = pareto_rows(run, selection);
        let hypervolume = if run.epochs.is_empty() {
            Err("no run/epochs table in the file")
        } else {
            let points: Vec<(f64, f64)> = run
                .epochs
                .iter()
                .filter(|e| e.hypervolume.is_finite())
                .map(|e| (e.n_evaluations as f64, e.hypervolume))
                .collect();
            if points.is_empty() {
                Err("undefined (NaN) in every epoch")
            } else {
                Ok(points)
            }
        };
        let title = format!(
            "{} (problem {}): {} evaluations, {} feasible, {} non-dominated{}",
            run.opt_id,
            run.problem_id,
            run.rows.len(),
            feasible.len(),
            front.len(),
            if selection == FrontSelection::All {
                " (constraints ignored)"
            } else {
                ""
            }
        );
        let note = hypervolume
            .as_ref()
            .err()
            .map(|reason| format!("hypervolume not shown: {reason}"));
        Self {
            run,
            cloud: feasible,
            infeasible,
            front,
            hypervolume,
            title,
            note,
        }
    }

    fn n_objectives(&self) -> usize {
        self.run.objective_names.len()
    }

    /// Image size in pixels.
    fn size(&self) -> (u32, u32) {
        let hv = self.hypervolume.is_ok();
        match (self.n_objectives(), hv) {
            (0..=2, true) => (1500, 650),
            (0..=2, false) => (900, 700),
            (3, true) => (1300, 1100),
            (3, false) => (1650, 600),
            (_, true) => (1650, 650),
            (_, false) => (1100, 650),
        }
    }

    fn objective(&self, row: usize, k: usize) -> f64 {
        self.run.rows[row].objectives[k]
    }
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, figure: &Figure) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let mut body = root.titled(&figure.title, (FONT, 22))?;
    if let Some(note) = &figure.note {
        body = body.titled(note, (FONT, 16))?;
    }
    let q = figure.n_objectives();
    let hv = figure.hypervolume.as_ref().ok();
    let (width, _) = body.dim_in_pixel();
    match q {
        0 => Ok(()),
        1 | 2 => {
            let (front_area, hv_area) = match hv {
                Some(_) => {
                    let (a, b) = body.split_horizontally(width / 2);
                    (a, Some(b))
                }
                None => (body, None),
            };
            if q == 1 {
                single_objective(&front_area, figure)?;
            } else {
                scatter(&front_area, figure, 0, 1, true)?;
            }
            match (hv_area, hv) {
                (Some(area), Some(points)) => hypervolume_panel(&area, points),
                _ => Ok(()),
            }
        }
        3 => {
            let areas = match hv {
                Some(_) => body.split_evenly((2, 2)),
                None => body.split_evenly((1, 3)),
            };
            for (k, (i, j)) in [(0, 1), (0, 2), (1, 2)].into_iter().enumerate() {
                scatter(&areas[k], figure, i, j, k == 0)?;
            }
            match (areas.get(3), hv) {
                (Some(area), Some(points)) => hypervolume_panel(area, points),
                _ => Ok(()),
            }
        }
        _ => match hv {
            Some(points) => {
                let (a, b) = body.split_horizontally(width * 3 / 5);
                parallel_coordinates(&a, figure)?;
                hypervolume_panel(&b, points)
            }
            None => parallel_coordinates(&body, figure),
        },
    }
}

/// Objective 0 against the evaluation number.
fn single_objective<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    figure: &Figure,
) -> DrawResult<DB> {
    let point = |r: usize| (r as f64, figure.objective(r, 0));
    let points = |rows: &[usize]| rows.iter().map(|&r| point(r)).collect::<Vec<_>>();
    let panel = Panel {
        x_desc: "evaluation",
        y_desc: &figure.run.objective_names[0],
        cloud: points(&figure.cloud),
        infeasible: points(&figure.infeasible),
        front: points(&figure.front),
        connect: false,
        legend: true,
    };
    points_panel(area, &panel)
}

/// Objective `j` against objective `i`.
fn scatter<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    figure: &Figure,
    i: usize,
    j: usize,
    legend: bool,
) -> DrawResult<DB> {
    let points = |rows: &[usize]| {
        rows.iter()
            .map(|&r| (figure.objective(r, i), figure.objective(r, j)))
            .collect::<Vec<_>>()
    };
    let mut front = points(&figure.front);
    front.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let names = &figure.run.objective_names;
    let panel = Panel {
        x_desc: &names[i],
        y_desc: &names[j],
        cloud: points(&figure.cloud),
        infeasible: points(&figure.infeasible),
        front,
        connect: figure.n_objectives() == 2,
        legend,
    };
    points_panel(area, &panel)
}

struct Panel<'a> {
    x_desc: &'a str,
    y_desc: &'a str,
    cloud: Vec<(f64, f64)>,
    infeasible: Vec<(f64, f64)>,
    front: Vec<(f64, f64)>,
    /// Join the front points with a line (in the given order).
    connect: bool,
    legend: bool,
}

fn points_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
) -> DrawResult<DB> {
    let all = || {
        panel
            .cloud
            .iter()
            .chain(&panel.infeasible)
            .chain(&panel.front)
    };
    let x_range = padded_range(all().map(|p| p.0));
    let y_range = padded_range(all().map(|p| p.1));
    let mut chart = ChartBuilder::on(area)
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(x_range, y_range)?;
    chart
        .configure_mesh()
        .x_desc(panel.x_desc)
        .y_desc(panel.y_desc)
        .axis_desc_style((FONT, 18))
        .label_style((FONT, 14))
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .draw()?;
    if !panel.infeasible.is_empty() {
        chart
            .draw_series(
                panel
                    .infeasible
                    .iter()
                    .map(|&p| Circle::new(p, 2, INFEASIBLE.filled())),
            )?
            .label("infeasible")
            .legend(|(x, y)| Circle::new((x, y), 4, INFEASIBLE.filled()));
    }
    chart
        .draw_series(
            panel
                .cloud
                .iter()
                .map(|&p| Circle::new(p, 2, CLOUD.filled())),
        )?
        .label("feasible evaluations")
        .legend(|(x, y)| Circle::new((x, y), 4, CLOUD.filled()));
    if panel.connect && panel.front.len() > 1 {
        chart.draw_series(LineSeries::new(
            panel.front.iter().copied(),
            FRONT.mix(0.6).stroke_width(1),
        ))?;
    }
    chart
        .draw_series(
            panel
                .front
                .iter()
                .map(|&p| Circle::new(p, 4, FRONT.filled())),
        )?
        .label("non-dominated")
        .legend(|(x, y)| Circle::new((x, y), 4, FRONT.filled()));
    if panel.legend {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .label_font((FONT, 14))
            .draw()?;
    }
    Ok(())
}

/// Parallel coordinates of the front, each objective min–max normalized over the front.
fn parallel_coordinates<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    figure: &Figure,
) -> DrawResult<DB> {
    let names = &figure.run.objective_names;
    let q = names.len();
    let bounds: Vec<(f64, f64)> = (0..q)
        .map(|k| {
            figure
                .front
                .iter()
                .map(|&r| figure.objective(r, k))
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                    (lo.min(v), hi.max(v))
                })
        })
        .collect();
    let normalized = |k: usize, v: f64| {
        let (lo, hi) = bounds[k];
        if hi > lo {
            (v - lo) / (hi - lo)
        } else {
            0.5
        }
    };
    let label = |x: &f64| {
        let k = x.round();
        if (x - k).abs() < 1e-6 && k >= 0.0 && (k as usize) < q {
            names[k as usize].clone()
        } else {
            String::new()
        }
    };
    let last = (q - 1) as f64;
    let mut chart = ChartBuilder::on(area)
        .margin(15)
        .margin_right(40)
        .caption(
            "non-dominated front (each objective scaled to [min, max] of the front)",
            (FONT, 18),
        )
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.15..last + 0.15, -0.1..1.1)?;
    chart
        .configure_mesh()
        .x_labels(q)
        .x_label_formatter(&label)
        .y_desc("normalized objective")
        .axis_desc_style((FONT, 18))
        .label_style((FONT, 14))
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .draw()?;
    for k in 0..q {
        chart.draw_series(LineSeries::new(
            [(k as f64, 0.0), (k as f64, 1.0)],
            BLACK.mix(0.5).stroke_width(1),
        ))?;
    }
    for &r in &figure.front {
        chart.draw_series(LineSeries::new(
            (0..q).map(|k| (k as f64, normalized(k, figure.objective(r, k)))),
            FRONT.mix(0.45).stroke_width(1),
        ))?;
    }
    if !figure.front.is_empty() {
        chart.draw_series((0..q).flat_map(|k| {
            let (lo, hi) = bounds[k];
            [
                Text::new(short(hi), (k as f64 + 0.02, 1.06), (FONT, 12)),
                Text::new(short(lo), (k as f64 + 0.02, -0.03), (FONT, 12)),
            ]
        }))?;
    }
    Ok(())
}

fn hypervolume_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    points: &[(f64, f64)],
) -> DrawResult<DB> {
    let x_range = padded_range(points.iter().map(|p| p.0));
    let y_range = padded_range(points.iter().map(|p| p.1));
    let mut chart = ChartBuilder::on(area)
        .margin(15)
        .caption("hypervolume of the feasible front", (FONT, 18))
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(x_range, y_range)?;
    chart
        .configure_mesh()
        .x_desc("evaluations")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_desc("hypervolume")
        .axis_desc_style((FONT, 18))
        .label_style((FONT, 14))
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .draw()?;
    chart.draw_series(LineSeries::new(
        points.iter().copied(),
        HYPERVOLUME.stroke_width(2),
    ))?;
    chart.draw_series(
        points
            .iter()
            .map(|&p| Circle::new(p, 4, HYPERVOLUME.filled())),
    )?;
    Ok(())
}

/// The range of the finite values with 5 % padding (0..1 when there are none).
fn padded_range(values: impl Iterator<Item = f64>) -> Range<f64> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return 0.0..1.0;
    }
    let span = hi - lo;
    let pad = if span > 0.0 {
        span * 0.05
    } else {
        lo.abs().max(1.0) * 0.05
    };
    (lo - pad)..(hi + pad)
}

/// A number in four significant digits.
fn short(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e5 || v.abs() < 1e-3) {
        format!("{v:.3e}")
    } else {
        format!("{:.4}", v)
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_follows_the_extension() {
        assert_eq!(
            ImageFormat::from_path(Path::new("a/front.PNG")).unwrap(),
            ImageFormat::Png
        );
        assert_eq!(
            ImageFormat::from_path(Path::new("front.svg")).unwrap(),
            ImageFormat::Svg
        );
        let err = ImageFormat::from_path(Path::new("front.jpg")).unwrap_err();
        assert!(err.to_string().contains("`.jpg`"), "{err}");
        let err = ImageFormat::from_path(Path::new("front")).unwrap_err();
        assert!(err.to_string().contains("(none)"), "{err}");
    }

    #[test]
    fn missing_font_names_the_path_and_the_package() {
        let err = PlotError::Font {
            path: PathBuf::from("/nowhere/font.ttf"),
            detail: "No such file".into(),
        }
        .to_string();
        assert!(
            err.contains("/nowhere/font.ttf") && err.contains(FONT_PACKAGE),
            "{err}"
        );
    }

    #[test]
    fn padded_ranges_are_never_empty() {
        assert_eq!(padded_range([].into_iter()), 0.0..1.0);
        let r = padded_range([2.0, 2.0].into_iter());
        assert!(r.start < 2.0 && r.end > 2.0);
        let r = padded_range([0.0, 10.0, f64::NAN].into_iter());
        assert!((r.start + 0.5).abs() < 1e-12 && (r.end - 10.5).abs() < 1e-12);
        assert_eq!(short(0.25), "0.25");
        assert_eq!(short(1234567.0), "1.235e6");
    }
}
