//! Configuration tests: good and bad files, overrides, round trip, documentation coverage.

use super::*;
use crate::surrogate::torch::constraint_targets::{ConstraintProbability, ConstraintScale};
use crate::surrogate::torch::training::{FinalModel, TrainingConfig};
use std::path::Path;

const USER: &str = r#"
[problem]
id = "probe"
objectives = ["f1", "f2"]
constraints = ["c1"]
[problem.space]
x = [0.0, 1.0]
n = { bounds = [1, 8], integer = true }
k = { bounds = [1e-5, 1e-1], log = true }
[problem.constants]
celsius = 36.0
[optimizer]
n_initial = 3
seed = 5
[evaluator]
command = ["python3", "sim.py", "--fast"]
mode = "oneshot"
timeout = "30m"
kill_grace = "5s"
retries = 1
workdir = "runs/{epoch}/{eval_id}"
max_failure_fraction = 0.25
ranks_per_worker = 4
[evaluator.env]
OMP_NUM_THREADS = 1
MODEL = "fast"
"#;

const BUILTIN: &str = r#"
[problem]
id = "zdt1"
builtin = "zdt1"
[optimizer]
n_epochs = 2
[surrogate]
kind = "gp"
[output]
file = "zdt1.h5"
"#;

fn load(text: &str, overrides: &[&str]) -> Result<RunConfig, ConfigError> {
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    load_str(text, Path::new("test.toml"), &overrides)
}

