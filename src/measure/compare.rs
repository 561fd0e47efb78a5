//! What a model predicts for sentences that differ in one word ("This man …" / "This woman …"): the top-k of each
//! side by side ([`Comparison`]), and how much more probable each word of a list is in one sentence than in the
//! other ([`WordGaps`]). These are the results lab 01 looks at; each shows an HTML table in a notebook and has a
//! [`Chart`].

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::measure::words;
use crate::model::fill_mask::{FillMask, FillOptions, Prediction};
use crate::model::scorer::MaskScorer;
use crate::view::chart::{Chart, Panel};
use crate::view::display::{self, escape, palette, HtmlTable};
use crate::view::show::View;

/// The model the lab uses when `BIASLAB_MODEL` is not set ([`crate::env::DEFAULT_MODEL`]).
pub const DEFAULT_MODEL: &str = crate::env::DEFAULT_MODEL;

/// The `k` most probable words for the mask of one text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopK {
    /// The text, with its mask.
    pub text: String,
    /// The model that predicted (hub id, directory, or the demo model's description).
    pub model: String,
    /// The model's short name, for captions and chart titles: the name it was loaded by (`demo`, a hub id, a
    /// directory), from [`MaskScorer::label`] (the same as `model` when made by [`TopK::new`]).
    pub model_label: String,
    /// The predictions, best first.
    pub predictions: Vec<Prediction>,
}

impl TopK {
    /// A top-k from predictions already made (for tests and exercises).
    pub fn new(text: impl Into<String>, model: impl Into<String>, predictions: Vec<Prediction>) -> Self {
        let model = model.into();
        Self { text: text.into(), model_label: model.clone(), model, predictions }
    }

    /// A top-k from words alone, best first, with made-up falling scores and token ids 0, 1, 2…: for exercises
    /// and their checks, where only the words matter.
    pub fn from_words(text: &str, words: &[&str]) -> Self {
        let predictions = words
            .iter()
            .enumerate()
            .map(|(i, word)| Prediction {
                score: 0.5 / (i + 1) as f64,
                token: i as u32,
                token_str: word.to_string(),
                sequence: text.replacen("[MASK]", word, 1),
            })
            .collect();
        Self::new(text, "made-up example", predictions)
    }

    /// The predicted words, best first, without the spaces some tokenizers put in front of them.
    pub fn words(&self) -> Vec<&str> {
        self.predictions.iter().map(|p| p.token_str.trim()).collect()
    }

    /// Whether `word` is among the predictions (ignoring surrounding spaces).
    pub fn contains(&self, word: &str) -> bool {
        self.words().contains(&word.trim())
    }

    /// The predicted words that are occupations ([`words::is_occupation`]), best first.
    pub fn occupations(&self) -> Vec<&str> {
        self.words().into_iter().filter(|w| words::is_occupation(w)).collect()
    }

    /// The probability of `word` at the mask, if it is among the predictions.
    pub fn score(&self, word: &str) -> Option<f64> {
        self.predictions.iter().find(|p| p.token_str.trim() == word.trim()).map(|p| p.score)
    }

    /// An HTML table: rank, word, probability (occupations marked).
    pub fn to_html(&self) -> String {
        let caption =
            format!("{} <span style=\"font-weight:normal\">({})</span>", escape(&self.text), escape(&self.model_label));
        let mut table = HtmlTable::new(&["rank", "word", "probability", "occupation?"], &[true, false, true, false]);
        for (rank, p) in self.predictions.iter().enumerate() {
            let occupation = if words::is_occupation(&p.token_str) { "yes" } else { "" };
            table.row(vec![
                (rank + 1).to_string(),
                escape(p.token_str.trim()),
                format!("{:.4}", p.score),
                occupation.into(),
            ]);
        }
        table.caption(caption).to_html()
    }
}

impl View for TopK {
    fn to_html(&self) -> String {
        TopK::to_html(self)
    }

    /// HTML only, as before: its text is for the terminal.
    fn evcxr_output(&self) -> String {
        display::evcxr_html(&self.to_html())
    }
}

crate::view::show::evcxr_display!(TopK);

