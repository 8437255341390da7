//! Small vector numerics shared by the programs, solvers and certificates: block norms and
//! relative violations.

/// `β Σ_b ‖x_b‖₂` over consecutive blocks of length `block`.
pub fn group_norm_sum(x: &[f64], block: usize) -> f64 {
    x.chunks(block.max(1))
        .map(|b| b.iter().map(|v| v * v).sum::<f64>().sqrt())
        .sum()
}

/// An absolute violation relative to the largest block norm (0 for `x = 0`).
pub fn relative_violation(abs: f64, x: &[f64], h: usize) -> f64 {
    let big = x
        .chunks(h.max(1))
        .map(|b| b.iter().map(|v| v * v).sum::<f64>().sqrt())
        .fold(0.0, f64::max);
    if big > 0.0 {
        abs / big
    } else {
        0.0
    }
}

/// `aᵀb`.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `‖a‖₂`.
pub fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}
