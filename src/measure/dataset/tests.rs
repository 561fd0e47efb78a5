use super::*;

const EPS: f64 = 1e-12;

fn options(min_count: u64) -> MeasureOptions {
    MeasureOptions { min_count, ..MeasureOptions::default() }
}

#[test]
fn npmi_conventions() {
    // Perfect association: x and y always together, in 2 of 5 sentences: ln(5/2) / ln(5/2) = 1.
    assert!((npmi(2, 2, 2, 5).unwrap() - 1.0).abs() < EPS);
    // Never together: the limit −1.
    assert_eq!(npmi(0, 2, 3, 5), Some(-1.0));
    // Independent: p(x,y) = p(x) p(y) = 1/2 · 1/2 over 4 sentences: 0.
    assert!(npmi(1, 2, 2, 4).unwrap().abs() < EPS);
    // Undefined: no sentence, an unseen word, every sentence holds both (a one-sentence corpus), impossible counts.
    assert_eq!(npmi(0, 0, 0, 0), None);
    assert_eq!(npmi(1, 1, 1, 0), None);
    assert_eq!(npmi(0, 0, 3, 5), None);
    assert_eq!(npmi(0, 3, 0, 5), None);
    assert_eq!(npmi(1, 1, 1, 1), None);
    assert_eq!(npmi(3, 3, 3, 3), None);
    assert_eq!(npmi(3, 2, 3, 5), None);
    assert_eq!(npmi(1, 6, 3, 5), None);
}

/// The hand-made corpus, pair she/he, min_count 1, stopwords (is, a, the, and) left out:
///
/// 1. "She is a nurse."      she
/// 2. "She met the doctor."  she
/// 3. "He is a doctor."      he
/// 4. "He and she talked."   she, he
/// 5. "The nurse smiled."
///
/// n = 5; she in 3 sentences (1, 2, 4), he in 2 (3, 4).
/// * met: 1 sentence, 1 with she, 0 with he. nPMI(she) = ln(1·5/(1·3)) / ln(5/1) = ln(5/3)/ln 5 = 0.317394;
///   nPMI(he) = −1 (never together); gap = 1.317394.
/// * nurse: 2 sentences (1, 5), 1 with she, 0 with he. nPMI(she) = ln(5/6)/ln 5 = −0.113283; nPMI(he) = −1;
///   gap = 0.886717.
/// * smiled: 1 sentence, with neither: −1 and −1, gap 0.
/// * doctor: 2 sentences (2, 3), 1 with each. nPMI(she) = ln(5/6)/ln 5 = −0.113283; nPMI(he) = ln(5/4)/ln 5 =
///   0.138647; gap = ln(2/3)/ln 5 = −0.251929.
/// * talked: 1 sentence (4), with both. nPMI(she) = ln(5/3)/ln 5 = 0.317394; nPMI(he) = ln(5/2)/ln 5 =
///   0.569323; gap = ln(2/3)/ln 5 = −0.251929, the same as doctor: tied, so by word (doctor, talked).
const CORPUS: [&str; 5] =
    ["She is a nurse.", "She met the doctor.", "He is a doctor.", "He and she talked.", "The nurse smiled."];

