//! Student notebooks made from the instructor's source notebooks, with nbgrader's conventions.
//!
//! A source notebook (in `solutions/`) marks its cells as nbgrader does, in the cell metadata
//! `nbgrader: {grade, solution, locked, grade_id, points, schema_version: 3}`, and marks code with
//! `// BEGIN SOLUTION` / `// END SOLUTION` and `// BEGIN HIDDEN TESTS` / `// END HIDDEN TESTS`. [`release`] makes
//! the student's copy as nbgrader's `generate_assignment` does: each solution region becomes a `// TODO:` line and a
//! `todo!()` stub (a solution cell without markers becomes the stub as a whole), hidden tests are removed, outputs
//! are cleared, and every graded, solution or locked cell gets nbgrader's checksum
//! ([`checksum`], the algorithm of `nbgrader.utils.compute_checksum`).

use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// What replaces a solution in a code cell (indented like the `// BEGIN SOLUTION` line).
pub(crate) const CODE_STUB: [&str; 2] = ["// TODO: write your code here, in place of todo!()", "todo!()"];
/// What replaces a solution in a markdown cell.
pub const MARKDOWN_STUB: &str = "YOUR ANSWER HERE";

/// The end of an [`Error::MalformedNotebook`] message for a file that is not a notebook: what to do about it.
const RESAVE: &str =
    "a notebook is the JSON Jupyter saves (.ipynb): restore a good copy of the file, or save it again from Jupyter";

const BEGIN_SOLUTION: &str = "BEGIN SOLUTION";
const END_SOLUTION: &str = "END SOLUTION";
const BEGIN_HIDDEN: &str = "BEGIN HIDDEN TESTS";
const END_HIDDEN: &str = "END HIDDEN TESTS";

/// Reads a notebook file as JSON, checking that it is a notebook (an object with a `cells` list).
pub fn read(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    let notebook: Value = serde_json::from_str(&text)
        .map_err(|err| Error::MalformedNotebook { path: path.to_path_buf(), reason: format!("{err}; {RESAVE}") })?;
    if !notebook.get("cells").is_some_and(Value::is_array) {
        return Err(Error::MalformedNotebook {
            path: path.to_path_buf(),
            reason: format!("it has no list of cells; {RESAVE}"),
        });
    }
    Ok(notebook)
}

/// A notebook as Jupyter writes it: JSON indented by one space, keys sorted, a newline at the end.
pub fn to_json(notebook: &Value) -> String {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b" ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(notebook, &mut serializer).expect("a JSON value serializes");
    let mut text = String::from_utf8(out).expect("serde_json writes UTF-8");
    text.push('\n');
    text
}

/// The source of a cell as one string (Jupyter stores it as a string or as a list of lines).
pub fn source(cell: &Value) -> String {
    cell.get("source").map(multiline).unwrap_or_default()
}

/// A notebook's multiline text (a cell's source, a stream's text, a result's data) as one string: Jupyter stores
/// it as a string or as a list of lines.
pub(crate) fn multiline(text: &Value) -> String {
    match text {
        Value::String(text) => text.clone(),
        Value::Array(lines) => lines.iter().filter_map(Value::as_str).collect(),
        _ => String::new(),
    }
}

pub(crate) fn flag(cell: &Value, name: &str) -> bool {
    cell.pointer(&format!("/metadata/nbgrader/{name}")).and_then(Value::as_bool).unwrap_or(false)
}

/// The cell's nbgrader `grade_id`, if it has one.
pub fn grade_id(cell: &Value) -> Option<&str> {
    cell.pointer("/metadata/nbgrader/grade_id").and_then(Value::as_str)
}

