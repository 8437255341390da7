//! One non-convex training step (gather, forward GEMM, pooling, loss, backward GEMM, Adam) on
//! the shape of the reference measurement in DEPENDENCIES.md: batch 128 of 3×32×32 images, 3×3
//! kernel with a bias, 30 filters (10 outputs × 3), squared loss. The same step in PyTorch is
//! timed by `bench/torch_step.py`. Run: `cargo bench --bench nonconvex`.

use criterion::{criterion_group, criterion_main, Criterion};
use cvxcnn::data::SampleShape;
use cvxcnn::loss::{one_hot, Loss};
use cvxcnn::nonconvex::{initial_params, NonconvexSettings, Optimizer, OptimizerKind, Workspace};
use cvxcnn::patches::{PatchSpec, Patches};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

fn bench(c: &mut Criterion) {
    let n = 128;
    let shape = SampleShape {
        channels: 3,
        height: 32,
        width: 32,
        one_d: false,
    };
    let mut r = rand::rngs::ChaCha8Rng::seed_from_u64(1);
    let x: Vec<f64> = (0..n * shape.len())
        .map(|_| StandardNormal.sample(&mut r))
        .collect();
    let spec = PatchSpec::two_d(3, 3, 1, 1, true);
    let p = Patches::extract(&x, n, &shape, &spec).expect("patches");
    let labels: Vec<usize> = (0..n).map(|t| t % 10).collect();
    let y = one_hot(&labels, 10);
    let s = NonconvexSettings {
        width: 3,
        ..NonconvexSettings::default()
    };
    let mut params = initial_params(p.h, 10, &s);
    let mut ws = Workspace::new(n, &p, params.filters(), 10);
    let mut gu = vec![0.0; params.u.len()];
    let mut gw = vec![0.0; params.w.len()];
    let mut ou = Optimizer::new(OptimizerKind::Adam, 1e-3, 0.9, params.u.len());
    let mut ow = Optimizer::new(OptimizerKind::Adam, 1e-3, 0.9, params.w.len());
    let idx: Vec<usize> = (0..n).collect();
    let scale = cvxcnn::nonconvex::PoolOp::Scaled(1.0 / p.k as f64);
    c.bench_function("nonconvex_step_b128_3x32x32_k3_m30", |b| {
        b.iter(|| {
            let v = ws.loss_grad(
                &p,
                &y,
                Loss::Squared,
                &params,
                scale,
                1e-4,
                &idx,
                &mut gu,
                &mut gw,
            );
            ou.step(&mut params.u, &gu);
            ow.step(&mut params.w, &gw);
            v
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
