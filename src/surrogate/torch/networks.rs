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
//! Every operation uses the fallible `f_*` tensor methods, so a shape or device problem is a
//! [`SurrogateError`], never a panic. Batch normalization and dropout behave as in training
//! only when `train` is true; prediction always runs in evaluation mode.
//!
//! References: Y. Gorishniy, I. Rubachev, V. Khrulkov, A. Babenko, "Revisiting Deep Learning
//! Models for Tabular Data", NeurIPS 2021 (the ResNet baseline); Gressmann et al., "Joint
//! Surrogate Learning of Objectives, Constraints, and Sensitivities …", arXiv 2603.20984.

use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

use super::ft_transformer::{FtSettings, FtTransformer};
use super::TorchResultExt;
use crate::surrogate::SurrogateError;

/// The nonlinearity of the `mlp` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    #[default]
    Relu,
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
    /// Three hidden layers of 128 units with ReLU.
    pub fn default_mlp() -> Self {
        Architecture::Mlp {
            width: 128,
            depth: 3,
            activation: Activation::Relu,
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

/// Batch normalization with PyTorch's initialization (weight 1, bias 0).
struct BatchNorm {
    weight: Tensor,
    bias: Tensor,
    running_mean: Tensor,
    running_var: Tensor,
}

impl BatchNorm {
    fn new(path: &nn::Path, width: i64) -> Self {
        BatchNorm {
            weight: path.ones("weight", &[width]),
            bias: path.zeros("bias", &[width]),
            running_mean: path.zeros_no_train("running_mean", &[width]),
            running_var: path.ones_no_train("running_var", &[width]),
        }
    }

    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor, SurrogateError> {
        x.f_batch_norm(
            Some(&self.weight),
            Some(&self.bias),
            Some(&self.running_mean),
            Some(&self.running_var),
            train,
            0.1,
            1e-5,
            false,
        )
        .context("batch normalization")
    }
}

fn linear(path: nn::Path, inputs: i64, outputs: i64) -> nn::Linear {
    nn::linear(path, inputs, outputs, Default::default())
}

fn apply_linear(layer: &nn::Linear, x: &Tensor) -> Result<Tensor, SurrogateError> {
    x.f_linear(&layer.ws, layer.bs.as_ref())
        .context("a dense layer")
}

struct Block {
    norm: BatchNorm,
    expand: nn::Linear,
    contract: nn::Linear,
}

enum Body {
    Mlp {
        layers: Vec<nn::Linear>,
        activation: Activation,
    },
    Resnet {
        input: nn::Linear,
        blocks: Vec<Block>,
        dropout: f64,
    },
    FtTransformer(FtTransformer),
}

/// A network `R^inputs → R^outputs` with its parameters in the given [`nn::Path`].
pub struct Network {
    body: Body,
    /// `None` for bodies with their own heads.
    head: Option<nn::Linear>,
}

impl Network {
    /// Builds the network with fresh parameters (drawn from libtorch's global generator).
    pub fn new(
        path: &nn::Path,
        inputs: i64,
        outputs: i64,
        architecture: &Architecture,
    ) -> Result<Self, SurrogateError> {
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
                        linear(path / format!("dense{layer}"), fan_in, width)
                    })
                    .collect::<Vec<_>>();
                let last = if layers.is_empty() { inputs } else { width };
                Network {
                    body: Body::Mlp {
                        layers,
                        activation: *activation,
                    },
                    head: Some(linear(path / "head", last, outputs)),
                }
            }
            Architecture::Resnet {
                width,
                hidden,
                blocks,
                dropout,
            } => {
                let (width, hidden) = (*width as i64, *hidden as i64);
                let blocks = (0..*blocks)
                    .map(|block| {
                        let block_path = path / format!("block{block}");
                        Block {
                            norm: BatchNorm::new(&(&block_path / "norm"), width),
                            expand: linear(&block_path / "expand", width, hidden),
                            contract: linear(&block_path / "contract", hidden, width),
                        }
                    })
                    .collect();
                Network {
                    body: Body::Resnet {
                        input: linear(path / "input", inputs, width),
                        blocks,
                        dropout: *dropout,
                    },
                    head: Some(linear(path / "head", width, outputs)),
                }
            }
            Architecture::FtTransformer(settings) => Network {
                body: Body::FtTransformer(FtTransformer::new(path, 1, inputs, outputs, settings)?),
                head: None,
            },
        })
    }

    /// Outputs `[rows, outputs]` for inputs `[rows, inputs]`.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor, SurrogateError> {
        let features = match &self.body {
            Body::Mlp { layers, activation } => {
                let mut h = x.shallow_clone();
                for layer in layers {
                    let z = apply_linear(layer, &h)?;
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
                let mut h = apply_linear(input, x)?;
                for block in blocks {
                    let z = block.norm.forward(&h, train)?;
                    let z = apply_linear(&block.expand, &z)?
                        .f_relu()
                        .context("an activation")?
                        .f_dropout(*dropout, train)
                        .context("dropout")?;
                    let z = apply_linear(&block.contract, &z)?;
                    h = h.f_add(&z).context("a residual connection")?;
                }
                h
            }
            Body::FtTransformer(network) => {
                let stacked = x.f_unsqueeze(0).context("stacking one member")?;
                return network
                    .forward(&stacked, train)?
                    .f_squeeze_dim(0)
                    .context("unstacking one member");
            }
        };
        match &self.head {
            Some(head) => apply_linear(head, &features),
            None => Ok(features),
        }
    }
}
