//! Lab 01, "See the bias": the quiz and the exercise checks that notebooks/01_fill_mask_bias.ipynb calls.

use std::fmt;

use serde::Serialize;

use crate::measure::compare::{Comparison, TopK};
use crate::teach::check::{self, CheckReport};
use crate::view::display::{self, escape, palette, HtmlTable};
use crate::view::show::View;

/// The lab's two sentences: they differ in one word.
pub const MAN: &str = "This man works as a [MASK].";
/// The lab's two sentences: they differ in one word.
pub const WOMAN: &str = "This woman works as a [MASK].";

/// The quiz's answers: letter, answer, whether it is right, and why.
pub(crate) const ANSWERS: [(char, &str, bool, &str); 4] = [
    (
        'a',
        "In the fill-mask code, which ranks the words",
        false,
        "The code is the same for both sentences and knows nothing of gender: it runs the network and sorts the \
         vocabulary by probability. Give it another model and the same code ranks other words.",
    ),
    (
        'b',
        "In the sentences we wrote",
        false,
        "The sentences differ only in \"man\" and \"woman\", and that is the point: a probe holds everything else \
         fixed, so any difference in the answers comes from the model. Other sentences show the bias more or less \
         strongly; they do not create it.",
    ),
    (
        'c',
        "In the model's weights, learned from the text it was trained on",
        true,
        "The weights were set by predicting hidden words in a large body of text (BookCorpus and English Wikipedia \
         for BERT). Where that text writes about women as nurses more often than as carpenters, predicting well \
         means learning that association, and the pipeline only reads it out.",
    ),
    (
        'd',
        "In the tokenizer",
        false,
        "The tokenizer turns text into token ids with a fixed vocabulary; \"man\" and \"woman\" are one token each. \
         It holds no probabilities, so it ranks nothing: the preference is the weights'. It is not innocent, though: \
         it decides which occupations are one token, and so which ones a fill-mask probe can measure at all \
         (\"plumber\", \"electrician\" and \"pharmacist\" are not one token of bert-base-uncased, so no list here \
         has them).",
    ),
];

/// The outcome of answering the quiz.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuizAnswer {
    /// The letter given.
    pub chosen: char,
    /// Whether it is the right answer; `None` when the letter is not one of the answers.
    pub correct: Option<bool>,
    /// Why there is no letter yet (the answer cell still says `todo!()`, or panicked).
    pub not_done: Option<String>,
}

/// Answers lab 01's quiz with a letter (`'a'` to `'d'`, any case).
pub fn quiz(answer: char) -> QuizAnswer {
    let chosen = answer.to_ascii_lowercase();
    let correct = ANSWERS.iter().find(|(letter, ..)| *letter == chosen).map(|(_, _, right, _)| *right);
    QuizAnswer { chosen, correct, not_done: None }
}

/// Answers the quiz with the letter `answer` returns: the notebook's answer cell is a function, so that its
/// `todo!()` stub (what a released notebook holds) is "not done yet" here instead of a panic that would lose the
/// kernel's variables.
pub fn check_quiz(answer: impl FnOnce() -> char) -> QuizAnswer {
    match check::run(answer) {
        Ok(letter) => quiz(letter),
        Err(why) => QuizAnswer { chosen: '?', correct: None, not_done: Some(why) },
    }
}

impl QuizAnswer {
    fn lines(&self) -> Vec<(String, String)> {
        // (heading, explanation) pairs: the chosen answer first; once it is right, every other answer too.
        let mut lines = Vec::new();
        for (letter, answer, right, why) in ANSWERS {
            if letter == self.chosen || self.correct == Some(true) {
                let mark = if right { "✓" } else { "✗" };
                lines.push((format!("{mark} ({letter}) {answer}"), why.to_string()));
            }
        }
        if self.correct == Some(true) {
            lines.rotate_left(ANSWERS.iter().position(|a| a.0 == self.chosen).unwrap_or(0));
        }
        lines
    }

