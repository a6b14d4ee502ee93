//! `neurodyn status`: committed, failed and missing runs of a dataset, per shard, and
//! any damage.

use super::experiment::recorded_plan;
use super::failure::Failure;
use super::json::{self, Format, Versioned};
use super::shard;
use crate::runner;
use crate::store::layout;
use crate::store::{Dataset, StoreError};
use serde::Serialize;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The dataset folder
    results: PathBuf,
    /// Shard count to report by (default: the one the dataset was written with)
    #[arg(long)]
    shards: Option<u32>,
    /// text: a table; json: one document (docs/JSON.md)
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// `status --format json`.
#[derive(Serialize)]
struct Status {
    dataset: String,
    shards: Vec<ShardRow>,
    totals: Counts,
    complete: bool,
    damage: Vec<Damage>,
}

#[derive(Serialize)]
struct ShardRow {
    index: u32,
    count: u32,
    #[serde(flatten)]
    counts: Counts,
}

#[derive(Serialize, Default)]
struct Counts {
    planned: usize,
    done: usize,
    failed: usize,
    missing: usize,
}

#[derive(Serialize)]
struct Damage {
    problem: String,
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
    // A dataset of another format is one, just not readable here: its own hint.
    let dataset = Dataset::read(root).map_err(|e| match e {
        StoreError::OtherFormat { .. } => Failure::from(e),
        e => Failure::with_hints(
            format!("{}: not a neurodyn dataset ({e})", root.display()),
            vec!["give the folder `neurodyn run` wrote, e.g. results/<name>".into()],
        ),
    })?;
    let plan = recorded_plan(&root.join(layout::EXPERIMENT))?;
    let (rows, damage) = runner::status(&dataset, &plan, args.shards)?;
    let shards: Vec<ShardRow> = rows
        .iter()
        .map(|r| ShardRow {
            index: r.shard.index,
            count: r.shard.count,
            counts: Counts {
                planned: r.planned,
                done: r.done,
                failed: r.failed,
                missing: r.planned - r.done,
            },
        })
        .collect();
    let mut totals = Counts::default();
    for c in shards.iter().map(|s| &s.counts) {
        totals.planned += c.planned;
        totals.done += c.done;
        totals.failed += c.failed;
        totals.missing += c.missing;
    }
    let (missing, failed) = (totals.missing, totals.failed);
    let complete = dataset.is_complete() && damage.is_empty();
    match args.format {
        Format::Text => {
            println!("shard\tplanned\tdone\tfailed\tmissing");
            for s in &shards {
                let c = &s.counts;
                println!(
                    "{}/{}\t{}\t{}\t{}\t{}",
                    s.index, s.count, c.planned, c.done, c.failed, c.missing
                );
            }
            for p in &damage {
                println!("damaged: {}", p.what);
            }
            println!(
                "{}: {} runs, {missing} missing, {failed} failed{}",
                root.display(),
                plan.len(),
                if !damage.is_empty() {
                    format!(", damaged ({} problems)", damage.len())
                } else if complete {
                    ", complete".into()
                } else {
                    String::new()
                }
            );
        }
        Format::Json => json::print(&Versioned::new(Status {
            dataset: root.display().to_string(),
            shards,
            totals,
            complete,
            damage: damage
                .iter()
                .map(|p| Damage {
                    problem: p.what.clone(),
                })
                .collect(),
        }))?,
    }
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
