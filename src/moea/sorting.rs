//! Domination, non-dominated sorting, crowding distance and NSGA-II environmental selection.
//!
//! All objectives are minimized. A NaN objective counts as `+∞` (the worst value) and `−0` as
//! `0`, so sorting never panics and the order is total. Constraints enter as one total
//! violation per individual: `v ≤ 0` is feasible, a NaN violation counts as `+∞`. A violation
//! slice shorter than the objectives treats the missing individuals as feasible, so an
//! unconstrained problem may pass `&[]`.
//!
//! Constrained domination (Deb 2000, "An efficient constraint handling method for genetic
//! algorithms", CMAME 186): a feasible point beats an infeasible one, of two infeasible points
//! the smaller violation wins, two feasible points compare by Pareto domination.
//!
//! Sorting: feasible points are sorted by the efficient non-dominated sort with binary search
//! (ENS-BS; Zhang, Tian, Cheng & Jin 2015, "An efficient approach to nondominated sorting for
//! evolutionary multiobjective optimization", IEEE TEVC 19(2)): points are visited in
//! lexicographic order, so a point can only be dominated by points already placed, and its front
//! is found by binary search over the fronts built so far. The worst case is `O(M N²)` like
//! Deb's fast non-dominated sort, typical populations need far fewer comparisons. Infeasible
//! points follow all feasible fronts, one front per distinct violation value, in increasing
//! order of violation. Crowding distance and environmental selection are those of NSGA-II
//! (Deb, Pratap, Agarwal & Meyarivan 2002, IEEE TEVC 6(2)).

use std::cmp::Ordering;

/// The value the sorting routines compare: NaN is `+∞`, `−0` is `0`.
#[inline]
fn canonical(value: f64) -> f64 {
    if value.is_nan() {
        f64::INFINITY
    } else {
        value + 0.0
    }
}

/// The violation the sorting routines compare: feasible is exactly `0`, NaN is `+∞`.
#[inline]
fn canonical_violation(violation: f64) -> f64 {
    if violation.is_nan() {
        f64::INFINITY
    } else if violation <= 0.0 {
        0.0
    } else {
        violation
    }
}

/// Pareto domination for minimization: `a` is nowhere worse than `b` and somewhere better.
/// Vectors of different lengths are compared on their common prefix.
pub fn dominates(a: &[f64], b: &[f64]) -> bool {
    let mut strictly_better = false;
    for (&left, &right) in a.iter().zip(b) {
        let (left, right) = (canonical(left), canonical(right));
        if left > right {
            return false;
        }
        if left < right {
            strictly_better = true;
        }
    }
    strictly_better
}

/// Deb's constrained domination: feasible beats infeasible; of two infeasible points the
/// smaller violation wins; two feasible points compare by Pareto domination.
pub fn constrained_dominates(a: &[f64], va: f64, b: &[f64], vb: f64) -> bool {
    let (va, vb) = (canonical_violation(va), canonical_violation(vb));
    match (va == 0.0, vb == 0.0) {
        (true, true) => dominates(a, b),
        (true, false) => true,
        (false, true) => false,
        (false, false) => va < vb,
    }
}

/// Non-dominated fronts under constrained domination, best first. Every index of `objectives`
/// appears in exactly one front; each front lists its indices in increasing order.
pub fn non_dominated_sort(objectives: &[Vec<f64>], violation: &[f64]) -> Vec<Vec<usize>> {
    let violation_of =
        |index: usize| canonical_violation(violation.get(index).copied().unwrap_or(0.0));
    let (feasible, mut infeasible): (Vec<usize>, Vec<usize>) =
        (0..objectives.len()).partition(|&index| violation_of(index) == 0.0);

    let mut fronts = pareto_fronts(objectives, &feasible);

    infeasible.sort_by(|&a, &b| violation_of(a).total_cmp(&violation_of(b)).then(a.cmp(&b)));
    let mut previous: Option<f64> = None;
    for index in infeasible {
        let value = violation_of(index);
        match (previous, fronts.last_mut()) {
            (Some(last), Some(front)) if last == value => front.push(index),
            _ => fronts.push(vec![index]),
        }
        previous = Some(value);
    }
    fronts
}

