//! `neurodyn._native`, the compiled half of the Python package: the command line, a
//! run started on its own thread (so Python keeps the interrupt button), and a
//! verified dataset's tables handed to pyarrow through the Arrow C data interface.
//! Policy (defaults, joins, formats, progress display) lives in the Python half,
//! `python/neurodyn/`; errors are raised as its exception classes, with the message
//! and hints the command line prints.

use arrow::pyarrow::{IntoPyArrow, Table as PyTable, ToPyArrow};
use neurodyn::cli::Failure;
use neurodyn::plot::{self, Format, Kind};
use neurodyn::runner::{self, Cancel, Progress, RunError, RunOptions, Shard, Summary};
use neurodyn::store::layout::{self, Storage, Table};
use neurodyn::{AnalysisError, InputError, Reader};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The Python exception for a failure: `neurodyn.InputError` (with file, line,
/// column and key) for bad input, else `neurodyn.Error`; both carry the hints and the
/// command line's exit code.
fn raise(py: Python<'_>, failure: &Failure, input: Option<&InputError>) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let errors = py.import("neurodyn._errors")?;
        let hints = PyList::new(py, failure.hints())?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("hints", hints)?;
        kwargs.set_item("exit_code", failure.code())?;
        kwargs.set_item("snippet", failure.snippet())?;
        let class = match input {
            Some(e) => {
                kwargs.set_item("file", e.file.as_ref().map(|f| f.display().to_string()))?;
                kwargs.set_item("line", e.location.map(|l| l.line))?;
                kwargs.set_item("column", e.location.map(|l| l.column))?;
                kwargs.set_item("key", e.key.clone())?;
                errors.getattr("InputError")?
            }
            None => errors.getattr("Error")?,
        };
        Ok(PyErr::from_value(
            class.call((failure.message(),), Some(&kwargs))?,
        ))
    };
    build().unwrap_or_else(|e| e)
}

fn input_error(py: Python<'_>, e: InputError) -> PyErr {
    let failure = Failure::from(e.clone());
    raise(py, &failure, Some(&e))
}

fn failure<E: Into<Failure>>(py: Python<'_>, e: E) -> PyErr {
    raise(py, &e.into(), None)
}

/// Run the command line (`argv[0]` is the program name) and return its exit code.
/// The GIL is released: the command may take hours and handles Ctrl-C itself.
#[pyfunction]
fn cli(py: Python<'_>, argv: Vec<String>) -> u8 {
    py.detach(|| neurodyn::cli::main(argv.into_iter().map(Into::into).collect()))
}

/// A run in progress on its own thread. Python waits on it in short slices, so a
/// KeyboardInterrupt reaches Python between them and can `cancel` it.
#[pyclass(frozen, module = "neurodyn._native")]
struct Run {
    cancel: Cancel,
    progress: Arc<Mutex<Option<Progress>>>,
    finished: Mutex<Option<Receiver<Result<Summary, RunError>>>>,
    outcome: Mutex<Option<Result<Summary, RunError>>>,
    warnings: Vec<(String, Vec<String>)>,
    out: PathBuf,
}

