//! The plan: every run of an experiment resolved to engine units, validated, keyed
//! and seeded — all before any run starts. Variants are a union of overrides of the
//! base; each is repeated `replicates` times. This file expands the axes and runs the
//! pipeline; the layers, value readers, run resolution and validation each have their
//! own module beside it.

use super::estimate::EstimateShare;
pub use super::estimate::{OutputEstimate, SizeVerdict, NOMINAL_RATE_HZ, WARN_BYTES};
use super::grid::{self, AxesRaw, Axis, Group};
use super::layers::*;
use super::raw::{ExperimentRaw, VariantRaw};
use super::resolve::*;
use super::spec::RunSpec;
use super::tolerances::Tolerances;
use super::values::*;
use crate::engine::{self, PackKey};
use crate::error::InputError;
use crate::seed;
use rayon::prelude::*;
use serde_saphyr::Spanned;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

/// Largest number of runs a plan may hold.
pub const DEFAULT_MAX_RUNS: u64 = 10_000_000;

/// Plans of at most this many runs keep every resolved run in memory (under 1 kB
/// each). Larger plans keep 8 bytes per run, its place in the sweep and its kind
/// ([`RunClass`]), and resolve a run again whenever it is asked for, so their memory
/// stays small whatever the number of runs.
pub const HOLD_RUNS: u64 = 1 << 17;

/// Most steps (duration / dt) one run may take: hours of one neuron on one core, far
/// past any experiment here. Past it the step count itself stops being exact (a
/// `duration: 1e300 s` would saturate it and start), so it is an input error.
pub const MAX_STEPS: u64 = 10_000_000_000;

/// Most neuron-steps one run may take (days on every core of a node). Keeps a run's
/// cost, which the shard split sums in u64, far from overflowing.
pub const MAX_NEURON_STEPS: u64 = 1_000_000_000_000_000;

/// Longest experiment name, in bytes (ASCII only).
pub const MAX_NAME: usize = 100;

/// Sweep points resolved together on all cores before the next chunk starts.
const POINTS_PER_CHUNK: usize = 1 << 14;

/// The runs of one sweep point, the warnings it raised, and whether it sums several
/// stimuli.
type Point = (Vec<RunSpec>, Vec<InputError>, bool);

/// What batching, sharding and estimating need to know of a run, shared by every run
/// of its kind so that a plan can keep it for millions of runs.
#[derive(Debug, Clone, PartialEq)]
pub struct RunClass {
    /// Which runs it may share a population with (`engine::pack_key`).
    pub pack: Option<PackKey>,
    /// `RunSpec::cost`.
    pub cost: u64,
    /// `RunSpec::neuron_steps`.
    pub neuron_steps: u64,
    /// `RunSpec::varies_per_neuron`.
    pub varies_per_neuron: bool,
    estimate: EstimateShare,
}

impl RunClass {
    fn of(r: &RunSpec) -> RunClass {
        RunClass {
            pack: engine::pack_key(r),
            cost: r.cost(),
            neuron_steps: r.neuron_steps(),
            varies_per_neuron: r.varies_per_neuron(),
            estimate: EstimateShare::of(r),
        }
    }

    /// What tells two classes apart, for interning.
    fn id(&self) -> ClassId {
        (
            self.pack.clone(),
            self.cost,
            self.neuron_steps,
            self.varies_per_neuron,
            self.estimate.bits(),
        )
    }
}

type ClassId = (Option<PackKey>, u64, u64, bool, [u64; 3]);

/// A validated experiment: its runs and what the dataset needs to know about them.
#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
    pub description: Option<String>,
    pub seed: u64,
    /// Whether any run sums several stimuli (then input columns are numbered).
    pub indexed_inputs: bool,
    /// Problems that do not stop the plan (e.g. a coarse dt), each once.
    pub warnings: Vec<InputError>,
    /// The sweep's axes with their sizes, as "scope.path: n".
    pub axes: Vec<String>,
    /// Tolerances for `neurodyn check` (the `check:` section, else the defaults).
    pub tolerances: Tolerances,
    runs: Runs,
}

/// The runs of a plan, by run id: held whole, or streamed from the sweep.
#[derive(Debug, Clone)]
struct Runs {
    /// Every run in run-id order, when the plan holds them (at most HOLD_RUNS).
    held: Vec<RunSpec>,
    /// What resolves a streamed run again from its slot.
    source: Arc<Source>,
    /// Streamed: each run id's slot in the sweep (see [`Source::run`]).
    slots: Vec<u32>,
    /// Each run id's class, an index into `classes`.
    class: Vec<u32>,
    classes: Vec<RunClass>,
}

impl Plan {
    /// Number of runs.
    pub fn len(&self) -> usize {
        self.runs.class.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether runs are resolved again when asked for, rather than held.
    pub fn is_streamed(&self) -> bool {
        self.runs.held.len() != self.len()
    }

    /// The kind of run `id` is.
    pub fn class(&self, id: u32) -> &RunClass {
        &self.runs.classes[self.runs.class[id as usize] as usize]
    }

    /// The runs with these ids, resolved again (on all cores) if the plan streams.
    pub fn specs(&self, ids: &[u32]) -> Vec<Cow<'_, RunSpec>> {
        if !self.is_streamed() {
            return ids
                .iter()
                .map(|&i| Cow::Borrowed(&self.runs.held[i as usize]))
                .collect();
        }
        ids.par_iter()
            .map(|&i| {
                let mut r = self.runs.source.run(self.runs.slots[i as usize]);
                r.run_id = i;
                Cow::Owned(r)
            })
            .collect()
    }

