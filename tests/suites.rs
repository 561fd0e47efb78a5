//! Every lab-02 bias test with the offline demo model, through the `biaslab` command, against the committed results
//! in `results/demo-model.json` (the command of each, and the numbers it gave).
//!
//! CI runs every suite on its full dataset but one: metric.py's CrowS-Pairs masks every token of every sentence in
//! turn (about 15 minutes on 2 cores for its 1,508 pairs), so CI runs it on the first 300 pairs, and the run on all
//! of them is an ignored test, to run when CrowS-Pairs or the model code changes:
//!
//! ```sh
//! cargo test --test suites -- --ignored
//! ```
//!
//! The numbers are deterministic on one CPU, but not across CPUs: the matrix products pick their kernels by the
//! CPU's features (AVX2, AVX-512, ...), which add the f32 terms in another order. Measured between a machine with
//! AVX-512 FP16 and AMX and the one that wrote the file: log-probability differences and SEAT effect sizes moved by
//! up to 2e-6 (4e-6 relative), nothing else moved. So numbers must match to 1e-5 (absolute plus relative), which
//! any real change exceeds, and counts exactly. When a change to biaslab is meant to change them, write them again
//! (each test writes its own runs into the file) and commit them with the change:
//!
//! ```sh
//! BIASLAB_WRITE_RESULTS=1 cargo test --test suites -- --include-ignored
//! ```
//!
//! Also: malformed data is reported with its line number, never a panic.
mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use serde_json::{json, Value};

