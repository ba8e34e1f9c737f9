//! Latin hypercube sampling with jitter (McKay, Beckman & Conover 1979, "A comparison of three
//! methods for selecting values of input variables in the analysis of output from a computer
//! code", Technometrics 21(2)).
//!
//! Each axis is cut into `n` equal strata; every dimension gets an independent random
//! permutation assigning one stratum to each point, and the point is placed uniformly at random
//! inside its stratum, so each one-dimensional projection has exactly one point per stratum.

use rand::seq::SliceRandom;

use super::within_stratum;

/// `count` points in `[0, 1)^dimension`, one per stratum `[k/count, (k+1)/count)` in every
/// dimension.
pub(super) fn sample<R: rand::Rng + ?Sized>(
    count: usize,
    dimension: usize,
    rng: &mut R,
) -> Vec<Vec<f64>> {
    let mut points: Vec<Vec<f64>> = (0..count).map(|_| Vec::with_capacity(dimension)).collect();
    let mut strata: Vec<usize> = (0..count).collect();
    for _ in 0..dimension {
        strata.shuffle(rng);
        for (point, &stratum) in points.iter_mut().zip(&strata) {
            point.push(within_stratum(stratum, count, rng.random::<f64>()));
        }
    }
    points
}