    /// One run.
    pub fn spec(&self, id: u32) -> Cow<'_, RunSpec> {
        self.specs(&[id]).pop().expect("one run asked for")
    }

    /// The runs in run-id order, `size` at a time: how a large plan is walked.
    pub fn chunks(&self, size: usize) -> impl Iterator<Item = Vec<Cow<'_, RunSpec>>> + '_ {
        let n = self.len() as u32;
        let size = size.max(1) as u32;
        (0..n).step_by(size as usize).map(move |first| {
            let ids: Vec<u32> = (first..n.min(first.saturating_add(size))).collect();
            self.specs(&ids)
        })
    }

    /// Every run, in run-id order. A streamed plan resolves them all: for small plans
    /// and tests; walk large plans with [`Plan::chunks`].
    pub fn runs(&self) -> Vec<Cow<'_, RunSpec>> {
        let ids: Vec<u32> = (0..self.len() as u32).collect();
        self.specs(&ids)
    }

    /// Total neuron-steps of all runs (saturating: 10^10 steps of 4·10^9 neurons
    /// overflow a u64).
    pub fn neuron_steps(&self) -> u64 {
        (0..self.len() as u32).fold(0u64, |sum, i| {
            sum.saturating_add(self.class(i).neuron_steps)
        })
    }

    /// What the whole plan writes.
    pub fn output_estimate(&self) -> OutputEstimate {
        self.estimate_of(0..self.len() as u32)
    }

    /// Whether some run varies a value per neuron (then neurons.parquet is written).
    pub fn varies_per_neuron(&self) -> bool {
        self.runs.classes.iter().any(|c| c.varies_per_neuron)
    }

    /// What the runs with these ids write.
    pub fn estimate_of(&self, ids: impl Iterator<Item = u32>) -> OutputEstimate {
        OutputEstimate::sum(ids.map(|i| self.class(i).estimate))
    }
}

/// Everything needed to resolve any run of the sweep again from its slot: the
/// experiment, its axes and each variant's layered settings. A slot numbers the runs
/// in sweep order: variant, then point (the last axis fastest), then replicate.
#[derive(Debug)]
struct Source {
    raw: ExperimentRaw,
    name: String,
    seed: u64,
    replicates: u32,
    base_groups: Vec<Group>,
    variants: Vec<VariantSource>,
}

#[derive(Debug)]
struct VariantSource {
    /// `variants[i].`, or empty without variants.
    prefix: String,
    is_variant: bool,
    label: String,
    layered: RunRaw,
    own_groups: Vec<Group>,
    /// Points of this variant: base points times its own.
    points: usize,
    /// Slot of its first run.
    first_slot: u64,
}

impl Source {
    /// The runs of point `k` of variant `v` (one per replicate, or only replicate
    /// `only`), with the warnings they raised and whether they sum several stimuli.
    fn point(&self, v: usize, k: usize, only: Option<u32>) -> Result<Point, InputError> {
        let var = &self.variants[v];
        let own_count = grid::point_count(&var.own_groups);
        let bp = grid::point_at(&self.base_groups, k / own_count);
        let op = grid::point_at(&var.own_groups, k % own_count);
        let mut warnings = Vec::new();
        let mut run_raw = var.layered.clone();
        for (axis, value) in &bp {
            run_raw.apply(axis, value, 2)?;
        }
        for (axis, value) in &op {
            run_raw.apply(axis, value, 3)?;
        }
        let point: Vec<String> = bp
            .iter()
            .chain(op.iter())
            .map(|(a, v)| format!("{}={}", a.path, v.value))
            .collect();
        let resolved = resolve_run(&self.raw, &run_raw, &mut warnings)
            .map_err(|e| in_point(e, &var.prefix, &point))?;
        let indexed = resolved.input.stimuli.len() > 1;
        let label = if !var.label.is_empty() {
            var.label.clone()
        } else if var.is_variant || !point.is_empty() {
            auto_label(resolved.model(), &resolved.input)
        } else {
            self.name.clone()
        };
        let replicates = match only {
            Some(r) => r..r + 1,
            None => 0..self.replicates,
        };
        let mut runs = Vec::with_capacity(replicates.len());
        for replicate in replicates {
            let mut spec = RunSpec {
                label: label.clone(),
                replicate,
                ..resolved.clone()
            };
            spec.key = seed::run_key(&spec.canonical(), replicate);
            spec.seed = seed::run_seed(self.seed, &spec.key);
            super::per_neuron::check(&mut spec, &run_raw, &mut warnings)
                .map_err(|e| in_point(e, &var.prefix, &point))?;
            runs.push(spec);
        }
        Ok((runs, warnings, indexed))
    }

    /// The run in `slot`, resolved again. It resolved when the plan was made, and
    /// resolving is a pure function of the experiment, so it does again.
    fn run(&self, slot: u32) -> RunSpec {
        let slot = u64::from(slot);
        let v = self
            .variants
            .partition_point(|var| var.first_slot <= slot)
            .saturating_sub(1);
        let within = slot - self.variants[v].first_slot;
        let reps = u64::from(self.replicates);
        let (k, r) = ((within / reps) as usize, (within % reps) as u32);
        let (mut runs, _, _) = self
            .point(v, k, Some(r))
            .expect("a planned run resolves again as it did");
        runs.pop().expect("one replicate asked for")
    }
}

