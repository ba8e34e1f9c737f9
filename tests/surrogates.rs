//! Every neural surrogate kind (and the GP with a neural feasibility model) runs end to end
//! through the binary on the constrained benchmarks (TNK, OSY, C2-DTLZ2), with tiny budgets.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_dmosopt");

const KINDS: [&str; 6] = [
    "kind = \"mlp\"\nwidth = 16\ndepth = 2\nepochs = 20\n",
    "kind = \"resnet\"\nwidth = 16\nhidden = 32\nblocks = 1\nmax_epochs = 30\npatience = 5\n",
    "kind = \"ensemble\"\nmembers = 2\nwidth = 16\ndepth = 1\nepochs = 20\n",
    "kind = \"mlp\"\nmode = \"o\"\nnormalization = \"standard\"\nwidth = 8\nepochs = 10\n",
    "kind = \"ft-transformer\"\nwidth = 16\nheads = 2\nblocks = 1\nffn_hidden = 16\nmax_epochs = 20\npatience = 5\n",
    "kind = \"gp\"\nfeasibility = \"mlp\"\nrestarts = 1\niterations = 20\n",
];

fn run(dir: &Path, builtin: &str, surrogate: &str) -> String {
    let path = dir.join("run.toml");
    let body = format!(
        "[problem]\nbuiltin = \"{builtin}\"\n[optimizer]\nn_initial = 4\nn_epochs = 2\n\
         population_size = 12\nnum_generations = 4\nresample_fraction = 0.5\nseed = 3\n\
         [surrogate]\n{surrogate}[output]\nfile = \"run.h5\"\n"
    );
    std::fs::write(&path, body).expect("write the configuration");
    let output = Command::new(BIN)
        .args(["run", "run.toml", "--threads", "1"])
        .current_dir(dir)
        .output()
        .expect("start dmosopt");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{builtin} / {surrogate}:\n{text}");
    text
}

#[test]
fn neural_surrogates_run_on_constrained_benchmarks() {
    for builtin in ["tnk", "osy", "c2-dtlz2"] {
        for surrogate in KINDS {
            let dir = tempfile::tempdir().expect("temporary directory");
            let text = run(dir.path(), builtin, surrogate);
            // Initial design (4 × dim) plus two epochs of 6 points each.
            assert!(text.contains("evaluations"), "{text}");
        }
    }
}
