//! Wire messages between the controller (rank 0) and the workers: small serde structs sent as
//! JSON bytes, each kind under its own explicit tag, so a receiver can tell what arrives
//! before decoding it.
//!
//! Every `f64` travels as its IEEE-754 bit pattern (`u64`): JSON has no NaN or infinity, and
//! the round trip is exact (a NaN objective of a failed evaluation, `-0.0`, the last bit of a
//! parameter). The messages, in the order a run uses them:
//!
//! | tag | message | from → to | meaning |
//! |---|---|---|---|
//! | 1 | `Hello` | worker → 0 | setup done: the resolved config, or why setup failed |
//! | 2 | `Start` | 0 → worker | every rank is ready: serve tasks (leaders) or wait (members) |
//! | 3 | `Task` | 0 → leader | evaluate this candidate |
//! | 4 | `Result` | leader → 0 | the outcome of the task |
//! | 5 | `Failed` | worker → 0 | the worker cannot go on (the run ends, exit code 1) |
//! | 6 | `Shutdown` | 0 → worker | stop (after the run, on an error, or at the deadline) |

use super::DistError;
use crate::problem::{EvalId, EvalRequest, GroupInfo, Outcome, Status};
use serde::{Deserialize, Serialize};

/// Message tag (an MPI tag).
pub type Tag = i32;

pub const TAG_HELLO: Tag = 1;
pub const TAG_START: Tag = 2;
pub const TAG_TASK: Tag = 3;
pub const TAG_RESULT: Tag = 4;
pub const TAG_FAILED: Tag = 5;
pub const TAG_SHUTDOWN: Tag = 6;

/// Everything that travels between ranks.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Hello(Hello),
    Start,
    Task(Task),
    Result(TaskResult),
    Failed(Failure),
    Shutdown,
}

/// A worker's report after setup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// The resolved configuration (TOML) the rank will evaluate with, or why setup failed.
    pub setup: Result<String, String>,
}

/// A candidate to evaluate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub eval_id: EvalId,
    pub epoch: u32,
    #[serde(with = "bits_vec")]
    pub parameters: Vec<f64>,
}

/// The outcome of a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskResult {
    pub eval_id: EvalId,
    #[serde(with = "bits_vec")]
    pub objectives: Vec<f64>,
    #[serde(with = "bits_vec")]
    pub constraints: Vec<f64>,
    pub status: Status,
    pub error: String,
    #[serde(with = "bits")]
    pub start_time: f64,
    #[serde(with = "bits")]
    pub duration: f64,
    /// The simulation's `features`, as compact JSON text.
    #[serde(default)]
    pub features: Option<String>,
}

/// Why a worker stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub message: String,
}

impl Message {
    pub fn tag(&self) -> Tag {
        match self {
            Message::Hello(_) => TAG_HELLO,
            Message::Start => TAG_START,
            Message::Task(_) => TAG_TASK,
            Message::Result(_) => TAG_RESULT,
            Message::Failed(_) => TAG_FAILED,
            Message::Shutdown => TAG_SHUTDOWN,
        }
    }

    /// The message kind, for errors and logs.
    pub fn kind(&self) -> &'static str {
        kind_of(self.tag())
    }

    /// The tag and the payload bytes.
    pub fn encode(&self) -> Result<(Tag, Vec<u8>), DistError> {
        let payload = match self {
            Message::Hello(hello) => serde_json::to_vec(hello),
            Message::Task(task) => serde_json::to_vec(task),
            Message::Result(result) => serde_json::to_vec(result),
            Message::Failed(failure) => serde_json::to_vec(failure),
            Message::Start | Message::Shutdown => Ok(Vec::new()),
        }
        .map_err(|source| DistError::Encode {
            kind: self.kind(),
            detail: source.to_string(),
        })?;
        Ok((self.tag(), payload))
    }

    /// Decode a message received from rank `from` under `tag`.
    pub fn decode(tag: Tag, payload: &[u8], from: usize) -> Result<Message, DistError> {
        let error = |detail: String| DistError::Decode {
            kind: kind_of(tag),
            from,
            detail,
        };
        let json = |source: serde_json::Error| error(source.to_string());
        Ok(match tag {
            TAG_HELLO => Message::Hello(serde_json::from_slice(payload).map_err(json)?),
            TAG_START => Message::Start,
            TAG_TASK => Message::Task(serde_json::from_slice(payload).map_err(json)?),
            TAG_RESULT => Message::Result(serde_json::from_slice(payload).map_err(json)?),
            TAG_FAILED => Message::Failed(serde_json::from_slice(payload).map_err(json)?),
            TAG_SHUTDOWN => Message::Shutdown,
            other => return Err(error(format!("unknown tag {other}"))),
        })
    }
}

fn kind_of(tag: Tag) -> &'static str {
    match tag {
        TAG_HELLO => "hello",
        TAG_START => "start",
        TAG_TASK => "task",
        TAG_RESULT => "result",
        TAG_FAILED => "failed",
        TAG_SHUTDOWN => "shutdown",
        _ => "unknown",
    }
}