/// The first 8 bytes of a run key (hex), which order keys as the whole key does
/// unless they are equal (for 10⁷ runs, a tie has a chance of about 3·10⁻⁶).
fn key_prefix(key: &str) -> u64 {
    u64::from_str_radix(&key[..16], 16).expect("run keys are SHA-256 hex")
}

/// Reorder `items` so that position i holds what was at `order[i]`, in place: each
/// cycle of the permutation is followed back to its start and swapped into place.
fn permute<T>(items: &mut [T], order: &[usize]) {
    for i in 0..items.len() {
        let mut j = order[i];
        // Items before i are final; one that came from a position before i has since
        // moved to where that position's own source was.
        while j < i {
            j = order[j];
        }
        items.swap(i, j);
    }
}

/// Turn the raw experiment into a plan, or report the first problem found.
pub fn plan(raw: &ExperimentRaw) -> Result<Plan, InputError> {
    plan_with_cap(raw, DEFAULT_MAX_RUNS)
}

/// The axes of a scope (`grid`, `zip[k]`), expanded, as groups that advance together.
fn groups(
    grid: Option<&Spanned<AxesRaw>>,
    zip: Option<&Vec<Spanned<AxesRaw>>>,
    prefix: &str,
) -> Result<Vec<Group>, InputError> {
    let mut out = Vec::new();
    for (path, axis) in grid.map(|g| g.value.0.as_slice()).unwrap_or(&[]) {
        let scope = format!("{prefix}grid");
        let values = grid::expand(axis, &format!("{scope}.{path}"))?;
        out.push(Group {
            axes: vec![Axis {
                path: path.clone(),
                scope,
                values,
            }],
        });
    }
    for (z, group) in zip.map(|v| v.as_slice()).unwrap_or(&[]).iter().enumerate() {
        let scope = format!("{prefix}zip[{z}]");
        let mut axes: Vec<Axis> = Vec::new();
        for (path, axis) in &group.value.0 {
            let values = grid::expand(axis, &format!("{scope}.{path}"))?;
            if let Some(first) = axes.first() {
                if first.values.len() != values.len() {
                    return Err(InputError::new(format!(
                        "zipped axes must have equal lengths: {} has {}, {} has {}",
                        first.path,
                        first.values.len(),
                        path,
                        values.len()
                    ))
                    .key(scope.clone())
                    .at(loc(group))
                    .hint("give every axis of a zip group the same number of values"));
                }
            }
            axes.push(Axis {
                path: path.clone(),
                scope: scope.clone(),
                values,
            });
        }
        if !axes.is_empty() {
            out.push(Group { axes });
        }
    }
    Ok(out)
}

/// Runs of a scope before expansion: the product of its axis lengths.
fn scope_size(
    grid: Option<&Spanned<AxesRaw>>,
    zip: Option<&Vec<Spanned<AxesRaw>>>,
    prefix: &str,
    sizes: &mut Vec<String>,
) -> Result<u64, InputError> {
    let mut total: u64 = 1;
    for (path, axis) in grid.map(|g| g.value.0.as_slice()).unwrap_or(&[]) {
        let n = grid::axis_len(axis, &format!("{prefix}grid.{path}"))?;
        sizes.push(format!("{prefix}grid.{path}: {n}"));
        total = total.saturating_mul(n);
    }
    for (z, group) in zip.map(|v| v.as_slice()).unwrap_or(&[]).iter().enumerate() {
        if let Some((path, axis)) = group.value.0.first() {
            let n = grid::axis_len(axis, &format!("{prefix}zip[{z}].{path}"))?;
            sizes.push(format!("{prefix}zip[{z}]: {n}"));
            total = total.saturating_mul(n);
        }
    }
    Ok(total)
}

/// [`plan`] with an explicit cap on the number of runs.
pub fn plan_with_cap(raw: &ExperimentRaw, max_runs: u64) -> Result<Plan, InputError> {
    plan_with(raw, max_runs, HOLD_RUNS)
}

