//! The controller and worker loops on threads connected by [`ChannelTransport`]: shuffled
//! completion order, groups, worker failures, the deadline, and the start-up handshake.

use super::controller::{self, DistSummary};
use super::transport::{ChannelTransport, Transport};
use super::wire::{Hello, Message};
use super::worker::{self, WorkerExit};
use super::*;
use crate::deadline::{Deadline, DeadlineSource};
use crate::driver::{run_local, FailureLimit, NoProgress, StopReason};
use crate::eval::pool::LocalPool;
use crate::eval::Evaluator;
use crate::problem::{EvalRequest, Outcome, Status};
use crate::problems::{Builtin, Problem};
use crate::sampling::SamplingMethod;
use crate::store::{MemStore, RunMetadata, RunStore};
use crate::strategy::{FeasibilityFloor, SearchMode, Strategy, StrategyConfig};
use crate::surrogate::oracle::OracleTrainer;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

const CONFIG: &str = "[problem]\nid = \"zdt1\"\n";

fn zdt1() -> Arc<dyn Problem> {
    Builtin::Zdt1.build(Some(4), None).unwrap()
}

fn strategy(problem: &Arc<dyn Problem>) -> Strategy {
    let config = StrategyConfig {
        initial_design_size: 12,
        initial_method: SamplingMethod::Slh,
        n_epochs: 3,
        population_size: 20,
        num_generations: 10,
        resample_size: 7,
        nsga2: crate::moea::Nsga2Params {
            population_size: 20,
            ..Default::default()
        },
        max_evaluations: None,
        reference_point: Some(vec![1.1, 1.1]),
        exploration: 0.0,
        refine: false,
        probe_fraction: 0.0,
        probe_scale: 0.05,
        feasibility_floor: FeasibilityFloor::default(),
        gain_reference_margin: 0.0,
        seed: 5,
    };
    Strategy::new(
        problem.space().clone(),
        problem.schema().clone(),
        config,
        SearchMode::Surrogate(Box::new(OracleTrainer::new(Arc::clone(problem)))),
    )
}

fn store(problem: &Arc<dyn Problem>) -> MemStore {
    MemStore::new(RunMetadata {
        opt_id: "zdt1".into(),
        problem_id: 0,
        space: problem.space().clone(),
        schema: problem.schema().clone(),
        constants: vec![],
        seed: 5,
        config_toml: CONFIG.into(),
        program_version: "test".into(),
        features: vec![],
        metadata: String::new(),
        optimizer_name: String::new(),
        optimizer_params: vec![],
    })
}

/// Evaluates the problem after a sleep that depends on the eval id, so results come back in
/// a scrambled order; records every request it sees.
struct Scrambled {
    problem: Arc<dyn Problem>,
    base: Duration,
    seen: Mutex<Vec<EvalRequest>>,
}

impl Scrambled {
    fn new(problem: Arc<dyn Problem>, base: Duration) -> Arc<Self> {
        Arc::new(Self {
            problem,
            base,
            seen: Mutex::new(Vec::new()),
        })
    }
}

impl Evaluator for Scrambled {
    fn evaluate(&self, request: &EvalRequest, worker: u32) -> Outcome {
        self.seen.lock().unwrap().push(request.clone());
        let jitter = Duration::from_micros((request.eval_id * 7919 % 7) * 300);
        std::thread::sleep(self.base + jitter);
        let evaluation = self.problem.evaluate(&request.parameters);
        Outcome {
            eval_id: request.eval_id,
            objectives: evaluation.objectives,
            constraints: evaluation.constraints,
            status: Status::Ok,
            error: String::new(),
            worker,
            start_time: 0.0,
            duration: (self.base + jitter).as_secs_f64(),
            features: None,
        }
    }
}

/// A worker rank on a thread: hello, then its role until shutdown.
fn spawn_worker(
    mut transport: ChannelTransport,
    layout: Layout,
    evaluator: Arc<dyn Evaluator>,
) -> JoinHandle<Result<Option<WorkerExit>, DistError>> {
    std::thread::spawn(move || {
        if !worker::hello(&mut transport, Ok(CONFIG.into()))? {
            return Ok(None);
        }
        match layout.role(transport.rank()) {
            Role::Leader { worker, group } => {
                worker::serve(&mut transport, evaluator, worker, Some(group)).map(Some)
            }
            Role::Member { .. } | Role::Spare => {
                worker::wait_for_shutdown(&mut transport).map(|()| None)
            }
            Role::Controller => unreachable!(),
        }
    })
}

