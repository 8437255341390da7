//! Memory known before it is spent: the machine's available memory, the `max_memory` limit a
//! run may use (a size such as `8G`; by default 80% of what is available when the run starts),
//! and the check that refuses a stage whose estimate exceeds it, naming the estimate, the limit
//! and what to change.

use crate::error::{Error, Result};

/// Bytes the operating system reports as available (`MemAvailable` of `/proc/meminfo`), or
/// `None` where it cannot be read.
pub fn available_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

/// The default limit: 80% of the available memory (8 GiB where it cannot be read).
pub fn default_limit() -> u64 {
    available_bytes().map_or(8 << 30, |b| b / 5 * 4)
}

/// A size: bytes, or a number with `K`, `M`, `G` or `T` (powers of 1024; `B`, `iB` and lower
/// case accepted), e.g. `512M`, `1.5G`.
pub fn parse_size(s: &str) -> Result<u64> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let body = lower
        .trim_end_matches("ib")
        .trim_end_matches('b')
        .trim_end();
    let (num, unit) = match body.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&body[..i], c),
        _ => (body, ' '),
    };
    let scale: f64 = match unit {
        ' ' => 1.0,
        'k' => 1024.0,
        'm' => 1024.0 * 1024.0,
        'g' => 1024.0 * 1024.0 * 1024.0,
        't' => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => f64::NAN,
    };
    let v: f64 = num.trim().parse().unwrap_or(f64::NAN);
    let bytes = v * scale;
    if !(1.0..1.8e19).contains(&bytes) {
        return Err(Error::param(
            "max_memory",
            format!("'{s}' is not a size (bytes, or a number with K, M, G or T, e.g. 4G)"),
        ));
    }
    Ok(bytes as u64)
}

/// `bytes` for people: `1.5 GiB`, `300 MiB`.
pub fn show_size(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

/// Refuses `what` when its estimate `need` (bytes) exceeds `limit`, with a message that names
/// both, the memory available, and `instead` (what to change).
pub fn check(what: &str, need: f64, limit: u64, instead: &str) -> Result<()> {
    if need <= limit as f64 {
        return Ok(());
    }
    let avail = available_bytes().map_or("unknown".to_string(), |b| show_size(b as f64));
    Err(Error::param(
        "max_memory",
        format!(
            "{what} needs about {} (estimate), more than the limit of {} (available: {avail}); {instead}, or raise --max-memory",
            show_size(need),
            show_size(limit as f64)
        ),
    ))
}

/// Estimated bytes of the interior-point solve of the whole two-layer program: `blocks` patterns
/// (two variables of size `h` each), `n` samples and `g` cone rows per variable. Its constraint
/// matrix has `2·blocks·h·(n + 1 + g)` non-zeros; Clarabel's KKT system and factor, measured on
/// exact 1-D programs of 336–25,442 patterns (BENCHMARKS.md), take 210–250 bytes per non-zero.
pub fn ipm_bytes(blocks: f64, n: usize, h: usize, g: usize) -> f64 {
    let nnz = 2.0 * blocks * h as f64 * (n + 1 + g) as f64;
    260.0 * nnz + 16.0 * 1024.0 * 1024.0
}

/// Estimated bytes of the working-set interior-point solve ([`crate::solver::solve_ipm_priced`])
/// of a program with `blocks` patterns over `g` hyperplanes: per pattern, its `A_b` (`n × h`)
/// twice (the program and its copy with the cells' facets) and its bits (in the program and the
/// enumerated set), plus 720 bytes of lists and headers; then the interior point over a working
/// set of at most `6n + 64` blocks with up to `min(g, 8h + 8)` facet rows per variable. Fitted on
/// exact 1-D programs of 336–190,736 patterns (BENCHMARKS.md): 1.01–2.9× the measured peaks.
pub fn priced_ipm_bytes(blocks: f64, n: usize, h: usize, g: usize) -> f64 {
    let words = g.div_ceil(64).max(1);
    let program = blocks * (16.0 * (n * h) as f64 + 16.0 * words as f64 + 720.0);
    let working = blocks.min((6 * n + 64) as f64);
    program + ipm_bytes(working, n, h, g.min(8 * h + 8))
}

/// The size of a three-layer program ([`crate::arch::three_layer::ThreeLayerProgram`]), or a
/// bound on it, for its memory estimate ([`three_layer_ipm_bytes`],
/// [`three_layer_first_order_bytes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreeLayerSize {
    /// First-layer row patterns.
    pub patterns: usize,
    /// S-blocks.
    pub s_blocks: usize,
    /// P-blocks.
    pub p_blocks: usize,
    /// What the sizes are.
    pub stage: SizeStage,
}

