//! Variation operators on the unit cube with per-parameter distribution indices.
//!
//! - Simulated binary crossover, SBX (Deb & Agrawal 1995, "Simulated binary crossover for
//!   continuous search space", Complex Systems 9), in the bounded form of Deb's NSGA-II C code
//!   (revision 1.1.6): for a crossing pair each variable is recombined with probability ½, the
//!   spread factor's distribution is truncated so children stay inside the bounds, and the two
//!   children are swapped with probability ½.
//! - Polynomial mutation (Deb & Goyal 1996, "A combined genetic adaptive search (GeneAS) for
//!   engineering design"), in the bounded 2001 revision of Deb's code, where the perturbation
//!   distribution depends on the distance to the nearer bound.
//! - Binary tournament on (rank, crowding distance) as in NSGA-II (Deb et al. 2002).
//!
//! A distribution index η is given per dimension: a large η keeps children close to their
//! parents (fine perturbation), η near 0 spreads them widely. The strategy sets η from
//! surrogate sensitivities (`η_i = clip(1 + 20 s_i, 1, 30)`, see the reference paper). An η
//! slice shorter than the vector reuses its last value, an empty slice means
//! [`DEFAULT_DISTRIBUTION_INDEX`]; a NaN η is the default and a negative η is 0. Parent values
//! outside `[0, 1]` are clamped first (NaN becomes ½), so every child lies in `[0, 1]`.

use rand::Rng;

/// The distribution index used where none is given (Deb et al. 2002 use 20 for both operators).
pub const DEFAULT_DISTRIBUTION_INDEX: f64 = 20.0;

/// Parents closer than this in one variable are not recombined in it (Deb's `EPS`).
const SAME_VALUE_TOLERANCE: f64 = 1e-14;

/// The variation settings of a real-coded genetic algorithm.
#[derive(Debug, Clone, PartialEq)]
pub struct Variation {
    /// Probability that a pair of parents is recombined at all.
    pub crossover_probability: f64,
    /// SBX distribution index per dimension.
    pub crossover_eta: Vec<f64>,
    /// Probability that one variable of a child is mutated.
    pub mutation_probability: f64,
    /// Polynomial-mutation distribution index per dimension.
    pub mutation_eta: Vec<f64>,
}

impl Variation {
    /// Two children of `first` and `second`: SBX followed by polynomial mutation of each child.
    pub fn offspring<R: Rng + ?Sized>(
        &self,
        first: &[f64],
        second: &[f64],
        rng: &mut R,
    ) -> (Vec<f64>, Vec<f64>) {
        let (mut child_one, mut child_two) = sbx_crossover(
            first,
            second,
            &self.crossover_eta,
            self.crossover_probability,
            rng,
        );
        polynomial_mutation(
            &mut child_one,
            &self.mutation_eta,
            self.mutation_probability,
            rng,
        );
        polynomial_mutation(
            &mut child_two,
            &self.mutation_eta,
            self.mutation_probability,
            rng,
        );
        (child_one, child_two)
    }
}

/// The distribution index of dimension `index` (see the module docs for the fallbacks).
fn eta_at(eta: &[f64], index: usize) -> f64 {
    let value = eta
        .get(index)
        .or(eta.last())
        .copied()
        .unwrap_or(DEFAULT_DISTRIBUTION_INDEX);
    if value.is_nan() {
        DEFAULT_DISTRIBUTION_INDEX
    } else {
        value.max(0.0)
    }
}

/// `value` clamped to `[0, 1]`, NaN mapped to ½.
fn unit(value: f64) -> f64 {
    if value.is_nan() {
        0.5
    } else {
        value.clamp(0.0, 1.0)
    }
}

/// Bounded SBX (Deb & Agrawal 1995) on `[0, 1]^n` as in Deb's NSGA-II code.
///
/// With probability `probability` the pair is recombined; then each variable is recombined
/// with probability ½ (unless the parents agree in it), and the two children's values of a
/// recombined variable are swapped with probability ½. Otherwise the children are copies of the
/// parents. If the parents differ in length, the extra variables of the longer are copied.
pub fn sbx_crossover<R: Rng + ?Sized>(
    p1: &[f64],
    p2: &[f64],
    eta: &[f64],
    probability: f64,
    rng: &mut R,
) -> (Vec<f64>, Vec<f64>) {
    let mut first: Vec<f64> = p1.iter().map(|&value| unit(value)).collect();
    let mut second: Vec<f64> = p2.iter().map(|&value| unit(value)).collect();
    if rng.random::<f64>() >= probability {
        return (first, second);
    }
    for index in 0..first.len().min(second.len()) {
        if rng.random::<f64>() >= 0.5 {
            continue;
        }
        let (a, b) = (first[index], second[index]);
        if (a - b).abs() <= SAME_VALUE_TOLERANCE {
            continue;
        }
        let (low, high) = if a < b { (a, b) } else { (b, a) };
        let (lower_child, upper_child) = sbx_pair(low, high, eta_at(eta, index), rng.random());
        if rng.random::<f64>() < 0.5 {
            first[index] = upper_child;
            second[index] = lower_child;
        } else {
            first[index] = lower_child;
            second[index] = upper_child;
        }
    }
    (first, second)
}

