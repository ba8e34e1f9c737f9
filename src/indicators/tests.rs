//! Tests of the quality indicators against brute-force references (a coordinate-compressed
//! grid count of the box union, and inclusion–exclusion), known analytic values and proptest
//! invariants.

use super::{hypervolume, igd, igd_plus};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Exact union volume of the boxes `[p, reference]` by counting the cells of the grid spanned
/// by all coordinates (O(n^(d+1)) — small sets only).
fn grid_hypervolume(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    let inside: Vec<&Vec<f64>> = points
        .iter()
        .filter(|point| {
            point
                .iter()
                .zip(reference)
                .all(|(value, bound)| value < bound)
        })
        .collect();
    let dimension = reference.len();
    let breaks: Vec<Vec<f64>> = (0..dimension)
        .map(|objective| {
            let mut values: Vec<f64> = inside.iter().map(|point| point[objective]).collect();
            values.push(reference[objective]);
            values.sort_by(f64::total_cmp);
            values.dedup();
            values
        })
        .collect();
    grid_recurse(&inside, &breaks, 0)
}

fn grid_recurse(points: &[&Vec<f64>], breaks: &[Vec<f64>], objective: usize) -> f64 {
    if objective == breaks.len() {
        return if points.is_empty() { 0.0 } else { 1.0 };
    }
    let mut volume = 0.0;
    for window in breaks[objective].windows(2) {
        let covering: Vec<&Vec<f64>> = points
            .iter()
            .copied()
            .filter(|point| point[objective] <= window[0])
            .collect();
        if !covering.is_empty() {
            volume += (window[1] - window[0]) * grid_recurse(&covering, breaks, objective + 1);
        }
    }
    volume
}

/// Union volume by inclusion–exclusion over all non-empty subsets (n ≤ ~12).
fn inclusion_exclusion(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    let inside: Vec<&Vec<f64>> = points
        .iter()
        .filter(|point| {
            point
                .iter()
                .zip(reference)
                .all(|(value, bound)| value < bound)
        })
        .collect();
    let mut volume = 0.0;
    for mask in 1u32..(1u32 << inside.len()) {
        let mut corner = vec![f64::NEG_INFINITY; reference.len()];
        for (index, point) in inside.iter().enumerate() {
            if mask & (1 << index) != 0 {
                for (slot, value) in corner.iter_mut().zip(point.iter()) {
                    *slot = slot.max(*value);
                }
            }
        }
        let box_volume: f64 = corner
            .iter()
            .zip(reference)
            .map(|(value, bound)| bound - value)
            .product();
        let sign = if mask.count_ones() % 2 == 1 {
            1.0
        } else {
            -1.0
        };
        volume += sign * box_volume;
    }
    volume
}

/// Slice-by-slice hypervolume on the last objective (HSO-style), using [`hypervolume`] one
/// objective lower: an independent exact path for larger sets in 4 and 5 objectives.
fn sliced_hypervolume(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    let last = reference.len() - 1;
    let mut inside: Vec<&Vec<f64>> = points
        .iter()
        .filter(|point| {
            point
                .iter()
                .zip(reference)
                .all(|(value, bound)| value < bound)
        })
        .collect();
    inside.sort_by(|left, right| left[last].total_cmp(&right[last]));
    let mut volume = 0.0;
    for index in 0..inside.len() {
        let top = if index + 1 < inside.len() {
            inside[index + 1][last]
        } else {
            reference[last]
        };
        let projected: Vec<Vec<f64>> = inside[..=index]
            .iter()
            .map(|point| point[..last].to_vec())
            .collect();
        volume += (top - inside[index][last]) * hypervolume(&projected, &reference[..last]);
    }
    volume
}

fn random_points(rng: &mut ChaCha8Rng, count: usize, dimension: usize) -> Vec<Vec<f64>> {
    (0..count)
        .map(|_| (0..dimension).map(|_| rng.random::<f64>()).collect())
        .collect()
}

