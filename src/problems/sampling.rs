//! Deterministic point sets for sampling known Pareto fronts.
//!
//! - evenly spaced values and their map onto a union of intervals (disconnected fronts);
//! - the Das–Dennis simplex lattice (Das & Dennis 1998, the reference directions of NSGA-III);
//! - the Kronecker `R_d` low-discrepancy sequence (`α_j = φ_d^{−j}`, `φ_d` the root of
//!   `x^{d+1} = x + 1`; Roberts 2018);
//! - non-dominated filtering (minimization) and farthest-point thinning to exactly `n` points.

/// `count` evenly spaced values from `lower` to `upper` inclusive (one value: the midpoint).
pub(crate) fn linspace(count: usize, lower: f64, upper: f64) -> Vec<f64> {
    match count {
        0 => Vec::new(),
        1 => vec![0.5 * (lower + upper)],
        _ => {
            let step = (upper - lower) / (count - 1) as f64;
            (0..count)
                .map(|i| {
                    if i + 1 == count {
                        upper
                    } else {
                        lower + step * i as f64
                    }
                })
                .collect()
        }
    }
}

/// Map `u ∈ [0, 1]` onto a union of disjoint, increasing intervals, proportionally to length.
pub(crate) fn map_to_intervals(u: f64, intervals: &[(f64, f64)]) -> f64 {
    let total: f64 = intervals.iter().map(|(lower, upper)| upper - lower).sum();
    let mut remaining = u.clamp(0.0, 1.0) * total;
    for &(lower, upper) in intervals {
        let length = upper - lower;
        if remaining <= length {
            return lower + remaining;
        }
        remaining -= length;
    }
    intervals.last().map_or(0.0, |&(_, upper)| upper)
}

/// All points of the simplex `{w ≥ 0, Σ w = 1}` in `dimensions` coordinates whose coordinates
/// are multiples of `1 / divisions`.
pub(crate) fn simplex_lattice(dimensions: usize, divisions: usize) -> Vec<Vec<f64>> {
    let mut points = Vec::new();
    if dimensions == 0 || divisions == 0 {
        return points;
    }
    let mut current = Vec::with_capacity(dimensions);
    fill_lattice(&mut points, &mut current, dimensions, divisions, divisions);
    points
}

fn fill_lattice(
    points: &mut Vec<Vec<f64>>,
    current: &mut Vec<f64>,
    dimensions: usize,
    remaining: usize,
    divisions: usize,
) {
    if current.len() + 1 == dimensions {
        current.push(remaining as f64 / divisions as f64);
        points.push(current.clone());
        current.pop();
        return;
    }
    for part in 0..=remaining {
        current.push(part as f64 / divisions as f64);
        fill_lattice(points, current, dimensions, remaining - part, divisions);
        current.pop();
    }
}

/// Number of Das–Dennis lattice points, `C(divisions + dimensions − 1, dimensions − 1)`.
fn lattice_size(dimensions: usize, divisions: usize) -> f64 {
    (1..dimensions).fold(1.0, |size, i| size * (divisions + i) as f64 / i as f64)
}

/// Exactly `count` well-spread points on the unit simplex in `dimensions ≥ 2` coordinates
/// (evenly spaced for two; otherwise the coarsest Das–Dennis lattice with at least `count`
/// points, thinned by farthest-point selection).
pub(crate) fn simplex_points(dimensions: usize, count: usize) -> Vec<Vec<f64>> {
    if count == 0 || dimensions == 0 {
        return Vec::new();
    }
    if dimensions == 1 {
        return vec![vec![1.0]];
    }
    if dimensions == 2 {
        return linspace(count, 0.0, 1.0)
            .into_iter()
            .map(|t| vec![t, 1.0 - t])
            .collect();
    }
    let mut divisions = 1;
    while lattice_size(dimensions, divisions) < count as f64 {
        divisions += 1;
    }
    select_spread(simplex_lattice(dimensions, divisions), count)
}

/// The first `count` points of the Kronecker `R_d` sequence in `[0, 1)^dimensions`.
pub(crate) fn kronecker(count: usize, dimensions: usize) -> Vec<Vec<f64>> {
    let mut phi = 2.0_f64;
    for _ in 0..64 {
        phi = (1.0 + phi).powf(1.0 / (dimensions as f64 + 1.0));
    }
    let steps: Vec<f64> = (1..=dimensions).map(|j| phi.powi(-(j as i32))).collect();
    (0..count)
        .map(|i| {
            steps
                .iter()
                .map(|step| (0.5 + step * i as f64).fract())
                .collect()
        })
        .collect()
}

