//! Property tests (fuzzing). The YAML loader and the planner: no input may panic.
//! Documents are generated from the experiment grammar with random keys, values,
//! units and structure, and also as raw mutated text. Every input is either planned
//! or rejected with an InputError. Inputs that once crashed live in
//! tests/fuzz_corpus/ and are replayed first.
//!
//! And datasets: a finished dataset damaged at random (parts and manifests truncated,
//! deleted or duplicated; runs.parquet or _SUCCESS removed) is never passed as sound:
//! `status`, `analyze`, `check` and `report` all exit non-zero, and none panics.
//!
//! CI runs PROPTEST_CASES (default 2000) loader cases and DATASET_CASES (default 64)
//! damaged datasets; a long local run:
//!   PROPTEST_CASES=2000000 DATASET_CASES=2000 cargo test --release --test fuzz

use neurodyn::experiment::{parse, plan::plan_with_cap};
use proptest::prelude::*;

/// Parse and plan; only panics matter here.
fn exercise(text: &str) -> bool {
    match parse(text) {
        Ok(raw) => plan_with_cap(&raw, 20_000).is_ok(),
        Err(_) => false,
    }
}

/// How many generated documents plan successfully, so the fuzzing is not shallow.
#[test]
fn a_share_of_generated_documents_plans() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = document();
    let planned = (0..2000)
        .filter(|_| exercise(&strategy.new_tree(&mut runner).unwrap().current()))
        .count();
    eprintln!("planned {planned} of 2000");
    assert!(
        planned >= 100,
        "only {planned} of 2000 documents reached a plan"
    );
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i32>().prop_map(|x| x.to_string()),
        any::<f64>().prop_map(|x| format!("{x}")),
        Just("0".to_string()),
        Just("-0".to_string()),
        Just("1e308".to_string()),
        Just("1e-320".to_string()),
        Just("4294967296".to_string()),
        Just("nan".to_string()),
        Just(".inf".to_string()),
        "[0-9]{1,25}(\\.[0-9]{0,25})?(e-?[0-9]{1,4})?",
    ]
}

fn unit() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(""),
        Just(" ms"),
        Just(" s"),
        Just(" us"),
        Just(" mV"),
        Just(" pA"),
        Just(" nA"),
        Just(" pF"),
        Just(" nS"),
        Just(" uS"),
        Just(" MOhm"),
        Just(" Hz"),
        Just(" pA*sqrt(ms)"),
        Just(" pA*sqrt(s)"),
        Just(" rad"),
        Just(" parsec"),
        Just("µs"),
    ]
    .prop_map(str::to_string)
}

fn quantity() -> impl Strategy<Value = String> {
    (number(), unit()).prop_map(|(n, u)| format!("\"{n}{u}\""))
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        quantity(),
        number(),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("~".to_string()),
        Just("true".to_string()),
        prop::collection::vec(quantity(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
        (quantity(), quantity(), number())
            .prop_map(|(a, b, n)| format!("{{linspace: [{a}, {b}, {n}]}}")),
        (quantity(), quantity(), quantity())
            .prop_map(|(a, b, s)| format!("{{range: [{a}, {b}, {s}]}}")),
        (quantity(), quantity(), number())
            .prop_map(|(a, b, n)| format!("{{logspace: [{a}, {b}, {n}]}}")),
        (quantity(), quantity()).prop_map(|(m, s)| format!("{{normal: [{m}, {s}]}}")),
        "[a-z_]{1,8}",
    ]
}

const MODEL_KEYS: &[&str] = &[
    "type", "C", "g_L", "tau_m", "R", "E_L", "V_th", "V_T", "Delta_T", "V_peak", "V_reset",
    "t_ref", "a", "b", "tau_w", "bogus",
];
const STIM_KEYS: &[&str] = &[
    "type",
    "amplitude",
    "start",
    "stop",
    "offset",
    "frequency",
    "phase",
    "mean",
    "sigma",
    "tau",
    "from",
    "to",
    "width",
    "period",
    "count",
    "shared",
];
const PATHS: &[&str] = &[
    "model.a",
    "model.b",
    "model.type",
    "model.C",
    "model.tau_m",
    "input.amplitude",
    "input[0].amplitude",
    "input[1].sigma",
    "input.type",
    "initial.V",
    "duration",
    "dt",
    "neurons",
    "method",
    "nonsense",
];

fn map(
    keys: &'static [&'static str],
    extra: Option<&'static [&'static str]>,
) -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop::sample::select(keys),
            prop_oneof![
                value(),
                prop::sample::select(extra.unwrap_or(&["lif"])).prop_map(str::to_string),
            ],
        ),
        0..6,
    )
    .prop_map(|kv| {
        let body: Vec<String> = kv.into_iter().map(|(k, v)| format!("{k}: {v}")).collect();
        format!("{{{}}}", body.join(", "))
    })
}

