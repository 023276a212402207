#!/usr/bin/env bash
# Make the wasm32-unknown-unknown toolchain available and build with it.
#
# Usage:
#   scripts/wasm-toolchain.sh [ensure]          # make the wasm32 target available (default)
#   scripts/wasm-toolchain.sh build <args...>   # cargo build --target wasm32-unknown-unknown <args...>
#   scripts/wasm-toolchain.sh bindgen           # ensure wasm-bindgen CLI == $WASM_BINDGEN_VERSION; print its path
#   scripts/wasm-toolchain.sh route             # print the route that `build` would use (rustup|debian)
#
# Routes:
#   rustup  `rustup target add wasm32-unknown-unknown` (needs the rustup dist server).
#   debian  Debian's rustc-web/cargo-web/rust-web-src/lld-22 (bookworm-security),
#           building std from source: RUSTC_BOOTSTRAP=1 cargo -Z build-std=std,panic_abort.
# The route is picked by whether rustup has the target installed.
#
# Environment:
#   CALLSIGN_WASM_ROUTE=debian   force the Debian route (ensure installs it, build uses it)
#   CALLSIGN_WASM_ROUTE=rustup   force the rustup route (fail instead of falling back)
#   WASM_BINDGEN_VERSION         wasm-bindgen CLI version (default: the wasm-bindgen crate's
#                                version in Cargo.lock, which the `=` pin in Cargo.toml fixes)
#
# Messages go to stderr; successful runs are quiet (except `bindgen`/`route`, which print
# their answer on stdout, and `build`, which shows cargo's own output).
set -euo pipefail

TARGET=wasm32-unknown-unknown
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
locked_bindgen_version() {
    awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' \
        "$ROOT/Cargo.lock"
}
WASM_BINDGEN_VERSION="${WASM_BINDGEN_VERSION:-$(locked_bindgen_version)}"
ROUTE_OVERRIDE="${CALLSIGN_WASM_ROUTE:-}"

# Debian bookworm(-security) packages: rustc-web installs /usr/bin/rustc and /usr/bin/rustdoc
# (sysroot /usr), cargo-web installs /usr/bin/cargo, rust-web-src installs the std sources at
# /usr/lib/rustlib/src/rust (-> /usr/src/rustc-<ver>), and lld-22 provides wasm-ld; rustc-web
# pulls in rust-web-llvm, whose /usr/bin/rust-lld -> lld-22 is the default wasm32 linker.
DEBIAN_PKGS=(rustc-web cargo-web rust-web-src lld-22)
DEB_RUSTC=/usr/bin/rustc
DEB_RUSTDOC=/usr/bin/rustdoc
DEB_CARGO=/usr/bin/cargo
DEB_STD_SRC=/usr/lib/rustlib/src/rust/library/std/Cargo.toml
DEB_LLD=/usr/bin/rust-lld
DEB_WASM_LD=/usr/lib/llvm-22/bin/wasm-ld   # from lld-22; used if rust-lld is missing

log() { printf 'wasm-toolchain: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

case "$ROUTE_OVERRIDE" in
    ""|rustup|debian) ;;
    *) die "CALLSIGN_WASM_ROUTE must be 'rustup' or 'debian' (got '$ROUTE_OVERRIDE')" ;;
esac

rustup_has_target() {
    command -v rustup >/dev/null 2>&1 || return 1
    rustup target list --installed 2>/dev/null | grep -qx "$TARGET"
}

debian_ready() {
    [[ -x $DEB_RUSTC && -x $DEB_CARGO && -f $DEB_STD_SRC ]] || return 1
    [[ -x $DEB_LLD || -x $DEB_WASM_LD ]]
}

as_root() {
    if [[ $(id -u) -eq 0 ]]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else die "need root to run: $*"
    fi
}

