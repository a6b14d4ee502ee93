//! RunSpec: one fully resolved, validated run — plain data in engine units. The
//! engine is a pure function of a RunSpec (and the streams its seed gives), so any
//! run can be re-executed alone.

use super::per_neuron::{self, Varied};
use crate::model::{ModelKind, Params};
use crate::stimulus::{Field, Input};
use crate::units::{Dim, UnitSet};
use std::fmt::Write;

/// Integration method (the experiment's `method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Euler,
    Rk4,
    /// Exact integration of the linear LIF (current constant over each step).
    Exact,
}

impl Method {
    pub const ALL: [Method; 3] = [Method::Euler, Method::Rk4, Method::Exact];

    pub fn name(self) -> &'static str {
        match self {
            Method::Euler => "euler",
            Method::Rk4 => "rk4",
            Method::Exact => "exact",
        }
    }
}

/// How threshold crossings are found (the experiment's `crossings`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Crossings {
    /// At grid points, and between them under white noise by the Brownian bridge
    /// (models with a fixed threshold, the LIF).
    #[default]
    Bridge,
    /// At grid points only, as Brian2 and NEST find them.
    Grid,
}

impl Crossings {
    pub const ALL: [Crossings; 2] = [Crossings::Bridge, Crossings::Grid];

    pub fn name(self) -> &'static str {
        match self {
            Crossings::Bridge => "bridge",
            Crossings::Grid => "grid",
        }
    }
}

/// An initial value: fixed, or drawn per neuron from a normal distribution.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum InitValue {
    Fixed(f64),
    Normal { mean: f64, sd: f64 },
}

/// Initial membrane potential (mV) and adaptation current (pA).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Initial {
    pub v: InitValue,
    pub w: InitValue,
}

/// What to record besides spikes: which variables, which neurons (sorted, unique),
/// and every how many steps.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub v: bool,
    pub i: bool,
    pub w: bool,
    pub neurons: Vec<u32>,
    pub every: u32,
    /// How recorded values are stored; the engine integrates in f64 either way.
    pub precision: Precision,
}

/// The floating-point width of recorded trace values in traces/ (`record.precision`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Precision {
    #[default]
    F64,
    /// Half the bytes; a value keeps 24 significant bits (within 4e-6 mV of V below
    /// 128 mV in magnitude).
    F32,
}

impl Record {
    pub fn any(&self) -> bool {
        (self.v || self.i || self.w) && !self.neurons.is_empty()
    }
}

/// One run, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSpec {
    /// Position in the plan; names the run in the tables.
    pub run_id: u32,
    /// The variant's label (or the experiment name for a single run).
    pub label: String,
    /// Stable hash of the resolved parameters and replicate (see `seed`).
    pub key: String,
    pub seed: u64,
    pub replicate: u32,
    /// The model's parameters; they know their model (`model()`).
    pub params: Params,
    pub method: Method,
    pub crossings: Crossings,
    /// Simulated time in ms; a whole number of steps.
    pub duration: f64,
    pub dt: f64,
    pub steps: u64,
    pub neurons: u32,
    pub initial: Initial,
    pub input: Input,
    pub record: Record,
    /// Analysis window [t0, t1] in ms.
    pub window: (f64, f64),
    /// Values that differ from neuron to neuron (none for most runs).
    pub per_neuron: PerNeuron,
}

/// The values of a run that vary per neuron, and how each neuron's value is chosen
/// (`experiment::per_neuron` resolves, draws and checks them).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PerNeuron {
    /// The varied values in the order written, then the defaults that follow them.
    pub(crate) varied: Vec<Varied>,
    /// The model's derived defaults the run did not give: recomputed from each
    /// neuron's parameters (V_peak from its V_T), as a run-level value would be.
    pub(crate) derive: Vec<&'static str>,
    /// Whether the initial V is the model's resting potential (not given): then it
    /// follows each neuron's parameters (its E_L), as it would at run level.
    pub(crate) v_at_rest: bool,
}

impl PerNeuron {
    /// The runs-table (and neurons.parquet) column of each varied value, with its
    /// table unit.
    pub fn columns(&self, indexed_inputs: bool) -> Vec<(String, &'static str)> {
        self.varied
            .iter()
            .map(|v| (v.column(indexed_inputs, UnitSet::Table), v.dim.table_unit()))
            .collect()
    }
}

