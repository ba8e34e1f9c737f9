//! The subprocess protocol, version 1 (`docs/protocol.md`): request lines written to the
//! simulation's stdin and the parsing of its response lines.
//!
//! A request names every parameter and constant:
//! `{"protocol":1,"id":17,"epoch":3,"params":{"x":0.7},"constants":{},"objectives":["f1","f2"],"constraints":["c1"]}`.
//! A response is `{"id":17,"objectives":{..} or [..],"constraints":{..} or [..],"features":{..}}`
//! or `{"id":17,"error":"message"}`. Objective and constraint values are numbers; `null`, and
//! the spellings of NaN and ±infinity that Python's `json.dumps` writes (`NaN`, `Infinity`,
//! `-Infinity`, bare, which is not JSON) or `str(float)` gives (`"nan"`, `"inf"`), are
//! accepted too. Anything else is a [`ProtocolError`] and the evaluation is recorded as
//! `invalid`.

use crate::problem::{EvalId, EvalRequest, ProblemSchema};
use crate::space::ParameterSpace;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{Map, Value};
use std::borrow::Cow;
use thiserror::Error;

/// The protocol version this program speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// The line that asks a persistent simulation to exit.
pub const SHUTDOWN_LINE: &str = "{\"protocol\":1,\"shutdown\":true}\n";

/// Keys a response may have.
const RESPONSE_KEYS: [&str; 6] = [
    "id",
    "objectives",
    "constraints",
    "features",
    "error",
    "protocol",
];

/// Longest excerpt of offending output quoted in a message.
const EXCERPT_CHARS: usize = 120;

/// Why a response line is not a valid response.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ProtocolError {
    #[error("response is not valid JSON ({detail}): {excerpt}")]
    NotJson { detail: String, excerpt: String },
    #[error("response is not a JSON object: {excerpt}")]
    NotObject { excerpt: String },
    #[error("response has no `id` (expected \"id\":{expected})")]
    MissingId { expected: EvalId },
    #[error("response `id` is {got}, expected {expected}")]
    WrongId { expected: EvalId, got: String },
    #[error(
        "response has unknown key `{key}` (allowed: id, objectives, constraints, features, error)"
    )]
    UnknownKey { key: String },
    #[error("response `error` must be a string, got {got}")]
    ErrorNotString { got: String },
    #[error("response has no `{what}` (expected {expected})")]
    Missing {
        what: &'static str,
        expected: String,
    },
    #[error("response `{what}` has {got} values, expected {expected} ({names})")]
    WrongLength {
        what: &'static str,
        got: usize,
        expected: usize,
        names: String,
    },
    #[error("response `{what}` is missing {missing} (expected {names})")]
    MissingNames {
        what: &'static str,
        missing: String,
        names: String,
    },
    #[error("response `{what}` has unknown {unknown} (expected {names})")]
    UnknownNames {
        what: &'static str,
        unknown: String,
        names: String,
    },
    #[error("response `{what}` must be an object or an array, got {got}")]
    NotCollection { what: &'static str, got: String },
    #[error("response {what} `{name}` is not a number: {got}")]
    NotNumber {
        what: &'static str,
        name: String,
        got: String,
    },
    #[error("response `features` must be an object, got {got}")]
    FeaturesNotObject { got: String },
}

/// A response that follows the protocol.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    /// Values in schema order; `features` as compact JSON text.
    Values {
        objectives: Vec<f64>,
        constraints: Vec<f64>,
        features: Option<String>,
    },
    /// The simulation reported that it failed.
    Error(String),
}

/// What requests contain and responses must match: the names of everything.
#[derive(Debug, Clone)]
pub struct Protocol {
    parameters: Vec<String>,
    integer: Vec<bool>,
    constant_names: Vec<String>,
    constant_values: Vec<f64>,
    schema: ProblemSchema,
}

