//! Correctness of the two-layer CNN formulation against independent computations.

mod common;

use common::*;
use cvxcnn::arch::two_layer::train::{train, PatternChoice, Silent, TrainConfig, TrainOutcome};
use cvxcnn::certify::Scope;
use cvxcnn::data::Dataset;
use cvxcnn::loss::Loss;
use cvxcnn::nonconvex::{
    to_network, train_nonconvex, NonconvexData, NonconvexSettings, OptimizerKind, RunStatus,
    Schedule, Unobserved,
};
use cvxcnn::patches::{PatchSpec, Patches};
use cvxcnn::patterns::{
    enumerate_exact, general_position_count, rank_of, sample_gaussian, Hyperplanes,
};
use cvxcnn::program::Pooling;
use cvxcnn::solver::IpmSettings;
use std::collections::HashSet;

fn config(spec: PatchSpec, beta: f64, pool: Pooling, patterns: PatternChoice) -> TrainConfig {
    TrainConfig {
        spec,
        pool,
        beta,
        patterns,
        ipm: IpmSettings::default(),
        max_exact_patterns: 1 << 40,
        prune: true,
        max_memory: cvxcnn::resources::default_limit(),
    }
}

fn run(ds: &Dataset, y: &[f64], cfg: &TrainConfig) -> TrainOutcome {
    let o = train(ds, y, cfg, &mut Silent).unwrap();
    // The central identity, on every run: the recovered network's own objective equals the
    // convex optimum, and its filters reproduce their patterns.
    assert!(
        rel(o.network_objective, o.objective) < 1e-6,
        "network {} vs convex {}",
        o.network_objective,
        o.objective
    );
    assert_eq!(o.pattern_check.mismatches, 0, "{:?}", o.pattern_check);
    assert!(o.certificate.duality_gap > -1e-9 * o.objective.abs().max(1.0));
    o
}

fn exact_row_patterns(p: &Patches) -> HashSet<Vec<bool>> {
    let hp = Hyperplanes::from_patches(p);
    let set = enumerate_exact(p, &hp, 1 << 40, &mut |_, _| {}).unwrap();
    (0..set.len())
        .map(|i| hp.row_pattern(set.pattern(i)))
        .collect()
}

#[test]
fn closed_form_single_sample() {
    // MATH.md 3.4: x = (0.5, 1, 2, 0.25, 1.5), h = 2, stride 1, y = 3.
    let shape = cvxcnn::data::SampleShape {
        channels: 1,
        height: 1,
        width: 5,
        one_d: true,
    };
    let x = vec![0.5, 1.0, 2.0, 0.25, 1.5];
    let ds = Dataset::new(
        x.clone(),
        shape,
        cvxcnn::data::Targets::Real(vec![3.0]),
        "n=1",
    )
    .unwrap();
    // s = Σ_k x_k over the 4 patches of length 2.
    let s = [x[0] + x[1] + x[2] + x[3], x[1] + x[2] + x[3] + x[4]];
    let ns = (s[0] * s[0] + s[1] * s[1]).sqrt();
    for (beta, reference) in [(0.5, 0.24444475), (5.0, 2.13728023), (50.0, 4.5)] {
        let formula = 4.5 - (ns * 3.0 - beta).max(0.0).powi(2) / (2.0 * ns * ns);
        assert!(
            rel(formula, reference) < 2e-8,
            "MATH.md value {reference} vs formula {formula}"
        );
        let o = run(
            &ds,
            &[3.0],
            &config(
                PatchSpec::one_d(2, 1, 0, false),
                beta,
                Pooling::Sum,
                PatternChoice::Exact,
            ),
        );
        assert!(
            rel(o.objective, formula) < 1e-7,
            "β = {beta}: {} vs {formula}",
            o.objective
        );
        assert!(rel(o.network_objective, formula) < 1e-7);
        assert_eq!(o.certificate.scope, Scope::Global);
    }
}

