//! Running a probe: the frames of each template, the single-token targets, the plan of masked copies, the summary.

use super::*;

/// Probes `model` with `probe`, comparing the groups named `group_a` and `group_b` (see the module documentation).
pub fn evaluate(
    model: &dyn MaskScorer,
    probe: &Probe,
    group_a: &str,
    group_b: &str,
    options: &ProbeOptions,
) -> Result<ProbeReport> {
    evaluate_with(model, probe, group_a, group_b, options, &ProgressBar::hidden())
}

/// A template with both slots masked, as token ids, and where its two slots are.
pub(super) struct Frame {
    /// The template, with both slots masked.
    ids: Vec<u32>,
    /// The position of the group slot's mask in `ids`.
    group_at: usize,
    /// The position of the target's mask in `ids`.
    mask_at: usize,
}

/// What one sequence sent to the model is.
#[derive(Clone, Copy)]
pub(super) enum Job {
    /// Template `t` with term `w` in the slot: read every target at the mask.
    Forward { t: usize, w: usize },
    /// Template `t` with target `x` at the mask and `k` masks in the slot from `start` on.
    Filled { t: usize, x: usize, k: usize, start: usize },
    /// Template `t` with the target masked and `k` masks in the slot from `start` on.
    Prior { t: usize, k: usize, start: usize },
}

/// [`evaluate`], advancing `progress` by one per template scored (its length is the number of templates).
pub fn evaluate_with(
    model: &dyn MaskScorer,
    probe: &Probe,
    group_a: &str,
    group_b: &str,
    options: &ProbeOptions,
    progress: &ProgressBar,
) -> Result<ProbeReport> {
    let (groups, terms) = compared_terms(probe, group_a, group_b)?;
    let Scored { targets, said } = score_terms(model, probe, &terms, options, progress)?;

    // Rows and scores.
    let (n_templates, n_terms, n_targets) = (probe.templates.len(), terms.len(), targets.words.len());
    let mut rows = Vec::with_capacity(n_templates * n_terms * n_targets);
    let mut score = vec![vec![vec![0.0; n_targets]; n_terms]; n_templates];
    for (t, template) in probe.templates.iter().enumerate() {
        for (w, (g, term)) in terms.iter().enumerate() {
            for (x, target) in targets.words.iter().enumerate() {
                let lp = said.log_p[t][w][x];
                if !lp.is_finite() {
                    return Err(internal(format!("no log-probability for {target:?} in {template:?} with {term:?}")));
                }
                let s = said.score(t, w, x, options.normalise);
                score[t][w][x] = s;
                rows.push(ProbeRow {
                    template: template.clone(),
                    group: groups[*g].name.clone(),
                    term: term.clone(),
                    target: target.clone(),
                    probability: lp.exp(),
                    log_probability: lp,
                    rank: said.rank[t][w][x],
                    score: s,
                });
            }
        }
    }
    let in_group = |g: usize| terms.iter().enumerate().filter(move |(_, (h, _))| *h == g).map(|(w, _)| w);
    // lr[t][x]
    let lr: Vec<Vec<f64>> = (0..n_templates)
        .map(|t| {
            (0..n_targets)
                .map(|x| {
                    let mean = |g: usize| stats::mean(&in_group(g).map(|w| score[t][w][x]).collect::<Vec<_>>());
                    mean(0) - mean(1)
                })
                .collect()
        })
        .collect();
    let (per_target, gap, gap_interval, p_value, exact) = summarise(&lr, &targets.words, options);
    Ok(ProbeReport {
        model: model.name(),
        templates: probe.templates.clone(),
        groups: groups.iter().map(|g| (*g).clone()).collect(),
        targets: targets.words,
        skipped: targets.skipped,
        normalise: options.normalise,
        rows,
        per_target,
        gap,
        gap_interval,
        p_value,
        exact,
        samples: options.samples,
        seed: options.seed,
    })
}

/// What the model gave for a probe's terms: the targets read, and its answers per template, term and target.
pub(super) struct Scored {
    /// The targets read (single tokens) and those left out.
    pub(super) targets: Targets,
    /// The model's answers, `[template][term][target]`.
    pub(super) said: Said,
}

