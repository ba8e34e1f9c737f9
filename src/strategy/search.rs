//! One surrogate epoch's proposal: fit the surrogate, run the MOEA on it, select new points.
//!
//! - Training rows: every record with finite objectives, sorted by `eval_id`. When the
//!   problem has constraints and the model predicts no feasibility (the GP baseline), only
//!   feasible rows are used, as in dmosopt; with fewer than two feasible rows all finite rows
//!   are used instead, so the search is not blind. A model that predicts feasibility (the
//!   joint neural surrogates) gets every row with finite objectives.
//! - The MOEA starts from the best evaluated points (constrained non-dominated sorting on true
//!   values), scored by the surrogate so that parents and offspring are compared on the same
//!   footing. Predicted feasibility turns into a violation: `Σ max(0, −s)` over the
//!   constraints' predicted scores `s` (logits or normalized values, positive when satisfied;
//!   it keeps ranking points far from the feasible region), else `Σ max(0, ½ − p)` over
//!   predicted probabilities.
//! - With a model of feasibility, a second MOEA run on the objectives alone (same start) adds
//!   candidates: constrained domination alone collapses the population onto the region already
//!   predicted feasible and never proposes a disconnected feasible region (C2-DTLZ2's caps).
//! - Selection: among the final populations' distinct, not yet evaluated points (after integer
//!   rounding), first a greedy batch by *expected* hypervolume gain — predicted gain over the
//!   evaluated feasible front times the predicted probability that every constraint holds
//!   (probability of feasibility × improvement, as in constrained Bayesian optimization;
//!   2–3 objectives with a reference point: the batch that the model expects to grow the front
//!   most) — then the rest by (predicted rank, −crowding distance); if too few remain,
//!   distinct mutated copies of the best ones fill the batch. Candidates less likely to be
//!   feasible than `optimizer.min_feasibility` (`late_min_feasibility` late in the run) are
//!   not chosen for their gain; the gain's reference point is the problem's, moved out by
//!   `optimizer.gain_reference_margin` ([`gain_reference`]).
//! - `optimizer.exploration = κ`: every step above ranks by `mean − κ·σ` where the model
//!   predicts a variance. `optimizer.refine`: the chosen batch is then moved by a pattern
//!   search on the surrogate ([`super::refine`]). `optimizer.probe_fraction`: that share of
//!   the batch is then moved by a small random step ([`super::probes`]).

