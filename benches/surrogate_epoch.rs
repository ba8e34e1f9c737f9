//! Benchmark: one surrogate epoch (GP fit + NSGA-II on the surrogate + selection) on ZDT1
//! (30 parameters) at 100, 300 and 600 evaluated samples, CPU. Prints seconds per phase and the
//! ratio to the 100-sample epoch measured in the same process.
//!
//! Run: `cargo bench --bench surrogate_epoch` (through scripts/common.sh's environment).

use dmosopt::moea::Nsga2Params;
use dmosopt::problem::{EvalRecord, Status};
use dmosopt::problems::Builtin;
use dmosopt::sampling::{sample_unit, SamplingMethod};
use dmosopt::strategy::search::propose;
use dmosopt::strategy::{FeasibilityFloor, StrategyConfig};
use dmosopt::surrogate::torch::gp::{GpConfig, GpTrainer};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn main() {
    let problem = match Builtin::Zdt1.build(None, None) {
        Ok(problem) => problem,
        Err(error) => {
            eprintln!("cannot build ZDT1: {error}");
            return;
        }
    };
    let space = problem.space().clone();
    let config = StrategyConfig {
        initial_design_size: 0,
        initial_method: SamplingMethod::Slh,
        n_epochs: 1,
        population_size: 100,
        num_generations: 100,
        resample_size: 25,
        nsga2: Nsga2Params::default(),
        max_evaluations: None,
        reference_point: None,
        exploration: 0.0,
        refine: false,
        probe_fraction: 0.0,
        probe_scale: 0.05,
        feasibility_floor: FeasibilityFloor::default(),
        gain_reference_margin: 0.0,
        seed: 1,
    };
    let trainer = GpTrainer::new(GpConfig::default());
    println!(
        "surrogate epoch on ZDT1 (30 parameters, 2 objectives), GP {:?}, NSGA-II 100 × 100",
        GpConfig::default()
    );
    println!(
        "{:>8} {:>10} {:>10} {:>10} {:>8}",
        "samples", "fit s", "search s", "total s", "ratio"
    );
    let mut baseline = None;
    for n in [100usize, 300, 600] {
        let mut rng = ChaCha8Rng::seed_from_u64(n as u64);
        let records: Vec<EvalRecord> = sample_unit(SamplingMethod::Lhs, n, space.dim(), &mut rng)
            .into_iter()
            .enumerate()
            .map(|(i, unit)| {
                let parameters = space.denormalize(&unit);
                let evaluation = problem.evaluate(&parameters);
                EvalRecord {
                    eval_id: i as u64,
                    epoch: 0,
                    parameters,
                    objectives: evaluation.objectives,
                    constraints: evaluation.constraints,
                    predictions: None,
                    status: Status::Ok,
                    error: String::new(),
                    features: None,
                    worker: 0,
                    start_time: 0.0,
                    duration: 0.0,
                }
            })
            .collect();
        let proposal = match propose(
            &trainer,
            &space,
            problem.schema(),
            &config,
            records.iter(),
            config.resample_size,
            &mut rng,
        ) {
            Ok(proposal) => proposal,
            Err(error) => {
                eprintln!("epoch at {n} samples failed: {error}");
                return;
            }
        };
        let total = proposal.fit_seconds + proposal.search_seconds;
        let base = *baseline.get_or_insert(total);
        println!(
            "{n:>8} {:>10.3} {:>10.3} {:>10.3} {:>8.2}",
            proposal.fit_seconds,
            proposal.search_seconds,
            total,
            total / base
        );
    }
}
