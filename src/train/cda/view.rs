//! What a swap did, as text and HTML: the changed sentences and the counts per word.

use super::*;
use crate::view::show::View;

impl Swapped {
    /// Whether any word was swapped.
    pub fn changed(&self) -> bool {
        !self.swaps.is_empty()
    }

    /// The original and the swapped text, swapped words in bold colour (HTML).
    pub fn to_html(&self) -> String {
        let mut before = String::new();
        let mut after = String::new();
        let mut copied = 0;
        let first = palette::hex(palette::FIRST);
        let second = palette::hex(palette::SECOND);
        for swap in &self.swaps {
            let start = swap.byte_offset;
            let end = start + swap.from.len();
            let (Some(gap), Some(_)) = (self.original.get(copied..start), self.original.get(start..end)) else {
                // Swaps that do not fit the text (edited by hand): show plain text.
                return format!("<p>{} → {}</p>", escape(&self.original), escape(&self.text));
            };
            before.push_str(&escape(gap));
            after.push_str(&escape(gap));
            let _ = std::fmt::Write::write_fmt(
                &mut before,
                format_args!("<b style=\"color:{first}\">{}</b>", escape(&swap.from)),
            );
            let _ = std::fmt::Write::write_fmt(
                &mut after,
                format_args!("<b style=\"color:{second}\">{}</b>", escape(&swap.to)),
            );
            copied = end;
        }
        let tail = escape(self.original.get(copied..).unwrap_or(""));
        before.push_str(&tail);
        after.push_str(&tail);
        let mut table = HtmlTable::new(&["", "text"], &[false, false]);
        table.row(vec!["original".into(), before]);
        table.row(vec!["swapped".into(), after]);
        let caption = format!(
            "{} word(s) swapped{}",
            self.swaps.len(),
            if self.ambiguous > 0 {
                format!(", {} his/her decided by the next word", self.ambiguous)
            } else {
                String::new()
            }
        );
        table.caption(escape(&caption)).to_html()
    }
}

crate::view::show::view!(Swapped);

impl fmt::Display for Swapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} → {}", self.original, self.text)?;
        if self.swaps.is_empty() {
            writeln!(f, "  (no listed word: unchanged)")?;
        }
        for swap in &self.swaps {
            writeln!(f, "  {} → {}  (byte {})", swap.from, swap.to, swap.byte_offset)?;
        }
        if self.ambiguous > 0 {
            writeln!(f, "  {} his/her decided by the next word", self.ambiguous)?;
        }
        Ok(())
    }
}

/// How many rows of [`CdaStats::per_word`] the text and HTML tables show.
pub(super) const TOP_WORDS: usize = 15;

impl CdaStats {
    /// An HTML table: the counts, then the most frequent swaps.
    pub fn to_html(&self) -> String {
        let caption = format!(
            "CDA: {} sentences in, {} changed, {} out; {} words swapped (her→his {}, her→him {}, his→hers {})",
            self.input_sentences,
            self.changed_sentences,
            self.output_sentences,
            self.swaps,
            self.her_to_his,
            self.her_to_him,
            self.his_to_hers
        );
        let mut table = HtmlTable::new(&["from", "to", "count"], &[false, false, true]);
        for (from, to, n) in self.per_word.iter().take(TOP_WORDS) {
            table.row(vec![escape(from), escape(to), n.to_string()]);
        }
        if self.per_word.len() > TOP_WORDS {
            table.row(vec![format!("… {} more", self.per_word.len() - TOP_WORDS), String::new(), String::new()]);
        }
        table.caption(escape(&caption)).to_html()
    }

    /// All of [`CdaStats::per_word`] as CSV: `from,to,count`.
    pub fn write_csv(&self, out: impl std::io::Write) -> Result<()> {
        let csv_error = crate::data::csv_error;
        let mut writer = csv::Writer::from_writer(out);
        writer.write_record(["from", "to", "count"]).map_err(csv_error)?;
        for (from, to, n) in &self.per_word {
            writer.write_record([from.as_str(), to.as_str(), n.to_string().as_str()]).map_err(csv_error)?;
        }
        writer.flush().map_err(|err| Error::Io { path: "<csv output>".into(), source: err })
    }
}

crate::view::show::view!(CdaStats, csv);

impl fmt::Display for CdaStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "CDA: {} sentences in, {} changed, {} out; {} words swapped",
            self.input_sentences, self.changed_sentences, self.output_sentences, self.swaps
        )?;
        writeln!(
            f,
            "her→his {}, her→him {}, his→hers {} (decided by the next word)",
            self.her_to_his, self.her_to_him, self.his_to_hers
        )?;
        if self.per_word.is_empty() {
            return Ok(());
        }
        writeln!(f, "{:<16} {:<16} {:>7}", "from", "to", "count")?;
        for (from, to, n) in self.per_word.iter().take(TOP_WORDS) {
            writeln!(f, "{from:<16} {to:<16} {n:>7}")?;
        }
        if self.per_word.len() > TOP_WORDS {
            writeln!(f, "… {} more", self.per_word.len() - TOP_WORDS)?;
        }
        Ok(())
    }
}

impl Augmented {}

impl View for Augmented {
    fn to_html(&self) -> String {
        self.stats.to_html()
    }

    fn write_csv(&self, out: &mut dyn std::io::Write) -> Result<()> {
        self.stats.write_csv(out)
    }
}

crate::view::show::evcxr_display!(Augmented);

impl fmt::Display for Augmented {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.stats)
    }
}
