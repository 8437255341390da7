//! Pattern pricing by ascent ([`cvxcnn::patterns::ascend`]) against exhaustive enumeration: on
//! small arrangements every pattern is enumerated and its exact dual-constraint value `γ`
//! computed by cone projection; the ascent's values must be lower bounds that it recomputes
//! exactly, and its best must reach the largest `γ`.

mod common;

use common::*;
use cvxcnn::certify::scale::certify_restricted;
use cvxcnn::loss::Loss;
use cvxcnn::patches::{PatchSpec, Patches};
use cvxcnn::patterns::{ascend, enumerate_exact, AscentSettings, Hyperplanes, PatternSet};
use cvxcnn::program::multi::MultiProgram;
use cvxcnn::program::operator::PatternOperator;

/// Per output `c`, the largest exact `γ` at `r` over the patterns of `set` and both signs,
/// `max_{i,s} ‖Π_{K_i}(s A_iᵀ r_c)‖`, from the restricted certificate of the zero point of the
/// program with targets `r` (its loss gradient is `−r`; exact cone projections; `β` tiny so that
/// no value is floored).
fn exact_max_gamma(
    p: &Patches,
    hp: &Hyperplanes,
    set: &PatternSet,
    r: &[f64],
    outputs: usize,
) -> Vec<f64> {
    let op = PatternOperator::new(p, hp, set, 1.0).unwrap();
    let prog = MultiProgram::new(op, Loss::Squared, r.to_vec(), outputs, 1e-12).unwrap();
    let zeros = vec![0.0; prog.exact_len()];
    let (cert, _) = certify_restricted(&prog, &zeros, &zeros, f64::INFINITY).unwrap();
    assert!(cert.complete);
    cert.output_gammas
}

/// `s · r_cᵀ Σ_k (X_k u)_+` computed from the patches directly.
fn value_of(p: &Patches, r: &[f64], c: usize, s: f64, u: &[f64]) -> f64 {
    let mut v = 0.0;
    for row in 0..p.rows() {
        let z: f64 = p.row(row).iter().zip(u).map(|(a, b)| a * b).sum();
        if z > 0.0 {
            v += s * r[c * p.n + row % p.n] * z;
        }
    }
    v
}

#[test]
fn ascent_values_are_exact_lower_bounds_and_reach_the_largest_gamma() {
    for seed in 0..4u64 {
        let ds = gaussian_1d(10, 7, 40 + seed);
        let spec = PatchSpec::one_d(2, 1, 0, true);
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &spec).unwrap();
        let hp = Hyperplanes::from_patches(&p);
        let set = enumerate_exact(&p, &hp, 1 << 30, &mut |_, _| {}).unwrap();
        let outputs = 2;
        let r = gaussian(p.n * outputs, 70 + seed);
        let per_output = exact_max_gamma(&p, &hp, &set, &r, outputs);
        let best = per_output.iter().copied().fold(0.0, f64::max);
        let s = AscentSettings {
            starts: 16,
            steps: 30,
            seed,
            max_new: usize::MAX,
        };
        let none = PatternSet::new(hp.len());
        let found = ascend(&p, &hp, 1.0, &r, outputs, 0.0, &none, &s);
        assert!(!found.is_empty());
        for f in &found {
            // The filter is a unit vector of its own pattern, and its value is recomputed.
            let nu = f.filter.iter().map(|v| v * v).sum::<f64>().sqrt();
            assert!((nu - 1.0).abs() < 1e-12, "‖u‖ = {nu}");
            let mut bits = vec![0u64; f.bits.len()];
            hp.signs_of(&f.filter, &mut bits);
            assert_eq!(bits, f.bits);
            let v = value_of(&p, &r, f.output, f.sign, &f.filter);
            assert!(rel(v, f.value) < 1e-10, "{v} vs {}", f.value);
            // A lower bound on the exact γ of its pattern (largest over the signs).
            assert!(set.contains(&f.bits), "not an enumerated pattern");
            let mut one = PatternSet::new(hp.len());
            one.insert(&f.bits);
            let g = exact_max_gamma(&p, &hp, &one, &r, outputs)[f.output];
            assert!(f.value <= g * (1.0 + 1e-9) + 1e-12, "{} > γ {g}", f.value);
        }
        // Largest first, one entry per pattern.
        assert!(found.windows(2).all(|w| w[0].value >= w[1].value));
        let mut seen = PatternSet::new(hp.len());
        assert!(found.iter().all(|f| seen.insert(&f.bits)));
        // The best start comes within 2% of the largest γ over all patterns (a small
        // arrangement). Not exactly: where the best filter of a pattern lies on its cone's
        // boundary, the fixed-point steps alternate between the patterns on either side (the
        // polish then takes the exact maximiser of the pattern by projection).
        assert!(
            found[0].value >= best * 0.98,
            "seed {seed}: ascent {} < largest γ {best}",
            found[0].value
        );
        // Known patterns and values at or below the threshold are left out.
        let mut known = PatternSet::new(hp.len());
        known.insert(&found[0].bits);
        let again = ascend(&p, &hp, 1.0, &r, outputs, 0.0, &known, &s);
        assert!(again.iter().all(|f| f.bits != found[0].bits));
        assert!(ascend(&p, &hp, 1.0, &r, outputs, best * 1.001, &none, &s).is_empty());
        // The same seed gives the same patterns in the same order.
        let twice = ascend(&p, &hp, 1.0, &r, outputs, 0.0, &none, &s);
        assert_eq!(
            found.iter().map(|f| f.bits.clone()).collect::<Vec<_>>(),
            twice.iter().map(|f| f.bits.clone()).collect::<Vec<_>>()
        );
    }
}
