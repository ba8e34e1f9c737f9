//! Symmetric Latin hypercube design (Ye, Li & Sudjianto 2000, "Algorithmic construction of
//! optimal symmetric Latin hypercube designs", Journal of Statistical Planning and Inference
//! 90(1)), the construction behind dmosopt's default `slh` sampler.
//!
//! Each axis is cut into `n` equal strata and every point sits at the centre of its stratum.
//! In every dimension the first `⌊n/2⌋` points get a random permutation of strata, each drawn
//! at random from the lower or the upper half, and point `n − 1 − i` takes the mirror stratum
//! `n − 1 − s` of point `i`; for odd `n` the middle point takes the centre stratum. Hence every
//! one-dimensional projection has one point per stratum and point `n − 1 − i` is the
//! reflection of point `i` through the centre of the cube (`x ↦ 1 − x`). Unlike the original,
//! which fixes the first column to the identity, every column is randomised.

use rand::seq::SliceRandom;

/// `count` symmetric-Latin-hypercube points in `[0, 1)^dimension`.
pub(super) fn sample<R: rand::Rng + ?Sized>(
    count: usize,
    dimension: usize,
    rng: &mut R,
) -> Vec<Vec<f64>> {
    let half = count / 2;
    let mut points: Vec<Vec<f64>> = (0..count).map(|_| Vec::with_capacity(dimension)).collect();
    let mut lower_strata: Vec<usize> = (0..half).collect();
    let mut column = vec![0usize; count];
    for _ in 0..dimension {
        lower_strata.shuffle(rng);
        for (index, &stratum) in lower_strata.iter().enumerate() {
            let mirrored = count - 1 - stratum;
            let (own, partner) = if rng.random::<bool>() {
                (mirrored, stratum)
            } else {
                (stratum, mirrored)
            };
            column[index] = own;
            column[count - 1 - index] = partner;
        }
        if count % 2 == 1 {
            column[half] = half;
        }
        for (point, &stratum) in points.iter_mut().zip(&column) {
            point.push(super::within_stratum(stratum, count, 0.5));
        }
    }
    points
}
