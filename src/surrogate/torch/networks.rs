//! Network bodies for the joint neural surrogates: a plain multilayer perceptron and the
//! ResNet of Gorishniy et al. (2021) as used by Gressmann et al. (2026).
//!
//! - `mlp`: `depth` Dense layers of `width` units with ReLU or GELU, then a linear head.
//! - `resnet`: Dense(`width`), then `blocks` residual blocks
//!   `x + Dense_width(Dropout(ReLU(Dense_hidden(BatchNorm(x)))))`, then a linear head
//!   (paper defaults: width 192, hidden 384, 2 blocks, dropout 0.15).
//! - `ft-transformer`: the FT-Transformer of [`super::ft_transformer`] (its own heads), run
//!   with one member.
//!
//! The head has one output per modeled target (objectives first, then constraint logits).
//!
//! **Stacked members.** A [`Network`] holds `M` independent networks of one architecture in
//! one set of tensors with a leading member dimension, so that cross-validation folds and
//! ensemble members train together in a few large batched operations instead of `M` small
//! ones: a dense layer has weight `[M, in, out]` and bias `[M, 1, out]` (each member
//! initialized like PyTorch's `Linear`, uniform in `±1/√in`) and is applied with a batched
//! matrix product; inputs are `[M, N, inputs]` and outputs `[M, N, outputs]`. A caller with one
//! input for every member passes `x.expand([M, N, n])` (no copy). Members never mix: member
//! `m`'s output depends only on member `m`'s parameters and rows. Batch normalization keeps
//! per-member statistics: in training mode the batch mean and variance of member `m` are
//! weighted by its row weights ([`Network::forward_weighted`]: a row a member does not train
//! on has weight 0 and does not enter its statistics), and its running statistics serve
//! evaluation mode. Dropout is independent per element.
//!
//! Every operation uses the fallible `f_*` tensor methods, so a shape or device problem is a
//! [`SurrogateError`], never a panic. Batch normalization and dropout behave as in training
//! only when `train` is true; prediction always runs in evaluation mode.
//!
//! References: Y. Gorishniy, I. Rubachev, V. Khrulkov, A. Babenko, "Revisiting Deep Learning
//! Models for Tabular Data", NeurIPS 2021 (the ResNet baseline); Gressmann et al., "Joint
//! Surrogate Learning of Objectives, Constraints, and Sensitivities …", arXiv 2603.20984.

use serde::{Deserialize, Serialize};
use tch::{nn, Kind, Tensor};

use super::ft_transformer::{FtSettings, FtTransformer};
use super::TorchResultExt;
use crate::surrogate::SurrogateError;

/// The nonlinearity of the `mlp` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    Relu,
    #[default]
    Gelu,
}

/// The body of a joint network and its sizes.
#[derive(Debug, Clone, PartialEq)]
pub enum Architecture {
    Mlp {
        width: usize,
        depth: usize,
        activation: Activation,
    },
    Resnet {
        width: usize,
        hidden: usize,
        blocks: usize,
        dropout: f64,
    },
    FtTransformer(FtSettings),
}

impl Architecture {
    /// Three hidden layers of 128 units with GELU (smooth: a better surrogate than ReLU on
    /// C2-DTLZ2 and OSY in `benches/surrogate_comparison.rs`, see docs/surrogates.md).
    pub fn default_mlp() -> Self {
        Architecture::Mlp {
            width: 128,
            depth: 3,
            activation: Activation::Gelu,
        }
    }

    /// The paper's ResNet: Dense(192), 2 blocks with hidden width 384 and dropout 0.15.
    pub fn default_resnet() -> Self {
        Architecture::Resnet {
            width: 192,
            hidden: 384,
            blocks: 2,
            dropout: 0.15,
        }
    }

    /// The paper's FT-Transformer (3 blocks; see [`FtSettings::for_targets`]).
    pub fn default_ft_transformer() -> Self {
        Architecture::FtTransformer(FtSettings::default())
    }

