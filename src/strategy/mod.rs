//! The optimization loop as a sans-I/O ask/tell state machine.
//!
//! [`Strategy::ask`] hands out candidates (with [`EvalId`]s) to evaluate;
//! [`Strategy::tell`] takes outcomes back in any order, partial batches included, and returns
//! the completed [`EvalRecord`] for the caller to store. The strategy never touches files,
//! threads or processes: the local pool, the MPI controller and the tests are thin loops around
//! it. One epoch (DESIGN.md, "The algorithm"):
//!
//! 1. epoch 0 evaluates the initial design (`n_initial × dim` space-filling points);
//! 2. each later epoch fits the surrogate on every row with finite objectives (feasible rows
//!    only for the GP baseline when constraints exist), runs the MOEA on the surrogate for
//!    `num_generations` generations from the best evaluated points, and selects
//!    `resample_size` new, distinct points by (predicted rank, crowding) — see [`search`];
//! 3. without a surrogate ([`SearchMode::Direct`]) an epoch is `num_generations` generations
//!    of the MOEA on the true function.
//!
//! Resume: every proposed batch is handed to the caller through [`Strategy::take_proposals`]
//! to be stored before it is dispatched; [`Strategy::restore`] replays a stored run (see
//! [`restore`]).
//!
//! Surrogate quality: when an epoch's batch is complete, its report carries how well the model
//! that proposed the batch predicted it ([`quality`]), computed from the candidates'
//! predictions (stored with the proposals, so a resumed run measures the same) and the
//! records.
//!
//! Determinism: each epoch draws from its own random stream derived from the seed and the
//! epoch number, and every decision reads the evaluated rows in `eval_id` order, so the order
//! in which results arrive never changes what is proposed.

mod direct;
pub mod floor;
pub mod probes;
pub mod quality;
pub mod refine;
mod restore;
pub mod search;

pub use quality::BatchQuality;

use crate::indicators::hypervolume;
use crate::moea::Nsga2Params;
use crate::problem::{
    is_feasible, total_violation, EvalId, EvalRecord, Outcome, ProblemSchema, Status,
};
use crate::sampling::{sample_unit, SamplingMethod};
use crate::space::ParameterSpace;
use crate::surrogate::{SurrogateError, Trainer};
pub use floor::FeasibilityFloor;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, HashMap, VecDeque};
use thiserror::Error;

/// Settings of the loop (the resolved `[optimizer]` section).
#[derive(Debug, Clone, PartialEq)]
pub struct StrategyConfig {
    pub initial_design_size: usize,
    pub initial_method: SamplingMethod,
    pub n_epochs: usize,
    pub population_size: usize,
    pub num_generations: usize,
    /// New points evaluated per surrogate epoch.
    pub resample_size: usize,
    pub nsga2: Nsga2Params,
    pub max_evaluations: Option<usize>,
    /// Hypervolume reference point; `None` leaves the per-epoch hypervolume undefined (NaN).
    pub reference_point: Option<Vec<f64>>,
    /// Weight `κ` of the predicted standard deviation: the search ranks candidates by
    /// `mean − κ·σ` when the surrogate predicts a variance (`optimizer.exploration`; 0 = mean).
    pub exploration: f64,
    /// Refine the selected batch by a pattern search on the surrogate (`optimizer.refine`).
    pub refine: bool,
    /// Share of each proposed batch moved by a random step (`optimizer.probe_fraction`; 0:
    /// none), see [`probes`].
    pub probe_fraction: f64,
    /// Standard deviation of that step in normalized units (`optimizer.probe_scale`).
    pub probe_scale: f64,
    /// Least predicted probability of feasibility of a point chosen for its expected gain
    /// (`optimizer.min_feasibility`, `late_min_feasibility`, `late_share`).
    pub feasibility_floor: FeasibilityFloor,
    /// The expected gain's reference point moved out by this fraction of its distance from
    /// the best evaluated feasible value of each objective (`optimizer.gain_reference_margin`).
    pub gain_reference_margin: f64,
    pub seed: u64,
}

impl StrategyConfig {
    /// Evaluations the run plans: the initial design and every epoch's batch, at most
    /// `max_evaluations`.
    pub fn planned_evaluations(&self) -> usize {
        let planned = self.initial_design_size + self.n_epochs * self.resample_size;
        self.max_evaluations
            .map_or(planned, |most| planned.min(most))
    }

    /// The floor on the predicted probability of feasibility of a point chosen for its
    /// expected gain, when `completed` evaluations are done.
    pub fn min_feasibility_after(&self, completed: usize) -> f64 {
        self.feasibility_floor
            .after(completed, self.planned_evaluations())
    }
}

/// How new points are found after the initial design.
pub enum SearchMode {
    /// Fit a surrogate and run the MOEA on it.
    Surrogate(Box<dyn Trainer>),
    /// Run the MOEA on the true function.
    Direct,
}

