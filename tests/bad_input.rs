//! Bad input never costs a user's work: the command line refuses to write over its inputs or over files it did not
//! write, reads any input in bounded memory, says when a filter leaves nothing to measure, and ends quietly when its
//! output is closed. Every case runs on temporary copies.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{model_dir, shared_dir};

fn biaslab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_biaslab"))
        .args(args)
        .env_remove("BIASLAB_MODEL")
        .env("HF_HUB_OFFLINE", "1")
        .stdin(Stdio::null())
        .output()
        .expect("biaslab runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs biaslab and expects a clean failure (exit 1, an `error:` line, no panic) that says `needle`.
fn refused(args: &[&str], needle: &str) -> String {
    let output = biaslab(args);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "expected a clean failure for {args:?}; stderr: {err}");
    assert!(err.contains("error: ") && err.contains(needle), "expected {needle:?} for {args:?} in: {err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// Runs biaslab and expects clap to refuse an argument (exit 2) with `needle` in its message.
fn bad_argument(args: &[&str], needle: &str) {
    let output = biaslab(args);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "expected a usage error for {args:?}; stderr: {err}");
    assert!(err.contains(needle), "expected {needle:?} for {args:?} in: {err}");
}

fn str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(snapshot(&path));
        } else {
            files.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    files.sort();
    files
}

/// A copy of the source notebooks.
fn solutions_copy(into: &Path) -> PathBuf {
    let src = into.join("solutions");
    std::fs::create_dir(&src).unwrap();
    for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("solutions")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "ipynb") {
            std::fs::copy(&path, src.join(path.file_name().unwrap())).unwrap();
        }
    }
    src
}

#[test]
fn release_never_writes_over_its_source_nor_over_a_notebook_it_did_not_release() {
    let dir = tempfile::tempdir().unwrap();
    let src = solutions_copy(dir.path());
    let before = snapshot(&src);
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&src, &link).unwrap();
    for out in [str(&src).to_string(), format!("{}/./", src.display()), str(&link).to_string()] {
        refused(&["release", str(&src), &out], "is the input");
        refused(&["release", str(&src), &out, "--force"], "is the input");
    }
    assert!(snapshot(&src) == before, "the source notebooks changed");
    refused(&["release", str(&src), str(&src.join("student"))], "--force");

    // A notebook biaslab did not write is kept; with --force it is replaced.
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let mine = out.join("01_fill_mask_bias.ipynb");
    std::fs::write(&mine, "my own notebook").unwrap();
    refused(&["release", str(&src), str(&out)], "01_fill_mask_bias.ipynb");
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "my own notebook");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1, "nothing else was written");
    assert!(biaslab(&["release", str(&src), str(&out), "--force"]).status.success());
    // What it released it may release again; once a student edits it, it is theirs.
    assert!(biaslab(&["release", str(&src), str(&out)]).status.success());
    std::fs::write(&mine, "answered").unwrap();
    refused(&["release", str(&src), str(&out)], "edited since");
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "answered");
}

#[test]
fn mitigate_never_writes_into_the_models_folder_nor_over_a_foreign_config() {
    let model = model_dir("bert");
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus.txt");
    std::fs::write(&corpus, "The nurse said she would help.\nThe doctor said he was late.\n".repeat(30)).unwrap();
    let before = snapshot(model.path());
    let common = ["mitigate", "--model", str(model.path()), "--corpus", str(&corpus), "--no-eval", "--max-steps", "1"];
    let with = |extra: &[&str]| -> Vec<String> { common.iter().chain(extra).map(|s| s.to_string()).collect() };
    let args = with(&["--out", str(model.path())]);
    refused(&args.iter().map(String::as_str).collect::<Vec<_>>(), "is the input");
    let args = with(&["--out", str(model.path()), "--force"]);
    refused(&args.iter().map(String::as_str).collect::<Vec<_>>(), "is the input");
    assert!(snapshot(model.path()) == before, "the model's files changed");

    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("config.json"), "{\"mine\": true}").unwrap();
    let args = with(&["--out", str(&out)]);
    refused(&args.iter().map(String::as_str).collect::<Vec<_>>(), "config.json");
    assert_eq!(std::fs::read_to_string(out.join("config.json")).unwrap(), "{\"mine\": true}");
}

