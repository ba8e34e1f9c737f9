//! Distance-based indicators: IGD and IGD+.
//!
//! IGD (Coello Coello & Reyes Sierra 2004, "A study of the parallelization of a coevolutionary
//! multi-objective evolutionary algorithm", MICAI) is the mean, over the points `z` of a
//! reference front, of the Euclidean distance from `z` to the nearest approximation point.
//! IGD+ (Ishibuchi, Masuda, Tanigaki & Nojima 2015, "Modified distance calculation in
//! generational distance and inverted generational distance", EMO 2015) replaces that distance
//! by `d⁺(a, z) = ‖max(a − z, 0)‖₂`, which only counts how far `a` is *worse* than `z` and makes
//! the indicator weakly Pareto compliant. Both are O(|approximation| · |reference| · m).
//!
//! Conventions: an empty reference front gives 0 (nothing to cover); an empty approximation
//! against a non-empty reference front gives `+∞`.

/// Inverted generational distance: mean over reference-front points of the Euclidean distance
/// to the nearest approximation point.
pub fn igd(approximation: &[Vec<f64>], reference_front: &[Vec<f64>]) -> f64 {
    mean_nearest(approximation, reference_front, |point, target| {
        point
            .iter()
            .zip(target)
            .map(|(value, goal)| (value - goal) * (value - goal))
            .sum()
    })
}

/// IGD+: mean over reference-front points of the distance `‖max(a − z, 0)‖₂` to the nearest
/// approximation point `a` (only the amounts by which `a` is worse than `z` count).
pub fn igd_plus(approximation: &[Vec<f64>], reference_front: &[Vec<f64>]) -> f64 {
    mean_nearest(approximation, reference_front, |point, target| {
        point
            .iter()
            .zip(target)
            .map(|(value, goal)| {
                let excess = (value - goal).max(0.0);
                excess * excess
            })
            .sum()
    })
}

/// Mean over `reference_front` of the square root of the smallest `squared_distance` to a
/// point of `approximation`.
fn mean_nearest(
    approximation: &[Vec<f64>],
    reference_front: &[Vec<f64>],
    squared_distance: impl Fn(&[f64], &[f64]) -> f64,
) -> f64 {
    if reference_front.is_empty() {
        return 0.0;
    }
    if approximation.is_empty() {
        return f64::INFINITY;
    }
    let total: f64 = reference_front
        .iter()
        .map(|target| {
            approximation
                .iter()
                .map(|point| {
                    debug_assert_eq!(point.len(), target.len(), "objective counts differ");
                    squared_distance(point, target)
                })
                .fold(f64::INFINITY, f64::min)
                .sqrt()
        })
        .sum();
    total / reference_front.len() as f64
}