/// What one neuron of a run takes in place of the run's own values; `None` where it
/// takes the run's value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NeuronValues {
    /// The neuron's complete model parameters.
    pub params: Option<Params>,
    /// The neuron's input.
    pub input: Option<Input>,
    /// Initial V (mV) and w (pA), in place of a draw from `initial`.
    pub v: Option<f64>,
    pub w: Option<f64>,
}

/// A value in the runs table.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    F64(f64),
    U64(u64),
    Str(String),
    Bool(bool),
}

/// One parameter of a run as a runs-table column: name with unit suffix, unit, value.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub name: String,
    pub unit: Option<&'static str>,
    pub value: Value,
}

impl Column {
    pub(crate) fn new(name: impl Into<String>, unit: Option<&'static str>, value: Value) -> Self {
        Column {
            name: name.into(),
            unit,
            value,
        }
    }

    fn quantity(path: &str, dim: Dim, value: f64, set: UnitSet) -> Self {
        Column::quantity_of(&[path], dim, value, set)
    }

    /// A quantity column named by `parts` and its unit in `set`, joined by '_', its
    /// engine `value` expressed in that unit. Built with `push_str` rather than
    /// `format!`: columns are made several times per run of a sweep, and formatting
    /// was most of a large plan's time.
    fn quantity_of(parts: &[&str], dim: Dim, value: f64, set: UnitSet) -> Self {
        let unit = set.unit(dim);
        Column::new(
            joined(parts, unit),
            Some(unit),
            Value::F64(set.value(dim, value)),
        )
    }
}

/// `parts` and `last` joined by '_'.
fn joined(parts: &[&str], last: &str) -> String {
    let mut name =
        String::with_capacity(parts.iter().map(|p| p.len() + 1).sum::<usize>() + last.len());
    for p in parts {
        name.push_str(p);
        name.push('_');
    }
    name.push_str(last);
    name
}

impl RunSpec {
    /// The model the run integrates.
    pub fn model(&self) -> ModelKind {
        self.params.kind()
    }

    /// Steps times neurons (saturating: 10^10 steps of 4·10^9 neurons overflow).
    pub fn neuron_steps(&self) -> u64 {
        self.steps.saturating_mul(u64::from(self.neurons))
    }

    /// Relative cost of the run, for balancing batches and shards: neuron-steps
    /// weighted by the method's work per step, plus the trace rows it writes.
    pub fn cost(&self) -> u64 {
        let per_step = match self.method {
            Method::Rk4 => 4,
            Method::Euler | Method::Exact => 1,
        };
        let samples = if self.record.any() {
            self.steps / u64::from(self.record.every) * self.record.neurons.len() as u64
        } else {
            0
        };
        self.steps * u64::from(self.neurons) * per_step + samples
    }

    /// Whether any value of the run varies per neuron.
    pub fn varies_per_neuron(&self) -> bool {
        !self.per_neuron.varied.is_empty()
    }

    /// The values of neurons `first..last` that differ from the run's (one entry per
    /// neuron; all `None` when nothing varies per neuron). A neuron's values depend
    /// only on the run and its index, not on the block asked for.
    pub fn neuron_values(&self, first: u32, last: u32) -> Vec<NeuronValues> {
        if !self.varies_per_neuron() {
            return vec![NeuronValues::default(); last.saturating_sub(first) as usize];
        }
        per_neuron::block(self, first, last, true).values
    }

    /// The value of each varied path (in `per_neuron.columns` order, in its table
    /// unit) for neurons `first..last`: `out[i][j]` is path i's value of neuron
    /// first + j.
    pub fn neuron_table(&self, first: u32, last: u32) -> Vec<Vec<f64>> {
        if !self.varies_per_neuron() {
            return Vec::new();
        }
        let mut columns = per_neuron::block(self, first, last, false).columns;
        for (v, column) in self.per_neuron.varied.iter().zip(&mut columns) {
            if v.dim.table_unit() != v.dim.unit() {
                column.iter_mut().for_each(|x| *x = v.dim.to_table(*x));
            }
        }
        columns
    }

    /// Every parameter of the run as typed columns (the runs table's), quantities in
    /// their table units. With `indexed_inputs` stimulus columns are numbered
    /// (input_0_…, input_1_…), as needed when any run of the plan sums several
    /// stimuli. A value that varies per neuron has NaN in its column and the rule in a
    /// text column `<name>_per_neuron` beside it.
    pub fn parameters(&self, indexed_inputs: bool) -> Vec<Column> {
        self.columns(indexed_inputs, true, UnitSet::Table)
    }

