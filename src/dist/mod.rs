//! Distributed evaluation: the controller on rank 0, workers on the other ranks of an MPI job.
//!
//! Roles (DESIGN.md, "MPI roles"): rank 0 owns the strategy, the surrogate and the result file;
//! ranks `1 … N` are workers. With `ranks_per_worker = K` the worker ranks form `N / K` groups
//! of `K` consecutive ranks: a group's first rank (its *leader*) receives candidates and runs
//! the evaluation with the group in [`GroupInfo`] (`DMOSOPT_GROUP_SIZE`, `DMOSOPT_GROUP_RANKS`
//! for a subprocess); the other *members* only hold their slots and wait for the shutdown.
//! Worker `w` (the `worker` column of the result file) is the group of ranks
//! `1 + w·K … (w + 1)·K`.
//!
//! A run goes through these steps (messages in [`wire`]):
//!
//! 1. every rank reads the config file itself; workers build their evaluator and send `Hello`
//!    (their resolved config, or why setup failed);
//! 2. rank 0 collects every `Hello`, checks that all ranks resolved the same configuration, and
//!    only then creates the result file; it answers `Start` to all — or `Shutdown` to all when
//!    anything failed, so no rank is left waiting;
//! 3. [`controller::run`] hands out candidates dynamically (a worker gets the next one as soon as
//!    it reports) and stores every result as it arrives; [`worker::serve`] evaluates;
//! 4. at the end (also after an error or at the deadline) every worker rank gets `Shutdown` and
//!    exits 0; only rank 0 reports the outcome and sets the exit code.
//!
//! A panic that escapes a rank's role aborts the whole job ([`abort_on_panic`]). Only
//! [`mpi`] imports the `mpi` crate; [`transport::ChannelTransport`] runs the same loops on
//! threads in unit tests.

pub mod controller;
pub mod log;
pub mod mpi;
pub mod transport;
pub mod wire;
pub mod worker;

#[cfg(test)]
mod tests;

use crate::problem::GroupInfo;
use crate::store::StoreError;
use crate::strategy::StrategyError;
use std::panic::{catch_unwind, AssertUnwindSafe};
use thiserror::Error;
use transport::Rank;

pub use self::mpi::Cluster;

/// Errors of distributed runs: layout, messages, workers.
#[derive(Debug, Error)]
pub enum DistError {
    #[error("--ranks-per-worker must be at least 1")]
    ZeroRanksPerWorker,
    #[error(
        "an MPI run needs at least 2 ranks (a controller and a worker), the world has {world_size}"
    )]
    TooFewRanks { world_size: usize },
    #[error(
        "cannot form one group of ranks per worker = {ranks_per_worker} from {n_worker_ranks} \
         worker ranks (world size {world_size} minus the controller): launch at least \
         1 + {ranks_per_worker} ranks"
    )]
    UnevenGroups {
        world_size: usize,
        n_worker_ranks: usize,
        ranks_per_worker: usize,
    },
    #[error("cannot encode a `{kind}` message: {detail}")]
    Encode { kind: &'static str, detail: String },
    #[error("cannot decode a `{kind}` message from rank {from}: {detail}")]
    Decode {
        kind: &'static str,
        from: Rank,
        detail: String,
    },
    #[error("no rank {rank} in a world of {size}")]
    NoSuchRank { rank: Rank, size: usize },
    #[error("rank {rank} is unreachable (its message channel is closed)")]
    Disconnected { rank: Rank },
    #[error("unexpected `{kind}` message from rank {from} {context}")]
    Unexpected {
        kind: &'static str,
        from: Rank,
        context: &'static str,
    },
    #[error("worker rank {rank} could not start: {message}{}", others_note(*others))]
    WorkerSetup {
        rank: Rank,
        message: String,
        others: usize,
    },
    #[error(
        "worker rank {rank} resolved a different configuration than rank 0 (were all ranks \
         started with the same config file and options?); first difference: {difference}"
    )]
    ConfigMismatch { rank: Rank, difference: String },
    #[error("worker {worker} (rank {rank}) failed: {message}")]
    WorkerFailed {
        worker: u32,
        rank: Rank,
        message: String,
    },
    #[error("the evaluation thread of worker rank {rank} stopped")]
    EvaluatorGone { rank: Rank },
    #[error(transparent)]
    Strategy(#[from] StrategyError),
    #[error("cannot save results: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Failures(#[from] crate::driver::DriverError),
}

