//! Monte Carlo design: `n` independent points, uniform on `[0, 1)^dim` (Metropolis & Ulam
//! 1949, "The Monte Carlo method", JASA 44(247)).

/// `count` uniform points in `[0, 1)^dimension`, drawn point by point.
pub(super) fn sample<R: rand::Rng + ?Sized>(
    count: usize,
    dimension: usize,
    rng: &mut R,
) -> Vec<Vec<f64>> {
    (0..count)
        .map(|_| (0..dimension).map(|_| rng.random::<f64>()).collect())
        .collect()
}
