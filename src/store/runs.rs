//! runs.parquet: one row per run with its key, seed, status and every parameter as a
//! typed column whose name ends in its unit (DESIGN §7).

use super::parquet::{field, schema, TableWriter};
use super::StoreError;
use crate::experiment::plan::Plan;
use crate::experiment::spec::{Column, Value};
use arrow::array::{ArrayRef, BooleanArray, Float64Array, StringArray, UInt32Array, UInt64Array};
use arrow::datatypes::DataType;
use std::path::Path;
use std::sync::Arc;

/// How a run ended.
#[derive(Clone, Debug, PartialEq)]
pub struct RunResult {
    pub ok: bool,
    pub error: Option<String>,
    pub n_spikes: u64,
    pub wall_s: f64,
}

/// The kind of a parameter column, from its first non-null value.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    F64,
    U64,
    Str,
    Bool,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::F64(_) => Kind::F64,
        Value::U64(_) => Kind::U64,
        Value::Str(_) => Kind::Str,
        Value::Bool(_) => Kind::Bool,
    }
}

pub fn write(path: &Path, plan: &Plan, results: &[RunResult]) -> Result<(), StoreError> {
    let per_run: Vec<Vec<Column>> = plan
        .runs
        .iter()
        .map(|r| r.parameters(plan.indexed_inputs))
        .collect();
    // Union of columns in first-appearance order; a run without one gets null.
    let mut names: Vec<(String, Option<&'static str>, Kind)> = Vec::new();
    for cols in &per_run {
        for c in cols {
            if !names.iter().any(|(n, _, _)| *n == c.name) {
                names.push((c.name.clone(), c.unit, kind(&c.value)));
            }
        }
    }
    // Group columns by what they describe; within a group keep first appearance.
    let rank = |name: &str| {
        ["model_", "initial_", "input_", "window_"]
            .iter()
            .position(|p| name.starts_with(p))
            .map_or(0, |i| i + 1)
    };
    names.sort_by_key(|(n, _, _)| rank(n));
    let mut fields = vec![
        field("run_id", DataType::UInt32, false, None),
        field("run_key", DataType::Utf8, false, None),
        field("label", DataType::Utf8, false, None),
        field("seed", DataType::UInt64, false, None),
        field("status", DataType::Utf8, false, None),
        field("error", DataType::Utf8, true, None),
    ];
    let runs = &plan.runs;
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(UInt32Array::from_iter_values(runs.iter().map(|r| r.run_id))),
        Arc::new(StringArray::from_iter_values(
            runs.iter().map(|r| r.key.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            runs.iter().map(|r| r.label.as_str()),
        )),
        Arc::new(UInt64Array::from_iter_values(runs.iter().map(|r| r.seed))),
        Arc::new(StringArray::from_iter_values(results.iter().map(|r| {
            if r.ok {
                "ok"
            } else {
                "failed"
            }
        }))),
        Arc::new(StringArray::from_iter(
            results.iter().map(|r| r.error.as_deref()),
        )),
    ];
    for (name, unit, k) in &names {
        let value = |cols: &Vec<Column>| {
            cols.iter()
                .find(|c| &c.name == name)
                .map(|c| c.value.clone())
        };
        let (dt, array): (DataType, ArrayRef) = match k {
            Kind::F64 => (
                DataType::Float64,
                Arc::new(Float64Array::from_iter(per_run.iter().map(
                    |c| match value(c) {
                        Some(Value::F64(x)) => Some(x),
                        _ => None,
                    },
                ))),
            ),
            Kind::U64 => (
                DataType::UInt64,
                Arc::new(UInt64Array::from_iter(per_run.iter().map(
                    |c| match value(c) {
                        Some(Value::U64(x)) => Some(x),
                        _ => None,
                    },
                ))),
            ),
            Kind::Str => (
                DataType::Utf8,
                Arc::new(StringArray::from_iter(per_run.iter().map(
                    |c| match value(c) {
                        Some(Value::Str(x)) => Some(x),
                        _ => None,
                    },
                ))),
            ),
            Kind::Bool => (
                DataType::Boolean,
                Arc::new(BooleanArray::from_iter(per_run.iter().map(
                    |c| match value(c) {
                        Some(Value::Bool(x)) => Some(x),
                        _ => None,
                    },
                ))),
            ),
        };
        let nullable = array.null_count() > 0;
        fields.push(field(name, dt, nullable, *unit));
        cols.push(array);
    }
    fields.push(field("n_spikes", DataType::UInt64, false, None));
    cols.push(Arc::new(UInt64Array::from_iter_values(
        results.iter().map(|r| r.n_spikes),
    )));
    fields.push(field("wall_s", DataType::Float64, false, Some("s")));
    cols.push(Arc::new(Float64Array::from_iter_values(
        results.iter().map(|r| r.wall_s),
    )));
    let mut table = TableWriter::create(path, schema(fields))?;
    table.write(cols)?;
    table.commit()
}