#[pymethods]
impl Run {
    /// Plan the experiment (the file at `path` when `text` is None, else `text`,
    /// named `source` in errors), check it as the command line does, and start it.
    /// Bad input raises here, before anything is written.
    #[staticmethod]
    #[pyo3(signature = (text, source, path, out, threads, resume, force, analyze, max_runs))]
    #[allow(clippy::too_many_arguments)]
    fn start(
        py: Python<'_>,
        text: Option<String>,
        source: String,
        path: Option<PathBuf>,
        out: Option<String>,
        threads: Option<usize>,
        resume: bool,
        force: bool,
        analyze: bool,
        max_runs: u64,
    ) -> PyResult<Run> {
        let (plan, text) = py
            .detach(|| {
                let (raw, text) = match (text, &path) {
                    (Some(text), _) => (neurodyn::parse(&text)?, text),
                    (None, Some(path)) => neurodyn::load(path)?,
                    (None, None) => (neurodyn::parse("")?, String::new()),
                };
                Ok((
                    neurodyn::experiment::plan::plan_with_cap(&raw, max_runs)?,
                    text,
                ))
            })
            .map_err(|e: InputError| {
                // load names the file itself; text is named after its source.
                let e = if e.file.is_none() {
                    e.in_file(&source)
                } else {
                    e
                };
                input_error(py, e)
            })?;
        let warnings = plan
            .warnings
            .iter()
            .map(|w| (w.clone().in_file(&source).to_string(), w.hints.clone()))
            .collect();
        let threads = neurodyn::cli::run::threads(threads).map_err(|f| raise(py, &f, None))?;
        let progress = Arc::new(Mutex::new(None));
        let sink = Arc::clone(&progress);
        let opts = RunOptions {
            out: out.map_or_else(|| runner::default_out(&plan.name), PathBuf::from),
            threads,
            force,
            resume,
            shard: Shard::ALL,
            fail_fast: false,
            cancel: Cancel::new(),
            on_progress: Some(Arc::new(move |p: &Progress| {
                if let Ok(mut last) = sink.lock() {
                    *last = Some(*p);
                }
            })),
            analyze,
            experiment_text: text,
            experiment_path: path.unwrap_or_default(),
            command_line: vec!["neurodyn.run".to_string(), source],
        };
        neurodyn::cli::run::preflight(&plan, &opts).map_err(|f| raise(py, &f, None))?;
        let (cancel, out) = (opts.cancel.clone(), opts.out.clone());
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("neurodyn-run".into())
            .spawn(move || {
                let _ = tx.send(runner::run(&plan, &opts));
            })
            .map_err(|e| pyo3::exceptions::PyOSError::new_err(e.to_string()))?;
        Ok(Run {
            cancel,
            progress,
            finished: Mutex::new(Some(rx)),
            outcome: Mutex::new(None),
            warnings,
            out,
        })
    }

    /// Wait up to `timeout` seconds with the GIL released; True once the run is over.
    fn wait(&self, py: Python<'_>, timeout: f64) -> bool {
        // Taken out rather than held: no lock is held while the GIL is released.
        let Some(rx) = lock(&self.finished).take() else {
            return true;
        };
        let slice = Duration::from_secs_f64(timeout.clamp(0.0, 3600.0));
        let (rx, got) = py.detach(move || {
            let got = rx.recv_timeout(slice);
            (rx, got)
        });
        let outcome = match got {
            Ok(outcome) => outcome,
            Err(RecvTimeoutError::Timeout) => {
                *lock(&self.finished) = Some(rx);
                return false;
            }
            // The thread ended without sending: it panicked. Report it as a failure
            // rather than waiting forever.
            Err(RecvTimeoutError::Disconnected) => {
                Err(RunError::Store(neurodyn::store::StoreError::Io {
                    path: self.out.clone(),
                    source: std::io::Error::other("the run's thread stopped unexpectedly"),
                }))
            }
        };
        *lock(&self.outcome) = Some(outcome);
        true
    }

    /// The latest progress report: (runs done, runs to do, neuron-steps per second).
    fn progress(&self) -> Option<(usize, usize, f64)> {
        lock(&self.progress).map(|p| (p.runs_done, p.runs_total, p.rate()))
    }

    /// Ask the run to stop after the runs under way, as one Ctrl-C does.
    fn cancel(&self) {
        self.cancel.cancel();
    }

    /// The plan's warnings, each as (message, hints).
    #[getter]
    fn warnings(&self) -> Vec<(String, Vec<String>)> {
        self.warnings.clone()
    }

    #[getter]
    fn out(&self) -> String {
        self.out.display().to_string()
    }

    /// What the finished run did, as a dict, or the run's error raised; once.
    fn result<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let summary = match lock(&self.outcome).take() {
            None => {
                return Err(pyo3::exceptions::PyRuntimeError::new_err(
                    "no result: the run has not finished (wait() first) or it was taken",
                ))
            }
            Some(Err(e)) => return Err(failure(py, e)),
            Some(Ok(s)) => s,
        };
        let d = PyDict::new(py);
        d.set_item("out", summary.out.display().to_string())?;
        d.set_item("ran", summary.ran.runs)?;
        d.set_item("committed", summary.committed)?;
        d.set_item("total", summary.total)?;
        d.set_item("complete", summary.complete)?;
        d.set_item("stopped", summary.stopped)?;
        d.set_item("wall_s", summary.wall_s)?;
        let failed: Vec<(u32, String)> = summary
            .failed
            .iter()
            .map(|r| (r.run_id, r.error.clone().unwrap_or_default()))
            .collect();
        d.set_item("failed", failed)?;
        Ok(d)
    }
}

/// A lock that a panicked holder did not leave unusable: the values behind these
/// locks are replaced whole, never left half-written.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A finished dataset, verified on opening, whose tables are read on request.
#[pyclass(frozen, module = "neurodyn._native")]
struct Dataset {
    reader: Reader,
}

