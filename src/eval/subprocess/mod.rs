//! Evaluation by an external simulation under the subprocess protocol (`docs/protocol.md`):
//! the command from `[evaluator]`, run in [`oneshot`] mode (a process per evaluation) or
//! [`persistent`] mode (a process per worker, kept alive), with a time limit, retries, a
//! working-directory template and `DMOSOPT_*` environment variables.
//!
//! Whatever goes wrong with one evaluation becomes an [`Outcome`] with a status and a reason
//! (plus the tail of the simulation's stderr): `failed` (error response, non-zero exit, crash
//! by a signal), `timeout` (the process group was killed), `invalid` (output that is not a
//! valid response). Only problems that would make every evaluation fail — the program cannot
//! be found — are errors ([`SubprocessError`]), reported before the run starts.

mod oneshot;
mod persistent;
mod process;

pub use process::install_interrupt_handler;

use super::protocol::{Protocol, ProtocolError, Response};
use super::{unix_seconds, Evaluator};
use crate::config::{ProtocolMode, SubprocessConfig};
use crate::problem::{EvalRequest, Outcome, ProblemSchema, Status};
use crate::space::ParameterSpace;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use thiserror::Error;

/// Why the simulation cannot be run at all.
#[derive(Debug, Error)]
pub enum SubprocessError {
    #[error("evaluator.command: program `{program}` not found in PATH")]
    NotInPath { program: String },
    #[error("evaluator.command: program {} does not exist", path.display())]
    NoSuchProgram { path: PathBuf },
    #[error("evaluator.command: {} is not an executable file", path.display())]
    NotExecutable { path: PathBuf },
    #[error("cannot determine the current directory (the base of relative paths): {0}")]
    CurrentDir(std::io::Error),
}

/// The result of one attempt, before it becomes an [`Outcome`].
#[derive(Debug, Clone, PartialEq)]
struct Attempt {
    status: Status,
    objectives: Vec<f64>,
    constraints: Vec<f64>,
    features: Option<String>,
    /// Why it is not ok (one line), empty when it is.
    reason: String,
    /// The simulation's last stderr lines (kept for attempts that are not ok).
    stderr: String,
}

impl Attempt {
    fn not_ok(status: Status, reason: impl Into<String>, stderr: String) -> Self {
        Self {
            status,
            objectives: Vec::new(),
            constraints: Vec::new(),
            features: None,
            reason: reason.into(),
            stderr,
        }
    }

    /// The attempt a parsed response line makes; `stderr` is read only when it is not ok, and
    /// `invalid_note` is appended to the reason of an invalid response.
    fn from_response(
        parsed: Result<Response, ProtocolError>,
        stderr: impl FnOnce() -> String,
        invalid_note: &str,
    ) -> Self {
        match parsed {
            Ok(Response::Values {
                objectives,
                constraints,
                features,
            }) => Self {
                status: Status::Ok,
                objectives,
                constraints,
                features,
                reason: String::new(),
                stderr: String::new(),
            },
            Ok(Response::Error(message)) => Self::not_ok(
                Status::Failed,
                format!("the simulation reported an error: {message}"),
                stderr(),
            ),
            Err(error) => Self::not_ok(Status::Invalid, format!("{error}{invalid_note}"), stderr()),
        }
    }

    /// The text stored in the record's `error`.
    fn error_text(&self) -> String {
        if self.stderr.trim().is_empty() {
            self.reason.clone()
        } else {
            format!(
                "{}\n--- stderr (last lines) ---\n{}",
                self.reason, self.stderr
            )
        }
    }
}

/// What both modes need: the command, the protocol, limits and the environment.
struct Context {
    program: OsString,
    args: Vec<String>,
    config: SubprocessConfig,
    protocol: Protocol,
    /// dmosopt's working directory when the evaluator was made (base of relative paths).
    base_dir: PathBuf,
    /// Set by [`Evaluator::shutdown`]: running evaluations stop, new ones are refused.
    stopping: AtomicBool,
}

impl Context {
    /// The working directory (created if missing); `eval` is `(eval_id, epoch)` in one-shot mode.
    fn workdir(&self, eval: Option<(u64, u32)>, worker: u32) -> Result<PathBuf, String> {
        let Some(template) = &self.config.workdir else {
            return Ok(self.base_dir.clone());
        };
        let path = self.base_dir.join(template.render(
            eval.map(|(id, _)| id),
            eval.map(|(_, epoch)| epoch),
            worker,
        ));
        std::fs::create_dir_all(&path).map_err(|error| {
            format!(
                "cannot create working directory {}: {error}",
                path.display()
            )
        })?;
        Ok(path)
    }

