#!/usr/bin/env bash
# Instructions per operation of the `throughput` bench, counted by valgrind
# (deterministic, unlike wall-clock time on a shared machine).
#
#   benches/icount.sh [OPS] [SIZES] [N]
#
# OPS and SIZES are comma-separated (default: every op of examples/icount.rs, and
# 1KB,64KB); each cell is (instructions of N + 1 runs - instructions of 1 run) / N,
# so set-up is not counted. N defaults to 10 (2 for 1MB).
# Under valgrind, SHA-256 runs without the SHA extensions (valgrind does not
# emulate them), so `hmac_floor` is counted in software: compare the floor in time
# (criterion), and use these counts for the work around the MAC.
set -euo pipefail
cd "$(dirname "$0")/.."
ops=${1:-hmac_floor,canonicalize,peer_jcs,sign,verify}
sizes=${2:-1KB,64KB}
cargo build --quiet --release --locked -p callsign-benches --example icount
bin=target/release/examples/icount
count() { # op size iterations
    valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null "$bin" "$1" "$2" "$3" 2>&1 \
        | sed -n 's/.*I *refs: *//p' | tr -d ,
}
printf '%-14s' op
for size in ${sizes//,/ }; do printf '%16s' "$size"; done
echo
for op in ${ops//,/ }; do
    printf '%-14s' "$op"
    for size in ${sizes//,/ }; do
        n=${N:-${3:-10}}
        [[ $size == 1MB && -z ${3:-} ]] && n=2
        base=$(count "$op" "$size" 1)
        more=$(count "$op" "$size" $((n + 1)))
        printf '%16s' $(((more - base) / n))
    done
    echo
done
