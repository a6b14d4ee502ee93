//! F-I curves: firing rate against injected current, one curve per group
//! of runs that share every parameter but the swept current and the replicate. Mean,
//! SD (n − 1) and count over neurons and replicates, for the window, steady-state and
//! onset rates; the Fano factor of the window spike counts over the same trains; and
//! a rheobase estimate per group.
//!
//! The aggregation streams: runs (a slice of the runs table) and then their summary
//! rows are added a chunk at a time, and what is held is one accumulator per row of
//! the F-I table and the parameters of each group's first run, so memory grows with
//! the table, not with the runs or neurons. Rows come out in (group, current) order,
//! groups numbered by their first run in run-id order.

use super::{AnalysisError, SummaryRow};
use crate::store::layout::{self, fi_curve_field, param, CURRENT, GROUP, RUNS};
use crate::store::parquet::TableWriter;
use crate::store::reader::Runs;
use crate::store::Meta;
use arrow::array::{Array, ArrayRef, AsArray, Float64Array, RecordBatch, UInt32Array};
use arrow::datatypes::{DataType, Float64Type, SchemaRef, UInt64Type};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// Whether a column of the runs table tells curves apart: every parameter but the
/// replicate, and the label.
fn is_grouping(name: &str) -> bool {
    name == layout::LABEL.name || !(RUNS.has(name) || name == param::REPLICATE)
}

/// Whether a runs-table column may be the swept current: an input amplitude, mean or
/// offset in pA (and of type F64, which `CurrentFinder` checks).
pub fn is_current_candidate(name: &str) -> bool {
    name.starts_with("input")
        && (name.ends_with("_amplitude_pA")
            || name.ends_with("_mean_pA")
            || name.ends_with("_offset_pA"))
}

/// The swept current, found over the runs table read in pieces: the first candidate
/// column (`is_current_candidate`) whose value varies across runs; else the first
/// candidate; None without input.
#[derive(Default)]
pub struct CurrentFinder {
    /// Each F64 candidate column in table order: its name, its first non-null value,
    /// and whether a later value differed (NaN differs from everything).
    candidates: Option<Vec<(String, Option<f64>, bool)>>,
}

impl CurrentFinder {
    pub fn add(&mut self, runs: &RecordBatch) {
        let candidates = self.candidates.get_or_insert_with(|| {
            runs.schema()
                .fields()
                .iter()
                .filter(|f| is_current_candidate(f.name()) && f.data_type() == &DataType::Float64)
                .map(|f| (f.name().clone(), None, false))
                .collect()
        });
        for (name, first, varies) in candidates.iter_mut() {
            let Some(a) = runs
                .column_by_name(name)
                .and_then(|a| a.as_primitive_opt::<Float64Type>())
            else {
                continue;
            };
            for v in a.iter().flatten() {
                match *first {
                    None => *first = Some(v),
                    Some(f) if v != f => {
                        *varies = true;
                        break;
                    }
                    Some(_) => {}
                }
            }
        }
    }

    pub fn finish(self) -> Option<String> {
        let candidates = self.candidates.unwrap_or_default();
        candidates
            .iter()
            .find(|(_, _, varies)| *varies)
            .or(candidates.first())
            .map(|(name, _, _)| name.clone())
    }
}

/// The swept current of a runs table held whole (`CurrentFinder`).
pub fn current_column(runs: &Runs) -> Option<String> {
    let mut f = CurrentFinder::default();
    f.add(&runs.table);
    f.finish()
}

/// Mean and spread of a sample given one value at a time. The spread is Welford's
/// update of the sum of squared deviations M2 (Welford 1962, Technometrics 4:419;
/// Knuth, TAOCP vol. 2, 4.2.2), which stays accurate where Σx² − n·x̄² would cancel;
/// the mean is the sum over n, the sum compensated (Neumaier 1974, ZAMM 54:39) so
/// that its error does not grow with n.
#[derive(Clone, Copy, Debug, Default)]
struct Moments {
    n: u64,
    welford_mean: f64,
    m2: f64,
    sum: f64,
    compensation: f64,
}

impl Moments {
    fn add(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.welford_mean;
        self.welford_mean += d / self.n as f64;
        self.m2 += d * (x - self.welford_mean);
        let t = self.sum + x;
        self.compensation += if self.sum.abs() >= x.abs() {
            (self.sum - t) + x
        } else {
            (x - t) + self.sum
        };
        self.sum = t;
    }

