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
//! - the cells' `biaslab` metadata (the graded cells' comparison rules) is left out: the notebook that runs holds
//!   the tests' code, never how their results are judged (that is decided outside the kernel: [`super::results`]).

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::course::notebook::{self, flag, grade_id, source};

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
    /// Its index in the composed notebook, and in the source notebook.
    pub index: usize,
    /// Its index in the source notebook.
    pub source_index: usize,
    /// Whether it is a code cell (scored from its recorded results); a markdown cell is graded by hand.
    pub code: bool,
    /// The lines of its hidden tests (trimmed): an output line that quotes one (a compile error does) is not shown
    /// to the student.
    pub hidden: Vec<String>,
}

/// Puts `submission` back together with `source` (see the module documentation).
pub fn compose(source_nb: &Value, submission: &Value) -> Composed {
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
    let student = StudentCells::index(student_cells, &source_ids, &mut notes);
    let mut cells = Vec::new();
    let mut graded = Vec::new();
    let mut student_texts: Vec<String> = Vec::new();
    let mut added = 0;
    let mut push_extras =
        |cells: &mut Vec<Value>, notes: &mut Vec<String>, texts: &mut Vec<String>, at: Option<&str>| {
            for extra in student.extras.get(&at).into_iter().flatten() {
                let mut cell = clean((*extra).clone());
                let (text, removed) = without_commands(&source(extra));
                if removed {
                    notes.push("evcxr commands (lines starting with `:`) in a cell you added were not run.".into());
                }
                texts.push(text.clone());
                set_source(&mut cell, text);
                cells.push(cell);
                added += 1;
            }
        };
    push_extras(&mut cells, &mut notes, &mut student_texts, None);
    for (source_index, scell) in source_cells.iter().enumerate() {
        let id = grade_id(scell);
        let mut cell = clean(scell.clone());
        if let Some(metadata) = cell.get_mut("metadata").and_then(Value::as_object_mut) {
            metadata.remove("biaslab");
        }
        if flag(scell, "solution") {
            let id = id.unwrap_or("");
            match student.answer(id, scell, &mut notes) {
                Some(text) => {
                    if is_code(scell) {
                        student_texts.push(text.clone());
                    }
                    set_source(&mut cell, text);
                }
                None => set_source(&mut cell, released_cells.get(id).cloned().unwrap_or_default()),
            }
        } else if let Some(id) = id {
            student.check_instructor_cell(id, scell, released_cells.get(id), &mut notes);
        }
        if flag(scell, "grade") {
            let points = scell.pointer("/metadata/nbgrader/points").and_then(Value::as_f64).unwrap_or(0.0);
            let hidden = notebook::hidden_lines(&source(scell)).into_iter().filter(|l| l.len() >= 6).collect();
            graded.push(GradedCell {
                grade_id: id.unwrap_or("").to_string(),
                points,
                index: cells.len(),
                source_index,
                code: is_code(scell),
                hidden,
            });
        }
        cells.push(cell);
        push_extras(&mut cells, &mut notes, &mut student_texts, id);
    }
    if added > 0 {
        notes.push(format!("{added} code cell(s) you added were run where you put them."));
    }
    notes.extend(shadowing_notes(&cells, &student_texts));
    notes.dedup();
    // The grader's own last cell: output a cell sends after the kernel said it had finished (a submission can print
    // evcxr's end-of-cell line) shows up in the next cell, this one when nothing else follows, where the grader
    // finds it; and its own line, when missing there, says the output got out of step
    // ([`crate::grade::results::out_of_step`]).
    cells.push(serde_json::json!({
        "cell_type": "code",
        "execution_count": null,
        "metadata": {"biaslab": {"grader": "catches output sent late"}},
        "outputs": [],
        "source": format!(
            "// The grader's last cell: it catches output sent after a cell had finished.\nprintln!(\"{}\");",
            crate::grade::results::IN_STEP
        ),
    }));
    let mut notebook = source_nb.clone();
    notebook["cells"] = Value::Array(cells);
    Composed { notebook, graded, notes }
}

