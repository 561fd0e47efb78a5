#!/usr/bin/env python3
"""biaslab's Rust kernel for Jupyter: evcxr_jupyter started from a build of biaslab prepared once.

evcxr compiles what a notebook's `:dep biaslab = { path = ".." }` names in a build folder of its own, and its
`:cache` keeps compiled registry crates but never a path dependency: every new kernel compiled the whole biaslab
crate again (about 80 s on 2 cores). `lab/setup.sh` now prepares that build folder once (`--prepare`: a real
evcxr kernel runs the notebooks' first cell in `target/kernel/build`), and each kernel this launcher starts gets a
private copy of it as its `EVCXR_TMPDIR`:

- compiled artifacts (`.rlib`, `.rmeta`, `.so` in `deps/`) are hard links: rustc and the linker write a new
  file and rename it over an old one, so a link is never written through; everything else (cargo's
  fingerprints, dep-info and build-script outputs, which are rewritten in place, and evcxr's generated crate) is
  copied with its modification time;
- cargo's own freshness check then decides: biaslab edited since the preparation is compiled again in that
  kernel's copy, so a kernel never runs stale code; unchanged, the first cell only links the notebook's code;
- evcxr's `:cache` is never on in a copy: a cache hit is copied *into* the artifact's file (`std::fs::copy`), which
  would write through a hard link into the prepared build and every kernel's copy (a crate compiled again in one
  kernel then broke all the others with "found possibly newer version of crate"); so the notebooks' first cell has
  no `:cache`, and a user whose own `init.evcxr` turns it on gets no prepared build (with a note);
- the variables cargo sets for a crate it runs or tests (`CARGO_PKG_NAME`, `CARGO_MANIFEST_DIR`, `OUT_DIR`, ...) are
  removed from the kernel's environment, in the preparation and in every kernel alike: a build script that watches
  one (ring's does) would otherwise run again in a kernel started from inside cargo, and every crate above it with
  it (first cells of 140-160 s when `cargo test` ran the notebooks);
- the copy is deleted when the kernel ends; copies left by kernels that were killed are removed at the next start;
- a kernel started in a folder of the crate (`notebooks/`) warms up at once (`warm_up`): it runs the first cell and
  has evcxr load the crates into its rust-analyzer, the seconds a student otherwise waits in the first cells.

The build is used only while it matches what it was made with (the toolchain, evcxr, the linker evcxr picks,
biaslab's Cargo.toml and Cargo.lock, the first cell): otherwise the kernel starts as plain evcxr would, and says
to run `bash lab/setup.sh` again. evcxr's cache is not turned on for it either: a kernel started that way with a
warm `~/.cache/evcxr` failed here with "can't find crate for `hf_hub`" (cause not pinned down); without it the
first cell takes several minutes, but it works. Written in Python because it must run before any Rust kernel
exists, with the Jupyter client the set-up installs (it is the kernel's command line, as `jupyter kernelspec`
registers it).

    kernel.py --evcxr PATH --control_file FILE   what Jupyter runs (the registered kernel)
    kernel.py --prebuild                         compiles the build's crates before evcxr is installed (lab/setup.sh)
    kernel.py --evcxr PATH --prepare             prepares target/kernel/build (lab/setup.sh)

`--prebuild` exists for the set-up's time: preparing compiles biaslab and all its dependencies (several minutes)
and needs evcxr, whose own compilation takes several more. `--prebuild` writes the crate evcxr will generate for
the first cell (`evcxr_manifest`) and compiles its dependencies with cargo exactly as evcxr invokes it, so the two
compilations run side by side; `--prepare` then finds them fresh. It only saves time: whatever differs (another
evcxr's manifest, another linker), cargo compiles again in `--prepare`, as before.
"""

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERNEL_DIR = os.path.join(ROOT, "target", "kernel")
TEMPLATE = os.path.join(KERNEL_DIR, "build")
KERNELS = os.path.join(KERNEL_DIR, "kernels")
LOCK = os.path.join(KERNEL_DIR, "lock")
KEY_FILE = os.path.join(KERNEL_DIR, "build.key")
# The notebook whose first cell the build is prepared with; every notebook's first cell is the same (a test says so).
FIRST_NOTEBOOK = os.path.join(ROOT, "notebooks", "01_fill_mask_bias.ipynb")
# Compiled artifacts, which are linked, not copied (but evcxr's generated crate's, which it renames).
LINKED_SUFFIXES = (".rlib", ".rmeta", ".so", ".dylib")
NEVER_LINKED = ("libctx", "libcode_")
# What cargo sets for a crate it builds, runs or tests, and for build scripts: never passed on to the kernel.
CARGO_SET = {
    "CARGO", "CARGO_MANIFEST_DIR", "CARGO_MANIFEST_PATH", "CARGO_MANIFEST_LINKS", "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME", "CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR", "CARGO_RUSTC_CURRENT_DIR",
    "CARGO_ENCODED_RUSTFLAGS", "CARGO_MAKEFLAGS", "OUT_DIR", "RUSTC", "RUSTDOC", "RUSTC_LINKER",
}
CARGO_SET_PREFIXES = ("CARGO_PKG_", "CARGO_CFG_", "CARGO_FEATURE_", "CARGO_BIN_EXE_")
# Set in the kernel's environment unless the user set it (an empty value counts as unset, as in src/env.rs);
# src/env.rs's OWN_PROCESS_SPIN_LIMIT says why, and a unit test there checks that the two values agree.
CANDLE_SPIN_LIMIT = "CANDLE_BARRIER_POOL_SPIN_LIMIT"
OWN_PROCESS_SPIN_LIMIT = "1000"