#[test]
fn exact_count_602_and_general_position_formula() {
    let ds = gaussian_1d(5, 7, 11);
    let p = Patches::extract(&ds.x, 5, &ds.shape, &PatchSpec::one_d(3, 1, 0, false)).unwrap();
    assert_eq!(exact_row_patterns(&p).len(), 602);
    // Other sizes, 1-D and 2-D, strides, channels and bias: the count equals the formula.
    let cases: Vec<(Dataset, PatchSpec)> = vec![
        (gaussian_1d(4, 9, 1), PatchSpec::one_d(2, 1, 0, false)),
        (gaussian_1d(6, 8, 2), PatchSpec::one_d(3, 2, 0, false)),
        (gaussian_1d(3, 10, 3), PatchSpec::one_d(4, 1, 0, false)),
        (gaussian_1d(8, 4, 4), PatchSpec::one_d(2, 1, 0, true)),
        (
            gaussian_2d(3, 1, 4, 4, 5),
            PatchSpec::two_d(2, 2, 1, 0, false),
        ),
        (
            gaussian_2d(2, 2, 3, 3, 6),
            PatchSpec::two_d(2, 1, 1, 0, false),
        ),
    ];
    for (ds, spec) in cases {
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &spec).unwrap();
        let (r, _) = rank_of(&p);
        assert_eq!(r, p.h.min(p.rows()));
        let count = exact_row_patterns(&p).len() as u128;
        assert_eq!(count, general_position_count(p.rows(), r), "{spec:?}");
    }
}

#[test]
fn enumeration_equals_brute_force_on_degenerate_data() {
    let shape1 = cvxcnn::data::SampleShape {
        channels: 1,
        height: 1,
        width: 5,
        one_d: true,
    };
    // Integer pixels, zero patches, repeated and scaled patches, a constant signal.
    let x = vec![
        0.0, 0.0, 1.0, 2.0, 2.0, 1.0, 1.0, 1.0, 0.0, 0.0, 2.0, 4.0, 0.0, 0.0, 0.0,
    ];
    let ds = Dataset::new(
        x,
        shape1,
        cvxcnn::data::Targets::Real(vec![1.0, -1.0, 0.5]),
        "deg",
    )
    .unwrap();
    let (mc, _) = mnist_crop(3, 12, 12, 4);
    let cases: Vec<(Dataset, PatchSpec, Geo)> = vec![
        (
            ds.clone(),
            PatchSpec::one_d(2, 1, 0, false),
            (1, 2, 1, 0, false),
        ),
        (
            ds.head(2),
            PatchSpec::one_d(2, 1, 1, false),
            (1, 2, 1, 1, false),
        ),
        (
            ds.head(2),
            PatchSpec::one_d(2, 2, 0, true),
            (1, 2, 2, 0, true),
        ),
        (
            mc.clone(),
            PatchSpec::two_d(2, 2, 2, 0, false),
            (2, 2, 2, 0, false),
        ),
        (
            mc.head(2),
            PatchSpec::two_d(2, 2, 2, 0, true),
            (2, 2, 2, 0, true),
        ),
    ];
    for (ds, spec, (kh, kw, s, pad, bias)) in cases {
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &spec).unwrap();
        let (rows, _) = ref_patches(&ds, kh, kw, s, pad, bias);
        // The library's patches equal the independent extraction.
        for (r, row) in rows.iter().enumerate() {
            assert_eq!(p.row(r), row.as_slice());
        }
        let brute: HashSet<Vec<bool>> = brute_force_patterns(&rows).into_iter().collect();
        let exact = exact_row_patterns(&p);
        assert_eq!(
            exact,
            brute,
            "{spec:?}: exact {} vs brute force {}",
            exact.len(),
            brute.len()
        );
    }
}

#[test]
fn sampled_patterns_are_exact_patterns_and_deterministic() {
    let (mc, _) = mnist_crop(6, 10, 10, 6);
    for (ds, spec) in [
        (gaussian_1d(5, 7, 11), PatchSpec::one_d(3, 1, 0, false)),
        (mc, PatchSpec::two_d(2, 2, 2, 0, true)),
    ] {
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &spec).unwrap();
        let hp = Hyperplanes::from_patches(&p);
        let exact = enumerate_exact(&p, &hp, 1 << 40, &mut |_, _| {}).unwrap();
        let a = sample_gaussian(&hp, 3000, 7);
        let b = sample_gaussian(&hp, 3000, 7);
        assert!(a.len() > 10);
        assert!(a.len() <= exact.len());
        for i in 0..a.len() {
            assert!(
                exact.contains(a.pattern(i)),
                "sampled pattern {i} is not an exact pattern"
            );
            assert_eq!(a.pattern(i), b.pattern(i), "same seed, different patterns");
        }
        let c = sample_gaussian(&hp, 3000, 8);
        assert!((0..a.len().min(c.len())).any(|i| a.pattern(i) != c.pattern(i)));
    }
}

