//! The verdict on a graded cell, decided by the grader, outside the student's kernel.
//!
//! A graded cell's hidden tests run the student's code on their cases and record what it gives
//! ([`crate::teach::check::record`]: one `RESULT_PREFIX` line per case, the value as JSON). The grader runs the source
//! notebook (the instructor's code, trusted) the same way first, and keeps what its code recorded as the expected
//! values. A submission's cell scores when its run recorded every case of the source exactly once, each equal to
//! the expected value under the cell's comparison rule ([`Compare`], in the source cell's metadata), and nothing
//! else. Neither the expected values nor the rules are ever written where a submission's kernel can read them.
//!
//! So whatever a submission prints, from whichever thread, a point needs the right values for the hidden cases: a
//! line printed by other code is one more (or a duplicated) result, which fails the cell; a forged "passed" is no
//! result at all.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::course::notebook;
use crate::teach::check::RESULT_PREFIX;

/// One case a graded cell recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    /// The case's name, as the hidden test gave it.
    pub name: String,
    /// What the student's code gave: `Ok(value)`, or `Err(why)` when it panicked.
    pub outcome: std::result::Result<Value, String>,
}

/// How a graded cell's recorded values are compared with the source's: `metadata.biaslab.compare` of the source
/// cell, e.g. `{"tolerance": 1e-9}`. The default is exact equality of the JSON values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compare {
    /// Two numbers are equal when they differ by at most this much.
    #[serde(default)]
    pub tolerance: f64,
    /// Lists are equal when they hold the same items in any order.
    #[serde(default)]
    pub unordered: bool,
    /// For an open-ended exercise, whose answers differ from the source's: the check (one of `VALIDATORS`) each
    /// recorded value must pass, here in the grader, instead of equality.
    #[serde(default)]
    pub validate: Option<String>,
}

/// The checks [`Compare::validate`] can name.
pub(crate) const VALIDATORS: [&str; 1] = ["lab02::probe"];

impl Compare {
    /// The rule of a source cell: its `metadata.biaslab.compare`, or the default. An unknown field or validator is
    /// an error (a typo in a rule must not quietly grade with another one).
    pub fn of(cell: &Value) -> std::result::Result<Compare, String> {
        let Some(rule) = cell.pointer("/metadata/biaslab/compare") else { return Ok(Compare::default()) };
        let compare: Compare = serde_json::from_value(rule.clone()).map_err(|err| format!("{rule}: {err}"))?;
        if let Some(name) = compare.validate.as_deref().filter(|name| !VALIDATORS.contains(name)) {
            return Err(format!("no check is named {name:?} (there are: {})", VALIDATORS.join(", ")));
        }
        if compare.tolerance.is_nan() || compare.tolerance < 0.0 {
            return Err(format!("the tolerance {} is not a number of at least 0", compare.tolerance));
        }
        Ok(compare)
    }
}

/// The results an executed code cell recorded: its standard-output lines that start with `RESULT_PREFIX`, then
/// any such line in its other outputs (a line that does not parse is recorded under the name `(unreadable)`).
///
/// Only standard output carries a real result, but the other outputs are read too: evcxr turns every line printed
/// after an `EVCXR_BEGIN_CONTENT` line into display data, so a submission that prints that line (from a `Deref` or
/// `Display` of its own that the hidden tests call) before a forged result would move the real one out of standard
/// output. Read there, the real result is one more, and the case is recorded twice.
pub fn recorded(cell: &Value) -> Vec<Recorded> {
    // All of standard output first: the kernel may have sent one line in two pieces.
    let mut text = String::new();
    let mut elsewhere = String::new();
    for output in cell.get("outputs").and_then(Value::as_array).into_iter().flatten() {
        let kind = output.get("output_type").and_then(Value::as_str).unwrap_or("");
        if kind == "stream" && output.get("name").and_then(Value::as_str) == Some("stdout") {
            text.push_str(&output.get("text").map(notebook::multiline).unwrap_or_default());
        } else if kind == "stream" {
            elsewhere.push('\n');
            elsewhere.push_str(&output.get("text").map(notebook::multiline).unwrap_or_default());
        } else {
            for data in output.get("data").and_then(Value::as_object).into_iter().flat_map(|d| d.values()) {
                elsewhere.push('\n');
                elsewhere.push_str(&notebook::multiline(data));
            }
        }
    }
    text.push('\n');
    text.push_str(&elsewhere);
    let mut found = Vec::new();
    for line in text.lines() {
        let Some(json) = line.strip_prefix(RESULT_PREFIX) else { continue };
        let parsed: Option<Recorded> = serde_json::from_str::<Value>(json).ok().and_then(|v| {
            let name = v.get("name")?.as_str()?.to_string();
            let outcome = match (v.get("value"), v.get("panicked")) {
                (Some(value), None) => Ok(value.clone()),
                (None, Some(why)) => Err(why.as_str().unwrap_or("").to_string()),
                _ => return None,
            };
            Some(Recorded { name, outcome })
        });
        found.push(parsed.unwrap_or_else(|| Recorded { name: "(unreadable)".into(), outcome: Err(json.into()) }));
    }
    found
}

