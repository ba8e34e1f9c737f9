//! Local refinement of a selected batch on the surrogate (`optimizer.refine`): each chosen point
//! is moved by a coordinate pattern search that maximizes its *expected* hypervolume gain —
//! the gain of its predicted objectives over the evaluated feasible front plus the rest of the
//! batch, times its predicted probability of being feasible, the same criterion the batch was
//! chosen by.
//!
//! Why: NSGA-II's offspring land near, but rarely on, the parameter bounds and the constraint
//! boundaries where many fronts lie (OSY: `x4 = x6 = 0`, `x5 ∈ {1, 5}`; ZDT: `x2 … xn = 0`).
//! A move in the pattern search sets one coordinate to its lower or upper bound, or shifts it
//! by `± step` (clamped to the bounds); the best move of all candidates' coordinates is taken
//! while it raises the expected gain, else the step is halved, down to [`MIN_STEP`]. Only the
//! model is queried (one batched prediction per iteration), so the cost is a few hundred
//! predictions per point. Points whose expected gain is zero (chosen for rank and crowding,
//! not gain) are left as they are.

use super::search;
use crate::indicators::hypervolume;
use crate::moea::sorting::first_front;
use crate::space::ParameterSpace;
use crate::surrogate::{Model, SurrogateError};

/// The first step, in normalized coordinates.
const FIRST_STEP: f64 = 0.1;
/// The search stops when the step falls below this.
pub const MIN_STEP: f64 = 1e-3;
/// A move may lower the predicted probability of feasibility down to this, not below.
const SURE_FEASIBLE: f64 = 0.95;
/// At most this many accepted moves per point.
const MAX_MOVES: usize = 50;

/// What the refinement needs to score a point.
pub struct RefineContext<'a> {
    pub space: &'a ParameterSpace,
    pub model: &'a dyn Model,
    /// Ranks by `mean − κ·σ` (see `optimizer.exploration`).
    pub kappa: f64,
    /// The evaluated feasible points' objectives.
    pub feasible_objectives: &'a [Vec<f64>],
    pub reference: &'a [f64],
}

/// Refines every point of `batch` in turn (normalized coordinates); a point's score counts the
/// other points of the batch as they are at that moment. Returns the refined batch.
pub fn refine_batch(
    context: &RefineContext<'_>,
    batch: Vec<Vec<f64>>,
) -> Result<Vec<Vec<f64>>, SurrogateError> {
    let scored = search::score(context.model, batch, context.kappa)?;
    let mut batch = scored.population.x;
    let mut objectives = scored.population.objectives;
    for index in 0..batch.len() {
        let mut others: Vec<Vec<f64>> = context.feasible_objectives.to_vec();
        others.extend(
            objectives
                .iter()
                .enumerate()
                .filter(|&(other, _)| other != index)
                .map(|(_, o)| o.clone()),
        );
        let front: Vec<Vec<f64>> = first_front(&others, &[])
            .into_iter()
            .map(|i| others[i].clone())
            .collect();
        if let Some(refined) = refine_point(context, &front, &batch[index])? {
            batch[index] = refined.point;
            objectives[index] = refined.objectives;
        }
    }
    Ok(batch)
}

/// A point with its expected gain, ranked objectives and predicted probability of
/// feasibility.
struct Trial {
    point: Vec<f64>,
    gain: f64,
    objectives: Vec<f64>,
    probability: f64,
}

/// The pattern search for one point against `front`; `None` when the point has no expected
/// gain to improve or no move improves it.
fn refine_point(
    context: &RefineContext<'_>,
    front: &[Vec<f64>],
    start: &[f64],
) -> Result<Option<Trial>, SurrogateError> {
    let base = hypervolume(front, context.reference);
    let Some(mut best) = score(context, front, base, vec![start.to_vec()])?.pop() else {
        return Ok(None);
    };
    if best.gain <= 0.0 {
        return Ok(None);
    }
    // Moves may not make the point less likely to be feasible than it was (or than
    // SURE_FEASIBLE): trading feasibility for predicted gain lands points just outside
    // boundaries the model only roughly knows.
    let floor = best.probability.min(SURE_FEASIBLE);
    let mut step = FIRST_STEP;
    let mut moves = 0;
    while step >= MIN_STEP && moves < MAX_MOVES {
        let trials = neighbours(context.space, &best.point, step);
        if trials.is_empty() {
            break;
        }
        let candidate = score(context, front, base, trials)?
            .into_iter()
            .enumerate()
            .filter(|(_, trial)| trial.probability >= floor)
            .max_by(|a, b| a.1.gain.total_cmp(&b.1.gain).then(b.0.cmp(&a.0)));
        match candidate {
            Some((_, trial)) if trial.gain > best.gain * (1.0 + 1e-9) => {
                best = trial;
                moves += 1;
            }
            _ => step /= 2.0,
        }
    }
    Ok((moves > 0).then_some(best))
}

