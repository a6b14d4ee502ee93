//! Input currents: the registry of stimulus kinds and a run's [`Input`], the sum of
//! its stimuli. Amplitudes are in pA, times in ms, frequencies in 1/ms.
//!
//! Each kind lives in its own file as one [`StimulusDef`]: its keys (name, dimension,
//! required or defaulted, meaning), its extra keys (a whole number, a flag), the rules
//! between keys, and `build`, which turns validated values into the [`Signal`] the
//! engine evaluates. [`STIMULI`] lists the kinds; YAML parsing, plan validation, the
//! sweepable `input.*` paths and the runs-table columns (hence the run keys) are all
//! derived from it. Adding a kind is one file here (a module with a `DEF`) plus one
//! line in the `registry!` below.

pub use noise::Noise;

use crate::units::Dim;
use std::fmt;
use std::sync::Arc;

/// The registry: one line per kind, naming its file (module). It declares the modules
/// and lists their `DEF`s in [`STIMULI`].
macro_rules! registry {
    ($($kind:ident),+ $(,)?) => {
        $(mod $kind;)+

        /// Every stimulus kind, in the order error hints list them.
        pub static STIMULI: &[&StimulusDef] = &[$(&$kind::DEF),+];
    };
}

registry! {
    constant,
    step,
    sine,
    noise,
    ramp,
    pulses,
    spread,
}

/// Every quantity key of any kind, each once, in registry order: the `input.<key>`
/// paths a grid may sweep.
pub fn quantity_keys() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for key in STIMULI.iter().flat_map(|d| d.keys) {
        if !out.contains(&key.name) {
            out.push(key.name);
        }
    }
    out
}

/// The extra key named `name` of any kind (all kinds that share an extra's name give
/// it the same form).
pub fn find_extra(name: &str) -> Option<&'static Extra> {
    STIMULI
        .iter()
        .flat_map(|d| d.extras)
        .find(|e| e.name == name)
}

/// Every extra key of any kind, each once, in registry order.
pub fn extra_keys() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for extra in STIMULI.iter().flat_map(|d| d.extras) {
        if !out.contains(&extra.name) {
            out.push(extra.name);
        }
    }
    out
}

/// The `validate` of a kind whose keys have no rules between them.
fn no_rules(_: &Values) -> Result<(), Invalid> {
    Ok(())
}

/// One kind of stimulus.
pub struct StimulusDef {
    /// The `type:` that selects it.
    pub name: &'static str,
    /// One line for listings: what the current is.
    pub summary: &'static str,
    /// Its quantity keys; their order is that of its runs-table columns.
    pub keys: &'static [Key],
    /// Its keys that are not quantities; their columns follow the quantities'.
    pub extras: &'static [Extra],
    /// The rules between keys (stop after start, sigma not negative, …), on values in
    /// engine units with defaults applied.
    pub validate: fn(&Values) -> Result<(), Invalid>,
    /// Values that passed `validate`, as what the engine evaluates.
    pub build: fn(&Values) -> Arc<dyn Signal>,
}

impl fmt::Debug for StimulusDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StimulusDef({})", self.name)
    }
}

/// Whether a key must be written.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Need {
    Required,
    Default(f64),
    /// May be left out; then it has no value and no column.
    Optional,
}

/// One quantity key of a kind.
#[derive(Clone, Copy, Debug)]
pub struct Key {
    pub name: &'static str,
    pub dim: Dim,
    pub need: Need,
    pub meaning: &'static str,
    /// Another dimension the key takes once the named key is written: noise's sigma
    /// is an intensity (pA·√ms) for white noise and a current once `tau` makes the
    /// noise coloured.
    pub dim_with: Option<(&'static str, Dim)>,
}

impl Key {
    pub const fn required(name: &'static str, dim: Dim, meaning: &'static str) -> Key {
        Key::new(name, dim, Need::Required, meaning)
    }

    pub const fn default(name: &'static str, dim: Dim, value: f64, meaning: &'static str) -> Key {
        Key::new(name, dim, Need::Default(value), meaning)
    }

    pub const fn optional(name: &'static str, dim: Dim, meaning: &'static str) -> Key {
        Key::new(name, dim, Need::Optional, meaning)
    }

