//! The YAML metadata header and its `model-index`: one result per benchmark, its numbers those of the report.

use super::*;

impl ModelCardReport {
    /// The measures that were skipped, with why.
    pub fn skipped(&self) -> Vec<(Measure, &str)> {
        fn reason<T>(o: &Outcome<T>) -> Option<&str> {
            match o {
                Outcome::Skipped { reason, .. } => Some(reason),
                Outcome::Run(_) => None,
            }
        }
        [
            (Measure::Probe, reason(&self.probe)),
            (Measure::CrowsPairs, reason(&self.crows_pairs)),
            (Measure::StereoSet, reason(&self.stereoset)),
            (Measure::Seat, reason(&self.seat)),
            (Measure::Honest, reason(&self.honest)),
        ]
        .into_iter()
        .filter_map(|(m, r)| r.map(|r| (m, r)))
        .collect()
    }

    /// Whether at least one measure ran.
    pub fn any_run(&self) -> bool {
        self.skipped().len() < Measure::ALL.len()
    }

    /// The `model-index` results. CrowS-Pairs, StereoSet and HONEST name their Hugging Face Hub datasets; the probe
    /// and SEAT have no Hub dataset, so their `type` is a plain name, not an id.
    fn index_results(&self) -> Vec<IndexResult> {
        let mut out = Vec::new();
        if let Some(p) = self.probe.run() {
            out.push(IndexResult {
                dataset_name: "biaslab template probe (gender × occupations)",
                dataset_type: "gender-occupation-probe",
                split: None,
                metrics: vec![IndexMetric {
                    kind: "probe_gap",
                    value: p.gap,
                    name: format!(
                        "Probe gap, nats (ideal 0; {} templates × {} occupations; {})",
                        p.templates.len(),
                        p.targets,
                        ci(&p.interval, 4)
                    ),
                }],
            });
        }
        if let Some(c) = self.crows_pairs.run() {
            out.push(IndexResult {
                dataset_name: "CrowS-Pairs",
                dataset_type: "nyu-mll/crows_pairs",
                split: Some("test"),
                metrics: vec![IndexMetric {
                    kind: "crows_pairs_metric_score",
                    value: c.metric_score,
                    name: format!(
                        "CrowS-Pairs metric score, % (ideal 50; {}; {})",
                        c.data.describe("pairs"),
                        ci(&c.interval, 2)
                    ),
                }],
            });
        }
        if let Some(s) = self.stereoset.run() {
            let used = s.data.describe("examples");
            out.push(IndexResult {
                dataset_name: "StereoSet (intrasentence)",
                dataset_type: "McGill-NLP/stereoset",
                split: Some("validation"),
                metrics: vec![
                    IndexMetric {
                        kind: "stereoset_ss",
                        value: s.overall.ss,
                        name: format!("StereoSet SS (ideal 50; {used})"),
                    },
                    IndexMetric {
                        kind: "stereoset_lms",
                        value: s.overall.lms,
                        name: format!("StereoSet LMS (ideal 100; {used})"),
                    },
                    IndexMetric {
                        kind: "stereoset_icat",
                        value: s.overall.icat,
                        name: format!("StereoSet ICAT (ideal 100; {used})"),
                    },
                ],
            });
        }
        if let Some(s) = self.seat.run() {
            out.push(IndexResult {
                dataset_name: "SEAT",
                dataset_type: "seat",
                split: None,
                metrics: s
                    .report
                    .results
                    .iter()
                    .map(|r| IndexMetric {
                        kind: "seat_effect_size",
                        value: r.effect_size,
                        name: format!("SEAT {} effect size (ideal 0; {})", r.test, p_text(r.p_value)),
                    })
                    .collect(),
            });
        }
        if let Some(h) = self.honest.run() {
            out.push(IndexResult {
                dataset_name: "HONEST (binary, English)",
                dataset_type: "MilaNLProc/honest",
                split: None,
                metrics: vec![IndexMetric {
                    kind: "honest",
                    value: h.honest_score,
                    name: format!(
                        "HONEST score, share of top-{} completions (ideal 0; {}; {})",
                        h.k,
                        h.data.describe("template rows"),
                        ci(&h.interval, 4)
                    ),
                }],
            });
        }
        out
    }

    /// The YAML metadata header, between `---` lines.
    pub fn yaml_header(&self) -> String {
        let mut y = String::from("---\n");
        y.push_str("language:\n- en\nlicense: unknown\n");
        let _ = writeln!(y, "library_name: {}", self.library);
        y.push_str("pipeline_tag: fill-mask\ntags:\n- fill-mask\n- bias\n- model-card-bias-section\n- biaslab\n");
        let mut datasets = Vec::new();
        let mut metrics = Vec::new();
        let results = self.index_results();
        for r in &results {
            if r.split.is_some() || r.dataset_type == "MilaNLProc/honest" {
                datasets.push(r.dataset_type);
            }
            for m in &r.metrics {
                if !metrics.contains(&m.kind) {
                    metrics.push(m.kind);
                }
            }
        }
        if !datasets.is_empty() {
            y.push_str("datasets:\n");
            for d in &datasets {
                let _ = writeln!(y, "- {d}");
            }
        }
        if !metrics.is_empty() {
            y.push_str("metrics:\n");
            for m in &metrics {
                let _ = writeln!(y, "- {m}");
            }
        }
        let _ = writeln!(y, "model-index:\n- name: {}\n  results:", yaml_str(&self.model));
        if results.is_empty() {
            // An empty list keeps `results` a list.
            y.truncate(y.len() - 1);
            y.push_str(" []\n");
        }
        for r in &results {
            y.push_str("  - task:\n      type: fill-mask\n      name: Fill-Mask\n");
            let _ =
                writeln!(y, "    dataset:\n      name: {}\n      type: {}", yaml_str(r.dataset_name), r.dataset_type);
            if let Some(split) = r.split {
                let _ = writeln!(y, "      split: {split}");
            }
            y.push_str("    metrics:\n");
            for m in &r.metrics {
                let _ = writeln!(
                    y,
                    "    - type: {}\n      value: {}\n      name: {}",
                    m.kind,
                    yaml_number(m.value),
                    yaml_str(&m.name)
                );
            }
        }
        y.push_str("---\n");
        y
    }
}

/// A number for YAML: finite as Rust prints it (round-trips), else `.nan` / `.inf`.
pub(super) fn yaml_number(x: f64) -> String {
    if x.is_nan() {
        ".nan".into()
    } else if x.is_infinite() {
        if x > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        }
    } else {
        format!("{x}")
    }
}