use super::probes::perturb_share;
use super::quality::feasible_probability;
use super::refine::{refine_batch, RefineContext};
use super::{moea_values, StrategyConfig};
use crate::indicators::hypervolume;
use crate::moea::operators::polynomial_mutation;
use crate::moea::sorting::{first_front, rank_and_crowding, select_best};
use crate::moea::{Moea, Nsga2, Population};
use crate::problem::{EvalRecord, ProblemSchema};
use crate::sampling::{sample_unit, SamplingMethod};
use crate::space::ParameterSpace;
use crate::surrogate::{Model, Prediction, SurrogateError, Trainer, TrainingData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

/// Two normalized points closer than this in every coordinate are the same point.
const DUPLICATE_TOLERANCE: f64 = 1e-9;

/// One new point and what the model predicted for it.
pub struct ProposedPoint {
    /// Normalized coordinates.
    pub unit: Vec<f64>,
    /// Predicted objectives (`None` for random points proposed without a model).
    pub prediction: Option<Vec<f64>>,
    /// Predicted probability of being feasible, when the model predicts feasibility.
    pub feasibility: Option<f64>,
}

/// New points and where the time went.
pub struct Proposal {
    pub points: Vec<ProposedPoint>,
    /// The model's [`Model::training_epochs`] (`None` without a fitted model).
    pub training_epochs: Option<usize>,
    pub fit_seconds: f64,
    pub search_seconds: f64,
}

/// Fit `trainer` on `records` and propose `n_new` new points.
pub fn propose<'a>(
    trainer: &dyn Trainer,
    space: &ParameterSpace,
    schema: &ProblemSchema,
    config: &StrategyConfig,
    records: impl Iterator<Item = &'a EvalRecord> + Clone,
    n_new: usize,
    rng: &mut ChaCha8Rng,
) -> Result<Proposal, SurrogateError> {
    if n_new == 0 {
        return Ok(Proposal {
            points: Vec::new(),
            training_epochs: None,
            fit_seconds: 0.0,
            search_seconds: 0.0,
        });
    }
    let evaluated: Vec<Vec<f64>> = records
        .clone()
        .map(|r| space.normalize(&r.parameters))
        .collect();
    let data = training_data(space, schema, records.clone(), trainer.models_feasibility());
    if data.is_empty() {
        tracing::warn!("no evaluation has finite objectives yet: proposing random points");
        let points = distinct_random(space, &evaluated, n_new, rng);
        return Ok(Proposal {
            points: points
                .into_iter()
                .map(|unit| ProposedPoint {
                    unit,
                    prediction: None,
                    feasibility: None,
                })
                .collect(),
            training_epochs: None,
            fit_seconds: 0.0,
            search_seconds: 0.0,
        });
    }
    let fit_start = Instant::now();
    let model = trainer.fit(&data, rng.random())?;
    let fit_seconds = fit_start.elapsed().as_secs_f64();

    let search_start = Instant::now();
    let model = model.as_ref();
    let kappa = config.exploration;
    let feasible_objectives: Vec<Vec<f64>> = records
        .clone()
        .filter(|r| r.is_feasible())
        .map(|r| r.objectives.clone())
        .collect();
    let initial = initial_population(space, model, config, records.clone(), kappa, rng)?;
    let constrained = search(space, model, config, initial.clone(), true, kappa, rng)?;
    let mut final_population = score(model, constrained.x, kappa)?;
    if schema.n_constraints() > 0 && trainer.models_feasibility() {
        // Constrained domination collapses the population onto the region already predicted
        // feasible; a search on the objectives alone keeps candidates elsewhere on the front,
        // which the selection weighs by their predicted probability of being feasible.
        let free = search(space, model, config, initial, false, kappa, rng)?;
        final_population.append(score(model, free.x, kappa)?);
    }
    let mut selected = select_new(
        space,
        &final_population,
        &evaluated,
        &feasible_objectives,
        n_new,
        config,
        rng,
    );
    if let Some(reference) = gain_reference(config, &feasible_objectives).filter(|_| config.refine)
    {
        let context = RefineContext {
            space,
            model,
            kappa,
            feasible_objectives: &feasible_objectives,
            reference: &reference,
        };
        selected = keep_distinct(
            selected.clone(),
            refine_batch(&context, selected)?,
            &evaluated,
        );
    }
    perturb_share(
        space,
        &mut selected,
        &evaluated,
        config.probe_fraction,
        config.probe_scale,
        rng,
    );
    let predicted = model.predict(&selected)?;
    let search_seconds = search_start.elapsed().as_secs_f64();
    let feasible = |i: usize| {
        let rows = predicted.feasibility.as_ref()?;
        rows.get(i).map(|p| feasible_probability(p))
    };
    Ok(Proposal {
        points: selected
            .into_iter()
            .zip(predicted.mean.iter().cloned())
            .enumerate()
            .map(|(i, (unit, mean))| ProposedPoint {
                unit,
                prediction: Some(mean),
                feasibility: feasible(i),
            })
            .collect(),
        training_epochs: model.training_epochs(),
        fit_seconds,
        search_seconds,
    })
}

/// Rows for the surrogate (see the module documentation for the feasible-only rule, which
/// does not apply when the model predicts feasibility: `models_feasibility`).
pub fn training_data<'a>(
    space: &ParameterSpace,
    schema: &ProblemSchema,
    records: impl Iterator<Item = &'a EvalRecord> + Clone,
    models_feasibility: bool,
) -> TrainingData {
    let finite: Vec<&EvalRecord> = records.filter(|r| r.has_finite_objectives()).collect();
    let feasible: Vec<&EvalRecord> = finite.iter().copied().filter(|r| r.is_feasible()).collect();
    let rows = if !models_feasibility && schema.n_constraints() > 0 && feasible.len() >= 2 {
        feasible
    } else {
        finite
    };
    TrainingData {
        x: rows
            .iter()
            .map(|r| space.normalize(&r.parameters))
            .collect(),
        objectives: rows.iter().map(|r| r.objectives.clone()).collect(),
        constraints: rows.iter().map(|r| r.constraints.clone()).collect(),
    }
}

