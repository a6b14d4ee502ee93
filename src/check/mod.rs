//! `neurodyn check`: compare a new dataset with a baseline (a results folder or a
//! golden file) run by run, matched by run key, and list what differs beyond the
//! tolerances, worst first. What is compared of a results folder is recomputed from
//! its spikes and traces, not taken from its summary files, and the tolerances are
//! the baseline's (or the command line's): the dataset under test has no say in how
//! it is judged.

pub mod snapshot;
mod traces;

use crate::store::layout;
use serde::Serialize;
use snapshot::{FiPoint, NeuronSnap, RunSnap, Snapshot, SnapshotError};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The check's tolerances belong to the experiment (its `check:` section).
pub use crate::experiment::tolerances::Tolerances;

/// Two runs with fewer differing parameters than this are taken as the same grid
/// point of a changed experiment (e.g. model.b scaled everywhere) and compared.
const MAX_PAIRED_PARAM_CHANGES: usize = 3;

/// Kinds of difference, most serious first: the report sorts by kind, then score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    MissingRun,
    Status,
    Parameters,
    SpikeCount,
    Pattern,
    SpikeTime,
    Trace,
    Statistic,
    FiCurve,
}

/// One thing that differs.
#[derive(Clone, Debug, Serialize)]
pub struct Difference {
    pub kind: Kind,
    /// Run id in the new dataset (the baseline's when the run is missing from it).
    pub run_id: Option<u32>,
    pub label: String,
    pub neuron: Option<u32>,
    pub quantity: String,
    pub baseline: String,
    pub new: String,
    /// Error over tolerance (> 1 fails); infinite for differences with no scale.
    pub score: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub tolerances: Tolerances,
    pub runs_compared: usize,
    pub neurons_compared: usize,
    pub spikes_compared: usize,
    pub fi_points_compared: usize,
    /// Whether spike times were compared (both sides are results folders).
    pub spike_times: bool,
    /// Trace rows compared pairwise; None unless both sides are results folders that
    /// recorded traces.
    pub trace_rows_compared: Option<usize>,
    /// Reasons to doubt that the comparison is meaningful (e.g. the baseline is of
    /// another experiment); they do not fail the check.
    pub warnings: Vec<String>,
    pub differences: Vec<Difference>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.differences.is_empty()
    }
}

fn show(x: Option<f64>) -> String {
    x.map_or_else(|| "null".to_string(), |v| format!("{v}"))
}

/// The score of a numeric difference: error over tolerance (0 when equal).
fn score(base: f64, new: f64, tol: &Tolerances) -> f64 {
    let err = (new - base).abs();
    if err == 0.0 {
        return 0.0;
    }
    let allowed = tol.atol + tol.rtol * base.abs();
    if allowed > 0.0 {
        err / allowed
    } else {
        f64::INFINITY
    }
}

struct Ctx<'a> {
    tol: &'a Tolerances,
    out: Vec<Difference>,
}

impl Ctx<'_> {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        kind: Kind,
        run: Option<&RunSnap>,
        neuron: Option<u32>,
        quantity: impl Into<String>,
        baseline: impl Into<String>,
        new: impl Into<String>,
        score: f64,
    ) {
        self.out.push(Difference {
            kind,
            run_id: run.map(|r| r.run_id),
            label: run.map(|r| r.label.clone()).unwrap_or_default(),
            neuron,
            quantity: quantity.into(),
            baseline: baseline.into(),
            new: new.into(),
            score,
        });
    }

    fn numbers(
        &mut self,
        kind: Kind,
        run: Option<&RunSnap>,
        neuron: Option<u32>,
        quantity: &str,
        base: Option<f64>,
        new: Option<f64>,
    ) {
        let s = match (base, new) {
            (Some(b), Some(n)) => score(b, n, self.tol),
            (None, None) => 0.0,
            _ => f64::INFINITY,
        };
        if s > 1.0 {
            self.push(kind, run, neuron, quantity, show(base), show(new), s);
        }
    }
}

/// Why the baseline may not be a baseline of this dataset at all.
fn provenance_warnings(base: &Snapshot, new: &Snapshot) -> Vec<String> {
    if base.experiment != new.experiment {
        return vec![format!(
            "baseline is of experiment '{}', dataset of '{}'",
            base.experiment, new.experiment
        )];
    }
    match (&base.config_sha256, &new.config_sha256) {
        (Some(b), Some(n)) if b != n => vec![format!(
            "baseline and dataset are both of experiment '{}' but were run from different \
             experiment files (config hash {} against {})",
            new.experiment,
            &b[..b.len().min(12)],
            &n[..n.len().min(12)]
        )],
        _ => Vec::new(),
    }
}