/// nbgrader's checksum of a cell (`nbgrader.utils.compute_checksum`): the MD5 of its source, its type, whether it
/// is a grade, solution and locked cell (`True`/`False`), its grade id and, for a grade cell, its points as a
/// Python float (`2.0`).
pub fn checksum(cell: &Value) -> String {
    let python_bool = |b: bool| if b { "True" } else { "False" };
    let mut md5 = Md5::new();
    md5.update(source(cell).as_bytes());
    md5.update(cell.get("cell_type").and_then(Value::as_str).unwrap_or("").as_bytes());
    md5.update(python_bool(flag(cell, "grade")).as_bytes());
    md5.update(python_bool(flag(cell, "solution")).as_bytes());
    md5.update(python_bool(flag(cell, "locked")).as_bytes());
    md5.update(grade_id(cell).unwrap_or("").as_bytes());
    if flag(cell, "grade") {
        let points = cell.pointer("/metadata/nbgrader/points").and_then(Value::as_f64).unwrap_or(0.0);
        md5.update(format!("{points:?}").as_bytes());
    }
    md5.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The student's copy of a source notebook (see the module documentation). `name` names the notebook in errors.
pub fn release(notebook: &Value, name: &str) -> Result<Value> {
    let mut released = notebook.clone();
    let cells = released.get_mut("cells").and_then(Value::as_array_mut).ok_or_else(|| Error::MalformedNotebook {
        path: PathBuf::from(name),
        reason: format!("it has no list of cells; {RESAVE}"),
    })?;
    for (index, cell) in cells.iter_mut().enumerate() {
        let place = format!("{name}, cell {} ({})", index + 1, grade_id(cell).unwrap_or("no grade_id"));
        let where_ = || place.clone();
        let markdown = cell.get("cell_type").and_then(Value::as_str) == Some("markdown");
        let mut text = source(cell);
        if flag(cell, "solution") {
            text = replace_solution(&text, markdown).map_err(|reason| Error::Notebook { cell: where_(), reason })?;
        }
        text = remove_hidden_tests(&text).map_err(|reason| Error::Notebook { cell: where_(), reason })?;
        let object = cell.as_object_mut().ok_or_else(|| Error::Notebook {
            cell: where_(),
            reason: "not an object: correct the notebook's JSON, where every cell is an object".into(),
        })?;
        object.insert("source".into(), Value::String(text));
        // The grader's comparison rules stay in the source notebook.
        if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            metadata.remove("biaslab");
        }
        if !markdown {
            object.insert("outputs".into(), Value::Array(Vec::new()));
            object.insert("execution_count".into(), Value::Null);
        }
        if flag(cell, "grade") || flag(cell, "solution") || flag(cell, "locked") {
            let sum = checksum(cell);
            if let Some(Value::Object(nbgrader)) = cell.pointer_mut("/metadata/nbgrader") {
                nbgrader.insert("checksum".into(), Value::String(sum));
            }
        }
    }
    Ok(released)
}

/// Writes the student copy of every `*.ipynb` in `source_dir` into `out_dir` (same file names), returning the
/// files written, in name order. `out_dir` is never `source_dir` (nor, unless `force`, inside it), and a notebook
/// already in `out_dir` is replaced only when biaslab released it there and it was not edited since, or with `force`
/// ([`crate::data::output`]); all of this is checked before anything is written.
pub fn release_dir(source_dir: &Path, out_dir: &Path, force: bool) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(source_dir).map_err(|source| Error::Io { path: source_dir.into(), source })?;
    let mut sources: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "ipynb"))
        .collect();
    sources.sort();
    if sources.is_empty() {
        return Err(Error::MalformedNotebook {
            path: source_dir.into(),
            reason: "the folder holds no .ipynb file: name the folder of the source notebooks (solutions/)".into(),
        });
    }
    let mut out = crate::data::output::OutputDir::open(out_dir, &[source_dir], force)?;
    let mut released = Vec::new();
    for path in sources {
        let name = path.file_name().expect("a file from read_dir has a name").to_string_lossy().into_owned();
        released.push((name, to_json(&release(&read(&path)?, &path.display().to_string())?)));
    }
    // What is already there as it would be written is the same release: not an edit to keep.
    let unchanged: Vec<bool> = released
        .iter()
        .map(|(name, json)| std::fs::read_to_string(out_dir.join(name)).is_ok_and(|t| t == *json))
        .collect();
    let to_check: Vec<String> =
        released.iter().zip(&unchanged).filter(|(_, same)| !**same).map(|((name, _), _)| name.clone()).collect();
    out.check(&to_check)?;
    let mut written = Vec::new();
    for ((name, json), same) in released.into_iter().zip(unchanged) {
        if same {
            out.record(&name)?;
            written.push(out_dir.join(&name));
        } else {
            written.push(out.write(&name, json.as_bytes())?);
        }
    }
    Ok(written)
}

