//! Test helpers: seeded data, and an independent reference solver (own patch extraction,
//! brute-force patterns by LP feasibility, a dense formulation with one constraint per raw row).
#![allow(dead_code)]

use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettingsBuilder, DefaultSolver, IPSolver, NonnegativeConeT, SecondOrderConeT,
    SolverStatus, SupportedConeT,
};
use cvxcnn::data::{builtin_mnist, Dataset, SampleShape, Targets};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

pub fn rng(seed: u64) -> rand::rngs::ChaCha8Rng {
    rand::rngs::ChaCha8Rng::seed_from_u64(seed)
}

pub fn gaussian(n: usize, seed: u64) -> Vec<f64> {
    let mut r = rng(seed);
    (0..n).map(|_| StandardNormal.sample(&mut r)).collect()
}

/// `n` Gaussian 1-D signals of one channel and length `l`, Gaussian real targets.
pub fn gaussian_1d(n: usize, l: usize, seed: u64) -> Dataset {
    let shape = SampleShape {
        channels: 1,
        height: 1,
        width: l,
        one_d: true,
    };
    Dataset::new(
        gaussian(n * l, seed),
        shape,
        Targets::Real(gaussian(n, seed + 1000)),
        "test",
    )
    .unwrap()
}

/// `n` Gaussian images `c×hh×ww`, Gaussian real targets.
pub fn gaussian_2d(n: usize, c: usize, hh: usize, ww: usize, seed: u64) -> Dataset {
    let shape = SampleShape {
        channels: c,
        height: hh,
        width: ww,
        one_d: false,
    };
    Dataset::new(
        gaussian(n * c * hh * ww, seed),
        shape,
        Targets::Real(gaussian(n, seed + 1000)),
        "test",
    )
    .unwrap()
}

/// Real, degenerate data: `n` MNIST digits (classes 0 and 1 → −1/+1) cropped to the `size×size`
/// window at `(top, left)`: pixels are multiples of 1/255, with many zeros and repeats.
pub fn mnist_crop(n: usize, top: usize, left: usize, size: usize) -> (Dataset, Vec<f64>) {
    let ds = builtin_mnist().unwrap().binary(0, 1).unwrap().head(n);
    let mut x = Vec::new();
    for t in 0..ds.n() {
        let s = ds.sample(t);
        for i in 0..size {
            for j in 0..size {
                x.push(s[(top + i) * 28 + left + j]);
            }
        }
    }
    let y = ds.scalar_targets().unwrap();
    let shape = SampleShape {
        channels: 1,
        height: size,
        width: size,
        one_d: false,
    };
    (
        Dataset::new(x, shape, Targets::Real(y.clone()), "mnist crop").unwrap(),
        y,
    )
}

/// Patches written independently of the library: rows `k·n + t`, channel-major, bias last.
/// Geometry for [`ref_patches`]: kernel height, kernel width, stride, padding, bias.
pub type Geo = (usize, usize, usize, usize, bool);

pub fn ref_patches(
    ds: &Dataset,
    kh: usize,
    kw: usize,
    s: usize,
    p: usize,
    bias: bool,
) -> (Vec<Vec<f64>>, usize) {
    let sh = ds.shape;
    let (ph, pw) = if sh.one_d { (0, p) } else { (p, p) };
    let (sh_, sw_) = if sh.one_d { (1, s) } else { (s, s) };
    let oh = (sh.height + 2 * ph - kh) / sh_ + 1;
    let ow = (sh.width + 2 * pw - kw) / sw_ + 1;
    let mut rows = Vec::new();
    for oy in 0..oh {
        for ox in 0..ow {
            for t in 0..ds.n() {
                let x = ds.sample(t);
                let mut r = Vec::new();
                for c in 0..sh.channels {
                    for i in 0..kh {
                        for j in 0..kw {
                            let yy = (oy * sh_ + i) as i64 - ph as i64;
                            let xx = (ox * sw_ + j) as i64 - pw as i64;
                            let inside = yy >= 0
                                && xx >= 0
                                && (yy as usize) < sh.height
                                && (xx as usize) < sh.width;
                            r.push(if inside {
                                x[(c * sh.height + yy as usize) * sh.width + xx as usize]
                            } else {
                                0.0
                            });
                        }
                    }
                }
                if bias {
                    r.push(1.0);
                }
                rows.push(r);
            }
        }
    }
    (rows, oh * ow)
}

