//! Tests of the space-filling designs: shape and range, Latin stratification, the symmetry of
//! the symmetric design, reproducibility, and the balance of Sobol' nets.

use super::{sample_unit, SamplingMethod};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn draw(method: SamplingMethod, count: usize, dimension: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    sample_unit(method, count, dimension, &mut rng)
}

/// The stratum `k` with `k/n <= value < (k+1)/n`, or `None` outside `[0, 1)`.
fn stratum_of(value: f64, count: usize) -> Option<usize> {
    (0..count).find(|&stratum| {
        stratum as f64 / count as f64 <= value && value < (stratum + 1) as f64 / count as f64
    })
}

#[test]
fn every_method_gives_points_in_the_unit_cube() {
    for method in SamplingMethod::ALL {
        for (count, dimension) in [(0, 3), (1, 1), (1, 4), (7, 3), (64, 5), (101, 12), (5, 0)] {
            let points = draw(method, count, dimension, 1);
            assert_eq!(points.len(), count, "{method}");
            for point in &points {
                assert_eq!(point.len(), dimension, "{method}");
                assert!(
                    point.iter().all(|value| (0.0..1.0).contains(value)),
                    "{method}"
                );
            }
        }
    }
}

#[test]
fn latin_designs_fill_every_stratum_once() {
    for method in [SamplingMethod::Lhs, SamplingMethod::Slh] {
        for count in [1, 2, 3, 10, 11, 50, 257] {
            let points = draw(method, count, 6, count as u64);
            for dimension in 0..6 {
                let mut hits = vec![0usize; count];
                for point in &points {
                    let stratum = stratum_of(point[dimension], count);
                    assert!(stratum.is_some(), "{method} {count}");
                    if let Some(stratum) = stratum {
                        hits[stratum] += 1;
                    }
                }
                assert!(
                    hits.iter().all(|&hit| hit == 1),
                    "{method} n={count}: {hits:?}"
                );
            }
        }
    }
}

#[test]
fn symmetric_design_mirrors_pairs_through_the_centre() {
    for count in [2, 9, 10, 33] {
        let points = draw(SamplingMethod::Slh, count, 5, 3);
        for index in 0..count {
            let partner = &points[count - 1 - index];
            for (value, mirrored) in points[index].iter().zip(partner) {
                assert!((value + mirrored - 1.0).abs() < 1e-12, "{value} {mirrored}");
            }
        }
        if count % 2 == 1 {
            assert!(points[count / 2]
                .iter()
                .all(|value| (value - 0.5).abs() < 1e-12));
        }
    }
}

#[test]
fn same_seed_same_points_different_seed_different_points() {
    for method in SamplingMethod::ALL {
        assert_eq!(draw(method, 20, 4, 42), draw(method, 20, 4, 42), "{method}");
        assert_ne!(draw(method, 20, 4, 42), draw(method, 20, 4, 43), "{method}");
    }
}

#[test]
fn sobol_prefixes_are_balanced() {
    for seed in 0..4 {
        let points = draw(SamplingMethod::Sobol, 256, 20, seed);
        for exponent in 1..=8 {
            let prefix = &points[..1 << exponent];
            for dimension in 0..20 {
                let lower = prefix.iter().filter(|point| point[dimension] < 0.5).count();
                assert_eq!(
                    lower,
                    1 << (exponent - 1),
                    "k={exponent} dimension={dimension}"
                );
                // Finer: each of the 2^k strata of width 2^-k holds exactly one point.
                let mut hits = vec![0usize; 1 << exponent];
                for point in prefix {
                    hits[(point[dimension] * f64::from(1u32 << exponent)) as usize] += 1;
                }
                assert!(hits.iter().all(|&hit| hit == 1));
            }
        }
    }
}

#[test]
fn sobol_pads_beyond_the_native_dimensions() {
    let points = draw(SamplingMethod::Sobol, 64, 300, 9);
    for dimension in [0, 255, 256, 299] {
        let lower = points.iter().filter(|point| point[dimension] < 0.5).count();
        assert_eq!(lower, 32, "dimension {dimension}");
    }
    let column = |index: usize| -> Vec<f64> { points.iter().map(|point| point[index]).collect() };
    assert_ne!(column(3), column(259));
}

#[test]
fn sobol_continues_past_one_sequence_with_fresh_nets() {
    let native = 1 << 16;
    let points = draw(SamplingMethod::Sobol, native + 1024, 2, 4);
    let next_block = &points[native..];
    for dimension in 0..2 {
        let lower = next_block
            .iter()
            .filter(|point| point[dimension] < 0.5)
            .count();
        assert_eq!(lower, 512, "dimension {dimension}");
    }
    assert_ne!(&points[..1024], next_block);
    assert!(points
        .iter()
        .flatten()
        .all(|value| (0.0..1.0).contains(value)));
}

#[test]
fn names_round_trip() {
    let names: Vec<&str> = SamplingMethod::ALL
        .iter()
        .map(|method| method.name())
        .collect();
    assert_eq!(names, ["slh", "lhs", "sobol", "mc"]);
    for method in SamplingMethod::ALL {
        assert_eq!(method.name().parse::<SamplingMethod>(), Ok(method));
        assert_eq!(method.to_string(), method.name());
    }
    assert!("latin".parse::<SamplingMethod>().is_err());
}
