//! Tests of the builtin catalogue as a whole: names, sizes, dispatch, errors, and properties
//! every builtin must have (finite outputs, fronts no random feasible point dominates).

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use serde::de::IntoDeserializer;
use serde::Deserialize;

use super::*;
use crate::problem::is_feasible;

/// (builtin, name, default objectives, default dim, constraints, scalable dim, scalable q)
const TABLE: [(Builtin, &str, usize, usize, usize, bool, bool); 20] = [
    (Builtin::Zdt1, "zdt1", 2, 30, 0, true, false),
    (Builtin::Zdt2, "zdt2", 2, 30, 0, true, false),
    (Builtin::Zdt3, "zdt3", 2, 30, 0, true, false),
    (Builtin::Zdt4, "zdt4", 2, 10, 0, true, false),
    (Builtin::Zdt6, "zdt6", 2, 10, 0, true, false),
    (Builtin::Dtlz1, "dtlz1", 3, 7, 0, true, true),
    (Builtin::Dtlz2, "dtlz2", 3, 12, 0, true, true),
    (Builtin::Dtlz3, "dtlz3", 3, 12, 0, true, true),
    (Builtin::Dtlz4, "dtlz4", 3, 12, 0, true, true),
    (Builtin::Dtlz5, "dtlz5", 3, 12, 0, true, true),
    (Builtin::Dtlz6, "dtlz6", 3, 12, 0, true, true),
    (Builtin::Dtlz7, "dtlz7", 3, 22, 0, true, true),
    (Builtin::Constr, "constr", 2, 2, 2, false, false),
    (Builtin::Srn, "srn", 2, 2, 2, false, false),
    (Builtin::Tnk, "tnk", 2, 2, 2, false, false),
    (Builtin::Osy, "osy", 2, 6, 6, false, false),
    (Builtin::C2Dtlz2, "c2-dtlz2", 3, 12, 1, true, true),
    (Builtin::Delay, "delay", 2, 2, 0, true, false),
    (Builtin::Motoneuron, "motoneuron", 4, 11, 8, false, false),
    (
        Builtin::MotoneuronWide,
        "motoneuron-wide",
        4,
        11,
        8,
        false,
        false,
    ),
];

/// Builtins that name their parameters and outputs themselves.
fn has_own_names(builtin: Builtin) -> bool {
    matches!(builtin, Builtin::Motoneuron | Builtin::MotoneuronWide)
}

/// How many builtins (the first in `Builtin::ALL`) are cheap enough for property tests.
const CHEAP_BUILTINS: usize = 17;

#[test]
fn table_covers_all_builtins_in_order() {
    let listed: Vec<Builtin> = TABLE.iter().map(|row| row.0).collect();
    assert_eq!(listed, Builtin::ALL);
}

#[test]
fn names_round_trip_through_name_display_from_str_and_serde() {
    for (builtin, name, ..) in TABLE {
        assert_eq!(builtin.name(), name);
        assert_eq!(builtin.to_string(), name);
        assert_eq!(Builtin::from_name(name), Some(builtin));
        assert_eq!(Builtin::from_name(&name.to_uppercase()), Some(builtin));
        assert_eq!(name.parse::<Builtin>().ok(), Some(builtin));
        let parsed: Result<Builtin, serde::de::value::Error> =
            Builtin::deserialize(name.into_deserializer());
        assert_eq!(parsed.ok(), Some(builtin), "serde name of {name}");
    }
}

#[test]
fn from_name_accepts_spellings_and_rejects_unknown_names() {
    let cases = [
        ("c2dtlz2", Some(Builtin::C2Dtlz2)),
        ("C2-DTLZ2", Some(Builtin::C2Dtlz2)),
        ("c2_dtlz2", Some(Builtin::C2Dtlz2)),
        ("ZDT1", Some(Builtin::Zdt1)),
        ("Osy", Some(Builtin::Osy)),
        ("motoneuron_wide", Some(Builtin::MotoneuronWide)),
        ("MotoneuronWide", Some(Builtin::MotoneuronWide)),
        ("zdt5", None),
        ("dtlz8", None),
        ("", None),
    ];
    for (name, expected) in cases {
        assert_eq!(Builtin::from_name(name), expected, "{name:?}");
    }
    let message = "dtlz8".parse::<Builtin>().unwrap_err().to_string();
    assert!(
        message.contains("dtlz8") && message.contains("c2-dtlz2"),
        "{message}"
    );
}

