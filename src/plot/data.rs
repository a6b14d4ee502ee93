//! What a figure needs from the dataset, through its `Reader`: one run's parameters,
//! its traces and spikes, and the F-I curves.

use super::format;
use crate::analysis::AnalysisError;
use crate::model::{ModelKind, Params};
use crate::store::layout::{self, param, FI_CURVE};
use crate::store::reader::{self as table, ReadError, Reader, Runs};
use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, UInt64Type};
use arrow::util::display::array_value_to_string;

/// The run parameters the figures use (engine units).
#[derive(Clone, Debug, Default)]
pub struct RunParams {
    pub run_id: u32,
    pub label: String,
    pub neurons: u32,
    pub duration: f64,
    pub window: (f64, f64),
    /// The model's parameters, read back through the registry (None for a model this
    /// build does not know).
    pub model: Option<Params>,
    pub v_reset: f64,
    /// The voltage whose crossing is a spike (the model's cut-off or threshold).
    pub v_spike: f64,
    /// The figure title: label and the values swept within it (`Structure::title`).
    pub title: String,
}

/// One run's recorded samples (rows in (neuron, t) order) and spikes.
#[derive(Clone, Debug, Default)]
pub struct RunData {
    pub params: RunParams,
    pub neuron: Vec<u32>,
    pub t: Vec<f64>,
    pub v: Vec<f64>,
    pub i: Vec<f64>,
    pub w: Vec<f64>,
    pub spikes: Vec<(u32, f64)>,
}

impl RunData {
    /// Up to three recorded neurons, lowest first.
    pub fn recorded_neurons(&self) -> Vec<u32> {
        let mut n = self.neuron.clone();
        n.dedup();
        n.truncate(3);
        n
    }

    /// Sample indices of one neuron.
    pub fn samples(&self, n: u32) -> impl Iterator<Item = usize> + '_ {
        (0..self.neuron.len()).filter(move |&k| self.neuron[k] == n)
    }

    fn trains(&self) -> Vec<Vec<f64>> {
        let mut out: Vec<Vec<f64>> = Vec::new();
        let mut last = None;
        for &(n, t) in &self.spikes {
            if t < self.params.window.0 || t >= self.params.window.1 {
                continue;
            }
            if last != Some(n) {
                out.push(Vec::new());
                last = Some(n);
            }
            out.last_mut().expect("pushed").push(t);
        }
        out
    }

    /// ISIs in the analysis window, pooled over neurons.
    pub fn isis(&self) -> Vec<f64> {
        self.trains()
            .iter()
            .flat_map(|t| crate::analysis::intervals::isis(t))
            .collect()
    }

    /// Consecutive ISI pairs (ISI_k, ISI_k+1), pooled over neurons.
    pub fn isi_pairs(&self) -> Vec<(f64, f64)> {
        self.trains()
            .iter()
            .flat_map(|t| {
                let i = crate::analysis::intervals::isis(t);
                i.windows(2).map(|p| (p[0], p[1])).collect::<Vec<_>>()
            })
            .collect()
    }

    /// The input current a neuron saw in the analysis window (median of the recorded
    /// I; 0 when I was not recorded).
    pub fn stimulus_current(&self, n: u32) -> f64 {
        if self.i.is_empty() {
            return 0.0;
        }
        let within: Vec<f64> = self
            .samples(n)
            .filter(|&s| self.t[s] >= self.params.window.0 && self.t[s] < self.params.window.1)
            .map(|s| self.i[s])
            .collect();
        crate::analysis::intervals::median(&within).unwrap_or(0.0)
    }
}

