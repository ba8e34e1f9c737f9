//! `[evaluator]` resolved: in-process (builtins) or a subprocess command with its protocol mode,
//! time limit, retries, working directory and environment; plus the failure limit and the
//! MPI group size that apply to every evaluator.

use super::duration::{duration_from_value, format_duration};
use super::file::{DurationValue, EvaluatorSection, ProtocolMode};
use std::time::Duration;

/// Defaults of `[evaluator]`.
pub mod defaults {
    use std::time::Duration;
    pub const KILL_GRACE: Duration = Duration::from_secs(10);
    pub const MAX_FAILURE_FRACTION: f64 = 0.5;
    pub const RANKS_PER_WORKER: usize = 1;
}

/// How candidates are evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluatorConfig {
    /// `None`: a builtin problem evaluated in-process.
    pub subprocess: Option<SubprocessConfig>,
    /// The run stops when more than this fraction of completed evaluations are not ok.
    pub max_failure_fraction: f64,
    /// Under MPI, ranks that evaluate one candidate together.
    pub ranks_per_worker: usize,
}

/// A simulation run as a subprocess (`docs/protocol.md`).
#[derive(Debug, Clone, PartialEq)]
pub struct SubprocessConfig {
    /// Program and arguments (never through a shell).
    pub command: Vec<String>,
    pub mode: ProtocolMode,
    /// Time limit of one evaluation; `None` waits forever.
    pub timeout: Option<Duration>,
    /// Time between SIGTERM and SIGKILL when a process group is stopped.
    pub kill_grace: Duration,
    /// Extra attempts for an evaluation that is not ok.
    pub retries: u32,
    pub workdir: Option<WorkdirTemplate>,
    /// `[evaluator.env]`, in file order, values as text.
    pub env: Vec<(String, String)>,
}

/// One piece of a working-directory template.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    EvalId,
    Epoch,
    Worker,
}

/// A working-directory template such as `runs/{epoch}/{eval_id}`.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkdirTemplate {
    source: String,
    pieces: Vec<Piece>,
}

impl WorkdirTemplate {
    /// Parse a template; placeholders are `{eval_id}`, `{epoch}` and `{worker}`.
    pub fn parse(source: &str) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut rest = source;
        while let Some(open) = rest.find(['{', '}']) {
            if rest[open..].starts_with('}') {
                return Err(format!("{source:?}: unmatched `}}`"));
            }
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_string()));
            }
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| format!("{source:?}: unmatched `{{`"))?;
            let name = &rest[open + 1..open + close];
            pieces.push(match name {
                "eval_id" => Piece::EvalId,
                "epoch" => Piece::Epoch,
                "worker" => Piece::Worker,
                other => {
                    return Err(format!(
                        "{source:?}: unknown placeholder {{{other}}} (use {{eval_id}}, {{epoch}} or {{worker}})"
                    ))
                }
            });
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        if source.trim().is_empty() {
            return Err("must not be empty".to_string());
        }
        Ok(Self {
            source: source.to_string(),
            pieces,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the template names a per-evaluation value (`{eval_id}` or `{epoch}`).
    pub fn is_per_evaluation(&self) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::EvalId | Piece::Epoch))
    }

    /// The path for one evaluation (`eval_id`/`epoch` are `None` for a persistent process,
    /// whose template cannot use them).
    pub fn render(&self, eval_id: Option<u64>, epoch: Option<u32>, worker: u32) -> String {
        self.pieces
            .iter()
            .map(|piece| match piece {
                Piece::Text(text) => text.clone(),
                Piece::EvalId => eval_id.map_or_else(String::new, |v| v.to_string()),
                Piece::Epoch => epoch.map_or_else(String::new, |v| v.to_string()),
                Piece::Worker => worker.to_string(),
            })
            .collect()
    }
}

/// Resolve `[evaluator]`; `builtin` says whether the problem can be evaluated in-process.
pub fn resolve_evaluator(
    section: Option<&EvaluatorSection>,
    builtin: bool,
    errors: &mut Vec<String>,
) -> EvaluatorConfig {
    let empty = EvaluatorSection::default();
    let section = section.unwrap_or(&empty);
    let max_failure_fraction = section
        .max_failure_fraction
        .unwrap_or(defaults::MAX_FAILURE_FRACTION);
    if !(0.0..=1.0).contains(&max_failure_fraction) {
        errors.push(format!(
            "evaluator.max_failure_fraction = {max_failure_fraction}: must be in [0, 1]"
        ));
    }
    let ranks_per_worker = section
        .ranks_per_worker
        .unwrap_or(defaults::RANKS_PER_WORKER);
    if ranks_per_worker == 0 {
        errors.push("evaluator.ranks_per_worker: must be at least 1".to_string());
    }
    let subprocess = match &section.command {
        Some(command) => Some(resolve_subprocess(command, section, errors)),
        None => {
            if !builtin {
                errors.push(
                    "evaluator.command: a user problem needs the simulation's command, e.g. \
                     command = [\"python3\", \"sim.py\"] (see docs/protocol.md)"
                        .to_string(),
                );
            }
            for (key, present) in [
                ("mode", section.mode.is_some()),
                ("timeout", section.timeout.is_some()),
                ("kill_grace", section.kill_grace.is_some()),
                ("retries", section.retries.is_some()),
                ("workdir", section.workdir.is_some()),
                ("env", section.env.is_some()),
            ] {
                if present {
                    errors.push(format!(
                        "evaluator.{key}: only used with evaluator.command (a builtin without \
                         a command is evaluated in-process)"
                    ));
                }
            }
            None
        }
    };
    EvaluatorConfig {
        subprocess,
        max_failure_fraction,
        ranks_per_worker,
    }
}

