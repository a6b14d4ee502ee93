//! neurons.parquet: the value each neuron took of every value that varies per neuron
//! (`per_neuron:`), one row per neuron of each run that varies something, so that it
//! joins to spikes and summary on (run_id, neuron). Written with runs.parquet, in
//! chunks of rows, so memory does not grow with the population or the sweep.

use super::layout::{self, field};
use super::parquet::TableWriter;
use super::{Meta, StoreError};
use crate::experiment::plan::Plan;
use arrow::array::{ArrayRef, Float64Array, UInt32Array};
use arrow::datatypes::DataType;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// Rows per record batch: one row group holds several, and a chunk is a few MB.
const CHUNK: usize = 1 << 16;

/// Runs of a streamed plan resolved at a time.
const RUNS_AT_ONCE: usize = 1 << 12;

/// The table's value columns: the union of every run's varied values as (name,
/// unit), grouped as the runs table groups parameters (model, initial, input) and
/// within a group in order of first appearance.
fn columns(plan: &Plan) -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = Vec::new();
    if !plan.varies_per_neuron() {
        return out;
    }
    for run in plan
        .chunks(RUNS_AT_ONCE)
        .flatten()
        .filter(|r| r.varies_per_neuron())
    {
        for c in run.per_neuron.columns(plan.indexed_inputs) {
            if !out.iter().any(|(n, _)| *n == c.0) {
                out.push(c);
            }
        }
    }
    let rank = |name: &str| {
        ["model_", "initial_", "input_"]
            .iter()
            .position(|p| name.starts_with(p))
            .unwrap_or(3)
    };
    out.sort_by_key(|(n, _)| rank(n));
    out
}

/// Rows gathered until a chunk is full.
struct Chunk {
    run_id: Vec<u32>,
    neuron: Vec<u32>,
    values: Vec<Vec<Option<f64>>>,
}

impl Chunk {
    fn new(width: usize) -> Chunk {
        Chunk {
            run_id: Vec::with_capacity(CHUNK),
            neuron: Vec::with_capacity(CHUNK),
            values: vec![Vec::with_capacity(CHUNK); width],
        }
    }

    fn flush(&mut self, table: &mut TableWriter) -> Result<(), StoreError> {
        if self.run_id.is_empty() {
            return Ok(());
        }
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(UInt32Array::from(std::mem::take(&mut self.run_id))),
            Arc::new(UInt32Array::from(std::mem::take(&mut self.neuron))),
        ];
        for v in &mut self.values {
            cols.push(Arc::new(Float64Array::from(std::mem::take(v))));
        }
        table.write(cols)
    }
}