struct Cluster {
    controller: ChannelTransport,
    workers: Vec<JoinHandle<Result<Option<WorkerExit>, DistError>>>,
    layout: Layout,
}

fn start(world_size: usize, ranks_per_worker: usize, evaluator: Arc<dyn Evaluator>) -> Cluster {
    let layout = Layout::new(world_size, ranks_per_worker).unwrap();
    let mut endpoints = ChannelTransport::network(world_size).into_iter();
    let mut controller_end = endpoints.next().unwrap();
    let workers = endpoints
        .map(|endpoint| spawn_worker(endpoint, layout, Arc::clone(&evaluator)))
        .collect();
    let hellos = controller::gather_hellos(&mut controller_end, world_size).unwrap();
    controller::check_hellos(&hellos, CONFIG).unwrap();
    controller::broadcast(&mut controller_end, world_size, &Message::Start).unwrap();
    Cluster {
        controller: controller_end,
        workers,
        layout,
    }
}

impl Cluster {
    fn run(
        &mut self,
        strategy: &mut Strategy,
        store: &mut MemStore,
        deadline: Option<&Deadline>,
    ) -> Result<DistSummary, DistError> {
        controller::run(
            strategy,
            &mut self.controller,
            self.layout,
            store,
            &mut NoProgress,
            &mut FailureLimit::new(1.0),
            deadline,
        )
    }

    fn join(self) -> Vec<Option<WorkerExit>> {
        self.workers
            .into_iter()
            .map(|handle| handle.join().unwrap().unwrap())
            .collect()
    }
}

fn sorted_points(store: &MemStore) -> Vec<Vec<f64>> {
    let mut points: Vec<Vec<f64>> = store
        .records()
        .iter()
        .map(|r| r.parameters.clone())
        .collect();
    points.sort_by(|a, b| a.partial_cmp(b).unwrap());
    points
}

#[test]
fn every_result_is_stored_whatever_the_completion_order() {
    let problem = zdt1();
    let evaluator = Scrambled::new(Arc::clone(&problem), Duration::from_micros(200));
    let mut cluster = start(5, 1, evaluator.clone());
    let mut strategy = strategy(&problem);
    let mut store = store(&problem);
    let summary = cluster.run(&mut strategy, &mut store, None).unwrap();
    let exits = cluster.join();
    assert!(exits.iter().all(|e| *e == Some(WorkerExit::Finished)));

    let expected = 12 + 3 * 7;
    assert_eq!(store.records().len(), expected);
    assert_eq!(summary.run.n_evaluations, expected);
    assert_eq!(summary.run.stop, StopReason::Finished);
    assert_eq!(store.epochs().len(), 4);
    let mut ids: Vec<u64> = store.records().iter().map(|r| r.eval_id).collect();
    let arrival = ids.clone();
    ids.sort_unstable();
    assert_eq!(ids, (0..expected as u64).collect::<Vec<_>>());
    assert_ne!(arrival, ids, "results should arrive out of order");
    let mut workers: Vec<u32> = store.records().iter().map(|r| r.worker).collect();
    workers.sort_unstable();
    workers.dedup();
    assert_eq!(workers, [0, 1, 2, 3]);
    assert!(summary.dispatch.busy_seconds > 0.0);
    assert_eq!(summary.dispatch.n_workers, 4);

    // The same points as a local run with one worker (arrival order does not matter).
    let mut local_strategy = self::strategy(&problem);
    let mut local_store = self::store(&problem);
    let pool = LocalPool::new(
        Arc::new(crate::eval::builtin::BuiltinEvaluator::new(problem)),
        1,
    )
    .unwrap();
    run_local(
        &mut local_strategy,
        &pool,
        &mut local_store,
        &mut NoProgress,
        &mut FailureLimit::new(1.0),
        None,
    )
    .unwrap();
    assert_eq!(sorted_points(&store), sorted_points(&local_store));
}

