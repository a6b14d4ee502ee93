#!/usr/bin/env bash
# Regenerate the golden files under tests/golden/ after an intended change of results.
# Each tests/golden/NAME.yaml is run and its summary, spike counts and F-I curve are
# written to tests/golden/NAME.golden.json, which tests/golden.rs checks with
# `neurodyn check`. Review the diff (git diff --stat tests/golden) before committing.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${NEURODYN:-target/debug/neurodyn}
[ -x "$bin" ] || cargo build
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for yaml in tests/golden/*.yaml; do
    name=$(basename "$yaml" .yaml)
    "$bin" run "$yaml" --out "$scratch/$name" --quiet
    "$bin" check "$scratch/$name" --write-golden "tests/golden/$name.golden.json"
done
