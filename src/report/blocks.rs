//! The card as blocks (paragraphs, lists, tables, charts), rendered to Markdown and to HTML, and the small formatters
//! the sections share.

use super::*;

/// A piece of the card. Text may hold `**bold**` and `` `code` ``, nothing else.
pub(super) enum Block {
    Heading(usize, String),
    Para(String),
    List(Vec<String>),
    Table(Vec<String>, Vec<Vec<String>>),
    Image(String, String),
}

pub(super) fn md_inline_cell(text: &str) -> String {
    text.replace('|', "\\|")
}

pub(super) fn render_markdown(blocks: &[Block]) -> String {
    let mut out = String::new();
    for block in blocks {
        match block {
            Block::Heading(level, text) => {
                let _ = writeln!(out, "{} {text}\n", "#".repeat(*level));
            }
            Block::Para(text) => {
                let _ = writeln!(out, "{text}\n");
            }
            Block::List(items) => {
                for item in items {
                    let _ = writeln!(out, "- {item}");
                }
                out.push('\n');
            }
            Block::Table(header, rows) => {
                let cells = |r: &Vec<String>| r.iter().map(|c| md_inline_cell(c)).collect::<Vec<_>>().join(" | ");
                let _ = writeln!(out, "| {} |", cells(header));
                let _ = writeln!(out, "|{}|", header.iter().map(|_| "---").collect::<Vec<_>>().join("|"));
                for row in rows {
                    let _ = writeln!(out, "| {} |", cells(row));
                }
                out.push('\n');
            }
            Block::Image(alt, path) => {
                let _ = writeln!(out, "![{alt}]({path})\n");
            }
        }
    }
    out
}

/// HTML of a text with `**bold**` and `` `code` `` (escaped first).
pub(super) fn html_inline(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in escape(text).split("**").enumerate() {
        if i % 2 == 1 {
            out.push_str("<strong>");
        }
        for (j, piece) in part.split('`').enumerate() {
            if j % 2 == 1 {
                let _ = write!(out, "<code>{piece}</code>");
            } else {
                out.push_str(piece);
            }
        }
        if i % 2 == 1 {
            out.push_str("</strong>");
        }
    }
    out
}

pub(super) fn render_html(blocks: &[Block]) -> String {
    let mut out = String::new();
    for block in blocks {
        match block {
            Block::Heading(level, text) => {
                let level = (*level).clamp(1, 6);
                let _ = writeln!(out, "<h{level}>{}</h{level}>", html_inline(text));
            }
            Block::Para(text) => {
                let _ = writeln!(out, "<p>{}</p>", html_inline(text));
            }
            Block::List(items) => {
                out.push_str("<ul>\n");
                for item in items {
                    let _ = writeln!(out, "<li>{}</li>", html_inline(item));
                }
                out.push_str("</ul>\n");
            }
            Block::Table(header, rows) => {
                out.push_str("<table>\n<thead><tr>");
                for h in header {
                    let _ = write!(out, "<th>{}</th>", html_inline(h));
                }
                out.push_str("</tr></thead>\n<tbody>\n");
                for row in rows {
                    out.push_str("<tr>");
                    for c in row {
                        let _ = write!(out, "<td>{}</td>", html_inline(c));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</tbody>\n</table>\n");
            }
            Block::Image(alt, path) => {
                let _ = writeln!(out, "<p><img src=\"{}\" alt=\"{}\"></p>", escape(path), escape(alt));
            }
        }
    }
    out
}

/// A p-value for prose: "p < 0.001" or "p = 0.034".
pub(super) fn p_text(p: f64) -> String {
    if p < 0.001 {
        "p < 0.001".into()
    } else {
        format!("p = {p:.3}")
    }
}

pub(super) fn ci(interval: &Interval, decimals: usize) -> String {
    format!("{:.0} % CI {:.d$}–{:.d$}", interval.level * 100.0, interval.low, interval.high, d = decimals)
}

/// A double-quoted YAML scalar.
pub(super) fn yaml_str(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One metric of the `model-index`.
pub(super) struct IndexMetric {
    pub(super) kind: &'static str,
    pub(super) value: f64,
    pub(super) name: String,
}

/// One result (benchmark) of the `model-index`.
pub(super) struct IndexResult {
    pub(super) dataset_name: &'static str,
    pub(super) dataset_type: &'static str,
    pub(super) split: Option<&'static str>,
    pub(super) metrics: Vec<IndexMetric>,
}

/// The relative paths of the charts, by measure (what [`ModelCardReport::write`] saved).
pub type ChartFiles = BTreeMap<Measure, String>;