/// The objectives the search ranks by: the optimistic bound `mean − κ·σ` per objective when
/// the model predicts a variance and `kappa` (`optimizer.exploration`) is positive, else the
/// mean.
fn optimistic(prediction: &Prediction, kappa: f64) -> Vec<Vec<f64>> {
    match &prediction.variance {
        Some(variance) if kappa > 0.0 => prediction
            .mean
            .iter()
            .zip(variance)
            .map(|(mean, variance)| {
                mean.iter()
                    .zip(variance)
                    .map(|(m, v)| m - kappa * v.max(0.0).sqrt())
                    .collect()
            })
            .collect(),
        _ => prediction.mean.clone(),
    }
}

/// Violation implied by the predicted constraint scores `s` (`Σ max(0, −s)`), else by the
/// predicted probabilities `p` (`Σ max(0, ½ − p)`); zero without a feasibility model.
fn predicted_violation(prediction: &Prediction) -> Vec<f64> {
    let total = |rows: &Vec<Vec<f64>>, excess: fn(f64) -> f64| {
        rows.iter()
            .map(|row| row.iter().map(|&v| excess(v).max(0.0)).sum())
            .collect()
    };
    match (&prediction.constraint_scores, &prediction.feasibility) {
        (Some(scores), _) => total(scores, |s| -s),
        (None, Some(probabilities)) => total(probabilities, |p| 0.5 - p),
        (None, None) => vec![0.0; prediction.mean.len()],
    }
}

/// NSGA-II on the surrogate for `config.num_generations` generations from `initial`; with
/// `constrained` false the predicted violation is ignored (objectives only).
fn search(
    space: &ParameterSpace,
    model: &dyn Model,
    config: &StrategyConfig,
    initial: Population,
    constrained: bool,
    kappa: f64,
    rng: &mut ChaCha8Rng,
) -> Result<Population, SurrogateError> {
    let mut initial = initial;
    if !constrained {
        initial.violation = vec![0.0; initial.len()];
    }
    let mut moea = Nsga2::new(config.nsga2.clone(), space.dim(), initial);
    for _ in 0..config.num_generations {
        let offspring: Vec<Vec<f64>> = moea
            .ask(rng)
            .into_iter()
            .map(|unit| space.snap(&unit))
            .collect();
        let prediction = model.predict(&offspring)?;
        let violation = if constrained {
            predicted_violation(&prediction)
        } else {
            vec![0.0; offspring.len()]
        };
        moea.tell(offspring, optimistic(&prediction, kappa), violation);
    }
    Ok(moea.population().clone())
}

/// Points with the model's predicted objectives, violation and probability of feasibility.
pub(super) struct Scored {
    pub(super) population: Population,
    /// Predicted probability that every constraint holds (1 without a feasibility model).
    pub(super) feasible_probability: Vec<f64>,
}

impl Scored {
    fn append(&mut self, other: Scored) {
        self.population.x.extend(other.population.x);
        self.population
            .objectives
            .extend(other.population.objectives);
        self.population.violation.extend(other.population.violation);
        self.feasible_probability.extend(other.feasible_probability);
    }
}

/// `x` scored by `model`: objectives ranked by `mean − κ·σ` ([`optimistic`]), violation and
/// probability of feasibility.
pub(super) fn score(
    model: &dyn Model,
    x: Vec<Vec<f64>>,
    kappa: f64,
) -> Result<Scored, SurrogateError> {
    let prediction = model.predict(&x)?;
    let violation = predicted_violation(&prediction);
    let feasible_probability = match &prediction.feasibility {
        Some(rows) => rows.iter().map(|row| feasible_probability(row)).collect(),
        None => vec![1.0; x.len()],
    };
    Ok(Scored {
        population: Population {
            x,
            objectives: optimistic(&prediction, kappa),
            violation,
        },
        feasible_probability,
    })
}