/// Whether `line` is a `//` (or `#`) comment holding exactly `marker`.
fn is_marker(line: &str, marker: &str) -> bool {
    let trimmed = line.trim();
    let body = trimmed
        .strip_prefix("//")
        .or_else(|| trimmed.strip_prefix('#'))
        .map(|rest| rest.trim_start_matches(['#', '/', ' ']));
    body.is_some_and(|body| body.trim() == marker)
}

fn replace_solution(text: &str, markdown: bool) -> std::result::Result<String, String> {
    let has_markers = text.lines().any(|l| is_marker(l, BEGIN_SOLUTION) || is_marker(l, END_SOLUTION));
    if !has_markers {
        return Ok(if markdown { MARKDOWN_STUB.to_string() } else { CODE_STUB.join("\n") });
    }
    replace_regions(text, BEGIN_SOLUTION, END_SOLUTION, |indent| {
        if markdown {
            vec![format!("{indent}{MARKDOWN_STUB}")]
        } else {
            CODE_STUB.iter().map(|stub| format!("{indent}{stub}")).collect()
        }
    })
}

/// The lines of `text` inside its hidden-test regions (between the markers), trimmed, blank ones left out.
#[cfg_attr(not(unix), allow(dead_code))] // only the grader (unix) uses it
pub(crate) fn hidden_lines(text: &str) -> Vec<String> {
    let mut inside = false;
    let mut lines = Vec::new();
    for line in text.lines() {
        if is_marker(line, BEGIN_HIDDEN) {
            inside = true;
        } else if is_marker(line, END_HIDDEN) {
            inside = false;
        } else if inside && !line.trim().is_empty() {
            lines.push(line.trim().to_string());
        }
    }
    lines
}

fn remove_hidden_tests(text: &str) -> std::result::Result<String, String> {
    if !text.lines().any(|l| is_marker(l, BEGIN_HIDDEN) || is_marker(l, END_HIDDEN)) {
        return Ok(text.to_string());
    }
    replace_regions(text, BEGIN_HIDDEN, END_HIDDEN, |_| Vec::new())
}

/// Replaces each region from a `begin` marker line to an `end` marker line (both included) by the lines
/// `replacement` gives for the begin line's indentation; unbalanced markers are an error.
fn replace_regions(
    text: &str,
    begin: &str,
    end: &str,
    replacement: impl Fn(&str) -> Vec<String>,
) -> std::result::Result<String, String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if is_marker(line, begin) {
            if inside {
                return Err(format!(
                    "a second `{begin}` before `{end}`: close the first region before opening another"
                ));
            }
            inside = true;
            out.extend(replacement(&line[..line.len() - line.trim_start().len()]));
        } else if is_marker(line, end) {
            if !inside {
                return Err(format!(
                    "`{end}` without `{begin}`: add the `{begin}` line where the region starts, or remove it"
                ));
            }
            inside = false;
        } else if !inside {
            out.push(line.to_string());
        }
    }
    if inside {
        return Err(format!("`{begin}` is never closed by `{end}`: add the `{end}` line where the region ends"));
    }
    Ok(out.join("\n"))
}

