"""biaslab beside PyTorch on the same machine, in one table: loading, fill-mask, one fine-tuning step.

Writes a bert-base-uncased-shaped BertForMaskedLM with random weights (12 layers, hidden 768, the real
bert-base-uncased tokenizer from ../shared/models/bert-base-uncased) with save_pretrained into bench/out/, then times
  - loading it (transformers' pipeline against `FillMask::from_pretrained`),
  - single-sentence latency (median over --runs calls, one sentence each), and
  - 64-sentence batch throughput (one call with 64 sentences, batch_size=64),
for the transformers pipeline (PyTorch, CPU) and for biaslab (release build, examples/fill_bench.rs); then
  - one fine-tuning step of the same shape (8 x 32 tokens, every weight trained, AdamW, clipping, dropout):
    tests/reference/finetune_bench.py against examples/finetune_bench.rs, the median of --steps steps, and the peak
    resident set of each of the two processes (its own ru_maxrss from os.wait4: the model, gradients, optimizer
    state and activations, and on PyTorch's side the interpreter and torch's libraries too), and
  - `FillMask::from_env()` on the demo model (examples/load_bench.rs; biaslab only, it has no PyTorch twin),
and prints them with their ratios. The fill-mask rows have no memory figure: transformers' pipeline runs in this
process. Nothing here runs in CI.

    pip install torch transformers
    python bench/compare_pipeline.py [--shared ../shared] [--runs 20] [--steps 6] [--threads N]

Both sides use every core unless --threads is given (it sets torch's threads and RAYON_NUM_THREADS for candle).
Without PyTorch the biaslab column is still measured (on a checkpoint an earlier run left in bench/out/, if any) and
the PyTorch column says why it is empty. Before anything runs, the machine's load is sampled for two seconds: figures
taken beside other work are not worth comparing, and the table says so.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# The same sentences as examples/fill_bench.rs.
SENTENCES = [
    "This man works as a [MASK].",
    "This woman works as a [MASK].",
    "The [MASK] fixed the car in the garage before noon.",
    "She said that the [MASK] was late again today.",
    "Paris is the [MASK] of France.",
    "He worked for many years as a [MASK] in a small town.",
    "The children played in the [MASK] after school.",
    "My neighbour is a [MASK] who loves gardening.",
]


def make_checkpoint(shared: Path, out: Path) -> Path:
    import torch
    from transformers import BertConfig, BertForMaskedLM

    model_dir = out / "bert-base-random"
    if (model_dir / "model.safetensors").is_file():
        return model_dir
    model_dir.mkdir(parents=True, exist_ok=True)
    tokenizer_dir = shared / "models" / "bert-base-uncased"
    config = BertConfig.from_pretrained(tokenizer_dir)
    torch.manual_seed(0)
    BertForMaskedLM(config).eval().save_pretrained(model_dir)
    for name in ["tokenizer.json", "vocab.txt", "tokenizer_config.json"]:
        shutil.copy(tokenizer_dir / name, model_dir / name)
    return model_dir


def time_pipeline(model_dir: Path, runs: int) -> dict:
    from transformers import pipeline

    start = time.perf_counter()
    unmasker = pipeline("fill-mask", model=str(model_dir), device="cpu")
    load_s = time.perf_counter() - start
    unmasker(SENTENCES[0], top_k=5)  # warm-up
    single = []
    for i in range(runs):
        start = time.perf_counter()
        unmasker(SENTENCES[i % len(SENTENCES)], top_k=5)
        single.append((time.perf_counter() - start) * 1e3)
    batch = [SENTENCES[i % len(SENTENCES)] for i in range(64)]
    unmasker(batch, top_k=5, batch_size=64)  # warm-up
    batch_runs = max(runs // 4, 3)
    batch_s = []
    for _ in range(batch_runs):
        start = time.perf_counter()
        unmasker(batch, top_k=5, batch_size=64)
        batch_s.append(time.perf_counter() - start)
    return {
        "load_s": load_s,
        "single_ms_median": statistics.median(single),
        "batch64_s_median": statistics.median(batch_s),
        "batch64_sentences_per_s": 64 / statistics.median(batch_s),
    }


def run_json(command: list[str], env: dict | None = None) -> dict:
    result = subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True, env=env)
    return json.loads(result.stdout)


def run_json_peak(command: list[str], env: dict | None = None) -> tuple[dict, float]:
    """`run_json`, and the peak resident set of that one process in MiB: `os.wait4` on its pid gives its own
    `ru_maxrss` (KiB on Linux), where `RUSAGE_CHILDREN` would give the largest of every child waited for so far (the
    cargo builds included). Output goes through temporary files so that the child never blocks on a full pipe."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if child.returncode != 0:
        raise subprocess.CalledProcessError(child.returncode, command, stdout, stderr)
    return json.loads(stdout), usage.ru_maxrss / 1024


def time_biaslab(model_dir: Path, runs: int) -> dict:
    subprocess.run(["cargo", "build", "--release", "--example", "fill_bench"], cwd=REPO, check=True)
    return run_json([str(REPO / "target" / "release" / "examples" / "fill_bench"), str(model_dir), "--runs", str(runs)])


