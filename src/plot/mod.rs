//! Figures of a dataset with plotters, as PNG and SVG, drawn with the DejaVu Sans font
//! compiled into the binary (nothing depends on system fonts): membrane traces with
//! the population raster, F-I curves, ISI histogram and return map, and the AdEx
//! phase plane with both nullclines.

mod data;

use crate::analysis::AnalysisError;
use crate::store::layout;
use crate::store::Reader;
pub use data::{RunData, RunParams};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Once;

/// Figure size in pixels (PNG) or px units (SVG).
pub const SIZE: (u32, u32) = (1000, 800);

/// The kinds of figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Traces,
    Fi,
    Isi,
    Phase,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Traces, Kind::Fi, Kind::Isi, Kind::Phase];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Traces => "traces",
            Kind::Fi => "fi",
            Kind::Isi => "isi",
            Kind::Phase => "phase",
        }
    }
}

/// Image formats written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Png,
    Svg,
}

impl Format {
    fn ext(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Svg => "svg",
        }
    }
}

static FONT: Once = Once::new();

/// Register the embedded font once; every text style below names "sans-serif".
fn font() {
    FONT.call_once(|| {
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

type Fallible = Result<(), String>;

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// Draw `f` onto a new image at `path` (format from `fmt`).
fn render(
    path: &Path,
    fmt: Format,
    f: &dyn Fn(&DrawingArea<BitMapBackend, Shift>) -> Fallible,
    g: &dyn Fn(&DrawingArea<SVGBackend, Shift>) -> Fallible,
) -> Result<(), AnalysisError> {
    font();
    // The backends fail when the image file cannot be written, so this is an I/O
    // error, with the backend's own description.
    let fail = |m: String| AnalysisError::io(path, std::io::Error::other(format!("drawing: {m}")));
    match fmt {
        Format::Png => {
            let root = BitMapBackend::new(path, SIZE).into_drawing_area();
            root.fill(&WHITE).map_err(err).map_err(fail)?;
            f(&root).map_err(fail)?;
            root.present().map_err(err).map_err(fail)?;
        }
        Format::Svg => {
            let root = SVGBackend::new(path, SIZE).into_drawing_area();
            root.fill(&WHITE).map_err(err).map_err(fail)?;
            g(&root).map_err(fail)?;
            root.present().map_err(err).map_err(fail)?;
        }
    }
    Ok(())
}

/// Write one figure of `kind` for `run` (ignored for F-I) in each format; returns the
/// files written (none when the run lacks what the figure needs, e.g. no traces).
pub fn draw(
    reader: &Reader,
    kind: Kind,
    run: Option<u32>,
    formats: &[Format],
) -> Result<Vec<PathBuf>, AnalysisError> {
    let dir = reader.file(layout::PLOTS);
    std::fs::create_dir_all(&dir).map_err(|e| AnalysisError::io(&dir, e))?;
    let mut out = Vec::new();
    match kind {
        Kind::Fi => {
            let curves = data::fi_curves(reader)?;
            if curves.is_empty() {
                return Ok(out);
            }
            for &fmt in formats {
                let p = dir.join(format!("fi_curve.{}", fmt.ext()));
                render(&p, fmt, &|a| fi(a, &curves), &|a| fi(a, &curves))?;
                out.push(p);
            }
        }
        _ => {
            let Some(id) = run else { return Ok(out) };
            let d = data::run_data(reader, id)?;
            let possible = match kind {
                Kind::Traces => !d.t.is_empty() || !d.spikes.is_empty(),
                Kind::Isi => d.spikes.len() > 2,
                Kind::Phase => {
                    d.params
                        .model
                        .is_some_and(|m| m.kind().def().nullclines.is_some())
                        && !d.v.is_empty()
                        && !d.w.is_empty()
                }
                Kind::Fi => false,
            };
            if !possible {
                return Ok(out);
            }
            for &fmt in formats {
                let p = dir.join(format!("{}-run{id}.{}", kind.name(), fmt.ext()));
                match kind {
                    Kind::Traces => render(&p, fmt, &|a| traces(a, &d), &|a| traces(a, &d))?,
                    Kind::Isi => render(&p, fmt, &|a| isi(a, &d), &|a| isi(a, &d))?,
                    Kind::Phase => render(&p, fmt, &|a| phase(a, &d), &|a| phase(a, &d))?,
                    Kind::Fi => {}
                }
                out.push(p);
            }
        }
    }
    Ok(out)
}

/// Why nothing could be drawn of `run`, when the reason is that it failed; None for
/// a run that succeeded (it may just lack what a figure needs, e.g. spikes) or that
/// does not exist (`figure` reports that itself).
pub fn failed_run(reader: &Reader, run: u32) -> Result<Option<AnalysisError>, AnalysisError> {
    let runs = reader.runs();
    let Some(info) = runs.get(run).filter(|i| !i.ok) else {
        return Ok(None);
    };
    let path = reader.file(&layout::RUNS.entry());
    let status = crate::store::reader::string_column(&runs.table, layout::STATUS.name, &path)?
        .value(run as usize);
    Ok(Some(AnalysisError::RunFailed {
        run,
        label: info.label.clone(),
        status: status.to_string(),
    }))
}

fn range(values: impl Iterator<Item = f64>, pad: f64) -> std::ops::Range<f64> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(v), h.max(v))
        });
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    // A flat signal gets a window of ±5 % of its value (at least ±1).
    let span = if hi - lo > 1e-9 {
        hi - lo
    } else {
        (0.1 * lo.abs()).max(2.0)
    };
    let pad = if hi - lo > 1e-9 { pad } else { 0.5 };
    (lo - pad * span)..(hi + pad * span)
}

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
];

