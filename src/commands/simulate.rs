//! `dmosopt simulate PROBLEM`: a builtin problem as a protocol-speaking simulation
//! (`docs/protocol.md`). It answers every request line on stdin with one response line on
//! stdout until end of input or a shutdown message, so the same command serves oneshot and
//! persistent mode. Use it to exercise the real subprocess and MPI paths with a known problem;
//! `dmosopt simulate motoneuron` is the motoneuron benchmark as a realistic simulation (about
//! 0.1 s per evaluation, with its features in every response).

use super::UsageError;
use crate::cli::SimulateArgs;
use crate::problems::{Builtin, Problem};
use anyhow::Context;
use serde_json::{json, Value};
use std::io::{BufRead, Write};

pub fn simulate(args: &SimulateArgs) -> anyhow::Result<()> {
    let builtin = Builtin::from_name(&args.problem).ok_or_else(|| {
        let names: Vec<&str> = Builtin::ALL.iter().map(|b| b.name()).collect();
        UsageError(format!(
            "unknown builtin problem `{}`; choose one of {}",
            args.problem,
            names.join(", ")
        ))
    })?;
    let mut problem = builtin
        .build(args.dim, args.n_objectives)
        .map_err(|error| UsageError(error.to_string()))?;
    let mut built_with_constants = false;
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let line = line.context("cannot read a request from stdin")?;
        if line.trim().is_empty() {
            continue;
        }
        // Problems with settings (the `delay` tool's timing) take them from the first
        // request's `constants`; they do not change within a run.
        if !built_with_constants {
            built_with_constants = true;
            let constants = request_constants(&line);
            if !constants.is_empty() {
                problem = builtin
                    .build_with_constants(args.dim, args.n_objectives, &constants)
                    .with_context(|| {
                        format!(
                            "cannot build `{}` with the request's constants",
                            builtin.name()
                        )
                    })?;
            }
        }
        let Some(response) = respond(problem.as_ref(), &line) else {
            break;
        };
        writeln!(stdout, "{response}").context("cannot write a response to stdout")?;
        stdout.flush().context("cannot flush stdout")?;
    }
    Ok(())
}

/// The numeric `constants` of a request line (none when absent or unreadable).
fn request_constants(line: &str) -> Vec<(String, f64)> {
    serde_json::from_str::<Value>(line)
        .ok()
        .and_then(|request| request.get("constants").and_then(Value::as_object).cloned())
        .map(|constants| {
            constants
                .into_iter()
                .filter_map(|(name, value)| value.as_f64().map(|v| (name, v)))
                .collect()
        })
        .unwrap_or_default()
}

/// The response line for one request line; `None` for the shutdown message.
fn respond(problem: &dyn Problem, line: &str) -> Option<Value> {
    let request: Value = match serde_json::from_str(line) {
        Ok(value) => value,
        Err(error) => {
            return Some(json!({"id": null, "error": format!("malformed request: {error}")}))
        }
    };
    if request.get("shutdown").and_then(Value::as_bool) == Some(true) {
        return None;
    }
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    Some(match parameters(problem, &request) {
        Ok(x) => {
            let (evaluation, features) = problem.evaluate_with_features(&x);
            let mut response = json!({
                "id": id,
                "objectives": evaluation.objectives,
                "constraints": evaluation.constraints,
            });
            if let Some(features) = features {
                response["features"] = features;
            }
            response
        }
        Err(message) => json!({"id": id, "error": message}),
    })
}

/// The request's `params`, in the problem's parameter order.
fn parameters(problem: &dyn Problem, request: &Value) -> Result<Vec<f64>, String> {
    let params = request
        .get("params")
        .and_then(Value::as_object)
        .ok_or("request has no `params` object")?;
    problem
        .space()
        .parameters()
        .iter()
        .map(|parameter| {
            params
                .get(&parameter.name)
                .and_then(Value::as_f64)
                .ok_or_else(|| format!("parameter `{}` is missing or not a number", parameter.name))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_requests_and_stops_at_shutdown() {
        let problem = Builtin::Zdt1.build(Some(2), None).unwrap();
        let response = respond(
            problem.as_ref(),
            r#"{"protocol":1,"id":4,"params":{"x1":0.25,"x2":0.0}}"#,
        )
        .unwrap();
        assert_eq!(response["id"], 4);
        assert_eq!(response["objectives"][0], 0.25);
        assert_eq!(response["objectives"][1], 0.5);
        let missing = respond(problem.as_ref(), r#"{"id":5,"params":{"x1":0.25}}"#).unwrap();
        assert!(missing["error"].as_str().unwrap().contains("x2"));
        let garbage = respond(problem.as_ref(), "not json").unwrap();
        assert!(garbage["error"].as_str().unwrap().contains("malformed"));
        assert!(respond(problem.as_ref(), r#"{"protocol":1,"shutdown":true}"#).is_none());
    }

    #[test]
    fn motoneuron_responses_carry_features() {
        let problem = Builtin::Motoneuron.build(None, None).unwrap();
        let params: serde_json::Map<String, Value> = problem
            .space()
            .parameters()
            .iter()
            .map(|p| (p.name.clone(), json!((p.lower * p.upper).sqrt())))
            .collect();
        let request = json!({"protocol": 1, "id": 1, "params": params}).to_string();
        let response = respond(problem.as_ref(), &request).unwrap();
        assert_eq!(response["objectives"].as_array().unwrap().len(), 4);
        assert_eq!(response["constraints"].as_array().unwrap().len(), 8);
        assert_eq!(response["features"]["fI"].as_array().unwrap().len(), 7);
        assert!(response["features"].get("rn").is_some());
    }
}
