//! One simulation process: started in its own process group, stdout read line by line and
//! stderr drained on threads (so the child never blocks on a full pipe), and stopped as a
//! whole group — SIGTERM, then SIGKILL after a grace period — so that whatever it started
//! goes too. The child inherits no descriptor beyond stdin, stdout and stderr: libraries such
//! as HDF5 open files without close-on-exec, and a simulation holding the result file (and
//! its lock) open would outlive our use of it.
//!
//! Running groups are also listed in a fixed table that a SIGINT/SIGTERM/SIGHUP handler reads
//! ([`install_interrupt_handler`]): a simulation lives in its own process group, so a Ctrl-C
//! on the terminal would not reach it otherwise.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

/// Longest stdout line accepted (a response with large features fits easily).
const MAX_LINE_BYTES: u64 = 16 << 20;
/// The stderr tail kept for error messages: at most this many lines and bytes.
const TAIL_LINES: usize = 20;
const TAIL_BYTES: usize = 4096;
/// How often waiting loops look at the clock and the child.
pub(super) const POLL: Duration = Duration::from_millis(20);

/// One event from the stdout reader.
pub(super) enum StdoutEvent {
    Line(String),
    /// The pipe could not be read, or a line was too long; reading stopped.
    Broken(String),
}

/// What [`SimProcess::next_line`] saw.
pub(super) enum Next {
    Line(String),
    Broken(String),
    /// stdout was closed.
    Eof,
    /// Nothing before the slice ended.
    Nothing,
}

/// The last lines a process wrote to stderr.
#[derive(Default)]
struct TailBuffer {
    bytes: VecDeque<u8>,
    truncated: bool,
}

/// A running simulation in its own process group.
pub(super) struct SimProcess {
    child: Child,
    pgid: i32,
    stdin: Option<ChildStdin>,
    stdout: Receiver<StdoutEvent>,
    tail: Arc<Mutex<TailBuffer>>,
    stderr_done: Receiver<()>,
    exit: Option<ExitStatus>,
    _registration: Registration,
}