fn color(k: usize) -> RGBColor {
    COLORS[k % COLORS.len()]
}

/// Membrane potential (spikes marked), input current, w (AdEx), and the raster.
fn traces<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &RunData) -> Fallible {
    let area = area
        .titled(
            &format!("run {}: {}", d.params.run_id, d.params.label),
            ("sans-serif", 22),
        )
        .map_err(err)?;
    let panels = 2 + usize::from(!d.i.is_empty()) + usize::from(!d.w.is_empty());
    let rows = area.split_evenly((panels, 1));
    let t_range = 0.0..d.params.duration;
    let mut k = 0;
    let neurons = d.recorded_neurons();
    if !d.v.is_empty() {
        let mut c = ChartBuilder::on(&rows[k])
            .margin(8)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(
                t_range.clone(),
                range(d.v.iter().copied().chain([d.params.v_spike]), 0.05),
            )
            .map_err(err)?;
        c.configure_mesh()
            .x_desc("t (ms)")
            .y_desc("V (mV)")
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(err)?;
        for (j, &n) in neurons.iter().enumerate() {
            let series: Vec<(f64, f64)> = d.samples(n).map(|s| (d.t[s], d.v[s])).collect();
            c.draw_series(LineSeries::new(series, color(j)))
                .map_err(err)?
                .label(format!("neuron {n}"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color(j)));
            // Each spike drawn as a line up to the spike voltage, and marked there.
            c.draw_series(d.spikes.iter().filter(|(nn, _)| *nn == n).map(|(_, t)| {
                PathElement::new(
                    vec![(*t, d.params.v_reset), (*t, d.params.v_spike)],
                    color(j),
                )
            }))
            .map_err(err)?;
            let marks: Vec<(f64, f64)> = d
                .spikes
                .iter()
                .filter(|(nn, _)| *nn == n)
                .map(|(_, t)| (*t, d.params.v_spike))
                .collect();
            c.draw_series(
                marks
                    .into_iter()
                    .map(|p| TriangleMarker::new(p, 5, color(j).filled())),
            )
            .map_err(err)?;
        }
        c.configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .label_font(("sans-serif", 13))
            .draw()
            .map_err(err)?;
        k += 1;
    }
    for (values, desc) in [(&d.i, "I (pA)"), (&d.w, "w (pA)")] {
        if values.is_empty() {
            continue;
        }
        let mut c = ChartBuilder::on(&rows[k])
            .margin(8)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(t_range.clone(), range(values.iter().copied(), 0.05))
            .map_err(err)?;
        c.configure_mesh()
            .x_desc("t (ms)")
            .y_desc(desc)
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(err)?;
        for (j, &n) in neurons.iter().enumerate() {
            let series: Vec<(f64, f64)> = d.samples(n).map(|s| (d.t[s], values[s])).collect();
            c.draw_series(LineSeries::new(series, color(j)))
                .map_err(err)?;
        }
        k += 1;
    }
    let mut c = ChartBuilder::on(&rows[k])
        .margin(8)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(t_range, -0.5..(d.params.neurons as f64 - 0.5))
        .map_err(err)?;
    c.configure_mesh()
        .x_desc("t (ms)")
        .y_desc("neuron")
        .y_labels((d.params.neurons as usize + 1).clamp(2, 11))
        .y_label_formatter(&|y| format!("{}", y.round()))
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    c.draw_series(
        d.spikes
            .iter()
            .map(|(n, t)| Circle::new((*t, *n as f64), 2, BLACK.filled())),
    )
    .map_err(err)?;
    Ok(())
}

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A captioned chart filling the figure, with its mesh and axis descriptions drawn.
fn full_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    (x, x_desc): (std::ops::Range<f64>, &str),
    (y, y_desc): (std::ops::Range<f64>, &str),
) -> Result<Chart<'a, DB>, String> {
    let mut c = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(65)
        .build_cartesian_2d(x, y)
        .map_err(err)?;
    c.configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 17))
        .draw()
        .map_err(err)?;
    Ok(c)
}

