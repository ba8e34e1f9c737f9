//! Strategy tests with the oracle surrogate and in-process evaluation: whole runs in
//! milliseconds, no libtorch, no files.

use super::*;
use crate::problem::{EvalRequest, Evaluation, Outcome};
use crate::problems::{Builtin, Problem};
use crate::space::Parameter;
use crate::surrogate::oracle::OracleTrainer;
use rand::seq::SliceRandom;
use std::sync::Arc;

pub(super) fn config(dim: usize, n_epochs: usize) -> StrategyConfig {
    StrategyConfig {
        initial_design_size: 2 * dim,
        initial_method: SamplingMethod::Slh,
        n_epochs,
        population_size: 40,
        num_generations: 30,
        resample_size: 10,
        nsga2: Nsga2Params {
            population_size: 40,
            ..Nsga2Params::default()
        },
        max_evaluations: None,
        reference_point: Some(vec![1.1, 1.1]),
        exploration: 0.0,
        refine: false,
        probe_fraction: 0.0,
        probe_scale: 0.05,
        feasibility_floor: FeasibilityFloor::default(),
        gain_reference_margin: 0.0,
        seed: 7,
    }
}

#[test]
fn the_feasibility_floor_rises_after_the_late_share_of_the_planned_evaluations() {
    let mut config = config(2, 3);
    config.feasibility_floor = FeasibilityFloor {
        early: 0.05,
        late: 0.3,
        late_share: 0.5,
    };
    // 4 initial points and 3 epochs of 10.
    assert_eq!(config.planned_evaluations(), 34);
    assert_eq!(config.min_feasibility_after(16), 0.05);
    assert_eq!(config.min_feasibility_after(17), 0.3);
    // A budget below the plan is what the share counts from.
    config.max_evaluations = Some(20);
    assert_eq!(config.planned_evaluations(), 20);
    assert_eq!(config.min_feasibility_after(9), 0.05);
    assert_eq!(config.min_feasibility_after(10), 0.3);
}

fn evaluate(problem: &dyn Problem, candidate: &Candidate) -> Outcome {
    Outcome::success(candidate.eval_id, problem.evaluate(&candidate.parameters))
}

/// Drive the strategy to completion, handing out `batch` at a time and (optionally) telling
/// the outcomes back in a shuffled order.
fn drive(
    strategy: &mut Strategy,
    batch: usize,
    mut outcome_of: impl FnMut(&Candidate) -> Outcome,
    shuffle_seed: Option<u64>,
) -> Vec<EpochReport> {
    let mut shuffler = shuffle_seed.map(ChaCha8Rng::seed_from_u64);
    let mut reports = Vec::new();
    loop {
        match strategy.ask(batch).expect("ask") {
            Ask::Evaluate(candidates) => {
                let mut outcomes: Vec<Outcome> = candidates.iter().map(&mut outcome_of).collect();
                if let Some(rng) = shuffler.as_mut() {
                    outcomes.shuffle(rng);
                }
                for outcome in outcomes {
                    strategy.tell(outcome).expect("tell");
                }
            }
            Ask::Wait => panic!("every handed-out candidate was told, yet the strategy waits"),
            Ask::Finished => break,
        }
        reports.extend(strategy.take_reports());
    }
    reports.extend(strategy.take_reports());
    reports
}

fn zdt1(dim: usize) -> Arc<dyn Problem> {
    Builtin::Zdt1.build(Some(dim), None).expect("zdt1")
}

fn oracle_strategy(problem: &Arc<dyn Problem>, config: StrategyConfig) -> Strategy {
    Strategy::new(
        problem.space().clone(),
        problem.schema().clone(),
        config,
        SearchMode::Surrogate(Box::new(OracleTrainer::new(Arc::clone(problem)))),
    )
}