/// A point handed out for evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub eval_id: EvalId,
    pub epoch: u32,
    /// Parameter values (real units, integers rounded).
    pub parameters: Vec<f64>,
    /// The same point in normalized coordinates.
    pub unit: Vec<f64>,
    /// The surrogate's predicted objectives, when a surrogate proposed it.
    pub prediction: Option<Vec<f64>>,
    /// The surrogate's predicted probability that the point is feasible (the product of its
    /// per-constraint probabilities), when the model predicts feasibility.
    pub feasibility: Option<f64>,
    /// [`crate::surrogate::Model::training_epochs`] of the model that proposed it.
    pub surrogate_epochs: Option<usize>,
}

/// What the caller should do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Ask {
    /// Evaluate these (at most the number asked for).
    Evaluate(Vec<Candidate>),
    /// Nothing to hand out until more outcomes are told.
    Wait,
    /// The run is complete.
    Finished,
}

/// A summary of one completed epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochReport {
    pub epoch: u32,
    /// Evaluations completed so far (all epochs).
    pub n_evaluations: usize,
    /// Feasible evaluations with finite objectives so far.
    pub n_feasible: usize,
    /// Hypervolume of the feasible evaluated points (NaN without a reference point).
    pub hypervolume: f64,
    /// Seconds spent fitting the surrogate for this epoch's proposal.
    pub fit_seconds: f64,
    /// Seconds spent searching the surrogate for this epoch's proposal.
    pub search_seconds: f64,
    /// Training epochs of the model that proposed this epoch's batch (`None`: no model, or
    /// one without epochs such as the GP).
    pub surrogate_epochs: Option<usize>,
    /// How well that model predicted the batch (NaN where not measured).
    pub quality: BatchQuality,
}

/// Errors of the loop itself (a failed simulation is not one of them).
#[derive(Debug, Error)]
pub enum StrategyError {
    #[error("outcome for unknown or already completed evaluation id {0}")]
    UnknownEvalId(EvalId),
    #[error("outcome for evaluation {eval_id} has {got} {what}, the problem has {expected}")]
    WrongLength {
        eval_id: EvalId,
        what: &'static str,
        got: usize,
        expected: usize,
    },
    #[error("surrogate failed in epoch {epoch}: {source}")]
    Surrogate { epoch: u32, source: SurrogateError },
    #[error(
        "cannot resume: evaluation {eval_id} {detail}; the file was not written by this \
         configuration (seed, space or optimizer settings differ)"
    )]
    Replay { eval_id: EvalId, detail: String },
    #[error("cannot restore: the strategy has already started")]
    AlreadyStarted,
}

/// Timing of the proposal that opened the current epoch.
#[derive(Debug, Clone, Copy, Default)]
struct ProposalTiming {
    fit_seconds: f64,
    search_seconds: f64,
}

/// The ask/tell optimizer.
pub struct Strategy {
    space: ParameterSpace,
    schema: ProblemSchema,
    config: StrategyConfig,
    mode: SearchMode,
    /// Epoch of the batch being evaluated (0 = initial design).
    epoch: u32,
    started: bool,
    next_eval_id: EvalId,
    queue: VecDeque<Candidate>,
    in_flight: HashMap<EvalId, Candidate>,
    /// Completed evaluations by id (ordered, so every decision is arrival-order independent).
    records: BTreeMap<EvalId, EvalRecord>,
    direct: Option<direct::DirectSearch>,
    timing: ProposalTiming,
    reports: Vec<EpochReport>,
    finished: bool,
    /// Candidates proposed since the last [`Strategy::take_proposals`].
    proposed: Vec<Candidate>,
    /// Stored proposals by epoch, used instead of a new proposal while restoring.
    replay: BTreeMap<u32, Vec<Candidate>>,
    /// Every candidate of the current epoch (for its quality report).
    batch: Vec<Candidate>,
}

impl Strategy {
    pub fn new(
        space: ParameterSpace,
        schema: ProblemSchema,
        config: StrategyConfig,
        mode: SearchMode,
    ) -> Self {
        Self {
            space,
            schema,
            config,
            mode,
            epoch: 0,
            started: false,
            next_eval_id: 0,
            queue: VecDeque::new(),
            in_flight: HashMap::new(),
            records: BTreeMap::new(),
            direct: None,
            timing: ProposalTiming::default(),
            reports: Vec::new(),
            finished: false,
            proposed: Vec::new(),
            replay: BTreeMap::new(),
            batch: Vec::new(),
        }
    }

    pub fn space(&self) -> &ParameterSpace {
        &self.space
    }

    pub fn schema(&self) -> &ProblemSchema {
        &self.schema
    }

    pub fn config(&self) -> &StrategyConfig {
        &self.config
    }

