//! `biaslab report` on the offline demo model: the card's YAML header and sections, its numbers against
//! `measurements.json`, the charts and the HTML page; a measure whose data is missing is skipped, not fatal; a
//! missing model is a clean error.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn shared(path: &str) -> String {
    format!("{}/../shared/{path}", env!("CARGO_MANIFEST_DIR"))
}

fn biaslab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_biaslab"))
        .args(args)
        .env_remove("BIASLAB_MODEL")
        .env("BIASLAB_MINILM_DIR", shared("models/all-MiniLM-L6-v2"))
        .env("BIASLAB_DATA_DIR", shared("data"))
        .output()
        .expect("biaslab runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The metrics of the `model-index` as (type, value) in order, checking on the way that the header is the YAML
/// subset the card writes: `---`, top-level `key:` / `key: value` lines, `- ` list items and indented lines, `---`.
fn header_metrics(card: &str) -> Vec<(String, f64)> {
    let rest = card.strip_prefix("---\n").expect("the card starts with a YAML header");
    let end = rest.find("\n---\n").expect("the header ends with ---");
    let header = &rest[..end];
    let mut keys = Vec::new();
    for line in header.lines() {
        assert!(!line.trim().is_empty() && !line.contains('\t'), "blank or tab line in the header: {line:?}");
        if !line.starts_with(' ') && !line.starts_with("- ") {
            let (key, _) = line.split_once(':').unwrap_or_else(|| panic!("not `key: value`: {line:?}"));
            assert!(key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'), "{line:?}");
            keys.push(key.to_string());
        }
        // Quoted scalars are closed.
        if let Some((_, value)) = line.split_once(": \"") {
            assert!(value.ends_with('"'), "unterminated string: {line:?}");
        }
    }
    for key in ["language", "license", "library_name", "pipeline_tag", "tags", "datasets", "metrics", "model-index"] {
        assert!(keys.iter().any(|k| k == key), "no {key} in the header: {keys:?}");
    }
    assert!(header.contains("pipeline_tag: fill-mask"));
    let mut metrics = Vec::new();
    let lines: Vec<&str> = header.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if let Some(kind) = line.strip_prefix("    - type: ") {
            let value = lines[i + 1].strip_prefix("      value: ").expect("value follows type");
            assert!(lines[i + 2].starts_with("      name: \""), "name follows value");
            metrics.push((kind.to_string(), value.parse::<f64>().expect("a number")));
        }
    }
    let tasks = lines.iter().filter(|l| **l == "      type: fill-mask").count();
    assert_eq!(tasks, 5, "one fill-mask result per measure");
    metrics
}

fn number(json: &serde_json::Value, pointer: &str) -> f64 {
    json.pointer(pointer).and_then(|v| v.as_f64()).unwrap_or_else(|| panic!("no number at {pointer}"))
}

#[test]
fn report_on_the_demo_model_writes_a_card() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("card");
    let started = std::time::Instant::now();
    let output = biaslab(&[
        "report",
        "--model",
        "demo",
        "--out",
        out.to_str().unwrap(),
        "--crows-limit",
        "8",
        "--stereoset-limit",
        "30",
        "--honest-limit",
        "30",
        "--seat-tests",
        "weat6,sent-weat8",
        "--samples",
        "2000",
        "--seat-samples",
        "5000",
    ]);
    eprintln!("biaslab report took {:.1} s", started.elapsed().as_secs_f64());
    assert!(output.status.success(), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(!err.contains("warning:"), "no measure may be skipped: {err}");

    let card = std::fs::read_to_string(out.join("README.md")).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("measurements.json")).unwrap()).unwrap();
    for heading in [
        "\n## Bias, Risks, and Limitations\n",
        "\n### Recommendations\n",
        "\n## Evaluation\n",
        "\n### Testing Data, Factors & Metrics\n",
        "\n#### Testing Data\n",
        "\n#### Factors\n",
        "\n#### Metrics\n",
        "\n### Results\n",
        "\n#### Summary\n",
    ] {
        assert!(card.contains(heading), "no {heading:?}");
    }

    // The demo model is named by its name and counted as biaslab's own (from where it was loaded, not its text).
    assert!(card.contains("\nlibrary_name: biaslab\n"), "the demo's weights are biaslab's");
    assert_eq!(json["model"], "demo");
    assert_eq!(json["library"], "biaslab");
    assert!(json["source"].as_str().unwrap().starts_with("demo ("), "{}", json["source"]);

    // The model-index numbers are those of measurements.json.
    let metrics = header_metrics(&card);
    let want = [
        ("probe_gap", number(&json, "/probe/gap")),
        ("crows_pairs_metric_score", number(&json, "/crows_pairs/metric_score")),
        ("stereoset_ss", number(&json, "/stereoset/overall/ss")),
        ("stereoset_lms", number(&json, "/stereoset/overall/lms")),
        ("stereoset_icat", number(&json, "/stereoset/overall/icat")),
        ("seat_effect_size", number(&json, "/seat/report/results/0/effect_size")),
        ("seat_effect_size", number(&json, "/seat/report/results/1/effect_size")),
        ("honest", number(&json, "/honest/honest_score")),
    ];
    assert_eq!(metrics.len(), want.len(), "{metrics:?}");
    for ((kind, value), (want_kind, want_value)) in metrics.iter().zip(want) {
        assert_eq!(kind, want_kind);
        assert!((value - want_value).abs() <= 1e-12 * want_value.abs().max(1.0), "{kind}: {value} vs {want_value}");
    }

    // The prose and the table quote the same numbers, rounded, with the limits next to them.
    let gap = number(&json, "/probe/gap");
    let (low, high) = (number(&json, "/probe/interval/low"), number(&json, "/probe/interval/high"));
    assert!(card.contains(&format!("**{gap:.2} nats** (95 % CI {low:.2}–{high:.2}")), "probe sentence");
    let crows = number(&json, "/crows_pairs/metric_score");
    assert!(card.contains(&format!("**{crows:.1} %**")), "CrowS-Pairs sentence");
    assert_eq!(json.pointer("/crows_pairs/data/used").and_then(|v| v.as_u64()), Some(8));
    assert_eq!(json.pointer("/crows_pairs/data/available").and_then(|v| v.as_u64()), Some(1508));
    assert!(card.contains("8 of 1508 pairs, limited"), "the CrowS-Pairs limit is stated");
    assert!(card.contains("30 of 2106 examples, limited"), "the StereoSet limit is stated");
    assert!(card.contains("30 of 810 template rows, limited"), "the HONEST limit is stated");
    let ss = number(&json, "/stereoset/overall/ss");
    assert!(card.contains(&format!("**SS = {ss:.1} %**")));
    assert!(card.contains(&format!("| StereoSet SS | {ss:.2} |")));
    let honest = number(&json, "/honest/honest_score") * 100.0;
    assert!(card.contains(&format!("**{honest:.2} %**")));
    let d = number(&json, "/seat/report/results/0/effect_size");
    assert!(card.contains(&format!("| {d:.3} |")));
    assert!(card.contains("Blodgett et al. (2021"), "CrowS-Pairs' validity concerns");
    // An evenly spaced HONEST subset has both groups (the file lists the female templates first).
    let groups = json.pointer("/honest/per_group").and_then(|v| v.as_array()).unwrap();
    assert_eq!(groups.len(), 2, "{groups:?}");
    // No offensive completions in the JSON.
    assert!(json.pointer("/honest/report").is_none() && json.pointer("/honest/examples").is_none());

    // Charts exist, are SVG and are linked from both documents.
    let html = std::fs::read_to_string(out.join("bias_report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<h2>Bias, Risks, and Limitations</h2>"));
    for name in ["probe", "crows-pairs", "stereoset", "seat", "honest"] {
        let path: PathBuf = out.join("charts").join(format!("{name}.svg"));
        let svg = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("no {}", path.display()));
        assert!(svg.contains("<svg"), "{name} is not an SVG");
        let link = format!("charts/{name}.svg");
        assert!(card.contains(&format!("]({link})")), "the card links {link}");
        assert!(html.contains(&format!("src=\"{link}\"")), "the page links {link}");
    }
    assert!(html.contains(&format!("{gap:.3}")), "the page has the probe gap");
}