#[test]
fn surrogate_run_evaluates_initial_design_then_resample_batches() {
    let problem = zdt1(6);
    let mut strategy = oracle_strategy(&problem, config(6, 4));
    let reports = drive(&mut strategy, 5, |c| evaluate(problem.as_ref(), c), None);
    assert_eq!(strategy.n_completed(), 12 + 4 * 10);
    let epochs: Vec<u32> = reports.iter().map(|r| r.epoch).collect();
    assert_eq!(epochs, vec![0, 1, 2, 3, 4]);
    let per_epoch = |e: u32| strategy.records().filter(|r| r.epoch == e).count();
    assert_eq!(per_epoch(0), 12);
    assert_eq!(per_epoch(3), 10);
    // Hypervolume never decreases (the evaluated set only grows) and the search helps.
    for pair in reports.windows(2) {
        assert!(pair[1].hypervolume >= pair[0].hypervolume);
    }
    assert!(
        reports[4].hypervolume > reports[0].hypervolume + 0.05,
        "{reports:?}"
    );
    // Surrogate-proposed points carry predictions; the initial design does not.
    assert!(strategy
        .records()
        .all(|r| (r.epoch == 0) == r.predictions.is_none()));
}

#[test]
fn oracle_surrogate_on_zdt1_approaches_the_front() {
    let problem = zdt1(10);
    let mut config = config(10, 8);
    config.population_size = 60;
    config.nsga2.population_size = 60;
    config.num_generations = 60;
    config.resample_size = 20;
    let mut strategy = oracle_strategy(&problem, config);
    let reports = drive(&mut strategy, 8, |c| evaluate(problem.as_ref(), c), None);
    let final_hv = reports.last().unwrap().hypervolume;
    assert!(final_hv > 0.80, "final hypervolume {final_hv}");
}

#[test]
fn refining_the_batch_puts_zdt1_points_on_the_front() {
    // ZDT1's front needs x2 … xn = 0 exactly; NSGA-II alone gets close, the refinement's
    // moves to the bounds get there.
    let problem = zdt1(10);
    let mut plain = config(10, 3);
    plain.num_generations = 10;
    let on_front = |refine: bool| {
        let mut config = plain.clone();
        config.refine = refine;
        let mut strategy = oracle_strategy(&problem, config);
        let reports = drive(&mut strategy, 10, |c| evaluate(problem.as_ref(), c), None);
        let exact = strategy
            .records()
            .filter(|r| r.epoch > 0 && r.parameters[1..].iter().all(|&x| x == 0.0))
            .count();
        (exact, reports.last().unwrap().hypervolume)
    };
    let (exact_plain, hv_plain) = on_front(false);
    let (exact_refined, hv_refined) = on_front(true);
    assert!(
        exact_refined >= 10 && exact_refined > exact_plain,
        "points exactly on the front: {exact_refined} refined, {exact_plain} plain"
    );
    assert!(
        hv_refined > hv_plain,
        "hypervolume {hv_refined} refined, {hv_plain} plain"
    );
}

#[test]
fn local_probes_move_a_share_of_each_batch_reproducibly_and_resume_exactly() {
    let problem = zdt1(10);
    let mut base = config(10, 3);
    base.num_generations = 10;
    base.refine = true;
    let run = |fraction: f64| {
        let mut config = base.clone();
        config.probe_fraction = fraction;
        let mut strategy = oracle_strategy(&problem, config);
        drive(&mut strategy, 10, |c| evaluate(problem.as_ref(), c), None);
        strategy
            .records()
            .filter(|r| r.epoch > 0)
            .map(|r| r.parameters.clone())
            .collect::<Vec<_>>()
    };
    let probed = run(0.5);
    assert_eq!(run(0.5), probed);
    assert_ne!(run(0.0), probed);
    // Every second point of each batch of 10 is a probe (15 in 3 epochs): the refinement put
    // the 9 distance parameters on their bound 0, a probe takes some of them off it (all
    // stay on with probability 2⁻⁹).
    let probes_off_front = probed
        .iter()
        .enumerate()
        .filter(|(i, p)| i % 2 == 1 && p[1..].iter().any(|&x| x > 0.0))
        .count();
    assert!(
        probes_off_front >= 14,
        "{probes_off_front} of 15 probes off the front"
    );
    let small = zdt1(3);
    let mut config = config(3, 3);
    config.resample_size = 5;
    config.num_generations = 5;
    config.refine = true;
    config.probe_fraction = 0.4;
    check_resume_everywhere(&|| oracle_strategy(&small, config.clone()), &small);
}

