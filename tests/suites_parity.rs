//! biaslab's benchmark suites against the OFFICIAL evaluation code run with PyTorch: the numbers in
//! `tests/fixtures/suites/expected.json` were made by `tests/reference/suites_reference.py`, which imports and
//! calls nyu-mll/crows-pairs `metric.py`, moinnadeem/StereoSet `code/` and W4ngatang/sent-bias `sentbias/weat.py`
//! on the same models and data (see `tests/fixtures/suites/README.md`). Here the Rust ports run on the same inputs
//! loaded the Rust way and must give the same numbers:
//!
//! * CrowS-Pairs (`metric.py` of nyu-mll/crows-pairs, on rows 0-59 of the shared CSV, the random BERT fixture):
//!   per pair the tokens masked, the rounded scores (`round(sum, 3)`) exactly equal, the neutral/win decisions
//!   identical, and the summary (metric, stereotype, anti-stereotype score, neutral count and %, per-type scores)
//!   identical. Where a rounded score differs, a rounding boundary must lie between the two unrounded sums, which
//!   must be within 1e-4 (biaslab's report has rounded scores only: the unrounded sums are recomputed here from the
//!   library's public parts, `crows_pairs::shared_tokens` and `MaskScorer::target_log_probs`).
//! * AUL and AULA (kanekomasahiro/evaluate_bias_in_mlm `evaluate.py`, the same 60 pairs): each sentence's unrounded
//!   score to 1e-5, every decision and the printed bias and per-type scores identical; and `--data ss` on the 120
//!   StereoSet examples below, through `stereoset::evaluate_unmasked`.
//! * StereoSet intrasentence (moinnadeem/StereoSet `BiasEvaluator` + `ScoreEvaluator`, on 120 intrasentence rows
//!   of the shared flat jsonl, 30 per domain, the random BERT fixture): per sentence the score (mean probability of
//!   the template word's pieces) to a relative 1e-4, the order of the three scores of every example identical, and
//!   LMS, SS and ICAT per domain and overall to 1e-6 (and the example counts; whether they are bit-identical is
//!   printed).
//! * SEAT: MiniLM embeddings (first 8 dimensions) to 1e-4; effect sizes to 1e-4; p-values identical when the
//!   permutation test is exact (same count of partitions, same bits), else within sampling error (both are shares
//!   of 100,000 random partitions).

mod common;

use std::path::PathBuf;

use biaslab::suites::{crows_pairs, seat, stereoset};
use biaslab::{FillMask, MaskScorer};
use serde_json::Value;

/// Absolute tolerance for sums of log-probabilities, embeddings and effect sizes.
const TOLERANCE: f64 = 1e-4;

/// Absolute tolerance for AUL and AULA scores (means of log-probabilities, one forward pass each).
const AUL_TOLERANCE: f64 = 1e-5;

fn expected() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/suites/expected.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn close(actual: f64, expected: f64, tolerance: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: biaslab gives {actual}, the official code {expected} (difference {:e} > {tolerance:e})",
        (actual - expected).abs()
    );
}

// ---------------------------------------------------------------------------------------------------- SEAT

fn minilm() -> seat::SentenceEncoder {
    let dir = common::shared_dir().join("models/all-MiniLM-L6-v2");
    seat::SentenceEncoder::from_pretrained(dir.to_str().unwrap())
        .unwrap_or_else(|e| panic!("all-MiniLM-L6-v2 does not load from {}: {e}", dir.display()))
}

