//! Figures of a dataset with plotters, as PNG and SVG, drawn with the DejaVu Sans font
//! compiled into the binary (nothing depends on system fonts): membrane traces with
//! the population raster, F-I curves with their rheobases, ISI histogram and return
//! map, the phase plane of two-variable models with both nullclines, and the small
//! panels of the report's overview.
//!
//! Every figure follows the same rules: a run is titled by its label and the values
//! swept within it; each label keeps one colour in every figure (`structure`);
//! currents are shown in pA or nA as their range suits (`format::scale`); tick labels
//! carry only the decimals their spacing needs, and each axis leaves room for its
//! widest tick label beside its description, so the two never overlap.

mod data;
pub mod format;
pub mod structure;

use crate::analysis::AnalysisError;
use crate::store::layout;
use crate::store::Reader;
pub use data::{RunData, RunParams};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Once;
pub use structure::Structure;

/// Figure size in pixels (PNG) or px units (SVG).
pub const SIZE: (u32, u32) = (1000, 800);
/// An overview panel's size in px, and its height with a w band.
pub const PANEL: (u32, u32) = (250, 200);
const PANEL_W_HEIGHT: u32 = 250;
/// Samples per drawn line at most: a trace is cut into this many time slices and
/// each slice keeps its lowest and highest sample, so peaks survive and files stay
/// small whatever the recording length.
const SLICES: usize = 700;
const PANEL_SLICES: usize = 220;
/// Spikes a raster draws at most, and return-map points: each is an SVG element of
/// about 100 bytes, so a large population would otherwise make megabytes of figure.
/// The raster then shows the first neurons whose spikes fit, and says so.
const RASTER_SPIKES: usize = 3000;
const RETURN_MAP_POINTS: usize = 2000;

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

/// A figure ready to paint: its kind and what it shows.
enum Figure<'d> {
    Traces(&'d RunData, RGBColor),
    Isi(&'d RunData, RGBColor),
    Phase(&'d RunData, RGBColor),
    Fi(&'d [(data::Curve, RGBColor, bool)]),
    Panel(&'d RunData, RGBColor, Option<&'d str>),
}

impl Figure<'_> {
    fn paint<DB: DrawingBackend>(&self, a: &DrawingArea<DB, Shift>) -> Fallible {
        match self {
            Figure::Traces(d, c) => traces(a, d, *c),
            Figure::Isi(d, c) => isi(a, d, *c),
            Figure::Phase(d, c) => phase(a, d, *c),
            Figure::Fi(curves) => fi(a, curves),
            Figure::Panel(d, c, title) => panel(a, d, *c, *title),
        }
    }
}

/// Draw `fig` into a new image at `path`.
fn render_file(path: &Path, fmt: Format, fig: &Figure) -> Result<(), AnalysisError> {
    font();
    // The backends fail when the image file cannot be written, so this is an I/O
    // error, with the backend's own description.
    let fail = |m: String| AnalysisError::io(path, std::io::Error::other(format!("drawing: {m}")));
    match fmt {
        Format::Png => {
            let root = BitMapBackend::new(path, SIZE).into_drawing_area();
            root.fill(&WHITE).map_err(err).map_err(fail)?;
            fig.paint(&root).map_err(fail)?;
            root.present().map_err(err).map_err(fail)?;
        }
        Format::Svg => {
            let root = SVGBackend::new(path, SIZE).into_drawing_area();
            root.fill(&WHITE).map_err(err).map_err(fail)?;
            fig.paint(&root).map_err(fail)?;
            root.present().map_err(err).map_err(fail)?;
        }
    }
    Ok(())
}

/// Draw `fig` as SVG text of `size`; `context` names what it is drawn for in errors.
fn render_svg(size: (u32, u32), fig: &Figure, context: &Path) -> Result<String, AnalysisError> {
    font();
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        let fail =
            |m: String| AnalysisError::io(context, std::io::Error::other(format!("drawing: {m}")));
        root.fill(&WHITE).map_err(err).map_err(fail)?;
        fig.paint(&root).map_err(fail)?;
        root.present().map_err(err).map_err(fail)?;
    }
    Ok(text)
}

/// A dataset's figures, with its structure worked out once for all of them.
pub struct Figures<'r> {
    reader: &'r Reader,
    pub structure: Structure,
}

