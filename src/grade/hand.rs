//! Written answers graded by hand: nbgrader's manually graded answer cells (markdown cells with `grade` and
//! `solution` set, and points).
//!
//! The grader keeps each student's answer ([`super::CellScore::answer`]) and scores it 0, "to be graded by hand".
//! For each assignment it writes one page for the instructor, `hand-grading/<assignment>.html`: every written answer
//! beside its question, the source's model answer and the rubric (`metadata.biaslab.rubric` of the source cell, a
//! list of criteria; [`crate::course::notebook::release`] never gives it to students), with a score and a comment field per
//! answer. The page exports what was entered as a CSV of `COLUMNS`; `hand-grading/<assignment>.csv` is the same
//! table to fill in a spreadsheet instead. Given such a file (`biaslab grade … --hand-scores FILE`), the next run
//! (which reuses every finished result) checks every row before any work, then puts the scores and comments into the
//! results, the gradebook's totals and each student's feedback. A row with an empty score is not graded yet; a
//! cell with no row is "to be graded by hand" again, so the file is the one record of the hand grades.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde_json::Value;

use super::{NotebookScore, SubmissionResult};
use crate::course::notebook::{self, flag, grade_id, source};
use crate::error::{Error, Result};
use crate::view::display::escape;

/// The columns of a hand-scores file, in order (the page's export and the template have exactly these).
pub(crate) const COLUMNS: [&str; 6] = ["student_id", "assignment", "notebook", "grade_id", "score", "comment"];

/// A written answer's status before it is graded by hand.
pub(crate) const TO_BE_GRADED: &str = "to be graded by hand";
/// A written answer's status once a hand score was imported.
pub(crate) const GRADED: &str = "graded by hand";
/// A written answer's status when the student wrote nothing (it may still be given a score).
pub(crate) const NOT_ANSWERED: &str = "not answered";

/// Longest answer kept, in bytes (a longer one is cut, and says so).
const MAX_ANSWER: usize = 20_000;

/// A written question of a source notebook: a graded markdown answer cell.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WrittenQuestion {
    /// The source notebook's file name.
    pub notebook: String,
    /// The answer cell's `grade_id`.
    pub grade_id: String,
    /// Its points.
    pub points: f64,
    /// The question: the markdown cell just above the answer cell.
    pub question: String,
    /// The rubric's criteria (`metadata.biaslab.rubric`), for the instructor only.
    pub rubric: Vec<String>,
    /// The source's own answer (a model answer), for the instructor only.
    pub model_answer: String,
}

/// The written questions of `source_nb` (file name `notebook`), in notebook order.
pub fn questions(source_nb: &Value, notebook: &str) -> Vec<WrittenQuestion> {
    let empty = Vec::new();
    let cells = source_nb.get("cells").and_then(Value::as_array).unwrap_or(&empty);
    let mut found = Vec::new();
    for (i, cell) in cells.iter().enumerate() {
        if !(is_written_answer(cell)) {
            continue;
        }
        let question = cells[..i].iter().rev().find(|c| c["cell_type"] == "markdown").map(source).unwrap_or_default();
        let rubric = cell
            .pointer("/metadata/biaslab/rubric")
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).map(String::from).collect())
            .unwrap_or_default();
        found.push(WrittenQuestion {
            notebook: notebook.to_string(),
            grade_id: grade_id(cell).unwrap_or("").to_string(),
            points: cell.pointer("/metadata/nbgrader/points").and_then(Value::as_f64).unwrap_or(0.0),
            question,
            rubric,
            model_answer: source(cell),
        });
    }
    found
}

/// Whether `cell` is a written answer graded by hand (markdown, `grade` and `solution`).
pub(crate) fn is_written_answer(cell: &Value) -> bool {
    cell["cell_type"] == "markdown" && flag(cell, "grade") && flag(cell, "solution")
}

/// The answer a student wrote in a composed markdown answer cell, `None` when nothing was written (the released
/// stub, or blank).
pub(crate) fn answer_of(cell: &Value) -> Option<String> {
    let text = source(cell);
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed == notebook::MARKDOWN_STUB {
        return None;
    }
    if trimmed.len() <= MAX_ANSWER {
        return Some(trimmed.to_string());
    }
    let mut cut = MAX_ANSWER;
    while !trimmed.is_char_boundary(cut) {
        cut -= 1;
    }
    Some(format!("{}\n… (cut: the answer is longer than {MAX_ANSWER} bytes)", &trimmed[..cut]))
}