fn document() -> impl Strategy<Value = String> {
    let kinds: &'static [&'static str] = &[
        "lif", "eif", "adex", "hh", "constant", "step", "sine", "noise", "ramp", "pulses", "spread",
    ];
    // Each part is mostly valid (so that most documents reach the planner and its
    // checks) and sometimes random.
    let duration =
        prop_oneof![6 => Just(Some("\"20 ms\"".to_string())), 1 => prop::option::of(quantity())];
    let dt =
        prop_oneof![6 => Just(Some("\"0.1 ms\"".to_string())), 1 => prop::option::of(quantity())];
    let neurons = prop_oneof![4 => Just(None), 2 => Just(Some("3".to_string())), 1 => prop::option::of(number())];
    let model = prop_oneof![
        4 => prop::sample::select(&["{type: lif}", "{type: eif}", "{type: adex}", "{type: adex, a: 2 nS, t_ref: 1 ms}", "{type: lif, tau_m: 10 ms, R: 1 MOhm}"][..]).prop_map(str::to_string),
        2 => map(MODEL_KEYS, Some(kinds)),
    ];
    let input = prop_oneof![
        4 => prop::sample::select(&[
            "{type: constant, amplitude: 500 pA}",
            "[{type: step, amplitude: 400 pA, start: 5 ms}, {type: noise, mean: 0 pA, sigma: 50 pA*sqrt(ms)}]",
            "{type: sine, amplitude: 100 pA, frequency: 10 Hz, offset: 500 pA}",
            "{type: pulses, amplitude: 900 pA, width: 1 ms, period: 5 ms, count: 3}",
            "{type: noise, mean: 400 pA, sigma: 50 pA, tau: 5 ms, shared: true}",
            "{type: spread, from: 500 pA, to: 1 nA}",
        ][..]).prop_map(|s| Some(s.to_string())),
        1 => Just(None),
        2 => prop::collection::vec(map(STIM_KEYS, Some(kinds)), 1..3).prop_map(|v| Some(format!("[{}]", v.join(", ")))),
    ];
    let grid = prop_oneof![
        3 => Just(Vec::new()),
        2 => prop::collection::vec((prop::sample::select(PATHS), value()), 1..3),
    ];
    let variants = prop_oneof![
        3 => Just(Vec::new()),
        2 => prop::collection::vec(map(MODEL_KEYS, Some(kinds)), 1..3),
    ];
    let replicates = prop_oneof![4 => Just(None), 1 => prop::option::of(number())];
    let method = prop::sample::select(&["euler", "rk4", "rk4", "exact", "rk45"][..]);
    // `check:` tolerances: mostly absent, sometimes numbers or quantities of any kind.
    let check = prop_oneof![
        4 => Just(None),
        1 => (number(), value()).prop_map(|(r, q)| Some(format!("{{rtol: {r}, spike_tol: {q}}}"))),
    ];
    (
        (duration, dt, neurons, model, input),
        (grid, variants, replicates, method, check),
    )
        .prop_map(
            |(
                (duration, dt, neurons, model, input),
                (grid, variants, replicates, method, check),
            )| {
                let mut d = String::from("name: fuzz\n");
                if let Some(x) = duration {
                    d += &format!("duration: {x}\n");
                }
                if let Some(x) = dt {
                    d += &format!("dt: {x}\n");
                }
                if let Some(x) = neurons {
                    d += &format!("neurons: {x}\n");
                }
                d += &format!("method: {method}\nmodel: {model}\n");
                if let Some(i) = input {
                    d += &format!("input: {i}\n");
                }
                if !grid.is_empty() {
                    d += "grid:\n";
                    for (p, v) in grid {
                        d += &format!("  \"{p}\": {v}\n");
                    }
                }
                if !variants.is_empty() {
                    d += "variants:\n";
                    for v in variants {
                        d += &format!("  - {{model: {v}}}\n");
                    }
                }
                if let Some(r) = replicates {
                    d += &format!("replicates: {r}\n");
                }
                if let Some(c) = check {
                    d += &format!("check: {c}\n");
                }
                d
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(2000)
    ))]

    #[test]
    fn generated_experiments_never_panic(doc in document()) {
        exercise(&doc);
    }

    #[test]
    fn mutated_text_never_panics(doc in document(), cut in any::<prop::sample::Index>(), junk in "[\\x00-\\x7f\\u{80}-\\u{3ff}]{0,8}") {
        let at = cut.index(doc.len() + 1);
        let at = (0..=at).rev().find(|&i| doc.is_char_boundary(i)).unwrap_or(0);
        let mut text = doc.clone();
        text.insert_str(at, &junk);
        exercise(&text);
    }
}

