//! F-I curves: firing rate against injected current, one curve per group
//! of runs that share every parameter but the swept current and the replicate. Mean,
//! SD (n − 1) and count over neurons and replicates, for the window, steady-state and
//! onset rates; the Fano factor of the window spike counts over the same trains; and
//! a rheobase estimate per group. The aggregation is a polars lazy query over the
//! summary joined with the runs' parameters.

use super::{AnalysisError, SummaryRow};
use crate::store::layout::{self, fi_curve_field, param, CURRENT, GROUP, RUNS};
use crate::store::parquet::TableWriter;
use crate::store::reader::Runs;
use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, StringArray, UInt32Array, UInt64Array,
};
use arrow::datatypes::{DataType as ArrowType, Float64Type, UInt64Type};
use polars::prelude::*;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc as StdArc;

/// Whether a column of the runs table tells curves apart: every parameter but the
/// replicate, and the label.
fn is_grouping(name: &str) -> bool {
    name == layout::LABEL.name || !(RUNS.has(name) || name == param::REPLICATE)
}

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

/// A polars column as an arrow array, typed as fi_curve.parquet stores it.
pub fn to_arrow(c: &Column) -> Result<(ArrowType, ArrayRef), AnalysisError> {
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

/// One number per cell of a grouping column such that equal cells get equal numbers:
/// a float's bits (every NaN alike), an integer or flag itself, a text's first row.
/// Null is u64::MAX, which no float bits, flag or first row reach in a runs table.
fn cell_ids(a: &ArrayRef) -> Vec<u64> {
    let n = a.len();
    let null = |k: usize| a.is_null(k);
    if let Some(f) = a.as_primitive_opt::<Float64Type>() {
        return (0..n)
            .map(|k| match f.value(k) {
                _ if null(k) => u64::MAX,
                x if x.is_nan() => f64::NAN.to_bits(),
                x => x.to_bits(),
            })
            .collect();
    }
    if let Some(u) = a.as_primitive_opt::<UInt64Type>() {
        return (0..n)
            .map(|k| if null(k) { u64::MAX } else { u.value(k) })
            .collect();
    }
    if let Some(b) = a.as_boolean_opt() {
        return (0..n)
            .map(|k| {
                if null(k) {
                    u64::MAX
                } else {
                    u64::from(b.value(k))
                }
            })
            .collect();
    }
    let text = arrow::compute::cast(a, &ArrowType::Utf8).ok();
    let text = text.as_ref().and_then(|t| t.as_string_opt::<i32>());
    let mut first: HashMap<&str, u64> = HashMap::new();
    (0..n)
        .map(|k| match text {
            _ if null(k) => u64::MAX,
            Some(t) => *first.entry(t.value(k)).or_insert(k as u64),
            None => 0,
        })
        .collect()
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
        .filter(|n| is_grouping(n) && Some(n) != current.as_ref())
        .collect();
    // A group id per run: runs with equal values in every grouping column share it,
    // numbered by first appearance in run_id order.
    let mut group_of_run = vec![0u32; table.num_rows()];
    let mut first_run_of_group: Vec<usize> = Vec::new();
    let mut ids: HashMap<Vec<u64>, u32> = HashMap::new();
    let cells: Vec<Vec<u64>> = group_cols
        .iter()
        .map(|c| cell_ids(table.column_by_name(c).expect("listed column")))
        .collect();
    for (k, slot) in group_of_run.iter_mut().enumerate() {
        let key: Vec<u64> = cells.iter().map(|c| c[k]).collect();
        let next = ids.len() as u32;
        *slot = *ids.entry(key).or_insert_with(|| {
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

    let (group, current_pa) = (GROUP.name, CURRENT.name);
    let rate = |name: &str| -> Vec<Option<f64>> {
        let k = layout::STATISTICS.iter().position(|c| c.name == name);
        rows.iter()
            .map(|r| k.and_then(|k| super::statistics(r)[k]))
            .collect()
    };
    let mut sample_columns = vec![
        Column::new(
            group.into(),
            rows.iter()
                .map(|r| group_of_run[r.run_id as usize])
                .collect::<Vec<u32>>(),
        ),
        Column::new(
            current_pa.into(),
            rows.iter()
                .map(|r| currents[r.run_id as usize])
                .collect::<Vec<f64>>(),
        ),
    ];
    for r in layout::FI_RATES {
        sample_columns.push(Column::new(r.name.into(), rate(r.name)));
    }
    let n_spikes = layout::N_SPIKES.name;
    sample_columns.push(Column::new(
        n_spikes.into(),
        rows.iter()
            .map(|r| r.stats.n_spikes as f64)
            .collect::<Vec<f64>>(),
    ));
    let samples = DataFrame::new(rows.len(), sample_columns).map_err(polars_err)?;
    let mut group_columns = vec![Column::new(
        group.into(),
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
    for (r, [mean, sd, count]) in layout::fi_aggregates() {
        aggs.push(col(r.name).mean().alias(mean));
        aggs.push(col(r.name).std(1).alias(sd));
        aggs.push(col(r.name).count().alias(count));
    }
    // Fano factor of the counts of every train at this current (all replicates, all
    // neurons): Var (ddof 0, as Elephant's `fanofactor`) over mean, null where the
    // mean is 0 (`intervals::fano_factor` says why).
    let counts = col(n_spikes);
    aggs.push(
        when(counts.clone().mean().gt(lit(0.0)))
            .then(counts.clone().var(0) / counts.mean())
            .otherwise(lit(NULL))
            .alias(layout::FANO_FACTOR.name),
    );
    let per_current = samples
        .lazy()
        .group_by([col(group), col(current_pa)])
        .agg(aggs);
    let rate_mean = format!("{}{}", layout::RATE_HZ.name, layout::FI_MEAN);
    // Rheobase: midway between the largest silent current and the smallest current at
    // which the mean window rate is above zero; null when the curve does not bracket it.
    let first_firing = per_current
        .clone()
        .filter(col(&rate_mean).gt(lit(0.0)))
        .group_by([col(group)])
        .agg([col(current_pa).min().alias("first_firing_pA")]);
    let last_silent = per_current
        .clone()
        .join(
            first_firing.clone(),
            [col(group)],
            [col(group)],
            JoinArgs::new(JoinType::Left),
        )
        .filter(
            col(&rate_mean)
                .eq(lit(0.0))
                .and(col(current_pa).lt(col("first_firing_pA"))),
        )
        .group_by([col(group)])
        .agg([col(current_pa).max().alias("last_silent_pA")]);
    let rheobase = first_firing
        .join(
            last_silent,
            [col(group)],
            [col(group)],
            JoinArgs::new(JoinType::Left),
        )
        .select([
            col(group),
            ((col("first_firing_pA") + col("last_silent_pA")) / lit(2.0))
                .alias(layout::RHEOBASE.name),
        ]);
    let out = groups
        .lazy()
        .join(
            per_current,
            [col(group)],
            [col(group)],
            JoinArgs::new(JoinType::Inner),
        )
        .join(
            rheobase,
            [col(group)],
            [col(group)],
            JoinArgs::new(JoinType::Left),
        )
        .sort([group, current_pa], SortMultipleOptions::default())
        .collect()
        .map_err(polars_err)?;
    Ok(out)
}

/// Write fi_curve.parquet; returns its row count.
pub fn write(path: &Path, runs: &Runs, rows: &[SummaryRow]) -> Result<usize, AnalysisError> {
    let df = curves(runs, rows)?;
    let params = runs.table.schema();
    let mut fields = Vec::new();
    let mut arrays = Vec::new();
    for c in df.columns() {
        let (t, a) = to_arrow(c)?;
        let name = c.name().as_str();
        let param_unit = params.field_with_name(name).ok().and_then(layout::unit_of);
        fields.push(fi_curve_field(name, t, param_unit));
        arrays.push(a);
    }
    let mut w = TableWriter::create(path, layout::schema(fields))?;
    if df.height() > 0 {
        w.write(arrays)?;
    }
    w.commit()?;
    Ok(df.height())
}