#[test]
fn arrival_order_does_not_change_the_evaluated_points() {
    let problem = zdt1(5);
    let points = |shuffle: Option<u64>, batch: usize| {
        let mut strategy = oracle_strategy(&problem, config(5, 3));
        drive(
            &mut strategy,
            batch,
            |c| evaluate(problem.as_ref(), c),
            shuffle,
        );
        strategy
            .records()
            .map(|r| r.parameters.clone())
            .collect::<Vec<_>>()
    };
    let reference = points(None, 100);
    assert_eq!(points(Some(1), 3), reference);
    assert_eq!(points(Some(2), 7), reference);
}

#[test]
fn different_seeds_give_different_points() {
    let problem = zdt1(5);
    let run = |seed| {
        let mut config = config(5, 1);
        config.seed = seed;
        let mut strategy = oracle_strategy(&problem, config);
        drive(&mut strategy, 4, |c| evaluate(problem.as_ref(), c), None);
        strategy
            .records()
            .map(|r| r.parameters.clone())
            .collect::<Vec<_>>()
    };
    assert_ne!(run(1), run(2));
    assert_eq!(run(3), run(3));
}

#[test]
fn proposals_never_repeat_an_evaluated_point() {
    let problem = zdt1(4);
    let mut strategy = oracle_strategy(&problem, config(4, 5));
    drive(&mut strategy, 10, |c| evaluate(problem.as_ref(), c), None);
    let points: Vec<Vec<f64>> = strategy.records().map(|r| r.parameters.clone()).collect();
    for (i, a) in points.iter().enumerate() {
        for b in &points[i + 1..] {
            assert_ne!(a, b, "duplicate evaluated point");
        }
    }
}

#[test]
fn budget_caps_the_number_of_evaluations() {
    let problem = zdt1(5);
    let mut config = config(5, 10);
    config.max_evaluations = Some(27);
    let mut strategy = oracle_strategy(&problem, config);
    drive(&mut strategy, 4, |c| evaluate(problem.as_ref(), c), None);
    assert_eq!(strategy.n_completed(), 27);
}

#[test]
fn zero_epochs_evaluates_only_the_initial_design() {
    let problem = zdt1(5);
    let mut strategy = oracle_strategy(&problem, config(5, 0));
    let reports = drive(&mut strategy, 4, |c| evaluate(problem.as_ref(), c), None);
    assert_eq!(strategy.n_completed(), 10);
    assert_eq!(reports.len(), 1);
}

#[test]
fn failed_evaluations_are_recorded_and_the_run_continues() {
    let problem = zdt1(5);
    let mut strategy = oracle_strategy(&problem, config(5, 3));
    let schema = problem.schema().clone();
    drive(
        &mut strategy,
        4,
        |c| {
            if c.eval_id % 3 == 0 {
                Outcome::failure(c.eval_id, &schema, Status::Failed, "boom")
            } else {
                evaluate(problem.as_ref(), c)
            }
        },
        None,
    );
    let failed: Vec<_> = strategy
        .records()
        .filter(|r| r.status == Status::Failed)
        .collect();
    assert!(!failed.is_empty());
    assert!(failed
        .iter()
        .all(|r| r.objectives.iter().all(|v| v.is_nan()) && r.error == "boom"));
    assert_eq!(strategy.n_completed(), 10 + 3 * 10);
}