/// The best evaluated points (true values) re-scored by the model, topped up with random
/// points when fewer than a population exist.
fn initial_population<'a>(
    space: &ParameterSpace,
    model: &dyn Model,
    config: &StrategyConfig,
    records: impl Iterator<Item = &'a EvalRecord>,
    kappa: f64,
    rng: &mut ChaCha8Rng,
) -> Result<Population, SurrogateError> {
    let usable: Vec<&EvalRecord> = records.filter(|r| r.has_finite_objectives()).collect();
    let (objectives, violation): (Vec<Vec<f64>>, Vec<f64>) =
        usable.iter().map(|r| moea_values(r)).unzip();
    let best = select_best(&objectives, &violation, config.population_size);
    let mut x: Vec<Vec<f64>> = best
        .iter()
        .map(|&i| space.normalize(&usable[i].parameters))
        .collect();
    if x.len() < config.population_size {
        let missing = config.population_size - x.len();
        x.extend(
            sample_unit(SamplingMethod::Mc, missing, space.dim(), rng)
                .into_iter()
                .map(|unit| space.snap(&unit)),
        );
    }
    let prediction = model.predict(&x)?;
    let violation = predicted_violation(&prediction);
    Ok(Population {
        x,
        objectives: optimistic(&prediction, kappa),
        violation,
    })
}

/// The refined points, except where one repeats an evaluated point or an earlier point of the
/// batch: there the point as selected.
fn keep_distinct(
    selected: Vec<Vec<f64>>,
    refined: Vec<Vec<f64>>,
    evaluated: &[Vec<f64>],
) -> Vec<Vec<f64>> {
    let mut batch: Vec<Vec<f64>> = Vec::with_capacity(selected.len());
    for (original, refined) in selected.into_iter().zip(refined) {
        let point = if is_duplicate(&refined, evaluated) || is_duplicate(&refined, &batch) {
            original
        } else {
            refined
        };
        batch.push(point);
    }
    batch
}

/// The reference point of the expected gain (selection and refinement): the problem's, each
/// coordinate moved out by `gain_reference_margin` times its distance from the best evaluated
/// feasible value of that objective (unchanged where nothing feasible is better). `None`
/// without a reference point, or with more than 3 objectives, where the exact hypervolume is
/// too costly to compute for every candidate.
///
/// Why a margin: a candidate predicted just beyond the reference point gains nothing, however
/// empty its part of the front. Where the model extrapolates without data — an unexplored
/// corner of the front — it often predicts just that, and the corner is never evaluated
/// (C2-DTLZ2, a deeper `mlp`, seed 6: no candidate chosen near `f = (1, 0, 0)` in 500
/// evaluations).
fn gain_reference(config: &StrategyConfig, feasible_objectives: &[Vec<f64>]) -> Option<Vec<f64>> {
    let reference = config
        .reference_point
        .as_deref()
        .filter(|reference| (2..=3).contains(&reference.len()))?;
    Some(
        reference
            .iter()
            .enumerate()
            .map(|(i, &value)| {
                let best = feasible_objectives
                    .iter()
                    .filter_map(|f| f.get(i).copied())
                    .fold(f64::INFINITY, f64::min);
                if best < value {
                    value + config.gain_reference_margin * (value - best)
                } else {
                    value
                }
            })
            .collect(),
    )
}

pub(super) fn is_duplicate(point: &[f64], others: &[Vec<f64>]) -> bool {
    others.iter().any(|other| {
        other
            .iter()
            .zip(point)
            .all(|(a, b)| (a - b).abs() <= DUPLICATE_TOLERANCE)
    })
}