/// A new nbgrader metadata object, for tests and tools that write source notebooks.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn nbgrader_metadata(
    grade_id: &str,
    grade: bool,
    solution: bool,
    locked: bool,
    points: Option<f64>,
) -> Value {
    let mut nbgrader = Map::new();
    nbgrader.insert("grade".into(), grade.into());
    nbgrader.insert("solution".into(), solution.into());
    nbgrader.insert("locked".into(), locked.into());
    nbgrader.insert("grade_id".into(), grade_id.into());
    nbgrader.insert("schema_version".into(), 3.into());
    if let Some(points) = points {
        nbgrader.insert("points".into(), points.into());
    }
    serde_json::json!({ "nbgrader": nbgrader })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cell(kind: &str, source: &str, metadata: Value) -> Value {
        json!({"cell_type": kind, "metadata": metadata, "source": source, "outputs": [{"output_type": "stream"}], "execution_count": 3})
    }

    #[test]
    fn solutions_become_todo_stubs_with_their_indentation() {
        let source = "fn f() -> u32 {\n    // BEGIN SOLUTION\n    42\n    // END SOLUTION\n}";
        assert_eq!(
            replace_solution(source, false).unwrap(),
            "fn f() -> u32 {\n    // TODO: write your code here, in place of todo!()\n    todo!()\n}"
        );
        assert_eq!(replace_solution("let x = 1;", false).unwrap(), CODE_STUB.join("\n"));
        assert_eq!(replace_solution("My answer", true).unwrap(), MARKDOWN_STUB);
        assert!(replace_solution("// BEGIN SOLUTION\nx", false).is_err());
        assert!(replace_solution("// BEGIN SOLUTION\n// END SOLUTION\n// END SOLUTION", false).is_err());
    }

    #[test]
    fn hidden_tests_are_removed_and_nbgrader_python_markers_work_too() {
        let source = "let r = check();\n// BEGIN HIDDEN TESTS\nassert!(r.passed());\n// END HIDDEN TESTS\nr";
        assert_eq!(remove_hidden_tests(source).unwrap(), "let r = check();\nr");
        assert_eq!(remove_hidden_tests("### BEGIN HIDDEN TESTS\nx\n### END HIDDEN TESTS").unwrap(), "");
        assert!(remove_hidden_tests("// BEGIN HIDDEN TESTS\nx").is_err());
    }

    #[test]
    fn the_checksum_is_nbgraders() {
        // Worked out with Python: hashlib.md5(b"print(1)" b"code" b"True" b"False" b"True" b"tests" b"2.0").hexdigest()
        let c = cell("code", "print(1)", nbgrader_metadata("tests", true, false, true, Some(2.0)));
        assert_eq!(checksum(&c), "b640fc5dea6166b3e6a0f3e51d261dfa");
    }

    #[test]
    fn release_clears_outputs_and_checksums_locked_cells() {
        let notebook = json!({"cells": [
            cell("code", "fn f() {\n// BEGIN SOLUTION\nx\n// END SOLUTION\n}", nbgrader_metadata("f", false, true, false, None)),
            cell("code", "plain()", json!({})),
        ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5});
        let student = release(&notebook, "nb").unwrap();
        let first = &student["cells"][0];
        assert_eq!(first["source"], "fn f() {\n// TODO: write your code here, in place of todo!()\ntodo!()\n}");
        assert_eq!(first["outputs"], json!([]));
        assert_eq!(first["execution_count"], Value::Null);
        assert_eq!(first["metadata"]["nbgrader"]["checksum"], checksum(first));
        assert!(student["cells"][1]["metadata"].get("nbgrader").is_none());
        assert!(matches!(
            release(
                &json!({"cells": [cell("code", "// END SOLUTION", nbgrader_metadata("x", false, true, false, None))]}),
                "nb"
            ),
            Err(Error::Notebook { .. })
        ));
    }
}
