//! Local probes (`optimizer.probe_fraction`): a share of each proposed batch is moved by a
//! small random step away from where the search put it.
//!
//! Why: the search (and above all the refinement, which sets coordinates to their bounds)
//! gives the points of a batch the same values in the parameters the model believes settled.
//! Once every point near the front shares a wrong value — ZDT2's runs that put two of the
//! distance parameters on their *upper* bounds — no evaluation varies that parameter where
//! it matters, the model never learns its effect there, and nothing undoes the mistake (the
//! "geometry" problem of model-based derivative-free optimization: a model is only as good
//! as the spread of the points it is fitted to). A probe is a chosen point with every
//! coordinate shifted by `scale · N(0, 1)` (normalized units, clamped to the bounds), so the
//! next model sees each parameter vary near the front — about half of the probes take a
//! coordinate on a bound off it.
//!
//! Every coordinate at once rather than one per probe: with one coordinate per probe (cycling
//! through them, steps of 0.2) each of ZDT2's 30 parameters was probed about three times in a
//! run, too late and too rarely, and two seeds of four kept a parameter on its upper bound.

use super::search::is_duplicate;
use crate::space::ParameterSpace;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Moves `fraction` of `batch` (evenly spread over its order, which is the selection's) by a
/// random step: every coordinate changes by `scale · N(0, 1)` (normalized units, clamped to
/// the bounds). A move that would repeat a point of `known` or of the batch is dropped (the
/// point stays). Returns how many points moved.
pub fn perturb_share(
    space: &ParameterSpace,
    batch: &mut [Vec<f64>],
    known: &[Vec<f64>],
    fraction: f64,
    scale: f64,
    rng: &mut ChaCha8Rng,
) -> usize {
    if fraction <= 0.0 || scale <= 0.0 {
        return 0;
    }
    let mut moved = 0;
    for index in 0..batch.len() {
        // Every 1/fraction-th point: index i is a probe when ⌊(i+1)·f⌋ > ⌊i·f⌋.
        if ((index + 1) as f64 * fraction).floor() <= (index as f64 * fraction).floor() {
            continue;
        }
        let shifted: Vec<f64> = batch[index]
            .iter()
            .map(|&value| (value + scale * standard_normal(rng)).clamp(0.0, 1.0))
            .collect();
        let probe = space.snap(&shifted);
        if !is_duplicate(&probe, known) && !is_duplicate(&probe, batch) {
            batch[index] = probe;
            moved += 1;
        }
    }
    moved
}

/// One standard normal draw (Box–Muller; the `rand_distr` crate is not among the
/// dependencies, and one formula does not justify adding it).
fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]: the logarithm stays finite
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn batch() -> Vec<Vec<f64>> {
        (0..8).map(|i| vec![0.0, 1.0, 0.1 * i as f64]).collect()
    }

    #[test]
    fn a_quarter_of_the_batch_moves_within_the_bounds_and_the_rest_stays() {
        let space = ParameterSpace::uniform_box(3, 0.0, 1.0).unwrap();
        let original = batch();
        let mut probed = original.clone();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let moved = perturb_share(&space, &mut probed, &[], 0.25, 0.05, &mut rng);
        assert_eq!(moved, 2);
        for (index, (before, after)) in original.iter().zip(&probed).enumerate() {
            if index == 3 || index == 7 {
                assert_ne!(before, after, "point {index} should be a probe");
                assert!(after.iter().all(|v| (0.0..=1.0).contains(v)), "{after:?}");
                let step = before.iter().zip(after).map(|(a, b)| (a - b).abs());
                assert!(step.fold(0.0, f64::max) < 0.3, "{before:?} -> {after:?}");
            } else {
                assert_eq!(before, after, "point {index} should stay");
            }
        }
    }

    #[test]
    fn coordinates_on_a_bound_come_off_it_in_about_half_the_probes() {
        // The lock-in the probes are for: coordinates that every point has on a bound.
        let space = ParameterSpace::uniform_box(3, 0.0, 1.0).unwrap();
        let mut probed: Vec<Vec<f64>> = (0..40).map(|i| vec![0.0, 1.0, 0.02 * i as f64]).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(
            perturb_share(&space, &mut probed, &[], 1.0, 0.05, &mut rng),
            40
        );
        let off_lower = probed.iter().filter(|p| p[0] > 0.0).count();
        let off_upper = probed.iter().filter(|p| p[1] < 1.0).count();
        assert!(
            (10..=30).contains(&off_lower),
            "{off_lower} of 40 off the lower bound"
        );
        assert!(
            (10..=30).contains(&off_upper),
            "{off_upper} of 40 off the upper bound"
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_probes_and_no_fraction_none() {
        let space = ParameterSpace::uniform_box(3, 0.0, 1.0).unwrap();
        let run = |fraction: f64| {
            let mut probed = batch();
            let mut rng = ChaCha8Rng::seed_from_u64(3);
            perturb_share(&space, &mut probed, &[], fraction, 0.05, &mut rng);
            probed
        };
        assert_eq!(run(0.5), run(0.5));
        assert_eq!(run(0.0), batch());
    }

    #[test]
    fn a_probe_that_repeats_a_point_is_dropped() {
        // An integer parameter with 100 values: a step of 0.001 of its range rounds back to
        // the point itself, which the batch holds, so nothing moves.
        use crate::space::Parameter;
        let space = ParameterSpace::new(vec![Parameter {
            name: "n".into(),
            lower: 0.0,
            upper: 99.0,
            integer: true,
            log: false,
        }])
        .unwrap();
        let original: Vec<Vec<f64>> = (0..4).map(|i| space.snap(&[0.2 * i as f64])).collect();
        let mut probed = original.clone();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        assert_eq!(
            perturb_share(&space, &mut probed, &[], 1.0, 0.001, &mut rng),
            0
        );
        assert_eq!(probed, original);
    }

    #[test]
    fn standard_normal_draws_have_mean_zero_and_unit_variance() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let draws: Vec<f64> = (0..20_000).map(|_| standard_normal(&mut rng)).collect();
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        let variance = draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / draws.len() as f64;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((variance - 1.0).abs() < 0.05, "variance {variance}");
    }
}
