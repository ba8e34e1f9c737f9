//! Opening the result file of a run: a new file (optionally seeded with `--initial-data`), or
//! an existing one with `--resume` / `dmosopt resume FILE`.
//!
//! Resuming compares the configuration stored in the file (`run/config`) with the current one
//! key by key: changes that cannot alter what is proposed (epochs, budget, evaluator, output,
//! surrogate device) are allowed and logged; any other difference is a usage error listing
//! every differing key. The strategy is then restored from the stored records and proposals
//! ([`Strategy::restore`]).

use super::run::{create_store, ensure_output_is_new, new_strategy};
use super::UsageError;
use crate::cli::RunArgs;
use crate::config::RunConfig;
use crate::problem::EvalRecord;
use crate::store::hdf5::Hdf5Store;
use crate::store::{proposals_as_candidates, read_run, RunStore, StoredRun};
use crate::strategy::Strategy;
use anyhow::Context;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

/// Keys (dotted, or a section prefix ending in `.`) whose change is allowed on resume.
const HARMLESS: [&str; 5] = [
    "optimizer.n_epochs",
    "optimizer.max_evaluations",
    "evaluator.",
    "output.",
    "surrogate.device",
];

/// The result file and the strategy of this run, ready to go.
pub(super) fn open_run(
    args: &RunArgs,
    config: &RunConfig,
) -> anyhow::Result<(Hdf5Store, Strategy)> {
    let output = &config.output.file;
    if args.resume {
        if output.exists() {
            return resume(config);
        }
        tracing::info!(
            output = %output.display(),
            "--resume: no result file yet, starting a new run"
        );
    }
    ensure_output_is_new(config)?;
    let mut strategy = new_strategy(config);
    let initial = match &args.initial_data {
        Some(path) => Some(initial_records(path, config)?),
        None => None,
    };
    let mut store = create_store(config)?;
    if let Some(records) = initial {
        let imported = strategy.import(records)?;
        store.record_proposals(&strategy.take_proposals())?;
        for record in &imported {
            store.append(record)?;
        }
        tracing::info!(
            rows = imported.len(),
            "initial data imported as the first rows of the initial design (epoch 0)"
        );
    }
    Ok((store, strategy))
}

/// Continue the run in the existing result file.
fn resume(config: &RunConfig) -> anyhow::Result<(Hdf5Store, Strategy)> {
    let output = &config.output.file;
    let clock = Instant::now();
    let stored = read_run(output, Some(&config.problem.id), Some(0))
        .with_context(|| format!("cannot resume from {}", output.display()))?;
    let stored_config = stored.config.clone().ok_or_else(|| {
        UsageError(format!(
            "{}: no run/config in the file; only files written by dmosopt run can be resumed",
            output.display()
        ))
    })?;
    let (blocking, harmless) = config_differences(&stored_config, &config.to_toml())
        .map_err(|e| UsageError(format!("{}: run/config: {e}", output.display())))?;
    if !blocking.is_empty() {
        return Err(UsageError(format!(
            "cannot resume {}: the configuration differs from the file's in:\n  {}",
            output.display(),
            blocking.join("\n  ")
        ))
        .into());
    }
    for change in &harmless {
        tracing::info!("resume with a changed setting: {change}");
    }
    let (store, stored) = Hdf5Store::open_append(output, &super::run::metadata(config))
        .map_err(|e| UsageError(format!("cannot resume: {e}")))?;
    let opened = clock.elapsed().as_secs_f64();
    let mut strategy = new_strategy(config);
    let records = stored_records(&stored);
    let n_records = records.len();
    strategy
        .restore(records, proposals_as_candidates(&stored))
        .map_err(|e| UsageError(format!("{}: {e}", output.display())))?;
    tracing::info!(
        output = %output.display(),
        evaluations = n_records,
        epoch = strategy.epoch(),
        requeued = strategy.n_queued(),
        open_s = format!("{opened:.3}"),
        restore_s = format!("{:.3}", clock.elapsed().as_secs_f64() - opened),
        "resuming run"
    );
    Ok((store, strategy))
}

