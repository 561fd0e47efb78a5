//! Exercises that check themselves, as rustlings does: a check runs the student's code on cases with known answers
//! and prints ✓ or ✗ with a hint for each.
//!
//! A check never panics. The student's code runs inside [`std::panic::catch_unwind`], so an unfinished exercise
//! (`todo!()`) or a bug that panics shows as a ✗ with the panic's message, and the notebook's variables survive (a
//! panic escaping a cell restarts the evcxr kernel's process and loses them).

use std::fmt;
use std::panic::{self, AssertUnwindSafe};

use serde::Serialize;

use crate::view::display::{escape, palette};

/// The outcome of one case of a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// What the case tries.
    pub name: String,
    /// Whether the student's code gave the expected answer.
    pub passed: bool,
    /// On failure: what was expected and what came back, or the panic's message.
    pub detail: String,
    /// On failure: a hint toward the answer.
    pub hint: String,
}

/// The outcome of every case of one exercise's check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// The exercise's name.
    pub exercise: String,
    /// One result per case, in the order they ran.
    pub results: Vec<CheckResult>,
}

impl CheckReport {
    /// An empty report for `exercise`.
    pub fn new(exercise: impl Into<String>) -> Self {
        Self { exercise: exercise.into(), results: Vec::new() }
    }

    /// Runs `student` (the student's code on one case) without letting a panic escape, and compares what it returns
    /// with `expected`; `hint` is shown when they differ.
    pub fn case<T, F>(&mut self, name: &str, expected: T, hint: &str, student: F) -> &mut Self
    where
        T: PartialEq + fmt::Debug,
        F: FnOnce() -> T,
    {
        let (passed, detail) = match run(student) {
            Ok(got) if got == expected => (true, String::new()),
            Ok(got) => (false, format!("expected {expected:?}, got {got:?}")),
            Err(panic) => (false, panic),
        };
        self.results.push(CheckResult { name: name.into(), passed, detail, hint: hint.into() });
        self
    }

    /// Whether every case passed (and there was at least one).
    pub fn passed(&self) -> bool {
        !self.results.is_empty() && self.results.iter().all(|r| r.passed)
    }

    /// How many cases passed.
    pub fn passed_count(&self) -> usize {
        self.results.iter().filter(|r| r.passed).count()
    }

    /// The report as HTML: a ✓ or ✗ per case, details and hints for the failures.
    pub fn to_html(&self) -> String {
        let (pass, fail) = (palette::hex(palette::PASS), palette::hex(palette::SECOND));
        let mut html = format!(
            "<div class=\"biaslab-check\"><b>{}</b><ul style=\"list-style:none;padding-left:0.5em\">",
            escape(&self.exercise)
        );
        for r in &self.results {
            if r.passed {
                html.push_str(&format!("<li><span style=\"color:{pass}\">✓</span> {}</li>", escape(&r.name)));
            } else {
                html.push_str(&format!(
                    "<li><span style=\"color:{fail}\">✗</span> {}<br><code>{}</code><br><i>hint:</i> {}</li>",
                    escape(&r.name),
                    escape(&r.detail),
                    escape(&r.hint)
                ));
            }
        }
        html.push_str("</ul>");
        html.push_str(&format!("<p>{}</p></div>", escape(&self.summary())));
        html
    }

    fn summary(&self) -> String {
        if self.passed() {
            format!("All {} checks pass. Well done!", self.results.len())
        } else {
            format!("{} of {} {FAILED_SUMMARY}", self.passed_count(), self.results.len())
        }
    }
}

crate::view::show::view!(CheckReport);

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.exercise)?;
        for r in &self.results {
            if r.passed {
                writeln!(f, "  ✓ {}", r.name)?;
            } else {
                writeln!(f, "  ✗ {}\n      {}\n      hint: {}", r.name, r.detail, r.hint)?;
            }
        }
        writeln!(f, "{}", self.summary())
    }
}

/// Runs `f`, turning a panic into `Err(message)`; the panic's usual message on standard error is held back while
/// it runs. A `todo!()` reads "not done yet".
pub fn run<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let outcome = panic::catch_unwind(AssertUnwindSafe(f));
    panic::set_hook(previous);
    outcome.map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic with no message".to_string());
        if message.starts_with("not yet implemented") {
            "not done yet: your code still says todo!()".to_string()
        } else {
            format!("your code panicked: {message}")
        }
    })
}

/// How the summary of a check with a ✗ ends: the grader refuses a source notebook whose own checks show it.
pub(crate) const FAILED_SUMMARY: &str = "checks pass. Fix the ✗ above and run this cell again.";

/// The MIME type of the empty display block [`record`] prints before its line; no notebook renders it.
pub(crate) const RECORD_BLOCK: &str = "application/x-biaslab-record";

/// What starts each line [`record`] prints; the grader reads these lines, and the student's feedback leaves them out.
pub(crate) const RESULT_PREFIX: &str = "BIASLAB-RESULT ";

/// Records, for the grader, what the student's code gives in the case `name`: runs `student` (a panic is caught and
/// recorded as such) and prints one line (after a line break), `RESULT_PREFIX` then `{"name": …, "value": …}` (or
/// `"panicked": …`) as JSON. Graded cells' hidden tests call it. The grader decides outside the student's kernel: it
/// compares these values with the ones the source notebook's own code recorded for the same cases, so a line printed by
/// anything else in the kernel can only score with the right values.
pub fn record<T: Serialize>(name: &str, student: impl FnOnce() -> T) {
    let line = match run(student).map(|value| serde_json::to_value(&value)) {
        Ok(Ok(value)) => serde_json::json!({ "name": name, "value": value }),
        Ok(Err(err)) => serde_json::json!({ "name": name, "panicked": format!("the value cannot be recorded: {err}") }),
        Err(why) => serde_json::json!({ "name": name, "panicked": why }),
    };
    // On a line of its own even when the student's code printed a line it did not end. First an empty display block
    // of its own: evcxr turns what follows an `EVCXR_BEGIN_CONTENT` line into display data up to the next
    // `EVCXR_END_CONTENT`, so a block the student's code opened (to hide this line from the grader) ends here, and
    // when none is open the block is empty and shows nothing.
    println!("\nEVCXR_BEGIN_CONTENT {RECORD_BLOCK}\nEVCXR_END_CONTENT\n{RESULT_PREFIX}{line}");
}

/// `value` rounded to `decimals` decimals, so that a check compares numbers as they are printed.
pub(crate) fn rounded(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::unnecessary_literal_unwrap)] // a student's unwrap on None, on purpose
    fn passing_failing_and_panicking_cases_are_reported_without_a_panic() {
        let mut report = CheckReport::new("exercise");
        report
            .case("adds", 4, "use +", || 2 + 2)
            .case("multiplies", 6, "use *", || 2 + 3)
            .case("unfinished", 1, "write it", || -> i32 { todo!() })
            .case("crashes", 1, "no unwrap", || -> i32 { None::<i32>.unwrap() });
        assert!(!report.passed());
        assert_eq!(report.passed_count(), 1);
        assert_eq!(report.results[1].detail, "expected 6, got 5");
        assert_eq!(report.results[2].detail, "not done yet: your code still says todo!()");
        assert!(report.results[3].detail.starts_with("your code panicked: called `Option::unwrap()`"));
        let text = report.to_string();
        assert!(text.contains("✓ adds") && text.contains("✗ multiplies") && text.contains("1 of 4 checks pass"));
        assert!(report.to_html().contains("hint:</i> use *"));
    }

    #[test]
    fn an_empty_report_has_not_passed() {
        assert!(!CheckReport::new("nothing").passed());
    }
}