/// What a [`ThreeLayerSize`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeStage {
    /// Before exact enumeration: the general-position count of the first-layer patterns, two
    /// S-blocks each.
    Enumerating,
    /// A sampled program: at most two S-blocks per draw and two P-blocks per pair.
    Sampled,
    /// An exact program so far, while its P-blocks are added.
    Growing,
}

/// Estimated bytes of a local-pooling run ([`crate::arch::local_pool`]): `patterns` regions of
/// `words` 64-bit words each, enumerated or sampled, at `48·words + 400` bytes each (the
/// enumeration's points and keys, the pattern set); then the interior-point solve of `blocks`
/// (pattern, window) blocks, two variables of size `h` each, with `rows` constraint rows over all
/// blocks (each block's cone within its window) and `n` samples. Its constraint matrix has
/// `2h·(blocks·(n + 1) + rows)` non-zeros, at the two-layer program's 260 bytes each
/// ([`ipm_bytes`]), plus 16 MiB. Measured on exact 1-D programs of 3,542–695,380 patterns and
/// 632–12,644 blocks (BENCHMARKS.md): 1.25–2.03× the peaks.
pub fn local_pool_bytes(
    patterns: f64,
    words: usize,
    blocks: f64,
    rows: f64,
    n: usize,
    h: usize,
) -> f64 {
    let nnz = 2.0 * h as f64 * (blocks * (n + 1) as f64 + rows);
    patterns * (48.0 * words as f64 + 400.0) + 260.0 * nnz + 16.0 * 1024.0 * 1024.0
}

/// Bytes of the three-layer program while it is built
/// ([`crate::arch::three_layer::ThreeLayerProgram`]): per first-layer pattern its bit vector of
/// `rows = K·n` bytes and its copy in the build's index, per P-block its second-layer pattern
/// and the build's de-duplication key of three such vectors, with their headers.
fn three_layer_program_bytes(size: ThreeLayerSize, rows: usize) -> f64 {
    let (pats, s, pb, r) = (
        size.patterns as f64,
        size.s_blocks as f64,
        size.p_blocks as f64,
        rows as f64,
    );
    pats * (2.0 * r + 64.0) + s * 64.0 + pb * (4.0 * r + 96.0)
}

/// Estimated bytes of the three-layer interior-point solve ([`crate::solver::solve_block_socp`])
/// of a program of `size` on `n` samples, filter size `h` and `rows = K·n` patch rows: the
/// program, its blocks as dense matrices (`A`: `n × h` for an S-block, `n × 2h` for a P-block;
/// constraint rows: up to `rows` of size `h`, and up to `3·rows` of size `2h`), and 260 bytes
/// per non-zero of Clarabel's constraint matrix (as [`ipm_bytes`]): `h·(n + 1 + rows)` per
/// S-block and `2h·(n + 1) + 4h·rows` per P-block (the rows where both channels fire taken as
/// all of them), plus 16 MiB. Measured on exact 1-D programs of 6,824–54,984 blocks
/// (BENCHMARKS.md): 1.2–1.4× the peaks.
pub fn three_layer_ipm_bytes(size: ThreeLayerSize, n: usize, h: usize, rows: usize) -> f64 {
    let (s, pb) = (size.s_blocks as f64, size.p_blocks as f64);
    let (n, h, r) = (n as f64, h as f64, rows as f64);
    let dense = 8.0 * (s * h * (n + r) + pb * 2.0 * h * (n + 3.0 * r));
    let nnz = s * h * (n + 1.0 + r) + pb * (2.0 * h * (n + 1.0) + 4.0 * h * r);
    three_layer_program_bytes(size, rows) + dense + 260.0 * nnz + 16.0 * 1024.0 * 1024.0
}

