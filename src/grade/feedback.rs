//! Feedback for one student on one notebook: each graded cell, its points, what went wrong, and what its checks
//! said (their ✓ and ✗ lines carry the hints), the instructor's comments on written answers, in markdown and in
//! HTML.

use super::{hand, CellScore, NotebookScore, SubmissionResult};
use crate::view::display::{escape, palette};

fn points(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x}")
    }
}

/// The score (`scored / possible`), and a remark on the points of written answers still to be graded by hand.
fn score_line(nb: &NotebookScore) -> (String, String) {
    let pending = hand::pending(nb);
    let waiting = if pending > 0.0 {
        format!(" ({} of the points are for written answers still to be graded by hand)", points(pending))
    } else {
        String::new()
    };
    (format!("{} / {}", points(nb.score), points(nb.max_score)), waiting)
}

/// The sign before a cell's result: passed, failed, or a written answer (graded by hand).
fn sign(cell: &CellScore) -> &'static str {
    if cell.manual {
        "✎"
    } else if cell.score >= cell.points {
        "✓"
    } else {
        "✗"
    }
}

/// The feedback as markdown.
pub fn markdown(result: &SubmissionResult, nb: &NotebookScore) -> String {
    let (score, waiting) = score_line(nb);
    let mut md = format!(
        "# Feedback: {} — {}\n\nStudent: {}  \nScore: **{score}**{waiting}\n\n| Cell | Points | Result |\n|---|---|---|\n",
        result.assignment, nb.notebook, result.student,
    );
    for cell in &nb.cells {
        md.push_str(&format!(
            "| `{}` | {} / {} | {} {} |\n",
            cell.grade_id,
            points(cell.score),
            points(cell.points),
            sign(cell),
            cell.status.replace('|', "\\|")
        ));
    }
    for cell in nb.cells.iter().filter(|c| !c.output.trim().is_empty()) {
        md.push_str(&format!(
            "\n## `{}`: what the checks said\n\n```text\n{}\n```\n",
            cell.grade_id,
            cell.output.replace("```", "'''")
        ));
    }
    for cell in &nb.cells {
        if let Some(comment) = &cell.comment {
            md.push_str(&format!("\n## `{}`: your instructor's comment\n\n{comment}\n", cell.grade_id));
        }
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
        let colour = match sign(cell) {
            "✓" => palette::hex(palette::PASS),
            "✗" => palette::hex(palette::SECOND),
            _ => "#222".to_string(),
        };
        rows.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{} / {}</td><td style=\"color:{colour}\">{} {}</td></tr>\n",
            escape(&cell.grade_id),
            points(cell.score),
            points(cell.points),
            sign(cell),
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
    for cell in &nb.cells {
        if let Some(comment) = &cell.comment {
            details.push_str(&format!(
                "<h2><code>{}</code>: your instructor's comment</h2>\n<p style=\"white-space:pre-wrap\">{}</p>\n",
                escape(&cell.grade_id),
                escape(comment)
            ));
        }
    }
    if !nb.notes.is_empty() {
        details.push_str("<h2>Notes</h2>\n<ul>\n");
        for note in &nb.notes {
            details.push_str(&format!("<li>{}</li>\n", escape(note)));
        }
        details.push_str("</ul>\n");
    }
    let (score, waiting) = score_line(nb);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Feedback: {a} — {n}</title>\n\
<style>body{{font-family:sans-serif;max-width:52em;margin:2em auto;padding:0 1em;color:#222}}\
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3em .7em;text-align:left}}\
pre{{background:#f6f6f6;padding:.8em;overflow-x:auto;white-space:pre-wrap}}</style></head>\n<body>\n\
<h1>Feedback: {a} — {n}</h1>\n<p>Student: {s}<br>Score: <strong>{sc}</strong>{w}</p>\n\
<table><thead><tr><th>Cell</th><th>Points</th><th>Result</th></tr></thead><tbody>\n{rows}</tbody></table>\n{details}</body></html>\n",
        a = escape(&result.assignment),
        n = escape(&nb.notebook),
        s = escape(&result.student),
        sc = score,
        w = escape(&waiting),
    )
}