/// The two SBX children of `low < high` in `[0, 1]` for one uniform draw `draw`.
fn sbx_pair(low: f64, high: f64, eta: f64, draw: f64) -> (f64, f64) {
    let gap = high - low;
    let exponent = 1.0 / (eta + 1.0);
    // Spread factor whose distribution is truncated so the child stays within the bound at
    // distance `room` from the nearer parent.
    let spread = |room: f64| {
        let beta = 1.0 + 2.0 * room / gap;
        let alpha = 2.0 - beta.powf(-(eta + 1.0));
        if draw <= 1.0 / alpha {
            (draw * alpha).powf(exponent)
        } else {
            (1.0 / (2.0 - draw * alpha)).powf(exponent)
        }
    };
    let lower_child = 0.5 * ((low + high) - spread(low) * gap);
    let upper_child = 0.5 * ((low + high) + spread(1.0 - high) * gap);
    (unit(lower_child), unit(upper_child))
}

/// Bounded polynomial mutation (Deb's 2001 revision) on `[0, 1]^n`, in place.
///
/// Each variable is mutated with probability `probability`; its perturbation follows a
/// polynomial distribution of index `eta[i]`, truncated to the bounds.
pub fn polynomial_mutation<R: Rng + ?Sized>(
    x: &mut [f64],
    eta: &[f64],
    probability: f64,
    rng: &mut R,
) {
    for (index, value) in x.iter_mut().enumerate() {
        *value = unit(*value);
        if rng.random::<f64>() >= probability {
            continue;
        }
        let y = *value;
        let power = eta_at(eta, index) + 1.0;
        let draw: f64 = rng.random();
        let delta = if draw <= 0.5 {
            let base = 2.0 * draw + (1.0 - 2.0 * draw) * (1.0 - y).powf(power);
            base.powf(1.0 / power) - 1.0
        } else {
            let base = 2.0 * (1.0 - draw) + 2.0 * (draw - 0.5) * y.powf(power);
            1.0 - base.powf(1.0 / power)
        };
        *value = unit(y + delta);
    }
}