/// Estimated bytes of the three-layer first-order solves
/// ([`crate::arch::three_layer::first_order`]) of a program of `size` on `n` samples, filter size
/// `h` and `rows = K·n` patch rows, with at most `working` blocks in the working set (rounds ×
/// blocks added per round) and `threads` pricing threads: the program; per block its price
/// (bounds and a direction of `2h` values, twice while a round's prices replace the last) and
/// indices, `32h + 160` bytes; per working-set block of the augmented Lagrangian (`al`) its row
/// weights, constraints, multipliers and products with the patches, `160·rows` bytes, or per atom
/// of the conditional gradient its output, direction and Gram row, `8n + 32h + 8·working`; the
/// pricing buffer of 512 blocks, `2·512·rows` values; per thread one block's constraint rows,
/// `3·rows·(16h + 64)` bytes; plus 16 MiB. Measured on exact and sampled 1-D programs of
/// 1,600–701,984 blocks (BENCHMARKS.md): 1.2–1.8× the peaks.
pub fn three_layer_first_order_bytes(
    size: ThreeLayerSize,
    n: usize,
    h: usize,
    rows: usize,
    working: usize,
    al: bool,
    threads: usize,
) -> f64 {
    let blocks = (size.s_blocks + size.p_blocks) as f64;
    let working = blocks.min(working as f64);
    let (n, h, r) = (n as f64, h as f64, rows as f64);
    let per_working = if al {
        160.0 * r
    } else {
        8.0 * n + 32.0 * h + 8.0 * working
    };
    three_layer_program_bytes(size, rows)
        + blocks * (32.0 * h + 160.0)
        + working * per_working
        + 8.0 * 2.0 * 512.0 * r
        + threads as f64 * 3.0 * r * (16.0 * h + 64.0)
        + 16.0 * 1024.0 * 1024.0
}

/// Non-zeros of the interior-point program of a circular CNN with a spectral block norm
/// (`L = 3`, the path norm, the lower bound of `L ≥ 4`): `2·patterns` variables of size `d`, each
/// column with up to `n` entries of `A`, `2d` of the DFT and `g` cone rows, and `d` norm columns.
fn circular_spectral_nnz(patterns: f64, n: usize, d: usize, g: usize) -> f64 {
    2.0 * patterns * d as f64 * (n + 1 + 2 * d + g) as f64
}

/// Estimated bytes of the interior-point solve of a circular CNN's program with the spectral
/// ℓ1 norm (`L = 3`, and the path norm for every `L`; [`crate::arch::circular`]) over `patterns`
/// sign patterns of `n` signals of length `d` with `g` distinct hyperplanes: 180 bytes per
/// non-zero (the bound counts `A` as dense; Clarabel's KKT system of its many 3-dimensional
/// cones), plus 16 MiB. Measured on 256–11,624 patterns (`L = 3`, `L = 4`, path norm,
/// BENCHMARKS.md): 1.18–1.42× the peaks.
pub fn circular_ipm_bytes(patterns: f64, n: usize, d: usize, g: usize) -> f64 {
    180.0 * circular_spectral_nnz(patterns, n, d, g) + 16.0 * 1024.0 * 1024.0
}

/// Estimated bytes of the bounds of a deep circular CNN (`L ≥ 4`): the larger of the
/// lower bound's interior point ([`circular_ipm_bytes`]) and the upper bound's, whose blocks, one
/// per pattern, sign and real Fourier block (`d` values in all per pattern and sign), are dense:
/// `A` (`n` rows) and the cone rows (`g`), 280 bytes per value (the interior point's 260 per
/// non-zero and the blocks' copies). On every measured program the lower bound's solve is the
/// larger (BENCHMARKS.md).
pub fn circular_bounds_bytes(patterns: f64, n: usize, d: usize, g: usize) -> f64 {
    let values = 2.0 * patterns * d as f64 * (n + g) as f64;
    let upper = 280.0 * values + 16.0 * 1024.0 * 1024.0;
    circular_ipm_bytes(patterns, n, d, g).max(upper)
}

