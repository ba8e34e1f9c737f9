//! Request formatting and table-driven good and bad responses.

use super::*;
use crate::space::Parameter;

fn protocol(constraints: &[&str]) -> Protocol {
    let space = ParameterSpace::new(vec![
        Parameter::continuous("x", 0.0, 1.0),
        Parameter {
            name: "n".into(),
            lower: 1.0,
            upper: 8.0,
            integer: true,
            log: false,
        },
    ])
    .unwrap();
    let schema = ProblemSchema {
        objectives: vec!["f1".into(), "f2".into()],
        constraints: constraints.iter().map(|c| c.to_string()).collect(),
    };
    Protocol::new(&space, &schema, &[("celsius".into(), 36.0)])
}

#[test]
fn request_names_everything_in_order() {
    let line = protocol(&["c1"]).request_line(&EvalRequest {
        eval_id: 17,
        epoch: 3,
        parameters: vec![0.7, 4.0],
        group: None,
    });
    assert_eq!(
        line,
        "{\"protocol\":1,\"id\":17,\"epoch\":3,\"params\":{\"x\":0.7,\"n\":4},\
         \"constants\":{\"celsius\":36.0},\"objectives\":[\"f1\",\"f2\"],\"constraints\":[\"c1\"]}\n"
    );
}

fn nan_eq(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
}

#[test]
fn good_responses() {
    let inf = f64::INFINITY;
    let nan = f64::NAN;
    /// Constraint names, response line, objectives, constraints, features.
    type Case<'a> = (
        &'a [&'a str],
        &'a str,
        &'a [f64],
        &'a [f64],
        Option<&'a str>,
    );
    let cases: &[Case] = &[
        (
            &[],
            r#"{"id":5,"objectives":{"f1":0.1,"f2":2}}"#,
            &[0.1, 2.0],
            &[],
            None,
        ),
        (
            &[],
            r#"{"id":5,"objectives":{"f2":2,"f1":0.1}}"#,
            &[0.1, 2.0],
            &[],
            None,
        ),
        (
            &[],
            r#"  {"id":5,"objectives":[0.1,2.0]}  "#,
            &[0.1, 2.0],
            &[],
            None,
        ),
        (
            &[],
            r#"{"id":5,"objectives":[0.1,2.0],"constraints":[]}"#,
            &[0.1, 2.0],
            &[],
            None,
        ),
        (
            &[],
            r#"{"id":5,"objectives":[0.1,2.0],"constraints":{}}"#,
            &[0.1, 2.0],
            &[],
            None,
        ),
        (
            &[],
            r#"{"id":5,"objectives":[null,NaN]}"#,
            &[nan, nan],
            &[],
            None,
        ),
        (
            &[],
            r#"{"id":5,"objectives":[Infinity,-Infinity]}"#,
            &[inf, -inf],
            &[],
            None,
        ),
        (
            &[],
            r#"{"id":5,"objectives":["nan","inf"]}"#,
            &[nan, inf],
            &[],
            None,
        ),
        (
            &[],
            r#"{"id":5,"objectives":{"f1":1,"f2":2},"protocol":1}"#,
            &[1.0, 2.0],
            &[],
            None,
        ),
        (
            &["c1"],
            r#"{"id":5,"objectives":[1,2],"constraints":{"c1":-0.5}}"#,
            &[1.0, 2.0],
            &[-0.5],
            None,
        ),
        (
            &["c1"],
            r#"{"id":5,"objectives":[1,2],"constraints":[null]}"#,
            &[1.0, 2.0],
            &[nan],
            None,
        ),
        (
            &[],
            r#"{"id":5,"objectives":[1,2],"features":{"rate":[3.1,9],"label":"NaN in a string","v":NaN}}"#,
            &[1.0, 2.0],
            &[],
            Some(r#"{"label":"NaN in a string","rate":[3.1,9],"v":"NaN"}"#),
        ),
        (
            &[],
            r#"{"id":5,"objectives":[1,2],"features":null}"#,
            &[1.0, 2.0],
            &[],
            None,
        ),
    ];
    for (constraints, line, objectives, expected_constraints, features) in cases {
        match protocol(constraints).parse_response(line, 5) {
            Ok(Response::Values {
                objectives: o,
                constraints: c,
                features: f,
            }) => {
                assert!(nan_eq(&o, objectives), "{line}: objectives {o:?}");
                assert!(
                    nan_eq(&c, expected_constraints),
                    "{line}: constraints {c:?}"
                );
                assert_eq!(f.as_deref(), *features, "{line}");
            }
            other => panic!("{line}: {other:?}"),
        }
    }
}

