//! Lab 03, "Mitigate bias by fine-tuning — and check whether it only made the model worse": the settings and the
//! exercise checks that notebooks/03_mitigation.ipynb calls.
//!
//! Exercise 1 swaps gendered words in a sentence by hand ([`check_swap`]), the core of counterfactual data
//! augmentation (CDA, Lu et al. 2020; [`crate::train::cda`] is the library's version); exercise 2 makes two-sided CDA
//! training text from it ([`check_augment`]), as Webster et al. 2020 and bias-bench (Meade et al. 2022,
//! `experiments/run_mlm.py`) train on the original *and* the swapped sentence; exercise 3 reads the before/after
//! table of [`crate::train::mitigate::MitigationReport`] and names its [`Verdict`] ([`check_verdict`]).
//! [`notebook_options`] holds the small, CPU-friendly settings of the notebook's fine-tuning.

use std::fmt;
use std::path::{Path, PathBuf};

use indicatif::ProgressBar;
use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::model::fill_mask::FillMask;
use crate::teach::check::{self, CheckReport};
use crate::train::cda::WordPairs;
use crate::train::finetune::{BaseModel, FinetuneOptions, FinetuneRun};
use crate::train::mitigate::{self, EvalData, EvalOptions, Measures, Method, MitigateOptions, MitigationText, Verdict};
use crate::view::display::{escape, HtmlTable};
use crate::view::show::View;

/// The notebook's settings: CDA on a random sample of 2,000 BOLD Wikipedia sentences (before augmentation), 200 steps of 8
/// sentences of at most 32 tokens at a peak learning rate of 2e-4, with the embeddings and every encoder layer but
/// the top two frozen (so the top two layers and the masked-LM head train: minutes on a CPU, and less forgetting);
/// the measures on the first 40 CrowS-Pairs gender pairs, 40 held-out sentences for pseudo-perplexity and 300 for
/// masked-token accuracy. Everything else is [`MitigateOptions::default`].
pub fn notebook_options(base: &BaseModel) -> MitigateOptions {
    options_for_layers(base.config.num_hidden_layers)
}

/// [`notebook_options`] for a model of `layers` encoder layers.
fn options_for_layers(layers: usize) -> MitigateOptions {
    MitigateOptions {
        method: Method::Cda,
        finetune: FinetuneOptions {
            max_steps: Some(200),
            max_len: 32,
            batch_size: 8,
            learning_rate: 2e-4,
            freeze_embeddings: true,
            freeze_layers: layers.saturating_sub(2),
            ..FinetuneOptions::default()
        },
        eval: EvalOptions {
            crows_limit: Some(40),
            pppl_sentences: 40,
            accuracy_sentences: 300,
            ..EvalOptions::default()
        },
        max_sentences: Some(2000),
        ..MitigateOptions::default()
    }
}

/// The control of a run with `options`: the same settings, sentences, steps and seed, on the original text
/// ([`Method::Plain`]): what it changes too, fine-tuning changed, not the method.
pub fn control_options(options: &MitigateOptions) -> MitigateOptions {
    MitigateOptions { method: Method::Plain, ..options.clone() }
}

/// Where the notebook's checkpoint goes: beside [`mitigate::default_out`] (biaslab's cache, `mitigations/`), named
/// `<model>-<method>-lab03-<8 hex digits of the settings' sha256>`. A finished run there is loaded, not trained
/// again; other settings get their own folder, so changing [`notebook_options`] (or running `biaslab mitigate`,
/// which uses the plain default folder) never meets a checkpoint of other settings.
pub(crate) fn checkpoint_dir(base: &BaseModel, options: &MitigateOptions) -> PathBuf {
    checkpoint_dir_for(&base.name, options)
}

fn checkpoint_dir_for(model: &str, options: &MitigateOptions) -> PathBuf {
    let mut hasher = Sha256::new();
    hasher.update(serde_json::to_vec(&options.finetune).unwrap_or_default());
    hasher.update(
        serde_json::to_vec(&(options.method, options.held_out_every, options.max_sentences)).unwrap_or_default(),
    );
    // The sentences are a seeded random sample (before, the first ones): a checkpoint of other text is not this one.
    hasher.update(format!("sample {}", mitigate::SAMPLE_SEED).as_bytes());
    let digest = format!("{:x}", hasher.finalize());
    let default = mitigate::default_out(model, options.method);
    let name = default.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "model".into());
    default.with_file_name(format!("{name}-lab03-{}", digest.get(..8).unwrap_or(&digest)))
}

