//! Verification of a dataset against its manifests, which are the truth: every part a
//! manifest names must exist with the byte size and row count it records, no run may
//! be committed twice, no part file may sit in a table folder without a manifest, and
//! a dataset marked complete must hold every run and a whole runs.parquet (and a
//! whole neurons.parquet where it has one). Cheap:
//! sizes come from the directory and row counts from each Parquet footer, so nothing
//! is decompressed. A content hash is not kept: hashing every part on write and on
//! every `status` would cost as much as reading the data back.

use super::layout;
use super::outcomes::Bits;
use super::{Dataset, Manifest, StoreError};
use parquet::file::reader::{FileReader, SerializedFileReader};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// One thing wrong with a dataset, and how a resume repairs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub what: String,
    pub fix: Fix,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fix {
    /// Drop this committed batch and run its runs again.
    Rerun(String),
    /// Remove a part file that no manifest names.
    Remove(PathBuf),
    /// Run the missing runs and write the finished tables again.
    Refinish,
    /// Nothing neurodyn may do: a file it did not write.
    Manual,
}

impl Problem {
    fn in_batch(batch: &str, what: String) -> Problem {
        Problem {
            what,
            fix: Fix::Rerun(batch.to_string()),
        }
    }
    fn global(what: String) -> Problem {
        Problem {
            what,
            fix: Fix::Refinish,
        }
    }
}

/// Rows of a Parquet file from its footer.
pub fn parquet_rows(path: &Path) -> Result<u64, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let reader = SerializedFileReader::new(file).map_err(|e| e.to_string())?;
    Ok(reader.metadata().file_metadata().num_rows().max(0) as u64)
}

fn check_parts(ds: &Dataset, m: &Manifest, problems: &mut Vec<Problem>) {
    for part in &m.parts {
        let published = ds.final_part(&m.batch, &part.table);
        // A manifest written just before its parts were renamed: still staged, rolled
        // forward by the next writer.
        let staged = ds.staged_part(&m.batch, &part.table);
        let path = if published.exists() {
            published
        } else if staged.exists() {
            staged
        } else {
            problems.push(Problem::in_batch(
                &m.batch,
                format!("{} is missing", published.display()),
            ));
            continue;
        };
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if bytes != part.bytes {
            problems.push(Problem::in_batch(
                &m.batch,
                format!(
                    "{} has {bytes} bytes where its manifest records {}",
                    path.display(),
                    part.bytes
                ),
            ));
            continue;
        }
        match parquet_rows(&path) {
            Ok(rows) if rows == part.rows => {}
            Ok(rows) => problems.push(Problem::in_batch(
                &m.batch,
                format!(
                    "{} has {rows} rows where its manifest records {}",
                    path.display(),
                    part.rows
                ),
            )),
            Err(e) => problems.push(Problem::in_batch(
                &m.batch,
                format!("{} does not read as Parquet: {e}", path.display()),
            )),
        }
    }
}

impl Dataset {
    /// Everything wrong with the dataset; empty when it is sound. Errors only when the
    /// folder itself cannot be listed.
    pub fn verify(&self) -> Result<Vec<Problem>, StoreError> {
        let mut problems = Vec::new();
        // One manifest at a time, keeping one bit per run: datasets of millions of
        // runs verify in little memory.
        let mut owned = Bits::new(self.meta.runs);
        let mut twice: Vec<(u32, String)> = Vec::new();
        let mut named: BTreeSet<PathBuf> = BTreeSet::new();
        self.each_manifest(|file, m| {
            let m = match m {
                Ok(m) if m.batch == file => m,
                // A copy or a renamed manifest would commit its runs twice.
                Ok(m) => {
                    problems.push(Problem::in_batch(
                        &file,
                        format!("manifest {file}.json names batch {}", m.batch),
                    ));
                    return Ok(());
                }
                Err(e) => {
                    problems.push(Problem::in_batch(&file, e));
                    return Ok(());
                }
            };
            check_parts(self, &m, &mut problems);
            for p in &m.parts {
                named.insert(self.final_part(&m.batch, &p.table));
            }
            for r in &m.runs {
                if r.run_id as usize >= self.meta.runs {
                    problems.push(Problem::in_batch(
                        &m.batch,
                        format!(
                            "manifest {} names run {} of a {}-run plan",
                            m.batch, r.run_id, self.meta.runs
                        ),
                    ));
                } else if owned.set(r.run_id) {
                    twice.push((r.run_id, m.batch.clone()));
                }
            }
            Ok(())
        })?;
        // Which batch committed a run first is looked up again only for the rare runs
        // committed twice.
        for (run, batch) in twice {
            let mut first = None;
            self.each_manifest(|file, m| {
                if first.is_none()
                    && m.is_ok_and(|m| m.batch == file && m.runs.iter().any(|r| r.run_id == run))
                {
                    first = Some(file);
                }
                Ok(())
            })?;
            let first = first.unwrap_or_default();
            problems.push(Problem::in_batch(
                &batch,
                format!("run {run} is committed twice (batches {first} and {batch})"),
            ));
        }
        for table in layout::part_tables() {
            let dir = self.root.join(table.name);
            if !dir.exists() {
                continue;
            }
            for name in super::entries(&dir)? {
                let path = dir.join(&name);
                if name.starts_with('.') || named.contains(&path) {
                    continue;
                }
                let what = format!("{} is not named by any manifest", path.display());
                let fix = if layout::is_part_file(&name) {
                    Fix::Remove(path)
                } else {
                    Fix::Manual
                };
                problems.push(Problem { what, fix });
            }
        }
        if self.is_complete() {
            let missing = self.meta.runs.saturating_sub(owned.count());
            if missing > 0 {
                problems.push(Problem::global(format!(
                    "marked complete but {missing} of {} runs have no manifest",
                    self.meta.runs
                )));
            }
            let runs = self.root.join(layout::RUNS.entry());
            match parquet_rows(&runs) {
                Ok(n) if n == self.meta.runs as u64 => {}
                Ok(n) => problems.push(Problem::global(format!(
                    "{} has {n} rows for {} runs",
                    runs.display(),
                    self.meta.runs
                ))),
                Err(e) => problems.push(Problem::global(format!("{}: {e}", runs.display()))),
            }
            // Written only when some run varies a value per neuron; when present it
            // must be whole.
            let neurons = self.root.join(layout::NEURONS.entry());
            if neurons.exists() {
                if let Err(e) = parquet_rows(&neurons) {
                    problems.push(Problem::global(format!("{}: {e}", neurons.display())));
                }
            }
        }
        Ok(problems)
    }

    /// Refuse a damaged or unfinished dataset: what readers (analysis, check, plot,
    /// report) call before they trust its tables.
    pub fn verified(root: &Path) -> Result<Dataset, StoreError> {
        let ds = Dataset::read(root)?;
        if !ds.is_complete() {
            return Err(StoreError::NotComplete(root.to_path_buf()));
        }
        let problems = ds.verify()?;
        if !problems.is_empty() {
            return Err(StoreError::Damaged {
                path: root.to_path_buf(),
                problems: problems.into_iter().map(|p| p.what).collect(),
            });
        }
        Ok(ds)
    }
}
