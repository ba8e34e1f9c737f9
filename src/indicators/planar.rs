//! Hypervolume in one and two objectives.
//!
//! One objective: the dominated length is `reference − min`. Two objectives: sort the points
//! by the first objective and sweep, adding the rectangle each point contributes below the
//! staircase of the points before it — the classic O(n log n) method (see e.g. Beume et al.
//! 2009, "On the complexity of computing the hypervolume indicator", IEEE TEVC 13(5)).
//!
//! Points are passed flat (`dimension` consecutive values per point) and must already lie
//! strictly inside the reference box.

/// Hypervolume of 1-objective values strictly below `reference`.
pub(super) fn hypervolume_1d(values: &[f64], reference: f64) -> f64 {
    let best = values.iter().copied().fold(f64::INFINITY, f64::min);
    if best < reference {
        reference - best
    } else {
        0.0
    }
}

/// Hypervolume of 2-objective points given flat, all strictly inside the reference box.
pub(super) fn hypervolume_2d(flat: &[f64], reference: &[f64]) -> f64 {
    let mut points: Vec<[f64; 2]> = flat
        .chunks_exact(2)
        .map(|point| [point[0], point[1]])
        .collect();
    points.sort_unstable_by(|left, right| {
        left[0]
            .total_cmp(&right[0])
            .then(left[1].total_cmp(&right[1]))
    });
    let mut area = 0.0;
    let mut staircase_height = reference[1];
    for [first, second] in points {
        if second < staircase_height {
            area += (reference[0] - first) * (staircase_height - second);
            staircase_height = second;
        }
    }
    area
}
