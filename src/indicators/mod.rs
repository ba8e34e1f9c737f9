//! Quality indicators for approximation sets of a multi-objective problem.
//!
//! All objectives are minimised. The module provides
//!
//! * [`hypervolume`] — the exact Lebesgue measure of the region dominated by a point set and
//!   bounded by a reference point (Zitzler & Thiele 1998, "Multiobjective optimization using
//!   evolutionary algorithms — a comparative case study", PPSN V). The computation is
//!   dispatched on the number of objectives:
//!   - 1 objective: the length `reference − min`;
//!   - 2 objectives: sort and sweep, O(n log n) (module `planar`);
//!   - 3 objectives: the dimension-sweep algorithm with a balanced search tree of Beume,
//!     Fonseca, López-Ibáñez, Paquete & Vahrenhold 2009, "On the complexity of computing the
//!     hypervolume indicator", IEEE TEVC 13(5), O(n log n) (module `sweep3d`);
//!   - 4 or more objectives: the WFG algorithm of While, Bradstreet & Barone 2012, "A fast
//!     way of calculating exact hypervolumes", IEEE TEVC 16(1), with the slicing on the last
//!     objective and the 3-objective sweep as its base case (module `wfg`).
//! * [`igd`] and [`igd_plus`] — inverted generational distance (Coello & Reyes Sierra 2004)
//!   and its Pareto-compliant modification IGD+ (Ishibuchi, Masuda, Tanigaki & Nojima 2015,
//!   "Modified distance calculation in generational distance and inverted generational
//!   distance", EMO 2015) (module `distance`).

mod distance;
mod nondominated;
mod planar;
mod sweep3d;
mod wfg;

#[cfg(test)]
mod tests;

pub use distance::{igd, igd_plus};

/// Exact hypervolume dominated by `points` w.r.t. `reference` (points that do not strictly
/// dominate the reference in every objective contribute nothing; duplicates and dominated
/// points allowed; empty → 0).
///
/// The hypervolume is the volume of the union of the boxes `[p, reference]` over all points
/// `p` with `p[i] < reference[i]` for every objective `i`. Points with a NaN coordinate never
/// satisfy that test and are ignored. A zero-length reference gives 0.
///
/// # Panics
///
/// Panics if a point has a different number of objectives than `reference`.
pub fn hypervolume(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    let dimension = reference.len();
    let mut flat = Vec::with_capacity(points.len() * dimension);
    for point in points {
        assert_eq!(
            point.len(),
            dimension,
            "hypervolume: a point has {} objectives but the reference has {}",
            point.len(),
            dimension
        );
        if strictly_dominates(point, reference) {
            flat.extend_from_slice(point);
        }
    }
    if dimension == 0 || flat.is_empty() {
        return 0.0;
    }
    match dimension {
        1 => planar::hypervolume_1d(&flat, reference[0]),
        2 => planar::hypervolume_2d(&flat, reference),
        3 => sweep3d::hypervolume_3d(&flat, reference),
        _ => wfg::hypervolume(flat, reference),
    }
}

/// `true` when `point` is strictly better than `reference` in every objective.
fn strictly_dominates(point: &[f64], reference: &[f64]) -> bool {
    point
        .iter()
        .zip(reference)
        .all(|(value, bound)| value < bound)
}