    fn columns(&self, indexed_inputs: bool, with_derived: bool, set: UnitSet) -> Vec<Column> {
        let mut cols = vec![
            Column::new("model", None, Value::Str(self.model().name().into())),
            Column::new("method", None, Value::Str(self.method.name().into())),
        ];
        // Only when not the default, so that the runs (and keys) of experiments that do
        // not set it are what they were before the option existed.
        if self.crossings != Crossings::default() {
            cols.push(Column::new(
                "crossings",
                None,
                Value::Str(self.crossings.name().into()),
            ));
        }
        cols.extend([
            Column::quantity("duration", Dim::Time, self.duration, set),
            Column::quantity("dt", Dim::Time, self.dt, set),
            Column::new("neurons", None, Value::U64(self.neurons.into())),
            Column::new("replicate", None, Value::U64(self.replicate.into())),
        ]);
        for (info, value) in self.params.iter() {
            cols.push(Column::quantity_of(
                &["model", info.name],
                info.dim,
                value,
                set,
            ));
        }
        let mut init = |name: &str, dim: Dim, value: InitValue| match value {
            InitValue::Fixed(x) => cols.push(Column::quantity_of(&["initial", name], dim, x, set)),
            InitValue::Normal { mean, sd } => {
                cols.push(Column::quantity_of(
                    &["initial", name, "mean"],
                    dim,
                    mean,
                    set,
                ));
                cols.push(Column::quantity_of(&["initial", name, "sd"], dim, sd, set));
            }
        };
        init("V", Dim::Voltage, self.initial.v);
        if self.model().has_w() {
            init("w", Dim::Current, self.initial.w);
        }
        for (k, s) in self.input.stimuli.iter().enumerate() {
            let prefix = if indexed_inputs {
                joined(&["input"], &k.to_string())
            } else {
                "input".to_string()
            };
            cols.push(Column::new(
                joined(&[&prefix], "type"),
                None,
                Value::Str(s.name().into()),
            ));
            for (key, field) in s.fields() {
                cols.push(match field {
                    Field::Quantity(dim, x) => Column::quantity_of(&[&prefix, key], dim, x, set),
                    Field::Count(c) => {
                        Column::new(joined(&[&prefix], key), None, Value::U64(c.into()))
                    }
                    Field::Flag(b) => Column::new(joined(&[&prefix], key), None, Value::Bool(b)),
                });
            }
        }
        cols.push(Column::quantity(
            "window_start",
            Dim::Time,
            self.window.0,
            set,
        ));
        cols.push(Column::quantity(
            "window_stop",
            Dim::Time,
            self.window.1,
            set,
        ));
        cols.push(Column::quantity(
            "stimulus_onset",
            Dim::Time,
            self.input.onset(),
            set,
        ));
        if self.varies_per_neuron() {
            per_neuron::mark_columns(self, &mut cols, indexed_inputs, with_derived, set);
        }
        cols
    }

    /// The text a run key hashes: everything that shapes the simulated numbers, and
    /// nothing else (not the label, the recording or the analysis window), so that
    /// recording more or renaming a variant never changes a run's random draws. In
    /// engine units, not the tables': the keys (and so every seed) stay those of
    /// datasets written before the tables took Hz and MOhm.
    pub fn canonical(&self) -> String {
        let mut out = String::with_capacity(1024);
        out.push_str("neurodyn-run/v1\n");
        // Without the defaults that follow varied values: they are a function of
        // the rest, and are found only after the key gives the draws their seed.
        for c in self.columns(true, false, UnitSet::Engine) {
            // Analysis settings and derived values do not shape the simulation.
            if c.name.starts_with("window_")
                || c.name.starts_with("stimulus_")
                || c.name == "replicate"
            {
                continue;
            }
            // Written in place: this runs once per run of a sweep.
            let name = c.name;
            let _ = match c.value {
                Value::F64(x) => writeln!(out, "{name}={x:?}"),
                Value::U64(x) => writeln!(out, "{name}={x}"),
                Value::Str(s) => writeln!(out, "{name}={s}"),
                Value::Bool(b) => writeln!(out, "{name}={b}"),
            };
        }
        out
    }
}