#[test]
fn default_sizes_and_scalability() {
    for (builtin, _, objectives, dim, _, scalable_dim, scalable_objectives) in TABLE {
        assert_eq!(builtin.default_objectives(), objectives, "{builtin}");
        assert_eq!(builtin.default_dim(objectives), dim, "{builtin}");
        assert_eq!(builtin.scalable_dim(), scalable_dim, "{builtin}");
        assert_eq!(
            builtin.scalable_objectives(),
            scalable_objectives,
            "{builtin}"
        );
    }
    let five = [
        (Builtin::Dtlz1, 9),
        (Builtin::Dtlz2, 14),
        (Builtin::Dtlz6, 14),
        (Builtin::Dtlz7, 24),
        (Builtin::C2Dtlz2, 14),
        (Builtin::Zdt1, 30),
        (Builtin::Osy, 6),
    ];
    for (builtin, dim) in five {
        assert_eq!(builtin.default_dim(5), dim, "{builtin}");
    }
}

#[test]
fn default_builds_have_the_declared_shape() {
    for (builtin, _, objectives, dim, constraints, ..) in TABLE {
        let problem = builtin.build(None, None).unwrap();
        assert_eq!(problem.space().dim(), dim, "{builtin}");
        assert_eq!(problem.schema().n_objectives(), objectives, "{builtin}");
        assert_eq!(problem.schema().n_constraints(), constraints, "{builtin}");
        if has_own_names(builtin) {
            continue;
        }
        let names: Vec<String> = (1..=dim).map(|i| format!("x{i}")).collect();
        assert_eq!(problem.space().names(), names, "{builtin}");
        let objective_names: Vec<String> = (1..=objectives).map(|i| format!("f{i}")).collect();
        assert_eq!(problem.schema().objectives, objective_names, "{builtin}");
        let constraint_names: Vec<String> = (1..=constraints).map(|i| format!("c{i}")).collect();
        assert_eq!(problem.schema().constraints, constraint_names, "{builtin}");
    }
}

#[test]
fn chosen_sizes_are_respected() {
    let cases = [
        (Builtin::Zdt1, Some(5), None, 5, 2),
        (Builtin::Zdt4, Some(3), Some(2), 3, 2),
        (Builtin::Dtlz2, None, Some(5), 14, 5),
        (Builtin::Dtlz1, Some(10), Some(4), 10, 4),
        (Builtin::Dtlz7, None, Some(2), 21, 2),
        (Builtin::C2Dtlz2, None, Some(2), 11, 2),
        (Builtin::Osy, Some(6), Some(2), 6, 2),
    ];
    for (builtin, dim, objectives, expected_dim, expected_objectives) in cases {
        let problem = builtin.build(dim, objectives).unwrap();
        assert_eq!(problem.space().dim(), expected_dim, "{builtin}");
        assert_eq!(
            problem.schema().n_objectives(),
            expected_objectives,
            "{builtin}"
        );
    }
}

#[test]
fn bad_sizes_are_rejected_with_a_message_naming_the_problem_and_value() {
    let cases = [
        (Builtin::Zdt1, Some(1), None, "dim = 1"),
        (Builtin::Zdt6, Some(0), None, "dim = 0"),
        (Builtin::Zdt4, None, Some(3), "n_objectives = 3"),
        (Builtin::Dtlz2, Some(2), Some(3), "dim = 2"),
        (Builtin::Dtlz1, None, Some(1), "n_objectives = 1"),
        (Builtin::Dtlz7, Some(4), Some(5), "dim = 4"),
        (Builtin::Osy, Some(3), None, "dim = 3"),
        (Builtin::Tnk, None, Some(3), "n_objectives = 3"),
        (Builtin::Constr, Some(30), None, "dim = 30"),
        (Builtin::C2Dtlz2, Some(3), Some(4), "dim = 3"),
        (Builtin::Motoneuron, Some(12), None, "dim = 12"),
        (Builtin::MotoneuronWide, None, Some(2), "n_objectives = 2"),
    ];
    for (builtin, dim, objectives, fragment) in cases {
        let message = match builtin.build(dim, objectives) {
            Ok(_) => panic!("{builtin} accepted dim {dim:?}, n_objectives {objectives:?}"),
            Err(error) => error.to_string(),
        };
        assert!(
            message.contains(&format!("`{}`", builtin.name())) && message.contains(fragment),
            "{message}"
        );
    }
}

