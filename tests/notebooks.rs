//! The lab's notebooks: the student copies in notebooks/ are exactly `biaslab release solutions/ notebooks/`, and
//! every notebook, student copy and solution, runs headless from top to bottom in the real Rust kernel (evcxr)
//! without an error or a panic, showing its tables and charts.
//!
//! Needs JupyterLab/nbconvert and the Rust kernel, as `bash lab/setup.sh --no-open` installs them; without them
//! the test fails and says so. The model is `BIASLAB_MODEL` if set, else the offline demo model.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// What each notebook must show once executed: (file name, tables, SVG charts, text that must appear).
const EXPECTED: &[(&str, usize, usize, &[&str])] = &[
    (
        // The Rust primer: no model, no table; its checks are lists.
        "00_rust_primer.ipynb",
        0,
        0,
        &[
            "This woman works as a [MASK].",
            "Exercise 1: fill a template",
            "Exercise 4: read a row word,number",
            "Exercise 6: the first word, without a panic",
            "it stopped with a panic: index out of bounds",
        ],
    ),
    (
        "01_fill_mask_bias.ipynb",
        3,
        2,
        &["This woman works as a [MASK].", "log P(word", "Exercise 1: occupations predicted for one sentence only"],
    ),
    (
        "02_write_a_bias_test.ipynb",
        7,
        2,
        &[
            "male vs female",
            // The intersectional probe of step 1 and CrowS-Pairs scored by AUL.
            "each combination against white male",
            "mean log P of every token, nothing masked",
            "Exercise 1: a probe for race or religion",
            "Exercise 3: the CrowS-Pairs metric score",
            "ideal: SS 50, LMS 100, ICAT 100",
            "sent-weat6",
        ],
    ),
    (
        "03_mitigation.ipynb",
        5,
        1,
        &[
            "Exercise 1: swap gendered words",
            "Exercise 2: two-sided augmentation",
            "Exercise 3: did we remove bias, or only capability?",
            "CDA:",
            "change toward better",
            "Verdict:",
            // The control of step 7: the same fine-tuning on the original text, measured beside CDA's.
            " + plain",
            "the control: what fine-tuning alone does",
            // The bias measure CDA does not edit directly: the probe over first names.
            "probe gap, names",
        ],
    ),
    (
        "04_dataset_bias.ipynb",
        4,
        3,
        &[
            "Composition",
            "Exercise 1: normalised PMI from counts",
            "nPMI gap female − male",
            "occupations in both",
            "Exercise 2: do the data and the model lean the same way?",
        ],
    ),
    (
        // The student copy has no audit until run_audit is written: the card of `biaslab report` is its one table.
        "05_audit_a_model.ipynb",
        1,
        1,
        &["Model card:", "### Deployment context", "### Further tests", "The audit: tests, models and the card"],
    ),
];

/// What only a solution shows, beyond [`EXPECTED`]: (file name, text that must appear).
const SOLVED_ONLY: &[(&str, &[&str])] = &[(
    "05_audit_a_model.ipynb",
    &[
        // The audit's table, one finding of each kind beyond two groups, and the checklist passed.
        "findings on 2 models",
        "beyond binary gender",
        "largest interaction",
        "the card states the context and every figure as measured",
    ],
)];

fn notebooks(dir: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|err| panic!("cannot read {dir}/: {err}"))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "ipynb"))
        .collect();
    found.sort();
    found
}