/// Binary tournament: two distinct random contestants, the lower rank wins, then the larger
/// crowding distance, then a fair coin. Returns the winner's index; `0` for an empty
/// population (the caller must not ask for one).
pub fn binary_tournament<R: Rng + ?Sized>(rank: &[usize], crowding: &[f64], rng: &mut R) -> usize {
    let size = rank.len().min(crowding.len());
    if size < 2 {
        return 0;
    }
    let first = rng.random_range(0..size);
    let mut second = rng.random_range(0..size - 1);
    if second >= first {
        second += 1;
    }
    match rank[first].cmp(&rank[second]) {
        std::cmp::Ordering::Less => first,
        std::cmp::Ordering::Greater => second,
        std::cmp::Ordering::Equal => {
            if crowding[first] > crowding[second] {
                first
            } else if crowding[second] > crowding[first] {
                second
            } else if rng.random::<bool>() {
                first
            } else {
                second
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    const DRAWS: usize = 4000;

    /// Mean distance of SBX children to the nearer parent, per dimension.
    fn sbx_spread(p1: &[f64], p2: &[f64], eta: &[f64]) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut total = vec![0.0; p1.len()];
        for _ in 0..DRAWS {
            let (c1, c2) = sbx_crossover(p1, p2, eta, 1.0, &mut rng);
            for child in [&c1, &c2] {
                for (i, value) in child.iter().enumerate() {
                    total[i] += (value - p1[i]).abs().min((value - p2[i]).abs());
                }
            }
        }
        total.iter().map(|t| t / (2 * DRAWS) as f64).collect()
    }

    /// Mean |mutated − original| per dimension for probability 1.
    fn mutation_spread(x: &[f64], eta: &[f64]) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut total = vec![0.0; x.len()];
        for _ in 0..DRAWS {
            let mut child = x.to_vec();
            polynomial_mutation(&mut child, eta, 1.0, &mut rng);
            for (i, value) in child.iter().enumerate() {
                total[i] += (value - x[i]).abs();
            }
        }
        total.iter().map(|t| t / DRAWS as f64).collect()
    }

    #[test]
    fn larger_eta_keeps_children_closer() {
        let etas = [0.0, 1.0, 5.0, 20.0, 100.0];
        let sbx: Vec<f64> = etas
            .iter()
            .map(|&eta| sbx_spread(&[0.3], &[0.6], &[eta])[0])
            .collect();
        let mutation: Vec<f64> = etas
            .iter()
            .map(|&eta| mutation_spread(&[0.4], &[eta])[0])
            .collect();
        for spreads in [&sbx, &mutation] {
            assert!(
                spreads.windows(2).all(|pair| pair[1] < pair[0]),
                "{spreads:?}"
            );
        }
    }

    #[test]
    fn eta_is_respected_per_dimension() {
        let eta = [1e4, 1.0, 1e4];
        let sbx = sbx_spread(&[0.3, 0.3, 0.3], &[0.6, 0.6, 0.6], &eta);
        let mutation = mutation_spread(&[0.5, 0.5, 0.5], &eta);
        for spread in [&sbx, &mutation] {
            assert!(spread[0] < 1e-3 && spread[2] < 1e-3, "{spread:?}");
            // SBX recombines a variable with probability ½, which halves its mean move.
            assert!(spread[1] > 0.02, "{spread:?}");
        }
    }

    #[test]
    fn zero_probability_copies() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let (p1, p2) = (vec![0.1, 0.9], vec![0.8, 0.2]);
        for _ in 0..100 {
            let (c1, c2) = sbx_crossover(&p1, &p2, &[2.0], 0.0, &mut rng);
            assert_eq!((&c1, &c2), (&p1, &p2));
            let mut x = p1.clone();
            polynomial_mutation(&mut x, &[2.0], 0.0, &mut rng);
            assert_eq!(x, p1);
        }
    }

    #[test]
    fn eta_fallbacks() {
        assert_eq!(eta_at(&[], 3), DEFAULT_DISTRIBUTION_INDEX);
        assert_eq!(eta_at(&[1.0, 7.0], 5), 7.0);
        assert_eq!(eta_at(&[f64::NAN], 0), DEFAULT_DISTRIBUTION_INDEX);
        assert_eq!(eta_at(&[-3.0], 0), 0.0);
    }

    #[test]
    fn tournament_prefers_rank_then_crowding() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..50 {
            assert_eq!(binary_tournament(&[1, 0], &[9.0, 0.0], &mut rng), 1);
            assert_eq!(
                binary_tournament(&[0, 0], &[0.5, f64::INFINITY], &mut rng),
                1
            );
            assert_eq!(binary_tournament(&[4], &[0.0], &mut rng), 0);
            assert_eq!(binary_tournament(&[], &[], &mut rng), 0);
        }
        // Equal contestants: both win sometimes.
        let wins = (0..200)
            .filter(|_| binary_tournament(&[0, 0], &[1.0, 1.0], &mut rng) == 0)
            .count();
        assert!((50..150).contains(&wins));
    }

    #[test]
    fn offspring_applies_both_operators() {
        let variation = Variation {
            crossover_probability: 1.0,
            crossover_eta: vec![5.0; 4],
            mutation_probability: 1.0,
            mutation_eta: vec![5.0; 4],
        };
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (a, b) = variation.offspring(&[0.2; 4], &[0.2; 4], &mut rng);
        // Identical parents: only mutation can move the children.
        assert!(a.iter().chain(&b).any(|&v| v != 0.2));
        assert!(a.iter().chain(&b).all(|v| (0.0..=1.0).contains(v)));
    }

    proptest! {
        #[test]
        fn children_stay_in_unit_cube(
            p1 in prop::collection::vec(-0.5f64..1.5, 1..8),
            p2 in prop::collection::vec(-0.5f64..1.5, 1..8),
            eta in prop::collection::vec(0.0f64..60.0, 0..8),
            seed in any::<u64>(),
        ) {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let (mut c1, mut c2) = sbx_crossover(&p1, &p2, &eta, 1.0, &mut rng);
            prop_assert_eq!((c1.len(), c2.len()), (p1.len(), p2.len()));
            polynomial_mutation(&mut c1, &eta, 1.0, &mut rng);
            polynomial_mutation(&mut c2, &eta, 0.5, &mut rng);
            for value in c1.iter().chain(&c2) {
                prop_assert!((0.0..=1.0).contains(value), "{}", value);
            }
        }

        #[test]
        fn boundary_parents_stay_in_unit_cube(seed in any::<u64>(), eta in 0.0f64..5.0) {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let (mut c1, c2) = sbx_crossover(&[0.0, 1.0, 0.0], &[1.0, 0.0, 1e-15], &[eta], 1.0, &mut rng);
            polynomial_mutation(&mut c1, &[eta], 1.0, &mut rng);
            for value in c1.iter().chain(&c2) {
                prop_assert!((0.0..=1.0).contains(value), "{}", value);
            }
        }
    }
}