#[test]
fn direct_search_runs_generations_on_the_true_function() {
    let problem = zdt1(8);
    let mut config = config(8, 3);
    config.num_generations = 20;
    let mut strategy = Strategy::new(
        problem.space().clone(),
        problem.schema().clone(),
        config,
        SearchMode::Direct,
    );
    let reports = drive(
        &mut strategy,
        16,
        |c| evaluate(problem.as_ref(), c),
        Some(5),
    );
    assert_eq!(strategy.n_completed(), 16 + 3 * 20 * 40);
    assert_eq!(reports.len(), 4);
    assert!(
        reports[3].hypervolume > reports[0].hypervolume + 0.1,
        "{reports:?}"
    );
}

#[test]
fn unknown_outcomes_and_wrong_lengths_are_errors() {
    let problem = zdt1(4);
    let mut strategy = oracle_strategy(&problem, config(4, 1));
    let Ask::Evaluate(batch) = strategy.ask(2).unwrap() else {
        panic!("expected candidates")
    };
    let mut outcome = evaluate(problem.as_ref(), &batch[0]);
    outcome.eval_id = 999;
    assert!(matches!(
        strategy.tell(outcome),
        Err(StrategyError::UnknownEvalId(999))
    ));
    let mut outcome = evaluate(problem.as_ref(), &batch[0]);
    outcome.objectives.pop();
    assert!(matches!(
        strategy.tell(outcome),
        Err(StrategyError::WrongLength { .. })
    ));
    // The candidate is still in flight and can be told correctly.
    assert!(strategy.tell(evaluate(problem.as_ref(), &batch[0])).is_ok());
    assert_eq!(strategy.n_in_flight(), 1);
    assert_eq!(strategy.n_queued(), 6);
}

/// A problem with an integer and a log-scaled parameter.
struct MixedProblem {
    space: ParameterSpace,
    schema: ProblemSchema,
}

impl Problem for MixedProblem {
    fn space(&self) -> &ParameterSpace {
        &self.space
    }
    fn schema(&self) -> &ProblemSchema {
        &self.schema
    }
    fn evaluate(&self, x: &[f64]) -> Evaluation {
        let (n, k) = (x[0], x[1]);
        Evaluation {
            objectives: vec![
                (n - 3.0).powi(2) + k.log10().abs(),
                n + (k * 100.0).ln().abs(),
            ],
            constraints: vec![],
        }
    }
}

#[test]
fn integer_parameters_are_integers_in_every_evaluated_point() {
    let problem: Arc<dyn Problem> = Arc::new(MixedProblem {
        space: ParameterSpace::new(vec![
            Parameter {
                name: "n".into(),
                lower: 1.0,
                upper: 8.0,
                integer: true,
                log: false,
            },
            Parameter {
                name: "k".into(),
                lower: 1e-5,
                upper: 1e-1,
                integer: false,
                log: true,
            },
        ])
        .unwrap(),
        schema: ProblemSchema {
            objectives: vec!["a".into(), "b".into()],
            constraints: vec![],
        },
    });
    let mut config = config(2, 3);
    config.initial_design_size = 8;
    config.reference_point = None;
    let mut strategy = oracle_strategy(&problem, config);
    let reports = drive(&mut strategy, 3, |c| evaluate(problem.as_ref(), c), None);
    assert!(reports.iter().all(|r| r.hypervolume.is_nan()));
    for record in strategy.records() {
        assert_eq!(record.parameters[0].fract(), 0.0, "{:?}", record.parameters);
        assert!((1.0..=8.0).contains(&record.parameters[0]));
        assert!((1e-5..=1e-1).contains(&record.parameters[1]));
    }
}

#[test]
fn requests_carry_real_units() {
    let problem = Builtin::Osy.build(None, None).unwrap();
    let mut strategy = oracle_strategy(&problem, config(6, 0));
    let Ask::Evaluate(batch) = strategy.ask(100).unwrap() else {
        panic!()
    };
    let request = EvalRequest {
        eval_id: batch[0].eval_id,
        epoch: batch[0].epoch,
        parameters: batch[0].parameters.clone(),
        group: None,
    };
    for (value, parameter) in request.parameters.iter().zip(problem.space().parameters()) {
        assert!(*value >= parameter.lower && *value <= parameter.upper);
    }
    assert!(
        batch.iter().any(|c| c.parameters[0] > 1.0),
        "OSY x1 spans [0, 10]"
    );
}