/// Compare `new` against `base`. Fails only when a results folder's traces cannot be
/// read.
pub fn compare(base: &Snapshot, new: &Snapshot, tol: &Tolerances) -> Result<Report, SnapshotError> {
    let mut ctx = Ctx {
        tol,
        out: Vec::new(),
    };
    let pairs = pair_runs(base, new, &mut ctx);
    let mut neurons_compared = 0;
    let mut spikes_compared = 0;
    let spike_times = base.spikes.is_some() && new.spikes.is_some();
    let mut same_status = Vec::with_capacity(pairs.len());
    for (bk, nk) in &pairs {
        let (b, n) = (&base.runs[bk], &new.runs[nk]);
        if b.status == n.status {
            same_status.push((b, n));
        } else {
            ctx.push(
                Kind::Status,
                Some(n),
                None,
                "status",
                &b.status,
                &n.status,
                f64::INFINITY,
            );
            continue;
        }
        let by_neuron: HashMap<u32, &NeuronSnap> =
            b.neurons.iter().map(|x| (x.neuron, x)).collect();
        for nn in &n.neurons {
            let Some(bn) = by_neuron.get(&nn.neuron) else {
                ctx.push(
                    Kind::MissingRun,
                    Some(n),
                    Some(nn.neuron),
                    "neuron",
                    "absent",
                    "present",
                    f64::INFINITY,
                );
                continue;
            };
            neurons_compared += 1;
            compare_neuron(&mut ctx, n, bn, nn);
            if let (Some(bs), Some(ns)) = (&base.spikes, &new.spikes) {
                let empty = Vec::new();
                let bt = bs.get(&(bk.clone(), nn.neuron)).unwrap_or(&empty);
                let nt = ns.get(&(nk.clone(), nn.neuron)).unwrap_or(&empty);
                spikes_compared += compare_times(&mut ctx, n, nn.neuron, bt, nt);
            }
        }
        if b.neurons.len() > n.neurons.len() {
            ctx.push(
                Kind::MissingRun,
                Some(n),
                None,
                "neurons",
                b.neurons.len().to_string(),
                n.neurons.len().to_string(),
                f64::INFINITY,
            );
        }
    }
    let trace_rows_compared = match (&base.root, &new.root) {
        (Some(_), Some(_)) => {
            traces::compare(&mut ctx, &base.trace_parts, &new.trace_parts, &same_status)?
        }
        _ => None,
    };
    let fi_points_compared = compare_fi(&mut ctx, &base.fi_curve, &new.fi_curve);
    let mut differences = ctx.out;
    differences.sort_by(|a, b| {
        a.kind
            .cmp(&b.kind)
            .then(b.score.total_cmp(&a.score))
            .then(a.run_id.cmp(&b.run_id))
            .then(a.neuron.cmp(&b.neuron))
    });
    Ok(Report {
        tolerances: *tol,
        runs_compared: pairs.len(),
        neurons_compared,
        spikes_compared,
        fi_points_compared,
        spike_times,
        trace_rows_compared,
        warnings: provenance_warnings(base, new),
        differences,
    })
}

/// Runs matched by key; runs left over on both sides are paired when they share a
/// label and differ in at most a few parameters (reported as such), and the rest are
/// missing on one side.
fn pair_runs(base: &Snapshot, new: &Snapshot, ctx: &mut Ctx) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = base
        .runs
        .keys()
        .filter(|k| new.runs.contains_key(*k))
        .map(|k| (k.clone(), k.clone()))
        .collect();
    let mut only_new: BTreeSet<&String> = new
        .runs
        .keys()
        .filter(|k| !base.runs.contains_key(*k))
        .collect();
    for (bk, b) in base.runs.iter().filter(|(k, _)| !new.runs.contains_key(*k)) {
        let changed = |n: &RunSnap| -> Vec<String> {
            let names: BTreeSet<&String> = b.params.keys().chain(n.params.keys()).collect();
            names
                .into_iter()
                .filter(|p| b.params.get(*p) != n.params.get(*p))
                .cloned()
                .collect()
        };
        let best = only_new
            .iter()
            .filter(|k| new.runs[**k].label == b.label)
            .map(|k| (changed(&new.runs[*k]), *k))
            .filter(|(c, _)| c.len() <= MAX_PAIRED_PARAM_CHANGES)
            .min_by_key(|(c, _)| c.len());
        match best {
            Some((names, nk)) => {
                let n = &new.runs[nk];
                let text = |r: &RunSnap| {
                    names
                        .iter()
                        .map(|p| format!("{p}={}", r.params.get(p).map_or("-", |s| s.as_str())))
                        .collect::<Vec<_>>()
                        .join(" ")
                };
                ctx.push(
                    Kind::Parameters,
                    Some(n),
                    None,
                    "parameters",
                    text(b),
                    text(n),
                    f64::INFINITY,
                );
                pairs.push((bk.clone(), nk.clone()));
                only_new.remove(nk);
            }
            None => ctx.push(
                Kind::MissingRun,
                Some(b),
                None,
                "run",
                format!("key {bk}"),
                "missing",
                f64::INFINITY,
            ),
        }
    }
    for nk in only_new {
        let n = &new.runs[nk];
        ctx.push(
            Kind::MissingRun,
            Some(n),
            None,
            "run",
            "missing",
            format!("key {nk}"),
            f64::INFINITY,
        );
    }
    pairs
}

