//! The reports as tables, text and charts.

use super::*;
use crate::view::show::View;

fn score(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".into(), |v| format!("{v:+.3}"))
}

impl NpmiGap {
    /// The row of `word` (lower-cased), if it is one.
    pub fn get(&self, word: &str) -> Option<&NpmiRow> {
        let word = word.trim().to_lowercase();
        self.rows.iter().find(|r| r.word == word)
    }

    /// The `n` words most skewed toward a (gap above 0), most skewed first.
    pub fn toward_a(&self, n: usize) -> Vec<&NpmiRow> {
        self.rows.iter().filter(|r| r.gap.is_some_and(|g| g > 0.0)).take(n).collect()
    }

    /// The `n` words most skewed toward b (gap below 0), most skewed first.
    pub fn toward_b(&self, n: usize) -> Vec<&NpmiRow> {
        self.rows.iter().rev().filter(|r| r.gap.is_some_and(|g| g < 0.0)).take(n).collect()
    }

    /// The same measurements restricted to `words` (for example [`crate::measure::words::OCCUPATIONS`]), in the same order.
    pub fn only<S: AsRef<str>>(&self, words: &[S]) -> NpmiGap {
        let words: HashSet<String> = words.iter().map(|w| w.as_ref().trim().to_lowercase()).collect();
        NpmiGap { rows: self.rows.iter().filter(|r| words.contains(&r.word)).cloned().collect(), ..self.clone() }
    }

    /// A diverging bar chart of the `n` words most skewed toward each side (toward a to the right), each labelled
    /// with its sentence counts with a and with b.
    pub fn chart(&self, n: usize) -> Result<Chart> {
        let label = |r: &NpmiRow| format!("{} ({}: {}, {}: {})", r.word, self.a, r.count_a, self.b, r.count_b);
        let mut rows: Vec<(String, f64)> =
            self.toward_a(n).into_iter().map(|r| (label(r), r.gap.unwrap_or(0.0))).collect();
        let mut toward_b: Vec<(String, f64)> =
            self.toward_b(n).into_iter().map(|r| (label(r), r.gap.unwrap_or(0.0))).collect();
        toward_b.reverse();
        rows.extend(toward_b);
        if rows.is_empty() {
            return Err(Error::InvalidArgument {
                reason: format!(
                    "no word leans toward {:?} or {:?} among the words in at least {} sentences: lower the minimum \
                     count or measure more text",
                    self.a, self.b, self.min_count
                ),
            });
        }
        Chart::diverging(
            format!("Words most skewed toward {} and {} (nPMI gap)", self.a, self.b),
            format!("nPMI({}) − nPMI({})", self.a, self.b),
            self.b.clone(),
            self.a.clone(),
            rows,
        )
    }

    /// An HTML table of the `n` words most skewed toward each side.
    pub fn to_html_top(&self, n: usize) -> String {
        let header = [
            "word".to_string(),
            "sentences".into(),
            format!("with {}", self.a),
            format!("with {}", self.b),
            format!("nPMI {}", self.a),
            format!("nPMI {}", self.b),
            "gap".into(),
        ];
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let mut table = HtmlTable::new(&header, &[false, true, true, true, true, true, true]);
        let toward_a = self.toward_a(n);
        let toward_b = self.toward_b(n);
        for r in toward_a.iter().chain(toward_b.iter().rev()) {
            table.row(vec![
                escape(&r.word),
                r.count.to_string(),
                r.count_a.to_string(),
                r.count_b.to_string(),
                score(r.npmi_a),
                score(r.npmi_b),
                score(r.gap),
            ]);
        }
        let caption = format!(
            "nPMI gap {} − {} ({} sentences: {} with {}, {} with {}; words in ≥ {} sentences; {} rows)",
            escape(&self.a),
            escape(&self.b),
            self.sentences,
            self.sentences_a,
            escape(&self.a),
            self.sentences_b,
            escape(&self.b),
            self.min_count,
            self.rows.len()
        );
        table.caption(caption).to_html()
    }

    /// How many words per side the table shows (see [`SHOWN_IN_FULL`]).
    fn shown(&self) -> usize {
        if self.rows.len() <= SHOWN_IN_FULL {
            self.rows.len()
        } else {
            20
        }
    }

    /// The words leaning toward each side as HTML: all of them up to `SHOWN_IN_FULL` rows, else the 20 most
    /// skewed each way ([`NpmiGap::to_html_top`] for another number).
    pub fn to_html(&self) -> String {
        self.to_html_top(self.shown())
    }