#[test]
fn groups_pass_their_ranks_and_members_wait_for_the_shutdown() {
    let problem = zdt1();
    let evaluator = Scrambled::new(Arc::clone(&problem), Duration::ZERO);
    let mut cluster = start(7, 3, evaluator.clone());
    let mut strategy = strategy(&problem);
    let mut store = store(&problem);
    cluster.run(&mut strategy, &mut store, None).unwrap();
    let exits = cluster.join();
    // Ranks 1 and 4 lead; 2, 3, 5, 6 are members.
    assert_eq!(
        exits,
        [
            Some(WorkerExit::Finished),
            None,
            None,
            Some(WorkerExit::Finished),
            None,
            None
        ]
    );
    let seen = evaluator.seen.lock().unwrap();
    assert_eq!(seen.len(), store.records().len());
    for request in seen.iter() {
        let ranks = &request.group.as_ref().unwrap().ranks;
        assert!(ranks == &[1, 2, 3] || ranks == &[4, 5, 6], "{ranks:?}");
    }
    for record in store.records() {
        assert!(record.worker < 2);
    }
}

#[test]
fn a_failing_worker_ends_the_run_and_every_rank_shuts_down() {
    let problem = zdt1();
    let layout = Layout::new(3, 1).unwrap();
    let mut endpoints = ChannelTransport::network(3).into_iter();
    let mut controller_end = endpoints.next().unwrap();
    let mut failing = endpoints.next().unwrap();
    let healthy = spawn_worker(
        endpoints.next().unwrap(),
        layout,
        Scrambled::new(Arc::clone(&problem), Duration::from_millis(1)),
    );
    let failing = std::thread::spawn(move || {
        assert!(worker::hello(&mut failing, Ok(CONFIG.into())).unwrap());
        worker::report_failure(&mut failing, "cannot start the simulation".into())
    });
    let hellos = controller::gather_hellos(&mut controller_end, 3).unwrap();
    controller::check_hellos(&hellos, CONFIG).unwrap();
    controller::broadcast(&mut controller_end, 3, &Message::Start).unwrap();
    let mut strategy = strategy(&problem);
    let mut store = store(&problem);
    let error = controller::run(
        &mut strategy,
        &mut controller_end,
        layout,
        &mut store,
        &mut NoProgress,
        &mut FailureLimit::new(1.0),
        None,
    )
    .unwrap_err();
    assert!(
        matches!(&error, DistError::WorkerFailed { worker: 0, rank: 1, message } if message.contains("simulation")),
        "{error}"
    );
    failing.join().unwrap().unwrap();
    healthy.join().unwrap().unwrap();
}

#[test]
fn the_deadline_stops_dispatch_and_waits_for_running_evaluations() {
    let problem = zdt1();
    let evaluator = Scrambled::new(Arc::clone(&problem), Duration::from_millis(30));
    let mut cluster = start(3, 1, evaluator);
    let deadline = Deadline {
        at: SystemTime::now() + Duration::from_millis(300),
        margin: Duration::from_millis(200),
        source: DeadlineSource::Option,
    };
    let mut strategy = strategy(&problem);
    let mut store = store(&problem);
    let summary = cluster
        .run(&mut strategy, &mut store, Some(&deadline))
        .unwrap();
    let exits = cluster.join();
    assert_eq!(summary.run.stop, StopReason::Deadline { abandoned: 0 });
    assert!(exits.iter().all(|e| *e == Some(WorkerExit::Finished)));
    let n = store.records().len();
    assert!(n > 0 && n < 12, "{n} rows");
    assert_eq!(strategy.n_in_flight(), 0);
}

#[test]
fn evaluations_still_running_at_the_end_of_the_deadline_are_abandoned() {
    let problem = zdt1();
    let evaluator = Scrambled::new(Arc::clone(&problem), Duration::from_secs(2));
    let mut cluster = start(3, 1, evaluator);
    let deadline = Deadline {
        at: SystemTime::now() + Duration::from_millis(200),
        margin: Duration::from_millis(100),
        source: DeadlineSource::Option,
    };
    let clock = Instant::now();
    let mut strategy = strategy(&problem);
    let mut store = store(&problem);
    let summary = cluster
        .run(&mut strategy, &mut store, Some(&deadline))
        .unwrap();
    let exits = cluster.join();
    assert!(clock.elapsed() < Duration::from_millis(1500));
    assert_eq!(summary.run.stop, StopReason::Deadline { abandoned: 2 });
    assert!(exits.iter().all(|e| *e == Some(WorkerExit::Abandoned)));
    assert!(store.records().is_empty());
}