    fn verdict(&self) -> String {
        match self.correct {
            Some(true) => "Right. Here is why each answer is or is not where the bias lives:".into(),
            Some(false) => "Not quite. Read why, then try another letter.".into(),
            None => match &self.not_done {
                Some(why) => {
                    format!("No answer yet ({why}): write your letter in quiz_answer, run its cell, then this one.")
                }
                None => format!("{:?} is not one of the answers: give 'a', 'b', 'c' or 'd'.", self.chosen),
            },
        }
    }
}

/// The verdict and the explanations.
impl View for QuizAnswer {
    fn to_html(&self) -> String {
        let colour = palette::hex(if self.correct == Some(true) { palette::PASS } else { palette::SECOND });
        let mut html = format!("<div><p style=\"color:{colour}\"><b>{}</b></p><ul>", escape(&self.verdict()));
        for (heading, why) in self.lines() {
            html.push_str(&format!("<li><b>{}</b><br>{}</li>", escape(&heading), escape(&why)));
        }
        html.push_str("</ul></div>");
        html
    }

    /// HTML only: its text is for the terminal.
    fn evcxr_output(&self) -> String {
        display::evcxr_html(&self.to_html())
    }
}

crate::view::show::evcxr_display!(QuizAnswer);

impl fmt::Display for QuizAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.verdict())?;
        for (heading, why) in self.lines() {
            writeln!(f, "{heading}\n    {why}")?;
        }
        Ok(())
    }
}

/// The visible checks of exercise 1: `only_in(a, b)` returns the occupations predicted in `a` and not in `b`,
/// in `a`'s order (best first), without the spaces some tokenizers put before a word.
pub fn check_only_in(only_in: impl Fn(&TopK, &TopK) -> Vec<String>) -> CheckReport {
    let women = TopK::from_words(crate::teach::lab01::WOMAN, &["nurse", "teacher", "maid", "waitress", "secretary"]);
    let men = TopK::from_words(crate::teach::lab01::MAN, &["carpenter", "teacher", "lawyer", "mechanic", "farmer"]);
    let mixed = TopK::from_words(crate::teach::lab01::WOMAN, &["job", "nurse", ".", "the", "doctor"]);
    let doctor = TopK::from_words(crate::teach::lab01::MAN, &["doctor"]);
    let spaced = TopK::from_words("This woman works as a<mask>.", &[" nurse", " doctor"]);
    let strings = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<String>>();
    let mut report = CheckReport::new("Exercise 1: occupations predicted for one sentence only");
    report
        .case(
            "the occupations of the first list that the second lacks, best first",
            strings(&["nurse", "maid", "waitress", "secretary"]),
            "keep each word of a.occupations() that b does not contain, in a's order (lab 00, §3: filter, map, collect)",
            || only_in(&women, &men),
        )
        .case(
            "the other way round",
            strings(&["carpenter", "lawyer", "mechanic", "farmer"]),
            "only_in(b, a) should look at b's words, not a's",
            || only_in(&men, &women),
        )
        .case(
            "words that are not occupations are left out",
            strings(&["nurse"]),
            "start from a.occupations(), not every predicted word: it leaves out words that are not occupations",
            || only_in(&mixed, &doctor),
        )
        .case(
            "two identical lists have no occupation of their own",
            Vec::<String>::new(),
            "a word that is in both lists belongs to neither one alone: filter with ! (not) (lab 00, §3)",
            || only_in(&women, &women),
        )
        .case(
            "a space before a word (as RoBERTa's tokens have) does not make it a different word",
            strings(&["nurse"]),
            "compare the trimmed words: a.occupations() and b.contains(word) already trim (lab 00, §1: strings)",
            || only_in(&spaced, &doctor),
        );
    report
}

/// What a student's `only_in` finds in the model's own answers: the occupations predicted for each sentence only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OnlyIn {
    /// The first sentence and its occupations that the second lacks (or why the function failed).
    pub first: (String, std::result::Result<Vec<String>, String>),
    /// The second sentence and its occupations that the first lacks (or why the function failed).
    pub second: (String, std::result::Result<Vec<String>, String>),
}

