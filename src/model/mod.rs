//! Neuron models. Each model is one file that owns everything about it: its
//! parameter table (names, units, defaults, meanings, rules), the relations its
//! parameters must satisfy, its equations as text, its spike voltage and time
//! constants, and its right-hand side ([`Dynamics`]). The registry at the bottom of
//! this file lists the models; YAML keys, plan validation, sweepable paths,
//! runs.parquet columns, `neurodyn models`, the engine's dispatch and the phase-plane
//! figure all derive from it. Adding a model is one file plus one registry line.

pub mod fastexp;
mod params;

pub(crate) use params::{concat_params, exponential_params, membrane_params, reset_params};
pub use params::{Default, ParamInfo, Params, Rule, MAX_PARAMS};
use std::fmt;

/// What the rest of neurodyn knows about a model: its file's `Model::DEF`.
#[derive(Debug)]
pub struct ModelDef {
    /// The YAML `type` and the runs table's `model` value.
    pub name: &'static str,
    pub title: &'static str,
    pub equations: &'static str,
    /// The parameter table, in display order (also the runs table's column order).
    pub params: &'static [ParamInfo],
    /// Whether the model has a second state variable w (an adaptation or recovery
    /// current, pA), recorded as `w_pA`.
    pub has_w: bool,
    /// Whether `method: exact` applies: the model's ODE has a closed-form step.
    pub closed_form: bool,
    /// Whether the membrane may be given as tau_m and R instead of C and g_L.
    pub membrane_alternative: bool,
    /// Rules that relate parameters (each parameter's own rule is in its row).
    pub relations: fn(&Params) -> Result<(), Violation>,
    /// The voltage whose crossing is a spike.
    pub spike_voltage: fn(&Params) -> f64,
    /// The resting potential: the default initial V.
    pub rest: fn(&Params) -> f64,
    /// The potential V is reset to after a spike.
    pub reset: fn(&Params) -> f64,
    /// The shortest time constant of the dynamics (ms): dt is checked against it.
    pub shortest_time_constant: fn(&Params) -> f64,
    /// For the V–w phase-plane figure: the w of the V nullcline and of the w
    /// nullcline at voltage V under constant current I; None for one-variable models.
    pub nullclines: Option<Nullclines>,
}

/// (w of the V nullcline, w of the w nullcline) at (V, I), for the phase plane.
pub type Nullclines = fn(&Params, f64, f64) -> (f64, f64);

/// A model's file implements this: its description and how its right-hand side is
/// built from a run's parameters.
pub trait Model: Dynamics + 'static {
    const DEF: ModelDef;
    fn new(p: &Params) -> Self;
}

/// Which model a run integrates: a handle on its registry entry.
#[derive(Clone, Copy)]
pub struct ModelKind(&'static ModelDef);

impl ModelKind {
    /// The model of this YAML name.
    pub fn by_name(name: &str) -> Option<ModelKind> {
        ModelKind::ALL.iter().copied().find(|k| k.name() == name)
    }

    pub fn def(self) -> &'static ModelDef {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// The parameter table of this model, in display order.
    pub fn params(self) -> &'static [ParamInfo] {
        self.0.params
    }

    pub fn title(self) -> &'static str {
        self.0.title
    }

    pub fn equations(self) -> &'static str {
        self.0.equations
    }

    /// Whether the model has the second state variable w.
    pub fn has_w(self) -> bool {
        self.0.has_w
    }

    /// The parameter keys the model accepts: its table, plus tau_m and R where the
    /// membrane may be given that way.
    pub fn accepts(self, key: &str) -> bool {
        (self.0.membrane_alternative && (key == "tau_m" || key == "R"))
            || self.params().iter().any(|p| p.name == key)
    }
}

impl PartialEq for ModelKind {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for ModelKind {}

impl fmt::Debug for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Every parameter key any model knows (with tau_m and R), for the YAML reader and
/// the sweepable paths: a key outside it is a typo whatever the model. Computed once.
pub fn all_keys() -> &'static [&'static str] {
    static KEYS: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
        let mut keys: Vec<&'static str> = vec!["tau_m", "R"];
        for k in ModelKind::ALL {
            for p in k.params() {
                if !keys.contains(&p.name) {
                    keys.push(p.name);
                }
            }
        }
        keys
    });
    &KEYS
}

