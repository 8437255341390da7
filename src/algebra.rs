//! Small vector numerics shared by the programs, solvers and certificates: block norms and
//! relative violations.

/// `Σ_b ‖x_b‖₂` over consecutive blocks of length `block`.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Block norms by hand: blocks `(3, 4)` and `(5, 12)` have norms 5 and 13; block length 0
    /// counts as 1 (the sum of absolute values).
    #[test]
    fn group_norm_sum_by_hand() {
        let x = [3.0, 4.0, 5.0, 12.0];
        assert_eq!(group_norm_sum(&x, 2), 18.0);
        assert_eq!(group_norm_sum(&x, 4), 194f64.sqrt());
        assert_eq!(group_norm_sum(&[-1.0, 2.0, -3.0], 0), 6.0);
        assert_eq!(group_norm_sum(&[], 3), 0.0);
    }

    /// Relative violation divides by the largest block norm (here 13), and is 0 at `x = 0`.
    #[test]
    fn relative_violation_by_hand() {
        let x = [3.0, 4.0, 5.0, 12.0];
        assert_eq!(relative_violation(2.6, &x, 2), 0.2);
        assert_eq!(relative_violation(1.0, &[0.0; 4], 2), 0.0);
    }

    /// `⟨(1, 2, 2), (2, −1, 3)⟩ = 6` and `‖(1, 2, 2)‖ = 3`.
    #[test]
    fn dot_and_norm_by_hand() {
        assert_eq!(dot(&[1.0, 2.0, 2.0], &[2.0, -1.0, 3.0]), 6.0);
        assert_eq!(norm(&[1.0, 2.0, 2.0]), 3.0);
    }
}
