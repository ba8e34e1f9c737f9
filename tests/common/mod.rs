//! Helpers shared by the integration tests: running the binary, showing its output, finding
//! the project's Python and the Python dmosopt's reference files.
//!
//! Each test crate uses only some of them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_dmosopt");

/// `dmosopt ARGS` in `dir`, ready for more environment.
pub fn command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args).current_dir(dir);
    command
}

/// Runs `dmosopt ARGS` in `dir`.
pub fn dmosopt(dir: &Path, args: &[&str]) -> Output {
    command(dir, args).output().expect("start dmosopt")
}

/// Exit status, stdout and stderr, for assertion messages.
pub fn text(output: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Stdout of a run that must have succeeded.
pub fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A reference file written by the Python dmosopt (`$DMOSOPT_REFERENCE_FILES` or
/// `/work/shared/reference/dmosopt-files`), if present.
pub fn reference(name: &str) -> Option<PathBuf> {
    let dir = std::env::var("DMOSOPT_REFERENCE_FILES")
        .unwrap_or_else(|_| "/work/shared/reference/dmosopt-files".into());
    let path = Path::new(&dir).join(name);
    path.exists().then_some(path)
}

/// The project's Python with h5py: `$DMOSOPT_PYTHON` or `.venv/bin/python`, if present.
pub fn venv_python() -> Option<PathBuf> {
    let path = match std::env::var_os("DMOSOPT_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"),
    };
    path.exists().then_some(path)
}