impl<'r> Figures<'r> {
    pub fn new(reader: &'r Reader) -> Figures<'r> {
        Figures {
            reader,
            structure: Structure::new(reader.runs()),
        }
    }

    /// The F-I curves with their colours (their label's) and line styles (dashed for
    /// a label's second curve and on); none unless some curve sweeps a current.
    fn curves(&self) -> Result<Vec<(data::Curve, RGBColor, bool)>, AnalysisError> {
        let mut curves = data::fi_curves(self.reader)?;
        if !curves.iter().any(data::Curve::swept) {
            return Ok(Vec::new());
        }
        let labels = self.structure.labels();
        curves.sort_by(|a, b| {
            let pos = |c: &data::Curve| labels.iter().position(|l| *l == c.label);
            pos(a).cmp(&pos(b)).then_with(|| a.legend.cmp(&b.legend))
        });
        let mut seen: Vec<String> = Vec::new();
        Ok(curves
            .into_iter()
            .map(|c| {
                let again = seen.contains(&c.label);
                seen.push(c.label.clone());
                let col = self.structure.color_of_label(&c.label);
                (c, col, again)
            })
            .collect())
    }

    /// Whether some F-I curve sweeps a current (else there is no F-I figure).
    pub fn has_fi(&self) -> Result<bool, AnalysisError> {
        Ok(!self.curves()?.is_empty())
    }

    /// A run's data, titled by its label and swept values.
    fn run(&self, id: u32) -> Result<RunData, AnalysisError> {
        let mut d = data::run_data(self.reader, id)?;
        d.params.title = self.structure.title(id);
        Ok(d)
    }

    /// Whether `kind` has something to show of this run.
    fn possible(kind: Kind, d: &RunData) -> bool {
        match kind {
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
        }
    }

    /// Write one figure of `kind` for `run` (ignored for F-I) in each format; returns
    /// the files written (none when the run lacks what the figure needs, e.g. no
    /// traces, or for F-I when no current is swept).
    pub fn draw(
        &self,
        kind: Kind,
        run: Option<u32>,
        formats: &[Format],
    ) -> Result<Vec<PathBuf>, AnalysisError> {
        let dir = self.reader.file(layout::PLOTS);
        std::fs::create_dir_all(&dir).map_err(|e| AnalysisError::io(&dir, e))?;
        let mut out = Vec::new();
        if kind == Kind::Fi {
            let curves = self.curves()?;
            if curves.is_empty() {
                return Ok(out);
            }
            for &fmt in formats {
                let p = dir.join(format!("fi_curve.{}", fmt.ext()));
                render_file(&p, fmt, &Figure::Fi(&curves))?;
                out.push(p);
            }
            return Ok(out);
        }
        let Some(id) = run else { return Ok(out) };
        let d = self.run(id)?;
        if !Self::possible(kind, &d) {
            return Ok(out);
        }
        let c = self.structure.color(id);
        for &fmt in formats {
            let p = dir.join(format!("{}-run{id}.{}", kind.name(), fmt.ext()));
            let fig = match kind {
                Kind::Traces => Figure::Traces(&d, c),
                Kind::Isi => Figure::Isi(&d, c),
                _ => Figure::Phase(&d, c),
            };
            render_file(&p, fmt, &fig)?;
            out.push(p);
        }
        Ok(out)
    }

    /// One figure as SVG text (None when there is nothing to draw).
    pub fn svg(&self, kind: Kind, run: Option<u32>) -> Result<Option<String>, AnalysisError> {
        if kind == Kind::Fi {
            let curves = self.curves()?;
            return if curves.is_empty() {
                Ok(None)
            } else {
                render_svg(SIZE, &Figure::Fi(&curves), self.reader.root()).map(Some)
            };
        }
        let Some(id) = run else { return Ok(None) };
        let d = self.run(id)?;
        if !Self::possible(kind, &d) {
            return Ok(None);
        }
        let c = self.structure.color(id);
        let fig = match kind {
            Kind::Traces => Figure::Traces(&d, c),
            Kind::Isi => Figure::Isi(&d, c),
            _ => Figure::Phase(&d, c),
        };
        render_svg(SIZE, &fig, self.reader.root()).map(Some)
    }

    /// A run's overview panel as SVG text: V of its first recorded neuron with its
    /// spikes, the input below, w below that for a model with one; None without V.
    pub fn panel(&self, run: u32, title: Option<&str>) -> Result<Option<String>, AnalysisError> {
        let d = self.run(run)?;
        if d.v.is_empty() {
            return Ok(None);
        }
        let c = self.structure.color(run);
        let size = if d.w.is_empty() {
            PANEL
        } else {
            (PANEL.0, PANEL_W_HEIGHT)
        };
        render_svg(size, &Figure::Panel(&d, c, title), self.reader.root()).map(Some)
    }
}

/// Write one figure of `kind` for `run` (ignored for F-I) in each format; see
/// [`Figures::draw`], which draws many figures of one dataset at less cost.
pub fn draw(
    reader: &Reader,
    kind: Kind,
    run: Option<u32>,
    formats: &[Format],
) -> Result<Vec<PathBuf>, AnalysisError> {
    Figures::new(reader).draw(kind, run, formats)
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

fn range(values: impl Iterator<Item = f64>, pad: f64) -> Range<f64> {
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

/// Keep each time slice's lowest and highest point (in time order): the drawn line
/// looks the same at figure resolution, peaks included.
fn decimate(points: Vec<(f64, f64)>, slices: usize) -> Vec<(f64, f64)> {
    if points.len() <= 2 * slices {
        return points;
    }
    let (t0, t1) = (points[0].0, points[points.len() - 1].0);
    let width = (t1 - t0) / slices as f64;
    if width <= 0.0 || !width.is_finite() {
        return points;
    }
    let mut out = Vec::with_capacity(2 * slices + 2);
    let mut k = 0;
    while k < points.len() {
        let slice = ((points[k].0 - t0) / width).floor();
        let mut end = k;
        let (mut lo, mut hi) = (k, k);
        while end < points.len() && ((points[end].0 - t0) / width).floor() == slice {
            if points[end].1 < points[lo].1 {
                lo = end;
            }
            if points[end].1 > points[hi].1 {
                hi = end;
            }
            end += 1;
        }
        out.push(points[lo.min(hi)]);
        if lo != hi {
            out.push(points[lo.max(hi)]);
        }
        k = end;
    }
    out
}

/// An axis: its range, description and tick count, and the decimals its ticks need.
struct Axis {
    range: Range<f64>,
    desc: String,
    ticks: usize,
    decimals: usize,
}

impl Axis {
    fn new(range: Range<f64>, desc: impl Into<String>, ticks: usize) -> Axis {
        Axis {
            decimals: format::tick_decimals(&range, ticks),
            range,
            desc: desc.into(),
            ticks,
        }
    }

    /// The width a y axis needs: its widest tick label, its rotated description, and
    /// the gaps between them and the tick marks.
    fn y_area(&self, fonts: &Fonts) -> u32 {
        format::tick_width(&self.range, self.ticks, fonts.tick as f64)
            + (fonts.desc as f64 * 1.4) as u32
            + 14
    }

    /// The height an x axis needs: a tick label line and a description line.
    fn x_area(&self, fonts: &Fonts) -> u32 {
        ((fonts.tick + fonts.desc) as f64 * 1.35) as u32 + 8
    }
}

/// Font sizes of a figure.
struct Fonts {
    tick: u32,
    desc: u32,
}

const FULL: Fonts = Fonts { tick: 14, desc: 15 };
const SMALL: Fonts = Fonts { tick: 11, desc: 11 };

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A chart on `area` with both axes drawn: the x axis labelled only when `x_labels`
/// (stacked panels share the bottom one), `y_area` wide at the left so that stacked
/// panels line up.
fn chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: Option<(&str, u32)>,
    (x, x_labels): (&Axis, bool),
    (y, y_area): (&Axis, u32),
    fonts: &Fonts,
) -> Result<Chart<'a, DB>, String> {
    let mut b = ChartBuilder::on(area);
    if let Some((text, size)) = caption {
        b.caption(text, ("sans-serif", size));
    }
    let mut c = b
        .margin(6)
        .margin_right(14)
        .x_label_area_size(if x_labels { x.x_area(fonts) } else { 6 })
        .y_label_area_size(y_area)
        .build_cartesian_2d(x.range.clone(), y.range.clone())
        .map_err(err)?;
    let (xd, yd) = (x.decimals, y.decimals);
    let xf = move |v: &f64| format::tick(*v, xd);
    let yf = move |v: &f64| format::tick(*v, yd);
    let mut mesh = c.configure_mesh();
    mesh.x_labels(if x_labels { x.ticks } else { 0 })
        .y_labels(y.ticks)
        .x_label_formatter(&xf)
        .y_label_formatter(&yf)
        .light_line_style(BLACK.mix(0.04))
        .bold_line_style(BLACK.mix(0.12))
        .label_style(("sans-serif", fonts.tick))
        .axis_desc_style(("sans-serif", fonts.desc))
        .y_desc(y.desc.as_str());
    if x_labels {
        mesh.x_desc(x.desc.as_str());
    }
    mesh.draw().map_err(err)?;
    Ok(c)
}

/// The time axis of a run, in ms (s for runs of 10 s and more).
fn time_axis(d: &RunData, ticks: usize) -> (Axis, f64) {
    let sc = format::scale("ms", d.params.duration);
    (
        Axis::new(
            0.0..d.params.duration * sc.factor,
            format!("t ({})", sc.unit),
            ticks,
        ),
        sc.factor,
    )
}

/// Values in pA shown in the unit their range fits: the factor and axis text.
fn current_scale(values: &[f64]) -> format::Scale {
    let max = values
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f64, |m, v| m.max(v.abs()));
    format::scale("pA", max)
}

