//! `neurodyn plot`: draw a dataset's figures into RESULTS/plots/.

use super::failure::Failure;
use crate::analysis;
use crate::plot;
use crate::store::layout;
use clap::ValueEnum;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The dataset folder
    results: PathBuf,
    /// Runs to draw (default: 8, spread over the experiment's labels in its order)
    #[arg(long = "run", value_name = "ID")]
    runs: Vec<u32>,
    /// Figure kinds (default: all)
    #[arg(long = "kind", value_enum)]
    kinds: Vec<Kind>,
    /// Image formats (default: png and svg)
    #[arg(long = "format", value_enum)]
    formats: Vec<Format>,
}

// The library's kinds and formats, spelled for the command line.
#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum Kind {
    Traces,
    Fi,
    Isi,
    Phase,
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum Format {
    Png,
    Svg,
}

/// Runs drawn when none are named.
const DEFAULT_RUNS: usize = 8;

pub fn execute(args: Args) -> Result<u8, Failure> {
    let root = &args.results;
    if !root.join(layout::SUMMARY.entry()).exists() {
        analysis::analyze(root)?;
    }
    // Opened (and verified) once for every figure.
    let reader = crate::open_dataset(root)?;
    let figures = plot::Figures::new(&reader);
    let asked = !args.runs.is_empty();
    let runs = if asked {
        args.runs
    } else {
        figures.structure.pick(DEFAULT_RUNS)
    };
    let kinds: Vec<plot::Kind> = if args.kinds.is_empty() {
        plot::Kind::ALL.to_vec()
    } else {
        args.kinds
            .iter()
            .map(|k| match k {
                Kind::Traces => plot::Kind::Traces,
                Kind::Fi => plot::Kind::Fi,
                Kind::Isi => plot::Kind::Isi,
                Kind::Phase => plot::Kind::Phase,
            })
            .collect()
    };
    let formats: Vec<plot::Format> = if args.formats.is_empty() {
        vec![plot::Format::Png, plot::Format::Svg]
    } else {
        args.formats
            .iter()
            .map(|f| match f {
                Format::Png => plot::Format::Png,
                Format::Svg => plot::Format::Svg,
            })
            .collect()
    };
    let mut written = 0;
    let mut per_run = vec![0usize; runs.len()];
    let run_figures = kinds.iter().any(|&k| k != plot::Kind::Fi);
    for kind in kinds {
        if kind == plot::Kind::Fi {
            written += figures.draw(kind, None, &formats)?.len();
            continue;
        }
        for (k, &id) in runs.iter().enumerate() {
            for p in figures.draw(kind, Some(id), &formats)? {
                println!("{}", p.display());
                written += 1;
                per_run[k] += 1;
            }
        }
    }
    println!("{written} files in {}", root.join(layout::PLOTS).display());
    // A failed run keeps the rows it wrote, which are drawn; one that left nothing to
    // draw is an error when asked for by id, so that "0 files" never passes for a plot.
    let empty = runs
        .iter()
        .zip(&per_run)
        .filter(|(_, &n)| run_figures && n == 0);
    for (&id, _) in empty {
        if let Some(e) = plot::failed_run(&reader, id)? {
            if asked {
                return Err(Failure::from(e));
            }
            eprintln!("warning: {e}");
        }
    }
    Ok(0)
}