    const fn new(name: &'static str, dim: Dim, need: Need, meaning: &'static str) -> Key {
        Key {
            name,
            dim,
            need,
            meaning,
            dim_with: None,
        }
    }

    /// The same key, in dimension `dim` whenever `other` is written.
    pub const fn dim_with(mut self, other: &'static str, dim: Dim) -> Key {
        self.dim_with = Some((other, dim));
        self
    }

    /// The key's dimension, given which keys of the stimulus are written.
    pub fn dim_given(&self, written: impl Fn(&str) -> bool) -> Dim {
        match self.dim_with {
            Some((other, dim)) if written(other) => dim,
            _ => self.dim,
        }
    }
}

/// A key that is not a quantity.
#[derive(Clone, Copy, Debug)]
pub struct Extra {
    pub name: &'static str,
    pub form: ExtraForm,
    pub meaning: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtraForm {
    /// A whole number of at least `min`; when left out, no value and no column.
    Count { min: u32 },
    /// true or false; false when left out.
    Flag,
}

/// An extra key's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtraValue {
    Count(u32),
    Flag(bool),
}

/// A stimulus's values in engine units: one per key in its kind's order (None for an
/// optional key left out), then its extras that have a value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Values {
    keys: Vec<(&'static str, Option<f64>)>,
    extras: Vec<(&'static str, ExtraValue)>,
}

impl Values {
    pub fn push(&mut self, key: &'static str, value: Option<f64>) {
        self.keys.push((key, value));
    }

    pub fn push_extra(&mut self, key: &'static str, value: ExtraValue) {
        self.extras.push((key, value));
    }

    /// The value of an optional key.
    pub fn opt(&self, key: &str) -> Option<f64> {
        self.keys
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| *v)
    }

    /// The value of a required or defaulted key.
    ///
    /// # Panics
    /// If the kind has no such key or leaves it without a value: a slip in the kind's
    /// file, which its tests meet.
    pub fn get(&self, key: &str) -> f64 {
        self.opt(key)
            .unwrap_or_else(|| panic!("stimulus key '{key}' has no value"))
    }

    /// A count extra's value, if written.
    pub fn count(&self, key: &str) -> Option<u32> {
        self.extras.iter().find_map(|(k, v)| match v {
            ExtraValue::Count(c) if *k == key => Some(*c),
            _ => None,
        })
    }

    /// A flag extra's value (false when left out).
    pub fn flag(&self, key: &str) -> bool {
        self.extras
            .iter()
            .any(|(k, v)| *k == key && *v == ExtraValue::Flag(true))
    }
}

/// A broken rule between a stimulus's keys.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    /// The key to blame.
    pub key: &'static str,
    pub message: String,
    /// Advice beyond the list of the kind's keys.
    pub hint: Option<&'static str>,
}

impl Invalid {
    pub fn new(key: &'static str, message: impl Into<String>) -> Invalid {
        Invalid {
            key,
            message: message.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: &'static str) -> Invalid {
        self.hint = Some(hint);
        self
    }
}

/// What a built stimulus gives the engine.
pub trait Signal: fmt::Debug + Send + Sync {
    /// The deterministic current at t (the right limit), or just before t when
    /// `left`. The two differ only where the waveform jumps at t (a step, pulse or
    /// ramp edge, a sine's start); the engine ends a step on the left limit so that a
    /// step ending where an input switches does not see the new value.
    fn value(&self, t: f64, left: bool) -> f64;

    /// The waveform's mean over the step `w` weighted by the exponential kernel
    /// e^(−(t_end − s)/τ): the constant current that moves a linear membrane of time
    /// constant τ exactly as the waveform does over the step (the LIF's `exact`
    /// method). Every kind gives its closed form, so `exact` stays exact for it.
    fn weighted(&self, w: &Window) -> f64;

    /// Whether `value` is the same at every time (and both limits), so the engine can
    /// evaluate it once per run instead of at every step.
    fn steady(&self) -> bool {
        false
    }

    /// Where the waveform switches on, for first-spike latency (None if always on).
    fn onset(&self) -> Option<f64> {
        None
    }

    /// A constant current that depends on the neuron: `x` is its place in the
    /// population, from 0 (first) to 1 (last).
    fn bias(&self, _x: f64) -> f64 {
        0.0
    }

