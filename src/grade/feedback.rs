//! Feedback for one student on one notebook: each graded cell, its points, what went wrong, and what its checks
//! said (their ✓ and ✗ lines carry the hints), in markdown and in HTML.

use super::{NotebookScore, SubmissionResult};
use crate::display::{escape, palette};

fn points(x: f64) -> String {
    if x.fract() == 0.0 { format!("{x:.0}") } else { format!("{x}") }
}

/// The feedback as markdown.
pub fn markdown(result: &SubmissionResult, nb: &NotebookScore) -> String {
    let mut md = format!(
        "# Feedback: {} — {}\n\nStudent: {}  \nScore: **{} / {}**\n\n| Cell | Points | Result |\n|---|---|---|\n",
        result.assignment,
        nb.notebook,
        result.student,
        points(nb.score),
        points(nb.max_score)
    );
    for cell in &nb.cells {
        let sign = if cell.score >= cell.points { "✓" } else { "✗" };
        md.push_str(&format!(
            "| `{}` | {} / {} | {sign} {} |\n",
            cell.grade_id,
            points(cell.score),
            points(cell.points),
            cell.status.replace('|', "\\|")
        ));
    }
    for cell in nb.cells.iter().filter(|c| !c.output.trim().is_empty()) {
        md.push_str(&format!("\n## `{}`: what the checks said\n\n```text\n{}\n```\n", cell.grade_id, cell.output.replace("```", "'''")));
    }
    if !nb.notes.is_empty() {
        md.push_str("\n## Notes\n\n");
        for note in &nb.notes {
            md.push_str(&format!("- {note}\n"));
        }
    }
    md
}

/// The feedback as a standalone HTML page.
pub fn html(result: &SubmissionResult, nb: &NotebookScore) -> String {
    let mut rows = String::new();
    for cell in &nb.cells {
        let (sign, colour) = if cell.score >= cell.points { ("✓", palette::hex(palette::PASS)) } else { ("✗", palette::hex(palette::SECOND)) };
        rows.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{} / {}</td><td style=\"color:{colour}\">{sign} {}</td></tr>\n",
            escape(&cell.grade_id),
            points(cell.score),
            points(cell.points),
            escape(&cell.status)
        ));
    }
    let mut details = String::new();
    for cell in nb.cells.iter().filter(|c| !c.output.trim().is_empty()) {
        details.push_str(&format!(
            "<h2><code>{}</code>: what the checks said</h2>\n<pre>{}</pre>\n",
            escape(&cell.grade_id),
            escape(&cell.output)
        ));
    }
    if !nb.notes.is_empty() {
        details.push_str("<h2>Notes</h2>\n<ul>\n");
        for note in &nb.notes {
            details.push_str(&format!("<li>{}</li>\n", escape(note)));
        }
        details.push_str("</ul>\n");
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Feedback: {a} — {n}</title>\n\
<style>body{{font-family:sans-serif;max-width:52em;margin:2em auto;padding:0 1em;color:#222}}\
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3em .7em;text-align:left}}\
pre{{background:#f6f6f6;padding:.8em;overflow-x:auto;white-space:pre-wrap}}</style></head>\n<body>\n\
<h1>Feedback: {a} — {n}</h1>\n<p>Student: {s}<br>Score: <strong>{sc} / {mx}</strong></p>\n\
<table><thead><tr><th>Cell</th><th>Points</th><th>Result</th></tr></thead><tbody>\n{rows}</tbody></table>\n{details}</body></html>\n",
        a = escape(&result.assignment),
        n = escape(&nb.notebook),
        s = escape(&result.student),
        sc = points(nb.score),
        mx = points(nb.max_score),
    )
}
