//! A submission put back together with the instructor's source notebook before it runs.
//!
//! As nbgrader's autograde does, the instructor's cells win: every cell that is not a solution cell (the locked
//! text and code, the visible and hidden tests) comes from the source, in the source's order, even when the student
//! edited or deleted it. Each solution cell comes from the student's notebook, found by its `grade_id`. Code cells
//! the student added run where the student put them (after the assignment cell above them). Two things differ from
//! nbgrader, both because the kernel runs Rust:
//!
//! - evcxr commands (`:dep`, `:opt`, … lines) in the student's cells are turned into comments, so a submission
//!   cannot swap the `biaslab` crate the tests call for a crate of its own;
//! - every graded code cell gets one more line at the end of its tests, which prints a mark holding a random value
//!   made for this run only. A cell scores only when its output holds its mark, so no text a submission prints
//!   ("✓ passed", or evcxr's own end-of-cell line, which would make the kernel stop reading the cell early) can pass
//!   for a finished test.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::notebook::{self, flag, grade_id, source};

/// What [`compose`] made: the notebook to run, its graded cells and what was changed in the student's work.
#[derive(Debug, Clone)]
pub struct Composed {
    /// The notebook to run, outputs cleared.
    pub notebook: Value,
    /// The graded cells, in notebook order.
    pub graded: Vec<GradedCell>,
    /// What was restored, removed or missing, in words for the student's feedback.
    pub notes: Vec<String>,
}

/// A graded cell of a composed notebook.
#[derive(Debug, Clone, PartialEq)]
pub struct GradedCell {
    /// The cell's nbgrader `grade_id`.
    pub grade_id: String,
    /// Its points.
    pub points: f64,
    /// Its index in the composed notebook.
    pub index: usize,
    /// The line the cell prints when its tests ran to the end (empty for a markdown cell, graded by hand).
    pub mark: String,
}

/// Prefix of the completion mark printed by a graded cell.
pub const MARK_PREFIX: &str = "BIASLAB-GRADED";

