//! `biaslab grade` on a small class: the solution, an untouched student notebook and one submission for each
//! attack the grader must withstand. Each runs in the real Rust kernel, sandboxed, on the demo model (or
//! `BIASLAB_MODEL`). Needs bubblewrap, Jupyter (`.venv`, made by `lab/setup.sh`) and evcxr_jupyter; a missing one
//! fails the test with the command that installs it.
//!
//! Named so that `cargo test` runs it after `tests/notebooks.rs` (test targets run in alphabetical order): the
//! grader's warm-up then starts from the evcxr build cache the notebooks filled (as on an instructor's machine where
//! the notebooks have run), instead of compiling every dependency again.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const NOTEBOOK: &str = "01_fill_mask_bias.ipynb";
const ANSWER_CELL: &str = "only_in";
const TEST_CELL: &str = "only_in_tests";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn cell_index(nb: &Value, id: &str) -> usize {
    nb["cells"].as_array().unwrap().iter().position(|c| c["metadata"]["nbgrader"]["grade_id"] == id).unwrap()
}

/// The released notebook with the answer cell's source replaced.
fn answering(body: &str) -> Value {
    let mut nb = read(&root().join("notebooks").join(NOTEBOOK));
    let i = cell_index(&nb, ANSWER_CELL);
    nb["cells"][i]["source"] = Value::String(body.to_string());
    nb
}

fn only_in(body: &str) -> Value {
    answering(&format!("fn only_in(a: &TopK, b: &TopK) -> Vec<String> {{\n{body}\n}}"))
}

fn write(class: &Path, student: &str, nb: &Value) {
    let dir = class.join(student).join("lab01");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(NOTEBOOK), serde_json::to_string_pretty(nb).unwrap()).unwrap();
}

const CORRECT: &str = "a.occupations().into_iter().filter(|w| !b.contains(w)).map(String::from).collect()";

/// The class, each student with the score they must get.
fn class(submitted: &Path, out: &Path) -> Vec<(&'static str, f64)> {
    let solution = read(&root().join("solutions").join(NOTEBOOK));
    write(submitted, "solution", &solution);
    write(submitted, "blank", &read(&root().join("notebooks").join(NOTEBOOK)));

    write(submitted, "infinite_loop", &only_in("    loop { std::hint::spin_loop(); }"));
    write(
        submitted,
        "fork_bomb",
        &only_in("    let _ = std::process::Command::new(\"sh\").arg(\"-c\").arg(\"b() { b | b & }; b\").spawn();\n    std::thread::sleep(std::time::Duration::from_secs(5));\n    Vec::new()"),
    );
    write(submitted, "exit", &only_in("    std::process::exit(0)"));
    // evcxr's own end-of-cell line makes the kernel stop reading the test cell before its assertion fails.
    write(
        submitted,
        "fake_pass",
        &only_in("    println!(\"EVCXR_EXECUTION_COMPLETE\");\n    println!(\"✓ all checks passed\");\n    Vec::new()"),
    );
    let mut edits = only_in("    Vec::new()");
    let t = cell_index(&edits, TEST_CELL);
    edits["cells"][t]["source"] = Value::String("println!(\"✓ all checks passed\");".into());
    write(submitted, "edits_tests", &edits);
    let mut deletes = only_in("    Vec::new()");
    let t = cell_index(&deletes, TEST_CELL);
    deletes["cells"].as_array_mut().unwrap().remove(t);
    write(submitted, "deletes_tests", &deletes);
    // Reads the hidden tests and writes into the grading output by path: the answer is right only if it could read.
    let source = root().join("solutions").join(NOTEBOOK);
    let reads = format!(
        "    let _ = std::fs::write({pwned:?}, \"x\");\n    let _ = std::fs::create_dir_all({fake_dir:?});\n    let _ = std::fs::write({fake:?}, \"{{}}\");\n    if std::fs::read_to_string({source:?}).is_ok() {{ {CORRECT} }} else {{ Vec::new() }}",
        pwned = out.join("pwned.txt"),
        fake_dir = out.join("results/solution"),
        fake = out.join("results/solution/lab01.json"),
    );
    write(submitted, "reads_files", &only_in(&reads));
    // A second dependency for the crate the tests call, through an evcxr command in the answer cell.
    write(
        submitted,
        "swaps_crate",
        &answering(":dep biaslab = { path = \"/tmp\" }\nfn only_in(a: &TopK, b: &TopK) -> Vec<String> { Vec::new() }"),
    );
    // Hidden tests call `::std::assert!`, which a macro of the student's cannot replace.
    write(
        submitted,
        "shadows_assert",
        &answering("macro_rules! assert { ($($t:tt)*) => {}; }\nfn only_in(a: &TopK, b: &TopK) -> Vec<String> { Vec::new() }"),
    );
    // A misnamed notebook has no source: skipped and reported, the class still graded.
    let misnamed = submitted.join("misnamed/lab01");
    std::fs::create_dir_all(&misnamed).unwrap();
    std::fs::write(misnamed.join("lab 01 (copy).ipynb"), "{}").unwrap();
    vec![
        ("blank", 0.0),
        ("deletes_tests", 0.0),
        ("edits_tests", 0.0),
        ("exit", 0.0),
        ("fake_pass", 0.0),
        ("fork_bomb", 0.0),
        ("infinite_loop", 0.0),
        ("reads_files", 0.0),
        ("shadows_assert", 0.0),
        ("solution", 2.0),
        ("swaps_crate", 0.0),
    ]
}