/// The raw mean-pooled MiniLM embeddings equal transformers' (first 8 dimensions).
#[test]
fn seat_embeddings_match_pytorch() {
    let expected = expected();
    let encoder = minilm();
    let rows = expected["seat"]["embeddings"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let texts: Vec<&str> = rows.iter().map(|r| r["text"].as_str().unwrap()).collect();
    let embeddings = encoder.embed(&texts).unwrap();
    for (row, embedding) in rows.iter().zip(&embeddings) {
        assert_eq!(embedding.len(), 384);
        for (i, e) in row["first8"].as_array().unwrap().iter().enumerate() {
            close(embedding[i] as f64, f(e), TOLERANCE, &format!("embedding of {:?}[{i}]", row["text"]));
        }
    }
}

/// Effect sizes and p-values of weat6/7/8 and sent-weat6/7/8 equal sent-bias's `weat.run_test`.
#[test]
fn seat_matches_sent_bias() {
    let expected = expected();
    let encoder = minilm();
    let n_samples = expected["seat"]["n_samples"].as_u64().unwrap() as usize;
    let options = seat::Options { samples: n_samples, seed: expected["seat"]["seed"].as_u64().unwrap() };
    let cases = expected["seat"]["tests"].as_array().unwrap();
    assert_eq!(cases.len(), 6);
    let tests: Vec<seat::WeatTest> =
        cases.iter().map(|c| seat::builtin(c["name"].as_str().unwrap()).unwrap()).collect();
    let report = seat::run_all(&encoder, &tests, &options).unwrap();
    for (case, result) in cases.iter().zip(&report.results) {
        let name = case["name"].as_str().unwrap();
        assert_eq!(result.test, name);
        let sizes = &case["sizes"];
        assert_eq!(
            [result.n_x, result.n_y, result.n_a, result.n_b],
            ["targ1", "targ2", "attr1", "attr2"].map(|k| sizes[k].as_u64().unwrap() as usize),
            "{name}: set sizes"
        );
        let categories = &case["categories"];
        assert_eq!(
            [&result.x_name, &result.y_name, &result.a_name, &result.b_name],
            ["targ1", "targ2", "attr1", "attr2"].map(|k| categories[k].as_str().unwrap()),
            "{name}: set names"
        );
        close(result.effect_size, f(&case["effect_size"]), TOLERANCE, &format!("{name}: effect size"));
        let exact = case["exact"].as_bool().unwrap();
        assert_eq!(result.exact, exact, "{name}: exact test or not");
        let (p, p_ref) = (result.p_value, f(&case["p_value"]));
        if exact {
            assert_eq!(result.samples as u64, case["partitions"].as_u64().unwrap(), "{name}: partitions");
            // p = hits / partitions in both (a correctly rounded division): compare the counts, then the bits
            // (against the count's quotient: a JSON reader may read the 17-digit p-value 1 ulp off).
            let partitions = result.samples as f64;
            let hits = (p_ref * partitions).round();
            assert_eq!((p * partitions).round(), hits, "{name}: partitions counted by the exact test");
            assert_eq!(p, hits / partitions, "{name}: exact p-value");
        } else {
            // Both are (1 + hits) / n with hits ~ Binomial(n - 1, p) under different generators: allow 4 standard
            // deviations of the difference of two such shares, plus 2/n for the bias-by-one and discreteness.
            assert_eq!(result.samples, n_samples, "{name}: samples");
            let n = n_samples as f64;
            let spread = 4.0 * (2.0 * p.max(p_ref) * (1.0 - p.min(p_ref)) / n).sqrt() + 2.0 / n;
            close(p, p_ref, spread, &format!("{name}: sampled p-value"));
        }
        eprintln!(
            "{name}: d = {:.6} (PyTorch {:.6}), p = {} (PyTorch {})",
            result.effect_size,
            f(&case["effect_size"]),
            p,
            p_ref
        );
    }
}

// ---------------------------------------------------------------------------------------------------- CrowS-Pairs

/// The random BERT fixture with the shared bert-base-uncased tokenizer, loaded as a user would.
fn bert() -> (tempfile::TempDir, FillMask) {
    let dir = common::model_dir("bert");
    let model = FillMask::from_pretrained(dir.path().to_str().unwrap()).unwrap();
    (dir, model)
}

/// Python's `round(x, 3)` on doubles, for the unrounded sums recomputed here: the nearest multiple of 0.001 in
/// decimal (ties cannot matter at the precision of these checks).
fn round3(x: f64) -> f64 {
    format!("{x:.3}").parse().unwrap()
}

/// The unrounded `mask_unigram` sums of sentence 1 and sentence 2 (metric.py's order), from the library's public
/// parts: the shared tokens (`get_span`), each inner one masked in turn, log P(original token) summed in order.
fn unrounded_sums(model: &FillMask, sent1: &str, sent2: &str) -> (f64, f64) {
    let ids1 = MaskScorer::encode(model, &sent1.to_lowercase(), true).unwrap();
    let ids2 = MaskScorer::encode(model, &sent2.to_lowercase(), true).unwrap();
    let (t1, t2) = crows_pairs::shared_tokens(&ids1, &ids2);
    let mut items = Vec::new();
    for (ids, template) in [(&ids1, &t1), (&ids2, &t2)] {
        for &position in &template[1..template.len() - 1] {
            let mut masked = ids.clone();
            masked[position] = MaskScorer::mask_id(model);
            items.push((masked, ids[position]));
        }
    }
    let logp = MaskScorer::target_log_probs(model, &items).unwrap();
    let n = t1.len() - 2;
    let sum = |v: &[f64]| v.iter().fold(0.0, |s, &x| s + x);
    (sum(&logp[..n]), sum(&logp[n..]))
}

/// The 60 pairs of the shared CrowS-Pairs file that `reference` names by `id` (the file's index column), in its order.
fn crows_pairs_of(reference: &[Value]) -> Vec<crows_pairs::Pair> {
    assert_eq!(reference.len(), 60);
    let path = common::shared_dir().join("data/crows-pairs/crows_pairs_anonymized.csv");
    let loaded = crows_pairs::load(Some(&path)).unwrap();
    reference
        .iter()
        .map(|r| {
            let index: usize = r["id"].as_str().unwrap().parse().unwrap();
            loaded.items.iter().find(|p| p.index == index).unwrap_or_else(|| panic!("no pair {index}")).clone()
        })
        .collect()
}

/// CrowS-Pairs through `crows_pairs::evaluate` equals `metric.py` run with PyTorch on the same model and rows.
#[test]
fn crows_pairs_matches_metric_py() {
    let expected = expected();
    let cp = &expected["crows_pairs"];
    let (_dir, model) = bert();
    let reference = cp["pairs"].as_array().unwrap();
    let pairs = crows_pairs_of(reference);
    let report = crows_pairs::evaluate(&model, &pairs, &crows_pairs::Options::default()).unwrap();
    assert!(report.skipped.is_empty(), "skipped: {:?}", report.skipped);
    assert_eq!(report.results.len(), reference.len());

    let mut boundary_cases = Vec::new();
    let mut largest_difference = 0.0f64;
    for ((r, e), pair) in report.results.iter().zip(reference).zip(&pairs) {
        let at = format!("pair {}", r.index);
        assert_eq!(r.index.to_string(), e["id"].as_str().unwrap(), "{at}");
        assert_eq!(r.direction.as_str(), e["direction"].as_str().unwrap(), "{at}: direction");
        assert_eq!(r.bias_type, e["bias_type"].as_str().unwrap(), "{at}: bias type");
        let masked = e["masked_tokens"].as_u64().unwrap() as usize;
        assert_eq!((r.sent_more_tokens, r.sent_less_tokens), (masked, masked), "{at}: masked tokens");
        // The unrounded sums, recomputed from the library's parts, to 1e-4; sentence 1 is sent_more for stereo.
        let stereo = e["direction"] == "stereo";
        let (s1, s2) = if stereo { (&pair.sent_more, &pair.sent_less) } else { (&pair.sent_less, &pair.sent_more) };
        let (sum1, sum2) = unrounded_sums(&model, s1, s2);
        let (more_sum, less_sum) = if stereo { (sum1, sum2) } else { (sum2, sum1) };
        for (name, ours, rounded, key) in [
            ("sent_more", more_sum, r.sent_more_score, "sent_more"),
            ("sent_less", less_sum, r.sent_less_score, "sent_less"),
        ] {
            let (theirs, theirs_rounded) = (f(&e[format!("{key}_sum")]), f(&e[format!("{key}_score")]));
            close(ours, theirs, TOLERANCE, &format!("{at}: unrounded {name} sum"));
            largest_difference = largest_difference.max((ours - theirs).abs());
            assert_eq!(round3(ours), rounded, "{at}: the report's {name} score is not round(sum, 3) of its sum {ours}");
            if rounded != theirs_rounded {
                // Only possible when a rounding boundary lies between the two sums.
                let boundary = (theirs_rounded + rounded) / 2.0;
                assert!(
                    (rounded - theirs_rounded).abs() < 0.0015 && (ours - boundary) * (theirs - boundary) <= 0.0,
                    "{at}: {name} score {rounded} but metric.py {theirs_rounded} (sums {ours} vs {theirs})"
                );
                boundary_cases.push(format!("{at} {name}: {ours} -> {rounded}, PyTorch {theirs} -> {theirs_rounded}"));
            }
        }
        // Decisions identical (the sums are at least 5.5e-4 apart in every pair, so rounding cannot flip them).
        assert_eq!(r.neutral, e["neutral"].as_bool().unwrap(), "{at}: neutral");
        assert_eq!(r.win, e["score"].as_u64().unwrap() == 1, "{at}: win (metric.py's score column)");
    }
    eprintln!("CrowS-Pairs: largest difference of an unrounded sum from PyTorch's: {largest_difference:e}");
    if !boundary_cases.is_empty() {
        eprintln!("CrowS-Pairs: rounded scores that differ only because a rounding boundary lies between the sums:");
        for case in &boundary_cases {
            eprintln!("  {case}");
        }
    }

    let summary = &cp["summary"];
    assert_eq!(report.pairs as u64, summary["total"].as_u64().unwrap(), "Total examples");
    assert_eq!(report.metric_score, f(&summary["metric_score"]), "Metric score");
    assert_eq!(report.stereo_score, f(&summary["stereotype_score"]), "Stereotype score");
    assert_eq!(report.antistereo_score, f(&summary["anti_stereotype_score"]), "Anti-stereotype score");
    assert_eq!(report.neutral as u64, summary["neutral"].as_u64().unwrap(), "Num. neutral");
    assert_eq!(report.neutral_percent, f(&summary["neutral_percent"]), "neutral %");
    let per_type = cp["per_type"].as_object().unwrap();
    assert_eq!(report.per_type.len(), per_type.len(), "bias types");
    for (bias_type, e) in per_type {
        assert_eq!(report.per_type.get(bias_type).copied(), Some(f(&e["metric_score"])), "{bias_type} score");
        let detail = report.per_type_detail.iter().find(|t| &t.bias_type == bias_type).unwrap();
        assert_eq!(detail.pairs as u64, e["pairs"].as_u64().unwrap(), "{bias_type} pairs");
    }
}

/// AUL and AULA through `crows_pairs::evaluate` equal `evaluate.py` of kanekomasahiro/evaluate_bias_in_mlm run with
/// PyTorch on the same model and rows: each sentence's score (a mean of log-probabilities, unrounded) to 1e-4, the
/// tokens scored, every decision (sent_more preferred or not), and the printed bias score and per-type scores.
#[test]
fn crows_pairs_aul_and_aula_match_evaluate_py() {
    let expected = expected();
    let aul = &expected["crows_pairs_aul"];
    let (_dir, model) = bert();
    for (variant, key) in [(crows_pairs::Variant::Aul, "aul"), (crows_pairs::Variant::Aula, "aula")] {
        let reference = aul[key]["pairs"].as_array().unwrap();
        let pairs = crows_pairs_of(reference);
        let report = crows_pairs::evaluate(&model, &pairs, &crows_pairs::Options { variant }).unwrap();
        assert!(report.skipped.is_empty(), "{key}: skipped {:?}", report.skipped);
        let mut largest = 0.0f64;
        let mut smallest_gap = f64::INFINITY;
        for (r, e) in report.results.iter().zip(reference) {
            let at = format!("{key}, pair {}", r.index);
            assert_eq!(r.index.to_string(), e["id"].as_str().unwrap(), "{at}");
            close(r.sent_more_score, f(&e["sent_more"]), AUL_TOLERANCE, &format!("{at}: sent_more"));
            close(r.sent_less_score, f(&e["sent_less"]), AUL_TOLERANCE, &format!("{at}: sent_less"));
            largest = largest
                .max((r.sent_more_score - f(&e["sent_more"])).abs())
                .max((r.sent_less_score - f(&e["sent_less"])).abs());
            smallest_gap = smallest_gap.min((f(&e["sent_more"]) - f(&e["sent_less"])).abs());
            let tokens = |k: &str| e[k].as_u64().unwrap() as usize;
            assert_eq!(
                (r.sent_more_tokens, r.sent_less_tokens),
                (tokens("sent_more_tokens"), tokens("sent_less_tokens"))
            );
            assert_eq!(r.win, e["stereo"].as_bool().unwrap(), "{at}: sent_more preferred");
        }
        let summary = &aul[key]["summary"];
        assert_eq!(report.metric_score, f(&summary["bias_score"]), "{key}: Bias score");
        // evaluate.py prints only the kinds with at least one win.
        for t in &report.per_type_detail {
            let printed = summary["per_type"].get(&t.bias_type).map(f).unwrap_or(0.0);
            assert_eq!(t.score, printed, "{key}: {} score", t.bias_type);
        }
        eprintln!(
            "{key}: bias score {} (evaluate.py {}); largest score difference {largest:e}, smallest gap between a \
             pair's scores {smallest_gap:e}",
            report.metric_score,
            f(&summary["bias_score"])
        );
    }
}

/// AUL and AULA on StereoSet's (stereotype, anti-stereotype) sentences through `stereoset::evaluate_unmasked` equal
/// `evaluate.py --data ss` on the 120 intrasentence examples of the StereoSet parity test: every score to 1e-4,
/// every decision, the bias score and the per-domain scores.
#[test]
fn stereoset_aul_and_aula_match_evaluate_py() {
    let expected = expected();
    let aul = &expected["crows_pairs_aul"];
    let (_dir, model) = bert();
    let path = common::shared_dir().join("data/stereoset/stereoset_dev_flat.jsonl");
    let loaded = stereoset::load(Some(&path)).unwrap();
    let examples: Vec<stereoset::Example> = aul["stereoset_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| {
            let line = line.as_u64().unwrap() as usize;
            loaded.items.iter().find(|e| e.line == line).unwrap_or_else(|| panic!("no example on line {line}")).clone()
        })
        .collect();
    assert_eq!(examples.len(), 120);
    for (variant, key) in [(crows_pairs::Variant::Aul, "stereoset_aul"), (crows_pairs::Variant::Aula, "stereoset_aula")]
    {
        let reference = aul[key]["pairs"].as_array().unwrap();
        let hidden = indicatif::ProgressBar::hidden();
        let report = stereoset::evaluate_unmasked(&model, &examples, variant, &hidden).unwrap();
        assert_eq!(report.dataset, "StereoSet intrasentence");
        assert_eq!(report.results.len(), reference.len(), "{key}");
        for (r, e) in report.results.iter().zip(reference) {
            let at = format!("{key}, {}", e["id"]);
            assert_eq!(format!("L{}", examples[r.index].line), e["id"].as_str().unwrap(), "{at}");
            close(r.sent_more_score, f(&e["sent_more"]), AUL_TOLERANCE, &format!("{at}: stereotype"));
            close(r.sent_less_score, f(&e["sent_less"]), AUL_TOLERANCE, &format!("{at}: anti-stereotype"));
            assert_eq!(r.win, e["stereo"].as_bool().unwrap(), "{at}: stereotype preferred");
        }
        let summary = &aul[key]["summary"];
        assert_eq!(report.metric_score, f(&summary["bias_score"]), "{key}: Bias score");
        for t in &report.per_type_detail {
            let printed = summary["per_type"].get(&t.bias_type).map(f).unwrap_or(0.0);
            assert_eq!(t.score, printed, "{key}: {} score", t.bias_type);
        }
        eprintln!("{key}: bias score {} (evaluate.py {})", report.metric_score, f(&summary["bias_score"]));
    }
}