/// `n_new` distinct, not yet evaluated points from the final population: first greedily by
/// expected hypervolume gain (predicted gain over the evaluated feasible front times the
/// predicted probability of feasibility; 2 and 3 objectives, where the exact hypervolume is
/// cheap), then by (rank, −crowding distance) under the predicted violation.
fn select_new(
    space: &ParameterSpace,
    scored: &Scored,
    evaluated: &[Vec<f64>],
    feasible_objectives: &[Vec<f64>],
    n_new: usize,
    config: &StrategyConfig,
    rng: &mut ChaCha8Rng,
) -> Vec<Vec<f64>> {
    let population = &scored.population;
    let (rank, crowding) = rank_and_crowding(&population.objectives, &population.violation);
    let mut order: Vec<usize> = (0..population.len()).collect();
    order.sort_by(|&a, &b| {
        rank[a]
            .cmp(&rank[b])
            .then(crowding[b].total_cmp(&crowding[a]))
            .then(a.cmp(&b))
    });
    // Distinct, not yet evaluated candidates in (rank, crowding) order.
    let mut candidates: Vec<(usize, Vec<f64>)> = Vec::new();
    for &i in &order {
        let point = space.snap(&population.x[i]);
        let known = candidates
            .iter()
            .any(|(_, p)| is_duplicate(&point, std::slice::from_ref(p)));
        if !known && !is_duplicate(&point, evaluated) {
            candidates.push((i, point));
        }
    }
    // Less likely candidates are not chosen for their gain (`optimizer.min_feasibility`,
    // stricter late in the run with `late_min_feasibility`).
    let min_feasibility = config.min_feasibility_after(evaluated.len());
    let plausible: Vec<usize> = (0..candidates.len())
        .filter(|&c| scored.feasible_probability[candidates[c].0] >= min_feasibility)
        .collect();
    let predicted: Vec<Vec<f64>> = plausible
        .iter()
        .map(|&c| population.objectives[candidates[c].0].clone())
        .collect();
    let weights: Vec<f64> = plausible
        .iter()
        .map(|&c| scored.feasible_probability[candidates[c].0])
        .collect();
    let mut chosen: Vec<usize> = match gain_reference(config, feasible_objectives) {
        Some(reference) => {
            greedy_hypervolume(&predicted, &weights, feasible_objectives, &reference, n_new)
                .into_iter()
                .map(|k| plausible[k])
                .collect()
        }
        None => Vec::new(),
    };
    for c in 0..candidates.len() {
        if chosen.len() >= n_new {
            break;
        }
        if !chosen.contains(&c) {
            chosen.push(c);
        }
    }
    let mut selected: Vec<Vec<f64>> = chosen.iter().map(|&c| candidates[c].1.clone()).collect();
    // Too few distinct points: mutate the best ones until the batch is full.
    let eta = vec![config.nsga2.mutation_eta; space.dim()];
    let mut attempts = 0;
    while selected.len() < n_new && attempts < 100 * n_new {
        attempts += 1;
        let parent = &population.x[order[attempts % order.len().max(1)]];
        let mut child = parent.clone();
        polynomial_mutation(&mut child, &eta, 1.0, rng);
        let child = space.snap(&child);
        if !is_duplicate(&child, evaluated) && !is_duplicate(&child, &selected) {
            selected.push(child);
        }
    }
    let mut all_known: Vec<Vec<f64>> = evaluated.to_vec();
    all_known.extend(selected.iter().cloned());
    let remaining = n_new - selected.len();
    selected.extend(distinct_random(space, &all_known, remaining, rng));
    selected
}

