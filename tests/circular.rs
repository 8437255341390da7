//! The three-layer circular CNN with one ReLU (L = 3): the MATH-DEEP.md reference value, the
//! recovered-network identity, and the factorization behind the spectral ℓ1 penalty.

use cvxcnn::arch::circular::{
    circular_conv, dft, spectral_l1, train_circular_exact, unit_from_block, CircularAdamSettings,
};
use cvxcnn::solver::IpmSettings;

fn b1() -> (Vec<f64>, Vec<f64>) {
    let x = vec![
        0.4, 1.5, -1.8, 1.7, 0.0, -0.8, -0.8, -1.1, -0.2, 0.8, 0.6, 0.6, -1.7, -1.6, 1.6, 1.0, 2.2,
        1.2, -1.0, 1.3, 0.6, 0.2, -0.8, 0.0,
    ];
    let y = vec![-0.1, 0.9, 0.1, 1.6, -0.8, 0.5];
    (x, y)
}

/// MATH-DEEP.md section 2, reference B1 at L = 3: p* = 0.12946906.
#[test]
fn reference_b1_and_recovered_network() {
    let (x, y) = b1();
    let o = train_circular_exact(&x, 4, &y, 0.1, &IpmSettings::default()).unwrap();
    let rel = |a: f64, b: f64| (a - b).abs() / b.abs();
    assert!(
        rel(o.objective, 0.12946906) < 1e-6,
        "objective {} vs reference 0.12946906",
        o.objective
    );
    assert!(
        rel(o.network_objective, o.objective) < 1e-6,
        "network {} vs convex {}",
        o.network_objective,
        o.objective
    );
    assert!(o.dual_objective <= o.objective + 1e-8);
    assert!(o.network.width() >= 1);
    assert!((o.network.max_a_norm() - 1.0).abs() < 1e-9);
}

/// The recovery factorizes `q = a ⊛ b` with `‖a‖ = 1` and `‖b‖ = ‖Fq‖₁/d`, the minimum of
/// `‖a‖‖b‖` (MATH.md 6); the DFT turns circular convolution into a product.
#[test]
fn factorization_attains_the_spectral_norm() {
    let z = [0.3, -1.2, 0.7, 2.0, -0.4];
    let (a, b, w) = unit_from_block(&z, 1.0).unwrap();
    let d = z.len() as f64;
    let s = spectral_l1(&z) / d;
    assert!((w - s.sqrt()).abs() < 1e-12);
    let q = circular_conv(&a, &b);
    for (qi, zi) in q.iter().zip(&z) {
        assert!((qi * w - zi).abs() < 1e-12, "{qi} * {w} vs {zi}");
    }
    let na: f64 = a.iter().map(|v| v * v).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!((na - 1.0).abs() < 1e-12 && (nb - w).abs() < 1e-12);
    // F(a ⊛ b) = Fa ∘ Fb.
    let (fa, fb, fq) = (dft(&a), dft(&b), dft(&q));
    for k in 0..z.len() {
        assert!((fa[k] * fb[k] - fq[k]).norm() < 1e-12);
    }
    // Any other factorization costs at least as much: scaled random a (‖a‖ = 1) with b solved
    // from the spectrum (where Fa ≠ 0).
    let a2: Vec<f64> = vec![0.5, -0.1, 0.3, 0.8, 0.2];
    let n2: f64 = a2.iter().map(|v| v * v).sum::<f64>().sqrt();
    let a2: Vec<f64> = a2.iter().map(|v| v / n2).collect();
    let fa2 = dft(&a2);
    let fz = dft(&z);
    let fb2: Vec<_> = fz.iter().zip(&fa2).map(|(q, a)| q / a).collect();
    let b2 = cvxcnn::arch::circular::idft_real(&fb2);
    let nb2: f64 = b2.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!(nb2 >= s - 1e-12, "{nb2} < {s}");
}

/// Projected Adam from 20 seeds at several widths never ends below the exact optimum, and gets
/// close to it.
#[test]
fn adam_never_below_the_exact_optimum() {
    let (x, y) = b1();
    let beta = 0.1;
    let o = train_circular_exact(&x, 4, &y, beta, &IpmSettings::default()).unwrap();
    let mut best = f64::INFINITY;
    for width in [1, 3, 8] {
        for seed in 0..20 {
            let s = CircularAdamSettings {
                width,
                iters: 3000,
                lr: 0.02,
                seed,
            };
            let net = cvxcnn::arch::circular::train_circular_adam(&x, 4, &y, beta, &s).unwrap();
            assert!(net.max_a_norm() <= 1.0 + 1e-12);
            let obj = net.objective(&x, &y, beta).unwrap();
            assert!(
                obj >= o.objective * (1.0 - 1e-6),
                "width {width} seed {seed}: {obj} < convex {}",
                o.objective
            );
            best = best.min(obj);
        }
    }
    eprintln!("best/convex = {}", best / o.objective);
    assert!(best < 1.02 * o.objective, "best {best} vs {}", o.objective);
}

