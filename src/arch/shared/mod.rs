//! The shared-filter network (a filter feeding a vector of output weights, MATH-DEEP.md
//! section 3): its forward pass and non-convex training ([`network`]), the simplicial cones of
//! the pattern regions ([`simplicial`]), completely positive factorization ([`cp_factor`]) and,
//! behind the cargo feature `sdp`, the weight-decay SDP ([`sdp`]).

pub mod cp_factor;
pub mod network;
#[cfg(feature = "sdp")]
pub mod sdp;
pub mod simplicial;

// The Architecture interface.

/// Local pooling windows with weight decay on the output weights: the SDP over simplicial cones,
/// exact for patch rank ≤ 4 (MATH-DEEP.md section 3; cargo feature `sdp`).
#[cfg(feature = "sdp")]
#[derive(Debug, Clone)]
pub struct SharedLocal {
    /// First-layer geometry.
    pub spec: crate::patches::PatchSpec,
    /// Window size (see [`crate::arch::local_pool::tile_windows`]).
    pub window: usize,
    /// Max (true) or average pooling inside a window.
    pub max: bool,
    /// `β`.
    pub beta: f64,
    /// Interior-point settings.
    pub ipm: IpmSettings,
}

#[cfg(feature = "sdp")]
struct SharedLocalModel {
    head: crate::arch::shared::sdp::SharedHead,
    spec: crate::patches::PatchSpec,
    filters: Vec<f64>,
    weights: Vec<f64>,
    beta: f64,
}

#[cfg(feature = "sdp")]
impl Model for SharedLocalModel {
    fn predict(&self, ds: &Dataset) -> Result<Vec<f64>> {
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &self.spec)?;
        let lw = match &self.head {
            crate::arch::shared::sdp::SharedHead::Local { windows, .. } => windows.len(),
            crate::arch::shared::sdp::SharedHead::Vector { outputs } => *outputs,
        };
        Ok(crate::arch::shared::sdp::predict(
            &p,
            &self.head,
            &self.filters,
            &self.weights,
            lw,
        ))
    }
    fn objective(&self, ds: &Dataset, y: &[f64]) -> Result<f64> {
        let f = self.predict(ds)?;
        let sq: f64 = self
            .filters
            .iter()
            .chain(&self.weights)
            .map(|v| v * v)
            .sum();
        Ok(sq_loss(&f, y) + 0.5 * self.beta * sq)
    }
    fn width(&self) -> usize {
        self.filters.len() / 2
    }
}

#[cfg(feature = "sdp")]
impl SharedLocal {
    fn head(&self, p: &Patches) -> Result<crate::arch::shared::sdp::SharedHead> {
        Ok(crate::arch::shared::sdp::SharedHead::Local {
            windows: tile_windows(p.out_dims, self.window)?,
            max: self.max,
        })
    }
}

#[cfg(feature = "sdp")]
impl Architecture for SharedLocal {
    fn name(&self) -> String {
        let w = self.window;
        format!(
            "two-layer, local {} pooling {w}×{w} windows, weight decay (SDP)",
            if self.max { "max" } else { "avg" }
        )
    }
    fn regularizer(&self) -> &'static str {
        "PSD matrices over simplicial cones (completely positive; exact for patch rank ≤ 4)"
    }
    fn fit(&self, ds: &Dataset, y: &[f64]) -> Result<(ConvexFit, Box<dyn Model>)> {
        let t = Instant::now();
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &self.spec)?;
        let head = self.head(&p)?;
        let o = crate::arch::shared::sdp::solve_shared_sdp(&p, y, &head, self.beta, &self.ipm)?;
        let fit = ConvexFit {
            objective: o.network_objective,
            network_objective: o.network_objective,
            lower_bound: o.lower_bound,
            exact: (o.network_objective - o.lower_bound) <= 1e-6 * o.network_objective,
            seconds: t.elapsed().as_secs_f64(),
        };
        let model = SharedLocalModel {
            head,
            spec: self.spec,
            filters: o.filters,
            weights: o.weights,
            beta: self.beta,
        };
        Ok((fit, Box::new(model)))
    }
    fn nonconvex(&self, ds: &Dataset, y: &[f64], s: &FullBatchSettings) -> Result<Box<dyn Model>> {
        let p = Patches::extract(&ds.x, ds.n(), &ds.shape, &self.spec)?;
        let head = self.head(&p)?;
        let (filters, weights) =
            crate::arch::shared::sdp::train_shared_adam(&p, y, &head, self.beta, s)?;
        Ok(Box::new(SharedLocalModel {
            head,
            spec: self.spec,
            filters,
            weights,
            beta: self.beta,
        }))
    }
}