/// Points on a coarse grid (many ties, duplicates and points on the reference boundary).
fn lattice_points(rng: &mut ChaCha8Rng, count: usize, dimension: usize) -> Vec<Vec<f64>> {
    (0..count)
        .map(|_| {
            (0..dimension)
                .map(|_| f64::from(rng.random_range(0..5u8)) * 0.25)
                .collect()
        })
        .collect()
}

/// Points on the positive unit-sphere orthant (mutually non-dominated).
fn sphere_points(rng: &mut ChaCha8Rng, count: usize, dimension: usize) -> Vec<Vec<f64>> {
    (0..count)
        .map(|_| {
            let raw: Vec<f64> = (0..dimension)
                .map(|_| rng.random::<f64>().max(1e-9))
                .collect();
            let norm = raw.iter().map(|value| value * value).sum::<f64>().sqrt();
            raw.iter().map(|value| value / norm).collect()
        })
        .collect()
}

fn assert_close(actual: f64, expected: f64, tolerance: f64) {
    assert!(
        (actual - expected).abs() <= tolerance * expected.abs().max(1.0),
        "actual {actual} expected {expected}"
    );
}

#[test]
fn empty_and_trivial_inputs() {
    assert_eq!(hypervolume(&[], &[1.0, 1.0]), 0.0);
    assert_eq!(hypervolume(&[vec![]], &[]), 0.0);
    assert_eq!(hypervolume(&[vec![2.0, 0.0]], &[1.0, 1.0]), 0.0);
    assert_eq!(hypervolume(&[vec![1.0, 0.0, 0.0]], &[1.0, 1.0, 1.0]), 0.0);
    assert_eq!(hypervolume(&[vec![f64::NAN, 0.0]], &[1.0, 1.0]), 0.0);
    assert_eq!(hypervolume(&[vec![0.25], vec![0.5]], &[1.0]), 0.75);
}

#[test]
fn single_point_is_its_box() {
    for dimension in 1..=7 {
        let point: Vec<f64> = (0..dimension).map(|index| 0.1 * index as f64).collect();
        let reference = vec![2.0; dimension];
        let expected: f64 = point.iter().map(|value| 2.0 - value).product();
        assert_close(
            hypervolume(std::slice::from_ref(&point), &reference),
            expected,
            1e-14,
        );
        let duplicated = vec![point.clone(), point.clone(), point];
        assert_close(hypervolume(&duplicated, &reference), expected, 1e-14);
    }
}

#[test]
#[should_panic(expected = "objectives")]
fn mismatched_lengths_panic() {
    hypervolume(&[vec![0.0, 0.0]], &[1.0, 1.0, 1.0]);
}

#[test]
fn matches_brute_force_on_random_sets() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for dimension in 2..=5 {
        let largest = if dimension <= 3 { 12 } else { 8 };
        for trial in 0..60 {
            let count = rng.random_range(1..=largest);
            let points = if trial % 2 == 0 {
                random_points(&mut rng, count, dimension)
            } else {
                lattice_points(&mut rng, count, dimension)
            };
            let reference = vec![1.0; dimension];
            let expected = grid_hypervolume(&points, &reference);
            assert_close(hypervolume(&points, &reference), expected, 1e-12);
            if count <= 10 {
                assert_close(inclusion_exclusion(&points, &reference), expected, 1e-10);
            }
        }
    }
}

#[test]
fn matches_slicing_on_larger_sets() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for (dimension, count) in [(3, 300), (4, 120), (5, 40), (6, 20)] {
        for generator in 0..3 {
            let points = match generator {
                0 => random_points(&mut rng, count, dimension),
                1 => lattice_points(&mut rng, count, dimension),
                _ => sphere_points(&mut rng, count, dimension),
            };
            let reference = vec![1.1; dimension];
            let expected = sliced_hypervolume(&points, &reference);
            assert_close(hypervolume(&points, &reference), expected, 1e-11);
        }
    }
}