/// Runs `terms` (group index, term) through every template of `probe` in one plan, each term once, advancing
/// `progress` by one per template.
pub(super) fn score_terms(
    model: &dyn MaskScorer,
    probe: &Probe,
    terms: &[(usize, String)],
    options: &ProbeOptions,
    progress: &ProgressBar,
) -> Result<Scored> {
    if probe.templates.is_empty() {
        return Err(Error::InvalidArgument {
            reason: format!(
                "the probe has no templates: give at least one, with one {GROUP_SLOT} and one {MASK_SLOT} (\"The \
                 {GROUP_SLOT} worked as a {MASK_SLOT}.\")"
            ),
        });
    }
    let frames = probe.templates.iter().map(|t| frame(model, t)).collect::<Result<Vec<_>>>()?;
    let targets = single_token_targets(model, probe, &frames)?;
    let plan = Plan::new(model, probe, &frames, terms, &targets.ids, options)?;
    let said = plan.run(model, terms.len(), &targets.ids, progress)?;
    Ok(Scored { targets, said })
}

/// The two groups compared and their terms (group index, term).
pub(super) type Compared<'p> = ([&'p Group; 2], Vec<(usize, String)>);

/// The two groups compared, by name, and their terms: (0 for A or 1 for B, term), A's first, trimmed, each once.
pub(super) fn compared_terms<'p>(probe: &'p Probe, group_a: &str, group_b: &str) -> Result<Compared<'p>> {
    if group_a == group_b {
        return Err(Error::InvalidArgument {
            reason: format!("compare two different groups, not {group_a:?} with itself"),
        });
    }
    let find = |name: &str| {
        probe.group(name).ok_or_else(|| Error::InvalidArgument {
            reason: format!(
                "the probe has no group {name:?}; its groups are {:?}",
                probe.groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>()
            ),
        })
    };
    let groups = [find(group_a)?, find(group_b)?];
    Ok((groups, group_terms(&groups)?))
}

/// The terms of `groups`: (index in `groups`, term), in order, trimmed, each once within its group.
pub(super) fn group_terms(groups: &[&Group]) -> Result<Vec<(usize, String)>> {
    let mut terms: Vec<(usize, String)> = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        let before = terms.len();
        for term in group.terms.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
            if term.contains(GROUP_SLOT) || term.contains(MASK_SLOT) {
                return Err(Error::InvalidArgument {
                    reason: format!(
                        "the term {term:?} of group {:?} holds a slot: write the term without {GROUP_SLOT} or \
                         {MASK_SLOT}",
                        group.name
                    ),
                });
            }
            if !terms[before..].iter().any(|(_, t)| t == term) {
                terms.push((g, term.to_string()));
            }
        }
        if terms.len() == before {
            return Err(Error::InvalidArgument {
                reason: format!("group {:?} has no terms: give it at least one", group.name),
            });
        }
    }
    Ok(terms)
}

/// The targets a probe reads: those that are one token at the mask of every template.
pub(super) struct Targets {
    /// The targets kept, each once.
    pub(super) words: Vec<String>,
    /// Their ids, `[target][template]` (the id may differ between templates, for tokenizers that mark a preceding
    /// space).
    ids: Vec<Vec<u32>>,
    /// The targets left out (not single tokens).
    skipped: Vec<String>,
}

pub(super) fn single_token_targets(model: &dyn MaskScorer, probe: &Probe, frames: &[Frame]) -> Result<Targets> {
    let mut targets = Targets { words: Vec::new(), ids: Vec::new(), skipped: Vec::new() };
    for target in probe.targets.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
        if targets.words.iter().chain(&targets.skipped).any(|t| t == target) {
            continue;
        }
        let ids = probe
            .templates
            .iter()
            .zip(frames)
            .map(|(template, frame)| single_token_at(model, template, frame, target))
            .collect::<Result<Option<Vec<u32>>>>()?;
        match ids {
            Some(ids) => {
                targets.words.push(target.to_string());
                targets.ids.push(ids);
            }
            None => targets.skipped.push(target.to_string()),
        }
    }
    if !targets.skipped.is_empty() {
        eprintln!(
            "warning: not single tokens of {}, so left out of the probe: {}",
            model.name(),
            targets.skipped.join(", ")
        );
    }
    if targets.words.is_empty() {
        return Err(Error::InvalidArgument {
            reason: if probe.targets.is_empty() {
                "the probe has no targets: give at least one target word".into()
            } else {
                format!(
                    "none of the targets is a single token of {}: give targets its vocabulary holds whole, or use \
                     another model",
                    model.name()
                )
            },
        });
    }
    Ok(targets)
}