/// MATH-DEEP.md section 2, B1: the L ≥ 4 lower bounds (0.082461619 at L = 4, 0.053308122 at
/// L = 5), and at L = 3 the weighted program is the exact one.
#[test]
fn lower_bounds_for_deeper_circular_cnns() {
    let (x, y) = b1();
    let ipm = IpmSettings::default();
    let rel = |a: f64, b: f64| (a - b).abs() / b.abs();
    let l3 = cvxcnn::arch::circular::circular_lower_bound(&x, 4, &y, 0.1, 3, &ipm).unwrap();
    assert!(rel(l3, 0.12946906) < 1e-6, "L = 3: {l3}");
    let l4 = cvxcnn::arch::circular::circular_lower_bound(&x, 4, &y, 0.1, 4, &ipm).unwrap();
    assert!(rel(l4, 0.082461619) < 1e-6, "L = 4: {l4}");
    let l5 = cvxcnn::arch::circular::circular_lower_bound(&x, 4, &y, 0.1, 5, &ipm).unwrap();
    assert!(rel(l5, 0.053308122) < 1e-6, "L = 5: {l5}");
    assert!(cvxcnn::arch::circular::circular_lower_bound(&x, 4, &y, 0.1, 2, &ipm).is_err());
}

/// MATH-DEEP.md section 2, B1: single-frequency upper bounds 0.13048635 (L = 4) and
/// 0.089571006 (L = 5), each above its lower bound and the known optimum between them.
#[test]
fn single_frequency_upper_bounds() {
    let (x, y) = b1();
    let ipm = IpmSettings::default();
    let rel = |a: f64, b: f64| (a - b).abs() / b.abs();
    for (l, ub_ref, opt) in [(4, 0.13048635, 0.098313829), (5, 0.089571006, 0.0759121)] {
        let ub = cvxcnn::arch::circular::circular_single_frequency_bound(&x, 4, &y, 0.1, l, &ipm)
            .unwrap();
        let lb = cvxcnn::arch::circular::circular_lower_bound(&x, 4, &y, 0.1, l, &ipm).unwrap();
        assert!(rel(ub, ub_ref) < 1e-6, "L = {l}: UB {ub} vs {ub_ref}");
        assert!(lb < opt && opt < ub, "L = {l}: {lb} < {opt} < {ub}");
    }
    // At L = 3 the restriction cannot beat the exact optimum.
    let ub3 =
        cvxcnn::arch::circular::circular_single_frequency_bound(&x, 4, &y, 0.1, 3, &ipm).unwrap();
    assert!(ub3 >= 0.12946906 * (1.0 - 1e-7), "{ub3}");
}

/// L ≥ 4: the single-frequency network attains the upper bound, refinement from it stays within
/// [true optimum, UB], and the cone test fails on B1 (where LB < optimum).
#[test]
fn deep_networks_bounds_and_refinement() {
    use cvxcnn::arch::circular::{
        lower_bound_with_cone_test, refine, single_frequency_network, RefineSettings,
    };
    let (x, y) = b1();
    let ipm = IpmSettings::default();
    let rel = |a: f64, b: f64| (a - b).abs() / b.abs();
    for (layers, lb_ref, ub_ref, opt) in [
        (4, 0.082461619, 0.13048635, 0.098313829),
        (5, 0.053308122, 0.089571006, 0.0759121 - 3e-7),
    ] {
        let (ub, net) = single_frequency_network(&x, 4, &y, 0.1, layers, &ipm).unwrap();
        assert!(rel(ub, ub_ref) < 1e-6, "L={layers}: UB {ub}");
        let own = net.objective(&x, &y, 0.1).unwrap();
        assert!(rel(own, ub) < 1e-6, "L={layers}: network {own} vs UB {ub}");
        assert!(net.max_a_norm() <= 1.0 + 1e-12);
        let lb = lower_bound_with_cone_test(&x, 4, &y, 0.1, layers, &ipm).unwrap();
        assert!(rel(lb.value, lb_ref) < 1e-6);
        assert!(
            !lb.cone_test,
            "L={layers}: the cone test cannot pass when LB < optimum"
        );
        let mut best = f64::INFINITY;
        for seed in 0..4 {
            let s = RefineSettings {
                iters: 5000,
                lr: 0.01,
                noise: 0.2,
                seed,
            };
            let (refined, v) = refine(&x, &y, 0.1, &net, &s).unwrap();
            assert!(rel(refined.objective(&x, &y, 0.1).unwrap(), v) < 1e-12);
            assert!(refined.max_a_norm() <= 1.0 + 1e-12);
            assert!(
                v <= ub * (1.0 + 1e-8) && v >= opt * (1.0 - 1e-6),
                "L={layers}: refined {v}"
            );
            best = best.min(v);
        }
        eprintln!(
            "L={layers}: LB {} ≤ optimum {opt} ≤ refined {best} ≤ UB {ub}",
            lb.value
        );
        // Refinement closes most of the gap: within 1% of the true optimum.
        assert!(best <= opt * 1.01, "L={layers}: refined only to {best}");
    }
}

