//! Records, for provenance.json, the git commit the binary was built from and the
//! exact versions of the random-number crates (a change there changes every draw).

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn locked_version(lock: &str, name: &str) -> String {
    let needle = format!("name = \"{name}\"\nversion = \"");
    lock.find(&needle)
        .and_then(|i| {
            let rest = &lock[i + needle.len()..];
            rest.find('"').map(|j| rest[..j].to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn main() {
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/index");
    println!("cargo:rerun-if-changed=Cargo.lock");
    let commit = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
        .map(|s| (!s.is_empty()).to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=NEURODYN_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=NEURODYN_GIT_DIRTY={dirty}");
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    for (var, name) in [
        ("NEURODYN_RAND_CHACHA", "rand_chacha"),
        ("NEURODYN_RAND_DISTR", "rand_distr"),
        ("NEURODYN_RAND_CORE", "rand_core"),
    ] {
        println!("cargo:rustc-env={var}={}", locked_version(&lock, name));
    }
}