#[test]
fn npmi_on_a_hand_made_corpus() {
    let report = measure_texts(CORPUS, &options(1)).unwrap();
    let gap = &report.npmi;
    assert_eq!((gap.sentences, gap.sentences_a, gap.sentences_b), (5, 3, 2));
    let words: Vec<&str> = gap.rows.iter().map(|r| r.word.as_str()).collect();
    assert_eq!(words, ["met", "nurse", "smiled", "doctor", "talked"]);
    let ln5 = 5f64.ln();
    let expect = |word: &str, counts: (u64, u64, u64), a: f64, b: f64| {
        let r = gap.get(word).unwrap();
        assert_eq!((r.count, r.count_a, r.count_b), counts, "{word}");
        assert!((r.npmi_a.unwrap() - a).abs() < EPS, "{word}: {:?} vs {a}", r.npmi_a);
        assert!((r.npmi_b.unwrap() - b).abs() < EPS, "{word}: {:?} vs {b}", r.npmi_b);
        assert!((r.gap.unwrap() - (a - b)).abs() < EPS, "{word}");
    };
    expect("met", (1, 1, 0), (5.0 / 3.0f64).ln() / ln5, -1.0);
    expect("nurse", (2, 1, 0), (5.0 / 6.0f64).ln() / ln5, -1.0);
    expect("smiled", (1, 0, 0), -1.0, -1.0);
    expect("doctor", (2, 1, 1), (5.0 / 6.0f64).ln() / ln5, (5.0 / 4.0f64).ln() / ln5);
    expect("talked", (1, 1, 1), (5.0 / 3.0f64).ln() / ln5, (5.0 / 2.0f64).ln() / ln5);
    assert!((gap.get("met").unwrap().gap.unwrap() - 1.317394).abs() < 1e-6);
    assert!((gap.get("doctor").unwrap().gap.unwrap() + 0.251929).abs() < 1e-6);
    // The pair's words are not rows; stopwords are not rows unless kept.
    assert!(gap.get("she").is_none() && gap.get("he").is_none() && gap.get("is").is_none());
    let kept = measure_texts(CORPUS, &MeasureOptions { keep_stopwords: true, ..options(1) }).unwrap();
    assert_eq!(kept.npmi.get("is").map(|r| (r.count, r.count_a, r.count_b)), Some((2, 1, 1)));
    assert!(kept.npmi.get("she").is_none());
    // Toward she: met, nurse; toward he: doctor/talked tie, ordered from the b end (talked first).
    let toward_a: Vec<&str> = gap.toward_a(5).iter().map(|r| r.word.as_str()).collect();
    assert_eq!(toward_a, ["met", "nurse"]);
    let toward_b: Vec<&str> = gap.toward_b(5).iter().map(|r| r.word.as_str()).collect();
    assert_eq!(toward_b, ["talked", "doctor"]);
    // min_count 2 keeps nurse and doctor only.
    let two = measure_texts(CORPUS, &options(2)).unwrap();
    let words: Vec<&str> = two.npmi.rows.iter().map(|r| r.word.as_str()).collect();
    assert_eq!(words, ["nurse", "doctor"]);
    let only = gap.only(&["Doctor", "nurse", "absent"]);
    assert_eq!(only.rows.len(), 2);
    // Composition: 5 rows, 5 sentences, 4+4+4+4+3 = 19 tokens.
    let c = &report.composition;
    assert_eq!((c.rows, c.sentences, c.tokens, c.duplicate_sentences), (5, 5, 19, 0));
    assert!((c.mean_sentence_tokens.unwrap() - 3.8).abs() < EPS);
    // she, is, a, nurse, met, the, doctor, he, and, talked, smiled: 11 distinct; seen once: met, and, talked,
    // smiled (she ×3, he ×2, is ×2, a ×2, the ×2, nurse ×2, doctor ×2).
    assert_eq!((c.distinct_words, c.words_seen_once), (11, 4));
    let she = report.terms.iter().find(|t| t.term == "she").unwrap();
    assert_eq!((she.list.as_str(), she.count, she.sentences), ("female", 3, 3));
    // The text table, CSV and charts work.
    let text = report.to_string();
    assert!(text.contains("toward she (a)") && text.contains("met"), "{text}");
    let mut csv = Vec::new();
    report.write_csv(&mut csv).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.starts_with("word,count,count_she,count_he,npmi_she,npmi_he,gap\nmet,1,1,0,"), "{csv}");
    assert!(report.chart_skew(3).is_ok() && report.chart_terms().is_ok());
    assert!(report.to_html().contains("Composition"));
}

