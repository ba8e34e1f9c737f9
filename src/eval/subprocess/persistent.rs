//! Persistent mode: one long-lived process per worker. Requests and responses are JSON lines
//! matched by `id`. A process that crashes, hangs past the time limit, or prints something
//! that is not the awaited response fails that evaluation and is replaced — restarts back off
//! exponentially while they keep failing. At the end each process gets the shutdown line
//! `{"protocol":1,"shutdown":true}` and its stdin closed, then SIGTERM and SIGKILL if it
//! does not exit within the grace period.

use super::process::{describe_exit, Next, SimProcess, POLL};
use super::{Attempt, Context};
use crate::eval::protocol::{excerpt, response_id, SHUTDOWN_LINE};
use crate::problem::{EvalRequest, Status};
use std::time::{Duration, Instant};

/// The first restart waits this long after the previous start; each further one twice as long.
const BACKOFF_BASE: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
const STDERR_WAIT: Duration = Duration::from_millis(200);

/// The process of one worker, if started, and its restart history.
#[derive(Default)]
pub(super) struct Slot {
    process: Option<SimProcess>,
    /// Processes in a row that ended badly (drives the back-off; reset by a response).
    failures_in_a_row: u32,
    last_start: Option<Instant>,
}

pub(super) fn evaluate(
    context: &Context,
    slot: &mut Slot,
    request: &EvalRequest,
    worker: u32,
) -> Attempt {
    if let Some(process) = slot.process.as_mut() {
        if let Some(status) = process.try_exit() {
            tracing::warn!(
                worker,
                "the persistent simulation {} between evaluations; restarting it; stderr: {}",
                describe_exit(status),
                process.stderr_tail(STDERR_WAIT)
            );
            discard(context, slot);
        }
    }
    if slot.process.is_none() {
        if let Err(reason) = start(context, slot, worker, request.group.as_ref()) {
            return Attempt::not_ok(Status::Failed, reason, String::new());
        }
    }
    let Some(process) = slot.process.as_mut() else {
        return Attempt::not_ok(Status::Failed, "no simulation process", String::new());
    };
    for stale in process.pending_lines() {
        if !stale.trim().is_empty() {
            tracing::warn!(
                worker,
                "ignoring a stdout line printed between evaluations: {}",
                excerpt(&stale)
            );
        }
    }
    process.clear_stderr();
    if let Err(error) = process.send(&context.protocol.request_line(request), false) {
        let exit = process
            .wait_until(Some(Instant::now() + context.grace()))
            .map_or_else(|| "did not exit".to_string(), describe_exit);
        let stderr = discard(context, slot);
        return Attempt::not_ok(
            Status::Failed,
            format!("the persistent simulation could not take the request ({error}); it {exit}"),
            stderr,
        );
    }
    let deadline = context.config.timeout.map(|t| Instant::now() + t);
    loop {
        match process.next_line(POLL) {
            Next::Line(line) if line.trim().is_empty() => {}
            Next::Line(line) => {
                if response_id(&line) == Some(request.eval_id) {
                    return answer(context, slot, &line, request);
                }
                let reason = format!(
                    "unexpected stdout line while waiting for the response to id {}: {} \
                     (only protocol lines belong on stdout; diagnostics go to stderr); \
                     the process was restarted",
                    request.eval_id,
                    excerpt(&line)
                );
                let stderr = discard(context, slot);
                return Attempt::not_ok(Status::Invalid, reason, stderr);
            }
            Next::Broken(message) => {
                let stderr = discard(context, slot);
                return Attempt::not_ok(
                    Status::Invalid,
                    format!("{message}; the process was restarted"),
                    stderr,
                );
            }
            Next::Eof => {
                let reason = match process.wait_until(Some(Instant::now() + context.grace())) {
                    Some(status) => format!(
                        "the persistent simulation {} while evaluating",
                        describe_exit(status)
                    ),
                    None => {
                        "the persistent simulation closed its stdout while evaluating".to_string()
                    }
                };
                let stderr = discard(context, slot);
                return Attempt::not_ok(Status::Failed, reason, stderr);
            }
            Next::Nothing => {}
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let stderr = discard(context, slot);
            return Attempt::not_ok(
                Status::Timeout,
                format!(
                    "timed out after {}; the persistent process group was killed and will be \
                     restarted",
                    context.timeout_text()
                ),
                stderr,
            );
        }
        if context.stopping() {
            let stderr = discard(context, slot);
            return Attempt::not_ok(Status::Failed, "stopped: the run is ending", stderr);
        }
    }
}

/// The response line for this request: values, a reported error, or an invalid response
/// (the stream is still in step, so the process is kept).
fn answer(context: &Context, slot: &mut Slot, line: &str, request: &EvalRequest) -> Attempt {
    slot.failures_in_a_row = 0;
    let stderr = || {
        slot.process
            .as_ref()
            .map_or_else(String::new, |p| p.stderr_tail(Duration::ZERO))
    };
    Attempt::from_response(
        context.protocol.parse_response(line, request.eval_id),
        stderr,
        "",
    )
}

/// Start the worker's process, after the back-off if earlier ones kept failing.
/// The group (MPI ranks evaluating together) is the worker's own and never changes.
fn start(
    context: &Context,
    slot: &mut Slot,
    worker: u32,
    group: Option<&crate::problem::GroupInfo>,
) -> Result<(), String> {
    if slot.failures_in_a_row > 0 {
        let exponent = (slot.failures_in_a_row - 1).min(16);
        let delay = BACKOFF_BASE.saturating_mul(1 << exponent).min(BACKOFF_MAX);
        let ready = slot.last_start.map_or_else(Instant::now, |t| t + delay);
        tracing::debug!(worker, ?delay, "restarting the persistent simulation");
        while Instant::now() < ready && !context.stopping() {
            std::thread::sleep(POLL.min(ready.saturating_duration_since(Instant::now())));
        }
    }
    slot.last_start = Some(Instant::now());
    let started = context.workdir(None, worker).and_then(|workdir| {
        let env = context.environment(None, worker, &workdir, group);
        SimProcess::spawn(&context.program, &context.args, &workdir, &env).map_err(|error| {
            format!(
                "cannot start {}: {error}",
                context.program.to_string_lossy()
            )
        })
    });
    match started {
        Ok(process) => {
            slot.process = Some(process);
            Ok(())
        }
        Err(reason) => {
            slot.failures_in_a_row += 1;
            Err(reason)
        }
    }
}

/// Stop and forget the worker's process; returns its stderr tail.
fn discard(context: &Context, slot: &mut Slot) -> String {
    slot.failures_in_a_row += 1;
    match slot.process.take() {
        Some(mut process) => {
            process.stop_group(context.grace());
            process.stderr_tail(STDERR_WAIT)
        }
        None => String::new(),
    }
}

/// Take the worker's process and ask it to exit (shutdown line, stdin closed).
pub(super) fn begin_shutdown(slot: &mut Slot) -> Option<SimProcess> {
    let mut process = slot.process.take()?;
    if process.try_exit().is_none() {
        // A process that already closed its stdin is stopped by `finish_shutdown` anyway.
        let _ = process.send(SHUTDOWN_LINE, true);
    }
    Some(process)
}

/// Give the processes `grace` to exit, then stop their groups.
pub(super) fn finish_shutdown(processes: Vec<SimProcess>, grace: Duration) {
    let deadline = Instant::now() + grace;
    for mut process in processes {
        if process.wait_until(Some(deadline)).is_some() {
            process.reap_leftovers(grace);
        } else {
            tracing::warn!("a persistent simulation did not exit after the shutdown line");
            process.stop_group(grace);
        }
    }
}