/// Write neurons.parquet of the dataset `meta` describes when some run of the plan
/// varies a value per neuron; returns whether it wrote the file.
pub fn write(path: &Path, plan: &Plan, meta: &Meta) -> Result<bool, StoreError> {
    let names = columns(plan);
    if names.is_empty() {
        return Ok(false);
    }
    let index: HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, (n, _))| (n.as_str(), i))
        .collect();
    let fields = names
        .iter()
        .map(|(n, unit)| field(n, DataType::Float64, true, Some(unit)))
        .collect();
    let mut table = TableWriter::create(path, layout::NEURONS.schema(fields), meta)?;
    let mut chunk = Chunk::new(names.len());
    for run in plan
        .chunks(RUNS_AT_ONCE)
        .flatten()
        .filter(|r| r.varies_per_neuron())
    {
        // Where each of the run's columns goes in the table.
        let slots: Vec<usize> = run
            .per_neuron
            .columns(plan.indexed_inputs)
            .iter()
            .map(|(n, _)| index[n.as_str()])
            .collect();
        let mut first = 0;
        while first < run.neurons {
            let room = CHUNK - chunk.run_id.len();
            let last = first.saturating_add(room as u32).min(run.neurons);
            let values = run.neuron_table(first, last);
            let n = (last - first) as usize;
            chunk.run_id.extend(std::iter::repeat_n(run.run_id, n));
            chunk.neuron.extend(first..last);
            let mut filled = vec![false; names.len()];
            for (slot, column) in slots.iter().zip(values) {
                chunk.values[*slot].extend(column.into_iter().map(Some));
                filled[*slot] = true;
            }
            for (v, _) in chunk.values.iter_mut().zip(&filled).filter(|(_, f)| !**f) {
                v.extend(std::iter::repeat_n(None, n));
            }
            if chunk.run_id.len() >= CHUNK {
                chunk.flush(&mut table)?;
            }
            first = last;
        }
    }
    chunk.flush(&mut table)?;
    table.commit()?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::{parse, plan::plan};
    use crate::store::parquet::test_meta;
    use crate::store::reader::read_batches;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Float64Type, UInt32Type};

    fn plan_of(text: &str) -> Plan {
        plan(&parse(text).unwrap()).unwrap()
    }

    #[test]
    fn rows_are_per_neuron_and_null_where_a_run_does_not_vary_the_value() {
        // Two variants: one varies a, the other the amplitude; a third varies nothing.
        let p = plan_of(
            "name: t\nduration: 10 ms\ndt: 0.1 ms\nneurons: 70000\nmodel: {type: adex}\ninput: {type: constant, amplitude: 100 pA}\n\
             variants:\n  - {label: a, per_neuron: {model.a: {linspace: [0 nS, 7 nS]}}}\n  - {label: i, per_neuron: {input.amplitude: {linspace: [0 pA, 700 pA]}}}\n  - {label: none}\n",
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("neurons.parquet");
        assert!(write(&path, &p, &test_meta()).unwrap());
        let batches = read_batches(&path).unwrap();
        let schema = batches[0].schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(
            names,
            ["run_id", "neuron", "model_a_nS", "input_amplitude_pA"]
        );
        assert_eq!(layout::unit_of(schema.field(2)), Some("nS"));
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        assert_eq!(rows, 2 * 70000, "chunks span runs");
        let id_of = |label: &str| p.runs().iter().find(|r| r.label == label).unwrap().run_id;
        for b in &batches {
            let ids = b.column(0).as_primitive::<UInt32Type>();
            let neuron = b.column(1).as_primitive::<UInt32Type>();
            let a = b.column(2).as_primitive::<Float64Type>();
            let amp = b.column(3).as_primitive::<Float64Type>();
            for k in 0..b.num_rows() {
                let x = f64::from(neuron.value(k)) * (7.0 / 69999.0);
                if ids.value(k) == id_of("a") {
                    assert!(amp.is_null(k) && (a.value(k) - x).abs() < 1e-9);
                } else {
                    assert_eq!(ids.value(k), id_of("i"));
                    assert!(a.is_null(k) && (amp.value(k) - 100.0 * x).abs() < 1e-9);
                }
            }
        }
        // Nothing varies: no file.
        let none = plan_of("name: t\nduration: 10 ms\ndt: 0.1 ms\nmodel: {type: lif}\n");
        let other = dir.path().join("none.parquet");
        assert!(!write(&other, &none, &test_meta()).unwrap());
        assert!(!other.exists());
    }

    #[test]
    fn frequencies_are_in_hz_with_the_digits_they_were_given() {
        let p = plan_of(
            "name: t\nduration: 10 ms\ndt: 0.1 ms\nneurons: 4\nmodel: {type: lif}\n\
             input: {type: sine, amplitude: 100 pA, frequency: 5 Hz}\n\
             per_neuron: {input.frequency: {list: [4.1 Hz, 20 Hz, 0.0069 kHz, 1 /s]}}\n",
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("neurons.parquet");
        assert!(write(&path, &p, &test_meta()).unwrap());
        let b = &read_batches(&path).unwrap()[0];
        let f = b.schema().field(2).clone();
        assert_eq!(f.name(), "input_frequency_Hz");
        assert_eq!(layout::unit_of(&f), Some("Hz"));
        // 0.0041 kHz * 1000 would be 4.1000000000000005, 0.0069 kHz 6.8999999999999995.
        let hz: Vec<f64> = b.column(2).as_primitive::<Float64Type>().values().to_vec();
        assert_eq!(hz, [4.1, 20.0, 6.9, 1.0]);
    }
}