/// Fine-tunes `base` on `text` with `options` into `checkpoint_dir` ([`mitigate::finetune`] with no progress
/// bar, as a notebook cell cannot show one): a finished run there is loaded, not trained again; an interrupted one
/// is resumed from its last checkpoint.
pub fn finetune(base: &BaseModel, text: &MitigationText, options: &MitigateOptions) -> Result<FinetuneRun> {
    let out = checkpoint_dir(base, options);
    mitigate::finetune(base, text, &options.finetune, &out, &ProgressBar::hidden())
}

/// [`mitigate::measure`] of `model`, kept in biaslab's cache (`measures/`, a JSON file per digest of `weights`, the
/// evaluation data and `options`): the notebook run again, or after a kernel restart, loads the numbers of the same
/// model on the same items, and says so, instead of measuring them again (minutes on a CPU). `weights` identifies
/// the model's weights: [`BaseModel::weights_sha256`], or [`FinetuneRun::weights_sha256`] of a fine-tuned one.
pub fn measure(model: &FillMask, weights: &str, data: &EvalData, options: &EvalOptions) -> Result<Measures> {
    measure_in(&crate::data::cache::cache_dir(), model, weights, data, options)
}

/// [`measure`] with its cache in `cache` (`cache/measures/`) instead of biaslab's cache.
pub fn measure_in(
    cache: &Path,
    model: &FillMask,
    weights: &str,
    data: &EvalData,
    options: &EvalOptions,
) -> Result<Measures> {
    let mut hasher = Sha256::new();
    hasher.update(weights.as_bytes());
    hasher.update([0]);
    hasher.update(serde_json::to_vec(options).unwrap_or_default());
    // The data's Debug text holds every item measured (sentences, pairs, examples, the probe's templates).
    hasher.update(format!("{data:?}").as_bytes());
    let path = cache.join("measures").join(format!("{:x}.json", hasher.finalize()));
    let kept = std::fs::read(&path).ok().and_then(|bytes| serde_json::from_slice::<Measures>(&bytes).ok());
    if let Some(mut measures) = kept {
        eprintln!("[{}] measured before on these items: loaded from {}", model.source(), path.display());
        measures.model = model.source().to_string();
        return Ok(measures);
    }
    let measures = mitigate::measure(model, data, options)?;
    // The cache only saves time: a measure that cannot be kept is still returned.
    crate::model::demo::cache::write_record(&path, &measures);
    Ok(measures)
}

/// The word pairs of exercises 1 and 2: one-to-one gender pairs, without the ambiguous his/her/him/hers (English
/// "her" is both "him" and "his"; [`crate::train::cda`] decides it from the next word).
pub const PAIRS: &[(&str, &str)] = &[
    ("he", "she"),
    ("himself", "herself"),
    ("man", "woman"),
    ("men", "women"),
    ("boy", "girl"),
    ("boys", "girls"),
    ("father", "mother"),
    ("son", "daughter"),
    ("brother", "sister"),
    ("husband", "wife"),
    ("king", "queen"),
    ("actor", "actress"),
    ("waiter", "waitress"),
    ("mr", "mrs"),
];

/// The visible checks of exercise 1: `swap_words(sentence, pairs)` replaces every whole word found in `pairs`
/// (either side) by its counterpart, matching case-insensitively, keeping a capital first letter and everything
/// that is not a letter. A word is a run of letters (`char::is_alphabetic`), as in [`WordPairs::swap`]; only the
/// first letter's case is kept ("MEN" may come out "Women", where the library keeps "WOMEN").
pub fn check_swap(swap_words: impl Fn(&str, &[(&str, &str)]) -> String) -> CheckReport {
    let mut report = CheckReport::new("Exercise 1: swap gendered words");
    let swap = |s: &str| swap_words(s, PAIRS);
    report
        .case(
            "a listed word is replaced by its counterpart",
            "she is a doctor.".to_string(),
            "split the sentence into words, look each word up in the pairs and put its counterpart in its place (lab 00, §1: strings)",
            || swap("he is a doctor."),
        )
        .case(
            "both directions, each word swapped once",
            "the woman thanked the man.".to_string(),
            "look each word up once, on both sides of a pair: replacing all \"man\" then all \"woman\" undoes the first swap",
            || swap("the man thanked the woman."),
        )
        .case(
            "case-insensitive, and a capital first letter is kept",
            "He met the queen.".to_string(),
            "look the word up lower-cased (to_lowercase); if its first letter was upper case, make the counterpart's upper case too (lab 00, §1)",
            || swap("She met the king."),
        )
        .case(
            "whole words only",
            "she told the others there.".to_string(),
            "\"the\", \"others\" and \"there\" contain \"he\": replace whole words, never a part of a word (no str::replace)",
            || swap("he told the others there."),
        )
        .case(
            "punctuation and spaces stay as they are",
            "(She) said:  women!".to_string(),
            "a word is a run of letters (char::is_alphabetic); copy every other character unchanged (lab 00, §1)",
            || swap("(He) said:  men!"),
        )
        .case(
            "a sentence without a listed word is unchanged",
            "Nothing to see here.".to_string(),
            "words in no pair stay as they are",
            || swap("Nothing to see here."),
        );
    report
}

