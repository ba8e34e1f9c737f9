use super::*;
use crate::surrogate::torch::training::with_seed;
use tch::{Device, Kind};

fn architectures() -> Vec<Architecture> {
    vec![
        Architecture::Mlp {
            width: 16,
            depth: 2,
            activation: Activation::Gelu,
        },
        Architecture::Resnet {
            width: 16,
            hidden: 24,
            blocks: 2,
            dropout: 0.1,
        },
    ]
}

/// Builds a network; callers hold [`with_seed`] (libtorch's global generator).
fn build(members: i64, architecture: &Architecture, seed: i64) -> (nn::VarStore, Network) {
    tch::manual_seed(seed);
    let store = nn::VarStore::new(Device::Cpu);
    let network = Network::new(&store.root(), members, 5, 3, architecture).unwrap();
    (store, network)
}

fn max_difference(a: &Tensor, b: &Tensor) -> f64 {
    a.f_sub(b).unwrap().abs().max().double_value(&[])
}

/// Moves the batch-normalization running statistics away from their initial values, so
/// that evaluation mode depends on them.
fn train_statistics(network: &Network, members: i64) {
    let x = Tensor::randn([members, 40, 5], (Kind::Float, Device::Cpu)) * 3.0 + 1.0;
    let _ = tch::no_grad(|| network.forward(&x, true).unwrap());
}

#[test]
fn stacked_forward_equals_separate_networks_with_the_same_parameters() {
    with_seed(10, || {
        for architecture in architectures() {
            let (stacked_store, stacked) = build(3, &architecture, 1);
            train_statistics(&stacked, 3);
            let x = Tensor::randn([3, 7, 5], (Kind::Float, Device::Cpu));
            let together = tch::no_grad(|| stacked.forward(&x, false).unwrap());
            assert_eq!(together.size(), vec![3, 7, 3]);
            for m in 0..3 {
                let (single_store, single) = build(1, &architecture, 100 + m);
                copy_member(&stacked_store, m, &single_store, 0).unwrap();
                let alone = tch::no_grad(|| single.forward(&x.narrow(0, m, 1), false).unwrap());
                let difference = max_difference(&alone, &together.narrow(0, m, 1));
                assert!(
                    difference < 1e-5,
                    "{}: member {m}: {difference}",
                    architecture.name()
                );
            }
            // Training mode (batch statistics) agrees as well, without dropout's randomness.
            if let Architecture::Resnet { .. } = architecture {
                let no_dropout = Architecture::Resnet {
                    width: 16,
                    hidden: 24,
                    blocks: 2,
                    dropout: 0.0,
                };
                let (store, stacked) = build(2, &no_dropout, 2);
                let (single_store, single) = build(1, &no_dropout, 3);
                copy_member(&store, 1, &single_store, 0).unwrap();
                let together = stacked.forward(&x.narrow(0, 0, 2), true).unwrap();
                let alone = single.forward(&x.narrow(0, 1, 1), true).unwrap();
                assert!(max_difference(&alone, &together.narrow(0, 1, 1)) < 1e-5);
            }
        }
    });
}
#[test]
fn members_never_mix() {
    with_seed(11, || {
        for architecture in architectures() {
            let (store, network) = build(2, &architecture, 4);
            train_statistics(&network, 2);
            let x = Tensor::randn([2, 9, 5], (Kind::Float, Device::Cpu));
            let before = tch::no_grad(|| network.forward(&x, false).unwrap());
            tch::no_grad(|| {
                for (_, variable) in store.variables() {
                    let mut first = variable.narrow(0, 0, 1);
                    let noise = first.rand_like() * 0.5 + 0.1; // positive: variances stay positive
                    let _ = first.f_add_(&noise).unwrap();
                }
            });
            let after = tch::no_grad(|| network.forward(&x, false).unwrap());
            let name = architecture.name();
            assert!(
                max_difference(&before.narrow(0, 0, 1), &after.narrow(0, 0, 1)) > 1e-3,
                "{name}: perturbing member 0 changes member 0"
            );
            assert_eq!(
                max_difference(&before.narrow(0, 1, 1), &after.narrow(0, 1, 1)),
                0.0,
                "{name}: member 1 is unchanged"
            );
        }
    });
}
#[test]
fn weighted_batch_normalization_ignores_rows_of_weight_zero() {
    with_seed(12, || {
        let architecture = Architecture::Resnet {
            width: 8,
            hidden: 8,
            blocks: 1,
            dropout: 0.0,
        };
        let (store, network) = build(2, &architecture, 5);
        let (single_store, single) = build(1, &architecture, 6);
        copy_member(&store, 0, &single_store, 0).unwrap();
        let x = Tensor::randn([2, 10, 5], (Kind::Float, Device::Cpu));
        // Member 0 trains on rows 0..6, member 1 on every row; rows 6..10 of member 0 are
        // replaced by outliers that must not change anything it computes on rows 0..6.
        let weights = Tensor::from_slice(&[[1f32; 6].as_slice(), &[0.0; 4], &[1.0; 10]].concat())
            .view([2, 10]);
        let outliers = x.copy();
        let _ = outliers
            .narrow(0, 0, 1)
            .narrow(1, 6, 4)
            .f_fill_(1e3)
            .unwrap();
        let clean = network.forward_weighted(&x, Some(&weights), true).unwrap();
        let dirty = network
            .forward_weighted(&outliers, Some(&weights), true)
            .unwrap();
        let kept = |t: &Tensor| t.narrow(0, 0, 1).narrow(1, 0, 6);
        assert!(max_difference(&kept(&clean), &kept(&dirty)) < 1e-5);
        assert!(max_difference(&clean.narrow(0, 1, 1), &dirty.narrow(0, 1, 1)) < 1e-5);
        // The weighted statistics are those of the kept rows alone: a member-0 network trained
        // on rows 0..6 only, with the same parameters, gives the same outputs.
        let rows = x.narrow(0, 0, 1).narrow(1, 0, 6);
        let alone = single.forward(&rows, true).unwrap();
        assert!(max_difference(&alone, &kept(&clean)) < 1e-5);
        // The running statistics moved as for the kept rows alone (two updates each).
        let _ = single.forward(&rows, true).unwrap();
        let running = store.variables()["block0.norm.running_mean"].narrow(0, 0, 1);
        let single_running = &single_store.variables()["block0.norm.running_mean"];
        assert!(max_difference(&running, single_running) < 1e-5);
    });
}
