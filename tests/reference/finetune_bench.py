#!/usr/bin/env python3
"""Times one fine-tuning step with PyTorch, as examples/finetune_bench.rs does with biaslab.

A BertForMaskedLM with bert-base-uncased's config and random weights (transformers' own init; no
real weights are needed), batch 8 x 32 tokens, BERT masking of 15 % of the inner tokens (80 % [MASK],
10 % random, 10 % kept), every parameter trained, AdamW grouped as transformers' Trainer does it
(weight decay 0.01, not on biases and LayerNorm), lr 5e-5 with get_linear_schedule_with_warmup,
clip_grad_norm_(1.0), model.train() with the config's dropout (0.1), torch.set_num_threads(2).
Two warm-up steps, then N timed steps (forward, backward, clipping, optimizer and scheduler step).

    /root/refenv/bin/python tests/reference/finetune_bench.py [CONFIG_JSON] [--steps 10] [--warmup 2]

Prints one JSON object with the median and mean seconds per step.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import BertConfig, BertForMaskedLM, get_linear_schedule_with_warmup  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
BATCH, LEN, MASK_PROBABILITY = 8, 32, 0.15
CLS, SEP, MASK = 101, 102, 103


def random_batch(vocab: int, generator: torch.Generator):
    ids = torch.randint(1000, vocab, (BATCH, LEN), generator=generator)
    ids[:, 0], ids[:, -1] = CLS, SEP
    chosen = torch.rand((BATCH, LEN), generator=generator) < MASK_PROBABILITY
    chosen[:, 0] = chosen[:, -1] = False
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    roll = torch.rand((BATCH, LEN), generator=generator)
    inputs = ids.clone()
    inputs[chosen & (roll < 0.8)] = MASK
    random_ones = chosen & (roll >= 0.8) & (roll < 0.9)
    inputs[random_ones] = torch.randint(0, vocab, (int(random_ones.sum()),), generator=generator)
    return inputs, torch.ones_like(inputs), labels


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("config", nargs="?", type=Path,
                        default=REPO.parent / "shared/models/bert-base-uncased/config.json")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)

    start = time.perf_counter()
    config = BertConfig.from_json_file(args.config)
    model = BertForMaskedLM(config)
    model.train()
    decay = set(transformers.Trainer.get_decay_parameter_names(None, model))
    named = list(model.named_parameters())
    optimizer = torch.optim.AdamW(
        [{"params": [p for n, p in named if n in decay], "weight_decay": 0.01},
         {"params": [p for n, p in named if n not in decay], "weight_decay": 0.0}],
        lr=5e-5, betas=(0.9, 0.999), eps=1e-8)
    total = args.warmup + args.steps
    scheduler = get_linear_schedule_with_warmup(optimizer, 1, total)
    init_s = time.perf_counter() - start

    times, losses = [], []
    for step in range(total):
        input_ids, attention_mask, labels = random_batch(config.vocab_size, generator)
        start = time.perf_counter()
        loss = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        seconds = time.perf_counter() - start
        print(f"step {step + 1}: {seconds:.3f} s, loss {loss.item():.3f}", file=sys.stderr)
        losses.append(loss.item())
        if step >= args.warmup:
            times.append(seconds)
    print(json.dumps({
        "framework": f"PyTorch {torch.__version__} / transformers {transformers.__version__}",
        "threads": torch.get_num_threads(),
        "batch": BATCH,
        "len": LEN,
        "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "init_s": init_s,
        "warmup_steps": args.warmup,
        "timed_steps": len(times),
        "median_s_per_step": statistics.median(times),
        "mean_s_per_step": statistics.fmean(times),
        "step_s": times,
        "losses": losses,
    }))


if __name__ == "__main__":
    main()