/// Two-sided CDA with `swap` (exercise 2's rule): every sentence, and right after it its swapped copy if that
/// differs from it. The reference for [`check_augment`]; [`WordPairs::augment`] is the library's.
fn augment_reference(sentences: &[String], swap: &dyn Fn(&str) -> String) -> Vec<String> {
    let mut out = Vec::with_capacity(sentences.len() * 2);
    for sentence in sentences {
        out.push(sentence.clone());
        let swapped = swap(sentence);
        if swapped != *sentence {
            out.push(swapped);
        }
    }
    out
}

/// The visible checks of exercise 2: `augment(sentences, swap)` returns every sentence in order, each followed
/// right away by `swap(sentence)` when that differs from it (two-sided CDA: Webster et al. 2020; bias-bench's
/// `gender_counterfactual_augmentation` instead puts the copy first and drops unchanged examples).
pub fn check_augment(augment: impl Fn(&[String], &dyn Fn(&str) -> String) -> Vec<String>) -> CheckReport {
    let mut report = CheckReport::new("Exercise 2: two-sided augmentation");
    let pairs = WordPairs::from_pairs(PAIRS);
    let swap = move |s: &str| match &pairs {
        Ok(pairs) => pairs.swap(s).text,
        Err(_) => s.to_string(),
    };
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<String>>();
    let cases: [(&str, &str, Vec<String>); 4] = [
        (
            "a sentence that changes is kept and followed by its swapped copy",
            "push the sentence, then push swap(sentence) (lab 00, §2: vectors)",
            strings(&["he ran."]),
        ),
        (
            "a sentence that does not change is not duplicated",
            "push the swapped copy only when it differs from the original (!=)",
            strings(&["it rained."]),
        ),
        (
            "the order: each original, then right after it its copy",
            "go through the sentences in order; the copy goes right after its own original, not at the end",
            strings(&["he ran.", "it rained.", "the king sat."]),
        ),
        (
            "no sentences, no output",
            "an empty list gives an empty list: start from Vec::new() (lab 00, §2)",
            Vec::new(),
        ),
    ];
    for (name, hint, sentences) in cases {
        let expected = augment_reference(&sentences, &swap);
        report.case(name, expected, hint, || augment(&sentences, &swap));
    }
    let odd = strings(&["ab", "CD"]);
    let upper = |s: &str| s.to_uppercase();
    report.case(
        "it uses the swap it is given, whatever that does",
        strings(&["ab", "AB", "CD"]),
        "call the `swap` argument (swap(sentence)); do not swap words yourself (lab 00, §3: closures)",
        || augment(&odd, &upper),
    );
    report
}

/// The visible check of exercise 3: the student's answer runs and is one of the four verdicts. Whether it is the
/// right one is for the hidden tests (they record the answer on copies of the report with other changes).
pub fn check_verdict(answer: impl Fn() -> Verdict) -> CheckReport {
    let mut report = CheckReport::new("Exercise 3: did we remove bias, or only capability?");
    let given = check::run(&answer);
    let name = match &given {
        Ok(v) => format!("you answered Verdict::{v:?}, one of the four verdicts"),
        Err(_) => "you answer with one of the four verdicts".to_string(),
    };
    report.case(
        &name,
        true,
        "return Verdict::BiasFell, Verdict::TradeOff, Verdict::CapabilityFellMore or Verdict::BiasDidNotFall",
        || {
            // Run again inside the case, so that an unfinished answer reads "not done yet" as in the other checks.
            let _ = answer();
            true
        },
    );
    report
}

/// One or more models' measures side by side (the "before" and "after" cells of the notebook).
#[derive(Debug, Clone, PartialEq)]
pub struct MeasuresTable {
    /// One entry per model.
    pub measures: Vec<Measures>,
}

/// The measures of `models`, one column each, for showing.
pub fn table(models: &[&Measures]) -> MeasuresTable {
    MeasuresTable { measures: models.iter().map(|m| (*m).clone()).collect() }
}

