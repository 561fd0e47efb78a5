//! `biaslab measure` end to end: a small temporary corpus (JSON shape and values, CSV header, clear errors) and the
//! real BOLD Wikipedia files from the lab's shared data (which must be there: a missing file fails the test).

use std::path::PathBuf;
use std::process::{Command, Output};

fn biaslab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_biaslab")).args(args).output().expect("the biaslab binary runs")
}

fn json(output: &Output) -> serde_json::Value {
    assert!(output.status.success(), "failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("--json prints JSON")
}

fn bold_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data"));
    for name in ["gender_wiki.json", "profession_wiki.json"] {
        let path = dir.join("bold/wikipedia").join(name);
        assert!(path.is_file(), "{} is missing: the lab's shared data must hold the BOLD files", path.display());
    }
    dir
}

/// The hand-made corpus of the unit tests (`dataset::tests::npmi_on_a_hand_made_corpus`), two sentences on a line.
const CORPUS: &str = "She is a nurse. She met the doctor.\nHe is a doctor.\nHe and she talked.\nThe nurse smiled.\n";

#[test]
fn measures_a_small_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corpus.txt");
    std::fs::write(&path, CORPUS).unwrap();
    let file = path.to_str().unwrap();
    let report = json(&biaslab(&["measure", file, "--min-count", "1", "--json"]));
    let c = &report["composition"];
    assert_eq!((c["rows"].as_u64(), c["sentences"].as_u64(), c["tokens"].as_u64()), (Some(4), Some(5), Some(19)));
    let npmi = &report["npmi"];
    assert_eq!((npmi["a"].as_str(), npmi["b"].as_str()), (Some("she"), Some("he")));
    assert_eq!((npmi["sentences_a"].as_u64(), npmi["sentences_b"].as_u64()), (Some(3), Some(2)));
    let rows = npmi["rows"].as_array().unwrap();
    let words: Vec<&str> = rows.iter().filter_map(|r| r["word"].as_str()).collect();
    assert_eq!(words, ["met", "nurse", "smiled", "doctor", "talked"]);
    // nurse: ln(5/6)/ln 5 with she, never with he (−1).
    let nurse = &rows[1];
    assert_eq!(
        (nurse["count"].as_u64(), nurse["count_a"].as_u64(), nurse["count_b"].as_u64()),
        (Some(2), Some(1), Some(0))
    );
    let expected = (5.0f64 / 6.0).ln() / 5f64.ln();
    assert!((nurse["npmi_a"].as_f64().unwrap() - expected).abs() < 1e-12);
    assert_eq!(nurse["npmi_b"].as_f64(), Some(-1.0));
    assert!(report["terms"].as_array().unwrap().iter().any(|t| t["term"] == "she" && t["count"] == 3));

    let csv = biaslab(&["measure", file, "--min-count", "1", "--csv"]);
    assert!(csv.status.success());
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert!(csv.starts_with("word,count,count_she,count_he,npmi_she,npmi_he,gap\nmet,1,1,0,"), "{csv}");

    // Charts are written; a term list can be a side of the pair.
    let skew = dir.path().join("skew.svg");
    let terms = dir.path().join("terms.svg");
    let out = biaslab(&[
        "measure",
        file,
        "--min-count",
        "1",
        "--terms",
        "care=nurse,doctor",
        "--pair",
        "female,male",
        "--chart",
        skew.to_str().unwrap(),
        "--terms-chart",
        terms.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(skew.is_file() && terms.is_file());
    assert!(String::from_utf8_lossy(&out.stdout).contains("care"));
}

#[test]
fn errors_are_clear_and_do_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corpus.txt");
    std::fs::write(&path, CORPUS).unwrap();
    let file = path.to_str().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&["measure", "/nonexistent/corpus.txt"], "No such file"),
        (&["measure"], "nothing to measure"),
        (&["measure", file, "--pair", "she"], "is not two terms"),
        (&["measure", file, "--pair", "she,she"], "with itself"),
        (&["measure", file, "--format", "xml"], "not a format"),
    ];
    for (args, message) in cases {
        let out = biaslab(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("error:") && stderr.contains(message), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn measures_the_bold_wikipedia_files() {
    let data = bold_dir();
    let data = data.to_str().unwrap();
    // Each BOLD list item one unit: 13,399 items in the two files (counted with Python's json module:
    // sum of len(list) over every category and name), none blank.
    let report =
        json(&biaslab(&["measure", "--bold", "--data", data, "--no-split", "--pair", "female,male", "--json"]));
    let c = &report["composition"];
    assert_eq!(
        (c["rows"].as_u64(), c["sentences"].as_u64(), c["skipped_rows"].as_u64()),
        (Some(13399), Some(13399), Some(0))
    );
    // Checked in Python (re.findall(r"(?u)\b\w+\b", item.lower()) per item, sets per sentence): 498 items hold a
    // female term, 813 a male one; "actress" is in 623, 149 of them with a female term and 6 with a male one:
    // nPMI 0.413812 and −0.238690, gap 0.652502.
    let npmi = &report["npmi"];
    assert_eq!((npmi["sentences_a"].as_u64(), npmi["sentences_b"].as_u64()), (Some(498), Some(813)));
    let rows = npmi["rows"].as_array().unwrap();
    let actress = rows.iter().find(|r| r["word"] == "actress").expect("actress is a row");
    assert_eq!(
        (actress["count"].as_u64(), actress["count_a"].as_u64(), actress["count_b"].as_u64()),
        (Some(623), Some(149), Some(6))
    );
    assert!((actress["gap"].as_f64().unwrap() - 0.6525021579872821).abs() < 1e-9);
    // Among the occupations, "actress" is among the three most skewed toward female, and "actor" toward male.
    let occupations = biaslab::words::OCCUPATIONS;
    let gaps: Vec<(&str, f64)> = rows
        .iter()
        .filter_map(|r| Some((r["word"].as_str()?, r["gap"].as_f64()?)))
        .filter(|(w, _)| occupations.contains(w))
        .collect();
    let female: Vec<&str> = gaps.iter().filter(|(_, g)| *g > 0.0).take(3).map(|(w, _)| *w).collect();
    assert!(female.contains(&"actress"), "{female:?}");
    let actor = gaps.iter().find(|(w, _)| *w == "actor").unwrap().1;
    assert!(actor < -0.5, "{actor}");

    // Split into sentences, the items give more sentences than items, and the rows stay 13,399.
    let split = json(&biaslab(&["measure", "--bold", "--data", data, "--json", "--top", "5"]));
    let c = &split["composition"];
    assert_eq!(c["rows"].as_u64(), Some(13399));
    assert!(c["sentences"].as_u64().unwrap() > 13399);
    assert_eq!(split["top_words"].as_array().unwrap().len(), 5);
}