fn error(text: &str, overrides: &[&str]) -> String {
    match load(text, overrides) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn user_problem_resolves_with_defaults() {
    let config = load(USER, &[]).unwrap();
    assert_eq!(config.problem.space.names(), ["x", "n", "k"]);
    assert!(config.problem.space.parameters()[1].integer);
    assert!(config.problem.space.parameters()[2].log);
    assert_eq!(
        config.problem.constants,
        vec![("celsius".to_string(), 36.0)]
    );
    assert_eq!(config.optimizer.n_initial, 3);
    assert_eq!(
        config.optimizer.population_size,
        resolve::defaults::POPULATION_SIZE
    );
    assert_eq!(config.output.file, Path::new("probe.h5"));
    assert!(config.problem.reference_point.is_none());
    assert!(matches!(config.surrogate, SurrogateConfig::Gp(_)));
}

#[test]
fn evaluator_resolves_with_defaults() {
    use std::time::Duration;
    let config = load(USER, &[]).unwrap();
    let evaluator = &config.evaluator;
    assert_eq!(evaluator.max_failure_fraction, 0.25);
    assert_eq!(evaluator.ranks_per_worker, 4);
    let sub = evaluator.subprocess.as_ref().unwrap();
    assert_eq!(sub.command, ["python3", "sim.py", "--fast"]);
    assert_eq!(sub.mode, ProtocolMode::Oneshot);
    assert_eq!(sub.timeout, Some(Duration::from_secs(1800)));
    assert_eq!(sub.kill_grace, Duration::from_secs(5));
    assert_eq!(sub.retries, 1);
    assert_eq!(
        sub.workdir.as_ref().unwrap().render(Some(7), Some(2), 0),
        "runs/2/7"
    );
    assert_eq!(
        sub.env,
        [
            ("OMP_NUM_THREADS".to_string(), "1".to_string()),
            ("MODEL".to_string(), "fast".to_string())
        ]
    );

    let builtin = load(BUILTIN, &[]).unwrap().evaluator;
    assert!(builtin.subprocess.is_none());
    assert_eq!(builtin.max_failure_fraction, 0.5);
    assert_eq!(builtin.ranks_per_worker, 1);
    let minimal = load(
        BUILTIN,
        &["evaluator.command=[\"sim\"]", "evaluator.timeout=90"],
    )
    .unwrap()
    .evaluator
    .subprocess
    .unwrap();
    assert_eq!(minimal.mode, ProtocolMode::Oneshot);
    assert_eq!(minimal.timeout, Some(Duration::from_secs(90)));
    assert_eq!(minimal.kill_grace, Duration::from_secs(10));
    assert_eq!(minimal.retries, 0);
    assert!(minimal.workdir.is_none() && minimal.env.is_empty());
}

#[test]
fn builtin_fills_space_and_reference_point() {
    let config = load(BUILTIN, &[]).unwrap();
    assert_eq!(config.problem.space.dim(), 30);
    assert_eq!(config.problem.schema.objectives, ["f1", "f2"]);
    assert_eq!(config.problem.reference_point, Some(vec![1.1, 1.1]));
}

#[test]
fn overrides_change_values_and_builtins() {
    let config = load(
        BUILTIN,
        &[
            "optimizer.n_epochs=5",
            "problem.builtin=dtlz2",
            "surrogate.kind=\"none\"",
        ],
    )
    .unwrap();
    assert_eq!(config.optimizer.n_epochs, 5);
    assert_eq!(config.problem.schema.n_objectives(), 3);
    assert_eq!(config.problem.space.dim(), 12);
    assert_eq!(config.surrogate, SurrogateConfig::None);
    let config = load(BUILTIN, &["problem.reference_point=[2.0, 2.0]"]).unwrap();
    assert_eq!(config.problem.reference_point, Some(vec![2.0, 2.0]));
}

#[test]
fn resolved_toml_round_trips() {
    for text in [USER, BUILTIN] {
        let config = load(text, &[]).unwrap();
        let rendered = config.to_toml();
        let again = load(&rendered, &[]).unwrap();
        assert_eq!(again.to_toml(), rendered);
        assert_eq!(again.problem.space, config.problem.space);
        assert_eq!(again.optimizer, config.optimizer);
        assert_eq!(again.surrogate, config.surrogate);
        assert_eq!(again.evaluator, config.evaluator);
    }
}

#[test]
fn bad_files_name_the_key() {
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "[problem]\nid='a'\nbuiltin='zdt1'\ncolour='red'\n[optimizer]\n",
            &[],
            &["test.toml", "colour", "line 4"],
        ),
        (
            "[problem]\nbuiltin='zdt1'\n[optimizer]\nn_epochs='ten'\n",
            &[],
            &["test.toml", "n_epochs", "line 4"],
        ),
        ("[problem]\nbuiltin='zdt1'\n", &[], &["missing section [optimizer]"]),
        ("[optimizer]\n", &[], &["missing section [problem]"]),
        (
            "[problem]\nbuiltin='nope'\n[optimizer]\n",
            &[],
            &["builtin", "nope", "line 2"],
        ),
        (
            "[problem]\nid='p'\nobjectives=['f']\n[problem.space]\nx=[1.0, 0.0]\n[optimizer]\n",
            &[],
            &["problem.space", "`x`", "not below"],
        ),
        (
            "[problem]\nid='p'\nobjectives=['f']\n[problem.space]\nx=[1.0, 1.0]\n[optimizer]\n",
            &[],
            &["`x`", "not below"],
        ),
        (
            "[problem]\nid='p'\nobjectives=['f','f']\n[problem.space]\nx=[0.0, 1.0]\n[optimizer]\n",
            &[],
            &["problem.objectives", "`f` appears more than once"],
        ),
        (
            "[problem]\nid='p'\nobjectives=['f']\n[problem.space]\nx={bounds=[0.0,1.0], logg=true}\n[optimizer]\n",
            &[],
            &["problem.space.x", "expected"],
        ),
        (
            "[problem]\nid='p'\nobjectives=['f']\n[problem.space]\nx={bounds=[0.0,1.0], log=true}\n[optimizer]\n",
            &[],
            &["`x`", "positive lower bound"],
        ),
        (
            "[problem]\nid='p'\nobjectives=['f']\n[optimizer]\n",
            &[],
            &["[problem.space]"],
        ),
        (
            "[problem]\nbuiltin='zdt1'\nobjectives=['f']\n[optimizer]\n",
            &[],
            &["problem.objectives", "not allowed"],
        ),
        (
            "[problem]\nbuiltin='zdt1'\n[optimizer]\nresample_fraction=1.5\npopulation_size=2\n",
            &[],
            &["resample_fraction = 1.5", "population_size = 2"],
        ),
        (
            "[problem]\nbuiltin='zdt1'\nreference_point=[1.0]\n[optimizer]\n",
            &[],
            &["reference_point", "has 1 values"],
        ),
        (
            "[problem]\nbuiltin='zdt1'\n[optimizer]\n[surrogate]\nkind='gp'\nlayers=3\n",
            &[],
            &["layers"],
        ),
        (
            "[problem]\nbuiltin='zdt1'\n[optimizer]\n[surrogate]\nkind='svm'\n",
            &[],
            &["svm"],
        ),
        (
            "[problem]\nid='p'\nobjectives=['f']\n[problem.space]\nx=[0.0, 1.0]\n[optimizer]\n",
            &[],
            &["evaluator.command", "user problem needs"],
        ),
        (
            "[problem]\nbuiltin='zdt1'\n[optimizer]\n[evaluator]\ntimeout='5m'\nretries=2\n",
            &[],
            &["evaluator.timeout: only used with evaluator.command", "evaluator.retries"],
        ),
        (
            "[problem]\nbuiltin='zdt1'\n[optimizer]\n[evaluator]\ncommand=[]\nmode='daemon'\n",
            &[],
            &["mode", "daemon", "line 6"],
        ),
        (
            "[problem]\nbuiltin='zdt1'\n[optimizer]\n[evaluator]\ncommand=[]\n",
            &[],
            &["evaluator.command: must name a program"],
        ),
        (
            "[problem]\nbuiltin='zdt1'\n[optimizer]\n[evaluator]\ncommand=['sim']\ntimeout='30'\nkill_grace='soon'\n",
            &[],
            &["evaluator.timeout = \"30\": missing unit", "evaluator.kill_grace = \"soon\""],
        ),
        (
            "[problem]\nbuiltin='zdt1'\n[optimizer]\n[evaluator]\ncommand=['sim']\ntimeout=0\n",
            &[],
            &["evaluator.timeout: must be longer than 0 s"],
        ),
        (
            "[problem]\nbuiltin='zdt1'\n[optimizer]\n[evaluator]\ncommand=['sim']\nmode='persistent'\nworkdir='runs/{eval_id}'\n",
            &[],
            &["evaluator.workdir", "may only use {worker}"],
        ),
        (
            "[problem]\nbuiltin='zdt1'\n[optimizer]\n[evaluator]\ncommand=['sim']\nworkdir='runs/{id}'\n",
            &[],
            &["evaluator.workdir", "unknown placeholder {id}"],
        ),
        (
            "[problem]\nbuiltin='zdt1'\n[optimizer]\n[evaluator]\ncommand=['sim']\nenv={DMOSOPT_WORKER='1', A=[1]}\n",
            &[],
            &["evaluator.env.DMOSOPT_WORKER", "evaluator.env.A: must be a string or a number"],
        ),
        (
            "[problem]\nbuiltin='zdt1'\n[optimizer]\n[evaluator]\nmax_failure_fraction=1.5\nranks_per_worker=0\n",
            &[],
            &["max_failure_fraction = 1.5", "ranks_per_worker: must be at least 1"],
        ),
        (
            "[problem]\nbuiltin='zdt1'\n[optimizer]\n[evaluator]\nshell='bash'\n",
            &[],
            &["shell", "line 5"],
        ),
        ("[problem\n", &[], &["test.toml", "line 1"]),
        (BUILTIN, &["optimizer.n_epochs"], &["--set", "KEY=VALUE"]),
        (BUILTIN, &["optimizer.n_epochs.x=1"], &["n_epochs", "not a section"]),
        (BUILTIN, &["optimizer.bogus=1"], &["bogus"]),
    ];
    for (text, overrides, fragments) in cases {
        let message = error(text, overrides);
        for fragment in *fragments {
            assert!(
                message.contains(fragment),
                "message {message:?} lacks {fragment:?} (input {text:?})"
            );
        }
    }
}