#[test]
fn crash_corpus_is_handled() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_corpus");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            exercise(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// A small finished dataset (two batches, traces recorded), made once per test run.
fn clean_dataset() -> &'static std::path::Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let exp = tmp.path().join("e.yaml");
        std::fs::write(
            &exp,
            "name: damaged\nduration: 500 ms\ndt: 0.1 ms\nmethod: euler\nneurons: 200\n\
             model: {type: adex}\ninput: {type: constant, amplitude: 0 pA}\n\
             record: {variables: [V], neurons: {first: 1}, every: 50}\n\
             grid: {input.amplitude: {linspace: [300 pA, 900 pA, 6]}}\n",
        )
        .unwrap();
        let o = neurodyn_at(tmp.path(), &["run", "e.yaml", "--out", "clean", "-q"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        tmp
    })
    .path()
}

fn neurodyn_at(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_neurodyn"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Files of a dataset a damage can hit, by kind: the dataset's own, not copies an
/// earlier damage made (deleting a copy would undo that damage).
fn files_in(root: &std::path::Path, sub: &str) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(root.join(sub))
        .map(|d| {
            d.map(|e| e.unwrap().path())
                .filter(|p| !p.to_string_lossy().contains("part-copy"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[derive(Debug, Clone)]
enum Damage {
    Truncate {
        sub: &'static str,
        pick: prop::sample::Index,
        keep: prop::sample::Index,
    },
    Delete {
        sub: &'static str,
        pick: prop::sample::Index,
    },
    Duplicate {
        sub: &'static str,
        pick: prop::sample::Index,
    },
    DeleteTop(&'static str),
    TruncateTop(&'static str, prop::sample::Index),
}

fn damage() -> impl Strategy<Value = Damage> {
    let sub = prop_oneof![Just("spikes"), Just("traces"), Just("_manifest")];
    prop_oneof![
        (
            sub.clone(),
            any::<prop::sample::Index>(),
            any::<prop::sample::Index>()
        )
            .prop_map(|(sub, pick, keep)| Damage::Truncate { sub, pick, keep }),
        (sub.clone(), any::<prop::sample::Index>())
            .prop_map(|(sub, pick)| Damage::Delete { sub, pick }),
        (sub, any::<prop::sample::Index>()).prop_map(|(sub, pick)| Damage::Duplicate { sub, pick }),
        prop_oneof![Just("runs.parquet"), Just("_SUCCESS")].prop_map(Damage::DeleteTop),
        any::<prop::sample::Index>().prop_map(|k| Damage::TruncateTop("runs.parquet", k)),
    ]
}

/// Apply a damage; every one of them changes the dataset.
fn apply(root: &std::path::Path, d: &Damage, n: usize) {
    let shorten = |path: &std::path::Path, keep: &prop::sample::Index| {
        let bytes = std::fs::read(path).unwrap();
        std::fs::write(path, &bytes[..keep.index(bytes.len())]).unwrap();
    };
    match d {
        Damage::Truncate { sub, pick, keep } => {
            let files = files_in(root, sub);
            shorten(&files[pick.index(files.len())], keep);
        }
        Damage::Delete { sub, pick } => {
            let files = files_in(root, sub);
            std::fs::remove_file(&files[pick.index(files.len())]).unwrap();
        }
        Damage::Duplicate { sub, pick } => {
            let files = files_in(root, sub);
            let from = &files[pick.index(files.len())];
            let ext = from.extension().unwrap().to_string_lossy().into_owned();
            std::fs::copy(from, root.join(sub).join(format!("part-copy{n}.{ext}"))).unwrap();
        }
        Damage::DeleteTop(name) => std::fs::remove_file(root.join(name)).unwrap(),
        Damage::TruncateTop(name, keep) => shorten(&root.join(name), keep),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("DATASET_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(64)
    ))]

    #[test]
    fn damaged_datasets_never_pass(damages in prop::collection::vec(damage(), 1..=3)) {
        let clean = clean_dataset();
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("d");
        copy_tree(&clean.join("clean"), &root);
        for (n, d) in damages.iter().enumerate() {
            // An earlier damage may have emptied a folder or removed a file.
            let hit = match d {
                Damage::Truncate { sub, .. } | Damage::Delete { sub, .. } | Damage::Duplicate { sub, .. } => {
                    !files_in(&root, sub).is_empty()
                }
                Damage::DeleteTop(name) | Damage::TruncateTop(name, _) => root.join(name).exists(),
            };
            if hit {
                apply(&root, d, n);
            }
        }
        let clean_root = clean.join("clean");
        let (c, d) = (clean_root.to_str().unwrap(), root.to_str().unwrap());
        for args in [
            vec!["status", d],
            vec!["analyze", d],
            vec!["check", d, "--baseline", c],
            vec!["check", c, "--baseline", d],
            vec!["report", d],
        ] {
            let o = neurodyn_at(tmp.path(), &args);
            let err = String::from_utf8_lossy(&o.stderr);
            prop_assert!(!err.contains("panicked"), "{args:?} after {damages:?}: {err}");
            prop_assert!(
                !o.status.success(),
                "{args:?} passed a damaged dataset ({damages:?}): {}",
                String::from_utf8_lossy(&o.stdout)
            );
        }
    }
}