    /// Writes every row as CSV: `word, count, count_<a>, count_<b>, npmi_<a>, npmi_<b>, gap` (empty when undefined).
    pub fn write_csv(&self, out: impl Write) -> Result<()> {
        let csv_error = crate::data::csv_error;
        let mut writer = csv::Writer::from_writer(out);
        let (a, b) = (&self.a, &self.b);
        writer
            .write_record([
                "word".to_string(),
                "count".into(),
                format!("count_{a}"),
                format!("count_{b}"),
                format!("npmi_{a}"),
                format!("npmi_{b}"),
                "gap".into(),
            ])
            .map_err(csv_error)?;
        let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        for r in &self.rows {
            writer
                .write_record([
                    r.word.clone(),
                    r.count.to_string(),
                    r.count_a.to_string(),
                    r.count_b.to_string(),
                    opt(r.npmi_a),
                    opt(r.npmi_b),
                    opt(r.gap),
                ])
                .map_err(csv_error)?;
        }
        writer.flush().map_err(|source| Error::Io { path: "<csv output>".into(), source })
    }

    fn write_table(&self, f: &mut fmt::Formatter<'_>, n: usize) -> fmt::Result {
        writeln!(
            f,
            "nPMI gap {a} − {b}: {} sentences, {} with {a}, {} with {b}; words in at least {} sentences ({} rows)",
            self.sentences,
            self.sentences_a,
            self.sentences_b,
            self.min_count,
            self.rows.len(),
            a = self.a,
            b = self.b
        )?;
        let width = self.rows.iter().map(|r| r.word.chars().count()).max().unwrap_or(4).clamp(4, 30);
        let section = |f: &mut fmt::Formatter<'_>, title: String, rows: Vec<&NpmiRow>| -> fmt::Result {
            writeln!(f, "{title}")?;
            if rows.is_empty() {
                return writeln!(f, "  (none)");
            }
            writeln!(
                f,
                "  {:<width$} {:>9} {:>7} {:>7} {:>7} {:>7} {:>7}",
                "word", "sentences", "with a", "with b", "nPMI a", "nPMI b", "gap"
            )?;
            for r in rows {
                writeln!(
                    f,
                    "  {:<width$} {:>9} {:>7} {:>7} {:>7} {:>7} {:>7}",
                    r.word,
                    r.count,
                    r.count_a,
                    r.count_b,
                    score(r.npmi_a),
                    score(r.npmi_b),
                    score(r.gap)
                )?;
            }
            Ok(())
        };
        section(f, format!("toward {} (a):", self.a), self.toward_a(n))?;
        section(f, format!("toward {} (b):", self.b), self.toward_b(n))?;
        let undefined = self.rows.iter().filter(|r| r.gap.is_none()).count();
        if undefined > 0 {
            writeln!(f, "{undefined} word(s) with no gap (nPMI n/a: a side never seen, or in every sentence)")?;
        }
        Ok(())
    }
}

/// How many words per side the [`View`] charts of [`NpmiGap`] and [`DatasetReport`] show, as `biaslab measure`
/// draws by default.
const CHART_WORDS: usize = 20;

impl View for NpmiGap {
    fn to_html(&self) -> String {
        NpmiGap::to_html(self)
    }

    fn write_csv(&self, out: &mut dyn std::io::Write) -> Result<()> {
        NpmiGap::write_csv(self, out)
    }

    fn chart(&self) -> Result<crate::view::chart::Chart> {
        NpmiGap::chart(self, CHART_WORDS)
    }
}

crate::view::show::evcxr_display!(NpmiGap);

impl fmt::Display for NpmiGap {
    /// Every word leaning either way when there are at most `SHOWN_IN_FULL` rows, else the 20 most skewed each way.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_table(f, self.shown())
    }
}

/// [`NpmiGap`]'s table and HTML show every row up to this many rows, and the 20 most skewed words per side past it.
pub(crate) const SHOWN_IN_FULL: usize = 60;

impl DatasetReport {
    /// The diverging chart of the `n` words most skewed toward each side of the pair ([`NpmiGap::chart`]).
    pub fn chart_skew(&self, n: usize) -> Result<Chart> {
        self.npmi.chart(n)
    }

    /// Horizontal bars of how often each identity term appears (tokens), labelled "term (list)".
    pub fn chart_terms(&self) -> Result<Chart> {
        if self.terms.is_empty() {
            return Err(Error::InvalidArgument {
                reason: "no term lists were measured: measure with at least one in the options' term_lists".into(),
            });
        }
        let rows = self.terms.iter().map(|t| (format!("{} ({})", t.term, t.list), t.count as f64)).collect();
        Chart::bars("Identity-term frequencies", "tokens", rows)
    }

