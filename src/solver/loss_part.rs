//! The smooth loss part `ℓ(A(C⁺ − C'))` of the exact program, with its gradient, shared by the
//! first-order solvers of the exact program.

use super::fista::SmoothPart;
use crate::program::multi::MultiProgram;

/// The loss part `ℓ(A(C⁺ − C'))` of an exact point.
pub(crate) struct LossPart<'a> {
    pub(crate) prog: &'a MultiProgram,
    z: Vec<f64>,
    f: Vec<f64>,
    v: Vec<f64>,
    ag: Vec<f64>,
}

impl<'a> LossPart<'a> {
    /// Buffers for `prog`.
    pub(crate) fn new(prog: &'a MultiProgram) -> Self {
        let m = prog.half() * prog.h();
        let nc = prog.n() * prog.outputs;
        LossPart {
            prog,
            z: vec![0.0; m],
            f: vec![0.0; nc],
            v: vec![0.0; nc],
            ag: vec![0.0; m],
        }
    }
}

impl SmoothPart for LossPart<'_> {
    fn eval(&mut self, x: &[f64], grad: Option<&mut [f64]>) -> f64 {
        let p = self.prog;
        p.difference(x, &mut self.z);
        p.op.forward(&self.z, &mut self.f);
        match grad {
            Some(g) => {
                let val = p.loss.value_grad(&self.f, &p.y, p.n(), Some(&mut self.v));
                p.op.adjoint(&self.v, &mut self.ag);
                let m = self.ag.len();
                g[..m].copy_from_slice(&self.ag);
                for (gi, a) in g[m..].iter_mut().zip(&self.ag) {
                    *gi = -a;
                }
                val
            }
            None => p.loss.value_grad(&self.f, &p.y, p.n(), None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::{one_hot, Loss};
    use crate::patterns::Hyperplanes;
    use crate::program::operator::PatternOperator;
    use crate::program::tests::{gaussian, patterns_of, random_patches};

    /// The gradient against central finite differences, for the squared and the cross-entropy
    /// loss; the `c'` half of the gradient is minus the `c` half.
    #[test]
    fn gradient_matches_finite_differences() {
        let (n, c) = (4, 3);
        let (p, _) = random_patches(n, 7, 3, 41);
        let hp = Hyperplanes::from_patches(&p);
        let filters: Vec<Vec<f64>> = (0..5).map(|s| gaussian(3, 4100 + s)).collect();
        let (set, _) = patterns_of(&hp, &filters);
        let op = PatternOperator::new(&p, &hp, &set, 0.5).unwrap();
        for loss in [Loss::Squared, Loss::CrossEntropy] {
            let y = one_hot(&[0, 2, 1, 2], c);
            let prog = MultiProgram::new(op.clone(), loss, y, c, 1.0).unwrap();
            let x = gaussian(prog.exact_len(), 42);
            let mut lp = LossPart::new(&prog);
            let mut g = vec![0.0; x.len()];
            let v0 = lp.eval(&x, Some(&mut g));
            assert!((v0 - lp.eval(&x, None)).abs() < 1e-12);
            let half = x.len() / 2;
            for (a, b) in g[..half].iter().zip(&g[half..]) {
                assert_eq!(*a, -*b);
            }
            let eps = 1e-6;
            for i in (0..x.len()).step_by(5) {
                let (mut xp, mut xm) = (x.clone(), x.clone());
                xp[i] += eps;
                xm[i] -= eps;
                let fd = (lp.eval(&xp, None) - lp.eval(&xm, None)) / (2.0 * eps);
                assert!(
                    (fd - g[i]).abs() < 1e-6 * (1.0 + g[i].abs()),
                    "{loss:?} {i}: {fd} vs {}",
                    g[i]
                );
            }
        }
    }
}
