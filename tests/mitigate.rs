//! Lab 03's mitigation: fine-tuning resumes exactly, reuses a finished run, refuses to overwrite another run, and
//! writes a checkpoint that loads like any model (on the tiny random BERT fixture); and `biaslab mitigate` on the
//! demo model lowers the training loss, moves the probe gap toward zero and reports every measure before and after.

mod common;

use std::path::Path;
use std::process::Command;

use biaslab::finetune::{self, BaseModel, FinetuneOptions};
use biaslab::mlm::TokenizedCorpus;
use candle_core::Device;
use indicatif::ProgressBar;
use serde_json::Value;

fn sentences() -> Vec<String> {
    let words = ["doctor", "nurse", "teacher", "engineer", "pilot", "cook", "writer", "farmer"];
    (0..48).map(|i| format!("the {} said that {} was here on day {i}.", words[i % 8], ["he", "she"][i % 2])).collect()
}

fn tiny() -> (tempfile::TempDir, BaseModel, TokenizedCorpus) {
    let dir = common::model_dir("bert");
    let base = BaseModel::from_files(&biaslab::hub::resolve_dir(dir.path()).unwrap(), &Device::Cpu).unwrap();
    let corpus = base.tokenize(&sentences(), 32).unwrap();
    (dir, base, corpus)
}

fn options() -> FinetuneOptions {
    FinetuneOptions {
        max_steps: Some(12),
        epochs: 3,
        learning_rate: 3e-3,
        batch_size: 8,
        max_len: 32,
        dropout: Some(0.1),
        checkpoint_every: 5,
        ..FinetuneOptions::default()
    }
}

fn weights(dir: &Path) -> Vec<(String, Vec<f32>)> {
    let mut tensors: Vec<(String, Vec<f32>)> =
        candle_core::safetensors::load(dir.join(finetune::WEIGHTS_FILE), &Device::Cpu)
            .unwrap()
            .into_iter()
            .map(|(name, t)| (name, t.flatten_all().unwrap().to_vec1::<f32>().unwrap()))
            .collect();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    tensors
}

#[test]
fn a_paused_run_resumes_to_exactly_the_uninterrupted_one() {
    let (_model, base, corpus) = tiny();
    let whole = tempfile::tempdir().unwrap();
    let run = finetune::finetune(&base, &corpus, &options(), whole.path(), &ProgressBar::hidden()).unwrap();
    assert!(run.state.finished && !run.reused && run.resumed_from.is_none());
    assert_eq!(run.state.step, 12);
    assert!(run.last_loss() < run.first_loss(), "the loss did not fall: {:?}", run.state.losses);

    let parts = tempfile::tempdir().unwrap();
    let paused = FinetuneOptions { pause_after: Some(7), ..options() };
    let first = finetune::finetune(&base, &corpus, &paused, parts.path(), &ProgressBar::hidden()).unwrap();
    assert!(!first.state.finished);
    assert_eq!(first.state.step, 7);
    let second = finetune::finetune(&base, &corpus, &options(), parts.path(), &ProgressBar::hidden()).unwrap();
    assert_eq!(second.resumed_from, Some(7));
    assert!(second.state.finished);
    assert_eq!(second.state.losses, run.state.losses, "the resumed run took other steps");
    assert_eq!(weights(parts.path()), weights(whole.path()), "the resumed run ended with other weights");

    // Finished: loaded, not trained again.
    let again = finetune::finetune(&base, &corpus, &options(), whole.path(), &ProgressBar::hidden()).unwrap();
    assert!(again.reused);
    assert_eq!(again.state, run.state);

    // Another setting in the same folder: an error, not an overwrite.
    let other = FinetuneOptions { learning_rate: 1e-3, ..options() };
    let err = finetune::finetune(&base, &corpus, &other, whole.path(), &ProgressBar::hidden()).unwrap_err().to_string();
    assert!(err.contains("other weights, training text or settings"), "{err}");

    // Other weights under the same name (a model directory trained again): not the same run either.
    let (_again, mut retrained, _) = tiny();
    retrained.weights_sha256 = "0".repeat(64);
    let err = finetune::finetune(&retrained, &corpus, &options(), whole.path(), &ProgressBar::hidden())
        .unwrap_err()
        .to_string();
    assert!(err.contains("other weights"), "{err}");
}

