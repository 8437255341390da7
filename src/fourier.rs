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
