//! Surrogate-free search: the MOEA runs on the true function, one generation per batch, and an
//! epoch is `num_generations` generations. The initial population is the best of the initial
//! design.

use super::{moea_values, Strategy, StrategyError};
use crate::moea::sorting::select_best;
use crate::moea::{Moea, Nsga2, Population};
use crate::problem::EvalId;

/// State of the direct search between batches.
pub(super) struct DirectSearch {
    moea: Nsga2,
    /// Generation within the current epoch.
    generation: u32,
    /// Evaluation ids of the generation being evaluated.
    batch: Vec<EvalId>,
}

impl Strategy {
    pub(super) fn advance_direct(&mut self) -> Result<(), StrategyError> {
        match self.direct.take() {
            None => {
                self.report_epoch();
                if self.config.n_epochs == 0 || self.remaining_budget() == 0 {
                    self.finished = true;
                    return Ok(());
                }
                let population = self.evaluated_population(None);
                let best = select_best(
                    &population.objectives,
                    &population.violation,
                    self.config.population_size,
                );
                let moea = Nsga2::new(
                    self.config.nsga2.clone(),
                    self.space.dim(),
                    population.select(&best),
                );
                self.epoch = 1;
                self.direct = Some(DirectSearch {
                    moea,
                    generation: 0,
                    batch: Vec::new(),
                });
            }
            Some(mut search) => {
                let batch = self.evaluated_population(Some(&search.batch));
                search.moea.tell(batch.x, batch.objectives, batch.violation);
                search.generation += 1;
                if search.generation as usize >= self.config.num_generations {
                    self.report_epoch();
                    if self.epoch as usize >= self.config.n_epochs || self.remaining_budget() == 0 {
                        self.finished = true;
                        return Ok(());
                    }
                    self.epoch += 1;
                    search.generation = 0;
                }
                self.direct = Some(search);
            }
        }
        self.enqueue_generation();
        Ok(())
    }

    fn enqueue_generation(&mut self) {
        let budget = self.remaining_budget();
        let epoch = self.epoch;
        let Some(mut search) = self.direct.take() else {
            return;
        };
        let mut rng = self.stream(epoch, search.generation + 1);
        let offspring = search.moea.ask(&mut rng);
        search.batch.clear();
        for unit in offspring.into_iter().take(budget) {
            search.batch.push(self.next_eval_id);
            self.enqueue(unit, epoch, None, None, None);
        }
        if search.batch.is_empty() {
            self.finished = true;
        }
        self.direct = Some(search);
    }

    /// Evaluated points as a MOEA population (all records, or the given ids), in id order.
    fn evaluated_population(&self, ids: Option<&[EvalId]>) -> Population {
        let mut population = Population::default();
        let records: Vec<_> = match ids {
            None => self.records.values().collect(),
            Some(ids) => ids.iter().filter_map(|id| self.records.get(id)).collect(),
        };
        for record in records {
            let (objectives, violation) = moea_values(record);
            population.push(
                self.space.normalize(&record.parameters),
                objectives,
                violation,
            );
        }
        population
    }
}
