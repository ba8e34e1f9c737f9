//! The motoneuron benchmark under random sampling: scrambled-Sobol' points in the normal and
//! in the wide bounds, the fraction of points that satisfy each of the 8 constraints and all
//! of them, and the cost of one evaluation — its wall time and its ratio to a 1 000 ms
//! passive-only run of the same integrator, measured in the same process (alternating the two
//! on one thread, so machine load affects both alike).
//!
//! Run: `cargo bench --bench motoneuron` (2 048 points per variant on every core), or
//! `cargo bench --bench motoneuron -- POINTS THREADS [SEED]`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use dmosopt::problems::motoneuron::{
    passive_reference_run, simulate, MotoneuronVariant, CONSTRAINT_NAMES,
};
use dmosopt::problems::{Motoneuron, Problem};
use dmosopt::sampling::{sample_unit, SamplingMethod};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const DEFAULT_POINTS: usize = 2048;
/// Points timed one by one against the passive run.
const TIMED_POINTS: usize = 24;

struct Tally {
    satisfied: [usize; 8],
    all: usize,
    failed: usize,
    seconds: f64,
    feasible_points: Vec<Vec<f64>>,
}

fn sweep(variant: MotoneuronVariant, points: usize, threads: usize, seed: u64) {
    let problem = match Motoneuron::new(variant) {
        Ok(problem) => problem,
        Err(error) => {
            eprintln!("cannot build {}: {error}", variant.name());
            return;
        }
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let unit = sample_unit(
        SamplingMethod::Sobol,
        points,
        problem.space().dim(),
        &mut rng,
    );
    let design: Vec<Vec<f64>> = unit
        .iter()
        .map(|point| problem.space().denormalize(point))
        .collect();
    let next = AtomicUsize::new(0);
    let tally = Mutex::new(Tally {
        satisfied: [0; 8],
        all: 0,
        failed: 0,
        seconds: 0.0,
        feasible_points: Vec::new(),
    });
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(point) = design.get(index) else {
                    break;
                };
                let call = Instant::now();
                let result = simulate(point);
                let seconds = call.elapsed().as_secs_f64();
                let Ok(mut tally) = tally.lock() else {
                    break;
                };
                tally.seconds += seconds;
                if result.objectives.iter().any(|value| value.is_nan()) {
                    tally.failed += 1;
                }
                for (count, value) in tally.satisfied.iter_mut().zip(&result.constraints) {
                    if *value > 0.0 {
                        *count += 1;
                    }
                }
                if result.constraints.iter().all(|value| *value > 0.0) {
                    tally.all += 1;
                    tally.feasible_points.push(point.clone());
                }
            });
        }
    });
    let wall = started.elapsed().as_secs_f64();
    let Ok(tally) = tally.into_inner() else {
        return;
    };
    println!(
        "\n{} — {points} scrambled-Sobol' points (seed {seed}), {threads} threads, {wall:.1} s wall",
        variant.name()
    );
    println!(
        "  {:<24} {:>9} {:>9}",
        "constraint", "satisfied", "fraction"
    );
    for (name, count) in CONSTRAINT_NAMES.iter().zip(tally.satisfied) {
        println!(
            "  {name:<24} {count:>9} {:>8.3}%",
            100.0 * count as f64 / points as f64
        );
    }
    println!(
        "  {:<24} {:>9} {:>8.3}%",
        "all 8",
        tally.all,
        100.0 * tally.all as f64 / points as f64
    );
    println!(
        "  failed simulations: {}; mean wall time per evaluation (per thread): {:.1} ms",
        tally.failed,
        1e3 * tally.seconds / points as f64
    );
    for point in &tally.feasible_points {
        println!("  feasible: {point:?}");
    }
    timing(&design[..TIMED_POINTS.min(design.len())]);
}

/// Alternate evaluations and passive reference runs on this thread.
fn timing(points: &[Vec<f64>]) {
    let (mut evaluation_seconds, mut passive_seconds) = (0.0, 0.0);
    let mut sink = 0.0;
    for point in points {
        let call = Instant::now();
        sink += simulate(point).constraints[0];
        evaluation_seconds += call.elapsed().as_secs_f64();
        let call = Instant::now();
        sink += passive_reference_run();
        passive_seconds += call.elapsed().as_secs_f64();
    }
    let count = points.len().max(1) as f64;
    println!(
        "  cost, one thread, {} points alternated with passive runs: {:.1} ms per evaluation, \
         {:.2} ms per 1 000 ms passive run, ratio {:.1} (checksum {sink:.3})",
        points.len(),
        1e3 * evaluation_seconds / count,
        1e3 * passive_seconds / count,
        evaluation_seconds / passive_seconds.max(f64::MIN_POSITIVE),
    );
}

fn main() {
    let arguments: Vec<usize> = std::env::args()
        .skip(1)
        .filter(|argument| !argument.starts_with('-'))
        .filter_map(|argument| argument.parse().ok())
        .collect();
    let points = arguments.first().copied().unwrap_or(DEFAULT_POINTS);
    let threads = arguments.get(1).copied().unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let seed = arguments.get(2).copied().unwrap_or(1) as u64;
    println!(
        "motoneuron benchmark: constraint satisfaction under random sampling, cost per evaluation"
    );
    for variant in [MotoneuronVariant::Normal, MotoneuronVariant::Wide] {
        sweep(variant, points, threads.max(1), seed);
    }
}