/// The student's notebook by cell: the first copy of each of the source's `grade_id`s, and the code cells the
/// student added, each after the known cell above it (`None`: before all of them).
struct StudentCells<'a> {
    first: HashMap<&'a str, &'a Value>,
    extras: HashMap<Option<&'a str>, Vec<&'a Value>>,
}

impl<'a> StudentCells<'a> {
    fn index(student_cells: &'a [Value], source_ids: &HashSet<&str>, notes: &mut Vec<String>) -> Self {
        let mut cells = StudentCells { first: HashMap::new(), extras: HashMap::new() };
        let mut anchor: Option<&str> = None;
        for cell in student_cells {
            match grade_id(cell).filter(|id| source_ids.contains(id)) {
                Some(id) => {
                    if cells.first.contains_key(id) {
                        notes.push(format!("Your notebook has cell `{id}` twice; the first one was used."));
                    } else {
                        cells.first.insert(id, cell);
                    }
                    anchor = Some(id);
                }
                None if is_code(cell) => cells.extras.entry(anchor).or_default().push(cell),
                None => {}
            }
        }
        cells
    }

    /// The student's text of answer cell `id` (evcxr commands removed from code, with a note), or `None` with a
    /// note when the cell is missing or of another kind than the source's `scell`.
    fn answer(&self, id: &str, scell: &Value, notes: &mut Vec<String>) -> Option<String> {
        match self.first.get(id) {
            Some(student) if student.get("cell_type") == scell.get("cell_type") => {
                let text = source(student);
                if !is_code(scell) {
                    return Some(text);
                }
                let (kept, removed) = without_commands(&text);
                if removed {
                    notes.push(format!("Answer cell `{id}`: evcxr commands (lines starting with `:`) were not run."));
                }
                Some(kept)
            }
            _ => {
                notes.push(format!("Answer cell `{id}` is missing from your notebook; it was graded as not done."));
                None
            }
        }
    }

    /// Notes on instructor cell `id` (the source's `scell`, `released` its text in the student copy): put back when
    /// deleted, or restored when a read-only cell was changed. The source's cell is used either way.
    fn check_instructor_cell(&self, id: &str, scell: &Value, released: Option<&String>, notes: &mut Vec<String>) {
        let locked = flag(scell, "locked") || flag(scell, "grade");
        match self.first.get(id) {
            None if locked => notes.push(format!("Cell `{id}` was deleted from your notebook; it was put back.")),
            Some(student)
                if locked
                    && released.is_some_and(|r| r.trim() != source(student).trim())
                    && source(scell).trim() != source(student).trim() =>
            {
                notes.push(format!("Cell `{id}` is read-only and was changed in your notebook; the original was used."))
            }
            _ => {}
        }
    }
}

/// Notes on names the student's code (`student_texts`) declares that the instructor's cells use as a path or a macro
/// (`lab01::…`, `assert!`).
fn shadowing_notes(cells: &[Value], student_texts: &[String]) -> Vec<String> {
    let mut used = HashSet::new();
    let mut declared = Vec::new();
    for cell in cells.iter().filter(|c| is_code(c)) {
        let text = source(cell);
        if student_texts.contains(&text) {
            declared.extend(declared_names(&text));
        } else {
            used.extend(path_roots(&text));
        }
    }
    declared.sort();
    declared.dedup();
    declared
        .into_iter()
        .filter(|name| used.contains(name))
        .map(|name| {
            format!(
                "Your code defines `{name}`, a name the notebook's own cells use: they ran with yours. The grade does \
                 not depend on it: the grader compares the values your answers give."
            )
        })
        .collect()
}