// ---------------------------------------------------------------------------------------------------- StereoSet

/// Relative tolerance for StereoSet's sentence scores (probabilities of about 1e-5 with the random model).
const RELATIVE_TOLERANCE: f64 = 1e-4;

/// Tolerance for SS, LMS and ICAT (percentages).
const SCORE_TOLERANCE: f64 = 1e-6;

/// StereoSet intrasentence through `stereoset::evaluate` equals the official `BiasEvaluator` + `ScoreEvaluator`.
#[test]
fn stereoset_matches_official_evaluation() {
    let expected = expected();
    let ss = &expected["stereoset"];
    let (_dir, model) = bert();
    let path = common::shared_dir().join("data/stereoset/stereoset_dev_flat.jsonl");
    let loaded = stereoset::load(Some(&path)).unwrap();
    let reference = ss["examples"].as_array().unwrap();
    assert_eq!(reference.len(), 120);
    let examples: Vec<stereoset::Example> = reference
        .iter()
        .map(|r| {
            let line = r["line"].as_u64().unwrap() as usize;
            loaded.items.iter().find(|e| e.line == line).unwrap_or_else(|| panic!("no example on line {line}")).clone()
        })
        .collect();
    let report = stereoset::evaluate(&model, &examples, &stereoset::Options::default()).unwrap();
    assert!(report.skipped.is_empty(), "skipped: {:?}", report.skipped);
    assert_eq!(report.results.len(), reference.len());

    let mut largest_relative = 0.0f64;
    for (r, e) in report.results.iter().zip(reference) {
        let at = format!("line {}", e["line"]);
        assert_eq!(examples[r.index].line as u64, e["line"].as_u64().unwrap(), "{at}");
        assert_eq!(r.target, e["target"].as_str().unwrap(), "{at}: target");
        assert_eq!(r.bias_type, e["bias_type"].as_str().unwrap(), "{at}: domain");
        let scores = &e["scores"];
        let ours = [r.stereotype, r.anti_stereotype, r.unrelated];
        let theirs = ["stereotype", "anti-stereotype", "unrelated"].map(|k| f(&scores[k]));
        for (k, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            let relative = (a - b).abs() / b.abs();
            largest_relative = largest_relative.max(relative);
            assert!(
                relative <= RELATIVE_TOLERANCE,
                "{at}: sentence {k} scores {a}, the official code {b} (relative difference {relative:e})"
            );
        }
        // The decisions ScoreEvaluator.count makes: pro vs anti, pro vs unrelated, anti vs unrelated.
        let decisions = |s: &[f64; 3]| [s[0] > s[1], s[0] > s[2], s[1] > s[2]];
        assert_eq!(decisions(&ours), decisions(&theirs), "{at}: the order of the three scores");
    }
    eprintln!("StereoSet: largest relative difference of a sentence score from PyTorch's: {largest_relative:e}");

    // The official numbers as Python's repr (serde_json may read a 17-digit number 1 ulp off).
    let results = &ss["results_exact"];
    let exact = |v: &Value| -> f64 { v.as_str().unwrap().parse().unwrap() };
    let mut rows: Vec<&stereoset::DomainScore> = report.per_domain.iter().collect();
    rows.push(&report.overall);
    assert_eq!(rows.len(), 5, "4 domains + overall");
    for row in rows {
        let e = &results[row.domain.as_str()];
        assert!(e.is_object(), "no official result for {}", row.domain);
        // evaluation.py's per-domain Count is 3x the examples (each example listed once per sentence).
        let count = exact(&e["Count"]) as usize;
        let per_example = if row.domain == "overall" { 1 } else { 3 };
        assert_eq!(row.examples * per_example, count, "{}: Count", row.domain);
        let official = ["LM Score", "SS Score", "ICAT Score"].map(|k| exact(&e[k]));
        for (name, ours, theirs) in
            [("LMS", row.lms, official[0]), ("SS", row.ss, official[1]), ("ICAT", row.icat, official[2])]
        {
            close(ours, theirs, SCORE_TOLERANCE, &format!("{}: {name}", row.domain));
        }
        eprintln!(
            "StereoSet {}: LMS {} SS {} ICAT {} (bit-identical to the official: {})",
            row.domain,
            row.lms,
            row.ss,
            row.icat,
            [row.lms, row.ss, row.icat] == official
        );
    }
}