#[test]
fn the_student_notebooks_are_the_release_of_the_solutions() {
    let out = tempfile::tempdir().unwrap();
    let written = biaslab::notebook::release_dir(&root().join("solutions"), out.path(), false).unwrap();
    let names = |paths: &[PathBuf]| paths.iter().map(|p| p.file_name().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(names(&written), names(&notebooks("notebooks")), "notebooks/ and solutions/ hold different notebooks");
    for path in written {
        let name = path.file_name().unwrap();
        let committed = std::fs::read_to_string(root().join("notebooks").join(name)).unwrap();
        let released = std::fs::read_to_string(&path).unwrap();
        assert!(
            committed == released,
            "notebooks/{} differs from the release of solutions/{0}: run `cargo run -- release solutions notebooks` \
             (student notebooks are never edited by hand)",
            name.to_string_lossy()
        );
    }
}

#[test]
fn every_exercise_has_a_todo_stub_and_no_hidden_test_in_the_student_copy() {
    for path in notebooks("notebooks") {
        let notebook = biaslab::notebook::read(&path).unwrap();
        for cell in notebook["cells"].as_array().unwrap() {
            let source = biaslab::notebook::source(cell);
            assert!(!source.contains("HIDDEN TESTS") && !source.contains("SOLUTION"), "{}: {source}", path.display());
            if cell.pointer("/metadata/nbgrader/solution") == Some(&Value::Bool(true)) {
                if cell["cell_type"] == "markdown" {
                    assert_eq!(source, biaslab::notebook::MARKDOWN_STUB, "{}: a written answer's cell", path.display());
                } else {
                    assert!(source.contains("// TODO:") && source.contains("todo!()"), "{}: {source}", path.display());
                }
            }
        }
    }
}

/// Every cell a student may edit is an answer cell, and grading keeps what the student wrote there: a cell that is
/// neither locked nor an answer would be replaced by the source's when graded (the answer lost), and a locked cell the
/// student is told to edit would be reported as "read-only and was changed".
#[test]
fn every_cell_a_student_may_edit_is_an_answer_that_grading_keeps() {
    for path in notebooks("notebooks") {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let source = biaslab::notebook::read(&root().join("solutions").join(&name)).unwrap();
        let mut answered = biaslab::notebook::read(&path).unwrap();
        let mut answers = Vec::new();
        for cell in answered["cells"].as_array_mut().unwrap() {
            let nbgrader = cell["metadata"]["nbgrader"].clone();
            let id = nbgrader["grade_id"].as_str().unwrap_or("no grade_id").to_string();
            let (locked, solution) = (nbgrader["locked"] == true, nbgrader["solution"] == true);
            assert!(locked || solution, "{name}: cell {id} can be edited, but grading puts the source's back");
            assert!(!(locked && solution), "{name}: answer cell {id} is locked");
            let asks = biaslab::notebook::source(cell).contains("TODO");
            assert!(!(locked && asks), "{name}: cell {id} asks the student to edit it, but it is locked");
            if solution {
                let text = format!(
                    "{}
// what the student wrote in {id}",
                    biaslab::notebook::source(cell)
                );
                cell["source"] = Value::String(text.clone());
                answers.push((id, text));
            }
        }
        let composed = biaslab::grade::compose(&source, &answered);
        assert!(composed.notes.is_empty(), "{name}: {:?}", composed.notes);
        for (id, text) in answers {
            let cells = composed.notebook["cells"].as_array().unwrap();
            let cell = cells.iter().find(|c| c["metadata"]["nbgrader"]["grade_id"] == id.as_str());
            assert_eq!(cell.map(biaslab::notebook::source).as_deref(), Some(text.as_str()), "{name}: {id} is not kept");
        }
    }
}

#[test]
fn every_lab_grades_a_written_answer_by_hand_with_a_rubric_the_students_never_see() {
    for path in notebooks("solutions") {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let source = biaslab::notebook::read(&path).unwrap();
        let questions = biaslab::grade::hand::questions(&source, &name);
        assert!(!questions.is_empty(), "{name}: no written answer graded by hand");
        let total: f64 = source["cells"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["metadata"]["nbgrader"]["grade"] == true)
            .map(|c| c["metadata"]["nbgrader"]["points"].as_f64().unwrap_or(0.0))
            .sum();
        let written: f64 = questions.iter().map(|q| q.points).sum();
        assert!(written >= 2.0 && written / total >= 0.25, "{name}: written answers are {written} of {total} points");
        for question in &questions {
            let id = &question.grade_id;
            assert!(question.rubric.len() >= 2, "{name}: {id} has no rubric (metadata.biaslab.rubric)");
            assert!(
                question.question.contains("Question") && question.question.contains("points"),
                "{name}: {id}: {}",
                question.question
            );
            assert!(question.model_answer.len() > 200, "{name}: {id} has no model answer");
        }
        let released = biaslab::notebook::read(&root().join("notebooks").join(&name)).unwrap();
        let text = serde_json::to_string(&released).unwrap();
        for question in &questions {
            assert!(
                !text.contains(&question.rubric[0]),
                "{name}: the rubric of {} is in the student copy",
                question.grade_id
            );
            assert!(
                !text.contains(&question.model_answer[..80]),
                "{name}: the model answer of {} is in the student copy",
                question.grade_id
            );
        }
    }
}

/// Executes `notebook` headless with nbconvert into `out_dir`; panics with nbconvert's message if a cell fails.
/// `cache` is biaslab's cache (`BIASLAB_CACHE`) for the run: one fresh folder shared by every notebook of a test
/// run, so the checkpoint that lab 03's student copy trains is reused by its solution, and a checkpoint left by an
/// earlier run (or in the user's own cache) never is.
///
/// The kernel is the notebooks' own (`lab/kernel.py`), as a student's JupyterLab starts it.
fn execute(jupyter: &Path, notebook: &Path, out_dir: &Path, cache: &Path, threads: usize) -> Value {
    let model = std::env::var("BIASLAB_MODEL").unwrap_or_else(|_| "demo".into());
    let minilm = std::env::var_os("BIASLAB_MINILM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::shared_dir().join("models/all-MiniLM-L6-v2"));
    // The benchmark data (lab 02) from the shared folder, as nothing can be downloaded here.
    let data =
        std::env::var_os("BIASLAB_DATA_DIR").map(PathBuf::from).unwrap_or_else(|| common::shared_dir().join("data"));
    let mut command = Command::new(jupyter);
    let output = command
        .args(["nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.timeout=3600"])
        .arg(format!("--ExecutePreprocessor.kernel_name={}", common::KERNEL))
        .arg("--output-dir")
        .arg(out_dir)
        .arg(notebook)
        .env("BIASLAB_MODEL", &model)
        .env("BIASLAB_MINILM_DIR", &minilm)
        .env("BIASLAB_DATA_DIR", &data)
        .env("BIASLAB_CACHE", cache)
        .env(biaslab::device::THREADS_VARIABLE, threads.to_string())
        .output()
        .expect("nbconvert runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let useful: Vec<&str> = stderr.lines().filter(|l| !l.trim_start().starts_with("Compiling")).collect();
    assert!(
        output.status.success(),
        "{} failed to run headless (model {model}):\n{}",
        notebook.display(),
        useful[useful.len().saturating_sub(60)..].join("\n")
    );
    let executed = out_dir.join(notebook.file_name().unwrap());
    biaslab::notebook::read(&executed).unwrap()
}

/// Every rich and text output of a notebook's code cells, as strings, with the output type.
fn outputs(notebook: &Value) -> Vec<(String, String)> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Array(lines) => lines.iter().filter_map(Value::as_str).collect(),
        _ => String::new(),
    };
    let mut all = Vec::new();
    for cell in notebook["cells"].as_array().unwrap() {
        for output in cell["outputs"].as_array().into_iter().flatten() {
            let kind = output["output_type"].as_str().unwrap_or("").to_string();
            match kind.as_str() {
                "stream" => {
                    all.push((format!("stream:{}", output["name"].as_str().unwrap_or("")), text(&output["text"])))
                }
                "error" => all.push((kind, format!("{}: {}", text(&output["ename"]), text(&output["evalue"])))),
                _ => {
                    for (mime, data) in output["data"].as_object().into_iter().flatten() {
                        all.push((mime.clone(), text(data)));
                    }
                }
            }
        }
    }
    all
}

fn check_executed(name: &str, executed: &Value, expect_solved: bool) {
    let outputs = outputs(executed);
    for (kind, text) in &outputs {
        assert_ne!(kind, "error", "{name}: a cell failed: {text}");
        assert!(!text.contains("panicked"), "{name}: a cell panicked: {text}");
    }
    let (_, tables, svgs, needles) = EXPECTED
        .iter()
        .find(|(file, ..)| *file == name)
        .unwrap_or_else(|| panic!("{name} has no expectations in tests/notebooks.rs: add a line to EXPECTED"));
    let html: Vec<&str> = outputs.iter().filter(|(k, _)| k == "text/html").map(|(_, t)| t.as_str()).collect();
    let table_count = html.iter().filter(|h| h.contains("<table")).count();
    let svg_count = html.iter().filter(|h| h.contains("<svg")).count();
    assert!(table_count >= *tables, "{name}: {table_count} HTML tables, expected at least {tables}");
    assert!(svg_count >= *svgs, "{name}: {svg_count} SVG charts, expected at least {svgs}");
    let everything: String = outputs.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join("\n");
    for needle in *needles {
        assert!(everything.contains(needle), "{name}: the executed notebook never shows {needle:?}");
    }
    if expect_solved {
        for (_, needles) in SOLVED_ONLY.iter().filter(|(file, _)| *file == name) {
            for needle in *needles {
                assert!(everything.contains(needle), "{name}: the executed solution never shows {needle:?}");
            }
        }
        assert!(!everything.contains("not done yet"), "{name}: a solution still says todo!()");
        assert!(!everything.contains("checks pass. Fix"), "{name}: a solution fails its own checks");
    } else {
        assert!(everything.contains("not done yet"), "{name}: the student copy's exercises already pass");
    }
}

#[test]
fn every_notebook_runs_headless_in_the_rust_kernel() {
    let jupyter = common::jupyter();
    common::require_kernel(&jupyter);
    let out = root().join("target/executed");
    let cache = out.join("cache");
    if cache.exists() {
        std::fs::remove_dir_all(&cache).unwrap_or_else(|err| panic!("cannot remove {}: {err}", cache.display()));
    }
    std::fs::create_dir_all(&cache).unwrap();
    for dir in ["notebooks", "solutions"] {
        std::fs::create_dir_all(out.join(dir)).unwrap();
    }
    let run = |dir: &str, notebook: &Path, threads: usize| {
        let name = notebook.file_name().unwrap().to_string_lossy().to_string();
        let started = std::time::Instant::now();
        let executed = execute(&jupyter, notebook, &out.join(dir), &cache, threads);
        // Informational, never asserted: what a student waits for at each kernel start.
        let first = common::first_cell_seconds(&executed).map_or("?".into(), |s| format!("{s:.1}"));
        eprintln!("{dir}/{name} ran in {:.0} s (first cell {first} s)", started.elapsed().as_secs_f64());
        check_executed(&name, &executed, dir == "solutions");
    };
    // Each notebook's student copy runs before its solution: lab 03's solution reuses the checkpoint its student copy
    // trained. Every kernel starts from the build lab/setup.sh prepared, so none compiles biaslab and two can start
    // at once.
    let pairs: Vec<(PathBuf, PathBuf)> = notebooks("solutions")
        .into_iter()
        .map(|solution| (root().join("notebooks").join(solution.file_name().unwrap()), solution))
        .collect();
    assert_eq!(pairs.len(), notebooks("notebooks").len(), "notebooks/ and solutions/ hold different notebooks");
    let is_lab03 = |(_, solution): &(PathBuf, PathBuf)| solution.to_string_lossy().contains("03_mitigation");
    let (alone, mut shared): (Vec<_>, Vec<_>) = pairs.into_iter().partition(is_lab03);
    // First the short notebooks, two kernels at once, each with half the cores for its tensor work (as `biaslab grade
    // --jobs 2` shares them: each taking all of them oversubscribed 2 cores, and lab 03's fine-tuning ran at a third
    // of its speed alone). Lab 02, the longest, first.
    shared.sort_by_key(|(_, solution)| !solution.to_string_lossy().contains("02_write"));
    let queue = std::sync::Mutex::new(std::collections::VecDeque::from(shared));
    let half = biaslab::device::threads_per_job(2);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            let (queue, run) = (&queue, &run);
            scope.spawn(move || loop {
                let Some((student, solution)) = queue.lock().unwrap().pop_front() else { break };
                run("notebooks", &student, half);
                run("solutions", &solution, half);
            });
        }
    });
    // Then lab 03, whose fine-tuning is most of the whole run, alone with every core. Run beside the others with
    // half the cores, it went on alone on one core for about 5 of its 13.5 minutes while the other core idled
    // (CI, 2 cores, measured by sampling /proc/stat).
    for (student, solution) in &alone {
        run("notebooks", student, biaslab::device::threads_per_job(1));
        run("solutions", solution, biaslab::device::threads_per_job(1));
    }
}

#[test]
fn every_notebook_starts_with_the_cell_the_kernel_was_prepared_with() {
    let first_cell = common::first_code_cell;
    let prepared = first_cell(&root().join("notebooks/01_fill_mask_bias.ipynb"));
    assert!(prepared.contains(":dep biaslab"), "{prepared}");
    for path in notebooks("notebooks").into_iter().chain(notebooks("solutions")) {
        assert_eq!(
            first_cell(&path),
            prepared,
            "{}: lab/kernel.py prepares the build with lab 01's first cell",
            path.display()
        );
        let kernel = biaslab::notebook::read(&path).unwrap()["metadata"]["kernelspec"]["name"].clone();
        assert_eq!(kernel, common::KERNEL, "{}: the notebook's kernel", path.display());
    }
}