#[test]
fn degenerate_corpora() {
    // One sentence holding both: p(x,y) = 1 for every word with she → undefined.
    let one = measure_texts(["She and he smiled."], &options(1)).unwrap();
    let r = one.npmi.get("smiled").unwrap();
    assert_eq!((r.npmi_a, r.npmi_b, r.gap), (None, None, None));
    assert!(one.to_string().contains("n/a"));
    // No text at all: n = 0, every probability undefined, no rows, and no panic anywhere.
    let empty = measure_texts(Vec::<String>::new(), &options(1)).unwrap();
    assert_eq!((empty.npmi.sentences, empty.npmi.rows.len()), (0, 0));
    assert_eq!(empty.composition.mean_sentence_tokens, None);
    assert!(empty.chart_skew(5).is_err());
    let _ = empty.to_string();
    // A term never seen: nPMI with it undefined.
    let no_he = measure_texts(["She smiled.", "They smiled."], &options(1)).unwrap();
    let r = no_he.npmi.get("smiled").unwrap();
    assert_eq!((r.npmi_b, r.gap), (None, None));
    // Term lists as sides: "female" counts a sentence holding any of its words.
    let lists = MeasureOptions { pair: ("female".into(), "male".into()), ..options(1) };
    let report = measure_texts(["Her mother sang.", "His son sang.", "The cat sat."], &lists).unwrap();
    assert_eq!((report.npmi.sentences_a, report.npmi.sentences_b), (1, 1));
    assert!(report.npmi.get("mother").is_none() && report.npmi.get("sang").is_some());
    // Bad pairs are clear errors.
    for pair in [("she", "she"), ("she", "two words"), ("", "he")] {
        let bad = MeasureOptions { pair: (pair.0.into(), pair.1.into()), ..options(1) };
        assert!(matches!(Measurer::new(&bad), Err(Error::InvalidArgument { .. })), "{pair:?}");
    }
}

#[test]
fn duplicates_and_pruning() {
    let report = measure_texts(["She ran. She ran.", "she ran.", "He sat."], &options(1)).unwrap();
    // "She ran." twice (exact text); "she ran." differs in case, so is not a duplicate.
    assert_eq!((report.composition.sentences, report.composition.duplicate_sentences), (4, 1));
    let small = MeasureOptions { max_vocab: 10, ..options(1) };
    let texts: Vec<String> = (0..50).map(|i| format!("she word{i} common")).collect();
    let report = measure_texts(&texts, &small).unwrap();
    let pruned = report.composition.pruned.clone().unwrap();
    assert!(pruned.rounds >= 1 && pruned.words_removed > 0 && pruned.threshold == 1, "{pruned:?}");
    assert!(report.composition.distinct_words <= 10);
    // Identity terms and frequent words survive with their exact counts.
    assert_eq!(report.terms.iter().find(|t| t.term == "she").unwrap().count, 50);
    assert_eq!(report.top_words.iter().find(|w| w.word == "common").unwrap().count, 50);
    assert!(report.to_string().contains("pruned"));
}

#[test]
fn tokenising_and_splitting() {
    assert_eq!(tokenize("She's a Nurse_1, don't—Ça va! x"), ["she", "s", "a", "nurse_1", "don", "t", "ça", "va", "x"]);
    assert!(tokenize(" — … ").is_empty());
    assert_eq!(
        split_sentences("She left. He stayed! \"Why?\" 3 more. e.g. the end"),
        ["She left.", "He stayed!", "\"Why?\"", "3 more. e.g. the end"]
    );
    assert_eq!(split_sentences("Version 2.0 is out.Next"), ["Version 2.0 is out.Next"]);
    assert_eq!(split_sentences("  "), Vec::<&str>::new());
    assert_eq!(split_sentences("Ends here.  "), ["Ends here."]);
    assert!(is_stopword("the") && is_stopword("98") && !is_stopword("99") && !is_stopword("nurse"));
    assert!(!is_stopword("05") && is_stopword("5"));
    let mut m = Measurer::new(&options(1)).unwrap().split_sentences(false);
    m.add_text("One. Two.");
    m.add_text("   ");
    assert_eq!((m.rows, m.sentences, m.empty_rows), (2, 1, 1));
}

#[test]
fn term_lists() {
    let female = TermList::female();
    assert!(female.terms.contains(&"she".to_string()) && female.terms.contains(&"woman".to_string()));
    assert!(TermList::male().terms.contains(&"himself".to_string()));
    assert_eq!(TermList::gender().len(), 2);
    let list = TermList::parse("nurses = Nurse, nurses ,,").unwrap();
    assert_eq!((list.name.as_str(), list.terms.clone()), ("nurses", vec!["nurse".to_string(), "nurses".into()]));
    assert!(TermList::parse("no equals sign").is_err());
    assert!(TermList::parse("x=").is_err());
    assert!(TermList::parse("=a").is_err());
    assert!(TermList::parse("x=non binary").is_err());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kin.txt");
    std::fs::write(&path, "# kin\naunt\n\nUncle\n").unwrap();
    assert_eq!(
        TermList::read(&path).unwrap(),
        TermList { name: "kin".into(), terms: vec!["aunt".into(), "uncle".into()] }
    );
    assert!(matches!(TermList::read(&dir.path().join("missing.txt")), Err(Error::Io { .. })));
    assert_eq!("JSONL".parse::<Format>().unwrap(), Format::Jsonl);
    assert!("xml".parse::<Format>().is_err());
}