# Cargo configuration for every build folder under target/kernel/ (evcxr runs cargo in its build folder, and cargo
# reads `.cargo/config.toml` from that folder and each one above it; evcxr writes its own into the build folder
# itself, so this one is a level up, in target/kernel/; the grader's sandbox shows it at the same place): the
# notebook's dependencies, biaslab and all it uses, are compiled without debug assertions or overflow checks.
# evcxr's profile turns both on for every crate, and in candle's and gemm's loops (with the standard library's checks
# inlined into them) they cost about half as much CPU time again: lab 03's measurement cell on the demo model
# (examples/measure_bench.rs built with the kernel's profile, opt-level 2) took 105 s of CPU with them and 70 s
# without. The notebook's own code (evcxr's crate, the one workspace member) keeps both, as plain evcxr compiles it.
CARGO_CONFIG = """# Written by lab/kernel.py: the notebook's dependencies without debug assertions or overflow checks.
[profile.dev.package."*"]
debug-assertions = false
overflow-checks = false
"""


def write_cargo_config():
    """Writes CARGO_CONFIG into target/kernel/.cargo/, unless it is there already (same bytes)."""
    path = os.path.join(KERNEL_DIR, ".cargo", "config.toml")
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == CARGO_CONFIG:
                return
    except OSError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = f"{path}.{os.getpid()}"
    with open(partial, "w", encoding="utf-8") as f:
        f.write(CARGO_CONFIG)
    os.replace(partial, path)  # never half-written for a kernel starting beside


def note(message):
    print(f"biaslab kernel: {message}", file=sys.stderr, flush=True)


def first_cell():
    with open(FIRST_NOTEBOOK, encoding="utf-8") as f:
        notebook = json.load(f)
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            source = cell["source"]
            return "".join(source) if isinstance(source, list) else source
    raise SystemExit(f"{FIRST_NOTEBOOK} has no code cell")


def command_output(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=False).stdout
    except OSError:
        return ""


def file_digest(path):
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return ""


def evcxr_linker():
    """The linker evcxr picks: mold, else lld, when either is on PATH (a different linker means other rustc flags)."""
    return "mold" if shutil.which("mold") else "lld" if shutil.which("lld") else "system"


def evcxr_manifest():
    """The Cargo.toml evcxr 0.22 writes for the notebooks' first cell (`:dep biaslab = { path = ".." }`, evcxr's
    default `:opt 2`), byte for byte; tests/kernel.rs checks it against the one a preparation leaves."""
    return (
        '\n[package]\nname = "ctx"\nversion = "1.0.0"\nedition = "2024"\n\n[lib]\ncrate-type = ["cdylib"]\n'
        'path = "src/lib.rs"\n\n[profile.dev]\nopt-level = 2\ndebug = false\nstrip = "debuginfo"\nrpath = true\n'
        "lto = false\ndebug-assertions = true\ncodegen-units = 16\npanic = 'unwind'\nincremental = true\n"
        "overflow-checks = true\n\n[dependencies]\n"
        f'biaslab = {{ path = "{os.path.realpath(ROOT)}" }}\n\n'
    )


