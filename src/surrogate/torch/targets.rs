//! Objective target normalization for the joint neural surrogates, and its inverse.
//!
//! - `log-range` (Gressmann et al. 2026): per objective `j` with training minimum `m_j` and
//!   maximum `M_j`, global top `T = max_j M_j` and bottom `B = max_j m_j`,
//!   `t_j = ln(1 + B + (T − B) · clip((y_j − m_j) / (M_j − m_j + ε), 0, 1))`. The paper's
//!   objectives are non-negative squared distances; so that the logarithm is defined for any
//!   objective, `B` is taken as `max(B, 0)` and `T` as `max(T, B + 1)` (the paper's formula
//!   whenever `0 ≤ B` and `T ≥ B + 1`).
//! - `standard`: `t_j = (y_j − mean_j) / std_j` (a constant objective gets `std_j = 1`).
//!
//! Both inverses have the form `y_j = a_j · g(t_j) + c_j` with `g(t) = e^t − (1 + B)` or
//! `g(t) = t`, applied as tensor operations so that input gradients of the de-normalized
//! prediction come from autograd. The inverse is not clipped: the model may extrapolate.

use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};

use super::TorchResultExt;
use crate::surrogate::SurrogateError;

/// How objective values become training targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Normalization {
    #[default]
    LogRange,
    Standard,
}

impl Normalization {
    pub fn as_str(self) -> &'static str {
        match self {
            Normalization::LogRange => "log-range",
            Normalization::Standard => "standard",
        }
    }
}

/// A fitted normalization of `q` objectives.
#[derive(Debug, Clone, PartialEq)]
pub struct Targets {
    log: bool,
    /// `1 + B` (log-range only).
    shift: f64,
    /// `T − B` (log-range only).
    spread: f64,
    minimum: Vec<f64>,
    /// `M_j − m_j + ε` (log-range) or `std_j` (standard).
    scale: Vec<f64>,
}

impl Targets {
    /// Fits the normalization to the columns of `objectives` (rows of equal width, finite).
    pub fn fit(objectives: &[Vec<f64>], width: usize, normalization: Normalization) -> Self {
        let column = |j: usize| objectives.iter().map(move |row| row[j]);
        match normalization {
            Normalization::LogRange => {
                let minimum: Vec<f64> = (0..width)
                    .map(|j| column(j).fold(f64::INFINITY, f64::min))
                    .collect();
                let maximum: Vec<f64> = (0..width)
                    .map(|j| column(j).fold(f64::NEG_INFINITY, f64::max))
                    .collect();
                let bottom = minimum.iter().copied().fold(0.0, f64::max);
                let top = maximum.iter().copied().fold(bottom + 1.0, f64::max);
                let scale = minimum
                    .iter()
                    .zip(&maximum)
                    .map(|(m, big)| big - m + 1e-12 + 1e-9 * m.abs().max(big.abs()))
                    .collect();
                Targets {
                    log: true,
                    shift: 1.0 + bottom,
                    spread: top - bottom,
                    minimum,
                    scale,
                }
            }
            Normalization::Standard => {
                let n = objectives.len().max(1) as f64;
                let mean: Vec<f64> = (0..width).map(|j| column(j).sum::<f64>() / n).collect();
                let scale = (0..width)
                    .map(|j| {
                        let variance = column(j).map(|v| (v - mean[j]).powi(2)).sum::<f64>() / n;
                        let std = variance.sqrt();
                        if std > 1e-12 * (1.0 + mean[j].abs()) {
                            std
                        } else {
                            1.0
                        }
                    })
                    .collect();
                Targets {
                    log: false,
                    shift: 0.0,
                    spread: 1.0,
                    minimum: mean,
                    scale,
                }
            }
        }
    }

    /// Normalized targets of one row.
    pub fn forward(&self, row: &[f64]) -> Vec<f64> {
        row.iter()
            .enumerate()
            .map(|(j, y)| {
                let s = (y - self.minimum[j]) / self.scale[j];
                if self.log {
                    (self.shift + self.spread * s.clamp(0.0, 1.0)).ln()
                } else {
                    s
                }
            })
            .collect()
    }

    /// De-normalizes predicted targets `[rows, q]` (differentiable).
    pub fn inverse(&self, t: &Tensor, device: Device) -> Result<Tensor, SurrogateError> {
        let kind = t.kind();
        let vector = |values: Vec<f64>| {
            Tensor::f_from_slice(&values)
                .and_then(|v| v.f_to_kind(kind))
                .and_then(|v| v.f_to(device))
                .context("building normalization constants")
        };
        let factor = vector(self.scale.iter().map(|a| a / self.spread).collect())?;
        let offset = vector(self.minimum.clone())?;
        let g = if self.log {
            t.f_exp()
                .and_then(|e| e.f_sub_scalar(self.shift))
                .context("inverting the log-range normalization")?
        } else {
            t.shallow_clone()
        };
        g.f_mul(&factor)
            .and_then(|v| v.f_add(&offset))
            .context("de-normalizing objectives")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_normalizations_invert() {
        let rows = vec![vec![0.5, -300.0], vec![2.0, 10.0], vec![100.0, -5.0]];
        for normalization in [Normalization::LogRange, Normalization::Standard] {
            let targets = Targets::fit(&rows, 2, normalization);
            let forward: Vec<f64> = rows.iter().flat_map(|r| targets.forward(r)).collect();
            assert!(forward.iter().all(|v| v.is_finite()));
            let t = Tensor::from_slice(&forward).view([3, 2]);
            let back = targets.inverse(&t, Device::Cpu).unwrap();
            let back = Vec::<f64>::try_from(back.flatten(0, -1)).unwrap();
            for (got, want) in back.iter().zip(rows.iter().flatten()) {
                assert!(
                    (got - want).abs() < 1e-6 * (1.0 + want.abs()),
                    "{got} {want}"
                );
            }
        }
    }

    #[test]
    fn log_range_matches_the_paper_for_non_negative_objectives() {
        let rows = vec![vec![2.0, 1.0], vec![10.0, 1001.0]];
        let targets = Targets::fit(&rows, 2, Normalization::LogRange);
        // B = max(2, 1) = 2, T = max(10, 1001) = 1001.
        let t = targets.forward(&[10.0, 501.0]);
        assert!((t[0] - (1.0f64 + 2.0 + 999.0).ln()).abs() < 1e-6);
        assert!((t[1] - (1.0f64 + 2.0 + 999.0 * 0.5).ln()).abs() < 1e-6);
    }
}