/// Every sequence a probe runs through the model, template by template, with what to read from each.
pub(super) struct Plan {
    sequences: Vec<Vec<u32>>,
    /// One per sequence.
    jobs: Vec<Job>,
    /// `[template][term]`: the term's tokens in the slot, for the normalised score (empty lists otherwise).
    term_tokens: Vec<Vec<Vec<u32>>>,
    /// One past each template's last sequence (for the progress bar, one step per template).
    template_end: Vec<usize>,
}

/// What the model gave, per template, term and target.
pub(super) struct Said {
    /// ln P(target at the mask), `[template][term][target]`.
    log_p: Vec<Vec<Vec<f64>>>,
    /// The target's rank in the vocabulary at the mask, `[template][term][target]`.
    rank: Vec<Vec<Vec<usize>>>,
    /// The normalised score's ln P(term at the slot | target at the mask), `[template][term][target]`.
    filled: Vec<Vec<Vec<f64>>>,
    /// Its prior, ln P(term at the slot | the mask left masked), `[template][term]`.
    prior: Vec<Vec<f64>>,
}

impl Said {
    /// The value of template `t`, term `w` and target `x` that enters the log-ratio: ln P(target at the mask), or
    /// with `normalise` Kurita et al.'s increased log-probability of the term (see the module documentation).
    pub(super) fn score(&self, t: usize, w: usize, x: usize, normalise: bool) -> f64 {
        if normalise {
            self.filled[t][w][x] - self.prior[t][w]
        } else {
            self.log_p[t][w][x]
        }
    }
}

impl Plan {
    fn new(
        model: &dyn MaskScorer,
        probe: &Probe,
        frames: &[Frame],
        terms: &[(usize, String)],
        target_ids: &[Vec<u32>],
        options: &ProbeOptions,
    ) -> Result<Self> {
        let mask_id = model.mask_id();
        let mut plan =
            Plan { sequences: Vec::new(), jobs: Vec::new(), term_tokens: Vec::new(), template_end: Vec::new() };
        for (t, (template, frame)) in probe.templates.iter().zip(frames).enumerate() {
            let mut tokens = Vec::new();
            for (w, (_, term)) in terms.iter().enumerate() {
                let text = template.replacen(GROUP_SLOT, term, 1);
                let ids = model.encode(&text, true)?;
                let count = ids.iter().filter(|&&id| id == mask_id).count();
                if count != 1 {
                    return Err(Error::SeveralMasks { text, count });
                }
                if options.normalise {
                    tokens.push(term_ids(model, template, frame, &ids, term)?);
                }
                plan.sequences.push(ids);
                plan.jobs.push(Job::Forward { t, w });
            }
            if options.normalise {
                let mut lengths: Vec<usize> = tokens.iter().map(Vec::len).collect();
                lengths.sort_unstable();
                lengths.dedup();
                for &k in &lengths {
                    // The slot as k masks; the target's mask moves by k − 1 when the slot comes first.
                    let mut prior = frame.ids[..frame.group_at].to_vec();
                    prior.extend(std::iter::repeat_n(mask_id, k));
                    prior.extend_from_slice(&frame.ids[frame.group_at + 1..]);
                    let target_at = if frame.mask_at > frame.group_at { frame.mask_at + k - 1 } else { frame.mask_at };
                    let start = frame.group_at; // the slot's first mask, whichever slot comes first
                    for (x, ids) in target_ids.iter().enumerate() {
                        let mut filled = prior.clone();
                        filled[target_at] = ids[t];
                        plan.sequences.push(filled);
                        plan.jobs.push(Job::Filled { t, x, k, start });
                    }
                    plan.sequences.push(prior);
                    plan.jobs.push(Job::Prior { t, k, start });
                }
            }
            plan.term_tokens.push(tokens);
            plan.template_end.push(plan.sequences.len());
        }
        Ok(plan)
    }