/// Greedy batch selection by expected hypervolume gain: repeatedly take the candidate whose
/// predicted objectives add the most hypervolume, times its `weight` (probability of
/// feasibility), to the evaluated front plus the points taken so far (lazy greedy: gains only
/// shrink as the set grows). Stops when no candidate adds anything; returns indices into
/// `candidates`.
fn greedy_hypervolume(
    candidates: &[Vec<f64>],
    weights: &[f64],
    evaluated: &[Vec<f64>],
    reference: &[f64],
    n_new: usize,
) -> Vec<usize> {
    let mut current: Vec<Vec<f64>> = first_front(evaluated, &[])
        .into_iter()
        .map(|i| evaluated[i].clone())
        .collect();
    let mut current_volume = hypervolume(&current, reference);
    let gain = |current: &mut Vec<Vec<f64>>, volume: f64, point: &[f64]| {
        current.push(point.to_vec());
        let gained = hypervolume(current, reference) - volume;
        current.pop();
        gained
    };
    let mut upper: Vec<f64> = candidates
        .iter()
        .zip(weights)
        .map(|(c, w)| w * gain(&mut current, current_volume, c))
        .collect();
    let mut taken = vec![false; candidates.len()];
    let mut chosen = Vec::new();
    while chosen.len() < n_new {
        let best = (0..candidates.len())
            .filter(|&i| !taken[i])
            .max_by(|&a, &b| upper[a].total_cmp(&upper[b]).then(b.cmp(&a)));
        let Some(best) = best else { break };
        if upper[best] <= 0.0 {
            break;
        }
        let fresh = weights[best] * gain(&mut current, current_volume, &candidates[best]);
        let runner_up = (0..candidates.len())
            .filter(|&i| !taken[i] && i != best)
            .map(|i| upper[i])
            .fold(f64::NEG_INFINITY, f64::max);
        upper[best] = fresh;
        if fresh >= runner_up && fresh > 0.0 {
            taken[best] = true;
            chosen.push(best);
            current.push(candidates[best].clone());
            current_volume = hypervolume(&current, reference);
        }
    }
    chosen
}