/// Runs a student's `only_in` both ways on the first two columns of `comparison`, catching a panic or an
/// unfinished `todo!()` so the notebook goes on.
pub fn only_in_on(only_in: impl Fn(&TopK, &TopK) -> Vec<String>, comparison: &Comparison) -> OnlyIn {
    let missing = || TopK::from_words("(no sentence)", &[]);
    let first = comparison.columns.first().cloned().unwrap_or_else(missing);
    let second = comparison.columns.get(1).cloned().unwrap_or_else(missing);
    OnlyIn {
        first: (first.text.clone(), check::run(|| only_in(&first, &second))),
        second: (second.text.clone(), check::run(|| only_in(&second, &first))),
    }
}

impl OnlyIn {
    fn rows(&self) -> [(&str, String); 2] {
        fn show((text, found): &(String, std::result::Result<Vec<String>, String>)) -> (&str, String) {
            let found = match found {
                Ok(words) if words.is_empty() => "(none)".to_string(),
                Ok(words) => words.join(", "),
                Err(why) => why.clone(),
            };
            (text.as_str(), found)
        }
        [show(&self.first), show(&self.second)]
    }
}

/// The two lists.
impl View for OnlyIn {
    fn to_html(&self) -> String {
        let mut table = HtmlTable::new(&["sentence", "occupations predicted for this sentence only"], &[false, false]);
        for (text, found) in self.rows() {
            table.row(vec![escape(text), escape(&found)]);
        }
        table.to_html()
    }

    /// HTML only: its text is for the terminal.
    fn evcxr_output(&self) -> String {
        display::evcxr_html(&self.to_html())
    }
}

crate::view::show::evcxr_display!(OnlyIn);

impl fmt::Display for OnlyIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (text, found) in self.rows() {
            writeln!(f, "{text}  only: {found}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solution(a: &TopK, b: &TopK) -> Vec<String> {
        a.occupations().into_iter().filter(|w| !b.contains(w)).map(String::from).collect()
    }

    #[test]
    fn the_solution_passes_every_check_and_a_stub_fails_every_one() {
        let report = check_only_in(solution);
        assert!(report.passed(), "{report}");
        let stub = check_only_in(|_, _| todo!());
        assert_eq!(stub.passed_count(), 0);
        assert!(stub.results.iter().all(|r| r.detail.contains("todo!()")));
    }

    #[test]
    fn a_solution_that_forgets_the_occupation_filter_fails_that_check() {
        let report = check_only_in(|a, b| a.words().into_iter().filter(|w| !b.contains(w)).map(String::from).collect());
        assert!(!report.passed());
        assert!(!report.results[2].passed);
    }

    #[test]
    fn only_in_on_runs_both_ways_and_survives_a_todo() {
        let comparison = Comparison {
            model: "test".into(),
            model_label: "test".into(),
            columns: vec![TopK::from_words(MAN, &["carpenter", "job"]), TopK::from_words(WOMAN, &["nurse", "job"])],
        };
        let found = only_in_on(solution, &comparison);
        assert_eq!(found.first.1, Ok(vec!["carpenter".to_string()]));
        assert_eq!(found.second.1, Ok(vec!["nurse".to_string()]));
        let unfinished = only_in_on(|_, _| todo!(), &comparison);
        assert!(unfinished.to_string().contains("todo!()"));
    }

    #[test]
    fn the_quiz_explains_every_answer_once_it_is_right() {
        let right = quiz('C');
        assert_eq!(right.correct, Some(true));
        let text = right.to_string();
        for (letter, ..) in ANSWERS {
            assert!(text.contains(&format!("({letter})")), "{text}");
        }
        let wrong = quiz('a');
        assert_eq!(wrong.correct, Some(false));
        assert!(wrong.to_string().contains("(a)") && !wrong.to_string().contains("(c)"));
        assert_eq!(quiz('z').correct, None);
        assert!(quiz('z').to_string().contains("not one of the answers"));
        // The released answer cell: todo!() is "not done yet", not a panic.
        let unanswered = check_quiz(|| todo!());
        assert_eq!(unanswered.correct, None);
        assert!(unanswered.to_string().contains("No answer yet (not done yet"), "{unanswered}");
        assert_eq!(check_quiz(|| 'c').correct, Some(true));
    }
}