    /// Runs every sequence in one call (the model batches them) and reads what each job asks for.
    fn run(
        &self,
        model: &dyn MaskScorer,
        n_terms: usize,
        target_ids: &[Vec<u32>],
        progress: &ProgressBar,
    ) -> Result<Said> {
        let (n_templates, n_targets) = (self.template_end.len(), target_ids.len());
        let mut said = Said {
            log_p: vec![vec![vec![f64::NAN; n_targets]; n_terms]; n_templates],
            rank: vec![vec![vec![0usize; n_targets]; n_terms]; n_templates],
            filled: vec![vec![vec![0.0f64; n_targets]; n_terms]; n_templates],
            prior: vec![vec![0.0f64; n_terms]; n_templates],
        };
        let mut done = 0;
        let mut sorted: Vec<f32> = Vec::new();
        model.for_each_mask(&self.sequences, &mut |i, position, row| {
            while done < self.template_end.len() && i >= self.template_end[done] {
                progress.inc(1);
                done += 1;
            }
            let job = *self
                .jobs
                .get(i)
                .ok_or_else(|| internal(format!("the model answered for sequence {i}, not asked for")))?;
            let read = |id: u32| {
                row.get(id as usize).map(|&v| f64::from(v)).ok_or_else(|| {
                    internal(format!("token id {id} is outside the model's vocabulary of {} tokens", row.len()))
                })
            };
            match job {
                Job::Forward { t, w } => {
                    sorted.clear();
                    sorted.extend_from_slice(row);
                    sorted.sort_unstable_by(|a, b| b.total_cmp(a));
                    for (x, ids) in target_ids.iter().enumerate() {
                        let value = read(ids[t])?;
                        said.log_p[t][w][x] = value;
                        said.rank[t][w][x] = 1 + sorted.partition_point(|&v| f64::from(v) > value);
                    }
                }
                Job::Filled { t, x, k, start } => {
                    for (w, tokens) in self.term_tokens[t].iter().enumerate().filter(|(_, tokens)| tokens.len() == k) {
                        if let Some(&id) = position.checked_sub(start).and_then(|j| tokens.get(j)) {
                            said.filled[t][w][x] += read(id)?;
                        }
                    }
                }
                Job::Prior { t, k, start } => {
                    for (w, tokens) in self.term_tokens[t].iter().enumerate().filter(|(_, tokens)| tokens.len() == k) {
                        if let Some(&id) = position.checked_sub(start).and_then(|j| tokens.get(j)) {
                            said.prior[t][w] += read(id)?;
                        }
                    }
                }
            }
            Ok(())
        })?;
        for _ in done..self.template_end.len() {
            progress.inc(1);
        }
        Ok(said)
    }
}

/// From the log-ratios `lr[template][target]`: the per-target gaps (sorted), the gap, its interval, the
/// permutation p-value and whether it is exact.
pub(super) fn summarise(
    lr: &[Vec<f64>],
    targets: &[String],
    options: &ProbeOptions,
) -> (Vec<TargetGap>, f64, Interval, f64, bool) {
    let n = lr.len();
    let n_targets = targets.len();
    let column = |x: usize| lr.iter().map(|row| row[x]).collect::<Vec<f64>>();
    let mut per_target: Vec<TargetGap> = (0..n_targets)
        .map(|x| {
            let values = column(x);
            let interval = stats::bootstrap(
                n,
                |idx| idx.iter().map(|&t| values[t]).sum::<f64>() / idx.len() as f64,
                options.samples,
                options.level,
                options.seed,
            );
            TargetGap { target: targets[x].clone(), log_ratio: stats::mean(&values), interval, per_template: values }
        })
        .collect();
    per_target.sort_by(|a, b| b.log_ratio.total_cmp(&a.log_ratio).then_with(|| a.target.cmp(&b.target)));
    // G for a resample of templates (with weights = how often each is drawn) and signs.
    let gap_of = |weights: &[f64]| {
        let total: f64 = weights.iter().map(|w| w.abs()).sum();
        (0..n_targets)
            .map(|x| (lr.iter().zip(weights).map(|(row, w)| w * row[x]).sum::<f64>() / total).abs())
            .sum::<f64>()
            / n_targets as f64
    };
    let gap = gap_of(&vec![1.0; n]);
    let gap_interval = stats::bootstrap(
        n,
        |idx| {
            let mut weights = vec![0.0; n];
            idx.iter().for_each(|&t| weights[t] += 1.0);
            gap_of(&weights)
        },
        options.samples,
        options.level,
        options.seed,
    );
    let p_value = stats::sign_flip_p(n, gap_of, options.samples, options.seed);
    let exact = n < 63 && (1u64 << n) <= options.samples as u64;
    (per_target, gap, gap_interval, p_value, exact)
}