    /// The epoch whose points are being evaluated (0 = initial design).
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// Completed evaluations in `eval_id` order.
    pub fn records(&self) -> impl Iterator<Item = &EvalRecord> {
        self.records.values()
    }

    pub fn n_completed(&self) -> usize {
        self.records.len()
    }

    /// Candidates handed out and not yet told.
    pub fn n_in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Candidates of the current batch not yet handed out.
    pub fn n_queued(&self) -> usize {
        self.queue.len()
    }

    /// Epoch reports produced since the last call.
    pub fn take_reports(&mut self) -> Vec<EpochReport> {
        std::mem::take(&mut self.reports)
    }

    /// Candidates proposed since the last call (whole batches, in `eval_id` order): store them
    /// before dispatching any of them, so that a resumed run can re-dispatch the same points.
    pub fn take_proposals(&mut self) -> Vec<Candidate> {
        std::mem::take(&mut self.proposed)
    }

    /// Up to `max` candidates to evaluate, or what to do instead.
    pub fn ask(&mut self, max: usize) -> Result<Ask, StrategyError> {
        if self.finished {
            return Ok(Ask::Finished);
        }
        if !self.started {
            self.started = true;
            self.start_initial_design();
        }
        if self.queue.is_empty() && self.in_flight.is_empty() {
            self.advance()?;
            if self.finished {
                return Ok(Ask::Finished);
            }
        }
        if self.queue.is_empty() {
            return Ok(Ask::Wait);
        }
        let take = max.min(self.queue.len());
        let batch: Vec<Candidate> = self.queue.drain(..take).collect();
        for candidate in &batch {
            self.in_flight.insert(candidate.eval_id, candidate.clone());
        }
        Ok(Ask::Evaluate(batch))
    }

    /// Accept one outcome; returns the completed record (to be stored by the caller).
    pub fn tell(&mut self, outcome: Outcome) -> Result<EvalRecord, StrategyError> {
        let candidate = self
            .in_flight
            .remove(&outcome.eval_id)
            .ok_or(StrategyError::UnknownEvalId(outcome.eval_id))?;
        let mut outcome = outcome;
        if outcome.status == Status::Ok {
            for (what, got, expected) in [
                (
                    "objectives",
                    outcome.objectives.len(),
                    self.schema.n_objectives(),
                ),
                (
                    "constraints",
                    outcome.constraints.len(),
                    self.schema.n_constraints(),
                ),
            ] {
                if got != expected {
                    self.in_flight.insert(candidate.eval_id, candidate);
                    return Err(StrategyError::WrongLength {
                        eval_id: outcome.eval_id,
                        what,
                        got,
                        expected,
                    });
                }
            }
        } else {
            outcome.objectives = vec![f64::NAN; self.schema.n_objectives()];
            outcome.constraints = vec![f64::NAN; self.schema.n_constraints()];
            outcome.features = None;
        }
        let record = EvalRecord {
            eval_id: candidate.eval_id,
            epoch: candidate.epoch,
            parameters: candidate.parameters,
            objectives: outcome.objectives,
            constraints: outcome.constraints,
            predictions: candidate.prediction,
            status: outcome.status,
            error: outcome.error,
            features: outcome.features,
            worker: outcome.worker,
            start_time: outcome.start_time,
            duration: outcome.duration,
        };
        self.records.insert(record.eval_id, record.clone());
        Ok(record)
    }

    fn remaining_budget(&self) -> usize {
        let used = self.records.len() + self.in_flight.len() + self.queue.len();
        self.config
            .max_evaluations
            .map_or(usize::MAX, |max| max.saturating_sub(used))
    }

