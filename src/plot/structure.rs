//! The shape of an experiment, read from its runs table alone, so that figures and
//! the report follow it: its labels in a sensible order, the parameters swept within
//! a label, the factors that tell labels apart (model type, input kinds, any other
//! parameter that is not a function of those), whether the labels form a complete
//! matrix of those factors, each run's title, and one colour per label.
//!
//! Nothing here knows an experiment by name: the seed scenarios come out as a
//! 3 × (4 × 2) matrix because their 24 labels are every combination of three model
//! types, four input kinds and two refractory periods, and nothing else sets them apart.

use super::format;
use crate::model::ModelKind;
use crate::store::layout::{self, param, RUNS};
use crate::store::reader::Runs;
use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, UInt64Type};
use arrow::util::display::array_value_to_string;
use plotters::style::{Color, HSLColor, RGBColor};
use std::collections::HashMap;

/// Panels the overview shows at most; labels beyond are listed in the run index only.
pub const OVERVIEW_PANELS: usize = 48;
/// Columns of an overview matrix at most, so that panels stay legible on a page.
const MAX_COLUMNS: usize = 8;
/// Levels a factor may have to span a matrix side.
const MAX_LEVELS: usize = 8;

/// One parameter column: each run's value as exact text (for equality), as shown
/// (in the unit that fits), and as a number (NaN for text and null).
struct Param {
    name: String,
    shown_name: String,
    key: Vec<String>,
    shown: Vec<String>,
    num: Vec<f64>,
}

/// A parameter that tells labels apart: its values in display order and each
/// label's level.
#[derive(Clone, Debug)]
pub struct Factor {
    pub name: String,
    pub levels: Vec<String>,
    of_label: Vec<usize>,
}

/// The overview's grid: header rows over the columns (text and span), one header per
/// row, and each cell's run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Titles {
    /// No title: the row and column headers name each panel.
    #[default]
    None,
    /// The run's swept values: its row header names the label.
    Swept,
    /// Label and swept values.
    Full,
}

#[derive(Clone, Debug, Default)]
pub struct Grid {
    pub column_headers: Vec<Vec<(String, usize)>>,
    pub row_headers: Vec<String>,
    pub cells: Vec<Vec<Option<u32>>>,
    /// What each panel's title says (the headers say the rest).
    pub titles: Titles,
    /// Labels left out by the panel cap.
    pub left_out: usize,
}

pub struct Structure {
    labels: Vec<String>,
    label_of: Vec<usize>,
    order: Vec<u32>,
    params: Vec<Param>,
    /// Parameters (indices into `params`) whose value differs between runs of a label.
    swept: Vec<usize>,
    replicate: Vec<u64>,
    factors: Vec<Factor>,
    /// Factor indices along rows and along columns, outer first.
    matrix: Option<(Vec<usize>, Vec<usize>)>,
    /// Each run's input kinds joined ("constant + step").
    inputs: Vec<String>,
}

/// Where a model type or stimulus kind stands in its registry (unknown ones last).
fn registry_rank(kind: &str) -> usize {
    ModelKind::ALL
        .iter()
        .position(|m| m.name() == kind)
        .or_else(|| crate::stimulus::STIMULI.iter().position(|s| s.name == kind))
        .unwrap_or(usize::MAX)
}

/// Labels compared with their digits as numbers ("run2" before "run10").
fn natural(a: &str, b: &str) -> std::cmp::Ordering {
    let split = |s: &str| -> Vec<(String, u64)> {
        let mut out = Vec::new();
        let mut text = String::new();
        let mut digits = String::new();
        for c in s.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
            } else {
                if !digits.is_empty() {
                    out.push((
                        std::mem::take(&mut text),
                        digits.parse().unwrap_or(u64::MAX),
                    ));
                    digits.clear();
                }
                text.push(c);
            }
        }
        out.push((text, digits.parse().unwrap_or(0)));
        out
    };
    split(a).cmp(&split(b)).then_with(|| a.cmp(b))
}

