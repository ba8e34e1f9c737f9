//! NSGA-II (Deb, Pratap, Agarwal & Meyarivan 2002, "A fast and elitist multiobjective genetic
//! algorithm: NSGA-II", IEEE TEVC 6(2)) as an ask/tell optimizer on `[0, 1]^n`.
//!
//! One generation: `ask` fills `population_size` offspring, each pair made from two binary
//! tournaments on (rank, crowding distance), SBX crossover (Deb & Agrawal 1995) and polynomial
//! mutation with per-dimension distribution indices; `tell` merges parents and offspring and
//! keeps the best `population_size` by constrained non-dominated sorting, the last front
//! truncated by crowding distance. The survivors' ranks and crowding distances are recomputed
//! for the next tournament.
//!
//! Defaults follow Deb et al. (2002): crossover probability 0.9, mutation probability `1/n`,
//! distribution indices 20 for both SBX and polynomial mutation. The strategy replaces the
//! indices per dimension from surrogate sensitivities with
//! [`Nsga2::set_distribution_indices`].

use rand::{Rng, RngCore};

use super::operators::{binary_tournament, Variation, DEFAULT_DISTRIBUTION_INDEX};
use super::sorting::{rank_and_crowding, select_best};
use super::{Moea, Population};

/// NSGA-II settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Nsga2Params {
    /// Survivors per generation and offspring per `ask` (default 100).
    pub population_size: usize,
    /// Probability that a parent pair is recombined by SBX (default 0.9).
    pub crossover_probability: f64,
    /// Per-variable mutation probability; `None` means `1/n` (the default).
    pub mutation_probability: Option<f64>,
    /// SBX distribution index for every dimension (default 20).
    pub crossover_eta: f64,
    /// Polynomial-mutation distribution index for every dimension (default 20).
    pub mutation_eta: f64,
}

impl Default for Nsga2Params {
    fn default() -> Self {
        Self {
            population_size: 100,
            crossover_probability: 0.9,
            mutation_probability: None,
            crossover_eta: DEFAULT_DISTRIBUTION_INDEX,
            mutation_eta: DEFAULT_DISTRIBUTION_INDEX,
        }
    }
}

/// The NSGA-II optimizer; see the module docs.
#[derive(Debug, Clone)]
pub struct Nsga2 {
    params: Nsga2Params,
    dim: usize,
    variation: Variation,
    population: Population,
    /// Front rank of each survivor (aligned with `population`).
    rank: Vec<usize>,
    /// Crowding distance of each survivor (aligned with `population`).
    crowding: Vec<f64>,
}

impl Nsga2 {
    /// Start from an already-evaluated population (it is reduced to population_size by select_best if larger; if smaller, it is used as is and grows to population_size through the first tell).
    ///
    /// An empty initial population is allowed: the first `ask` then samples uniformly.
    pub fn new(params: Nsga2Params, dim: usize, initial: Population) -> Self {
        let mutation_probability = params
            .mutation_probability
            .unwrap_or(1.0 / dim.max(1) as f64);
        let variation = Variation {
            crossover_probability: params.crossover_probability,
            crossover_eta: vec![params.crossover_eta; dim],
            mutation_probability,
            mutation_eta: vec![params.mutation_eta; dim],
        };
        let population = if initial.len() > params.population_size {
            let keep = select_best(
                &initial.objectives,
                &initial.violation,
                params.population_size,
            );
            initial.select(&keep)
        } else {
            initial
        };
        let mut optimizer = Self {
            params,
            dim,
            variation,
            population,
            rank: Vec::new(),
            crowding: Vec::new(),
        };
        optimizer.update_ranking();
        optimizer
    }

    /// Replace the per-dimension distribution indices (sensitivity-driven; length = dim).
    ///
    /// A shorter vector reuses its last value for the remaining dimensions.
    pub fn set_distribution_indices(&mut self, crossover_eta: Vec<f64>, mutation_eta: Vec<f64>) {
        self.variation.crossover_eta = crossover_eta;
        self.variation.mutation_eta = mutation_eta;
    }

    /// The settings this optimizer was built with.
    pub fn params(&self) -> &Nsga2Params {
        &self.params
    }

    /// Number of decision variables.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The variation operators' current settings.
    pub fn variation(&self) -> &Variation {
        &self.variation
    }

    fn update_ranking(&mut self) {
        let (rank, crowding) =
            rank_and_crowding(&self.population.objectives, &self.population.violation);
        self.rank = rank;
        self.crowding = crowding;
    }
}

