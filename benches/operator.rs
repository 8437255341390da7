//! The products that dominate first-order iterations, against plain dense GEMM on this machine.
//! Throughput is reported in "elements" = floating-point operations, so criterion's `Kelem/s`
//! reads as kFLOP/s. Run: `cargo bench --bench operator`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use cvxcnn::data::builtin_mnist;
use cvxcnn::patches::{PatchSpec, Patches};
use cvxcnn::patterns::{sample_gaussian, Hyperplanes};
use cvxcnn::program::operator::{normals_adjoint_add, normals_times, PatternOperator};
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};
use rayon::prelude::*;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let ds = builtin_mnist().expect("embedded data").head(2400);
    let spec = PatchSpec::two_d(7, 7, 7, 0, true);
    let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &spec).expect("patches");
    let hp = Hyperplanes::from_patches(&p);
    let set = sample_gaussian(&hp, 50, 0);
    let op = PatternOperator::new(&p, &hp, &set, 1.0).expect("operator");
    let (n, h, pp, classes) = (op.n, op.h, op.patterns(), 10);
    let z = vec![0.5; pp * h * classes];
    let v = vec![0.25; n * classes];
    let mut out_f = vec![0.0; n * classes];
    let mut out_a = vec![0.0; pp * h * classes];
    let flops = (2 * n * pp * h * classes) as u64;
    let mut g = c.benchmark_group("operator");
    g.sample_size(20);
    g.throughput(Throughput::Elements(flops));
    g.bench_function(
        format!("forward A·Z n={n} Ph={} C={classes}", pp * h),
        |b| b.iter(|| op.forward(black_box(&z), &mut out_f)),
    );
    g.bench_function(
        format!("adjoint Aᵀ·V n={n} Ph={} C={classes}", pp * h),
        |b| b.iter(|| op.adjoint(black_box(&v), &mut out_a)),
    );
    // Constraint rows: N (G × h) times 200 block vectors, in row blocks of 512 (as in the AL).
    let gcount = op.hyperplanes();
    let na = 200;
    let xa = Mat::<f64>::from_fn(h, na, |i, j| ((i * 7 + j) % 13) as f64 - 6.0);
    let mut q = Mat::<f64>::zeros(512, na);
    let mut acc = Mat::<f64>::zeros(h, na);
    let rows = (gcount / 512) * 512;
    g.throughput(Throughput::Elements((2 * rows * h * na) as u64));
    g.bench_function(
        format!("constraints N·C G={rows} h={h} m={na} (1 thread)"),
        |b| {
            b.iter(|| {
                let mut g0 = 0;
                while g0 < rows {
                    normals_times(op.normals(), g0, xa.as_ref(), q.as_mut());
                    g0 += 512;
                }
            })
        },
    );
    g.bench_function(
        format!("constraints Nᵀ·W G={rows} h={h} m={na} (1 thread)"),
        |b| {
            b.iter(|| {
                let mut g0 = 0;
                while g0 < rows {
                    normals_adjoint_add(op.normals(), g0, q.as_ref(), acc.as_mut());
                    g0 += 512;
                }
            })
        },
    );
    // Reference: reading an array the size of A once (all threads), the bound of the products
    // with A at C = 10 right-hand columns (8 bytes of A per 2·C flops).
    let big = vec![1.0_f64; n * pp * h];
    g.throughput(Throughput::Bytes((8 * big.len()) as u64));
    g.bench_function(
        format!(
            "reference read bandwidth {} MB (all threads)",
            (8 * big.len()) >> 20
        ),
        |b| {
            b.iter(|| {
                black_box(&big)
                    .par_chunks(1 << 15)
                    .map(|c| c.iter().sum::<f64>())
                    .sum::<f64>()
            })
        },
    );
    // Reference: dense square GEMM at the machine's rate (1 thread and all threads).
    let m = 1024;
    let a = Mat::<f64>::from_fn(m, m, |i, j| ((i + 2 * j) % 7) as f64);
    let bm = Mat::<f64>::from_fn(m, m, |i, j| ((2 * i + j) % 5) as f64);
    let mut cm = Mat::<f64>::zeros(m, m);
    g.throughput(Throughput::Elements((2 * m * m * m) as u64));
    g.bench_function("reference GEMM 1024³ (1 thread)", |b| {
        b.iter(|| {
            matmul(
                cm.as_mut(),
                Accum::Replace,
                a.as_ref(),
                bm.as_ref(),
                1.0,
                Par::Seq,
            )
        })
    });
    g.bench_function("reference GEMM 1024³ (all threads)", |b| {
        b.iter(|| {
            matmul(
                cm.as_mut(),
                Accum::Replace,
                a.as_ref(),
                bm.as_ref(),
                1.0,
                Par::rayon(0),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