/// The demo's settings on DTLZ2 with a perfect model: the ceiling of MOEA + selection.
#[test]
fn oracle_surrogate_on_dtlz2_with_the_demo_budget() {
    let problem = Builtin::Dtlz2.build(None, None).unwrap();
    let config = StrategyConfig {
        initial_design_size: 36,
        initial_method: SamplingMethod::Slh,
        n_epochs: 9,
        population_size: 200,
        num_generations: 100,
        resample_size: 50,
        nsga2: Nsga2Params {
            population_size: 200,
            ..Nsga2Params::default()
        },
        max_evaluations: Some(500),
        reference_point: Some(vec![1.1, 1.1, 1.1]),
        exploration: 0.0,
        refine: false,
        probe_fraction: 0.0,
        probe_scale: 0.05,
        feasibility_floor: FeasibilityFloor::default(),
        gain_reference_margin: 0.0,
        seed: 1,
    };
    let mut strategy = oracle_strategy(&problem, config);
    let reports = drive(&mut strategy, 50, |c| evaluate(problem.as_ref(), c), None);
    for r in reports {
        println!(
            "epoch {} n {} hv {:.4}",
            r.epoch, r.n_evaluations, r.hypervolume
        );
    }
}

/// A run that stops after `kill_after` completed evaluations (with `batch` handed out at a
/// time): the records stored so far and every proposal taken so far.
fn interrupted(
    make: &dyn Fn() -> Strategy,
    problem: &Arc<dyn Problem>,
    batch: usize,
    kill_after: usize,
) -> (Vec<EvalRecord>, Vec<Candidate>) {
    let mut strategy = make();
    let (mut records, mut proposals) = (Vec::new(), Vec::new());
    'run: loop {
        let ask = strategy.ask(batch).expect("ask");
        proposals.extend(strategy.take_proposals());
        match ask {
            Ask::Evaluate(candidates) => {
                // Tell in reverse: completion order differs from proposal order.
                for c in candidates.iter().rev() {
                    if records.len() == kill_after {
                        break 'run;
                    }
                    records.push(strategy.tell(evaluate(problem.as_ref(), c)).expect("tell"));
                }
            }
            Ask::Wait => panic!("waits with nothing in flight"),
            Ask::Finished => break,
        }
    }
    (records, proposals)
}

/// Resume from every cut point and check that the final evaluated set equals the uninterrupted
/// run's and that nothing stored is evaluated again.
fn check_resume_everywhere(make: &dyn Fn() -> Strategy, problem: &Arc<dyn Problem>) {
    let batch = 3;
    let mut full = make();
    let expected_quality = quality_text(&drive(
        &mut full,
        batch,
        |c| evaluate(problem.as_ref(), c),
        None,
    ));
    let expected: Vec<(u64, Vec<f64>)> = full
        .records()
        .map(|r| (r.eval_id, r.parameters.clone()))
        .collect();
    for kill_after in (0..expected.len()).step_by(4) {
        let (records, proposals) = interrupted(make, problem, batch, kill_after);
        let done: std::collections::HashSet<u64> = records.iter().map(|r| r.eval_id).collect();
        let mut resumed = make();
        resumed.restore(records, proposals).expect("restore");
        let mut evaluated_again = Vec::new();
        let resumed_reports = drive(
            &mut resumed,
            batch,
            |c| {
                evaluated_again.push(c.eval_id);
                evaluate(problem.as_ref(), c)
            },
            None,
        );
        assert!(
            evaluated_again.iter().all(|id| !done.contains(id)),
            "kill after {kill_after}: re-evaluated a stored record"
        );
        let got: Vec<(u64, Vec<f64>)> = resumed
            .records()
            .map(|r| (r.eval_id, r.parameters.clone()))
            .collect();
        assert_eq!(got, expected, "kill after {kill_after}");
        // Every epoch's surrogate quality, whether its batch completed before or after the cut.
        assert_eq!(
            quality_text(&resumed_reports),
            expected_quality,
            "kill after {kill_after}"
        );
    }
}