    /// The noise this stimulus adds on top of `value`.
    fn noise(&self) -> Option<&Noise> {
        None
    }
}

/// One stimulus of a run: its kind, its values, and the signal they build.
#[derive(Clone)]
pub struct Stimulus {
    def: &'static StimulusDef,
    values: Values,
    signal: Arc<dyn Signal>,
}

impl fmt::Debug for Stimulus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stimulus")
            .field("type", &self.def.name)
            .field("values", &self.values)
            .finish()
    }
}

impl PartialEq for Stimulus {
    fn eq(&self, other: &Self) -> bool {
        // The signal is a function of the kind and the values.
        self.def.name == other.def.name && self.values == other.values
    }
}

/// One runs-table field of a stimulus.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Field {
    Quantity(Dim, f64),
    Count(u32),
    Flag(bool),
}

impl Stimulus {
    /// A stimulus of kind `def` from values that passed `def.validate`.
    pub fn new(def: &'static StimulusDef, values: Values) -> Stimulus {
        let signal = (def.build)(&values);
        Stimulus {
            def,
            values,
            signal,
        }
    }

    /// The kind's name.
    pub fn name(&self) -> &'static str {
        self.def.name
    }

    pub fn def(&self) -> &'static StimulusDef {
        self.def
    }

    pub fn values(&self) -> &Values {
        &self.values
    }

    /// The deterministic part of the current at time t (a noise source gives its mean).
    #[inline]
    pub fn at(&self, t: f64) -> f64 {
        self.signal.value(t, false)
    }

    /// The left limit of the waveform at t: the value just before t (see
    /// [`Signal::value`]).
    #[inline]
    pub fn before(&self, t: f64) -> f64 {
        self.signal.value(t, true)
    }

    /// Where the waveform switches on (None if always on).
    pub fn onset(&self) -> Option<f64> {
        self.signal.onset()
    }

    /// The noise this stimulus adds, if any.
    pub fn noise(&self) -> Option<&Noise> {
        self.signal.noise()
    }

    /// The fields of the runs table, keys with a value in the kind's order, then its
    /// extras that have one.
    pub fn fields(&self) -> Vec<(&'static str, Field)> {
        let given = |k: &str| self.values.opt(k).is_some();
        let mut out = Vec::new();
        for key in self.def.keys {
            if let Some(x) = self.values.opt(key.name) {
                out.push((key.name, Field::Quantity(key.dim_given(given), x)));
            }
        }
        for extra in self.def.extras {
            match extra.form {
                ExtraForm::Count { .. } => {
                    if let Some(c) = self.values.count(extra.name) {
                        out.push((extra.name, Field::Count(c)));
                    }
                }
                ExtraForm::Flag => {
                    out.push((extra.name, Field::Flag(self.values.flag(extra.name))))
                }
            }
        }
        out
    }
}

/// A step [t, t + h] seen through the kernel e^(−(t + h − s)/τ) of a linear membrane
/// of time constant τ (finite, positive): the weight and weighted mean time of the
/// parts of the step a waveform is on, from which each kind writes its closed form
/// of [`Signal::weighted`]. Weights are fractions of the whole step's,
/// τ (1 − e^(−h/τ)), so a waveform on over the whole step has weight exactly 1.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub t: f64,
    pub end: f64,
    pub tau: f64,
    /// expm1(−(end − t)/τ), the whole step's weight over −τ.
    whole: f64,
}

impl Window {
    pub fn new(t: f64, h: f64, tau: f64) -> Window {
        let end = t + h;
        Window {
            t,
            end,
            tau,
            whole: (-(end - t) / tau).exp_m1(),
        }
    }

    /// The part of [a, b] inside the step, if any.
    pub fn clip(&self, a: f64, b: f64) -> Option<(f64, f64)> {
        let (a, b) = (a.max(self.t), b.min(self.end));
        (b > a).then_some((a, b))
    }

    /// The share of the step's weight that falls on [a, b] (clipped to the step):
    /// ∫_a^b e^(−(end − s)/τ) ds / ∫_t^end e^(−(end − s)/τ) ds.
    pub fn share(&self, a: f64, b: f64) -> f64 {
        match self.clip(a, b) {
            Some((a, b)) => {
                (-(self.end - b) / self.tau).exp() * (-(b - a) / self.tau).exp_m1() / self.whole
            }
            None => 0.0,
        }
    }