/// What the grader's own last cell prints ([`crate::grade::compose()`] adds it): found in that cell's output, the
/// kernel's output was in step with its cells to the end.
pub const IN_STEP: &str = "biaslab grade: the last cell's own output";

/// Where each case is recorded: for a case name, the graded cells (`grade_id`, index in the notebook) whose hidden
/// tests record it (names are unique within a cell, not across cells).
pub type Homes = std::collections::HashMap<String, Vec<(String, usize)>>;

/// Whether the kernel's output got out of step with the cells of `executed` (a submission printed evcxr's
/// end-of-cell line, so the rest of a cell's output went to the next cell, and so on to the end), and the graded
/// cells to fail for it. Out of step when the grader's last cell ran but its output lacks [`IN_STEP`]: then every
/// graded cell, as any of them may show a forged result in place of its own. Otherwise the graded cells whose cases
/// were recorded in a cell that does not record them, by `homes`.
pub fn out_of_step(executed: &Value, homes: &Homes) -> Vec<String> {
    let cells: &[Value] = executed.get("cells").and_then(Value::as_array).map_or(&[], |c| c.as_slice());
    let mut found: Vec<String> = Vec::new();
    let last_ran = cells.last().filter(|c| c.pointer("/metadata/biaslab/status").and_then(Value::as_str) == Some("ok"));
    if let Some(last) = last_ran {
        let text: String = last
            .get("outputs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|o| o.get("output_type").and_then(Value::as_str) == Some("stream"))
            .map(|o| o.get("text").map(notebook::multiline).unwrap_or_default())
            .collect();
        if !text.contains(IN_STEP) {
            for (grade_id, _) in homes.values().flatten() {
                if !found.contains(grade_id) {
                    found.push(grade_id.clone());
                }
            }
            return found;
        }
    }
    for (index, cell) in cells.iter().enumerate() {
        if cell.get("cell_type").and_then(Value::as_str) != Some("code") {
            continue;
        }
        for result in recorded(cell) {
            let Some(places) = homes.get(&result.name) else { continue };
            if places.iter().all(|(_, at)| *at != index) {
                for (grade_id, _) in places {
                    if !found.contains(grade_id) {
                        found.push(grade_id.clone());
                    }
                }
            }
        }
    }
    found
}

/// Whether `got` (a submission's results for one cell) matches `expected` (the source's) under `compare`; the
/// reason when not, in words for the student that never show an expected value. `validate` runs a named check on
/// one value (see [`Compare::validate`]).
pub fn judge(
    expected: &[Recorded],
    got: &[Recorded],
    compare: &Compare,
    validate: &dyn Fn(&str, &Value) -> std::result::Result<(), String>,
) -> std::result::Result<(), String> {
    for (i, result) in got.iter().enumerate() {
        if got[..i].iter().any(|earlier| earlier.name == result.name) {
            return Err(format!("the case `{}` was recorded twice (something else printed a result)", result.name));
        }
        if !expected.iter().any(|e| e.name == result.name) {
            return Err(format!("`{}` is not a case of these tests (something else printed a result)", result.name));
        }
    }
    for want in expected {
        let Some(result) = got.iter().find(|g| g.name == want.name) else {
            return Err(format!("the tests did not record the case `{}` (they did not run to the end)", want.name));
        };
        let value = match &result.outcome {
            Ok(value) => value,
            Err(why) => return Err(format!("in the case `{}`, {why}", want.name)),
        };
        match (&compare.validate, &want.outcome) {
            (Some(check), _) => validate(check, value).map_err(|why| format!("the case `{}`: {why}", want.name))?,
            (None, Ok(expected)) if same(expected, value, compare) => {}
            (None, _) => {
                return Err(format!("the case `{}` gives a different answer from the expected one", want.name))
            }
        }
    }
    Ok(())
}

/// Whether two JSON values are equal under `compare`.
fn same(a: &Value, b: &Value, compare: &Compare) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y || (x - y).abs() <= compare.tolerance,
            _ => x == y,
        },
        (Value::Array(xs), Value::Array(ys)) if xs.len() == ys.len() => {
            if !compare.unordered {
                return xs.iter().zip(ys).all(|(x, y)| same(x, y, compare));
            }
            let mut unused: Vec<&Value> = ys.iter().collect();
            xs.iter().all(|x| match unused.iter().position(|y| same(x, y, compare)) {
                Some(at) => {
                    unused.swap_remove(at);
                    true
                }
                None => false,
            })
        }
        (Value::Object(xs), Value::Object(ys)) if xs.len() == ys.len() => {
            xs.iter().all(|(key, x)| ys.get(key).is_some_and(|y| same(x, y, compare)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cell(lines: &[&str]) -> Value {
        json!({"cell_type": "code", "outputs": [
            {"output_type": "stream", "name": "stdout", "text": lines.iter().map(|l| format!("{l}\n")).collect::<String>()},
        ]})
    }

    fn no_check(_: &str, _: &Value) -> std::result::Result<(), String> {
        Err("no check".into())
    }

    /// A submission that opens a display block before printing a forged result moves the real one out of standard
    /// output (evcxr makes display data of what follows the marker); read there too, the case is recorded twice.
    #[test]
    fn a_real_result_moved_into_display_data_still_counts() {
        let forged = "BIASLAB-RESULT {\"name\": \"a\", \"value\": true}";
        let real = "BIASLAB-RESULT {\"name\": \"a\", \"value\": false}";
        let cell = json!({"cell_type": "code", "outputs": [
            {"output_type": "stream", "name": "stdout", "text": format!("\n{forged}\n")},
            {"output_type": "display_data", "data": {"text/plain": format!("\n{real}\nThe audit …")}, "metadata": {}},
            {"output_type": "execute_result", "data": {"text/html": ["<p>", "x</p>"]}, "metadata": {}, "execution_count": 1},
        ]});
        let got = recorded(&cell);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].outcome, Ok(json!(true)));
        let expected = vec![Recorded { name: "a".into(), outcome: Ok(json!(true)) }];
        let judged = judge(&expected, &got, &Compare::default(), &no_check);
        assert!(judged.unwrap_err().contains("recorded twice"));
    }

    /// A submission that prints evcxr's end-of-cell line after a forged result sends the real one into the next
    /// cell: found there, the cell it belongs to is named; and the grader's last cell then lacks its own line.
    #[test]
    fn output_out_of_step_with_the_cells_names_the_cells_to_fail() {
        let line = |value: bool| format!("BIASLAB-RESULT {{\"name\": \"a\", \"value\": {value}}}\n");
        let code = |text: String| {
            json!({"cell_type": "code", "metadata": {"biaslab": {"status": "ok"}},
                   "outputs": [{"output_type": "stream", "name": "stdout", "text": text}]})
        };
        // The same case name in two cells' tests: found in either, it is at home.
        let homes = Homes::from([
            ("a".to_string(), vec![("tests".to_string(), 1), ("more_tests".to_string(), 2)]),
            ("b".to_string(), vec![("more_tests".to_string(), 2)]),
        ]);
        let last = code(format!("{IN_STEP}\n"));
        let in_step = json!({"cells": [code(String::new()), code(line(false)), code(line(true)), last.clone()]});
        assert!(out_of_step(&in_step, &homes).is_empty());
        let moved = json!({"cells": [code(line(true)), code(String::new()), code(String::new()), last]});
        assert_eq!(out_of_step(&moved, &homes), ["tests", "more_tests"]);
        let mut lost = vec![code(String::new()), code(line(true)), code(String::new()), code(line(false))];
        assert!(out_of_step(&json!({"cells": lost.clone()}), &homes).len() == 2);
        // The last cell did not run (a time limit): only misplaced results count.
        lost[3]["metadata"]["biaslab"]["status"] = json!("timeout");
        lost[3]["outputs"] = json!([]);
        assert!(out_of_step(&json!({"cells": lost}), &homes).is_empty());
    }

    #[test]
    fn results_are_read_from_standard_output_first() {
        let got = recorded(&cell(&[
            "✓ all checks passed",
            "BIASLAB-RESULT {\"name\": \"a\", \"value\": [1, 2]}",
            "BIASLAB-RESULT {\"name\": \"b\", \"panicked\": \"not done yet\"}",
            "BIASLAB-RESULT nonsense",
        ]));
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0], Recorded { name: "a".into(), outcome: Ok(json!([1, 2])) });
        assert_eq!(got[1].outcome, Err("not done yet".into()));
        assert_eq!(got[2].name, "(unreadable)");
    }

    #[test]
    fn a_cell_passes_only_with_every_case_once_and_right() {
        let expected = recorded(&cell(&[
            "BIASLAB-RESULT {\"name\": \"a\", \"value\": [1.0, \"x\"]}",
            "BIASLAB-RESULT {\"name\": \"b\", \"value\": 0.5}",
        ]));
        let exact = Compare::default();
        let judged = |lines: &[&str], compare: &Compare| judge(&expected, &recorded(&cell(lines)), compare, &no_check);
        let a = "BIASLAB-RESULT {\"name\": \"a\", \"value\": [1.0, \"x\"]}";
        let b = "BIASLAB-RESULT {\"name\": \"b\", \"value\": 0.5}";
        assert_eq!(judged(&[a, b], &exact), Ok(()));
        assert_eq!(judged(&[b, a], &exact), Ok(()), "order of cases does not matter");
        assert!(judged(&[a], &exact).unwrap_err().contains("did not record the case `b`"));
        assert!(judged(&[a, b, b], &exact).unwrap_err().contains("twice"));
        assert!(judged(&[a, b, "BIASLAB-RESULT {\"name\": \"c\", \"value\": 1}"], &exact)
            .unwrap_err()
            .contains("not a case"));
        let off = "BIASLAB-RESULT {\"name\": \"b\", \"value\": 0.5000001}";
        let why = judged(&[a, off], &exact).unwrap_err();
        assert!(why.contains("different answer") && !why.contains("0.5"), "never shows the expected value: {why}");
        assert_eq!(judged(&[a, off], &Compare { tolerance: 1e-6, ..Compare::default() }), Ok(()));
        let swapped = "BIASLAB-RESULT {\"name\": \"a\", \"value\": [\"x\", 1.0]}";
        assert!(judged(&[swapped, b], &exact).is_err());
        assert_eq!(judged(&[swapped, b], &Compare { unordered: true, ..Compare::default() }), Ok(()));
        let panicked = "BIASLAB-RESULT {\"name\": \"b\", \"panicked\": \"not done yet\"}";
        assert!(judged(&[a, panicked], &exact).unwrap_err().contains("not done yet"));
    }

    #[test]
    fn a_validated_case_passes_the_named_check_instead_of_equality() {
        let expected = recorded(&cell(&["BIASLAB-RESULT {\"name\": \"p\", \"value\": {\"n\": 1}}"]));
        let compare = Compare { validate: Some("lab02::probe".into()), ..Compare::default() };
        let check = |name: &str, value: &Value| {
            assert_eq!(name, "lab02::probe");
            if value["n"].as_u64() >= Some(3) {
                Ok(())
            } else {
                Err("too small".to_string())
            }
        };
        let got = recorded(&cell(&["BIASLAB-RESULT {\"name\": \"p\", \"value\": {\"n\": 5}}"]));
        assert_eq!(judge(&expected, &got, &compare, &check), Ok(()));
        let got = recorded(&cell(&["BIASLAB-RESULT {\"name\": \"p\", \"value\": {\"n\": 2}}"]));
        assert!(judge(&expected, &got, &compare, &check).unwrap_err().contains("too small"));
    }

    #[test]
    fn rules_are_read_from_the_source_cell_and_typos_are_errors() {
        assert_eq!(Compare::of(&json!({"metadata": {}})), Ok(Compare::default()));
        let rule = json!({"metadata": {"biaslab": {"compare": {"tolerance": 1e-9, "unordered": true}}}});
        assert_eq!(Compare::of(&rule), Ok(Compare { tolerance: 1e-9, unordered: true, validate: None }));
        assert!(Compare::of(&json!({"metadata": {"biaslab": {"compare": {"tolerence": 1e-9}}}})).is_err());
        assert!(Compare::of(&json!({"metadata": {"biaslab": {"compare": {"validate": "lab09::x"}}}})).is_err());
        assert!(Compare::of(&json!({"metadata": {"biaslab": {"compare": {"tolerance": -1.0}}}})).is_err());
    }
}
