//! RunSpec: one fully resolved, validated run — plain data in engine units. The
//! engine is a pure function of a RunSpec (and the streams its seed gives), so any
//! run can be re-executed alone.

use crate::model::{ModelKind, Params};
use crate::stimulus::{Field, Input};
use crate::units::Dim;

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
    fn new(name: impl Into<String>, unit: Option<&'static str>, value: Value) -> Self {
        Column {
            name: name.into(),
            unit,
            value,
        }
    }

    fn quantity(path: &str, dim: Dim, value: f64) -> Self {
        let unit = dim.unit();
        Column::new(format!("{path}_{unit}"), Some(unit), Value::F64(value))
    }
}

impl RunSpec {
    /// The model the run integrates.
    pub fn model(&self) -> ModelKind {
        self.params.kind()
    }

    /// Every parameter of the run as typed columns (the runs table's). With `indexed_inputs`
    /// stimulus columns are numbered (input_0_…, input_1_…), as needed when any run
    /// of the plan sums several stimuli.
    pub fn parameters(&self, indexed_inputs: bool) -> Vec<Column> {
        let mut cols = vec![
            Column::new("model", None, Value::Str(self.model().name().into())),
            Column::new("method", None, Value::Str(self.method.name().into())),
            Column::quantity("duration", Dim::Time, self.duration),
            Column::quantity("dt", Dim::Time, self.dt),
            Column::new("neurons", None, Value::U64(self.neurons.into())),
            Column::new("replicate", None, Value::U64(self.replicate.into())),
        ];
        for info in self.model().params() {
            let value = self.params.get(info.name).unwrap_or(f64::NAN);
            cols.push(Column::quantity(
                &format!("model_{}", info.name),
                info.dim,
                value,
            ));
        }
        let mut init = |name: &str, dim: Dim, value: InitValue| match value {
            InitValue::Fixed(x) => cols.push(Column::quantity(&format!("initial_{name}"), dim, x)),
            InitValue::Normal { mean, sd } => {
                cols.push(Column::quantity(&format!("initial_{name}_mean"), dim, mean));
                cols.push(Column::quantity(&format!("initial_{name}_sd"), dim, sd));
            }
        };
        init("V", Dim::Voltage, self.initial.v);
        if self.model().has_w() {
            init("w", Dim::Current, self.initial.w);
        }
        for (k, s) in self.input.stimuli.iter().enumerate() {
            let prefix = if indexed_inputs {
                format!("input_{k}")
            } else {
                "input".to_string()
            };
            cols.push(Column::new(
                format!("{prefix}_type"),
                None,
                Value::Str(s.name().into()),
            ));
            for (key, field) in s.fields() {
                let name = format!("{prefix}_{key}");
                cols.push(match field {
                    Field::Quantity(dim, x) => Column::quantity(&name, dim, x),
                    Field::Count(c) => Column::new(name, None, Value::U64(c.into())),
                    Field::Flag(b) => Column::new(name, None, Value::Bool(b)),
                });
            }
        }
        cols.push(Column::quantity("window_start", Dim::Time, self.window.0));
        cols.push(Column::quantity("window_stop", Dim::Time, self.window.1));
        cols.push(Column::quantity(
            "stimulus_onset",
            Dim::Time,
            self.input.onset(),
        ));
        cols
    }

    /// The text a run key hashes: everything that shapes the simulated numbers, and
    /// nothing else (not the label, the recording or the analysis window), so that
    /// recording more or renaming a variant never changes a run's random draws.
    pub fn canonical(&self) -> String {
        let mut out = String::from("neurodyn-run/v1\n");
        for c in self.parameters(true) {
            // Analysis settings and derived values do not shape the simulation.
            if c.name.starts_with("window_")
                || c.name.starts_with("stimulus_")
                || c.name == "replicate"
            {
                continue;
            }
            let v = match c.value {
                Value::F64(x) => format!("{x:?}"),
                Value::U64(x) => x.to_string(),
                Value::Str(s) => s,
                Value::Bool(b) => b.to_string(),
            };
            out.push_str(&format!("{}={v}\n", c.name));
        }
        out
    }
}
