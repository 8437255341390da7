//! Seeded Gaussian sampling of sign patterns.

use super::hyperplanes::Hyperplanes;
use super::set::PatternSet;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

/// Draws `draws` filters `u ~ N(0, I_h)` with a seeded ChaCha8 generator and keeps their distinct
/// patterns. A draw that lands on a hyperplane (probability zero, but floating point) is redrawn.
/// The same seed gives the same set in the same order.
pub fn sample_gaussian(hp: &Hyperplanes, draws: usize, seed: u64) -> PatternSet {
    sample_gaussian_until(hp, draws, seed, None)
}

/// [`sample_gaussian`] that stops drawing at `deadline` (keeping what it found).
pub fn sample_gaussian_until(
    hp: &Hyperplanes,
    draws: usize,
    seed: u64,
    deadline: Option<std::time::Instant>,
) -> PatternSet {
    collect(hp, draws, seed, deadline, |rng, u| {
        for x in u.iter_mut() {
            *x = StandardNormal.sample(rng);
        }
    })
}

/// Draws filters with `fill` from a seeded ChaCha8 generator and keeps their distinct patterns;
/// a filter on a hyperplane is redrawn (at most `4·draws + 16` tries in all). Stops early once
/// the set holds as many patterns as the arrangement can have (the general-position count in
/// `R^h`), or at `deadline`.
fn collect(
    hp: &Hyperplanes,
    draws: usize,
    seed: u64,
    deadline: Option<std::time::Instant>,
    mut fill: impl FnMut(&mut rand::rngs::ChaCha8Rng, &mut [f64]),
) -> PatternSet {
    let most = crate::patterns::count::general_position_count(hp.len(), hp.h);
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
    let mut set = PatternSet::new(hp.len());
    let mut u = vec![0.0; hp.h];
    let mut bits = vec![0u64; set.words()];
    let mut done = 0;
    let mut tries = 0;
    while done < draws && tries < draws.saturating_mul(4) + 16 {
        if tries % 256 == 0 && tries > 0 {
            if set.len() as u128 >= most {
                break;
            }
            if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
                break;
            }
        }
        tries += 1;
        fill(&mut rng, &mut u);
        let unorm = u.iter().map(|x| x * x).sum::<f64>().sqrt();
        if hp.signs_of(&u, &mut bits) <= 1e-12 * unorm {
            continue;
        }
        set.insert(&bits);
        done += 1;
    }
    set
}

/// Draws `draws` filters from the data: a random non-zero patch `x` (with a bias entry when the
/// patches carry one, set to `−ρ‖x‖²` with `ρ ~ U(0.2, 0.9)`, so the filter fires on patches that
/// resemble `x`), plus a little Gaussian noise so that it lies off every hyperplane. Keeps the
/// distinct patterns; seeded like [`sample_gaussian`].
pub fn sample_from_patches(
    patches: &crate::patches::Patches,
    hp: &Hyperplanes,
    bias: bool,
    draws: usize,
    seed: u64,
) -> PatternSet {
    sample_from_patches_until(patches, hp, bias, draws, seed, None)
}

/// [`sample_from_patches`] that stops drawing at `deadline` (keeping what it found).
pub fn sample_from_patches_until(
    patches: &crate::patches::Patches,
    hp: &Hyperplanes,
    bias: bool,
    draws: usize,
    seed: u64,
    deadline: Option<std::time::Instant>,
) -> PatternSet {
    use rand::RngExt;
    let h = hp.h;
    let nonzero: Vec<usize> = (0..patches.rows())
        .filter(|&r| hp.row_group[r].is_some())
        .collect();
    if nonzero.is_empty() {
        return PatternSet::new(hp.len());
    }
    collect(hp, draws, seed, deadline, |rng, u| {
        let x = patches.row(nonzero[rng.random_range(0..nonzero.len())]);
        let core = if bias { h - 1 } else { h };
        let x2: f64 = x[..core].iter().map(|v| v * v).sum();
        let scale = x2.sqrt().max(1e-12);
        for (ui, xi) in u.iter_mut().zip(x) {
            let e: f64 = StandardNormal.sample(rng);
            *ui = xi + 1e-3 * scale * e;
        }
        if bias {
            let rho: f64 = rng.random_range(0.2..0.9);
            u[h - 1] = -rho * x2;
        }
    })
}

/// The distinct patterns of given filters (`filters` holds `count` rows of `h` values, e.g. the
/// gate vectors of another tool), in order. Returns the set and the number of filters skipped
/// because they lie on a hyperplane (their pattern is not an open region).
pub fn patterns_of_filters(hp: &Hyperplanes, filters: &[f64]) -> (PatternSet, usize) {
    let mut set = PatternSet::new(hp.len());
    let mut bits = vec![0u64; set.words()];
    let mut skipped = 0;
    for u in filters.chunks_exact(hp.h.max(1)) {
        let unorm = u.iter().map(|x| x * x).sum::<f64>().sqrt();
        if hp.signs_of(u, &mut bits) <= 1e-12 * unorm {
            skipped += 1;
            continue;
        }
        set.insert(&bits);
    }
    (set, skipped)
}
