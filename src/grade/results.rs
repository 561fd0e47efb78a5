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

/// The results an executed code cell recorded, in order: its standard-output lines that start with
/// `RESULT_PREFIX` (a line that does not parse is recorded under the name `(unreadable)`).
pub fn recorded(cell: &Value) -> Vec<Recorded> {
    // All of standard output first: the kernel may have sent one line in two pieces.
    let mut text = String::new();
    for output in cell.get("outputs").and_then(Value::as_array).into_iter().flatten() {
        if output.get("output_type").and_then(Value::as_str) == Some("stream")
            && output.get("name").and_then(Value::as_str) == Some("stdout")
        {
            text.push_str(&output.get("text").map(notebook::multiline).unwrap_or_default());
        }
    }
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
            {"output_type": "stream", "name": "stderr", "text": "BIASLAB-RESULT {\"name\": \"err\", \"value\": 1}\n"},
        ]})
    }

    fn no_check(_: &str, _: &Value) -> std::result::Result<(), String> {
        Err("no check".into())
    }

    #[test]
    fn results_are_read_from_standard_output_only() {
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