/// The template with both slots masked, and where they are. Errors on a template without exactly one of each.
pub(super) fn frame(model: &dyn MaskScorer, template: &str) -> Result<Frame> {
    let groups = template.matches(GROUP_SLOT).count();
    let masks = template.matches(MASK_SLOT).count();
    let bad = |reason: String| Error::InvalidData { path: "probe template".into(), reason };
    if groups != 1 {
        return Err(bad(format!("{template:?} has {groups} {GROUP_SLOT} slots; a template needs exactly one")));
    }
    if masks == 0 {
        return Err(Error::NoMaskToken { text: template.into(), mask_token: MASK_SLOT.into() });
    }
    if masks > 1 {
        return Err(Error::SeveralMasks { text: template.into(), count: masks });
    }
    let (Some(g), Some(m)) = (template.find(GROUP_SLOT), template.find(MASK_SLOT)) else {
        return Err(bad(format!("{template:?} lacks a slot")));
    };
    let ids = model.encode(&template.replacen(GROUP_SLOT, MASK_SLOT, 1), true)?;
    let positions: Vec<usize> =
        ids.iter().enumerate().filter(|(_, &id)| id == model.mask_id()).map(|(p, _)| p).collect();
    let [first, second] = positions[..] else {
        return Err(bad(format!(
            "{template:?} does not read as two masks once its group slot is masked: write {GROUP_SLOT} and \
             {MASK_SLOT} as words of their own, with spaces around them"
        )));
    };
    let (group_at, mask_at) = if g < m { (first, second) } else { (second, first) };
    Ok(Frame { ids, group_at, mask_at })
}

/// The id of `target` at the mask of `template` when the target is one token there (the group slot masked and the
/// rest of the sentence tokenized as before), else None.
pub(super) fn single_token_at(
    model: &dyn MaskScorer,
    template: &str,
    frame: &Frame,
    target: &str,
) -> Result<Option<u32>> {
    // The target at the mask, the group slot masked.
    let filled = template.replacen(MASK_SLOT, target, 1).replacen(GROUP_SLOT, MASK_SLOT, 1);
    let ids = match model.encode(&filled, true) {
        Ok(ids) => ids,
        Err(Error::Tokenize { .. }) => return Ok(None),
        Err(err) => return Err(err),
    };
    let same_elsewhere = ids.len() == frame.ids.len()
        && ids.iter().zip(&frame.ids).enumerate().all(|(p, (a, b))| p == frame.mask_at || a == b);
    Ok(same_elsewhere.then(|| ids[frame.mask_at]).filter(|&id| id != model.mask_id()))
}

/// The tokens of `term` in the group slot of `template`: `ids` is the template with the term in the slot (and the
/// target masked); the tokens are what replaced the slot's one mask of `frame`.
pub(super) fn term_ids(
    model: &dyn MaskScorer,
    template: &str,
    frame: &Frame,
    ids: &[u32],
    term: &str,
) -> Result<Vec<u32>> {
    let g = frame.group_at;
    let k = (ids.len() + 1).saturating_sub(frame.ids.len());
    let tail = frame.ids.len() - g - 1;
    let ok = k >= 1 && ids[..g] == frame.ids[..g] && ids[ids.len() - tail..] == frame.ids[g + 1..];
    if !ok {
        return Err(Error::Tokenize {
            text: template.replacen(GROUP_SLOT, term, 1),
            reason: format!(
                "the term {term:?} changes how the rest of the template is tokenized by {}, so its tokens in the slot \
                 cannot be told apart: leave the term out, or put spaces around {GROUP_SLOT} in the template",
                model.name()
            ),
        });
    }
    Ok(ids[g..g + k].to_vec())
}

pub(super) fn internal(message: String) -> Error {
    Error::Internal(message)
}