impl SimProcess {
    /// Start `program` with `args` in `workdir`, with `env` added to the environment.
    pub(super) fn spawn(
        program: &OsString,
        args: &[String],
        workdir: &Path,
        env: &[(String, String)],
    ) -> std::io::Result<Self> {
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir(workdir)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let inherited = open_descriptors();
        // SAFETY: the closure runs in the child between fork and exec and only makes system
        // calls (close_range, fcntl) on a list built before the fork; no allocation, no locks.
        unsafe {
            command.pre_exec(move || {
                close_on_exec_above_stderr(&inherited);
                Ok(())
            });
        }
        let mut child = command.spawn()?;
        let pgid = child.id() as i32;
        let registration = Registration::new(pgid);
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let (line_tx, line_rx) = channel();
        if let Some(stdout) = stdout {
            spawn_named("dmosopt-stdout", move || {
                let mut reader = BufReader::new(stdout);
                loop {
                    let mut buf = Vec::new();
                    match (&mut reader)
                        .take(MAX_LINE_BYTES)
                        .read_until(b'\n', &mut buf)
                    {
                        Ok(0) => return,
                        Ok(n) if n as u64 == MAX_LINE_BYTES && buf.last() != Some(&b'\n') => {
                            let _ = line_tx.send(StdoutEvent::Broken(format!(
                                "a stdout line is longer than {} MiB",
                                MAX_LINE_BYTES >> 20
                            )));
                            return;
                        }
                        Ok(_) => {
                            let line = String::from_utf8_lossy(&buf).into_owned();
                            if line_tx.send(StdoutEvent::Line(line)).is_err() {
                                return;
                            }
                        }
                        Err(error) => {
                            let _ = line_tx
                                .send(StdoutEvent::Broken(format!("cannot read stdout: {error}")));
                            return;
                        }
                    }
                }
            });
        }
        let tail = Arc::new(Mutex::new(TailBuffer::default()));
        let (done_tx, done_rx) = channel();
        if let Some(mut stderr) = stderr {
            let tail = Arc::clone(&tail);
            spawn_named("dmosopt-stderr", move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = stderr.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut tail) = tail.lock() {
                        tail.bytes.extend(&buf[..n]);
                        while tail.bytes.len() > TAIL_BYTES {
                            tail.bytes.pop_front();
                            tail.truncated = true;
                        }
                    }
                }
                let _ = done_tx.send(());
            });
        }
        Ok(Self {
            child,
            pgid,
            stdin,
            stdout: line_rx,
            tail,
            stderr_done: done_rx,
            exit: None,
            _registration: registration,
        })
    }

    /// Write `text` to stdin and flush; with `close`, close stdin afterwards.
    pub(super) fn send(&mut self, text: &str, close: bool) -> std::io::Result<()> {
        let result = match self.stdin.as_mut() {
            Some(stdin) => stdin
                .write_all(text.as_bytes())
                .and_then(|()| stdin.flush()),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "stdin is closed",
            )),
        };
        if close {
            self.stdin = None;
        }
        result
    }

    /// Write `text` to stdin from a thread and close it (a one-shot request: never blocks the
    /// caller, whatever the child does with its stdin).
    pub(super) fn send_and_close_in_background(&mut self, text: String) {
        if let Some(mut stdin) = self.stdin.take() {
            spawn_named("dmosopt-stdin", move || {
                // A child that exits without reading gives EPIPE; its exit status tells.
                let _ = stdin.write_all(text.as_bytes());
            });
        }
    }

    /// The next stdout event, waiting at most `slice`.
    pub(super) fn next_line(&mut self, slice: Duration) -> Next {
        match self.stdout.recv_timeout(slice) {
            Ok(StdoutEvent::Line(line)) => Next::Line(line),
            Ok(StdoutEvent::Broken(message)) => Next::Broken(message),
            Err(RecvTimeoutError::Timeout) => Next::Nothing,
            Err(RecvTimeoutError::Disconnected) => Next::Eof,
        }
    }

    /// Lines already read and not yet taken (without waiting).
    pub(super) fn pending_lines(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        while let Ok(event) = self.stdout.try_recv() {
            if let StdoutEvent::Line(line) = event {
                lines.push(line);
            }
        }
        lines
    }

    /// The exit status, if the child has exited (reaps it).
    pub(super) fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit
    }

    /// Wait for the child to exit until `deadline` (forever without one).
    pub(super) fn wait_until(&mut self, deadline: Option<Instant>) -> Option<ExitStatus> {
        loop {
            if let Some(status) = self.try_exit() {
                return Some(status);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return None;
            }
            std::thread::sleep(POLL);
        }
    }

    /// Stop the whole process group: SIGTERM, then SIGKILL if anything is left after `grace`.
    /// Returns whether SIGKILL was needed. The child is reaped afterwards.
    pub(super) fn stop_group(&mut self, grace: Duration) -> bool {
        signal_group(self.pgid, libc::SIGTERM);
        let deadline = Instant::now() + grace;
        loop {
            // The child must be reaped before the group can look empty.
            let reaped = self.try_exit().is_some();
            if reaped && !group_exists(self.pgid) {
                return false;
            }
            if Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(POLL);
        }
        signal_group(self.pgid, libc::SIGKILL);
        if self.exit.is_none() {
            self.exit = self.child.wait().ok();
        }
        true
    }

    /// After the child exited on its own: stop whatever it left running in its group.
    pub(super) fn reap_leftovers(&mut self, grace: Duration) {
        if self.try_exit().is_some() && group_exists(self.pgid) {
            tracing::warn!(
                pgid = self.pgid,
                "the simulation left processes running in its process group; stopping them"
            );
            self.stop_group(grace);
        }
    }

    /// The stderr tail, after waiting up to `wait` for stderr to close.
    pub(super) fn stderr_tail(&self, wait: Duration) -> String {
        let _ = self.stderr_done.recv_timeout(wait);
        let Ok(tail) = self.tail.lock() else {
            return String::new();
        };
        let bytes: Vec<u8> = tail.bytes.iter().copied().collect();
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text.trim_end().lines().collect();
        let start = lines.len().saturating_sub(TAIL_LINES);
        let mut out = if tail.truncated || start > 0 {
            "…\n".to_string()
        } else {
            String::new()
        };
        out.push_str(&lines[start..].join("\n"));
        out
    }

    /// Forget stderr written so far (a persistent process, before the next request).
    pub(super) fn clear_stderr(&self) {
        if let Ok(mut tail) = self.tail.lock() {
            tail.bytes.clear();
            tail.truncated = false;
        }
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        // Never leave a simulation behind: kill the group unless the child is known to be gone.
        if self.try_exit().is_none() {
            signal_group(self.pgid, libc::SIGKILL);
            let _ = self.child.wait();
        }
    }
}

