//! `dmosopt plot`: PNG and SVG figures of our runs (2 and 3 objectives) and of the Python
//! dmosopt's reference files (`/work/shared/reference/dmosopt-files`, via
//! `DMOSOPT_REFERENCE_FILES` or that default path; skipped when absent), and its errors.

use std::path::Path;
use std::process::{Command, Output};

mod common;

use common::{reference, stdout as ok, BIN};

fn dmosopt(dir: &Path, args: &[&str]) -> Output {
    common::command(dir, args)
        .env("OMP_NUM_THREADS", "1")
        .env_remove("DMOSOPT_FONT")
        .output()
        .expect("start dmosopt")
}

/// A tiny builtin run without a surrogate (3 epochs, a few hundred evaluations).
fn tiny_run(dir: &Path, builtin: &str, output: &str) {
    let config = format!(
        r#"
[problem]
id = "{builtin}"
builtin = "{builtin}"
dim = 6
[optimizer]
n_initial = 3
n_epochs = 2
population_size = 16
num_generations = 5
seed = 3
[surrogate]
kind = "none"
"#
    );
    std::fs::write(dir.join(format!("{output}.toml")), config).unwrap();
    ok(&dmosopt(
        dir,
        &["run", &format!("{output}.toml"), "-o", output, "-w", "2"],
    ));
}

/// Whether the SVG has a text element whose content is `text` (plotters puts it on its own line).
fn has_text(svg: &str, text: &str) -> bool {
    svg.lines().any(|line| line.trim() == text)
}

fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{}",
        path.display()
    );
    assert!(
        bytes.len() > 20_000,
        "{}: {} bytes",
        path.display(),
        bytes.len()
    );
}

#[test]
fn plots_a_two_objective_run_to_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    tiny_run(dir.path(), "zdt1", "z.h5");
    let out = ok(&dmosopt(dir.path(), &["plot", "z.h5", "-o", "front.png"]));
    assert!(out.contains("hypervolume per epoch"), "{out}");
    assert_png(&dir.path().join("front.png"));

    ok(&dmosopt(
        dir.path(),
        &["plot", "z.h5", "-o", "front.svg", "--all"],
    ));
    let svg = std::fs::read_to_string(dir.path().join("front.svg")).unwrap();
    assert!(svg.contains("<svg"), "{svg:.200}");
    for text in ["f1", "f2", "hypervolume", "non-dominated"] {
        assert!(has_text(&svg, text), "missing {text} in the SVG");
    }
}

#[test]
fn plots_a_three_objective_run() {
    let dir = tempfile::tempdir().unwrap();
    tiny_run(dir.path(), "dtlz2", "d.h5");
    ok(&dmosopt(dir.path(), &["plot", "d.h5", "-o", "d.png"]));
    assert_png(&dir.path().join("d.png"));
    ok(&dmosopt(dir.path(), &["plot", "d.h5", "-o", "d.svg"]));
    let svg = std::fs::read_to_string(dir.path().join("d.svg")).unwrap();
    assert!(has_text(&svg, "f3"), "no f3 axis label");
}

#[test]
fn plots_python_dmosopt_files() {
    let (Some(constr), Some(multi)) = (
        reference("constr_features.h5"),
        reference("multiproblem_nested.h5"),
    ) else {
        eprintln!("reference files absent: skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for source in [&constr, &multi] {
        let name = source.file_name().unwrap();
        std::fs::copy(source, dir.path().join(name)).unwrap();
    }
    let out = ok(&dmosopt(
        dir.path(),
        &["plot", "constr_features.h5", "-o", "c.png"],
    ));
    assert!(!out.contains("hypervolume per epoch"), "{out}");
    assert_png(&dir.path().join("c.png"));
    ok(&dmosopt(
        dir.path(),
        &["plot", "constr_features.h5", "-o", "c.svg"],
    ));
    let svg = std::fs::read_to_string(dir.path().join("c.svg")).unwrap();
    assert!(svg.contains("hypervolume not shown"), "no note in the SVG");
    ok(&dmosopt(
        dir.path(),
        &[
            "plot",
            "multiproblem_nested.h5",
            "-o",
            "m.png",
            "--opt-id",
            "mp",
            "--problem",
            "3",
        ],
    ));
    assert_png(&dir.path().join("m.png"));
}

#[test]
fn bad_extension_is_a_usage_error_and_a_missing_font_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dmosopt(dir.path(), &["plot", "nothing.h5", "-o", "front.jpg"]);
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("`.jpg`"), "{stderr}");

    tiny_run(dir.path(), "zdt1", "z.h5");
    let no_font = Command::new(BIN)
        .args(["plot", "z.h5", "-o", "f.png"])
        .current_dir(dir.path())
        .env("DMOSOPT_FONT", "/no/such/font.ttf")
        .output()
        .unwrap();
    assert_eq!(no_font.status.code(), Some(1), "{no_font:?}");
    let stderr = String::from_utf8_lossy(&no_font.stderr);
    assert!(
        stderr.contains("/no/such/font.ttf") && stderr.contains("fonts-dejavu-core"),
        "{stderr}"
    );
}