/// When every Fourier component of the LB solution lies in its cone, LB is exact: it equals the
/// single-frequency UB (an independent program), which a network attains.
#[test]
fn cone_test_certifies_exact_lower_bounds() {
    use cvxcnn::arch::circular::{lower_bound_with_cone_test, single_frequency_network};
    let ipm = IpmSettings::default();
    let (mut passed, mut failed) = (0, 0);
    for seed in 0..12u64 {
        let mut r = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut next = || {
            r = r
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((r >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        };
        let d = 4;
        let n = 5;
        let x: Vec<f64> = (0..n * d).map(|_| next()).collect();
        let y: Vec<f64> = (0..n).map(|_| next()).collect();
        for beta in [0.05, 0.3] {
            let lb = lower_bound_with_cone_test(&x, d, &y, beta, 4, &ipm).unwrap();
            let (ub, _) = single_frequency_network(&x, d, &y, beta, 4, &ipm).unwrap();
            assert!(lb.value <= ub * (1.0 + 1e-7));
            if lb.cone_test {
                passed += 1;
                assert!(
                    (ub - lb.value).abs() <= 1e-6 * ub,
                    "seed {seed} β {beta}: cone test passed but LB {} < UB {ub}",
                    lb.value
                );
            } else {
                failed += 1;
            }
        }
    }
    eprintln!("cone test: {passed} passed, {failed} failed");
    assert!(passed > 0 && failed > 0, "{passed} passed, {failed} failed");
}

/// The spectral path norm: the recovered L-layer network attains the optimum, and no random or
/// perturbed network goes below it.
#[test]
fn path_norm_variant_is_exact() {
    use cvxcnn::arch::circular::path_norm_network;
    let (x, y) = b1();
    let ipm = IpmSettings::default();
    for layers in [3, 4, 6] {
        let (opt, net) = path_norm_network(&x, 4, &y, 0.05, layers, &ipm).unwrap();
        let own = net.path_norm_objective(&x, &y, 0.05).unwrap();
        assert!(
            (own - opt).abs() <= 1e-6 * opt,
            "L={layers}: {own} vs {opt}"
        );
        assert!(net.max_a_norm() <= 1.0 + 1e-9);
        let mut s = 12345u64 + layers as u64;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        };
        for trial in 0..300 {
            let mut p = net.clone();
            let scale = if trial < 150 { 1e-3 } else { 1.0 };
            for v in p.a.iter_mut().chain(p.b.iter_mut()).chain(p.w.iter_mut()) {
                *v += scale * next();
            }
            let v = p.path_norm_objective(&x, &y, 0.05).unwrap();
            assert!(
                v >= opt * (1.0 - 1e-9),
                "L={layers} trial {trial}: {v} < {opt}"
            );
        }
    }
}

/// The first-order solve's certificate (`spectral_lower_bound`, exact cone-constrained dual norms
/// per block) on B1: never above the interior point's certified optimum, and within 1e-8 of it;
/// the cone-free bound (`‖F A_bᵀ v‖_∞`) would give 0.045 here.
#[test]
fn first_order_lower_bound_is_valid_and_tight() {
    let (x, y) = b1();
    let exact = train_circular_exact(&x, 4, &y, 0.1, &IpmSettings::default()).unwrap();
    let s = cvxcnn::solver::ProxAlSettings::default();
    let al = cvxcnn::arch::circular::train_circular_first_order(&x, 4, &y, 0.1, &s).unwrap();
    let (lb, opt) = (al.dual_objective, exact.objective);
    assert!(lb <= exact.dual_objective.max(opt) + 1e-10, "{lb} vs {opt}");
    assert!(lb >= opt - 1e-8 * opt, "{lb} vs {opt}");
}