/// Neuron `j` of a figure: the run's colour, fainter for each later neuron.
fn shade(c: RGBColor, j: usize) -> RGBAColor {
    c.mix([1.0, 0.55, 0.32][j.min(2)])
}

/// Membrane potential (spikes marked), input current, w, and the raster.
fn traces<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    d: &RunData,
    col: RGBColor,
) -> Fallible {
    let area = area
        .titled(&d.params.title, ("sans-serif", 22))
        .map_err(err)?;
    let bands =
        usize::from(!d.v.is_empty()) + usize::from(!d.i.is_empty()) + usize::from(!d.w.is_empty());
    let (t_axis, tf) = time_axis(d, 10);
    let neurons = d.recorded_neurons();
    let i_scale = current_scale(&d.i);
    let w_scale = current_scale(&d.w);
    let v_axis = Axis::new(
        range(d.v.iter().copied().chain([d.params.v_spike]), 0.05),
        "V (mV)",
        6,
    );
    let scaled = |values: &[f64], f: f64| values.iter().map(|v| v * f).collect::<Vec<_>>();
    let (i_vals, w_vals) = (scaled(&d.i, i_scale.factor), scaled(&d.w, w_scale.factor));
    let i_axis = Axis::new(
        range(i_vals.iter().copied(), 0.08),
        format!("I ({})", i_scale.unit),
        4,
    );
    let w_axis = Axis::new(
        range(w_vals.iter().copied(), 0.08),
        format!("w ({})", w_scale.unit),
        4,
    );
    // The first neurons whose spikes fit the raster's budget (spikes are in neuron
    // order), at least one.
    let shown = if d.spikes.len() <= RASTER_SPIKES {
        d.params.neurons
    } else {
        d.spikes[RASTER_SPIKES].0.max(1)
    };
    let raster: &[(u32, f64)] = &d.spikes[..d.spikes.partition_point(|s| s.0 < shown)];
    let n_desc = if shown < d.params.neurons {
        format!("neuron (first {shown} of {})", d.params.neurons)
    } else {
        "neuron".into()
    };
    let n_axis = Axis::new(
        -0.5..(shown as f64 - 0.5),
        n_desc,
        (shown as usize + 1).clamp(2, 6),
    );
    // One left margin for all panels, the widest any needs, so that time lines up.
    let y_area = [&v_axis, &i_axis, &w_axis, &n_axis]
        .iter()
        .map(|a| a.y_area(&FULL))
        .max()
        .unwrap_or(60);
    // The raster gets a band's height plus its time axis.
    let h = area.dim_in_pixel().1 as i32;
    let top = (h - t_axis.x_area(&FULL) as i32) * bands as i32 / (bands as i32 + 1);
    let (bands_area, raster_area) = area.split_vertically(top);
    if bands > 0 {
        let rows = bands_area.split_evenly((bands, 1));
        let mut k = 0;
        if !d.v.is_empty() {
            let mut c = chart(&rows[k], None, (&t_axis, false), (&v_axis, y_area), &FULL)?;
            for (j, &n) in neurons.iter().enumerate() {
                let series: Vec<(f64, f64)> = d.samples(n).map(|s| (d.t[s] * tf, d.v[s])).collect();
                let style = shade(col, j);
                c.draw_series(LineSeries::new(decimate(series, SLICES), style))
                    .map_err(err)?
                    .label(format!("neuron {n}"))
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
                // Each spike drawn as a line up to the spike voltage, and marked there.
                let spikes: Vec<f64> = d
                    .spikes
                    .iter()
                    .filter(|(nn, _)| *nn == n)
                    .map(|(_, t)| *t * tf)
                    .collect();
                c.draw_series(spikes.iter().map(|t| {
                    PathElement::new(vec![(*t, d.params.v_reset), (*t, d.params.v_spike)], style)
                }))
                .map_err(err)?;
                c.draw_series(
                    spikes
                        .iter()
                        .map(|t| TriangleMarker::new((*t, d.params.v_spike), 4, style.filled())),
                )
                .map_err(err)?;
            }
            c.configure_series_labels()
                .border_style(BLACK.mix(0.5))
                .background_style(WHITE.mix(0.85))
                .label_font(("sans-serif", 13))
                .draw()
                .map_err(err)?;
            k += 1;
        }
        for (values, axis) in [(&i_vals, &i_axis), (&w_vals, &w_axis)] {
            if values.is_empty() {
                continue;
            }
            let mut c = chart(&rows[k], None, (&t_axis, false), (axis, y_area), &FULL)?;
            for (j, &n) in neurons.iter().enumerate() {
                let series: Vec<(f64, f64)> =
                    d.samples(n).map(|s| (d.t[s] * tf, values[s])).collect();
                c.draw_series(LineSeries::new(decimate(series, SLICES), shade(col, j)))
                    .map_err(err)?;
            }
            k += 1;
        }
    }
    let mut c = chart(
        &raster_area,
        None,
        (&t_axis, true),
        (&n_axis, y_area),
        &FULL,
    )?;
    c.draw_series(raster.iter().map(|(n, t)| {
        PathElement::new(
            vec![(*t * tf, *n as f64 - 0.35), (*t * tf, *n as f64 + 0.35)],
            BLACK.stroke_width(1),
        )
    }))
    .map_err(err)?;
    Ok(())
}

