"""biaslab beside PyTorch on the same machine, in one table: loading, fill-mask, fine-tuning, CrowS-Pairs.

Writes a bert-base-uncased-shaped BertForMaskedLM with random weights (12 layers, hidden 768, the real
bert-base-uncased tokenizer from ../shared/models/bert-base-uncased) with save_pretrained into bench/out/, then times
  - loading it (transformers' pipeline against `FillMask::from_pretrained`),
  - single-sentence latency (median over --runs calls, one sentence each), and
  - 64-sentence batch throughput (one call with 64 sentences, batch_size=64),
for the transformers pipeline (PyTorch, CPU) and for biaslab (release build, examples/fill_bench.rs); then
  - one fine-tuning step of the same shape (8 x 32 tokens, every weight trained, AdamW, clipping, dropout):
    tests/reference/finetune_bench.py against examples/finetune_bench.rs, the median of --steps steps, and the peak
    resident set of each of the two processes (its own ru_maxrss from os.wait4: the model, gradients, optimizer
    state and activations, and on PyTorch's side the interpreter and torch's libraries too),
  - `FillMask::from_env()` on the demo model (examples/load_bench.rs; biaslab only, it has no PyTorch twin), and
  - CrowS-Pairs with Nangia et al.'s scoring on the first --crows pairs of ../shared/data/crows-pairs: the official
    metric.py (nyu-mll/crows-pairs; the whole script, run as tests/reference/suites_reference.py runs it, on this
    checkpoint) against `biaslab crows-pairs --json` (release build), wall-clock with the model's load, and whether
    every pair's decision (win, loss or neutral) is the same on both sides,
and prints them with their ratios; then times
  - f32 matrix products alone, of BERT's shapes and a large square one (torch against examples/matmul_bench.rs),
    in GFLOP/s, and
  - the work of the single sentence, the batch and the fine-tuning step counted in floating-point operations (from
    the model's shape and the sentences' token counts; `work` says what is counted) and the rate each side reached,
    as a share of the best matrix product measured: how much of this machine each side uses.
The fill-mask rows have no memory figure: transformers' pipeline runs in this
process. Nothing here runs in CI.

    pip install torch transformers
    git --git-dir=<nyu-mll/crows-pairs clone>/.git show HEAD:metric.py > /tmp/official/crows-pairs/metric.py
    python bench/compare_pipeline.py [--shared ../shared] [--runs 20] [--steps 6] [--threads N]
        [--crows 100|all|0] [--official /tmp/official]

Both sides use every core unless --threads is given (it sets torch's threads and RAYON_NUM_THREADS for candle).
Without PyTorch the biaslab column is still measured (on a checkpoint an earlier run left in bench/out/, if any) and
the PyTorch column says why it is empty; without PyTorch or metric.py the CrowS-Pairs row is left out, and the output
says why. Before anything runs, the machine's load is sampled for two seconds: figures taken beside other work are
not worth comparing, and the table says so. On the 2-core machine (quiet, 2026-12-04) the whole run with --crows 100
took about 5 minutes, metric.py 171 s of it and biaslab 66 s; --crows all, the issue's full set, took
86 minutes on a 2-core AMD machine (quiet, 2026-12-05): metric.py 3,621 s, biaslab 1,097 s (bench/profile.md).
"""

import argparse
import contextlib
import csv
import io
import json
import os
import re
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


# The matrix products timed alone on both sides (examples/matmul_bench.rs against torch): (m, k, n), an (m, k)
# matrix times the transpose of an (n, k) one, as a linear layer multiplies. A large square one, and BERT's shapes
# in the 64-sentence batch (64 x 14 tokens) and in the fine-tuning step (8 x 32).
PRODUCTS = [(2048, 2048, 2048), (896, 768, 3072), (896, 3072, 768), (896, 768, 768), (256, 768, 3072)]