/// Brute-force patterns plus a dense reference formulation vs the library, to 1e-6.
fn check_against_reference(ds: &Dataset, spec: PatchSpec, geo: Geo, beta: f64, pool: Pooling) {
    let y = ds.scalar_targets().unwrap();
    let (rows, k) = ref_patches(ds, geo.0, geo.1, geo.2, geo.3, geo.4);
    let pats = brute_force_patterns(&rows);
    let scale = if pool == Pooling::Avg {
        1.0 / k as f64
    } else {
        1.0
    };
    let reference = reference_optimum(&rows, k, ds.n(), &pats, &y, beta, scale);
    let o = run(ds, &y, &config(spec, beta, pool, PatternChoice::Exact));
    assert!(
        rel(o.objective, reference) < 1e-6,
        "{spec:?} β={beta}: cvxcnn {} vs reference {reference}",
        o.objective
    );
    assert!(rel(o.network_objective, reference) < 1e-6);
    assert!(
        o.certificate.relative_gap < 1e-6,
        "gap {}",
        o.certificate.relative_gap
    );
}

#[test]
fn optimum_matches_reference_solver_1d() {
    let ds = gaussian_1d(3, 5, 21);
    check_against_reference(
        &ds,
        PatchSpec::one_d(2, 1, 0, false),
        (1, 2, 1, 0, false),
        0.05,
        Pooling::Sum,
    );
    let ds = gaussian_1d(2, 4, 22);
    check_against_reference(
        &ds,
        PatchSpec::one_d(3, 1, 1, true),
        (1, 3, 1, 1, true),
        0.2,
        Pooling::Avg,
    );
}

#[test]
fn optimum_matches_reference_solver_2d() {
    let ds = gaussian_2d(2, 1, 3, 3, 31);
    check_against_reference(
        &ds,
        PatchSpec::two_d(2, 2, 1, 0, false),
        (2, 2, 1, 0, false),
        0.1,
        Pooling::Sum,
    );
    let ds = gaussian_2d(3, 2, 2, 3, 32);
    check_against_reference(
        &ds,
        PatchSpec {
            kernel_h: 2,
            kernel_w: 1,
            stride_h: 1,
            stride_w: 1,
            pad_h: 0,
            pad_w: 0,
            bias: false,
        },
        (2, 1, 1, 0, false),
        0.1,
        Pooling::Avg,
    );
}

#[test]
fn optimum_matches_reference_solver_on_mnist_pixels() {
    let (mc, _) = mnist_crop(3, 12, 12, 4);
    check_against_reference(
        &mc,
        PatchSpec::two_d(2, 2, 2, 0, false),
        (2, 2, 2, 0, false),
        0.05,
        Pooling::Sum,
    );
}

#[test]
fn gamma_at_optimum_equals_beta_and_zero_network_threshold() {
    let ds = gaussian_1d(5, 7, 11);
    let y = ds.scalar_targets().unwrap();
    let spec = PatchSpec::one_d(3, 1, 0, false);
    let o = run(
        &ds,
        &y,
        &config(spec, 0.1, Pooling::Sum, PatternChoice::Exact),
    );
    assert!(o.network.width() > 0);
    assert!(
        rel(o.certificate.gamma_residual, 0.1) < 1e-6,
        "γ(v*) = {}",
        o.certificate.gamma_residual
    );
    let bmax = o.beta_max;
    // Above β_max the zero network is optimal, below it is not.
    let above = run(
        &ds,
        &y,
        &config(spec, 1.001 * bmax, Pooling::Sum, PatternChoice::Exact),
    );
    assert_eq!(above.network.width(), 0);
    assert!(
        rel(
            above.network_objective,
            0.5 * y.iter().map(|v| v * v).sum::<f64>()
        ) < 1e-12
    );
    let below = run(
        &ds,
        &y,
        &config(spec, 0.999 * bmax, Pooling::Sum, PatternChoice::Exact),
    );
    assert!(below.network.width() > 0);
    assert!(below.network_objective < above.network_objective);
}

