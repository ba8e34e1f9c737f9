//! The FT-Transformer body of the joint neural surrogates (Y. Gorishniy, I. Rubachev,
//! V. Khrulkov, A. Babenko, "Revisiting Deep Learning Models for Tabular Data", NeurIPS 2021),
//! with the sizes of Gressmann et al. (2026), holding `M` independent members in one set of
//! tensors.
//!
//! For a normalized input `x ∈ [0,1]^n`:
//!
//! 1. Tokenizer: a dense projection `n → n·d` (`d` = `width`, 128), reshaped to `n` tokens of
//!    width `d`, plus a learned per-token bias. With `n > 64` the tokens are averaged in groups
//!    of `g = ceil(n/64)` (the last group may be smaller), leaving `ceil(n/g) ≤ 64` tokens; the
//!    averaging is linear, so it is folded into the projection's weights (one small matmul per
//!    forward pass instead of one per row).
//! 2. `blocks` (3) pre-LayerNorm transformer blocks
//!    `x ← x + Dropout_res(MHA(LN(x)))`, `x ← x + Dropout_res(FFN(LN(x)))`, with `heads` (4)
//!    attention heads (attention dropout 0.1) and `FFN = Dense(d) ∘ Dropout_ffn ∘ GELU ∘
//!    Dense(ffn_hidden)` (256, dropout 0.05); residual dropout 0.1.
//! 3. Read out token 0, final LayerNorm, ReLU, linear heads (one output per target).
//!
//! Only token 0 is read out, so the last block computes its attention query, its residual and
//! its FFN for token 0 alone (keys and values still come from every token) — the speed-up the
//! FT-Transformer paper suggests. Attention is libtorch's `scaled_dot_product_attention` (in
//! training with attention dropout it is spelled out, see below), and the query, key and value
//! projections are one fused dense layer.
//!
//! Training speed on a CPU: dropout masks come from 16 random bits per element (libtorch's
//! Bernoulli sampler took a quarter of a training step), and with `precision` `bf16` the
//! blocks' matrix products run in bfloat16 during training (see [`super::precision`]);
//! evaluation mode is always exact.
//!
//! Stacked members: every parameter has a leading member dimension (dense weights
//! `[M, in, out]`, biases `[M, 1, out]`, LayerNorm weights `[M, 1, d]`) and every dense layer is
//! one batched matmul, so `M` networks train at the cost of one larger one. Member `m`'s output
//! depends only on member `m`'s parameters. Initialization follows PyTorch's modules (`Linear`:
//! uniform in `±1/√fan_in`; attention input projection: Xavier-uniform with zero bias, as
//! `nn.MultiheadAttention`; LayerNorm: weight 1, bias 0).

use tch::nn::{self, Init};
use tch::{Kind, Tensor};

use super::precision::Precision;
use super::TorchResultExt;
use crate::surrogate::SurrogateError;

/// Most tokens the tokenizer produces; more inputs are averaged in groups.
pub const MAX_TOKENS: usize = 64;

/// With more targets than this, the default is at most 2 blocks.
pub const MANY_TARGETS: usize = 100;

const LAYER_NORM_EPS: f64 = 1e-5;

/// Sizes and dropout rates of an FT-Transformer.
#[derive(Debug, Clone, PartialEq)]
pub struct FtSettings {
    /// Token width `d`.
    pub width: usize,
    /// Attention heads; `width` must be divisible by it.
    pub heads: usize,
    pub blocks: usize,
    /// Hidden width of a block's feed-forward network.
    pub ffn_hidden: usize,
    pub attention_dropout: f64,
    pub ffn_dropout: f64,
    pub residual_dropout: f64,
    /// Precision of the blocks' matrix products (see [`super::precision`]).
    pub precision: Precision,
}

impl Default for FtSettings {
    /// The paper's values: width 128, 4 heads, 3 blocks, FFN 256, dropouts 0.1 / 0.05 / 0.1.
    fn default() -> Self {
        FtSettings {
            width: 128,
            heads: 4,
            blocks: 3,
            ffn_hidden: 256,
            attention_dropout: 0.1,
            ffn_dropout: 0.05,
            residual_dropout: 0.1,
            precision: Precision::Auto,
        }
    }
}

