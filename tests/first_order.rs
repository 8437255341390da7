//! First-order solvers and the fast operator against independent computations: the
//! interior-point optimum, the gated bound, the adjoint identity, monotone FISTA, vanishing
//! violation, and the recovered-network identity for multi-output classifiers.

mod common;

use common::*;
use cvxcnn::arch::two_layer::classifier::{train_classifier, ClassifierConfig, FirstOrder};
use cvxcnn::arch::two_layer::train::{train, PatternChoice, Silent, TrainConfig};
use cvxcnn::data::{builtin_mnist, Dataset};
use cvxcnn::loss::Loss;
use cvxcnn::patches::{PatchSpec, Patches};
use cvxcnn::patterns::{enumerate_exact, sample_gaussian, Hyperplanes, PatternSet};
use cvxcnn::program::multi::MultiProgram;
use cvxcnn::program::operator::PatternOperator;
use cvxcnn::program::Pooling;
use cvxcnn::solver::{
    solve_admm, solve_auglag, solve_gated, solve_projected, AdmmSettings, AlSettings, Fista,
    FistaSettings, History, IpmSettings, IterLimits, ProjectedSettings, SmoothPart,
};

fn exact_setup(ds: &Dataset, spec: PatchSpec) -> (Patches, Hyperplanes, PatternSet) {
    let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &spec).unwrap();
    let hp = Hyperplanes::from_patches(&p);
    let set = enumerate_exact(&p, &hp, 1 << 40, &mut |_, _| {}).unwrap();
    (p, hp, set)
}

fn tight_al() -> AlSettings {
    AlSettings {
        limits: IterLimits {
            max_iter: 300,
            time_limit: None,
            tol: 1e-7,
        },
        violation_tol: 1e-9,
        inner_iter: 500,
        ..AlSettings::default()
    }
}

#[test]
fn adjoint_identity_and_constraint_rows() {
    let ds = gaussian_2d(7, 2, 5, 5, 3);
    let spec = PatchSpec::two_d(3, 3, 1, 1, true);
    let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &spec).unwrap();
    let hp = Hyperplanes::from_patches(&p);
    let set = sample_gaussian(&hp, 30, 1);
    let op = PatternOperator::new(&p, &hp, &set, 1.0).unwrap();
    let (n, h, pp, c) = (op.n, op.h, op.patterns(), 3);
    let z = gaussian(pp * h * c, 10);
    let r = gaussian(n * c, 11);
    let mut az = vec![0.0; n * c];
    op.forward(&z, &mut az);
    let mut atr = vec![0.0; pp * h * c];
    op.adjoint(&r, &mut atr);
    let lhs: f64 = az.iter().zip(&r).map(|(a, b)| a * b).sum();
    let rhs: f64 = z.iter().zip(&atr).map(|(a, b)| a * b).sum();
    assert!(rel(lhs, rhs) < 1e-12, "{lhs} vs {rhs}");
    // The column-chunked parallel adjoint equals the single sequential product.
    assert!(
        pp * h >= 64,
        "the test must exercise several adjoint chunks"
    );
    // Two worker threads whatever the machine, so the chunked path runs and can fail.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let mut atr_par = vec![0.0; pp * h * c];
    pool.install(|| op.adjoint(&r, &mut atr_par));
    let mut seq = op.clone();
    seq.par = faer::Par::Seq;
    let mut atr_seq = vec![0.0; pp * h * c];
    seq.adjoint(&r, &mut atr_seq);
    assert_eq!(atr, atr_par);
    for (a, b) in atr_par.iter().zip(&atr_seq) {
        assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "{a} vs {b}");
    }
    // A_i against a direct sum over patch rows with the row pattern.
    for i in [0, pp / 2, pp - 1] {
        let d = hp.row_pattern(op.bits(i));
        for t in 0..n {
            for j in 0..h {
                let mut s = 0.0;
                for k in 0..p.k {
                    if d[k * n + t] {
                        s += p.row(k * n + t)[j];
                    }
                }
                assert!((op.a()[(t, i * h + j)] - s).abs() < 1e-12);
            }
        }
        // The factored constraint s_g n_gᵀc equals the raw one (2d_r − 1) x_rᵀc of MATH.md,
        // divided by ‖x_r‖, on every non-zero row r of M.
        let s = op.signs(i);
        let c = gaussian(h, 40 + i as u64);
        for (r, &on) in d.iter().enumerate() {
            let Some((g, _)) = hp.row_group[r] else {
                continue;
            };
            let x = p.row(r);
            let raw = if on { 1.0 } else { -1.0 }
                * x.iter().zip(&c).map(|(a, b)| a * b).sum::<f64>()
                / x.iter().map(|a| a * a).sum::<f64>().sqrt();
            let g = g as usize;
            let fact = s.get(g) * (0..h).map(|j| op.normals()[(g, j)] * c[j]).sum::<f64>();
            assert!((raw - fact).abs() < 1e-12, "row {r}: {raw} vs {fact}");
        }
    }
}