/// Puts `submission` back together with `source` (see the module documentation). `nonce` makes each run's marks
/// unguessable; `name` names the notebook in notes.
pub fn compose(source_nb: &Value, submission: &Value, nonce: &str) -> Composed {
    let empty = Vec::new();
    let source_cells = source_nb.get("cells").and_then(Value::as_array).unwrap_or(&empty);
    let student_cells = submission.get("cells").and_then(Value::as_array).unwrap_or(&empty);
    let released = notebook::release(source_nb, "source").ok();
    let released_cells: HashMap<String, String> = released
        .as_ref()
        .and_then(|nb| nb.get("cells").and_then(Value::as_array))
        .map(|cells| cells.iter().filter_map(|c| Some((grade_id(c)?.to_string(), source(c)))).collect())
        .unwrap_or_default();
    let source_ids: HashSet<&str> = source_cells.iter().filter_map(grade_id).collect();

    let mut notes = Vec::new();
    // The first copy of a duplicated grade_id wins.
    let mut first: HashMap<&str, &Value> = HashMap::new();
    let mut extras: HashMap<Option<&str>, Vec<&Value>> = HashMap::new();
    let mut anchor: Option<&str> = None;
    for cell in student_cells {
        match grade_id(cell).filter(|id| source_ids.contains(id)) {
            Some(id) => {
                if first.contains_key(id) {
                    notes.push(format!("Your notebook has cell `{id}` twice; the first one was used."));
                } else {
                    first.insert(id, cell);
                }
                anchor = Some(id);
            }
            None if is_code(cell) => extras.entry(anchor).or_default().push(cell),
            None => {}
        }
    }

    let mut cells = Vec::new();
    let mut graded = Vec::new();
    let mut added = 0;
    let mut push_extras = |cells: &mut Vec<Value>, notes: &mut Vec<String>, at: Option<&str>| {
        for extra in extras.get(&at).into_iter().flatten() {
            let mut cell = clean((*extra).clone());
            let (text, removed) = without_commands(&source(extra));
            if removed {
                notes.push("evcxr commands (lines starting with `:`) in a cell you added were not run.".into());
            }
            set_source(&mut cell, text);
            cells.push(cell);
            added += 1;
        }
    };
    push_extras(&mut cells, &mut notes, None);
    for scell in source_cells {
        let id = grade_id(scell);
        let mut cell = clean(scell.clone());
        if flag(scell, "solution") {
            let id = id.unwrap_or("");
            match first.get(id) {
                Some(student) if student.get("cell_type") == scell.get("cell_type") => {
                    let mut text = source(student);
                    if is_code(scell) {
                        let (kept, removed) = without_commands(&text);
                        if removed {
                            notes.push(format!(
                                "Answer cell `{id}`: evcxr commands (lines starting with `:`) were not run."
                            ));
                        }
                        text = kept;
                    }
                    set_source(&mut cell, text);
                }
                _ => {
                    notes.push(format!("Answer cell `{id}` is missing from your notebook; it was graded as not done."));
                    set_source(&mut cell, released_cells.get(id).cloned().unwrap_or_default());
                }
            }
        } else if let Some(id) = id {
            let locked = flag(scell, "locked") || flag(scell, "grade");
            match first.get(id) {
                None if locked => notes.push(format!("Cell `{id}` was deleted from your notebook; it was put back.")),
                Some(student)
                    if locked
                        && released_cells.get(id).is_some_and(|r| r.trim() != source(student).trim())
                        && source(scell).trim() != source(student).trim() =>
                {
                    notes.push(format!("Cell `{id}` is read-only and was changed in your notebook; the original was used."))
                }
                _ => {}
            }
        }
        if flag(scell, "grade") {
            let id = id.unwrap_or("").to_string();
            let points = scell.pointer("/metadata/nbgrader/points").and_then(Value::as_f64).unwrap_or(0.0);
            let mark = if is_code(scell) {
                let mark = format!("{MARK_PREFIX} {id} {nonce}");
                let text = with_mark(&source(&cell), &mark);
                set_source(&mut cell, text);
                mark
            } else {
                String::new()
            };
            graded.push(GradedCell { grade_id: id, points, index: cells.len(), mark });
        }
        cells.push(cell);
        push_extras(&mut cells, &mut notes, id);
    }
    if added > 0 {
        notes.push(format!("{added} code cell(s) you added were run where you put them."));
    }
    notes.dedup();
    let mut notebook = source_nb.clone();
    notebook["cells"] = Value::Array(cells);
    Composed { notebook, graded, notes }
}

fn is_code(cell: &Value) -> bool {
    cell.get("cell_type").and_then(Value::as_str) == Some("code")
}

/// A copy of `cell` with its outputs cleared.
fn clean(mut cell: Value) -> Value {
    if is_code(&cell) {
        cell["outputs"] = Value::Array(Vec::new());
        cell["execution_count"] = Value::Null;
    }
    cell
}

fn set_source(cell: &mut Value, text: String) {
    cell["source"] = Value::String(text);
}

/// `text` with every evcxr command line (`:dep …`, but not a `::path`) turned into a comment, and whether any was.
pub fn without_commands(text: &str) -> (String, bool) {
    let mut removed = false;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            let trimmed = line.trim_start();
            if trimmed.starts_with(':') && !trimmed.starts_with("::") {
                removed = true;
                format!("// not run when graded: {trimmed}")
            } else {
                line.to_string()
            }
        })
        .collect();
    (lines.join("\n"), removed)
}