/// The names of the items `text` declares at any depth: modules, functions, macros, types, constants, and the
/// names `use … as` and `extern crate … as` give.
fn declared_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in text.lines() {
        let mut rest = line.trim_start();
        for prefix in ["pub(crate) ", "pub(super) ", "pub ", "unsafe ", "async ", "const fn "] {
            rest = rest.strip_prefix(prefix).map(str::trim_start).unwrap_or(rest);
        }
        let keywords =
            ["mod ", "macro_rules! ", "fn ", "struct ", "enum ", "trait ", "type ", "const ", "static ", "union "];
        let name = keywords.iter().find_map(|k| rest.strip_prefix(k)).or_else(|| {
            (rest.starts_with("use ") || rest.starts_with("extern crate "))
                .then(|| rest.rsplit_once(" as ").map(|(_, n)| n))?
        });
        if let Some(name) = name {
            let name: String = name.trim_start().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                names.push(name);
            }
        }
    }
    names
}

/// The identifiers `text` uses as the first segment of a path (`lab01` in `lab01::check`, not `::biaslab::lab01`)
/// or as a macro (`assert` in `assert!`).
fn path_roots(text: &str) -> HashSet<String> {
    let mut roots = HashSet::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_alphabetic() || chars[i] == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let after_path = start >= 2 && chars[start - 1] == ':' && chars[start - 2] == ':';
            let is_root = chars.get(i..i + 2) == Some(&[':', ':']) || chars.get(i) == Some(&'!');
            if is_root && !after_path && !(start >= 1 && (chars[start - 1] == '.' || chars[start - 1] == '\'')) {
                roots.insert(chars[start..i].iter().collect());
            }
        } else {
            i += 1;
        }
    }
    roots
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
pub(crate) fn without_commands(text: &str) -> (String, bool) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::course::notebook::nbgrader_metadata;
    use serde_json::json;

    fn cell(kind: &str, id: &str, grade: bool, solution: bool, locked: bool, points: Option<f64>, text: &str) -> Value {
        json!({"cell_type": kind, "metadata": nbgrader_metadata(id, grade, solution, locked, points),
               "source": text, "outputs": [], "execution_count": null})
    }

    fn source_notebook() -> Value {
        let mut nb = json!({"cells": [
            cell("code", "setup", false, false, true, None, ":dep biaslab = { path = \"..\" }"),
            cell("code", "answer", false, true, false, None, "fn f() -> u32 {\n    // BEGIN SOLUTION\n    1\n    // END SOLUTION\n}"),
            cell("code", "tests", true, false, true, Some(2.0), "let r = f();\n// BEGIN HIDDEN TESTS\nassert_eq!(r, 1);\n// END HIDDEN TESTS\nr"),
        ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5});
        nb["cells"][2]["metadata"]["biaslab"] = json!({"compare": {"tolerance": 1e-9}});
        nb
    }

    fn texts(composed: &Composed) -> Vec<String> {
        composed.notebook["cells"].as_array().unwrap().iter().map(source).collect()
    }

    #[test]
    fn an_answer_that_shadows_a_name_the_tests_use_gets_a_note_and_nothing_else_does() {
        let src = source_notebook();
        let mut sub = notebook::release(&src, "t").unwrap();
        sub["cells"][1]["source"] = json!("fn f() -> u32 { 1 }\nmacro_rules! assert_eq { ($a:expr, $b:expr) => {} }");
        let composed = compose(&src, &sub);
        let shadowing: Vec<&String> = composed.notes.iter().filter(|n| n.contains("ran with yours")).collect();
        assert_eq!(shadowing.len(), 1, "{:?}", composed.notes);
        assert!(
            shadowing[0].contains("`assert_eq`") && shadowing[0].contains("does not depend on it"),
            "{shadowing:?}"
        );
        sub["cells"][1]["source"] = json!("fn f() -> u32 { 1 }\nfn unused_by_the_tests() {}");
        assert!(compose(&src, &sub).notes.iter().all(|n| !n.contains("ran with yours")));
    }

    #[test]
    fn the_students_answer_runs_with_the_instructors_hidden_tests_and_no_rule() {
        let src = source_notebook();
        let mut sub = notebook::release(&src, "t").unwrap();
        sub["cells"][1]["source"] = json!("fn f() -> u32 { 1 }");
        let composed = compose(&src, &sub);
        let t = texts(&composed);
        assert_eq!(t[1], "fn f() -> u32 { 1 }");
        assert!(t[2].contains("assert_eq!(r, 1);"), "hidden tests are put back: {}", t[2]);
        assert_eq!(t[2], source(&src["cells"][2]), "the tests run as the instructor wrote them");
        let hidden = vec!["assert_eq!(r, 1);".to_string()];
        let graded =
            GradedCell { grade_id: "tests".into(), points: 2.0, index: 2, source_index: 2, code: true, hidden };
        assert_eq!(composed.graded, vec![graded]);
        assert!(src["cells"][2]["metadata"]["biaslab"]["compare"].is_object());
        assert!(composed.notebook["cells"][2]["metadata"].get("biaslab").is_none(), "the rule stays with the grader");
        assert!(composed.notes.is_empty(), "{:?}", composed.notes);
    }

    #[test]
    fn edited_and_deleted_locked_cells_come_back_from_the_source() {
        let src = source_notebook();
        let mut sub = notebook::release(&src, "t").unwrap();
        sub["cells"][2]["source"] = json!("println!(\"✓ passed\");");
        sub["cells"].as_array_mut().unwrap().remove(0);
        let composed = compose(&src, &sub);
        let t = texts(&composed);
        assert_eq!(t[0], ":dep biaslab = { path = \"..\" }");
        assert!(t[2].starts_with("let r = f();"));
        assert_eq!(composed.notes.len(), 2, "{:?}", composed.notes);
    }

    #[test]
    fn commands_in_the_students_cells_are_not_run_and_added_cells_stay_in_place() {
        let src = source_notebook();
        let mut sub = notebook::release(&src, "t").unwrap();
        sub["cells"][1]["source"] =
            json!(":dep biaslab = { path = \"/tmp/mine\" }\nfn f() -> u32 { ::std::convert::identity(1) }");
        let extra = json!({"cell_type": "code", "metadata": {}, "source": "fn helper() {}", "outputs": [], "execution_count": null});
        sub["cells"].as_array_mut().unwrap().insert(2, extra);
        let composed = compose(&src, &sub);
        let t = texts(&composed);
        assert_eq!(t[1], "// not run when graded: :dep biaslab = { path = \"/tmp/mine\" }\nfn f() -> u32 { ::std::convert::identity(1) }");
        assert_eq!(t[2], "fn helper() {}");
        assert_eq!(composed.graded[0].index, 3);
    }

    #[test]
    fn a_name_of_the_students_that_the_tests_use_is_noted() {
        let src = source_notebook();
        let mut sub = notebook::release(&src, "t").unwrap();
        sub["cells"][1]["source"] =
            json!("macro_rules! assert_eq { ($($t:tt)*) => {}; }\npub mod helpers { }\nfn f() -> u32 { 1 }");
        let notes = compose(&src, &sub).notes;
        assert!(notes.iter().any(|n| n.contains("`assert_eq`")), "{notes:?}");
        assert!(!notes.iter().any(|n| n.contains("`helpers`") || n.contains("`f`")), "{notes:?}");
        assert_eq!(
            declared_names("pub(crate) mod lab01 {\n    pub fn check_only_in() {}\n}\nuse std::fmt as lab02;"),
            ["lab01", "check_only_in", "lab02"]
        );
        let roots = path_roots("let r = lab01::check(x.y::<u8>());\n::biaslab::lab02::f();\nassert!(r);");
        assert_eq!(roots, ["lab01", "assert"].iter().map(|s| s.to_string()).collect());
    }

    #[test]
    fn a_missing_answer_cell_is_the_stub_and_is_noted() {
        let src = source_notebook();
        let mut sub = notebook::release(&src, "t").unwrap();
        sub["cells"].as_array_mut().unwrap().remove(1);
        let composed = compose(&src, &sub);
        assert!(texts(&composed)[1].contains("todo!()"));
        assert!(composed.notes[0].contains("missing"), "{:?}", composed.notes);
    }
}
