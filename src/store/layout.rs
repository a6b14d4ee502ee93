//! The dataset's layout: the one place that spells its file and folder names, its
//! tables (each one entry: name, how it is stored, its columns with type and unit)
//! and the column names readers look up. Writers build their schemas from here and
//! readers take their column names from here, so a change of format is made here.
//!
//! A new table is one `Table` constant added to `TABLES`: the dataset's list of
//! entries, repair, verification and `Reader::table`/`Reader::parts` follow from it.

use arrow::datatypes::{DataType, Field, SchemaRef};
use std::collections::HashMap;
use std::sync::Arc;

/// The version of this layout, recorded in the marker (`Meta::format`) and in every
/// table's key-value metadata. Datasets of another format are refused, not read.
/// 3: frequencies in Hz and resistances in MOhm, `seed` as text, the `experiment`
/// column and the tables' key-value metadata.
pub const FORMAT: u32 = 3;

/// The marker file, written first: only a folder holding it is a dataset.
pub const META: &str = "_neurodyn.json";
/// Written last: the dataset is complete.
pub const SUCCESS: &str = "_SUCCESS";
/// One `BATCH.json` per committed batch.
pub const MANIFESTS: &str = "_manifest";
/// Batches being written, one folder each.
pub const STAGING: &str = ".staging";
/// A copy of the experiment file the dataset was run from.
pub const EXPERIMENT: &str = "experiment.yaml";
pub const PROVENANCE: &str = "provenance.json";
/// Figures (`neurodyn plot`).
pub const PLOTS: &str = "plots";
/// The HTML report (`neurodyn report`): `report/index.html`.
pub const REPORT: &str = "report";
pub const REPORT_PAGE: &str = "index.html";

/// The Parquet type of a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    U32,
    U64,
    F64,
    Text,
    Bool,
}

impl Type {
    pub fn arrow(self) -> DataType {
        match self {
            Type::U32 => DataType::UInt32,
            Type::U64 => DataType::UInt64,
            Type::F64 => DataType::Float64,
            Type::Text => DataType::Utf8,
            Type::Bool => DataType::Boolean,
        }
    }
}

/// One column of a table. A quantity's name ends in its unit, which is also in the
/// field's metadata (`unit`), so that readers need not parse names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub ty: Type,
    pub nullable: bool,
    pub unit: Option<&'static str>,
}

impl Column {
    const fn new(name: &'static str, ty: Type, nullable: bool, unit: Option<&'static str>) -> Self {
        Column {
            name,
            ty,
            nullable,
            unit,
        }
    }

    pub fn field(&self) -> Field {
        field(self.name, self.ty.arrow(), self.nullable, self.unit)
    }
}

/// A field whose unit is in its metadata as well as its name.
pub fn field(name: &str, data_type: DataType, nullable: bool, unit: Option<&str>) -> Field {
    let f = Field::new(name, data_type, nullable);
    match unit {
        Some(u) => f.with_metadata(HashMap::from([("unit".to_string(), u.to_string())])),
        None => f,
    }
}

/// The unit a field's metadata records.
pub fn unit_of(f: &Field) -> Option<&str> {
    f.metadata().get("unit").map(String::as_str)
}

use Type::*;

// The keys every part file starts with; rows are in (run_id, neuron, t_ms) order.
pub const RUN_ID: Column = Column::new("run_id", U32, false, None);
pub const NEURON: Column = Column::new("neuron", U32, false, None);
pub const T: Column = Column::new("t_ms", F64, false, Some("ms"));

// Trace values.
pub const V: Column = Column::new("V_mV", F64, false, Some("mV"));
pub const I: Column = Column::new("I_pA", F64, false, Some("pA"));
/// Null for models without an adaptation current.
pub const W: Column = Column::new("w_pA", F64, true, Some("pA"));