fn quiet(tol: f64) -> clarabel::solver::DefaultSettings<f64> {
    DefaultSettingsBuilder::default()
        .verbose(false)
        .tol_gap_abs(tol)
        .tol_gap_rel(tol)
        .tol_feas(tol)
        .build()
        .unwrap()
}

/// Whether `{u : (2d_r − 1) m_r u ≥ 1 for every non-zero row}` is non-empty (an open region of
/// the arrangement), and zero rows have `d_r = 1`.
pub fn region_feasible(rows: &[Vec<f64>], d: &[bool]) -> bool {
    let h = rows[0].len();
    let mut trip = (Vec::new(), Vec::new(), Vec::new());
    let mut m = 0;
    for (r, &dr) in rows.iter().zip(d) {
        if r.iter().all(|v| *v == 0.0) {
            if !dr {
                return false;
            }
            continue;
        }
        let s = if dr { 1.0 } else { -1.0 };
        for (e, v) in r.iter().enumerate() {
            if *v != 0.0 {
                trip.0.push(m);
                trip.1.push(e);
                trip.2.push(-s * v);
            }
        }
        m += 1;
    }
    if m == 0 {
        return true;
    }
    let a = CscMatrix::new_from_triplets(m, h, trip.0, trip.1, trip.2);
    let p = CscMatrix::zeros((h, h));
    let q = vec![0.0; h];
    let b = vec![-1.0; m];
    let cones = [NonnegativeConeT(m)];
    let mut s = DefaultSolver::new(&p, &q, &a, &b, &cones, quiet(1e-8)).unwrap();
    s.solve();
    match s.solution.status {
        SolverStatus::Solved | SolverStatus::AlmostSolved => true,
        SolverStatus::PrimalInfeasible | SolverStatus::AlmostPrimalInfeasible => false,
        other => panic!("LP status {other:?}"),
    }
}

/// All row patterns of open regions, by brute force over the `2^N` sign vectors (N ≤ 16).
pub fn brute_force_patterns(rows: &[Vec<f64>]) -> Vec<Vec<bool>> {
    let n = rows.len();
    assert!(n <= 16, "brute force is for tiny instances");
    let mut out = Vec::new();
    for mask in 0u32..(1 << n) {
        let d: Vec<bool> = (0..n).map(|i| (mask >> i) & 1 == 1).collect();
        if region_feasible(rows, &d) {
            out.push(d);
        }
    }
    out
}

/// The reference optimum of the two-layer program over the given row patterns: variables
/// `[c_1, c'_1, …]` and bounds `t`, objective `½xᵀ(BᵀB)x − yᵀBx + ½‖y‖² + βΣt` with dense
/// `B = [A_1, −A_1, …]`, one constraint per raw row and pattern (no deduplication).
pub fn reference_optimum(
    rows: &[Vec<f64>],
    k: usize,
    n: usize,
    pats: &[Vec<bool>],
    y: &[f64],
    beta: f64,
    scale: f64,
) -> f64 {
    let h = rows[0].len();
    let blocks: Vec<RefBlock> = pats
        .iter()
        .map(|d| {
            let mut a = vec![vec![0.0; h]; n];
            for kk in 0..k {
                for (t, at) in a.iter_mut().enumerate() {
                    let r = kk * n + t;
                    if d[r] {
                        for (ae, xe) in at.iter_mut().zip(&rows[r]) {
                            *ae += scale * xe;
                        }
                    }
                }
            }
            let cons = rows
                .iter()
                .enumerate()
                .map(|(r, row)| {
                    let s = if d[r] { 1.0 } else { -1.0 };
                    row.iter().map(|v| s * v).collect()
                })
                .collect();
            RefBlock { a, cons }
        })
        .collect();
    reference_group_lasso(&blocks, y, beta)
}

