//! SVG plots for results people would rather look at than read.

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

fn draw_err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing the plot: {e:?}")
}

/// Distinct line colours, in order.
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(30, 90, 200),
    RGBColor(200, 30, 30),
    RGBColor(30, 150, 60),
    RGBColor(200, 130, 0),
    RGBColor(120, 60, 170),
    RGBColor(0, 150, 160),
    RGBColor(120, 120, 120),
    RGBColor(180, 60, 130),
    RGBColor(100, 100, 20),
    RGBColor(0, 0, 0),
];

/// One labelled set of points.
pub type Series<'a> = (&'a str, RGBColor, &'a [(f64, f64)]);

/// A scatter plot of labelled point sets on equal axes from zero; with `diagonal`, the y = x
/// line and the +/-10 % band around it (red).
pub fn scatter(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    diagonal: bool,
) -> Result<()> {
    let max = series
        .iter()
        .flat_map(|s| s.2.iter().flat_map(|&(x, y)| [x, y]))
        .fold(0.0f64, f64::max)
        .max(1e-9)
        * 1.08;
    let root = SVGBackend::new(path, (720, 640)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err)?;
    let mut chart = axes(&root, title, (0.0..max, 0.0..max), (x_label, y_label))?;
    if diagonal {
        for (factor, style) in [
            (1.0, BLACK.stroke_width(1)),
            (1.1, RED.stroke_width(1)),
            (0.9, RED.stroke_width(1)),
        ] {
            chart
                .draw_series(LineSeries::new([(0.0, 0.0), (max, max * factor)], style))
                .map_err(draw_err)?;
        }
    }
    draw_points(&mut chart, series)?;
    draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    root.present().map_err(draw_err)?;
    Ok(())
}

/// Axes with a title and labelled mesh on `root`, over the ranges `x` and `y`.
fn axes<'a, 'b, X, Y>(
    root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    title: &str,
    (x, y): (X, Y),
    (x_label, y_label): (&str, &str),
) -> Result<Axes<'a, 'b, X::CoordDescType, Y::CoordDescType>>
where
    X: AsRangedCoord,
    Y: AsRangedCoord,
    X::CoordDescType: ValueFormatter<X::Value>,
    Y::CoordDescType: ValueFormatter<Y::Value>,
{
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 16))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x, y)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .draw()
        .map_err(draw_err)?;
    Ok(chart)
}

/// A chart on an SVG drawing area.
type Axes<'a, 'b, X, Y> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<X, Y>>;
type Chart<'a, 'b> = Axes<'a, 'b, RangedCoordf64, RangedCoordf64>;

/// Each series as a labelled line, its points raised to at least `floor` on both axes (a log
/// axis cannot show zero).
fn draw_lines<X, Y>(chart: &mut Axes<'_, '_, X, Y>, lines: &[Series], floor: f64) -> Result<()>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for &(label, color, pts) in lines {
        let raised = pts.iter().map(|&(x, y)| (x.max(floor), y.max(floor)));
        chart
            .draw_series(LineSeries::new(raised, color.stroke_width(2)))
            .map_err(draw_err)?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x - 8, y), (x + 8, y)], color.stroke_width(2)));
    }
    Ok(())
}

/// Each series as labelled dots.
fn draw_points(chart: &mut Chart, series: &[Series]) -> Result<()> {
    for &(label, color, points) in series {
        chart
            .draw_series(points.iter().map(|&(x, y)| Circle::new((x, y), 3, color.filled())))
            .map_err(draw_err)?
            .label(label)
            .legend(move |(x, y)| Circle::new((x, y), 3, color.filled()));
    }
    Ok(())
}

fn draw_legend<'a, 'b: 'a, X: Ranged, Y: Ranged>(
    chart: &mut Axes<'a, 'b, X, Y>,
    position: SeriesLabelPosition,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE)
        .border_style(BLACK)
        .draw()
        .map_err(draw_err)
}