/// Random points distinct from `known` (integer spaces may run out: then fewer are returned).
fn distinct_random(
    space: &ParameterSpace,
    known: &[Vec<f64>],
    n: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<Vec<f64>> {
    let mut points: Vec<Vec<f64>> = Vec::with_capacity(n);
    for _ in 0..(100 * n) {
        if points.len() == n {
            break;
        }
        let Some(unit) = sample_unit(SamplingMethod::Mc, 1, space.dim(), rng).pop() else {
            break;
        };
        let point = space.snap(&unit);
        if !is_duplicate(&point, known) && !is_duplicate(&point, &points) {
            points.push(point);
        }
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::surrogate::stub::FnModel;

    /// Predicts `f(x) = (10 x0, −10 x0)` with constraint scores `x0 − 0.5`.
    const LINEAR: FnModel = FnModel {
        n_objectives: 2,
        mean: |p| vec![10.0 * p[0], -10.0 * p[0]],
        feasibility: Some(|p| vec![p[0]]),
        constraint_scores: Some(|p| vec![p[0] - 0.5]),
    };

    #[test]
    fn violation_comes_from_scores_when_the_model_has_them() {
        let prediction = LINEAR.predict(&[vec![0.1], vec![0.9]]).unwrap();
        let violation = predicted_violation(&prediction);
        assert!((violation[0] - 0.4).abs() < 1e-12 && violation[1] == 0.0);
        let without_scores = Prediction {
            constraint_scores: None,
            ..prediction
        };
        let violation = predicted_violation(&without_scores);
        assert!((violation[0] - 0.4).abs() < 1e-12 && violation[1] == 0.0);
        let far = LINEAR.predict(&[vec![-2.0]]).unwrap();
        // Scores keep growing far from the feasible region; probabilities saturate at ½.
        assert!((predicted_violation(&far)[0] - 2.5).abs() < 1e-12);
    }

    #[test]
    fn exploration_ranks_by_the_optimistic_bound_where_there_is_a_variance() {
        let prediction = Prediction {
            mean: vec![vec![1.0, 2.0], vec![1.0, 2.0]],
            variance: Some(vec![vec![0.0, 0.0], vec![4.0, 0.25]]),
            feasibility: None,
            constraint_scores: None,
        };
        assert_eq!(optimistic(&prediction, 0.0), prediction.mean);
        // mean − κ·σ: σ = (0, 0) and (2, 0.5).
        assert_eq!(
            optimistic(&prediction, 3.0),
            vec![vec![1.0, 2.0], vec![-5.0, 0.5]]
        );
        let no_variance = Prediction {
            variance: None,
            ..prediction
        };
        assert_eq!(optimistic(&no_variance, 3.0), no_variance.mean);
    }

    /// Predicts the front `f = (x0, 1 − x0)` and a probability of feasibility `x1`.
    const FRONT: FnModel = FnModel {
        n_objectives: 2,
        mean: |p| vec![p[0], 1.0 - p[0]],
        feasibility: Some(|p| vec![p[1]]),
        constraint_scores: None,
    };

    #[test]
    fn late_in_the_run_an_unlikely_candidate_is_not_chosen_for_its_gain() {
        use rand::SeedableRng;
        let space = ParameterSpace::uniform_box(2, 0.0, 1.0).unwrap();
        // 4 initial points and 3 epochs of 10: 34 planned, late from 0.6 · 34 = 20.4 on.
        let mut config = crate::strategy::tests::config(2, 3);
        config.feasibility_floor.late = 0.3;
        // Expected gains (reference 1.1, 1.1): risky 0.25 · 0.36 = 0.09, safe 0.5 · 0.1296.
        let risky = vec![0.5, 0.25];
        let safe = vec![0.02, 0.5];
        let scored = score(&FRONT, vec![risky.clone(), safe.clone()], 0.0).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let choose = |evaluated: &[Vec<f64>], rng: &mut ChaCha8Rng| {
            select_new(&space, &scored, evaluated, &[], 1, &config, rng)
        };
        assert_eq!(choose(&[], &mut rng), vec![risky.clone()]);
        let twenty: Vec<Vec<f64>> = (0..20).map(|i| vec![0.9, 0.01 * i as f64]).collect();
        assert_eq!(choose(&twenty, &mut rng), vec![risky]);
        let twenty_one: Vec<Vec<f64>> = (0..21).map(|i| vec![0.9, 0.01 * i as f64]).collect();
        assert_eq!(choose(&twenty_one, &mut rng), vec![safe]);
    }

    #[test]
    fn a_margin_gives_a_candidate_beyond_the_reference_point_a_gain() {
        let mut config = crate::strategy::tests::config(2, 3);
        let front = vec![vec![0.0, 1.0], vec![0.5, 0.5]];
        assert_eq!(gain_reference(&config, &front), Some(vec![1.1, 1.1]));
        // Past the reference point in f1, alone in f2.
        let beyond = vec![vec![1.15, 0.2]];
        let reference = gain_reference(&config, &front).unwrap();
        assert!(greedy_hypervolume(&beyond, &[1.0], &front, &reference, 1).is_empty());
        config.gain_reference_margin = 0.2;
        // 1.1 + 0.2 · (1.1 − 0) and 1.1 + 0.2 · (1.1 − 0.5).
        let reference = gain_reference(&config, &front).unwrap();
        assert!((reference[0] - 1.32).abs() < 1e-12 && (reference[1] - 1.22).abs() < 1e-12);
        assert_eq!(
            greedy_hypervolume(&beyond, &[1.0], &front, &reference, 1),
            vec![0]
        );
        // Nothing feasible evaluated yet: the problem's reference point.
        assert_eq!(gain_reference(&config, &[]), Some(vec![1.1, 1.1]));
        config.reference_point = Some(vec![1.0; 4]);
        assert_eq!(gain_reference(&config, &front), None);
    }

    #[test]
    fn expected_gain_prefers_a_likely_feasible_point_of_equal_gain() {
        let candidates = vec![vec![0.2, 0.8], vec![0.8, 0.2]];
        let chosen = greedy_hypervolume(&candidates, &[0.3, 0.9], &[], &[1.0, 1.0], 1);
        assert_eq!(chosen, vec![1]);
        let chosen = greedy_hypervolume(&candidates, &[0.9, 0.3], &[], &[1.0, 1.0], 1);
        assert_eq!(chosen, vec![0]);
    }
}