/// `text` with the line printing `mark` after its last `// END HIDDEN TESTS` line (so a value the cell shows
/// after its tests is still shown), or else at its end, after a `;` that ends any trailing expression.
pub fn with_mark(text: &str, mark: &str) -> String {
    let print = format!("::std::println!(\"{{}}\", {mark:?});");
    let lines: Vec<&str> = text.lines().collect();
    let end_hidden = lines.iter().rposition(|line| {
        let t = line.trim();
        t.starts_with("//") && t.trim_start_matches('/').trim() == "END HIDDEN TESTS"
    });
    match end_hidden {
        Some(at) => {
            let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            out.insert(at + 1, print);
            out.join("\n")
        }
        None => format!("{}\n;\n{print}", text.trim_end()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notebook::nbgrader_metadata;
    use serde_json::json;

    fn cell(kind: &str, id: &str, grade: bool, solution: bool, locked: bool, points: Option<f64>, text: &str) -> Value {
        json!({"cell_type": kind, "metadata": nbgrader_metadata(id, grade, solution, locked, points),
               "source": text, "outputs": [], "execution_count": null})
    }

    fn source_notebook() -> Value {
        json!({"cells": [
            cell("code", "setup", false, false, true, None, ":dep biaslab = { path = \"..\" }"),
            cell("code", "answer", false, true, false, None, "fn f() -> u32 {\n    // BEGIN SOLUTION\n    1\n    // END SOLUTION\n}"),
            cell("code", "tests", true, false, true, Some(2.0), "let r = f();\n// BEGIN HIDDEN TESTS\nassert_eq!(r, 1);\n// END HIDDEN TESTS\nr"),
        ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    }

    fn texts(composed: &Composed) -> Vec<String> {
        composed.notebook["cells"].as_array().unwrap().iter().map(source).collect()
    }

    #[test]
    fn the_students_answer_runs_with_the_instructors_hidden_tests_and_a_mark() {
        let src = source_notebook();
        let mut sub = notebook::release(&src, "t").unwrap();
        sub["cells"][1]["source"] = json!("fn f() -> u32 { 1 }");
        let composed = compose(&src, &sub, "n0nce");
        let t = texts(&composed);
        assert_eq!(t[1], "fn f() -> u32 { 1 }");
        assert!(t[2].contains("assert_eq!(r, 1);"), "hidden tests are put back: {}", t[2]);
        assert_eq!(t[2].lines().nth(4).unwrap(), "::std::println!(\"{}\", \"BIASLAB-GRADED tests n0nce\");");
        assert_eq!(t[2].lines().last().unwrap(), "r", "the cell still shows its value");
        assert_eq!(composed.graded, vec![GradedCell { grade_id: "tests".into(), points: 2.0, index: 2, mark: "BIASLAB-GRADED tests n0nce".into() }]);
        assert!(composed.notes.is_empty(), "{:?}", composed.notes);
    }

    #[test]
    fn edited_and_deleted_locked_cells_come_back_from_the_source() {
        let src = source_notebook();
        let mut sub = notebook::release(&src, "t").unwrap();
        sub["cells"][2]["source"] = json!("println!(\"✓ passed\");");
        sub["cells"].as_array_mut().unwrap().remove(0);
        let composed = compose(&src, &sub, "x");
        let t = texts(&composed);
        assert_eq!(t[0], ":dep biaslab = { path = \"..\" }");
        assert!(t[2].starts_with("let r = f();"));
        assert_eq!(composed.notes.len(), 2, "{:?}", composed.notes);
    }

    #[test]
    fn commands_in_the_students_cells_are_not_run_and_added_cells_stay_in_place() {
        let src = source_notebook();
        let mut sub = notebook::release(&src, "t").unwrap();
        sub["cells"][1]["source"] = json!(":dep biaslab = { path = \"/tmp/mine\" }\nfn f() -> u32 { ::std::convert::identity(1) }");
        let extra = json!({"cell_type": "code", "metadata": {}, "source": "fn helper() {}", "outputs": [], "execution_count": null});
        sub["cells"].as_array_mut().unwrap().insert(2, extra);
        let composed = compose(&src, &sub, "x");
        let t = texts(&composed);
        assert_eq!(t[1], "// not run when graded: :dep biaslab = { path = \"/tmp/mine\" }\nfn f() -> u32 { ::std::convert::identity(1) }");
        assert_eq!(t[2], "fn helper() {}");
        assert_eq!(composed.graded[0].index, 3);
    }

    #[test]
    fn a_missing_answer_cell_is_the_stub_and_is_noted() {
        let src = source_notebook();
        let mut sub = notebook::release(&src, "t").unwrap();
        sub["cells"].as_array_mut().unwrap().remove(1);
        let composed = compose(&src, &sub, "x");
        assert!(texts(&composed)[1].contains("todo!()"));
        assert!(composed.notes[0].contains("missing"), "{:?}", composed.notes);
    }

    #[test]
    fn a_mark_without_hidden_tests_goes_after_a_semicolon() {
        assert_eq!(with_mark("let x = 1;\nx", "M 1"), "let x = 1;\nx\n;\n::std::println!(\"{}\", \"M 1\");");
    }
}
