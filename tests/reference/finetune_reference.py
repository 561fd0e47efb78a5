#!/usr/bin/env python3
"""PyTorch reference for biaslab's fine-tuning (src/finetune.rs): three AdamW steps on the tiny BERT fixture.

What it does
------------
Loads ``tests/fixtures/bert`` (a random BertForMaskedLM, hidden 16, 2 layers,
vocab 30522) with ``BertForMaskedLM.from_pretrained`` and trains it for three
steps on three fixed, hand-built masked batches, the way transformers'
``Trainer`` would with ``--weight_decay 0.01 --learning_rate 1e-3
--warmup_steps 1 --max_grad_norm 1.0``:

* ``model.train()`` with dropout disabled (``hidden_dropout_prob=0``,
  ``attention_probs_dropout_prob=0``) so that the run is deterministic;
* masked-LM loss = ``BertForMaskedLM``'s own (CrossEntropyLoss over the
  vocabulary, labels -100 outside the masked positions, mean over masked ones);
* ``torch.optim.AdamW(betas=(0.9, 0.999), eps=1e-8)`` over two parameter
  groups as ``Trainer.create_optimizer`` builds them (weight decay 0.01 except
  on biases and LayerNorm weights, only parameters with ``requires_grad``);
* ``get_linear_schedule_with_warmup(num_warmup_steps=1, num_training_steps=3)``
  (so the learning rates of the three steps are 0, 1e-3, 5e-4);
* ``torch.nn.utils.clip_grad_norm_(…, 1.0)`` before each step (the norm before
  clipping is recorded; the script fails unless clipping triggers at least once).

Three runs: ``full`` (every parameter trained), ``frozen`` (``bert.embeddings.*``
frozen, which also freezes the tied decoder weight, and encoder layer 0 frozen),
and ``strong_decay`` (as ``full`` with weight decay 0.3, which makes the test
sensitive to which tensors are decayed).

Each run records the loss of every step (before the step), the gradient norm,
the learning rate, and some parameter tensors after step 3, as plain JSON lists,
into ``tests/fixtures/finetune/expected.json``. ``tests/finetune_parity.rs``
rebuilds the batches and must reproduce them with ``biaslab::finetune::Trainer``.

Run by hand (needs torch + transformers and the shared bert-base-uncased tokenizer):

    /root/refenv/bin/python tests/reference/finetune_reference.py [--shared ../shared]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import AutoTokenizer, BertForMaskedLM, get_linear_schedule_with_warmup  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
MASK_ID = 103

# Three batches of sentences; in each sentence, (position, replacement) pairs: the token at `position` (counting
# [CLS] as 0) is to be predicted and is replaced by `replacement` ("mask" = [MASK], an int = that token id as BERT's
# 10 % random replacement, "keep" = left as it is, BERT's other 10 %).
BATCHES = [
    [
        ("The nurse said that she would be late.", [(2, "mask"), (5, "mask")]),
        ("My doctor is a very kind man.", [(2, "mask"), (7, 2000)]),
        ("He works as an engineer.", [(4, "mask")]),
    ],
    [
        ("The women went to the market to buy bread and milk.", [(1, "mask"), (2, "mask"), (9, "keep"), (11, "mask")]),
        ("Paris is the capital of France.", [(5, "mask")]),
    ],
    [
        ("She is a programmer.", [(4, "mask")]),
        ("The old man sat by the river all afternoon.", [(3, "mask"), (6, 7592), (8, "mask")]),
        ("Children like to play outside.", [(1, "mask"), (4, "mask")]),
        ("We", [(1, "mask")]),
    ],
]

PEAK_LR = 1e-3
TOTAL_STEPS = 3
WARMUP_STEPS = 1
WEIGHT_DECAY = 0.01
# A third run decays strongly, so that decaying a tensor that should not be (or not decaying one that should) moves
# it by far more than the tolerance: at 0.01 that would be ~1e-6 on a weight of size 0.05, within f32 noise.
STRONG_DECAY = 0.3
MAX_GRAD_NORM = 1.0

RECORDED = [
    "bert.encoder.layer.0.attention.self.query.weight",
    "bert.encoder.layer.1.output.LayerNorm.weight",
    "bert.encoder.layer.1.attention.output.dense.bias",
    "cls.predictions.transform.dense.weight",
    "cls.predictions.transform.LayerNorm.bias",
    "bert.embeddings.LayerNorm.weight",
    "bert.embeddings.position_embeddings.weight",
]


def build_batches(tokenizer):
    batches = []
    for sentences in BATCHES:
        encoded = [tokenizer.encode(text) for text, _ in sentences]
        length = max(len(ids) for ids in encoded)
        input_ids, attention_mask, masked = [], [], []
        for row, ((text, choices), ids) in enumerate(zip(sentences, encoded)):
            ids = list(ids)
            for position, replacement in choices:
                assert 0 < position < len(ids) - 1, (text, position, ids)
                masked.append([row, position, ids[position]])
                if replacement == "mask":
                    ids[position] = MASK_ID
                elif replacement != "keep":
                    ids[position] = int(replacement)
            pad = length - len(ids)
            input_ids.append(ids + [tokenizer.pad_token_id] * pad)
            attention_mask.append([1] * len(ids) + [0] * pad)
        batches.append({"sentences": [t for t, _ in sentences], "input_ids": input_ids,
                        "attention_mask": attention_mask, "masked": masked})
    return batches


def tensors_of(batch):
    input_ids = torch.tensor(batch["input_ids"], dtype=torch.long)
    attention_mask = torch.tensor(batch["attention_mask"], dtype=torch.long)
    labels = torch.full_like(input_ids, -100)
    for row, position, label in batch["masked"]:
        labels[row, position] = label
    return input_ids, attention_mask, labels


def optimizer_groups(model, weight_decay):
    """As transformers' Trainer.create_optimizer: no decay on biases and LayerNorm weights; trainable parameters only."""
    # The method uses nothing of the Trainer but the model: called unbound, it gives exactly the Trainer's grouping.
    decay = set(transformers.Trainer.get_decay_parameter_names(None, model))
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    return [
        {"params": [p for n, p in named if n in decay], "weight_decay": weight_decay},
        {"params": [p for n, p in named if n not in decay], "weight_decay": 0.0},
    ], sorted(n for n, _ in named if n not in decay)


