//! Builtin benchmark problems: the [`Problem`] trait, the [`Builtin`] catalogue and its
//! dispatch, and the errors a problem definition can raise.
//!
//! Families (formulas and references are in each file):
//! - ZDT1–4, ZDT6 (Zitzler, Deb & Thiele 2000) in `zdt.rs`;
//! - DTLZ1–7 (Deb, Thiele, Laumanns & Zitzler 2005) in `dtlz.rs`;
//! - CONSTR, SRN, TNK, OSY (Deb 2001, *Multi-Objective Optimization using Evolutionary
//!   Algorithms*) in `constrained.rs`;
//! - C2-DTLZ2 (Jain & Deb 2014) in `cdtlz.rs`;
//! - `delay` in `delay.rs`: a benchmark tool for the evaluation machinery (ZDT1 behind a
//!   configurable sleep), not a test problem.
//! - the motoneuron benchmark (a two-compartment Booth, Rinzel & Kiehn 1997 motoneuron fitted
//!   to Bhatt et al. 2004) in `motoneuron/`, in the paper's bounds and in widened bounds.
//!
//! Conventions are dmosopt's: objectives are minimized, a constraint value `c > 0` means
//! satisfied (literature constraints `g(x) ≤ 0` are converted by `c = −g`), parameters are
//! named `x1 … xn`, objectives `f1 … fq`, constraints `c1 … ck` — except the motoneuron
//! problems, whose parameters, objectives and constraints carry the benchmark's names.

mod cdtlz;
mod constrained;
mod delay;
mod dtlz;
pub mod motoneuron;
mod sampling;
mod zdt;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::problem::{Evaluation, ProblemSchema};
use crate::space::{ParameterSpace, SpaceError};

pub use cdtlz::C2Dtlz2;
pub use constrained::{Constr, Osy, Srn, Tnk};
pub use delay::{Delay, DelayTiming};
pub use dtlz::{Dtlz, DtlzKind};
pub use motoneuron::{Motoneuron, MotoneuronVariant};
pub use zdt::{Zdt, ZdtKind};

/// A problem that can be evaluated in-process.
pub trait Problem: Send + Sync {
    /// The parameter space; parameters are named `x1 … xn`.
    fn space(&self) -> &ParameterSpace;
    /// Output names: objectives `f1 … fq`, constraints `c1 … ck`.
    fn schema(&self) -> &ProblemSchema;
    /// Evaluate one point given in real units, in space order. A point of the wrong length
    /// yields NaN objectives and constraints (never a panic).
    fn evaluate(&self, x: &[f64]) -> Evaluation;
    /// `n` points on the true Pareto front (objective vectors), for IGD and tests; None if
    /// unknown.
    fn pareto_front(&self, n: usize) -> Option<Vec<Vec<f64>>> {
        let _ = n;
        None
    }
    /// Evaluate and also return the problem's features (extra named outputs such as spike
    /// rates) as a JSON object; problems without features return `None`.
    fn evaluate_with_features(&self, x: &[f64]) -> (Evaluation, Option<serde_json::Value>) {
        (self.evaluate(x), None)
    }
}

/// Why a builtin problem could not be built.
#[derive(Debug, Error)]
pub enum ProblemError {
    #[error("problem `{problem}` has a fixed dimension of {fixed}; dim = {dim} is not allowed")]
    FixedDimension {
        problem: &'static str,
        fixed: usize,
        dim: usize,
    },
    #[error("problem `{problem}` needs dim >= {minimum}, got dim = {dim}")]
    DimensionTooSmall {
        problem: &'static str,
        dim: usize,
        minimum: usize,
    },
    #[error(
        "problem `{problem}` has a fixed number of objectives ({fixed}); \
         n_objectives = {n_objectives} is not allowed"
    )]
    FixedObjectives {
        problem: &'static str,
        fixed: usize,
        n_objectives: usize,
    },
    #[error(
        "problem `{problem}` needs n_objectives >= {minimum}, got n_objectives = {n_objectives}"
    )]
    TooFewObjectives {
        problem: &'static str,
        n_objectives: usize,
        minimum: usize,
    },
    #[error("problem `{problem}`: constraint radius {radius} must be finite and positive")]
    InvalidRadius { problem: &'static str, radius: f64 },
    #[error(
        "problem `delay`: problem.constants.{constant} = {value} must be a finite number of \
         milliseconds >= 0"
    )]
    InvalidDelay { constant: String, value: f64 },
    #[error("unknown builtin problem `{name}` (known: {known})")]
    UnknownProblem { name: String, known: String },
    #[error("problem `{problem}`: {source}")]
    Space {
        problem: &'static str,
        #[source]
        source: SpaceError,
    },
}

