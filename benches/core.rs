//! Benchmarks of the core pipeline on the MATH.md example (n = 5, L = 7, kernel 3: 602 patterns).
//! Run: `cargo bench --bench core`.

use criterion::{criterion_group, criterion_main, Criterion};
use cvxcnn::arch::two_layer::train::{train, PatternChoice, Silent, TrainConfig};
use cvxcnn::certify::gamma;
use cvxcnn::data::{Dataset, SampleShape, Targets};
use cvxcnn::patches::{PatchSpec, Patches};
use cvxcnn::patterns::{enumerate_exact, Hyperplanes};
use cvxcnn::program::{Pooling, TwoLayerProgram};
use cvxcnn::solver::{solve_ipm, solve_ipm_priced, IpmSettings, PricingSettings};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

fn example() -> Dataset {
    let mut r = rand::rngs::ChaCha8Rng::seed_from_u64(11);
    let x: Vec<f64> = (0..35).map(|_| StandardNormal.sample(&mut r)).collect();
    let y: Vec<f64> = (0..5).map(|_| StandardNormal.sample(&mut r)).collect();
    let shape = SampleShape {
        channels: 1,
        height: 1,
        width: 7,
        one_d: true,
    };
    Dataset::new(x, shape, Targets::Real(y), "bench").expect("valid data")
}

fn bench(c: &mut Criterion) {
    let ds = example();
    let y = ds.scalar_targets().expect("real targets");
    let spec = PatchSpec::one_d(3, 1, 0, false);
    let p = Patches::extract(&ds.x, 5, &ds.shape, &spec).expect("patches");
    let hp = Hyperplanes::from_patches(&p);
    c.bench_function("enumerate_exact_602", |b| {
        b.iter(|| enumerate_exact(&p, &hp, 1 << 40, &mut |_, _| {}).expect("enumerate"))
    });
    let set = enumerate_exact(&p, &hp, 1 << 40, &mut |_, _| {}).expect("enumerate");
    let prog = TwoLayerProgram::new(&p, hp.clone(), &set, &y, 0.1, Pooling::Sum).expect("program");
    c.bench_function("ipm_solve_602", |b| {
        b.iter(|| solve_ipm(&prog, &IpmSettings::default()).expect("solve"))
    });
    let lean = prog.with_cell_facets(&set);
    c.bench_function("ipm_cells_602", |b| {
        b.iter(|| solve_ipm(&lean, &IpmSettings::default()).expect("solve"))
    });
    c.bench_function("ipm_priced_cells_602", |b| {
        b.iter(|| {
            solve_ipm_priced(&lean, &IpmSettings::default(), &PricingSettings::default())
                .expect("solve")
        })
    });
    c.bench_function("gamma_602", |b| b.iter(|| gamma(&prog, &y).expect("gamma")));
    let cfg = TrainConfig {
        spec,
        pool: Pooling::Sum,
        beta: 0.1,
        patterns: PatternChoice::Exact,
        ipm: IpmSettings::default(),
        max_exact_patterns: 1 << 40,
        prune: true,
        max_memory: cvxcnn::resources::default_limit(),
    };
    c.bench_function("train_end_to_end_602", |b| {
        b.iter(|| train(&ds, &y, &cfg, &mut Silent).expect("train"))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
