#!/usr/bin/env bash
# Differential check of the core: builds benches/diffcheck/main.rs against the core in the work
# tree and the core at REV, and runs CASES generated and mutated args (default 300000) through
# both from SEED (default 1): canonicalize, sign and verify must give the same text, claims,
# error codes and messages.
#
#   benches/diffcheck.sh [REV] [CASES] [SEED]    REV defaults to the merge base with main
#
# Everything is built in target/diffcheck (its own workspace, outside this one's lockfile).
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:-$(git merge-base HEAD main)}
cases=${2:-300000}
seed=${3:-1}
dir=target/diffcheck
rm -rf "$dir/old"
mkdir -p "$dir/old" "$dir/src"
git archive "$rev" crates/callsign | tar -x -C "$dir/old"
# The old core under another package name; it inherits the workspace settings of its revision.
sed -i '0,/^name = "callsign"$/s//name = "callsign_old"/' "$dir/old/crates/callsign/Cargo.toml"
cp benches/diffcheck/main.rs "$dir/src/main.rs"
cp Cargo.lock "$dir/Cargo.lock"
{
    cat <<TOML
[package]
name = "diffcheck"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
callsign = { path = "$PWD/crates/callsign" }
callsign_old = { path = "old/crates/callsign" }

[workspace]
members = ["old/crates/callsign"]

[profile.release]
debug-assertions = true
overflow-checks = true

TOML
    git show "$rev:Cargo.toml" | sed -n '/^\[workspace.package\]/,/^\[profile/p' | sed '/^\[profile/d'
} >"$dir/Cargo.toml"
echo "diffcheck: the work tree against $(git rev-parse --short "$rev"), $cases cases from seed $seed" >&2
cargo run --quiet --release --manifest-path "$dir/Cargo.toml" -- "$cases" "$seed"