fn resolve_subprocess(
    command: &[String],
    section: &EvaluatorSection,
    errors: &mut Vec<String>,
) -> SubprocessConfig {
    match command.first() {
        None => errors.push("evaluator.command: must name a program".to_string()),
        Some(program) if program.trim().is_empty() => {
            errors.push("evaluator.command: the program (first element) is empty".to_string())
        }
        Some(_) => {}
    }
    if command.iter().any(|arg| arg.contains('\0')) {
        errors.push("evaluator.command: arguments must not contain NUL bytes".to_string());
    }
    let mode = section.mode.unwrap_or(ProtocolMode::Oneshot);
    let mut duration = |key: &str, value: Option<&DurationValue>| {
        value.and_then(|value| match duration_from_value(value) {
            Ok(duration) => Some(duration),
            Err(message) => {
                errors.push(format!("evaluator.{key} = {message}"));
                None
            }
        })
    };
    let timeout = duration("timeout", section.timeout.as_ref());
    let kill_grace =
        duration("kill_grace", section.kill_grace.as_ref()).unwrap_or(defaults::KILL_GRACE);
    if timeout == Some(Duration::ZERO) {
        errors.push("evaluator.timeout: must be longer than 0 s".to_string());
    }
    let workdir = section
        .workdir
        .as_deref()
        .and_then(|text| match WorkdirTemplate::parse(text) {
            Ok(template) => Some(template),
            Err(message) => {
                errors.push(format!("evaluator.workdir: {message}"));
                None
            }
        });
    if let Some(template) = &workdir {
        if mode == ProtocolMode::Persistent && template.is_per_evaluation() {
            errors.push(format!(
                "evaluator.workdir = {:?}: a persistent process lives across evaluations, so \
                 its working directory may only use {{worker}}",
                template.as_str()
            ));
        }
    }
    let mut env = Vec::new();
    for (key, value) in section.env.iter().flatten() {
        if key.is_empty() || key.contains(['=', '\0']) {
            errors.push(format!(
                "evaluator.env: {key:?} is not a valid variable name"
            ));
        } else if key.starts_with("DMOSOPT_") {
            errors.push(format!(
                "evaluator.env.{key}: names starting with DMOSOPT_ are set by dmosopt"
            ));
        }
        let text = match value {
            toml::Value::String(text) => text.clone(),
            toml::Value::Integer(v) => v.to_string(),
            toml::Value::Float(v) => v.to_string(),
            toml::Value::Boolean(v) => v.to_string(),
            other => {
                errors.push(format!(
                    "evaluator.env.{key}: must be a string or a number, got {other}"
                ));
                continue;
            }
        };
        if text.contains('\0') {
            errors.push(format!("evaluator.env.{key}: must not contain NUL bytes"));
        }
        env.push((key.clone(), text));
    }
    SubprocessConfig {
        command: command.to_vec(),
        mode,
        timeout,
        kill_grace,
        retries: section.retries.unwrap_or(0),
        workdir,
        env,
    }
}

impl EvaluatorConfig {
    /// The file form with every default written out.
    pub fn to_section(&self) -> EvaluatorSection {
        let mut section = EvaluatorSection {
            max_failure_fraction: Some(self.max_failure_fraction),
            ranks_per_worker: Some(self.ranks_per_worker),
            ..EvaluatorSection::default()
        };
        if let Some(sub) = &self.subprocess {
            section.command = Some(sub.command.clone());
            section.mode = Some(sub.mode);
            section.timeout = sub
                .timeout
                .map(|timeout| DurationValue::Text(format_duration(timeout)));
            section.kill_grace = Some(DurationValue::Text(format_duration(sub.kill_grace)));
            section.retries = Some(sub.retries);
            section.workdir = sub.workdir.as_ref().map(|w| w.as_str().to_string());
            if !sub.env.is_empty() {
                section.env = Some(
                    sub.env
                        .iter()
                        .map(|(key, value)| (key.clone(), toml::Value::String(value.clone())))
                        .collect(),
                );
            }
        }
        section
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workdir_templates() {
        let template = WorkdirTemplate::parse("runs/{epoch}/e{eval_id}-w{worker}").unwrap();
        assert!(template.is_per_evaluation());
        assert_eq!(template.render(Some(17), Some(3), 2), "runs/3/e17-w2");
        let template = WorkdirTemplate::parse("/scratch/w{worker}").unwrap();
        assert!(!template.is_per_evaluation());
        assert_eq!(template.render(None, None, 0), "/scratch/w0");
        for (bad, fragment) in [
            ("runs/{id}", "unknown placeholder {id}"),
            ("runs/{eval_id", "unmatched `{`"),
            ("runs/eval_id}", "unmatched `}`"),
            ("", "empty"),
        ] {
            let message = WorkdirTemplate::parse(bad).unwrap_err();
            assert!(message.contains(fragment), "{bad}: {message}");
        }
    }
}