/// An overview panel: V of the first recorded neuron with its spikes, then I, then w.
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    d: &RunData,
    col: RGBColor,
    title: Option<&str>,
) -> Fallible {
    let area = if let Some(title) = title {
        area.titled(title, ("sans-serif", 12)).map_err(err)?
    } else {
        area.clone()
    };
    let n = d.recorded_neurons()[0];
    let samples: Vec<usize> = d.samples(n).collect();
    let (t_axis, tf) = time_axis(d, 5);
    let v_axis = Axis::new(
        range(
            samples.iter().map(|&s| d.v[s]).chain([d.params.v_spike]),
            0.05,
        ),
        "V (mV)",
        4,
    );
    let pick = |values: &[f64]| -> Vec<f64> {
        if values.is_empty() {
            Vec::new()
        } else {
            samples.iter().map(|&s| values[s]).collect()
        }
    };
    let (i, w) = (pick(&d.i), pick(&d.w));
    let (is, ws) = (current_scale(&i), current_scale(&w));
    let i: Vec<f64> = i.iter().map(|v| v * is.factor).collect();
    let w: Vec<f64> = w.iter().map(|v| v * ws.factor).collect();
    // Bands of about 40 px have room for two tick labels without crowding.
    let ticks = if w.is_empty() { 3 } else { 2 };
    let i_axis = Axis::new(
        range(i.iter().copied(), 0.1),
        format!("I ({})", is.unit),
        ticks,
    );
    let w_axis = Axis::new(
        range(w.iter().copied(), 0.1),
        format!("w ({})", ws.unit),
        ticks,
    );
    let y_area = [&v_axis, &i_axis, &w_axis]
        .iter()
        .map(|a| a.y_area(&SMALL))
        .max()
        .unwrap_or(40);
    // V gets half the height or more; I and w share the rest, the last one carrying
    // the time axis.
    let extra: Vec<(&Vec<f64>, &Axis)> = [(&i, &i_axis), (&w, &w_axis)]
        .into_iter()
        .filter(|(v, _)| !v.is_empty())
        .collect();
    let h = area.dim_in_pixel().1 as i32;
    let x_h = t_axis.x_area(&SMALL) as i32;
    let v_h = if extra.is_empty() {
        h
    } else {
        (h - x_h) * if extra.len() == 1 { 6 } else { 5 } / 10
    };
    let (v_area, rest) = area.split_vertically(v_h);
    let mut c = chart(
        &v_area,
        None,
        (&t_axis, extra.is_empty()),
        (&v_axis, y_area),
        &SMALL,
    )?;
    let series: Vec<(f64, f64)> = samples.iter().map(|&s| (d.t[s] * tf, d.v[s])).collect();
    c.draw_series(LineSeries::new(
        decimate(series, PANEL_SLICES),
        col.stroke_width(1),
    ))
    .map_err(err)?;
    let spikes: Vec<f64> = d
        .spikes
        .iter()
        .filter(|(nn, _)| *nn == n)
        .map(|(_, t)| *t * tf)
        .collect();
    c.draw_series(
        spikes
            .iter()
            .map(|t| PathElement::new(vec![(*t, d.params.v_reset), (*t, d.params.v_spike)], col)),
    )
    .map_err(err)?;
    c.draw_series(
        spikes
            .iter()
            .map(|t| TriangleMarker::new((*t, d.params.v_spike), 3, col.filled())),
    )
    .map_err(err)?;
    if extra.is_empty() {
        return Ok(());
    }
    let rest_h = rest.dim_in_pixel().1 as i32;
    let mut remaining = rest;
    for (k, (values, axis)) in extra.iter().enumerate() {
        let last = k + 1 == extra.len();
        let here = if last {
            remaining.clone()
        } else {
            let (a, b) = remaining.split_vertically((rest_h - x_h) / extra.len() as i32);
            remaining = b;
            a
        };
        let mut c = chart(&here, None, (&t_axis, last), (axis, y_area), &SMALL)?;
        let series: Vec<(f64, f64)> = samples
            .iter()
            .zip(values.iter())
            .map(|(&s, v)| (d.t[s] * tf, *v))
            .collect();
        let style = if k == 0 { BLACK.mix(0.6) } else { col.mix(0.7) };
        c.draw_series(LineSeries::new(decimate(series, PANEL_SLICES), style))
            .map_err(err)?;
    }
    Ok(())
}