def matmul_rates(with_torch: bool) -> tuple[dict | None, dict]:
    """(PyTorch's, biaslab's) GFLOP/s for each of PRODUCTS, the median of 10 after a warm-up, on the threads `main`
    set (torch's, and RAYON_NUM_THREADS for candle)."""
    subprocess.run(["cargo", "build", "--release", "--example", "matmul_bench"], cwd=REPO, check=True)
    shapes = [",".join(map(str, shape)) for shape in PRODUCTS]
    rust = run_json([str(REPO / "target" / "release" / "examples" / "matmul_bench"), *shapes, "--runs", "10"])
    ours = {(p["m"], p["k"], p["n"]): p["gflops"] for p in rust["products"]}
    theirs = None
    if with_torch:
        import torch

        theirs = {}
        for m, k, n in PRODUCTS:
            a, b = torch.randn(m, k), torch.randn(n, k)
            torch.nn.functional.linear(a, b)
            times = []
            for _ in range(10):
                start = time.perf_counter()
                torch.nn.functional.linear(a, b)
                times.append(time.perf_counter() - start)
            theirs[(m, k, n)] = 2 * m * k * n / statistics.median(times) / 1e9
    return theirs, ours


def work(shared: Path) -> dict:
    """The floating-point operations (GFLOP) of each timed call, counted from the model's shape and the sentences'
    token counts, for (PyTorch, biaslab): matrix products only (2 per multiply-add; the element-wise work, softmax
    and layer norm are under 2 % at these sizes). The two sides do different work for the same answer: transformers
    computes the masked-LM head (768 x 30522) at every position, biaslab only where a [MASK] is (fill-mask) or a
    token was masked for training; in fill-mask biaslab also computes the last layer's queries, attention and
    feed-forward block only at the mask (its keys and values everywhere). A backward pass is counted as twice its
    forward's products. Empty without the `tokenizers` package."""
    try:
        from tokenizers import Tokenizer
    except ImportError:
        return {}
    model = shared / "models" / "bert-base-uncased"
    config = json.loads((model / "config.json").read_text())
    h, f, layers, vocab = (config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"],
                           config["vocab_size"])
    tokenizer = Tokenizer.from_file(str(model / "tokenizer.json"))
    lengths = [len(tokenizer.encode(s).ids) for s in SENTENCES]

    def encoder(batch: int, length: int) -> float:
        tokens = batch * length
        per_layer = 2 * tokens * (4 * h * h + 2 * h * f) + 4 * batch * length * length * h  # projections, attention
        return layers * per_layer

    def encoder_at(batch: int, length: int, rows: int) -> float:
        """biaslab's inference: the last layer's keys and values at every position, the rest of it only at `rows`
        positions (the masks)."""
        tokens = batch * length
        last = 2 * tokens * 2 * h * h + 2 * rows * (2 * h * h + 2 * h * f) + 4 * rows * length * h
        return encoder(batch, length) / layers * (layers - 1) + last

    def head(rows: float) -> float:
        return 2 * rows * (h * h + h * vocab)  # the transform and the decoder

    single = statistics.mean(encoder(1, n) for n in lengths)
    longest = max(lengths)
    masked = 0.15 * (32 - 2) * 8  # expected: each of the 30 inner tokens of each of 8 rows masked with p = 0.15
    step_forward = encoder(8, 32)
    return {
        "single": (single + statistics.mean(head(n) for n in lengths),
                   statistics.mean(encoder_at(1, n, 1) for n in lengths) + head(1)),
        "batch": (encoder(64, longest) + head(64 * longest), encoder_at(64, longest, 64) + head(64)),
        "step": (3 * (step_forward + head(8 * 32)), 3 * (step_forward + head(masked))),
    }


CROWS_DEFAULT = 100


def crows_count(text: str) -> int | str:
    if text == "all":
        return "all"
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("a number of pairs, 0 or more, or all")
    return value


def decision(neutral: bool, win: bool) -> str:
    return "neutral" if neutral else "win" if win else "loss"


def outcome(scored: tuple[str, tuple[float, float]] | None) -> str:
    """A pair's decision and its two scores as "win (sent_more -45.123, sent_less -45.124)"."""
    if scored is None:
        return "not scored"
    result, (more, less) = scored
    return f"{result} (sent_more {more:.3f}, sent_less {less:.3f})"