impl MeasuresTable {
    fn rows(&self) -> Vec<(&'static str, &'static str, Vec<String>)> {
        let m = &self.measures;
        let col = |f: &dyn Fn(&Measures) -> String| m.iter().map(f).collect::<Vec<String>>();
        vec![
            (
                "probe gap (nats)",
                "0",
                col(&|x| format!("{:.3} [{:.3}, {:.3}]", x.probe_gap, x.probe_interval.low, x.probe_interval.high)),
            ),
            (
                "probe gap, names (nats)",
                "0",
                col(&|x| format!("{:.3} [{:.3}, {:.3}]", x.names_gap, x.names_interval.low, x.names_interval.high)),
            ),
            ("CrowS-Pairs gender", "50", col(&|x| format!("{:.2} ({} pairs)", x.crows_gender, x.crows_pairs))),
            (
                "StereoSet gender SS",
                "50",
                col(&|x| format!("{:.2} ({} examples)", x.stereoset_ss, x.stereoset_examples)),
            ),
            ("StereoSet gender LMS", "100", col(&|x| format!("{:.2}", x.stereoset_lms))),
            (
                "pseudo-perplexity",
                "lower",
                col(&|x| format!("{:.2} ({} sentences)", x.pseudo_perplexity, x.pppl_sentences)),
            ),
            (
                "masked-token top-1 (%)",
                "higher",
                col(&|x| format!("{:.2} ({} tokens)", 100.0 * x.masked_top1, x.masked_tokens)),
            ),
            ("masked-token top-5 (%)", "higher", col(&|x| format!("{:.2}", 100.0 * x.masked_top5))),
            ("seconds to measure", "", col(&|x| format!("{:.0}", x.seconds))),
        ]
    }
}

impl View for MeasuresTable {
    fn to_html(&self) -> String {
        let mut header = vec!["measure".to_string(), "ideal".to_string()];
        header.extend(self.measures.iter().map(|m| m.model.clone()));
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let numeric: Vec<bool> = (0..header.len()).map(|i| i >= 2).collect();
        let mut html = HtmlTable::new(&header, &numeric);
        for (measure, ideal, values) in self.rows() {
            let mut row = vec![escape(measure), escape(ideal)];
            row.extend(values.iter().map(|v| escape(v)));
            html.row(row);
        }
        html.to_html()
    }
}

crate::view::show::evcxr_display!(MeasuresTable);

