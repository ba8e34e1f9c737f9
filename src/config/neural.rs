//! `[surrogate]` of the neural kinds (`mlp`, `resnet`, `ft-transformer`, `ensemble`): from the
//! file's [`NeuralSection`] to a [`JointConfig`] / [`EnsembleConfig`] with defaults filled in,
//! and back. One key set serves the four kinds; a key that does not apply to the chosen kind
//! (say `hidden` with `mlp`) is an error naming it. The FT-Transformer's default number of
//! blocks depends on the number of modeled targets (3, or 2 with more than 100), so it is
//! resolved here from the problem's schema and `dmosopt check` prints the number.

use super::duration::{duration_from_value, format_duration};
use super::file::{DurationValue, MemberKind, NeuralSection, SurrogateSection};
use super::resolve::SurrogateConfig;
use crate::surrogate::torch::constraint_targets::ConstraintProbability;
use crate::surrogate::torch::ensemble::EnsembleConfig;
use crate::surrogate::torch::ft_transformer::FtSettings;
use crate::surrogate::torch::joint::{JointConfig, JointMode};
use crate::surrogate::torch::networks::Architecture;
use crate::surrogate::torch::training::FinalModel;
use crate::surrogate::DeviceChoice;
use std::time::Duration;

/// Members of an ensemble by default.
pub const DEFAULT_MEMBERS: usize = 5;

/// The keys that only some kinds accept, with whether they are set.
fn kind_specific_keys(section: &NeuralSection) -> [(&'static str, bool); 14] {
    [
        ("depth", section.depth.is_some()),
        ("activation", section.activation.is_some()),
        ("hidden", section.hidden.is_some()),
        ("blocks", section.blocks.is_some()),
        ("dropout", section.dropout.is_some()),
        ("heads", section.heads.is_some()),
        ("ffn_hidden", section.ffn_hidden.is_some()),
        ("attention_dropout", section.attention_dropout.is_some()),
        ("ffn_dropout", section.ffn_dropout.is_some()),
        ("residual_dropout", section.residual_dropout.is_some()),
        ("precision", section.precision.is_some()),
        ("member", section.member.is_some()),
        ("members", section.members.is_some()),
        ("bootstrap", section.bootstrap.is_some()),
    ]
}

fn allowed(kind: &str, body: &str, key: &str) -> bool {
    let body_keys: &[&str] = match body {
        "mlp" => &["depth", "activation"],
        "resnet" => &["hidden", "blocks", "dropout"],
        _ => &[
            "blocks",
            "heads",
            "ffn_hidden",
            "attention_dropout",
            "ffn_dropout",
            "residual_dropout",
            "precision",
        ],
    };
    body_keys.contains(&key)
        || (kind == "ensemble" && ["member", "members", "bootstrap"].contains(&key))
}

/// The body's architecture; `targets` (objectives plus modeled constraints) sets the
/// FT-Transformer's default number of blocks.
fn architecture(
    body: &str,
    section: &NeuralSection,
    targets: usize,
    errors: &mut Vec<String>,
) -> Architecture {
    let mut positive = |key: &str, value: usize| {
        if value == 0 {
            errors.push(format!("surrogate.{key}: must be at least 1"));
        }
        value
    };
    let architecture = match body {
        "mlp" => {
            let Architecture::Mlp {
                width,
                depth,
                activation,
            } = Architecture::default_mlp()
            else {
                unreachable!("the default mlp is an mlp")
            };
            Architecture::Mlp {
                width: positive("width", section.width.unwrap_or(width)),
                depth: positive("depth", section.depth.unwrap_or(depth)),
                activation: section.activation.unwrap_or(activation),
            }
        }
        "resnet" => {
            let Architecture::Resnet {
                width,
                hidden,
                blocks,
                dropout,
            } = Architecture::default_resnet()
            else {
                unreachable!("the default resnet is a resnet")
            };
            Architecture::Resnet {
                width: positive("width", section.width.unwrap_or(width)),
                hidden: positive("hidden", section.hidden.unwrap_or(hidden)),
                blocks: positive("blocks", section.blocks.unwrap_or(blocks)),
                dropout: section.dropout.unwrap_or(dropout),
            }
        }
        _ => {
            let paper = FtSettings::for_targets(targets);
            Architecture::FtTransformer(FtSettings {
                width: positive("width", section.width.unwrap_or(paper.width)),
                heads: positive("heads", section.heads.unwrap_or(paper.heads)),
                blocks: positive("blocks", section.blocks.unwrap_or(paper.blocks)),
                ffn_hidden: positive("ffn_hidden", section.ffn_hidden.unwrap_or(paper.ffn_hidden)),
                attention_dropout: section.attention_dropout.unwrap_or(paper.attention_dropout),
                ffn_dropout: section.ffn_dropout.unwrap_or(paper.ffn_dropout),
                residual_dropout: section.residual_dropout.unwrap_or(paper.residual_dropout),
                precision: section.precision.unwrap_or(paper.precision),
            })
        }
    };
    let mut probability = |key: &str, value: f64| {
        if !(0.0..1.0).contains(&value) {
            errors.push(format!("surrogate.{key} = {value}: must be in [0, 1)"));
        }
    };
    match &architecture {
        Architecture::Mlp { .. } => {}
        Architecture::Resnet { dropout, .. } => probability("dropout", *dropout),
        Architecture::FtTransformer(ft) => {
            probability("attention_dropout", ft.attention_dropout);
            probability("ffn_dropout", ft.ffn_dropout);
            probability("residual_dropout", ft.residual_dropout);
            if ft.heads > 0 && ft.width % ft.heads != 0 {
                errors.push(format!(
                    "surrogate.width = {} is not divisible by surrogate.heads = {}",
                    ft.width, ft.heads
                ));
            }
        }
    }
    architecture
}

/// The body of a kind (`mlp`, `resnet`, `ft-transformer`; an ensemble's `member`).
fn body_of(kind: &str, member: Option<MemberKind>) -> &'static str {
    match (kind, member) {
        ("resnet", _) | ("ensemble", Some(MemberKind::Resnet)) => "resnet",
        ("ft-transformer", _) | ("ensemble", Some(MemberKind::FtTransformer)) => "ft-transformer",
        _ => "mlp",
    }
}

