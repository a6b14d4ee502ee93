//! Every committed run's outcome by run id, gathered from the manifests one at a time.
//! A dataset of 10^7 runs has manifests that parse to gigabytes of records; what
//! finishing it needs (which runs are committed, how each ended, its spike count and
//! wall time) fits in about 8 bytes per run, so this is what the writer keeps.

use super::{Manifest, RunRecord};
use std::collections::BTreeMap;

/// One bit per run id.
#[derive(Debug, Clone, Default)]
pub struct Bits {
    words: Vec<u64>,
    len: usize,
}

impl Bits {
    pub fn new(len: usize) -> Bits {
        Bits {
            words: vec![0; len.div_ceil(64)],
            len,
        }
    }

    /// Whether `i` is set; ids past the end are not.
    pub fn get(&self, i: u32) -> bool {
        let i = i as usize;
        i < self.len && self.words[i / 64] & (1 << (i % 64)) != 0
    }

    /// Set `i`; returns whether it was set before. Ids past the end are ignored.
    pub fn set(&mut self, i: u32) -> bool {
        let i = i as usize;
        if i >= self.len {
            return false;
        }
        let (word, bit) = (&mut self.words[i / 64], 1u64 << (i % 64));
        let was = *word & bit != 0;
        *word |= bit;
        was
    }

    /// How many are set.
    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }
}

/// How each committed run ended, by run id.
#[derive(Debug, Clone, Default)]
pub struct Outcomes {
    committed: Bits,
    ok: Bits,
    /// Spike counts; a count past u32::MAX (a large run) is kept in `many_spikes`.
    n_spikes: Vec<u32>,
    many_spikes: BTreeMap<u32, u64>,
    /// Wall times to f32's 7 digits: a measurement, shared out by cost in a pack.
    wall_s: Vec<f32>,
    /// Failed runs' records, whole (they are few, and reported by name).
    failed: BTreeMap<u32, RunRecord>,
    /// The largest shard count a batch was written with.
    shards: Option<u32>,
}

impl Outcomes {
    /// Room for runs 0..runs; records of other ids are ignored.
    pub fn new(runs: usize) -> Outcomes {
        Outcomes {
            committed: Bits::new(runs),
            ok: Bits::new(runs),
            n_spikes: vec![0; runs],
            many_spikes: BTreeMap::new(),
            wall_s: vec![0.0; runs],
            failed: BTreeMap::new(),
            shards: None,
        }
    }

    /// Take a committed batch: its runs' records and the shard count it was written
    /// with.
    pub fn add_batch(&mut self, m: Manifest) {
        self.shards = self.shards.max(Some(m.shards));
        m.runs.into_iter().for_each(|r| self.add(r));
    }

    /// The largest shard count the batches were written with; None before any.
    pub fn shards(&self) -> Option<u32> {
        self.shards
    }

    /// Take one record (the first of a run committed twice stays).
    pub fn add(&mut self, r: RunRecord) {
        if r.run_id as usize >= self.n_spikes.len() || self.committed.set(r.run_id) {
            return;
        }
        let i = r.run_id as usize;
        match u32::try_from(r.n_spikes) {
            Ok(n) => self.n_spikes[i] = n,
            Err(_) => {
                self.many_spikes.insert(r.run_id, r.n_spikes);
            }
        }
        self.wall_s[i] = r.wall_s as f32;
        if r.ok {
            self.ok.set(r.run_id);
        } else {
            self.failed.insert(r.run_id, r);
        }
    }

    /// Runs committed.
    pub fn committed(&self) -> usize {
        self.committed.count()
    }

    /// Whether every run is committed.
    pub fn all_committed(&self) -> bool {
        self.committed() == self.n_spikes.len()
    }

    pub fn is_committed(&self, id: u32) -> bool {
        self.committed.get(id)
    }

    pub fn ok(&self, id: u32) -> bool {
        self.ok.get(id)
    }

    /// Why a failed run failed.
    pub fn error(&self, id: u32) -> Option<&str> {
        self.failed.get(&id).and_then(|r| r.error.as_deref())
    }

    pub fn n_spikes(&self, id: u32) -> u64 {
        match self.many_spikes.get(&id) {
            Some(&n) => n,
            None => u64::from(self.n_spikes[id as usize]),
        }
    }

    pub fn wall_s(&self, id: u32) -> f64 {
        f64::from(self.wall_s[id as usize])
    }

    /// The failed runs' records, in run-id order.
    pub fn failed(&self) -> impl Iterator<Item = &RunRecord> {
        self.failed.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(run_id: u32, ok: bool) -> RunRecord {
        RunRecord {
            run_id,
            run_key: format!("k{run_id}"),
            ok,
            error: (!ok).then(|| format!("run {run_id} failed")),
            n_spikes: u64::from(run_id) * 3,
            wall_s: f64::from(run_id) / 8.0,
        }
    }

    #[test]
    fn outcomes_keep_what_each_committed_run_recorded() {
        let mut o = Outcomes::new(130);
        for id in [0, 63, 64, 129] {
            o.add(record(id, id != 64));
        }
        // A second commit of run 0 does not replace the first; ids past the plan are
        // ignored.
        o.add(RunRecord {
            n_spikes: 999,
            ..record(0, true)
        });
        o.add(record(130, true));
        assert_eq!(o.committed(), 4);
        assert!(!o.all_committed());
        assert!(o.is_committed(63) && !o.is_committed(62) && !o.is_committed(130));
        assert_eq!((o.n_spikes(0), o.n_spikes(129)), (0, 387));
        assert_eq!(o.wall_s(63), 63.0 / 8.0);
        // Counts past u32 are kept whole.
        o.add(RunRecord {
            n_spikes: 1 << 40,
            ..record(100, true)
        });
        assert_eq!(o.n_spikes(100), 1 << 40);
        assert!(o.ok(63) && !o.ok(64));
        assert_eq!(o.error(64), Some("run 64 failed"));
        assert_eq!(o.failed().map(|r| r.run_id).collect::<Vec<_>>(), [64]);
        let mut all = Outcomes::new(3);
        assert_eq!(all.shards(), None);
        for (shards, ids) in [(2, 0..2), (4, 2..3)] {
            all.add_batch(Manifest {
                batch: format!("b{shards}"),
                shard: 0,
                shards,
                parts: Vec::new(),
                runs: ids.map(|i| record(i, true)).collect(),
            });
        }
        assert!(all.all_committed());
        assert_eq!(all.shards(), Some(4));
    }

    #[test]
    fn bits_set_count_and_ignore_ids_past_the_end() {
        let mut b = Bits::new(70);
        assert!(!b.set(69) && b.set(69));
        assert!(!b.set(70) && !b.get(70));
        b.set(0);
        assert_eq!(b.count(), 2);
        assert!(b.get(0) && !b.get(1));
    }
}