fn params(runs: &Runs, id: u32) -> Result<RunParams, AnalysisError> {
    let info = runs.get(id).ok_or(AnalysisError::NoRun {
        run: id,
        last: runs.table.num_rows().saturating_sub(1),
    })?;
    let t = &runs.table;
    let k = id as usize;
    let f = |name: &str| -> f64 {
        t.column_by_name(name)
            .and_then(|c| c.as_primitive_opt::<Float64Type>())
            .filter(|c| !c.is_null(k))
            .map_or(f64::NAN, |c| c.value(k))
    };
    let name = t
        .column_by_name(param::MODEL)
        .map(|c| array_value_to_string(c, k).unwrap_or_default())
        .unwrap_or_default();
    // Each parameter's column is named as `RunSpec::parameters` writes it, in its
    // table unit; the model takes engine units.
    let model = ModelKind::by_name(&name).map(|kind| {
        let mut p = Params::defaults(kind);
        for info in kind.params() {
            let column = f(&format!("model_{}_{}", info.name, info.dim.table_unit()));
            p.set(info.name, info.dim.from_table(column));
        }
        p
    });
    let (v_reset, v_spike) = model.map_or((f64::NAN, f64::NAN), |p| {
        let def = p.kind().def();
        ((def.reset)(&p), (def.spike_voltage)(&p))
    });
    Ok(RunParams {
        run_id: id,
        label: info.label.clone(),
        neurons: info.neurons,
        duration: f(param::DURATION_MS),
        window: info.window,
        model,
        v_reset,
        v_spike,
        title: info.label.clone(),
    })
}

/// Load one run: parameters, recorded samples and spikes.
pub fn run_data(reader: &Reader, id: u32) -> Result<RunData, AnalysisError> {
    let params = params(reader.runs(), id)?;
    let spikes = reader.run_spikes(id)?;
    let traces = reader.run_traces(id)?;
    Ok(RunData {
        params,
        neuron: traces.neuron,
        t: traces.t,
        v: traces.v,
        i: traces.i,
        w: traces.w,
        spikes,
    })
}

/// One F-I curve: its legend, its runs' label, (current, mean rate, SD) points and
/// its rheobase estimate.
#[derive(Clone, Debug)]
pub struct Curve {
    pub legend: String,
    pub label: String,
    pub points: Vec<(f64, f64, f64)>,
    pub rheobase: Option<f64>,
}

impl Curve {
    /// Whether the curve sweeps a current (more than one point).
    pub fn swept(&self) -> bool {
        self.points.len() > 1
    }
}

