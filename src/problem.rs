//! What a problem is to the optimizer: objective and constraint names, and the records that
//! evaluations produce.
//!
//! Conventions (dmosopt's): every objective is minimized; a constraint value `c > 0` means the
//! constraint is satisfied, and a point is feasible iff all its constraints are satisfied. A
//! failed evaluation is data (a record with a [`Status`]), never an error.

use serde::{Deserialize, Serialize};

/// Identifier of one evaluation request, unique within a run.
pub type EvalId = u64;

/// Names of a problem's outputs, in configured order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProblemSchema {
    pub objectives: Vec<String>,
    pub constraints: Vec<String>,
}

impl ProblemSchema {
    pub fn n_objectives(&self) -> usize {
        self.objectives.len()
    }
    pub fn n_constraints(&self) -> usize {
        self.constraints.len()
    }
}

/// The values a successful evaluation returns, in schema order.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub objectives: Vec<f64>,
    pub constraints: Vec<f64>,
}

/// How an evaluation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The simulation returned values (objectives may still be NaN).
    Ok,
    /// The simulation reported an error, exited non-zero or crashed.
    Failed,
    /// The simulation ran past its time limit and was killed.
    Timeout,
    /// The simulation answered something that is not a valid response.
    Invalid,
}

impl Status {
    pub const ALL: [Status; 4] = [Status::Ok, Status::Failed, Status::Timeout, Status::Invalid];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::Timeout => "timeout",
            Status::Invalid => "invalid",
        }
    }

    /// Stable numeric code used in files.
    pub fn code(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Failed => 1,
            Status::Timeout => 2,
            Status::Invalid => 3,
        }
    }

    pub fn from_code(code: u8) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.code() == code)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// True iff every constraint value is strictly positive (and there are no NaNs).
pub fn is_feasible(constraints: &[f64]) -> bool {
    constraints.iter().all(|&c| c > 0.0)
}

/// Total constraint violation: the sum of how far each constraint is from being satisfied
/// (`max(0, −c)`; a NaN or a value of exactly 0 counts as violated by a tiny margin so that
/// "feasible" and "violation == 0" agree).
pub fn total_violation(constraints: &[f64]) -> f64 {
    constraints
        .iter()
        .map(|&c| {
            if c > 0.0 {
                0.0
            } else if c.is_nan() {
                f64::MAX.sqrt()
            } else {
                (-c).max(f64::MIN_POSITIVE)
            }
        })
        .sum()
}

/// One completed evaluation as it is stored and used for training.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalRecord {
    pub eval_id: EvalId,
    /// 0 for the initial design, e for points proposed by epoch e = 1, 2, … (dmosopt numbers
    /// its epochs from 0 and stores e + 1: the same rows get the same numbers).
    pub epoch: u32,
    /// Parameter values in space order (real units, integers rounded).
    pub parameters: Vec<f64>,
    /// Objective values in schema order; NaN where the simulation gave none.
    pub objectives: Vec<f64>,
    /// Constraint values in schema order; NaN where the simulation gave none.
    pub constraints: Vec<f64>,
    /// The surrogate's predicted objectives for this point, if a surrogate proposed it.
    pub predictions: Option<Vec<f64>>,
    pub status: Status,
    /// Why the evaluation failed (empty when it did not).
    pub error: String,
    /// Extra outputs of a subprocess simulation (`features` of its response) as compact JSON
    /// text; `None` when there were none. Not yet written to the HDF5 file.
    pub features: Option<String>,
    /// Which worker evaluated it (0-based).
    pub worker: u32,
    /// Seconds since the Unix epoch when the evaluation started.
    pub start_time: f64,
    /// Wall-clock seconds the evaluation took.
    pub duration: f64,
}

impl EvalRecord {
    /// Usable for training objectives: status ok and every objective finite.
    pub fn has_finite_objectives(&self) -> bool {
        self.status == Status::Ok && self.objectives.iter().all(|v| v.is_finite())
    }

    /// Feasible: status ok, finite objectives, every constraint satisfied.
    pub fn is_feasible(&self) -> bool {
        self.has_finite_objectives() && is_feasible(&self.constraints)
    }
}

