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
