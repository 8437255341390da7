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
}