/// The builtin benchmark problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Builtin {
    Zdt1,
    Zdt2,
    Zdt3,
    Zdt4,
    Zdt6,
    Dtlz1,
    Dtlz2,
    Dtlz3,
    Dtlz4,
    Dtlz5,
    Dtlz6,
    Dtlz7,
    Constr,
    Srn,
    Tnk,
    Osy,
    C2Dtlz2,
    /// Benchmark tool: ZDT1 behind a sleep (see `delay.rs`).
    Delay,
    Motoneuron,
    MotoneuronWide,
}

/// How a builtin is built: its family and, within the family, its variant.
enum Family {
    Zdt(ZdtKind),
    Dtlz(DtlzKind),
    Constr,
    Srn,
    Tnk,
    Osy,
    C2Dtlz2,
    Delay,
    Motoneuron(MotoneuronVariant),
}

impl Builtin {
    pub const ALL: [Builtin; 20] = [
        Builtin::Zdt1,
        Builtin::Zdt2,
        Builtin::Zdt3,
        Builtin::Zdt4,
        Builtin::Zdt6,
        Builtin::Dtlz1,
        Builtin::Dtlz2,
        Builtin::Dtlz3,
        Builtin::Dtlz4,
        Builtin::Dtlz5,
        Builtin::Dtlz6,
        Builtin::Dtlz7,
        Builtin::Constr,
        Builtin::Srn,
        Builtin::Tnk,
        Builtin::Osy,
        Builtin::C2Dtlz2,
        Builtin::Delay,
        Builtin::Motoneuron,
        Builtin::MotoneuronWide,
    ];