impl Protocol {
    pub fn new(
        space: &ParameterSpace,
        schema: &ProblemSchema,
        constants: &[(String, f64)],
    ) -> Self {
        Self {
            parameters: space.names().iter().map(|n| n.to_string()).collect(),
            integer: space.parameters().iter().map(|p| p.integer).collect(),
            constant_names: constants.iter().map(|(n, _)| n.clone()).collect(),
            constant_values: constants.iter().map(|(_, v)| *v).collect(),
            schema: schema.clone(),
        }
    }

    pub fn schema(&self) -> &ProblemSchema {
        &self.schema
    }

    /// The request as one JSON line (with its newline). Integer parameters are written as
    /// JSON integers.
    pub fn request_line(&self, request: &EvalRequest) -> String {
        let line = RequestLine {
            protocol: PROTOCOL_VERSION,
            id: request.eval_id,
            epoch: request.epoch,
            params: Named {
                names: &self.parameters,
                values: &request.parameters,
                integer: Some(&self.integer),
            },
            constants: Named {
                names: &self.constant_names,
                values: &self.constant_values,
                integer: None,
            },
            objectives: &self.schema.objectives,
            constraints: &self.schema.constraints,
        };
        // Serializing plain numbers and strings cannot fail; keep a valid line regardless.
        let mut text = serde_json::to_string(&line)
            .unwrap_or_else(|_| format!("{{\"protocol\":1,\"id\":{}}}", request.eval_id));
        text.push('\n');
        text
    }

    /// Parse one response line for evaluation `expected`.
    pub fn parse_response(&self, line: &str, expected: EvalId) -> Result<Response, ProtocolError> {
        let object = parse_object(line)?;
        match object.get("id") {
            None => return Err(ProtocolError::MissingId { expected }),
            Some(id) if id.as_u64() == Some(expected) => {}
            Some(id) => {
                return Err(ProtocolError::WrongId {
                    expected,
                    got: short(&id.to_string()),
                })
            }
        }
        if let Some(key) = object.keys().find(|k| !RESPONSE_KEYS.contains(&k.as_str())) {
            return Err(ProtocolError::UnknownKey { key: key.clone() });
        }
        if let Some(error) = object.get("error") {
            return match error {
                Value::String(message) => Ok(Response::Error(message.clone())),
                other => Err(ProtocolError::ErrorNotString {
                    got: excerpt(&other.to_string()),
                }),
            };
        }
        let objectives = match object.get("objectives") {
            None => {
                return Err(ProtocolError::Missing {
                    what: "objectives",
                    expected: names_text(&self.schema.objectives),
                })
            }
            Some(value) => values("objectives", value, &self.schema.objectives)?,
        };
        let constraints = match object.get("constraints") {
            None | Some(Value::Null) if self.schema.constraints.is_empty() => Vec::new(),
            None => {
                return Err(ProtocolError::Missing {
                    what: "constraints",
                    expected: names_text(&self.schema.constraints),
                })
            }
            Some(value) => values("constraints", value, &self.schema.constraints)?,
        };
        let features = match object.get("features") {
            None | Some(Value::Null) => None,
            Some(value @ Value::Object(_)) => Some(value.to_string()),
            Some(other) => {
                return Err(ProtocolError::FeaturesNotObject {
                    got: excerpt(&other.to_string()),
                })
            }
        };
        Ok(Response::Values {
            objectives,
            constraints,
            features,
        })
    }
}

/// The `id` of a response line, if it is a JSON object with an integer `id`.
pub fn response_id(line: &str) -> Option<EvalId> {
    parse_object(line).ok()?.get("id")?.as_u64()
}

/// A line as a JSON object (after quoting bare NaN and infinities).
fn parse_object(line: &str) -> Result<Map<String, Value>, ProtocolError> {
    let text = quote_non_finite(line.trim());
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(ProtocolError::NotObject {
            excerpt: excerpt(line),
        }),
        Err(error) => Err(ProtocolError::NotJson {
            detail: error.to_string(),
            excerpt: excerpt(line),
        }),
    }
}