#[test]
fn exploration_must_be_a_non_negative_number() {
    let message = error(
        "[problem]\nbuiltin='zdt2'\n[optimizer]\nexploration=-1.0\n",
        &[],
    );
    assert!(message.contains("optimizer.exploration = -1"), "{message}");
    let config = crate::config::load_str(
        "[problem]\nbuiltin='zdt2'\n[optimizer]\nexploration=3.0\n",
        std::path::Path::new("x.toml"),
        &[],
    )
    .unwrap();
    assert_eq!(config.optimizer.exploration, 3.0);
}

#[test]
fn probes_take_a_fraction_and_a_scale_and_round_trip() {
    let message = error(
        "[problem]\nbuiltin='zdt2'\n[optimizer]\nprobe_fraction=1.5\nprobe_scale=0.0\n",
        &[],
    );
    assert!(
        message.contains("optimizer.probe_fraction = 1.5"),
        "{message}"
    );
    assert!(message.contains("optimizer.probe_scale = 0"), "{message}");
    let config = load(
        "[problem]\nbuiltin='zdt2'\n[optimizer]\nprobe_fraction=0.25\n",
        &[],
    )
    .unwrap();
    assert_eq!(config.optimizer.probe_fraction, 0.25);
    assert_eq!(config.optimizer.probe_scale, 0.1);
    let again = load(&config.to_toml(), &[]).unwrap();
    assert_eq!(again.optimizer, config.optimizer);
}