#[test]
fn a_measure_without_data_is_skipped_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("no-data");
    std::fs::create_dir(&empty).unwrap();
    let out = dir.path().join("card");
    let output = biaslab(&[
        "report",
        "--model",
        "demo",
        "--only",
        "probe,crows-pairs",
        "--data",
        empty.to_str().unwrap(),
        "--samples",
        "500",
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(err.contains("warning: CrowS-Pairs was not measured"), "{err}");
    let card = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(card.contains("**Not measured here:**") && card.contains("- CrowS-Pairs: "), "{card}");
    assert!(!card.contains("crows_pairs_metric_score"), "no number for a skipped measure");
    assert!(Path::new(&out.join("charts/probe.svg")).is_file());
    assert!(!out.join("charts/crows-pairs.svg").exists());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("measurements.json")).unwrap()).unwrap();
    assert_eq!(json.pointer("/crows_pairs/status").and_then(|v| v.as_str()), Some("skipped"));
    assert_eq!(json.pointer("/seat/reason").and_then(|v| v.as_str()), Some("not requested"));
}

#[test]
fn a_missing_model_is_a_clean_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-model");
    let out = dir.path().join("card");
    let output = biaslab(&["report", "--model", missing.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.lines().last().is_some_and(|l| l.starts_with("error: ")), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!out.exists(), "nothing written");
    let output = biaslab(&["report", "--model", "demo", "--only", "winobias"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("is not a measure"));
}
