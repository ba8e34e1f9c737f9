//! Arithmetic precision of the FT-Transformer's transformer blocks (`[surrogate] precision`).
//!
//! `bf16` runs, in training, the blocks' dense layers (fused query/key/value projection,
//! attention output projection, the feed-forward network's two layers) and the attention
//! products as bfloat16 matrix products, the mixed precision of Micikevicius et al. ("Mixed Precision Training",
//! ICLR 2018) with bfloat16 instead of float16, so that no loss scaling is needed: the
//! parameters, Adam's state, the token embedding, the residual stream, LayerNorm, softmax, the
//! heads and the loss stay `f32`; only the operands of those products are rounded to 8
//! significant bits (the products accumulate in `f32`). On a CPU with AMX or AVX512-BF16
//! (oneDNN kernels) a bfloat16 matrix product is several times faster than an `f32` one and
//! moves half the bytes; elsewhere it is emulated and slower. Evaluation mode — validation
//! losses, predictions, input gradients — runs in `f32`: the trained network is a smooth
//! `f32` function (finite differences and the optimizer's gradient steering see no rounding
//! steps), and prediction costs little next to training.
//!
//! `auto` (the default) is `bf16` on a CPU that has the instructions (Linux: the `amx_bf16` or
//! `avx512_bf16` flag in `/proc/cpuinfo`) and `f32` otherwise, on a GPU included (not
//! measured there). Training stays deterministic for a seed either way.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use tch::{Device, Kind};

/// The precision choice of the configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Precision {
    /// `bf16` on a CPU with bfloat16 instructions, else `f32`.
    #[default]
    Auto,
    /// Everything in `f32`.
    F32,
    /// Matrix products of the blocks in bfloat16 (mixed precision).
    Bf16,
}

impl Precision {
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Auto => "auto",
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
        }
    }

    /// The kind of the blocks' matrix products on `device`: `BFloat16` or `Float`.
    pub fn compute_kind(self, device: Device) -> Kind {
        let bf16 = match self {
            Precision::F32 => false,
            Precision::Bf16 => true,
            Precision::Auto => device == Device::Cpu && cpu_has_bf16(),
        };
        if bf16 {
            Kind::BFloat16
        } else {
            Kind::Float
        }
    }
}

/// Whether this machine's CPU has bfloat16 matrix instructions (AMX or AVX512-BF16); read once.
pub fn cpu_has_bf16() -> bool {
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| {
        std::fs::read_to_string("/proc/cpuinfo")
            .map(|text| cpuinfo_has_bf16(&text))
            .unwrap_or(false)
    })
}

/// Whether the first `flags` line of a `/proc/cpuinfo` text lists `amx_bf16` or `avx512_bf16`.
pub fn cpuinfo_has_bf16(cpuinfo: &str) -> bool {
    cpuinfo
        .lines()
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == "flags").then_some(value)
        })
        .is_some_and(|flags| {
            flags
                .split_whitespace()
                .any(|flag| flag == "amx_bf16" || flag == "avx512_bf16")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpuinfo_flags_are_matched_as_whole_words_of_the_flags_line() {
        let cases = [
            ("flags\t\t: fpu avx512f avx512_bf16 sse\n", true),
            ("processor: 0\nflags : fpu amx_tile amx_bf16\n", true),
            ("flags : fpu avx512f avx512_bf16x\n", false),
            ("flags : fpu avx2 fma\n", false),
            ("bugs : avx512_bf16\nflags : fpu\n", false),
            ("", false),
        ];
        for (text, expected) in cases {
            assert_eq!(cpuinfo_has_bf16(text), expected, "{text:?}");
        }
    }

    #[test]
    fn explicit_choices_ignore_the_machine_and_gpus_get_f32_by_default() {
        assert_eq!(Precision::F32.compute_kind(Device::Cpu), Kind::Float);
        assert_eq!(Precision::Bf16.compute_kind(Device::Cpu), Kind::BFloat16);
        assert_eq!(Precision::Auto.compute_kind(Device::Cuda(0)), Kind::Float);
        let auto = Precision::Auto.compute_kind(Device::Cpu);
        assert_eq!(auto == Kind::BFloat16, cpu_has_bf16());
    }
}