def build_key(evcxr):
    """What the prepared build depends on beyond biaslab's sources (which cargo checks itself)."""
    evcxr_stat = os.stat(evcxr)
    linker = evcxr_linker()
    parts = {
        "rustc": command_output(["rustc", "-vV"]),
        "cargo": command_output(["cargo", "-V"]),
        "evcxr": [os.path.realpath(evcxr), evcxr_stat.st_size, evcxr_stat.st_mtime_ns],
        "linker": linker,
        "Cargo.toml": file_digest(os.path.join(ROOT, "Cargo.toml")),
        "Cargo.lock": file_digest(os.path.join(ROOT, "Cargo.lock")),
        "first cell": first_cell(),
        "cargo config": CARGO_CONFIG,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def locked(shared):
    """A lock on the prepared build: shared while a kernel copies it, exclusive while it is prepared."""
    os.makedirs(KERNEL_DIR, exist_ok=True)
    handle = open(LOCK, "a+")
    fcntl.flock(handle, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
    return handle


def kernel_environment(base):
    """`base` without the variables cargo sets for a crate (see the module documentation)."""
    return {k: v for k, v in base.items() if k not in CARGO_SET and not k.startswith(CARGO_SET_PREFIXES)}


def evcxr_config_dir(env):
    """The folder evcxr reads `init.evcxr` and `evcxr.toml` from (evcxr's `config_dir()`)."""
    if env.get("EVCXR_CONFIG_DIR"):
        return env["EVCXR_CONFIG_DIR"]
    if sys.platform == "darwin":
        return os.path.expanduser("~/Library/Application Support/evcxr")
    base = env.get("XDG_CONFIG_HOME", "")
    return os.path.join(base if os.path.isabs(base) else os.path.expanduser("~/.config"), "evcxr")


def user_turns_cache_on(env):
    """Whether the user's own `init.evcxr` turns evcxr's cache on (unsafe over a linked copy)."""
    try:
        with open(os.path.join(evcxr_config_dir(env), "init.evcxr"), encoding="utf-8") as f:
            return any(line.strip().startswith(":cache") for line in f)
    except OSError:
        return False


def is_linked(directory, name):
    return (
        os.path.basename(directory) == "deps"
        and name.endswith(LINKED_SUFFIXES)
        and not name.startswith(NEVER_LINKED)
    )


def copy_build(source, target):
    """Copies the prepared build folder `source` to `target` as the module documentation says."""
    for directory, subdirs, files in os.walk(source):
        relative = os.path.relpath(directory, source)
        out = os.path.join(target, relative)
        os.makedirs(out, exist_ok=True)
        # rustc's incremental state is not needed to reuse the build, and it is large.
        subdirs[:] = [d for d in subdirs if d != "incremental"]
        for name in subdirs:
            path = os.path.join(directory, name)
            if os.path.islink(path):
                os.symlink(os.readlink(path), os.path.join(out, name))
        subdirs[:] = [d for d in subdirs if not os.path.islink(os.path.join(directory, d))]
        for name in files:
            if name.startswith("libcode_"):
                continue  # the compiled cells of the preparation
            path = os.path.join(directory, name)
            dest = os.path.join(out, name)
            if os.path.islink(path):
                os.symlink(os.readlink(path), dest)
                continue
            if is_linked(directory, name):
                try:
                    os.link(path, dest)
                    continue
                except OSError:
                    pass  # another file system, or links not allowed: copy
            shutil.copy2(path, dest)


def process_start(pid):
    """The start time of process `pid` (to tell a live kernel from a reused process id), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def sweep():
    """Removes the copies of kernels that ended without removing theirs (killed, or the machine restarted)."""
    try:
        entries = os.listdir(KERNELS)
    except OSError:
        return
    for entry in entries:
        path = os.path.join(KERNELS, entry)
        try:
            with open(os.path.join(path, ".owner"), encoding="utf-8") as f:
                pid, start = f.read().split()
            alive = process_start(int(pid)) == start
        except (OSError, ValueError):
            # No owner yet: a kernel is still copying, unless the folder is old.
            alive = time.time() - os.path.getmtime(path) < 3600 if os.path.exists(path) else True
        if not alive:
            shutil.rmtree(path, ignore_errors=True)


def kernel_build(evcxr):
    """A private copy of the prepared build for this kernel, or None (with a note) when there is none to use."""
    if not os.path.isdir(TEMPLATE):
        note("no prepared build of biaslab (run `bash lab/setup.sh`): the first cell compiles it, about a minute")
        return None
    with locked(shared=True):
        try:
            with open(KEY_FILE, encoding="utf-8") as f:
                recorded = f.read().strip()
        except OSError:
            recorded = ""
        if recorded != build_key(evcxr):
            note(
                "the prepared build of biaslab was made with another toolchain, evcxr or Cargo.lock: "
                "run `bash lab/setup.sh` again; until then the first cell compiles biaslab"
            )
            return None
        sweep()
        write_cargo_config()  # the prepared build was compiled with it; a kernel without it would compile again
        os.makedirs(KERNELS, exist_ok=True)
        copy = os.path.join(KERNELS, f"{os.getpid()}-{time.time_ns()}")
        os.makedirs(copy)
        with open(os.path.join(copy, ".owner"), "w", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {process_start(os.getpid())}")
        try:
            copy_build(TEMPLATE, copy)
        except BaseException:
            shutil.rmtree(copy, ignore_errors=True)
            raise
        return copy


def die_with_parent():
    """Runs in the kernel's process before it starts: it gets SIGTERM if this launcher is killed."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def run_kernel(evcxr, control_file):
    env = kernel_environment(os.environ)
    copy = None
    prepared = env.pop("BIASLAB_KERNEL_PREPARE", None)
    if prepared:
        env["EVCXR_TMPDIR"] = prepared  # --prepare builds in the shared folder itself
    else:
        if user_turns_cache_on(env):
            note(
                f"your {os.path.join(evcxr_config_dir(env), 'init.evcxr')} turns evcxr's :cache on, which would "
                "write into the prepared build's shared files: this kernel compiles biaslab in its first cell"
            )
        else:
            try:
                copy = kernel_build(evcxr)
            except OSError as err:
                note(f"cannot copy the prepared build ({err}); the first cell compiles biaslab")
                copy = None
        if copy:
            env["EVCXR_TMPDIR"] = copy
    # The spin limit of candle's element-wise pool, unless the user set one: src/env.rs (OWN_PROCESS_SPIN_LIMIT) says
    # why, and the biaslab command sets the same.
    if not env.get(CANDLE_SPIN_LIMIT, "").strip():
        env[CANDLE_SPIN_LIMIT] = OWN_PROCESS_SPIN_LIMIT
    child = subprocess.Popen([evcxr, "--control_file", control_file], env=env, preexec_fn=die_with_parent)
    if not prepared and warm_up_wanted(env):
        threading.Thread(target=warm_up, args=(control_file,), daemon=True).start()

    def forward(signum, _frame):
        try:
            child.send_signal(signum)
        except OSError:
            pass

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, forward)
    code = child.wait()
    if copy:
        remove_soon(copy)
    return code


WARM_UP = "BIASLAB_KERNEL_WARM_UP"


def warm_up_wanted(env):
    """Whether this kernel warms up: it runs in a folder of the crate (`notebooks/`, where the first cell's `path =
    ".."` names biaslab) and the user did not set BIASLAB_KERNEL_WARM_UP=0."""
    if env.get(WARM_UP, "").strip() == "0":
        return False
    return os.path.realpath(os.path.join(os.getcwd(), "..")) == os.path.realpath(ROOT)


def warm_up(control_file):
    """Runs the notebooks' first cell in the new kernel, as one more client, before the student's first cell arrives,
    and has evcxr load the crates into rust-analyzer. A notebook's first cells wait mostly on evcxr, not on biaslab:
    on notebook 01 (a prepared build, 2 cores) the `:dep` cell took about 10 s (cargo checking the build, the first
    link), and the first cell after it that makes a variable about 7 s more, whatever its code: evcxr then loads
    biaslab, its dependencies and the standard library into rust-analyzer to infer the variable's type (strace
    shows no compiler running in those seconds; `FillMask::from_env()` itself takes 0.16 s of that cell). That is
    done once per kernel inside evcxr's process, so unlike the build it cannot be prepared ahead: it can only start
    earlier. Warmed, the two cells take about 0.2 s and 1.5 s (bench/kernel_start.py).

    A student who runs cells at once (Run All right after the kernel starts) waits about as long as without it: the
    kernel runs requests one at a time, in the order they came. What a student may notice: the kernel is busy for
    about 15 s after it starts, and cells are numbered from [3], not [2] (evcxr counts the warm-up). The warm-up's
    output goes only to this client. The kernel's state afterwards is what the first cell alone leaves: the variable
    that made rust-analyzer load is moved away in the same cell, and evcxr forgets a moved variable. The grader
    starts evcxr itself, never through this launcher, so graded runs have no warm-up. Any failure here is silent:
    the student's own first cell does the same work and shows its errors. BIASLAB_KERNEL_WARM_UP=0 turns it off."""
    try:
        from jupyter_client import BlockingKernelClient

        client = BlockingKernelClient(connection_file=control_file)
        client.load_connection_file()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=120)
            # rust-analyzer does its loading when evcxr first asks it for a variable's type, so the warm-up makes
            # one variable and moves it away in the same cell (evcxr forgets a variable that was moved): the kernel's
            # state is then what the first cell alone leaves.
            cell = first_cell() + "\nlet biaslab_warm_up = String::new();\ndrop(biaslab_warm_up);\n"
            client.execute_interactive(cell, silent=True, store_history=False, allow_stdin=False, timeout=3600,
                                       output_hook=lambda _: None)
        finally:
            client.stop_channels()
    except Exception:  # noqa: BLE001 - see above: the student's first cell reports any real problem
        pass


