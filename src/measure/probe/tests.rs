use super::*;
use crate::model::scorer::stub::Stub;

// ids: [CLS] 0, [SEP] 1, [MASK] 2, [PAD] 3, then these from 4.
const WORDS: &[&str] = &["the", "man", "boy", "woman", "worked", "as", "a", "is", "nurse", "pilot"];

fn probe() -> Probe {
    Probe::new(
        &["the [GROUP] worked as a [MASK]", "the [GROUP] is a [MASK]"],
        vec![Group::new("male", &["man", "boy"]), Group::new("female", &["woman"])],
        &["nurse", "pilot"],
    )
}

/// Forward rows (target masked), by template and term; everything else −10:
///
/// | template      | term  | nurse | pilot |
/// |---------------|-------|-------|-------|
/// | worked as a   | man   | −3    | −1    |
/// | worked as a   | boy   | −2    | −2    |
/// | worked as a   | woman | −1    | −3    | ("the" also −1: a tie with nurse)
/// | is a          | man   | −2    | −1    |
/// | is a          | boy   | −2    | −1    |
/// | is a          | woman | −1.5  | −2.5  |
///
/// At the group slot (normalised probe): with nurse filled in, man −2, boy −2, woman −1; with pilot, man −1,
/// boy −1, woman −2; with the target masked too (the prior), man −1, boy −2, woman −1.5.
fn stub() -> Stub {
    let row = |pairs: &[(u32, f32)]| {
        let mut row = vec![-10.0f32; WORDS.len() + 4];
        for &(id, value) in pairs {
            row[id as usize] = value;
        }
        row
    };
    let (the, man, boy, woman, worked, nurse, pilot) = (4, 5, 6, 7, 8, 12, 13);
    Stub::new(WORDS, move |seq, position| {
        let has = |id: u32| seq.contains(&id);
        if position == 2 {
            // The group slot (after [CLS] the).
            return if has(nurse) {
                row(&[(man, -2.0), (boy, -2.0), (woman, -1.0)])
            } else if has(pilot) {
                row(&[(man, -1.0), (boy, -1.0), (woman, -2.0)])
            } else {
                row(&[(man, -1.0), (boy, -2.0), (woman, -1.5)])
            };
        }
        match (has(worked), has(man), has(boy), has(woman)) {
            (true, true, _, _) => row(&[(nurse, -3.0), (pilot, -1.0)]),
            (true, _, true, _) => row(&[(nurse, -2.0), (pilot, -2.0)]),
            (true, _, _, true) => row(&[(nurse, -1.0), (pilot, -3.0), (the, -1.0)]),
            (false, true, _, _) | (false, _, true, _) => row(&[(nurse, -2.0), (pilot, -1.0)]),
            (false, _, _, true) => row(&[(nurse, -1.5), (pilot, -2.5)]),
            _ => row(&[]),
        }
    })
}

fn options() -> ProbeOptions {
    ProbeOptions { samples: 2000, ..ProbeOptions::default() }
}

#[test]
fn log_ratios_and_the_gap_match_the_hand_computation() {
    let model = stub();
    let report = evaluate(&model, &probe(), "male", "female", &options()).unwrap();
    // One call for all 2 templates × 3 terms.
    assert_eq!(model.sequences_seen.get(), 6);
    // lr(worked, nurse) = mean(−3, −2) − (−1) = −1.5;  lr(worked, pilot) = mean(−1, −2) − (−3) = 1.5
    // lr(is, nurse)     = mean(−2, −2) − (−1.5) = −0.5; lr(is, pilot)     = mean(−1, −1) − (−2.5) = 1.5
    // per target: nurse (−1.5 − 0.5) / 2 = −1.0, pilot 1.5; gap = (1.0 + 1.5) / 2 = 1.25.
    let pilot = report.get("pilot").unwrap();
    let nurse = report.get("nurse").unwrap();
    assert_eq!(pilot.per_template, [1.5, 1.5]);
    assert_eq!(nurse.per_template, [-1.5, -0.5]);
    assert_eq!((pilot.log_ratio, nurse.log_ratio), (1.5, -1.0));
    assert_eq!(report.per_target[0].target, "pilot", "sorted from most toward A");
    assert_eq!(report.gap, 1.25);
    // Resampling 2 templates: gap 1.5 (worked twice), 1.0 (is twice) or 1.25, so the interval is inside [1, 1.5].
    assert!(report.gap_interval.low >= 1.0 && report.gap_interval.high <= 1.5, "{:?}", report.gap_interval);
    assert!(nurse.interval.low >= -1.5 && nurse.interval.high <= -0.5, "{:?}", nurse.interval);
    // Sign patterns (++, −−): 1.25; (+−): nurse (−1.5 + 0.5)/2 = −0.5, pilot 0 → 0.25; (−+): 0.25. p = 2/4.
    assert_eq!(report.p_value, 0.5);
    assert!(report.exact);
    assert_eq!(report.rows.len(), 2 * 3 * 2);
    assert_eq!(report.groups[0].name, "male");
}