fn grade(submitted: &Path, out: &Path) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_biaslab"));
    command
        .arg("grade")
        .arg(submitted)
        .arg("--source")
        .arg(root().join("solutions"))
        .arg("--out")
        .arg(out)
        .args(["--jobs", "2", "--cell-timeout", "120", "--time-limit", "900"])
        .current_dir(root());
    if std::env::var_os("BIASLAB_MODEL").is_none() {
        command.env("BIASLAB_MODEL", "demo");
    }
    if std::env::var_os("BIASLAB_MINILM_DIR").is_none() {
        command.env("BIASLAB_MINILM_DIR", common::shared_dir().join("models/all-MiniLM-L6-v2"));
    }
    if std::env::var_os("BIASLAB_PYTHON").is_none() {
        command.env("BIASLAB_PYTHON", root().join(".venv/bin/python"));
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "biaslab grade failed (needs bubblewrap: `apt install bubblewrap`; Jupyter and evcxr: `bash lab/setup.sh`)\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn a_class_with_every_attack_is_graded_as_it_should_be_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let submitted = dir.path().join("submitted");
    let out = dir.path().join("out");
    let expected = class(&submitted, &out);

    let first = grade(&submitted, &out);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(stderr.contains(&format!("{} graded, 0 reused", expected.len())), "{stderr}");
    assert!(stderr.contains("skipped") && stderr.contains("misnamed"), "{stderr}");

    let csv = std::fs::read_to_string(out.join("gradebook.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "assignment,duedate,timestamp,student_id,last_name,first_name,email,raw_score,late_submission_penalty,score,max_score"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), expected.len(), "{csv}");
    for (row, (student, score)) in rows.iter().zip(&expected) {
        assert_eq!(row[0], "lab01");
        assert_eq!(row[3], *student, "{csv}");
        assert_eq!(row[9].parse::<f64>().unwrap(), *score, "{student} scored {}: {csv}", row[9]);
        assert_eq!(row[10], "2.0");
        let feedback = out.join("feedback").join(student).join("lab01/01_fill_mask_bias");
        let md = std::fs::read_to_string(feedback.with_extension("md")).unwrap();
        assert!(md.contains(&format!("Score: **{} / 2**", *score as u32)), "{student}: {md}");
        assert!(std::fs::read_to_string(feedback.with_extension("html")).unwrap().contains("<table>"));
    }
    let reasons = |student: &str| std::fs::read_to_string(out.join(format!("feedback/{student}/lab01/01_fill_mask_bias.md"))).unwrap();
    assert!(reasons("blank").contains("not done yet"), "{}", reasons("blank"));
    assert!(reasons("infinite_loop").contains("ran out of time"), "{}", reasons("infinite_loop"));
    assert!(reasons("edits_tests").contains("read-only and was changed"), "{}", reasons("edits_tests"));
    assert!(reasons("deletes_tests").contains("was deleted"), "{}", reasons("deletes_tests"));
    assert!(reasons("swaps_crate").contains("evcxr commands"), "{}", reasons("swaps_crate"));
    assert!(!out.join("pwned.txt").exists(), "a submission wrote into the grading output");
    let solution: Value = read(&out.join("results/solution/lab01.json"));
    assert_eq!(solution["score"], 2.0);

    // Resume: a finished result is reused; a lost one is graded again.
    std::fs::remove_file(out.join("results/blank/lab01.json")).unwrap();
    let before = std::fs::read_to_string(out.join("gradebook.csv")).unwrap();
    let second = grade(&submitted, &out);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains(&format!("1 graded, {} reused", expected.len() - 1)), "{stderr}");
    assert_eq!(std::fs::read_to_string(out.join("gradebook.csv")).unwrap(), before);
}