// The runs table's own columns (its parameters sit between ERROR and N_SPIKES).
pub const RUN_KEY: Column = Column::new("run_key", Text, false, None);
/// The experiment's `name:`, so that runs of several datasets read together (a glob in
/// DuckDB, a concatenation in pandas) still say where they came from.
pub const EXPERIMENT_NAME: Column = Column::new("experiment", Text, false, None);
pub const LABEL: Column = Column::new("label", Text, false, None);
/// The run's 64-bit unsigned seed as decimal text: R's arrow reads a UInt64 column as
/// doubles (53 bits) and other readers sign-reinterpret it, text is exact everywhere.
pub const SEED: Column = Column::new("seed", Text, false, None);
/// "ok" or "failed".
pub const STATUS: Column = Column::new("status", Text, false, None);
pub const ERROR: Column = Column::new("error", Text, true, None);
/// Spikes of a run (runs) or of a neuron in the analysis window (summary).
pub const N_SPIKES: Column = Column::new("n_spikes", U64, false, None);
pub const WALL_S: Column = Column::new("wall_s", F64, false, Some("s"));
pub const STATUS_OK: &str = "ok";
pub const STATUS_FAILED: &str = "failed";

/// Parameter columns of the runs table that readers rely on; `RunSpec::parameters`
/// writes them (with every other parameter).
pub mod param {
    pub const MODEL: &str = "model";
    pub const DURATION_MS: &str = "duration_ms";
    pub const NEURONS: &str = "neurons";
    pub const REPLICATE: &str = "replicate";
    pub const WINDOW_START_MS: &str = "window_start_ms";
    pub const WINDOW_STOP_MS: &str = "window_stop_ms";
    /// Null for a run without a stimulus onset.
    pub const STIMULUS_ONSET_MS: &str = "stimulus_onset_ms";
}

// Spike-train statistics per (run, neuron), in the summary table.
pub const RATE_HZ: Column = Column::new("rate_Hz", F64, false, Some("Hz"));
pub const MEAN_ISI: Column = Column::new("mean_isi_ms", F64, true, Some("ms"));
pub const MEDIAN_ISI: Column = Column::new("median_isi_ms", F64, true, Some("ms"));
/// SD/mean of the window's ISIs with the sample SD (n − 1): the CV neurodyn gave as
/// `isi_cv` before Elephant's `cv` (population SD) came in beside it.
pub const ISI_CV_SAMPLE: Column = Column::new("isi_cv_sample", F64, true, None);
// ISI variability in Elephant's definitions and names (src/analysis/intervals.rs),
// dimensionless: CV with the population SD, Holt et al.'s CV2, Shinomoto et al.'s LV
// and LvR (R = 5 ms).
pub const CV: Column = Column::new("cv", F64, true, None);
pub const CV2: Column = Column::new("cv2", F64, true, None);
pub const LV: Column = Column::new("lv", F64, true, None);
pub const LVR: Column = Column::new("lvr", F64, true, None);
pub const FIRST_SPIKE_LATENCY: Column =
    Column::new("first_spike_latency_ms", F64, true, Some("ms"));
pub const ONSET_RATE_HZ: Column = Column::new("onset_rate_Hz", F64, true, Some("Hz"));
pub const STEADY_STATE_RATE_HZ: Column = Column::new("steady_state_rate_Hz", F64, true, Some("Hz"));
pub const ADAPTATION_INDEX: Column = Column::new("adaptation_index", F64, true, None);
/// Fano factor (variance, ddof 0, over mean) of the window spike counts of the
/// run's neurons: a property of the run, repeated on each of its neuron rows so that
/// the summary stays one table keyed by (run_id, neuron). Null when every neuron
/// of the run is silent.
pub const FANO_FACTOR_RUN: Column = Column::new("fano_factor_run", F64, true, None);
pub const PATTERN: Column = Column::new("pattern", Text, false, None);
/// The statistics, in their order in the summary table (between N_SPIKES and PATTERN).
pub const STATISTICS: [Column; 13] = [
    RATE_HZ,
    MEAN_ISI,
    MEDIAN_ISI,
    ISI_CV_SAMPLE,
    CV,
    CV2,
    LV,
    LVR,
    FIRST_SPIKE_LATENCY,
    ONSET_RATE_HZ,
    STEADY_STATE_RATE_HZ,
    ADAPTATION_INDEX,
    FANO_FACTOR_RUN,
];

