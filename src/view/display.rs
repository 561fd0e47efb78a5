//! Showing results in a notebook: the evcxr kernel's display protocol, HTML escaping and the lab's palette.
//!
//! In the evcxr Jupyter kernel, a cell whose last expression has a method `evcxr_display(&self)` shows what that
//! method prints between `EVCXR_BEGIN_CONTENT <mime type>` and `EVCXR_END_CONTENT` lines. The results students look
//! at implement [`crate::view::show::View`], which prints their HTML table and their text that way; a
//! [`crate::view::chart::Chart`] shows its SVG.

use std::fmt::Write as _;

/// Prints `html` as one rich output of an evcxr cell (the kernel's `EVCXR_BEGIN_CONTENT` protocol).
pub(crate) fn emit_html(html: &str) {
    println!("{}", evcxr_html(html));
}

/// `html` and a plain-text alternative wrapped in the evcxr kernel's display markers, as one rich output of a cell:
/// Jupyter shows the HTML, and tools that read text (nbconvert to text, the grader's feedback) get the text. What
/// [`crate::view::show::View::evcxr_display`] prints by default.
pub(crate) fn evcxr_html_and_text(html: &str, text: &str) -> String {
    format!("{}\n{}", evcxr_html(html), evcxr_block("text/plain", text.trim_end()))
}

/// `html` wrapped in the evcxr kernel's display markers, as [`emit_html`] prints it.
pub(crate) fn evcxr_html(html: &str) -> String {
    evcxr_block("text/html", html)
}

/// `body` as content of type `mime` between the evcxr kernel's display markers: one rich output of a cell (several
/// in a row, of different types, are one output with each as an alternative).
pub(crate) fn evcxr_block(mime: &str, body: &str) -> String {
    format!("EVCXR_BEGIN_CONTENT {mime}\n{body}\nEVCXR_END_CONTENT")
}

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The Okabe–Ito palette (Okabe & Ito, *Color Universal Design*, 2008): distinguishable with every common form of
/// colour blindness. Charts and tables use [`FIRST`](palette::FIRST) for the first group compared and
/// [`SECOND`](palette::SECOND) for the second.
pub mod palette {
    /// Blue, `#0072B2`: the first group (the first sentence, "man").
    pub const FIRST: (u8, u8, u8) = (0x00, 0x72, 0xB2);
    /// Vermillion, `#D55E00`: the second group (the second sentence, "woman").
    pub const SECOND: (u8, u8, u8) = (0xD5, 0x5E, 0x00);
    /// Bluish green, `#009E73`: a passed check.
    pub(crate) const PASS: (u8, u8, u8) = (0x00, 0x9E, 0x73);

    /// `#rrggbb` for a colour.
    pub(crate) fn hex((r, g, b): (u8, u8, u8)) -> String {
        format!("#{r:02x}{g:02x}{b:02x}")
    }
}

/// A small HTML table builder with the lab's look (plain, compact, numbers aligned right).
#[derive(Debug, Clone, Default)]
pub(crate) struct HtmlTable {
    caption: Option<String>,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    numeric: Vec<bool>,
}

impl HtmlTable {
    /// A table with these column names; `numeric[i]` aligns column `i` right.
    pub(crate) fn new(header: &[&str], numeric: &[bool]) -> Self {
        Self {
            caption: None,
            header: header.iter().map(|h| escape(h)).collect(),
            rows: Vec::new(),
            numeric: numeric.to_vec(),
        }
    }

    /// A caption (HTML, already escaped).
    pub(crate) fn caption(mut self, html: String) -> Self {
        self.caption = Some(html);
        self
    }

    /// Adds a row of cells (HTML, already escaped).
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as HTML.
    pub(crate) fn to_html(&self) -> String {
        let mut html = String::from(
            "<table class=\"biaslab\" style=\"border-collapse:collapse;font-variant-numeric:tabular-nums\">",
        );
        if let Some(caption) = &self.caption {
            let _ =
                write!(html, "<caption style=\"text-align:left;font-weight:bold;padding:4px 0\">{caption}</caption>");
        }
        html.push_str("<thead><tr>");
        for (i, h) in self.header.iter().enumerate() {
            let _ = write!(html, "<th style=\"{}\">{h}</th>", self.style(i, true));
        }
        html.push_str("</tr></thead><tbody>");
        for row in &self.rows {
            html.push_str("<tr>");
            for (i, cell) in row.iter().enumerate() {
                let _ = write!(html, "<td style=\"{}\">{cell}</td>", self.style(i, false));
            }
            html.push_str("</tr>");
        }
        html.push_str("</tbody></table>");
        html
    }

    fn style(&self, column: usize, header: bool) -> String {
        let align = if self.numeric.get(column).copied().unwrap_or(false) { "right" } else { "left" };
        let border = if header { "border-bottom:1px solid #444" } else { "border-bottom:1px solid #ddd" };
        format!("text-align:{align};padding:2px 10px;{border}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(escape("<b>\"Tom & Jerry's\"</b>"), "&lt;b&gt;&quot;Tom &amp; Jerry&#39;s&quot;&lt;/b&gt;");
    }

    #[test]
    fn the_evcxr_protocol_wraps_the_html() {
        assert_eq!(evcxr_html("<p>hi</p>"), "EVCXR_BEGIN_CONTENT text/html\n<p>hi</p>\nEVCXR_END_CONTENT");
    }

    #[test]
    fn tables_escape_headers_and_align_numbers() {
        let mut table = HtmlTable::new(&["word", "p < 1"], &[false, true]);
        table.row(vec!["nurse".into(), "0.5".into()]);
        let html = table.to_html();
        assert!(html.contains("p &lt; 1"));
        assert!(html.contains("<td style=\"text-align:right;padding:2px 10px;border-bottom:1px solid #ddd\">0.5</td>"));
    }
}
