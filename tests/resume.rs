//! Resume after `kill -9`: the real binary runs the builtin `delay` problem (ZDT1 with a
//! sleep per evaluation) as a subprocess simulation (`dmosopt simulate delay`, one persistent
//! process per worker) with the GP surrogate, is killed with SIGKILL at seeded random
//! moments (initial design, mid-epoch, surrogate training), resumed each time with `--resume`,
//! and must end with exactly the evaluations of an uninterrupted run with the same seed.
//! After every kill the file opens, and every evaluation that was complete before a kill is
//! still there exactly once with the same parameters; the per-epoch surrogate quality in the
//! end equals the uninterrupted run's.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use dmosopt::store::read_run;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const BIN: &str = env!("CARGO_BIN_EXE_dmosopt");

/// The tests here run one at a time: HDF5 opens files without close-on-exec, so a `dmosopt`
/// started by one test while the other has a result file open would inherit (and keep
/// locked) that file.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

const CONFIG: &str = r#"
[problem]
id = "delay"
builtin = "delay"
dim = 3
reference_point = [1.1, 1.1]
[problem.constants]
delay_ms = 15
delay_jitter_ms = 30
[optimizer]
n_initial = 4
n_epochs = 4
population_size = 20
num_generations = 10
seed = 5
[surrogate]
kind = "gp"
iterations = 40
restarts = 1
[evaluator]
command = ["dmosopt", "simulate", "delay", "--dim", "3"]
mode = "persistent"
timeout = "30s"
"#;

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .current_dir(dir)
        .args(args)
        .env("OMP_NUM_THREADS", "1")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    command
}

fn run(dir: &Path, args: &[&str]) -> Output {
    command(dir, args).output().expect("run dmosopt")
}

/// (eval_id → parameters) of a file, asserting that no eval_id appears twice.
///
/// A simulation child that the killed run had forked but not yet exec'd still holds the
/// file's descriptor (and HDF5's lock) until its exec closes it — microseconds, or longer on a
/// loaded machine — so the file is opened with a few retries over at most 5 s.
fn evaluations(path: &Path) -> BTreeMap<u64, Vec<f64>> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let run = loop {
        match read_run(path, None, None) {
            Ok(run) => break run,
            Err(e) if Instant::now() >= deadline => panic!(
                "the file opens after a kill: {e}\nprocesses with it open:\n{}",
                holders(path)
            ),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    let mut out = BTreeMap::new();
    for row in run.rows {
        let id = row.eval_id.expect("eval_id");
        assert!(
            out.insert(id, row.parameters).is_none(),
            "{}: eval_id {id} stored twice",
            path.display()
        );
    }
    out
}

/// The processes that have `path` open (`/proc/<pid>/fd`), one line each: who holds a lock
/// when a file cannot be opened (seen once or twice under heavy machine load).
fn holders(path: &Path) -> String {
    let mut out = String::new();
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return out;
    };
    for process in processes.flatten() {
        let Ok(fds) = std::fs::read_dir(process.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if std::fs::read_link(fd.path()).is_ok_and(|target| target == path) {
                let cmdline =
                    std::fs::read_to_string(process.path().join("cmdline")).unwrap_or_default();
                out.push_str(&format!(
                    "{} {}\n",
                    fd.path().display(),
                    cmdline.replace('\0', " ")
                ));
            }
        }
    }
    out
}

/// The surrogate quality of every epoch (`run/epochs`, timings left out; Debug text so that
/// NaN compares equal).
fn quality(path: &Path) -> Vec<String> {
    let run = read_run(path, None, None).expect("the file opens");
    run.epochs
        .iter()
        .map(|e| {
            format!(
                "{} {} {} {:?} {:?} {:?} {:?} {:?}",
                e.epoch,
                e.n_evaluations,
                e.surrogate_epochs,
                e.hypervolume,
                e.nrmse,
                e.spearman,
                e.feasibility_accuracy,
                e.feasibility_f1
            )
        })
        .collect()
}