/// Pareto fronts of `members` (indices into `objectives`) by ENS-BS.
fn pareto_fronts(objectives: &[Vec<f64>], members: &[usize]) -> Vec<Vec<usize>> {
    let dims = members
        .iter()
        .map(|&index| objectives[index].len())
        .max()
        .unwrap_or(0);
    // Canonical values, row-major; a missing objective counts as +∞.
    let mut values = Vec::with_capacity(members.len() * dims);
    for &index in members {
        let row = &objectives[index];
        values.extend((0..dims).map(|k| row.get(k).map_or(f64::INFINITY, |&v| canonical(v))));
    }
    let row = |position: usize| &values[position * dims..(position + 1) * dims];

    let mut order: Vec<usize> = (0..members.len()).collect();
    order.sort_by(|&a, &b| lexicographic(row(a), row(b)).then(a.cmp(&b)));

    // Fronts hold positions into `members`. A point visited later can never dominate an
    // earlier one, and if front k holds a dominator of p then so does every front before k,
    // so the first front without a dominator is found by binary search.
    let mut fronts: Vec<Vec<usize>> = Vec::new();
    for position in order {
        let point = row(position);
        let dominated_in = |front: &Vec<usize>| {
            front
                .iter()
                .rev()
                .any(|&other| dominates_canonical(row(other), point))
        };
        let (mut low, mut high) = (0, fronts.len());
        while low < high {
            let middle = (low + high) / 2;
            if dominated_in(&fronts[middle]) {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        match fronts.get_mut(low) {
            Some(front) => front.push(position),
            None => fronts.push(vec![position]),
        }
    }
    for front in &mut fronts {
        for position in front.iter_mut() {
            *position = members[*position];
        }
        front.sort_unstable();
    }
    fronts
}

/// Lexicographic order of canonical (NaN-free) vectors.
fn lexicographic(a: &[f64], b: &[f64]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.total_cmp(y))
        .find(|ordering| ordering.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// Pareto domination on canonical vectors of equal length.
#[inline]
fn dominates_canonical(a: &[f64], b: &[f64]) -> bool {
    let mut strictly_better = false;
    for (&left, &right) in a.iter().zip(b) {
        if left > right {
            return false;
        }
        strictly_better |= left < right;
    }
    strictly_better
}

/// NSGA-II crowding distance of the points of one front, aligned with `front`.
///
/// For every objective the front is sorted; the two boundary points get `+∞`, an interior
/// point adds the normalized gap between its neighbours. Objectives whose range over the front
/// is zero or not finite add nothing to interior points. Fronts of up to two points are all
/// boundary.
pub fn crowding_distance(objectives: &[Vec<f64>], front: &[usize]) -> Vec<f64> {
    let size = front.len();
    if size <= 2 {
        return vec![f64::INFINITY; size];
    }
    let dims = front
        .iter()
        .map(|&index| objectives[index].len())
        .max()
        .unwrap_or(0);
    let mut distance = vec![0.0; size];
    let mut order: Vec<usize> = (0..size).collect();
    let mut column = vec![0.0; size];
    for objective in 0..dims {
        for (slot, &index) in column.iter_mut().zip(front) {
            *slot = objectives[index]
                .get(objective)
                .map_or(f64::INFINITY, |&v| canonical(v));
        }
        order.sort_by(|&a, &b| column[a].total_cmp(&column[b]).then(a.cmp(&b)));
        let (first, last) = (order[0], order[size - 1]);
        distance[first] = f64::INFINITY;
        distance[last] = f64::INFINITY;
        let range = column[last] - column[first];
        if !(range > 0.0 && range.is_finite()) {
            continue;
        }
        for window in order.windows(3) {
            distance[window[1]] += (column[window[2]] - column[window[0]]) / range;
        }
    }
    distance
}

/// Front rank (0 = best) and crowding distance of every individual.
pub fn rank_and_crowding(objectives: &[Vec<f64>], violation: &[f64]) -> (Vec<usize>, Vec<f64>) {
    let mut rank = vec![0; objectives.len()];
    let mut crowding = vec![0.0; objectives.len()];
    for (front_rank, front) in non_dominated_sort(objectives, violation).iter().enumerate() {
        let distance = crowding_distance(objectives, front);
        for (&index, value) in front.iter().zip(distance) {
            rank[index] = front_rank;
            crowding[index] = value;
        }
    }
    (rank, crowding)
}

/// Indices of the best `k` by (rank, −crowding): NSGA-II environmental selection (last front truncated by crowding).
///
/// Whole fronts are taken while they fit; the front that does not fit is truncated to its
/// most isolated points (crowding computed on that whole front; ties by index). The result is
/// in selection order: front by front, the truncated front by decreasing crowding. All indices
/// are returned when `k` is at least the number of individuals.
pub fn select_best(objectives: &[Vec<f64>], violation: &[f64], k: usize) -> Vec<usize> {
    let mut selected = Vec::with_capacity(k.min(objectives.len()));
    for front in non_dominated_sort(objectives, violation) {
        let remaining = k - selected.len();
        if front.len() <= remaining {
            selected.extend(front);
            continue;
        }
        if remaining > 0 {
            let distance = crowding_distance(objectives, &front);
            let mut order: Vec<usize> = (0..front.len()).collect();
            order.sort_by(|&a, &b| distance[b].total_cmp(&distance[a]).then(a.cmp(&b)));
            selected.extend(order[..remaining].iter().map(|&position| front[position]));
        }
        break;
    }
    selected
}

/// Indices of the first front (non-dominated feasible if any feasible exist, else least-violating non-dominated).
pub fn first_front(objectives: &[Vec<f64>], violation: &[f64]) -> Vec<usize> {
    non_dominated_sort(objectives, violation)
        .into_iter()
        .next()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const INF: f64 = f64::INFINITY;

    #[test]
    fn dominance_table() {
        let cases: &[(&[f64], &[f64], bool)] = &[
            (&[1.0, 2.0], &[2.0, 3.0], true),
            (&[1.0, 3.0], &[2.0, 3.0], true),
            (&[2.0, 3.0], &[1.0, 2.0], false),
            (&[1.0, 2.0], &[1.0, 2.0], false),
            (&[1.0, 3.0], &[2.0, 2.0], false),
            (&[0.0, 1.0], &[-0.0, 1.0], false),
            (&[1.0, 1.0], &[1.0, f64::NAN], true),
            (&[1.0, f64::NAN], &[1.0, 1.0], false),
            (&[f64::NAN], &[f64::NAN], false),
            (&[f64::NAN], &[INF], false),
            (&[1.0, 2.0, 3.0], &[1.0, 2.0, 4.0], true),
        ];
        for &(a, b, expected) in cases {
            assert_eq!(dominates(a, b), expected, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn constrained_dominance_table() {
        let good: &[f64] = &[0.0, 0.0];
        let bad: &[f64] = &[9.0, 9.0];
        type Case<'a> = (&'a [f64], f64, &'a [f64], f64, bool);
        let cases: &[Case] = &[
            (bad, 0.0, good, 0.1, true),      // feasible beats infeasible
            (good, 0.1, bad, 0.0, false),     // infeasible never beats feasible
            (bad, 0.1, good, 0.2, true),      // smaller violation wins
            (good, 0.2, bad, 0.1, false),     //
            (good, 0.3, bad, 0.3, false),     // equal violation: neither
            (good, 0.0, bad, 0.0, true),      // both feasible: Pareto
            (bad, 0.0, good, 0.0, false),     //
            (good, -1.0, bad, 0.0, true),     // negative violation is feasible
            (bad, 5.0, good, f64::NAN, true), // NaN violation is +∞
            (good, f64::NAN, bad, INF, false),
        ];
        for &(a, va, b, vb, expected) in cases {
            assert_eq!(
                constrained_dominates(a, va, b, vb),
                expected,
                "{a:?}/{va} vs {b:?}/{vb}"
            );
        }
    }

    #[test]
    fn sort_hand_made() {
        let objectives = vec![
            vec![1.0, 5.0], // 0: front 0
            vec![2.0, 3.0], // 1: front 0
            vec![4.0, 1.0], // 2: front 0
            vec![2.0, 5.0], // 3: front 1 (by 0, 1)
            vec![3.0, 4.0], // 4: front 1 (by 1)
            vec![4.0, 4.0], // 5: front 2 (by 4)
            vec![2.0, 3.0], // 6: duplicate of 1: front 0
            vec![5.0, 5.0], // 7: front 3
        ];
        let fronts = non_dominated_sort(&objectives, &[]);
        assert_eq!(fronts, vec![vec![0, 1, 2, 6], vec![3, 4], vec![5], vec![7]]);
        assert_eq!(first_front(&objectives, &[]), vec![0, 1, 2, 6]);
    }

    #[test]
    fn sort_constrained_feasible_first_then_by_violation() {
        let objectives = vec![
            vec![0.0, 0.0], // 0: infeasible 2.0
            vec![5.0, 5.0], // 1: feasible, dominated by 3
            vec![1.0, 1.0], // 2: infeasible 0.5
            vec![4.0, 4.0], // 3: feasible
            vec![9.0, 0.0], // 4: infeasible 0.5
            vec![0.0, 9.0], // 5: infeasible NaN (= +∞)
        ];
        let violation = [2.0, 0.0, 0.5, -0.0, 0.5, f64::NAN];
        let fronts = non_dominated_sort(&objectives, &violation);
        assert_eq!(fronts, vec![vec![3], vec![1], vec![2, 4], vec![0], vec![5]]);
        assert_eq!(first_front(&objectives, &violation), vec![3]);
        let all_infeasible = [1.0, 3.0, 1.0];
        assert_eq!(first_front(&objectives[..3], &all_infeasible), vec![0, 2]);
        assert!(first_front(&[], &[]).is_empty());
    }

    #[test]
    fn sort_survives_nan_objectives() {
        let objectives = vec![
            vec![f64::NAN, 1.0],
            vec![1.0, 1.0],
            vec![f64::NAN, f64::NAN],
        ];
        assert_eq!(
            non_dominated_sort(&objectives, &[]),
            vec![vec![1], vec![0], vec![2]]
        );
        let distance = crowding_distance(&objectives, &[0, 1, 2]);
        assert!(distance.iter().all(|d| !d.is_nan()));
    }

    #[test]
    fn crowding_hand_example() {
        // A 2-D front sorted by f1: (0,4), (1,2), (3,1), (4,0); ranges 4 and 4.
        let objectives = vec![
            vec![3.0, 1.0],
            vec![0.0, 4.0],
            vec![4.0, 0.0],
            vec![1.0, 2.0],
        ];
        let distance = crowding_distance(&objectives, &[0, 1, 2, 3]);
        assert_eq!(distance[1], INF);
        assert_eq!(distance[2], INF);
        // (1,2): (3−0)/4 + (4−1)/4 = 1.5 ; (3,1): (4−1)/4 + (2−0)/4 = 1.25
        assert!((distance[3] - 1.5).abs() < 1e-12);
        assert!((distance[0] - 1.25).abs() < 1e-12);
        assert_eq!(crowding_distance(&objectives, &[0, 1]), vec![INF, INF]);
        assert!(crowding_distance(&objectives, &[]).is_empty());
    }

    #[test]
    fn rank_and_crowding_per_individual() {
        let objectives = vec![vec![1.0, 1.0], vec![2.0, 2.0], vec![0.0, 3.0]];
        let (rank, crowding) = rank_and_crowding(&objectives, &[]);
        assert_eq!(rank, vec![0, 1, 0]);
        assert_eq!(crowding, vec![INF, INF, INF]);
    }

    #[test]
    fn select_best_keeps_whole_better_fronts() {
        let objectives = vec![
            vec![3.0, 3.0], // 0: front 1
            vec![0.0, 4.0], // 1: front 0
            vec![1.0, 2.0], // 2: front 0
            vec![4.0, 0.0], // 3: front 0
            vec![5.0, 5.0], // 4: front 2
            vec![1.5, 1.9], // 5: front 0
            vec![2.0, 5.0], // 6: front 1
        ];
        // Front 0 = {1, 2, 3, 5}, front 1 = {0, 6}, front 2 = {4}.
        let fronts = non_dominated_sort(&objectives, &[]);
        assert_eq!(fronts[0], vec![1, 2, 3, 5]);
        let mut six = select_best(&objectives, &[], 6);
        six.sort_unstable();
        assert_eq!(six, vec![0, 1, 2, 3, 5, 6]);
        // Truncating front 0 to 3 keeps the two boundary points and the least crowded interior.
        let distance = crowding_distance(&objectives, &fronts[0]);
        let interior_best = if distance[1] >= distance[3] { 2 } else { 5 };
        let mut three = select_best(&objectives, &[], 3);
        three.sort_unstable();
        let mut expected = vec![1, 3, interior_best];
        expected.sort_unstable();
        assert_eq!(three, expected);
        assert_eq!(select_best(&objectives, &[], 100).len(), 7);
        assert!(select_best(&objectives, &[], 0).is_empty());
    }

    /// O(N³) reference: repeatedly peel the points no remaining point dominates.
    fn brute_force_sort(objectives: &[Vec<f64>], violation: &[f64]) -> Vec<Vec<usize>> {
        let mut remaining: Vec<usize> = (0..objectives.len()).collect();
        let mut fronts = Vec::new();
        while !remaining.is_empty() {
            let front: Vec<usize> = remaining
                .iter()
                .copied()
                .filter(|&i| {
                    !remaining.iter().any(|&j| {
                        constrained_dominates(
                            &objectives[j],
                            violation[j],
                            &objectives[i],
                            violation[i],
                        )
                    })
                })
                .collect();
            remaining.retain(|i| !front.contains(i));
            fronts.push(front);
        }
        fronts
    }

    fn population_strategy() -> impl Strategy<Value = (Vec<Vec<f64>>, Vec<f64>)> {
        (1usize..=3, 0usize..40).prop_flat_map(|(dims, size)| {
            (
                // Small integers make ties and duplicates common.
                prop::collection::vec(
                    prop::collection::vec((0u8..6).prop_map(f64::from), dims),
                    size,
                ),
                prop::collection::vec(
                    prop_oneof![3 => Just(0.0), 1 => (1u8..4).prop_map(f64::from)],
                    size,
                ),
            )
        })
    }

    proptest! {
        #[test]
        fn sort_matches_brute_force((objectives, violation) in population_strategy()) {
            let fronts = non_dominated_sort(&objectives, &violation);
            prop_assert_eq!(&fronts, &brute_force_sort(&objectives, &violation));

            // The fronts partition the indices.
            let mut all: Vec<usize> = fronts.iter().flatten().copied().collect();
            all.sort_unstable();
            prop_assert_eq!(all, (0..objectives.len()).collect::<Vec<_>>());
            for (k, front) in fronts.iter().enumerate() {
                prop_assert!(!front.is_empty());
                for &a in front {
                    // Nobody in a front dominates another member of it.
                    for &b in front {
                        prop_assert!(!constrained_dominates(
                            &objectives[a], violation[a], &objectives[b], violation[b]
                        ));
                    }
                    // Every point after the first front is dominated by an earlier front.
                    if k > 0 {
                        prop_assert!(fronts[..k].iter().flatten().any(|&b| constrained_dominates(
                            &objectives[b], violation[b], &objectives[a], violation[a]
                        )));
                    }
                }
            }
        }

        #[test]
        fn select_best_is_a_prefix_of_the_fronts(
            (objectives, violation) in population_strategy(),
            k in 0usize..45,
        ) {
            let selected = select_best(&objectives, &violation, k);
            prop_assert_eq!(selected.len(), k.min(objectives.len()));
            let (rank, _) = rank_and_crowding(&objectives, &violation);
            let worst_kept = selected.iter().map(|&i| rank[i]).max();
            if let Some(worst_kept) = worst_kept {
                for (i, &individual_rank) in rank.iter().enumerate() {
                    if individual_rank < worst_kept {
                        prop_assert!(selected.contains(&i));
                    }
                }
            }
        }
    }
}