impl fmt::Display for TopK {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}  ({})", self.text, self.model)?;
        writeln!(f, "{:>4}  {:<16} {:>11}  occupation?", "rank", "word", "probability")?;
        for (rank, p) in self.predictions.iter().enumerate() {
            let occupation = if words::is_occupation(&p.token_str) { "yes" } else { "" };
            writeln!(f, "{:>4}  {:<16} {:>11.4}  {occupation}", rank + 1, p.token_str.trim(), p.score)?;
        }
        Ok(())
    }
}

/// The top-k of several texts side by side (lab 01: the "man" and the "woman" sentence).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The model that predicted.
    pub model: String,
    /// The model's short name, for captions and chart titles: the name it was loaded by (`demo`, a hub id, a
    /// directory), from [`MaskScorer::label`].
    pub model_label: String,
    /// One top-k per text, in the order the texts were given.
    pub columns: Vec<TopK>,
}

impl Comparison {
    /// For each column, for each prediction: is its word predicted in this column only?
    fn only_here(&self) -> Vec<Vec<bool>> {
        self.columns
            .iter()
            .enumerate()
            .map(|(i, column)| {
                column
                    .words()
                    .iter()
                    .map(|w| self.columns.iter().enumerate().all(|(j, other)| j == i || !other.contains(w)))
                    .collect()
            })
            .collect()
    }

    /// The top-k lists as horizontal bar charts side by side, on one probability scale; a word predicted in one
    /// list only is drawn solid, a word in several lists pale.
    pub fn chart(&self) -> Result<Chart> {
        let k = self.columns.iter().map(|c| c.predictions.len()).max().unwrap_or(0);
        let panels = self
            .columns
            .iter()
            .zip(self.only_here())
            .map(|(column, only_here)| Panel {
                title: column.text.clone(),
                bars: column.predictions.iter().map(|p| (p.token_str.trim().to_string(), p.score)).collect(),
                only_here,
            })
            .collect();
        Chart::side_by_side(
            format!("Top {k} predictions for [MASK] — {}", self.model_label),
            "probability at [MASK] (solid: in this list only; pale: in both)",
            panels,
        )
    }

    /// An HTML table with one pair of columns (word, probability) per text; words predicted for one text only are
    /// in bold and in that text's colour.
    pub fn to_html(&self) -> String {
        let mut header = vec!["rank".to_string()];
        let mut numeric = vec![true];
        for column in &self.columns {
            header.push(column.text.clone());
            header.push("p".into());
            numeric.extend([false, true]);
        }
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let mut table = HtmlTable::new(&header, &numeric);
        let only = self.only_here();
        let colours = [palette::FIRST, palette::SECOND];
        let k = self.columns.iter().map(|c| c.predictions.len()).max().unwrap_or(0);
        #[allow(clippy::needless_range_loop)] // rank indexes every column's predictions and its flags alike
        for rank in 0..k {
            let mut cells = vec![(rank + 1).to_string()];
            for (i, column) in self.columns.iter().enumerate() {
                match column.predictions.get(rank) {
                    Some(p) if only[i][rank] => {
                        let colour = palette::hex(colours[i % 2]);
                        cells.push(format!("<b style=\"color:{colour}\">{}</b>", escape(p.token_str.trim())));
                        cells.push(format!("{:.4}", p.score));
                    }
                    Some(p) => {
                        cells.push(escape(p.token_str.trim()));
                        cells.push(format!("{:.4}", p.score));
                    }
                    None => cells.extend([String::new(), String::new()]),
                }
            }
            table.row(cells);
        }
        let caption = format!(
            "Top {k} of {} <span style=\"font-weight:normal\">(in colour: predicted for this sentence only)</span>",
            escape(&self.model_label)
        );
        table.caption(caption).to_html()
    }
}

impl View for Comparison {
    fn to_html(&self) -> String {
        Comparison::to_html(self)
    }

    fn chart(&self) -> Result<Chart> {
        Comparison::chart(self)
    }

    /// HTML only, as before: its text is for the terminal.
    fn evcxr_output(&self) -> String {
        display::evcxr_html(&self.to_html())
    }
}

