//! The analysis streams a chunk of runs at a time: on a dataset whose runs interleave
//! across part files, every chunk size writes the same tables, and the F-I table
//! agrees with a recomputation from summary.parquet and runs.parquet done here in the
//! plainest way (group by the parameters as text, two-pass moments).

use super::{analyze_scan, Chunk, CHUNK};
use crate::store::layout::{self, param, RUNS};
use crate::store::reader::{read_batches, Scan};
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::concat_batches;
use arrow::datatypes::{Float64Type, UInt32Type, UInt64Type};
use arrow::util::display::array_value_to_string;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// LIF and EIF runs have different pack keys and each fill more than half a batch,
/// so each model gets batches of its own: its runs, spread over the run ids (ids
/// follow run keys), sit in parts that interleave with the other model's. The
/// 1e15 pA runs fail (more spikes in a step than the engine allows), so failed runs
/// sit between the others too.
const EXPERIMENT: &str = "name: chunks
duration: 200 ms
dt: 0.1 ms
method: euler
neurons: 200
input:
  - {type: constant, amplitude: 0 pA}
  - {type: noise, mean: 0 pA, sigma: 200 pA*sqrt(ms)}
grid:
  input[0].amplitude: [0 pA, 100 pA, 200 pA, 300 pA, 400 pA, 600 pA, 800 pA, 1e15 pA]
variants:
  - {label: lif, model: {type: lif}}
  - {label: eif, model: {type: eif}}
replicates: 3
analysis: {window: [50 ms, 200 ms]}
";

fn table(path: &Path) -> RecordBatch {
    let batches = read_batches(path).unwrap();
    concat_batches(&batches[0].schema(), &batches).unwrap()
}

fn dataset(dir: &Path) -> std::path::PathBuf {
    let raw = crate::parse(EXPERIMENT).unwrap();
    let plan = crate::plan(&raw).unwrap();
    let mut opts = crate::RunOptions::new(dir.join("chunks"), EXPERIMENT);
    opts.analyze = false;
    opts.threads = 2;
    let summary = crate::run(&plan, &opts).unwrap();
    assert!(summary.complete);
    summary.out
}

#[test]
fn every_chunk_size_writes_the_same_tables_and_the_fi_table_recomputes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dataset(dir.path());
    let scan = Scan::open(&root).unwrap();
    // The dataset exercises what chunking must get right: several spike parts, some
    // holding runs on both sides of runs held by another part.
    let spans: Vec<(u32, u32)> = scan
        .spike_spans()
        .iter()
        .map(|s| (s.first, s.last))
        .collect();
    assert!(spans.len() >= 4, "{spans:?}");
    let overlapping = spans
        .iter()
        .enumerate()
        .any(|(i, a)| spans[i + 1..].iter().any(|b| a.0 <= b.1 && b.0 <= a.1));
    assert!(overlapping, "parts hold disjoint run ranges: {spans:?}");

    let summary_path = root.join(layout::SUMMARY.entry());
    let fi_path = root.join(layout::FI_CURVE.entry());
    let whole = analyze_scan(&scan, CHUNK).unwrap();
    let (summary, fi) = (table(&summary_path), table(&fi_path));
    // One run at a time; five runs read, summarized two at a time (200 neurons each);
    // 17 runs, summarized whole.
    for (runs, neurons) in [(1, 1), (5, 450), (17, 4000)] {
        let chunk = Chunk { runs, neurons };
        let a = analyze_scan(&scan, chunk).unwrap();
        assert_eq!(
            (a.summary_rows, a.fi_rows, &a.patterns),
            (whole.summary_rows, whole.fi_rows, &whole.patterns)
        );
        assert_eq!(table(&summary_path), summary, "{chunk:?}");
        assert_eq!(table(&fi_path), fi, "{chunk:?}");
    }
    let runs = table(&root.join(RUNS.entry()));
    let failed = runs
        .column_by_name(layout::STATUS.name)
        .unwrap()
        .as_string::<i32>()
        .iter()
        .filter(|s| *s != Some(layout::STATUS_OK))
        .count();
    assert!(failed > 0, "the dataset has failed runs");
    assert_eq!(summary.num_rows(), (runs.num_rows() - failed) * 200);
    recompute_fi(&runs, &summary, &fi);
}

/// Moments of a sample in two passes.
fn moments(x: &[f64]) -> (Option<f64>, Option<f64>, Option<f64>) {
    let n = x.len() as f64;
    if x.is_empty() {
        return (None, None, None);
    }
    let mean = x.iter().sum::<f64>() / n;
    let ss: f64 = x.iter().map(|v| (v - mean) * (v - mean)).sum();
    let sd = (x.len() >= 2).then(|| (ss / (n - 1.0)).sqrt());
    (Some(mean), sd, Some(ss / n))
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        // Sums taken in another order differ in the last bits only.
        (Some(a), Some(b)) => a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs()),
        (a, b) => a == b,
    }
}