/// Resolves a neural `[surrogate]` section of `kind` (`mlp`, `resnet`, `ft-transformer` or
/// `ensemble`) for a problem with `objectives` objectives and `constraints` constraints.
pub fn resolve_neural(
    kind: &str,
    section: &NeuralSection,
    (objectives, constraints): (usize, usize),
    errors: &mut Vec<String>,
) -> Option<SurrogateConfig> {
    let body = body_of(kind, section.member);
    for (key, set) in kind_specific_keys(section) {
        if set && !allowed(kind, body, key) {
            let what = if kind == "ensemble" {
                format!("ensembles of {body} members")
            } else {
                format!("kind \"{kind}\"")
            };
            errors.push(format!("surrogate.{key}: not a key of {what}"));
        }
    }
    let mut mode = JointMode::default();
    if let Some(text) = &section.mode {
        match JointMode::parse(text) {
            Ok(parsed) => mode = parsed,
            Err(reason) => errors.push(format!("surrogate.mode = {text:?}: {reason}")),
        }
    }
    let targets = match mode {
        JointMode::ConstraintsAndObjectives => objectives + constraints,
        JointMode::Objectives => objectives,
    };
    let mut config = JointConfig::new(architecture(body, section, targets, errors));
    config.mode = mode;
    if let Some(device) = section.device {
        config.device = device;
    }
    if let Some(normalization) = section.normalization {
        config.normalization = normalization;
    }
    if let Some(target) = section.constraint_target {
        config.constraint_target = target;
    }
    if let Some(scale) = section.constraint_scale {
        config.constraint_scale = scale;
    }
    if let Some(probability) = section.constraint_probability {
        config.constraint_probability = probability;
    }
    let training = &mut config.training;
    if let Some(rate) = section.learning_rate {
        training.learning_rate = rate;
    }
    training.batch_size = section.batch_size.unwrap_or(training.batch_size);
    training.epochs = section.epochs.or(training.epochs);
    training.max_epochs = section.max_epochs.unwrap_or(training.max_epochs);
    training.cv_folds = section.cv_folds.unwrap_or(training.cv_folds);
    training.patience = section.patience.unwrap_or(training.patience);
    training.polish_iterations = section.polish.unwrap_or(training.polish_iterations);
    training.held_out_near_boundary =
        config.constraint_probability == ConstraintProbability::HeldOutBoundary;
    if kind == "ensemble" {
        // An ensemble trains its members after the cross-validation; the fold networks are
        // not its members.
        if section.final_model.is_some() {
            errors.push(format!(
                "surrogate.final_model: not a key of kind \"{kind}\""
            ));
        }
        training.final_model = FinalModel::Refit;
    } else {
        training.final_model = section.final_model.unwrap_or(training.final_model);
    }
    if training.polish_iterations > 0 && training.final_model == FinalModel::Folds {
        errors.push(format!(
            "surrogate.polish = {}: polishes the refitted network, but final_model = \"folds\" \
             keeps the fold networks; set final_model = \"refit\" or remove polish",
            training.polish_iterations
        ));
    }
    if let Some(budget) = &section.cv_time_budget {
        match duration_from_value(budget) {
            Ok(budget) if budget > Duration::ZERO => training.cv_time_budget = budget,
            Ok(_) => errors.push("surrogate.cv_time_budget: must be longer than 0 s".into()),
            Err(reason) => errors.push(format!("surrogate.cv_time_budget: {reason}")),
        }
    }
    if !(training.learning_rate.is_finite() && training.learning_rate > 0.0) {
        errors.push(format!(
            "surrogate.learning_rate = {}: must be positive",
            training.learning_rate
        ));
    }
    let minimums = [
        ("batch_size", training.batch_size, 2),
        ("epochs", training.epochs.unwrap_or(1), 1),
        ("max_epochs", training.max_epochs, 1),
        ("cv_folds", training.cv_folds, 2),
        ("patience", training.patience, 1),
        ("members", section.members.unwrap_or(1), 1),
    ];
    for (key, value, minimum) in minimums {
        if value < minimum {
            errors.push(format!("surrogate.{key}: must be at least {minimum}"));
        }
    }
    Some(if kind == "ensemble" {
        SurrogateConfig::Ensemble(EnsembleConfig {
            member: config,
            members: section.members.unwrap_or(DEFAULT_MEMBERS),
            bootstrap: section.bootstrap.unwrap_or(true),
        })
    } else {
        SurrogateConfig::Neural(config)
    })
}