fn compare_neuron(ctx: &mut Ctx, run: &RunSnap, b: &NeuronSnap, n: &NeuronSnap) {
    let id = Some(n.neuron);
    if b.n_spikes != n.n_spikes {
        let d = (n.n_spikes as f64 - b.n_spikes as f64).abs();
        ctx.push(
            Kind::SpikeCount,
            Some(run),
            id,
            "n_spikes",
            b.n_spikes.to_string(),
            n.n_spikes.to_string(),
            d,
        );
    }
    if b.pattern != n.pattern {
        ctx.push(
            Kind::Pattern,
            Some(run),
            id,
            "pattern",
            &b.pattern,
            &n.pattern,
            f64::INFINITY,
        );
    }
    let names: BTreeSet<&String> = b.stats.keys().chain(n.stats.keys()).collect();
    for name in names {
        let get = |s: &NeuronSnap| s.stats.get(name).copied().flatten();
        ctx.numbers(Kind::Statistic, Some(run), id, name, get(b), get(n));
    }
}

/// Spikes paired in order (when the counts differ, that is reported on its own and
/// the common prefix is compared); returns how many pairs were compared.
fn compare_times(ctx: &mut Ctx, run: &RunSnap, neuron: u32, base: &[f64], new: &[f64]) -> usize {
    let mut worst: Option<(usize, f64)> = None;
    for (k, (b, n)) in base.iter().zip(new).enumerate() {
        let d = (n - b).abs();
        if d > ctx.tol.spike_tol_ms && worst.is_none_or(|(_, w)| d > w) {
            worst = Some((k, d));
        }
    }
    if let Some((k, d)) = worst {
        let s = if ctx.tol.spike_tol_ms > 0.0 {
            d / ctx.tol.spike_tol_ms
        } else {
            f64::INFINITY
        };
        ctx.push(
            Kind::SpikeTime,
            Some(run),
            Some(neuron),
            format!("spike {} t_ms", k + 1),
            format!("{}", base[k]),
            format!("{}", new[k]),
            s,
        );
    }
    base.len().min(new.len())
}

/// F-I points matched by every identifying column; those left over are paired with
/// the point of the same label and current that differs in the fewest columns (the
/// curve's parameters changed).
fn compare_fi(ctx: &mut Ctx, base: &[FiPoint], new: &[FiPoint]) -> usize {
    let loose = |p: &FiPoint| -> (String, String) {
        let get = |c: &str| p.key.get(c).cloned().unwrap_or_default();
        (get(layout::LABEL.name), get(layout::CURRENT.name))
    };
    let mut unused: Vec<bool> = vec![true; new.len()];
    let exact: HashMap<&BTreeMap<String, String>, usize> =
        new.iter().enumerate().map(|(k, p)| (&p.key, k)).collect();
    let mut compared = 0;
    for b in base {
        let found = exact
            .get(&b.key)
            .copied()
            .filter(|k| unused[*k])
            .or_else(|| {
                let differing = |p: &FiPoint| {
                    b.key
                        .iter()
                        .filter(|(c, v)| p.key.get(*c) != Some(v))
                        .count()
                };
                (0..new.len())
                    .filter(|k| unused[*k] && loose(&new[*k]) == loose(b))
                    .min_by_key(|k| differing(&new[*k]))
            });
        let (label, current) = loose(b);
        let at = format!("{label} I={current} pA");
        let Some(k) = found else {
            ctx.push(
                Kind::FiCurve,
                None,
                None,
                format!("F-I point {at}"),
                "present",
                "missing",
                f64::INFINITY,
            );
            continue;
        };
        unused[k] = false;
        let n = &new[k];
        compared += 1;
        let names: BTreeSet<&String> = b.values.keys().chain(n.values.keys()).collect();
        for name in names {
            let get = |p: &FiPoint| p.values.get(name).copied().flatten();
            let before = ctx.out.len();
            ctx.numbers(
                Kind::FiCurve,
                None,
                None,
                &format!("{name} ({at})"),
                get(b),
                get(n),
            );
            if let Some(d) = ctx.out.get_mut(before) {
                d.label = label.clone();
            }
        }
    }
    if new.len() > compared {
        ctx.push(
            Kind::FiCurve,
            None,
            None,
            "F-I points",
            base.len().to_string(),
            new.len().to_string(),
            f64::INFINITY,
        );
    }
    compared
}

