use super::*;

#[test]
fn spaced_takes_evenly() {
    let items: Vec<usize> = (0..10).collect();
    // i * 10 / 4 for i < 4: 0, 2, 5, 7.
    assert_eq!(spaced(&items, Some(4)), vec![0, 2, 5, 7]);
    assert_eq!(spaced(&items, Some(10)), items);
    assert_eq!(spaced(&items, Some(20)), items);
    assert_eq!(spaced(&items, None), items);
    assert!(spaced(&items, Some(0)).is_empty());
    assert!(spaced::<usize>(&[], Some(3)).is_empty());
}

#[test]
fn measures_parse() {
    assert_eq!("crows_pairs".parse::<Measure>().ok(), Some(Measure::CrowsPairs));
    assert_eq!("StereoSet".parse::<Measure>().ok(), Some(Measure::StereoSet));
    assert!("winobias".parse::<Measure>().is_err());
}

#[test]
fn inline_html_and_yaml_escape() {
    assert_eq!(html_inline("**a** `b` <c>"), "<strong>a</strong> <code>b</code> &lt;c&gt;");
    assert_eq!(yaml_str("say \"hi\"\\"), "\"say \\\"hi\\\"\\\\\"");
    assert_eq!(p_text(0.0004), "p < 0.001");
    assert_eq!(p_text(0.0345), "p = 0.035");
}

#[test]
fn an_all_skipped_report_still_renders() {
    fn skip<T>(measure: Measure) -> Outcome<T> {
        Outcome::Skipped { measure, reason: "not requested".into() }
    }
    let report = ModelCardReport {
        model: "m".into(),
        source: "m".into(),
        library: "transformers".into(),
        biaslab_version: VERSION.into(),
        options: ReportOptions::default(),
        probe: skip(Measure::Probe),
        crows_pairs: skip(Measure::CrowsPairs),
        stereoset: skip(Measure::StereoSet),
        seat: skip(Measure::Seat),
        honest: skip(Measure::Honest),
    };
    assert!(!report.any_run());
    let md = report.to_markdown(&ChartFiles::new());
    assert!(md.starts_with("---\nlanguage:"));
    assert!(md.contains("\nlibrary_name: transformers\n"));
    assert!(md.contains("  results: []\n"));
    assert!(md.contains("## Bias, Risks, and Limitations"));
    assert!(md.contains("No measure ran."));

    // A README.md that biaslab did not write is never overwritten; one it wrote is.
    let dir = tempfile::tempdir().unwrap();
    let readme = dir.path().join("README.md");
    std::fs::write(&readme, "# My model\n\nIts own card.\n").unwrap();
    let refused = report.write(dir.path());
    assert!(matches!(&refused, Err(Error::OutputRefused { reason, .. }) if reason.contains("--force")), "{refused:?}");
    assert_eq!(std::fs::read_to_string(&readme).unwrap(), "# My model\n\nIts own card.\n");
    assert!(!dir.path().join("measurements.json").exists());
    std::fs::remove_file(&readme).unwrap();
    report.write(dir.path()).unwrap();
    report.write(dir.path()).unwrap();
    assert!(std::fs::read_to_string(&readme).unwrap().contains(WRITTEN_BY));
    // Nor any other file of the card (measurements.json, a chart) that biaslab did not write.
    let json = dir.path().join("measurements.json");
    std::fs::write(&json, "{\"mine\": true}").unwrap();
    assert!(matches!(report.write(dir.path()), Err(Error::OutputRefused { .. })));
    assert_eq!(std::fs::read_to_string(&json).unwrap(), "{\"mine\": true}");
    // A card written before biaslab listed its files (no manifest) is still biaslab's.
    std::fs::remove_file(&json).unwrap();
    std::fs::remove_file(dir.path().join(crate::data::output::MANIFEST)).unwrap();
    report.write(dir.path()).unwrap();
}
