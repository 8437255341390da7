//! Patch extraction ("im2col"): the matrices `X_k` of MATH.md section 1.
//!
//! Layout inside a patch is channel-major, as PyTorch's `unfold` and the flattened weight of
//! `Conv1d`/`Conv2d`: entry `ch·(kh·kw) + i·kw + j` holds input `(ch, y0 + i, x0 + j)`, where
//! `(y0, x0)` is the top-left corner of the receptive field (negative inside the zero padding).
//! With a bias the constant `1` is appended as the last entry (`h = c·kh·kw + 1`), also at
//! positions that overlap the padding, as a convolution's bias is added everywhere.
//! Positions are numbered row-major, `k = oy·out_w + ox`.

use crate::data::SampleShape;
use crate::error::{Error, Result};

/// Kernel, stride, padding and bias of the first (convolutional) layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PatchSpec {
    /// Kernel height (1 for 1-D signals).
    pub kernel_h: usize,
    /// Kernel width (the kernel length for 1-D signals).
    pub kernel_w: usize,
    /// Vertical stride (ignored for 1-D signals).
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Zero padding on the top and bottom (0 for 1-D signals).
    pub pad_h: usize,
    /// Zero padding on the left and right.
    pub pad_w: usize,
    /// Whether the filters carry a bias (a constant-1 entry appended to every patch).
    pub bias: bool,
}

impl PatchSpec {
    /// A spec for 1-D signals: kernel `f`, stride `s`, padding `p`.
    pub fn one_d(f: usize, s: usize, p: usize, bias: bool) -> Self {
        PatchSpec {
            kernel_h: 1,
            kernel_w: f,
            stride_h: 1,
            stride_w: s,
            pad_h: 0,
            pad_w: p,
            bias,
        }
    }

    /// A spec for images: kernel `kh×kw`, the same stride and padding on both axes.
    pub fn two_d(kh: usize, kw: usize, s: usize, p: usize, bias: bool) -> Self {
        PatchSpec {
            kernel_h: kh,
            kernel_w: kw,
            stride_h: s,
            stride_w: s,
            pad_h: p,
            pad_w: p,
            bias,
        }
    }

    /// Filter size `h` for samples of `shape`.
    pub fn filter_len(&self, shape: &SampleShape) -> usize {
        shape.channels * self.kernel_h * self.kernel_w + usize::from(self.bias)
    }

    /// Output positions per axis `(out_h, out_w)`, `⌊(d + 2p − f)/s⌋ + 1`, after validating the
    /// spec against `shape`.
    pub fn output_dims(&self, shape: &SampleShape) -> Result<(usize, usize)> {
        if self.kernel_h == 0 || self.kernel_w == 0 {
            return Err(Error::param("kernel", "the kernel must be at least 1"));
        }
        if self.stride_h == 0 || self.stride_w == 0 {
            return Err(Error::param("stride", "the stride must be at least 1"));
        }
        if shape.one_d && (self.kernel_h != 1 || self.pad_h != 0) {
            return Err(Error::param(
                "kernel",
                format!(
                    "the data are 1-D signals (c={}, L={}) but the kernel is {}x{}",
                    shape.channels, shape.width, self.kernel_h, self.kernel_w
                ),
            ));
        }
        let axis = |d: usize, f: usize, s: usize, p: usize, what: &str| -> Result<usize> {
            if f > d + 2 * p {
                return Err(Error::param(
                    "kernel",
                    format!("kernel {f} is larger than the {what} {d} plus padding 2×{p}"),
                ));
            }
            if p >= f {
                return Err(Error::param(
                    "padding",
                    format!("padding {p} must be smaller than the kernel {f}"),
                ));
            }
            Ok((d + 2 * p - f) / s + 1)
        };
        let what_w = if shape.one_d {
            "signal length"
        } else {
            "image width"
        };
        let oh = axis(
            shape.height,
            self.kernel_h,
            self.stride_h,
            self.pad_h,
            "image height",
        )?;
        let ow = axis(
            shape.width,
            self.kernel_w,
            self.stride_w,
            self.pad_w,
            what_w,
        )?;
        Ok((oh, ow))
    }
}

/// The stacked patch matrix `M = [X_1; …; X_K]` (`nK × h`, row `k·n + t` is patch `k` of sample
/// `t`), stored row-major.
#[derive(Debug, Clone)]
pub struct Patches {
    /// Number of samples `n`.
    pub n: usize,
    /// Number of positions `K`.
    pub k: usize,
    /// Filter size `h`.
    pub h: usize,
    /// Output positions per axis.
    pub out_dims: (usize, usize),
    /// Row-major `nK × h` values.
    pub data: Vec<f64>,
}