/// `a` dominates `b` (minimization): no worse everywhere, better somewhere.
pub(crate) fn dominates(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x <= y) && a.iter().zip(b).any(|(x, y)| x < y)
}

/// The points no other point dominates (order kept for more than two objectives).
pub(crate) fn nondominated(points: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    if points.first().is_some_and(|point| point.len() == 2) {
        let mut sorted = points;
        sorted.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
        let mut best_second = f64::INFINITY;
        let mut kept = Vec::new();
        for point in sorted {
            if point[1] < best_second {
                best_second = point[1];
                kept.push(point);
            }
        }
        return kept;
    }
    let keep: Vec<bool> = points
        .iter()
        .map(|point| !points.iter().any(|other| dominates(other, point)))
        .collect();
    points
        .into_iter()
        .zip(keep)
        .filter_map(|(point, kept)| kept.then_some(point))
        .collect()
}

/// Thin `candidates` to `count` points by farthest-point selection in range-normalized
/// coordinates, seeded with the maximizer of each coordinate (the extremes of a front).
pub(crate) fn select_spread(candidates: Vec<Vec<f64>>, count: usize) -> Vec<Vec<f64>> {
    if candidates.len() <= count {
        return candidates;
    }
    let dimensions = candidates.first().map_or(0, Vec::len);
    let scales: Vec<f64> = (0..dimensions)
        .map(|d| {
            let (lower, upper) = candidates
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                    (lo.min(p[d]), hi.max(p[d]))
                });
            let range = upper - lower;
            if range > 0.0 && range.is_finite() {
                1.0 / range
            } else {
                1.0
            }
        })
        .collect();
    let distance = |a: &[f64], b: &[f64]| -> f64 {
        a.iter()
            .zip(b)
            .zip(&scales)
            .map(|((x, y), scale)| ((x - y) * scale).powi(2))
            .sum()
    };
    let mut nearest = vec![f64::INFINITY; candidates.len()];
    let mut chosen: Vec<usize> = Vec::with_capacity(count);
    let choose = |index: usize, chosen: &mut Vec<usize>, nearest: &mut Vec<f64>| {
        chosen.push(index);
        for (i, candidate) in candidates.iter().enumerate() {
            nearest[i] = nearest[i].min(distance(candidate, &candidates[index]));
        }
    };
    for d in 0..dimensions {
        if chosen.len() == count {
            break;
        }
        let extreme = (0..candidates.len())
            .max_by(|&a, &b| candidates[a][d].total_cmp(&candidates[b][d]))
            .unwrap_or(0);
        if !chosen.contains(&extreme) {
            choose(extreme, &mut chosen, &mut nearest);
        }
    }
    while chosen.len() < count {
        let farthest = (0..candidates.len())
            .max_by(|&a, &b| nearest[a].total_cmp(&nearest[b]))
            .unwrap_or(0);
        choose(farthest, &mut chosen, &mut nearest);
    }
    chosen.sort_unstable();
    chosen.into_iter().map(|i| candidates[i].clone()).collect()
}