install_debian() {
    debian_ready && return 0
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found; cannot install the Debian fallback"
    log "installing Debian fallback: ${DEBIAN_PKGS[*]}"
    local aptlog
    aptlog=$(mktemp)
    # Recommends stay on: rustc-web only *recommends* rust-web-llvm (/usr/bin/rust-lld).
    if ! { as_root apt-get update -qq &&
           as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${DEBIAN_PKGS[@]}"; } \
           >"$aptlog" 2>&1; then
        tail -n 30 "$aptlog" >&2
        rm -f "$aptlog"
        die "apt-get failed installing ${DEBIAN_PKGS[*]}"
    fi
    rm -f "$aptlog"
    debian_ready || die "Debian packages installed but toolchain not found at $DEB_RUSTC / $DEB_CARGO / $DEB_STD_SRC"
}

ensure() {
    if [[ $ROUTE_OVERRIDE == debian ]]; then
        install_debian
        log "route: debian (forced by CALLSIGN_WASM_ROUTE)"
        return 0
    fi
    rustup_has_target && return 0
    if command -v rustup >/dev/null 2>&1; then
        if timeout 120 rustup target add "$TARGET" >/dev/null 2>&1 && rustup_has_target; then
            return 0
        fi
        log "rustup target add $TARGET failed"
    else
        log "rustup not found"
    fi
    [[ $ROUTE_OVERRIDE == rustup ]] && die "rustup route forced but unavailable"
    install_debian
    log "route: debian (rustc-web + -Z build-std); use '$0 build ...' to build"
}

route() {
    if [[ $ROUTE_OVERRIDE == debian ]]; then echo debian
    elif [[ $ROUTE_OVERRIDE == rustup ]] || rustup_has_target; then echo rustup
    else echo debian
    fi
}

build() {
    # Don't retry rustup (up to 120 s) on every build once the Debian route is in place.
    if rustup_has_target && [[ $ROUTE_OVERRIDE != debian ]]; then
        :
    elif [[ -z $ROUTE_OVERRIDE ]] && debian_ready; then
        :
    else
        ensure
    fi
    if [[ $(route) == rustup ]]; then
        cargo build --target "$TARGET" "$@"
        return
    fi
    # Debian route: Debian's own cargo/rustc (not the rustup proxies), std rebuilt from
    # rust-web-src. Drop rustup's toolchain pin so nothing redirects to the rustup toolchain.
    local linker_env=()
    if [[ ! -x $DEB_LLD ]]; then
        linker_env=(CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="$DEB_WASM_LD")
    fi
    env -u RUSTUP_TOOLCHAIN \
        RUSTC="$DEB_RUSTC" RUSTDOC="$DEB_RUSTDOC" RUSTC_BOOTSTRAP=1 "${linker_env[@]}" \
        "$DEB_CARGO" build --target "$TARGET" -Z build-std=std,panic_abort "$@"
}

bindgen() {
    local bin have
    [[ -n $WASM_BINDGEN_VERSION ]] || die "no wasm-bindgen in Cargo.lock; set WASM_BINDGEN_VERSION"
    if bin=$(command -v wasm-bindgen 2>/dev/null); then
        have=$("$bin" --version 2>/dev/null | awk '{print $2}') || have=
        if [[ $have == "$WASM_BINDGEN_VERSION" ]]; then
            echo "$bin"
            return 0
        fi
        log "found $bin at version '${have:-unknown}', want $WASM_BINDGEN_VERSION; installing"
    else
        log "wasm-bindgen CLI not found; installing $WASM_BINDGEN_VERSION (takes a few minutes)"
    fi
    # Not --locked: the published lockfile of wasm-bindgen-cli has failed to build here.
    cargo install --quiet --force wasm-bindgen-cli --version "=$WASM_BINDGEN_VERSION" >&2
    bin="${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin/wasm-bindgen"
    have=$("$bin" --version 2>/dev/null | awk '{print $2}') || have=
    [[ $have == "$WASM_BINDGEN_VERSION" ]] || die "installed $bin reports '${have:-nothing}', want $WASM_BINDGEN_VERSION"
    if [[ $(command -v wasm-bindgen 2>/dev/null) != "$bin" ]]; then
        log "note: $(dirname "$bin") is not first on PATH for wasm-bindgen; use the path printed"
    fi
    echo "$bin"
}

mode="${1:-ensure}"
[[ $# -gt 0 ]] && shift
case "$mode" in
    ensure)  ensure ;;
    build)   build "$@" ;;
    bindgen) bindgen ;;
    route)   route ;;
    -h|--help|help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" ;;
    *) die "unknown mode '$mode' (ensure|build|bindgen|route)" ;;
esac