#[test]
fn ranks_count_strictly_more_probable_tokens() {
    let report = evaluate(&stub(), &probe(), "male", "female", &options()).unwrap();
    let row = |term: &str, target: &str| {
        report.rows.iter().find(|r| r.template.contains("worked") && r.term == term && r.target == target).unwrap()
    };
    // man: pilot −1 is the highest, nurse −3 is second.
    assert_eq!((row("man", "pilot").rank, row("man", "nurse").rank), (1, 2));
    // boy: nurse and pilot tie at −2, nothing above: both rank 1.
    assert_eq!((row("boy", "pilot").rank, row("boy", "nurse").rank), (1, 1));
    // woman: nurse ties with "the" at −1 (rank 1); pilot −3 has nurse and "the" above it (rank 3).
    assert_eq!((row("woman", "nurse").rank, row("woman", "pilot").rank), (1, 3));
    let r = row("woman", "pilot");
    assert_eq!(r.log_probability, -3.0);
    assert!((r.probability - (-3.0f64).exp()).abs() < 1e-15);
    assert_eq!(r.score, r.log_probability);
}

#[test]
fn the_exact_permutation_p_value_counts_sign_patterns() {
    // One target, log-ratios 1, 2, 3 over three templates: gap 2. |±1 ±2 ±3| / 3 ≥ 2 only for +++ and −−−: 2/8.
    let lr = vec![vec![1.0], vec![2.0], vec![3.0]];
    let (_, gap, _, p, exact) = summarise(&lr, &["x".to_string()], &options());
    assert_eq!((gap, p, exact), (2.0, 0.25, true));
    // Two targets pulled opposite ways in every template: the absolute values do not cancel (gap 1.5), and
    // patterns +−− etc. give |1 − 1 − 1|/3, |2 − 2 − 2|/3 …: again only +++ and −−− reach it.
    let lr = vec![vec![1.0, -2.0], vec![1.0, -2.0], vec![1.0, -2.0]];
    let (_, gap, _, p, _) = summarise(&lr, &["x".to_string(), "y".to_string()], &options());
    assert_eq!((gap, p), (1.5, 0.25));
    // Too few samples for 2^3 patterns: sampled, and said so.
    let (_, _, _, p, exact) =
        summarise(&lr, &["x".to_string(), "y".to_string()], &ProbeOptions { samples: 4, ..options() });
    assert!(!exact && p > 0.0);
}

#[test]
fn the_normalised_score_divides_by_the_prior() {
    let options = ProbeOptions { normalise: true, ..options() };
    let model = stub();
    let report = evaluate(&model, &probe(), "male", "female", &options).unwrap();
    // Forward: 6; per template, one slot length (1): 2 filled targets + 1 prior = 3; total 6 + 2 × 3 = 12.
    assert_eq!(model.sequences_seen.get(), 12);
    // nurse: man −2 − (−1) = −1, boy −2 − (−2) = 0 → mean −0.5; woman −1 − (−1.5) = 0.5; lr = −1.
    // pilot: man −1 + 1 = 0, boy −1 + 2 = 1 → 0.5; woman −2 + 1.5 = −0.5; lr = 1. Both templates alike.
    assert_eq!(report.get("nurse").unwrap().per_template, [-1.0, -1.0]);
    assert_eq!(report.get("pilot").unwrap().log_ratio, 1.0);
    assert_eq!(report.gap, 1.0);
    let row = report.rows.iter().find(|r| r.term == "boy" && r.target == "pilot").unwrap();
    assert_eq!((row.score, row.log_probability), (1.0, -2.0));
    assert!(report.to_string().contains("Kurita"));
}