#[test]
fn embedding_adds_a_constant_factor() {
    // A 3-objective front lifted into 4 and 5 objectives with constant extra coordinates runs
    // the WFG path; its volume is the 3-objective volume times the extra side lengths.
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let front = sphere_points(&mut rng, 200, 3);
    let base = hypervolume(&front, &[1.1, 1.1, 1.1]);
    let lifted_last: Vec<Vec<f64>> = front
        .iter()
        .map(|point| [point.as_slice(), &[0.5]].concat())
        .collect();
    assert_close(
        hypervolume(&lifted_last, &[1.1, 1.1, 1.1, 2.0]),
        base * 1.5,
        1e-12,
    );
    let lifted_first: Vec<Vec<f64>> = front
        .iter()
        .map(|point| [&[0.0, 0.25], point.as_slice()].concat())
        .collect();
    assert_close(
        hypervolume(&lifted_first, &[1.0, 1.0, 1.1, 1.1, 1.1]),
        base * 0.75,
        1e-12,
    );
}

#[test]
fn zdt1_front_approaches_exact_value() {
    let count = 1000;
    let front: Vec<Vec<f64>> = (0..count)
        .map(|index| {
            let first = index as f64 / (count - 1) as f64;
            vec![first, 1.0 - first.sqrt()]
        })
        .collect();
    let value = hypervolume(&front, &[1.1, 1.1]);
    let exact = 0.1 + 2.0 / 3.0 + 0.11;
    assert!(value < exact && exact - value < 1e-3, "{value}");
}

/// A polar × azimuth grid of `steps²` points on the unit sphere's positive octant.
fn sphere_grid(steps: usize) -> Vec<Vec<f64>> {
    let angle = |step: usize| std::f64::consts::FRAC_PI_2 * step as f64 / (steps - 1) as f64;
    let mut front = Vec::with_capacity(steps * steps);
    for polar_step in 0..steps {
        for azimuth_step in 0..steps {
            let (polar, azimuth) = (angle(polar_step), angle(azimuth_step));
            front.push(vec![
                polar.sin() * azimuth.cos(),
                polar.sin() * azimuth.sin(),
                polar.cos(),
            ]);
        }
    }
    front
}

#[test]
fn dtlz2_sphere_front_approaches_exact_value() {
    let exact = 1.1f64.powi(3) - std::f64::consts::PI / 6.0;
    assert!((0.807401 - exact).abs() < 1e-6);
    let coarse_gap = exact - hypervolume(&sphere_grid(150), &[1.1; 3]);
    let fine_gap = exact - hypervolume(&sphere_grid(300), &[1.1; 3]);
    // The uncovered sliver shrinks linearly with the grid spacing.
    assert!(fine_gap > 0.0 && fine_gap < 2.5e-3, "{fine_gap}");
    let ratio = coarse_gap / fine_gap;
    assert!((1.8..2.2).contains(&ratio), "{coarse_gap} / {fine_gap}");
}

#[test]
fn dtlz2_four_objectives_grows_towards_exact_value() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let front = sphere_points(&mut rng, 800, 4);
    let exact = 1.1f64.powi(4) - std::f64::consts::PI.powi(2) / 32.0;
    let sparse = hypervolume(&front[..200], &[1.1; 4]);
    let dense = hypervolume(&front, &[1.1; 4]);
    assert!(sparse < dense && dense < exact, "{sparse} {dense} {exact}");
}