crate::view::show::evcxr_display!(Comparison);

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "model: {}  (* = predicted for this sentence only)", self.model)?;
        let only = self.only_here();
        let k = self.columns.iter().map(|c| c.predictions.len()).max().unwrap_or(0);
        write!(f, "{:>4}", "rank")?;
        for column in &self.columns {
            write!(f, "  {:<32}", truncate(&column.text, 32))?;
        }
        writeln!(f)?;
        #[allow(clippy::needless_range_loop)] // rank indexes every column's predictions and its flags alike
        for rank in 0..k {
            write!(f, "{:>4}", rank + 1)?;
            for (i, column) in self.columns.iter().enumerate() {
                let cell = column.predictions.get(rank).map_or(String::new(), |p| {
                    let star = if only[i][rank] { "*" } else { "" };
                    format!("{}{star} {:.4}", p.token_str.trim(), p.score)
                });
                write!(f, "  {cell:<32}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// How much more probable one word is at the mask of the second text than at the mask of the first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WordGap {
    /// The word.
    pub word: String,
    /// Its probability at the mask of the first text.
    pub first: f64,
    /// Its probability at the mask of the second text.
    pub second: f64,
    /// `ln(second) − ln(first)`: above 0 when the word is more probable in the second text. 1.0 means e ≈ 2.7
    /// times as probable.
    pub log_ratio: f64,
}

/// [`WordGap`]s of a word list between two texts, most probable in the second text first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WordGaps {
    /// The model that predicted.
    pub model: String,
    /// The model's short name, for captions and chart titles: the name it was loaded by (`demo`, a hub id, a
    /// directory), from [`MaskScorer::label`].
    pub model_label: String,
    /// The first text ("This man works as a \[MASK\].").
    pub first_text: String,
    /// The second text ("This woman works as a \[MASK\].").
    pub second_text: String,
    /// One gap per scored word, by `log_ratio`, highest first.
    pub gaps: Vec<WordGap>,
    /// Words left out because the model's vocabulary has no single token for them.
    pub skipped: Vec<String>,
}

impl WordGaps {
    /// The `n` words most tilted toward the second text (highest log-ratio first).
    pub fn toward_second(&self, n: usize) -> Vec<&WordGap> {
        self.gaps.iter().filter(|g| g.log_ratio > 0.0).take(n).collect()
    }

    /// The `n` words most tilted toward the first text (lowest log-ratio first).
    pub fn toward_first(&self, n: usize) -> Vec<&WordGap> {
        self.gaps.iter().rev().filter(|g| g.log_ratio < 0.0).take(n).collect()
    }

    /// The gap for `word`, if it was scored.
    pub fn get(&self, word: &str) -> Option<&WordGap> {
        self.gaps.iter().find(|g| g.word == word)
    }

    /// The words in the chart and the table: the `n` most tilted each way, from most toward the second text down to
    /// most toward the first.
    fn extremes(&self, n: usize) -> Vec<&WordGap> {
        let mut rows = self.toward_second(n);
        let mut first = self.toward_first(n);
        first.reverse();
        rows.extend(first);
        rows
    }

    /// A diverging bar chart of the `n` words most tilted toward each text.
    pub fn chart(&self, n: usize) -> Result<Chart> {
        let (first, second) = differing_words(&self.first_text, &self.second_text);
        let rows: Vec<(String, f64)> = self.extremes(n).into_iter().map(|g| (g.word.clone(), g.log_ratio)).collect();
        if rows.is_empty() {
            return Err(Error::Chart(
                "no word is more probable in one text than in the other: ask for at least one word each way (`biaslab \
                 gap --top` 1 or more), and compare two texts that differ"
                    .into(),
            ));
        }
        Chart::diverging(
            format!("Which words does {} tie to “{second}” rather than “{first}”?", self.model_label),
            format!("log P(word | “{}”) − log P(word | “{}”)", self.second_text, self.first_text),
            format!("more probable with “{first}”"),
            format!("more probable with “{second}”"),
            rows,
        )
    }

    /// An HTML table of the `n` most tilted words each way.
    pub fn to_html_top(&self, n: usize) -> String {
        let (first, second) = differing_words(&self.first_text, &self.second_text);
        let header = ["word", &format!("P(word | {first})"), &format!("P(word | {second})"), "log ratio"];
        let mut table = HtmlTable::new(&header, &[false, true, true, true]);
        for gap in self.extremes(n) {
            let colour = palette::hex(if gap.log_ratio >= 0.0 { palette::SECOND } else { palette::FIRST });
            table.row(vec![
                format!("<span style=\"color:{colour}\">{}</span>", escape(&gap.word)),
                format!("{:.2e}", gap.first),
                format!("{:.2e}", gap.second),
                format!("{:+.2}", gap.log_ratio),
            ]);
        }
        let mut caption = format!(
            "The {n} words most tilted each way <span style=\"font-weight:normal\">({} words scored by {}; log ratio = \
             ln P(word | {}) − ln P(word | {}))",
            self.gaps.len(),
            escape(&self.model_label),
            escape(&self.second_text),
            escape(&self.first_text),
        );
        if !self.skipped.is_empty() {
            caption.push_str(&format!(". Not single tokens, so left out: {}", escape(&self.skipped.join(", "))));
        }
        caption.push_str("</span>");
        table.caption(caption).to_html()
    }
}

/// How many words each way [`WordGaps`] shows in a notebook and charts as a [`View`].
const SHOWN_WORDS: usize = 10;

impl View for WordGaps {
    fn to_html(&self) -> String {
        self.to_html_top(SHOWN_WORDS)
    }

    fn chart(&self) -> Result<Chart> {
        WordGaps::chart(self, SHOWN_WORDS)
    }

    /// HTML only, as before: its text is for the terminal.
    fn evcxr_output(&self) -> String {
        display::evcxr_html(&self.to_html())
    }
}

crate::view::show::evcxr_display!(WordGaps);

impl fmt::Display for WordGaps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "model: {}", self.model)?;
        writeln!(f, "log ratio = ln P(word | {:?}) - ln P(word | {:?})", self.second_text, self.first_text)?;
        writeln!(f, "{:<16} {:>12} {:>12} {:>10}", "word", "P(first)", "P(second)", "log ratio")?;
        for gap in &self.gaps {
            writeln!(f, "{:<16} {:>12.3e} {:>12.3e} {:>+10.3}", gap.word, gap.first, gap.second, gap.log_ratio)?;
        }
        if !self.skipped.is_empty() {
            writeln!(f, "not single tokens, so left out: {}", self.skipped.join(", "))?;
        }
        Ok(())
    }
}