/// One block of a cone-constrained group lasso: `A` (`n` rows of `h`) and the rows `g` of its
/// cone `{c : gᵀc ≥ 0}`.
pub struct RefBlock {
    pub a: Vec<Vec<f64>>,
    pub cons: Vec<Vec<f64>>,
}

/// `min ½‖Σ_i A_i (c_i − c'_i) − y‖² + β Σ (‖c_i‖ + ‖c'_i‖)` over the blocks' cones, as a dense
/// Clarabel SOCP written independently of the library.
pub fn reference_group_lasso(blocks: &[RefBlock], y: &[f64], beta: f64) -> f64 {
    let n = y.len();
    let h = blocks[0].a[0].len();
    let nv = 2 * blocks.len();
    let nx = nv * h + nv;
    // B (n × nv·h), row-major.
    let cols = nv * h;
    let mut bmat = vec![0.0; n * cols];
    for (i, blk) in blocks.iter().enumerate() {
        for t in 0..n {
            for e in 0..h {
                let v = blk.a[t][e];
                bmat[t * cols + (2 * i) * h + e] += v;
                bmat[t * cols + (2 * i + 1) * h + e] -= v;
            }
        }
    }
    let (mut pi, mut pj, mut pv) = (Vec::new(), Vec::new(), Vec::new());
    for a in 0..cols {
        for b in a..cols {
            let v: f64 = (0..n)
                .map(|t| bmat[t * cols + a] * bmat[t * cols + b])
                .sum();
            if v != 0.0 {
                pi.push(a);
                pj.push(b);
                pv.push(v);
            }
        }
    }
    let p = CscMatrix::new_from_triplets(nx, nx, pi, pj, pv);
    let mut q = vec![0.0; nx];
    for a in 0..cols {
        q[a] = -(0..n).map(|t| y[t] * bmat[t * cols + a]).sum::<f64>();
    }
    for j in 0..nv {
        q[cols + j] = beta;
    }
    let (mut ai, mut aj, mut av) = (Vec::new(), Vec::new(), Vec::new());
    let mut b = Vec::new();
    let mut cones: Vec<SupportedConeT<f64>> = Vec::new();
    let mut m = 0;
    for j in 0..nv {
        ai.push(m);
        aj.push(cols + j);
        av.push(-1.0);
        for e in 0..h {
            ai.push(m + 1 + e);
            aj.push(j * h + e);
            av.push(-1.0);
        }
        b.extend(std::iter::repeat_n(0.0, h + 1));
        m += h + 1;
        cones.push(SecondOrderConeT(h + 1));
    }
    let start = m;
    for (i, blk) in blocks.iter().enumerate() {
        for var in [2 * i, 2 * i + 1] {
            for row in &blk.cons {
                for (e, &v) in row.iter().enumerate() {
                    if v != 0.0 {
                        ai.push(m);
                        aj.push(var * h + e);
                        av.push(-v);
                    }
                }
                b.push(0.0);
                m += 1;
            }
        }
    }
    if m > start {
        cones.push(NonnegativeConeT(m - start));
    }
    let a = CscMatrix::new_from_triplets(m, nx, ai, aj, av);
    let mut s = DefaultSolver::new(&p, &q, &a, &b, &cones, quiet(1e-10)).unwrap();
    s.solve();
    assert!(
        matches!(
            s.solution.status,
            SolverStatus::Solved | SolverStatus::AlmostSolved
        ),
        "reference solve: {:?}",
        s.solution.status
    );
    s.solution.obj_val + 0.5 * y.iter().map(|v| v * v).sum::<f64>()
}

pub fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-12)
}