#[test]
fn distance_indicators_known_values() {
    let front = vec![vec![0.0, 1.0], vec![0.5, 0.5], vec![1.0, 0.0]];
    assert_eq!(igd(&front, &front), 0.0);
    assert_eq!(igd_plus(&front, &front), 0.0);
    let shifted: Vec<Vec<f64>> = front
        .iter()
        .map(|point| vec![point[0] + 0.3, point[1] + 0.4])
        .collect();
    assert_close(igd(&shifted, &front), 0.5, 1e-12);
    assert_close(igd_plus(&shifted, &front), 0.5, 1e-12);
    let single = vec![vec![2.0, 2.0]];
    let targets = vec![vec![1.0, 3.0], vec![3.0, 1.0]];
    assert_close(igd(&single, &targets), std::f64::consts::SQRT_2, 1e-12);
    assert_close(igd_plus(&single, &targets), 1.0, 1e-12);
    let dominating = vec![vec![-1.0, -1.0]];
    assert_eq!(igd_plus(&dominating, &front), 0.0);
    assert!(igd(&dominating, &front) > 0.0);
    assert_eq!(igd(&[], &front), f64::INFINITY);
    assert_eq!(igd_plus(&front, &[]), 0.0);
}

/// Point sets with 2–5 objectives in [0, 1], snapped to a grid of 1/8 half the time.
fn point_sets(largest: usize) -> impl Strategy<Value = Vec<Vec<f64>>> {
    (2usize..=5, any::<bool>()).prop_flat_map(move |(dimension, snapped)| {
        let coordinate = (0.0f64..1.0).prop_map(move |value| {
            if snapped {
                (value * 8.0).floor() / 8.0
            } else {
                value
            }
        });
        prop::collection::vec(prop::collection::vec(coordinate, dimension), 0..largest)
    })
}

fn reference_for(points: &[Vec<f64>]) -> Vec<f64> {
    vec![1.0; points.first().map_or(2, Vec::len)]
}

proptest! {
    #[test]
    fn agrees_with_grid_count(points in point_sets(7)) {
        let reference = reference_for(&points);
        let expected = grid_hypervolume(&points, &reference);
        let actual = hypervolume(&points, &reference);
        prop_assert!((actual - expected).abs() <= 1e-12, "{} vs {}", actual, expected);
    }

    #[test]
    fn permutation_invariant(
        (points, shuffled) in point_sets(40).prop_flat_map(|points| {
            let shuffled = Just(points.clone()).prop_shuffle();
            (Just(points), shuffled)
        })
    ) {
        let reference = reference_for(&points);
        let original = hypervolume(&points, &reference);
        let permuted = hypervolume(&shuffled, &reference);
        prop_assert!((original - permuted).abs() <= 1e-12);
    }

    #[test]
    fn adding_a_point_never_decreases(
        points in point_sets(40),
        extra in prop::collection::vec(0.0f64..1.0, 5),
    ) {
        let reference = reference_for(&points);
        let mut larger = points.clone();
        larger.push(extra[..reference.len()].to_vec());
        prop_assert!(hypervolume(&larger, &reference) >= hypervolume(&points, &reference) - 1e-12);
    }

    #[test]
    fn dominated_points_change_nothing(
        points in point_sets(40),
        pick in any::<prop::sample::Index>(),
        offsets in prop::collection::vec(0.0f64..0.3, 5),
    ) {
        prop_assume!(!points.is_empty());
        let reference = reference_for(&points);
        let base = &points[pick.index(points.len())];
        let mut larger = points.clone();
        larger.push(base.iter().zip(&offsets).map(|(value, offset)| value + offset).collect());
        larger.push(base.clone());
        let before = hypervolume(&points, &reference);
        prop_assert!((hypervolume(&larger, &reference) - before).abs() <= 1e-12);
    }

    #[test]
    fn subset_is_not_larger(
        points in point_sets(40),
        keep in prop::collection::vec(any::<bool>(), 40),
    ) {
        let reference = reference_for(&points);
        let subset: Vec<Vec<f64>> = points
            .iter()
            .zip(&keep)
            .filter(|(_, kept)| **kept)
            .map(|(point, _)| point.clone())
            .collect();
        prop_assert!(hypervolume(&subset, &reference) <= hypervolume(&points, &reference) + 1e-12);
    }
}