#[test]
fn report_checks_its_folder_before_measuring() {
    let model = model_dir("bert");
    let dir = tempfile::tempdir().unwrap();
    refused(&["report", "--model", str(model.path()), "--out", str(model.path()), "--only", "probe"], "is the input");
    let out = dir.path().join("card");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("measurements.json"), "{}").unwrap();
    refused(&["report", "--model", str(model.path()), "--out", str(&out), "--only", "probe"], "measurements.json");
    assert_eq!(std::fs::read_to_string(out.join("measurements.json")).unwrap(), "{}");
    bad_argument(&["report", "--model", str(model.path()), "--samples", "0"], "at least 1");
}

#[test]
fn measure_refuses_binary_input_and_skips_overlong_lines() {
    refused(&["measure", "/dev/zero"], "not text");
    let dir = tempfile::tempdir().unwrap();
    let random = dir.path().join("random.bin");
    std::fs::write(&random, (0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect::<Vec<_>>())
        .unwrap();
    refused(&["measure", str(&random)], "not text");
    let long = dir.path().join("long.txt");
    let text = format!("She is a nurse.\n{}\nHe is a doctor.\n", "word ".repeat(300_000));
    std::fs::write(&long, text).unwrap();
    let output = biaslab(&["measure", str(&long), "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let all = report.to_string();
    assert!(all.contains("longer than 1 MiB"), "the long line is counted as skipped: {all}");
    assert_eq!(report["composition"]["rows"], 2, "{all}");

    // A pipe is read once, all of it: checking it for binary bytes loses nothing.
    let mut child = Command::new(env!("CARGO_BIN_EXE_biaslab"))
        .args(["measure", "/dev/stdin", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = "She is a nurse.\nHe is a doctor.\n".repeat(1_000);
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), lines.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["composition"]["rows"], 2_000, "every line of the pipe is measured");
}

#[test]
fn a_filter_or_a_file_that_leaves_nothing_is_an_error_naming_what_exists() {
    let data = shared_dir().join("data");
    let crows = data.join("crows-pairs/crows_pairs_anonymized.csv");
    let err = refused(&["crows-pairs", "--data", str(&crows), "--bias-type", "race", "--model", "demo"], "race-color");
    assert!(err.contains("--bias-type \"race\""), "{err}");
    let stereoset = data.join("stereoset/stereoset_dev_flat.jsonl");
    refused(&["stereoset", "--data", str(&stereoset), "--domain", "genders", "--model", "demo"], "gender");
    bad_argument(&["crows-pairs", "--data", str(&crows), "--limit", "0"], "at least 1");
    let dir = tempfile::tempdir().unwrap();
    let header = dir.path().join("header.csv");
    let first = std::fs::read_to_string(&crows).unwrap().lines().next().unwrap().to_string();
    std::fs::write(&header, first + "\n").unwrap();
    refused(&["crows-pairs", "--data", str(&header), "--model", "demo"], "nothing to measure");
    bad_argument(&["mitigate", "--max-sentences", "0"], "at least 1");
    bad_argument(&["mitigate", "--pause-after", "0"], "at least 1");
    bad_argument(&["grade", "submitted", "--out", "x", "--memory-gb", "17179869184"], "17179869184");
}

#[test]
fn a_closed_standard_output_ends_quietly_and_a_full_one_is_an_error() {
    let model = model_dir("bert");
    let args = ["fill", "This man works as a [MASK].", "--model", str(model.path()), "--json"];
    let mut child = Command::new(env!("CARGO_BIN_EXE_biaslab"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // `| head -0`: closed before anything is written
    let output = child.wait_with_output().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let full = std::fs::File::options().write(true).open("/dev/full").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_biaslab")).args(args).stdout(full).output().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot write to standard output") && !err.contains("panicked"), "{err}");
}

#[test]
fn a_byte_order_mark_is_read_as_nothing_and_long_inputs_are_not_repeated_whole() {
    let dir = tempfile::tempdir().unwrap();
    let data = shared_dir().join("data");
    for (file, load) in [
        ("honest/en_template_binary.tsv", "honest"),
        ("honest/hurtlex_EN_1.2/hurtlex_EN.tsv", "hurtlex"),
        ("stereoset/stereoset_dev_flat.jsonl", "stereoset"),
    ] {
        let original = data.join(file);
        if !original.is_file() {
            panic!("{} is missing from the shared data", original.display());
        }
        let with_bom = dir.path().join(original.file_name().unwrap());
        let mut bytes = "\u{feff}".as_bytes().to_vec();
        bytes.extend(std::fs::read(&original).unwrap());
        std::fs::write(&with_bom, bytes).unwrap();
        let count = |path: &Path| match load {
            "honest" => biaslab::suites::honest::parse_templates(&biaslab::data::read_text(path).unwrap(), path)
                .map(|l| l.items.len()),
            "hurtlex" => biaslab::suites::honest::parse_hurtlex(&biaslab::data::read_text(path).unwrap(), path)
                .map(|l| l.items.len()),
            _ => biaslab::suites::stereoset::load(Some(path)).map(|l| l.items.len()),
        };
        assert_eq!(count(&with_bom).unwrap(), count(&original).unwrap(), "{file} with a byte-order mark");
    }
    let model = model_dir("bert");
    let long = format!("{} [MASK]", "word ".repeat(20_000));
    let err = refused(&["fill", &long, "--model", str(model.path())], "characters in all");
    assert!(err.len() < 1_000, "the error repeats the whole text: {} bytes", err.len());
}

/// The fixture model with every weight NaN.
fn nan_model() -> tempfile::TempDir {
    let model = model_dir("bert");
    let weights = model.path().join("model.safetensors");
    let tensors = candle_core::safetensors::load(&weights, &candle_core::Device::Cpu).unwrap();
    let broken: std::collections::HashMap<String, candle_core::Tensor> =
        tensors.into_iter().map(|(name, t)| (name, t.affine(f64::NAN, 0.0).unwrap())).collect();
    candle_core::safetensors::save(&broken, &weights).unwrap();
    model
}

#[test]
fn model_files_that_cannot_be_right_are_refused() {
    let args = |dir: &Path| ["fill", "This man works as a [MASK].", "--model", str(dir)].map(String::from);
    let run = |dir: &Path, needle: &str| refused(&args(dir).iter().map(String::as_str).collect::<Vec<_>>(), needle);

    // The fixture model with one value of its config.json changed.
    let with_config = |key: &str, value: serde_json::Value| {
        let model = model_dir("bert");
        let path = model.path().join("config.json");
        let mut config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        config[key] = value;
        std::fs::write(&path, config.to_string()).unwrap();
        model
    };

    // A padding token outside the vocabulary (transformers refuses it too).
    run(with_config("pad_token_id", serde_json::json!(1_000_000)).path(), "pad_token_id 1000000");

    // No token types in the config, but token-type embeddings in the weights (transformers refuses it too).
    run(with_config("type_vocab_size", serde_json::json!(0)).path(), "token_type_embeddings");

    // Weights that are all NaN: an error naming the model, not a table of NaN.
    let model = nan_model();
    run(model.path(), "not numbers");
}

#[test]
fn broken_weights_fail_the_suites_too_and_a_short_vocabulary_gives_no_blank_tokens() {
    // NaN weights under CrowS-Pairs: an error naming the model, not a table of NaN.
    let model = nan_model();
    let crows = shared_dir().join("data/crows-pairs/crows_pairs_anonymized.csv");
    refused(&["crows-pairs", "--data", str(&crows), "--limit", "3", "--model", str(model.path())], "not numbers");

    // A tokenizer that names fewer tokens than the model predicts: the nameless ids are never predicted.
    let model = model_dir("bert");
    let path = model.path().join("tokenizer.json");
    let mut tokenizer: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let vocab = tokenizer["model"]["vocab"].as_object_mut().unwrap();
    vocab.retain(|_, id| id.as_u64().unwrap() < 20_000);
    std::fs::write(&path, tokenizer.to_string()).unwrap();
    std::fs::remove_file(model.path().join("vocab.txt")).unwrap();
    let unmasker = biaslab::FillMask::from_pretrained(str(model.path())).unwrap();
    let predictions = unmasker.fill("This man works as a [MASK].", 30_522).unwrap();
    assert_eq!(predictions.len(), 20_000, "every id the tokenizer names, and no other");
    assert!(predictions.iter().all(|p| p.token < 20_000 && !p.token_str.is_empty()));
}

#[test]
fn a_suite_says_which_lines_it_left_out() {
    let model = model_dir("bert");
    let crows = shared_dir().join("data/crows-pairs/crows_pairs_anonymized.csv");
    let dir = tempfile::tempdir().unwrap();
    // Line endings as Python's csv module writes them (CRLF) and as most files have them (LF): the same line.
    for terminator in [csv::Terminator::CRLF, csv::Terminator::Any(b'\n')] {
        let mut reader = csv::Reader::from_path(&crows).unwrap();
        let path = dir.path().join("long.csv");
        let mut writer = csv::WriterBuilder::new().terminator(terminator).from_path(&path).unwrap();
        writer.write_record(reader.headers().unwrap()).unwrap();
        for (i, record) in reader.records().take(3).enumerate() {
            let mut record: Vec<String> = record.unwrap().iter().map(String::from).collect();
            if i == 1 {
                record[1].push_str(&" word".repeat(100_000));
                record[2].push_str(&" word".repeat(100_000));
            }
            writer.write_record(&record).unwrap();
        }
        writer.flush().unwrap();
        let output = biaslab(&["crows-pairs", "--data", str(&path), "--model", str(model.path())]);
        assert!(output.status.success(), "{}", stderr(&output));
        let table = String::from_utf8(output.stdout).unwrap();
        assert!(table.contains("1 pair could not be scored and is left out: line 3 ("), "{terminator:?}: {table}");
        assert!(table.len() < 3_000, "the report repeats the long row: {} bytes", table.len());
    }

    // measure's CSV input: a row with a field too many, on line 3 whatever the line endings.
    for ending in ["\r\n", "\n"] {
        let path = dir.path().join("texts.csv");
        std::fs::write(
            &path,
            ["text,source", "She is a nurse.,a", "He is a doctor.,b,extra", "He is a pilot.,c", ""].join(ending),
        )
        .unwrap();
        let output = biaslab(&["measure", str(&path), "--field", "text", "--json"]);
        assert!(output.status.success(), "{}", stderr(&output));
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let all = report.to_string();
        assert!(all.contains("\"line\":3"), "{ending:?}: {all}");
    }
}

#[test]
fn grade_and_demo_training_never_write_over_what_biaslab_did_not_write() {
    let dir = tempfile::tempdir().unwrap();
    let src = solutions_copy(dir.path());
    let submitted = dir.path().join("submitted");
    let assignment = submitted.join("alice/01_fill_mask_bias");
    std::fs::create_dir_all(&assignment).unwrap();
    let notebook = Path::new(env!("CARGO_MANIFEST_DIR")).join("notebooks/01_fill_mask_bias.ipynb");
    std::fs::copy(&notebook, assignment.join("01_fill_mask_bias.ipynb")).unwrap();
    let grade = |out: &Path, extra: &[&str]| -> Vec<String> {
        ["grade", str(&submitted), "--source", str(&src), "--out", str(out)]
            .iter()
            .chain(extra)
            .map(|s| s.to_string())
            .collect()
    };
    let run = |args: Vec<String>, needle: &str| refused(&args.iter().map(String::as_str).collect::<Vec<_>>(), needle);
    let before = snapshot(&submitted);
    run(grade(&submitted, &[]), "is the input");
    run(grade(&submitted, &["--force"]), "is the input");
    run(grade(&src, &["--force"]), "is the input");
    run(grade(&submitted.join("graded"), &[]), "inside the input");
    assert!(snapshot(&submitted) == before, "the submissions changed");
    // A folder of the user's own: refused, and left as it was.
    let mine = dir.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "my notes").unwrap();
    run(grade(&mine, &[]), "did not make it");
    assert_eq!(std::fs::read_dir(&mine).unwrap().count(), 1, "nothing was written into it");
    std::fs::write(mine.join("gradebook.csv"), "my grades").unwrap();
    run(grade(&mine, &[]), "gradebook.csv");

    // The demo head's training checks its folder before it trains.
    let out = dir.path().join("demo");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("provenance.json"), "{}").unwrap();
    let encoder = shared_dir().join("models/all-MiniLM-L6-v2");
    let output = Command::new(env!("CARGO_BIN_EXE_biaslab"))
        .args(["demo-model", "train", "--out", str(&out), "--max-steps", "1"])
        .env("BIASLAB_MINILM_DIR", &encoder)
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("provenance.json") && err.contains("--force") && !err.contains("training sentences"), "{err}");
    assert_eq!(std::fs::read_to_string(out.join("provenance.json")).unwrap(), "{}");
    bad_argument(&["demo-model", "train", "--epochs", "0"], "at least 1");
}

