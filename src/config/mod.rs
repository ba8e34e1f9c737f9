//! Run configuration: reading the TOML file, applying `--set KEY=VALUE` overrides, and
//! resolving it into a [`RunConfig`] with no optional values left.
//!
//! Layers (as in uv's settings): `file` mirrors the TOML with optional keys and rejects unknown
//! ones; `resolve` fills defaults and checks cross-field rules, reporting every problem at
//! once. The resolved configuration serializes back to TOML ([`RunConfig::to_toml`]) — that
//! text is what `dmosopt check` prints and what a run stores in its result file.

pub mod duration;
pub mod evaluator;
pub mod file;
pub mod neural;
pub mod resolve;

pub use evaluator::{EvaluatorConfig, SubprocessConfig, WorkdirTemplate};
pub use file::{FileConfig, ProtocolMode};
pub use resolve::{
    OptimizerConfig, OutputConfig, ProblemConfig, ProblemDefinition, RunConfig, SurrogateConfig,
};

use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why a configuration could not be loaded.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("--set {argument:?}: {message}")]
    Override { argument: String, message: String },
    #[error("{path}: invalid configuration:\n  - {}", errors.join("\n  - "))]
    Invalid { path: PathBuf, errors: Vec<String> },
}

/// Read, override and resolve a configuration file.
pub fn load(path: &Path, overrides: &[String]) -> Result<RunConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    load_str(&text, path, overrides)
}

/// Like [`load`], from text already read (`path` only names the source in messages).
pub fn load_str(text: &str, path: &Path, overrides: &[String]) -> Result<RunConfig, ConfigError> {
    let file = parse_with_overrides(text, path, overrides)?;
    resolve::resolve(&file).map_err(|errors| ConfigError::Invalid {
        path: path.to_path_buf(),
        errors,
    })
}

/// Parse the text; with overrides, apply them to the parsed table first. Without overrides the
/// typed parse runs on the text itself, so errors point at the file's line and column.
pub fn parse_with_overrides(
    text: &str,
    path: &Path,
    overrides: &[String],
) -> Result<FileConfig, ConfigError> {
    let parse_error = |error: toml::de::Error| ConfigError::Parse {
        path: path.to_path_buf(),
        message: error.to_string().trim_end().to_string(),
    };
    if overrides.is_empty() {
        return toml::from_str(text).map_err(parse_error);
    }
    let mut table: toml::Table = toml::from_str(text).map_err(parse_error)?;
    for argument in overrides {
        apply_override(&mut table, argument)?;
    }
    let overridden = toml::to_string(&table).map_err(|error| ConfigError::Parse {
        path: path.to_path_buf(),
        message: error.to_string(),
    })?;
    toml::from_str(&overridden).map_err(|error| ConfigError::Parse {
        path: path.to_path_buf(),
        message: format!(
            "after applying --set {}: {}",
            overrides.join(" --set "),
            error.message()
        ),
    })
}

/// Apply one `KEY=VALUE` override: `KEY` is a dotted path (`optimizer.n_epochs`), `VALUE` a
/// TOML value (`5`, `"dtlz2"`, `[1.1, 1.1]`); a value that is not valid TOML is taken as a
/// string, so `--set problem.builtin=dtlz2` works without shell quoting.
pub fn apply_override(table: &mut toml::Table, argument: &str) -> Result<(), ConfigError> {
    let error = |message: String| ConfigError::Override {
        argument: argument.to_string(),
        message,
    };
    let (key, raw) = argument
        .split_once('=')
        .ok_or_else(|| error("expected KEY=VALUE".into()))?;
    let key = key.trim();
    let parts: Vec<&str> = key.split('.').map(str::trim).collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(error(format!(
            "`{key}` is not a dotted key like optimizer.n_epochs"
        )));
    }
    let value = parse_value(raw.trim());
    let (last, parents) = parts
        .split_last()
        .ok_or_else(|| error("empty key".into()))?;
    let mut current = table;
    for (depth, part) in parents.iter().enumerate() {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = match entry {
            toml::Value::Table(inner) => inner,
            _ => {
                return Err(error(format!(
                    "`{}` is a value, not a section",
                    parts[..=depth].join(".")
                )))
            }
        };
    }
    current.insert(last.to_string(), value);
    Ok(())
}

fn parse_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("value = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("value"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

impl RunConfig {
    /// The resolved configuration as TOML, every default written out.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(&self.to_file_config())
            .unwrap_or_else(|error| format!("# cannot render the configuration: {error}\n"))
    }
}

#[cfg(test)]
mod tests;