/// One row of a hand-scores file.
#[derive(Debug, Clone, PartialEq)]
pub struct HandScore {
    /// The student's id.
    pub student: String,
    /// The assignment.
    pub assignment: String,
    /// The notebook's file name.
    pub notebook: String,
    /// The answer cell's `grade_id`.
    pub grade_id: String,
    /// The points given.
    pub score: f64,
    /// The instructor's comment (may be empty).
    pub comment: String,
    /// The row's line in the file (for error messages).
    pub line: u64,
}

fn invalid(path: &Path, line: u64, reason: impl Into<String>) -> Error {
    Error::HandScores { path: path.to_path_buf(), line, reason: reason.into() }
}

/// Reads a hand-scores file (a CSV with the header `COLUMNS`, in any order, other columns ignored). Rows whose
/// score is empty are left out (not graded yet); a score that is not a number is an error.
pub fn read(path: &Path) -> Result<Vec<HandScore>> {
    let text = crate::data::read_text(path)?;
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|err| invalid(path, 1, err.to_string()))?.clone();
    let column = |name: &str| headers.iter().position(|h| h.trim() == name);
    let mut at = Vec::new();
    for name in COLUMNS {
        match column(name) {
            Some(i) => at.push(i),
            None => {
                return Err(invalid(path, 1, format!("no column {name:?}; the header must name {}", COLUMNS.join(","))))
            }
        }
    }
    let mut scores = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|err| {
            let line = err.position().map(|p| p.line()).unwrap_or(0);
            invalid(path, line, err.to_string())
        })?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let field = |i: usize| record.get(at[i]).unwrap_or("").trim().to_string();
        let score_text = field(4);
        if score_text.is_empty() {
            continue;
        }
        let score: f64 = score_text
            .parse()
            .ok()
            .filter(|s: &f64| s.is_finite())
            .ok_or_else(|| invalid(path, line, format!("the score {score_text:?} is not a number")))?;
        scores.push(HandScore {
            student: field(0),
            assignment: field(1),
            notebook: field(2),
            grade_id: field(3),
            score,
            comment: record.get(at[5]).unwrap_or("").trim().to_string(),
            line,
        });
    }
    Ok(scores)
}