    /// `DMOSOPT_*` variables (with `DMOSOPT_GROUP_SIZE`/`DMOSOPT_GROUP_RANKS` when a group of
    /// MPI ranks evaluates together) followed by `[evaluator.env]`.
    fn environment(
        &self,
        eval: Option<(u64, u32)>,
        worker: u32,
        workdir: &Path,
        group: Option<&crate::problem::GroupInfo>,
    ) -> Vec<(String, String)> {
        let mut env = vec![
            ("DMOSOPT_PROTOCOL".to_string(), "1".to_string()),
            (
                "DMOSOPT_MODE".to_string(),
                self.config.mode.as_str().to_string(),
            ),
            ("DMOSOPT_WORKER".to_string(), worker.to_string()),
            (
                "DMOSOPT_WORKDIR".to_string(),
                workdir.to_string_lossy().into_owned(),
            ),
        ];
        if let Some((eval_id, epoch)) = eval {
            env.push(("DMOSOPT_EVAL_ID".to_string(), eval_id.to_string()));
            env.push(("DMOSOPT_EPOCH".to_string(), epoch.to_string()));
        }
        if let Some(group) = group {
            env.extend(
                group
                    .environment()
                    .into_iter()
                    .map(|(name, value)| (name.to_string(), value)),
            );
        }
        env.extend(self.config.env.iter().cloned());
        env
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    fn grace(&self) -> Duration {
        self.config.kill_grace
    }

    fn timeout_text(&self) -> String {
        self.config
            .timeout
            .map_or_else(String::new, crate::config::duration::format_duration)
    }
}

/// Runs evaluations through the configured command.
pub struct SubprocessEvaluator {
    context: Context,
    /// Persistent mode: one process slot per worker, created on first use.
    slots: Mutex<Vec<std::sync::Arc<Mutex<persistent::Slot>>>>,
}

impl SubprocessEvaluator {
    /// Check that the program can be run and prepare the evaluator. Relative paths (the
    /// program when it contains a `/`, the working-directory template) are taken relative to
    /// the current directory now.
    pub fn new(
        config: SubprocessConfig,
        space: &ParameterSpace,
        schema: &ProblemSchema,
        constants: &[(String, f64)],
    ) -> Result<Self, SubprocessError> {
        let base_dir = std::env::current_dir().map_err(SubprocessError::CurrentDir)?;
        let first = config.command.first().cloned().unwrap_or_default();
        let program = locate_program(&first, &base_dir, &config.env)?;
        Ok(Self {
            context: Context {
                program,
                args: config.command.iter().skip(1).cloned().collect(),
                protocol: Protocol::new(space, schema, constants),
                config,
                base_dir,
                stopping: AtomicBool::new(false),
            },
            slots: Mutex::new(Vec::new()),
        })
    }

    fn slot(&self, worker: u32) -> Option<std::sync::Arc<Mutex<persistent::Slot>>> {
        let mut slots = self.slots.lock().ok()?;
        while slots.len() <= worker as usize {
            slots.push(std::sync::Arc::new(Mutex::new(persistent::Slot::default())));
        }
        Some(std::sync::Arc::clone(&slots[worker as usize]))
    }

    fn attempt(&self, request: &EvalRequest, worker: u32) -> Attempt {
        if self.context.stopping() {
            return Attempt::not_ok(Status::Failed, "not run: the run is ending", String::new());
        }
        match self.context.config.mode {
            ProtocolMode::Oneshot => oneshot::evaluate(&self.context, request, worker),
            ProtocolMode::Persistent => match self.slot(worker) {
                Some(slot) => match slot.lock() {
                    Ok(mut slot) => persistent::evaluate(&self.context, &mut slot, request, worker),
                    Err(_) => Attempt::not_ok(
                        Status::Failed,
                        "internal error: a worker's process slot is poisoned",
                        String::new(),
                    ),
                },
                None => Attempt::not_ok(
                    Status::Failed,
                    "internal error: the process slots are poisoned",
                    String::new(),
                ),
            },
        }
    }
}

impl Evaluator for SubprocessEvaluator {
    fn evaluate(&self, request: &EvalRequest, worker: u32) -> Outcome {
        let start_time = unix_seconds();
        let clock = Instant::now();
        let attempts = self.context.config.retries + 1;
        let mut earlier: Vec<String> = Vec::new();
        let mut attempt = self.attempt(request, worker);
        while attempt.status != Status::Ok
            && (earlier.len() as u32) + 1 < attempts
            && !self.context.stopping()
        {
            tracing::warn!(
                eval_id = request.eval_id,
                worker,
                "attempt {} of {attempts} {}: {}; retrying",
                earlier.len() + 1,
                attempt.status,
                attempt.reason
            );
            earlier.push(format!(
                "attempt {}: {} ({})",
                earlier.len() + 1,
                attempt.status,
                attempt.reason
            ));
            attempt = self.attempt(request, worker);
        }
        let schema = self.context.protocol.schema();
        let mut outcome = if attempt.status == Status::Ok {
            if !earlier.is_empty() {
                tracing::info!(
                    eval_id = request.eval_id,
                    "ok on attempt {} of {attempts}",
                    earlier.len() + 1
                );
            }
            Outcome {
                eval_id: request.eval_id,
                objectives: attempt.objectives,
                constraints: attempt.constraints,
                status: Status::Ok,
                error: String::new(),
                features: attempt.features,
                worker,
                start_time,
                duration: 0.0,
            }
        } else {
            let mut error = attempt.error_text();
            if attempts > 1 {
                let mut prefix = format!("attempt {} of {attempts}: ", earlier.len() + 1);
                if !earlier.is_empty() {
                    error = format!("{error}\n--- earlier attempts ---\n{}", earlier.join("\n"));
                }
                prefix.push_str(&error);
                error = prefix;
            }
            Outcome::failure(request.eval_id, schema, attempt.status, error)
        };
        outcome.worker = worker;
        outcome.start_time = start_time;
        outcome.duration = clock.elapsed().as_secs_f64();
        outcome
    }