/// One line per group, with ±SD error bars over neurons and replicates, each label
/// in its colour (a label's further curves dashed), and each rheobase marked on the
/// current axis.
fn fi<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    curves: &[(data::Curve, RGBColor, bool)],
) -> Fallible {
    let currents: Vec<f64> = curves
        .iter()
        .flat_map(|(c, _, _)| c.points.iter().map(|p| p.0))
        .collect();
    let sc = current_scale(&currents);
    let f = sc.factor;
    let x = range(currents.iter().map(|v| v * f), 0.02);
    let y = range(
        curves
            .iter()
            .flat_map(|(c, _, _)| c.points.iter().map(|p| p.1 + p.2))
            .chain([0.0]),
        0.05,
    );
    let (x, y) = (
        Axis::new(x, format!("injected current ({})", sc.unit), 10),
        Axis::new(y, "firing rate in the analysis window (Hz)", 10),
    );
    let y_area = y.y_area(&FULL);
    let mut c = chart(
        area,
        Some(("F-I curves (mean ± SD over neurons and replicates)", 22)),
        (&x, true),
        (&y, y_area),
        &FULL,
    )?;
    for (curve, col, dashed) in curves {
        let col = *col;
        let line: Vec<(f64, f64)> = curve.points.iter().map(|p| (p.0 * f, p.1)).collect();
        let style = col.stroke_width(2);
        let drawn = if *dashed {
            c.draw_series(DashedLineSeries::new(line, 8, 5, style))
                .map_err(err)?
        } else {
            c.draw_series(LineSeries::new(line, style)).map_err(err)?
        };
        let d = *dashed;
        drawn.label(curve.legend.clone()).legend(move |(x, y)| {
            let gap = if d { 6 } else { 0 };
            EmptyElement::at((x, y))
                + PathElement::new(vec![(0, 0), (8, 0)], style)
                + PathElement::new(vec![(8 + gap, 0), (20, 0)], style)
        });
        c.draw_series(
            curve
                .points
                .iter()
                .filter(|p| p.2 > 0.0)
                .map(|p| PathElement::new(vec![(p.0 * f, p.1 - p.2), (p.0 * f, p.1 + p.2)], col)),
        )
        .map_err(err)?;
        c.draw_series(curve.points.iter().map(|p| {
            Circle::new(
                (p.0 * f, p.1),
                3,
                if *dashed {
                    col.stroke_width(1)
                } else {
                    col.filled()
                },
            )
        }))
        .map_err(err)?;
    }
    // Rheobases last, so that their legend entry follows the curves'.
    let marks: Vec<(f64, RGBColor)> = curves
        .iter()
        .filter_map(|(curve, col, _)| curve.rheobase.map(|r| (r * f, *col)))
        .collect();
    if !marks.is_empty() {
        let y0 = y.range.start + 0.03 * (y.range.end - y.range.start);
        c.draw_series(
            marks
                .iter()
                .map(|(r, col)| TriangleMarker::new((*r, y0), 7, col.filled())),
        )
        .map_err(err)?
        .label("rheobase (between the last silent and the first firing current)")
        .legend(|(x, y)| TriangleMarker::new((x + 10, y), 6, BLACK.filled()));
    }
    c.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .border_style(BLACK.mix(0.5))
        .background_style(WHITE.mix(0.85))
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    Ok(())
}