#[test]
fn the_feasibility_floor_takes_a_late_value_and_round_trips() {
    let message = error(
        "[problem]\nbuiltin='tnk'\n[optimizer]\nmin_feasibility=-0.1\n\
         late_min_feasibility=1.5\nlate_share=0\n",
        &[],
    );
    for fragment in [
        "optimizer.min_feasibility = -0.1: must be in [0, 1]",
        "optimizer.late_min_feasibility = 1.5: must be in [0, 1]",
        "optimizer.late_share = 0: must be in (0, 1]",
    ] {
        assert!(message.contains(fragment), "{fragment}: {message}");
    }
    let config = load("[problem]\nbuiltin='tnk'\n[optimizer]\n", &[]).unwrap();
    assert_eq!(config.optimizer.feasibility_floor.early, 0.05);
    assert_eq!(config.optimizer.feasibility_floor.late, 0.05);
    assert_eq!(config.optimizer.feasibility_floor.late_share, 0.6);
    // Without a late value the floor stays what it was.
    let config = load(
        "[problem]\nbuiltin='tnk'\n[optimizer]\nmin_feasibility=0.1\n",
        &[],
    )
    .unwrap();
    assert_eq!(config.optimizer.feasibility_floor.late, 0.1);
    let config = load(
        "[problem]\nbuiltin='tnk'\n[optimizer]\nlate_min_feasibility=0.3\nlate_share=0.5\n",
        &[],
    )
    .unwrap();
    assert_eq!(
        (
            config.optimizer.feasibility_floor.early,
            config.optimizer.feasibility_floor.late,
            config.optimizer.feasibility_floor.late_share
        ),
        (0.05, 0.3, 0.5)
    );
    let again = load(&config.to_toml(), &[]).unwrap();
    assert_eq!(again.optimizer, config.optimizer);
}