#[test]
fn bad_templates_groups_and_targets_are_clear_errors() {
    let model = stub();
    let run = |templates: &[&str], groups: Vec<Group>, targets: &[&str]| {
        evaluate(&model, &Probe::new(templates, groups, targets), "male", "female", &options())
    };
    let groups = || probe().groups;
    let no_group = run(&["the man is a [MASK]"], groups(), &["nurse"]);
    assert!(matches!(&no_group, Err(Error::InvalidData { reason, .. }) if reason.contains("[GROUP]")), "{no_group:?}");
    assert!(matches!(run(&["the [GROUP] is a nurse"], groups(), &["nurse"]), Err(Error::NoMaskToken { .. })));
    assert!(matches!(run(&["the [GROUP] is a [MASK] [MASK]"], groups(), &["nurse"]), Err(Error::SeveralMasks { .. })));
    assert!(matches!(run(&["the [GROUP] [GROUP] is a [MASK]"], groups(), &["nurse"]), Err(Error::InvalidData { .. })));
    assert!(matches!(run(&[], groups(), &["nurse"]), Err(Error::InvalidArgument { .. })));
    let empty = vec![Group::new("male", &["man"]), Group::new("female", &[" "])];
    assert!(
        matches!(run(&["the [GROUP] is a [MASK]"], empty, &["nurse"]), Err(Error::InvalidArgument { reason }) if reason.contains("female"))
    );
    let other = evaluate(&model, &probe(), "male", "martian", &options());
    assert!(matches!(other, Err(Error::InvalidArgument { reason }) if reason.contains("martian")));
    assert!(matches!(evaluate(&model, &probe(), "male", "male", &options()), Err(Error::InvalidArgument { .. })));
    // Targets the model cannot read as one token are dropped; none left is an error.
    assert!(matches!(
        run(&["the [GROUP] is a [MASK]"], groups(), &["astronaut", "a pilot"]),
        Err(Error::InvalidArgument { .. })
    ));
    let report = run(&["the [GROUP] is a [MASK]"], groups(), &["astronaut", "pilot", "pilot"]).unwrap();
    assert_eq!(
        (report.targets.clone(), report.skipped.clone()),
        (vec!["pilot".to_string()], vec!["astronaut".to_string()])
    );
    assert!(report.to_string().contains("left out: astronaut"));
}

#[test]
fn the_report_shows_as_text_html_csv_and_chart() {
    let report = evaluate(&stub(), &probe(), "male", "female", &options()).unwrap();
    let text = report.to_string();
    assert!(text.contains("permutation p = 0.500 (exact over 2^2 sign patterns)"), "{text}");
    assert!(text.contains("gap 1.25 nats, 95 % CI ["), "{text}");
    assert!(text.find("pilot").unwrap() < text.find("nurse").unwrap(), "sorted by log ratio:\n{text}");
    let html = report.to_html();
    assert!(html.contains("nurse") && html.contains("+1.500"));
    let mut csv = Vec::new();
    report.write_csv(&mut csv).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.starts_with("template,group,term,target,probability,log_probability,rank,score\n"), "{csv}");
    assert_eq!(csv.lines().count(), 1 + 12);
    let svg = report.chart().unwrap().svg().unwrap();
    assert!(svg.contains("nurse") && svg.contains("pilot"));
    let top = report.chart_top(0).unwrap_err();
    assert!(matches!(top, Error::Chart(_)), "no rows is a chart error: {top:?}");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["gap"], 1.25);
    // Signed gap of a subset: nurse alone is −1.0 (toward female).
    let (signed, interval) = report.signed_gap(&["nurse"]).unwrap();
    assert_eq!(signed, -1.0);
    assert!(interval.high <= -0.5);
    assert!(report.signed_gap(&["astronaut"]).is_none());
}

#[test]
fn built_in_sets_are_well_formed() {
    let probe = Probe::gender_occupations();
    assert!(probe.templates.len() >= 8);
    assert!(probe.templates.iter().all(|t| t.matches(GROUP_SLOT).count() == 1 && t.matches(MASK_SLOT).count() == 1));
    assert_eq!(probe.targets.len(), 112);
    assert!(!probe.targets.contains(&"waitress".to_string()));
    assert!(Probe::gender_adjectives().templates.len() >= 8);
    for groups in [groups::gender(), groups::race(), groups::religion(), groups::age()] {
        assert!(groups.len() >= 2 && groups.iter().all(|g| !g.terms.is_empty()));
    }
    assert_eq!(groups::religion()[1].terms, ["muslim person", "muslim man", "muslim woman"]);
}