/// `count` points spread evenly by arc length along a two-objective front given as dense,
/// mutually non-dominated samples (sorted here by the first objective). Steps longer than
/// twenty times the median step are gaps between front pieces and add no length, so no point
/// is placed in a gap. Distances are measured in range-normalized coordinates.
pub(crate) fn spread_along_front(samples: Vec<Vec<f64>>, count: usize) -> Vec<Vec<f64>> {
    let mut samples = samples;
    samples.sort_by(|a, b| a[0].total_cmp(&b[0]));
    if samples.len() <= count || count == 0 {
        return if count == 0 { Vec::new() } else { samples };
    }
    let range = |d: usize| {
        let (lower, upper) = samples
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                (lo.min(p[d]), hi.max(p[d]))
            });
        if upper > lower {
            upper - lower
        } else {
            1.0
        }
    };
    let scales = [range(0), range(1)];
    let steps: Vec<f64> = samples
        .windows(2)
        .map(|pair| {
            ((pair[1][0] - pair[0][0]) / scales[0]).hypot((pair[1][1] - pair[0][1]) / scales[1])
        })
        .collect();
    let mut sorted_steps = steps.clone();
    sorted_steps.sort_by(f64::total_cmp);
    let gap = 20.0 * sorted_steps[sorted_steps.len() / 2];
    let mut cumulative = Vec::with_capacity(samples.len());
    cumulative.push(0.0);
    for step in &steps {
        let last = cumulative.last().copied().unwrap_or(0.0);
        cumulative.push(if *step > gap { last } else { last + step });
    }
    let total = cumulative.last().copied().unwrap_or(0.0);
    let mut chosen: Vec<usize> = linspace(count, 0.0, total)
        .into_iter()
        .map(|target| {
            let index = cumulative.partition_point(|&length| length < target);
            let below = index.saturating_sub(1);
            let above = index.min(samples.len() - 1);
            if (cumulative[above] - target).abs() < (target - cumulative[below]).abs() {
                above
            } else {
                below
            }
        })
        .collect();
    chosen.dedup();
    chosen.into_iter().map(|i| samples[i].clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linspace_covers_both_ends() {
        let cases: [(usize, Vec<f64>); 4] = [
            (0, vec![]),
            (1, vec![0.5]),
            (2, vec![0.0, 1.0]),
            (5, vec![0.0, 0.25, 0.5, 0.75, 1.0]),
        ];
        for (count, expected) in cases {
            assert_eq!(linspace(count, 0.0, 1.0), expected);
        }
    }

    #[test]
    fn intervals_are_covered_in_proportion() {
        let intervals = [(0.0, 1.0), (2.0, 5.0)];
        let cases = [(0.0, 0.0), (0.25, 1.0), (0.5, 3.0), (1.0, 5.0)];
        for (u, expected) in cases {
            assert!(
                (map_to_intervals(u, &intervals) - expected).abs() < 1e-12,
                "{u}"
            );
        }
    }

    #[test]
    fn lattice_has_the_binomial_size_and_lies_on_the_simplex() {
        for (dimensions, divisions) in [(2, 4), (3, 12), (5, 3)] {
            let points = simplex_lattice(dimensions, divisions);
            assert_eq!(points.len() as f64, lattice_size(dimensions, divisions));
            for point in points {
                assert!((point.iter().sum::<f64>() - 1.0).abs() < 1e-12);
                assert!(point.iter().all(|&w| w >= 0.0));
            }
        }
    }

    #[test]
    fn simplex_points_have_exactly_the_requested_count_and_include_corners() {
        for (dimensions, count) in [(2, 7), (3, 1), (3, 2), (3, 100), (4, 50), (6, 10)] {
            let points = simplex_points(dimensions, count);
            assert_eq!(points.len(), count, "{dimensions} {count}");
            for d in 0..dimensions.min(count) {
                assert!(points.iter().any(|p| p[d] == 1.0), "corner {d}");
            }
        }
    }

    #[test]
    fn kronecker_points_are_in_the_unit_cube_and_distinct() {
        let points = kronecker(200, 3);
        assert_eq!(points.len(), 200);
        assert!(points.iter().flatten().all(|&v| (0.0..1.0).contains(&v)));
        for (i, a) in points.iter().enumerate() {
            for b in &points[i + 1..] {
                assert!(a.iter().zip(b).any(|(x, y)| (x - y).abs() > 1e-9));
            }
        }
    }

    #[test]
    fn spread_along_front_skips_gaps() {
        // Two pieces of the line f2 = 1 − f1: [0, 0.25] and [0.75, 1], densely sampled.
        let samples: Vec<Vec<f64>> = linspace(4001, 0.0, 1.0)
            .into_iter()
            .filter(|t| *t <= 0.25 || *t >= 0.75)
            .map(|t| vec![t, 1.0 - t])
            .collect();
        let points = spread_along_front(samples, 21);
        assert_eq!(points.len(), 21);
        assert!(points.iter().all(|p| p[0] <= 0.25 || p[0] >= 0.75));
        assert_eq!(points.first().map(|p| p[0]), Some(0.0));
        assert_eq!(points.last().map(|p| p[0]), Some(1.0));
        assert!((10..=11).contains(&points.iter().filter(|p| p[0] <= 0.25).count()));
    }

    #[test]
    fn nondominated_filter_keeps_the_front() {
        for dimensions in [2, 3] {
            let mut points = vec![vec![1.0; dimensions], vec![2.0; dimensions]];
            let mut other = vec![0.5; dimensions];
            other[0] = 3.0;
            points.push(other.clone());
            let kept = nondominated(points);
            assert_eq!(kept.len(), 2, "{dimensions}");
            assert!(kept.contains(&vec![1.0; dimensions]) && kept.contains(&other));
        }
    }
}