    /// `mlp`, `resnet` or `ft-transformer`.
    pub fn name(&self) -> &'static str {
        match self {
            Architecture::Mlp { .. } => "mlp",
            Architecture::Resnet { .. } => "resnet",
            Architecture::FtTransformer { .. } => "ft-transformer",
        }
    }
}

/// `M` stacked dense layers `inputs → outputs`: weight `[M, inputs, outputs]`, bias
/// `[M, 1, outputs]`, both uniform in `±1/√inputs` (PyTorch's `Linear` initialization).
struct Dense {
    weight: Tensor,
    bias: Tensor,
}

impl Dense {
    fn new(path: nn::Path, members: i64, inputs: i64, outputs: i64) -> Self {
        let bound = 1.0 / (inputs.max(1) as f64).sqrt();
        let init = nn::Init::Uniform {
            lo: -bound,
            up: bound,
        };
        Dense {
            weight: path.var("weight", &[members, inputs, outputs], init),
            bias: path.var("bias", &[members, 1, outputs], init),
        }
    }

    /// `[M, N, inputs] → [M, N, outputs]`.
    fn forward(&self, x: &Tensor) -> Result<Tensor, SurrogateError> {
        self.bias
            .f_baddbmm(x, &self.weight, 1.0, 1.0)
            .context("a dense layer")
    }
}

/// Batch normalization of `M` members with PyTorch's initialization (weight 1, bias 0),
/// momentum 0.1 and ε = 1e-5; statistics `[M, 1, width]` per member.
struct BatchNorm {
    weight: Tensor,
    bias: Tensor,
    running_mean: Tensor,
    running_var: Tensor,
}

const BATCH_NORM_MOMENTUM: f64 = 0.1;
const BATCH_NORM_EPSILON: f64 = 1e-5;

impl BatchNorm {
    fn new(path: &nn::Path, members: i64, width: i64) -> Self {
        let shape = [members, 1, width];
        BatchNorm {
            weight: path.ones("weight", &shape),
            bias: path.zeros("bias", &shape),
            running_mean: path.zeros_no_train("running_mean", &shape),
            running_var: path.ones_no_train("running_var", &shape),
        }
    }

    /// Normalizes `x` `[M, N, width]`. In training mode the statistics of member `m` are the
    /// mean and (biased) variance over its rows weighted by `weights[m]` (`[M, N]`, `None`: all
    /// ones), and the running statistics move towards them (unbiased variance, frequency
    /// weights: `Σw / (Σw − 1)`); a member whose rows all have weight 0 keeps its running
    /// statistics. In evaluation mode the running statistics are used.
    fn forward(
        &self,
        x: &Tensor,
        weights: Option<&Tensor>,
        train: bool,
    ) -> Result<Tensor, SurrogateError> {
        let (mean, variance) = if train {
            self.batch_statistics(x, weights)?
        } else {
            (
                self.running_mean.shallow_clone(),
                self.running_var.shallow_clone(),
            )
        };
        x.f_sub(&mean)
            .and_then(|t| t.f_mul(&variance.f_add_scalar(BATCH_NORM_EPSILON)?.f_rsqrt()?))
            .and_then(|t| t.f_mul(&self.weight))
            .and_then(|t| t.f_add(&self.bias))
            .context("batch normalization")
    }

