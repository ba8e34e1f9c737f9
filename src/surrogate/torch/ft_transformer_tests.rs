use super::*;
use crate::surrogate::torch::precision::Precision;
use crate::surrogate::torch::training::with_seed;
use tch::{Device, Kind};

fn small_settings(blocks: usize) -> FtSettings {
    FtSettings {
        width: 16,
        heads: 4,
        blocks,
        ffn_hidden: 32,
        precision: Precision::F32,
        ..FtSettings::default()
    }
}

fn build(
    members: i64,
    inputs: i64,
    outputs: i64,
    settings: &FtSettings,
) -> (nn::VarStore, FtTransformer) {
    let store = nn::VarStore::new(Device::Cpu);
    let network = FtTransformer::new(&store.root(), members, inputs, outputs, settings).unwrap();
    (store, network)
}

fn inputs(members: i64, rows: i64, inputs: i64) -> Tensor {
    Tensor::rand([members, rows, inputs], (Kind::Float, Device::Cpu))
}

fn max_difference(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

#[test]
fn token_groups_keep_at_most_64_tokens() {
    assert_eq!(token_groups(11), (1, 11));
    assert_eq!(token_groups(64), (1, 64));
    assert_eq!(token_groups(65), (2, 33));
    // 142 inputs: groups of ceil(142/64) = 3, ceil(142/3) = 48 tokens (the last holds 1).
    assert_eq!(token_groups(142), (3, 48));
    assert_eq!(token_groups(4096), (64, 64));
}

#[test]
fn outputs_have_the_stacked_shape_with_and_without_grouping() {
    with_seed(1, || {
        for (n, tokens) in [(3, 3), (11, 11), (142, 48)] {
            let (_store, network) = build(2, n, 7, &small_settings(2));
            assert_eq!(network.tokens(), tokens);
            let x = inputs(2, 5, n);
            for train in [false, true] {
                let y = network.forward(&x, train).unwrap();
                assert_eq!(y.size(), vec![2, 5, 7], "n = {n}, train = {train}");
            }
        }
        let (_store, network) = build(1, 4, 2, &small_settings(1));
        let wrong = inputs(1, 5, 3);
        assert!(matches!(
            network.forward(&wrong, false),
            Err(SurrogateError::BadData(m)) if m.contains("shape")
        ));
    });
}

#[test]
fn many_targets_default_to_two_blocks() {
    assert_eq!(FtSettings::for_targets(100).blocks, 3);
    assert_eq!(FtSettings::for_targets(101).blocks, 2);
    assert_eq!(FtSettings::default(), FtSettings::for_targets(12));
    let settings = FtSettings {
        width: 16,
        ffn_hidden: 16,
        ..FtSettings::for_targets(120)
    };
    let (_store, network) = build(1, 5, 120, &settings);
    assert_eq!(network.blocks(), 2);
    assert_eq!(
        network.forward(&inputs(1, 3, 5), false).unwrap().size(),
        vec![1, 3, 120]
    );
}

#[test]
fn width_must_be_divisible_by_heads() {
    let store = nn::VarStore::new(Device::Cpu);
    let settings = FtSettings {
        width: 18,
        heads: 4,
        ..FtSettings::default()
    };
    let Err(SurrogateError::BadData(message)) =
        FtTransformer::new(&store.root(), 1, 3, 2, &settings)
    else {
        panic!("width 18 with 4 heads accepted");
    };
    assert!(
        message.contains("18") && message.contains("heads 4"),
        "{message}"
    );
}

#[test]
fn grouped_tokens_average_the_full_projection() {
    with_seed(2, || {
        let (n, d) = (142, 16);
        let (_store, network) = build(2, n, 3, &small_settings(1));
        let x = inputs(2, 4, n);
        let shape = Shape {
            members: 2,
            rows: 4,
        };
        let tokens = network.tokenize(&x, shape).unwrap().view([2, 4, 48, d]);
        // Reference: all 142 tokens, then the mean of each group of 3 (the last: 1 token).
        let full = dense(&x, &network.tokenizer.weight, &network.tokenizer.bias)
            .unwrap()
            .view([2, 4, n, d]);
        for token in [0i64, 1, 20, 46, 47] {
            let first = token * 3;
            let count = (n - first).min(3);
            let expected = full.narrow(2, first, count).mean_dim(2, false, Kind::Float);
            let got = tokens.select(2, token);
            assert!(max_difference(&got, &expected) < 1e-5, "token {token}");
        }
    });
}

#[test]
fn the_last_block_shortcut_matches_the_full_computation() {
    with_seed(3, || {
        for (members, n, blocks) in [(1, 11, 3), (3, 11, 2), (2, 70, 1), (1, 5, 0)] {
            let (_store, network) = build(members, n, 4, &small_settings(blocks));
            let x = inputs(members, 9, n);
            let fast = network.forward(&x, false).unwrap();
            let full = network.forward_full(&x, false).unwrap();
            let difference = max_difference(&fast, &full);
            assert!(
                difference < 1e-5,
                "M = {members}, n = {n}, blocks = {blocks}: {difference}"
            );
        }
    });
}

#[test]
fn a_member_depends_only_on_its_own_parameters() {
    with_seed(4, || {
        let (_store, network) = build(3, 6, 2, &small_settings(2));
        let x = inputs(3, 8, 6);
        let before = network.forward(&x, false).unwrap();
        // Gradients of member 0's outputs reach member 0's parameters only.
        network
            .forward(&x, false)
            .unwrap()
            .get(0)
            .sum(Kind::Float)
            .backward();
        for parameter in network.parameters() {
            let gradient = parameter.grad();
            assert!(gradient.get(0).abs().sum(Kind::Float).double_value(&[]) > 0.0);
            for other in [1, 2] {
                assert_eq!(
                    gradient.get(other).abs().sum(Kind::Float).double_value(&[]),
                    0.0
                );
            }
        }
        // Changing member 1's parameters changes member 1's outputs only.
        tch::no_grad(|| {
            for parameter in network.parameters() {
                let mut slice = parameter.get(1);
                let _ = slice.f_add_(&(slice.rand_like() - 0.5)).unwrap();
            }
        });
        let after = network.forward(&x, false).unwrap();
        for member in [0, 2] {
            assert_eq!(
                max_difference(&before.get(member), &after.get(member)),
                0.0,
                "member {member}"
            );
        }
        assert!(max_difference(&before.get(1), &after.get(1)) > 1e-3);
    });
}

#[test]
fn stacked_members_compute_what_single_members_compute() {
    with_seed(5, || {
        let settings = small_settings(2);
        let (stacked_store, stacked) = build(3, 6, 2, &settings);
        let x = inputs(3, 8, 6);
        let together = stacked.forward(&x, false).unwrap();
        let stacked_vars = stacked_store.variables();
        for member in 0..3 {
            let (single_store, single) = build(1, 6, 2, &settings);
            tch::no_grad(|| {
                for (name, mut value) in single_store.variables() {
                    value.copy_(&stacked_vars[&name].narrow(0, member, 1));
                }
            });
            let alone = single.forward(&x.narrow(0, member, 1), false).unwrap();
            let difference = max_difference(&alone.get(0), &together.get(member));
            assert!(difference < 1e-5, "member {member}: {difference}");
        }
    });
}

#[test]
fn dropout_masks_keep_each_element_with_probability_one_minus_p() {
    with_seed(3, || {
        for (p, keep, kind) in [
            (0.1, 1.0 / 0.9, Kind::Float),
            (0.05, 1.0, Kind::BFloat16),
            (0.5, 2.0, Kind::Double),
        ] {
            let mask = dropout_mask(&[4, 250, 100], p, keep, kind, Device::Cpu).unwrap();
            assert_eq!(mask.size(), vec![4, 250, 100]);
            assert_eq!(mask.kind(), kind);
            let mask = mask.to_kind(Kind::Double);
            let dropped = mask.eq(0.0).to_kind(Kind::Double).mean(Kind::Double);
            let dropped = dropped.double_value(&[]);
            // 100 000 draws: the standard error of the rate is below 0.0016.
            assert!((dropped - p).abs() < 0.006, "p = {p}: dropped {dropped}");
            let kept = mask.max().double_value(&[]);
            assert!((kept - keep).abs() < 1e-6, "p = {p}: kept value {kept}");
            let off = (&mask - keep).abs().gt(1e-6);
            let values = mask.ne(0.0).logical_and(&off).any();
            assert_eq!(values.int64_value(&[]), 0, "p = {p}: other values");
        }
        // Independent draws: two masks differ.
        let a = dropout_mask(&[1000], 0.5, 1.0, Kind::Float, Device::Cpu).unwrap();
        let b = dropout_mask(&[1000], 0.5, 1.0, Kind::Float, Device::Cpu).unwrap();
        assert!(max_difference(&a, &b) > 0.0);
    });
}

#[test]
fn bf16_trains_in_bfloat16_and_evaluates_exactly() {
    // No dropout, so that training mode computes the same function as evaluation mode.
    let exact = FtSettings {
        attention_dropout: 0.0,
        ffn_dropout: 0.0,
        residual_dropout: 0.0,
        ..small_settings(2)
    };
    let bf16 = FtSettings {
        precision: Precision::Bf16,
        ..exact.clone()
    };
    let x = inputs(2, 32, 5);
    let outputs = |settings: &FtSettings| {
        with_seed(4, || {
            let (_store, network) = build(2, 5, 3, settings);
            let train = network.forward(&x, true).unwrap();
            (train, network.forward(&x, false).unwrap())
        })
    };
    let (exact_train, exact_eval) = outputs(&exact);
    let (rounded_train, rounded_eval) = outputs(&bf16);
    assert_eq!(rounded_train.kind(), Kind::Float);
    assert_eq!(max_difference(&exact_eval, &rounded_eval), 0.0);
    assert!(max_difference(&exact_train, &exact_eval) < 1e-5);
    let difference = max_difference(&exact_train, &rounded_train);
    let scale = exact_eval.abs().max().double_value(&[]);
    // bfloat16 keeps 8 significant bits: errors of a few 2^-8 of the outputs' scale.
    assert!(difference > 0.0, "bf16 trained in f32");
    assert!(difference < 0.05 * scale, "{difference} of {scale}");
}

#[test]
fn dropout_acts_only_in_training() {
    with_seed(6, || {
        let (_store, network) = build(1, 5, 3, &small_settings(2));
        let x = inputs(1, 16, 5);
        let eval = network.forward(&x, false).unwrap();
        assert_eq!(
            max_difference(&eval, &network.forward(&x, false).unwrap()),
            0.0
        );
        let train = network.forward(&x, true).unwrap();
        assert!(max_difference(&eval, &train) > 0.0);
    });
}

#[test]
fn input_gradients_match_finite_differences_in_double_precision() {
    with_seed(7, || {
        for (members, n, blocks) in [(1, 3, 2), (2, 70, 1)] {
            let (mut store, network) = build(members, n, 2, &small_settings(blocks));
            store.double();
            let x = inputs(members, 4, n).to_kind(Kind::Double);
            let point = x.set_requires_grad(true);
            let output = network.forward(&point, false).unwrap();
            let gradient =
                Tensor::run_backward(&[output.sum(Kind::Double)], &[&point], false, false)
                    .pop()
                    .unwrap();
            let h = 1e-6;
            for dimension in [0, n - 1] {
                let step = Tensor::zeros_like(&x);
                let _ = step.narrow(2, dimension, 1).fill_(h);
                let up = network
                    .forward(&(&x + &step), false)
                    .unwrap()
                    .sum(Kind::Double);
                let down = network
                    .forward(&(&x - &step), false)
                    .unwrap()
                    .sum(Kind::Double);
                let numeric = (up - down).double_value(&[]) / (2.0 * h);
                let analytic = gradient
                    .narrow(2, dimension, 1)
                    .sum(Kind::Double)
                    .double_value(&[]);
                assert!(
                    (numeric - analytic).abs() < 1e-6 * (1.0 + numeric.abs()),
                    "M = {members}, n = {n}, dimension {dimension}: {analytic} vs {numeric}"
                );
            }
        }
    });
}
