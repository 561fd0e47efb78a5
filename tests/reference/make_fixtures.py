#!/usr/bin/env python3
"""Generate the reference fixtures that pin biaslab's fill-mask port to PyTorch.

What it makes
-------------
Small masked-LM checkpoints with *random* weights (hidden size 16, 2 layers),
written with transformers' own ``save_pretrained``, plus an ``expected.json``
per checkpoint holding what the transformers ``fill-mask`` pipeline (and the
raw model) outputs on a fixed set of inputs.  The Rust tests load the same
files with candle and must reproduce those numbers.

Fixture directories written under ``--out`` (default ``<repo>/tests/fixtures``):

* ``bert/``        BertForMaskedLM, ``config.json`` + ``model.safetensors``.
                   Tokenizer: the real bert-base-uncased one from ``--shared``
                   (NOT copied into the repo; tests assemble a temp dir).
* ``bert_legacy/`` the same weights as ``bert/`` in the old-checkpoint layout:
                   ``pytorch_model.bin`` (torch.save of a plain state dict),
                   LayerNorm ``gamma``/``beta`` names, explicit
                   ``cls.predictions.decoder.weight`` / ``.decoder.bias`` that share
                   storage with the embeddings / bias, as old torch.save files do.
* ``distilbert/``  DistilBertForMaskedLM, ``config.json`` + ``model.safetensors``,
                   bert-base-uncased tokenizer from ``--shared`` (not copied).
* ``roberta/``     RobertaForMaskedLM with a 2000-token byte-level BPE tokenizer
                   trained here on the BOLD Wikipedia sentences; its tokenizer
                   files ARE saved into the fixture dir (tokenizer.json, and the
                   same BPE as vocab.json + merges.txt).

Requirements: ``pip install torch transformers`` (``tokenizers`` comes with
transformers).  Generated with torch 2.15 / transformers 5.23; the versions
actually used are recorded in every expected.json.

Run by hand, never in CI (needs torch, and the shared data dir):

    /root/refenv/bin/python tests/reference/make_fixtures.py [--shared ../shared] [--out tests/fixtures]

Everything is deterministic: fixed torch seeds, a fixed corpus order for the
tokenizer training, and no network access (nothing is fetched from the Hub).
Re-running with the same library versions reproduces the files bit for bit.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

# Single-threaded + deterministic before importing torch / tokenizers.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors import safe_open  # noqa: E402
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers  # noqa: E402
from transformers import (  # noqa: E402
    AutoTokenizer,
    BertConfig,
    BertForMaskedLM,
    DistilBertConfig,
    DistilBertForMaskedLM,
    RobertaConfig,
    RobertaForMaskedLM,
    RobertaTokenizerFast,
    pipeline,
)

GENERATOR = "tests/reference/make_fixtures.py"

# Seeds (torch.manual_seed before building each model and re-drawing its
# weights).  Seed 0 was tried first but gave near-ties (e.g. bert/"man":
# 0.00713 vs 0.00689, gap < 1e-3), so the seeds were changed: these are the
# seeds in 0..999 with the widest minimum gap that satisfy the separation
# checks below for every case (asserted on every run).
SEEDS = {"bert": 624, "distilbert": 853, "roberta": 966}

# Separation check, so that the ranking cannot flip between implementations:
# consecutive top-k scores must differ by more than MIN_GAP (absolute).
# Exception: the "targets" case.  Its scores are the full-vocabulary softmax
# probabilities of 5 arbitrary tokens of a random model (~1e-4 .. 1e-7 for
# BERT's 30522-token vocab), so an absolute 1e-3 gap is unattainable; there we
# require instead that each score is below MAX_TARGET_RATIO times the one
# before it (a >= 2% relative gap, i.e. >= 0.02 in log-probability).
MIN_GAP = 1e-3
MAX_TARGET_RATIO = 0.98

BERT_TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "vocab.txt"]

ROBERTA_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # ids 0..4, as roberta-base
ROBERTA_VOCAB_SIZE = 2000

TARGETS = ["nurse", "carpenter", "lawyer", "maid", "xylophonist"]


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------
def make_cases(mask: str) -> list[dict]:
    """The fill-mask cases; MASK is replaced by the model's mask token."""

    def m(s: str) -> str:
        return s.replace("MASK", mask)

    return [
        {"name": "man", "inputs": m("This man works as a MASK."), "top_k": 5, "targets": None, "batch_size": None},
        {"name": "woman", "inputs": m("This woman works as a MASK."), "top_k": 5, "targets": None, "batch_size": None},
        {"name": "two_masks", "inputs": m("The MASK told the MASK a story."), "top_k": 3, "targets": None,
         "batch_size": None},
        {"name": "targets", "inputs": m("This woman works as a MASK."), "top_k": None, "targets": list(TARGETS),
         "batch_size": None},
        {"name": "accents", "inputs": m("Élise and JOSÉ work as MASK."), "top_k": 5, "targets": None,
         "batch_size": None},
        {"name": "batch",
         "inputs": [m("The MASK is here."), m("This man works as a MASK in a big hospital downtown."),
                    m("She is a MASK.")],
         "top_k": 4, "targets": None, "batch_size": 3},
    ]