/// What a report says about the surrogate (Debug text: NaN compares equal there).
fn quality_text(reports: &[EpochReport]) -> Vec<String> {
    reports
        .iter()
        .map(|r| {
            format!(
                "{} {} {:?} {:?}",
                r.epoch, r.n_evaluations, r.surrogate_epochs, r.quality
            )
        })
        .collect()
}

#[test]
fn surrogate_run_resumes_exactly_from_any_cut() {
    let problem = zdt1(3);
    let mut config = config(3, 3);
    config.resample_size = 5;
    config.num_generations = 5;
    let make = || oracle_strategy(&problem, config.clone());
    check_resume_everywhere(&make, &problem);
}

#[test]
fn direct_run_resumes_exactly_from_any_cut() {
    let problem = zdt1(3);
    let mut config = config(3, 2);
    config.population_size = 6;
    config.nsga2.population_size = 6;
    config.num_generations = 3;
    let make = || {
        Strategy::new(
            problem.space().clone(),
            problem.schema().clone(),
            config.clone(),
            SearchMode::Direct,
        )
    };
    check_resume_everywhere(&make, &problem);
}

#[test]
fn restore_rejects_records_of_another_seed() {
    let problem = zdt1(3);
    let mut other = config(3, 1);
    other.seed = 99;
    let make_other = || oracle_strategy(&problem, other.clone());
    let (records, _) = interrupted(&make_other, &problem, 3, 4);
    let mut strategy = oracle_strategy(&problem, config(3, 1));
    let err = strategy
        .restore(records, Vec::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot resume"), "{err}");
}

#[test]
fn imported_records_count_toward_the_initial_design() {
    let problem = zdt1(3);
    let (records, _) = interrupted(&|| oracle_strategy(&problem, config(3, 0)), &problem, 6, 4);
    let mut strategy = oracle_strategy(&problem, config(3, 1));
    let imported = strategy.import(records).expect("import");
    assert_eq!(
        imported.iter().map(|r| r.eval_id).collect::<Vec<_>>(),
        vec![0, 1, 2, 3]
    );
    let Ask::Evaluate(batch) = strategy.ask(100).expect("ask") else {
        panic!("expected the rest of the initial design")
    };
    assert_eq!(batch.len(), 2);
    assert_eq!(batch[0].eval_id, 4);
    assert_eq!(strategy.take_proposals().len(), 6);
}

fn tnk() -> Arc<dyn Problem> {
    Builtin::Tnk.build(None, None).expect("tnk")
}

/// A deliberately wrong surrogate: the oracle's objectives negated and every point's
/// feasibility inverted; it reports as many training epochs as it had training rows.
struct WrongTrainer(OracleTrainer);

struct WrongModel {
    inner: Box<dyn crate::surrogate::Model>,
    epochs: usize,
}

impl Trainer for WrongTrainer {
    fn name(&self) -> &'static str {
        "wrong"
    }

    /// Trained on every finite row, so its epoch count is the number of evaluations.
    fn models_feasibility(&self) -> bool {
        true
    }

    fn fit(
        &self,
        data: &crate::surrogate::TrainingData,
        seed: u64,
    ) -> Result<Box<dyn crate::surrogate::Model>, SurrogateError> {
        Ok(Box::new(WrongModel {
            inner: self.0.fit(data, seed)?,
            epochs: data.len(),
        }))
    }
}

impl crate::surrogate::Model for WrongModel {
    fn n_objectives(&self) -> usize {
        self.inner.n_objectives()
    }