impl FtSettings {
    /// The default number of blocks for a network with `targets` outputs: 3, or 2 with more
    /// than [`MANY_TARGETS`].
    pub fn default_blocks(targets: usize) -> usize {
        if targets > MANY_TARGETS {
            2
        } else {
            3
        }
    }

    /// The paper's settings for a network with `targets` outputs.
    pub fn for_targets(targets: usize) -> Self {
        FtSettings {
            blocks: Self::default_blocks(targets),
            ..FtSettings::default()
        }
    }
}

/// The tokenizer's group size and token count for `inputs` inputs: `(1, n)` up to
/// [`MAX_TOKENS`] inputs, else `(g, ceil(n/g))` with `g = ceil(n/64)`.
pub fn token_groups(inputs: usize) -> (usize, usize) {
    if inputs <= MAX_TOKENS {
        (1, inputs)
    } else {
        let group = inputs.div_ceil(MAX_TOKENS);
        (group, inputs.div_ceil(group))
    }
}

fn uniform(bound: f64) -> Init {
    Init::Uniform {
        lo: -bound,
        up: bound,
    }
}

/// A stacked dense layer: weight `[M, in, out]`, bias `[M, 1, out]`.
struct Dense {
    weight: Tensor,
    bias: Tensor,
}

impl Dense {
    /// PyTorch's `Linear` initialization: weight and bias uniform in `±1/√inputs`.
    fn new(
        path: &nn::Path,
        members: i64,
        inputs: i64,
        outputs: i64,
    ) -> Result<Self, SurrogateError> {
        let bound = 1.0 / (inputs.max(1) as f64).sqrt();
        Self::with_init(
            path,
            members,
            inputs,
            outputs,
            uniform(bound),
            uniform(bound),
        )
    }

    fn with_init(
        path: &nn::Path,
        members: i64,
        inputs: i64,
        outputs: i64,
        weight: Init,
        bias: Init,
    ) -> Result<Self, SurrogateError> {
        Ok(Dense {
            weight: path
                .f_var("weight", &[members, inputs, outputs], weight)
                .context("creating a dense layer's weight")?,
            bias: path
                .f_var("bias", &[members, 1, outputs], bias)
                .context("creating a dense layer's bias")?,
        })
    }

    /// `[M, rows, in]` → `[M, rows, out]`.
    fn forward(&self, x: &Tensor) -> Result<Tensor, SurrogateError> {
        dense(x, &self.weight, &self.bias)
    }

    /// `alpha · x W + b`, in bfloat16 (parameters rounded, result bfloat16) when `bf16`.
    fn forward_in(&self, x: &Tensor, bf16: bool, alpha: f64) -> Result<Tensor, SurrogateError> {
        dense_in(x, &self.weight, &self.bias, bf16, alpha)
    }
}

fn dense(x: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<Tensor, SurrogateError> {
    bias.f_baddbmm(x, weight, 1.0, 1.0)
        .context("a stacked dense layer")
}

/// [`dense`] scaled by `alpha` before the bias; with `bf16`, `x` is bfloat16 and so are the
/// rounded parameters and the result.
fn dense_in(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    bf16: bool,
    alpha: f64,
) -> Result<Tensor, SurrogateError> {
    let (weight, bias) = (lower(weight, bf16)?, lower(bias, bf16)?);
    bias.f_baddbmm(x, &weight, 1.0, alpha)
        .context("a stacked dense layer")
}

/// `t` rounded to bfloat16 when `bf16`, else `t` itself.
fn lower(t: &Tensor, bf16: bool) -> Result<Tensor, SurrogateError> {
    if bf16 {
        t.f_to_kind(Kind::BFloat16).context("rounding to bfloat16")
    } else {
        Ok(t.shallow_clone())
    }
}

/// A stacked LayerNorm over the last dimension: weight and bias `[M, 1, d]`.
struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    width: i64,
    members: i64,
}

impl LayerNorm {
    fn new(path: &nn::Path, members: i64, width: i64) -> Result<Self, SurrogateError> {
        Ok(LayerNorm {
            weight: path
                .f_ones("weight", &[members, 1, width])
                .context("creating a LayerNorm weight")?,
            bias: path
                .f_zeros("bias", &[members, 1, width])
                .context("creating a LayerNorm bias")?,
            width,
            members,
        })
    }