    /// Stop running evaluations, refuse new ones, and shut persistent processes down (the
    /// shutdown line, then SIGTERM/SIGKILL after the grace period).
    fn shutdown(&self) {
        self.context.stopping.store(true, Ordering::SeqCst);
        let slots: Vec<_> = match self.slots.lock() {
            Ok(slots) => slots.clone(),
            Err(_) => return,
        };
        let mut closing = Vec::new();
        for slot in &slots {
            // Waits for an evaluation in progress, which ends soon now that `stopping` is set.
            if let Ok(mut slot) = slot.lock() {
                if let Some(process) = persistent::begin_shutdown(&mut slot) {
                    closing.push(process);
                }
            }
        }
        persistent::finish_shutdown(closing, self.context.grace());
    }
}

impl Drop for SubprocessEvaluator {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The program to run: a name without `/` must be found in PATH (the `env` table's PATH if
/// it sets one); a path must be an executable file, relative paths taken from `base_dir`.
/// `dmosopt` itself (for `dmosopt simulate …`) is this very executable when it is not on
/// PATH, so the in-tree example configs work from a build directory.
fn locate_program(
    program: &str,
    base_dir: &Path,
    env: &[(String, String)],
) -> Result<OsString, SubprocessError> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |path: &Path| {
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let path = base_dir.join(program);
        if !path.exists() {
            return Err(SubprocessError::NoSuchProgram { path });
        }
        if !executable(&path) {
            return Err(SubprocessError::NotExecutable { path });
        }
        return Ok(path.into_os_string());
    }
    let search = env
        .iter()
        .rev()
        .find(|(key, _)| key == "PATH")
        .map(|(_, value)| OsString::from(value))
        .or_else(|| std::env::var_os("PATH"))
        .unwrap_or_default();
    let found =
        std::env::split_paths(&search).any(|dir| executable(&base_dir.join(dir).join(program)));
    if found {
        Ok(OsString::from(program))
    } else if program == "dmosopt" {
        std::env::current_exe()
            .map(PathBuf::into_os_string)
            .map_err(|_| SubprocessError::NotInPath {
                program: program.to_string(),
            })
    } else {
        Err(SubprocessError::NotInPath {
            program: program.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_located() {
        let base = std::env::temp_dir();
        assert!(locate_program("sh", &base, &[]).is_ok());
        let error = locate_program("no-such-program-dmosopt", &base, &[])
            .unwrap_err()
            .to_string();
        assert!(error.contains("not found in PATH"), "{error}");
        let error = locate_program("./missing.py", &base, &[])
            .unwrap_err()
            .to_string();
        assert!(error.contains("does not exist"), "{error}");
        let text = base.join(format!("dmosopt-not-exec-{}", std::process::id()));
        std::fs::write(&text, "x").unwrap();
        let error = locate_program(text.to_str().unwrap(), &base, &[])
            .unwrap_err()
            .to_string();
        std::fs::remove_file(&text).unwrap();
        assert!(error.contains("not an executable"), "{error}");
        assert_eq!(
            locate_program("/bin/sh", &base, &[]).unwrap(),
            OsString::from("/bin/sh")
        );
    }

    #[test]
    fn error_text_keeps_the_stderr_tail() {
        let attempt = Attempt::not_ok(Status::Failed, "exited with code 3", "boom".into());
        assert_eq!(
            attempt.error_text(),
            "exited with code 3\n--- stderr (last lines) ---\nboom"
        );
        let attempt = Attempt::not_ok(Status::Invalid, "no response", String::new());
        assert_eq!(attempt.error_text(), "no response");
    }
}
