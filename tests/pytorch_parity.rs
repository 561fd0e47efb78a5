//! biaslab against PyTorch: checkpoints written by transformers' `save_pretrained` (tests/fixtures, made by
//! tests/reference/make_fixtures.py), loaded through the same path users take, must give the fill-mask pipeline's
//! answers: token ids, tokens and sequences exactly, scores and raw logits to 1e-4.

mod common;

use biaslab::{FillMask, FillOptions, PipelineOutput};
use common::{assert_same_output, expected, model_dir, Inputs, TOLERANCE};

fn load(name: &str) -> (tempfile::TempDir, FillMask) {
    let dir = model_dir(name);
    let unmasker = FillMask::from_pretrained(dir.path().to_str().unwrap())
        .unwrap_or_else(|err| panic!("fixture {name} does not load: {err}"));
    (dir, unmasker)
}

/// Every pipeline call of the fixture, through the library, equals the PyTorch output.
fn check_cases(name: &str) {
    let (_dir, unmasker) = load(name);
    let expected = expected(name);
    assert_eq!(unmasker.mask_token(), expected.mask_token);
    assert_eq!(unmasker.model().config().family.model_type(), expected.family);
    assert!(expected.cases.len() >= 6, "{name}: the fixture has too few cases");
    for case in &expected.cases {
        let options = FillOptions {
            top_k: case.top_k.unwrap_or(5),
            targets: case.targets.clone(),
            batch_size: case.batch_size.unwrap_or(32),
        };
        let actual = match &case.inputs {
            Inputs::One(text) => {
                serde_json::to_value(PipelineOutput::from(unmasker.fill_masks(text, &options).unwrap()))
            }
            Inputs::Many(texts) => {
                let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
                let outputs: Vec<PipelineOutput> =
                    unmasker.fill_batch(&texts, &options).unwrap().into_iter().map(PipelineOutput::from).collect();
                serde_json::to_value(outputs)
            }
        }
        .unwrap();
        assert_same_output(&actual, &case.output, &format!("{name}/{}", case.name));
    }
}

/// The tokenizer gives the token ids transformers gives.
fn check_encodings(name: &str) {
    let (_dir, unmasker) = load(name);
    let expected = expected(name);
    assert!(!expected.encodings.is_empty());
    for encoding in &expected.encodings {
        let batch = unmasker.encode(&[encoding.text.as_str()]).unwrap();
        assert_eq!(batch.ids[0], encoding.input_ids, "{name}: token ids of {:?}", encoding.text);
    }
}

/// Raw logit rows equal PyTorch's.
fn check_logits(name: &str) {
    let (_dir, unmasker) = load(name);
    let expected = expected(name);
    assert!(!expected.logits.is_empty());
    for row in &expected.logits {
        let logits = unmasker.logits(&row.text).unwrap().to_vec2::<f32>().unwrap();
        for (&id, &want) in row.token_ids.iter().zip(&row.values) {
            let got = logits[row.position][id as usize];
            assert!(
                (f64::from(got) - f64::from(want)).abs() <= TOLERANCE,
                "{name}: logit of token {id} at position {} of {:?} is {got}, PyTorch gives {want}",
                row.position,
                row.text
            );
        }
    }
}

macro_rules! parity {
    ($module:ident, $name:literal) => {
        mod $module {
            #[test]
            fn pipeline_outputs_match_pytorch() {
                super::check_cases($name);
            }
            #[test]
            fn token_ids_match_transformers() {
                super::check_encodings($name);
            }
            #[test]
            fn raw_logits_match_pytorch() {
                super::check_logits($name);
            }
        }
    };
}

parity!(bert, "bert");
parity!(bert_legacy, "bert_legacy");
parity!(distilbert, "distilbert");
parity!(roberta, "roberta");

