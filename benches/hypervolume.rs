//! Timing of the exact hypervolume (`dmosopt::indicators::hypervolume`) on mutually
//! non-dominated fronts: random points on the positive orthant of the unit sphere, for 2, 3,
//! 4 and 5 objectives, reference point 1.1 in every objective.
//!
//! Each case reports the median time per call and a baseline measured in the same process:
//! for 2 and 3 objectives the same front lifted to 4 objectives with constant extra
//! coordinates (the volume only scales), which runs the general WFG path (While, Bradstreet &
//! Barone 2012) instead of the dedicated sweep; for 4 and 5 objectives a naive HSO-style
//! slicing (While, Hingston, Barone & Huband 2006) that sums `slab height × HV(one objective
//! fewer)` over the sorted last objective, recursively down to the 3-objective sweep, run only
//! where it is cheap. `speedup` is baseline time ÷ time.
//!
//! Run with `cargo bench --bench hypervolume`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use dmosopt::indicators::hypervolume;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Stop repeating a measurement once this much time has been spent on it.
const TIME_PER_CASE: Duration = Duration::from_millis(400);
const MINIMUM_REPETITIONS: usize = 5;
const MAXIMUM_REPETITIONS: usize = 41;

/// `count` random points on the unit sphere's positive orthant (a non-dominated front).
fn sphere_front(count: usize, objectives: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let raw: Vec<f64> = (0..objectives)
                .map(|_| rng.random::<f64>().max(1e-9))
                .collect();
            let norm = raw.iter().map(|value| value * value).sum::<f64>().sqrt();
            raw.iter().map(|value| value / norm).collect()
        })
        .collect()
}

/// Median wall time (ms) and the value of `compute`, repeated within the time budget.
fn median_ms(maximum_repetitions: usize, mut compute: impl FnMut() -> f64) -> (f64, f64) {
    let started = Instant::now();
    let mut times = Vec::new();
    let mut value = 0.0;
    while times.len() < maximum_repetitions
        && (times.len() < MINIMUM_REPETITIONS || started.elapsed() < TIME_PER_CASE)
    {
        let call = Instant::now();
        value = black_box(compute());
        times.push(call.elapsed().as_secs_f64() * 1e3);
        if times.len() == 1 && started.elapsed() > TIME_PER_CASE * 2 {
            break;
        }
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], value)
}

/// Naive slicing on the last objective: Σ slab height × HV of the points below, one
/// objective lower (HSO, While et al. 2006).
fn sliced(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    if reference.len() <= 3 {
        return hypervolume(points, reference);
    }
    let last = reference.len() - 1;
    let mut sorted: Vec<&Vec<f64>> = points.iter().collect();
    sorted.sort_by(|left, right| left[last].total_cmp(&right[last]));
    let mut volume = 0.0;
    for index in 0..sorted.len() {
        let top = sorted
            .get(index + 1)
            .map_or(reference[last], |point| point[last]);
        let projected: Vec<Vec<f64>> = sorted[..=index]
            .iter()
            .map(|point| point[..last].to_vec())
            .collect();
        volume += (top - sorted[index][last]) * sliced(&projected, &reference[..last]);
    }
    volume
}

/// The front lifted to 4 objectives with constant extra coordinates 0, and the scale factor.
fn lifted(points: &[Vec<f64>]) -> (Vec<Vec<f64>>, Vec<f64>, f64) {
    let extra = 4 - points[0].len();
    let lifted_points = points
        .iter()
        .map(|point| {
            let mut longer = point.clone();
            longer.extend(std::iter::repeat_n(0.0, extra));
            longer
        })
        .collect();
    (lifted_points, vec![1.1; 4], 1.1f64.powi(extra as i32))
}

fn main() {
    let cases = [
        (2, 1000),
        (3, 100),
        (3, 300),
        (3, 1000),
        (4, 1000),
        (5, 100),
        (5, 300),
        (5, 1000),
    ];
    println!("exact hypervolume, random non-dominated sphere fronts, reference 1.1^m");
    println!(
        "{:>3} {:>6} {:>11} {:>12} {:>9}  {:<28} {:>12}",
        "m", "n", "ms/call", "baseline ms", "speedup", "baseline", "hypervolume"
    );
    for (objectives, count) in cases {
        let points = sphere_front(count, objectives, 1000 + count as u64);
        let reference = vec![1.1; objectives];
        let (milliseconds, value) =
            median_ms(MAXIMUM_REPETITIONS, || hypervolume(&points, &reference));
        let baseline = match objectives {
            2 | 3 => {
                let (lifted_points, lifted_reference, scale) = lifted(&points);
                let (time, lifted_value) = median_ms(MAXIMUM_REPETITIONS, || {
                    hypervolume(&lifted_points, &lifted_reference)
                });
                check(value, lifted_value / scale);
                Some((time, "same front via 4-D WFG path"))
            }
            4 | 5 if objectives == 4 || count <= 300 => {
                let (time, sliced_value) = median_ms(3, || sliced(&points, &reference));
                check(value, sliced_value);
                Some((time, "naive slicing (HSO) to 3-D"))
            }
            _ => None,
        };
        match baseline {
            Some((baseline_ms, label)) => println!(
                "{objectives:>3} {count:>6} {milliseconds:>11.3} {baseline_ms:>12.3} \
                 {:>8.1}x  {label:<28} {value:>12.6}",
                baseline_ms / milliseconds
            ),
            None => println!(
                "{objectives:>3} {count:>6} {milliseconds:>11.3} {:>12} {:>9}  \
                 {:<28} {value:>12.6}",
                "-", "-", "(baseline too slow to run)"
            ),
        }
    }
}

/// Aborts the benchmark if the two exact paths disagree.
fn check(value: f64, other: f64) {
    let difference = (value - other).abs();
    assert!(
        difference <= 1e-9 * value.abs().max(1.0),
        "hypervolume paths disagree: {value} vs {other}"
    );
}