#[test]
fn every_error_is_reported_at_once() {
    let message = error(
        "[problem]\nbuiltin='zdt1'\n[optimizer]\nresample_fraction=0.0\nnum_generations=0\nn_initial=0\n",
        &[],
    );
    assert!(message.contains("resample_fraction"));
    assert!(message.contains("num_generations"));
    assert!(message.contains("n_initial"));
}

/// Every key the configuration structs can hold, as dotted paths, from a fully populated
/// resolved configuration.
fn all_keys() -> Vec<String> {
    fn walk(prefix: &str, table: &toml::Table, keys: &mut Vec<String>) {
        for (key, value) in table {
            if [
                "problem.space",
                "problem.constants",
                "problem.features",
                "evaluator.env",
            ]
            .contains(&prefix)
            {
                continue;
            }
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            if let toml::Value::Table(inner) = value {
                walk(&path, inner, keys);
            }
            keys.push(path);
        }
    }
    let mut keys = Vec::new();
    let neural: Vec<String> = NEURAL
        .iter()
        .map(|section| with_surrogate(section))
        .collect();
    let texts = [USER, BUILTIN]
        .into_iter()
        .chain(neural.iter().map(String::as_str));
    for text in texts {
        let mut config = load(text, &["optimizer.max_evaluations=10"]).unwrap();
        config.optimizer.nsga2.mutation_probability = Some(0.1);
        let table: toml::Table = toml::from_str(&config.to_toml()).unwrap();
        walk("", &table, &mut keys);
    }
    keys.sort();
    keys.dedup();
    keys
}

#[test]
fn every_config_key_is_documented() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/config.md"))
        .expect("docs/config.md");
    let keys = all_keys();
    assert!(keys.len() > 20, "{keys:?}");
    let missing: Vec<&String> = keys
        .iter()
        .filter(|key| {
            let leaf = key.rsplit('.').next().unwrap_or(key);
            !docs.contains(&format!("`{leaf}`")) && !docs.contains(&format!("`[{key}]`"))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "docs/config.md does not document {missing:?}"
    );
}

/// Neural `[surrogate]` bodies that set every key of their kind.
const NEURAL: [&str; 5] = [
    "kind = \"mlp\"\nmode = \"o\"\nnormalization = \"standard\"\nwidth = 16\ndepth = 2\nactivation = \"gelu\"\nepochs = 50\n",
    "kind = \"resnet\"\nhidden = 32\nblocks = 1\ndropout = 0.1\ncv_time_budget = \"30s\"\npatience = 10\nconstraint_scale = \"rms\"\nconstraint_probability = \"held-out\"\n",
    "kind = \"ensemble\"\nmember = \"resnet\"\nmembers = 2\nbootstrap = false\nmax_epochs = 100\ncv_folds = 2\nbatch_size = 64\nlearning_rate = 0.002\ndevice = \"cpu\"\nconstraint_probability = \"held-out-boundary\"\n",
    "kind = \"ft-transformer\"\nwidth = 64\nheads = 8\nblocks = 1\nffn_hidden = 96\nattention_dropout = 0.2\nffn_dropout = 0.0\nresidual_dropout = 0.05\nprecision = \"bf16\"\nfinal_model = \"refit\"\nepochs = 5\n",
    "kind = \"ensemble\"\nmember = \"ft-transformer\"\nmembers = 2\nheads = 2\n",
];

fn with_surrogate(section: &str) -> String {
    BUILTIN.replace("kind = \"gp\"\n", section)
}