impl Structure {
    pub fn new(runs: &Runs) -> Structure {
        let t = &runs.table;
        let n = t.num_rows();
        let infos: Vec<_> = runs.iter().collect();
        let replicate: Vec<u64> = t
            .column_by_name(param::REPLICATE)
            .and_then(|c| c.as_primitive_opt::<UInt64Type>().cloned())
            .map_or(vec![0; n], |c| (0..n).map(|k| c.value(k)).collect());
        let mut params: Vec<Param> = Vec::new();
        let mut input_kinds: Vec<Vec<String>> = vec![Vec::new(); n];
        for (i, field) in t.schema().fields().iter().enumerate() {
            let name = field.name();
            if RUNS.has(name) || name == param::REPLICATE {
                continue;
            }
            let col = t.column(i);
            let unit = layout::unit_of(field).map(str::to_string);
            let f64s = col.as_primitive_opt::<Float64Type>();
            let mut p = Param {
                name: name.clone(),
                shown_name: format::param_name(name, unit.as_deref()),
                key: Vec::with_capacity(n),
                shown: Vec::with_capacity(n),
                num: Vec::with_capacity(n),
            };
            for k in 0..n {
                let null = col.is_null(k) || f64s.is_some_and(|a| a.value(k).is_nan());
                let text = if null {
                    String::new()
                } else {
                    array_value_to_string(col, k).unwrap_or_default()
                };
                let num = f64s.map_or(f64::NAN, |a| a.value(k));
                p.shown.push(match (&unit, null) {
                    (_, true) => String::new(),
                    (Some(u), false) if f64s.is_some() => format::quantity(num, u),
                    _ => text.clone(),
                });
                p.key.push(text);
                p.num.push(if null { f64::NAN } else { num });
            }
            let is_type = name == "input_type"
                || name
                    .strip_prefix("input_")
                    .and_then(|r| r.strip_suffix("_type"))
                    .is_some_and(|k| k.chars().all(|c| c.is_ascii_digit()));
            if is_type {
                for (k, kinds) in input_kinds.iter_mut().enumerate() {
                    if !p.key[k].is_empty() {
                        kinds.push(p.key[k].clone());
                    }
                }
            }
            params.push(p);
        }
        // Labels in first-seen order for now; sorted below.
        let mut labels: Vec<String> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut label_of = Vec::with_capacity(n);
        for info in &infos {
            let next = labels.len();
            let k = *index.entry(info.label.clone()).or_insert(next);
            if k == labels.len() {
                labels.push(info.label.clone());
            }
            label_of.push(k);
        }
        let first_run: Vec<usize> = (0..labels.len())
            .map(|l| label_of.iter().position(|&x| x == l).unwrap_or(0))
            .collect();
        let within_label = |key: &[String]| (0..n).all(|k| key[k] == key[first_run[label_of[k]]]);
        let swept: Vec<usize> = (0..params.len())
            .filter(|&i| !within_label(&params[i].key))
            .collect();

        // Candidate factors over labels: the model type, the input kinds together,
        // then every other parameter constant within labels, in table order.
        let per_label = |values: &dyn Fn(usize) -> String| -> Vec<String> {
            first_run.iter().map(|&k| values(k)).collect()
        };
        let mut candidates: Vec<(String, Vec<String>, Vec<f64>)> = Vec::new();
        if let Some(p) = params.iter().find(|p| p.name == param::MODEL) {
            candidates.push(("model".into(), per_label(&|k| p.key[k].clone()), Vec::new()));
        }
        candidates.push((
            "input".into(),
            per_label(&|k| input_kinds[k].join(" + ")),
            Vec::new(),
        ));
        let input_kinds_of =
            |v: &str| -> Vec<usize> { v.split(" + ").map(registry_rank).collect::<Vec<_>>() };
        for (i, p) in params.iter().enumerate() {
            let is_type = p.name.starts_with("input") && p.name.ends_with("_type");
            if p.name == param::MODEL || is_type || swept.contains(&i) {
                continue;
            }
            candidates.push((
                p.shown_name.clone(),
                per_label(&|k| p.shown[k].clone()),
                first_run.iter().map(|&k| p.num[k]).collect(),
            ));
        }
        let mut factors: Vec<Factor> = Vec::new();
        let mut kept_values: Vec<Vec<String>> = Vec::new();
        for (name, values, nums) in candidates {
            let mut distinct: Vec<usize> = Vec::new();
            for (l, v) in values.iter().enumerate() {
                if !distinct.iter().any(|&d| values[d] == *v) {
                    distinct.push(l);
                }
            }
            if distinct.len() < 2 {
                continue;
            }
            // Kept only when not already a function of the factors kept before.
            let mut seen: HashMap<Vec<&String>, &String> = HashMap::new();
            let dependent = (0..values.len()).all(|l| {
                let key: Vec<&String> = kept_values.iter().map(|f| &f[l]).collect();
                *seen.entry(key).or_insert(&values[l]) == &values[l]
            });
            if dependent && !kept_values.is_empty() {
                continue;
            }
            distinct.sort_by(|&a, &b| {
                let (va, vb) = (&values[a], &values[b]);
                match name.as_str() {
                    "model" => registry_rank(va).cmp(&registry_rank(vb)),
                    "input" => input_kinds_of(va).cmp(&input_kinds_of(vb)),
                    _ if !nums.is_empty() && !nums[a].is_nan() && !nums[b].is_nan() => {
                        nums[a].total_cmp(&nums[b])
                    }
                    _ => natural(va, vb),
                }
            });
            let levels: Vec<String> = distinct.iter().map(|&l| values[l].clone()).collect();
            let of_label = values
                .iter()
                .map(|v| levels.iter().position(|x| x == v).unwrap_or(0))
                .collect();
            factors.push(Factor {
                name,
                levels,
                of_label,
            });
            kept_values.push(values);
        }

        let matrix = Self::matrix_of(&factors, labels.len());
        // Label order: by matrix cell when the labels form one, else by model type
        // and input kinds (the factors whose order means something), then by name.
        let ordering: Vec<usize> = match &matrix {
            Some((rows, cols)) => rows.iter().chain(cols).copied().collect(),
            None => (0..factors.len())
                .filter(|&f| factors[f].name == "model" || factors[f].name == "input")
                .collect(),
        };
        let mut sorted: Vec<usize> = (0..labels.len()).collect();
        sorted.sort_by(|&a, &b| {
            let ka: Vec<usize> = ordering.iter().map(|&f| factors[f].of_label[a]).collect();
            let kb: Vec<usize> = ordering.iter().map(|&f| factors[f].of_label[b]).collect();
            ka.cmp(&kb).then_with(|| natural(&labels[a], &labels[b]))
        });
        let mut rank = vec![0; labels.len()];
        for (pos, &l) in sorted.iter().enumerate() {
            rank[l] = pos;
        }
        let labels: Vec<String> = sorted.iter().map(|&l| labels[l].clone()).collect();
        let label_of: Vec<usize> = label_of.iter().map(|&l| rank[l]).collect();
        for f in &mut factors {
            let old = std::mem::take(&mut f.of_label);
            f.of_label = sorted.iter().map(|&l| old[l]).collect();
        }

        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_by(|&a, &b| {
            let (a, b) = (a as usize, b as usize);
            label_of[a]
                .cmp(&label_of[b])
                .then_with(|| {
                    swept
                        .iter()
                        .map(|&i| {
                            let p = &params[i];
                            if p.num[a].is_nan() || p.num[b].is_nan() {
                                natural(&p.key[a], &p.key[b])
                            } else {
                                p.num[a].total_cmp(&p.num[b])
                            }
                        })
                        .find(|o| o.is_ne())
                        .unwrap_or(std::cmp::Ordering::Equal)
                })
                .then(replicate[a].cmp(&replicate[b]))
                .then(a.cmp(&b))
        });
        Structure {
            labels,
            label_of,
            order,
            params,
            swept,
            replicate,
            factors,
            matrix,
            inputs: input_kinds.iter().map(|k| k.join(" + ")).collect(),
        }
    }

