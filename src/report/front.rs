//! The Pareto front of a stored run and its rendering.
//!
//! `Feasible` (the default of `dmosopt front`): among evaluations with status ok, finite
//! objectives and every constraint satisfied, those no other such evaluation dominates.
//! `All`: among every evaluation with finite objectives, feasible or not, those non-dominated
//! in objective space alone — to see what the constraints cost.

use crate::cli::FrontFormat;
use crate::moea::sorting::first_front;
use crate::problem::{is_feasible, Status};
use crate::store::{StoredRow, StoredRun};
use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrontSelection {
    Feasible,
    All,
}

/// Whether a stored row has status ok (or none stored) and finite objectives.
pub fn usable(row: &StoredRow) -> bool {
    row.status.is_none_or(|s| s == Status::Ok) && row.objectives.iter().all(|v| v.is_finite())
}

/// Whether a stored row is feasible (usable and every constraint > 0).
pub fn row_is_feasible(row: &StoredRow) -> bool {
    usable(row) && is_feasible(&row.constraints)
}

/// Indices into `run.rows` of the front, sorted by the first objective.
pub fn pareto_rows(run: &StoredRun, selection: FrontSelection) -> Vec<usize> {
    let candidates: Vec<usize> = (0..run.rows.len())
        .filter(|&i| match selection {
            FrontSelection::Feasible => row_is_feasible(&run.rows[i]),
            FrontSelection::All => usable(&run.rows[i]),
        })
        .collect();
    let objectives: Vec<Vec<f64>> = candidates
        .iter()
        .map(|&i| run.rows[i].objectives.clone())
        .collect();
    let mut front: Vec<usize> = first_front(&objectives, &[])
        .into_iter()
        .map(|k| candidates[k])
        .collect();
    front.sort_by(|&a, &b| {
        let key = |i: usize| run.rows[i].objectives.first().copied().unwrap_or(0.0);
        key(a).total_cmp(&key(b)).then(a.cmp(&b))
    });
    front.dedup_by(|a, b| run.rows[*a].objectives == run.rows[*b].objectives);
    front
}

/// Render the rows in the chosen format (ends with a newline).
pub fn render(run: &StoredRun, rows: &[usize], format: FrontFormat) -> String {
    match format {
        FrontFormat::Table => render_table(run, rows),
        FrontFormat::Csv => render_csv(run, rows),
        FrontFormat::Json => render_json(run, rows),
    }
}

fn header(run: &StoredRun) -> Vec<String> {
    let mut header = vec!["epoch".to_string()];
    header.extend(run.parameter_names.iter().cloned());
    header.extend(run.objective_names.iter().cloned());
    header.extend(run.constraint_names.iter().cloned());
    header.push("feasible".to_string());
    header
}

fn cells(row: &StoredRow, number: impl Fn(f64) -> String) -> Vec<String> {
    let mut cells = vec![row.epoch.to_string()];
    cells.extend(row.parameters.iter().map(|&v| number(v)));
    cells.extend(row.objectives.iter().map(|&v| number(v)));
    cells.extend(row.constraints.iter().map(|&v| number(v)));
    cells.push(row_is_feasible(row).to_string());
    cells
}

/// Six significant digits, scientific notation for very small or large magnitudes.
fn short_number(value: f64) -> String {
    let magnitude = value.abs();
    if value == 0.0 || (1e-3..1e6).contains(&magnitude) {
        let text = format!("{value:.6}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        text.to_string()
    } else if value.is_finite() {
        format!("{value:.4e}")
    } else {
        value.to_string()
    }
}

fn render_table(run: &StoredRun, rows: &[usize]) -> String {
    let header = header(run);
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|&i| cells(&run.rows[i], short_number))
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            body.iter()
                .map(|r| r[c].len())
                .chain([header[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:>width$}"))
            .collect::<Vec<_>>()
            .join("  ")
    };
    let _ = writeln!(out, "{}", line(&header));
    for row in &body {
        let _ = writeln!(out, "{}", line(row));
    }
    let _ = writeln!(
        out,
        "# {} non-dominated of {} evaluations ({} / problem {})",
        rows.len(),
        run.rows.len(),
        run.opt_id,
        run.problem_id
    );
    out
}

fn render_csv(run: &StoredRun, rows: &[usize]) -> String {
    let quote = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut out = header(run)
        .iter()
        .map(|h| quote(h))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    for &i in rows {
        out.push_str(&cells(&run.rows[i], |v| v.to_string()).join(","));
        out.push('\n');
    }
    out
}

fn named(names: &[String], values: &[f64]) -> serde_json::Map<String, serde_json::Value> {
    names
        .iter()
        .zip(values)
        .map(|(name, &value)| {
            let value = serde_json::Number::from_f64(value)
                .map_or(serde_json::Value::Null, serde_json::Value::Number);
            (name.clone(), value)
        })
        .collect()
}

fn render_json(run: &StoredRun, rows: &[usize]) -> String {
    let entries: Vec<serde_json::Value> = rows
        .iter()
        .map(|&i| {
            let row = &run.rows[i];
            serde_json::json!({
                "epoch": row.epoch,
                "parameters": named(&run.parameter_names, &row.parameters),
                "objectives": named(&run.objective_names, &row.objectives),
                "constraints": named(&run.constraint_names, &row.constraints),
                "feasible": row_is_feasible(row),
            })
        })
        .collect();
    let mut out = serde_json::to_string_pretty(&entries).unwrap_or_else(|_| "[]".to_string());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> StoredRun {
        let row = |objectives: Vec<f64>, constraints: Vec<f64>| StoredRow {
            epoch: 1,
            parameters: vec![0.5],
            objectives,
            constraints,
            status: Some(Status::Ok),
            eval_id: None,
            error: None,
            predictions: None,
            worker: None,
            start_time: None,
            duration: None,
        };
        StoredRun {
            opt_id: "t".into(),
            problem_id: 0,
            parameter_names: vec!["x".into()],
            objective_names: vec!["f1".into(), "f2".into()],
            constraint_names: vec!["c".into()],
            config: None,
            epochs: Vec::new(),
            proposals: Vec::new(),
            rows: vec![
                row(vec![1.0, 1.0], vec![1.0]), // feasible, dominated by 1 among feasible
                row(vec![0.5, 0.5], vec![1.0]), // feasible front
                row(vec![0.1, 0.1], vec![-1.0]), // infeasible, best objectives
                row(vec![0.2, 2.0], vec![0.5]), // feasible front
                row(vec![f64::NAN, 0.0], vec![1.0]),
            ],
        }
    }

    #[test]
    fn feasible_front_excludes_infeasible_and_dominated() {
        assert_eq!(pareto_rows(&run(), FrontSelection::Feasible), vec![3, 1]);
    }

    #[test]
    fn all_front_includes_infeasible() {
        assert_eq!(pareto_rows(&run(), FrontSelection::All), vec![2]);
    }

    #[test]
    fn renders_every_format_with_names() {
        let run = run();
        let rows = pareto_rows(&run, FrontSelection::Feasible);
        let table = render(&run, &rows, FrontFormat::Table);
        assert!(table.lines().next().unwrap().contains("f1"));
        assert!(table.contains("2 non-dominated of 5"));
        let csv = render(&run, &rows, FrontFormat::Csv);
        assert_eq!(csv.lines().next().unwrap(), "epoch,x,f1,f2,c,feasible");
        assert_eq!(csv.lines().count(), 3);
        let json: serde_json::Value =
            serde_json::from_str(&render(&run, &rows, FrontFormat::Json)).unwrap();
        assert_eq!(json[0]["objectives"]["f2"], 2.0);
    }
}