#[test]
fn setup_failures_and_config_differences_are_reported_by_rank() {
    let ok = |text: &str| Hello {
        setup: Ok(text.to_string()),
    };
    let failed = |text: &str| Hello {
        setup: Err(text.to_string()),
    };
    let error = controller::check_hellos(
        &[
            (1, ok(CONFIG)),
            (2, failed("cannot read config file x.toml")),
            (3, failed("again")),
        ],
        CONFIG,
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("worker rank 2 could not start: cannot read config file x.toml")
            && error.contains("1 more"),
        "{error}"
    );
    let error = controller::check_hellos(
        &[(1, ok(CONFIG)), (2, ok("[problem]\nid = \"zdt2\"\n"))],
        CONFIG,
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("rank 2") && error.contains("id = \"zdt2\""),
        "{error}"
    );

    let mut endpoints = ChannelTransport::network(2);
    let mut one = endpoints.pop().unwrap();
    let mut zero = endpoints.pop().unwrap();
    one.send(0, &Message::Start).unwrap();
    let error = controller::gather_hellos(&mut zero, 2).unwrap_err();
    assert!(matches!(
        error,
        DistError::Unexpected {
            kind: "start",
            from: 1,
            ..
        }
    ));
}

#[test]
fn layouts_split_worker_ranks_into_groups() {
    let layout = Layout::new(7, 2).unwrap();
    assert_eq!(layout.n_workers(), 3);
    assert_eq!(layout.role(0), Role::Controller);
    assert_eq!(
        layout.role(3),
        Role::Leader {
            worker: 1,
            group: GroupInfo { ranks: vec![3, 4] }
        }
    );
    assert_eq!(layout.role(6), Role::Member { worker: 2 });
    assert_eq!(layout.leader(2), 5);
    assert_eq!(layout.worker_led_by(5), Some(2));
    assert_eq!(layout.worker_led_by(4), None);
    assert_eq!(layout.worker_led_by(0), None);
    assert_eq!(layout.worker_led_by(7), None);
    assert_eq!(layout.worker_ranks(), 1..7);

    // 3 worker ranks in groups of 2: one group, one spare rank.
    let spare = Layout::new(4, 2).unwrap();
    assert_eq!((spare.n_workers(), spare.n_spare()), (1, 1));
    assert_eq!(spare.role(3), Role::Spare);
    assert_eq!(spare.worker_led_by(3), None);
    let error = Layout::new(2, 2).unwrap_err().to_string();
    assert!(
        error.contains("1 worker ranks") && error.contains("ranks per worker = 2"),
        "{error}"
    );
    assert!(matches!(
        Layout::new(1, 1),
        Err(DistError::TooFewRanks { world_size: 1 })
    ));
    assert!(matches!(
        Layout::new(3, 0),
        Err(DistError::ZeroRanksPerWorker)
    ));
}

#[test]
fn the_local_driver_honours_the_same_deadline() {
    let problem = zdt1();
    let run = |evaluation: Duration, at_ms: u64, margin_ms: u64| {
        let pool = LocalPool::new(Scrambled::new(Arc::clone(&problem), evaluation), 2).unwrap();
        let deadline = Deadline {
            at: SystemTime::now() + Duration::from_millis(at_ms),
            margin: Duration::from_millis(margin_ms),
            source: DeadlineSource::Option,
        };
        let mut strategy = strategy(&problem);
        let mut store = store(&problem);
        let clock = Instant::now();
        let summary = run_local(
            &mut strategy,
            &pool,
            &mut store,
            &mut NoProgress,
            &mut FailureLimit::new(1.0),
            Some(&deadline),
        )
        .unwrap();
        if summary.stop != StopReason::Finished {
            pool.abandon();
        }
        (summary.stop, store.records().len(), clock.elapsed())
    };
    let (stop, rows, _) = run(Duration::from_millis(30), 300, 200);
    assert_eq!(stop, StopReason::Deadline { abandoned: 0 });
    assert!(rows > 0 && rows < 12, "{rows} rows");
    let (stop, rows, elapsed) = run(Duration::from_secs(2), 200, 100);
    assert_eq!(stop, StopReason::Deadline { abandoned: 2 });
    assert_eq!(rows, 0);
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
}