impl Patches {
    /// Extracts the patches of every sample of `x` (`n` samples of `shape`, channel-major).
    pub fn extract(x: &[f64], n: usize, shape: &SampleShape, spec: &PatchSpec) -> Result<Self> {
        let (oh, ow) = spec.output_dims(shape)?;
        let k_count = oh * ow;
        let h = spec.filter_len(shape);
        let (c, hh, ww) = (shape.channels, shape.height, shape.width);
        let plen = shape.len();
        let mut data = vec![0.0; n * k_count * h];
        for oy in 0..oh {
            for ox in 0..ow {
                let k = oy * ow + ox;
                let y0 = (oy * spec.stride_h) as isize - spec.pad_h as isize;
                let x0 = (ox * spec.stride_w) as isize - spec.pad_w as isize;
                for t in 0..n {
                    let row = &mut data[(k * n + t) * h..(k * n + t + 1) * h];
                    let sample = &x[t * plen..(t + 1) * plen];
                    for ch in 0..c {
                        for i in 0..spec.kernel_h {
                            let yy = y0 + i as isize;
                            if yy < 0 || yy >= hh as isize {
                                continue;
                            }
                            for j in 0..spec.kernel_w {
                                let xx = x0 + j as isize;
                                if xx < 0 || xx >= ww as isize {
                                    continue;
                                }
                                row[ch * spec.kernel_h * spec.kernel_w + i * spec.kernel_w + j] =
                                    sample[ch * hh * ww + yy as usize * ww + xx as usize];
                            }
                        }
                    }
                    if spec.bias {
                        row[h - 1] = 1.0;
                    }
                }
            }
        }
        Ok(Patches {
            n,
            k: k_count,
            h,
            out_dims: (oh, ow),
            data,
        })
    }

    /// Number of rows `nK` of the stacked matrix.
    pub fn rows(&self) -> usize {
        self.n * self.k
    }

    /// Row `r = k·n + t` of the stacked matrix (patch `k` of sample `t`).
    pub fn row(&self, r: usize) -> &[f64] {
        &self.data[r * self.h..(r + 1) * self.h]
    }
}

/// The sample shape and first-layer spec of a saved model, from its metadata (`input_shape`
/// `[c, L]` or `[c, H, W]`; `kernel`, `stride`, `padding` as one size or `[h, w]`; `bias`),
/// checked against each other.
pub fn read_geometry(
    t: &crate::tensors::ModelTensors,
    file: &std::path::Path,
) -> Result<(SampleShape, PatchSpec)> {
    let ishape = t.sizes("input_shape", file)?;
    let (kernel, stride, padding) = (
        t.sizes("kernel", file)?,
        t.sizes("stride", file)?,
        t.sizes("padding", file)?,
    );
    let bias = t.metadata.get("bias").is_some_and(|b| b == "true");
    let pair = |v: &[usize], one_d: bool| -> Option<(usize, usize)> {
        match (v, one_d) {
            ([a], true) => Some((1, *a)),
            ([a, b], true) if *a <= 1 => Some((*a, *b)),
            ([a, b], false) => Some((*a, *b)),
            _ => None,
        }
    };
    let (shape, one_d) = match ishape.as_slice() {
        [c, l] => (
            SampleShape {
                channels: *c,
                height: 1,
                width: *l,
                one_d: true,
            },
            true,
        ),
        [c, h, w] => (
            SampleShape {
                channels: *c,
                height: *h,
                width: *w,
                one_d: false,
            },
            false,
        ),
        _ => {
            return Err(Error::format(
                file,
                format!("metadata field 'input_shape': {ishape:?} is neither [c, L] nor [c, H, W]"),
            ))
        }
    };
    let bad = |k: &str, v: &[usize]| {
        Error::format(
            file,
            format!("metadata field '{k}': {v:?} does not fit input_shape {ishape:?}"),
        )
    };
    let (kh, kw) = pair(&kernel, one_d).ok_or_else(|| bad("kernel", &kernel))?;
    let (sh, sw) = pair(&stride, one_d).ok_or_else(|| bad("stride", &stride))?;
    let (ph, pw) = pair(&padding, one_d).ok_or_else(|| bad("padding", &padding))?;
    let spec = PatchSpec {
        kernel_h: kh.max(1),
        kernel_w: kw,
        stride_h: sh.max(1),
        stride_w: sw,
        pad_h: if one_d { 0 } else { ph },
        pad_w: pw,
        bias,
    };
    spec.output_dims(&shape)
        .map_err(|e| Error::format(file, format!("metadata: {e}")))?;
    Ok((shape, spec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_d_patches_with_padding_and_bias() {
        let shape = SampleShape {
            channels: 1,
            height: 1,
            width: 4,
            one_d: true,
        };
        let x = [1.0, 2.0, 3.0, 4.0];
        let p = Patches::extract(&x, 1, &shape, &PatchSpec::one_d(3, 2, 1, true)).unwrap();
        // Positions start at -1 and 1: (0,1,2) and (2,3,4).
        assert_eq!(p.k, 2);
        assert_eq!(p.row(0), &[0.0, 1.0, 2.0, 1.0]);
        assert_eq!(p.row(1), &[2.0, 3.0, 4.0, 1.0]);
    }

    #[test]
    fn two_d_channel_major_layout() {
        // 2 channels of 2×2; kernel 2×2 stride 1: one position.
        let shape = SampleShape {
            channels: 2,
            height: 2,
            width: 2,
            one_d: false,
        };
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        let p = Patches::extract(&x, 1, &shape, &PatchSpec::two_d(2, 2, 1, 0, false)).unwrap();
        assert_eq!(p.row(0), &x);
    }

    #[test]
    fn kernel_larger_than_signal_is_an_error() {
        let shape = SampleShape {
            channels: 1,
            height: 1,
            width: 4,
            one_d: true,
        };
        let e = PatchSpec::one_d(5, 1, 0, false)
            .output_dims(&shape)
            .unwrap_err();
        assert!(e.to_string().contains("kernel"), "{e}");
    }
}