/// Values of `what` in the order of `names`, from an object by name or an array by position.
fn values(what: &'static str, value: &Value, names: &[String]) -> Result<Vec<f64>, ProtocolError> {
    let number = |name: &str, value: &Value| {
        number(value).ok_or_else(|| ProtocolError::NotNumber {
            what: singular(what),
            name: name.to_string(),
            got: excerpt(&value.to_string()),
        })
    };
    match value {
        Value::Array(items) => {
            if items.len() != names.len() {
                return Err(ProtocolError::WrongLength {
                    what,
                    got: items.len(),
                    expected: names.len(),
                    names: names_text(names),
                });
            }
            names
                .iter()
                .zip(items)
                .map(|(name, item)| number(name, item))
                .collect()
        }
        Value::Object(map) => {
            let missing: Vec<&String> = names.iter().filter(|n| !map.contains_key(*n)).collect();
            if !missing.is_empty() {
                return Err(ProtocolError::MissingNames {
                    what,
                    missing: quoted(missing.iter().map(|s| s.as_str())),
                    names: names_text(names),
                });
            }
            let unknown: Vec<&String> = map.keys().filter(|k| !names.contains(k)).collect();
            if !unknown.is_empty() {
                return Err(ProtocolError::UnknownNames {
                    what,
                    unknown: quoted(unknown.iter().map(|s| s.as_str())),
                    names: names_text(names),
                });
            }
            names
                .iter()
                .map(|name| number(name, &map[name.as_str()]))
                .collect()
        }
        Value::Null if names.is_empty() => Ok(Vec::new()),
        other => Err(ProtocolError::NotCollection {
            what,
            got: excerpt(&other.to_string()),
        }),
    }
}

fn singular(what: &'static str) -> &'static str {
    match what {
        "objectives" => "objective",
        "constraints" => "constraint",
        other => other,
    }
}

/// A value as a number: JSON numbers, `null` (NaN) and the usual spellings of NaN and ±∞.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::Null => Some(f64::NAN),
        Value::String(text) => match text.to_ascii_lowercase().as_str() {
            "nan" => Some(f64::NAN),
            "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
            "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

/// Put quotes around the bare tokens `NaN`, `Infinity` and `-Infinity` outside strings (what
/// Python's `json.dumps` writes for non-finite floats), so that the line parses as JSON.
fn quote_non_finite(text: &str) -> Cow<'_, str> {
    if !text.contains("NaN") && !text.contains("Infinity") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        let token = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|token| rest.starts_with(token));
        if let Some(token) = token {
            out.push('"');
            out.push_str(token);
            out.push('"');
            rest = &rest[token.len()..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    Cow::Owned(out)
}

/// The start of `text` (one line), quoted, for messages.
pub fn excerpt(text: &str) -> String {
    format!("{:?}", short(text))
}

/// The start of `text`, with `…` if it was cut.
fn short(text: &str) -> String {
    let text = text.trim();
    let mut short: String = text.chars().take(EXCERPT_CHARS).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

fn quoted<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn names_text(names: &[String]) -> String {
    if names.is_empty() {
        "no names".to_string()
    } else {
        quoted(names.iter().map(String::as_str))
    }
}

#[derive(Serialize)]
struct RequestLine<'a> {
    protocol: u32,
    id: EvalId,
    epoch: u32,
    params: Named<'a>,
    constants: Named<'a>,
    objectives: &'a [String],
    constraints: &'a [String],
}

/// Values by name, in order (a JSON object whose keys keep the configured order).
struct Named<'a> {
    names: &'a [String],
    values: &'a [f64],
    integer: Option<&'a [bool]>,
}

impl Serialize for Named<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.names.len()))?;
        for (i, (name, value)) in self.names.iter().zip(self.values).enumerate() {
            let integer = self.integer.is_some_and(|flags| flags[i]);
            if integer && value.fract() == 0.0 && value.abs() < 9.0e15 {
                map.serialize_entry(name, &(*value as i64))?;
            } else {
                map.serialize_entry(name, value)?;
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests;
