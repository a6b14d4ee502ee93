//! runs.parquet: one row per run with its key, experiment, seed (as text), status and
//! every parameter as a typed column whose name ends in its table unit. Written in
//! chunks of runs, so memory does not grow with the size of the sweep.

use super::layout::{self, field};
use super::outcomes::Outcomes;
use super::parquet::TableWriter;
use super::{Meta, StoreError};
use crate::experiment::plan::Plan;
use crate::experiment::spec::{RunSpec, Value};
use arrow::array::{ArrayRef, BooleanArray, Float64Array, StringArray, UInt32Array, UInt64Array};
use arrow::datatypes::DataType;
use rayon::prelude::*;
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// Runs per record batch.
const CHUNK: usize = 1 << 12;

/// Runs per row group: a row group is held encoded in memory until it closes, and
/// a run's row (key, label, every parameter) is wide, so groups are smaller than the
/// other tables' (a 10⁷-run sweep held 150 MB of its first 2²⁰ rows).
const ROW_GROUP: usize = 1 << 16;

/// The kind of a parameter column, from its first value.
#[derive(Clone, Copy, PartialEq, Debug)]
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

/// A parameter column of the runs table: name, unit, kind, and whether some run
/// lacks it (then it holds nulls).
pub struct ParamColumn {
    pub name: String,
    pub unit: Option<&'static str>,
    kind: Kind,
    pub nullable: bool,
}

/// The union of every run's parameter columns: grouped by what they describe, and
/// within a group in order of first appearance.
pub fn parameter_columns(plan: &Plan) -> Vec<ParamColumn> {
    // Each chunk of runs lists its columns in order of first appearance, on all
    // cores; the lists are then merged in run order.
    let mut per_chunk: Vec<Vec<(ParamColumn, usize)>> = Vec::new();
    for runs in plan.chunks(CHUNK * 16) {
        per_chunk.extend(columns_of(plan, &runs));
    }
    merge(per_chunk, plan.len())
}

/// Each chunk of `runs`'s parameter columns, in order of first appearance, with the
/// number of runs that have each.
fn columns_of(plan: &Plan, runs: &[Cow<'_, RunSpec>]) -> Vec<Vec<(ParamColumn, usize)>> {
    runs.par_chunks(CHUNK)
        .map(|runs| {
            let mut local: Vec<(ParamColumn, usize)> = Vec::new();
            let mut seen: HashMap<String, usize> = HashMap::new();
            for run in runs {
                for c in run.parameters(plan.indexed_inputs) {
                    let i = *seen.entry(c.name.clone()).or_insert_with(|| {
                        local.push((
                            ParamColumn {
                                name: c.name.clone(),
                                unit: c.unit,
                                kind: kind(&c.value),
                                nullable: false,
                            },
                            0,
                        ));
                        local.len() - 1
                    });
                    local[i].1 += 1;
                }
            }
            local
        })
        .collect()
}

/// The chunks' column lists merged in run order; a column is nullable when fewer
/// than all `runs` have it.
fn merge(per_chunk: Vec<Vec<(ParamColumn, usize)>>, runs: usize) -> Vec<ParamColumn> {
    let mut names: Vec<ParamColumn> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut counts: Vec<usize> = Vec::new();
    for (column, n) in per_chunk.into_iter().flatten() {
        let i = *seen.entry(column.name.clone()).or_insert_with(|| {
            names.push(column);
            counts.push(0);
            names.len() - 1
        });
        counts[i] += n;
    }
    for (col, n) in names.iter_mut().zip(counts) {
        col.nullable = n < runs;
    }
    let rank = |name: &str| {
        ["model_", "initial_", "input_", "window_", "stimulus_"]
            .iter()
            .position(|p| name.starts_with(p))
            .map_or(0, |i| i + 1)
    };
    names.sort_by_key(|c| rank(&c.name));
    names
}

/// The parameter columns of `runs`, as arrays.
fn parameter_arrays(
    plan: &Plan,
    names: &[ParamColumn],
    runs: &[Cow<'_, RunSpec>],
) -> Vec<ArrayRef> {
    let index: HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.as_str(), i))
        .collect();
    let mut cells: Vec<Vec<Option<Value>>> = vec![Vec::with_capacity(runs.len()); names.len()];
    let rows: Vec<Vec<Option<Value>>> = runs
        .par_iter()
        .map(|run| {
            let mut row: Vec<Option<Value>> = vec![None; names.len()];
            for c in run.parameters(plan.indexed_inputs) {
                if let Some(&i) = index.get(c.name.as_str()) {
                    row[i] = Some(c.value);
                }
            }
            row
        })
        .collect();
    for row in rows {
        for (col, v) in cells.iter_mut().zip(row) {
            col.push(v);
        }
    }
    names
        .iter()
        .zip(cells)
        .map(|(c, col)| -> ArrayRef {
            match c.kind {
                Kind::F64 => Arc::new(Float64Array::from_iter(col.into_iter().map(|v| match v {
                    Some(Value::F64(x)) => Some(x),
                    _ => None,
                }))),
                Kind::U64 => Arc::new(UInt64Array::from_iter(col.into_iter().map(|v| match v {
                    Some(Value::U64(x)) => Some(x),
                    _ => None,
                }))),
                Kind::Str => Arc::new(StringArray::from_iter(col.into_iter().map(|v| match v {
                    Some(Value::Str(x)) => Some(x),
                    _ => None,
                }))),
                Kind::Bool => Arc::new(BooleanArray::from_iter(col.into_iter().map(|v| match v {
                    Some(Value::Bool(x)) => Some(x),
                    _ => None,
                }))),
            }
        })
        .collect()
}