/// The table called `name` in the dataset's layout.
fn table_named(name: &str) -> PyResult<&'static Table> {
    [
        &layout::RUNS,
        &layout::NEURONS,
        &layout::SPIKES,
        &layout::TRACES,
        &layout::SUMMARY,
        &layout::FI_CURVE,
    ]
    .into_iter()
    .find(|t| t.name == name)
    .ok_or_else(|| pyo3::exceptions::PyValueError::new_err(format!("no table named '{name}'")))
}

#[pymethods]
impl Dataset {
    /// Open the dataset at `path`; raises unless it is finished and sound.
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<Dataset> {
        let reader = py
            .detach(|| neurodyn::open_dataset(&path))
            .map_err(|e| failure(py, e))?;
        Ok(Dataset { reader })
    }

    /// The files of table `name` as pyarrow Tables, one per file: the whole table,
    /// or the rows of `runs` (part tables only). Each file's batches go over as they
    /// were read, without a copy; Python concatenates.
    #[pyo3(signature = (name, runs=None))]
    fn table<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        runs: Option<Vec<u32>>,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let table = table_named(name)?;
        let runs: Option<HashSet<u32>> = runs.map(|r| r.into_iter().collect());
        let read = py
            .detach(|| self.reader.rows(table, runs.as_ref()))
            .map_err(|e| failure(py, AnalysisError::from(e)))?;
        let mut out = Vec::new();
        for batches in read {
            let Some(first) = batches.first() else {
                continue;
            };
            let schema = first.schema();
            let t = PyTable::try_new(batches, schema)
                .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
            out.push(t.into_pyarrow(py)?);
        }
        Ok(out)
    }

    /// The empty schema of table `name`, for a table with no rows.
    fn schema<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        table_named(name)?.schema(Vec::new()).to_pyarrow(py)
    }

    /// Whether the dataset holds table `name` (the analysis tables once analyzed,
    /// neurons.parquet when something varies per neuron).
    fn has(&self, name: &str) -> PyResult<bool> {
        let table = table_named(name)?;
        Ok(table.storage == Storage::Parts || self.reader.has(table))
    }

    /// Draw figure `kind` ("traces", "fi", "isi", "phase") of `run` into the
    /// dataset's plots/ folder as `format` ("png" or "svg"); the files written.
    #[pyo3(signature = (kind, run, format))]
    fn plot(
        &self,
        py: Python<'_>,
        kind: &str,
        run: Option<u32>,
        format: &str,
    ) -> PyResult<Vec<PathBuf>> {
        let kind = Kind::ALL
            .into_iter()
            .find(|k| k.name() == kind)
            .ok_or_else(|| {
                pyo3::exceptions::PyValueError::new_err(format!(
                    "no figure kind '{kind}'; the kinds are traces, fi, isi and phase"
                ))
            })?;
        let format = match format {
            "png" => Format::Png,
            "svg" => Format::Svg,
            other => {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "no image format '{other}'; choose png or svg"
                )))
            }
        };
        if let Some(id) = run {
            if let Some(e) = py
                .detach(|| plot::failed_run(&self.reader, id))
                .map_err(|e| failure(py, e))?
            {
                return Err(failure(py, e));
            }
        }
        py.detach(|| plot::draw(&self.reader, kind, run, &[format]))
            .map_err(|e| failure(py, e))
    }

    #[getter]
    fn path(&self) -> PathBuf {
        self.reader.root().to_path_buf()
    }

    /// The experiment's name, as the dataset's record holds it.
    #[getter]
    fn name(&self) -> String {
        self.reader.meta().name.clone()
    }
}

/// Write summary.parquet and fi_curve.parquet of the finished dataset at `path`.
#[pyfunction]
fn analyze(py: Python<'_>, path: PathBuf) -> PyResult<()> {
    py.detach(|| neurodyn::analyze(&path))
        .map(|_| ())
        .map_err(|e| failure(py, e))
}

/// Write the HTML report of the dataset at `path` for `runs`; the page's path.
#[pyfunction]
fn report(py: Python<'_>, path: PathBuf, runs: Vec<u32>) -> PyResult<PathBuf> {
    py.detach(|| neurodyn::report::write(&path, &runs))
        .map_err(|e| failure(py, e))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(cli, m)?)?;
    m.add_function(wrap_pyfunction!(analyze, m)?)?;
    m.add_function(wrap_pyfunction!(report, m)?)?;
    m.add_class::<Run>()?;
    m.add_class::<Dataset>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