/// [`plan`] with a cap on the number of runs and the largest plan that holds its runs
/// in memory (larger ones stream, see [`HOLD_RUNS`]); tests stream small plans.
pub fn plan_with(raw: &ExperimentRaw, max_runs: u64, hold_runs: u64) -> Result<Plan, InputError> {
    let name = raw.name.value.clone();
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !name_ok {
        return Err(InputError::new(format!(
            "'{name}' is not a valid experiment name (it names the output folder)"
        ))
        .key("name")
        .at(loc(&raw.name))
        .hint("use only letters, digits, '_' and '-'"));
    }
    // A folder name; file systems take 255 bytes at most.
    if name.len() > MAX_NAME {
        return Err(InputError::new(format!(
            "the name '{name}' has {} characters; it names the output folder and may have at most {MAX_NAME}",
            name.len()
        ))
        .key("name")
        .at(loc(&raw.name))
        .hint("choose a short name; `description:` holds the details"));
    }
    let replicates = match &raw.replicates {
        Some(r) => count(r, "replicates", 1)?,
        None => 1,
    };
    let seed = raw.seed.as_ref().map_or(0, |s| s.value);
    let variants: &[Spanned<VariantRaw>] = raw.variants.as_ref().map_or(&[], |v| &v.value);
    if let Some(v) = raw.variants.as_ref().filter(|v| v.value.is_empty()) {
        return Err(InputError::new("variants is an empty list")
            .key("variants")
            .at(loc(v))
            .hint("list at least one variant, or remove the key for a single run"));
    }

    // Count before expanding, so an oversized sweep fails at once with its axis sizes.
    let mut sizes = Vec::new();
    let base_size = scope_size(raw.grid.as_ref(), raw.zip.as_ref(), "", &mut sizes)?;
    let mut total: u64 = 0;
    for (i, v) in variants.iter().enumerate() {
        let n = scope_size(
            v.value.grid.as_ref(),
            v.value.zip.as_ref(),
            &format!("variants[{i}]."),
            &mut sizes,
        )?;
        total = total.saturating_add(base_size.saturating_mul(n));
    }
    if variants.is_empty() {
        total = base_size;
    }
    let total = total.saturating_mul(u64::from(replicates));
    if total > max_runs {
        let variant_note = if variants.is_empty() {
            String::new()
        } else {
            format!(", {} variants", variants.len())
        };
        return Err(InputError::new(format!(
            "the plan has {total} runs ({}{variant_note}, {replicates} replicates), more than the cap of {max_runs}",
            if sizes.is_empty() { "no axes".to_string() } else { sizes.join(" x ") }
        ))
        .key(if raw.grid.is_some() { "grid" } else { "replicates" })
        .at(raw.grid.as_ref().and_then(loc).or(raw.replicates.as_ref().and_then(loc)))
        .hint("reduce the axes, variants or replicates, or raise the cap with --max-runs"));
    }

    // Run ids are u32 (and so are a streamed plan's slots).
    if total > u64::from(u32::MAX) {
        return Err(InputError::new(format!(
            "the plan has {total} runs; a dataset holds at most {} runs",
            u32::MAX
        ))
        .key(if raw.grid.is_some() {
            "grid"
        } else {
            "replicates"
        })
        .at(raw
            .grid
            .as_ref()
            .and_then(loc)
            .or(raw.replicates.as_ref().and_then(loc)))
        .hint("split the sweep into several experiments"));
    }
    let source = Arc::new(source(raw, replicates, seed)?);
    let hold = total <= hold_runs;
    let mut held: Vec<RunSpec> = Vec::new();
    // Streamed: each run's key prefix and slot (as [high, low, slot], 12 bytes a run),
    // and each slot's class.
    let mut keyed: Vec<[u32; 3]> = Vec::new();
    let mut class_of_slot: Vec<u32> = Vec::new();
    let mut classes = Classes::default();
    let mut warnings: Vec<InputError> = Vec::new();
    let mut any_indexed = false;
    for (v, var) in source.variants.iter().enumerate() {
        // Points are resolved on all cores, a chunk at a time, so that the first
        // error (in sweep order) stops the plan without resolving the rest. A
        // streamed plan keeps only each run's key prefix and class.
        for first in (0..var.points).step_by(POINTS_PER_CHUNK) {
            let chunk = first..(first + POINTS_PER_CHUNK).min(var.points);
            let done: Vec<Result<Resolved, InputError>> = chunk
                .into_par_iter()
                .map(|k| {
                    let (runs, raised, indexed) = source.point(v, k, None)?;
                    let kept = if hold {
                        Kept::Runs(runs)
                    } else {
                        Kept::Keys(
                            runs.iter()
                                .map(|r| (key_prefix(&r.key), RunClass::of(r)))
                                .collect(),
                        )
                    };
                    Ok((kept, raised, indexed))
                })
                .collect();
            for result in done {
                let (kept, raised, indexed) = result?;
                match kept {
                    Kept::Runs(runs) => held.extend(runs),
                    Kept::Keys(keys) => {
                        for (prefix, class) in keys {
                            let slot = class_of_slot.len() as u32;
                            keyed.push([(prefix >> 32) as u32, prefix as u32, slot]);
                            class_of_slot.push(classes.intern(class));
                        }
                    }
                }
                any_indexed |= indexed;
                for w in raised {
                    if !warnings.contains(&w) {
                        warnings.push(w);
                    }
                }
            }
        }
    }
    // Order by run key: run ids then do not depend on the order the grid was written
    // in, and costly and cheap runs interleave across batches.
    let runs = if hold {
        hold_in_key_order(raw, held, source)?
    } else {
        stream_in_key_order(raw, keyed, class_of_slot, classes, source)?
    };
    Ok(Plan {
        name,
        description: raw.description.clone(),
        seed,
        runs,
        indexed_inputs: any_indexed,
        warnings,
        axes: sizes,
        tolerances: resolve_tolerances(raw)?,
    })
}

/// A point as pass one keeps it, with its warnings and whether it sums stimuli.
type Resolved = (Kept, Vec<InputError>, bool);

/// What pass one keeps of a point: its runs, or (streamed) each run's key prefix and
/// class.
enum Kept {
    Runs(Vec<RunSpec>),
    Keys(Vec<(u64, RunClass)>),
}

/// Distinct run classes, each once.
#[derive(Default)]
struct Classes {
    list: Vec<RunClass>,
    index: HashMap<ClassId, u32>,
}