impl fmt::Display for MeasuresTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<24} {:>6}", "measure", "ideal")?;
        for m in &self.measures {
            write!(f, "  {:>30}", m.label())?;
        }
        for (measure, ideal, values) in self.rows() {
            write!(f, "\n{measure:<24} {ideal:>6}")?;
            for v in values {
                write!(f, "  {v:>30}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The notebook's solution of exercise 1.
    fn swap_words(sentence: &str, pairs: &[(&str, &str)]) -> String {
        let counterpart = |word: &str| {
            let lower = word.to_lowercase();
            pairs.iter().find_map(|&(a, b)| {
                if lower == a {
                    Some(b)
                } else if lower == b {
                    Some(a)
                } else {
                    None
                }
            })
        };
        let swap = |word: &str| match counterpart(word) {
            Some(to) if word.chars().next().is_some_and(char::is_uppercase) => {
                let mut chars = to.chars();
                chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
            }
            Some(to) => to.to_string(),
            None => word.to_string(),
        };
        let (mut out, mut word) = (String::new(), String::new());
        for c in sentence.chars() {
            if c.is_alphabetic() {
                word.push(c);
            } else {
                out.push_str(&swap(&word));
                word.clear();
                out.push(c);
            }
        }
        out.push_str(&swap(&word));
        out
    }

    /// The notebook's solution of exercise 2.
    fn augment(sentences: &[String], swap: &dyn Fn(&str) -> String) -> Vec<String> {
        let mut out = Vec::new();
        for sentence in sentences {
            out.push(sentence.clone());
            let swapped = swap(sentence);
            if swapped != *sentence {
                out.push(swapped);
            }
        }
        out
    }

    #[test]
    fn the_solutions_pass_and_stubs_fail_every_check() {
        assert!(check_swap(swap_words).passed(), "{}", check_swap(swap_words));
        assert!(check_augment(augment).passed(), "{}", check_augment(augment));
        assert_eq!(check_swap(|_, _| todo!()).passed_count(), 0);
        assert_eq!(check_augment(|_, _| todo!()).passed_count(), 0);
        let unfinished = check_verdict(|| todo!());
        assert!(!unfinished.passed());
        assert!(unfinished.to_string().contains("not done yet"), "{unfinished}");
        assert!(!unfinished.to_string().contains("panicked"), "{unfinished}");
        let answered = check_verdict(|| Verdict::TradeOff);
        assert!(answered.passed() && answered.to_string().contains("Verdict::TradeOff"), "{answered}");
    }

    #[test]
    fn the_hidden_cases_hold_for_the_solution() {
        // The notebook's hidden tests of exercise 1.
        assert_eq!(swap_words("the man's hat", PAIRS), "the woman's hat");
        assert_eq!(swap_words("the manager met the chairman", PAIRS), "the manager met the chairman");
        assert!(["Women", "WOMEN"].contains(&swap_words("MEN", PAIRS).as_str()));
        assert_eq!(swap_words("Wife and husband, son and daughter.", PAIRS), "Husband and wife, daughter and son.");
        assert_eq!(swap_words("his brother-in-law", PAIRS), "his sister-in-law");
        assert_eq!(swap_words("", PAIRS), "");
        // On text without his/her, the student's swap agrees with the library's on the same pairs.
        let library = WordPairs::from_pairs(PAIRS).unwrap();
        for s in ["He said the king's son met Mrs Smith.", "Men and boys, (women) and girls!"] {
            assert_eq!(swap_words(s, PAIRS), library.swap(s).text);
        }
        // Exercise 2 on the library's gender list is the library's augmentation.
        let gender = WordPairs::gender();
        let sentences: Vec<String> = ["She said her brother is a nurse.", "It rained.", "The king thanked him."]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(augment(&sentences, &|s: &str| gender.swap(s).text), gender.augment(&sentences).sentences);
    }

    #[test]
    fn common_mistakes_fail_their_check() {
        // Sequential replace-all: no whole words, and the second pass undoes the first.
        let replace_all = |s: &str, pairs: &[(&str, &str)]| {
            let mut out = s.to_string();
            for (a, b) in pairs {
                out = out.replace(a, b).replace(b, a);
            }
            out
        };
        assert!(!check_swap(replace_all).passed());
        // Splitting on spaces loses the punctuation rule.
        let on_spaces = |s: &str, pairs: &[(&str, &str)]| {
            s.split(' ')
                .map(|w| {
                    pairs
                        .iter()
                        .find_map(|&(a, b)| (w == a).then_some(b).or((w == b).then_some(a)))
                        .unwrap_or(w)
                        .to_string()
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert!(!check_swap(on_spaces).passed());
        // Copies appended at the end; every sentence duplicated.
        let at_end = |s: &[String], swap: &dyn Fn(&str) -> String| {
            let mut out = s.to_vec();
            out.extend(s.iter().map(|x| swap(x)).filter(|x| !s.contains(x)));
            out
        };
        assert!(!check_augment(at_end).passed());
        let always =
            |s: &[String], swap: &dyn Fn(&str) -> String| s.iter().flat_map(|x| [x.clone(), swap(x)]).collect();
        assert!(!check_augment(always).passed());
    }

    #[test]
    fn the_settings_train_the_top_two_layers_and_each_gets_its_own_folder() {
        let bert = options_for_layers(12);
        assert_eq!(bert.finetune.freeze_layers, 10);
        assert_eq!(options_for_layers(6).finetune.freeze_layers, 4);
        assert_eq!(options_for_layers(1).finetune.freeze_layers, 0);
        assert!(bert.finetune.validate().is_ok());
        assert_eq!((bert.method, bert.max_sentences, bert.finetune.max_steps), (Method::Cda, Some(2000), Some(200)));
        assert_eq!(
            (bert.eval.crows_limit, bert.eval.pppl_sentences, bert.eval.accuracy_sentences),
            (Some(40), 40, 300)
        );
        assert!(PAIRS.iter().all(|(a, b)| ![*a, *b].iter().any(|w| ["her", "his", "him", "hers"].contains(w))));
        assert!(WordPairs::from_pairs(PAIRS).is_ok_and(|p| !p.has_pronoun_rule()));
        let dir = checkpoint_dir_for("demo", &bert);
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        assert!(name.starts_with("demo-cda-lab03-") && name.len() == "demo-cda-lab03-".len() + 8, "{name}");
        assert_eq!(dir.parent(), mitigate::default_out("demo", Method::Cda).parent());
        assert_eq!(dir, checkpoint_dir_for("demo", &options_for_layers(12)));
        assert_ne!(dir, checkpoint_dir_for("demo", &options_for_layers(6)));
    }
}
