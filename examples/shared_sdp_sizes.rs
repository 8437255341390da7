//! The weight-decay SDP for shared-filter vector outputs (MATH-DEEP.md section 3) across filter
//! sizes: seeded Gaussian 1-D signals, one-hot targets of 3 classes, β = 0.1. For each case it
//! prints the regions, simplicial cones, the cones in the final active set, the certified
//! bracket's relative width and the wall time, as a Markdown table for BENCHMARKS.md.
//!
//! Run: `cargo run --release --features sdp --example shared_sdp_sizes [H N LENGTH]`

use cvxcnn::arch::shared::sdp::{solve_shared_sdp, SharedHead};
use cvxcnn::data::{Dataset, SampleShape, Targets};
use cvxcnn::patches::{PatchSpec, Patches};
use cvxcnn::solver::IpmSettings;
use rand::SeedableRng;
use rand_distr::Distribution;

fn main() -> cvxcnn::Result<()> {
    println!(
        "| h | n | length | regions | cones | active | SDP | network | relative gap | time (s) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let all = [
        (2, 20, 8),
        (2, 40, 8),
        (3, 10, 6),
        (3, 20, 6),
        (4, 6, 6),
        (5, 5, 7),
    ];
    // Optional "H N LENGTH": one case only.
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| {
            a.parse().map_err(|_| {
                cvxcnn::Error::param("H N LENGTH", format!("'{a}' is not a whole number"))
            })
        })
        .collect::<cvxcnn::Result<_>>()?;
    let cases = match args[..] {
        [h, n, len] => vec![(h, n, len)],
        [] => all.to_vec(),
        _ => {
            return Err(cvxcnn::Error::param(
                "H N LENGTH",
                "give all three, or none for the default cases",
            ))
        }
    };
    for (h, n, len) in cases {
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(h as u64 * 100 + n as u64);
        let x: Vec<f64> = (0..n * len)
            .map(|_| Distribution::<f64>::sample(&rand_distr::StandardNormal, &mut rng))
            .collect();
        let shape = SampleShape {
            channels: 1,
            height: 1,
            width: len,
            one_d: true,
        };
        let ds = Dataset::new(x, shape, Targets::Real(vec![0.0; n]), "gaussian")?;
        let p = Patches::extract(&ds.x, n, &ds.shape, &PatchSpec::one_d(h, 1, 0, false))?;
        let classes: Vec<usize> = (0..n).map(|t| t % 3).collect();
        let y = cvxcnn::loss::one_hot(&classes, 3);
        let t = std::time::Instant::now();
        let o = solve_shared_sdp(
            &p,
            &y,
            &SharedHead::Vector { outputs: 3 },
            0.1,
            &IpmSettings::default(),
        )?;
        let gap = (o.network_objective - o.lower_bound) / o.network_objective;
        println!(
            "| {h} | {n} | {len} | {} | {} | {} | {:.8} | {:.8} | {gap:.1e} | {:.2} |",
            o.regions,
            o.cones,
            o.active_cones,
            o.sdp_objective,
            o.network_objective,
            t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