/// The curves of fi_curve.parquet, labelled by the parameters that tell them apart.
pub fn fi_curves(reader: &Reader) -> Result<Vec<Curve>, AnalysisError> {
    let path = reader.file(&FI_CURVE.entry());
    let batches = reader.fi_curve()?;
    let Some(schema) = batches.first().map(|b| b.schema()) else {
        return Ok(Vec::new());
    };
    let all = arrow::compute::concat_batches(&schema, &batches)
        .map_err(|e| ReadError::format(&path, e))?;
    if all.num_rows() == 0 {
        return Ok(Vec::new());
    }
    let group = all
        .column_by_name(layout::GROUP.name)
        .and_then(|c| {
            c.as_primitive_opt::<arrow::datatypes::UInt32Type>()
                .cloned()
        })
        .or_else(|| {
            all.column_by_name(layout::GROUP.name)
                .and_then(|c| c.as_primitive_opt::<UInt64Type>())
                .map(|c| c.iter().map(|v| v.map(|x| x as u32)).collect())
        })
        .ok_or_else(|| ReadError::format(&path, "no group column"))?;
    let rate = |suffix: &str| format!("{}{suffix}", layout::RATE_HZ.name);
    let current = table::f64_column(&all, layout::CURRENT.name, &path)?;
    let mean = table::f64_column(&all, &rate(layout::FI_MEAN), &path)?;
    let sd = table::f64_column(&all, &rate(layout::FI_SD), &path)?;
    let rheobase = table::f64_column(&all, layout::RHEOBASE.name, &path)?;
    // Parameter columns sit between the group and the current.
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let lo = names
        .iter()
        .position(|n| n == layout::GROUP.name)
        .unwrap_or(0)
        + 1;
    let hi = names
        .iter()
        .position(|n| n == layout::CURRENT.name)
        .unwrap_or(lo);
    let value = |c: &str, k: usize| {
        all.column_by_name(c)
            .map(|a| {
                if a.is_null(k) {
                    String::new()
                } else {
                    array_value_to_string(a, k).unwrap_or_default()
                }
            })
            .unwrap_or_default()
    };
    // Legend: the label, plus each parameter that tells apart curves of one label.
    let label = layout::LABEL.name;
    let has_label = names[lo..hi].iter().any(|c| c == label);
    let varying: Vec<&String> = names[lo..hi]
        .iter()
        .filter(|c| {
            let mut first: std::collections::HashMap<String, String> = Default::default();
            (0..all.num_rows()).any(|k| {
                let within = if has_label && c.as_str() != label {
                    value(label, k)
                } else {
                    String::new()
                };
                let v = value(c, k);
                first.entry(within).or_insert_with(|| v.clone()) != &v
            })
        })
        .collect();
    // A parameter in the legend as its experiment path and its value in the unit
    // that fits it ("t_ref = 2 ms").
    let shown = |c: &str, k: usize| {
        let field = schema.field_with_name(c).ok();
        let unit = field.and_then(|f| layout::unit_of(f));
        let v = all
            .column_by_name(c)
            .and_then(|a| a.as_primitive_opt::<Float64Type>())
            .filter(|a| !a.is_null(k));
        match (unit, v) {
            (Some(u), Some(a)) => format!(
                "{} = {}",
                format::param_name(c, Some(u)),
                format::quantity(a.value(k), u)
            ),
            _ => format!("{} = {}", format::param_name(c, unit), value(c, k)),
        }
    };
    let mut curves: Vec<(u32, Curve)> = Vec::new();
    for k in 0..all.num_rows() {
        let g = group.value(k);
        if curves.last().is_none_or(|(last, _)| *last != g) {
            let legend = varying
                .iter()
                .map(|c| {
                    if c.as_str() == label {
                        value(c, k)
                    } else {
                        shown(c, k)
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            curves.push((
                g,
                Curve {
                    legend: if legend.is_empty() {
                        "all runs".into()
                    } else {
                        legend
                    },
                    label: value(label, k),
                    points: Vec::new(),
                    rheobase: Some(rheobase)
                        .filter(|r| !r.is_null(k) && r.value(k).is_finite())
                        .map(|r| r.value(k)),
                },
            ));
        }
        // A current that varies per neuron has no one value (NaN): nothing to plot.
        if current.is_null(k) || !current.value(k).is_finite() || mean.is_null(k) {
            continue;
        }
        let s = if sd.is_null(k) { 0.0 } else { sd.value(k) };
        curves
            .last_mut()
            .expect("pushed")
            .1
            .points
            .push((current.value(k), mean.value(k), s));
    }
    Ok(curves
        .into_iter()
        .map(|(_, c)| c)
        .filter(|c| !c.points.is_empty())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_parameters_come_back_from_table_units_as_planned() {
        // Izhikevich's a is a rate: 0.0041 /ms is stored as 4.1 Hz (0.0041 × 1000 is
        // 4.1000000000000005) and must come back as the same engine value.
        let text = "name: izh\nduration: 5 ms\ndt: 0.1 ms\n\
                    model: {type: izhikevich, a: 0.0041 /ms}\n\
                    input: {type: constant, amplitude: 100 pA}\n";
        let plan = crate::plan(&crate::parse(text).unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut opts = crate::RunOptions::new(dir.path().join("d"), text);
        opts.analyze = false;
        let summary = crate::run(&plan, &opts).unwrap();
        let reader = Reader::open(&summary.out).unwrap();
        let a = reader.runs().table.column_by_name("model_a_Hz").unwrap();
        assert_eq!(a.as_primitive::<Float64Type>().value(0), 4.1);
        let read = params(reader.runs(), 0).unwrap().model.unwrap();
        let planned = plan.spec(0).params;
        for info in planned.kind().params() {
            assert_eq!(
                read.value(info.name),
                planned.value(info.name),
                "{}",
                info.name
            );
        }
    }
}
