//! Restoring a strategy from a stored run (resume after a kill).
//!
//! The stored run is replayed through the state machine itself: the strategy asks as usual and
//! every candidate that has a stored record is told that record instead of being evaluated.
//! Proposals come from the stored proposal table where one exists (the initial design, and
//! every surrogate epoch: no surrogate is fitted again for a batch that was already proposed);
//! direct-search generations are re-derived (cheap, deterministic from the seed, the epoch, the
//! generation and the records) and checked against the stored proposals. The replay stops at
//! the first batch with candidates that have no record — the evaluations that were in flight
//! or not yet dispatched at the kill — and queues those again with their eval_ids and
//! parameters. If the kill came after an epoch's last record but before its successor was
//! proposed, the replay proposes it (exactly as the uninterrupted run would have, since the
//! proposal depends only on the seed, the epoch and the records in eval_id order), and
//! [`Strategy::take_proposals`] returns it for storing.

use super::{Ask, Candidate, SearchMode, Strategy, StrategyError};
use crate::problem::{EvalId, EvalRecord};
use std::collections::{BTreeMap, HashSet};

impl Strategy {
    /// Continue a stored run: `records` are its completed evaluations (any order), `proposals`
    /// every candidate it stored through [`Strategy::take_proposals`] (any order). Call before
    /// the first [`Strategy::ask`]. Afterwards the strategy is where the stored run stopped:
    /// completed evaluations are never handed out again, missing ones are queued.
    pub fn restore(
        &mut self,
        records: Vec<EvalRecord>,
        proposals: Vec<Candidate>,
    ) -> Result<(), StrategyError> {
        if self.started || !self.records.is_empty() {
            return Err(StrategyError::AlreadyStarted);
        }
        let mut stored: BTreeMap<EvalId, EvalRecord> =
            records.into_iter().map(|r| (r.eval_id, r)).collect();
        let stored_ids: HashSet<EvalId> = proposals.iter().map(|c| c.eval_id).collect();
        let mut by_id: BTreeMap<EvalId, Candidate> = BTreeMap::new();
        for mut candidate in proposals {
            candidate.unit = self.space.normalize(&candidate.parameters);
            by_id.insert(candidate.eval_id, candidate);
        }
        let direct = matches!(self.mode, SearchMode::Direct);
        for candidate in by_id.values() {
            if !direct || candidate.epoch == 0 {
                self.replay
                    .entry(candidate.epoch)
                    .or_default()
                    .push(candidate.clone());
            }
        }
        while let Ask::Evaluate(batch) = self.ask(usize::MAX)? {
            let mut missing = Vec::new();
            for candidate in batch {
                if let Some(proposal) = by_id.get(&candidate.eval_id) {
                    if proposal.parameters != candidate.parameters {
                        return Err(mismatch(
                            candidate.eval_id,
                            "was proposed at other parameters",
                        ));
                    }
                }
                self.in_flight.remove(&candidate.eval_id);
                match stored.remove(&candidate.eval_id) {
                    Some(record) => {
                        if record.parameters != candidate.parameters {
                            return Err(mismatch(
                                record.eval_id,
                                "was evaluated at other parameters than replayed",
                            ));
                        }
                        self.records.insert(record.eval_id, record);
                    }
                    None => missing.push(candidate),
                }
            }
            if !missing.is_empty() {
                for candidate in missing.into_iter().rev() {
                    self.queue.push_front(candidate);
                }
                break;
            }
        }
        if let Some((&eval_id, _)) = stored.iter().next() {
            return Err(mismatch(
                eval_id,
                "was stored but never proposed in the replay",
            ));
        }
        // Stored proposals later than where the replay stopped were never reached.
        self.replay.clear();
        self.proposed.retain(|c| !stored_ids.contains(&c.eval_id));
        Ok(())
    }

    /// Seed a new run with evaluations made elsewhere (`--initial-data`): they become records
    /// of the initial design (epoch 0) with eval_ids `0..m`, count toward its size, and are
    /// returned through [`Strategy::take_proposals`] like any proposal. Call before the first
    /// [`Strategy::ask`]; returns the records as stored (eval_ids and epochs assigned).
    pub fn import(&mut self, records: Vec<EvalRecord>) -> Result<Vec<EvalRecord>, StrategyError> {
        if self.started || !self.records.is_empty() {
            return Err(StrategyError::AlreadyStarted);
        }
        let mut imported = Vec::with_capacity(records.len());
        for mut record in records {
            record.eval_id = self.next_eval_id;
            record.epoch = 0;
            self.next_eval_id += 1;
            self.proposed.push(Candidate {
                eval_id: record.eval_id,
                epoch: 0,
                parameters: record.parameters.clone(),
                unit: self.space.normalize(&record.parameters),
                prediction: None,
                feasibility: None,
                surrogate_epochs: None,
            });
            self.records.insert(record.eval_id, record.clone());
            imported.push(record);
        }
        Ok(imported)
    }
}

fn mismatch(eval_id: EvalId, detail: &str) -> StrategyError {
    StrategyError::Replay {
        eval_id,
        detail: detail.to_owned(),
    }
}