#[test]
fn neural_surrogates_resolve_and_round_trip() {
    use crate::surrogate::torch::networks::Architecture;
    for section in NEURAL {
        let config = load(&with_surrogate(section), &[]).unwrap();
        let rendered = config.to_toml();
        let again = load(&rendered, &[]).unwrap();
        assert_eq!(again.surrogate, config.surrogate, "{rendered}");
        assert_eq!(again.to_toml(), rendered);
    }
    let config = load(&with_surrogate(NEURAL[1]), &[]).unwrap();
    let SurrogateConfig::Neural(joint) = &config.surrogate else {
        panic!("{:?}", config.surrogate);
    };
    assert_eq!(joint.constraint_scale, ConstraintScale::Rms);
    assert_eq!(joint.constraint_probability, ConstraintProbability::HeldOut);
    assert!(!joint.training.held_out_near_boundary);
    let config = load(&with_surrogate(NEURAL[2]), &[]).unwrap();
    match config.surrogate {
        SurrogateConfig::Ensemble(ensemble) => {
            assert_eq!(ensemble.members, 2);
            assert!(!ensemble.bootstrap);
            assert_eq!(
                ensemble.member.constraint_probability,
                ConstraintProbability::HeldOutBoundary
            );
            assert!(ensemble.member.training.held_out_near_boundary);
            assert!(matches!(
                ensemble.member.architecture,
                Architecture::Resnet { width: 192, .. }
            ));
        }
        other => panic!("{other:?}"),
    }
    // The FT-Transformer's defaults are the paper's, with every key resolved.
    let config = load(&with_surrogate("kind = \"ft-transformer\"\n"), &[]).unwrap();
    let SurrogateConfig::Neural(joint) = &config.surrogate else {
        panic!("{:?}", config.surrogate);
    };
    assert_eq!(joint.architecture, Architecture::default_ft_transformer());
    let rendered = config.to_toml();
    for key in [
        "heads = 4",
        "blocks = 3",
        "ffn_hidden = 256",
        "residual_dropout = 0.1",
        "precision = \"auto\"",
        "batch_size = 64",
        "patience = 20",
        "final_model = \"folds\"",
    ] {
        assert!(rendered.contains(key), "{key} missing from\n{rendered}");
    }
    let config = load(&with_surrogate(NEURAL[4]), &[]).unwrap();
    let SurrogateConfig::Ensemble(ensemble) = &config.surrogate else {
        panic!("{:?}", config.surrogate);
    };
    assert!(matches!(
        &ensemble.member.architecture,
        Architecture::FtTransformer(ft) if ft.heads == 2 && ft.width == 128
    ));
    // An ensemble refits its members; the other kinds keep their paper defaults.
    assert_eq!(ensemble.member.training.final_model, FinalModel::Refit);
    assert!(!config.to_toml().contains("final_model"));
    for kind in ["mlp", "resnet"] {
        let config = load(&with_surrogate(&format!("kind = \"{kind}\"\n")), &[]).unwrap();
        let SurrogateConfig::Neural(joint) = &config.surrogate else {
            panic!("{:?}", config.surrogate);
        };
        assert_eq!(joint.training, TrainingConfig::default(), "{kind}");
    }
}