def run(fixture: Path, batches, freeze: bool, weight_decay: float):
    model = BertForMaskedLM.from_pretrained(fixture, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
    if freeze:
        for name, p in model.named_parameters():
            if name.startswith("bert.embeddings.") or name.startswith("bert.encoder.layer.0."):
                p.requires_grad_(False)
    model.train()
    groups, no_decay = optimizer_groups(model, weight_decay)
    optimizer = torch.optim.AdamW(groups, lr=PEAK_LR, betas=(0.9, 0.999), eps=1e-8)
    scheduler = get_linear_schedule_with_warmup(optimizer, WARMUP_STEPS, TOTAL_STEPS)
    trained = [p for p in model.parameters() if p.requires_grad]
    steps = []
    for batch in batches:
        input_ids, attention_mask, labels = tensors_of(batch)
        lr = optimizer.param_groups[0]["lr"]
        out = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
        out.loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(trained, MAX_GRAD_NORM)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        steps.append({"loss": out.loss.item(), "grad_norm": norm.item(), "lr": lr})
        print(f"  loss {out.loss.item():.6f}  grad norm {norm.item():.4f}  lr {lr:g}"
              f"{'  (clipped)' if norm.item() > MAX_GRAD_NORM else ''}")
    assert any(s["grad_norm"] > MAX_GRAD_NORM for s in steps), "clipping never triggered"
    state = dict(model.named_parameters())
    token_ids = sorted({i for b in batches for row in b["input_ids"] for i in row})
    params = {name: state[name].detach().tolist() for name in RECORDED}
    params["bert.embeddings.word_embeddings.weight[token_ids]"] = state["bert.embeddings.word_embeddings.weight"][token_ids].detach().tolist()
    params["cls.predictions.bias[token_ids]"] = state["cls.predictions.bias"][token_ids].detach().tolist()
    return {
        "freeze_embeddings": freeze,
        "freeze_layers": 1 if freeze else 0,
        "weight_decay": weight_decay,
        "trained": sorted(n for n, p in model.named_parameters() if p.requires_grad),
        "no_decay": no_decay,
        "steps": steps,
        "token_ids": token_ids,
        "parameters": params,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--out", type=Path, default=REPO / "tests/fixtures/finetune/expected.json")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    tokenizer = AutoTokenizer.from_pretrained(args.shared / "models/bert-base-uncased")
    batches = build_batches(tokenizer)
    fixture = REPO / "tests/fixtures/bert"
    runs = {}
    for name, freeze, weight_decay in [("full", False, WEIGHT_DECAY), ("frozen", True, WEIGHT_DECAY),
                                       ("strong_decay", False, STRONG_DECAY)]:
        print(name)
        runs[name] = run(fixture, batches, freeze, weight_decay)
    expected = {
        "generator": "tests/reference/finetune_reference.py",
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "model": "tests/fixtures/bert",
        "learning_rate": PEAK_LR,
        "total_steps": TOTAL_STEPS,
        "warmup_steps": WARMUP_STEPS,
        "weight_decay": WEIGHT_DECAY,
        "max_grad_norm": MAX_GRAD_NORM,
        "batches": batches,
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(expected, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