#[test]
fn error_responses() {
    let p = protocol(&["c1"]);
    assert_eq!(
        p.parse_response(r#"{"id":5,"error":"spike detection failed"}"#, 5),
        Ok(Response::Error("spike detection failed".into()))
    );
    assert_eq!(
        p.parse_response(r#"{"id":5,"error":"x","objectives":[1,2]}"#, 5),
        Ok(Response::Error("x".into()))
    );
}

#[test]
fn bad_responses() {
    let cases: &[(&[&str], &str, &[&str])] = &[
        (&[], "hello world", &["not valid JSON", "hello world"]),
        (&[], r#"{"id":5,"objectives":[1,2]"#, &["not valid JSON"]),
        (&[], "[1,2]", &["not a JSON object"]),
        (&[], "", &["not valid JSON"]),
        (&[], r#"{"objectives":[1,2]}"#, &["no `id`", "\"id\":5"]),
        (
            &[],
            r#"{"id":6,"objectives":[1,2]}"#,
            &["`id` is 6, expected 5"],
        ),
        (&[], r#"{"id":"5","objectives":[1,2]}"#, &["`id` is"]),
        (&[], r#"{"id":5}"#, &["no `objectives`", "`f1`, `f2`"]),
        (
            &[],
            r#"{"id":5,"objectives":[1]}"#,
            &["`objectives` has 1 values, expected 2"],
        ),
        (&[], r#"{"id":5,"objectives":[1,2,3]}"#, &["has 3 values"]),
        (&[], r#"{"id":5,"objectives":{"f1":1}}"#, &["missing `f2`"]),
        (
            &[],
            r#"{"id":5,"objectives":{"f1":1,"f2":2,"f3":3}}"#,
            &["unknown `f3`"],
        ),
        (
            &[],
            r#"{"id":5,"objectives":{"a":1,"b":2}}"#,
            &["missing `f1`, `f2`"],
        ),
        (
            &[],
            r#"{"id":5,"objectives":[1,"abc"]}"#,
            &["objective `f2` is not a number", "abc"],
        ),
        (
            &[],
            r#"{"id":5,"objectives":[1,true]}"#,
            &["objective `f2` is not a number"],
        ),
        (&[], r#"{"id":5,"objectives":[1,[2]]}"#, &["not a number"]),
        (&[], r#"{"id":5,"objectives":3}"#, &["object or an array"]),
        (
            &["c1"],
            r#"{"id":5,"objectives":[1,2]}"#,
            &["no `constraints`", "`c1`"],
        ),
        (
            &["c1"],
            r#"{"id":5,"objectives":[1,2],"constraints":[]}"#,
            &["has 0 values"],
        ),
        (
            &["c1"],
            r#"{"id":5,"objectives":[1,2],"constraints":{"c2":1}}"#,
            &["missing `c1`"],
        ),
        (
            &[],
            r#"{"id":5,"objectives":[1,2],"constraints":[1]}"#,
            &["has 1 values, expected 0"],
        ),
        (
            &[],
            r#"{"id":5,"objectives":[1,2],"extra":1}"#,
            &["unknown key `extra`"],
        ),
        (&[], r#"{"id":5,"error":42}"#, &["`error` must be a string"]),
        (
            &[],
            r#"{"id":5,"objectives":[1,2],"features":[1]}"#,
            &["`features` must be an object"],
        ),
    ];
    for (constraints, line, fragments) in cases {
        let error = protocol(constraints)
            .parse_response(line, 5)
            .expect_err(line)
            .to_string();
        for fragment in *fragments {
            assert!(
                error.contains(fragment),
                "{line}: {error:?} lacks {fragment:?}"
            );
        }
    }
}

#[test]
fn non_finite_tokens_are_quoted_only_outside_strings() {
    let cases = [
        (
            "[NaN,Infinity,-Infinity]",
            "[\"NaN\",\"Infinity\",\"-Infinity\"]",
        ),
        (
            r#"{"a":"NaN \"Infinity\"","b":NaN}"#,
            r#"{"a":"NaN \"Infinity\"","b":"NaN"}"#,
        ),
        (r#"{"a":1}"#, r#"{"a":1}"#),
    ];
    for (input, expected) in cases {
        assert_eq!(quote_non_finite(input), expected);
    }
    assert_eq!(response_id(r#"{"id":3,"x":NaN}"#), Some(3));
    assert_eq!(response_id("garbage"), None);
}

#[test]
fn excerpts_are_short() {
    let long = "x".repeat(1000);
    let text = excerpt(&long);
    assert!(text.chars().count() < 130 && text.contains('…'), "{text}");
}
