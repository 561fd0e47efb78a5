//! A HONEST report as text, HTML and a chart; completions only after a content warning.

use super::*;

impl HonestReport {
    /// The score of one group, if present.
    pub fn group(&self, group: &str) -> Option<&GroupScore> {
        self.per_group.iter().find(|g| g.group == group)
    }

    /// The HONEST score of each group, in percent of completions, with its bootstrap interval over templates (0 is
    /// the ideal).
    pub fn chart(&self) -> Result<crate::view::chart::Chart> {
        let rows = self
            .per_group
            .iter()
            .map(|g| crate::view::chart::IntervalBar {
                label: g.group.clone(),
                value: g.score * 100.0,
                low: g.interval.low * 100.0,
                high: g.interval.high * 100.0,
            })
            .collect();
        crate::view::chart::Chart::bars_with_intervals(
            format!("HONEST: hurtful completions in the top {} ({})", self.k, self.model_label),
            "hurtful completions, % (95 % interval)",
            rows,
            None,
        )
    }

    /// The rows of the table (one per group, then "all"): group, templates, hurtful completions, score, interval.
    fn rows(&self) -> impl Iterator<Item = (&str, usize, usize, f64, Interval)> {
        self.per_group
            .iter()
            .map(|g| (g.group.as_str(), g.templates, g.hurtful, g.score, g.interval))
            .chain(std::iter::once(("all", self.templates, self.hurtful, self.honest_score, self.interval)))
    }

    /// Whether there are hurtful completions to show (then every display starts with [`CONTENT_WARNING`]).
    fn shows_words(&self) -> bool {
        self.examples.iter().any(|e| !e.words.is_empty())
    }

    /// CSV rows: one per group and one for all (`group` = "all"): model, k, group, templates, hurtful, score and its
    /// interval ends. (No completions: they are offensive and belong after a warning.)
    pub fn write_csv(&self, out: impl std::io::Write) -> Result<()> {
        let csv_error = crate::data::csv_error;
        let mut writer = csv::Writer::from_writer(out);
        writer
            .write_record(["model", "k", "group", "templates", "hurtful", "honest_score", "low", "high"])
            .map_err(csv_error)?;
        for (group, templates, hurtful, score, interval) in self.rows() {
            writer
                .write_record([
                    self.model.clone(),
                    self.k.to_string(),
                    group.to_string(),
                    templates.to_string(),
                    hurtful.to_string(),
                    score.to_string(),
                    interval.low.to_string(),
                    interval.high.to_string(),
                ])
                .map_err(csv_error)?;
        }
        writer.flush().map_err(|e| Error::Io { path: "<csv output>".into(), source: e })
    }

    /// The report as HTML: the content warning (when hurtful words are shown), the scores per group, the counts per
    /// HurtLex category, and the most frequent hurtful completions per group.
    pub fn to_html(&self) -> String {
        let mut html = String::new();
        if self.shows_words() {
            html.push_str(&format!("<p style=\"color:#D55E00\"><b>{}</b></p>", escape(CONTENT_WARNING)));
        }
        let caption = format!(
            "HONEST ({}, k = {}) <span style=\"font-weight:normal\">— share of the top-{} completions that are \
             HurtLex words; {} templates</span>",
            escape(&self.model),
            self.k,
            self.k,
            self.templates
        );
        let mut table = HtmlTable::new(
            &["group", "templates", "hurtful", "HONEST score", "95 % interval"],
            &[false, true, true, true, true],
        )
        .caption(caption);
        let rows = self.per_group.iter().map(|g| (g.group.clone(), g.templates, g.hurtful, g.score, g.interval)).chain(
            std::iter::once(("all".to_string(), self.templates, self.hurtful, self.honest_score, self.interval)),
        );
        for (group, templates, hurtful, score, interval) in rows {
            table.row(vec![
                escape(&group),
                templates.to_string(),
                hurtful.to_string(),
                format!("{score:.4}"),
                format!("[{:.4}, {:.4}]", interval.low, interval.high),
            ]);
        }
        html.push_str(&table.to_html());
        let mut categories =
            HtmlTable::new(&["HurtLex category", "meaning", "hurtful completions"], &[false, false, true]);
        for (code, count) in self.per_category.iter().filter(|(_, &n)| n > 0) {
            categories.row(vec![escape(code), escape(category_description(code).unwrap_or("")), count.to_string()]);
        }
        html.push_str(&categories.to_html());
        if self.shows_words() {
            let mut words =
                HtmlTable::new(&["group", "most frequent hurtful completions (templates)"], &[false, false]);
            for e in self.examples.iter().filter(|e| !e.words.is_empty()) {
                let list: Vec<String> = e.words.iter().map(|w| format!("{} ({})", escape(&w.word), w.count)).collect();
                words.row(vec![escape(&e.group), list.join(", ")]);
            }
            html.push_str(&words.to_html());
        }
        html
    }
}

crate::view::show::view!(HonestReport, csv, chart);

impl fmt::Display for HonestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.shows_words() {
            writeln!(f, "{CONTENT_WARNING}\n")?;
        }
        writeln!(f, "HONEST (Nozza et al. 2021), model: {}, k = {}", self.model, self.k)?;
        writeln!(
            f,
            "templates: {} ({} duplicate rows merged, as honest.py does); score = hurtful / (templates × k)",
            self.templates, self.duplicate_templates
        )?;
        writeln!(
            f,
            "{:<28} {:>9} {:>8} {:>8}  {:<20}",
            "group", "templates", "hurtful", "score", "95% CI (bootstrap)"
        )?;
        for (group, templates, hurtful, score, interval) in self.rows() {
            writeln!(
                f,
                "{group:<28} {templates:>9} {hurtful:>8} {score:>8.4}  [{:.4}, {:.4}]",
                interval.low, interval.high
            )?;
        }
        let used: Vec<String> =
            self.per_category.iter().filter(|(_, &n)| n > 0).map(|(c, n)| format!("{c} {n}")).collect();
        writeln!(f, "HurtLex categories: {}", if used.is_empty() { "none".to_string() } else { used.join(", ") })?;
        if self.shows_words() {
            writeln!(f, "most frequent hurtful completions:")?;
            for e in self.examples.iter().filter(|e| !e.words.is_empty()) {
                let list: Vec<String> = e.words.iter().map(|w| format!("{} ({})", w.word, w.count)).collect();
                writeln!(f, "  {}: {}", e.group, list.join(", "))?;
            }
        }
        Ok(())
    }
}
