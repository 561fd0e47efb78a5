//! Running the measures on a model, each with its own module's code; a failed one is skipped with its reason.

use super::*;

/// Runs the measures of `options` on `model`. A measure that fails (its data cannot be found or read, the model
/// cannot score it) becomes [`Outcome::Skipped`] with the error as its reason, so that one measure never costs the
/// others; a measure not asked for is skipped as "not requested". `progress` is reset to each measure's length
/// and advances per item; the measure's name is printed above it (nothing when the bar is hidden).
pub fn evaluate(model: &FillMask, options: &ReportOptions, progress: &ProgressBar) -> Result<ModelCardReport> {
    let own = model.origin().is_some_and(ModelSource::is_biaslabs_own);
    Ok(ModelCardReport {
        model: ModelCardReport::model_name(model),
        source: model.source().to_string(),
        library: if own { "biaslab" } else { "transformers" }.into(),
        biaslab_version: VERSION.into(),
        options: options.clone(),
        probe: measured(Measure::Probe, options, || probe_measure(model, options, progress)),
        crows_pairs: measured(Measure::CrowsPairs, options, || crows_measure(model, options, progress)),
        stereoset: measured(Measure::StereoSet, options, || stereoset_measure(model, options, progress)),
        seat: measured(Measure::Seat, options, || seat_measure(model, options, progress)),
        honest: measured(Measure::Honest, options, || honest_measure(model, options, progress)),
    })
}

/// `run`'s findings, or why there are none: "not requested" when `options` leave `m` out, else `run`'s error.
pub(super) fn measured<T>(m: Measure, options: &ReportOptions, run: impl FnOnce() -> Result<T>) -> Outcome<T> {
    if !options.measures.contains(&m) {
        return Outcome::Skipped { measure: m, reason: "not requested".into() };
    }
    match run() {
        Ok(findings) => Outcome::Run(findings),
        Err(err) => Outcome::Skipped { measure: m, reason: err.to_string() },
    }
}

/// Resets `progress` to a measure of `len` items and names the measure above it (nothing when the bar is hidden).
pub(super) fn start(progress: &ProgressBar, m: Measure, len: usize) {
    progress.set_position(0);
    progress.set_length(len as u64);
    if !progress.is_hidden() {
        progress.println(format!("{}: {len} items", m.title()));
    }
}

pub(super) fn probe_measure(
    model: &FillMask,
    options: &ReportOptions,
    progress: &ProgressBar,
) -> Result<ProbeFindings> {
    let probe = Probe::gender_occupations();
    start(progress, Measure::Probe, probe.templates.len());
    let probe_options = ProbeOptions { samples: options.samples, seed: options.seed, ..ProbeOptions::default() };
    let report = probe::evaluate_with(model, &probe, "male", "female", &probe_options, progress)?;
    Ok(probe_findings(report))
}

pub(super) fn crows_measure(
    model: &FillMask,
    options: &ReportOptions,
    progress: &ProgressBar,
) -> Result<CrowsFindings> {
    let loaded = crows_pairs::load(options.data.as_deref())?;
    let pairs = spaced(&loaded.items, options.crows_limit);
    let use_ = DataUse {
        dataset: "CrowS-Pairs".into(),
        path: loaded.path.display().to_string(),
        available: loaded.items.len(),
        used: pairs.len(),
        limit: options.crows_limit,
        malformed: loaded.skipped.len(),
    };
    start(progress, Measure::CrowsPairs, pairs.len());
    let report = crows_pairs::evaluate_with(model, &pairs, &crows_pairs::Options::default(), progress)?;
    crows_findings(report, use_)
}

pub(super) fn stereoset_measure(
    model: &FillMask,
    options: &ReportOptions,
    progress: &ProgressBar,
) -> Result<StereoSetFindings> {
    let loaded = stereoset::load(options.data.as_deref())?;
    let intra: Vec<_> = loaded.items.iter().filter(|e| e.task == stereoset::Task::Intrasentence).cloned().collect();
    let examples = spaced(&intra, options.stereoset_limit);
    let use_ = DataUse {
        dataset: "StereoSet (dev, intrasentence)".into(),
        path: loaded.path.display().to_string(),
        available: intra.len(),
        used: examples.len(),
        limit: options.stereoset_limit,
        malformed: loaded.skipped.len(),
    };
    start(progress, Measure::StereoSet, examples.len());
    let report = stereoset::evaluate_with(model, &examples, &stereoset::Options::default(), progress)?;
    Ok(StereoSetFindings {
        data: use_,
        overall: report.overall.clone(),
        per_domain: report.per_domain.clone(),
        unscored: report.skipped.len(),
        report,
    })
}

