//! Lab 00, "The Rust you need for this lab": the self-checking exercises of notebooks/00_rust_primer.ipynb.
//!
//! One check per section of the primer, each a few cases on the lab's own material (sentences, occupations,
//! probabilities, counts): [`check_fill`] (§1, strings), [`check_top`] (§2, vectors and slices), [`check_only_in`]
//! (§3, iterators and closures), [`check_parse_row`] (§4, `Option`, `Result` and `?`), [`check_share`] (§5, `f64`
//! and integers) and [`check_first_word`] (§6, a panic). [`attempt`] runs code that may panic and says what happened
//! in plain words, so that §6 can show a panic without losing the notebook's variables.

use std::fmt::Debug;

use crate::teach::check::{self, rounded, CheckReport};

/// Lab 01's template with a place for the group: `fill(TEMPLATE, "woman")` is lab 01's second sentence.
pub const TEMPLATE: &str = "This [GROUP] works as a [MASK].";

/// Runs `code` and says in plain words what happened: `it returned …` with the value, or `it stopped with a panic: …`
/// with the panic's message. The panic is caught (with [`check::run`]), so the notebook's variables survive it.
pub fn attempt<T: Debug>(code: impl FnOnce() -> T) -> String {
    match check::run(code) {
        Ok(value) => format!("it returned {value:?}"),
        Err(why) => {
            let message = why.strip_prefix("your code panicked: ").unwrap_or(&why);
            format!("it stopped with a panic: {message}")
        }
    }
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// The visible checks of exercise 1 (§1, strings): `fill(template, word)` returns a new `String`, the template with
/// every `[GROUP]` replaced by `word` and everything else (the `[MASK]` too) unchanged.
pub fn check_fill(fill: impl Fn(&str, &str) -> String) -> CheckReport {
    let mut report = CheckReport::new("Exercise 1: fill a template");
    report
        .case(
            "lab 01's sentence about a woman",
            "This woman works as a [MASK].".to_string(),
            "str::replace(pattern, with) returns a new String with every match of pattern replaced",
            || fill(TEMPLATE, "woman"),
        )
        .case(
            "the same template about a man",
            "This man works as a [MASK].".to_string(),
            "use the word you are given, not a fixed one",
            || fill(TEMPLATE, "man"),
        )
        .case(
            "the [MASK] stays for the model to fill",
            "The [MASK] helped the nurse.".to_string(),
            "replace \"[GROUP]\" only, brackets included: the model fills [MASK] later",
            || fill("The [MASK] helped the [GROUP].", "nurse"),
        )
        .case(
            "every [GROUP] is replaced, not only the first",
            "The woman said the woman was a [MASK].".to_string(),
            "str::replace replaces every match; replacen(.., 1) only the first",
            || fill("The [GROUP] said the [GROUP] was a [MASK].", "woman"),
        )
        .case(
            "a template without [GROUP] comes back unchanged",
            "Everyone works as a [MASK].".to_string(),
            "nothing to replace: return the template as a String",
            || fill("Everyone works as a [MASK].", "woman"),
        );
    report
}

/// The visible checks of exercise 2 (§2, vectors and slices): `top(words, k)` is the slice of the first `k` words,
/// or all of them when there are fewer than `k`, never a panic.
pub fn check_top(top: impl Fn(&[String], usize) -> &[String]) -> CheckReport {
    let predicted = strings(&["nurse", "teacher", "maid", "waitress", "secretary"]);
    let short = strings(&["carpenter", "farmer"]);
    let mut report = CheckReport::new("Exercise 2: the top k words");
    report
        .case(
            "the first 3 of 5 words",
            strings(&["nurse", "teacher", "maid"]),
            "a slice of the first k words is &words[..k]",
            || top(&predicted, 3).to_vec(),
        )
        .case("k = 0 is an empty slice", Vec::<String>::new(), "&words[..0] is empty, which is right", || {
            top(&predicted, 0).to_vec()
        })
        .case(
            "k = the number of words: all of them",
            predicted.clone(),
            "&words[..words.len()] is the whole list",
            || top(&predicted, 5).to_vec(),
        )
        .case(
            "asking for 10 of 2 words gives the 2, without a panic",
            short.clone(),
            "&words[..10] panics when there are only 2 words: slice up to k.min(words.len()) (see §6)",
            || top(&short, 10).to_vec(),
        );
    report
}

/// The visible checks of exercise 3 (§3, iterators and closures): `only_in(a, b)` returns the words of `a` that are
/// not in `b`, in `a`'s order, as `String`s.
pub fn check_only_in(only_in: impl Fn(&[&str], &[&str]) -> Vec<String>) -> CheckReport {
    let women = ["nurse", "teacher", "maid", "waitress"];
    let men = ["carpenter", "teacher", "lawyer", "farmer"];
    let mut report = CheckReport::new("Exercise 3: words in one list only");
    report
        .case(
            "the words of the first list that the second lacks, in the first list's order",
            strings(&["nurse", "maid", "waitress"]),
            "filter keeps the words of a for which its closure is true (!b.contains(*w)); map makes each a String; collect gathers them",
            || only_in(&women, &men),
        )
        .case(
            "the other way round",
            strings(&["carpenter", "lawyer", "farmer"]),
            "only_in(b, a) keeps b's words: go through the first argument",
            || only_in(&men, &women),
        )
        .case(
            "two identical lists have no word of their own",
            Vec::<String>::new(),
            "a word that is in both lists belongs to neither alone: keep it out with ! (not)",
            || only_in(&women, &women),
        )
        .case(
            "against an empty list, every word is kept",
            strings(&["nurse", "teacher", "maid", "waitress"]),
            "an empty b contains nothing, so filter keeps every word of a",
            || only_in(&women, &[]),
        );
    report
}

/// The visible checks of exercise 4 (§4, `Option`, `Result` and `?`): `parse_row(line)` reads a row `word,number`
/// such as `nurse,0.31` into `Ok((word, number))`, spaces around either part left out, and returns an `Err` (any
/// message) when the line has no comma or its number is not one. The checks compare the `Ok` value exactly and
/// accept any error message.
pub fn check_parse_row(parse_row: impl Fn(&str) -> Result<(String, f64), String>) -> CheckReport {
    // Any error message will do: the checks only ask whether there was one.
    let outcome = |line: &str| parse_row(line).map_err(|_| "an error");
    let mut report = CheckReport::new("Exercise 4: read a row word,number");
    report
        .case(
            "a row as a CSV file holds it",
            Ok(("nurse".to_string(), 0.31)),
            "line.split_once(',') gives Some((word, number)); number.parse::<f64>() gives the number",
            || outcome("nurse,0.31"),
        )
        .case(
            "spaces around the parts are left out",
            Ok(("carpenter".to_string(), 0.05)),
            "trim() each part before you keep it or parse it: \" 0.05\" is not a number",
            || outcome(" carpenter , 0.05 "),
        )
        .case(
            "a line without a comma is an error, not a panic",
            Err("an error"),
            "split_once returns None: turn it into an Err with .ok_or(\"…\")? instead of unwrap()",
            || outcome("nurse 0.31"),
        )
        .case(
            "a number that is not a number is an error, not a panic",
            Err("an error"),
            "parse::<f64>() returns a Result: .map_err(|e| e.to_string())? passes its error on",
            || outcome("nurse,high"),
        )
        .case(
            "an empty line is an error",
            Err("an error"),
            "\"\" has no comma: the same ? as above returns the Err early",
            || outcome(""),
        );
    report
}

/// The visible checks of exercise 5 (§5, `f64` and integers): `share(count, total)` is `count / total` as an `f64`
/// (0.3 for 3 of 10), computed in `f64` because integer division drops the fraction.
pub fn check_share(share: impl Fn(u64, u64) -> f64) -> CheckReport {
    let mut report = CheckReport::new("Exercise 5: a share as a fraction");
    report
        .case(
            "3 of 10 sentences is 0.3",
            0.3,
            "3 / 10 in integers is 0: convert first, count as f64 / total as f64",
            || rounded(share(3, 10), 6),
        )
        .case(
            "1 of 3 is 0.333333 (to 6 decimals)",
            0.333333,
            "convert both numbers with `as f64` before dividing, not the result after",
            || rounded(share(1, 3), 6),
        )
        .case("10 of 10 is 1", 1.0, "count / total, in that order", || rounded(share(10, 10), 6))
        .case("0 of 5 is 0", 0.0, "no sentence is a share of 0", || rounded(share(0, 5), 6));
    report
}

/// The visible checks of exercise 6 (§6, a panic): `first_word(words)` is the first word, `None` for an empty list,
/// and never panics.
pub fn check_first_word(first_word: impl Fn(&[String]) -> Option<String>) -> CheckReport {
    let mut report = CheckReport::new("Exercise 6: the first word, without a panic");
    report
        .case(
            "the first of two words",
            Some("nurse".to_string()),
            "words.first() is Some(&word) for a list that is not empty; .cloned() makes it an Option<String>",
            || first_word(&strings(&["nurse", "doctor"])),
        )
        .case(
            "an empty list has no first word: None, not a panic",
            None,
            "words[0] panics on an empty list; words.first() returns None instead",
            || first_word(&[]),
        )
        .case(
            "a list of one word",
            Some("judge".to_string()),
            "the first word of a one-word list is that word",
            || first_word(&strings(&["judge"])),
        );
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(template: &str, word: &str) -> String {
        template.replace("[GROUP]", word)
    }

    fn top(words: &[String], k: usize) -> &[String] {
        &words[..k.min(words.len())]
    }

    fn only_in(a: &[&str], b: &[&str]) -> Vec<String> {
        a.iter().filter(|w| !b.contains(*w)).map(|w| w.to_string()).collect()
    }

    fn parse_row(line: &str) -> Result<(String, f64), String> {
        let (word, number) = line.split_once(',').ok_or("no comma")?;
        let number = number.trim().parse::<f64>().map_err(|e| e.to_string())?;
        Ok((word.trim().to_string(), number))
    }

    fn share(count: u64, total: u64) -> f64 {
        count as f64 / total as f64
    }

    fn first_word(words: &[String]) -> Option<String> {
        words.first().cloned()
    }

    #[test]
    fn the_reference_answers_pass_every_check() {
        for report in [
            check_fill(fill),
            check_top(top),
            check_only_in(only_in),
            check_parse_row(parse_row),
            check_share(share),
            check_first_word(first_word),
        ] {
            assert!(report.passed(), "{report}");
        }
    }

    #[test]
    fn a_todo_fails_every_check_as_not_done_yet() {
        let reports = [
            check_fill(|_, _| todo!()),
            check_only_in(|_, _| todo!()),
            check_parse_row(|_| todo!()),
            check_share(|_, _| todo!()),
            check_first_word(|_| todo!()),
        ];
        for report in reports {
            assert_eq!(report.passed_count(), 0, "{report}");
            assert!(report.results.iter().all(|r| r.detail.contains("not done yet")), "{report}");
        }
        fn top_todo(_: &[String], _: usize) -> &[String] {
            todo!()
        }
        assert_eq!(check_top(top_todo).passed_count(), 0);
    }

    #[test]
    fn the_usual_mistakes_fail_some_checks() {
        // §1: only the first [GROUP].
        let first_only = check_fill(|t, w| t.replacen("[GROUP]", w, 1));
        assert_eq!(first_only.passed_count(), 4, "{first_only}");
        // §2: a slice that panics past the end.
        fn unguarded(words: &[String], k: usize) -> &[String] {
            &words[..k]
        }
        let report = check_top(unguarded);
        assert_eq!(report.passed_count(), 3);
        assert!(report.results[3].detail.contains("out of range"), "{report}");
        // §3: the filter the wrong way round.
        let kept = check_only_in(|a, b| a.iter().filter(|w| b.contains(*w)).map(|w| w.to_string()).collect());
        assert!(!kept.passed());
        // §4: no trim, and unwrap instead of ?.
        let untrimmed = |line: &str| -> Result<(String, f64), String> {
            let (word, number) = line.split_once(',').unwrap();
            Ok((word.to_string(), number.parse::<f64>().unwrap()))
        };
        let report = check_parse_row(untrimmed);
        assert_eq!(report.passed_count(), 1, "{report}");
        // §5: integer division.
        let report = check_share(|c, t| (c / t) as f64);
        assert_eq!(report.passed_count(), 2, "{report}");
        // §6: indexing an empty list.
        let report = check_first_word(|words| Some(words[0].clone()));
        assert_eq!(report.passed_count(), 2, "{report}");
        assert!(report.results[1].detail.contains("index out of bounds"), "{report}");
    }

    #[test]
    fn attempt_says_what_happened_without_the_word_the_notebook_tests_look_for() {
        let words = strings(&["nurse", "doctor", "judge"]);
        assert_eq!(attempt(|| words[1].clone()), "it returned \"doctor\"");
        let stopped = attempt(|| words[3].clone());
        assert_eq!(stopped, "it stopped with a panic: index out of bounds: the len is 3 but the index is 3");
        assert!(!stopped.contains("panicked"));
    }
}