fn data_type(k: Kind) -> DataType {
    match k {
        Kind::F64 => DataType::Float64,
        Kind::U64 => DataType::UInt64,
        Kind::Str => DataType::Utf8,
        Kind::Bool => DataType::Boolean,
    }
}

/// Write runs.parquet of the dataset `meta` describes, with how each run ended from
/// `outcomes`.
pub fn write(path: &Path, plan: &Plan, outcomes: &Outcomes, meta: &Meta) -> Result<(), StoreError> {
    let names = parameter_columns(plan);
    let parameters = names
        .iter()
        .map(|c| field(&c.name, data_type(c.kind), c.nullable, c.unit))
        .collect();
    let mut table = TableWriter::create(path, layout::RUNS.schema(parameters), meta)?;
    let mut start = 0;
    for runs in plan.chunks(CHUNK) {
        let end = start + runs.len();
        let ids = start as u32..end as u32;
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(UInt32Array::from_iter_values(runs.iter().map(|r| r.run_id))),
            Arc::new(StringArray::from_iter_values(
                runs.iter().map(|r| r.key.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                runs.iter().map(|_| meta.name.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                runs.iter().map(|r| r.label.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                runs.iter().map(|r| r.seed.to_string()),
            )),
            Arc::new(StringArray::from_iter_values(ids.clone().map(|i| {
                if outcomes.ok(i) {
                    layout::STATUS_OK
                } else {
                    layout::STATUS_FAILED
                }
            }))),
            Arc::new(StringArray::from_iter(
                ids.clone().map(|i| outcomes.error(i)),
            )),
        ];
        cols.extend(parameter_arrays(plan, &names, &runs));
        cols.push(Arc::new(UInt64Array::from_iter_values(
            ids.clone().map(|i| outcomes.n_spikes(i)),
        )));
        cols.push(Arc::new(Float64Array::from_iter_values(
            ids.map(|i| outcomes.wall_s(i)),
        )));
        table.write(cols)?;
        if end % ROW_GROUP == 0 {
            table.end_row_group()?;
        }
        start = end;
    }
    table.commit()
}