#[test]
fn steps_with_nothing_masked_are_recorded_and_the_run_still_resumes() {
    let (_model, base, _) = tiny();
    let corpus = base.tokenize(&["hi".to_string(), "yes".to_string(), "the end".to_string()], 32).unwrap();
    let short = FinetuneOptions { batch_size: 1, epochs: 4, max_steps: Some(12), ..options() };
    let out = tempfile::tempdir().unwrap();
    let paused = FinetuneOptions { pause_after: Some(5), ..short.clone() };
    let first = finetune::finetune(&base, &corpus, &paused, out.path(), &ProgressBar::hidden()).unwrap();
    assert_eq!(first.state.step, 5);
    let second = finetune::finetune(&base, &corpus, &short, out.path(), &ProgressBar::hidden()).unwrap();
    assert!(second.state.finished);
    assert!(second.state.losses.iter().any(Option::is_none), "{:?}", second.state.losses);
    assert!(second.first_loss().is_finite() && second.last_loss().is_finite());
    assert!(finetune::finetune(&base, &corpus, &short, out.path(), &ProgressBar::hidden()).unwrap().reused);
}

#[test]
fn a_checkpoint_is_a_model_directory_and_freezing_keeps_tensors() {
    let (_model, base, corpus) = tiny();
    let out = tempfile::tempdir().unwrap();
    let frozen = FinetuneOptions { freeze_embeddings: true, freeze_layers: 1, max_steps: Some(3), ..options() };
    let run = finetune::finetune(&base, &corpus, &frozen, out.path(), &ProgressBar::hidden()).unwrap();
    assert!(run.state.trainable_parameters < run.state.total_parameters);
    for name in ["config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors", "trainer_state.json"] {
        assert!(out.path().join(name).is_file(), "the checkpoint has no {name}");
    }
    let saved: std::collections::HashMap<String, Vec<f32>> = weights(out.path()).into_iter().collect();
    assert!(
        !saved.contains_key("cls.predictions.decoder.weight"),
        "the tied decoder weight is saved as save_pretrained does: not at all"
    );
    let flat = |name: &str| base.tensors[name].flatten_all().unwrap().to_vec1::<f32>().unwrap();
    for name in ["bert.embeddings.word_embeddings.weight", "bert.encoder.layer.0.attention.self.query.weight"] {
        assert_eq!(saved[name], flat(name), "{name} was frozen but changed");
    }
    for name in ["bert.encoder.layer.1.attention.self.query.weight", "cls.predictions.bias"] {
        assert_ne!(saved[name], flat(name), "{name} was trained but did not change");
    }
    // The checkpoint loads as any model and fills masks.
    let model = run.load("tiny + plain", &Device::Cpu).unwrap();
    assert_eq!(model.fill("the doctor said that [MASK] was here.", 3).unwrap().len(), 3);
    let output = Command::new(env!("CARGO_BIN_EXE_biaslab"))
        .args(["fill", "--model"])
        .arg(out.path())
        .arg("the nurse said that [MASK] was here.")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// The whole of lab 03 on the demo model, small: a few hundred sentences, CDA, the top layers trained.
#[test]
fn mitigate_on_the_demo_model_lowers_the_loss_and_the_probe_gap_and_reports_everything() {
    let shared = common::shared_dir();
    let out = tempfile::tempdir().unwrap();
    let chart = out.path().join("mitigation.svg");
    let checkpoint = out.path().join("demo-cda");
    let output = Command::new(env!("CARGO_BIN_EXE_biaslab"))
        .args(["mitigate", "--model", "demo", "--method", "cda", "--json", "--data"])
        .arg(shared.join("data"))
        .arg("--out")
        .arg(&checkpoint)
        .arg("--chart")
        .arg(&chart)
        .args(["--max-sentences", "2000", "--max-steps", "200", "--max-len", "32", "--lr", "2e-4"])
        .args(["--freeze-embeddings", "--freeze-layers", "4"])
        .args(["--crows-limit", "30", "--stereoset-limit", "120", "--pppl-sentences", "30"])
        .env("BIASLAB_MINILM_DIR", shared.join("models/all-MiniLM-L6-v2"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "biaslab mitigate failed:\n{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    eprintln!("{}", serde_json::to_string_pretty(&report["rows"]).unwrap());
    eprintln!("{}", report["verdict_text"]);

    let run = &report["run"]["state"];
    assert_eq!(run["step"], 200);
    let losses: Vec<f64> = run["losses"].as_array().unwrap().iter().filter_map(Value::as_f64).collect();
    assert!(losses.len() > 190, "most steps have a loss");
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
    let tail = losses.len() - 20;
    assert!(mean(&losses[tail..]) < mean(&losses[..20]), "the loss did not fall: {:?}", &losses);

    let (before, after) = (&report["before"], &report["after"]);
    let gap = |m: &Value| m["probe_gap"].as_f64().unwrap();
    assert!(gap(after) < gap(before), "the probe gap did not move toward 0: {} → {}", gap(before), gap(after));
    eprintln!("probe gap {:.3} → {:.3}", gap(before), gap(after));
    for measures in [before, after] {
        for key in [
            "probe_gap",
            "probe_p",
            "names_gap",
            "names_p",
            "crows_gender",
            "stereoset_ss",
            "stereoset_lms",
            "stereoset_icat",
            "pseudo_perplexity",
            "masked_top1",
            "masked_top5",
        ] {
            assert!(measures[key].as_f64().is_some_and(f64::is_finite), "{key} missing in {measures}");
        }
        assert_eq!(measures["crows_pairs"], 30);
        assert_eq!(measures["stereoset_examples"], 120);
    }
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 7);
    assert_eq!(rows.iter().filter(|r| r["kind"] == "bias").count(), 4);
    assert_eq!(rows.iter().filter(|r| r["kind"] == "capability").count(), 3);
    assert!(rows.iter().all(|r| r["improvement"].as_f64().is_some_and(f64::is_finite)));
    assert!(report["verdict_text"].as_str().is_some_and(|t| t.len() > 20));
    let cda = &report["cda"];
    assert!(cda["changed_sentences"].as_u64().unwrap() > 100 && cda["swaps"].as_u64().unwrap() > 100, "{cda}");
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(svg.contains("<svg") && svg.contains("capability"), "the chart lacks its bars");

    // Run again: the finished checkpoint is reused, not trained again.
    let again = Command::new(env!("CARGO_BIN_EXE_biaslab"))
        .args(["mitigate", "--model", "demo", "--method", "cda", "--json", "--no-eval", "--data"])
        .arg(shared.join("data"))
        .arg("--out")
        .arg(&checkpoint)
        .args(["--max-sentences", "2000", "--max-steps", "200", "--max-len", "32", "--lr", "2e-4"])
        .args(["--freeze-embeddings", "--freeze-layers", "4"])
        .env("BIASLAB_MINILM_DIR", shared.join("models/all-MiniLM-L6-v2"))
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    let run: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(run["reused"], true);
}

/// Lab 03's measures are kept per model weights (and data and options): measured again only for other weights.
#[test]
fn the_notebooks_measures_are_kept_and_loaded_for_the_same_model_and_items() {
    let (_dir, base, _) = tiny();
    let model = base.fill_mask().unwrap();
    let options = biaslab::mitigate::EvalOptions {
        crows_limit: Some(2),
        stereoset_limit: Some(2),
        pppl_sentences: 2,
        accuracy_sentences: 4,
        ..Default::default()
    };
    let data =
        biaslab::mitigate::EvalData::load(Some(&common::shared_dir().join("data")), sentences(), &options).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let kept = |c: &Path| std::fs::read_dir(c.join("measures")).map(|d| d.count()).unwrap_or(0);
    let measure = |weights: &str| biaslab::lab03::measure_in(cache.path(), &model, weights, &data, &options).unwrap();
    let first = measure(&base.weights_sha256);
    assert_eq!(kept(cache.path()), 1);
    // Loaded, not measured: a new measurement would take another time.
    let again = measure(&base.weights_sha256);
    assert_eq!(again, first);
    assert_eq!(kept(cache.path()), 1);
    let other_weights = measure("other weights");
    assert_ne!(other_weights.seconds, first.seconds);
    assert_eq!(kept(cache.path()), 2);
}

#[test]
fn bad_input_gets_a_clear_message() {
    let (_model, base, _) = tiny();
    let out = tempfile::tempdir().unwrap();
    let empty = TokenizedCorpus { sentences: vec![], ..base.tokenize(&["x".to_string()], 32).unwrap() };
    let err =
        finetune::finetune(&base, &empty, &options(), out.path(), &ProgressBar::hidden()).unwrap_err().to_string();
    assert!(err.contains("no training sentences"), "{err}");
    let too_many = FinetuneOptions { freeze_layers: 3, ..options() };
    let corpus = base.tokenize(&sentences(), 32).unwrap();
    let err =
        finetune::finetune(&base, &corpus, &too_many, out.path(), &ProgressBar::hidden()).unwrap_err().to_string();
    assert!(err.contains("cannot freeze 3 layers"), "{err}");
    std::fs::write(out.path().join(finetune::STATE_FILE), "{not json").unwrap();
    let err =
        finetune::finetune(&base, &corpus, &options(), out.path(), &ProgressBar::hidden()).unwrap_err().to_string();
    assert!(err.contains("not a biaslab trainer state"), "{err}");

    let missing = Command::new(env!("CARGO_BIN_EXE_biaslab"))
        .args(["mitigate", "--model", "demo", "--corpus", "/nonexistent/corpus.txt", "--no-eval"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("/nonexistent/corpus.txt") && !stderr.contains("panicked"), "{stderr}");
}
