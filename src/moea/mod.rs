//! Multi-objective evolutionary algorithms (MOEAs) over the unit cube `[0, 1]^n`.
//!
//! Every optimizer here works in *normalized* coordinates (see `space`): the strategy maps
//! real parameter values into `[0, 1]^n` before handing them over and maps offspring back
//! before evaluating them. All objectives are minimized. Constraints enter as one total
//! violation `v ≥ 0` per individual (`0` = feasible), compared by Deb's constrained domination
//! (Deb 2000, "An efficient constraint handling method for genetic algorithms").
//!
//! The optimizers speak an ask/tell protocol ([`Moea`]): `ask` proposes offspring, the caller
//! evaluates them (on the true simulation or on a surrogate) and `tell`s the results back, and
//! the optimizer performs environmental selection. Randomness is passed in explicitly, so a
//! seeded RNG reproduces a run exactly.
//!
//! - [`sorting`]: Pareto and constrained domination, non-dominated sorting, crowding distance,
//!   NSGA-II environmental selection (Deb, Pratap, Agarwal & Meyarivan 2002, "A fast and
//!   elitist multiobjective genetic algorithm: NSGA-II", IEEE TEVC 6(2)).
//! - [`operators`]: simulated binary crossover (Deb & Agrawal 1995, "Simulated binary crossover
//!   for continuous search space"), polynomial mutation (Deb & Goyal 1996; bounded form as in
//!   Deb's 2001 NSGA-II code), binary tournament, all with per-parameter distribution indices.
//! - [`nsga2`]: the NSGA-II optimizer.

pub mod nsga2;
pub mod operators;
pub mod sorting;

pub use nsga2::{Nsga2, Nsga2Params};
pub use operators::{binary_tournament, polynomial_mutation, sbx_crossover, Variation};
pub use sorting::{
    constrained_dominates, crowding_distance, dominates, first_front, non_dominated_sort,
    rank_and_crowding, select_best,
};

/// A set of evaluated individuals, stored column-wise.
///
/// Invariant: `x`, `objectives` and `violation` have the same length; row `i` of each describes
/// individual `i`. `x` is in normalized coordinates `[0, 1]^n`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Population {
    /// Decision vectors in `[0, 1]^n`.
    pub x: Vec<Vec<f64>>,
    /// Objective vectors (minimized).
    pub objectives: Vec<Vec<f64>>,
    /// Total constraint violation, `0` for a feasible individual.
    pub violation: Vec<f64>,
}

impl Population {
    /// Number of individuals.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// Whether the population has no individuals.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// Appends one evaluated individual.
    pub fn push(&mut self, x: Vec<f64>, objectives: Vec<f64>, violation: f64) {
        self.x.push(x);
        self.objectives.push(objectives);
        self.violation.push(violation);
    }

    /// Appends all individuals of `other`.
    pub fn extend(&mut self, other: Population) {
        self.x.extend(other.x);
        self.objectives.extend(other.objectives);
        self.violation.extend(other.violation);
    }

    /// The individuals at `indices`, in that order (repeats allowed).
    ///
    /// # Panics
    /// If an index is out of range, like slice indexing.
    pub fn select(&self, indices: &[usize]) -> Population {
        Population {
            x: indices.iter().map(|&i| self.x[i].clone()).collect(),
            objectives: indices
                .iter()
                .map(|&i| self.objectives[i].clone())
                .collect(),
            violation: indices.iter().map(|&i| self.violation[i]).collect(),
        }
    }
}

/// An ask/tell multi-objective optimizer over the unit cube.
pub trait Moea {
    /// Offspring to evaluate next, in `[0, 1]^n`.
    fn ask(&mut self, rng: &mut dyn rand::RngCore) -> Vec<Vec<f64>>;
    /// Evaluations of the offspring returned by the last `ask` (same order).
    fn tell(&mut self, offspring: Vec<Vec<f64>>, objectives: Vec<Vec<f64>>, violation: Vec<f64>);
    /// The current (survivor) population.
    fn population(&self) -> &Population;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Population {
        let mut population = Population::default();
        population.push(vec![0.1], vec![1.0, 2.0], 0.0);
        population.push(vec![0.2], vec![3.0, 4.0], 0.5);
        population
    }

    #[test]
    fn push_extend_select() {
        let mut population = sample();
        assert_eq!(population.len(), 2);
        assert!(!population.is_empty());
        population.extend(sample());
        assert_eq!(population.len(), 4);
        let picked = population.select(&[3, 0, 3]);
        assert_eq!(picked.x, vec![vec![0.2], vec![0.1], vec![0.2]]);
        assert_eq!(picked.objectives[1], vec![1.0, 2.0]);
        assert_eq!(picked.violation, vec![0.5, 0.0, 0.5]);
        assert!(Population::default().is_empty());
    }
}
