#!/usr/bin/env python3
"""Run the OFFICIAL evaluation code of CrowS-Pairs, StereoSet (intrasentence) and SEAT/WEAT on local models,
and write the numbers biaslab's Rust ports must reproduce (``tests/fixtures/suites/expected.json``).

What it runs
------------
The official code is imported and called as it is; this script only builds its inputs and reads its outputs.

* CrowS-Pairs (Nangia et al. 2020), nyu-mll/crows-pairs ``metric.py``: the whole script runs (importing it runs
  ``evaluate(args)``; ``sys.argv`` is set to ``--input_file <subset.csv> --lm_model bert --output_file <out.csv>``)
  on a CSV holding the selected rows of the shared ``crows_pairs_anonymized.csv`` verbatim. Its printed summary and
  its per-pair output CSV are parsed. The unrounded per-pair sums come from calling the module's own
  ``read_data`` + ``mask_unigram(data, lm)`` with the same ``lm`` dict ``evaluate`` builds.
  Per-bias-type scores are not printed by metric.py: they are derived from its per-pair output CSV with the
  formula of its overall "Metric score" (sum of the ``score`` column / pairs of that type * 100, rounded to 2).
* AUL and AULA (Kaneko & Bollegala 2022), kanekomasahiro/evaluate_bias_in_mlm: its ``preprocess.py`` turns the
  same CrowS-Pairs rows into its ``data/paralled_cp.json``, its ``evaluate.py`` ``main(args)`` runs with ``--data cp
  --model <the fixture directory> --method aul`` (then ``aula``) and its printed summary is parsed; its own
  ``load_tokenizer_and_model`` and ``calculate_aul`` give each sentence's unrounded score. Nothing is patched.
* StereoSet intrasentence (Nadeem et al. 2021), moinnadeem/StereoSet ``code/``:
  ``eval_discriminative_models.BiasEvaluator(...).evaluate()`` (intrasentence only, batch size 1 = the script's
  default, which uses ``dataloader.IntrasentenceLoader``) and then ``evaluation.ScoreEvaluator`` on a
  dev.json-format file written here from the selected rows of the shared flat ``stereoset_dev_flat.jsonl``.
* SEAT/WEAT (May et al. 2019), W4ngatang/sent-bias ``sentbias/weat.py``: ``run_test(encs, n_samples)`` on
  MiniLM encodings of the official test files (``tests/<name>.jsonl``), non-parametric test, after
  ``np.random.seed(SEED)`` (sent-bias's ``main.py`` seeds once with its default 1111 then runs the tests in order;
  here the seed is re-set before each test so that each test stands alone).

Models
------
* masked LM: ``tests/fixtures/bert`` (BertForMaskedLM, random weights, 64 positions) + the real bert-base-uncased
  tokenizer from ``--shared`` (assembled into a temporary directory, as ``tests/common/mod.rs`` does). Random
  weights are fine: the point is the parity of numbers. Only sentences that fit in 64 tokens are used.
* encoder: ``<shared>/models/all-MiniLM-L6-v2`` (transformers ``AutoModel``), mean pooling of the last hidden
  states over the attention mask (sentence-transformers' Pooling config of that model), one text per forward
  pass (as sent-bias's encoders do), no normalisation (cosines do not depend on it).

What is patched (only what is needed to run offline, with current library versions, on a local model)
------------------------------------------------------------------------------------------------------
1. Model names -> local directory: ``transformers.BertTokenizer.from_pretrained`` and
   ``transformers.BertForMaskedLM.from_pretrained`` are wrapped so that the name ``bert-base-uncased``
   (hard-coded in metric.py) loads the local fixture directory; StereoSet's ``BiasEvaluator`` is simply given the
   local directory as ``pretrained_class`` (its constructor passes it to ``from_pretrained``).
2. pandas >= 2 has no ``DataFrame.append`` (metric.py uses it): a shim doing ``pd.concat`` with one row.
3. transformers 5 tokenizers have no ``encode_plus`` (StereoSet's loader uses it): a shim calling
   ``tokenizer(text, text_pair, ...)`` with the same arguments (``pad_to_max_length=True`` -> ``padding=
   "max_length"``; it is False here anyway).
4. numpy >= 1.24 has no ``np.int`` (weat.py uses it): ``np.int = int``.
5. StereoSet's ``eval_discriminative_models`` imports ``colorama``, ``joblib`` and ``intersentence_loader`` (which
   imports scikit-learn) at module level; only colour codes are used from colorama and the others only for the
   intersentence task, which is skipped: they are replaced by stub modules in ``sys.modules``. Its
   ``evaluate_intrasentence`` reads the global ``args.input_file`` (a bug of the script: it is only set under
   ``__main__``), so ``module.args`` is set to a Namespace holding the dev.json path.
6. StereoSet's ``dev.json`` is not available here (over 4 MiB); the flat jsonl has no ids nor annotator labels.
   The dev.json written here gives example ids ``L<line>`` (1-based line of the jsonl), sentence ids
   ``L<line>-<gold_label>``, and one label per sentence (= its gold label; labels are not used by the scores).
Nothing else is changed; no function body of the official code is edited.

Run by hand, never in CI (needs torch + transformers, the official code and the shared data)::

    /root/refenv/bin/python tests/reference/suites_reference.py --official /tmp/official \\
        --shared /work/shared --out tests/fixtures/suites

``--official DIR`` must hold ``evaluate_bias_in_mlm/{evaluate,preprocess}.py``, ``crows-pairs/metric.py``, ``stereoset/code/{dataloader,eval_discriminative_models,
evaluation}.py`` + ``stereoset/code/models/``, ``sent-bias/sentbias/weat.py`` and ``sent-bias/tests/*.jsonl``
(``git show HEAD:<path>`` from the repositories; commits in ``--commits`` are recorded, see the README).
Deterministic: fixed seeds, single thread, no network. ``--only aul`` (say) computes one section and keeps the
others of an existing ``expected.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import importlib.util
import io
import json
import math
import os
import re
import shutil
import sys
import tempfile
import types
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402

torch.set_num_threads(1)

GENERATOR = "tests/reference/suites_reference.py"
MAX_TOKENS = 64  # positions of the fixture model
CROWS_PAIRS = 60
STEREOSET_PER_DOMAIN = 30
SEAT_TESTS = ["weat6", "sent-weat6", "weat7", "sent-weat7", "weat8", "sent-weat8"]
SEAT_SEED = 1111  # sent-bias main.py's default --seed
SEAT_SAMPLES = 100000  # sent-bias main.py's default --n_samples
EMBEDDING_TEXTS = ["This is John.", "Math is hard.", "The nurse was very caring."]


def load_module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------------------------- patches


def patch_libraries(model_dir: Path) -> None:
    """Patches 1-4 of the header."""

    def redirect(cls):
        original = cls.from_pretrained.__func__

        def from_pretrained(klass, name, *args, **kwargs):
            if name == "bert-base-uncased":
                name = str(model_dir)
            return original(klass, name, *args, **kwargs)

        cls.from_pretrained = classmethod(from_pretrained)

    redirect(transformers.BertTokenizer)
    redirect(transformers.BertForMaskedLM)

    if not hasattr(pd.DataFrame, "append"):

        def append(self, row, ignore_index=False):
            new = pd.DataFrame([row], columns=self.columns if len(self.columns) else None)
            return new if self.empty else pd.concat([self, new], ignore_index=ignore_index)

        pd.DataFrame.append = append

    base = transformers.PreTrainedTokenizerBase
    if not hasattr(base, "encode_plus"):

        def encode_plus(self, text, text_pair=None, pad_to_max_length=False, **kwargs):
            if pad_to_max_length:
                kwargs["padding"] = "max_length"
            if kwargs.get("max_length") is not None:
                kwargs.setdefault("truncation", True)
            return self(text, text_pair, **kwargs)

        base.encode_plus = encode_plus

    if not hasattr(np, "int"):
        np.int = int


def stub_stereoset_imports(code_dir: Path) -> None:
    """Patch 5 of the header."""
    colorama = types.ModuleType("colorama")

    class Codes:
        def __getattr__(self, name):
            return ""

    colorama.Fore, colorama.Style, colorama.init = Codes(), Codes(), lambda *a, **k: None
    joblib = types.ModuleType("joblib")
    joblib.Parallel = joblib.delayed = None
    inter = types.ModuleType("intersentence_loader")
    inter.IntersentenceDataset = None
    sys.modules.update({"colorama": colorama, "joblib": joblib, "intersentence_loader": inter})
    sys.path.insert(0, str(code_dir))


# ---------------------------------------------------------------------------------------------- helpers


def assemble_model_dir(repo: Path, shared: Path, into: Path) -> Path:
    fixture = repo / "tests/fixtures/bert"
    for name in ["config.json", "model.safetensors"]:
        shutil.copy(fixture / name, into / name)
    for name in ["tokenizer.json", "vocab.txt", "tokenizer_config.json"]:
        shutil.copy(shared / "models/bert-base-uncased" / name, into / name)
    return into


def round_boundary_distance(x: float, digits: int = 3) -> float:
    """How far x is from the nearest point where round(x, digits) changes."""
    scale = 10**digits
    frac = abs(x * scale) % 1.0
    return abs(frac - 0.5) / scale


# ---------------------------------------------------------------------------------------------- CrowS-Pairs


def crows_subset(shared: Path, tokenizer, work: Path):
    """The first CROWS_PAIRS rows whose sentences, lower-cased, fit the fixture: written verbatim to a CSV."""
    source = shared / "data/crows-pairs/crows_pairs_anonymized.csv"
    with open(source, newline="") as f:
        reader = csv.DictReader(f)
        fieldnames = reader.fieldnames
        rows = list(reader)
    chosen, skipped = [], []
    for position, row in enumerate(rows):
        if len(chosen) == CROWS_PAIRS:
            break
        lengths = [len(tokenizer.encode(row[k].lower())) for k in ("sent_more", "sent_less")]
        if max(lengths) <= MAX_TOKENS:
            chosen.append(position)
        else:
            skipped.append({"row": position, "tokens": lengths})
    subset = work / "crows_subset.csv"
    with open(subset, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fieldnames)
        writer.writeheader()
        for position in chosen:
            writer.writerow(rows[position])
    return rows, chosen, skipped, subset


def run_crows_pairs(official: Path, shared: Path, tokenizer, work: Path) -> dict:
    rows, chosen, skipped, subset = crows_subset(shared, tokenizer, work)
    out_csv = work / "crows_out.csv"
    argv, cwd = sys.argv, os.getcwd()
    sys.argv = ["metric.py", "--input_file", str(subset), "--lm_model", "bert", "--output_file", str(out_csv)]
    os.chdir(work)  # metric.py writes bert.vocab into the working directory
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            metric = load_module("crows_metric", official / "crows-pairs/metric.py")
    finally:
        sys.argv = argv
        os.chdir(cwd)
    text = printed.getvalue().replace(str(work), "<tmp>")
    print(text, file=sys.stderr)

    def number(label):
        m = re.search(re.escape(label) + r":?\s+(-?[0-9.]+)(?:\s+(-?[0-9.]+))?", text)
        return None if m is None else [float(g) for g in m.groups() if g is not None]

    summary = {
        "total": int(number("Total examples")[0]),
        "metric_score": number("Metric score")[0],
        "stereotype_score": number("Stereotype score")[0],
        "anti_stereotype_score": (number("Anti-stereotype score") or [None])[0],
        "neutral": int(number("Num. neutral")[0]),
        "neutral_percent": number("Num. neutral")[1],
    }
    scored = pd.read_csv(out_csv)

    # Unrounded sums: the module's own mask_unigram with the lm dict evaluate() builds.
    model = transformers.BertForMaskedLM.from_pretrained("bert-base-uncased")
    model.eval()
    tok = transformers.BertTokenizer.from_pretrained("bert-base-uncased")
    lm = {
        "model": model,
        "tokenizer": tok,
        "mask_token": tok.mask_token,
        "log_softmax": torch.nn.LogSoftmax(dim=0),
        "uncased": True,
    }
    df_data = metric.read_data(str(subset))
    pairs = []
    with torch.no_grad():
        for i, (_, data) in enumerate(df_data.iterrows()):
            raw = metric.mask_unigram(data, lm)
            stereo = data["direction"] == "stereo"
            more_raw = raw["sent1_score"] if stereo else raw["sent2_score"]
            less_raw = raw["sent2_score"] if stereo else raw["sent1_score"]
            out = scored.iloc[i]
            assert out["sent_more"] == rows[chosen[i]]["sent_more"]
            assert round(more_raw, 3) == out["sent_more_score"] and round(less_raw, 3) == out["sent_less_score"]
            neutral = out["sent_more_score"] == out["sent_less_score"]
            pairs.append(
                {
                    "row": chosen[i],
                    "id": rows[chosen[i]][""],
                    "direction": data["direction"],
                    "bias_type": data["bias_type"],
                    "sent_more_sum": more_raw,
                    "sent_less_sum": less_raw,
                    "sent_more_score": float(out["sent_more_score"]),
                    "sent_less_score": float(out["sent_less_score"]),
                    "neutral": bool(neutral),
                    "score": int(out["score"]),
                    "boundary_distance": min(round_boundary_distance(more_raw), round_boundary_distance(less_raw)),
                    "masked_tokens": None,
                }
            )
            s1 = tok.encode(data["sent1"].lower(), return_tensors="pt")[0]
            s2 = tok.encode(data["sent2"].lower(), return_tensors="pt")[0]
            t1, _ = metric.get_span(s1, s2)
            pairs[-1]["masked_tokens"] = max(len(t1) - 2, 0)

    per_type = {}
    for bias_type, group in scored.groupby("bias_type"):
        per_type[bias_type] = {
            "pairs": int(len(group)),
            "metric_score": round(group["score"].sum() / len(group) * 100, 2),
        }
    return {
        "source": "crows-pairs/crows_pairs_anonymized.csv",
        "rows": chosen,
        "rows_note": "0-based data rows (= the csv's first column) of the first pairs whose two sentences, "
        "lower-cased, encode to <= 64 tokens",
        "skipped_too_long": skipped,
        "printed": text,
        "summary": summary,
        "per_type": per_type,
        "per_type_note": "not printed by metric.py: sum of its per-pair 'score' column / pairs of the type * 100, "
        "round(.., 2), as its overall Metric score",
        "pairs": pairs,
    }


# ---------------------------------------------------------------------------------------------- AUL / AULA


def run_aul(official: Path, shared: Path, model_dir: Path, tokenizer, work: Path, ss_lines: list) -> dict:
    """AUL and AULA (Kaneko & Bollegala 2022) on the CrowS-Pairs rows above, by kanekomasahiro/evaluate_bias_in_mlm:
    its ``preprocess.py`` turns the subset CSV into ``data/paralled_cp.json`` (``preprocess_crows_pairs``: stereotype =
    sent_more, anti-stereotype = sent_less), its ``evaluate.py`` ``main(args)`` runs as its command line would
    (``--data cp --model <fixture dir> --method aul|aula``) and prints the summary, and its own
    ``load_tokenizer_and_model`` + ``calculate_aul`` give the per-sentence scores. Both read files relative to the
    working directory: they run in ``work/kaneko``. The same for StereoSet (``--data ss``) on the intrasentence
    examples of the StereoSet section (``ss_lines``, 1-based lines of the shared flat jsonl), written as the
    ``data/ss.json`` its ``preprocess_stereoset`` reads (dev.json's layout)."""
    rows, chosen, _, subset = crows_subset(shared, tokenizer, work)
    home = work / "kaneko"
    (home / "data").mkdir(parents=True, exist_ok=True)
    shutil.copy(subset, home / "data/cp.csv")
    flat = (shared / "data/stereoset/stereoset_dev_flat.jsonl").read_text().splitlines()
    ss_rows = [json.loads(flat[line - 1]) for line in ss_lines]
    ss = {"version": "stereoset_dev_flat subset (biaslab suites_reference.py)", "data": {"intrasentence": [
        {"id": f"L{line}", "bias_type": row["bias_type"], "target": row["target"], "context": row["context"],
         "sentences": [{"id": f"L{line}-{g}", "sentence": row[g], "gold_label": g,
                        "labels": [{"human_id": "flat", "label": g}]}
                       for g in ("stereotype", "anti-stereotype", "unrelated")]}
        for line, row in zip(ss_lines, ss_rows)]}}
    (home / "data/ss.json").write_text(json.dumps(ss, indent=1))
    cwd = os.getcwd()
    os.chdir(home)
    try:
        preprocess = load_module("kaneko_preprocess", official / "evaluate_bias_in_mlm/preprocess.py")
        preprocess.main(argparse.Namespace(input="crows_pairs", output="data/paralled_cp.json"))
        preprocess.main(argparse.Namespace(input="stereoset", output="data/paralled_ss.json"))
        evaluate = load_module("kaneko_evaluate", official / "evaluate_bias_in_mlm/evaluate.py")
        out = {"source": "crows-pairs/crows_pairs_anonymized.csv", "rows": chosen,
               "stereoset_source": "stereoset/stereoset_dev_flat.jsonl", "stereoset_lines": ss_lines}
        for data, method in (("cp", "aul"), ("cp", "aula"), ("ss", "aul"), ("ss", "aula")):
            inputs = json.loads((home / f"data/paralled_{data}.json").read_text())
            names = [rows[chosen[i]][""] for i in range(len(inputs))] if data == "cp" else [f"L{n}" for n in ss_lines]
            args = argparse.Namespace(data=data, output=str(home / f"{method}.txt"), model=str(model_dir),
                                      method=method)
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
                evaluate.main(args)
            text = printed.getvalue()
            print(method, text, file=sys.stderr)
            summary = {"bias_score": float(re.search(r"Bias score: (-?[0-9.]+)", text).group(1)), "per_type": {}}
            for line in text.splitlines():
                m = re.fullmatch(r"([a-z-]+) (-?[0-9.]+)", line.strip())
                if m:
                    summary["per_type"][m.group(1)] = float(m.group(2))
            tok, model = evaluate.load_tokenizer_and_model(args)
            log_softmax = torch.nn.LogSoftmax(dim=1)
            pairs = []
            with torch.no_grad():
                for i, example in enumerate(inputs):
                    if data == "cp":
                        assert example["stereotype"] == rows[chosen[i]]["sent_more"]
                    scores = {}
                    for key, name in (("stereotype", "sent_more"), ("anti-stereotype", "sent_less")):
                        ids = tok.encode(example[key], return_tensors="pt")
                        score, _ = evaluate.calculate_aul(model, ids, log_softmax, method == "aula")
                        scores[name] = score
                        scores[name + "_tokens"] = int(ids.shape[1]) - 2
                    pairs.append({"id": names[i], "direction": example.get("direction", "stereo"),
                                  "bias_type": example["bias_type"], **scores,
                                  "stereo": scores["sent_more"] > scores["sent_less"]})
            out[method if data == "cp" else f"stereoset_{method}"] = {"printed": text, "summary": summary,
                                                                      "pairs": pairs}
        out["note"] = ("per_type holds only the kinds evaluate.py prints: those with at least one pair where "
                       "sent_more scores higher")
        return out
    finally:
        os.chdir(cwd)


# ---------------------------------------------------------------------------------------------- StereoSet


def run_stereoset(official: Path, shared: Path, model_dir: Path, tokenizer, work: Path) -> dict:
    code = official / "stereoset/code"
    stub_stereoset_imports(code)
    dataloader = load_module("dataloader", code / "dataloader.py")
    evaluation = load_module("evaluation", code / "evaluation.py")
    edm = load_module("eval_discriminative_models", code / "eval_discriminative_models.py")

    source = shared / "data/stereoset/stereoset_dev_flat.jsonl"
    counts = {"gender": 0, "profession": 0, "race": 0, "religion": 0}
    examples, lines, skipped = [], [], []
    with open(source) as f:
        for line_no, line in enumerate(f, start=1):
            row = json.loads(line)
            if row["type"] != "intrasentence" or counts[row["bias_type"]] >= STEREOSET_PER_DOMAIN:
                continue
            gold = ["stereotype", "anti-stereotype", "unrelated"]
            lengths = [len(tokenizer.encode(row[g])) for g in gold]
            example = {
                "id": f"L{line_no}",
                "bias_type": row["bias_type"],
                "target": row["target"],
                "context": row["context"],
                "sentences": [
                    {
                        "id": f"L{line_no}-{g}",
                        "sentence": row[g],
                        "labels": [{"human_id": "flat", "label": g}],
                        "gold_label": g,
                    }
                    for g in gold
                ],
            }
            # The official loader must accept it (it raises on a context without BLANK, and indexes the
            # sentence's words at the BLANK's position).
            try:
                dataloader.StereoSet(None, json_obj={"version": "x", "data": {"intrasentence": [example],
                                                                             "intersentence": []}})
            except Exception as err:  # noqa: BLE001
                skipped.append({"line": line_no, "reason": f"official loader: {type(err).__name__}: {err}"})
                continue
            if max(lengths) > MAX_TOKENS:
                skipped.append({"line": line_no, "reason": f"too long: {lengths}"})
                continue
            counts[row["bias_type"]] += 1
            examples.append(example)
            lines.append(line_no)
    dev = {"version": "stereoset_dev_flat subset (biaslab suites_reference.py)",
           "data": {"intrasentence": examples, "intersentence": []}}
    dev_path = work / "dev.json"
    dev_path.write_text(json.dumps(dev, indent=1))

    edm.args = argparse.Namespace(input_file=str(dev_path))
    evaluator = edm.BiasEvaluator(
        pretrained_class=str(model_dir),
        no_cuda=True,
        input_file=str(dev_path),
        intrasentence_model="BertLM",
        tokenizer="BertTokenizer",
        skip_intersentence=True,
        batch_size=1,
    )
    with torch.no_grad():
        predictions = evaluator.evaluate()
    predictions_path = work / "predictions.json"
    predictions_path.write_text(json.dumps(predictions, indent=1))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        score_evaluator = evaluation.ScoreEvaluator(gold_file_path=str(dev_path),
                                                    predictions_file_path=str(predictions_path))
        results = score_evaluator.get_overall_results()
    intra = {k: {kk: float(vv) for kk, vv in v.items()} for k, v in results["intrasentence"].items()}

    # The loader's masked inputs, to record how many [MASK] steps each sentence has.
    loader = dataloader.IntrasentenceLoader(evaluator.tokenizer, input_file=str(dev_path))
    steps = {}
    for _, sentence_id, _ in loader.sentences:
        steps[sentence_id] = steps.get(sentence_id, 0) + 1
    score_of = {p["id"]: float(p["score"]) for p in predictions["intrasentence"]}
    per_example = []
    min_gap = math.inf
    for example in examples:
        s = {g: score_of[f"{example['id']}-{g}"] for g in ["stereotype", "anti-stereotype", "unrelated"]}
        gaps = [abs(s["stereotype"] - s["anti-stereotype"]), abs(s["stereotype"] - s["unrelated"]),
                abs(s["anti-stereotype"] - s["unrelated"])]
        rel = min(gaps) / max(s.values())
        min_gap = min(min_gap, rel)
        per_example.append({
            "line": int(example["id"][1:]),
            "bias_type": example["bias_type"],
            "target": example["target"],
            "scores": s,
            "mask_steps": {g: steps[f"{example['id']}-{g}"] for g in s},
            "min_relative_gap": rel,
        })
    return {
        "source": "stereoset/stereoset_dev_flat.jsonl",
        "lines": lines,
        "lines_note": f"1-based lines of the jsonl: the first {STEREOSET_PER_DOMAIN} intrasentence rows of each "
        "domain whose three sentences encode to <= 64 tokens and that the official loader accepts",
        "skipped": skipped,
        "examples": per_example,
        "min_relative_gap": min_gap,
        "results": intra,
        "results_note": "evaluation.ScoreEvaluator(...).get_overall_results()['intrasentence']",
        # The same as Python's repr: JSON readers that are not correctly rounded (serde_json without its
        # float_roundtrip feature) can read a 17-digit number 1 ulp off; these strings let a test compare bit for bit.
        "results_exact": {k: {kk: repr(vv) for kk, vv in v.items()} for k, v in intra.items()},
    }


# ---------------------------------------------------------------------------------------------- SEAT


def run_seat(official: Path, shared: Path) -> dict:
    weat = load_module("weat", official / "sent-bias/sentbias/weat.py")
    minilm = shared / "models/all-MiniLM-L6-v2"
    tok = transformers.AutoTokenizer.from_pretrained(str(minilm))
    model = transformers.AutoModel.from_pretrained(str(minilm))
    model.eval()

    def encode(text: str) -> np.ndarray:
        batch = tok(text, return_tensors="pt")
        with torch.no_grad():
            hidden = model(**batch).last_hidden_state[0]
        mask = batch["attention_mask"][0].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(0) / torch.clamp(mask.sum(0), min=1e-9)
        return pooled.numpy()

    tests = []
    for name in SEAT_TESTS:
        spec = json.load(open(official / "sent-bias/tests" / f"{name}.jsonl"))
        encs = {}
        for split in ["targ1", "targ2", "attr1", "attr2"]:
            encs[split] = {
                "category": spec[split]["category"],
                "encs": {text: encode(text) for text in spec[split]["examples"]},
            }
        sizes = {split: len(encs[split]["encs"]) for split in encs}
        partitions = int(scipy.special.binom(2 * sizes["targ1"], sizes["targ1"]))
        np.random.seed(SEAT_SEED)
        esize, pval = weat.run_test(encs, n_samples=SEAT_SAMPLES, parametric=False)
        tests.append({
            "name": name,
            "categories": {split: spec[split]["category"] for split in encs},
            "sizes": sizes,
            "partitions": partitions,
            "exact": partitions <= SEAT_SAMPLES,
            "effect_size": float(esize),
            "p_value": float(pval),
        })
        print(name, sizes, esize, pval, file=sys.stderr)
    embeddings = [{"text": t, "first8": [float(x) for x in encode(t)[:8]]} for t in EMBEDDING_TEXTS]
    return {
        "tests": tests,
        "n_samples": SEAT_SAMPLES,
        "seed": SEAT_SEED,
        "seed_note": "np.random.seed(seed) right before each weat.run_test(encs, n_samples, parametric=False)",
        "encoder": "all-MiniLM-L6-v2, mean of last hidden states over the attention mask, one text per pass, "
        "not normalised",
        "embeddings": embeddings,
    }


# ---------------------------------------------------------------------------------------------- main


def main() -> None:
    repo = Path(__file__).resolve().parents[2]
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--official", type=Path, required=True)
    parser.add_argument("--shared", type=Path, default=repo.parent / "shared")
    parser.add_argument("--out", type=Path, default=repo / "tests/fixtures/suites")
    parser.add_argument("--commits", type=str, default="",
                        help="comma-separated repo=commit of the official code, recorded in expected.json")
    parser.add_argument("--only", type=str, default="crows_pairs,aul,stereoset,seat",
                        help="sections to compute; the others are kept from an existing expected.json")
    args = parser.parse_args()
    only = set(args.only.split(","))

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "model").mkdir()
        model_dir = assemble_model_dir(repo, args.shared, tmp / "model")
        patch_libraries(model_dir)
        tokenizer = transformers.BertTokenizer.from_pretrained(str(model_dir))
        out = {
            "generator": GENERATOR,
            "versions": {"python": sys.version.split()[0], "torch": torch.__version__,
                         "transformers": transformers.__version__, "numpy": np.__version__,
                         "scipy": scipy.__version__, "pandas": pd.__version__},
            "official_commits": dict(kv.split("=", 1) for kv in args.commits.split(",") if kv),
            "masked_lm": "tests/fixtures/bert + shared bert-base-uncased tokenizer",
        }
        if "crows_pairs" in only:
            out["crows_pairs"] = run_crows_pairs(args.official, args.shared, tokenizer, tmp)
        if "stereoset" in only:
            out["stereoset"] = run_stereoset(args.official, args.shared, model_dir, tokenizer, tmp)
        if "aul" in only:
            path = args.out / "expected.json"
            stereoset = out.get("stereoset") or json.loads(path.read_text())["stereoset"]
            ss_lines = [e["line"] for e in stereoset["examples"]]
            out["crows_pairs_aul"] = run_aul(args.official, args.shared, model_dir, tokenizer, tmp, ss_lines)
            out["crows_pairs_aul"]["versions"] = out["versions"]
        if "seat" in only:
            out["seat"] = run_seat(args.official, args.shared)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "expected.json"
    if path.exists():
        kept = json.loads(path.read_text())
        for section in ("crows_pairs", "stereoset", "seat"):
            if section not in out and section in kept:
                out[section] = kept[section]
        if "crows_pairs_aul" not in out and "crows_pairs_aul" in kept:
            out["crows_pairs_aul"] = kept["crows_pairs_aul"]
        if only != {"crows_pairs", "aul", "stereoset", "seat"}:
            # Only some sections computed again: the run's metadata stays that of the others.
            for key in ("versions", "official_commits"):
                out[key] = kept.get(key, out[key])
            out["official_commits"].update(dict(kv.split("=", 1) for kv in args.commits.split(",") if kv))
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path} ({path.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
