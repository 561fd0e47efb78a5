#!/usr/bin/env python3
"""How long a student waits for a notebook kernel: today's plain Rust kernel beside the notebooks' own, in one run.

Runs notebook 01 (the student copy) headless with nbconvert, from top to bottom, in each kernel, a few times, and
prints the first cell (`:dep biaslab`) and the whole notebook's wall time (kernel start included), side by side:

- `rust`: evcxr_jupyter as `evcxr_jupyter --install` registers it, with `:cache 4000` put before the first cell
  as the notebooks had it then. Its cache holds the compiled dependencies (after the first run), but every new
  kernel compiles biaslab itself again: the kernel before this change;
- `biaslab`: lab/kernel.py, evcxr started from the build lab/setup.sh prepared.

Since the kernel warms up (below), nbconvert's first-cell time counts from when the kernel starts that cell, after
the warm-up it waited for: the whole notebook's time is the one to compare.

Then, with `--read` (default 30 s), the same cells run one by one in the biaslab kernel after the student has read
for that long, with and without the kernel's warm-up (lab/kernel.py: it runs the first cell and loads the crates
into evcxr's rust-analyzer as soon as the kernel starts).

The `FillMask::from_env()` cell's time is mostly evcxr's (its first cell that keeps a variable loads the crates into
rust-analyzer), so the load itself is also timed alone: examples/load_bench.rs, built in release, in a fresh process
each time (`--load-runs`, 0 to skip).

Needs `bash lab/setup.sh --no-open` first. Run it on a quiet machine (a build beside it skews it badly):

    .venv/bin/python bench/kernel_start.py [--runs 2] [--model demo]
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = os.path.join(ROOT, "notebooks", "01_fill_mask_bias.ipynb")
JUPYTER = os.path.join(ROOT, ".venv", "bin", "jupyter")


def seconds(timing):
    start = datetime.datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
    end = datetime.datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
    return (end - start).total_seconds()


def source_of(cell):
    """A notebook cell's source as one string (nbformat allows a list of lines)."""
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def with_cache(path):
    """Notebook 01 with `:cache 4000` before its first cell, beside it (its `path = ".."` must resolve the same)."""
    with open(NOTEBOOK, encoding="utf-8") as f:
        notebook = json.load(f)
    cell = next(c for c in notebook["cells"] if c["cell_type"] == "code")
    cell["source"] = ":cache 4000\n" + source_of(cell)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(notebook, f)


def run(kernel, model):
    notebook = NOTEBOOK
    if kernel != "biaslab":
        notebook = os.path.join(os.path.dirname(NOTEBOOK), f".kernel-start-{os.getpid()}.ipynb")
        with_cache(notebook)
    try:
        with tempfile.TemporaryDirectory() as out:
            started = time.monotonic()
            result = subprocess.run(
                [JUPYTER, "nbconvert", "--to", "notebook", "--execute", f"--ExecutePreprocessor.kernel_name={kernel}",
                 "--ExecutePreprocessor.timeout=1800", "--ExecutePreprocessor.startup_timeout=300",
                 "--output-dir", out, notebook],
                env=dict(os.environ, BIASLAB_MODEL=model), capture_output=True, text=True)
            whole = time.monotonic() - started
            if result.returncode != 0:
                sys.exit(f"notebook 01 failed in the {kernel} kernel:\n{result.stderr[-3000:]}")
            with open(os.path.join(out, os.path.basename(notebook)), encoding="utf-8") as f:
                executed = json.load(f)
    finally:
        if notebook != NOTEBOOK:
            os.remove(notebook)
    code = [c for c in executed["cells"] if c["cell_type"] == "code"]
    first = seconds(code[0]["metadata"]["execution"])
    load = next((seconds(c["metadata"]["execution"]) for c in code if "FillMask::from_env" in "".join(c["source"])),
                None)
    return first, whole, load