/// The joint `mlp` that predicts feasibility for `kind = "gp"` with `feasibility = "mlp"`,
/// from `[surrogate.feasibility_network]` (the keys of `kind = "mlp"`); its device is the
/// GP's unless the table sets one. Errors name the table's keys.
pub fn resolve_feasibility_network(
    section: &NeuralSection,
    gp_device: DeviceChoice,
    targets: (usize, usize),
    errors: &mut Vec<String>,
) -> JointConfig {
    let mut own = Vec::new();
    let resolved = resolve_neural("mlp", section, targets, &mut own);
    errors.extend(
        own.into_iter()
            .map(|message| message.replacen("surrogate.", "surrogate.feasibility_network.", 1)),
    );
    let mut config = match resolved {
        Some(SurrogateConfig::Neural(config)) => config,
        _ => JointConfig::new(Architecture::default_mlp()),
    };
    if section.device.is_none() {
        config.device = gp_device;
    }
    config
}

/// The file form of a joint configuration with every default written out (a neural kind's
/// `[surrogate]`, or `[surrogate.feasibility_network]`).
pub fn joint_section(config: &JointConfig) -> NeuralSection {
    let t = &config.training;
    let mut section = NeuralSection {
        device: Some(config.device),
        mode: Some(config.mode.as_str().to_string()),
        normalization: Some(config.normalization),
        constraint_target: Some(config.constraint_target),
        constraint_scale: Some(config.constraint_scale),
        constraint_probability: Some(config.constraint_probability),
        learning_rate: Some(t.learning_rate),
        batch_size: Some(t.batch_size),
        epochs: t.epochs,
        max_epochs: Some(t.max_epochs),
        cv_folds: Some(t.cv_folds),
        patience: Some(t.patience),
        cv_time_budget: Some(DurationValue::Text(format_duration(t.cv_time_budget))),
        final_model: Some(t.final_model),
        polish: Some(t.polish_iterations),
        ..NeuralSection::default()
    };
    match &config.architecture {
        Architecture::Mlp {
            width,
            depth,
            activation,
        } => {
            section.width = Some(*width);
            section.depth = Some(*depth);
            section.activation = Some(*activation);
        }
        Architecture::Resnet {
            width,
            hidden,
            blocks,
            dropout,
        } => {
            section.width = Some(*width);
            section.hidden = Some(*hidden);
            section.blocks = Some(*blocks);
            section.dropout = Some(*dropout);
        }
        Architecture::FtTransformer(ft) => {
            section.width = Some(ft.width);
            section.heads = Some(ft.heads);
            section.blocks = Some(ft.blocks);
            section.ffn_hidden = Some(ft.ffn_hidden);
            section.attention_dropout = Some(ft.attention_dropout);
            section.ffn_dropout = Some(ft.ffn_dropout);
            section.residual_dropout = Some(ft.residual_dropout);
            section.precision = Some(ft.precision);
        }
    }
    section
}

/// The file section of a neural surrogate configuration (`None` for other kinds).
pub fn neural_section(config: &SurrogateConfig) -> Option<SurrogateSection> {
    match config {
        SurrogateConfig::Neural(joint) => Some(match joint.architecture {
            Architecture::Mlp { .. } => SurrogateSection::Mlp(joint_section(joint)),
            Architecture::Resnet { .. } => SurrogateSection::Resnet(joint_section(joint)),
            Architecture::FtTransformer(_) => SurrogateSection::FtTransformer(joint_section(joint)),
        }),
        SurrogateConfig::Ensemble(ensemble) => {
            let mut section = joint_section(&ensemble.member);
            section.member = Some(match ensemble.member.architecture {
                Architecture::Mlp { .. } => MemberKind::Mlp,
                Architecture::Resnet { .. } => MemberKind::Resnet,
                Architecture::FtTransformer(_) => MemberKind::FtTransformer,
            });
            section.members = Some(ensemble.members);
            section.final_model = None;
            section.bootstrap = Some(ensemble.bootstrap);
            Some(SurrogateSection::Ensemble(section))
        }
        _ => None,
    }
}
