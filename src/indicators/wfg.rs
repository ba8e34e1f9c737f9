//! Exact hypervolume in four or more objectives: the WFG algorithm.
//!
//! While, Bradstreet & Barone 2012, "A fast way of calculating exact hypervolumes", IEEE TEVC
//! 16(1). The hypervolume of a set is the sum of the exclusive contributions of its points,
//! each taken against the points not yet visited; the exclusive contribution of `p` against a
//! set `Q` is `inclusive(p) − HV(limit(Q, p))`, where `limit` clips every point of `Q` to the
//! box of `p` and is reduced to its non-dominated subset before recursing.
//!
//! Visiting the points from worst to best in the last objective, every point of `Q` is at
//! least as good as `p` in that objective, so all limit points share `p`'s last coordinate and
//! the
//! recursion drops one objective ("slicing", as in the WFG paper): the contribution is
//! `(reference_last − p_last) · (inclusive'(p) − HV'(limit'(Q, p)))` in one fewer objective.
//! Recursion stops at three objectives with the O(n log n) sweep of [`super::sweep3d`].
//!
//! Point sets are stored flat and in ascending order of their last objective; scratch buffers
//! are kept per recursion depth so the inner loops do not allocate.

use super::nondominated::filter_sorted;
use super::sweep3d;

/// Hypervolume of points given flat (`reference.len() ≥ 3` values each), all strictly inside
/// the reference box; dominated points and duplicates are allowed.
pub(super) fn hypervolume(flat: Vec<f64>, reference: &[f64]) -> f64 {
    let dimension = reference.len();
    let mut order: Vec<usize> = (0..flat.len() / dimension).collect();
    sort_by_objective(&mut order, &flat, dimension, dimension - 1);
    let mut sorted = Vec::with_capacity(flat.len());
    for &index in &order {
        sorted.extend_from_slice(&flat[index * dimension..(index + 1) * dimension]);
    }
    drop(flat);
    let mut front = Vec::with_capacity(sorted.len());
    filter_sorted(sorted.chunks_exact(dimension), dimension, &mut front);
    drop(sorted);
    let mut workspace = Workspace::new(dimension);
    hypervolume_ascending(&front, dimension, reference, &mut workspace)
}

/// Sorts point indices by ascending value of `objective` (points flat, `dimension` each).
fn sort_by_objective(order: &mut [usize], flat: &[f64], dimension: usize, objective: usize) {
    order.sort_unstable_by(|&left, &right| {
        flat[left * dimension + objective].total_cmp(&flat[right * dimension + objective])
    });
}

/// Scratch buffers for one recursion depth.
#[derive(Default)]
struct LevelBuffers {
    /// Indices of the level's points in ascending order of the next-lower last objective.
    order: Vec<usize>,
    limit: Vec<f64>,
    /// (sum, position) of the limit points tied in their last objective.
    tied: Vec<(f64, usize)>,
    front: Vec<f64>,
}

/// Scratch buffers indexed by the number of objectives of the level that owns them.
struct Workspace {
    levels: Vec<LevelBuffers>,
}

impl Workspace {
    fn new(dimension: usize) -> Self {
        Self {
            levels: (0..=dimension).map(|_| LevelBuffers::default()).collect(),
        }
    }
}

/// Hypervolume of `points` (`dimension` values each) in ascending order of their last
/// objective, using the first `dimension` entries of `reference`.
fn hypervolume_ascending(
    points: &[f64],
    dimension: usize,
    reference: &[f64],
    workspace: &mut Workspace,
) -> f64 {
    let count = points.len() / dimension;
    match count {
        0 => return 0.0,
        1 => return inclusive(points, reference, dimension),
        2 => return pair(points, reference, dimension),
        _ => {}
    }
    if dimension == 3 {
        return sweep3d::sweep(points.chunks_exact(3), reference);
    }
    let mut buffers = std::mem::take(&mut workspace.levels[dimension]);
    let lower = dimension - 1;
    buffers.order.clear();
    buffers.order.extend(0..count);
    sort_by_objective(&mut buffers.order, points, dimension, lower - 1);
    let mut volume = 0.0;
    for index in (0..count).rev() {
        let point = &points[index * dimension..(index + 1) * dimension];
        let Some(tied) = limit_set(points, &buffers.order, index, dimension, &mut buffers.limit)
        else {
            continue;
        };
        let mut slice = inclusive(point, reference, lower);
        if !buffers.limit.is_empty() {
            // The first `tied` limit points share the last objective; the filter is exact in
            // any order, but visiting them by ascending sum (dominators first) is much faster.
            let limit = &buffers.limit;
            buffers.tied.clear();
            buffers.tied.extend(
                limit
                    .chunks_exact(lower)
                    .take(tied)
                    .enumerate()
                    .map(|(position, chunk)| (chunk.iter().sum::<f64>(), position)),
            );
            buffers
                .tied
                .sort_unstable_by(|left, right| left.0.total_cmp(&right.0));
            let tied_first = buffers
                .tied
                .iter()
                .map(|&(_, position)| &limit[position * lower..(position + 1) * lower]);
            let rest = limit.chunks_exact(lower).skip(tied);
            filter_sorted(tied_first.chain(rest), lower, &mut buffers.front);
            slice -= hypervolume_ascending(&buffers.front, lower, reference, workspace);
        }
        volume += (reference[lower] - point[lower]) * slice;
    }
    workspace.levels[dimension] = buffers;
    volume
}

/// Fills `limit` with the points before `index` (those at least as good in the last
/// objective) clipped to the box of point `index`, without the last objective, visited in
/// `order` so that the limit set comes out in ascending order of its own last objective.
/// Returns how many leading limit points were clipped in their last objective (so all share
/// it), or `None` when one of them weakly dominates the point in the remaining objectives,
/// i.e. when the point contributes nothing.
fn limit_set(
    points: &[f64],
    order: &[usize],
    index: usize,
    dimension: usize,
    limit: &mut Vec<f64>,
) -> Option<usize> {
    let lower = dimension - 1;
    let point = &points[index * dimension..(index + 1) * dimension];
    limit.clear();
    let mut tied = 0;
    for &other_index in order {
        if other_index >= index {
            continue;
        }
        let other = &points[other_index * dimension..(other_index + 1) * dimension];
        let mut covers = true;
        for objective in 0..lower {
            let value = other[objective].max(point[objective]);
            covers &= value == point[objective];
            limit.push(value);
        }
        if covers {
            return None;
        }
        if other[lower - 1] <= point[lower - 1] {
            tied += 1;
        }
    }
    Some(tied)
}

/// Volume of the box between `point` and `reference` in the first `dimension` objectives.
fn inclusive(point: &[f64], reference: &[f64], dimension: usize) -> f64 {
    point[..dimension]
        .iter()
        .zip(&reference[..dimension])
        .map(|(value, bound)| bound - value)
        .product()
}

/// Hypervolume of exactly two points by inclusion–exclusion.
fn pair(points: &[f64], reference: &[f64], dimension: usize) -> f64 {
    let (first, second) = points.split_at(dimension);
    let mut intersection = 1.0;
    for objective in 0..dimension {
        intersection *= reference[objective] - first[objective].max(second[objective]);
    }
    inclusive(first, reference, dimension) + inclusive(second, reference, dimension) - intersection
}
