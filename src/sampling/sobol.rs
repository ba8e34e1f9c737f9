//! Owen-scrambled Sobol' sequence (Sobol' 1967, "On the distribution of points in a cube and
//! the approximate evaluation of integrals", USSR Comput. Math. & Math. Phys. 7(4); Owen 1995,
//! "Randomly permuted (t,m,s)-nets and (t,s)-sequences"), computed with the hash-based
//! scrambling and index shuffling of Burley 2020, "Practical hash-based Owen scrambling",
//! JCGT 9(4) (crate `sobol_burley`, Joe–Kuo direction numbers).
//!
//! A 32-bit seed drawn from the RNG selects the scramble. Each aligned block of `2^k` points
//! (in particular the first `2^k`) is a scrambled (t, k, s)-net, so every one-dimensional
//! projection of it is perfectly stratified. `sobol_burley` provides 256 dimensions and 2^16
//! points per sequence; beyond either limit this module pads with *independent scrambles*, the
//! padding documented by `sobol_burley` after Burley: dimension `d` uses dimension `d mod 256`
//! of the sequence seeded by a hash of (seed, `⌊d/256⌋`, block), and points past 2^16 come in
//! blocks of 2^16 with their own seeds. Each group of 256 dimensions and each block of 2^16
//! points is therefore a stratified Sobol' net on its own, randomly decorrelated from the
//! others.

/// Dimensions available in one scrambled sequence.
const DIMENSIONS_PER_SEQUENCE: usize = sobol_burley::NUM_DIMENSIONS as usize;
/// log2 of the number of points available in one scrambled sequence.
const INDEX_BITS: u32 = 16;

/// `count` scrambled Sobol' points in `[0, 1)^dimension`.
pub(super) fn sample<R: rand::Rng + ?Sized>(
    count: usize,
    dimension: usize,
    rng: &mut R,
) -> Vec<Vec<f64>> {
    let seed: u32 = rng.random();
    (0..count)
        .map(|index| {
            (0..dimension)
                .map(|coordinate| value(index, coordinate, seed))
                .collect()
        })
        .collect()
}

/// Coordinate `coordinate` of point `index` of the padded sequence with `seed`.
fn value(index: usize, coordinate: usize, seed: u32) -> f64 {
    let index_block = index >> INDEX_BITS;
    let dimension_block = coordinate / DIMENSIONS_PER_SEQUENCE;
    let sequence_seed = if index_block == 0 && dimension_block == 0 {
        seed
    } else {
        derived_seed(seed, index_block as u64, dimension_block as u64)
    };
    let local_index = (index & ((1 << INDEX_BITS) - 1)) as u32;
    let local_dimension = (coordinate % DIMENSIONS_PER_SEQUENCE) as u32;
    f64::from(sobol_burley::sample(
        local_index,
        local_dimension,
        sequence_seed,
    ))
}

/// A 32-bit seed for one padding block, by the SplitMix64 finaliser (Steele, Lea & Flood
/// 2014) of the base seed and block numbers.
fn derived_seed(seed: u32, index_block: u64, dimension_block: u64) -> u32 {
    let mut state = u64::from(seed)
        ^ index_block.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ dimension_block.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    state = (state ^ (state >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    state = (state ^ (state >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    state ^= state >> 31;
    (state >> 32) as u32
}
