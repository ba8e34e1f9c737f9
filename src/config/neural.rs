//! `[surrogate]` of the neural kinds (`mlp`, `resnet`, `ensemble`): from the file's
//! [`NeuralSection`] to a [`JointConfig`] / [`EnsembleConfig`] with defaults filled in, and
//! back. One key set serves the three kinds; a key that does not apply to the chosen kind
//! (say `hidden` with `mlp`) is an error naming it.

use super::duration::{duration_from_value, format_duration};
use super::file::{DurationValue, MemberKind, NeuralSection, SurrogateSection};
use super::resolve::SurrogateConfig;
use crate::surrogate::torch::ensemble::EnsembleConfig;
use crate::surrogate::torch::joint::{JointConfig, JointMode};
use crate::surrogate::torch::networks::Architecture;
use std::time::Duration;

/// Members of an ensemble by default.
pub const DEFAULT_MEMBERS: usize = 5;

/// The keys that only some kinds accept, with whether they are set.
fn kind_specific_keys(section: &NeuralSection) -> [(&'static str, bool); 8] {
    [
        ("depth", section.depth.is_some()),
        ("activation", section.activation.is_some()),
        ("hidden", section.hidden.is_some()),
        ("blocks", section.blocks.is_some()),
        ("dropout", section.dropout.is_some()),
        ("member", section.member.is_some()),
        ("members", section.members.is_some()),
        ("bootstrap", section.bootstrap.is_some()),
    ]
}

fn allowed(kind: &str, body: &str, key: &str) -> bool {
    let body_keys: &[&str] = match body {
        "mlp" => &["depth", "activation"],
        _ => &["hidden", "blocks", "dropout"],
    };
    body_keys.contains(&key)
        || (kind == "ensemble" && ["member", "members", "bootstrap"].contains(&key))
}

fn architecture(body: &str, section: &NeuralSection, errors: &mut Vec<String>) -> Architecture {
    let mut positive = |key: &str, value: usize| {
        if value == 0 {
            errors.push(format!("surrogate.{key}: must be at least 1"));
        }
        value
    };
    match (
        body,
        Architecture::default_mlp(),
        Architecture::default_resnet(),
    ) {
        (
            "mlp",
            Architecture::Mlp {
                width,
                depth,
                activation,
            },
            _,
        ) => Architecture::Mlp {
            width: positive("width", section.width.unwrap_or(width)),
            depth: positive("depth", section.depth.unwrap_or(depth)),
            activation: section.activation.unwrap_or(activation),
        },
        (
            _,
            _,
            Architecture::Resnet {
                width,
                hidden,
                blocks,
                dropout,
            },
        ) => {
            let dropout = section.dropout.unwrap_or(dropout);
            let architecture = Architecture::Resnet {
                width: positive("width", section.width.unwrap_or(width)),
                hidden: positive("hidden", section.hidden.unwrap_or(hidden)),
                blocks: positive("blocks", section.blocks.unwrap_or(blocks)),
                dropout,
            };
            if !(0.0..1.0).contains(&dropout) {
                errors.push(format!("surrogate.dropout = {dropout}: must be in [0, 1)"));
            }
            architecture
        }
        _ => Architecture::default_mlp(),
    }
}

/// Resolves a neural `[surrogate]` section of `kind` (`mlp`, `resnet` or `ensemble`).
pub fn resolve_neural(
    kind: &str,
    section: &NeuralSection,
    errors: &mut Vec<String>,
) -> Option<SurrogateConfig> {
    let body = match (kind, section.member) {
        ("ensemble", Some(MemberKind::Resnet)) | ("resnet", _) => "resnet",
        _ => "mlp",
    };
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
    let mut config = JointConfig::new(architecture(body, section, errors));
    if let Some(device) = section.device {
        config.device = device;
    }
    if let Some(mode) = &section.mode {
        match JointMode::parse(mode) {
            Ok(mode) => config.mode = mode,
            Err(reason) => errors.push(format!("surrogate.mode = {mode:?}: {reason}")),
        }
    }
    if let Some(normalization) = section.normalization {
        config.normalization = normalization;
    }
    if let Some(target) = section.constraint_target {
        config.constraint_target = target;
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

/// The file form of a joint configuration with every default written out.
fn section_of(config: &JointConfig) -> NeuralSection {
    let t = &config.training;
    let mut section = NeuralSection {
        device: Some(config.device),
        mode: Some(config.mode.as_str().to_string()),
        normalization: Some(config.normalization),
        constraint_target: Some(config.constraint_target),
        learning_rate: Some(t.learning_rate),
        batch_size: Some(t.batch_size),
        epochs: t.epochs,
        max_epochs: Some(t.max_epochs),
        cv_folds: Some(t.cv_folds),
        patience: Some(t.patience),
        cv_time_budget: Some(DurationValue::Text(format_duration(t.cv_time_budget))),
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
    }
    section
}

/// The file section of a neural surrogate configuration (`None` for other kinds).
pub fn neural_section(config: &SurrogateConfig) -> Option<SurrogateSection> {
    match config {
        SurrogateConfig::Neural(joint) => Some(match joint.architecture {
            Architecture::Mlp { .. } => SurrogateSection::Mlp(section_of(joint)),
            Architecture::Resnet { .. } => SurrogateSection::Resnet(section_of(joint)),
        }),
        SurrogateConfig::Ensemble(ensemble) => {
            let mut section = section_of(&ensemble.member);
            section.member = Some(match ensemble.member.architecture {
                Architecture::Mlp { .. } => MemberKind::Mlp,
                Architecture::Resnet { .. } => MemberKind::Resnet,
            });
            section.members = Some(ensemble.members);
            section.bootstrap = Some(ensemble.bootstrap);
            Some(SurrogateSection::Ensemble(section))
        }
        _ => None,
    }
}