fn recompute_fi(runs: &RecordBatch, summary: &RecordBatch, fi: &RecordBatch) {
    // The swept current: the constant input's amplitude, the only amplitude column.
    let schema = runs.schema();
    let amplitudes: Vec<&String> = schema
        .fields()
        .iter()
        .map(|f| f.name())
        .filter(|n| n.ends_with("_amplitude_pA"))
        .collect();
    assert_eq!(amplitudes.len(), 1, "{amplitudes:?}");
    let current = amplitudes[0].as_str();
    let cur = runs
        .column_by_name(current)
        .unwrap()
        .as_primitive::<Float64Type>();
    // The group of each run: its parameters as text, all but the run's identity, the
    // replicate and the current; numbered by first run.
    let grouping: Vec<usize> = (0..runs.num_columns())
        .filter(|&c| {
            let n = schema.field(c).name();
            n == layout::LABEL.name || !(RUNS.has(n) || n == param::REPLICATE || n == current)
        })
        .collect();
    let mut group_of: HashMap<Vec<String>, u32> = HashMap::new();
    let mut group = Vec::new();
    for k in 0..runs.num_rows() {
        let key: Vec<String> = grouping
            .iter()
            .map(|&c| array_value_to_string(runs.column(c), k).unwrap())
            .collect();
        let next = group_of.len() as u32;
        group.push(*group_of.entry(key).or_insert(next));
    }
    // Every train's values, by (group, current).
    type Samples = [Vec<f64>; 4];
    let mut points: BTreeMap<(u32, u64), (f64, Samples)> = BTreeMap::new();
    let ids = summary.column(0).as_primitive::<UInt32Type>();
    let counts = summary
        .column_by_name(layout::N_SPIKES.name)
        .unwrap()
        .as_primitive::<UInt64Type>();
    let rates: Vec<_> = layout::FI_RATES
        .iter()
        .map(|r| {
            summary
                .column_by_name(r.name)
                .unwrap()
                .as_primitive::<Float64Type>()
        })
        .collect();
    for k in 0..summary.num_rows() {
        let run = ids.value(k) as usize;
        let c = cur.value(run);
        // Currents here are positive and finite, so their bits sort as they do.
        let p = points
            .entry((group[run], c.to_bits()))
            .or_insert((c, Default::default()));
        for (s, r) in p.1.iter_mut().zip(&rates) {
            if !r.is_null(k) {
                s.push(r.value(k));
            }
        }
        p.1[3].push(counts.value(k) as f64);
    }
    assert_eq!(fi.num_rows(), points.len());
    let col = |name: &str| {
        fi.column_by_name(name)
            .unwrap()
            .as_primitive::<Float64Type>()
    };
    let opt = |name: &str, k: usize| {
        let c = col(name);
        (!c.is_null(k)).then(|| c.value(k))
    };
    let fi_group = fi
        .column_by_name(layout::GROUP.name)
        .unwrap()
        .as_primitive::<UInt32Type>();
    let mut rheobase: BTreeMap<u32, (Option<f64>, Option<f64>)> = BTreeMap::new();
    for (k, ((g, _), (c, samples))) in points.iter().enumerate() {
        assert_eq!(
            (fi_group.value(k), col(layout::CURRENT.name).value(k)),
            (*g, *c)
        );
        for ((_, [mean, sd, count]), s) in layout::fi_aggregates().zip(samples) {
            let (m, d, _) = moments(s);
            assert!(close(opt(&mean, k), m), "{mean} row {k}");
            assert!(close(opt(&sd, k), d), "{sd} row {k}");
            let n = fi
                .column_by_name(&count)
                .unwrap()
                .as_primitive::<UInt32Type>();
            assert_eq!(n.value(k) as usize, s.len());
        }
        let (m, _, var) = moments(&samples[3]);
        let fano = m.filter(|&m| m > 0.0).zip(var).map(|(m, v)| v / m);
        assert!(close(opt(layout::FANO_FACTOR.name, k), fano), "row {k}");
        let (mean_rate, _, _) = moments(&samples[0]);
        let r = rheobase.entry(*g).or_default();
        if mean_rate > Some(0.0) && r.0.is_none() {
            r.0 = Some(*c);
        }
    }
    // Rheobase: midway between the last silent current below the first firing one.
    for ((g, _), (c, samples)) in &points {
        let first = rheobase[g].0;
        if moments(&samples[0]).0 == Some(0.0) && first.is_some_and(|f| *c < f) {
            rheobase.get_mut(g).unwrap().1 = Some(*c);
        }
    }
    let mut bracketed = 0;
    for (k, ((g, _), _)) in points.iter().enumerate() {
        let expected = match rheobase[g] {
            (Some(f), Some(s)) => Some((f + s) / 2.0),
            _ => None,
        };
        bracketed += usize::from(expected.is_some());
        assert_eq!(opt(layout::RHEOBASE.name, k), expected, "row {k}");
    }
    assert!(bracketed > 0, "some curve brackets its rheobase");
}