impl Classes {
    fn intern(&mut self, c: RunClass) -> u32 {
        let next = self.list.len() as u32;
        let i = *self.index.entry(c.id()).or_insert(next);
        if i == next {
            self.list.push(c);
        }
        i
    }
}

/// The experiment's variants and axes, laid out so that any run can be resolved
/// again from its slot.
fn source(raw: &ExperimentRaw, replicates: u32, seed: u64) -> Result<Source, InputError> {
    let variants: &[Spanned<VariantRaw>] = raw.variants.as_ref().map_or(&[], |v| &v.value);
    let base = RunRaw::base(raw);
    let base_groups = groups(raw.grid.as_ref(), raw.zip.as_ref(), "")?;
    let mut out = Vec::new();
    let mut first_slot = 0u64;
    for index in 0..variants.len().max(1) {
        let variant = variants.get(index);
        let prefix = variant.map_or(String::new(), |_| format!("variants[{index}]."));
        let mut layered = base.clone();
        if let Some(v) = variant {
            layered.overlay_variant(&v.value, &prefix);
        }
        let own_groups = match variant {
            Some(v) => groups(v.value.grid.as_ref(), v.value.zip.as_ref(), &prefix)?,
            None => Vec::new(),
        };
        per_neuron_swept(&layered, base_groups.iter().chain(&own_groups))?;
        let points = grid::point_count(&base_groups) * grid::point_count(&own_groups);
        out.push(VariantSource {
            label: variant
                .and_then(|v| v.value.label.as_ref())
                .map_or(String::new(), |l| l.value.clone()),
            prefix,
            is_variant: variant.is_some(),
            layered,
            own_groups,
            points,
            first_slot,
        });
        first_slot += points as u64 * u64::from(replicates);
    }
    Ok(Source {
        raw: raw.clone(),
        name: raw.name.value.clone(),
        seed,
        replicates,
        base_groups,
        variants: out,
    })
}

fn duplicate(raw: &ExperimentRaw, a: &str, b: &str) -> InputError {
    InputError::new(format!(
        "two runs have the same parameters and replicate ({a} and {b}), so they would be the same run"
    ))
    .key("variants")
    .at(raw.variants.as_ref().and_then(loc))
    .hint("remove the duplicate variant or grid value, or use replicates for repeated draws")
}

/// A held plan's runs sorted by key and numbered.
fn hold_in_key_order(
    raw: &ExperimentRaw,
    mut held: Vec<RunSpec>,
    source: Arc<Source>,
) -> Result<Runs, InputError> {
    // Sorted through an index, then permuted in place: sorting the specs themselves
    // would move them many times over and, in parallel, hold a second copy.
    let mut order: Vec<usize> = (0..held.len()).collect();
    order.par_sort_by(|&a, &b| held[a].key.cmp(&held[b].key));
    permute(&mut held, &order);
    if let Some(w) = held.windows(2).find(|w| w[0].key == w[1].key) {
        return Err(duplicate(raw, &w[0].label, &w[1].label));
    }
    for (i, r) in held.iter_mut().enumerate() {
        r.run_id = i as u32;
    }
    let found: Vec<RunClass> = held.par_iter().map(RunClass::of).collect();
    let mut classes = Classes::default();
    let class = found.into_iter().map(|c| classes.intern(c)).collect();
    Ok(Runs {
        held,
        source,
        slots: Vec::new(),
        class,
        classes: classes.list,
    })
}

/// A streamed plan's slots sorted by run key and numbered. Key prefixes order the
/// runs; the rare runs whose prefixes are equal are resolved again and ordered by
/// their whole keys.
fn stream_in_key_order(
    raw: &ExperimentRaw,
    mut keyed: Vec<[u32; 3]>,
    class_of_slot: Vec<u32>,
    classes: Classes,
    source: Arc<Source>,
) -> Result<Runs, InputError> {
    keyed.par_sort_unstable();
    let mut i = 0;
    while i < keyed.len() {
        let j = i + keyed[i..].partition_point(|k| k[..2] == keyed[i][..2]);
        if j - i > 1 {
            let mut tied: Vec<(String, String, u32)> = keyed[i..j]
                .iter()
                .map(|&[_, _, slot]| {
                    let r = source.run(slot);
                    (r.key, r.label, slot)
                })
                .collect();
            tied.sort();
            if let Some(w) = tied.windows(2).find(|w| w[0].0 == w[1].0) {
                return Err(duplicate(raw, &w[0].1, &w[1].1));
            }
            for (k, (_, _, slot)) in keyed[i..j].iter_mut().zip(tied) {
                k[2] = slot;
            }
        }
        i = j;
    }
    let slots: Vec<u32> = keyed.iter().map(|k| k[2]).collect();
    drop(keyed);
    let class = slots.iter().map(|&s| class_of_slot[s as usize]).collect();
    drop(class_of_slot);
    Ok(Runs {
        held: Vec::new(),
        source,
        slots,
        class,
        classes: classes.list,
    })
}