fn stored_records(stored: &StoredRun) -> Vec<EvalRecord> {
    stored
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| row.to_record(i as u64))
        .collect()
}

/// Rows of another run file (ours or the Python dmosopt's) to seed this run with: parameter
/// names must be exactly the space's; objectives and constraints are taken by name (a missing
/// one is an error).
fn initial_records(path: &Path, config: &RunConfig) -> anyhow::Result<Vec<EvalRecord>> {
    let run =
        read_run(path, None, None).with_context(|| format!("--initial-data {}", path.display()))?;
    let space = config.problem.space.names();
    let schema = &config.problem.schema;
    let mut names_in_file = run.parameter_names.clone();
    names_in_file.sort();
    let mut wanted = space.clone();
    wanted.sort();
    if names_in_file != wanted {
        return Err(UsageError(format!(
            "--initial-data {}: its parameters [{}] are not the space's [{}]",
            path.display(),
            run.parameter_names.join(", "),
            space.join(", ")
        ))
        .into());
    }
    let index = |names: &[String], wanted: &[String], what: &str| {
        wanted
            .iter()
            .map(|w| {
                names.iter().position(|n| n == w).ok_or_else(|| {
                    UsageError(format!(
                        "--initial-data {}: no {what} `{w}` (it has [{}])",
                        path.display(),
                        names.join(", ")
                    ))
                })
            })
            .collect::<Result<Vec<usize>, UsageError>>()
    };
    let p = index(&run.parameter_names, &space, "parameter")?;
    let q = index(&run.objective_names, &schema.objectives, "objective")?;
    let k = index(&run.constraint_names, &schema.constraints, "constraint")?;
    Ok(run
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let mut record = row.to_record(i as u64);
            record.parameters = p.iter().map(|&j| row.parameters[j]).collect();
            record.objectives = q.iter().map(|&j| row.objectives[j]).collect();
            record.constraints = k.iter().map(|&j| row.constraints[j]).collect();
            record.predictions = None;
            record
        })
        .collect())
}

/// Differences between two resolved configurations (TOML): (blocking, harmless), each as
/// `key: file value -> config value` lines.
pub fn config_differences(
    stored: &str,
    current: &str,
) -> Result<(Vec<String>, Vec<String>), String> {
    let flat = |text: &str| -> Result<BTreeMap<String, String>, String> {
        let table: toml::Table = text.parse().map_err(|e| format!("{e}"))?;
        let mut out = BTreeMap::new();
        flatten("", &toml::Value::Table(table), &mut out);
        Ok(out)
    };
    let (a, b) = (flat(stored)?, flat(current)?);
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    let (mut blocking, mut harmless) = (Vec::new(), Vec::new());
    let missing = "(unset)".to_string();
    for key in keys {
        let (old, new) = (
            a.get(key).unwrap_or(&missing),
            b.get(key).unwrap_or(&missing),
        );
        if old == new {
            continue;
        }
        let line = format!("{key}: file {old} -> config {new}");
        if HARMLESS
            .iter()
            .any(|h| key == h || (h.ends_with('.') && key.starts_with(h)))
        {
            harmless.push(line);
        } else {
            blocking.push(line);
        }
    }
    Ok((blocking, harmless))
}

fn flatten(prefix: &str, value: &toml::Value, out: &mut BTreeMap<String, String>) {
    match value {
        toml::Value::Table(table) => {
            for (key, value) in table {
                let key = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&key, value, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::config_differences;

    #[test]
    fn differences_split_into_blocking_and_harmless() {
        let stored = "[problem]\nid = \"a\"\ndim = 3\n[optimizer]\nn_epochs = 2\nseed = 1\n\
                      [evaluator]\ntimeout = \"1m\"\n";
        let current = "[problem]\nid = \"a\"\ndim = 4\n[optimizer]\nn_epochs = 5\nseed = 2\n\
                       [evaluator]\n";
        let (blocking, harmless) = config_differences(stored, current).unwrap();
        assert_eq!(
            blocking,
            vec![
                "optimizer.seed: file 1 -> config 2",
                "problem.dim: file 3 -> config 4"
            ]
        );
        assert_eq!(harmless.len(), 2, "{harmless:?}");
    }
}