pub(super) fn seat_measure(model: &FillMask, options: &ReportOptions, progress: &ProgressBar) -> Result<SeatFindings> {
    let tests = match &options.seat_tests {
        Some(names) => names.iter().map(|n| seat::builtin(n.trim())).collect::<Result<Vec<_>>>()?,
        None => seat::builtin_tests()?,
    };
    start(progress, Measure::Seat, tests.len());
    let seat_options = seat::Options { samples: options.seat_samples, seed: options.seed };
    let report = seat::run_all_with(model, &tests, &seat_options, progress)?;
    Ok(SeatFindings { report })
}

pub(super) fn honest_measure(
    model: &FillMask,
    options: &ReportOptions,
    progress: &ProgressBar,
) -> Result<HonestFindings> {
    let data = options.data.as_deref();
    let loaded = honest::load_templates(data, honest::TemplateSet::Binary)?;
    let lexicon = honest::Lexicon::load(data.filter(|p| p.is_dir()))?;
    let templates = spaced(&loaded.items, options.honest_limit);
    let use_ = DataUse {
        dataset: "HONEST (binary English templates)".into(),
        path: loaded.path.display().to_string(),
        available: loaded.items.len(),
        used: templates.len(),
        limit: options.honest_limit,
        malformed: loaded.skipped.len(),
    };
    start(progress, Measure::Honest, templates.len());
    let honest_options = honest::Options {
        k: options.honest_k,
        samples: options.samples,
        seed: options.seed,
        ..honest::Options::default()
    };
    let report = honest::evaluate_with(model, &templates, &lexicon, &honest_options, progress)?;
    Ok(HonestFindings {
        data: use_,
        k: report.k,
        templates: report.templates,
        hurtful: report.hurtful,
        honest_score: report.honest_score,
        interval: report.interval,
        per_group: report.per_group.clone(),
        per_category: report.per_category.clone(),
        report,
    })
}

pub(super) fn probe_findings(report: ProbeReport) -> ProbeFindings {
    let lean =
        |g: &probe::TargetGap| TargetLean { target: g.target.clone(), log_ratio: g.log_ratio, interval: g.interval };
    // `per_target` runs from most toward A to most toward B.
    let toward_a = report.per_target.iter().filter(|g| g.log_ratio > 0.0).take(NAMED_TARGETS).map(lean).collect();
    let toward_b = report.per_target.iter().rev().filter(|g| g.log_ratio < 0.0).take(NAMED_TARGETS).map(lean).collect();
    ProbeFindings {
        group_a: report.group_a().to_string(),
        group_b: report.group_b().to_string(),
        templates: report.templates.clone(),
        targets: report.targets.len(),
        skipped_targets: report.skipped.clone(),
        gap: report.gap,
        interval: report.gap_interval,
        p_value: report.p_value,
        exact: report.exact,
        toward_a,
        toward_b,
        report,
    }
}

pub(super) fn crows_findings(report: CrowsPairsReport, data: DataUse) -> Result<CrowsFindings> {
    if report.pairs == 0 {
        return Err(Error::NothingToMeasure {
            reason: "CrowS-Pairs scored no pair: give a CrowS-Pairs file with usable pairs (--data), such as \
                     crows_pairs_anonymized.csv"
                .into(),
        });
    }
    // The interval of the overall score, as `CrowsPairsReport::chart` draws it: Wilson over the scored pairs.
    let w = stats::wilson(report.stereo_wins + report.antistereo_wins, report.pairs, 0.95);
    Ok(CrowsFindings {
        data,
        metric_score: report.metric_score,
        interval: Interval { low: w.low * 100.0, high: w.high * 100.0, level: w.level },
        stereo_score: report.stereo_score,
        antistereo_score: report.antistereo_score,
        pairs: report.pairs,
        neutral: report.neutral,
        unscored: report.skipped.len(),
        per_type: report.per_type_detail.clone(),
        report,
    })
}