impl Moea for Nsga2 {
    fn ask(&mut self, rng: &mut dyn RngCore) -> Vec<Vec<f64>> {
        let size = self.params.population_size;
        if self.population.is_empty() {
            return (0..size)
                .map(|_| (0..self.dim).map(|_| rng.random::<f64>()).collect())
                .collect();
        }
        let mut offspring = Vec::with_capacity(size + 1);
        while offspring.len() < size {
            let first = binary_tournament(&self.rank, &self.crowding, rng);
            let second = binary_tournament(&self.rank, &self.crowding, rng);
            let (child_one, child_two) = self.variation.offspring(
                &self.population.x[first],
                &self.population.x[second],
                rng,
            );
            offspring.push(child_one);
            offspring.push(child_two);
        }
        offspring.truncate(size);
        offspring
    }

    /// Offspring without an objective vector are dropped; a missing violation counts as
    /// feasible (so an unconstrained problem may pass an empty `violation`).
    fn tell(&mut self, offspring: Vec<Vec<f64>>, objectives: Vec<Vec<f64>>, violation: Vec<f64>) {
        let mut merged = std::mem::take(&mut self.population);
        for (index, (x, values)) in offspring.into_iter().zip(objectives).enumerate() {
            merged.push(x, values, violation.get(index).copied().unwrap_or(0.0));
        }
        let keep = select_best(
            &merged.objectives,
            &merged.violation,
            self.params.population_size,
        );
        self.population = merged.select(&keep);
        self.update_ranking();
    }

