//! One-shot mode: a process per evaluation. The request is written to stdin (which is then
//! closed), stdout is collected until it closes and the process exits, and the result is
//! judged from the exit status first, then from what was printed: exactly one response line
//! (blank lines are ignored).

use super::process::{describe_exit, Next, SimProcess, POLL};
use super::{Attempt, Context};
use crate::eval::protocol::{excerpt, Response};
use crate::problem::{EvalRequest, Status};
use std::time::{Duration, Instant};

/// How long stdout may stay open after the process exited (a leftover child holding it).
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(200);
/// How long to wait for stderr to close before taking its tail.
const STDERR_WAIT: Duration = Duration::from_millis(200);
/// Non-blank stdout lines kept (the rest only counted).
const MAX_KEPT_LINES: usize = 4;

pub(super) fn evaluate(context: &Context, request: &EvalRequest, worker: u32) -> Attempt {
    let eval = Some((request.eval_id, request.epoch));
    let workdir = match context.workdir(eval, worker) {
        Ok(dir) => dir,
        Err(reason) => return Attempt::not_ok(Status::Failed, reason, String::new()),
    };
    let env = context.environment(eval, worker, &workdir, request.group.as_ref());
    let mut process = match SimProcess::spawn(&context.program, &context.args, &workdir, &env) {
        Ok(process) => process,
        Err(error) => {
            return Attempt::not_ok(
                Status::Failed,
                format!(
                    "cannot start {}: {error}",
                    context.program.to_string_lossy()
                ),
                String::new(),
            )
        }
    };
    process.send_and_close_in_background(context.protocol.request_line(request));
    let deadline = context.config.timeout.map(|t| Instant::now() + t);

    let mut lines: Vec<String> = Vec::new();
    let mut n_lines = 0usize;
    let mut broken: Option<String> = None;
    let mut exited_at: Option<Instant> = None;
    loop {
        match process.next_line(POLL) {
            Next::Line(line) => {
                if !line.trim().is_empty() {
                    n_lines += 1;
                    if lines.len() < MAX_KEPT_LINES {
                        lines.push(line);
                    }
                }
            }
            Next::Broken(message) => {
                broken = Some(message);
                break;
            }
            Next::Eof => break,
            Next::Nothing => {}
        }
        let now = Instant::now();
        if exited_at.is_none() && process.try_exit().is_some() {
            exited_at = Some(now);
        }
        if exited_at.is_some_and(|t| now.duration_since(t) > DRAIN_AFTER_EXIT) {
            break;
        }
        if deadline.is_some_and(|d| now >= d) {
            return timed_out(context, &mut process);
        }
        if context.stopping() {
            return stopped(context, &mut process);
        }
    }
    // stdout is closed (or broken); the process may still be finishing.
    let status = loop {
        if let Some(status) = process.wait_until(Some(Instant::now() + POLL)) {
            break status;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return timed_out(context, &mut process);
        }
        if context.stopping() {
            return stopped(context, &mut process);
        }
    };
    process.reap_leftovers(context.grace());
    let stderr = process.stderr_tail(STDERR_WAIT);
    judge(context, request, status, &lines, n_lines, broken, stderr)
}

/// The verdict from the exit status and stdout.
fn judge(
    context: &Context,
    request: &EvalRequest,
    status: std::process::ExitStatus,
    lines: &[String],
    n_lines: usize,
    broken: Option<String>,
    stderr: String,
) -> Attempt {
    let parsed = |line: &str| context.protocol.parse_response(line, request.eval_id);
    if !status.success() {
        let mut reason = describe_exit(status);
        if let [line] = lines {
            if let Ok(Response::Error(message)) = parsed(line) {
                reason = format!("{reason}; the simulation reported: {message}");
            }
        }
        return Attempt::not_ok(Status::Failed, reason, stderr);
    }
    if let Some(message) = broken {
        return Attempt::not_ok(Status::Invalid, message, stderr);
    }
    let line = match lines {
        [] => {
            return Attempt::not_ok(
                Status::Invalid,
                "no response on stdout (the process exited with code 0 without printing one)",
                stderr,
            )
        }
        [line] => line,
        [first, ..] => {
            // Name the line that is not a response, if one is not.
            let stray = lines.iter().find(|l| parsed(l).is_err()).unwrap_or(first);
            return Attempt::not_ok(
                Status::Invalid,
                format!(
                    "expected one response line on stdout, got {n_lines} lines, e.g. {} \
                     (diagnostics belong on stderr)",
                    excerpt(stray)
                ),
                stderr,
            );
        }
    };
    Attempt::from_response(
        parsed(line),
        || stderr,
        " (only protocol lines belong on stdout; diagnostics go to stderr)",
    )
}

fn timed_out(context: &Context, process: &mut SimProcess) -> Attempt {
    let killed = process.stop_group(context.grace());
    let how = if killed {
        format!(
            "SIGTERM, then SIGKILL after {}",
            crate::config::duration::format_duration(context.grace())
        )
    } else {
        "SIGTERM".to_string()
    };
    Attempt::not_ok(
        Status::Timeout,
        format!(
            "timed out after {}; process group killed ({how})",
            context.timeout_text()
        ),
        process.stderr_tail(STDERR_WAIT),
    )
}

fn stopped(context: &Context, process: &mut SimProcess) -> Attempt {
    process.stop_group(context.grace());
    Attempt::not_ok(
        Status::Failed,
        "stopped: the run is ending",
        process.stderr_tail(STDERR_WAIT),
    )
}