// The F-I table: a curve per group of runs (its parameters sit between GROUP and
// CURRENT), and per current the mean, SD and count of each rate in FI_RATES.
pub const GROUP: Column = Column::new("group", U32, false, None);
pub const CURRENT: Column = Column::new("current_pA", F64, true, Some("pA"));
pub const RHEOBASE: Column = Column::new("rheobase_pA", F64, true, Some("pA"));
/// Fano factor (variance, ddof 0, over mean) of the window spike counts of every
/// train at the row's current: all replicates, all neurons. Null when all are silent.
pub const FANO_FACTOR: Column = Column::new("fano_factor", F64, true, None);
/// The rates the F-I table aggregates, in its column order.
pub const FI_RATES: [Column; 3] = [RATE_HZ, STEADY_STATE_RATE_HZ, ONSET_RATE_HZ];
/// The aggregates of each rate, as suffixes of its name: `rate_Hz_mean`, ...
pub const FI_MEAN: &str = "_mean";
pub const FI_SD: &str = "_sd";
pub const FI_COUNT: &str = "_count";

/// How a table is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    /// One file, `NAME.parquet`, written once the dataset is finished (runs) or
    /// analyzed (summary, fi_curve); removed when a resume repairs the dataset.
    File,
    /// A folder `NAME/` of part files, one per committed batch
    /// (`part-BATCH.parquet`), each recorded in the batch's manifest.
    Parts,
}

/// One table of the dataset.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub storage: Storage,
    /// Its columns in order; for a table whose columns depend on the experiment
    /// (runs, traces) or on the analysis (fi_curve), its fixed ones, which its
    /// writer completes.
    pub columns: &'static [Column],
    /// Where the columns that depend on the experiment go (after this many of
    /// `columns`): the runs' parameters, the parameters that tell F-I curves apart.
    pub varying_after: Option<usize>,
}

impl Table {
    /// The name of its entry in the dataset folder: `NAME.parquet` or `NAME`.
    pub fn entry(&self) -> String {
        match self.storage {
            Storage::File => format!("{}.parquet", self.name),
            Storage::Parts => self.name.to_string(),
        }
    }

    /// Whether `name` is one of its own (not experiment-dependent) columns.
    pub fn has(&self, name: &str) -> bool {
        self.columns.iter().any(|c| c.name == name)
    }

    pub fn column(&self, name: &str) -> Option<&'static Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Its schema: its columns, with `varying` in their place.
    pub fn schema(&self, varying: Vec<Field>) -> SchemaRef {
        let at = self.varying_after.unwrap_or(self.columns.len());
        let own = |cs: &[Column]| cs.iter().map(Column::field).collect::<Vec<_>>();
        let mut fields = own(&self.columns[..at]);
        fields.extend(varying);
        fields.extend(own(&self.columns[at..]));
        schema(fields)
    }
}

/// One row per run: key, experiment, seed, status and every parameter as a typed
/// column.
pub const RUNS: Table = Table {
    name: "runs",
    storage: Storage::File,
    columns: &[
        RUN_ID,
        RUN_KEY,
        EXPERIMENT_NAME,
        LABEL,
        SEED,
        STATUS,
        ERROR,
        N_SPIKES,
        WALL_S,
    ],
    varying_after: Some(7),
};

/// The value each neuron took of every value that varies per neuron (`per_neuron:`):
/// one row per neuron of each run that varies something, in (run_id, neuron) order;
/// after the keys one F64 column per varied value, named as its runs-table column
/// (`model_a_nS`, `input_amplitude_pA`, `initial_V_mV`, and a default that follows
/// varied values, such as `model_V_peak_mV`), null where a run does not vary it.
/// Written with runs.parquet, and only when some run varies a value per neuron.
pub const NEURONS: Table = Table {
    name: "neurons",
    storage: Storage::File,
    columns: &[RUN_ID, NEURON],
    varying_after: None,
};

/// Spike times.
pub const SPIKES: Table = Table {
    name: "spikes",
    storage: Storage::Parts,
    columns: &[RUN_ID, NEURON, T],
    varying_after: None,
};

/// Recorded samples of the neurons an experiment records; of V, I and w only the
/// columns it records (`traces_schema`).
pub const TRACES: Table = Table {
    name: "traces",
    storage: Storage::Parts,
    columns: &[RUN_ID, NEURON, T, V, I, W],
    varying_after: None,
};

