//! Hypervolume in three objectives by a dimension sweep with a balanced search tree.
//!
//! Algorithm HV3D of Beume, Fonseca, López-Ibáñez, Paquete & Vahrenhold 2009, "On the
//! complexity of computing the hypervolume indicator", IEEE TEVC 13(5): points are visited in
//! ascending order of the third objective; the non-dominated staircase of the projections onto
//! the first two objectives is kept in a `BTreeMap` keyed by the first objective, together
//! with the area it dominates. Each insertion adds exactly the area newly dominated and removes
//! the staircase points it dominates (each point is removed at most once), so the whole sweep
//! is O(n log n). The area only ever grows, so no cancellation occurs.

use std::cmp::Ordering;
use std::collections::BTreeMap;

/// Hypervolume of 3-objective points given flat (3 values per point, any order), all
/// strictly inside the reference box.
pub(super) fn hypervolume_3d(flat: &[f64], reference: &[f64]) -> f64 {
    let mut points: Vec<[f64; 3]> = flat
        .chunks_exact(3)
        .map(|point| [point[0], point[1], point[2]])
        .collect();
    points.sort_unstable_by(|left, right| left[2].total_cmp(&right[2]));
    sweep(points.iter().map(|point| point.as_slice()), reference)
}

/// Dimension sweep over points (slices of at least 3 values) visited in ascending order of
/// the third value, all strictly inside the reference box.
pub(super) fn sweep<'a>(ascending: impl Iterator<Item = &'a [f64]>, reference: &[f64]) -> f64 {
    let mut staircase = Staircase::new(reference[0], reference[1]);
    let mut volume = 0.0;
    let mut previous_height: Option<f64> = None;
    for point in ascending {
        if let Some(height) = previous_height {
            volume += staircase.area * (point[2] - height);
        }
        previous_height = Some(point[2]);
        staircase.insert(point[0], point[1]);
    }
    if let Some(height) = previous_height {
        volume += staircase.area * (reference[2] - height);
    }
    volume
}

/// A coordinate with a total order, usable as a `BTreeMap` key.
#[derive(Debug, Clone, Copy)]
struct Coordinate(f64);

impl PartialEq for Coordinate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Coordinate {}

impl PartialOrd for Coordinate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Coordinate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Non-dominated 2-D staircase (first objective → second objective) and its dominated area.
struct Staircase {
    /// Entries sorted by the first objective; the second objective strictly decreases. A
    /// sentinel `(reference_first, −∞)` closes the staircase on the right.
    entries: BTreeMap<Coordinate, f64>,
    reference_second: f64,
    area: f64,
    dominated_keys: Vec<Coordinate>,
}

impl Staircase {
    fn new(reference_first: f64, reference_second: f64) -> Self {
        let mut entries = BTreeMap::new();
        entries.insert(Coordinate(reference_first), f64::NEG_INFINITY);
        Self {
            entries,
            reference_second,
            area: 0.0,
            dominated_keys: Vec::new(),
        }
    }

    /// Inserts `(first, second)` unless it is weakly dominated, updating the area.
    fn insert(&mut self, first: f64, second: f64) {
        let key = Coordinate(first);
        let mut ceiling = match self.entries.range(..key).next_back() {
            Some((_, &left_second)) => left_second,
            None => self.reference_second,
        };
        if ceiling <= second {
            return;
        }
        self.dominated_keys.clear();
        let mut strip_start = first;
        let mut added = 0.0;
        for (&entry_key, &entry_second) in self.entries.range(key..) {
            if entry_key.0 == first && entry_second <= second {
                return;
            }
            added += (entry_key.0 - strip_start) * (ceiling - second);
            if entry_second < second {
                break;
            }
            self.dominated_keys.push(entry_key);
            strip_start = entry_key.0;
            ceiling = entry_second;
        }
        for dominated in &self.dominated_keys {
            self.entries.remove(dominated);
        }
        self.entries.insert(key, second);
        self.area += added;
    }
}