    /// `[M, rows, d]` → `[M, rows, d]`.
    fn forward(&self, x: &Tensor) -> Result<Tensor, SurrogateError> {
        if self.members == 1 {
            // One member: libtorch's fused affine LayerNorm.
            let weight = self
                .weight
                .f_view([self.width])
                .context("a LayerNorm weight")?;
            let bias = self.bias.f_view([self.width]).context("a LayerNorm bias")?;
            return x
                .f_layer_norm(
                    [self.width],
                    Some(&weight),
                    Some(&bias),
                    LAYER_NORM_EPS,
                    false,
                )
                .context("layer normalization");
        }
        let normalized = x
            .f_layer_norm::<Tensor>([self.width], None, None, LAYER_NORM_EPS, false)
            .context("layer normalization")?;
        self.bias
            .f_addcmul(&normalized, &self.weight)
            .context("layer normalization")
    }
}

struct Block {
    attention_norm: LayerNorm,
    /// Query, key and value projections fused: `[M, d, 3d]`.
    qkv: Dense,
    output: Dense,
    ffn_norm: LayerNorm,
    expand: Dense,
    contract: Dense,
}

impl Block {
    fn new(path: &nn::Path, members: i64, settings: &FtSettings) -> Result<Self, SurrogateError> {
        let d = settings.width as i64;
        let hidden = settings.ffn_hidden as i64;
        // Xavier-uniform over the fused [3d, d] projection, zero bias (nn.MultiheadAttention).
        let xavier = (6.0 / (4 * d).max(1) as f64).sqrt();
        Ok(Block {
            attention_norm: LayerNorm::new(&(path / "attention_norm"), members, d)?,
            qkv: Dense::with_init(
                &(path / "qkv"),
                members,
                d,
                3 * d,
                uniform(xavier),
                Init::Const(0.0),
            )?,
            output: Dense::new(&(path / "output"), members, d, d)?,
            ffn_norm: LayerNorm::new(&(path / "ffn_norm"), members, d)?,
            expand: Dense::new(&(path / "expand"), members, d, hidden)?,
            contract: Dense::new(&(path / "contract"), members, hidden, d)?,
        })
    }
}

/// `M` stacked FT-Transformers `R^inputs → R^outputs` with their parameters in one
/// [`nn::Path`].
pub struct FtTransformer {
    members: i64,
    inputs: i64,
    tokens: i64,
    width: i64,
    heads: i64,
    attention_dropout: f64,
    ffn_dropout: f64,
    residual_dropout: f64,
    /// Whether the blocks' matrix products run in bfloat16 in training mode (evaluation mode
    /// is always exact).
    bf16: bool,
    /// `[M, n, n·d]` and `[M, 1, n·d]`.
    tokenizer: Dense,
    /// The group-averaging matrix `[tokens, n]` when `n > 64`.
    grouping: Option<Tensor>,
    blocks: Vec<Block>,
    final_norm: LayerNorm,
    head: Dense,
}

/// Shapes of one forward pass.
#[derive(Clone, Copy)]
struct Shape {
    members: i64,
    rows: i64,
}

/// A dropout mask of `shape`: `keep` with probability `1 − p`, else 0, of kind `kind`.
///
/// Each element's draw is 16 random bits (four elements per 64-bit draw of libtorch's
/// generator), kept when they are at least `p · 2^16` (rounded), so the rate is `p` to within
/// `2^-17`. libtorch's own dropout draws one Bernoulli variable per element through its
/// Mersenne twister, about 10 ns per element on a CPU: a quarter of an FT-Transformer
/// training step (measured with libtorch's profiler, width 128, batches of 256); drawing the
/// bits costs about a tenth of that.
fn dropout_mask(
    shape: &[i64],
    p: f64,
    keep: f64,
    kind: Kind,
    device: tch::Device,
) -> Result<Tensor, SurrogateError> {
    let elements: i64 = shape.iter().product();
    let mut words =
        Tensor::f_empty([(elements + 3) / 4], (Kind::Int64, device)).context("dropout bits")?;
    let bits = words
        .f_random_from_(i64::MIN, None)
        .and_then(|w| w.f_view_dtype(Kind::Int16))
        .and_then(|b| b.f_narrow(0, 0, elements))
        .and_then(|b| b.f_view(shape))
        .context("dropout bits")?;
    let threshold = i64::from(i16::MIN) + (p * 65536.0).round() as i64;
    let kept = bits.f_ge(threshold).context("a dropout mask")?;
    if keep == 1.0 {
        kept.f_to_kind(kind)
    } else {
        Tensor::f_where_scalar(&kept, keep, 0.0).and_then(|m| m.f_to_kind(kind))
    }
    .context("a dropout mask")
}