/// A broken parameter rule: the key it concerns and the rule in words.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub key: &'static str,
    pub message: String,
}

/// Check each parameter's own rule, then the model's relations.
pub fn validate(p: &Params) -> Result<(), Violation> {
    for (info, value) in p.iter() {
        let broken = match info.rule {
            _ if !value.is_finite() => Some("must be a finite number"),
            Rule::Positive if value <= 0.0 => Some("must be positive"),
            Rule::NonNegative if value < 0.0 => Some("must not be negative"),
            _ => None,
        };
        if let Some(rule) = broken {
            return Err(Violation {
                key: info.name,
                message: format!("{} {rule} (got {} {})", info.name, value, info.dim.unit()),
            });
        }
    }
    (p.kind().def().relations)(p)
}

/// Code that needs a run's model as a type (the engine's integration loop) implements
/// this; [`visit`] calls it with the type of a [`ModelKind`].
pub trait Visit {
    type Output;
    fn visit<M: Model>(self) -> Self::Output;
}

/// The right-hand side of a model, as the engine integrates it. Units: mV, pA, ms.
pub trait Dynamics: Copy + Send + Sync {
    /// Whether the adaptation current w exists (AdEx).
    const HAS_W: bool;
    /// (dV/dt in mV/ms, dw/dt in pA/ms) at state (v, w) under input current i.
    fn derivs(&self, v: f64, w: f64, i: f64) -> (f64, f64);
    /// The voltage whose crossing is a spike.
    fn spike_voltage(&self) -> f64;
    fn v_reset(&self) -> f64;
    fn t_ref(&self) -> f64;
    /// The increment of w at a spike.
    fn jump(&self) -> f64 {
        0.0
    }
    /// w after `h` ms with V held at V_reset (refractory period); exact.
    fn w_held(&self, w: f64, _h: f64) -> f64 {
        w
    }
    /// The longest step that resolves the spike upswing at state (v, w) under current
    /// i, or None where a full step is accurate. Models with an exponential term run
    /// away in finite time above V_T; a fixed step across that blow-up makes spike
    /// times converge only at first order in dt, so there the engine sub-steps.
    fn upswing_step(&self, _v: f64, _w: f64, _i: f64) -> Option<f64> {
        None
    }
    /// Whether a step of length h from V with slope dv (mV/ms) starts in the upswing
    /// and must be sub-stepped, i.e. `upswing_step(v, w, i).is_some_and(|l| l < h)`
    /// given dv; without branches, so that the engine's loop over neurons vectorises.
    /// False for models without an upswing.
    #[inline(always)]
    fn needs_substeps(&self, _v: f64, _dv: f64, _h: f64) -> bool {
        false
    }
    /// For `method: exact` (models whose `DEF.closed_form` is true): V after `h` ms
    /// under the constant current i, from the ODE's closed-form solution.
    #[inline(always)]
    fn exact_step(&self, _v: f64, _i: f64, _h: f64) -> f64 {
        f64::NAN
    }
    /// For `method: exact`: the time after which V, starting below the spike voltage,
    /// reaches it under the constant current i; None when it never does.
    fn exact_crossing(&self, _v: f64, _i: f64) -> Option<f64> {
        None
    }
    /// For `method: exact`: the time constant τ of the closed-form step's kernel, by
    /// which the engine weights the input over a step (`stimulus::Signal::weighted`).
    fn exact_tau(&self) -> f64 {
        f64::NAN
    }
    /// dV/dt per pA of input current (1/C, mV/(ms·pA)) for models whose spike is the
    /// crossing of a fixed threshold by a diffusion (the LIF): white noise of
    /// intensity σ then gives V a variance rate (σ·gain)², and the engine tests the
    /// path between grid points for a crossing (the Brownian bridge). None for models
    /// whose upswing, not a threshold, decides the spike.
    fn noise_gain(&self) -> Option<f64> {
        None
    }
}