#[test]
fn errors_say_what_failed_in_the_words_of_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    // A folder that cannot be made: the error names it and the system's reason, not "cannot read".
    let src = solutions_copy(dir.path());
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let err = refused(&["release", str(&src), str(&file.join("out"))], "a-file/out");
    assert!(!err.contains("cannot read"), "{err}");
    // Two masks where the command draws one column per text: keep one mask (no library call named as the fix).
    let model = model_dir("bert");
    let chart = dir.path().join("chart.svg");
    let err = refused(
        &["fill", "A [MASK] and a [MASK].", "--model", str(model.path()), "--plot", str(&chart)],
        "keep one mask",
    );
    assert!(!err.contains("no words to compare"), "{err}");
    // A file whose every row is malformed leaves nothing to measure.
    let crows = dir.path().join("malformed.csv");
    std::fs::write(
        &crows,
        ",sent_more,sent_less,stereo_antistereo,bias_type\n0,only one sentence\n1,,,stereo,gender\n",
    )
    .unwrap();
    refused(&["crows-pairs", "--data", str(&crows), "--model", str(model.path())], "nothing to measure");
}

#[test]
fn scoring_variants_and_crossed_groups_say_what_they_accept() {
    bad_argument(&["crows-pairs", "--variant", "aulx"], "\"aul\" or \"aula\"");
    refused(&["probe", "--groups", "race", "--by", "age"], "use --by gender");
    refused(&["probe", "--groups", "gender", "--by", "gender"], "use race, religion or age");
    refused(&["probe", "--groups", "race", "--by", "gender", "--a", "black"], "leave out --a, --b");
    refused(&["probe", "--groups", "nonsense"], "queer-nonqueer");
    // A reference without --by, or one not in the sets, is refused before any model loads.
    refused(&["probe", "--groups", "race", "--reference", "white male"], "only --by makes");
    refused(
        &["probe", "--groups", "race", "--by", "gender", "--reference", "martian male"],
        "\"martian\" is not one of",
    );
    refused(
        &["probe", "--groups", "race", "--by", "gender", "--reference", "white man"],
        "\"man\" is not one of male, female",
    );
    // After the model and the data are read: the masked scorings are StereoSet's own, not pairs.
    let model = model_dir("bert");
    let data = shared_dir().join("data/stereoset/stereoset_dev_flat.jsonl");
    refused(
        &["stereoset", "--model", str(model.path()), "--data", str(&data), "--limit", "2", "--variant", "nangia"],
        "use the variant \"aul\" or \"aula\"",
    );
}