def run_after_reading(model, read, warm_up):
    """Notebook 01 in the biaslab kernel as a student who reads for `read` seconds after the kernel has started,
    then runs every cell in order: (first cell, all cells, the FillMask::from_env cell), in seconds, each from the
    cell's request to its reply (the reading time not included). `warm_up` False sets BIASLAB_KERNEL_WARM_UP=0."""
    from jupyter_client.manager import start_new_kernel

    with open(NOTEBOOK, encoding="utf-8") as f:
        cells = [c for c in json.load(f)["cells"] if c["cell_type"] == "code"]
    env = dict(os.environ, BIASLAB_MODEL=model, BIASLAB_KERNEL_WARM_UP="1" if warm_up else "0")
    manager, client = start_new_kernel(kernel_name="biaslab", cwd=os.path.dirname(NOTEBOOK), env=env,
                                       startup_timeout=300)
    try:
        time.sleep(read)
        times, load = [], None
        for cell in cells:
            source = source_of(cell)
            started = time.monotonic()
            reply = client.execute_interactive(source, timeout=1800, output_hook=lambda _: None)
            times.append(time.monotonic() - started)
            if reply["content"]["status"] != "ok":
                sys.exit(f"notebook 01 failed in the biaslab kernel: {reply['content'].get('evalue')}")
            if "FillMask::from_env" in source:
                load = times[-1]
        return times[0], sum(times), load
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def load_alone(model, runs):
    """`FillMask::from_env()` timed by examples/load_bench.rs, each run a fresh process: seconds per run."""
    cargo = ["cargo", "build", "--quiet", "--locked", "--release", "--example", "load_bench"]
    print(f"building examples/load_bench.rs: {' '.join(cargo)}", flush=True)
    subprocess.run(cargo, cwd=ROOT, check=True)
    binary = os.path.join(ROOT, "target", "release", "examples", "load_bench")
    times = []
    for _ in range(runs):
        result = subprocess.run([binary], env=dict(os.environ, BIASLAB_MODEL=model), capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"examples/load_bench failed:\n{result.stderr[-3000:]}")
        times.append(json.loads(result.stdout)["from_env_s"])
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=2, help="runs of each kernel (default 2)")
    parser.add_argument("--model", default="demo", help="BIASLAB_MODEL for the notebook (default demo)")
    parser.add_argument("--kernels", default="rust,biaslab",
                        help="the kernels to run, comma-separated (default rust,biaslab)")
    parser.add_argument("--load-runs", type=int, default=5,
                        help="runs of FillMask::from_env() alone, each a fresh process (default 5, 0 to skip)")
    parser.add_argument("--read", type=float, default=30,
                        help="seconds a student reads before the first cell, for the warm-up's rows (default 30, "
                             "0 to skip them)")
    args = parser.parse_args()
    specs = json.loads(subprocess.run([JUPYTER, "kernelspec", "list", "--json"], capture_output=True, text=True,
                                      check=True).stdout)["kernelspecs"]
    kernels = [k for k in args.kernels.split(",") if k in specs]
    if "biaslab" not in kernels:
        sys.exit("the biaslab kernel is not registered: run `bash lab/setup.sh --no-open` first")
    print(f"notebook 01, model {args.model}, {args.runs} run(s) per kernel, {os.cpu_count()} cores")
    results = {}
    for kernel in kernels:
        results[kernel] = []
        for i in range(args.runs):
            first, whole, load = run(kernel, args.model)
            results[kernel].append((first, whole, load))
            load_text = f", FillMask::from_env cell {load:5.1f} s" if load is not None else ""
            print(f"  {kernel:8} run {i + 1}: first cell {first:6.1f} s, whole notebook {whole:6.1f} s{load_text}",
                  flush=True)
    print()
    print("| kernel | first cell (median) | whole notebook 01 (median) | FillMask::from_env cell (median) |")
    print("| --- | --- | --- | --- |")
    for kernel, rows in results.items():
        loads = [r[2] for r in rows if r[2] is not None]
        load = f"{statistics.median(loads):.1f} s" if loads else "?"
        print(f"| {kernel} | {statistics.median(r[0] for r in rows):.1f} s | "
              f"{statistics.median(r[1] for r in rows):.1f} s | {load} |")
    if args.read > 0:
        print(f"\na student who reads for {args.read:.0f} s after the kernel starts, then runs notebook 01's cells in "
              "order (times from each cell's request to its reply):")
        print("| biaslab kernel | first cell (median) | all cells (median) | FillMask::from_env cell (median) |")
        print("| --- | --- | --- | --- |")
        for warm_up in (False, True):
            rows = [run_after_reading(args.model, args.read, warm_up) for _ in range(args.runs)]
            name = "warmed up (default)" if warm_up else "BIASLAB_KERNEL_WARM_UP=0"
            print(f"| {name} | {statistics.median(r[0] for r in rows):.1f} s | "
                  f"{statistics.median(r[1] for r in rows):.1f} s | {statistics.median(r[2] for r in rows):.1f} s |",
                  flush=True)
    if args.load_runs > 0:
        times = load_alone(args.model, args.load_runs)
        print(f"\nFillMask::from_env() alone (release, a fresh process each): median {statistics.median(times):.3f} s "
              f"of {', '.join(f'{t:.3f}' for t in times)} s")


if __name__ == "__main__":
    main()