    fn population(&self) -> &Population {
        &self.population
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    type Problem = fn(&[f64]) -> (Vec<f64>, f64);

    /// ZDT1 (Zitzler, Deb & Thiele 2000): convex front `f2 = 1 − sqrt(f1)` at `g = 1`.
    fn zdt1(x: &[f64]) -> (Vec<f64>, f64) {
        let f1 = x[0];
        let g = 1.0 + 9.0 * x[1..].iter().sum::<f64>() / (x.len() - 1) as f64;
        (vec![f1, g * (1.0 - (f1 / g).sqrt())], 0.0)
    }

    fn zdt1_g(x: &[f64]) -> f64 {
        1.0 + 9.0 * x[1..].iter().sum::<f64>() / (x.len() - 1) as f64
    }

    /// CONSTR (Deb 2001): x1 ∈ [0.1, 1], x2 ∈ [0, 5]; f = (x1, (1 + x2)/x1);
    /// x2 + 9 x1 ≥ 6 and 9 x1 − x2 ≥ 1.
    fn constr(u: &[f64]) -> (Vec<f64>, f64) {
        let (x1, x2) = (0.1 + 0.9 * u[0], 5.0 * u[1]);
        let violation = (6.0 - x2 - 9.0 * x1).max(0.0) + (1.0 + x2 - 9.0 * x1).max(0.0);
        (vec![x1, (1.0 + x2) / x1], violation)
    }

    fn evaluate(problem: Problem, points: Vec<Vec<f64>>) -> Population {
        let mut population = Population::default();
        for x in points {
            let (objectives, violation) = problem(&x);
            population.push(x, objectives, violation);
        }
        population
    }

    fn run(
        problem: Problem,
        dim: usize,
        initial: Vec<Vec<f64>>,
        params: Nsga2Params,
        generations: usize,
        rng: &mut ChaCha8Rng,
    ) -> Nsga2 {
        let mut optimizer = Nsga2::new(params, dim, evaluate(problem, initial));
        for _ in 0..generations {
            let offspring = optimizer.ask(rng);
            let evaluated = evaluate(problem, offspring);
            optimizer.tell(evaluated.x, evaluated.objectives, evaluated.violation);
        }
        optimizer
    }

    fn uniform(rng: &mut ChaCha8Rng, count: usize, dim: usize) -> Vec<Vec<f64>> {
        (0..count)
            .map(|_| (0..dim).map(|_| rng.random()).collect())
            .collect()
    }

    /// Exact 2-D hypervolume by a sweep over f1.
    fn hypervolume_2d(objectives: &[Vec<f64>], reference: [f64; 2]) -> f64 {
        let mut points: Vec<[f64; 2]> = objectives
            .iter()
            .filter(|f| f[0] < reference[0] && f[1] < reference[1])
            .map(|f| [f[0], f[1]])
            .collect();
        points.sort_by(|a, b| a[0].total_cmp(&b[0]));
        let (mut volume, mut ceiling) = (0.0, reference[1]);
        for [f1, f2] in points {
            if f2 < ceiling {
                volume += (reference[0] - f1) * (ceiling - f2);
                ceiling = f2;
            }
        }
        volume
    }

    #[test]
    fn hypervolume_sweep_hand_example() {
        let front = vec![
            vec![0.0, 1.0],
            vec![1.0, 0.0],
            vec![0.5, 0.5],
            vec![0.6, 0.6],
        ];
        // Sweep: 2·1 + 1.5·0.5 + 1·0.5; (0.6, 0.6) is dominated and adds nothing.
        assert!((hypervolume_2d(&front, [2.0, 2.0]) - 3.25).abs() < 1e-12);
    }

    #[test]
    fn zdt1_converges() {
        let mut rng = ChaCha8Rng::seed_from_u64(2024);
        let initial = uniform(&mut rng, 100, 30);
        let optimizer = run(zdt1, 30, initial, Nsga2Params::default(), 250, &mut rng);
        let population = optimizer.population();
        assert_eq!(population.len(), 100);
        let mean_g = population.x.iter().map(|x| zdt1_g(x)).sum::<f64>() / population.len() as f64;
        let volume = hypervolume_2d(&population.objectives, [1.1, 1.1]);
        eprintln!("ZDT1 after 250 generations: mean g = {mean_g:.5}, hypervolume = {volume:.5}");
        assert!(mean_g < 1.05, "mean g = {mean_g}");
        assert!(volume >= 0.85, "hypervolume = {volume}");
        assert!(population
            .x
            .iter()
            .flatten()
            .all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn constrained_problem_ends_all_feasible() {
        let mut rng = ChaCha8Rng::seed_from_u64(99);
        // Every initial point has x1 ≤ 0.28, where both constraints cannot hold at once.
        let initial: Vec<Vec<f64>> = (0..40)
            .map(|_| vec![0.2 * rng.random::<f64>(), rng.random()])
            .collect();
        assert!(initial.iter().all(|x| constr(x).1 > 0.0));
        let params = Nsga2Params {
            population_size: 40,
            ..Nsga2Params::default()
        };
        let optimizer = run(constr, 2, initial, params, 60, &mut rng);
        let population = optimizer.population();
        assert_eq!(population.len(), 40);
        assert!(population.violation.iter().all(|&v| v == 0.0));
        // The front spreads along f1 (x1 from about 0.39 to 1).
        let f1: Vec<f64> = population.objectives.iter().map(|f| f[0]).collect();
        let spread = f1.iter().copied().fold(f64::NEG_INFINITY, f64::max)
            - f1.iter().copied().fold(f64::INFINITY, f64::min);
        assert!(spread > 0.4, "f1 spread {spread}");
    }

    #[test]
    fn same_seed_same_population() {
        let outcome = |seed: u64| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let initial = uniform(&mut rng, 20, 5);
            let params = Nsga2Params {
                population_size: 20,
                ..Nsga2Params::default()
            };
            run(zdt1, 5, initial, params, 15, &mut rng)
                .population()
                .clone()
        };
        assert_eq!(outcome(7), outcome(7));
        assert_ne!(outcome(7), outcome(8));
    }

    #[test]
    fn initial_population_is_reduced_or_grown() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let params = Nsga2Params {
            population_size: 10,
            ..Nsga2Params::default()
        };
        let large = evaluate(zdt1, uniform(&mut rng, 25, 4));
        let best = select_best(&large.objectives, &large.violation, 10);
        let optimizer = Nsga2::new(params.clone(), 4, large.clone());
        assert_eq!(optimizer.population(), &large.select(&best));

        let mut small = Nsga2::new(params.clone(), 4, large.select(&[0, 1, 2]));
        assert_eq!(small.population().len(), 3);
        let offspring = small.ask(&mut rng);
        assert_eq!(offspring.len(), 10);
        let evaluated = evaluate(zdt1, offspring);
        small.tell(evaluated.x, evaluated.objectives, Vec::new());
        assert_eq!(small.population().len(), 10);

        let mut empty = Nsga2::new(params, 4, Population::default());
        let offspring = empty.ask(&mut rng);
        assert_eq!(offspring.len(), 10);
        assert!(offspring.iter().all(|x| x.len() == 4));
    }

    #[test]
    fn defaults_and_distribution_indices() {
        let params = Nsga2Params::default();
        assert_eq!(params.population_size, 100);
        assert_eq!(params.crossover_probability, 0.9);
        assert_eq!(params.mutation_probability, None);
        let mut optimizer = Nsga2::new(params, 4, Population::default());
        assert_eq!(optimizer.variation().mutation_probability, 0.25);
        assert_eq!(optimizer.variation().crossover_eta, vec![20.0; 4]);
        optimizer.set_distribution_indices(vec![1.0, 2.0, 3.0, 4.0], vec![5.0; 4]);
        assert_eq!(
            optimizer.variation().crossover_eta,
            vec![1.0, 2.0, 3.0, 4.0]
        );
        assert_eq!(optimizer.variation().mutation_eta, vec![5.0; 4]);
        assert_eq!(optimizer.dim(), 4);
    }
}