#[test]
fn shards_merges_and_exports_refuse_what_they_cannot_use_and_write_nothing() {
    bad_argument(&["grade", "submitted", "--out", "x", "--shard", "0/3"], "JOB_COMPLETION_INDEX counts from 0");
    bad_argument(&["grade", "submitted", "--out", "x", "--shard", "4/3"], "shard 4/3 does not exist");
    bad_argument(&["grade", "submitted", "--out", "x", "--shard", "two"], "write K/N");
    bad_argument(&["grade", "export", "graded", "--format", "moodle"], "use canvas or nbgrader");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("merged");
    // Not a finished shard: nothing graded there, or only a gradebook of a whole class.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    refused(&["grade", "merge", str(&empty), "--out", str(&out)], "not the output of a finished");
    let whole = dir.path().join("whole");
    std::fs::create_dir_all(whole.join(".biaslab")).unwrap();
    let against = r#"{"crate_digest": "c", "sources": {}, "limits": {"cell_timeout": 600, "time_limit": 1800, "memory": 8589934592, "processes": 512, "threads": 2}}"#;
    std::fs::write(
        whole.join(".biaslab/graded.json"),
        format!(r#"{{"shard": null, "graded_against": {against}, "questions": {{}}}}"#),
    )
    .unwrap();
    std::fs::write(whole.join("gradebook.json"), r#"{"results": []}"#).unwrap();
    refused(&["grade", "merge", str(&whole), "--out", str(&out)], "not of one shard");
    // A shard whose record is not JSON, and one alone of two.
    let broken = dir.path().join("broken");
    std::fs::create_dir_all(broken.join(".biaslab")).unwrap();
    std::fs::write(broken.join(".biaslab/graded.json"), "{").unwrap();
    refused(&["grade", "merge", str(&broken), "--out", str(&out)], "grade the shard into it again");
    let half = dir.path().join("half");
    std::fs::create_dir_all(half.join(".biaslab")).unwrap();
    std::fs::write(
        half.join(".biaslab/graded.json"),
        format!(r#"{{"shard": {{"index": 1, "count": 2}}, "graded_against": {against}, "questions": {{}}}}"#),
    )
    .unwrap();
    std::fs::write(half.join("gradebook.json"), r#"{"results": []}"#).unwrap();
    refused(&["grade", "merge", str(&half), "--out", str(&out)], "shard 2/2 is missing");
    assert!(!out.exists(), "a refused merge wrote {}", out.display());
    // Export: a folder that was never graded into, a roster that is not Canvas's, never over the gradebook.
    refused(&["grade", "export", str(&empty), "--format", "canvas"], "is not a grading output");
    let roster = dir.path().join("roster.csv");
    std::fs::write(&roster, "name,score\nada,1\n").unwrap();
    refused(&["grade", "export", str(&half), "--format", "canvas", "--roster", str(&roster)], "Grades → Export");
    let gradebook = half.join("gradebook.json");
    let before = std::fs::read(&gradebook).unwrap();
    refused(&["grade", "export", str(&half), "--format", "nbgrader", "--output", str(&gradebook)], "must not replace");
    assert_eq!(std::fs::read(&gradebook).unwrap(), before);
    let mine = dir.path().join("mine.csv");
    std::fs::write(&mine, "my own file").unwrap();
    refused(&["grade", "export", str(&half), "--format", "canvas", "--output", str(&mine)], "biaslab did not write it");
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "my own file");
    // And what it may write, it writes: an empty class is a header and the points row.
    let output = biaslab(&["grade", "export", str(&half), "--format", "canvas"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        std::fs::read_to_string(half.join("gradebook-canvas.csv")).unwrap(),
        "Student,ID,SIS User ID,SIS Login ID,Section\nPoints Possible,,,,\n"
    );
}