/// A score with three significant digits.
fn short(x: f64) -> String {
    if x >= 1e4 {
        format!("{x:.2e}")
    } else {
        format!("{}", (x * 100.0).round() / 100.0)
    }
}

/// The report as a readable table, worst first, at most `limit` rows.
pub fn render_text(r: &Report, limit: usize) -> String {
    let mut s = String::new();
    let t = &r.tolerances;
    s.push_str(&format!(
        "compared {} runs, {} neurons, {} spike pairs{}, {}{} F-I points (rtol {}, atol {}, spike tolerance {} ms)\n",
        r.runs_compared,
        r.neurons_compared,
        r.spikes_compared,
        if r.spike_times { "" } else { " (no spike times in a golden file)" },
        r.trace_rows_compared
            .map_or(String::new(), |n| format!("{n} trace rows, ")),
        r.fi_points_compared,
        t.rtol,
        t.atol,
        t.spike_tol_ms
    ));
    if r.passed() {
        s.push_str("ok: everything is within tolerance\n");
        return s;
    }
    let mut by_kind: BTreeMap<Kind, usize> = BTreeMap::new();
    for d in &r.differences {
        *by_kind.entry(d.kind).or_default() += 1;
    }
    let counts: Vec<String> = by_kind
        .iter()
        .map(|(k, n)| {
            format!(
                "{n} {}",
                serde_json::to_value(k)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default()
            )
        })
        .collect();
    s.push_str(&format!(
        "FAILED: {} differences beyond tolerance ({})\n",
        r.differences.len(),
        counts.join(", ")
    ));
    let rows: Vec<[String; 7]> = r
        .differences
        .iter()
        .take(limit)
        .map(|d| {
            [
                if d.score.is_finite() {
                    short(d.score)
                } else {
                    "-".into()
                },
                d.run_id.map_or("-".into(), |x| x.to_string()),
                if d.label.is_empty() {
                    "-".into()
                } else {
                    d.label.clone()
                },
                d.neuron.map_or("-".into(), |x| x.to_string()),
                d.quantity.clone(),
                d.baseline.clone(),
                d.new.clone(),
            ]
        })
        .collect();
    let header = [
        "error/tol",
        "run",
        "label",
        "neuron",
        "quantity",
        "baseline",
        "new",
    ]
    .map(String::from);
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        s.push_str(cells.join("  ").trim_end());
        s.push('\n');
    }
    if r.differences.len() > limit {
        s.push_str(&format!(
            "... and {} more (--format json lists all)\n",
            r.differences.len() - limit
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn neuron(n_spikes: u64, rate: f64) -> NeuronSnap {
        NeuronSnap {
            neuron: 0,
            n_spikes,
            pattern: "tonic".into(),
            stats: BTreeMap::from([("rate_Hz".to_string(), Some(rate))]),
        }
    }

    fn snap(runs: Vec<(&str, &str, f64, Vec<f64>)>) -> Snapshot {
        let mut spikes = HashMap::new();
        let runs = runs
            .into_iter()
            .enumerate()
            .map(|(k, (key, b, rate, times))| {
                spikes.insert((key.to_string(), 0), times.clone());
                (
                    key.to_string(),
                    RunSnap {
                        run_id: k as u32,
                        label: "x".into(),
                        status: "ok".into(),
                        params: BTreeMap::from([("model_b_pA".to_string(), b.to_string())]),
                        neurons: vec![neuron(times.len() as u64, rate)],
                    },
                )
            })
            .collect();
        Snapshot {
            format: snapshot::GOLDEN_FORMAT,
            experiment: "t".into(),
            runs,
            fi_curve: Vec::new(),
            spikes: Some(spikes),
            tolerances: None,
            config_sha256: None,
            root: None,
            trace_parts: Vec::new(),
        }
    }

    #[test]
    fn another_experiment_or_experiment_file_is_warned_about_but_still_compared() {
        let a = snap(vec![("k1", "80", 10.0, vec![1.0])]);
        let mut b = snap(vec![("k1", "80", 10.0, vec![1.0])]);
        let r = compare(&a, &b, &Tolerances::default()).unwrap();
        assert!(r.warnings.is_empty() && r.passed(), "{:?}", r.warnings);
        b.experiment = "other".into();
        let r = compare(&a, &b, &Tolerances::default()).unwrap();
        assert_eq!(
            r.warnings,
            ["baseline is of experiment 't', dataset of 'other'"]
        );
        assert_eq!((r.runs_compared, r.passed()), (1, true));
        b.experiment = "t".into();
        let mut a = a;
        a.config_sha256 = Some("aaaa".into());
        b.config_sha256 = Some("aaaa".into());
        assert!(compare(&a, &b, &Tolerances::default())
            .unwrap()
            .warnings
            .is_empty());
        b.config_sha256 = Some("bbbb".into());
        let r = compare(&a, &b, &Tolerances::default()).unwrap();
        assert_eq!(r.warnings.len(), 1);
        assert!(r.warnings[0].contains("different experiment files"));
    }

    #[test]
    fn identical_snapshots_pass_and_run_order_does_not_matter() {
        let a = snap(vec![
            ("k1", "80", 10.0, vec![1.0, 2.0]),
            ("k2", "80", 5.0, vec![3.0]),
        ]);
        let b = snap(vec![
            ("k2", "80", 5.0, vec![3.0]),
            ("k1", "80", 10.0, vec![1.0, 2.0]),
        ]);
        let r = compare(&a, &b, &Tolerances::default()).unwrap();
        assert!(r.passed(), "{:?}", r.differences);
        assert_eq!((r.runs_compared, r.spikes_compared), (2, 3));
    }

    #[test]
    fn differences_are_found_and_sorted_worst_first() {
        let tol = Tolerances::default();
        let a = snap(vec![
            ("k1", "80", 10.0, vec![1.0, 2.0]),
            ("k2", "80", 5.0, vec![3.0]),
        ]);
        // k1: a rate within tolerance and one spike 0.01 ms late; k2: gone.
        let b = snap(vec![("k1", "80", 10.0 + 1e-8, vec![1.0, 2.01])]);
        let r = compare(&a, &b, &tol).unwrap();
        let kinds: Vec<Kind> = r.differences.iter().map(|d| d.kind).collect();
        assert_eq!(kinds, vec![Kind::MissingRun, Kind::SpikeTime]);
        assert!((r.differences[1].score - 10.0).abs() < 1e-6);
        assert!(render_text(&r, 10).contains("FAILED: 2 differences"));
    }

    #[test]
    fn a_changed_parameter_pairs_runs_and_compares_them() {
        let a = snap(vec![("k1", "80", 10.0, vec![1.0, 2.0])]);
        let b = snap(vec![("k9", "81", 9.0, vec![1.0])]);
        let r = compare(&a, &b, &Tolerances::default()).unwrap();
        let kinds: Vec<Kind> = r.differences.iter().map(|d| d.kind).collect();
        assert_eq!(
            kinds,
            vec![Kind::Parameters, Kind::SpikeCount, Kind::Statistic]
        );
        assert_eq!(r.differences[0].baseline, "model_b_pA=80");
        assert_eq!(r.differences[0].new, "model_b_pA=81");
    }

    #[test]
    fn null_against_value_is_a_difference_and_null_against_null_is_not() {
        let tol = Tolerances::default();
        let mut ctx = Ctx {
            tol: &tol,
            out: Vec::new(),
        };
        ctx.numbers(Kind::Statistic, None, None, "x", None, None);
        assert!(ctx.out.is_empty());
        ctx.numbers(Kind::Statistic, None, None, "x", None, Some(1.0));
        assert_eq!(ctx.out.len(), 1);
        assert!(score(100.0, 100.0 + 0.5e-4, &tol) < 1.0);
        assert!(score(100.0, 100.0 + 2e-4, &tol) > 1.0);
    }
}