/// ISI histogram and return map (ISI_{k+1} against ISI_k), pooled over neurons.
fn isi<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &RunData, col: RGBColor) -> Fallible {
    let area = area
        .titled(
            &format!("{} — inter-spike intervals", d.params.title),
            ("sans-serif", 22),
        )
        .map_err(err)?;
    let halves = area.split_evenly((1, 2));
    let all_pairs = d.isi_pairs();
    let step = all_pairs.len().div_ceil(RETURN_MAP_POINTS).max(1);
    let pairs: Vec<(f64, f64)> = all_pairs.iter().step_by(step).copied().collect();
    let isis: Vec<f64> = d.isis();
    let max = isis.iter().copied().fold(0.0, f64::max).max(1e-3) * 1.05;
    let bins = 40usize;
    let width = max / bins as f64;
    let mut counts = vec![0usize; bins];
    for v in &isis {
        counts[((v / width) as usize).min(bins - 1)] += 1;
    }
    // Counts are whole: an axis at least 5 high gets ticks a whole step apart.
    let top = (*counts.iter().max().unwrap_or(&1) as f64 * 1.1).max(5.0);
    let x = Axis::new(0.0..max, "ISI (ms)", 6);
    let y = Axis::new(0.0..top, "count", 6);
    let mut c = chart(
        &halves[0],
        Some(("ISI histogram", 17)),
        (&x, true),
        (&y, y.y_area(&FULL)),
        &FULL,
    )?;
    c.draw_series(counts.iter().enumerate().map(|(k, &n)| {
        Rectangle::new(
            [(k as f64 * width, 0.0), ((k + 1) as f64 * width, n as f64)],
            col.mix(0.8).filled(),
        )
    }))
    .map_err(err)?;
    let x = Axis::new(0.0..max, "ISI k (ms)", 6);
    let y = Axis::new(0.0..max, "ISI k+1 (ms)", 6);
    let caption = if step > 1 {
        format!("return map (every {step}th of {} pairs)", all_pairs.len())
    } else {
        "return map".into()
    };
    let mut c = chart(
        &halves[1],
        Some((&caption, 17)),
        (&x, true),
        (&y, y.y_area(&FULL)),
        &FULL,
    )?;
    c.draw_series(LineSeries::new([(0.0, 0.0), (max, max)], BLACK.mix(0.3)))
        .map_err(err)?;
    c.draw_series(
        pairs
            .iter()
            .map(|p| Circle::new(*p, 2, col.mix(0.6).filled())),
    )
    .map_err(err)?;
    Ok(())
}