#[test]
fn pruning_bounds_width_and_keeps_objective() {
    let ds = gaussian_1d(5, 7, 11);
    let y = ds.scalar_targets().unwrap();
    let spec = PatchSpec::one_d(3, 1, 0, false);
    for beta in [0.02, 0.1, 0.5] {
        let mut cfg = config(spec, beta, Pooling::Sum, PatternChoice::Exact);
        let pruned = run(&ds, &y, &cfg);
        cfg.prune = false;
        let full = run(&ds, &y, &cfg);
        assert!(pruned.network.width() <= ds.n() + 1);
        assert!(rel(pruned.network_objective, full.network_objective) < 1e-9);
    }
}

#[test]
fn pruning_reduces_a_wide_solution() {
    use cvxcnn::program::{ConvexSolution, TwoLayerProgram};
    use cvxcnn::recovery::{active_vars, prune};
    // A feasible point with many atoms: each block's own cone contains the block's interior
    // point direction; take all of them.
    let ds = gaussian_1d(4, 6, 5);
    let y = ds.scalar_targets().unwrap();
    let p = Patches::extract(&ds.x, 4, &ds.shape, &PatchSpec::one_d(3, 1, 0, false)).unwrap();
    let hp = Hyperplanes::from_patches(&p);
    let set = enumerate_exact(&p, &hp, 1 << 40, &mut |_, _| {}).unwrap();
    let prog = TwoLayerProgram::new(&p, hp, &set, &y, 0.1, Pooling::Sum).unwrap();
    // Gaussian draws land in some region; put each draw into the block of its pattern.
    let mut sol = ConvexSolution::zeros(prog.blocks.len(), prog.h);
    let mut r = rng(3);
    use rand_distr::{Distribution, StandardNormal};
    let mut bits = vec![0u64; set.words()];
    for _ in 0..60 {
        let u: Vec<f64> = (0..prog.h).map(|_| StandardNormal.sample(&mut r)).collect();
        prog.hyperplanes.signs_of(&u, &mut bits);
        if let Some(b) = prog.blocks.iter().position(|bl| bl.bits == bits) {
            sol.var_mut(2 * b).copy_from_slice(&u);
        }
    }
    let before = active_vars(&prog, &sol).len();
    assert!(before > 5 + 5, "need a wide start, got {before}");
    let pruned = prune(&prog, &sol).unwrap();
    assert!(active_vars(&prog, &pruned).len() <= 5);
    let (f0, f1) = (prog.predict(&sol), prog.predict(&pruned));
    for (a, b) in f0.iter().zip(&f1) {
        assert!((a - b).abs() < 1e-9 * (1.0 + a.abs()));
    }
    assert!(rel(prog.objective(&pruned), prog.objective(&sol)) < 1e-9);
    assert!(prog.max_violation(&pruned) < 1e-12);
}

/// Runs SGD and Adam from `seeds` random starts at each width on `y` (`n × C`) and checks that
/// no run, at any recorded epoch, is below `convex` (relative 1e-6), that the batched objective
/// equals the standard network's own, and returns the best final objective.
#[allow(clippy::too_many_arguments)]
fn nonconvex_sweep(
    ds: &Dataset,
    spec: PatchSpec,
    pool: Pooling,
    y: &[f64],
    outputs: usize,
    beta: f64,
    convex: f64,
    widths: &[usize],
    seeds: u64,
) -> (f64, usize) {
    let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &spec).unwrap();
    let data = NonconvexData {
        patches: &p,
        y,
        outputs,
        loss: Loss::Squared,
        beta,
        pool: cvxcnn::nonconvex::PoolOp::of(pool, p.k),
        test: None,
    };
    let mut best = f64::INFINITY;
    let mut runs = 0;
    for &width in widths {
        for (optimizer, lr) in [(OptimizerKind::Adam, 0.02), (OptimizerKind::Sgd, 0.01)] {
            for seed in 0..seeds {
                let s = NonconvexSettings {
                    optimizer,
                    width,
                    epochs: 2000,
                    lr,
                    schedule: Schedule::Cosine,
                    batch_size: 2,
                    seed,
                    init_scale: 0.7,
                    ..NonconvexSettings::default()
                };
                let r = train_nonconvex(&data, &s, &mut Unobserved).unwrap();
                if r.status != RunStatus::Completed {
                    continue;
                }
                runs += 1;
                let net = to_network(&r.params, ds.shape, spec, pool);
                let obj = net.objective(&ds.x, y, beta).unwrap();
                assert!(rel(obj, r.objective) < 1e-9, "forward passes disagree");
                for rec in &r.history {
                    assert!(
                        rec.objective >= convex * (1.0 - 1e-6),
                        "{optimizer:?} width {width} seed {seed} epoch {}: {} < convex {convex}",
                        rec.epoch,
                        rec.objective
                    );
                }
                best = best.min(obj);
            }
        }
    }
    (best, runs)
}

