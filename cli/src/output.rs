//! What a `train` run prints: one summary for every architecture, read from the report.

use cvxcnn::arch::traits::{CertificateScope, Report};
use std::path::Path;

fn num(r: &Report, key: &str) -> Option<f64> {
    r.details.get(key).and_then(|v| v.as_f64())
}

fn pct(a: Option<f64>) -> String {
    a.map_or("-".into(), |v| format!("{:.2}%", 100.0 * v))
}

/// Prints the summary of a fit written to `out` (`files`: the names written).
pub(crate) fn print_summary(r: &Report, out: &Path, files: &[String]) {
    if let Some(path) = r.details.get("path").and_then(|p| p.as_array()) {
        for row in path {
            let f = |k: &str| row[k].as_f64().unwrap_or(f64::NAN);
            println!(
                "β {:.4e}: objective {:.6e}  gap {:.2e}  filters {}  train {}  test {}",
                f("beta"),
                f("objective"),
                f("relative_gap"),
                row["filters"],
                pct(row["train_accuracy"].as_f64()),
                pct(row["test_accuracy"].as_f64())
            );
        }
    }
    println!("{}, n = {}, β = {}", r.name, r.n, r.beta);
    println!("regularizer     {}", r.regularizer);
    if let (Some(p), Some(b)) = (r.details.get("patterns"), r.details.get("blocks")) {
        let mode = r
            .details
            .get("pattern_mode")
            .and_then(|m| m.as_str())
            .unwrap_or("");
        println!("patterns        {p} ({mode}), {b} blocks");
    }
    if let Some(f) = r
        .details
        .get("trained_start")
        .and_then(|t| t.get("sampled_patterns"))
        .and_then(|f| f.as_u64())
        .filter(|f| *f > 0)
    {
        println!(
            "patterns        the Adam start collapsed: {f} Gaussian patterns joined its few (--normalize standardize usually avoids this)"
        );
    }
    let what = match (r.certificate, r.converged) {
        (CertificateScope::Bounds, _) => "upper bound attained by a network",
        (_, false) => "the solver's last point, not an optimum",
        (CertificateScope::Global, true) => "convex optimum",
        (CertificateScope::Restricted, true) => "optimum over the sampled patterns",
    };
    println!("objective       {:.10}  ({what})", r.objective);
    println!(
        "network         {:.10}  (recovered network, {} filters)",
        r.network_objective, r.filters
    );
    println!("lower bound     {:.10}  (certified)", r.lower_bound);
    match r.certificate {
        CertificateScope::Restricted => println!(
            "restricted gap  {:.3e}  (duality gap over the sampled patterns only)",
            r.relative_gap
        ),
        _ => println!(
            "duality gap     {:.3e}  (relative {:.3e}, certificate: {})",
            r.duality_gap,
            r.relative_gap,
            match r.certificate {
                CertificateScope::Global => "global",
                _ => "bounds",
            }
        ),
    }
    println!(
        "status          {}{}",
        r.status,
        if r.converged {
            ""
        } else {
            "  (NOT CONVERGED: the gap is above the tolerance)"
        }
    );
    if let Some(bmax) = num(r, "beta_max").filter(|b| r.beta >= *b) {
        println!(
            "zero network    β ≥ β_max = {bmax:.4e}: the zero network is optimal (lower β, or scale the inputs up: inputs scaled by s act as β/s)"
        );
    }
    if let Some(f) = r.details.get("fresh").filter(|f| !f.is_null()) {
        let g = f["gamma_over_beta"].as_f64().unwrap_or(f64::NAN);
        println!(
            "fresh patterns  {}: max γ/β = {g:.4} ({}); global optimum ≥ {:.6e} over both sets",
            f["patterns"],
            if g > 1.0 {
                "some would improve the objective: the global optimum is lower"
            } else {
                "none would improve the objective"
            },
            f["dual"].as_f64().unwrap_or(f64::NAN)
        );
    }
    if let Some(ct) = r.details.get("cone_test").and_then(|c| c.as_bool()) {
        println!(
            "cone test       {}",
            if ct {
                "passed: the lower bound is the optimum"
            } else {
                "failed: the optimum lies in [lower bound, network]"
            }
        );
    }
    if let Some(two) = num(r, "two_layer_objective") {
        println!(
            "two-layer       {two:.10}  (the second ReLU layer buys {:.2}%)",
            100.0 * (two - r.objective) / two
        );
    }
    if r.train_accuracy.is_some() || r.test_accuracy.is_some() {
        println!(
            "accuracy        train {}, test {}",
            pct(r.train_accuracy),
            pct(r.test_accuracy)
        );
    }
    println!("time            {:.3} s", r.seconds);
    println!("written         {}/ ({})", out.display(), files.join(", "));
}