/// Estimated bytes of the first-order solve of the `L = 3` circular program
/// ([`crate::solver::solve_prox_al`]): per pattern its block `A` (`n × d`) and its cone rows (`g`
/// rows of `d` values, with headers) and multipliers, twice (the solver's copies and
/// iterates), plus 16 MiB. Measured on 11,624 and 32,768 patterns (BENCHMARKS.md): 1.49× the
/// peaks.
pub fn circular_first_order_bytes(patterns: f64, n: usize, d: usize, g: usize) -> f64 {
    let per = 8.0 * (n * d) as f64 + g as f64 * (8.0 * d as f64 + 56.0);
    2.0 * patterns * per + 16.0 * 1024.0 * 1024.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_show() {
        assert_eq!(parse_size("512").unwrap(), 512);
        assert_eq!(parse_size("4G").unwrap(), 4 << 30);
        assert_eq!(parse_size("1.5GiB").unwrap(), 3 << 29);
        assert_eq!(parse_size("300mb").unwrap(), 300 << 20);
        for bad in ["", "G", "-1G", "4X", "nan", "1e30T"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert_eq!(show_size(1536.0 * 1024.0 * 1024.0), "1.5 GiB");
        assert!(check("x", 2e9, 1 << 30, "do less")
            .unwrap_err()
            .to_string()
            .contains("1.9 GiB"));
        assert!(check("x", 1e9, 1 << 30, "do less").is_ok());
    }

    /// The estimate against the measured peaks of `cvxcnn train` on exact 1-D programs
    /// (BENCHMARKS.md): never below them, at most 1.5× above.
    #[test]
    fn ipm_estimate_covers_the_measured_peaks() {
        for (p, n, h, g, peak_kb) in [
            (3542.0, 10, 3, 60, 334_564.0),
            (9122.0, 16, 3, 96, 1_310_524.0),
            (25442.0, 20, 3, 160, 5_803_780.0),
            (336.0, 24, 2, 168, 75_512.0),
        ] {
            let est = ipm_bytes(p, n, h, g);
            let peak = peak_kb * 1024.0;
            assert!(est >= peak && est <= 1.5 * peak, "{p}: {est} vs {peak}");
        }
    }

    /// The working-set estimate against the measured peaks of `cvxcnn train` on exact 1-D
    /// programs (BENCHMARKS.md, 2026-12-07): at least 0.95× (the largest, where the program
    /// itself dominates), at most 3× (the smallest, where the fixed 16 MiB does).
    #[test]
    fn priced_estimate_follows_the_measured_peaks() {
        for (p, n, h, g, peak_kb) in [
            (336.0, 24, 2, 168, 9_448.0),
            (3542.0, 10, 3, 60, 12_144.0),
            (9122.0, 16, 3, 96, 22_120.0),
            (25442.0, 20, 3, 160, 52_724.0),
            (102_082.0, 40, 3, 320, 287_064.0),
            (190_736.0, 12, 4, 84, 310_668.0),
        ] {
            let est = priced_ipm_bytes(p, n, h, g);
            let peak = peak_kb * 1024.0;
            assert!(
                est >= 0.95 * peak && est <= 3.0 * peak,
                "{p}: {est} vs {peak}"
            );
        }
    }

    /// The local-pooling estimate against the measured peaks of `cvxcnn train --head l1` on
    /// exact 1-D programs (BENCHMARKS.md, 2026-12-07): 1.2–2.1× (the most, where 695,380
    /// patterns dominate).
    #[test]
    fn local_pool_estimate_covers_the_measured_peaks() {
        for (p, words, blocks, rows, n, h, peak_kb) in [
            (3542.0, 1, 1146.0, 22_920.0, 10, 3, 53_476.0),
            (7952.0, 2, 632.0, 12_640.0, 10, 3, 33_792.0),
            (9122.0, 2, 2982.0, 95_424.0, 16, 3, 182_004.0),
            (20_498.0, 3, 1661.0, 53_152.0, 16, 3, 106_716.0),
            (158_802.0, 7, 3124.0, 249_920.0, 20, 3, 426_976.0),
            (695_380.0, 3, 3838.0, 109_960.0, 10, 4, 343_044.0),
            (25_442.0, 3, 12_644.0, 1_011_520.0, 20, 3, 1_583_620.0),
        ] {
            let est = local_pool_bytes(p, words, blocks, rows, n, h);
            let peak = peak_kb * 1024.0;
            assert!(
                est >= 1.2 * peak && est <= 2.1 * peak,
                "{p}: {est} vs {peak}"
            );
        }
    }

    /// The three-layer interior-point estimate against the measured peaks of `cvxcnn train
    /// --arch three-layer` on exact 1-D programs, kernel 2 (BENCHMARKS.md, 2026-12-07):
    /// 1.24–1.34×.
    #[test]
    fn three_layer_ipm_estimate_covers_the_measured_peaks() {
        for (pats, s, pb, n, rows, peak_kb) in [
            (24, 48, 6776, 4, 12, 176_572.0),
            (30, 60, 13_316, 3, 15, 402_480.0),
            (32, 64, 16_156, 4, 16, 523_728.0),
            (40, 80, 31_712, 5, 20, 1_200_300.0),
            (48, 96, 54_888, 6, 24, 2_411_932.0),
        ] {
            let size = ThreeLayerSize {
                patterns: pats,
                s_blocks: s,
                p_blocks: pb,
                stage: SizeStage::Growing,
            };
            let est = three_layer_ipm_bytes(size, n, 2, rows);
            let peak = peak_kb * 1024.0;
            assert!(
                est >= 1.1 * peak && est <= 1.5 * peak,
                "{pb}: {est} vs {peak}"
            );
        }
    }

    /// The three-layer first-order estimate against the measured peaks (2 threads) of exact
    /// programs with `--solver cg` (kernel 2) and sampled ones with `al` (`--max-iter R`: at
    /// most `32R` working-set blocks) and `cg` (BENCHMARKS.md, 2026-12-07): 1.24–1.78×.
    #[test]
    fn three_layer_first_order_estimate_covers_the_measured_peaks() {
        for (pats, s, pb, n, h, rows, working, al, peak_kb) in [
            (60, 120, 107_488, 6, 2, 30, 960, false, 41_512.0),
            (112, 224, 701_760, 8, 2, 56, 960, false, 222_792.0),
            (1400, 400, 1200, 40, 4, 360, 128, true, 19_752.0),
            (7000, 2000, 6000, 100, 8, 2500, 96, true, 133_956.0),
            (7000, 2000, 6000, 100, 8, 2500, 960, false, 110_396.0),
            (3500, 1000, 3000, 200, 16, 9800, 64, true, 277_456.0),
        ] {
            let size = ThreeLayerSize {
                patterns: pats,
                s_blocks: s,
                p_blocks: pb,
                stage: crate::arch::three_layer::SizeStage::Sampled,
            };
            let est = three_layer_first_order_bytes(size, n, h, rows, working, al, 2);
            let peak = peak_kb * 1024.0;
            assert!(
                est >= 1.1 * peak && est <= 2.0 * peak,
                "{pb}: {est} vs {peak}"
            );
        }
    }

    /// The circular estimates against the measured peaks of `cvxcnn train --arch circular` on
    /// Gaussian signals (BENCHMARKS.md, 2026-12-07): the interior point (`L = 3`, `L = 4`, the
    /// path norm) 1.18–1.42×, the first-order solver 1.49×.
    #[test]
    fn circular_estimates_cover_the_measured_peaks() {
        for (p, n, d, peak_kb) in [
            (256.0, 8, 8, 28_256.0),
            (1004.0, 10, 8, 102_672.0),
            (1024.0, 10, 10, 129_212.0),
            (4096.0, 12, 12, 633_716.0),
            (11_624.0, 14, 8, 1_145_656.0),
        ] {
            let (est, peak) = (circular_ipm_bytes(p, n, d, n), peak_kb * 1024.0);
            assert!(
                est >= 1.1 * peak && est <= 1.5 * peak,
                "{p}: {est} vs {peak}"
            );
            assert_eq!(circular_bounds_bytes(p, n, d, n), est);
        }
        for (p, n, d, peak_kb) in [(11_624.0, 14, 8, 50_396.0), (32_768.0, 16, 8, 137_328.0)] {
            let (est, peak) = (circular_first_order_bytes(p, n, d, n), peak_kb * 1024.0);
            assert!(
                est >= 1.1 * peak && est <= 2.0 * peak,
                "{p}: {est} vs {peak}"
            );
        }
    }
}