    fn batch_statistics(
        &self,
        x: &Tensor,
        weights: Option<&Tensor>,
    ) -> Result<(Tensor, Tensor), SurrogateError> {
        let rows = [1i64].as_slice();
        let (mean, variance, total) = match weights {
            None => {
                let count = x.size().get(1).copied().unwrap_or(0) as f64;
                let mean = x
                    .f_mean_dim(rows, true, Kind::Float)
                    .context("batch mean")?;
                let variance = x
                    .f_sub(&mean)
                    .and_then(|t| t.f_square())
                    .and_then(|t| t.f_mean_dim(rows, true, Kind::Float))
                    .context("batch variance")?;
                let total = Tensor::f_full([1, 1, 1], count, (Kind::Float, x.device()))
                    .context("batch size")?;
                (mean, variance, total)
            }
            Some(weights) => {
                let w = weights.f_unsqueeze(-1).context("row weights")?;
                let total = w
                    .f_sum_dim_intlist(rows, true, Kind::Float)
                    .context("summing row weights")?;
                let safe = total.f_clamp_min(1e-12).context("summing row weights")?;
                let mean = x
                    .f_mul(&w)
                    .and_then(|t| t.f_sum_dim_intlist(rows, true, Kind::Float))
                    .and_then(|t| t.f_div(&safe))
                    .context("weighted batch mean")?;
                let variance = x
                    .f_sub(&mean)
                    .and_then(|t| t.f_square())
                    .and_then(|t| t.f_mul(&w))
                    .and_then(|t| t.f_sum_dim_intlist(rows, true, Kind::Float))
                    .and_then(|t| t.f_div(&safe))
                    .context("weighted batch variance")?;
                (mean, variance, total)
            }
        };
        tch::no_grad(|| self.update_running(&mean, &variance, &total))?;
        Ok((mean, variance))
    }

    /// `running ← running + momentum · (batch − running)` per member with rows.
    fn update_running(
        &self,
        mean: &Tensor,
        variance: &Tensor,
        total: &Tensor,
    ) -> Result<(), SurrogateError> {
        let step = |running: &Tensor, batch: &Tensor| -> Result<(), SurrogateError> {
            let momentum = total
                .f_gt(0.0)
                .and_then(|t| t.f_to_kind(Kind::Float))
                .and_then(|t| t.f_mul_scalar(BATCH_NORM_MOMENTUM))
                .context("batch normalization momentum")?;
            let moved = batch
                .f_detach()
                .and_then(|b| b.f_sub(running))
                .and_then(|d| d.f_mul(&momentum))
                .and_then(|d| d.f_add(running))
                .context("running statistics")?;
            running
                .shallow_clone()
                .f_copy_(&moved)
                .context("running statistics")
        };
        let correction = total
            .f_sub_scalar(1.0)
            .and_then(|t| t.f_clamp_min(1.0))
            .and_then(|d| total.f_clamp_min(1.0)?.f_div(&d))
            .context("variance correction")?;
        let unbiased = variance
            .f_mul(&correction)
            .context("unbiased batch variance")?;
        step(&self.running_mean, mean)?;
        step(&self.running_var, &unbiased)
    }
}

struct Block {
    norm: BatchNorm,
    expand: Dense,
    contract: Dense,
}

enum Body {
    Mlp {
        layers: Vec<Dense>,
        activation: Activation,
    },
    Resnet {
        input: Dense,
        blocks: Vec<Block>,
        dropout: f64,
    },
    FtTransformer(FtTransformer),
}

/// `M` independent networks `R^inputs → R^outputs` (stacked, see the module documentation)
/// with their parameters in the given [`nn::Path`].
pub struct Network {
    body: Body,
    /// `None` for bodies with their own heads (the FT-Transformer).
    head: Option<Dense>,
    members: i64,
}