#[test]
fn solvers_agree_with_the_interior_point_optimum() {
    for (seed, beta) in [(1u64, 0.3), (2, 1.0)] {
        let ds = gaussian_1d(8, 6, seed);
        let y = ds.scalar_targets().unwrap();
        let spec = PatchSpec::one_d(3, 1, 0, false);
        let cfg = TrainConfig {
            spec,
            pool: Pooling::Sum,
            beta,
            patterns: PatternChoice::Exact,
            ipm: IpmSettings::default(),
            max_exact_patterns: 1 << 40,
            prune: false,
            max_memory: cvxcnn::resources::default_limit(),
        };
        let ipm = train(&ds, &y, &cfg, &mut Silent).unwrap();
        let (p, hp, set) = exact_setup(&ds, spec);
        let op = PatternOperator::new(&p, &hp, &set, 1.0).unwrap();
        let prog = MultiProgram::new(op, Loss::Squared, y.clone(), 1, beta).unwrap();

        let mut hist = History::default();
        let al = solve_auglag(&prog, &tight_al(), None, &mut hist);
        let mut x = al.x.clone();
        assert_eq!(
            cvxcnn::arch::two_layer::classifier::project_onto_cones(&prog, &mut x, None),
            (0, 0)
        );
        let feasible = prog.objective(&x, true);
        assert!(
            rel(feasible, ipm.objective) < 1e-5,
            "seed {seed}: AL {feasible} vs IPM {}",
            ipm.objective
        );
        // A feasible point is never below the optimum.
        assert!(feasible >= ipm.objective * (1.0 - 1e-7));
        // The violation goes to zero.
        let v: Vec<f64> = hist.records.iter().map(|r| r.violation).collect();
        // The floor is rounding: multiplier steps of δ·1e-8·‖x‖ no longer change the inner problem.
        assert!(v.last().copied().unwrap_or(1.0) <= 1e-7, "violations {v:?}");
        assert!(v[0] >= *v.last().unwrap());

        // Projected FISTA (cone projections in the prox) reaches the same optimum, and its
        // multipliers certify it.
        let mut ph = History::default();
        let proj = solve_projected(
            &prog,
            &ProjectedSettings {
                limits: IterLimits {
                    max_iter: 2000,
                    time_limit: None,
                    tol: 1e-7,
                },
                violation_tol: 1e-9,
                steps_per_scan: 200,
                ..ProjectedSettings::default()
            },
            None,
            &mut ph,
        );
        assert!(
            proj.violation <= 1e-8,
            "projected violation {}",
            proj.violation
        );
        // The multiplier bound (μ = Lλ from the last proximal step) certifies it to 1e-5.
        assert!(proj.gap <= 1e-5, "projected gap {}", proj.gap);
        let mut xp = proj.x.clone();
        assert_eq!(
            cvxcnn::arch::two_layer::classifier::project_onto_cones(&prog, &mut xp, None),
            (0, 0)
        );
        let pobj = prog.objective(&xp, true);
        assert!(
            rel(pobj, ipm.objective) < 1e-6,
            "seed {seed}: projected {pobj} vs IPM {}",
            ipm.objective
        );
        assert!(pobj >= ipm.objective * (1.0 - 1e-7));

        // ADMM (the loss by one factored system, cones in the prox) approaches the same
        // optimum from above: its projected point is feasible, never below the interior-point
        // optimum, and within 1e-3 of it after 3,000 steps.
        let admm = solve_admm(
            &prog,
            &AdmmSettings {
                limits: IterLimits {
                    max_iter: 300,
                    time_limit: None,
                    tol: 1e-7,
                },
                violation_tol: 1e-9,
                ..AdmmSettings::default()
            },
            None,
            &mut History::default(),
        )
        .unwrap();
        let mut xa = admm.x.clone();
        assert_eq!(
            cvxcnn::arch::two_layer::classifier::project_onto_cones(&prog, &mut xa, None),
            (0, 0)
        );
        let aobj = prog.objective(&xa, true);
        eprintln!(
            "seed {seed}: ADMM {aobj} vs IPM {} (gap {}, status {:?})",
            ipm.objective, admm.gap, admm.status
        );
        assert!(
            rel(aobj, ipm.objective) < 1e-3,
            "seed {seed}: ADMM {aobj} vs IPM {}",
            ipm.objective
        );
        assert!(aobj >= ipm.objective * (1.0 - 1e-7));

        let gated = solve_gated(
            &prog,
            &IterLimits {
                max_iter: 200_000,
                time_limit: None,
                tol: 1e-9,
            },
            None,
            &mut History::default(),
        );
        // Gated relaxation ≤ exact program (MATH.md 3.3), and its own gap closes.
        assert!(gated.dual <= ipm.objective * (1.0 + 1e-9));
        assert!(gated.objective <= ipm.objective * (1.0 + 1e-6));
        assert!(gated.gap <= 1e-6, "gated gap {}", gated.gap);
    }
}