/// A run: a name, the command's arguments after `biaslab` (`{data}` is the shared data folder), and the JSON
/// pointers of its report that the results file keeps.
type Run = (&'static str, &'static [&'static str], &'static [&'static str]);

/// What CrowS-Pairs runs keep.
const CROWS_KEEP: &[&str] =
    &["/pairs", "/metric_score", "/stereo_score", "/antistereo_score", "/neutral", "/per_type", "/skipped"];

/// The runs CI makes, two at a time, each with half the cores for its tensor work (two processes each spinning a
/// thread per core oversubscribed 2 cores: these runs took 431 s so in CI, 294 s with one thread each).
const RUNS: &[Run] = &[
    (
        "probe-gender-occupations",
        &["probe", "--model", "demo", "--groups", "gender", "--json"],
        &["/gap", "/gap_interval", "/p_value", "/exact", "/per_target/0", "/per_target/111"],
    ),
    (
        "crows-pairs-first-300",
        &["crows-pairs", "--model", "demo", "--data", "{data}", "--limit", "300", "--json"],
        CROWS_KEEP,
    ),
    (
        "crows-pairs-bias-bench",
        &["crows-pairs", "--model", "demo", "--data", "{data}", "--variant", "bias-bench", "--json"],
        CROWS_KEEP,
    ),
    (
        "crows-pairs-aul-first-300",
        &["crows-pairs", "--model", "demo", "--data", "{data}", "--limit", "300", "--variant", "aul", "--json"],
        CROWS_KEEP,
    ),
    (
        "crows-pairs-aula-first-300",
        &["crows-pairs", "--model", "demo", "--data", "{data}", "--limit", "300", "--variant", "aula", "--json"],
        CROWS_KEEP,
    ),
    (
        "probe-race-by-gender",
        &["probe", "--model", "demo", "--groups", "race", "--by", "gender", "--json"],
        &["/reference", "/combinations"],
    ),
    (
        "probe-queer-nonqueer",
        &["probe", "--model", "demo", "--groups", "queer-nonqueer", "--json"],
        &["/groups", "/gap", "/gap_interval", "/p_value", "/per_target/0", "/per_target/111"],
    ),
    (
        "stereoset",
        &["stereoset", "--model", "demo", "--data", "{data}", "--json"],
        &["/examples", "/overall", "/per_domain", "/skipped"],
    ),
    ("winobias", &["winobias", "--model", "demo", "--data", "{data}", "--json"], &["/split", "/per_type"]),
    (
        "honest",
        &["honest", "--model", "demo", "--data", "{data}", "--k", "20", "--json"],
        &["/k", "/templates", "/hurtful", "/honest_score", "/interval", "/per_group", "/per_category"],
    ),
    ("seat-minilm", &["seat", "--encoder", "minilm", "--json"], &["/results"]),
];

/// metric.py's CrowS-Pairs on all 1,508 pairs: about 15 minutes, so not in CI.
const FULL_CROWS_PAIRS: &[Run] =
    &[("crows-pairs", &["crows-pairs", "--model", "demo", "--data", "{data}", "--json"], CROWS_KEEP)];

fn results_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("results/demo-model.json")
}

/// Runs `biaslab` with `args`; panics with its standard error if it fails.
fn biaslab(args: &[String]) -> (Value, f64) {
    let shared = common::shared_dir();
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_biaslab"))
        .args(args)
        .env_remove("BIASLAB_MODEL")
        .env_remove("BIASLAB_DATA_DIR")
        .env("HF_HUB_OFFLINE", "1")
        .env("BIASLAB_MINILM_DIR", shared.join("models/all-MiniLM-L6-v2"))
        .env(biaslab::device::THREADS_VARIABLE, biaslab::device::threads_per_job(2).to_string())
        .output()
        .expect("biaslab runs");
    let seconds = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "biaslab {} failed:\n{stderr}", args.join(" "));
    assert!(!stderr.contains("panicked"), "{stderr}");
    (serde_json::from_slice(&output.stdout).expect("--json prints JSON"), seconds)
}

/// The same JSON value, numbers to 1e-5 (absolute and relative: see the top of this file), counts exactly.
fn same(at: &str, actual: &Value, expected: &Value) {
    match (actual, expected) {
        (Value::Number(a), Value::Number(e)) => {
            let (a, e) = (a.as_f64().unwrap(), e.as_f64().unwrap());
            assert!((a - e).abs() <= 1e-5 + 1e-5 * e.abs(), "{at}: {a}, but results/demo-model.json has {e}");
        }
        (Value::Object(a), Value::Object(e)) => {
            let keys = |m: &serde_json::Map<String, Value>| m.keys().cloned().collect::<Vec<_>>();
            assert_eq!(keys(a), keys(e), "{at}: other fields");
            for (key, value) in e {
                same(&format!("{at}/{key}"), &a[key], value);
            }
        }
        (Value::Array(a), Value::Array(e)) => {
            assert_eq!(a.len(), e.len(), "{at}: another length");
            for (i, (a, e)) in a.iter().zip(e).enumerate() {
                same(&format!("{at}/{i}"), a, e);
            }
        }
        (a, e) => assert_eq!(a, e, "{at}"),
    }
}

#[test]
fn every_suite_gives_the_committed_results() {
    check_runs(RUNS);
}

#[test]
#[ignore = "metric.py's CrowS-Pairs on all 1,508 pairs, about 15 minutes: cargo test --test suites -- --ignored"]
fn crows_pairs_on_its_full_dataset_gives_the_committed_results() {
    check_runs(FULL_CROWS_PAIRS);
}

/// Makes `runs`, two at a time, and compares each with its committed result; with `BIASLAB_WRITE_RESULTS` set,
/// writes them into the results file instead (replacing runs of the same name, keeping the others).
fn check_runs(runs: &[Run]) {
    // Both tests read and write the one file: one at a time.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let data = common::shared_dir().join("data");
    let write = std::env::var_os("BIASLAB_WRITE_RESULTS").is_some();
    let committed: Value = match std::fs::read_to_string(results_file()) {
        Ok(text) => serde_json::from_str(&text).expect("results/demo-model.json is JSON"),
        Err(_) if write => json!({"runs": []}),
        Err(err) => panic!("results/demo-model.json is committed: {err}"),
    };
    let commands: Vec<Vec<String>> = runs
        .iter()
        .map(|(_, args, _)| args.iter().map(|a| a.replace("{data}", &data.to_string_lossy())).collect())
        .collect();
    let outputs = std::sync::Mutex::new(vec![None; runs.len()]);
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(args) = commands.get(i) else { break };
                let output = biaslab(args);
                outputs.lock().unwrap()[i] = Some(output);
            });
        }
    });
    let outputs = outputs.into_inner().unwrap();
    let mut written = committed["runs"].as_array().cloned().unwrap_or_default();
    for (((name, _, keep), args), output) in runs.iter().zip(&commands).zip(outputs) {
        let (report, seconds) = output.expect("every run ran");
        eprintln!("{name}: {seconds:.0} s");
        let mut kept = serde_json::Map::new();
        for pointer in *keep {
            let value = report.pointer(pointer).unwrap_or_else(|| panic!("{name}: the report has no {pointer}"));
            kept.insert(pointer.to_string(), value.clone());
        }
        let command = format!("biaslab {}", args.join(" ").replace(&*data.to_string_lossy(), "../shared/data"));
        let run =
            json!({"name": name, "command": command, "seconds": (seconds * 10.0).round() / 10.0, "results": kept});
        if write {
            match written.iter_mut().find(|r| r["name"] == *name) {
                Some(old) => *old = run,
                None => written.push(run),
            }
            continue;
        }
        let expected =
            committed["runs"].as_array().and_then(|runs| runs.iter().find(|r| r["name"] == *name)).unwrap_or_else(
                || panic!("results/demo-model.json has no run {name}: write it again (see the top of tests/suites.rs)"),
            );
        assert_eq!(expected["command"], json!(command), "{name}: the committed command differs");
        same(name, &Value::Object(kept), &expected["results"]);
    }
    if write {
        let file = json!({
            "about": "Every lab-02 bias test with the offline demo model (`--model demo`; SEAT on the all-MiniLM-L6-v2 \
                      encoder), each suite on its full dataset, metric.py's CrowS-Pairs also on its first 300 pairs, \
                      as `cargo test --test suites -- --include-ignored` runs them. `seconds` is the wall time of that \
                      run (a test build, two runs at a time, on the machine that wrote it).",
            "written_by": "BIASLAB_WRITE_RESULTS=1 cargo test --test suites -- --include-ignored",
            "runs": written,
        });
        std::fs::write(results_file(), serde_json::to_string_pretty(&file).unwrap() + "\n").unwrap();
        eprintln!("wrote {}", results_file().display());
    }
}