/// Points and lines on axes fitted to the data (with a margin); `x_marker` draws a dashed
/// vertical line (a limit).
pub fn xy(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    points: &[Series],
    lines: &[Series],
    x_marker: Option<f64>,
) -> Result<()> {
    let all = || points.iter().chain(lines).flat_map(|s| s.2.iter().copied());
    let (mut x0, mut x1, mut y0, mut y1) = all().fold(
        (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY),
        |(a, b, c, d), (x, y)| (a.min(x), b.max(x), c.min(y), d.max(y)),
    );
    if let Some(m) = x_marker {
        (x0, x1) = (x0.min(m), x1.max(m));
    }
    if !(x0.is_finite() && y0.is_finite()) {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    let pad = |lo: f64, hi: f64| {
        let m = ((hi - lo) * 0.06).max(1e-9);
        (lo - m)..(hi + m)
    };
    let root = SVGBackend::new(path, (760, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err)?;
    let (xr, yr) = (pad(x0, x1), pad(y0, y1));
    let mut chart = axes(&root, title, (xr.clone(), yr.clone()), (x_label, y_label))?;
    if let Some(m) = x_marker {
        chart
            .draw_series(DashedLineSeries::new(
                [(m, yr.start), (m, yr.end)],
                6,
                4,
                RED.stroke_width(1),
            ))
            .map_err(draw_err)?
            .label("latency limit")
            .legend(|(x, y)| PathElement::new([(x - 8, y), (x + 8, y)], RED));
    }
    draw_points(&mut chart, points)?;
    draw_lines(&mut chart, lines, f64::NEG_INFINITY)?;
    draw_legend(&mut chart, SeriesLabelPosition::LowerRight)?;
    root.present().map_err(draw_err)?;
    Ok(())
}

/// Horizontal bars, one per (label, value), in the order given, each labelled with its value
/// (per-kernel time of a profiled run).
pub fn bars(path: &Path, title: &str, x_label: &str, unit: &str, bars: &[(String, f64)]) -> Result<()> {
    let max = bars.iter().map(|b| b.1).fold(0.0, f64::max);
    // All zero (no request missed): an axis to 1 still reads, one to 1e-9 does not.
    let max = if max > 0.0 { max } else { 1.0 };
    let n = bars.len().max(1);
    let root = SVGBackend::new(path, (760, 100 + 26 * n as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err)?;
    // Room right of the longest bar for its label.
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 16))
        .margin(16)
        .x_label_area_size(40)
        .build_cartesian_2d(0.0..max * 1.8, 0.0..n as f64)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .disable_y_axis()
        .x_desc(x_label)
        .draw()
        .map_err(draw_err)?;
    for (i, (label, v)) in bars.iter().enumerate() {
        let y = (n - 1 - i) as f64;
        let color = PALETTE[i % PALETTE.len()];
        chart
            .draw_series([Rectangle::new([(0.0, y + 0.15), (*v, y + 0.85)], color.filled())])
            .map_err(draw_err)?;
        chart
            .draw_series([Text::new(
                format!("{label}: {} {unit}", shown(*v)),
                (*v + max * 0.02, y + 0.65),
                ("sans-serif", 13),
            )])
            .map_err(draw_err)?;
    }
    root.present().map_err(draw_err)?;
    Ok(())
}

/// A bar's value as its label shows it: counts whole, measures to three decimals.
fn shown(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

/// ROC curves on log-log axes (false- against true-positive rate, 1e-4 to 1), with the
/// chance diagonal: the low false-positive end, where an attack's confidence shows, gets room.
pub fn roc(path: &Path, title: &str, curves: &[Series]) -> Result<()> {
    const FLOOR: f64 = 1e-4;
    let root = SVGBackend::new(path, (760, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err)?;
    let log = || (FLOOR..1.0).log_scale();
    let mut chart = axes(
        &root,
        title,
        (log(), log()),
        ("false-positive rate", "true-positive rate"),
    )?;
    chart
        .draw_series(DashedLineSeries::new(
            [(FLOOR, FLOOR), (1.0, 1.0)],
            6,
            4,
            BLACK.stroke_width(1),
        ))
        .map_err(draw_err)?
        .label("chance")
        .legend(|(x, y)| PathElement::new([(x - 8, y), (x + 8, y)], BLACK));
    draw_lines(&mut chart, curves, FLOOR)?;
    draw_legend(&mut chart, SeriesLabelPosition::LowerRight)?;
    root.present().map_err(draw_err)?;
    Ok(())
}
