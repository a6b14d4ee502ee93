//! F-I curves (DESIGN §8): firing rate against injected current, one curve per group
//! of runs that share every parameter but the swept current and the replicate. Mean,
//! SD (n − 1) and count over neurons and replicates, for the window, steady-state and
//! onset rates, and a rheobase estimate per group. The aggregation is a polars lazy
//! query over the summary joined with the runs' parameters.

use super::table::Runs;
use super::{AnalysisError, SummaryRow};
use crate::store::parquet::{field, schema, TableWriter};
use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, StringArray, UInt32Array, UInt64Array,
};
use arrow::datatypes::{DataType as ArrowType, Float64Type};
use arrow::util::display::array_value_to_string;
use polars::prelude::*;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc as StdArc;

/// Columns of the runs table that are not parameters of a curve.
const NOT_GROUPING: &[&str] = &[
    "run_id",
    "run_key",
    "seed",
    "status",
    "error",
    "n_spikes",
    "wall_s",
    "replicate",
];

/// The rates aggregated per current.
const RATES: [&str; 3] = ["rate_Hz", "steady_state_rate_Hz", "onset_rate_Hz"];

/// The swept current: the first input amplitude (or mean, or offset) column, in pA,
/// whose value varies across runs; else the first such column; None without input.
pub fn current_column(runs: &Runs) -> Option<String> {
    let t = &runs.table;
    let candidates: Vec<(String, &Float64Array)> = t
        .schema()
        .fields()
        .iter()
        .filter(|f| {
            let n = f.name();
            n.starts_with("input")
                && (n.ends_with("_amplitude_pA")
                    || n.ends_with("_mean_pA")
                    || n.ends_with("_offset_pA"))
        })
        .filter_map(|f| {
            t.column_by_name(f.name())?
                .as_primitive_opt::<Float64Type>()
                .map(|a| (f.name().clone(), a))
        })
        .collect();
    let varies = |a: &Float64Array| {
        let mut values = a.iter().flatten();
        let first = values.next();
        values.any(|v| Some(v) != first)
    };
    candidates
        .iter()
        .find(|(_, a)| varies(a))
        .or(candidates.first())
        .map(|(n, _)| n.clone())
}

fn polars_err(e: PolarsError) -> AnalysisError {
    AnalysisError::Polars(e.to_string())
}

/// An arrow column as a polars column (the runs table's types only).
fn to_polars(name: &str, a: &ArrayRef) -> Option<Column> {
    let name: PlSmallStr = name.into();
    Some(match a.data_type() {
        ArrowType::Float64 => Column::new(
            name,
            a.as_primitive::<Float64Type>().iter().collect::<Vec<_>>(),
        ),
        ArrowType::UInt64 => Column::new(
            name,
            a.as_primitive::<arrow::datatypes::UInt64Type>()
                .iter()
                .collect::<Vec<_>>(),
        ),
        ArrowType::UInt32 => Column::new(
            name,
            a.as_primitive::<arrow::datatypes::UInt32Type>()
                .iter()
                .collect::<Vec<_>>(),
        ),
        ArrowType::Utf8 => Column::new(name, a.as_string::<i32>().iter().collect::<Vec<_>>()),
        ArrowType::Boolean => Column::new(name, a.as_boolean().iter().collect::<Vec<_>>()),
        _ => return None,
    })
}

/// A polars column as an arrow array with its unit, for writing.
fn to_arrow(c: &Column) -> Result<(ArrowType, ArrayRef), AnalysisError> {
    Ok(match c.dtype() {
        DataType::Float64 => (
            ArrowType::Float64,
            StdArc::new(Float64Array::from_iter(c.f64().map_err(polars_err)?.iter())),
        ),
        DataType::UInt64 => (
            ArrowType::UInt64,
            StdArc::new(UInt64Array::from_iter(c.u64().map_err(polars_err)?.iter())),
        ),
        DataType::UInt32 => (
            ArrowType::UInt32,
            StdArc::new(UInt32Array::from_iter(c.u32().map_err(polars_err)?.iter())),
        ),
        DataType::String => (
            ArrowType::Utf8,
            StdArc::new(StringArray::from_iter(c.str().map_err(polars_err)?.iter())),
        ),
        DataType::Boolean => (
            ArrowType::Boolean,
            StdArc::new(BooleanArray::from_iter(
                c.bool().map_err(polars_err)?.iter(),
            )),
        ),
        // Counts come as polars' index type; anything else integral goes as u64.
        _ => {
            let cast = c.cast(&DataType::UInt64).map_err(polars_err)?;
            (
                ArrowType::UInt64,
                StdArc::new(UInt64Array::from_iter(
                    cast.u64().map_err(polars_err)?.iter(),
                )),
            )
        }
    })
}

/// The unit of a column, read off its name's suffix.
fn unit_of(name: &str) -> Option<&'static str> {
    [
        "pA",
        "ms",
        "mV",
        "pF",
        "nS",
        "Hz",
        "kHz",
        "GOhm",
        "rad",
        "pA_sqrt_ms",
    ]
    .into_iter()
    .rev()
    .find(|u| name.ends_with(&format!("_{u}")) || name.contains(&format!("_{u}_")))
}