impl Network {
    /// Builds `members` networks with fresh parameters (drawn from libtorch's global
    /// generator).
    pub fn new(
        path: &nn::Path,
        members: i64,
        inputs: i64,
        outputs: i64,
        architecture: &Architecture,
    ) -> Result<Self, SurrogateError> {
        let dense = |name: String, fan_in: i64, fan_out: i64| {
            Dense::new(path / name, members, fan_in, fan_out)
        };
        Ok(match architecture {
            Architecture::Mlp {
                width,
                depth,
                activation,
            } => {
                let width = *width as i64;
                let layers = (0..*depth)
                    .map(|layer| {
                        let fan_in = if layer == 0 { inputs } else { width };
                        dense(format!("dense{layer}"), fan_in, width)
                    })
                    .collect::<Vec<_>>();
                let last = if layers.is_empty() { inputs } else { width };
                Network {
                    body: Body::Mlp {
                        layers,
                        activation: *activation,
                    },
                    head: Some(dense("head".to_string(), last, outputs)),
                    members,
                }
            }
            Architecture::Resnet {
                width,
                hidden,
                blocks,
                dropout,
            } => {
                let (width, hidden) = (*width as i64, *hidden as i64);
                let input = dense("input".to_string(), inputs, width);
                let blocks = (0..*blocks)
                    .map(|block| {
                        let block_path = path / format!("block{block}");
                        Block {
                            norm: BatchNorm::new(&(&block_path / "norm"), members, width),
                            expand: Dense::new(&block_path / "expand", members, width, hidden),
                            contract: Dense::new(&block_path / "contract", members, hidden, width),
                        }
                    })
                    .collect();
                Network {
                    body: Body::Resnet {
                        input,
                        blocks,
                        dropout: *dropout,
                    },
                    head: Some(dense("head".to_string(), width, outputs)),
                    members,
                }
            }
            Architecture::FtTransformer(settings) => Network {
                body: Body::FtTransformer(FtTransformer::new(
                    path, members, inputs, outputs, settings,
                )?),
                head: None,
                members,
            },
        })
    }

    /// The number of stacked members `M`.
    pub fn members(&self) -> i64 {
        self.members
    }

    /// Outputs `[M, N, outputs]` for inputs `[M, N, inputs]`; batch statistics (training
    /// mode) over all `N` rows of each member.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor, SurrogateError> {
        self.forward_weighted(x, None, train)
    }

    /// [`Network::forward`] with per-member row weights `[M, N]` for the batch statistics of
    /// training mode (`None`: all ones); bodies without batch normalization ignore them.
    pub fn forward_weighted(
        &self,
        x: &Tensor,
        weights: Option<&Tensor>,
        train: bool,
    ) -> Result<Tensor, SurrogateError> {
        let features = match &self.body {
            Body::Mlp { layers, activation } => {
                let mut h = x.shallow_clone();
                for layer in layers {
                    let z = layer.forward(&h)?;
                    h = match activation {
                        Activation::Relu => z.f_relu(),
                        Activation::Gelu => z.f_gelu("none"),
                    }
                    .context("an activation")?;
                }
                h
            }
            Body::Resnet {
                input,
                blocks,
                dropout,
            } => {
                let mut h = input.forward(x)?;
                for block in blocks {
                    let z = block.norm.forward(&h, weights, train)?;
                    let z = block
                        .expand
                        .forward(&z)?
                        .f_relu()
                        .context("an activation")?
                        .f_dropout(*dropout, train)
                        .context("dropout")?;
                    let z = block.contract.forward(&z)?;
                    h = h.f_add(&z).context("a residual connection")?;
                }
                h
            }
            Body::FtTransformer(network) => return network.forward(x, train),
        };
        match &self.head {
            Some(head) => head.forward(&features),
            None => Ok(features),
        }
    }
}

/// Copies member `from_member` of the network in `from` into member `to_member` of the
/// network in `to` (same architecture and sizes, any member counts): every variable, batch
/// normalization statistics included, is sliced along its leading member dimension.
pub fn copy_member(
    from: &nn::VarStore,
    from_member: i64,
    to: &nn::VarStore,
    to_member: i64,
) -> Result<(), SurrogateError> {
    let sources = from.variables();
    for (name, target) in to.variables() {
        let source = sources.get(&name).ok_or_else(|| SurrogateError::Torch {
            context: "copying a network member",
            message: format!("the source network has no variable `{name}`"),
        })?;
        tch::no_grad(|| {
            let slice = source.f_narrow(0, from_member, 1)?;
            let mut slot = target.f_narrow(0, to_member, 1)?;
            slot.f_copy_(&slice)
        })
        .context("copying a network member")?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "networks_tests.rs"]
mod tests;