/// Spike-train statistics and firing pattern per run and neuron.
pub const SUMMARY: Table = Table {
    name: "summary",
    storage: Storage::File,
    columns: &[
        RUN_ID,
        NEURON,
        N_SPIKES,
        RATE_HZ,
        MEAN_ISI,
        MEDIAN_ISI,
        ISI_CV_SAMPLE,
        CV,
        CV2,
        LV,
        LVR,
        FIRST_SPIKE_LATENCY,
        ONSET_RATE_HZ,
        STEADY_STATE_RATE_HZ,
        ADAPTATION_INDEX,
        FANO_FACTOR_RUN,
        PATTERN,
    ],
    varying_after: None,
};

/// F-I curves: rate against current per group of runs, and a rheobase per group.
/// Its columns: the group, the parameters that tell groups apart, the current, for
/// each rate of FI_RATES its mean, SD and count (`fi_aggregates`), the Fano factor of
/// the spike counts, the rheobase. The
/// analysis builds them from its aggregation, typed as it gives them, with the units
/// and nullability of `fi_curve_field`.
pub const FI_CURVE: Table = Table {
    name: "fi_curve",
    storage: Storage::File,
    columns: &[GROUP, CURRENT, FANO_FACTOR, RHEOBASE],
    varying_after: Some(1),
};

/// Every table, in the order a dataset is written.
pub const TABLES: [&Table; 6] = [&RUNS, &NEURONS, &SPIKES, &TRACES, &SUMMARY, &FI_CURVE];

/// The tables stored as part files.
pub fn part_tables() -> impl Iterator<Item = &'static Table> {
    TABLES.into_iter().filter(|t| t.storage == Storage::Parts)
}

/// The tables stored as one file.
pub fn file_tables() -> impl Iterator<Item = &'static Table> {
    TABLES.into_iter().filter(|t| t.storage == Storage::File)
}

/// The name of a committed batch's part file in a `Parts` table's folder.
pub fn part_file(batch: &str) -> String {
    format!("part-{batch}.parquet")
}

/// Whether a file in a table folder is named as neurodyn names part files.
pub fn is_part_file(name: &str) -> bool {
    name.starts_with("part-") && name.ends_with(".parquet")
}

/// The name of a batch's part of `table` while it is staged.
pub fn staged_file(table: &str) -> String {
    format!("{table}.parquet")
}

/// Everything a dataset folder holds besides its hidden bookkeeping; a dataset
/// holding anything else is not replaced by `--force`.
pub fn entries() -> Vec<String> {
    let mut names: Vec<String> = [META, EXPERIMENT, PROVENANCE, PLOTS, REPORT, MANIFESTS]
        .map(String::from)
        .to_vec();
    names.extend(TABLES.iter().map(|t| t.entry()));
    names.push(SUCCESS.to_string());
    names
}

/// Which trace values a dataset records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceColumns {
    pub v: bool,
    pub i: bool,
    pub w: bool,
    /// Values stored as f32 (`record.precision: f32`) rather than f64.
    pub f32: bool,
}

/// The traces' schema: the keys, then the values recorded, as f64 or f32.
pub fn traces_schema(values: TraceColumns) -> SchemaRef {
    let recorded = |c: &Column| match c.name {
        n if n == V.name => Some(values.v),
        n if n == I.name => Some(values.i),
        n if n == W.name => Some(values.w),
        _ => None,
    };
    schema(
        TRACES
            .columns
            .iter()
            .filter_map(|c| match recorded(c) {
                Some(false) => None,
                Some(true) if values.f32 => {
                    Some(field(c.name, DataType::Float32, c.nullable, c.unit))
                }
                _ => Some(c.field()),
            })
            .collect(),
    )
}

/// The F-I table's aggregate column names, in order: for each rate its mean, SD and
/// count.
pub fn fi_aggregates() -> impl Iterator<Item = (Column, [String; 3])> {
    FI_RATES.into_iter().map(|r| {
        let n = r.name;
        (r, [FI_MEAN, FI_SD, FI_COUNT].map(|s| format!("{n}{s}")))
    })
}

/// Whether a column of the F-I table is a result rather than part of a row's
/// identity (group, parameters, current).
pub fn is_fi_value(name: &str) -> bool {
    name.ends_with(FI_MEAN)
        || name.ends_with(FI_SD)
        || name.ends_with(FI_COUNT)
        || name == FANO_FACTOR.name
        || name == RHEOBASE.name
}