def time_crows_pairs(limit: int | None, model_dir: Path, shared: Path, official: Path, threads: int,
                     work: Path) -> dict:
    """CrowS-Pairs with Nangia's scoring on the first `limit` pairs of the shared CSV (None: all of them): the official
    metric.py, the whole script run as tests/reference/suites_reference.py runs it (its `patch_libraries`: the name
    bert-base-uncased loads `model_dir`, pandas gets `DataFrame.append` back; `crows_subset` writes the rows verbatim),
    against `biaslab crows-pairs --json` (release build) on the same pairs. Wall-clock of each with the model's load:
    metric.py's from running the script (in this process, torch already imported) until it has written its CSV,
    biaslab's from starting the process until it exits. Then each pair's decision, compared by the CSV's index."""
    import torch
    import transformers

    sys.path.insert(0, str(REPO / "tests" / "reference"))
    environ = dict(os.environ)
    import suites_reference as reference  # sets torch to 1 thread and OMP_NUM_THREADS=1 when imported

    for key in os.environ.keys() - environ.keys():
        del os.environ[key]
    torch.set_num_threads(threads)
    source = shared / "data" / "crows-pairs" / "crows_pairs_anonymized.csv"
    work.mkdir(parents=True, exist_ok=True)
    reference.patch_libraries(model_dir)
    config = json.loads((model_dir / "config.json").read_text())
    reference.MAX_TOKENS = config["max_position_embeddings"]  # no CrowS-Pairs sentence is this long
    reference.CROWS_PAIRS = limit if limit is not None else sys.maxsize
    tokenizer = transformers.BertTokenizer.from_pretrained(str(model_dir))
    rows, chosen, skipped, subset = reference.crows_subset(shared, tokenizer, work)
    if skipped:
        print(f"CrowS-Pairs: rows longer than the model's positions, left out of metric.py's run: {skipped}",
              file=sys.stderr)
    out_csv = work / "crows_metric_out.csv"
    argv, cwd = sys.argv, os.getcwd()
    sys.argv = ["metric.py", "--input_file", str(subset), "--lm_model", "bert", "--output_file", str(out_csv)]
    os.chdir(work)  # metric.py writes bert.vocab into the working directory
    printed, progress = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(progress):
            reference.load_module("crows_metric", official / "crows-pairs" / "metric.py")
    except BaseException:
        print(progress.getvalue()[-4000:], file=sys.stderr)
        raise
    finally:
        sys.argv = argv
        os.chdir(cwd)
    metric_s = time.perf_counter() - start
    theirs = {}
    with open(out_csv, newline="") as f:
        scored = list(csv.DictReader(f))
    assert len(scored) == len(chosen), f"metric.py wrote {len(scored)} rows for {len(chosen)} pairs"
    for position, out in zip(chosen, scored):
        assert out["sent_more"] == rows[position]["sent_more"]
        scores = (float(out["sent_more_score"]), float(out["sent_less_score"]))
        theirs[int(rows[position][""])] = (decision(scores[0] == scores[1], float(out["score"]) == 1), scores)

    subprocess.run(["cargo", "build", "--release", "--bin", "biaslab"], cwd=REPO, check=True)
    command = [str(REPO / "target" / "release" / "biaslab"), "crows-pairs", "--model", str(model_dir),
               "--data", str(source), "--json"]
    if limit is not None:
        command += ["--limit", str(limit)]
    start = time.perf_counter()
    report = run_json(command)
    biaslab_s = time.perf_counter() - start
    ours = {r["index"]: (decision(r["neutral"], r["win"]), (r["sent_more_score"], r["sent_less_score"]))
            for r in report["results"]}

    differing = []
    for index in sorted(theirs.keys() | ours.keys()):
        if index not in theirs or index not in ours or theirs[index][0] != ours[index][0]:
            differing.append((index, theirs.get(index), ours.get(index)))
    metric_score = re.search(r"Metric score:\s+(-?[0-9.]+)", printed.getvalue())
    return {
        "pairs": len(theirs),
        "metric_s": metric_s,
        "biaslab_s": biaslab_s,
        "identical": sum(1 for i in theirs if i in ours and theirs[i][0] == ours[i][0]),
        "differing": differing,
        "biaslab_skipped": report["skipped"],
        "metric_score": (metric_score and float(metric_score.group(1)), report["metric_score"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--steps", type=int, default=6, help="timed fine-tuning steps (after 2 warm-up steps)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--crows", type=crows_count, default=CROWS_DEFAULT,
                        help=f"CrowS-Pairs pairs for the metric.py row: N (default {CROWS_DEFAULT}), all (1,508), "
                        "0 to skip")
    parser.add_argument("--official", type=Path, default=Path("/tmp/official"),
                        help="holds crows-pairs/metric.py (nyu-mll/crows-pairs), as for "
                        "tests/reference/suites_reference.py")
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
    torch_side, rust_side = {}, None  # the fill-mask measures, when there is a checkpoint
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
    torch_rates, rust_rates = matmul_rates(torch is not None)
    counted = work(args.shared)
    rates = []  # (label, PyTorch GFLOP, biaslab GFLOP, PyTorch seconds, biaslab seconds)
    if counted and rust_side:
        single_ms = torch_side.get("single_ms_median")
        rates.append(("single sentence", *counted["single"], single_ms and single_ms / 1e3,
                      rust_side["single_ms_median"] / 1e3))
        rates.append(("64-sentence batch", *counted["batch"], torch_side.get("batch64_s_median"),
                      rust_side["batch64_s_median"]))
    if counted:
        rates.append(("one fine-tuning step", *counted["step"], torch_step and torch_step["median_s_per_step"],
                      rust_step["median_s_per_step"]))
    crows, crows_note = None, None
    metric_py = args.official / "crows-pairs" / "metric.py"
    if args.crows == 0:
        crows_note = "CrowS-Pairs: skipped (--crows 0)"
    elif torch is None or not metric_py.is_file() or not (model_dir / "model.safetensors").is_file():
        crows_note = (f"CrowS-Pairs: not measured: it needs PyTorch, the checkpoint and {metric_py} "
                      "(git show HEAD:metric.py from nyu-mll/crows-pairs)")
    else:
        crows = time_crows_pairs(None if args.crows == "all" else args.crows, model_dir, args.shared, args.official,
                                 threads, args.out / "crows")
        rows.append((f"CrowS-Pairs, {crows['pairs']} pairs, Nangia (s)", crows["metric_s"], crows["biaslab_s"], False))

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
    print()
    print("matrix products alone, f32 (GFLOP/s; an (m, k) matrix times an (n, k) one transposed):")
    print(f"{'m x k x n':<38} {'PyTorch':>10} {'biaslab':>10} {'biaslab/PyTorch':>17}")
    for shape in PRODUCTS:
        theirs, ours = torch_rates and torch_rates[shape], rust_rates[shape]
        label = " x ".join(map(str, shape))
        if theirs:
            print(f"{label:<38} {theirs:>10.1f} {ours:>10.1f} {ours / theirs:>9.2f}x (higher is better)")
        else:
            print(f"{label:<38} {'-':>10} {ours:>10.1f} {'-':>10}")
    best = max([*rust_rates.values(), *(torch_rates or {}).values()])
    if rates:
        print(f"the model's work per call and its rate, against the best product above ({best:.0f} GFLOP/s):")
        print(f"{'call':<22} {'GFLOP PyTorch':>13} {'biaslab':>8} {'GFLOP/s PyTorch':>16} {'biaslab':>8} "
              f"{'share of best':>14} {'biaslab':>8}")
        for label, theirs, ours, their_s, our_s in rates:
            their_rate = theirs / 1e9 / their_s if their_s else None
            our_rate = ours / 1e9 / our_s
            their_text = (f"{their_rate:>16.1f}", f"{their_rate / best:>14.0%}") if their_rate else (f"{'-':>16}",
                                                                                                    f"{'-':>14}")
            print(f"{label:<22} {theirs / 1e9:>13.1f} {ours / 1e9:>8.1f} {their_text[0]} {our_rate:>8.1f} "
                  f"{their_text[1]} {our_rate / best:>8.0%}")
    else:
        print("(the model's work is not counted: it needs the checkpoint and the `tokenizers` package)")
    if crows_note:
        print(crows_note)
    if crows:
        print(f"CrowS-Pairs decisions identical: {crows['identical']} of {crows['pairs']} "
              f"(metric score: metric.py {crows['metric_score'][0]}, biaslab {crows['metric_score'][1]})")
        for index, theirs, ours in crows["differing"]:
            print(f"  pair {index}: metric.py {outcome(theirs)}, biaslab {outcome(ours)}")
        if crows["differing"]:
            print("  (a pair whose two scores differ by 0.001 on one side may sit on a boundary of round(x, 3):")
            print("   float32 sums from different kernels can land either side of it)")
        if crows["biaslab_skipped"]:
            print(f"  biaslab skipped: {crows['biaslab_skipped']}")


if __name__ == "__main__":
    sys.exit(main())
