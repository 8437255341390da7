//! Fourier transforms on `R^d` (rustfft), in the convention of MATH.md section 6: `F` is the
//! unnormalized forward DFT, `(Fz)_k = Σ_t z_t e^{−2πi kt/d}`, so that `F(a ⊛ b) = Fa ∘ Fb` and
//! `‖Fa‖² = d‖a‖²`; the inverse divides by `d`.

use rustfft::num_complex::Complex;
use rustfft::FftPlanner;

/// `Fz` (unnormalized forward DFT).
pub fn dft(z: &[f64]) -> Vec<Complex<f64>> {
    let mut buf: Vec<Complex<f64>> = z.iter().map(|&v| Complex::new(v, 0.0)).collect();
    if !buf.is_empty() {
        FftPlanner::<f64>::new()
            .plan_fft_forward(buf.len())
            .process(&mut buf);
    }
    buf
}

/// The real part of `F⁻¹ s` (`(1/d) Σ_k s_k e^{2πi kt/d}`).
pub fn idft_real(s: &[Complex<f64>]) -> Vec<f64> {
    let d = s.len();
    let mut buf = s.to_vec();
    if d > 0 {
        FftPlanner::<f64>::new()
            .plan_fft_inverse(d)
            .process(&mut buf);
    }
    buf.iter().map(|c| c.re / d as f64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::tests::gaussian;
    use std::f64::consts::PI;

    fn close(a: Complex<f64>, b: Complex<f64>, tol: f64) -> bool {
        (a - b).norm() <= tol
    }

    /// The DFT of the delta at `t₀` is `e^{−2πi k t₀/d}` (forward sign, no normalization).
    #[test]
    fn dft_of_a_delta() {
        let d = 6;
        for t0 in 0..d {
            let mut z = vec![0.0; d];
            z[t0] = 1.0;
            let s = dft(&z);
            for (k, sk) in s.iter().enumerate() {
                let th = -2.0 * PI * (k * t0) as f64 / d as f64;
                assert!(
                    close(*sk, Complex::new(th.cos(), th.sin()), 1e-14),
                    "t0 {t0}, k {k}"
                );
            }
        }
        assert!(dft(&[]).is_empty() && idft_real(&[]).is_empty());
    }

    /// Against the defining sum `Σ_t z_t e^{−2πi kt/d}` on random data, and Parseval
    /// `‖Fz‖² = d‖z‖²`.
    #[test]
    fn dft_matches_its_definition_and_parseval() {
        for d in [1, 2, 5, 8] {
            let z = gaussian(d, d as u64);
            let s = dft(&z);
            for (k, sk) in s.iter().enumerate() {
                let mut want = Complex::new(0.0, 0.0);
                for (t, zt) in z.iter().enumerate() {
                    let th = -2.0 * PI * ((k * t) % d) as f64 / d as f64;
                    want += Complex::new(th.cos(), th.sin()) * zt;
                }
                assert!(close(*sk, want, 1e-12));
            }
            let lhs: f64 = s.iter().map(|c| c.norm_sqr()).sum();
            let rhs: f64 = d as f64 * z.iter().map(|v| v * v).sum::<f64>();
            assert!((lhs - rhs).abs() < 1e-12 * rhs);
        }
    }

    /// `idft_real(dft(z)) = z`.
    #[test]
    fn inverse_undoes_the_forward_transform() {
        for d in [1, 3, 4, 7] {
            let z = gaussian(d, 10 + d as u64);
            let back = idft_real(&dft(&z));
            for (a, b) in back.iter().zip(&z) {
                assert!((a - b).abs() < 1e-13);
            }
        }
    }

    /// Circular convolution theorem `F(a ⊛ b) = Fa ∘ Fb`, with `(a ⊛ b)_t = Σ_s a_s b_{t−s mod d}`
    /// computed directly.
    #[test]
    fn circular_convolution_theorem() {
        let d = 7;
        let (a, b) = (gaussian(d, 20), gaussian(d, 21));
        let conv: Vec<f64> = (0..d)
            .map(|t| (0..d).map(|s| a[s] * b[(t + d - s) % d]).sum())
            .collect();
        let (fa, fb, fc) = (dft(&a), dft(&b), dft(&conv));
        for k in 0..d {
            assert!(close(fc[k], fa[k] * fb[k], 1e-12), "k = {k}");
        }
    }
}