/// Points one move away from `point`: each coordinate at its lower bound, at its upper bound,
/// and `± step` (clamped), snapped to the space (integers), without repeats of `point`.
fn neighbours(space: &ParameterSpace, point: &[f64], step: f64) -> Vec<Vec<f64>> {
    let mut trials: Vec<Vec<f64>> = Vec::new();
    for d in 0..point.len() {
        for value in [0.0, 1.0, point[d] - step, point[d] + step] {
            let mut trial = point.to_vec();
            trial[d] = value.clamp(0.0, 1.0);
            let trial = space.snap(&trial);
            if trial != point && !trials.contains(&trial) {
                trials.push(trial);
            }
        }
    }
    trials
}

/// Every point of `x` with its expected hypervolume gain over `front` (hypervolume `base`),
/// its ranked objectives and its predicted probability of feasibility.
fn score(
    context: &RefineContext<'_>,
    front: &[Vec<f64>],
    base: f64,
    x: Vec<Vec<f64>>,
) -> Result<Vec<Trial>, SurrogateError> {
    let scored = search::score(context.model, x, context.kappa)?;
    let mut with_point: Vec<Vec<f64>> = front.to_vec();
    Ok(scored
        .population
        .x
        .into_iter()
        .zip(scored.population.objectives)
        .zip(scored.feasible_probability)
        .map(|((point, objectives), probability)| {
            let gain = if objectives.iter().all(|v| v.is_finite()) {
                with_point.push(objectives.clone());
                let gain = hypervolume(&with_point, context.reference) - base;
                with_point.pop();
                probability * gain.max(0.0)
            } else {
                0.0
            };
            Trial {
                point,
                gain,
                objectives,
                probability,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::ParameterSpace;
    use crate::surrogate::stub::FnModel;

    /// `f = (x0 + x1, 1 − x0 + x1)`: the front needs `x1 = 0`; feasible iff `x0 ≤ 0.8`
    /// (probability 1 or 0).
    const PLANE: FnModel = FnModel {
        n_objectives: 2,
        mean: |p| vec![p[0] + p[1], 1.0 - p[0] + p[1]],
        feasibility: Some(|p| vec![if p[0] <= 0.8 { 1.0 } else { 0.0 }]),
        constraint_scores: None,
    };

    fn space() -> ParameterSpace {
        ParameterSpace::uniform_box(2, 0.0, 1.0).unwrap()
    }

    #[test]
    fn a_point_moves_onto_the_bound_that_the_front_needs_and_stays_feasible() {
        let space = space();
        let context = RefineContext {
            space: &space,
            model: &PLANE,
            kappa: 0.0,
            feasible_objectives: &[],
            reference: &[2.0, 2.0],
        };
        let refined = refine_batch(&context, vec![vec![0.3, 0.37]]).unwrap();
        let point = &refined[0];
        assert_eq!(point[1], 0.0, "x1 should sit on its lower bound: {point:?}");
        assert!(
            point[0] <= 0.8,
            "the point left the feasible region: {point:?}"
        );
    }

    #[test]
    fn a_point_without_expected_gain_is_left_alone() {
        let space = space();
        let context = RefineContext {
            space: &space,
            model: &PLANE,
            kappa: 0.0,
            // Dominates every point the model can predict.
            feasible_objectives: &[vec![-1.0, -1.0]],
            reference: &[2.0, 2.0],
        };
        let start = vec![vec![0.3, 0.37]];
        assert_eq!(refine_batch(&context, start.clone()).unwrap(), start);
    }
}