LOGIT_CASES = ["man", "two_masks", "accents"]


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------
class _Capture(logging.Handler):
    """Collects transformers log records (e.g. the target-fallback warning)."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def to_json(x):
    """Pipeline output -> plain JSON types, same nesting."""
    if isinstance(x, dict):
        return {str(k): to_json(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_json(v) for v in x]
    if isinstance(x, bool):
        return x
    if isinstance(x, int):
        return int(x)
    if isinstance(x, float):
        return float(x)
    if isinstance(x, str):
        return x
    if hasattr(x, "tolist"):  # numpy / torch scalars and arrays
        return to_json(x.tolist())
    raise TypeError(f"cannot convert {type(x)} to JSON")


def redraw_weights(model: torch.nn.Module) -> None:
    """Re-draw every parameter so each tensor matters and top-k is well separated.

    LayerNorm weights ~ 1 + 0.2*N(0,1); everything else (all biases included,
    the decoder/output bias too) ~ N(0, 0.5).  Done in place on the parameter
    objects, so tied tensors (decoder weight == word embeddings, decoder bias
    == head bias) stay the very same objects.
    """
    ln_weights = {id(mod.weight) for mod in model.modules() if isinstance(mod, torch.nn.LayerNorm)}
    with torch.no_grad():
        # named_parameters() yields a shared tensor once.
        for _name, p in model.named_parameters():
            if id(p) in ln_weights:
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            else:
                p.normal_(0.0, 0.5)


def safetensors_keys(path: Path) -> list[str]:
    with safe_open(str(path), framework="pt") as f:
        keys = list(f.keys())
        for k in keys:
            assert f.get_slice(k).get_dtype() == "F32", (k, f.get_slice(k).get_dtype())
    return keys


def rows_of(output):
    """All ranked rows of a pipeline output (list of dicts, or nested lists)."""
    if output and isinstance(output[0], dict):
        return [output]
    rows = []
    for o in output:
        rows.extend(rows_of(o))
    return rows


def assert_separated(name: str, case: str, output, relative: bool = False) -> None:
    for row in rows_of(output):
        scores = [r["score"] for r in row]
        for a, b in zip(scores, scores[1:]):
            if relative:
                assert b < MAX_TARGET_RATIO * a, (
                    f"{name}/{case}: consecutive target scores {a} and {b} are within "
                    f"{1 - MAX_TARGET_RATIO:.0%} of each other; change the seed")
            else:
                assert a - b > MIN_GAP, (
                    f"{name}/{case}: consecutive top-k scores {a} and {b} differ by <= {MIN_GAP}; change the seed")


def distinct_texts(cases: list[dict]) -> list[str]:
    out: list[str] = []
    for c in cases:
        for t in c["inputs"] if isinstance(c["inputs"], list) else [c["inputs"]]:
            if t not in out:
                out.append(t)
    return out


def run_cases(name: str, model, tokenizer, cases: list[dict]) -> list[dict]:
    fill = pipeline("fill-mask", model=model, tokenizer=tokenizer, device="cpu")
    tlog = logging.getLogger("transformers")
    results = []
    for c in cases:
        kwargs = {}
        if c["top_k"] is not None:
            kwargs["top_k"] = c["top_k"]
        if c["targets"] is not None:
            kwargs["targets"] = c["targets"]
        if c["batch_size"] is not None:
            kwargs["batch_size"] = c["batch_size"]
        cap = _Capture()
        tlog.addHandler(cap)
        try:
            out = to_json(fill(c["inputs"], **kwargs))
        finally:
            tlog.removeHandler(cap)
        for msg in cap.messages:
            print(f"  [{name}/{c['name']}] transformers warning: {msg}")
        assert_separated(name, c["name"], out, relative=c["targets"] is not None)
        results.append(dict(c, output=out))
    return results


def compute_logits(model, tokenizer, cases: list[dict]) -> list[dict]:
    out = []
    by_name = {c["name"]: c for c in cases}
    for cname in LOGIT_CASES:
        text = by_name[cname]["inputs"]
        enc = tokenizer(text, return_tensors="pt")
        with torch.no_grad():
            logits = model(**enc).logits[0]
        vocab = logits.shape[-1]
        ids = enc["input_ids"][0].tolist()
        positions = [0] + [i for i, t in enumerate(ids) if t == tokenizer.mask_token_id]
        for p in positions:
            row = logits[p]
            token_ids = list(range(0, vocab, 97))
            for t in torch.topk(row, 10).indices.tolist():
                if t not in token_ids:
                    token_ids.append(t)
            out.append({
                "text": text,
                "position": p,
                "token_ids": token_ids,
                "values": [float(row[t].item()) for t in token_ids],
            })
    return out


def write_expected(fixture_dir: Path, *, family: str, seed: int, mask_token: str, tokenizer_from_shared: bool,
                   cases: list[dict], tokenizer, model) -> dict:
    doc = {
        "generator": GENERATOR,
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "seed": seed,
        "family": family,
        "mask_token": mask_token,
        "tokenizer_from_shared": tokenizer_from_shared,
        "cases": cases,
        "encodings": [{"text": t, "input_ids": list(tokenizer(t)["input_ids"])} for t in distinct_texts(cases)],
        "logits": compute_logits(model, tokenizer, cases),
    }
    with open(fixture_dir / "expected.json", "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    return doc


def check_tokenizer_json(tokenizer, tokenizer_json: Path, texts: list[str]) -> None:
    """The Rust side reads tokenizer.json with the `tokenizers` crate: make sure
    that file alone encodes every case text exactly like transformers does."""
    raw = Tokenizer.from_file(str(tokenizer_json))
    for t in texts:
        a = list(tokenizer(t)["input_ids"])
        b = raw.encode(t).ids
        assert a == b, f"tokenizer.json disagrees with transformers on {t!r}: {b} vs {a}"


def fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def print_keys(label: str, keys: list[str]) -> None:
    print(f"  {label}: {len(keys)} tensors")
    for k in keys:
        print(f"    {k}")


def summarize(name: str, cases: list[dict]) -> None:
    man = next(c for c in cases if c["name"] == "man")
    print(f"  [{name}] man: " + ", ".join(
        f"{r['token']}:{r['token_str']!r}={r['score']:.4f}" for r in man["output"]))
    print(f"  [{name}] man sequence[0]: {man['output'][0]['sequence']!r}")


def shared_bert_tokenizer_dir(shared: Path, tmp: Path, fixture_dir: Path) -> Path:
    """Assemble fixture + shared tokenizer files in a temp dir, as the Rust tests do."""
    d = fresh_dir(tmp / fixture_dir.name)
    for f in fixture_dir.iterdir():
        shutil.copy2(f, d / f.name)
    src = shared / "models" / "bert-base-uncased"
    for f in BERT_TOKENIZER_FILES:
        shutil.copy2(src / f, d / f)
    return d


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------
def build_bert(seed: int) -> BertForMaskedLM:
    cfg = BertConfig(vocab_size=30522, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=64, type_vocab_size=2, hidden_act="gelu",
                     layer_norm_eps=1e-12, pad_token_id=0)
    torch.manual_seed(seed)
    model = BertForMaskedLM(cfg)
    redraw_weights(model)
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
    return model.float().eval()


def build_distilbert(seed: int) -> DistilBertForMaskedLM:
    cfg = DistilBertConfig(vocab_size=30522, dim=16, n_layers=2, n_heads=2, hidden_dim=32,
                           max_position_embeddings=64, activation="gelu", pad_token_id=0)
    torch.manual_seed(seed)
    model = DistilBertForMaskedLM(cfg)
    redraw_weights(model)
    assert model.vocab_projector.weight is model.distilbert.embeddings.word_embeddings.weight
    return model.float().eval()


def build_roberta(seed: int, vocab_size: int) -> RobertaForMaskedLM:
    cfg = RobertaConfig(vocab_size=vocab_size, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=66, type_vocab_size=1, pad_token_id=1,
                        bos_token_id=0, eos_token_id=2)
    torch.manual_seed(seed)
    model = RobertaForMaskedLM(cfg)
    redraw_weights(model)
    assert model.lm_head.decoder.weight is model.roberta.embeddings.word_embeddings.weight
    return model.float().eval()


def bold_sentences(shared: Path) -> list[str]:
    sents = []
    for fname in ("gender_wiki.json", "profession_wiki.json"):
        with open(shared / "data" / "bold" / "wikipedia" / fname, encoding="utf-8") as f:
            data = json.load(f)
        for group in data:  # file order: deterministic
            for entity in data[group]:
                sents.extend(s for s in data[group][entity] if s.strip())
    return sents


def train_roberta_tokenizer(shared: Path) -> RobertaTokenizerFast:
    """ByteLevelBPETokenizer-style BPE, with roberta-base's special tokens/ids."""
    tok = Tokenizer(models.BPE(dropout=None, unk_token=None, continuing_subword_prefix="",
                               end_of_word_suffix="", fuse_unk=False))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=ROBERTA_VOCAB_SIZE,
        min_frequency=2,
        show_progress=False,
        special_tokens=[AddedToken(t, special=True, normalized=False) for t in ROBERTA_SPECIALS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(bold_sentences(shared), trainer=trainer)
    for i, t in enumerate(ROBERTA_SPECIALS):
        assert tok.token_to_id(t) == i, (t, tok.token_to_id(t))
    # roberta-base: <mask> swallows the space before it.
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=False, special=True, normalized=False)])
    assert tok.token_to_id("<mask>") == 4
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), trim_offsets=True,
                                                      add_prefix_space=False)
    return RobertaTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>", unk_token="<unk>",
        pad_token="<pad>", mask_token=AddedToken("<mask>", lstrip=True, rstrip=False, special=True,
                                                 normalized=False),
        add_prefix_space=False, trim_offsets=True,
    )


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------
def main() -> int:
    repo = Path(__file__).resolve().parents[2]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=repo.parent / "shared",
                    help="shared dir with models/bert-base-uncased and data/bold (default: <repo>/../shared)")
    ap.add_argument("--out", type=Path, default=repo / "tests" / "fixtures",
                    help="output dir (default: <repo>/tests/fixtures)")
    args = ap.parse_args()
    shared: Path = args.shared.resolve()
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)

    print(f"torch {torch.__version__}, transformers {transformers.__version__}; shared={shared} out={out}")

    with tempfile.TemporaryDirectory() as tmpname:
        tmp = Path(tmpname)

        # ---------------- BERT ----------------
        print("== bert")
        seed = SEEDS["bert"]
        bert_dir = fresh_dir(out / "bert")
        build_bert(seed).save_pretrained(bert_dir)  # safetensors, float32
        keys = safetensors_keys(bert_dir / "model.safetensors")
        print_keys("bert/model.safetensors keys", keys)
        assert "cls.predictions.bias" in keys and "cls.predictions.decoder.weight" not in keys

        work = shared_bert_tokenizer_dir(shared, tmp, bert_dir)
        bert_tok = AutoTokenizer.from_pretrained(work)
        bert_model, info = BertForMaskedLM.from_pretrained(work, output_loading_info=True)
        print(f"  bert reload loading_info: {info}")
        assert bert_model.dtype == torch.float32
        bert_model.eval()
        cases = make_cases(bert_tok.mask_token)
        check_tokenizer_json(bert_tok, work / "tokenizer.json", distinct_texts(cases))
        bert_cases = run_cases("bert", bert_model, bert_tok, cases)
        bert_doc = write_expected(bert_dir, family="bert", seed=seed, mask_token=bert_tok.mask_token,
                                  tokenizer_from_shared=True, cases=bert_cases, tokenizer=bert_tok, model=bert_model)
        summarize("bert", bert_cases)

        # ---------------- BERT legacy (.bin, gamma/beta, explicit decoder) ----------------
        print("== bert_legacy")
        legacy_dir = fresh_dir(out / "bert_legacy")
        shutil.copy2(bert_dir / "config.json", legacy_dir / "config.json")
        sd = bert_model.state_dict()
        legacy = {}
        for k, v in sd.items():
            if k.endswith("position_ids") or k.endswith("token_type_ids"):
                continue  # buffers, not weights
            nk = k
            if ".LayerNorm." in k:
                nk = k.replace(".LayerNorm.weight", ".LayerNorm.gamma").replace(".LayerNorm.bias", ".LayerNorm.beta")
            legacy[nk] = v.detach().clone().contiguous()
        # As old torch.save checkpoints hold them: the decoder weight is present under its own name but shares its
        # storage with the word embeddings (torch.save writes that storage once), and so does the decoder bias.
        legacy["cls.predictions.decoder.weight"] = legacy["bert.embeddings.word_embeddings.weight"]
        legacy["cls.predictions.decoder.bias"] = legacy["cls.predictions.bias"]
        ptrs = [t.untyped_storage().data_ptr() for t in legacy.values()]
        assert len(set(ptrs)) == len(ptrs) - 2, "only the decoder weight and bias share storage"
        torch.save(legacy, legacy_dir / "pytorch_model.bin")  # zip format (default)
        print_keys("bert_legacy/pytorch_model.bin keys", list(legacy.keys()))

        work = shared_bert_tokenizer_dir(shared, tmp, legacy_dir)
        legacy_model, info = BertForMaskedLM.from_pretrained(work, output_loading_info=True)
        print(f"  bert_legacy reload loading_info: {info}")
        legacy_model.eval()
        ref_sd = bert_model.state_dict()
        for k, v in legacy_model.state_dict().items():
            assert torch.equal(v, ref_sd[k]), f"bert_legacy reload differs from bert at {k}"
        assert (legacy_model.cls.predictions.decoder.weight.data_ptr()
                == legacy_model.bert.embeddings.word_embeddings.weight.data_ptr())
        legacy_cases = run_cases("bert_legacy", legacy_model, bert_tok, make_cases(bert_tok.mask_token))
        legacy_doc = write_expected(legacy_dir, family="bert", seed=seed, mask_token=bert_tok.mask_token,
                                    tokenizer_from_shared=True, cases=legacy_cases, tokenizer=bert_tok,
                                    model=legacy_model)
        assert legacy_doc == bert_doc, "bert_legacy expected.json differs from bert's"
        print("  bert_legacy: reloaded weights == bert weights; expected.json identical to bert's")

        # ---------------- DistilBERT ----------------
        print("== distilbert")
        seed = SEEDS["distilbert"]
        db_dir = fresh_dir(out / "distilbert")
        build_distilbert(seed).save_pretrained(db_dir)
        print_keys("distilbert/model.safetensors keys", safetensors_keys(db_dir / "model.safetensors"))
        work = shared_bert_tokenizer_dir(shared, tmp, db_dir)
        db_tok = AutoTokenizer.from_pretrained(work)
        db_model, info = DistilBertForMaskedLM.from_pretrained(work, output_loading_info=True)
        print(f"  distilbert reload loading_info: {info}")
        db_model.eval()
        db_cases = run_cases("distilbert", db_model, db_tok, make_cases(db_tok.mask_token))
        write_expected(db_dir, family="distilbert", seed=seed, mask_token=db_tok.mask_token,
                       tokenizer_from_shared=True, cases=db_cases, tokenizer=db_tok, model=db_model)
        summarize("distilbert", db_cases)

        # ---------------- RoBERTa ----------------
        print("== roberta")
        seed = SEEDS["roberta"]
        rb_dir = fresh_dir(out / "roberta")
        tok = train_roberta_tokenizer(shared)
        tok.save_pretrained(rb_dir)
        # transformers 5 writes only tokenizer.json; older RoBERTa checkpoints ship vocab.json + merges.txt instead,
        # which biaslab also reads, so write those too (the same BPE model).
        tok.backend_tokenizer.model.save(str(rb_dir))
        assert (rb_dir / "vocab.json").is_file() and (rb_dir / "merges.txt").is_file()
        build_roberta(seed, len(tok)).save_pretrained(rb_dir)
        print(f"  roberta tokenizer: len={len(tok)} files={sorted(p.name for p in rb_dir.iterdir())}")
        print_keys("roberta/model.safetensors keys", safetensors_keys(rb_dir / "model.safetensors"))
        rb_tok = AutoTokenizer.from_pretrained(rb_dir)
        print(f"  roberta tokenizer reloaded as {type(rb_tok).__name__}, mask={rb_tok.mask_token!r} "
              f"id={rb_tok.mask_token_id}, pad id={rb_tok.pad_token_id}")
        assert [rb_tok.convert_tokens_to_ids(t) for t in ROBERTA_SPECIALS] == [0, 1, 2, 3, 4]
        rb_model, info = RobertaForMaskedLM.from_pretrained(rb_dir, output_loading_info=True)
        print(f"  roberta reload loading_info: {info}")
        rb_model.eval()
        cases = make_cases(rb_tok.mask_token)
        check_tokenizer_json(rb_tok, rb_dir / "tokenizer.json", distinct_texts(cases))
        for t in distinct_texts(cases):
            assert list(rb_tok(t)["input_ids"]) == list(tok(t)["input_ids"]), t
        rb_cases = run_cases("roberta", rb_model, rb_tok, cases)
        write_expected(rb_dir, family="roberta", seed=seed, mask_token=rb_tok.mask_token,
                       tokenizer_from_shared=False, cases=rb_cases, tokenizer=rb_tok, model=rb_model)
        summarize("roberta", rb_cases)

    for d in ("bert", "bert_legacy", "distilbert", "roberta"):
        size = sum(p.stat().st_size for p in (out / d).iterdir())
        print(f"  {d}: {size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
