//! The `biaslab` command: `fill` on a local directory (table, `--json`, `--targets`), offline mode, and clear
//! errors (never a panic) on bad input.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{assert_same_output, expected, model_dir, Inputs};

fn biaslab(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_biaslab"));
    command.args(args).env_remove("BIASLAB_MODEL").env_remove("HF_HUB_OFFLINE");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("biaslab runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// Runs `biaslab fill` and expects a clean failure whose message contains `needle`.
fn fails_with(args: &[&str], env: &[(&str, &str)], needle: &str) {
    let output = biaslab(args, env);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "expected a clean failure for {args:?}; stderr: {err}");
    assert!(err.lines().last().is_some_and(|line| line.starts_with("error: ")), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

fn case_text(name: &str, case: &str) -> (String, serde_json::Value) {
    let expected = expected(name);
    let case = expected.cases.into_iter().find(|c| c.name == case).unwrap();
    let Inputs::One(text) = case.inputs else { panic!("{case:?} has one text") };
    (text, case.output)
}

#[test]
fn fill_json_is_the_pipeline_json() {
    let dir = model_dir("bert");
    let model = dir.path().to_str().unwrap();
    let (text, want) = case_text("bert", "woman");
    let output = biaslab(&["fill", &text, "--model", model, "--top-k", "5", "--json"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let got: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_same_output(&got, &want, "cli --json");
    // Exactly the pipeline's keys, in its order.
    let first = stdout(&output);
    let keys: Vec<usize> =
        ["\"score\"", "\"token\"", "\"token_str\"", "\"sequence\""].iter().map(|k| first.find(k).unwrap()).collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "key order: {first}");
}

#[test]
fn fill_json_with_several_masks_is_a_list_of_lists() {
    let dir = model_dir("bert");
    let (text, want) = case_text("bert", "two_masks");
    let output = biaslab(&["fill", &text, "--model", dir.path().to_str().unwrap(), "--top-k", "3", "--json"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let got: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_same_output(&got, &want, "cli two masks");
}

#[test]
fn fill_targets_scores_only_those_words() {
    let dir = model_dir("bert");
    let expected = expected("bert");
    let case = expected.cases.iter().find(|c| c.name == "targets").unwrap();
    let Inputs::One(text) = &case.inputs else { unreachable!() };
    let targets = case.targets.as_ref().unwrap().join(",");
    let output =
        biaslab(&["fill", text, "--model", dir.path().to_str().unwrap(), "--targets", &targets, "--json"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let got: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_same_output(&got, &case.output, "cli --targets");
    // "xylophonist" is not one token of the vocabulary: the pipeline warns and uses its first piece.
    assert!(stderr(&output).contains("xylophonist"), "{}", stderr(&output));
}

#[test]
fn fill_prints_a_table_and_reads_biaslab_model() {
    let dir = model_dir("distilbert");
    let (text, want) = case_text("distilbert", "man");
    let output = biaslab(&["fill", &text], &[("BIASLAB_MODEL", dir.path().to_str().unwrap())]);
    assert!(output.status.success(), "{}", stderr(&output));
    let table = stdout(&output);
    assert!(table.contains("rank"), "{table}");
    for prediction in want.as_array().unwrap() {
        assert!(table.contains(prediction["token_str"].as_str().unwrap()), "{table}");
    }
    assert_eq!(table.lines().filter(|l| l.trim_start().starts_with(char::is_numeric)).count(), 5, "{table}");
}

#[test]
fn several_texts_give_a_list_in_json() {
    let dir = model_dir("bert");
    let model = dir.path().to_str().unwrap();
    let output = biaslab(&["fill", "A [MASK].", "The [MASK] and the [MASK].", "--model", model, "--json"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let got: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let texts = got.as_array().unwrap();
    assert_eq!(texts.len(), 2);
    assert!(texts[0][0].is_object(), "one mask: a list of predictions");
    assert!(texts[1][0].is_array(), "two masks: a list of lists");
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = model_dir("bert");
    let model = dir.path().to_str().unwrap();
    fails_with(&["fill", "This man works as a doctor.", "--model", model], &[], "there is no [MASK]");
    fails_with(&["fill", "   ", "--model", model], &[], "the text is empty");
    let long = format!("{} [MASK]", "word ".repeat(100));
    fails_with(&["fill", &long, "--model", model], &[], "this model reads at most 64");
    fails_with(&["fill", "A [MASK].", "--model", model, "--targets", ","], &[], "none of the targets");
    fails_with(&["fill", "A [MASK].", "--model", model, "--device", "tpu"], &[], "cannot use device");
}

#[test]
fn fill_with_several_masks_in_the_library_says_what_to_call() {
    let dir = model_dir("bert");
    let unmasker = biaslab::FillMask::from_pretrained(dir.path().to_str().unwrap()).unwrap();
    let err = unmasker.fill("The [MASK] and the [MASK].", 5).unwrap_err();
    assert!(err.to_string().contains("fill_masks"), "{err}");
}

#[test]
fn missing_and_broken_models_are_clear_errors() {
    let text = "A [MASK].";
    fails_with(&["fill", text, "--model", "./no/such/dir"], &[], "no/such/dir");
    fails_with(&["fill", text, "--model", "not a model id"], &[], "neither a local directory");

    // The shared bert-base-uncased has its tokenizer and config but no weights.
    let shared = common::shared_dir().join("models/bert-base-uncased");
    fails_with(&["fill", text, "--model", shared.to_str().unwrap()], &[], "no model.safetensors");

    // A sentence-transformers encoder has no masked-LM head.
    let minilm = common::shared_dir().join("models/all-MiniLM-L6-v2");
    fails_with(&["fill", text, "--model", minilm.to_str().unwrap()], &[], "no masked-language-model head");

    // A truncated download.
    let dir = model_dir("bert");
    let weights = dir.path().join("model.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    fails_with(&["fill", text, "--model", dir.path().to_str().unwrap()], &[], "truncated or corrupt");
    // Garbage where a PyTorch file should be.
    std::fs::remove_file(&weights).unwrap();
    std::fs::write(dir.path().join("pytorch_model.bin"), b"not a pickle").unwrap();
    fails_with(&["fill", text, "--model", dir.path().to_str().unwrap()], &[], "truncated or corrupt");

    // A config for another kind of model, and one that is not JSON.
    let dir = model_dir("bert");
    let config = dir.path().join("config.json");
    std::fs::write(&config, r#"{"model_type": "gpt2", "vocab_size": 50257}"#).unwrap();
    fails_with(&["fill", text, "--model", dir.path().to_str().unwrap()], &[], "model_type \"gpt2\" is not supported");
    std::fs::write(&config, "{ this is not json").unwrap();
    fails_with(&["fill", text, "--model", dir.path().to_str().unwrap()], &[], "not a usable model config");
}

#[test]
fn a_tokenizer_from_another_model_is_a_clear_error() {
    // The RoBERTa fixture's weights with BERT's 30522-token tokenizer.
    let dir = model_dir("roberta");
    for file in ["tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"] {
        let _ = std::fs::remove_file(dir.path().join(file));
    }
    common::copy_shared_tokenizer(dir.path(), &["tokenizer.json"]);
    fails_with(&["fill", "A [MASK].", "--model", dir.path().to_str().unwrap()], &[], "come from different models");
}

/// Lays out `files` of a fixture as the Hugging Face cache holds model `repo` at commit `commit`.
fn fake_cache(cache: &Path, repo: &str, commit: &str, fixture: &Path) {
    let folder = cache.join(format!("models--{}", repo.replace('/', "--")));
    let snapshot = folder.join("snapshots").join(commit);
    std::fs::create_dir_all(&snapshot).unwrap();
    std::fs::create_dir_all(folder.join("refs")).unwrap();
    std::fs::write(folder.join("refs/main"), commit).unwrap();
    for entry in std::fs::read_dir(fixture).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, snapshot.join(path.file_name().unwrap())).unwrap();
    }
}

#[test]
fn offline_mode_reads_the_cache_and_names_what_is_missing() {
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().to_str().unwrap();
    let offline = [("HF_HUB_OFFLINE", "1"), ("HF_HUB_CACHE", cache_dir), ("HF_HOME", cache_dir)];

    // Nothing cached: the error names the file and what to do.
    let strict = "--no-demo-fallback";
    fails_with(
        &["fill", "A [MASK].", "--model", "bert-base-uncased", strict],
        &offline,
        "config.json of bert-base-uncased is not in the Hugging Face cache",
    );

    // A cached model is found with no network.
    let model = model_dir("bert");
    fake_cache(cache.path(), "biaslab-test/tiny-bert", &"a".repeat(40), model.path());
    let (text, want) = case_text("bert", "man");
    let output = biaslab(&["fill", &text, "--model", "biaslab-test/tiny-bert", "--json"], &offline);
    assert!(output.status.success(), "{}", stderr(&output));
    let got: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_same_output(&got, &want, "offline from the cache");

    // A cached model without weights: the missing file is named.
    let partial = tempfile::tempdir().unwrap();
    for file in ["config.json", "tokenizer.json"] {
        std::fs::copy(model.path().join(file), partial.path().join(file)).unwrap();
    }
    fake_cache(cache.path(), "biaslab-test/no-weights", &"b".repeat(40), partial.path());
    fails_with(
        &["fill", "A [MASK].", "--model", "biaslab-test/no-weights", strict],
        &offline,
        "model.safetensors of biaslab-test/no-weights is not in the Hugging Face cache",
    );
}