fn measure_file(name: &str, content: &[u8], read: &ReadOptions) -> Result<DatasetReport> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    measure_files(&[path], read, &options(1))
}

#[test]
fn readers() {
    let read = ReadOptions::default();
    // Text: a line per row; a blank line is an empty row; invalid UTF-8 does not stop the file.
    let text = measure_file("a.txt", b"She ran. He sat.\n\n\xffHe ran\n", &read).unwrap();
    let c = &text.composition;
    assert_eq!((c.rows, c.sentences, c.empty_rows, c.skipped_rows), (3, 3, 1, 0));
    // JSON Lines: bad JSON, a missing field and a non-string are skipped with their lines.
    let jsonl = "{\"text\": \"She ran.\"}\nnot json\n{\"other\": 1}\n\n{\"text\": 5}\n{\"text\": \"He sat.\"}\n";
    let report = measure_file("a.jsonl", jsonl.as_bytes(), &read).unwrap();
    let c = &report.composition;
    assert_eq!((c.rows, c.sentences, c.skipped_rows), (2, 2, 3));
    let lines: Vec<usize> = c.skipped.iter().map(|s| s.line).collect();
    assert_eq!(lines, [2, 3, 5]);
    // Another field.
    let other = ReadOptions { field: "body".into(), format: Format::Jsonl, ..ReadOptions::default() };
    let report = measure_file("a.txt", b"{\"body\": \"She ran.\"}\n", &other).unwrap();
    assert_eq!(report.composition.sentences, 1);
    // CSV: quoted cells with commas and new lines; a row with the wrong number of fields is skipped.
    let csv = "id,text\n1,\"She ran, fast. He sat.\"\n2\n3,\"Line one\nline two\"\n";
    let report = measure_file("a.csv", csv.as_bytes(), &read).unwrap();
    let c = &report.composition;
    assert_eq!((c.rows, c.sentences, c.skipped_rows), (2, 3, 1));
    assert_eq!(c.skipped[0].line, 3);
    let err = measure_file("b.csv", b"id,body\n1,x\n", &read).unwrap_err();
    assert!(err.to_string().contains("no column \"text\""), "{err}");
    // BOLD, and a .json that is not BOLD read as text.
    let bold = r#"{"g": {"Jane_Doe": ["Jane Doe is a nurse.", "She was born in 1950. She is a nurse."]}}"#;
    let report = measure_file("b.json", bold.as_bytes(), &read).unwrap();
    assert_eq!((report.composition.rows, report.composition.sentences), (2, 3));
    let report = measure_file("c.json", b"[\"She ran.\"]\n", &read).unwrap();
    assert_eq!(report.composition.rows, 1);
    let forced = ReadOptions { format: Format::Bold, ..ReadOptions::default() };
    assert!(matches!(measure_file("c.json", b"[1]", &forced), Err(Error::InvalidData { .. })));
    // Entirely unusable files, empty files and missing files are errors.
    let err = measure_file("bad.jsonl", b"nope\n{\"x\": 1}\n", &read).unwrap_err();
    assert!(matches!(err, Error::InvalidData { .. }) && err.to_string().contains("line 1"), "{err}");
    assert!(matches!(measure_file("empty.txt", b"", &read), Err(Error::InvalidData { .. })));
    let missing = measure_files(&[PathBuf::from("/nonexistent/x.txt")], &read, &options(1));
    assert!(matches!(missing, Err(Error::Io { .. })));
    // A sentence limit stops reading.
    let limited = ReadOptions { limit: Some(2), ..ReadOptions::default() };
    let report = measure_file("l.txt", b"A b. C d. E f.\nG h.\n", &limited).unwrap();
    assert_eq!(report.composition.sentences, 2);
}
