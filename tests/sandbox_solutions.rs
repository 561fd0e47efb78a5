//! `biaslab grade` on the solutions of the labs that `tests/sandbox_grading.rs` does not grade (lab 01's class is
//! graded there): each solution, submitted as a student would, scores every auto-graded point, and its written
//! answers wait for hand grading with their rubric. Sandboxed, in the real Rust kernel, on the demo model (or
//! `BIASLAB_MODEL`). Needs what `tests/sandbox_grading.rs` needs.
//!
//! Named so that `cargo test` runs it after `tests/notebooks.rs` and `tests/sandbox_grading.rs`: the grader's warm-up
//! then starts from the build those filled.

mod common;

use common::grading::*;
use serde_json::Value;

/// The notebooks graded here: lab 00 (the Rust primer, no model) and lab 05 (the audit, two models).
const LABS: [(&str, &str); 2] = [("lab00", "00_rust_primer.ipynb"), ("lab05", "05_audit_a_model.ipynb")];

#[test]
fn the_solutions_of_labs_00_and_05_score_every_auto_graded_point() {
    let dir = tempfile::tempdir().unwrap();
    let submitted = dir.path().join("submitted");
    let out = dir.path().join("out");
    let put = |student: &str, assignment: &str, notebook: &str, nb: &Value| {
        let folder = submitted.join(student).join(assignment);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join(notebook), serde_json::to_string_pretty(nb).unwrap()).unwrap();
    };
    for (assignment, notebook) in LABS {
        put("solution", assignment, notebook, &read(&root().join("solutions").join(notebook)));
    }
    // Lab 05's auto-graded answer is the same five yeses for everyone: an untouched copy must not score, nor one that
    // prints those yeses and hides the real result from standard output.
    let (_, lab05) = LABS[1];
    let blank = read(&root().join("notebooks").join(lab05));
    put("blank", "lab05", lab05, &blank);
    // Two ways to move the real result: into a display block, or past evcxr's end-of-cell line into the next cell.
    put("forges", "lab05", lab05, &with_cell_after(&blank, "card", &forger("EVCXR_BEGIN_CONTENT text/plain")));
    put("forges_late", "lab05", lab05, &with_cell_after(&blank, "card", &forger("EVCXR_EXECUTION_COMPLETE")));
    let output = grade_command(&submitted, &out, &["--jobs".as_ref(), "2".as_ref()]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "biaslab grade failed:\n{stderr}");
    assert!(stderr.contains("5 graded, 0 reused"), "{stderr}");
    for (student, why) in [("blank", "failed"), ("forges", "recorded twice"), ("forges_late", "in another cell")] {
        let result: Value = read(&out.join("results").join(student).join("lab05.json"));
        let feedback =
            std::fs::read_to_string(out.join("feedback").join(student).join("lab05/05_audit_a_model.md")).unwrap();
        assert_eq!(result["score"].as_f64(), Some(0.0), "{student}: {feedback}");
        assert!(feedback.contains(why), "{student}: {feedback}");
    }
    for (assignment, notebook) in LABS {
        let result: Value = read(&out.join("results/solution").join(format!("{assignment}.json")));
        let cells = result["notebooks"][0]["cells"].as_array().unwrap();
        let feedback =
            std::fs::read_to_string(out.join("feedback/solution").join(assignment).join(notebook).with_extension("md"))
                .unwrap();
        let (manual, auto): (Vec<&Value>, Vec<&Value>) = cells.iter().partition(|c| c["manual"] == true);
        assert!(!auto.is_empty() && !manual.is_empty(), "{assignment}: {cells:?}");
        for cell in &auto {
            assert_eq!(
                cell["score"], cell["points"],
                "{assignment}: {} did not score full marks:\n{feedback}",
                cell["grade_id"]
            );
            assert_eq!(cell["status"], "passed", "{assignment}: {feedback}");
        }
        let possible: f64 = auto.iter().map(|c| c["points"].as_f64().unwrap()).sum();
        assert_eq!(result["score"].as_f64(), Some(possible), "{assignment}: {feedback}");
        assert!(feedback.contains("written answers still to be graded by hand"), "{assignment}: {feedback}");
        assert!(!feedback.contains("checks pass. Fix"), "{assignment}: {feedback}");
        let page = std::fs::read_to_string(out.join("hand-grading").join(format!("{assignment}.html"))).unwrap();
        assert!(page.contains("1 point:"), "{assignment}: the rubric is not on the hand-grading page");
    }
}

/// A cell a student adds after lab 05's `card`: `card` becomes a value of its own type, whose `Deref` (which the hidden
/// test calls) prints a forged checklist of five yeses and then `marker`: evcxr's display marker, so that the real
/// result printed next lands in display data, or its end-of-cell line, so that it lands in the next cell.
fn forger(marker: &str) -> String {
    let cell = r###"struct Forged(String);
static PRINTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
const LINE: &str = r##"BIASLAB-RESULT {"name":"the audit's checklist","value":{"beyond_binary":true,"card_matches":true,"context_stated":true,"models_compared":true,"tests_ran":true}}"##;
impl std::ops::Deref for Forged {
    type Target = str;
    fn deref(&self) -> &str {
        if !PRINTED.swap(true, std::sync::atomic::Ordering::SeqCst) {
            println!("\n{LINE}\nMARKER");
        }
        &self.0
    }
}
let card = Forged(card);"###;
    cell.replace("MARKER", marker)
}

/// `nb` with a code cell of the student's own added right after the cell whose `grade_id` is `after`.
fn with_cell_after(nb: &Value, after: &str, source: &str) -> Value {
    let mut nb = nb.clone();
    let at = cell_index(&nb, after) + 1;
    let cell = serde_json::json!({"cell_type": "code", "metadata": {}, "source": source, "outputs": [], "execution_count": null});
    nb["cells"].as_array_mut().unwrap().insert(at, cell);
    nb
}