    fn mean(&self) -> Option<f64> {
        let total = self.sum + self.compensation;
        // An infinite value makes the compensation NaN; the sum is then the answer.
        let total = if total.is_nan() { self.sum } else { total };
        (self.n > 0).then(|| total / self.n as f64)
    }

    /// Sample SD (n − 1); needs two values.
    fn sd(&self) -> Option<f64> {
        (self.n >= 2).then(|| (self.m2 / (self.n - 1) as f64).sqrt())
    }

    /// Population variance (n, ddof 0).
    fn variance_population(&self) -> Option<f64> {
        (self.n > 0).then(|| self.m2 / self.n as f64)
    }
}

/// One row of the F-I table being accumulated: every train of `group` at `current`.
#[derive(Clone, Debug)]
struct Point {
    group: u32,
    /// The current as the first run of the point has it.
    current: f64,
    /// The rates of `layout::FI_RATES`, null values left out.
    rates: [Moments; layout::FI_RATES.len()],
    /// The window spike counts.
    counts: Moments,
}

/// Where a run's trains go: its group and its current.
#[derive(Clone, Copy, Debug)]
pub struct Place {
    group: u32,
    current: f64,
}

/// Equal currents get the same bits: 0 and −0 alike, every NaN alike.
fn current_bits(c: f64) -> u64 {
    if c.is_nan() {
        f64::NAN.to_bits()
    } else if c == 0.0 {
        0
    } else {
        c.to_bits()
    }
}

/// Where currents sort: by value, NaN last.
fn current_order(c: f64) -> f64 {
    f64::from_bits(current_bits(c))
}

/// Whether a grouping column appears in the F-I table (it still tells groups apart
/// when it does not): the types a runs table holds parameters in.
fn shown(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Float64
            | DataType::UInt64
            | DataType::UInt32
            | DataType::Utf8
            | DataType::Boolean
    )
}

/// The F-I table being accumulated.
pub struct Curves {
    runs_schema: SchemaRef,
    current: Option<String>,
    /// The grouping columns (every one but the current), by name.
    group_cols: Vec<String>,
    /// Per grouping column, an id per distinct text (for columns compared as text).
    texts: Vec<HashMap<String, u64>>,
    /// Group id by the cells of its grouping columns (`cell_ids`).
    groups: HashMap<Vec<u64>, u32>,
    /// Per shown grouping column, its value in each group's first run, in group order,
    /// a piece per chunk that opened groups.
    firsts: Vec<(String, Vec<ArrayRef>)>,
    /// Index in `points` by (group, current bits).
    index: HashMap<(u32, u64), usize>,
    points: Vec<Point>,
    /// Where each rate of `layout::FI_RATES` sits in `super::statistics`.
    rate_at: [Option<usize>; layout::FI_RATES.len()],
}

impl Curves {
    /// Curves over runs of a table with `runs_schema`, against the column `current`
    /// (`CurrentFinder`; None: every run at 0 pA).
    pub fn new(runs_schema: SchemaRef, current: Option<String>) -> Curves {
        let group_cols: Vec<String> = runs_schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .filter(|n| is_grouping(n) && Some(n) != current.as_ref())
            .collect();
        let firsts = group_cols
            .iter()
            .filter(|n| {
                runs_schema
                    .field_with_name(n)
                    .is_ok_and(|f| shown(f.data_type()))
            })
            .map(|n| (n.clone(), Vec::new()))
            .collect();
        Curves {
            texts: vec![HashMap::new(); group_cols.len()],
            runs_schema,
            current,
            group_cols,
            groups: HashMap::new(),
            firsts,
            index: HashMap::new(),
            points: Vec::new(),
            rate_at: layout::FI_RATES
                .map(|r| layout::STATISTICS.iter().position(|c| c.name == r.name)),
        }
    }