/// How a process ended, in words: `exited with code 3`, `killed by signal SIGSEGV (11)`.
pub(super) fn describe_exit(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(signal)) => {
            let core = if status.core_dumped() {
                ", core dumped"
            } else {
                ""
            };
            format!("killed by signal {} ({signal}{core})", signal_name(signal))
        }
        (None, None) => format!("ended with {status}"),
    }
}

/// The conventional name of a signal number.
pub(super) fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        _ => "unknown signal",
    }
}

/// Descriptors above stderr open in this process now (for systems without `close_range`).
fn open_descriptors() -> Vec<i32> {
    match std::fs::read_dir("/proc/self/fd") {
        Ok(entries) => entries
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
            .filter(|&fd| fd > 2)
            .collect(),
        Err(_) => (3..1024).collect(),
    }
}

/// In the child: mark every descriptor above stderr close-on-exec (async-signal-safe).
fn close_on_exec_above_stderr(fallback: &[i32]) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: close_range(2) with CLOSE_RANGE_CLOEXEC only changes descriptor flags.
        let done = unsafe {
            libc::syscall(
                libc::SYS_close_range,
                3u32,
                u32::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            )
        } == 0;
        if done {
            return;
        }
    }
    for &fd in fallback {
        // SAFETY: fcntl on a possibly closed descriptor fails harmlessly with EBADF.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    }
}

fn signal_group(pgid: i32, signal: i32) {
    if pgid > 0 {
        // SAFETY: killpg has no memory-safety preconditions; a missing group gives ESRCH.
        unsafe {
            libc::killpg(pgid, signal);
        }
    }
}

fn group_exists(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks that the group exists (and that we may signal it).
    pgid > 0 && unsafe { libc::killpg(pgid, 0) } == 0
}

fn spawn_named(name: &str, f: impl FnOnce() + Send + 'static) {
    if let Err(error) = std::thread::Builder::new().name(name.into()).spawn(f) {
        tracing::error!("cannot start thread {name}: {error}");
    }
}

// ---- Process groups that a fatal signal must take down with us. -------------------------

/// Slots of running process groups (0 = free). A fixed array of atomics, so the signal
/// handler can read it without locks or allocation.
static GROUPS: [AtomicI32; 1024] = [const { AtomicI32::new(0) }; 1024];
/// SIGTERM → SIGKILL grace used by the signal handler, in milliseconds.
static HANDLER_GRACE_MS: AtomicU64 = AtomicU64::new(1000);

/// A process group listed in [`GROUPS`] while it lives.
struct Registration(Option<usize>);

impl Registration {
    fn new(pgid: i32) -> Self {
        let slot = GROUPS.iter().position(|slot| {
            slot.compare_exchange(0, pgid, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        });
        if slot.is_none() {
            tracing::warn!(
                "more than {} running simulations; an interrupt will not stop them all",
                GROUPS.len()
            );
        }
        Self(slot)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(slot) = self.0 {
            GROUPS[slot].store(0, Ordering::SeqCst);
        }
    }
}

/// On SIGINT, SIGTERM or SIGHUP: stop every running simulation group (SIGTERM, then SIGKILL
/// after at most `grace`, capped at 10 s), then die of the signal as usual. A second signal
/// during the grace period kills dmosopt at once.
pub fn install_interrupt_handler(grace: Duration) {
    HANDLER_GRACE_MS.store(
        grace.min(Duration::from_secs(10)).as_millis() as u64,
        Ordering::SeqCst,
    );
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: a zeroed sigaction is a valid starting point; the handler only calls
            // async-signal-safe functions (kill, nanosleep, signal, raise) and reads atomics.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_fatal_signal as extern "C" fn(libc::c_int) as usize;
                action.sa_flags = libc::SA_RESETHAND | libc::SA_NODEFER;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(signal, &action, std::ptr::null_mut());
            }
        }
    });
}

