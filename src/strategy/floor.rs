//! The floor on the predicted probability of feasibility below which the selection does not
//! choose a candidate for its expected gain (`optimizer.min_feasibility`,
//! `late_min_feasibility`, `late_share`): early in a run unlikely points with a large gain find
//! disconnected feasible regions; late in it the same long shots mostly land just outside a
//! boundary the model already knows.

/// A floor that may rise once a share of the planned evaluations is done.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeasibilityFloor {
    /// Before `late_share` of the planned evaluations.
    pub early: f64,
    /// From `late_share` of the planned evaluations on.
    pub late: f64,
    /// Share of the planned evaluations after which `late` applies, in (0, 1].
    pub late_share: f64,
}

impl FeasibilityFloor {
    /// The floor when `completed` of `planned` evaluations are done.
    pub fn after(&self, completed: usize, planned: usize) -> f64 {
        if completed as f64 >= self.late_share * planned as f64 {
            self.late
        } else {
            self.early
        }
    }
}

impl Default for FeasibilityFloor {
    /// 0.05 throughout: only candidates the model all but rules out are left aside.
    fn default() -> Self {
        Self {
            early: 0.05,
            late: 0.05,
            late_share: 0.6,
        }
    }
}