/// Compute the F-I table; returns it as a polars DataFrame.
pub fn curves(runs: &Runs, rows: &[SummaryRow]) -> Result<DataFrame, AnalysisError> {
    let table = &runs.table;
    let current = current_column(runs);
    let group_cols: Vec<String> = table
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|n| !NOT_GROUPING.contains(&n.as_str()) && Some(n) != current.as_ref())
        .collect();
    // A group id per run: runs with equal values in every grouping column share it,
    // numbered by first appearance in run_id order.
    let mut group_of_run = vec![0u32; table.num_rows()];
    let mut first_run_of_group: Vec<usize> = Vec::new();
    let mut ids: HashMap<String, u32> = HashMap::new();
    for (k, slot) in group_of_run.iter_mut().enumerate() {
        let key: Vec<String> = group_cols
            .iter()
            .map(|c| {
                let a = table.column_by_name(c).expect("listed column");
                if a.is_null(k) {
                    "\u{0}null".to_string()
                } else {
                    array_value_to_string(a, k).unwrap_or_default()
                }
            })
            .collect();
        let next = ids.len() as u32;
        *slot = *ids.entry(key.join("\u{1f}")).or_insert_with(|| {
            first_run_of_group.push(k);
            next
        });
    }
    let currents: Vec<f64> = match &current {
        Some(c) => {
            let a = table
                .column_by_name(c)
                .expect("current column")
                .as_primitive::<Float64Type>();
            (0..table.num_rows())
                .map(|k| if a.is_null(k) { 0.0 } else { a.value(k) })
                .collect()
        }
        None => vec![0.0; table.num_rows()],
    };

    let rate = |get: fn(&super::TrainStats) -> Option<f64>| -> Vec<Option<f64>> {
        rows.iter().map(|r| get(&r.stats)).collect()
    };
    let samples = DataFrame::new(
        rows.len(),
        vec![
            Column::new(
                "group".into(),
                rows.iter()
                    .map(|r| group_of_run[r.run_id as usize])
                    .collect::<Vec<u32>>(),
            ),
            Column::new(
                "current_pA".into(),
                rows.iter()
                    .map(|r| currents[r.run_id as usize])
                    .collect::<Vec<f64>>(),
            ),
            Column::new("rate_Hz".into(), rate(|s| Some(s.rate_hz))),
            Column::new(
                "steady_state_rate_Hz".into(),
                rate(|s| s.steady_state_rate_hz),
            ),
            Column::new("onset_rate_Hz".into(), rate(|s| s.onset_rate_hz)),
        ],
    )
    .map_err(polars_err)?;
    let mut group_columns = vec![Column::new(
        "group".into(),
        (0..first_run_of_group.len() as u32).collect::<Vec<u32>>(),
    )];
    for c in &group_cols {
        let a = table.column_by_name(c).expect("listed column");
        let picked = arrow::compute::take(
            a,
            &UInt32Array::from_iter_values(first_run_of_group.iter().map(|&k| k as u32)),
            None,
        )
        .map_err(|e| AnalysisError::Polars(e.to_string()))?;
        if let Some(col) = to_polars(c, &picked) {
            group_columns.push(col);
        }
    }
    let groups = DataFrame::new(first_run_of_group.len(), group_columns).map_err(polars_err)?;

    let mut aggs = Vec::new();
    for r in RATES {
        aggs.push(col(r).mean().alias(format!("{r}_mean")));
        aggs.push(col(r).std(1).alias(format!("{r}_sd")));
        aggs.push(col(r).count().alias(format!("{r}_count")));
    }
    let per_current = samples
        .lazy()
        .group_by([col("group"), col("current_pA")])
        .agg(aggs);
    // Rheobase: midway between the largest silent current and the smallest current at
    // which the mean window rate is above zero; null when the curve does not bracket it.
    let first_firing = per_current
        .clone()
        .filter(col("rate_Hz_mean").gt(lit(0.0)))
        .group_by([col("group")])
        .agg([col("current_pA").min().alias("first_firing_pA")]);
    let last_silent = per_current
        .clone()
        .join(
            first_firing.clone(),
            [col("group")],
            [col("group")],
            JoinArgs::new(JoinType::Left),
        )
        .filter(
            col("rate_Hz_mean")
                .eq(lit(0.0))
                .and(col("current_pA").lt(col("first_firing_pA"))),
        )
        .group_by([col("group")])
        .agg([col("current_pA").max().alias("last_silent_pA")]);
    let rheobase = first_firing
        .join(
            last_silent,
            [col("group")],
            [col("group")],
            JoinArgs::new(JoinType::Left),
        )
        .select([
            col("group"),
            ((col("first_firing_pA") + col("last_silent_pA")) / lit(2.0)).alias("rheobase_pA"),
        ]);
    let out = groups
        .lazy()
        .join(
            per_current,
            [col("group")],
            [col("group")],
            JoinArgs::new(JoinType::Inner),
        )
        .join(
            rheobase,
            [col("group")],
            [col("group")],
            JoinArgs::new(JoinType::Left),
        )
        .sort(["group", "current_pA"], SortMultipleOptions::default())
        .collect()
        .map_err(polars_err)?;
    Ok(out)
}

/// Write fi_curve.parquet; returns its row count.
pub fn write(path: &Path, runs: &Runs, rows: &[SummaryRow]) -> Result<usize, AnalysisError> {
    let df = curves(runs, rows)?;
    let mut fields = Vec::new();
    let mut arrays = Vec::new();
    for c in df.columns() {
        let (t, a) = to_arrow(c)?;
        let name = c.name().as_str();
        let unit = if name.ends_with("_count") || name == "group" {
            None
        } else {
            unit_of(name)
        };
        fields.push(field(name, t, a.null_count() > 0 || name != "group", unit));
        arrays.push(a);
    }
    let mut w = TableWriter::create(path, schema(fields))?;
    if df.height() > 0 {
        w.write(arrays)?;
    }
    w.commit()?;
    Ok(df.height())
}