    /// The distinct input kinds of the runs, in the runs' order.
    pub fn inputs(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for &r in &self.order {
            let v = &self.inputs[r as usize];
            if !v.is_empty() && !out.contains(v) {
                out.push(v.clone());
            }
        }
        out
    }

    /// Whether the labels form a matrix of factors (the overview is laid out so).
    pub fn is_matrix(&self) -> bool {
        self.matrix.is_some()
    }

    /// Rows and columns of factors when the labels are every combination of them,
    /// each once.
    fn matrix_of(factors: &[Factor], labels: usize) -> Option<(Vec<usize>, Vec<usize>)> {
        if factors.len() < 2 || factors.iter().any(|f| f.levels.len() > MAX_LEVELS) {
            return None;
        }
        let cells: usize = factors.iter().map(|f| f.levels.len()).product();
        if cells != labels || labels > OVERVIEW_PANELS {
            return None;
        }
        let mut tuples: Vec<Vec<usize>> = (0..labels)
            .map(|l| factors.iter().map(|f| f.of_label[l]).collect())
            .collect();
        tuples.sort();
        tuples.dedup();
        if tuples.len() != labels {
            return None;
        }
        let mut rows = vec![0];
        let mut cols: Vec<usize> = (1..factors.len()).collect();
        let width = |cols: &[usize]| {
            cols.iter()
                .map(|&f| factors[f].levels.len())
                .product::<usize>()
        };
        while width(&cols) > MAX_COLUMNS && cols.len() > 1 {
            rows.push(cols.remove(0));
        }
        Some((rows, cols))
    }