/// `residual + dropout(update)` (inverted dropout with rate `p` in training), of the
/// residual's kind.
fn add_dropped(
    residual: &Tensor,
    update: &Tensor,
    p: f64,
    train: bool,
) -> Result<Tensor, SurrogateError> {
    if train && p > 0.0 {
        let mask = dropout_mask(
            &update.size(),
            p,
            1.0 / (1.0 - p),
            residual.kind(),
            update.device(),
        )?;
        residual.f_addcmul(update, &mask)
    } else {
        residual.f_add(update)
    }
    .context("a residual connection")
}

impl FtTransformer {
    /// Builds `members` networks with fresh parameters (from libtorch's global generator).
    ///
    /// `width` not divisible by `heads`, or a zero size, is [`SurrogateError::BadData`].
    pub fn new(
        path: &nn::Path,
        members: i64,
        inputs: i64,
        outputs: i64,
        settings: &FtSettings,
    ) -> Result<Self, SurrogateError> {
        if settings.heads == 0 || settings.width % settings.heads != 0 {
            return Err(SurrogateError::BadData(format!(
                "FT-Transformer width {} is not divisible by heads {}",
                settings.width, settings.heads
            )));
        }
        if members < 1 || inputs < 1 || outputs < 1 || settings.width == 0 {
            return Err(SurrogateError::BadData(format!(
                "FT-Transformer needs at least one member, input, output and unit of width \
                 (members {members}, inputs {inputs}, outputs {outputs}, width {})",
                settings.width
            )));
        }
        let d = settings.width as i64;
        let (group, tokens) = token_groups(inputs as usize);
        let grouping = if group > 1 {
            let mut matrix = vec![0f32; tokens * inputs as usize];
            for token in 0..tokens {
                let first = token * group;
                let last = (first + group).min(inputs as usize);
                for input in first..last {
                    matrix[token * inputs as usize + input] = 1.0 / (last - first) as f32;
                }
            }
            Some(
                Tensor::f_from_slice(&matrix)
                    .and_then(|t| t.f_view([tokens as i64, inputs]))
                    .and_then(|t| t.f_to(path.device()))
                    .context("the token-grouping matrix")?,
            )
        } else {
            None
        };
        let blocks = (0..settings.blocks)
            .map(|block| Block::new(&(path / format!("block{block}")), members, settings))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FtTransformer {
            members,
            inputs,
            tokens: tokens as i64,
            width: d,
            heads: settings.heads as i64,
            attention_dropout: settings.attention_dropout,
            ffn_dropout: settings.ffn_dropout,
            residual_dropout: settings.residual_dropout,
            bf16: settings.precision.compute_kind(path.device()) == Kind::BFloat16,
            tokenizer: Dense::new(&(path / "tokenizer"), members, inputs, inputs * d)?,
            grouping,
            blocks,
            final_norm: LayerNorm::new(&(path / "final_norm"), members, d)?,
            head: Dense::new(&(path / "head"), members, d, outputs)?,
        })
    }

    /// The number of tokens (`n`, or fewer when inputs are grouped).
    pub fn tokens(&self) -> i64 {
        self.tokens
    }

    /// The number of transformer blocks.
    pub fn blocks(&self) -> usize {
        self.blocks.len()
    }

    /// Outputs `[M, N, outputs]` for inputs `[M, N, inputs]` (training mode when `train`).
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor, SurrogateError> {
        self.forward_with(x, train, true)
    }

    /// The forward pass without the last-block shortcut: every token goes through every
    /// block (a reference for tests).
    #[cfg(test)]
    pub(crate) fn forward_full(&self, x: &Tensor, train: bool) -> Result<Tensor, SurrogateError> {
        self.forward_with(x, train, false)
    }

    fn forward_with(
        &self,
        x: &Tensor,
        train: bool,
        shortcut: bool,
    ) -> Result<Tensor, SurrogateError> {
        let size = x.size();
        if size.len() != 3 || size[0] != self.members || size[2] != self.inputs {
            return Err(SurrogateError::BadData(format!(
                "FT-Transformer input has shape {size:?}, expected [{}, rows, {}]",
                self.members, self.inputs
            )));
        }
        let shape = Shape {
            members: size[0],
            rows: size[1],
        };
        let mut h = self.tokenize(x, shape)?;
        let last = self.blocks.len().saturating_sub(1);
        for (index, block) in self.blocks.iter().enumerate() {
            h = self.block(block, &h, shape, train, shortcut && index == last)?;
        }
        // Token 0 of every row: `[M, N, d]` (already so after the shortcut).
        let first = if shortcut && !self.blocks.is_empty() {
            h
        } else {
            self.first_token(&h, shape)?
        };
        let z = self
            .final_norm
            .forward(&first)?
            .f_relu()
            .context("the head activation")?;
        self.head.forward(&z)
    }

    /// `[M, N, n]` → tokens `[M, N·T, d]`.
    fn tokenize(&self, x: &Tensor, shape: Shape) -> Result<Tensor, SurrogateError> {
        let (m, n, d, t) = (self.members, self.inputs, self.width, self.tokens);
        let tokens = match &self.grouping {
            None => self.tokenizer.forward(x)?,
            Some(average) => {
                let average = average
                    .f_to_kind(self.tokenizer.weight.kind())
                    .context("the token-grouping matrix")?;
                let weight = average
                    .f_matmul(
                        &self
                            .tokenizer
                            .weight
                            .f_view([m, n, n, d])
                            .context("tokens")?,
                    )
                    .and_then(|w| w.f_reshape([m, n, t * d]))
                    .context("grouping the tokenizer's weights")?;
                let bias = average
                    .f_matmul(&self.tokenizer.bias.f_view([m, 1, n, d]).context("tokens")?)
                    .and_then(|b| b.f_reshape([m, 1, t * d]))
                    .context("grouping the tokenizer's biases")?;
                dense(x, &weight, &bias)?
            }
        };
        tokens
            .f_reshape([shape.members, shape.rows * t, d])
            .context("reshaping tokens")
    }

    /// Token 0 of each row of `[M, N·T, d]`: `[M, N, d]`.
    fn first_token(&self, h: &Tensor, shape: Shape) -> Result<Tensor, SurrogateError> {
        h.f_view([shape.members, shape.rows, self.tokens, self.width])
            .and_then(|h| h.f_select(2, 0))
            .context("reading out token 0")
    }

    /// One pre-LayerNorm block; with `only_first`, the result is token 0 only (`[M, N, d]`).
    /// The residual stream `x` keeps the parameters' kind; in training with `bf16`, the dense
    /// layers and the attention products run in bfloat16 (see [`super::precision`]).
    fn block(
        &self,
        block: &Block,
        x: &Tensor,
        shape: Shape,
        train: bool,
        only_first: bool,
    ) -> Result<Tensor, SurrogateError> {
        let bf16 = self.bf16 && train;
        let normalized = lower(&block.attention_norm.forward(x)?, bf16)?;
        let attended = self.attention(block, &normalized, shape, train, only_first)?;
        let attended = block.output.forward_in(&attended, bf16, 1.0)?;
        let residual = if only_first {
            self.first_token(x, shape)?
        } else {
            x.shallow_clone()
        };
        let x = add_dropped(&residual, &attended, self.residual_dropout, train)?;
        let normalized = lower(&block.ffn_norm.forward(&x)?, bf16)?;
        let mut hidden = block
            .expand
            .forward_in(&normalized, bf16, 1.0)?
            .f_gelu("none")
            .context("the FFN activation")?;
        // Inverted dropout with a 0/1 mask and the 1/(1 − p) factor applied by the next
        // product (exact in bfloat16 too).
        let mut scale = 1.0;
        if train && self.ffn_dropout > 0.0 {
            let mask = dropout_mask(
                &hidden.size(),
                self.ffn_dropout,
                1.0,
                hidden.kind(),
                x.device(),
            )?;
            hidden = hidden.f_mul(&mask).context("FFN dropout")?;
            scale = 1.0 / (1.0 - self.ffn_dropout);
        }
        let out = block.contract.forward_in(&hidden, bf16, scale)?;
        add_dropped(&x, &out, self.residual_dropout, train)
    }

    /// Multi-head self-attention of normalized tokens `[M, N·T, d]` (bfloat16 in training with
    /// `bf16`), before the output projection: `[M, N·T, d]`, or `[M, N, d]` for token 0's query
    /// alone, of the same kind.
    fn attention(
        &self,
        block: &Block,
        h: &Tensor,
        shape: Shape,
        train: bool,
        only_first: bool,
    ) -> Result<Tensor, SurrogateError> {
        let (m, rows, t, d, heads) = (
            shape.members,
            shape.rows,
            self.tokens,
            self.width,
            self.heads,
        );
        let bf16 = self.bf16 && train;
        let head_width = d / heads;
        // [M, N·T, k·d] → k tensors [M, N, heads, T, d/heads]. Splitting the last dimension
        // first (not a stacked [k, …] tensor) keeps the backward pass a concatenation instead
        // of zero-filled scatters (about 10 % of a training step).
        let split = |projected: Tensor, parts: i64, tokens: i64| {
            projected
                .f_split(d, 2)
                .context("splitting queries, keys and values")?
                .into_iter()
                .take(parts as usize)
                .map(|part| {
                    part.f_view([m, rows, tokens, heads, head_width])
                        .and_then(|p| p.f_transpose(2, 3))
                        .context("splitting attention heads")
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let mut parts = if only_first {
            let weight = &block.qkv.weight;
            let bias = &block.qkv.bias;
            let first = self.first_token(h, shape)?;
            let query = dense_in(
                &first,
                &weight.f_narrow(2, 0, d).context("the query weight")?,
                &bias.f_narrow(2, 0, d).context("the query bias")?,
                bf16,
                1.0,
            )?;
            let keys_values = dense_in(
                h,
                &weight.f_narrow(2, d, 2 * d).context("the key weight")?,
                &bias.f_narrow(2, d, 2 * d).context("the key bias")?,
                bf16,
                1.0,
            )?;
            let mut parts = split(query, 1, 1)?;
            parts.extend(split(keys_values, 2, t)?);
            parts
        } else {
            split(block.qkv.forward_in(h, bf16, 1.0)?, 3, t)?
        };
        let (Some(values), Some(keys), Some(query)) = (parts.pop(), parts.pop(), parts.pop())
        else {
            return Err(SurrogateError::BadData(
                "attention needs queries, keys and values".to_string(),
            ));
        };
        let attended = if train && self.attention_dropout > 0.0 {
            // libtorch's fused attention draws its dropout mask with its slow Bernoulli
            // sampler (see `dropout_mask`); spelled out, softmax in f32 (or the network's
            // kind), same result.
            let p = self.attention_dropout;
            let exact = if bf16 { Kind::Float } else { query.kind() };
            let scores = query
                .f_matmul(&keys.f_transpose(-2, -1).context("transposing keys")?)
                .and_then(|s| s.f_to_kind(exact))
                .and_then(|s| s.f_mul_scalar(1.0 / (head_width as f64).sqrt()))
                .and_then(|s| s.f_softmax(-1, exact))
                .context("attention scores")?;
            let mask = dropout_mask(&scores.size(), p, 1.0 / (1.0 - p), exact, scores.device())?;
            let probabilities = lower(&scores.f_mul(&mask).context("attention dropout")?, bf16)?;
            probabilities.f_matmul(&values).context("attention")?
        } else {
            Tensor::f_scaled_dot_product_attention::<Tensor>(
                &query, &keys, &values, None, 0.0, false, None, false,
            )
            .context("attention")?
        };
        let query_tokens = if only_first { 1 } else { t };
        // [M, N, heads, Tq, d/heads] → [M, N·Tq, d].
        attended
            .f_permute([0, 1, 3, 2, 4])
            .and_then(|a| a.f_reshape([m, rows * query_tokens, d]))
            .context("merging attention heads")
    }

    /// Every parameter tensor (for tests that perturb one member).
    #[cfg(test)]
    pub(crate) fn parameters(&self) -> Vec<&Tensor> {
        let mut all = vec![&self.tokenizer.weight, &self.tokenizer.bias];
        for block in &self.blocks {
            for dense in [&block.qkv, &block.output, &block.expand, &block.contract] {
                all.extend([&dense.weight, &dense.bias]);
            }
            for norm in [&block.attention_norm, &block.ffn_norm] {
                all.extend([&norm.weight, &norm.bias]);
            }
        }
        all.extend([&self.final_norm.weight, &self.final_norm.bias]);
        all.extend([&self.head.weight, &self.head.bias]);
        all
    }
}

#[cfg(test)]
#[path = "ft_transformer_tests.rs"]
mod tests;