/// One line per group, with ±SD error bars over neurons and replicates.
fn fi<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, curves: &[data::Curve]) -> Fallible {
    let x = range(
        curves.iter().flat_map(|c| c.points.iter().map(|p| p.0)),
        0.02,
    );
    let y = range(
        curves
            .iter()
            .flat_map(|c| c.points.iter().map(|p| p.1 + p.2))
            .chain([0.0]),
        0.05,
    );
    let mut c = full_chart(
        area,
        "F-I curves (mean ± SD over neurons and replicates)",
        (x, "injected current (pA)"),
        (y, "firing rate in the analysis window (Hz)"),
    )?;
    for (k, curve) in curves.iter().enumerate() {
        let col = color(k);
        c.draw_series(LineSeries::new(
            curve.points.iter().map(|p| (p.0, p.1)),
            col.stroke_width(2),
        ))
        .map_err(err)?
        .label(curve.label.clone())
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], col.stroke_width(2)));
        c.draw_series(
            curve
                .points
                .iter()
                .filter(|p| p.2 > 0.0)
                .map(|p| PathElement::new(vec![(p.0, p.1 - p.2), (p.0, p.1 + p.2)], col)),
        )
        .map_err(err)?;
        c.draw_series(
            curve
                .points
                .iter()
                .map(|p| Circle::new((p.0, p.1), 3, col.filled())),
        )
        .map_err(err)?;
    }
    c.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.85))
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    Ok(())
}

/// ISI histogram and return map (ISI_{k+1} against ISI_k), pooled over neurons.
fn isi<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &RunData) -> Fallible {
    let area = area
        .titled(
            &format!(
                "run {}: {} — inter-spike intervals",
                d.params.run_id, d.params.label
            ),
            ("sans-serif", 22),
        )
        .map_err(err)?;
    let halves = area.split_evenly((1, 2));
    let pairs = d.isi_pairs();
    let isis: Vec<f64> = d.isis();
    let max = isis.iter().copied().fold(0.0, f64::max).max(1e-3) * 1.05;
    let bins = 40usize;
    let width = max / bins as f64;
    let mut counts = vec![0usize; bins];
    for v in &isis {
        counts[((v / width) as usize).min(bins - 1)] += 1;
    }
    let top = *counts.iter().max().unwrap_or(&1) as f64 * 1.1;
    let mut c = ChartBuilder::on(&halves[0])
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .caption("ISI histogram", ("sans-serif", 17))
        .build_cartesian_2d(0.0..max, 0.0..top.max(1.0))
        .map_err(err)?;
    c.configure_mesh()
        .x_desc("ISI (ms)")
        .y_desc("count")
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    c.draw_series(counts.iter().enumerate().map(|(k, &n)| {
        Rectangle::new(
            [(k as f64 * width, 0.0), ((k + 1) as f64 * width, n as f64)],
            color(0).filled(),
        )
    }))
    .map_err(err)?;
    let mut c = ChartBuilder::on(&halves[1])
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .caption("return map", ("sans-serif", 17))
        .build_cartesian_2d(0.0..max, 0.0..max)
        .map_err(err)?;
    c.configure_mesh()
        .x_desc("ISI k (ms)")
        .y_desc("ISI k+1 (ms)")
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    c.draw_series(LineSeries::new([(0.0, 0.0), (max, max)], BLACK.mix(0.3)))
        .map_err(err)?;
    c.draw_series(pairs.iter().map(|p| Circle::new(*p, 3, color(1).filled())))
        .map_err(err)?;
    Ok(())
}