    /// Run ids in the experiment's order: by label, then by the values swept within
    /// it, then by replicate.
    pub fn order(&self) -> &[u32] {
        &self.order
    }

    /// The labels in display order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    pub fn factors(&self) -> &[Factor] {
        &self.factors
    }

    /// Names of the parameters swept within labels, as experiment paths.
    pub fn swept(&self) -> Vec<String> {
        self.swept
            .iter()
            .map(|&i| self.params[i].shown_name.clone())
            .collect()
    }

    /// Whether runs repeat as replicates.
    pub fn replicated(&self) -> bool {
        self.replicate.iter().any(|&r| r > 0)
    }

    pub fn replicate(&self, run: u32) -> u64 {
        self.replicate.get(run as usize).copied().unwrap_or(0)
    }

    /// A parameter's shown value for a run, by its column name.
    pub fn value(&self, column: &str, run: u32) -> Option<&str> {
        let p = self.params.iter().find(|p| p.name == column)?;
        p.shown.get(run as usize).map(String::as_str)
    }

    /// The distinct shown values of a column over all runs, in order of first run.
    pub fn distinct(&self, column: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        if let Some(p) = self.params.iter().find(|p| p.name == column) {
            for &r in &self.order {
                let v = &p.shown[r as usize];
                if !v.is_empty() && !out.contains(v) {
                    out.push(v.clone());
                }
            }
        }
        out
    }

    /// "input[0].amplitude = 60 pA, t_ref = 2 ms" for a run: its values of the
    /// parameters swept within labels (and its replicate when there are several).
    pub fn swept_values(&self, run: u32) -> String {
        let k = run as usize;
        let mut parts: Vec<String> = self
            .swept
            .iter()
            .map(|&i| {
                let p = &self.params[i];
                let v = p.shown.get(k).map_or("", String::as_str);
                format!("{} = {}", p.shown_name, if v.is_empty() { "—" } else { v })
            })
            .collect();
        if self.replicated() {
            parts.push(format!("replicate {}", self.replicate(run)));
        }
        parts.join(", ")
    }

    pub fn label(&self, run: u32) -> &str {
        self.label_of
            .get(run as usize)
            .map_or("", |&l| self.labels[l].as_str())
    }

    /// A run's title: its label and swept values.
    pub fn title(&self, run: u32) -> String {
        let swept = self.swept_values(run);
        if swept.is_empty() {
            self.label(run).to_string()
        } else {
            format!("{} ({swept})", self.label(run))
        }
    }

    /// The colour of a label, the same in every figure and panel.
    pub fn color_of_label(&self, label: &str) -> RGBColor {
        let k = self.labels.iter().position(|l| l == label).unwrap_or(0);
        palette(k, self.labels.len())
    }

    pub fn color(&self, run: u32) -> RGBColor {
        self.color_of_label(self.label(run))
    }

    /// The overview grid: one panel per label (its first run), laid out as the
    /// factor matrix when the labels form one; when every label holds the same few
    /// runs (a sweep within each label), one row per label and one panel per run.
    pub fn overview(&self) -> Grid {
        let mut runs_of: Vec<Vec<u32>> = vec![Vec::new(); self.labels.len()];
        for &r in &self.order {
            if self.replicate(r) == 0 || !self.replicated() {
                runs_of[self.label_of[r as usize]].push(r);
            }
        }
        runs_of.retain(|r| !r.is_empty());
        let per_label = runs_of.first().map_or(0, Vec::len);
        if let Some((rows, cols)) = self.matrix.as_ref().filter(|_| per_label == 1) {
            return self.matrix_grid(rows, cols, &runs_of);
        }
        let same = runs_of.iter().all(|r| r.len() == per_label);
        if per_label > 1 && same && per_label <= MAX_COLUMNS {
            let shown = runs_of.len().min(OVERVIEW_PANELS / per_label);
            return Grid {
                column_headers: Vec::new(),
                row_headers: runs_of[..shown]
                    .iter()
                    .map(|r| self.label(r[0]).to_string())
                    .collect(),
                cells: runs_of[..shown]
                    .iter()
                    .map(|r| r.iter().map(|&x| Some(x)).collect())
                    .collect(),
                titles: Titles::Swept,
                left_out: runs_of.len() - shown,
            };
        }
        // A plain grid, one panel per label, read row by row.
        let firsts: Vec<u32> = runs_of.iter().map(|r| r[0]).collect();
        let shown = firsts.len().min(OVERVIEW_PANELS);
        let width = if shown <= 4 { shown.max(1) } else { 4 };
        Grid {
            column_headers: Vec::new(),
            row_headers: Vec::new(),
            cells: firsts[..shown]
                .chunks(width)
                .map(|c| {
                    let mut row: Vec<Option<u32>> = c.iter().map(|&x| Some(x)).collect();
                    row.resize(width, None);
                    row
                })
                .collect(),
            titles: Titles::Full,
            left_out: firsts.len() - shown,
        }
    }

    fn matrix_grid(&self, rows: &[usize], cols: &[usize], runs_of: &[Vec<u32>]) -> Grid {
        let levels = |fs: &[usize]| -> Vec<Vec<usize>> {
            let mut out: Vec<Vec<usize>> = vec![Vec::new()];
            for &f in fs {
                out = out
                    .into_iter()
                    .flat_map(|p| {
                        (0..self.factors[f].levels.len()).map(move |l| {
                            let mut q = p.clone();
                            q.push(l);
                            q
                        })
                    })
                    .collect();
            }
            out
        };
        let (row_levels, col_levels) = (levels(rows), levels(cols));
        let cell_of = |l: usize| -> (Vec<usize>, Vec<usize>) {
            (
                rows.iter().map(|&f| self.factors[f].of_label[l]).collect(),
                cols.iter().map(|&f| self.factors[f].of_label[l]).collect(),
            )
        };
        let mut cells = vec![vec![None; col_levels.len()]; row_levels.len()];
        for r in runs_of {
            let (rl, cl) = cell_of(self.label_of[r[0] as usize]);
            let i = row_levels.iter().position(|x| *x == rl);
            let j = col_levels.iter().position(|x| *x == cl);
            if let (Some(i), Some(j)) = (i, j) {
                cells[i][j] = Some(r[0]);
            }
        }
        let named = |f: usize, l: usize| {
            let fac = &self.factors[f];
            match fac.name.as_str() {
                "model" | "input" => fac.levels[l].clone(),
                _ => format!("{} = {}", fac.name, fac.levels[l]),
            }
        };
        // One header row per column factor, each level spanning the levels inside it.
        let mut column_headers = Vec::new();
        for (depth, &f) in cols.iter().enumerate() {
            let inner: usize = cols[depth + 1..]
                .iter()
                .map(|&g| self.factors[g].levels.len())
                .product();
            let repeats: usize = cols[..depth]
                .iter()
                .map(|&g| self.factors[g].levels.len())
                .product();
            let mut row = Vec::new();
            for _ in 0..repeats {
                for l in 0..self.factors[f].levels.len() {
                    row.push((named(f, l), inner));
                }
            }
            column_headers.push(row);
        }
        let row_headers = row_levels
            .iter()
            .map(|ls| {
                rows.iter()
                    .zip(ls)
                    .map(|(&f, &l)| named(f, l))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .collect();
        Grid {
            column_headers,
            row_headers,
            cells,
            titles: Titles::None,
            left_out: 0,
        }
    }

    /// Runs to draw figures of, at most `cap`: every run in order when they fit;
    /// else the first replicate of each; else an even spread of those over the order.
    pub fn pick(&self, cap: usize) -> Vec<u32> {
        if self.order.len() <= cap {
            return self.order.clone();
        }
        let first: Vec<u32> = self
            .order
            .iter()
            .copied()
            .filter(|&r| self.replicate(r) == 0)
            .collect();
        if first.len() <= cap {
            return first;
        }
        (0..cap).map(|k| first[k * first.len() / cap]).collect()
    }
}

/// Colour `k` of `n`: ten well-separated hues for up to ten labels; beyond, hues
/// spread evenly round the circle, alternately darker and lighter.
pub fn palette(k: usize, n: usize) -> RGBColor {
    const TEN: [RGBColor; 10] = [
        RGBColor(31, 119, 180),
        RGBColor(214, 39, 40),
        RGBColor(44, 160, 44),
        RGBColor(148, 103, 189),
        RGBColor(255, 127, 14),
        RGBColor(23, 190, 207),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
        RGBColor(188, 189, 34),
    ];
    if n <= TEN.len() {
        return TEN[k % TEN.len()];
    }
    let hue = k as f64 / n as f64;
    let light = if k.is_multiple_of(2) { 0.38 } else { 0.52 };
    let (r, g, b) = HSLColor(hue, 0.75, light).rgb();
    RGBColor(r, g, b)
}