fn others_note(others: usize) -> String {
    match others {
        0 => String::new(),
        1 => " (and 1 more worker rank failed)".to_string(),
        n => format!(" (and {n} more worker ranks failed)"),
    }
}

/// How the world's ranks are split into the controller and groups of workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    world_size: usize,
    ranks_per_worker: usize,
}

/// What one rank does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Controller,
    /// Receives tasks for worker `worker` and evaluates them with its group.
    Leader {
        worker: u32,
        group: GroupInfo,
    },
    /// Holds a slot of worker `worker`'s group until shutdown.
    Member {
        worker: u32,
    },
    /// Left over when the worker ranks do not split evenly into groups; waits for shutdown.
    Spare,
}

impl Layout {
    pub fn new(world_size: usize, ranks_per_worker: usize) -> Result<Self, DistError> {
        if ranks_per_worker == 0 {
            return Err(DistError::ZeroRanksPerWorker);
        }
        if world_size < 2 {
            return Err(DistError::TooFewRanks { world_size });
        }
        let n_worker_ranks = world_size - 1;
        if n_worker_ranks < ranks_per_worker {
            return Err(DistError::UnevenGroups {
                world_size,
                n_worker_ranks,
                ranks_per_worker,
            });
        }
        Ok(Self {
            world_size,
            ranks_per_worker,
        })
    }

    /// Worker ranks left over after the groups (they idle until shutdown).
    pub fn n_spare(&self) -> usize {
        (self.world_size - 1) % self.ranks_per_worker
    }

    pub fn world_size(&self) -> usize {
        self.world_size
    }

    pub fn ranks_per_worker(&self) -> usize {
        self.ranks_per_worker
    }

    /// Number of workers (groups).
    pub fn n_workers(&self) -> usize {
        (self.world_size - 1) / self.ranks_per_worker
    }

    /// The rank that receives worker `worker`'s tasks.
    pub fn leader(&self, worker: u32) -> Rank {
        1 + worker as usize * self.ranks_per_worker
    }

    /// Every worker rank (all groups, leaders and members).
    pub fn worker_ranks(&self) -> std::ops::Range<Rank> {
        1..self.world_size
    }

    /// The worker whose leader is `rank`, if it is one.
    pub fn worker_led_by(&self, rank: Rank) -> Option<u32> {
        let offset = rank.checked_sub(1)?;
        let worker = offset / self.ranks_per_worker;
        (rank < self.world_size && offset % self.ranks_per_worker == 0 && worker < self.n_workers())
            .then_some(worker as u32)
    }

    /// What `rank` does.
    pub fn role(&self, rank: Rank) -> Role {
        let Some(offset) = rank.checked_sub(1) else {
            return Role::Controller;
        };
        if offset / self.ranks_per_worker >= self.n_workers() {
            return Role::Spare;
        }
        let worker = (offset / self.ranks_per_worker) as u32;
        if offset % self.ranks_per_worker == 0 {
            let first = self.leader(worker) as u32;
            Role::Leader {
                worker,
                group: GroupInfo {
                    ranks: (first..first + self.ranks_per_worker as u32).collect(),
                },
            }
        } else {
            Role::Member { worker }
        }
    }
}

/// Run `role`; if it panics in a world of more than one rank, abort every rank of the job
/// (`MPI_Abort`, exit code 101) instead of leaving the others blocked in a receive.
///
/// This guards the rank's main thread at the boundary of its role rather than through a panic
/// hook: a hook would also fire for panics that are caught on purpose (the builtin evaluator
/// turns a panicking problem into a `failed` row).
pub fn abort_on_panic<T>(cluster: Option<&Cluster>, role: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(role)) {
        Ok(value) => value,
        Err(panic) => match cluster {
            Some(cluster) if cluster.size() > 1 => {
                eprintln!(
                    "[rank {}] error: panicked (message above); aborting all {} ranks",
                    cluster.rank(),
                    cluster.size()
                );
                cluster.abort(101)
            }
            _ => std::panic::resume_unwind(panic),
        },
    }
}