    /// Add the next runs in run-id order (a slice of the runs table, every run, also
    /// the failed ones, which number groups as the others do); returns where each
    /// run's trains go, for `add`.
    pub fn add_runs(&mut self, runs: &RecordBatch) -> Result<Vec<Place>, AnalysisError> {
        let n = runs.num_rows();
        let column = |name: &str| {
            runs.column_by_name(name)
                .ok_or_else(|| AnalysisError::Read {
                    path: layout::RUNS.entry().into(),
                    message: format!("no column '{name}'"),
                })
        };
        let mut cells = Vec::with_capacity(self.group_cols.len());
        for (c, texts) in self.group_cols.iter().zip(&mut self.texts) {
            cells.push(cell_ids(column(c)?, texts));
        }
        let currents: Vec<f64> = match &self.current {
            Some(c) => {
                let a = column(c)?
                    .as_primitive_opt::<Float64Type>()
                    .ok_or_else(|| AnalysisError::Read {
                        path: layout::RUNS.entry().into(),
                        message: format!("column '{c}' is not F64"),
                    })?;
                (0..n)
                    .map(|k| if a.is_null(k) { 0.0 } else { a.value(k) })
                    .collect()
            }
            None => vec![0.0; n],
        };
        let mut opened = Vec::new();
        let mut places = Vec::with_capacity(n);
        for (k, current) in currents.into_iter().enumerate() {
            let key: Vec<u64> = cells.iter().map(|c| c[k]).collect();
            let next = self.groups.len() as u32;
            let group = *self.groups.entry(key).or_insert_with(|| {
                opened.push(k as u32);
                next
            });
            places.push(Place { group, current });
        }
        if !opened.is_empty() {
            let rows = UInt32Array::from(opened);
            for (name, pieces) in &mut self.firsts {
                let picked = arrow::compute::take(column(name)?, &rows, None)
                    .map_err(|e| AnalysisError::Polars(e.to_string()))?;
                pieces.push(picked);
            }
        }
        Ok(places)
    }

    /// Add one neuron's summary row, its run at `place`.
    pub fn add(&mut self, place: Place, row: &SummaryRow) {
        let key = (place.group, current_bits(place.current));
        let points = &mut self.points;
        let k = *self.index.entry(key).or_insert_with(|| {
            points.push(Point {
                group: place.group,
                current: place.current,
                rates: [Moments::default(); layout::FI_RATES.len()],
                counts: Moments::default(),
            });
            points.len() - 1
        });
        let p = &mut self.points[k];
        let stats = super::statistics(row);
        for (moments, at) in p.rates.iter_mut().zip(self.rate_at) {
            if let Some(v) = at.and_then(|s| stats[s]) {
                moments.add(v);
            }
        }
        p.counts.add(row.stats.n_spikes as f64);
    }

    /// The F-I table: group, the group's parameters, current, then per rate its mean,
    /// SD and count, the Fano factor and the rheobase.
    pub fn finish(self) -> Result<RecordBatch, AnalysisError> {
        let mut points = self.points;
        points.sort_by(|a, b| {
            a.group
                .cmp(&b.group)
                .then(current_order(a.current).total_cmp(&current_order(b.current)))
        });
        let rheobase = rheobases(&points);
        let arrow_err = |e: arrow::error::ArrowError| AnalysisError::Polars(e.to_string());
        let unit = |name: &str| {
            self.runs_schema
                .field_with_name(name)
                .ok()
                .and_then(layout::unit_of)
                .map(String::from)
        };
        let mut fields = Vec::new();
        let mut columns: Vec<ArrayRef> = Vec::new();
        let mut push = |name: &str, a: ArrayRef| {
            fields.push(fi_curve_field(
                name,
                a.data_type().clone(),
                unit(name).as_deref(),
            ));
            columns.push(a);
        };
        let groups = UInt32Array::from_iter_values(points.iter().map(|p| p.group));
        push(GROUP.name, Arc::new(groups.clone()));
        for (name, pieces) in &self.firsts {
            let data_type = self
                .runs_schema
                .field_with_name(name)
                .map_err(arrow_err)?
                .data_type()
                .clone();
            let parts: Vec<&dyn Array> = pieces.iter().map(|a| a.as_ref()).collect();
            let whole = if parts.is_empty() {
                arrow::array::new_empty_array(&data_type)
            } else {
                arrow::compute::concat(&parts).map_err(arrow_err)?
            };
            push(
                name,
                arrow::compute::take(&whole, &groups, None).map_err(arrow_err)?,
            );
        }
        push(
            CURRENT.name,
            Arc::new(Float64Array::from_iter_values(
                points.iter().map(|p| p.current),
            )),
        );
        for (k, (_, [mean, sd, count])) in layout::fi_aggregates().enumerate() {
            let m = Float64Array::from_iter(points.iter().map(|p| p.rates[k].mean()));
            push(&mean, Arc::new(m));
            let s = Float64Array::from_iter(points.iter().map(|p| p.rates[k].sd()));
            push(&sd, Arc::new(s));
            let n = UInt32Array::from_iter_values(
                points
                    .iter()
                    .map(|p| u32::try_from(p.rates[k].n).unwrap_or(u32::MAX)),
            );
            push(&count, Arc::new(n));
        }
        // Fano factor of the counts of every train at this current (all replicates, all
        // neurons): Var (ddof 0, as Elephant's `fanofactor`) over mean, null where the
        // mean is 0 (`intervals::fano_factor` says why).
        let fano = points.iter().map(|p| {
            let m = p.counts.mean()?;
            (m > 0.0).then(|| p.counts.variance_population().unwrap_or(0.0) / m)
        });
        push(
            layout::FANO_FACTOR.name,
            Arc::new(Float64Array::from_iter(fano)),
        );
        let r = points.iter().map(|p| rheobase.get(&p.group).copied());
        push(layout::RHEOBASE.name, Arc::new(Float64Array::from_iter(r)));
        RecordBatch::try_new(layout::schema(fields), columns).map_err(arrow_err)
    }
}