extern "C" fn on_fatal_signal(signal: libc::c_int) {
    let each_group = |f: &dyn Fn(i32)| {
        for slot in &GROUPS {
            let pgid = slot.load(Ordering::SeqCst);
            if pgid > 0 {
                f(pgid);
            }
        }
    };
    each_group(&|pgid| signal_group(pgid, libc::SIGTERM));
    let step = libc::timespec {
        tv_sec: 0,
        tv_nsec: 20_000_000,
    };
    let steps = HANDLER_GRACE_MS.load(Ordering::SeqCst) / 20;
    for _ in 0..steps {
        let alive = GROUPS.iter().any(|slot| {
            let pgid = slot.load(Ordering::SeqCst);
            pgid > 0 && group_exists(pgid)
        });
        if !alive {
            break;
        }
        // SAFETY: nanosleep is async-signal-safe; `step` is a valid timespec.
        unsafe {
            libc::nanosleep(&step, std::ptr::null_mut());
        }
    }
    each_group(&|pgid| signal_group(pgid, libc::SIGKILL));
    // SAFETY: restoring the default action and re-raising are async-signal-safe.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_are_described() {
        assert_eq!(
            describe_exit(ExitStatus::from_raw(3 << 8)),
            "exited with code 3"
        );
        assert_eq!(
            describe_exit(ExitStatus::from_raw(libc::SIGSEGV)),
            "killed by signal SIGSEGV (11)"
        );
        assert_eq!(
            describe_exit(ExitStatus::from_raw(libc::SIGKILL)),
            "killed by signal SIGKILL (9)"
        );
    }

    #[test]
    fn only_stdio_is_inherited() {
        let dir = std::env::temp_dir();
        let path = dir.join(format!("dmosopt-fd-test-{}", std::process::id()));
        // A descriptor without close-on-exec, like the ones HDF5 opens.
        let file = std::fs::File::create(&path).unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
        // SAFETY: clearing FD_CLOEXEC on a descriptor we own.
        unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
        let mut process = SimProcess::spawn(
            &OsString::from("sh"),
            &[
                "-c".into(),
                format!("ls /proc/$$/fd; test -e /proc/$$/fd/{fd} && echo leaked"),
            ],
            &dir,
            &[],
        )
        .unwrap();
        let mut lines = Vec::new();
        loop {
            match process.next_line(Duration::from_secs(5)) {
                Next::Line(line) => lines.push(line),
                Next::Nothing => continue,
                _ => break,
            }
        }
        drop(file);
        std::fs::remove_file(&path).unwrap();
        assert!(!lines.iter().any(|l| l.contains("leaked")), "{lines:?}");
    }

    #[test]
    fn group_is_stopped_with_its_children() {
        let dir = std::env::temp_dir();
        let mut process = SimProcess::spawn(
            &OsString::from("sh"),
            &[
                "-c".into(),
                "trap '' TERM; sleep 30 & echo started; echo oops >&2; wait".into(),
            ],
            &dir,
            &[],
        )
        .unwrap();
        let started = loop {
            match process.next_line(Duration::from_secs(5)) {
                Next::Line(line) => break line,
                Next::Nothing => continue,
                _ => panic!("no output"),
            }
        };
        assert_eq!(started, "started\n");
        let clock = Instant::now();
        assert!(
            process.stop_group(Duration::from_millis(300)),
            "needed SIGKILL"
        );
        assert!(clock.elapsed() < Duration::from_secs(5));
        assert!(!group_exists(process.pgid) || process.try_exit().is_some());
        assert!(process.stderr_tail(Duration::from_secs(1)).contains("oops"));
    }
}
