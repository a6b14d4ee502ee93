//! A sweep submitted to a real SLURM scheduler as a job array of four tasks must give
//! the same dataset as one process. Needs a running cluster: `.ci/run` starts a
//! one-node cluster with scripts/slurm_cluster.sh, exports SLURM_CONF and runs this
//! test with `cargo test --test slurm -- --ignored`; it is ignored by a plain
//! `cargo test` because a developer machine has no scheduler.

mod common;

use common::*;
use std::process::Command;

#[test]
#[ignore = "needs a SLURM cluster: scripts/slurm_cluster.sh start DIR; export SLURM_CONF=DIR/slurm.conf"]
fn job_array_of_four_equals_a_single_process_run() {
    assert!(
        std::env::var_os("SLURM_CONF").is_some(),
        "SLURM_CONF is not set: start a cluster with scripts/slurm_cluster.sh first"
    );
    let tmp = tempfile::tempdir().unwrap();
    let exp = tmp.path().join("sweep.yaml");
    std::fs::write(
        &exp,
        "name: slurm_sweep\nseed: 11\nduration: 300 ms\ndt: 0.1 ms\nmethod: rk4\nneurons: 4\n\
         model: {type: adex}\n\
         input: [{type: constant, amplitude: 0 pA}, {type: noise, mean: 0 pA, sigma: 50 pA, tau: 5 ms}]\n\
         record: {variables: [V, I, w], neurons: {first: 1}, every: 10}\n\
         grid:\n  input[0].amplitude: {linspace: [300 pA, 900 pA, 7]}\n  model.a: [0 nS, 4 nS]\nreplicates: 2\n",
    )
    .unwrap();
    let out = tmp.path().join("array");
    let status = Command::new("sbatch")
        .arg("--wait")
        .arg("--array=0-3")
        .arg(format!("--chdir={}", tmp.path().display()))
        .arg(repo().join("scripts/slurm_array.sh"))
        .arg(&exp)
        .arg(&out)
        .arg(env!("CARGO_BIN_EXE_neurodyn"))
        .status()
        .expect("sbatch runs");
    assert!(
        status.success(),
        "the job array failed: see {}/neurodyn-*.out",
        tmp.path().display()
    );
    // Every task ran its own shard and the dataset is complete.
    let prov: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("provenance.json")).unwrap())
            .unwrap();
    assert_eq!(prov["shards"], 4);
    let st = neurodyn(tmp.path(), &["status", out.to_str().unwrap()]);
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stdout)
    );
    let shards: Vec<u32> = std::fs::read_dir(out.join("_manifest"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_prefix('s')
                .and_then(|r| r.get(..4))
                .and_then(|s| s.parse().ok())
        })
        .collect();
    for s in 0..4 {
        assert!(shards.contains(&s), "no batch of shard {s}");
    }
    let single = tmp.path().join("single");
    let o = neurodyn(
        tmp.path(),
        &[
            "run",
            exp.to_str().unwrap(),
            "--out",
            single.to_str().unwrap(),
            "-q",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_dataset(&single, &out);
}