    /// The weighted mean time of [a, b] (clipped to the step, which it must meet):
    /// the time at which a linear waveform on [a, b] takes its weighted mean. With
    /// L = b − a it lies τ − L/(e^(L/τ) − 1) before b (L/2 as τ → ∞).
    pub fn mean_time(&self, a: f64, b: f64) -> f64 {
        let (a, b) = self.clip(a, b).unwrap_or((a, b));
        let len = b - a;
        if len <= 0.0 {
            return b;
        }
        b - (self.tau - len / (len / self.tau).exp_m1())
    }

    /// The weighted mean of sin(ω (s − origin) + φ) over [a, b] (clipped to the step),
    /// as a fraction of the whole step's weight: the imaginary part of
    /// ∫ e^(i(ω(s − origin) + φ)) e^(−(end − s)/τ) ds = [e^(i θ(s)) e^(−(end − s)/τ)] / (1/τ + iω).
    pub fn sine_share(&self, a: f64, b: f64, omega: f64, origin: f64, phase: f64) -> f64 {
        let Some((a, b)) = self.clip(a, b) else {
            return 0.0;
        };
        let term = |s: f64| {
            let decay = (-(self.end - s) / self.tau).exp();
            let theta = omega * (s - origin) + phase;
            (decay * theta.cos(), decay * theta.sin())
        };
        let ((pb, qb), (pa, qa)) = (term(b), term(a));
        let (p, q) = (pb - pa, qb - qa);
        let wt = omega * self.tau;
        (q - p * wt) / ((1.0 + wt * wt) * -self.whole)
    }
}

/// Whether t lies in [a, b), or in (a, b] for a left limit; no b means no end.
#[inline]
fn inside(t: f64, a: f64, b: Option<f64>, left: bool) -> bool {
    if left {
        t > a && b.is_none_or(|b| t <= b)
    } else {
        t >= a && b.is_none_or(|b| t < b)
    }
}

/// A run's whole input: the sum of its stimuli.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Input {
    pub stimuli: Vec<Stimulus>,
}

impl Input {
    /// The deterministic current at time t, noise means included.
    #[inline]
    pub fn at(&self, t: f64) -> f64 {
        self.stimuli.iter().map(|s| s.at(t)).sum()
    }

    /// The deterministic current just before t (see [`Stimulus::before`]).
    #[inline]
    pub fn before(&self, t: f64) -> f64 {
        self.stimuli.iter().map(|s| s.before(t)).sum()
    }

    /// The deterministic current's weighted mean over the step [t, t + h] under the
    /// kernel of a membrane of time constant τ (see [`Signal::weighted`]).
    pub fn weighted(&self, t: f64, h: f64, tau: f64) -> f64 {
        let w = Window::new(t, h, tau);
        self.stimuli.iter().map(|s| s.signal.weighted(&w)).sum()
    }

    /// The constant per-neuron part of the current of neuron k in a population of n
    /// (the `spread` stimuli), in pA.
    pub fn bias(&self, k: u32, n: u32) -> f64 {
        let x = if n > 1 {
            f64::from(k) / f64::from(n - 1)
        } else {
            0.0
        };
        self.stimuli.iter().map(|s| s.signal.bias(x)).sum()
    }

    /// Whether the deterministic current is the same at every time.
    pub fn steady(&self) -> bool {
        self.stimuli.iter().all(|s| s.signal.steady())
    }

    /// The noise sources, in input order.
    pub fn noises(&self) -> impl Iterator<Item = &Noise> {
        self.stimuli.iter().filter_map(Stimulus::noise)
    }

    /// Stimulus onset: the earliest switch-on time, or 0 for inputs that are always on.
    pub fn onset(&self) -> f64 {
        let onsets: Vec<Option<f64>> = self.stimuli.iter().map(Stimulus::onset).collect();
        if onsets.iter().any(Option::is_none) || onsets.is_empty() {
            0.0
        } else {
            onsets.into_iter().flatten().fold(f64::INFINITY, f64::min)
        }
    }
}

#[cfg(test)]
mod tests;