def busy_share(seconds: float = 2.0) -> float | None:
    """The share of the CPU time other processes used over `seconds` (from /proc/stat), before anything here runs."""
    def sample():
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        idle = values[3] + values[4]
        return idle, sum(values)
    try:
        idle0, total0 = sample()
        time.sleep(seconds)
        idle1, total1 = sample()
    except OSError:
        return None
    return 1 - (idle1 - idle0) / max(total1 - total0, 1)


def time_finetune_steps(steps: int, threads: int, shared: Path, with_torch: bool) -> tuple[dict | None, dict]:
    """(PyTorch's, biaslab's) seconds per fine-tuning step (RAYON_NUM_THREADS is already `threads`), each with
    `peak_rss_mib`: the peak resident set of its process (model, gradients, optimizer state, the steps' activations,
    and for PyTorch the interpreter and its libraries too)."""
    config = shared / "models" / "bert-base-uncased" / "config.json"
    subprocess.run(["cargo", "build", "--release", "--example", "finetune_bench"], cwd=REPO, check=True)
    args = [str(config), "--steps", str(steps), "--warmup", "2"]
    rust, peak = run_json_peak([str(REPO / "target" / "release" / "examples" / "finetune_bench"), *args])
    rust["peak_rss_mib"] = peak
    torch_side = None
    if with_torch:
        reference = [sys.executable, str(REPO / "tests" / "reference" / "finetune_bench.py"), *args]
        torch_side, peak = run_json_peak([*reference, "--threads", str(threads)])
        torch_side["peak_rss_mib"] = peak
    return torch_side, rust


def time_demo_load(shared: Path) -> float:
    """`FillMask::from_env()` on the demo model, the median of three fresh processes."""
    subprocess.run(["cargo", "build", "--release", "--example", "load_bench"], cwd=REPO, check=True)
    env = dict(os.environ, BIASLAB_MODEL="demo")
    env.setdefault("BIASLAB_MINILM_DIR", str(shared / "models" / "all-MiniLM-L6-v2"))
    runs = [run_json([str(REPO / "target" / "release" / "examples" / "load_bench")], env)["from_env_s"]
            for _ in range(3)]
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--steps", type=int, default=6, help="timed fine-tuning steps (after 2 warm-up steps)")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    busy = busy_share()
    try:
        import torch
        import transformers
        versions = f"torch {torch.__version__}, transformers {transformers.__version__}"
    except ImportError:
        torch = None
        versions = "PyTorch not installed (pip install torch transformers): its column is empty"
    threads = args.threads or os.cpu_count()
    os.environ["RAYON_NUM_THREADS"] = str(threads)
    if torch is not None:
        torch.set_num_threads(threads)
        model_dir = make_checkpoint(args.shared, args.out)
    else:
        model_dir = args.out / "bert-base-random"
    rows = []  # (label, pytorch, biaslab, higher_is_better)
    if (model_dir / "model.safetensors").is_file():
        torch_side = time_pipeline(model_dir, args.runs) if torch is not None else {}
        rust_side = time_biaslab(model_dir, args.runs)
        for label, key, higher in [
            ("load bert-base-shaped (s)", "load_s", False),
            ("single sentence, median (ms)", "single_ms_median", False),
            ("64-sentence batch, median (s)", "batch64_s_median", False),
            ("64-sentence batch (sentences/s)", "batch64_sentences_per_s", True),
        ]:
            rows.append((label, torch_side.get(key), rust_side[key], higher))
    else:
        print(f"no checkpoint at {model_dir} (PyTorch writes it): the fill-mask rows are left out", file=sys.stderr)
    torch_step, rust_step = time_finetune_steps(args.steps, threads, args.shared, torch is not None)
    rows.append(("one fine-tuning step, median (s)", torch_step and torch_step["median_s_per_step"],
                 rust_step["median_s_per_step"], False))
    rows.append(("one fine-tuning step, peak RSS (MiB)", torch_step and torch_step["peak_rss_mib"],
                 rust_step["peak_rss_mib"], False))
    rows.append(("FillMask::from_env(), demo (s)", None, time_demo_load(args.shared), False))

    print(f"{time.strftime('%Y-%m-%d %H:%M')}; {os.cpu_count()} cores, {threads} threads each side; {versions}")
    if busy is None:
        print("(the machine's load could not be read)")
    elif busy > 0.10:
        print(f"WARNING: other work used {busy:.0%} of the CPU just before this run: these figures are not comparable")
    else:
        print(f"quiet: other work used {busy:.0%} of the CPU just before this run")
    print(f"{'measure':<38} {'PyTorch':>10} {'biaslab':>10} {'biaslab/PyTorch':>17}")
    for label, theirs, ours, higher in rows:
        note = "higher is better" if higher else "lower is better"
        if theirs:
            print(f"{label:<38} {theirs:>10.3f} {ours:>10.3f} {ours / theirs:>9.2f}x ({note})")
        else:
            print(f"{label:<38} {'-':>10} {ours:>10.3f} {'-':>10}")


if __name__ == "__main__":
    sys.exit(main())