def remove_soon(copy):
    """Removes a kernel's copy without making Jupyter wait (it kills a kernel that is slow to end, and deleting
    thousands of files takes seconds): renamed at once, deleted by a process of its own. If that is stopped too,
    the next kernel's sweep deletes what is left (its owner is gone)."""
    trash = f"{copy}.ended"
    try:
        os.rename(copy, trash)
        subprocess.Popen(["rm", "-rf", trash], start_new_session=True, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        shutil.rmtree(copy, ignore_errors=True)


def remove_written_through(build):
    """Removes compiled crates whose metadata (`.rmeta`) is newer than their library (`.rlib`): rustc writes the
    metadata first, so such a pair was written into by evcxr's cache through a link (launchers before this one
    allowed it), and rustc would refuse it ("found possibly newer version of crate"). cargo compiles them again."""
    removed = []
    for directory, _, files in os.walk(build):
        if os.path.basename(directory) != "deps":
            continue
        for name in files:
            if not name.endswith(".rmeta"):
                continue
            rmeta = os.path.join(directory, name)
            rlib = rmeta[: -len(".rmeta")] + ".rlib"
            try:
                if os.stat(rmeta).st_mtime_ns > os.stat(rlib).st_mtime_ns + 1_000_000_000:
                    os.remove(rmeta)
                    os.remove(rlib)
                    removed.append(name)
            except FileNotFoundError:
                pass
    if removed:
        note(f"compiling again {len(removed)} crates of the prepared build that a kernel had written into")


def host_target():
    for line in command_output(["rustc", "-vV"]).splitlines():
        if line.startswith("host: "):
            return line[len("host: "):].strip()
    raise SystemExit("setup: `rustc -vV` names no host target")


def prebuild_invocation():
    """The cargo command (run in TEMPLATE) and environment that compile biaslab and its dependencies as evcxr's
    cargo_command (eval_context.rs) does: its variables, and --target, which keeps RUSTFLAGS off the build scripts
    and procedural macros. tests/kernel.rs checks that it finds a prepared build fresh."""
    linker = evcxr_linker()
    rustflags = ["-Cprefer-dynamic"] + (["-Clink-arg=-fuse-ld=lld"] if linker == "lld" else [])
    env = dict(kernel_environment(os.environ), CARGO_TARGET_DIR="target", CARGO_BUILD_BUILD_DIR="target",
               RUSTFLAGS=" ".join(rustflags))
    argv = ["cargo", "build", "--target", host_target(), "-p", "biaslab", "--lib"]
    if linker == "mold":
        argv = ["mold", "-run"] + argv
    return argv, env


def prebuild():
    """Compiles biaslab and its dependencies in target/kernel/build as evcxr's first cell will (module
    documentation): the same manifest, target, profile, RUSTFLAGS and target folder, so `--prepare` finds them
    fresh. Needs only cargo, so it runs while evcxr is being installed."""
    with locked(shared=False):
        os.makedirs(os.path.join(TEMPLATE, "src"), exist_ok=True)
        if os.path.exists(KEY_FILE):
            os.remove(KEY_FILE)  # the build is changing: no kernel may take it until --prepare is done
        with open(os.path.join(TEMPLATE, "Cargo.toml"), "w", encoding="utf-8") as f:
            f.write(evcxr_manifest())
        write_cargo_config()
        lib = os.path.join(TEMPLATE, "src", "lib.rs")
        if not os.path.exists(lib):
            with open(lib, "w", encoding="utf-8") as f:
                f.write("// evcxr writes the notebook's code here\n")
        started = time.monotonic()
        argv, env = prebuild_invocation()
        # cargo ends with this process (lab/setup.sh stops it when the set-up fails).
        try:
            done = subprocess.run(argv, cwd=TEMPLATE, env=env, stdin=subprocess.DEVNULL, check=False,
                                  preexec_fn=die_with_parent)
        except OSError as err:
            raise SystemExit(f"setup: cannot run {argv[0]} to compile the kernel's crates: {err}") from None
        if done.returncode != 0:
            raise SystemExit(f"setup: compiling the kernel's crates failed (cargo exited with {done.returncode})")
        print(f"compiled biaslab and its dependencies for the kernel in {time.monotonic() - started:.0f} s")


def prepare(evcxr):
    """Runs the notebooks' first cell in a real kernel whose build folder is target/kernel/build."""
    from jupyter_client.manager import KernelManager

    cell = first_cell()
    with locked(shared=False):
        os.makedirs(TEMPLATE, exist_ok=True)
        if os.path.exists(KEY_FILE):
            os.remove(KEY_FILE)
        remove_written_through(TEMPLATE)
        write_cargo_config()
        started = time.monotonic()
        manager = KernelManager(kernel_name="biaslab")
        # No evcxr configuration, so no `:cache` from the user's `init.evcxr`: evcxr's cache hands back a crate's
        # dep-info as first written, naming build-script outputs in whichever build folder compiled it first, and
        # cargo would compile such a crate again wherever that folder is missing (in the grading sandbox: every
        # submission). The build is made from the first cell alone.
        no_config = os.path.join(KERNEL_DIR, "no-config")
        shutil.rmtree(no_config, ignore_errors=True)
        os.makedirs(no_config)
        shutil.rmtree(os.path.join(KERNEL_DIR, "cache"), ignore_errors=True)  # what earlier set-ups left
        env = dict(os.environ, BIASLAB_KERNEL_PREPARE=TEMPLATE, EVCXR_CONFIG_DIR=no_config)
        # The notebooks' folder, as in JupyterLab: the cell's relative `path = ".."` must resolve the same way.
        manager.start_kernel(env=env, cwd=os.path.dirname(FIRST_NOTEBOOK))
        client = manager.client()
        client.start_channels()
        failed = []
        try:
            client.wait_for_ready(timeout=120)

            def show(message):
                kind, content = message["msg_type"], message["content"]
                if kind == "stream":
                    sys.stderr.write(content["text"])
                elif kind == "error":
                    failed.append(f"{content['ename']}: {content['evalue']}")
                    sys.stderr.write("\n".join(content.get("traceback", [])) + "\n")

            reply = client.execute_interactive(cell, timeout=3600, output_hook=show)
            if reply["content"]["status"] != "ok":
                failed.append(reply["content"].get("evalue", "the cell failed"))
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=False)
        if failed:
            raise SystemExit("setup: preparing the kernel's build of biaslab failed: " + "; ".join(failed))
        for directory, _, files in os.walk(TEMPLATE):
            for name in files:
                if name.startswith("libcode_"):
                    os.remove(os.path.join(directory, name))
        with open(KEY_FILE, "w", encoding="utf-8") as f:
            f.write(build_key(evcxr) + "\n")
        print(f"prepared the kernel's build of biaslab in {time.monotonic() - started:.0f} s: {TEMPLATE}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--evcxr", help="the evcxr_jupyter program (all but --prebuild)")
    parser.add_argument("--control_file", help="the connection file Jupyter gives a kernel")
    parser.add_argument("--prepare", action="store_true", help="prepare target/kernel/build")
    parser.add_argument("--prebuild", action="store_true", help="compile the build's crates, before evcxr exists")
    args = parser.parse_args()
    if args.prebuild:
        prebuild()
        return
    if not args.evcxr:
        parser.error("give --evcxr")
    if args.prepare:
        prepare(args.evcxr)
    elif args.control_file:
        sys.exit(run_kernel(args.evcxr, args.control_file))
    else:
        parser.error("give --control_file or --prepare")


if __name__ == "__main__":
    main()