    fn predict(&self, x: &[Vec<f64>]) -> Result<crate::surrogate::Prediction, SurrogateError> {
        let truth = self.inner.predict(x)?;
        Ok(crate::surrogate::Prediction {
            mean: truth
                .mean
                .into_iter()
                .map(|row| row.into_iter().map(|v| -v).collect())
                .collect(),
            variance: None,
            constraint_scores: None,
            // Feasible points predicted to violate every constraint, infeasible ones to
            // satisfy all of them.
            feasibility: truth.feasibility.map(|rows| {
                rows.into_iter()
                    .map(|row| {
                        let feasible = row.iter().all(|&p| p > 0.5);
                        vec![if feasible { 0.0 } else { 1.0 }; row.len()]
                    })
                    .collect()
            }),
        })
    }

    fn objective_gradients(&self, x: &[Vec<f64>]) -> Result<Vec<Vec<Vec<f64>>>, SurrogateError> {
        let gradients = self.inner.objective_gradients(x)?;
        Ok(gradients
            .into_iter()
            .map(|point| {
                point
                    .into_iter()
                    .map(|row| row.into_iter().map(|g| -g).collect())
                    .collect()
            })
            .collect())
    }

    fn training_epochs(&self) -> Option<usize> {
        Some(self.epochs)
    }
}

fn wrong_strategy(problem: &Arc<dyn Problem>, config: StrategyConfig) -> Strategy {
    Strategy::new(
        problem.space().clone(),
        problem.schema().clone(),
        config,
        SearchMode::Surrogate(Box::new(WrongTrainer(OracleTrainer::new(Arc::clone(
            problem,
        ))))),
    )
}

#[test]
fn oracle_predictions_score_perfectly() {
    for (problem, constrained) in [(zdt1(4), false), (tnk(), true)] {
        let dim = problem.space().dim();
        let mut strategy = oracle_strategy(&problem, config(dim, 2));
        let reports = drive(&mut strategy, 4, |c| evaluate(problem.as_ref(), c), None);
        assert_eq!(reports.len(), 3);
        // The initial design has no model.
        assert!(!reports[0].quality.is_measured(), "{:?}", reports[0]);
        assert_eq!(reports[0].surrogate_epochs, None);
        for report in &reports[1..] {
            let q = report.quality;
            assert!(q.nrmse.abs() < 1e-12, "{report:?}");
            assert!((q.spearman - 1.0).abs() < 1e-12, "{report:?}");
            if constrained {
                assert_eq!(
                    (q.feasibility_accuracy, q.feasibility_f1),
                    (1.0, 1.0),
                    "{report:?}"
                );
            } else {
                assert!(q.feasibility_accuracy.is_nan() && q.feasibility_f1.is_nan());
            }
            // The oracle has no training epochs.
            assert_eq!(report.surrogate_epochs, None);
        }
    }
}

#[test]
fn a_wrong_model_scores_badly_and_reports_its_training_epochs() {
    let problem = tnk();
    let mut strategy = wrong_strategy(&problem, config(2, 2));
    let reports = drive(&mut strategy, 4, |c| evaluate(problem.as_ref(), c), None);
    assert_eq!(reports.len(), 3);
    for pair in reports.windows(2) {
        let (before, report) = (&pair[0], &pair[1]);
        let q = report.quality;
        // Negated objectives (≥ 0 on TNK): ranks reversed, RMSE = 2·rms ≥ 2·range/√10.
        assert!((q.spearman + 1.0).abs() < 1e-12, "{report:?}");
        assert!(q.nrmse > 0.6, "{report:?}");
        // Inverted feasibility: every row misclassified.
        assert_eq!(
            (q.feasibility_accuracy, q.feasibility_f1),
            (0.0, 0.0),
            "{report:?}"
        );
        // Trained on every evaluation so far (all have finite objectives).
        assert_eq!(report.surrogate_epochs, Some(before.n_evaluations));
    }
}

#[test]
fn surrogate_quality_resumes_exactly_from_any_cut() {
    let problem = tnk();
    let mut config = config(2, 3);
    config.resample_size = 5;
    config.num_generations = 5;
    let make = || wrong_strategy(&problem, config.clone());
    check_resume_everywhere(&make, &problem);
}