struct Quadratic {
    a: Vec<f64>,
    b: Vec<f64>,
}

impl SmoothPart for Quadratic {
    fn eval(&mut self, x: &[f64], grad: Option<&mut [f64]>) -> f64 {
        // ½‖Ax − b‖² with a dense 12×8 A (row-major).
        let m = self.b.len();
        let n = x.len();
        let r: Vec<f64> = (0..m)
            .map(|i| (0..n).map(|j| self.a[i * n + j] * x[j]).sum::<f64>() - self.b[i])
            .collect();
        if let Some(g) = grad {
            for (j, gj) in g.iter_mut().enumerate() {
                *gj = r
                    .iter()
                    .enumerate()
                    .map(|(i, ri)| self.a[i * n + j] * ri)
                    .sum();
            }
        }
        0.5 * r.iter().map(|v| v * v).sum::<f64>()
    }
}

#[test]
fn fista_objective_never_increases() {
    let mut f = Quadratic {
        a: gaussian(12 * 8, 5),
        b: gaussian(12, 6),
    };
    let mut x = vec![0.0; 8];
    let mut fista = Fista::new(8, 1e-3);
    let mut objs = Vec::new();
    let info = fista.run(
        &mut f,
        2,
        0.5,
        &mut x,
        &FistaSettings {
            max_iter: 3000,
            tol: 1e-12,
        },
        &mut |_, obj, _| {
            objs.push(obj);
            true
        },
    );
    assert!(objs.len() > 5);
    for w in objs.windows(2) {
        assert!(w[1] <= w[0] + 1e-14 * w[0].abs(), "{} > {}", w[1], w[0]);
    }
    // Optimality of the group lasso: ‖∇_b f‖ ≤ β on zero blocks, = β on non-zero blocks.
    let mut g = vec![0.0; 8];
    f.eval(&x, Some(&mut g));
    for b in 0..4 {
        let gn = (g[2 * b].powi(2) + g[2 * b + 1].powi(2)).sqrt();
        let xn = (x[2 * b].powi(2) + x[2 * b + 1].powi(2)).sqrt();
        if xn > 1e-9 {
            assert!((gn - 0.5).abs() < 1e-5, "block {b}: {gn}");
        } else {
            assert!(gn <= 0.5 + 1e-5);
        }
    }
    let _ = info;
}

fn mnist_three_classes(n: usize) -> (Dataset, Vec<usize>) {
    let ds = builtin_mnist().unwrap();
    let ci = ds.class_index().unwrap();
    let idx: Vec<usize> = (0..ds.n()).filter(|&t| ci.index[t] < 3).take(n).collect();
    let sub = ds.select(&idx);
    let labels = idx.iter().map(|&t| ci.index[t]).collect();
    (sub, labels)
}

