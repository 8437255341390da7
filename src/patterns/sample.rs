//! Seeded Gaussian sampling of sign patterns.

use super::hyperplanes::Hyperplanes;
use super::set::PatternSet;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

/// Draws `draws` filters `u ~ N(0, I_h)` with a seeded ChaCha8 generator and keeps their distinct
/// patterns. A draw that lands on a hyperplane (probability zero, but floating point) is redrawn.
/// The same seed gives the same set in the same order.
pub fn sample_gaussian(hp: &Hyperplanes, draws: usize, seed: u64) -> PatternSet {
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
    let mut set = PatternSet::new(hp.len());
    let mut u = vec![0.0; hp.h];
    let mut bits = vec![0u64; set.words()];
    let mut done = 0;
    let mut tries = 0;
    while done < draws && tries < draws.saturating_mul(4) + 16 {
        tries += 1;
        for x in u.iter_mut() {
            *x = StandardNormal.sample(&mut rng);
        }
        let unorm = u.iter().map(|x| x * x).sum::<f64>().sqrt();
        if hp.signs_of(&u, &mut bits) <= 1e-12 * unorm {
            continue;
        }
        set.insert(&bits);
        done += 1;
    }
    set
}