#[test]
fn nonconvex_runs_never_below_the_convex_optimum() {
    let cases: Vec<(Dataset, PatchSpec, f64, Pooling)> = vec![
        (
            gaussian_1d(5, 7, 11),
            PatchSpec::one_d(3, 1, 0, false),
            0.1,
            Pooling::Sum,
        ),
        (
            gaussian_2d(3, 1, 3, 3, 12),
            PatchSpec::two_d(2, 2, 1, 0, true),
            0.05,
            Pooling::Avg,
        ),
    ];
    for (ds, spec, beta, pool) in cases {
        let y = ds.scalar_targets().unwrap();
        let o = run(&ds, &y, &config(spec, beta, pool, PatternChoice::Exact));
        let (best, runs) =
            nonconvex_sweep(&ds, spec, pool, &y, 1, beta, o.objective, &[1, 3, 8], 20);
        eprintln!("best/convex = {}", best / o.objective);
        assert!(runs >= 100, "only {runs} runs completed");
        // The local methods get close: the optimum is not a vacuous bound.
        assert!(
            best < 1.02 * o.objective,
            "best non-convex {best} vs convex {}",
            o.objective
        );
    }
}

/// With per-class filters and the squared loss on one-hot targets, the objective separates
/// over classes, so the exact optimum of the classifier is the sum of `C` scalar optima: an
/// independent reference for the multi-output non-convex runs.
#[test]
fn nonconvex_classifier_never_below_the_sum_of_per_class_optima() {
    let ds = gaussian_1d(6, 6, 21);
    let spec = PatchSpec::one_d(2, 1, 0, true);
    let (beta, pool, classes) = (0.08, Pooling::Sum, 3);
    let labels: Vec<usize> = (0..ds.n()).map(|t| (t * 7 + 1) % classes).collect();
    let y = cvxcnn::loss::one_hot(&labels, classes);
    let n = ds.n();
    let convex: f64 = (0..classes)
        .map(|c| {
            let yc = &y[c * n..(c + 1) * n];
            run(&ds, yc, &config(spec, beta, pool, PatternChoice::Exact)).objective
        })
        .sum();
    let (best, runs) = nonconvex_sweep(&ds, spec, pool, &y, classes, beta, convex, &[2, 5, 10], 20);
    eprintln!("best/convex = {}", best / convex);
    assert!(runs >= 100, "only {runs} runs completed");
    assert!(
        best < 1.02 * convex,
        "best non-convex {best} vs convex {convex}"
    );
}

#[test]
fn random_instances_satisfy_the_recovery_identity() {
    let mut k = 0;
    for seed in 0..6u64 {
        for pool in [Pooling::Sum, Pooling::Avg] {
            k += 1;
            let (ds, spec) = if seed % 2 == 0 {
                (
                    gaussian_1d(4 + seed as usize % 3, 6, 100 + seed),
                    PatchSpec::one_d(2 + seed as usize % 2, 1, seed as usize % 2, seed % 3 == 0),
                )
            } else {
                (
                    gaussian_2d(3, 1, 3, 3, 100 + seed),
                    PatchSpec::two_d(2, 2, 1, 0, seed % 3 == 1),
                )
            };
            let y = ds.scalar_targets().unwrap();
            let beta = 0.02 * (1 + k % 4) as f64;
            let o = run(&ds, &y, &config(spec, beta, pool, PatternChoice::Exact));
            assert!(
                o.certificate.relative_gap < 1e-6,
                "gap {}",
                o.certificate.relative_gap
            );
            // Sampled patterns: a restricted model, never below the exact optimum.
            let s = run(
                &ds,
                &y,
                &config(spec, beta, pool, PatternChoice::Sample { draws: 200, seed }),
            );
            assert_eq!(s.certificate.scope, Scope::Restricted);
            assert!(s.objective >= o.objective * (1.0 - 1e-7));
        }
    }
}