#[test]
fn classifier_recovers_a_network_with_the_convex_objective() {
    let (ds, labels) = mnist_three_classes(60);
    for loss in [Loss::Squared, Loss::CrossEntropy] {
        let cfg = ClassifierConfig {
            spec: PatchSpec::two_d(14, 14, 14, 0, false),
            pool: Pooling::Avg,
            loss,
            beta: 0.05,
            draws: 8,
            from_data: false,
            seed: 4,
            solver: FirstOrder::AugmentedLagrangian,
            al: AlSettings {
                limits: IterLimits {
                    max_iter: 60,
                    time_limit: None,
                    tol: 1e-5,
                },
                violation_tol: 1e-7,
                inner_iter: 1000,
                ..AlSettings::default()
            },
            fresh_draws: 20,
            certificate_budget: 60.0,
            polish_rounds: 0,
            pattern_rounds: 0,
            deadline: None,
        };
        let o = train_classifier(&ds, &labels, 3, &cfg, &mut History::default()).unwrap();
        if loss == Loss::Squared {
            // With the squared loss and per-class filters the program separates by class: the
            // optimum is the sum of three scalar programs, solved here by the interior point.
            let ipm: f64 = (0..3)
                .map(|c| {
                    let y: Vec<f64> = labels
                        .iter()
                        .map(|&l| f64::from(u8::from(l == c)))
                        .collect();
                    let tc = TrainConfig {
                        spec: cfg.spec,
                        pool: cfg.pool,
                        beta: cfg.beta,
                        patterns: PatternChoice::Sample {
                            draws: cfg.draws,
                            seed: cfg.seed,
                        },
                        ipm: IpmSettings::default(),
                        max_exact_patterns: 1 << 40,
                        prune: false,
                        max_memory: cvxcnn::resources::default_limit(),
                    };
                    train(&ds, &y, &tc, &mut Silent).unwrap().objective
                })
                .sum();
            assert!(
                o.objective >= ipm * (1.0 - 1e-7),
                "{} < IPM {ipm}",
                o.objective
            );
            assert!(
                rel(o.objective, ipm) < 1e-4,
                "AL {} vs IPM {ipm}",
                o.objective
            );
        }
        assert_eq!(o.dropped_blocks, 0);
        let net_obj = o.network_objective.unwrap();
        assert!(
            rel(net_obj, o.objective) < 1e-8,
            "{loss:?}: network {net_obj} vs convex {}",
            o.objective
        );
        // The certificate is a valid bound: never above the primal.
        assert!(o.certificate.dual <= o.objective * (1.0 + 1e-9));
        assert!(
            o.certificate.relative_gap < 0.1,
            "{loss:?}: {:?}",
            o.certificate
        );
        assert_eq!(o.network.as_ref().unwrap().outputs, 3);
        // The gated relaxation on the same patterns is a lower bound.
        let gcfg = ClassifierConfig {
            solver: FirstOrder::Gated,
            ..cfg
        };
        let g = train_classifier(&ds, &labels, 3, &gcfg, &mut History::default()).unwrap();
        assert!(g.certificate.dual <= o.objective * (1.0 + 1e-9));
    }
}

#[test]
fn patterns_from_data_patches_are_seeded() {
    let (ds, _) = mnist_three_classes(40);
    let spec = PatchSpec::two_d(7, 7, 7, 0, true);
    let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &spec).unwrap();
    let hp = Hyperplanes::from_patches(&p);
    let a = cvxcnn::patterns::sample_from_patches(&p, &hp, true, 30, 9);
    let b = cvxcnn::patterns::sample_from_patches(&p, &hp, true, 30, 9);
    let c = cvxcnn::patterns::sample_from_patches(&p, &hp, true, 30, 10);
    assert!(a.len() > 1 && a.len() <= 30);
    let same = (0..a.len()).all(|i| a.pattern(i) == b.pattern(i));
    assert!(same && a.len() == b.len(), "same seed, same patterns");
    assert!(
        (0..c.len()).any(|i| !a.contains(c.pattern(i))),
        "another seed gives other patterns"
    );
    // A template filter fires on few patches: its pattern switches off most non-zero rows.
    for i in 0..a.len() {
        let d = hp.row_pattern(a.pattern(i));
        let on = (0..p.rows())
            .filter(|&r| hp.row_group[r].is_some() && d[r])
            .count();
        let nonzero = hp.row_group.iter().filter(|g| g.is_some()).count();
        assert!(on < nonzero, "pattern {i} is on everywhere");
    }
}