/// Refuse a path that a grid axis sweeps and a per_neuron rule varies: which of the
/// two would apply is ambiguous.
fn per_neuron_swept<'a>(
    layered: &RunRaw,
    groups: impl Iterator<Item = &'a Group>,
) -> Result<(), InputError> {
    let axes: Vec<&Axis> = groups.flat_map(|g| &g.axes).collect();
    for (path, set) in &layered.per_neuron {
        let mine = super::per_neuron::comparable(path);
        if let Some(axis) = axes
            .iter()
            .find(|a| super::per_neuron::comparable(&a.path) == mine)
        {
            return Err(InputError::new(format!(
                "{path} varies per neuron here and is swept by {}.{}: which of the two applies is ambiguous",
                axis.scope, axis.path
            ))
            .key(set.path.clone())
            .at(loc(&set.value))
            .hint("remove one of the two; to compare distributions, give each its own variant with its own per_neuron"));
        }
    }
    Ok(())
}

fn describe(prefix: &str, point: &[String]) -> String {
    let scope = if prefix.is_empty() {
        "the base".to_string()
    } else {
        prefix.trim_end_matches('.').to_string()
    };
    if point.is_empty() {
        scope
    } else {
        format!("{scope} at {}", point.join(", "))
    }
}

/// Name the grid point in an error found while resolving it.
fn in_point(e: InputError, prefix: &str, point: &[String]) -> InputError {
    if point.is_empty() {
        e
    } else {
        e.hint(format!(
            "this happens at the grid point {}",
            describe(prefix, point)
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn permute_puts_each_item_where_the_order_says() {
        let order = [3, 0, 4, 1, 2, 6, 5];
        let mut items: Vec<usize> = (0..7).map(|i| 10 * i).collect();
        super::permute(&mut items, &order);
        let want: Vec<usize> = order.iter().map(|&o| 10 * o).collect();
        assert_eq!(items, want);
        // Shuffles of every size up to 200 (Fisher-Yates from a fixed LCG).
        let mut x = 1u64;
        for n in 0..200 {
            let mut order: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                order.swap(i, (x >> 33) as usize % (i + 1));
            }
            let mut items: Vec<usize> = (0..n).collect();
            super::permute(&mut items, &order);
            assert_eq!(items, order);
        }
    }

    use super::super::estimate::*;
    use super::super::spec::{InitValue, Method};
    use super::*;
    use crate::experiment::parse;

    fn plan_text(text: &str) -> Result<Plan, InputError> {
        plan(&parse(text).map_err(|e| panic!("parse: {e}")).unwrap())
    }

    const BASE: &str = "name: t\nduration: 100 ms\ndt: 0.1 ms\nmodel: {type: adex}\n";

    #[test]
    fn defaults_and_units_resolve() {
        let p = plan_text(&format!(
            "{BASE}input: {{type: constant, amplitude: 0.5 nA}}\nneurons: 3\n"
        ))
        .unwrap();
        assert_eq!(p.len(), 1);
        let r = &p.runs()[0];
        assert_eq!((r.steps, r.neurons, r.method), (1000, 3, Method::Rk4));
        let [s] = r.input.stimuli.as_slice() else {
            panic!("one stimulus")
        };
        assert_eq!((s.name(), s.values().get("amplitude")), ("constant", 500.0));
        assert_eq!(r.initial.v, InitValue::Fixed(-70.6));
        assert_eq!(r.window, (0.0, 100.0));
    }

    #[test]
    fn tau_m_and_r_give_c_and_g_l() {
        let p = plan_text("name: t\nduration: 100 ms\ndt: 0.1 ms\nmodel: {type: lif, tau_m: 10 ms, R: 1 MOhm, V_th: -13 mV, E_L: -65 mV, V_reset: -73.42 mV}\n").unwrap();
        let m = &p.runs()[0].params;
        let (g_l, c) = (m.get("g_L").unwrap(), m.get("C").unwrap());
        assert!((g_l - 1000.0).abs() < 1e-9 && (c - 10000.0).abs() < 1e-6);
    }

    fn by_key(p: &Plan) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = p.runs().iter().map(|r| (r.key.clone(), r.seed)).collect();
        v.sort();
        v
    }

    #[test]
    fn variants_override_the_base_and_keys_are_stable() {
        let text = format!("{BASE}input: {{type: constant, amplitude: 500 pA}}\nvariants:\n  - {{label: l, model: {{type: lif}}}}\n  - {{label: nob, model: {{b: 0 pA}}}}\nreplicates: 2\n");
        let p = plan_text(&text).unwrap();
        assert_eq!(p.len(), 4);
        let lif: Vec<_> = p.runs().into_iter().filter(|r| r.label == "l").collect();
        assert!(lif.iter().all(|r| r.model().name() == "lif"));
        assert!(p
            .runs()
            .iter()
            .filter(|r| r.label == "nob")
            .all(|r| r.params.get("b") == Some(0.0)));
        assert_ne!(lif[0].key, lif[1].key);
        // Run ids follow the run keys.
        assert!(p.runs().windows(2).all(|w| w[0].key < w[1].key));
        // Adding a variant does not change the keys or seeds of existing runs.
        let more = text.replace("replicates: 2", "  - {model: {b: 10 pA}}\nreplicates: 2");
        let q = plan_text(&more).unwrap();
        let old = by_key(&p);
        assert!(old.iter().all(|k| by_key(&q).contains(k)));
    }

    #[test]
    fn grids_zips_and_variant_axes_expand() {
        let text = format!(
            "{BASE}input: {{type: constant, amplitude: 0 pA}}\n\
             grid:\n  input.amplitude: {{linspace: [0 pA, 1 nA, 5]}}\n\
             zip:\n  - {{model.t_ref: [0 ms, 2 ms], initial.V: [-70 mV, -60 mV]}}\n\
             variants:\n  - {{model: {{type: lif}}}}\n  - {{model: {{type: adex}}, grid: {{model.b: [0 pA, 80.5 pA]}}}}\n"
        );
        let p = plan_text(&text).unwrap();
        assert_eq!(p.len(), 5 * 2 + 5 * 2 * 2);
        let amps: Vec<f64> = p
            .runs()
            .iter()
            .map(|r| r.input.stimuli[0].values().get("amplitude"))
            .collect();
        for a in [0.0, 250.0, 500.0, 750.0, 1000.0] {
            assert!(amps.contains(&a));
        }
        // Zipped axes advance together.
        assert!(p
            .runs()
            .iter()
            .all(|r| (r.params.get("t_ref") == Some(0.0))
                == (r.initial.v == InitValue::Fixed(-70.0))));
        // The grid's order does not change the runs.
        let swapped = text.replace(
            "{linspace: [0 pA, 1 nA, 5]}",
            "[1 nA, 750 pA, 0.5 nA, 250 pA, 0 pA]",
        );
        let q = plan_text(&swapped).unwrap();
        assert_eq!(by_key(&p), by_key(&q));
        assert_eq!(p.runs(), q.runs());
    }

    #[test]
    fn a_streamed_plan_gives_the_runs_a_held_plan_holds() {
        let text = format!(
            "{BASE}input: {{type: constant, amplitude: 0 pA}}\n\
             grid:\n  input.amplitude: {{linspace: [0 pA, 1 nA, 7]}}\n\
             zip:\n  - {{model.t_ref: [0 ms, 2 ms], initial.V: [-70 mV, -60 mV]}}\n\
             replicates: 3\nneurons: 3\nrecord: {{variables: [V]}}\n\
             variants:\n  - {{model: {{type: lif}}}}\n  - {{label: ad, model: {{type: adex}}, grid: {{model.b: [0 pA, 80.5 pA]}}, per_neuron: {{model.a: {{linspace: [1 nS, 4 nS]}}}}}}\n"
        );
        let raw = parse(&text).unwrap();
        let held = plan(&raw).unwrap();
        let streamed = plan_with(&raw, DEFAULT_MAX_RUNS, 0).unwrap();
        assert!(!held.is_streamed() && streamed.is_streamed());
        assert_eq!(held.len(), 7 * 2 * 3 + 7 * 2 * 2 * 3);
        assert_eq!(held.runs(), streamed.runs());
        assert_eq!(held.warnings, streamed.warnings);
        assert_eq!(held.indexed_inputs, streamed.indexed_inputs);
        assert_eq!(held.output_estimate(), streamed.output_estimate());
        assert_eq!(held.neuron_steps(), streamed.neuron_steps());
        for id in 0..held.len() as u32 {
            assert_eq!(held.class(id), streamed.class(id));
        }
        // Any run alone, and in chunks that do not divide the plan.
        assert_eq!(
            streamed.spec(17).into_owned(),
            held.runs()[17].clone().into_owned()
        );
        let chunked: Vec<RunSpec> = streamed
            .chunks(10)
            .flatten()
            .map(|r| r.into_owned())
            .collect();
        let whole: Vec<RunSpec> = held.runs().into_iter().map(|r| r.into_owned()).collect();
        assert_eq!(chunked, whole);
        // A duplicate is found when streaming too.
        let dup = text.replace("replicates: 3", "replicates: 1") + "  - {model: {type: lif}}\n";
        let e = plan_with(&parse(&dup).unwrap(), DEFAULT_MAX_RUNS, 0).unwrap_err();
        assert!(e.message.contains("same parameters"), "{}", e.message);
        assert_eq!(plan(&parse(&dup).unwrap()).unwrap_err(), e);
    }

    #[test]
    fn runs_whose_key_prefixes_tie_are_ordered_by_their_whole_keys() {
        let text =
            format!("{BASE}grid: {{model.a: {{linspace: [1 nS, 2 nS, 9]}}}}\nreplicates: 2\n");
        let raw = parse(&text).unwrap();
        let held = plan(&raw).unwrap();
        let source = Arc::new(source(&raw, 2, 0).unwrap());
        // Every prefix made equal (and given in reverse), so only the whole keys order.
        let keyed: Vec<[u32; 3]> = (0..18).rev().map(|slot| [0, 0, slot]).collect();
        let runs =
            stream_in_key_order(&raw, keyed, vec![0; 18], Classes::default(), source).unwrap();
        let keys: Vec<String> = runs.slots.iter().map(|&s| runs.source.run(s).key).collect();
        let want: Vec<String> = held.runs().iter().map(|r| r.key.clone()).collect();
        assert_eq!(keys, want);
    }

    #[test]
    fn sweep_errors_name_the_axis() {
        // model.b does not apply to the LIF variant: declare it per variant.
        let e = plan_text(&format!(
            "{BASE}grid: {{model.b: [0 pA, 1 pA]}}\nvariants:\n  - {{model: {{type: lif}}}}\n"
        ))
        .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("grid.model.b"));
        let e = plan_text(&format!("{BASE}grid: {{model.bb: [0 pA]}}\n")).unwrap_err();
        assert!(e.hints[0].contains("model.b"), "{:?}", e.hints);
        let e = plan_text(&format!(
            "{BASE}zip:\n  - {{model.a: [1 nS, 2 nS], model.b: [1 pA]}}\n"
        ))
        .unwrap_err();
        assert!(e.message.contains("equal lengths"));
        let e = plan_with_cap(
            &parse(&format!("{BASE}grid: {{model.a: {{linspace: [0 nS, 1 nS, 1000]}}, model.b: {{linspace: [0 pA, 1 pA, 1000]}}}}\n")).unwrap(),
            100_000,
        )
        .unwrap_err();
        assert!(
            e.message
                .contains("grid.model.a: 1000 x grid.model.b: 1000"),
            "{}",
            e.message
        );
    }

    #[test]
    fn errors_name_key_and_line() {
        let e =
            plan_text("name: t\nduration: 100 ms\ndt: 0.1 ms\nmodel:\n  type: adex\n  C: 0 pF\n")
                .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("model.C"));
        assert_eq!(e.location.map(|l| l.line), Some(6));
        let e = plan_text(&format!(
            "{BASE}input: {{type: step, amplitude: 5 pA, frequency: 5 Hz}}\n"
        ))
        .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("input.frequency"));
    }

    #[test]
    fn the_output_estimate_counts_rows_columns_and_nominal_spikes() {
        // 10 neurons, 3 recorded every 2nd of 1000 steps: 1500 rows.
        let p = plan_text(&format!(
            "{BASE}neurons: 10\ninput: [{{type: constant, amplitude: 500 pA}}, {{type: noise, mean: 0 pA, sigma: 10 pA*sqrt(ms)}}]\n\
             record: {{variables: [V, I, w], neurons: {{first: 3}}, every: 2}}\n"
        ))
        .unwrap();
        let e = p.output_estimate();
        assert_eq!(e.trace_rows, 1500);
        let per_row = TRACE_KEY_BYTES + TRACE_V_BYTES + TRACE_I_NOISE_BYTES + TRACE_W_BYTES;
        assert_eq!(e.trace_bytes, (1500.0 * per_row) as u64);
        // 10 neurons for 0.1 s at the nominal rate.
        assert_eq!(e.spikes, (10.0 * 0.1 * NOMINAL_RATE_HZ) as u64);
        // Without noise I compresses; a LIF's w is all nulls.
        let p = plan_text(
            "name: t\nduration: 100 ms\ndt: 0.1 ms\nmodel: {type: lif}\nrecord: {variables: [V, I, w]}\n",
        )
        .unwrap();
        let e = p.output_estimate();
        assert_eq!(e.trace_rows, 1000);
        assert_eq!(
            e.trace_bytes,
            (1000.0 * (TRACE_KEY_BYTES + TRACE_V_BYTES + TRACE_I_BYTES)) as u64
        );
    }

    #[test]
    fn huge_plans_estimate_without_overflow_and_get_a_verdict() {
        // 4·10^9 neurons x 2.5·10^5 steps: 10^15 neuron-steps, the cap.
        let p = plan_text(
            "name: t\nduration: 25 s\ndt: 0.1 ms\nneurons: 4000000000\nmodel: {type: lif}\n",
        )
        .unwrap();
        assert_eq!(p.neuron_steps(), 1_000_000_000_000_000);
        let e = p.output_estimate();
        assert_eq!(e.trace_rows, 0);
        assert!(e.bytes() > WARN_BYTES);
        assert_eq!(e.verdict(None), SizeVerdict::Large);
        assert_eq!(e.verdict(Some(1000)), SizeVerdict::TooLarge { free: 1000 });
        assert_eq!(
            OutputEstimate::default().verdict(Some(0)),
            SizeVerdict::Fine
        );
        let e = plan_text(
            "name: t\nduration: 25 s\ndt: 0.1 ms\nneurons: 4000000001\nmodel: {type: lif}\n",
        )
        .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("neurons"));
        assert!(e.message.contains("more than the cap"), "{}", e.message);
    }

    #[test]
    fn too_many_steps_and_too_large_counts_are_named() {
        let e =
            plan_text("name: t\nduration: 1e300 s\ndt: 0.1 ms\nmodel: {type: lif}\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("duration"));
        assert_eq!(e.location.map(|l| l.line), Some(2));
        assert!(e.message.contains("1e304 steps"), "{}", e.message);
        // The cap itself plans.
        let p =
            plan_text("name: t\nduration: 1000000 s\ndt: 0.1 ms\nmodel: {type: lif}\n").unwrap();
        assert_eq!(p.runs()[0].steps, MAX_STEPS);
        let e = plan_text(&format!("{BASE}neurons: 99999999999999999999\n")).unwrap_err();
        assert!(e.message.contains("is too large"), "{}", e.message);
        let long = "n".repeat(MAX_NAME + 1);
        let e = plan_text(&BASE.replace("name: t", &format!("name: {long}"))).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("name"));
        assert!(e.message.contains("101 characters"), "{}", e.message);
        let e = plan_text(&format!("{BASE}replicates: 5000000000\n")).unwrap_err();
        assert!(
            e.message.contains("5e9 is too large for replicates"),
            "{}",
            e.message
        );
    }
}