#[test]
fn safetensors_round_trip_predicts_the_same() {
    let ds = gaussian_2d(3, 2, 4, 4, 41);
    let y = ds.scalar_targets().unwrap();
    let spec = PatchSpec::two_d(2, 2, 2, 1, true);
    let o = run(
        &ds,
        &y,
        &config(
            spec,
            0.05,
            Pooling::Avg,
            PatternChoice::Sample {
                draws: 300,
                seed: 1,
            },
        ),
    );
    let bytes = cvxcnn::export::to_safetensors(&o.network).unwrap();
    let back = cvxcnn::export::from_safetensors(&bytes, std::path::Path::new("m")).unwrap();
    assert_eq!(back.filters, o.network.filters);
    assert_eq!(back.weights, o.network.weights);
    assert_eq!(
        back.predict(&ds.x).unwrap(),
        o.network.predict(&ds.x).unwrap()
    );
}

#[test]
fn enumeration_equals_brute_force_over_hyperplanes_on_mnist_with_bias() {
    // Regression: nearly all normals lie in the positive orthant (pixels ≥ 0, bias 1), so the
    // arrangement has thin regions and many coincident intersections (1104 regions, not the
    // general-position 1124).
    let (mc, _) = mnist_crop(4, 10, 10, 4);
    let p = Patches::extract(
        &mc.x,
        mc.n(),
        &mc.shape,
        &PatchSpec::two_d(2, 2, 2, 0, true),
    )
    .unwrap();
    let hp = Hyperplanes::from_patches(&p);
    let exact = enumerate_exact(&p, &hp, 1 << 40, &mut |_, _| {}).unwrap();
    let normals: Vec<Vec<f64>> = (0..hp.len()).map(|g| hp.normal(g).to_vec()).collect();
    let brute = brute_force_patterns(&normals);
    assert_eq!(exact.len(), brute.len());
    for d in &brute {
        let mut w = vec![0u64; exact.words()];
        for (g, &b) in d.iter().enumerate() {
            if b {
                w[g / 64] |= 1 << (g % 64);
            }
        }
        assert!(exact.contains(&w));
    }
    let (r, _) = rank_of(&p);
    assert!((exact.len() as u128) < general_position_count(hp.len(), r));
}

/// Argmax patterns of max pooling found by brute force over `draws` directions (evenly spaced
/// angles for `h = 2`, Gaussian otherwise), written without the library's arrangement: per
/// distinct winner vector, `A = Σ_t e_t x_{t,s_t}ᵀ` and the argmax cone. All-"none" patterns
/// (`A = 0`) are left out.
fn brute_force_max_blocks(rows: &[Vec<f64>], k: usize, n: usize, draws: usize) -> Vec<RefBlock> {
    let h = rows[0].len();
    let mut r = rng(99);
    let mut seen = HashSet::new();
    let mut blocks = Vec::new();
    for j in 0..draws {
        let u: Vec<f64> = if h == 2 {
            let th = 2.0 * std::f64::consts::PI * (j as f64 + 0.377) / draws as f64;
            vec![th.cos(), th.sin()]
        } else {
            (0..h)
                .map(|_| rand_distr::Distribution::sample(&rand_distr::StandardNormal, &mut r))
                .collect()
        };
        let dot = |a: &[f64]| a.iter().zip(&u).map(|(p, q)| p * q).sum::<f64>();
        let winners: Vec<Option<usize>> = (0..n)
            .map(|t| {
                let z: Vec<f64> = (0..k).map(|l| dot(&rows[l * n + t])).collect();
                let s = (0..k).fold(0, |b, l| if z[l] > z[b] { l } else { b });
                (z[s] > 0.0).then_some(s)
            })
            .collect();
        if winners.iter().all(|w| w.is_none()) || !seen.insert(winners.clone()) {
            continue;
        }
        let mut a = vec![vec![0.0; h]; n];
        let mut cons = Vec::new();
        for (t, w) in winners.iter().enumerate() {
            match *w {
                Some(s) => {
                    let xs = &rows[s * n + t];
                    a[t] = xs.clone();
                    cons.push(xs.clone());
                    for l in (0..k).filter(|&l| l != s) {
                        let xl = &rows[l * n + t];
                        cons.push(xs.iter().zip(xl).map(|(p, q)| p - q).collect());
                    }
                }
                None => {
                    for l in 0..k {
                        cons.push(rows[l * n + t].iter().map(|v| -v).collect());
                    }
                }
            }
        }
        blocks.push(RefBlock { a, cons });
    }
    blocks
}