    /// Writes the nPMI rows as CSV ([`NpmiGap::write_csv`]).
    pub fn write_csv(&self, out: impl Write) -> Result<()> {
        self.npmi.write_csv(out)
    }

    /// The report as HTML: composition, top words, term frequencies, and the words most skewed toward each side.
    pub fn to_html(&self) -> String {
        let c = &self.composition;
        let mut composition = HtmlTable::new(&["measure", "value"], &[false, true]);
        for (name, value) in self.composition_lines() {
            composition.row(vec![escape(&name), escape(&value)]);
        }
        let mut html = composition.caption("Composition".into()).to_html();
        if c.pruned.is_some() || c.duplicates_capped {
            let _ = write!(html, "<p>{}</p>", escape(&self.caveats().join(" ")));
        }
        let mut top = HtmlTable::new(&["word", "tokens", "sentences"], &[false, true, true]);
        for w in &self.top_words {
            top.row(vec![escape(&w.word), w.count.to_string(), w.sentences.to_string()]);
        }
        let stop = if self.keep_stopwords { "" } else { ", stopwords left out" };
        html.push_str(&top.caption(format!("Top {} words{stop}", self.top_words.len())).to_html());
        let mut terms = HtmlTable::new(&["list", "term", "tokens", "sentences"], &[false, false, true, true]);
        for t in &self.terms {
            terms.row(vec![escape(&t.list), escape(&t.term), t.count.to_string(), t.sentences.to_string()]);
        }
        html.push_str(&terms.caption("Identity terms".into()).to_html());
        html.push_str(&self.npmi.to_html_top(self.top));
        html
    }

    fn composition_lines(&self) -> Vec<(String, String)> {
        let c = &self.composition;
        let mut lines = vec![
            ("rows".to_string(), c.rows.to_string()),
            ("sentences".into(), c.sentences.to_string()),
            ("tokens".into(), c.tokens.to_string()),
            ("distinct words".into(), c.distinct_words.to_string()),
            ("words seen once".into(), c.words_seen_once.to_string()),
            ("tokens per sentence".into(), c.mean_sentence_tokens.map_or("n/a".into(), |m| format!("{m:.2}"))),
            ("empty rows".into(), c.empty_rows.to_string()),
            ("duplicate sentences".into(), c.duplicate_sentences.to_string()),
            ("skipped rows".into(), c.skipped_rows.to_string()),
        ];
        for s in &c.skipped {
            lines.push(("  skipped".into(), format!("{}:{}: {}", s.file.as_deref().unwrap_or("?"), s.line, s.reason)));
        }
        lines
    }

    fn caveats(&self) -> Vec<String> {
        let c = &self.composition;
        let mut caveats = Vec::new();
        if let Some(p) = &c.pruned {
            caveats.push(format!(
                "The vocabulary was pruned {} time(s) ({} word entries forgotten, those in at most {} sentences): \
                 counts of rare words are lower bounds.",
                p.rounds, p.words_removed, p.threshold
            ));
        }
        if c.duplicates_capped {
            caveats.push(format!(
                "Duplicates were counted among the first {MAX_SENTENCE_HASHES} distinct sentences only (a lower bound)."
            ));
        }
        caveats
    }
}

impl View for DatasetReport {
    fn to_html(&self) -> String {
        DatasetReport::to_html(self)
    }

    fn write_csv(&self, out: &mut dyn std::io::Write) -> Result<()> {
        DatasetReport::write_csv(self, out)
    }

    fn chart(&self) -> Result<crate::view::chart::Chart> {
        self.chart_skew(CHART_WORDS)
    }
}

crate::view::show::evcxr_display!(DatasetReport);

impl fmt::Display for DatasetReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.files.is_empty() {
            writeln!(f, "files: {}", self.files.join(", "))?;
        }
        writeln!(f, "Composition")?;
        for (name, value) in self.composition_lines() {
            writeln!(f, "  {name:<22} {value}")?;
        }
        for caveat in self.caveats() {
            writeln!(f, "  note: {caveat}")?;
        }
        let stop = if self.keep_stopwords { "" } else { ", stopwords left out" };
        writeln!(f, "Top {} words{stop}: {}", self.top_words.len(), {
            let words: Vec<String> = self.top_words.iter().map(|w| format!("{} {}", w.word, w.count)).collect();
            words.join(", ")
        })?;
        writeln!(f, "Identity terms (tokens / sentences)")?;
        for t in &self.terms {
            writeln!(f, "  {:<8} {:<12} {:>9} {:>9}", t.list, t.term, t.count, t.sentences)?;
        }
        self.npmi.write_table(f, self.top)
    }
}
