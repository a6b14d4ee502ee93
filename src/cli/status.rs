//! `neurodyn status`: committed, failed and missing runs of a dataset, per shard, and
//! any damage.

use super::experiment::recorded_plan;
use super::failure::Failure;
use super::shard;
use crate::runner;
use crate::store::layout;
use crate::store::Dataset;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The dataset folder
    results: PathBuf,
    /// Shard count to report by (default: the one the dataset was written with)
    #[arg(long)]
    shards: Option<u32>,
}

pub fn execute(args: Args) -> Result<u8, Failure> {
    match args.shards {
        Some(0) => {
            return Err(Failure::usage(
                "--shards 0: a dataset has at least one shard",
                "leave --shards out to report by the shards the dataset was written with",
            ))
        }
        Some(n) => shard::check_count(n, &format!("--shards {n}"))?,
        None => {}
    }
    let root = &args.results;
    let dataset = Dataset::read(root).map_err(|e| {
        Failure::with_hints(
            format!("{}: not a neurodyn dataset ({e})", root.display()),
            vec!["give the folder `neurodyn run` wrote, e.g. results/<name>".into()],
        )
    })?;
    let plan = recorded_plan(&root.join(layout::EXPERIMENT))?;
    let (rows, damage) = runner::status(&dataset, &plan, args.shards)?;
    println!("shard\tplanned\tdone\tfailed\tmissing");
    let (mut missing, mut failed) = (0, 0);
    for r in &rows {
        println!(
            "{}/{}\t{}\t{}\t{}\t{}",
            r.shard.index,
            r.shard.count,
            r.planned,
            r.done,
            r.failed,
            r.planned - r.done
        );
        missing += r.planned - r.done;
        failed += r.failed;
    }
    for p in &damage {
        println!("damaged: {}", p.what);
    }
    let complete = dataset.is_complete() && damage.is_empty();
    println!(
        "{}: {} runs, {missing} missing, {failed} failed{}",
        root.display(),
        plan.runs.len(),
        if !damage.is_empty() {
            format!(", damaged ({} problems)", damage.len())
        } else if complete {
            ", complete".into()
        } else {
            String::new()
        }
    );
    if !damage.is_empty() {
        eprintln!(
            "hint: `neurodyn run {} --out {} --resume` re-runs the runs of damaged batches",
            root.join(layout::EXPERIMENT).display(),
            root.display()
        );
    }
    Ok(if missing == 0 && failed == 0 && complete {
        0
    } else {
        1
    })
}