#[test]
fn killed_runs_resume_to_the_uninterrupted_result() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.toml"), CONFIG).unwrap();
    let full = run(dir.path(), &["run", "c.toml", "-w", "3", "-o", "full.h5"]);
    assert!(full.status.success(), "{full:?}");
    // Every evaluation went through the simulation subprocess and succeeded.
    assert!(
        String::from_utf8_lossy(&full.stdout).contains("32 evaluations (32 ok"),
        "{full:?}"
    );
    let expected = evaluations(&dir.path().join("full.h5"));
    assert_eq!(expected.len(), 12 + 4 * 5);
    let expected_quality = quality(&dir.path().join("full.h5"));
    assert_eq!(expected_quality.len(), 5, "{expected_quality:?}");
    // The GP's predictions are measured on every surrogate batch.
    let full_epochs = read_run(&dir.path().join("full.h5"), None, None)
        .unwrap()
        .epochs;
    assert!(
        full_epochs[1..]
            .iter()
            .all(|e| e.nrmse.is_finite() && e.spearman.is_finite()),
        "{full_epochs:?}"
    );

    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let (mut kills, mut cycles) = (0, 0);
    while kills < 24 {
        cycles += 1;
        let name = format!("run{cycles}.h5");
        let path = dir.path().join(&name);
        let mut before = BTreeMap::new();
        loop {
            let mut child = command(
                dir.path(),
                &["run", "c.toml", "-w", "3", "-o", &name, "--resume"],
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn dmosopt");
            let wait = Duration::from_millis(rng.random_range(150..900));
            std::thread::sleep(wait);
            let finished = child.try_wait().expect("try_wait").is_some();
            if !finished {
                child.kill().expect("SIGKILL");
                kills += 1;
            }
            let _ = child.wait();
            if !path.exists() {
                continue; // killed before the file was created
            }
            let now = evaluations(&path);
            for (id, parameters) in &before {
                assert_eq!(
                    now.get(id),
                    Some(parameters),
                    "cycle {cycles}: evaluation {id} complete before a kill was lost or changed"
                );
            }
            before = now;
            if finished {
                break;
            }
        }
        let last = run(
            dir.path(),
            &["run", "c.toml", "-w", "3", "-o", &name, "--resume"],
        );
        assert!(last.status.success(), "{last:?}");
        assert_eq!(
            evaluations(&path),
            expected,
            "cycle {cycles}: the resumed run's evaluations differ from the uninterrupted run's"
        );
        assert_eq!(
            quality(&path),
            expected_quality,
            "cycle {cycles}: the resumed run's surrogate quality differs"
        );
    }
    eprintln!(
        "{kills} kills in {cycles} runs, {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn resume_file_continues_with_the_stored_config_and_mismatches_are_listed() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.toml"), CONFIG).unwrap();
    let short = run(
        dir.path(),
        &[
            "run",
            "c.toml",
            "-o",
            "r.h5",
            "--set",
            "optimizer.n_epochs=1",
        ],
    );
    assert!(short.status.success(), "{short:?}");
    assert_eq!(evaluations(&dir.path().join("r.h5")).len(), 12 + 5);

    // A new run on an existing file is refused.
    let again = run(dir.path(), &["run", "c.toml", "-o", "r.h5"]);
    assert_eq!(again.status.code(), Some(2), "{again:?}");

    // Different space and seed: refused, every difference listed.
    let mismatch = run(
        dir.path(),
        &[
            "run",
            "c.toml",
            "-o",
            "r.h5",
            "--resume",
            "--set",
            "problem.dim=4",
            "--set",
            "optimizer.seed=9",
        ],
    );
    assert_eq!(mismatch.status.code(), Some(2), "{mismatch:?}");
    let stderr = String::from_utf8_lossy(&mismatch.stderr);
    for key in ["problem.dim", "optimizer.seed"] {
        assert!(stderr.contains(key), "{stderr}");
    }

    // Harmless change (more epochs) through `dmosopt resume FILE`.
    let resumed = run(
        dir.path(),
        &["resume", "r.h5", "--set", "optimizer.n_epochs=2", "-w", "2"],
    );
    assert!(resumed.status.success(), "{resumed:?}");
    let full = run(
        dir.path(),
        &[
            "run",
            "c.toml",
            "-o",
            "f.h5",
            "--set",
            "optimizer.n_epochs=2",
        ],
    );
    assert!(full.status.success(), "{full:?}");
    assert_eq!(
        evaluations(&dir.path().join("r.h5")),
        evaluations(&dir.path().join("f.h5"))
    );
}