#[test]
fn the_convenience_calls_agree_with_the_pipeline() {
    let (_dir, unmasker) = load("bert");
    let expected = expected("bert");
    let man = expected.cases.iter().find(|c| c.name == "man").unwrap();
    let Inputs::One(text) = &man.inputs else { panic!("the man case has one text") };
    let preds = unmasker.fill(text, man.top_k.unwrap()).unwrap();
    assert_same_output(&serde_json::to_value(&preds).unwrap(), &man.output, "fill");

    let targets = expected.cases.iter().find(|c| c.name == "targets").unwrap();
    let Inputs::One(text) = &targets.inputs else { panic!("the targets case has one text") };
    let words: Vec<&str> = targets.targets.as_ref().unwrap().iter().map(String::as_str).collect();
    let preds = unmasker.fill_targets(text, &words).unwrap();
    // fill_targets returns every target; the pipeline's default top_k is 5, as many as the targets here.
    assert_eq!(preds.len(), words.len());
    assert_same_output(&serde_json::to_value(&preds).unwrap(), &targets.output, "fill_targets");
}

#[test]
fn a_vocab_txt_tokenizer_equals_tokenizer_json() {
    // A model directory with only vocab.txt (older checkpoints) must tokenize as tokenizer.json does.
    let with_json = model_dir("bert");
    let only_vocab = tempfile::tempdir().unwrap();
    for file in ["config.json", "model.safetensors"] {
        std::fs::copy(common::fixture_dir("bert").join(file), only_vocab.path().join(file)).unwrap();
    }
    common::copy_shared_tokenizer(only_vocab.path(), &["vocab.txt", "tokenizer_config.json"]);
    let a = FillMask::from_pretrained(with_json.path().to_str().unwrap()).unwrap();
    let b = FillMask::from_pretrained(only_vocab.path().to_str().unwrap()).unwrap();
    let texts = [
        "This man works as a [MASK].",
        "Élise and JOSÉ work as [MASK], don't they?",
        "The [MASK] earned $3,000,000 in 2019 — unbelievable!!",
        "中文 and emoji 🙂 with a [MASK] here",
    ];
    for text in texts {
        assert_eq!(a.encode(&[text]).unwrap().ids, b.encode(&[text]).unwrap().ids, "{text}");
        let (pa, pb) = (a.fill(text, 5).unwrap(), b.fill(text, 5).unwrap());
        assert_eq!(pa, pb, "{text}");
    }
}

#[test]
fn vocab_json_and_merges_equal_tokenizer_json() {
    // Older RoBERTa checkpoints have vocab.json + merges.txt and no tokenizer.json.
    let with_json = model_dir("roberta");
    let without = model_dir("roberta");
    std::fs::remove_file(without.path().join("tokenizer.json")).unwrap();
    let a = FillMask::from_pretrained(with_json.path().to_str().unwrap()).unwrap();
    let b = FillMask::from_pretrained(without.path().to_str().unwrap()).unwrap();
    for encoding in &expected("roberta").encodings {
        let text = encoding.text.as_str();
        assert_eq!(b.encode(&[text]).unwrap().ids[0], encoding.input_ids, "{text}");
        assert_eq!(
            a.fill_masks(text, &FillOptions::top_k(5)).unwrap(),
            b.fill_masks(text, &FillOptions::top_k(5)).unwrap()
        );
    }
}

#[test]
fn padding_does_not_change_predictions() {
    let (_dir, unmasker) = load("roberta");
    let texts = ["A <mask>.", "This man works as a <mask> in a big hospital downtown, every single day."];
    let alone: Vec<_> = texts.iter().map(|t| unmasker.fill(t, 5).unwrap()).collect();
    let batched = unmasker.fill_batch(&texts, &FillOptions::top_k(5)).unwrap();
    for (alone, batched) in alone.iter().zip(&batched) {
        assert_eq!(alone.len(), batched[0].len());
        for (a, b) in alone.iter().zip(&batched[0]) {
            assert_eq!((a.token, &a.sequence), (b.token, &b.sequence));
            assert!((a.score - b.score).abs() < 1e-5);
        }
    }
}

#[test]
fn bracket_mask_works_for_roberta() {
    // The lab writes [MASK]; a RoBERTa model takes it as <mask>.
    let (_dir, unmasker) = load("roberta");
    let a = unmasker.fill("This man works as a [MASK].", 5).unwrap();
    let b = unmasker.fill("This man works as a <mask>.", 5).unwrap();
    assert_eq!(a, b);
}