/// The V–w plane of a two-variable model: both nullclines as its registry entry gives
/// them (for AdEx, w = −g_L(V−E_L) + g_L Δ_T exp((V−V_T)/Δ_T) + I and w = a(V−E_L)),
/// with the first recorded neuron's trajectory and its resets.
fn phase<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    d: &RunData,
    col: RGBColor,
) -> Fallible {
    let p = &d.params;
    // `draw` draws this only for a model with nullclines.
    let Some((model, nullclines)) = p.model.and_then(|m| Some((m, m.kind().def().nullclines?)))
    else {
        return Ok(());
    };
    let n = d.recorded_neurons()[0];
    let raw: Vec<(f64, f64)> = d.samples(n).map(|s| (d.v[s], d.w[s])).collect();
    let ws = current_scale(&raw.iter().map(|t| t.1).collect::<Vec<_>>());
    let wf = ws.factor;
    let traj: Vec<(f64, f64)> = raw.iter().map(|&(v, w)| (v, w * wf)).collect();
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
    let v_null: Vec<(f64, f64)> = curves.iter().map(|&(v, (wv, _))| (v, wv * wf)).collect();
    let w_null: Vec<(f64, f64)> = curves.iter().map(|&(v, (_, ww))| (v, ww * wf)).collect();
    // The trajectory sets the view; nullclines are drawn where they cross it.
    let w_range = range(traj.iter().map(|t| t.1), 0.3);
    let caption = format!(
        "{} — {} phase plane (I = {})",
        p.title,
        model.kind().name(),
        format::quantity(i, "pA")
    );
    let x = Axis::new(v_lo..v_hi, "V (mV)", 10);
    let y = Axis::new(w_range.clone(), format!("w ({})", ws.unit), 10);
    let mut c = chart(
        area,
        Some((&caption, 22)),
        (&x, true),
        (&y, y.y_area(&FULL)),
        &FULL,
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
    let null_colors = [RGBColor(80, 80, 80), RGBColor(150, 150, 150)];
    for (pts, name, k) in [(&v_null, "V-nullcline", 0), (&w_null, "w-nullcline", 1)] {
        let style = null_colors[k].stroke_width(2);
        for (j, piece) in inside(pts).into_iter().enumerate() {
            let drawn = if k == 0 {
                c.draw_series(LineSeries::new(piece, style)).map_err(err)?
            } else {
                c.draw_series(DashedLineSeries::new(piece, 10, 6, style))
                    .map_err(err)?
            };
            if j == 0 {
                drawn
                    .label(name)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
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
            c.draw_series(LineSeries::new(seg, col)).map_err(err)?;
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
    c.draw_series(LineSeries::new(segment, col))
        .map_err(err)?
        .label(format!("trajectory (neuron {n})"))
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], col));
    c.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .border_style(BLACK.mix(0.5))
        .background_style(WHITE.mix(0.85))
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimation_keeps_each_slice_extremes() {
        // A flat line with one spike: the spike's peak survives decimation.
        let pts: Vec<(f64, f64)> = (0..10_000)
            .map(|k| (k as f64 * 0.1, if k == 5_001 { 40.0 } else { -70.0 }))
            .collect();
        let out = decimate(pts, 100);
        assert!(out.len() <= 202, "{}", out.len());
        assert!(out.iter().any(|p| p.1 == 40.0));
        assert!(out.windows(2).all(|w| w[0].0 <= w[1].0), "time order kept");
    }
}