impl FillMask {
    /// The `k` most probable words for the one mask of `text`.
    pub fn top_k(&self, text: &str, k: usize) -> Result<TopK> {
        Ok(TopK { model_label: MaskScorer::label(self), ..TopK::new(text, self.source(), self.fill(text, k)?) })
    }

    /// The top-`k` of each text (each with one mask), computed in one batch, side by side.
    pub fn compare(&self, texts: &[&str], k: usize) -> Result<Comparison> {
        if texts.is_empty() {
            return Err(Error::InvalidArgument {
                reason: "compare needs at least one text: give one or more, each with one mask".into(),
            });
        }
        let results = self.fill_batch(texts, &FillOptions::top_k(k))?;
        let columns = texts
            .iter()
            .zip(results)
            .map(|(text, mut per_mask)| match per_mask.len() {
                1 => Ok(TopK {
                    model_label: MaskScorer::label(self),
                    ..TopK::new(*text, self.source(), per_mask.remove(0))
                }),
                count => Err(Error::SeveralMasks { text: text.to_string(), count }),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Comparison { model: self.source().to_string(), model_label: MaskScorer::label(self), columns })
    }

    /// For each of `words` that is one token in the model's vocabulary: its probability at the mask of `first`
    /// and of `second`, and the log-ratio between them. Words that are not one token are listed in
    /// [`WordGaps::skipped`] (a word split into pieces has no single probability at one mask).
    pub fn word_gaps(&self, first: &str, second: &str, words: &[&str]) -> Result<WordGaps> {
        let mut seen = BTreeSet::new();
        let mut scored = Vec::new();
        let mut skipped = Vec::new();
        for word in words.iter().map(|w| w.trim()).filter(|w| !w.is_empty()) {
            if !seen.insert(word.to_string()) {
                continue;
            }
            match self.single_token(word) {
                Some(id) => scored.push((word.to_string(), id)),
                None => skipped.push(word.to_string()),
            }
        }
        if scored.is_empty() {
            let reason = if words.is_empty() {
                "the word list is empty: give at least one word".to_string()
            } else {
                format!(
                    "none of {words:?} is a single token of {}: give words its vocabulary holds whole",
                    self.source()
                )
            };
            return Err(Error::InvalidArgument { reason });
        }
        let targets: Vec<String> = scored.iter().map(|(word, _)| word.clone()).collect();
        let options = FillOptions { top_k: targets.len(), targets: Some(targets), ..FillOptions::default() };
        let results = self.fill_batch(&[first, second], &options)?;
        let mut probability = Vec::new();
        for (text, per_mask) in [first, second].into_iter().zip(results) {
            let [predictions]: [Vec<Prediction>; 1] = per_mask
                .try_into()
                .map_err(|per_mask: Vec<_>| Error::SeveralMasks { text: text.to_string(), count: per_mask.len() })?;
            probability.push(predictions);
        }
        let find =
            |predictions: &[Prediction], id: u32| predictions.iter().find(|p| p.token == id).map_or(0.0, |p| p.score);
        let mut gaps: Vec<WordGap> = scored
            .into_iter()
            .map(|(word, id)| {
                let (p1, p2) = (find(&probability[0], id), find(&probability[1], id));
                WordGap { word, first: p1, second: p2, log_ratio: p2.ln() - p1.ln() }
            })
            .filter(|g| g.log_ratio.is_finite())
            .collect();
        gaps.sort_by(|a, b| b.log_ratio.total_cmp(&a.log_ratio).then_with(|| a.word.cmp(&b.word)));
        Ok(WordGaps {
            model: self.source().to_string(),
            model_label: MaskScorer::label(self),
            first_text: first.to_string(),
            second_text: second.to_string(),
            gaps,
            skipped,
        })
    }

    /// The id of `word` when the vocabulary has it as one whole-word token (as the tokenizer would produce it for
    /// the word after a space).
    fn single_token(&self, word: &str) -> Option<u32> {
        let encoding = self.tokenizer().encode(format!("a {word}").as_str(), false).ok()?;
        let plain = self.tokenizer().encode("a", false).ok()?;
        let ids = encoding.get_ids();
        (ids.len() == plain.get_ids().len() + 1).then(|| ids[ids.len() - 1])
    }

    /// A short description of the model, for a notebook: what it is and how big.
    pub fn describe(&self) -> String {
        let config = self.model().config();
        format!(
            "{} — {:?}, {} layers, hidden size {}, vocabulary {}; write the mask as {}",
            self.source(),
            config.family,
            config.num_hidden_layers,
            config.hidden_size,
            config.vocab_size,
            self.mask_token()
        )
    }

    /// Shows [`FillMask::describe`] in the evcxr Jupyter kernel.
    // Not a `View`: a model, not a result, with no text form (`Display`) of its own.
    pub fn evcxr_display(&self) {
        display::emit_html(&format!("<p><b>Model:</b> {}</p>", escape(&self.describe())));
    }
}

/// The words where two texts differ ("man" and "woman" for "This man …" and "This woman …"), or the whole texts
/// when they differ in more than one place.
pub(crate) fn differing_words(first: &str, second: &str) -> (String, String) {
    let a: Vec<&str> = first.split_whitespace().collect();
    let b: Vec<&str> = second.split_whitespace().collect();
    if a.len() == b.len() {
        let differing: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
        if let [i] = differing[..] {
            let clean = |w: &str| w.trim_matches(|c: char| !c.is_alphanumeric()).to_string();
            return (clean(a[i]), clean(b[i]));
        }
    }
    (first.to_string(), second.to_string())
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        text.chars().take(width - 1).chain(['…']).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comparison() -> Comparison {
        Comparison {
            model: "test".into(),
            model_label: "test".into(),
            columns: vec![
                TopK::from_words("This man works as a [MASK].", &["carpenter", "lawyer", "job"]),
                TopK::from_words("This woman works as a [MASK].", &["nurse", "lawyer", "maid"]),
            ],
        }
    }

    #[test]
    fn words_and_occupations_come_best_first_without_spaces() {
        let top = TopK::from_words("x [MASK]", &[" nurse", "the", "maid"]);
        assert_eq!(top.words(), ["nurse", "the", "maid"]);
        assert_eq!(top.occupations(), ["nurse", "maid"]);
        assert!(top.contains("nurse"));
        assert_eq!(top.score("the"), Some(0.25));
    }

    #[test]
    fn a_comparison_marks_the_words_of_one_list_only() {
        let c = comparison();
        assert_eq!(c.only_here(), [[true, false, true], [true, false, true]]);
        let html = c.to_html();
        assert!(html.contains("<b style=\"color:#0072b2\">carpenter</b>"));
        assert!(html.contains("<b style=\"color:#d55e00\">nurse</b>"));
        assert!(!html.contains("<b style=\"color:#0072b2\">lawyer</b>"));
        let text = c.to_string();
        assert!(text.contains("carpenter* 0.5000"), "{text}");
        assert!(text.contains("lawyer 0.2500"), "{text}");
    }

    #[test]
    fn html_escapes_model_output() {
        let top = TopK::from_words("<script>[MASK]", &["<b>"]);
        let html = top.to_html();
        assert!(!html.contains("<script>") && !html.contains("<b>"));
    }

    #[test]
    fn the_differing_words_name_the_groups() {
        assert_eq!(
            differing_words("This man works as a [MASK].", "This woman works as a [MASK]."),
            ("man".to_string(), "woman".to_string())
        );
        assert_eq!(differing_words("A b c", "D e c"), ("A b c".to_string(), "D e c".to_string()));
    }

    #[test]
    fn captions_and_titles_name_the_model_by_its_label_not_its_description() {
        let description = "demo (the all-MiniLM-L6-v2 encoder with a masked-LM head)";
        let comparison = Comparison { model: description.into(), model_label: "demo".into(), ..comparison() };
        let title = comparison.chart().unwrap().to_string();
        assert!(title.starts_with("Top 3 predictions for [MASK] — demo\n"), "{title}");
        assert!(comparison.to_html().contains("Top 3 of demo "));
        // Made from a name alone, the label is that name, whole: nothing is cut out of it.
        let top = TopK::new("x [MASK]", description, Vec::new());
        assert_eq!(top.model_label, description);
    }

    /// The demo models are labelled by the names they were loaded by (needs BIASLAB_MINILM_DIR):
    /// `cargo test --lib labelled_by -- --ignored`.
    #[test]
    #[ignore]
    fn the_demo_models_are_labelled_by_their_names() {
        use crate::model::sentence::{SentenceEmbedder, SentenceEncoder};
        let demo = FillMask::demo().unwrap();
        assert!(demo.source().starts_with("demo ("));
        assert_eq!(MaskScorer::label(&demo), "demo");
        assert_eq!(demo.compare(&["This man works as a [MASK].", "x [MASK]"], 3).unwrap().model_label, "demo");
        let head_only = SentenceEncoder::from_pretrained("demo-head-only").unwrap();
        assert!(head_only.name().starts_with("demo-head-only ("));
        assert_eq!(head_only.label(), "demo-head-only");
    }

    #[test]
    fn gaps_split_by_sign_and_chart_both_sides() {
        let gap = |word: &str, log_ratio: f64| WordGap { word: word.into(), first: 0.1, second: 0.1, log_ratio };
        let gaps = WordGaps {
            model: "test".into(),
            model_label: "test".into(),
            first_text: "This man works as a [MASK].".into(),
            second_text: "This woman works as a [MASK].".into(),
            gaps: vec![
                gap("nurse", 2.0),
                gap("maid", 1.0),
                gap("judge", 0.0),
                gap("pilot", -0.5),
                gap("carpenter", -3.0),
            ],
            skipped: vec!["astrophysicist".into()],
        };
        let words = |v: Vec<&WordGap>| v.into_iter().map(|g| g.word.clone()).collect::<Vec<_>>();
        assert_eq!(words(gaps.toward_second(5)), ["nurse", "maid"]);
        assert_eq!(words(gaps.toward_first(1)), ["carpenter"]);
        assert_eq!(words(gaps.extremes(1)), ["nurse", "carpenter"]);
        let svg = gaps.chart(5).unwrap().svg().unwrap();
        assert!(svg.contains("more probable with “woman”") && svg.contains("pilot"));
        assert!(gaps.to_html_top(2).contains("astrophysicist"));
    }
}