#[test]
fn malformed_rows_are_reported_with_their_line_and_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("crows.csv");
    std::fs::write(
        &csv,
        ",sent_more,sent_less,stereo_antistereo,bias_type,annotations,anon_writer,anon_annotators\n\
         0,The poor are lazy.,The rich are lazy.,stereo,socioeconomic,[],a0,[]\n\
         1,only two fields\n\
         2,A is here.,B is here.,sideways,race-color,[],a1,[]\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_biaslab"))
        .args(["crows-pairs", "--model", "demo", "--data"])
        .arg(&csv)
        .args(["--json"])
        .env("HF_HUB_OFFLINE", "1")
        .env("BIASLAB_MINILM_DIR", common::shared_dir().join("models/all-MiniLM-L6-v2"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("1 rows from") && stderr.contains("2 malformed rows skipped"), "{stderr}");
    assert!(stderr.contains("line 3") && stderr.contains("line 4"), "{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["pairs"], 1);

    let missing = Command::new(env!("CARGO_BIN_EXE_biaslab"))
        .args(["stereoset", "--model", "demo", "--data", "/nonexistent/stereoset.jsonl"])
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error: ")
            && stderr.contains("/nonexistent/stereoset.jsonl")
            && !stderr.contains("panicked"),
        "{stderr}"
    );
}