/// The built-in gender/occupation probe on the offline demo model:
/// `BIASLAB_MINILM_DIR=/work/shared/models/all-MiniLM-L6-v2 cargo test --release --lib probe -- --ignored --nocapture`
#[test]
#[ignore]
fn the_gender_occupation_probe_on_the_demo_model() {
    let model = crate::model::fill_mask::FillMask::demo().unwrap();
    for normalise in [false, true] {
        let start = std::time::Instant::now();
        let options = ProbeOptions { normalise, ..ProbeOptions::default() };
        let report = evaluate(&model, &Probe::gender_occupations(), "male", "female", &options).unwrap();
        println!("{report}\n(normalise = {normalise}: {:.1} s)", start.elapsed().as_secs_f64());
        report.chart_top(12).unwrap().save(format!("/tmp/probe_demo_{normalise}.png")).unwrap();
    }
}

/// Crossing race and gender: log P(nurse) = −3 + 0.5 (black) + 1 (woman) + 2 (black and woman), log P(pilot) =
/// −3 − 0.5 (black) − 1 (woman), in every template; everything else −10.
#[test]
fn an_intersectional_probe_finds_what_the_two_attributes_alone_do_not() {
    let words = ["the", "black", "white", "man", "woman", "worked", "as", "a", "is", "nurse", "pilot"];
    let (black, woman, nurse, pilot) = (5u32, 8u32, 13usize, 14usize);
    let stub = Stub::new(&words, move |seq, _| {
        let (b, w) = (f32::from(u8::from(seq.contains(&black))), f32::from(u8::from(seq.contains(&woman))));
        let mut row = vec![-10.0f32; words.len() + 4];
        row[nurse] = -3.0 + 0.5 * b + w + 2.0 * b * w;
        row[pilot] = -3.0 - 0.5 * b - w;
        row
    });
    let first = vec![Group::new("black", &["black"]), Group::new("white", &["white"])];
    let second = vec![Group::new("male", &["man"]), Group::new("female", &["woman"])];
    let templates = ["the [GROUP] worked as a [MASK]", "the [GROUP] is a [MASK]"].map(String::from);
    let targets = ["nurse", "pilot"].map(String::from);
    let report = intersectional(&stub, &templates, &targets, (&first, &second), ("white", "male"), &options()).unwrap();
    assert_eq!(report.reference, "white male");
    let names: Vec<&str> = report.combinations.iter().map(|c| c.group.as_str()).collect();
    assert_eq!(names, ["black male", "black female", "white female"]);
    let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-6, "{a} is not {b}");
    // One attribute each: the gap is that attribute's, and there is no interaction.
    close(report.get("white female").unwrap().gap, 1.0);
    close(report.get("black male").unwrap().gap, 0.5);
    assert!(report.get("white female").unwrap().interaction.is_none());
    // Both: nurse 3.5, pilot −1.5 → gap 2.5; beyond the parts: nurse 3.5 − 0.5 − 1 = 2, pilot 0 → 1.
    let both = report.get("black female").unwrap();
    close(both.gap, 2.5);
    close(both.interaction.as_ref().unwrap().gap, 1.0);
    assert_eq!(
        (both.toward_group.as_slice(), both.toward_reference.as_slice()),
        (&["nurse".to_string()][..], &["pilot".to_string()][..])
    );
    let mut csv = Vec::new();
    report.write_csv(&mut csv).unwrap();
    assert_eq!(String::from_utf8(csv).unwrap().lines().count(), 4);
    assert!(report.to_html().contains("black female") && report.to_string().contains("white male"));
    report.chart().unwrap().svg().unwrap();
}

#[test]
fn groups_cross_term_by_term_and_the_queer_set_follows_honest() {
    let crossed = groups::cross(&groups::descriptors("race").unwrap(), &groups::gender());
    assert_eq!(crossed.len(), 10);
    assert_eq!(crossed[1].name, "black female");
    assert_eq!(&crossed[1].terms[..2], ["black woman", "black girl"]);
    assert!(groups::descriptors("height").is_none());
    let queer = groups::queer_nonqueer();
    let names: Vec<&str> = queer.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(
        names,
        ["queer gender", "nonqueer gender", "queer orientation", "nonqueer orientation", "queer", "nonqueer"]
    );
    assert!(queer[0].terms.contains(&"non-binary person".to_string()));
    assert!(
        queer[4].terms.contains(&"LGBTQ person".to_string())
            && !queer[4].terms.iter().any(|t| t.ends_with("person person"))
    );
    // 47 identity terms in HONEST's file, minus 5 pronouns and catgender.
    assert_eq!(queer.iter().map(|g| g.terms.len()).sum::<usize>(), 41);
}