/// A request to evaluate one point.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalRequest {
    pub eval_id: EvalId,
    pub epoch: u32,
    /// Parameter values in space order (real units).
    pub parameters: Vec<f64>,
    /// The MPI ranks that evaluate this point together (MPI runs only; `None` locally).
    pub group: Option<GroupInfo>,
}

/// The group of MPI ranks that evaluates one candidate (`ranks_per_worker` consecutive worker
/// ranks). The first rank receives the request and runs the evaluation; the others hold their
/// slots (cores) for it. An evaluator that starts a process passes [`GroupInfo::environment`]
/// on to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupInfo {
    /// World ranks of the group, the evaluating (first) rank first.
    pub ranks: Vec<u32>,
}

impl GroupInfo {
    /// Environment variable with the number of ranks in the group.
    pub const SIZE_VARIABLE: &'static str = "DMOSOPT_GROUP_SIZE";
    /// Environment variable with the group's world ranks, comma-separated.
    pub const RANKS_VARIABLE: &'static str = "DMOSOPT_GROUP_RANKS";

    pub fn size(&self) -> usize {
        self.ranks.len()
    }

    /// `DMOSOPT_GROUP_SIZE=3`, `DMOSOPT_GROUP_RANKS=4,5,6`.
    pub fn environment(&self) -> [(&'static str, String); 2] {
        let ranks: Vec<String> = self.ranks.iter().map(u32::to_string).collect();
        [
            (Self::SIZE_VARIABLE, self.size().to_string()),
            (Self::RANKS_VARIABLE, ranks.join(",")),
        ]
    }
}

/// What an evaluator reports back for one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub eval_id: EvalId,
    /// Objective values (NaN-filled when the evaluation produced none).
    pub objectives: Vec<f64>,
    /// Constraint values (NaN-filled when the evaluation produced none).
    pub constraints: Vec<f64>,
    pub status: Status,
    pub error: String,
    /// The response's `features` as compact JSON text, if any.
    pub features: Option<String>,
    pub worker: u32,
    pub start_time: f64,
    pub duration: f64,
}

impl Outcome {
    /// A successful outcome of `evaluation`, without features or timing (worker 0).
    pub fn success(eval_id: EvalId, evaluation: Evaluation) -> Self {
        Self {
            eval_id,
            objectives: evaluation.objectives,
            constraints: evaluation.constraints,
            status: Status::Ok,
            error: String::new(),
            features: None,
            worker: 0,
            start_time: 0.0,
            duration: 0.0,
        }
    }

    /// A failed outcome with NaN values for a schema of the given shape.
    pub fn failure(
        eval_id: EvalId,
        schema: &ProblemSchema,
        status: Status,
        error: impl Into<String>,
    ) -> Self {
        Self {
            eval_id,
            objectives: vec![f64::NAN; schema.n_objectives()],
            constraints: vec![f64::NAN; schema.n_constraints()],
            status,
            error: error.into(),
            features: None,
            worker: 0,
            start_time: 0.0,
            duration: 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feasibility_and_violation_agree() {
        let cases: [(&[f64], bool); 5] = [
            (&[], true),
            (&[1.0, 0.5], true),
            (&[1.0, 0.0], false),
            (&[1.0, -2.0], false),
            (&[f64::NAN], false),
        ];
        for (c, feasible) in cases {
            assert_eq!(is_feasible(c), feasible, "{c:?}");
            assert_eq!(total_violation(c) == 0.0, feasible, "{c:?}");
        }
        assert_eq!(total_violation(&[-1.0, -2.5, 3.0]), 3.5);
    }

    #[test]
    fn group_environment_names_size_and_ranks() {
        let group = GroupInfo {
            ranks: vec![4, 5, 6],
        };
        assert_eq!(
            group.environment(),
            [
                ("DMOSOPT_GROUP_SIZE", "3".to_string()),
                ("DMOSOPT_GROUP_RANKS", "4,5,6".to_string())
            ]
        );
    }

    #[test]
    fn status_codes_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::from_code(s.code()), Some(s));
        }
        assert_eq!(Status::from_code(200), None);
    }
}