/// The V–w plane of a two-variable model: both nullclines as its registry entry gives
/// them (for AdEx, w = −g_L(V−E_L) + g_L Δ_T exp((V−V_T)/Δ_T) + I and w = a(V−E_L)),
/// with the first recorded neuron's trajectory and its resets.
fn phase<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &RunData) -> Fallible {
    let p = &d.params;
    // `figure` draws this only for a model with nullclines.
    let Some((model, nullclines)) = p.model.and_then(|m| Some((m, m.kind().def().nullclines?)))
    else {
        return Ok(());
    };
    let n = d.recorded_neurons()[0];
    let traj: Vec<(f64, f64)> = d.samples(n).map(|s| (d.v[s], d.w[s])).collect();
    let i = d.stimulus_current(n);
    let v_lo = p
        .v_reset
        .min(traj.iter().map(|t| t.0).fold(f64::INFINITY, f64::min))
        - 5.0;
    let v_hi = p.v_spike;
    let vs: Vec<f64> = (0..=400)
        .map(|k| v_lo + (v_hi - v_lo) * k as f64 / 400.0)
        .collect();
    let curves: Vec<(f64, (f64, f64))> =
        vs.iter().map(|&v| (v, nullclines(&model, v, i))).collect();
    let v_null: Vec<(f64, f64)> = curves.iter().map(|&(v, (wv, _))| (v, wv)).collect();
    let w_null: Vec<(f64, f64)> = curves.iter().map(|&(v, (_, ww))| (v, ww)).collect();
    // The trajectory sets the view; nullclines are drawn where they cross it.
    let w_range = range(traj.iter().map(|t| t.1), 0.3);
    let caption = format!(
        "run {}: {} — {} phase plane (I = {i:.0} pA)",
        p.run_id,
        p.label,
        model.kind().name()
    );
    let mut c = full_chart(
        area,
        &caption,
        (v_lo..v_hi, "V (mV)"),
        (w_range.clone(), "w (pA)"),
    )?;
    // Pieces of a curve inside the view, so that a curve leaving and re-entering it
    // is not joined across the gap.
    let inside = |pts: &[(f64, f64)]| -> Vec<Vec<(f64, f64)>> {
        let mut out: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for &(v, w) in pts {
            if w >= w_range.start && w <= w_range.end {
                out.last_mut().expect("one piece").push((v, w));
            } else if !out.last().expect("one piece").is_empty() {
                out.push(Vec::new());
            }
        }
        out.retain(|p| p.len() > 1);
        out
    };
    for (pts, name, k) in [(&v_null, "V-nullcline", 1), (&w_null, "w-nullcline", 2)] {
        for (j, piece) in inside(pts).into_iter().enumerate() {
            let drawn = c
                .draw_series(LineSeries::new(piece, color(k).stroke_width(2)))
                .map_err(err)?;
            if j == 0 {
                drawn.label(name).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color(k).stroke_width(2))
                });
            }
        }
    }
    // The trajectory, broken at each spike; a reset drawn from V_peak to V_reset.
    let times: Vec<f64> = d.samples(n).map(|s| d.t[s]).collect();
    let spikes: Vec<f64> = d
        .spikes
        .iter()
        .filter(|(nn, _)| *nn == n)
        .map(|(_, t)| *t)
        .collect();
    let mut segment: Vec<(f64, f64)> = Vec::new();
    let mut first = true;
    for (k, pt) in traj.iter().enumerate() {
        let spiked = k > 0 && spikes.iter().any(|&s| s > times[k - 1] && s <= times[k]);
        if spiked {
            // The upswing ends at V_peak between the two samples.
            segment.push((p.v_spike, traj[k - 1].1));
            let seg = std::mem::take(&mut segment);
            c.draw_series(LineSeries::new(seg, color(0))).map_err(err)?;
            let (w0, w1) = (traj[k - 1].1, pt.1);
            let reset = c
                .draw_series(std::iter::once(PathElement::new(
                    vec![(p.v_spike, w0), (p.v_reset, w1)],
                    BLACK.mix(0.25),
                )))
                .map_err(err)?;
            if first {
                reset
                    .label("reset (spike voltage → reset, w jumps)")
                    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.4)));
                first = false;
            }
        }
        segment.push(*pt);
    }
    c.draw_series(LineSeries::new(segment, color(0)))
        .map_err(err)?
        .label(format!("trajectory (neuron {n})"))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color(0)));
    c.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.85))
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    Ok(())
}
