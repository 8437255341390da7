//! Line plots (PNG and SVG, with plotters) of training curves beside a reference level, such as
//! the convex optimum.
//!
//! Logarithmic axes are drawn by plotting `log10` of the values on a linear axis and labelling
//! the ticks with the original values, so that one code path serves every combination.

use cvxcnn::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

/// One curve.
#[derive(Debug, Clone)]
pub struct Curve {
    /// Legend text (empty: not in the legend).
    pub label: String,
    /// Points `(x, y)`.
    pub points: Vec<(f64, f64)>,
}

/// What to draw.
#[derive(Debug, Clone)]
pub struct PlotSpec {
    /// Title.
    pub title: String,
    /// Label of the horizontal axis.
    pub x_label: String,
    /// Label of the vertical axis.
    pub y_label: String,
    /// Logarithmic horizontal axis (non-positive `x` are dropped).
    pub log_x: bool,
    /// Logarithmic vertical axis (non-positive `y` are dropped).
    pub log_y: bool,
    /// The curves.
    pub curves: Vec<Curve>,
    /// A horizontal line at this level, with its legend text.
    pub level: Option<(f64, String)>,
    /// A marked point (drawn as a filled circle), with its legend text.
    pub marker: Option<(f64, f64, String)>,
    /// Legend in the lower (rather than the upper) right corner.
    pub legend_low: bool,
}

fn tf(v: f64, log: bool) -> Option<f64> {
    if !v.is_finite() {
        return None;
    }
    if log {
        (v > 0.0).then(|| v.log10())
    } else {
        Some(v)
    }
}

fn tick(v: f64, log: bool) -> String {
    if log {
        let x = 10f64.powf(v);
        if (1e-2..1e4).contains(&x.abs()) {
            format!("{}", (x * 1000.0).round() / 1000.0)
        } else {
            format!("{x:.1e}")
        }
    } else {
        format!("{}", (v * 1e4).round() / 1e4)
    }
}

fn plot_err<E: std::fmt::Display>(e: E) -> Error {
    Error::Solver(format!("plot: {e}"))
}

/// Transformed curves and the axis ranges.
type Prepared = (Vec<Vec<(f64, f64)>>, (f64, f64), (f64, f64));

fn prepare(spec: &PlotSpec) -> Result<Prepared> {
    let curves: Vec<Vec<(f64, f64)>> = spec
        .curves
        .iter()
        .map(|c| {
            c.points
                .iter()
                .filter_map(|&(x, y)| Some((tf(x, spec.log_x)?, tf(y, spec.log_y)?)))
                .collect()
        })
        .collect();
    let mut xs: Vec<f64> = curves.iter().flatten().map(|p| p.0).collect();
    let mut ys: Vec<f64> = curves.iter().flatten().map(|p| p.1).collect();
    if let Some((l, _)) = &spec.level {
        ys.extend(tf(*l, spec.log_y));
    }
    if let Some((x, y, _)) = &spec.marker {
        xs.extend(tf(*x, spec.log_x));
        ys.extend(tf(*y, spec.log_y));
    }
    let range = |v: &[f64]| -> Option<(f64, f64)> {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !lo.is_finite() || !hi.is_finite() {
            return None;
        }
        let pad = ((hi - lo) * 0.05).max(1e-9 * (1.0 + hi.abs().max(lo.abs())));
        Some((lo - pad, hi + pad))
    };
    let xr = range(&xs).ok_or_else(|| plot_err("no finite points to draw"))?;
    let yr = range(&ys).ok_or_else(|| plot_err("no finite points to draw"))?;
    Ok((curves, xr, yr))
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, spec: &PlotSpec) -> Result<()> {
    let (curves, (x0, x1), (y0, y1)) = prepare(spec)?;
    root.fill(&WHITE).map_err(plot_err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(&spec.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(72)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(plot_err)?;
    let (lx, ly) = (spec.log_x, spec.log_y);
    chart
        .configure_mesh()
        .x_desc(spec.x_label.as_str())
        .y_desc(spec.y_label.as_str())
        .x_label_formatter(&|v| tick(*v, lx))
        .y_label_formatter(&|v| tick(*v, ly))
        .draw()
        .map_err(plot_err)?;
    for (i, (c, pts)) in spec.curves.iter().zip(&curves).enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let s = chart
            .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(1)))
            .map_err(plot_err)?;
        if !c.label.is_empty() {
            s.label(c.label.clone()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        }
    }
    if let Some((l, label)) = &spec.level {
        if let Some(v) = tf(*l, ly) {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(x0, v), (x1, v)],
                    8,
                    4,
                    BLACK.stroke_width(2),
                ))
                .map_err(plot_err)?
                .label(label.clone())
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], BLACK.stroke_width(2))
                });
        }
    }
    if let Some((x, y, label)) = &spec.marker {
        if let (Some(px), Some(py)) = (tf(*x, lx), tf(*y, ly)) {
            chart
                .draw_series(std::iter::once(Circle::new((px, py), 5, BLACK.filled())))
                .map_err(plot_err)?
                .label(label.clone())
                .legend(|(x, y)| Circle::new((x + 9, y), 4, BLACK.filled()));
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(if spec.legend_low {
            SeriesLabelPosition::LowerRight
        } else {
            SeriesLabelPosition::UpperRight
        })
        .draw()
        .map_err(plot_err)?;
    root.present().map_err(plot_err)?;
    Ok(())
}

/// The plot as an SVG document.
pub fn render_svg(spec: &PlotSpec, size: (u32, u32)) -> Result<String> {
    let mut s = String::new();
    draw(
        SVGBackend::with_string(&mut s, size).into_drawing_area(),
        spec,
    )?;
    Ok(s)
}

/// The plot as PNG bytes.
pub fn render_png(spec: &PlotSpec, size: (u32, u32)) -> Result<Vec<u8>> {
    let (w, h) = size;
    let mut buf = vec![0u8; (w as usize) * (h as usize) * 3];
    draw(
        BitMapBackend::with_buffer(&mut buf, size).into_drawing_area(),
        spec,
    )?;
    let img = image::RgbImage::from_raw(w, h, buf).ok_or_else(|| plot_err("bitmap size"))?;
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageOutputFormat::Png)
        .map_err(plot_err)?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> PlotSpec {
        PlotSpec {
            title: "objective".into(),
            x_label: "seconds".into(),
            y_label: "objective".into(),
            log_x: true,
            log_y: true,
            curves: vec![Curve {
                label: "adam".into(),
                points: vec![(0.0, 5.0), (0.1, 3.0), (1.0, 2.0)],
            }],
            level: Some((1.5, "convex optimum".into())),
            marker: Some((0.5, 1.5, "convex solve".into())),
            legend_low: false,
        }
    }

    #[test]
    fn renders_png_and_svg() {
        let png = render_png(&spec(), (320, 200)).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let decoded = image::load_from_memory(&png).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (320, 200));
        let svg = render_svg(&spec(), (320, 200)).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("convex optimum"));
    }

    #[test]
    fn nothing_finite_is_an_error() {
        let mut s = spec();
        s.curves[0].points = vec![(f64::NAN, 1.0)];
        s.level = None;
        s.marker = None;
        assert!(render_svg(&s, (100, 100)).is_err());
    }
}