impl Task {
    pub fn from_request(request: &EvalRequest) -> Self {
        Self {
            eval_id: request.eval_id,
            epoch: request.epoch,
            parameters: request.parameters.clone(),
        }
    }

    /// The request a worker evaluates (the group is the worker's own, not sent).
    pub fn into_request(self, group: Option<GroupInfo>) -> EvalRequest {
        EvalRequest {
            eval_id: self.eval_id,
            epoch: self.epoch,
            parameters: self.parameters,
            group,
        }
    }
}

impl TaskResult {
    pub fn from_outcome(outcome: Outcome) -> Self {
        Self {
            eval_id: outcome.eval_id,
            objectives: outcome.objectives,
            constraints: outcome.constraints,
            status: outcome.status,
            error: outcome.error,
            start_time: outcome.start_time,
            duration: outcome.duration,
            features: outcome.features,
        }
    }

    /// The outcome as the controller records it, evaluated by `worker`.
    pub fn into_outcome(self, worker: u32) -> Outcome {
        Outcome {
            eval_id: self.eval_id,
            objectives: self.objectives,
            constraints: self.constraints,
            status: self.status,
            error: self.error,
            worker,
            start_time: self.start_time,
            duration: self.duration,
            features: self.features,
        }
    }
}

/// One `f64` as its bit pattern.
mod bits {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(value.to_bits())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        u64::deserialize(deserializer).map(f64::from_bits)
    }
}

/// A vector of `f64` as bit patterns.
mod bits_vec {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(values: &[f64], serializer: S) -> Result<S::Ok, S::Error> {
        let raw: Vec<u64> = values.iter().map(|v| v.to_bits()).collect();
        raw.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<f64>, D::Error> {
        Vec::<u64>::deserialize(deserializer)
            .map(|raw| raw.into_iter().map(f64::from_bits).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(message: &Message) -> Message {
        let (tag, payload) = message.encode().unwrap();
        assert_eq!(tag, message.tag());
        Message::decode(tag, &payload, 3).unwrap()
    }

    #[test]
    fn every_message_round_trips_exactly() {
        let result = TaskResult {
            eval_id: 17,
            objectives: vec![f64::NAN, -0.0, f64::INFINITY, 0.1 + 0.2],
            constraints: vec![f64::NEG_INFINITY, 1e-310],
            status: Status::Failed,
            error: "spike detection failed".into(),
            start_time: 1.7e9 + 0.123_456_789,
            duration: 0.05,
            features: Some("{\"rate\":[3.1,9.0]}".into()),
        };
        let messages = [
            Message::Hello(Hello {
                setup: Ok("[problem]\nid = \"x\"\n".into()),
            }),
            Message::Hello(Hello {
                setup: Err("cannot read config".into()),
            }),
            Message::Start,
            Message::Task(Task {
                eval_id: 3,
                epoch: 2,
                parameters: vec![std::f64::consts::PI, 1.0 / 3.0],
            }),
            Message::Failed(Failure {
                message: "evaluator gone".into(),
            }),
            Message::Shutdown,
        ];
        for message in &messages {
            assert_eq!(&round_trip(message), message);
        }
        let Message::Result(back) = round_trip(&Message::Result(result.clone())) else {
            panic!("not a result");
        };
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back.objectives), bits(&result.objectives));
        assert_eq!(bits(&back.constraints), bits(&result.constraints));
        assert_eq!(back.start_time.to_bits(), result.start_time.to_bits());
        assert_eq!(back.error, result.error);
    }

    #[test]
    fn bad_payloads_and_tags_name_the_kind_and_sender() {
        let error = Message::decode(TAG_TASK, b"{not json", 5)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("task") && error.contains("rank 5"),
            "{error}"
        );
        let error = Message::decode(99, b"", 2).unwrap_err().to_string();
        assert!(error.contains("unknown tag 99"), "{error}");
    }

    #[test]
    fn requests_and_outcomes_convert_both_ways() {
        let group = GroupInfo { ranks: vec![1, 2] };
        let request = EvalRequest {
            eval_id: 9,
            epoch: 1,
            parameters: vec![0.5],
            group: Some(group.clone()),
        };
        let task = Task::from_request(&request);
        assert_eq!(task.into_request(Some(group)), request);
        let outcome = Outcome {
            eval_id: 9,
            objectives: vec![1.0],
            constraints: vec![],
            status: Status::Ok,
            error: String::new(),
            worker: 7,
            features: Some("{\"rate\":[1.0,2.0]}".to_string()),
            start_time: 2.0,
            duration: 3.0,
        };
        let back = TaskResult::from_outcome(outcome.clone()).into_outcome(1);
        assert_eq!(back.worker, 1);
        assert_eq!(Outcome { worker: 7, ..back }, outcome);
    }
}