/// Checks every row of `scores` (read from `path`) against what is graded: the student submitted the assignment
/// (`submitted` holds (student, assignment) pairs), the cell is a written question of the assignment's notebooks
/// (`questions`, by assignment), the score is between 0 and the cell's points, and no cell is scored twice.
pub fn check(
    scores: &[HandScore],
    path: &Path,
    submitted: &HashSet<(String, String)>,
    questions: &BTreeMap<String, Vec<WrittenQuestion>>,
) -> Result<()> {
    let mut seen = HashSet::new();
    for row in scores {
        let fail = |reason: String| invalid(path, row.line, reason);
        if !submitted.contains(&(row.student.clone(), row.assignment.clone())) {
            return Err(fail(format!("no submission of {:?} by {:?} is being graded", row.assignment, row.student)));
        }
        let notebook = row.notebook.trim_end_matches(".ipynb");
        let question = questions
            .get(&row.assignment)
            .into_iter()
            .flatten()
            .find(|q| q.notebook.trim_end_matches(".ipynb") == notebook && q.grade_id == row.grade_id)
            .ok_or_else(|| {
                fail(format!(
                    "{:?} of {:?} is not a written answer graded by hand (those are: {})",
                    row.grade_id,
                    row.notebook,
                    questions
                        .get(&row.assignment)
                        .into_iter()
                        .flatten()
                        .map(|q| format!("{} {}", q.notebook, q.grade_id))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        if !(0.0..=question.points).contains(&row.score) {
            return Err(fail(format!(
                "the score {} is outside 0 to {} (the cell's points)",
                row.score, question.points
            )));
        }
        if !seen.insert((&row.student, &row.assignment, notebook, &row.grade_id)) {
            return Err(fail(format!("{} of {} is scored twice", row.grade_id, row.student)));
        }
    }
    Ok(())
}

/// Puts the hand scores of `scores` that belong to `result` into it: every written answer is first reset to
/// ungraded, then scored from its row; the totals are recomputed.
pub fn apply(result: &mut SubmissionResult, scores: &[HandScore]) {
    for nb in &mut result.notebooks {
        let name = nb.notebook.trim_end_matches(".ipynb").to_string();
        for cell in nb.cells.iter_mut().filter(|c| c.manual) {
            cell.score = 0.0;
            cell.comment = None;
            cell.status = if cell.answer.is_some() { TO_BE_GRADED } else { NOT_ANSWERED }.to_string();
            let row = scores.iter().find(|s| {
                s.student == result.student
                    && s.assignment == result.assignment
                    && s.notebook.trim_end_matches(".ipynb") == name
                    && s.grade_id == cell.grade_id
            });
            if let Some(row) = row {
                cell.score = row.score.clamp(0.0, cell.points);
                cell.status = GRADED.to_string();
                cell.comment = Some(row.comment.clone()).filter(|c| !c.is_empty());
            }
        }
        nb.total();
    }
    result.score = result.notebooks.iter().map(|n| n.score).sum();
    result.max_score = result.notebooks.iter().map(|n| n.max_score).sum();
}

/// Points of `nb`'s written answers that are not graded yet.
pub(crate) fn pending(nb: &NotebookScore) -> f64 {
    nb.cells.iter().filter(|c| c.manual && c.status != GRADED).map(|c| c.points).sum()
}

/// The hand-grading template of one assignment: a CSV of `COLUMNS`, one row per written answer of each student,
/// the score and comment filled where already imported.
pub fn template(results: &[&SubmissionResult], questions: &[WrittenQuestion]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(COLUMNS).expect("writing to memory");
    for (result, question, cell) in answers(results, questions) {
        let (score, comment) = entered(cell);
        let record = [&result.student, &result.assignment, &question.notebook, &question.grade_id, &score, &comment];
        writer.write_record(record).expect("writing to memory");
    }
    writer.into_inner().expect("writing to memory")
}

/// The score and comment imported for a written answer, as text (both empty when it is not graded yet).
fn entered(cell: Option<&super::CellScore>) -> (String, String) {
    match cell {
        Some(c) if c.status == GRADED => (format!("{}", c.score), c.comment.clone().unwrap_or_default()),
        _ => (String::new(), String::new()),
    }
}

type Answer<'a> = (&'a SubmissionResult, &'a WrittenQuestion, Option<&'a super::CellScore>);

/// Every (student, question) pair of an assignment, by question then student, with the student's scored cell.
fn answers<'a>(results: &[&'a SubmissionResult], questions: &'a [WrittenQuestion]) -> Vec<Answer<'a>> {
    let mut found = Vec::new();
    for question in questions {
        for result in results {
            let cell = result
                .notebooks
                .iter()
                .filter(|nb| nb.notebook == question.notebook)
                .flat_map(|nb| nb.cells.iter())
                .find(|c| c.manual && c.grade_id == question.grade_id);
            found.push((*result, question, cell));
        }
    }
    found
}

/// The instructor's page for one assignment (see the module documentation). Students' text is escaped, never
/// run: it reaches the page's script only as the text of form fields.
pub fn page(assignment: &str, results: &[&SubmissionResult], questions: &[WrittenQuestion]) -> String {
    let mut body = String::new();
    let mut current = None;
    for (result, question, cell) in answers(results, questions) {
        if current != Some((&question.notebook, &question.grade_id)) {
            current = Some((&question.notebook, &question.grade_id));
            let rubric: String = question.rubric.iter().map(|r| format!("<li>{}</li>", escape(r))).collect();
            let rubric = if rubric.is_empty() {
                "<p>(no rubric in the source cell's metadata)</p>".to_string()
            } else {
                format!("<ul>{rubric}</ul>")
            };
            body.push_str(&format!(
                "<h2>{nb} — <code>{id}</code> ({points} points)</h2>\n<div class=\"question\">{q}</div>\n\
<details open><summary>Rubric</summary>{rubric}</details>\n<details><summary>Model answer</summary><div class=\"answer\">{model}</div></details>\n",
                nb = escape(&question.notebook),
                id = escape(&question.grade_id),
                points = question.points,
                q = escape(&question.question),
                model = escape(&question.model_answer),
            ));
        }
        let answer = cell.and_then(|c| c.answer.as_deref());
        let (score, comment) = entered(cell);
        body.push_str(&format!(
            "<section class=\"row\" data-student=\"{s}\" data-assignment=\"{a}\" data-notebook=\"{nb}\" data-cell=\"{id}\">\n\
<h3>{s}</h3>\n<div class=\"answer\">{text}</div>\n\
<label>Score (0 to {points}) <input type=\"number\" class=\"score\" min=\"0\" max=\"{points}\" step=\"0.5\" value=\"{score}\"></label>\n\
<label>Comment for the student <textarea class=\"comment\" rows=\"2\">{comment}</textarea></label>\n</section>\n",
            s = escape(&result.student),
            a = escape(&result.assignment),
            nb = escape(&question.notebook),
            id = escape(&question.grade_id),
            text = answer.map(escape).unwrap_or_else(|| "<em>(no answer written)</em>".into()),
            points = question.points,
            score = escape(&score),
            comment = escape(&comment),
        ));
    }
    if body.is_empty() {
        body.push_str("<p>This assignment has no written answers graded by hand.</p>\n");
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Hand grading: {a}</title>\n<style>\
body{{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222}}\
.question,.answer{{white-space:pre-wrap;background:#f6f6f6;padding:.6em .8em;border-radius:4px}}\
.row{{border-top:1px solid #ccc;margin-top:1em;padding-top:.3em}}label{{display:block;margin:.4em 0}}\
textarea{{width:100%}}.bar{{position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:1px solid #ccc}}\
</style></head>\n<body>\n<h1>Hand grading: {a}</h1>\n\
<p><strong>Content warning:</strong> students' answers may quote the stereotypes and slurs the lab measures.</p>\n\
<p>Score each answer against the rubric and write a comment the student will read. Then <em>Download the scores</em> \
and grade again with them: <code>biaslab grade SUBMITTED --out OUT --hand-scores FILE.csv</code> (finished results \
are reused; the totals and the feedback take the scores). An empty score is not graded yet. What you type here is \
kept only in this page until you download it.</p>\n\
<div class=\"bar\"><button id=\"download\">Download the scores ({a}-hand-scores.csv)</button></div>\n{body}\
<script>\n\
function field(t){{t=String(t);return /[\",\\n\\r]/.test(t)?'\"'+t.replace(/\"/g,'\"\"')+'\"':t;}}\n\
document.getElementById('download').addEventListener('click',function(){{\n\
  var lines=['{columns}'];\n\
  document.querySelectorAll('section.row').forEach(function(r){{\n\
    var d=r.dataset;\n\
    lines.push([d.student,d.assignment,d.notebook,d.cell,r.querySelector('.score').value,r.querySelector('.comment').value].map(field).join(','));\n\
  }});\n\
  var a=document.createElement('a');\n\
  a.href=URL.createObjectURL(new Blob([lines.join('\\n')+'\\n'],{{type:'text/csv'}}));\n\
  a.download=document.title.replace('Hand grading: ','')+'-hand-scores.csv';\n\
  document.body.appendChild(a);a.click();a.remove();\n\
}});\n\
</script>\n</body></html>\n",
        a = escape(assignment),
        columns = COLUMNS.join(","),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grade::CellScore;
    use serde_json::json;

    fn result(student: &str, answer: Option<&str>) -> SubmissionResult {
        let auto = CellScore {
            grade_id: "tests".into(),
            points: 2.0,
            score: 2.0,
            status: "passed".into(),
            output: String::new(),
            ..CellScore::default()
        };
        let written = CellScore {
            grade_id: "why".into(),
            points: 2.0,
            status: TO_BE_GRADED.into(),
            manual: true,
            answer: answer.map(String::from),
            ..CellScore::default()
        };
        let nb = NotebookScore {
            notebook: "lab.ipynb".into(),
            score: 2.0,
            max_score: 4.0,
            cells: vec![auto, written],
            notes: vec![],
            seconds: 1.0,
        };
        SubmissionResult {
            student: student.into(),
            assignment: "lab01".into(),
            timestamp: None,
            score: 2.0,
            max_score: 4.0,
            notebooks: vec![nb],
            digest: String::new(),
        }
    }

    fn source() -> Value {
        let mut answer = json!({"cell_type": "markdown", "source": "Because the data <b>says</b> so.",
            "metadata": notebook::nbgrader_metadata("why", true, true, false, Some(2.0))});
        answer["metadata"]["biaslab"] = json!({"rubric": ["1 point: names the data", "1 point: says why"]});
        json!({"cells": [
            {"cell_type": "markdown", "source": "**Question.** Why?", "metadata": {}},
            answer,
        ]})
    }

    fn write_csv(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scores.csv");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn questions_carry_their_prompt_rubric_and_model_answer() {
        let found = questions(&source(), "lab.ipynb");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].question, "**Question.** Why?");
        assert_eq!(found[0].rubric, vec!["1 point: names the data", "1 point: says why"]);
        assert_eq!(found[0].points, 2.0);
        let released = notebook::release(&source(), "lab").unwrap();
        assert_eq!(source_text(&released), notebook::MARKDOWN_STUB);
        assert!(released["cells"][1]["metadata"].get("biaslab").is_none(), "the rubric is never released");
    }

    fn source_text(nb: &Value) -> String {
        notebook::source(&nb["cells"][1])
    }

    #[test]
    fn imported_scores_set_the_cell_the_totals_and_a_missing_row_resets() {
        let (_dir, path) = write_csv("student_id,assignment,notebook,grade_id,score,comment\nann,lab01,lab.ipynb,why,1.5,\"Good, but: say why\"\nbob,lab01,lab,why,,\n");
        let scores = read(&path).unwrap();
        assert_eq!(scores.len(), 1, "an empty score is not graded yet");
        let mut ann = result("ann", Some("the data"));
        apply(&mut ann, &scores);
        let cell = &ann.notebooks[0].cells[1];
        assert_eq!(
            (cell.score, cell.status.as_str(), cell.comment.as_deref()),
            (1.5, GRADED, Some("Good, but: say why"))
        );
        assert_eq!((ann.score, ann.max_score, ann.notebooks[0].score), (3.5, 4.0, 3.5));
        assert_eq!(pending(&ann.notebooks[0]), 0.0);
        apply(&mut ann, &[]);
        assert_eq!((ann.score, ann.notebooks[0].cells[1].status.as_str()), (2.0, TO_BE_GRADED));
        let mut bob = result("bob", None);
        apply(&mut bob, &scores);
        assert_eq!(bob.notebooks[0].cells[1].status, NOT_ANSWERED);
        assert_eq!(pending(&bob.notebooks[0]), 2.0);
    }

    #[test]
    fn every_row_is_checked_before_it_counts() {
        let submitted: HashSet<(String, String)> = [("ann".to_string(), "lab01".to_string())].into();
        let questions = BTreeMap::from([("lab01".to_string(), questions(&source(), "lab.ipynb"))]);
        let header = "student_id,assignment,notebook,grade_id,score,comment\n";
        let check_text = |rows: &str| {
            let (_dir, path) = write_csv(&format!("{header}{rows}"));
            read(&path).and_then(|scores| check(&scores, &path, &submitted, &questions)).map_err(|e| e.to_string())
        };
        assert_eq!(check_text("ann,lab01,lab.ipynb,why,2,\n"), Ok(()));
        assert!(check_text("ann,lab01,lab.ipynb,why,3,\n")
            .unwrap_err()
            .contains("line 2: the score 3 is outside 0 to 2"));
        assert!(check_text("ann,lab01,lab.ipynb,why,two,\n").unwrap_err().contains("not a number"));
        assert!(check_text("ann,lab01,lab.ipynb,why,NaN,\n").unwrap_err().contains("not a number"));
        assert!(check_text("zed,lab01,lab.ipynb,why,1,\n").unwrap_err().contains("no submission"));
        assert!(check_text("ann,lab01,lab.ipynb,tests,1,\n").unwrap_err().contains("not a written answer"));
        assert!(check_text("ann,lab01,lab.ipynb,why,1,\nann,lab01,lab,why,2,\n")
            .unwrap_err()
            .contains("line 3: why of ann is scored twice"));
        let (_dir, path) = write_csv("student,score\nann,1\n");
        assert!(read(&path).unwrap_err().to_string().contains("no column \"student_id\""));
    }

    #[test]
    fn the_page_escapes_answers_and_the_template_round_trips() {
        let mut ann = result("ann", Some("<script>alert(1)</script>"));
        let questions = questions(&source(), "lab.ipynb");
        let page = page("lab01", &[&ann], &questions);
        assert!(!page.contains("<script>alert(1)") && page.contains("&lt;script&gt;alert(1)"));
        assert!(page.contains("1 point: names the data") && page.contains("data-cell=\"why\""));
        let scores = vec![HandScore {
            student: "ann".into(),
            assignment: "lab01".into(),
            notebook: "lab.ipynb".into(),
            grade_id: "why".into(),
            score: 1.0,
            comment: "ok, \"fine\"".into(),
            line: 2,
        }];
        apply(&mut ann, &scores);
        let (_dir, path) = write_csv(std::str::from_utf8(&template(&[&ann], &questions)).unwrap());
        let back = read(&path).unwrap();
        assert_eq!(back, scores);
    }
}
