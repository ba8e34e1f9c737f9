//! The [`Transport`] seam: point-to-point messages between numbered ranks (0 = controller).
//!
//! The controller sends a task to a worker, receives the next message from whichever worker
//! reports first, and shuts workers down; a worker receives its next message and sends its
//! result. Both sides use the same two operations. [`super::mpi::MpiTransport`] is the real one;
//! [`ChannelTransport`] connects threads of one process through channels, for unit tests of the
//! controller and worker loops. Messages are encoded to bytes in both, so the tests exercise
//! the wire format too.

use super::wire::{Message, Tag};
use super::DistError;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

/// A rank in the world (0 = controller).
pub type Rank = usize;

/// Point-to-point messaging between the ranks of one run.
pub trait Transport {
    /// This process's rank.
    fn rank(&self) -> Rank;
    /// Number of ranks (controller included).
    fn size(&self) -> usize;
    /// Send `message` to rank `to` (does not wait for it to be received).
    fn send(&mut self, to: Rank, message: &Message) -> Result<(), DistError>;
    /// The next message from any rank, with its sender; `None` if `timeout` passes first
    /// (`None` timeout: wait as long as it takes).
    fn recv_timeout(
        &mut self,
        timeout: Option<Duration>,
    ) -> Result<Option<(Rank, Message)>, DistError>;

    /// The next message from any rank (blocking).
    fn recv(&mut self) -> Result<(Rank, Message), DistError> {
        loop {
            if let Some(received) = self.recv_timeout(None)? {
                return Ok(received);
            }
        }
    }

    /// A message that has already arrived, if any (never blocks).
    fn try_recv(&mut self) -> Result<Option<(Rank, Message)>, DistError> {
        self.recv_timeout(Some(Duration::ZERO))
    }
}

type Envelope = (Rank, Tag, Vec<u8>);

/// In-process transport: one endpoint per rank, usually one thread each.
pub struct ChannelTransport {
    rank: Rank,
    peers: Vec<Sender<Envelope>>,
    inbox: Receiver<Envelope>,
}

impl ChannelTransport {
    /// Endpoints for ranks `0..size`, connected all to all.
    pub fn network(size: usize) -> Vec<ChannelTransport> {
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..size).map(|_| channel()).unzip();
        receivers
            .into_iter()
            .enumerate()
            .map(|(rank, inbox)| ChannelTransport {
                rank,
                peers: senders.clone(),
                inbox,
            })
            .collect()
    }
}

impl Transport for ChannelTransport {
    fn rank(&self) -> Rank {
        self.rank
    }

    fn size(&self) -> usize {
        self.peers.len()
    }

    fn send(&mut self, to: Rank, message: &Message) -> Result<(), DistError> {
        let (tag, payload) = message.encode()?;
        let peer = self.peers.get(to).ok_or(DistError::NoSuchRank {
            rank: to,
            size: self.peers.len(),
        })?;
        peer.send((self.rank, tag, payload))
            .map_err(|_| DistError::Disconnected { rank: to })
    }

    fn recv_timeout(
        &mut self,
        timeout: Option<Duration>,
    ) -> Result<Option<(Rank, Message)>, DistError> {
        // Every endpoint holds a sender to itself, so the inbox never disconnects.
        let (from, tag, payload) = match timeout {
            None => match self.inbox.recv() {
                Ok(envelope) => envelope,
                Err(_) => return Err(DistError::Disconnected { rank: self.rank }),
            },
            Some(timeout) => match self.inbox.recv_timeout(timeout) {
                Ok(envelope) => envelope,
                Err(RecvTimeoutError::Timeout) => return Ok(None),
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(DistError::Disconnected { rank: self.rank })
                }
            },
        };
        Ok(Some((from, Message::decode(tag, &payload, from)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::wire::Failure;

    #[test]
    fn messages_reach_the_addressed_rank_with_the_sender() {
        let mut endpoints = ChannelTransport::network(3);
        let mut two = endpoints.pop().unwrap();
        let mut one = endpoints.pop().unwrap();
        let mut zero = endpoints.pop().unwrap();
        assert_eq!((zero.rank(), two.rank(), zero.size()), (0, 2, 3));
        zero.send(2, &Message::Start).unwrap();
        let failure = Message::Failed(Failure {
            message: "x".into(),
        });
        one.send(0, &failure).unwrap();
        assert_eq!(two.recv().unwrap(), (0, Message::Start));
        assert_eq!(zero.recv().unwrap(), (1, failure));
        assert_eq!(one.try_recv().unwrap(), None);
        assert_eq!(
            one.recv_timeout(Some(Duration::from_millis(5))).unwrap(),
            None
        );
        assert!(matches!(
            zero.send(7, &Message::Shutdown),
            Err(DistError::NoSuchRank { rank: 7, size: 3 })
        ));
    }
}