#[test]
fn max_pooling_matches_a_brute_force_reference() {
    let cases: Vec<(Dataset, PatchSpec, Geo, f64, usize)> = vec![
        (
            gaussian_1d(4, 6, 31),
            PatchSpec::one_d(2, 1, 0, false),
            (1, 2, 1, 0, false),
            0.05,
            200_000,
        ),
        (
            gaussian_1d(3, 6, 32),
            PatchSpec::one_d(2, 2, 1, true),
            (1, 2, 2, 1, true),
            0.1,
            400_000,
        ),
        (
            gaussian_2d(3, 1, 3, 4, 33),
            PatchSpec::two_d(1, 3, 1, 0, false),
            (1, 3, 1, 0, false),
            0.02,
            400_000,
        ),
    ];
    for (ds, spec, geo, beta, draws) in cases {
        let y = ds.scalar_targets().unwrap();
        let (rows, k) = ref_patches(&ds, geo.0, geo.1, geo.2, geo.3, geo.4);
        let blocks = brute_force_max_blocks(&rows, k, ds.n(), draws);
        let reference = reference_group_lasso(&blocks, &y, beta);
        let o = run(
            &ds,
            &y,
            &config(spec, beta, Pooling::Max, PatternChoice::Exact),
        );
        eprintln!(
            "{spec:?}: {} argmax blocks, optimum {} (reference {reference}), {} filters",
            o.blocks,
            o.objective,
            o.network.width()
        );
        assert_eq!(o.network.pool, Pooling::Max);
        assert_eq!(
            o.blocks,
            blocks.len(),
            "{spec:?}: argmax patterns, library vs brute force"
        );
        assert!(
            rel(o.objective, reference) < 1e-6,
            "{spec:?}: cvxcnn {} vs reference {reference}",
            o.objective
        );
        assert!(o.certificate.relative_gap < 1e-6);
        // Max pooling is a different model: its optimum differs from sum pooling's.
        let sum = run(
            &ds,
            &y,
            &config(spec, beta, Pooling::Sum, PatternChoice::Exact),
        );
        assert!(rel(sum.objective, o.objective) > 1e-3);
    }
}

#[test]
fn max_pooling_over_one_position_is_sum_pooling() {
    let ds = gaussian_1d(5, 3, 41);
    let y = ds.scalar_targets().unwrap();
    let spec = PatchSpec::one_d(3, 1, 0, true);
    let max = run(
        &ds,
        &y,
        &config(spec, 0.1, Pooling::Max, PatternChoice::Exact),
    );
    let sum = run(
        &ds,
        &y,
        &config(spec, 0.1, Pooling::Sum, PatternChoice::Exact),
    );
    assert!(rel(max.objective, sum.objective) < 1e-6);
}

#[test]
fn max_pooling_nonconvex_runs_never_below_the_convex_optimum() {
    let ds = gaussian_1d(5, 6, 51);
    let spec = PatchSpec::one_d(2, 1, 0, false);
    let (beta, pool) = (0.05, Pooling::Max);
    let y = ds.scalar_targets().unwrap();
    let o = run(&ds, &y, &config(spec, beta, pool, PatternChoice::Exact));
    let (best, runs) = nonconvex_sweep(&ds, spec, pool, &y, 1, beta, o.objective, &[1, 3, 8], 20);
    eprintln!("max pooling: best/convex = {}", best / o.objective);
    assert!(runs >= 100, "only {runs} runs completed");
    assert!(
        best < 1.02 * o.objective,
        "best non-convex {best} vs convex {}",
        o.objective
    );
}