/// A field of the F-I table of type `data_type`: its own columns and the rate
/// aggregates have their unit (none for a count), a parameter column takes the unit
/// `param_unit` it has in the runs table. Every column but the group is nullable.
pub fn fi_curve_field(name: &str, data_type: DataType, param_unit: Option<&str>) -> Field {
    if let Some(c) = FI_CURVE.column(name) {
        return field(name, data_type, c.nullable, c.unit);
    }
    let aggregate = fi_aggregates().find_map(|(rate, names)| {
        names
            .iter()
            .position(|n| n == name)
            .map(|k| if k == 2 { None } else { rate.unit })
    });
    field(name, data_type, true, aggregate.unwrap_or(param_unit))
}

/// The keys of the key-value metadata every Parquet file of a dataset carries, so a
/// file read on its own still says what wrote it.
pub mod kv {
    /// The experiment's `name:`.
    pub const EXPERIMENT: &str = "neurodyn.experiment";
    /// SHA-256 of the experiment file's text, as in `_neurodyn.json`.
    pub const CONFIG_SHA256: &str = "neurodyn.config_sha256";
    /// The neurodyn version that wrote the file.
    pub const VERSION: &str = "neurodyn.version";
    /// The dataset format (`FORMAT`).
    pub const FORMAT: &str = "neurodyn.format";
}

/// Shorthand for building a schema.
pub fn schema(fields: Vec<Field>) -> SchemaRef {
    Arc::new(arrow::datatypes::Schema::new(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_has_one_entry_and_the_folder_lists_them() {
        let e = entries();
        for t in TABLES {
            assert_eq!(e.iter().filter(|n| **n == t.entry()).count(), 1);
        }
        assert!(e.contains(&"runs.parquet".to_string()) && e.contains(&"spikes".to_string()));
    }

    #[test]
    fn the_summary_holds_the_statistics_in_order() {
        assert_eq!(SUMMARY.columns[3..3 + STATISTICS.len()], STATISTICS);
        assert_eq!(SUMMARY.columns.len(), STATISTICS.len() + 4);
    }

    #[test]
    fn varying_columns_go_in_their_place() {
        let s = RUNS.schema(vec![field("model", DataType::Utf8, false, None)]);
        let names: Vec<&str> = s.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(
            names,
            [
                "run_id",
                "run_key",
                "experiment",
                "label",
                "seed",
                "status",
                "error",
                "model",
                "n_spikes",
                "wall_s"
            ]
        );
        let mut columns = TraceColumns {
            v: true,
            i: false,
            w: true,
            f32: false,
        };
        let s = traces_schema(columns);
        let names: Vec<&str> = s.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["run_id", "neuron", "t_ms", "V_mV", "w_pA"]);
        columns.f32 = true;
        let types: Vec<DataType> = traces_schema(columns)
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        use DataType::{Float32, Float64, UInt32};
        assert_eq!(
            types,
            [UInt32, UInt32, Float64, Float32, Float32],
            "t_ms stays f64"
        );
    }

    #[test]
    fn fi_units_come_from_the_layout_or_the_runs_table() {
        let u = |name: &str, p: Option<&str>| {
            unit_of(&fi_curve_field(name, DataType::Float64, p)).map(String::from)
        };
        assert_eq!(u("rate_Hz_mean", None).as_deref(), Some("Hz"));
        assert_eq!(u("onset_rate_Hz_count", None), None);
        assert_eq!(u("current_pA", None).as_deref(), Some("pA"));
        assert_eq!(u("model_b_pA", Some("pA")).as_deref(), Some("pA"));
        assert!(!fi_curve_field("group", DataType::UInt32, None).is_nullable());
        // The Fano factor is a dimensionless result, null where every train is silent.
        assert_eq!(u("fano_factor", None), None);
        assert!(fi_curve_field("fano_factor", DataType::Float64, None).is_nullable());
        assert!(is_fi_value("fano_factor") && is_fi_value("rheobase_pA"));
        assert!(!is_fi_value("current_pA") && !is_fi_value("model_b_pA"));
    }
}