    /// The random stream of one epoch (and generation, for the direct search).
    fn stream(&self, epoch: u32, generation: u32) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed);
        rng.set_stream((u64::from(epoch) << 32) | u64::from(generation));
        rng
    }

    fn start_initial_design(&mut self) {
        if let Some(stored) = self.replay.remove(&0) {
            self.enqueue_stored(stored);
            return;
        }
        let mut rng = self.stream(0, 0);
        let n = self
            .config
            .initial_design_size
            .saturating_sub(self.records.len())
            .min(self.remaining_budget());
        let points = sample_unit(self.config.initial_method, n, self.space.dim(), &mut rng);
        for unit in points {
            self.enqueue(unit, 0, None, None, None);
        }
    }

    fn enqueue(
        &mut self,
        unit: Vec<f64>,
        epoch: u32,
        prediction: Option<Vec<f64>>,
        feasibility: Option<f64>,
        surrogate_epochs: Option<usize>,
    ) {
        let parameters = self.space.denormalize(&unit);
        let unit = self.space.normalize(&parameters);
        let candidate = Candidate {
            eval_id: self.next_eval_id,
            epoch,
            parameters,
            unit,
            prediction,
            feasibility,
            surrogate_epochs,
        };
        self.proposed.push(candidate.clone());
        self.batch.push(candidate.clone());
        self.queue.push_back(candidate);
        self.next_eval_id += 1;
    }

    /// Queue stored proposals as they are (restoring); they are not proposed again.
    fn enqueue_stored(&mut self, stored: Vec<Candidate>) {
        for candidate in stored {
            self.next_eval_id = self.next_eval_id.max(candidate.eval_id + 1);
            self.batch.push(candidate.clone());
            self.queue.push_back(candidate);
        }
    }

    /// The current batch is complete: report, then open the next batch or finish.
    fn advance(&mut self) -> Result<(), StrategyError> {
        if matches!(self.mode, SearchMode::Direct) {
            return self.advance_direct();
        }
        self.report_epoch();
        if self.epoch as usize >= self.config.n_epochs || self.remaining_budget() == 0 {
            self.finished = true;
            return Ok(());
        }
        self.epoch += 1;
        let epoch = self.epoch;
        if let Some(stored) = self.replay.remove(&epoch) {
            self.enqueue_stored(stored);
            return Ok(());
        }
        let mut rng = self.stream(epoch, 0);
        let n_new = self.config.resample_size.min(self.remaining_budget());
        let SearchMode::Surrogate(trainer) = &self.mode else {
            return Ok(());
        };
        let proposal = search::propose(
            trainer.as_ref(),
            &self.space,
            &self.schema,
            &self.config,
            self.records.values(),
            n_new,
            &mut rng,
        )
        .map_err(|source| StrategyError::Surrogate { epoch, source })?;
        self.timing = ProposalTiming {
            fit_seconds: proposal.fit_seconds,
            search_seconds: proposal.search_seconds,
        };
        if let Some(surrogate_epochs) = proposal.training_epochs {
            tracing::info!(epoch, surrogate_epochs, "surrogate trained");
        }
        for point in proposal.points {
            self.enqueue(
                point.unit,
                epoch,
                point.prediction,
                point.feasibility,
                proposal.training_epochs,
            );
        }
        Ok(())
    }

    fn report_epoch(&mut self) {
        let feasible: Vec<Vec<f64>> = self
            .records
            .values()
            .filter(|r| r.is_feasible())
            .map(|r| r.objectives.clone())
            .collect();
        let hypervolume = self
            .config
            .reference_point
            .as_ref()
            .map_or(f64::NAN, |reference| hypervolume(&feasible, reference));
        self.reports.push(EpochReport {
            epoch: self.epoch,
            n_evaluations: self.records.len(),
            n_feasible: feasible.len(),
            hypervolume,
            fit_seconds: self.timing.fit_seconds,
            search_seconds: self.timing.search_seconds,
            surrogate_epochs: self.batch.iter().find_map(|c| c.surrogate_epochs),
            quality: self.batch_quality(),
        });
        self.timing = ProposalTiming::default();
        self.batch.clear();
    }

    /// The quality of the current batch's predictions.
    fn batch_quality(&self) -> BatchQuality {
        let rows: Vec<quality::QualityRow> = self
            .batch
            .iter()
            .filter_map(|candidate| {
                let record = self.records.get(&candidate.eval_id)?;
                Some(quality::QualityRow {
                    predicted: candidate.prediction.as_deref(),
                    predicted_feasibility: candidate.feasibility,
                    objectives: &record.objectives,
                    finite: record.has_finite_objectives(),
                    feasible: record.is_feasible(),
                })
            })
            .collect();
        let quality = quality::batch_quality(&rows, self.schema.n_constraints() > 0);
        // (The driver's progress sink logs them at info level with the epoch's summary.)
        if quality.is_measured() {
            tracing::debug!(
                epoch = self.epoch,
                nrmse = quality.nrmse,
                spearman = quality.spearman,
                feasibility_accuracy = quality.feasibility_accuracy,
                feasibility_f1 = quality.feasibility_f1,
                "surrogate quality on the epoch's batch"
            );
        }
        quality
    }
}

/// MOEA view of a record: objectives (failed rows get +∞) and total violation (failed rows
/// get a huge violation so they rank last).
fn moea_values(record: &EvalRecord) -> (Vec<f64>, f64) {
    if record.has_finite_objectives() {
        (
            record.objectives.clone(),
            total_violation(&record.constraints),
        )
    } else {
        (
            vec![f64::INFINITY; record.objectives.len()],
            f64::MAX.sqrt(),
        )
    }
}

/// Whether the record counts as feasible for the front (status ok, finite, constraints > 0).
pub fn record_is_feasible(record: &EvalRecord) -> bool {
    record.has_finite_objectives() && is_feasible(&record.constraints)
}

#[cfg(test)]
mod tests;