/// More than 100 objectives plus modeled constraints: 2 FT-Transformer blocks by default
/// (3 in mode "o", where the constraints are not modeled; an explicit count wins).
#[test]
fn many_targets_give_the_ft_transformer_two_blocks() {
    use crate::surrogate::torch::networks::Architecture;
    let constraints: Vec<String> = (0..100).map(|c| format!("\"c{c}\"")).collect();
    let user = USER.replace(
        "constraints = [\"c1\"]",
        &format!("constraints = [{}]", constraints.join(", ")),
    ) + "[surrogate]\nkind = \"ft-transformer\"\n";
    let blocks = |overrides: &[&str]| match load(&user, overrides).unwrap().surrogate {
        SurrogateConfig::Neural(joint) => match joint.architecture {
            Architecture::FtTransformer(ft) => ft.blocks,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    assert_eq!(blocks(&[]), 2);
    assert_eq!(blocks(&["surrogate.mode=\"o\""]), 3);
    assert_eq!(blocks(&["surrogate.blocks=3"]), 3);
}

#[test]
fn neural_surrogate_errors_name_the_key() {
    let cases = [
        ("kind = \"mlp\"\nmode = \"c\"\n", "surrogate.mode"),
        ("kind = \"mlp\"\nhidden = 3\n", "surrogate.hidden"),
        ("kind = \"resnet\"\nmembers = 3\n", "surrogate.members"),
        (
            "kind = \"ensemble\"\nmember = \"mlp\"\nblocks = 3\n",
            "surrogate.blocks",
        ),
        ("kind = \"resnet\"\ndropout = 1.5\n", "surrogate.dropout"),
        ("kind = \"resnet\"\nheads = 2\n", "surrogate.heads"),
        ("kind = \"mlp\"\nffn_hidden = 2\n", "surrogate.ffn_hidden"),
        (
            "kind = \"ft-transformer\"\nhidden = 2\n",
            "surrogate.hidden",
        ),
        (
            "kind = \"ft-transformer\"\ndropout = 0.1\n",
            "surrogate.dropout",
        ),
        (
            "kind = \"ft-transformer\"\nresidual_dropout = 1.0\n",
            "surrogate.residual_dropout",
        ),
        ("kind = \"ft-transformer\"\nheads = 0\n", "surrogate.heads"),
        (
            "kind = \"mlp\"\nprecision = \"bf16\"\n",
            "surrogate.precision",
        ),
        (
            "kind = \"ft-transformer\"\nprecision = \"f16\"\n",
            "expected one of `auto`, `f32`, `bf16`",
        ),
        (
            "kind = \"mlp\"\nconstraint_probability = \"calibrated\"\n",
            "expected one of `logistic`, `held-out`, `held-out-boundary`",
        ),
        (
            "kind = \"mlp\"\nconstraint_scale = \"mean\"\n",
            "expected `median` or `rms`",
        ),
        (
            "kind = \"ensemble\"\nfinal_model = \"folds\"\n",
            "surrogate.final_model",
        ),
        (
            "kind = \"ensemble\"\nmember = \"mlp\"\nattention_dropout = 0.1\n",
            "surrogate.attention_dropout",
        ),
        ("kind = \"mlp\"\ncv_folds = 1\n", "surrogate.cv_folds"),
        (
            "kind = \"ft-transformer\"\npolish = 100\n",
            "surrogate.polish = 100",
        ),
        (
            "kind = \"mlp\"\ncv_time_budget = \"0s\"\n",
            "surrogate.cv_time_budget",
        ),
    ];
    for (section, key) in cases {
        let Err(error) = load(&with_surrogate(section), &[]) else {
            panic!("{section}: accepted");
        };
        let error = error.to_string();
        assert!(error.contains(key), "{section}: {error}");
    }
    let Err(error) = load(&with_surrogate("kind = \"mlp\"\nmode = \"c\"\n"), &[]) else {
        panic!("mode c accepted");
    };
    let error = error.to_string();
    assert!(error.contains("needs to search"), "{error}");
    let Err(error) = load(
        &with_surrogate("kind = \"ft-transformer\"\nwidth = 100\nheads = 3\n"),
        &[],
    ) else {
        panic!("width 100 with 3 heads accepted");
    };
    let error = error.to_string();
    assert!(
        error.contains("surrogate.width = 100") && error.contains("surrogate.heads = 3"),
        "{error}"
    );
}

#[test]
fn a_gp_can_take_its_feasibility_from_gps_of_the_constraint_values() {
    let config = load(
        &with_surrogate("kind = \"gp\"\nfeasibility = \"gp\"\nrestarts = 2\n"),
        &[],
    )
    .unwrap();
    let SurrogateConfig::GpWithGpFeasibility(gp) = &config.surrogate else {
        panic!("{:?}", config.surrogate);
    };
    assert_eq!(gp.restarts, 2);
    let rendered = config.to_toml();
    assert!(rendered.contains("feasibility = \"gp\""), "{rendered}");
    assert_eq!(load(&rendered, &[]).unwrap().surrogate, config.surrogate);
}

#[test]
fn a_gps_feasibility_network_takes_the_keys_of_an_mlp() {
    use crate::surrogate::torch::constraint_targets::ConstraintProbability;
    use crate::surrogate::DeviceChoice;
    let config = load(
        &with_surrogate(
            "kind = \"gp\"\ndevice = \"cpu\"\nfeasibility = \"mlp\"\n\
             [surrogate.feasibility_network]\nwidth = 64\nmax_epochs = 300\n\
             cv_time_budget = \"5s\"\nconstraint_probability = \"held-out\"\n",
        ),
        &[],
    )
    .unwrap();
    let SurrogateConfig::GpWithFeasibility { feasibility, .. } = &config.surrogate else {
        panic!("{:?}", config.surrogate);
    };
    assert_eq!(feasibility.training.max_epochs, 300);
    assert_eq!(
        feasibility.training.cv_time_budget,
        std::time::Duration::from_secs(5)
    );
    assert_eq!(
        feasibility.constraint_probability,
        ConstraintProbability::HeldOut
    );
    assert_eq!(feasibility.device, DeviceChoice::Cpu, "the GP's device");
    assert!(
        matches!(
            feasibility.architecture,
            crate::surrogate::torch::networks::Architecture::Mlp { width: 64, .. }
        ),
        "{:?}",
        feasibility.architecture
    );
    let rendered = config.to_toml();
    assert!(
        rendered.contains("[surrogate.feasibility_network]"),
        "{rendered}"
    );
    assert_eq!(load(&rendered, &[]).unwrap().surrogate, config.surrogate);

    let message = error(
        &with_surrogate(
            "kind = \"gp\"\nfeasibility = \"mlp\"\n[surrogate.feasibility_network]\n\
             hidden = 4\npatience = 0\n",
        ),
        &[],
    );
    assert!(
        message.contains("surrogate.feasibility_network.hidden: not a key of kind \"mlp\"")
            && message.contains("surrogate.feasibility_network.patience: must be at least 1"),
        "{message}"
    );
    let message = error(
        &with_surrogate(
            "kind = \"gp\"\nfeasibility = \"gp\"\n[surrogate.feasibility_network]\nwidth = 8\n",
        ),
        &[],
    );
    assert!(
        message.contains("surrogate.feasibility_network: only with feasibility = \"mlp\""),
        "{message}"
    );
    let message = error(
        &with_surrogate(
            "kind = \"gp\"\nfeasibility = \"mlp\"\n[surrogate.feasibility_network]\ncolour = 1\n",
        ),
        &[],
    );
    assert!(message.contains("colour"), "{message}");
}

#[test]
fn a_gp_can_take_its_feasibility_from_a_joint_mlp() {
    let config = load(
        &with_surrogate("kind = \"gp\"\nfeasibility = \"mlp\"\n"),
        &[],
    )
    .unwrap();
    let SurrogateConfig::GpWithFeasibility { feasibility, .. } = &config.surrogate else {
        panic!("{:?}", config.surrogate);
    };
    assert_eq!(feasibility.architecture.name(), "mlp");
    let rendered = config.to_toml();
    assert!(rendered.contains("feasibility = \"mlp\""), "{rendered}");
    assert_eq!(load(&rendered, &[]).unwrap().surrogate, config.surrogate);
    let plain = load(&with_surrogate("kind = \"gp\"\n"), &[]).unwrap();
    assert!(matches!(plain.surrogate, SurrogateConfig::Gp(_)));
    assert!(plain.to_toml().contains("feasibility = \"none\""));
    let Err(error) = load(
        &with_surrogate("kind = \"gp\"\nfeasibility = \"svm\"\n"),
        &[],
    ) else {
        panic!("an unknown feasibility model was accepted");
    };
    assert!(error.to_string().contains("svm"), "{error}");
}