#[test]
fn fronts_are_not_dominated_by_random_feasible_points() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(20_240_611);
    for builtin in Builtin::ALL {
        let problem = builtin.build(None, None).unwrap();
        let Some(front) = problem.pareto_front(50) else {
            continue;
        };
        assert!(
            front.len() <= 50 && front.len() >= 45,
            "{builtin}: {}",
            front.len()
        );
        let q = problem.schema().n_objectives();
        assert!(front
            .iter()
            .all(|p| p.len() == q && p.iter().all(|v| v.is_finite())));
        for _ in 0..20_000 {
            let unit: Vec<f64> = (0..problem.space().dim()).map(|_| rng.random()).collect();
            let evaluation = problem.evaluate(&problem.space().denormalize(&unit));
            if !is_feasible(&evaluation.constraints) {
                continue;
            }
            for point in &front {
                let strongly_dominated = evaluation
                    .objectives
                    .iter()
                    .zip(point)
                    .all(|(random, optimal)| *random < optimal - 1e-9);
                assert!(
                    !strongly_dominated,
                    "{builtin}: {:?} dominates front point {point:?}",
                    evaluation.objectives
                );
            }
        }
    }
}

#[test]
fn tiny_front_requests_are_honoured() {
    for builtin in Builtin::ALL {
        let problem = builtin
            .build(None, Some(builtin.default_objectives()))
            .unwrap();
        if let Some(front) = problem.pareto_front(0) {
            assert!(front.is_empty(), "{builtin}");
        }
        if let Some(front) = problem.pareto_front(1) {
            assert_eq!(front.len(), 1, "{builtin}");
        }
    }
}

proptest! {
    #[test]
    fn every_builtin_gives_finite_outputs_of_the_declared_length(
        index in 0usize..CHEAP_BUILTINS,
        unit in proptest::collection::vec(0.0f64..=1.0, 30),
    ) {
        let builtin = Builtin::ALL[index];
        let problem = builtin.build(None, None).unwrap();
        let x = problem.space().denormalize(&unit[..problem.space().dim()]);
        let evaluation = problem.evaluate(&x);
        prop_assert_eq!(evaluation.objectives.len(), problem.schema().n_objectives());
        prop_assert_eq!(evaluation.constraints.len(), problem.schema().n_constraints());
        prop_assert!(evaluation.objectives.iter().all(|v| v.is_finite()), "{builtin}: {evaluation:?}");
        prop_assert!(evaluation.constraints.iter().all(|v| v.is_finite()), "{builtin}: {evaluation:?}");
    }

    #[test]
    fn unconstrained_objectives_are_never_below_the_front(
        unit in proptest::collection::vec(0.0f64..=1.0, 30),
    ) {
        let zdt1 = Builtin::Zdt1.build(None, None).unwrap();
        let f = zdt1.evaluate(&unit).objectives;
        prop_assert!(f[1] >= 1.0 - f[0].sqrt() - 1e-12);
        let dtlz1 = Builtin::Dtlz1.build(None, None).unwrap();
        prop_assert!(dtlz1.evaluate(&unit[..7]).objectives.iter().sum::<f64>() >= 0.5 - 1e-12);
        let dtlz2 = Builtin::Dtlz2.build(None, None).unwrap();
        let squares: f64 = dtlz2.evaluate(&unit[..12]).objectives.iter().map(|v| v * v).sum();
        prop_assert!(squares >= 1.0 - 1e-12);
    }
}
