//! Non-dominated filtering of a flat point set, used to shrink the limit sets of WFG.
//!
//! The candidates arrive in non-decreasing order of their last objective, so a candidate can
//! only be weakly dominated by a point seen before it or by one tied with it in the last
//! objective. One pass compares each candidate with the points kept so far (most recent
//! first) and, among the kept points tied with it in the last objective, drops those it
//! dominates — the sort-first scheme of Kung, Luccio & Preparata 1975, "On finding the maxima
//! of a set of vectors", JACM 22(4). Duplicates keep their first copy.

/// Writes the `candidates` (`dimension` values each, in non-decreasing order of the last
/// objective) that no other point weakly dominates into `output`, keeping that order.
pub(super) fn filter_sorted<'a>(
    candidates: impl Iterator<Item = &'a [f64]>,
    dimension: usize,
    output: &mut Vec<f64>,
) {
    output.clear();
    let leading = dimension - 1;
    // Index (in points) of the first kept point tied with the current candidate's last value.
    let mut tie_start = 0;
    for candidate in candidates {
        let kept = output.len() / dimension;
        if kept > 0 && output[output.len() - 1] != candidate[leading] {
            tie_start = kept;
        }
        let dominated = output
            .chunks_exact(dimension)
            .rev()
            .any(|point| weakly_dominates_leading(point, candidate, leading));
        if dominated {
            continue;
        }
        if tie_start < kept {
            remove_dominated(output, tie_start * dimension, candidate, dimension);
        }
        output.extend_from_slice(candidate);
    }
}

/// Removes from `output[start..]` the points that `candidate` weakly dominates in the leading
/// objectives, keeping the order of the rest.
fn remove_dominated(output: &mut Vec<f64>, start: usize, candidate: &[f64], dimension: usize) {
    let leading = dimension - 1;
    let mut write = start;
    for read in (start..output.len()).step_by(dimension) {
        if !weakly_dominates_leading(candidate, &output[read..read + dimension], leading) {
            output.copy_within(read..read + dimension, write);
            write += dimension;
        }
    }
    output.truncate(write);
}

/// `true` when `left[i] <= right[i]` for the first `count` objectives.
#[inline]
fn weakly_dominates_leading(left: &[f64], right: &[f64], count: usize) -> bool {
    left[..count]
        .iter()
        .zip(&right[..count])
        .all(|(left_value, right_value)| left_value <= right_value)
}