    /// The canonical (serde) name: `"zdt1"`, …, `"c2-dtlz2"`, `"motoneuron"`,
    /// `"motoneuron-wide"`.
    pub fn name(self) -> &'static str {
        match self.family() {
            Family::Zdt(kind) => kind.name(),
            Family::Dtlz(kind) => kind.name(),
            Family::Constr => constrained::CONSTR_NAME,
            Family::Srn => constrained::SRN_NAME,
            Family::Tnk => constrained::TNK_NAME,
            Family::Osy => constrained::OSY_NAME,
            Family::C2Dtlz2 => cdtlz::C2_DTLZ2_NAME,
            Family::Delay => delay::DELAY_NAME,
            Family::Motoneuron(variant) => variant.name(),
        }
    }

    /// The builtin's feature names and lengths (1: a number; n: an array of n numbers), in
    /// the order its evaluations report them; empty for builtins without features.
    pub fn features(self) -> Vec<(String, usize)> {
        match self.family() {
            Family::Motoneuron(_) => motoneuron::feature_shape(),
            _ => Vec::new(),
        }
    }

    /// Look a builtin up by name, ignoring case, `-` and `_` (so `"c2dtlz2"` and `"C2_DTLZ2"`
    /// both find C2-DTLZ2).
    pub fn from_name(name: &str) -> Option<Builtin> {
        let wanted = squash(name);
        Builtin::ALL
            .into_iter()
            .find(|builtin| squash(builtin.name()) == wanted)
    }

    /// The usual number of parameters for `n_objectives` objectives (ignored by problems with
    /// a fixed number of objectives).
    pub fn default_dim(self, n_objectives: usize) -> usize {
        match self.family() {
            Family::Zdt(kind) => kind.default_dim(),
            Family::Dtlz(kind) => n_objectives + kind.default_distance_variables() - 1,
            Family::Constr | Family::Srn | Family::Tnk => 2,
            Family::Osy => 6,
            Family::C2Dtlz2 => n_objectives + 9,
            Family::Delay => Delay::DEFAULT_DIM,
            Family::Motoneuron(_) => motoneuron::PARAMETER_COUNT,
        }
    }

    /// 2 for the ZDT and constrained problems, 3 for DTLZ and C2-DTLZ2, 4 for the
    /// motoneuron.
    pub fn default_objectives(self) -> usize {
        match self.family() {
            Family::Dtlz(_) | Family::C2Dtlz2 => 3,
            Family::Motoneuron(_) => motoneuron::OBJECTIVE_NAMES.len(),
            _ => 2,
        }
    }

    /// May the number of parameters be chosen?
    pub fn scalable_dim(self) -> bool {
        matches!(
            self.family(),
            Family::Zdt(_) | Family::Dtlz(_) | Family::C2Dtlz2 | Family::Delay
        )
    }

    /// May the number of objectives be chosen?
    pub fn scalable_objectives(self) -> bool {
        matches!(self.family(), Family::Dtlz(_) | Family::C2Dtlz2)
    }

    /// Build the problem. `None` picks the defaults; a fixed size may be given only with its
    /// fixed value.
    pub fn build(
        self,
        dim: Option<usize>,
        n_objectives: Option<usize>,
    ) -> Result<Arc<dyn Problem>, ProblemError> {
        self.build_with_constants(dim, n_objectives, &[])
    }

    /// Like [`Builtin::build`], with `[problem.constants]`: only `delay` reads them (its
    /// `delay_ms` and `delay_jitter_ms`); the benchmark problems ignore them.
    pub fn build_with_constants(
        self,
        dim: Option<usize>,
        n_objectives: Option<usize>,
        constants: &[(String, f64)],
    ) -> Result<Arc<dyn Problem>, ProblemError> {
        let problem = self.name();
        let n_objectives = match n_objectives {
            Some(value) if !self.scalable_objectives() && value != self.default_objectives() => {
                return Err(ProblemError::FixedObjectives {
                    problem,
                    fixed: self.default_objectives(),
                    n_objectives: value,
                });
            }
            Some(value) => value,
            None => self.default_objectives(),
        };
        let fixed = self.default_dim(n_objectives);
        let dim = match dim {
            Some(value) if !self.scalable_dim() && value != fixed => {
                return Err(ProblemError::FixedDimension {
                    problem,
                    fixed,
                    dim: value,
                });
            }
            Some(value) => value,
            None => fixed,
        };
        Ok(match self.family() {
            Family::Zdt(kind) => Arc::new(Zdt::new(kind, dim)?),
            Family::Dtlz(kind) => Arc::new(Dtlz::new(kind, dim, n_objectives)?),
            Family::Constr => Arc::new(Constr::new()?),
            Family::Srn => Arc::new(Srn::new()?),
            Family::Tnk => Arc::new(Tnk::new()?),
            Family::Osy => Arc::new(Osy::new()?),
            Family::C2Dtlz2 => Arc::new(C2Dtlz2::new(dim, n_objectives)?),
            Family::Delay => Arc::new(Delay::new(dim, DelayTiming::from_constants(constants)?)?),
            Family::Motoneuron(variant) => Arc::new(Motoneuron::new(variant)?),
        })
    }

    fn family(self) -> Family {
        match self {
            Builtin::Zdt1 => Family::Zdt(ZdtKind::Zdt1),
            Builtin::Zdt2 => Family::Zdt(ZdtKind::Zdt2),
            Builtin::Zdt3 => Family::Zdt(ZdtKind::Zdt3),
            Builtin::Zdt4 => Family::Zdt(ZdtKind::Zdt4),
            Builtin::Zdt6 => Family::Zdt(ZdtKind::Zdt6),
            Builtin::Dtlz1 => Family::Dtlz(DtlzKind::Dtlz1),
            Builtin::Dtlz2 => Family::Dtlz(DtlzKind::Dtlz2),
            Builtin::Dtlz3 => Family::Dtlz(DtlzKind::Dtlz3),
            Builtin::Dtlz4 => Family::Dtlz(DtlzKind::Dtlz4),
            Builtin::Dtlz5 => Family::Dtlz(DtlzKind::Dtlz5),
            Builtin::Dtlz6 => Family::Dtlz(DtlzKind::Dtlz6),
            Builtin::Dtlz7 => Family::Dtlz(DtlzKind::Dtlz7),
            Builtin::Constr => Family::Constr,
            Builtin::Srn => Family::Srn,
            Builtin::Tnk => Family::Tnk,
            Builtin::Osy => Family::Osy,
            Builtin::C2Dtlz2 => Family::C2Dtlz2,
            Builtin::Delay => Family::Delay,
            Builtin::Motoneuron => Family::Motoneuron(MotoneuronVariant::Normal),
            Builtin::MotoneuronWide => Family::Motoneuron(MotoneuronVariant::Wide),
        }
    }
}

impl std::fmt::Display for Builtin {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.name())
    }
}

impl std::str::FromStr for Builtin {
    type Err = ProblemError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Builtin::from_name(name).ok_or_else(|| ProblemError::UnknownProblem {
            name: name.to_string(),
            known: Builtin::ALL.map(Builtin::name).join(", "),
        })
    }
}

/// Lower-case a name and drop `-` and `_`.
fn squash(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '-' && *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The schema `f1 … f<objectives>`, `c1 … c<constraints>`.
pub(crate) fn numbered_schema(objectives: usize, constraints: usize) -> ProblemSchema {
    ProblemSchema {
        objectives: (1..=objectives).map(|i| format!("f{i}")).collect(),
        constraints: (1..=constraints).map(|i| format!("c{i}")).collect(),
    }
}

/// The answer to a point of the wrong length: every output NaN.
pub(crate) fn invalid_evaluation(schema: &ProblemSchema) -> Evaluation {
    Evaluation {
        objectives: vec![f64::NAN; schema.n_objectives()],
        constraints: vec![f64::NAN; schema.n_constraints()],
    }
}

/// Attach the problem name to a space error.
pub(crate) fn space_error(problem: &'static str) -> impl Fn(SpaceError) -> ProblemError {
    move |source| ProblemError::Space { problem, source }
}

#[cfg(test)]
mod tests;