/// Rheobase per group: midway between the largest silent current and the smallest
/// current at which the mean window rate is above zero; absent when the curve does not
/// bracket it. NaN currents (a current varied per neuron) bracket nothing.
fn rheobases(points: &[Point]) -> HashMap<u32, f64> {
    let mut first_firing: HashMap<u32, f64> = HashMap::new();
    for p in points {
        if p.rates[0].mean().is_some_and(|m| m > 0.0) && !p.current.is_nan() {
            let f = first_firing.entry(p.group).or_insert(p.current);
            *f = f.min(p.current);
        }
    }
    let mut last_silent: HashMap<u32, f64> = HashMap::new();
    for p in points {
        let below = first_firing.get(&p.group).is_some_and(|&f| p.current < f);
        if p.rates[0].mean() == Some(0.0) && below {
            let s = last_silent.entry(p.group).or_insert(p.current);
            *s = s.max(p.current);
        }
    }
    last_silent
        .into_iter()
        .map(|(g, s)| (g, (first_firing[&g] + s) / 2.0))
        .collect()
}

/// One number per cell of a grouping column such that equal cells get equal numbers:
/// a float's bits (every NaN alike), an integer or flag itself, a text's id in
/// `texts` (numbered as they first appear). Null is u64::MAX, which no float bits,
/// flag or text id reaches in a runs table.
fn cell_ids(a: &ArrayRef, texts: &mut HashMap<String, u64>) -> Vec<u64> {
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
    let text = arrow::compute::cast(a, &DataType::Utf8).ok();
    let text = text.as_ref().and_then(|t| t.as_string_opt::<i32>());
    (0..n)
        .map(|k| match text {
            _ if null(k) => u64::MAX,
            Some(t) => {
                let next = texts.len() as u64;
                match texts.get(t.value(k)) {
                    Some(&id) => id,
                    None => *texts.entry(t.value(k).to_string()).or_insert(next),
                }
            }
            None => 0,
        })
        .collect()
}

/// The F-I table of runs and summary rows held in memory (rows in run-id order).
pub fn curves(runs: &Runs, rows: &[SummaryRow]) -> Result<RecordBatch, AnalysisError> {
    let mut c = Curves::new(runs.table.schema(), current_column(runs));
    let places = c.add_runs(&runs.table)?;
    for r in rows {
        if let Some(&p) = places.get(r.run_id as usize) {
            c.add(p, r);
        }
    }
    c.finish()
}

/// Write fi_curve.parquet of the dataset `meta` describes; returns its row count.
pub fn write(path: &Path, table: &RecordBatch, meta: &Meta) -> Result<usize, AnalysisError> {
    let mut w = TableWriter::create(path, table.schema(), meta)?;
    if table.num_rows() > 0 {
        w.write(table.columns().to_vec())?;
    }
    w.commit()?;
    Ok(table.num_rows())
}