/// The registry: one line per model, naming its file (module) and its type. It
/// declares the modules, lists them in `ModelKind::ALL` (in the order `neurodyn
/// models` shows them) and writes [`visit`], the one place where a run's model
/// becomes code.
macro_rules! registry {
    ($($module:ident::$ty:ident),+ $(,)?) => {
        $(pub mod $module;)+

        impl ModelKind {
            pub const ALL: &'static [ModelKind] = &[$(ModelKind(&<$module::$ty as Model>::DEF)),+];
        }

        /// Call `v` with the model type of `kind`.
        pub fn visit<V: Visit>(kind: ModelKind, v: V) -> V::Output {
            $(if kind.name() == <$module::$ty as Model>::DEF.name {
                return v.visit::<$module::$ty>();
            })+
            unreachable!("a ModelKind is only made from the registry")
        }
    };
}

registry!(lif::Lif, eif::Eif, adex::Adex, izhikevich::Izhikevich);

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(name: &str) -> ModelKind {
        ModelKind::by_name(name).unwrap()
    }

    #[test]
    fn defaults_are_the_brette_gerstner_cell() {
        let p = Params::defaults(kind("adex"));
        let v = |k| p.get(k).unwrap();
        assert_eq!((v("C"), v("g_L"), v("E_L")), (281.0, 30.0, -70.6));
        assert_eq!((v("V_T"), v("Delta_T"), v("V_reset")), (-50.4, 2.0, -70.6));
        assert_eq!(
            (v("a"), v("b"), v("tau_w"), v("t_ref")),
            (4.0, 80.5, 144.0, 0.0)
        );
        assert!((v("V_peak") - (-40.4)).abs() < 1e-12);
        assert_eq!(Params::defaults(kind("lif")).get("V_th"), Some(-50.4));
    }

    #[test]
    fn every_rule_has_its_own_message() {
        let ok = Params::defaults(kind("adex"));
        assert!(validate(&ok).is_ok());
        let cases: [(&str, f64, &str); 7] = [
            ("C", 0.0, "C must be positive"),
            ("g_L", -1.0, "g_L must be positive"),
            ("Delta_T", 0.0, "Delta_T must be positive"),
            ("tau_w", 0.0, "tau_w must be positive"),
            ("t_ref", -1.0, "t_ref must not be negative"),
            ("V_peak", -60.0, "V_peak must be above V_T"),
            ("E_L", f64::INFINITY, "E_L must be a finite number"),
        ];
        for (key, value, expected) in cases {
            let mut p = ok;
            p.set(key, value);
            let err = validate(&p).unwrap_err();
            assert!(err.message.starts_with(expected), "{key}: {}", err.message);
        }
        let mut p = ok;
        p.set("V_reset", -30.0);
        assert_eq!(validate(&p).unwrap_err().key, "V_reset");
        let mut l = Params::defaults(kind("lif"));
        l.set("V_reset", -50.0);
        assert!(validate(&l).unwrap_err().message.contains("V_th"));
    }

    #[test]
    fn accepts_only_its_own_keys() {
        assert!(kind("lif").accepts("V_th"));
        assert!(!kind("lif").accepts("b"));
        assert!(!kind("eif").accepts("tau_w"));
        assert!(kind("adex").accepts("tau_m"));
        assert!(!kind("adex").accepts("V_th"));
    }

    #[test]
    fn parameters_of_the_same_name_belong_to_their_model() {
        let mut lif = Params::defaults(kind("lif"));
        assert!(!lif.set("b", 1.0));
        assert_eq!(lif.get("b"), None);
        let adex = Params::defaults(kind("adex"));
        assert_eq!(adex.get("b"), Some(80.5));
        assert!((lif.get("tau_m").unwrap() - 281.0 / 30.0).abs() < 1e-12);
    }

    #[test]
    fn the_registry_lists_each_model_once_and_visit_finds_it() {
        struct Name;
        impl Visit for Name {
            type Output = &'static str;
            fn visit<M: Model>(self) -> &'static str {
                M::DEF.name
            }
        }
        let names: Vec<&str> = ModelKind::ALL.iter().map(|k| k.name()).collect();
        for (i, n) in names.iter().enumerate() {
            assert!(!names[..i].contains(n), "{n} twice");
            assert_eq!(visit(kind(n), Name), *n);
            assert!(kind(n).params().len() <= MAX_PARAMS);
        }
    }
}
