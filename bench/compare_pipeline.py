"""biaslab's fill-mask beside the transformers pipeline, on the same machine and the same checkpoint.

Writes a bert-base-uncased-shaped BertForMaskedLM with random weights (12 layers, hidden 768, the real
bert-base-uncased tokenizer from ../shared/models/bert-base-uncased) with save_pretrained into bench/out/, then times
  - single-sentence latency (median over --runs calls, one sentence each), and
  - 64-sentence batch throughput (one call with 64 sentences, batch_size=64),
for the transformers pipeline (PyTorch, CPU) and for biaslab (release build, examples/fill_bench.rs), and prints
both with their ratio. Nothing here runs in CI.

    pip install torch transformers
    python bench/compare_pipeline.py [--shared ../shared] [--runs 20] [--threads N]

Both sides use every core unless --threads is given (it sets torch's threads and RAYON_NUM_THREADS for candle).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
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


def time_biaslab(model_dir: Path, runs: int) -> dict:
    subprocess.run(["cargo", "build", "--release", "--example", "fill_bench"], cwd=REPO, check=True)
    result = subprocess.run(
        [str(REPO / "target" / "release" / "examples" / "fill_bench"), str(model_dir), "--runs", str(runs)],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    import torch
    import transformers

    if args.threads:
        torch.set_num_threads(args.threads)
        os.environ["RAYON_NUM_THREADS"] = str(args.threads)
    model_dir = make_checkpoint(args.shared, args.out)
    torch_side = time_pipeline(model_dir, args.runs)
    rust_side = time_biaslab(model_dir, args.runs)

    print(f"machine: {os.cpu_count()} cores; torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"transformers {transformers.__version__}; checkpoint {model_dir} (bert-base shape, random weights)")
    print(f"{'measure':<34} {'transformers':>14} {'biaslab':>14} {'biaslab/transformers':>22}")
    rows = [
        ("load (s)", "load_s", False),
        ("single sentence, median (ms)", "single_ms_median", False),
        ("64-sentence batch, median (s)", "batch64_s_median", False),
        ("64-sentence batch (sentences/s)", "batch64_sentences_per_s", True),
    ]
    for label, key, higher_is_better in rows:
        ratio = rust_side[key] / torch_side[key]
        note = "higher is better" if higher_is_better else "lower is better"
        print(f"{label:<34} {torch_side[key]:>14.3f} {rust_side[key]:>14.3f} {ratio:>15.2f}x ({note})")


if __name__ == "__main__":
    sys.exit(main())
