//! What a figure needs from the dataset: one run's parameters, its traces and spikes
//! (read only from the part files its manifest names), and the F-I table.

use crate::analysis::table::{self, Runs};
use crate::analysis::AnalysisError;
use crate::store::Dataset;
use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, UInt64Type};
use arrow::util::display::array_value_to_string;
use std::path::Path;

/// The run parameters the figures use (engine units).
#[derive(Clone, Debug, Default)]
pub struct RunParams {
    pub run_id: u32,
    pub label: String,
    pub model: String,
    pub neurons: u32,
    pub duration: f64,
    pub window: (f64, f64),
    pub g_l: f64,
    pub e_l: f64,
    pub v_t: f64,
    pub delta_t: f64,
    pub a: f64,
    pub v_reset: f64,
    /// V_peak (EIF, AdEx) or V_th (LIF).
    pub v_spike: f64,
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
            .flat_map(|t| crate::analysis::train::isis(t))
            .collect()
    }

    /// Consecutive ISI pairs (ISI_k, ISI_k+1), pooled over neurons.
    pub fn isi_pairs(&self) -> Vec<(f64, f64)> {
        self.trains()
            .iter()
            .flat_map(|t| {
                let i = crate::analysis::train::isis(t);
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
        crate::analysis::train::median(&within).unwrap_or(0.0)
    }
}

fn read_error(path: &Path, m: impl std::fmt::Display) -> AnalysisError {
    AnalysisError::Read {
        path: path.to_path_buf(),
        message: m.to_string(),
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
    let model = t
        .column_by_name("model")
        .map(|c| array_value_to_string(c, k).unwrap_or_default())
        .unwrap_or_default();
    let v_spike = if model == "lif" {
        f("model_V_th_mV")
    } else {
        f("model_V_peak_mV")
    };
    Ok(RunParams {
        run_id: id,
        label: info.label.clone(),
        neurons: info.neurons,
        duration: f("duration_ms"),
        window: info.window,
        g_l: f("model_g_L_nS"),
        e_l: f("model_E_L_mV"),
        v_t: f("model_V_T_mV"),
        delta_t: f("model_Delta_T_mV"),
        a: f("model_a_nS"),
        v_reset: f("model_V_reset_mV"),
        v_spike,
        model,
    })
}

/// Load one run: parameters, recorded samples and spikes.
pub fn run_data(root: &Path, id: u32) -> Result<RunData, AnalysisError> {
    let runs = Runs::read(&root.join("runs.parquet"))?;
    let mut d = RunData {
        params: params(&runs, id)?,
        ..RunData::default()
    };
    let dataset = Dataset::read(root)?;
    let Some(batch) = dataset
        .manifests()?
        .into_iter()
        .find(|m| m.runs.iter().any(|r| r.run_id == id))
    else {
        return Ok(d);
    };
    let part = |table: &str| {
        root.join(table)
            .join(format!("part-{}.parquet", batch.batch))
    };
    let spikes = part("spikes");
    if spikes.exists() {
        for b in table::read(&spikes)? {
            let rid = table::u32_column(&b, "run_id", &spikes)?;
            let n = table::u32_column(&b, "neuron", &spikes)?;
            let t = table::f64_column(&b, "t_ms", &spikes)?;
            for k in (0..b.num_rows()).filter(|&k| rid.value(k) == id) {
                d.spikes.push((n.value(k), t.value(k)));
            }
        }
    }
    let traces = part("traces");
    if traces.exists() {
        for b in table::read(&traces)? {
            let rid = table::u32_column(&b, "run_id", &traces)?;
            let n = table::u32_column(&b, "neuron", &traces)?;
            let t = table::f64_column(&b, "t_ms", &traces)?;
            let col = |name: &str| {
                b.column_by_name(name)
                    .and_then(|c| c.as_primitive_opt::<Float64Type>().cloned())
            };
            let (v, i, w) = (col("V_mV"), col("I_pA"), col("w_pA"));
            for k in (0..b.num_rows()).filter(|&k| rid.value(k) == id) {
                d.neuron.push(n.value(k));
                d.t.push(t.value(k));
                if let Some(v) = &v {
                    d.v.push(v.value(k));
                }
                if let Some(i) = &i {
                    d.i.push(i.value(k));
                }
                if let Some(w) = w.as_ref().filter(|w| !w.is_null(k)) {
                    d.w.push(w.value(k));
                }
            }
        }
    }
    Ok(d)
}

/// One F-I curve: its legend and (current, mean rate, SD) points.
#[derive(Clone, Debug)]
pub struct Curve {
    pub label: String,
    pub points: Vec<(f64, f64, f64)>,
}

/// The curves of fi_curve.parquet, labelled by the parameters that tell them apart.
pub fn fi_curves(root: &Path) -> Result<Vec<Curve>, AnalysisError> {
    let path = root.join("fi_curve.parquet");
    let batches = table::read(&path)?;
    let Some(schema) = batches.first().map(|b| b.schema()) else {
        return Ok(Vec::new());
    };
    let all =
        arrow::compute::concat_batches(&schema, &batches).map_err(|e| read_error(&path, e))?;
    if all.num_rows() == 0 {
        return Ok(Vec::new());
    }
    let group = all
        .column_by_name("group")
        .and_then(|c| {
            c.as_primitive_opt::<arrow::datatypes::UInt32Type>()
                .cloned()
        })
        .or_else(|| {
            all.column_by_name("group")
                .and_then(|c| c.as_primitive_opt::<UInt64Type>())
                .map(|c| c.iter().map(|v| v.map(|x| x as u32)).collect())
        })
        .ok_or_else(|| read_error(&path, "no group column"))?;
    let current = table::f64_column(&all, "current_pA", &path)?;
    let mean = table::f64_column(&all, "rate_Hz_mean", &path)?;
    let sd = table::f64_column(&all, "rate_Hz_sd", &path)?;
    // Parameter columns sit between "group" and "current_pA".
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let lo = names.iter().position(|n| n == "group").unwrap_or(0) + 1;
    let hi = names.iter().position(|n| n == "current_pA").unwrap_or(lo);
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
    let has_label = names[lo..hi].iter().any(|c| c == "label");
    let varying: Vec<&String> = names[lo..hi]
        .iter()
        .filter(|c| {
            let mut first: std::collections::HashMap<String, String> = Default::default();
            (0..all.num_rows()).any(|k| {
                let within = if has_label && c.as_str() != "label" {
                    value("label", k)
                } else {
                    String::new()
                };
                let v = value(c, k);
                first.entry(within).or_insert_with(|| v.clone()) != &v
            })
        })
        .collect();
    let mut curves: Vec<(u32, Curve)> = Vec::new();
    for k in 0..all.num_rows() {
        let g = group.value(k);
        if curves.last().is_none_or(|(last, _)| *last != g) {
            let label = varying
                .iter()
                .map(|c| {
                    if c.as_str() == "label" {
                        value(c, k)
                    } else {
                        format!("{c}={}", value(c, k))
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            curves.push((
                g,
                Curve {
                    label: if label.is_empty() {
                        "all runs".into()
                    } else {
                        label
                    },
                    points: Vec::new(),
                },
            ));
        }
        let s = if sd.is_null(k) { 0.0 } else { sd.value(k) };
        curves
            .last_mut()
            .expect("pushed")
            .1
            .points
            .push((current.value(k), mean.value(k), s));
    }
    Ok(curves.into_iter().map(|(_, c)| c).collect())
}
