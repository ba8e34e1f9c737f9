//! The MPI side of `dist` — the only file in the crate that imports `mpi` (rsmpi).
//!
//! [`Cluster`] owns the MPI universe: it is created only when the process was started by an MPI
//! launcher (see [`launched_by_mpi`]), and dropping it finalizes MPI. [`MpiTransport`] sends
//! each [`Message`] as bytes under its tag (`MPI_Send`) and receives with a matched probe on any
//! source and tag (`MPI_Improbe` + `MPI_Mrecv`).
//!
//! Waiting never spins at full speed: MPI implementations busy-poll inside blocking receives,
//! which would take the cores that the evaluations (or a group's other ranks) need. A receive
//! polls with `MPI_Improbe` and sleeps between polls for 1/200 of the time it has waited so far
//! (at least 5 µs, at most 10 ms), so a message is noticed at most 0.5 % late (a result of a
//! 50 ms evaluation within 0.25 ms) and a rank idle for more than two seconds costs about a
//! hundred probes a second.

use super::transport::{Rank, Transport};
use super::wire::Message;
use super::DistError;
use mpi::point_to_point::MatchedReceiveVec;
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::{Destination, Source};
use std::time::{Duration, Instant};

/// Variables through which MPI launchers (Open MPI's mpirun, MPICH/Hydra, PMI-1/2 and PMIx as
/// used by srun, MVAPICH) tell a process it is part of a parallel job.
pub const LAUNCHER_VARIABLES: [&str; 6] = [
    "OMPI_COMM_WORLD_SIZE",
    "PMI_SIZE",
    "PMI_RANK",
    "PMIX_RANK",
    "MPI_LOCALNRANKS",
    "MV2_COMM_WORLD_SIZE",
];

/// Was this process started by an MPI launcher? (`var` looks up an environment variable.)
///
/// A plain `dmosopt run` inside a Slurm batch script (no `srun`) sees `SLURM_NTASKS` but none of
/// these, and runs locally instead of initializing MPI as a singleton.
pub fn launched_by_mpi(var: impl Fn(&str) -> Option<String>) -> bool {
    LAUNCHER_VARIABLES.iter().any(|name| var(name).is_some())
}

/// An initialized MPI world.
pub struct Cluster {
    world: SimpleCommunicator,
    rank: Rank,
    size: usize,
    // Dropped last: finalizes MPI.
    _universe: mpi::environment::Universe,
}

impl Cluster {
    /// Initialize MPI if this process was started by an MPI launcher.
    pub fn from_launcher() -> Option<Cluster> {
        if !launched_by_mpi(|name| std::env::var(name).ok()) {
            return None;
        }
        let universe = mpi::initialize()?;
        let world = universe.world();
        let rank = usize::try_from(world.rank()).unwrap_or(0);
        let size = usize::try_from(world.size()).unwrap_or(1);
        Some(Cluster {
            world,
            rank,
            size,
            _universe: universe,
        })
    }

    pub fn rank(&self) -> Rank {
        self.rank
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// The transport over the world communicator.
    pub fn transport(&self) -> MpiTransport<'_> {
        MpiTransport {
            world: &self.world,
            rank: self.rank,
            size: self.size,
        }
    }

    /// End every rank of the job now (`MPI_Abort`).
    pub fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }
}

/// Messages over `MPI_COMM_WORLD`.
pub struct MpiTransport<'a> {
    world: &'a SimpleCommunicator,
    rank: Rank,
    size: usize,
}

const MIN_POLL_SLEEP: Duration = Duration::from_micros(5);
const MAX_POLL_SLEEP: Duration = Duration::from_millis(10);

impl Transport for MpiTransport<'_> {
    fn rank(&self) -> Rank {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn send(&mut self, to: Rank, message: &Message) -> Result<(), DistError> {
        if to >= self.size {
            return Err(DistError::NoSuchRank {
                rank: to,
                size: self.size,
            });
        }
        let (tag, payload) = message.encode()?;
        let rank = i32::try_from(to).map_err(|_| DistError::NoSuchRank {
            rank: to,
            size: self.size,
        })?;
        self.world
            .process_at_rank(rank)
            .send_with_tag(&payload[..], tag);
        Ok(())
    }

    fn recv_timeout(
        &mut self,
        timeout: Option<Duration>,
    ) -> Result<Option<(Rank, Message)>, DistError> {
        let start = Instant::now();
        loop {
            if let Some(probed) = self.world.any_process().immediate_matched_probe() {
                let (payload, status) = probed.matched_receive_vec::<u8>();
                let from = usize::try_from(status.source_rank()).unwrap_or(usize::MAX);
                return Ok(Some((from, Message::decode(status.tag(), &payload, from)?)));
            }
            let waited = start.elapsed();
            if timeout.is_some_and(|limit| waited >= limit) {
                return Ok(None);
            }
            let mut sleep = (waited / 200).clamp(MIN_POLL_SLEEP, MAX_POLL_SLEEP);
            if let Some(limit) = timeout {
                sleep = sleep.min(limit.saturating_sub(waited));
            }
            std::thread::sleep(sleep);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launchers_are_recognized_by_their_variables() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| value.to_string())
            }
        };
        assert!(launched_by_mpi(env(&[("OMPI_COMM_WORLD_SIZE", "4")])));
        assert!(launched_by_mpi(env(&[
            ("PMI_RANK", "0"),
            ("PMI_SIZE", "2")
        ])));
        assert!(launched_by_mpi(env(&[("PMIX_RANK", "3")])));
        assert!(!launched_by_mpi(env(&[("SLURM_NTASKS", "64")])));
        assert!(!launched_by_mpi(env(&[])));
    }
}
