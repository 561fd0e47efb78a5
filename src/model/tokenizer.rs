//! Loading a model's tokenizer: `tokenizer.json`, or the older `vocab.txt` (BERT WordPiece) and `vocab.json` +
//! `merges.txt` (RoBERTa byte-level BPE), built into the same tokenizer transformers would build from them.

use std::path::Path;

use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::decoders::wordpiece::WordPiece as WordPieceDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::processors::bert::BertProcessing;
use tokenizers::processors::roberta::RobertaProcessing;
use tokenizers::{AddedToken, Tokenizer};

use crate::error::{Error, Result};
use crate::model::hub::TokenizerFiles;

/// The end of an [`Error::Tokenize`] message when the tokenizer itself fails on a text: what to do about it.
pub(crate) const FAILED: &str =
    "the tokenizer's files may be incomplete or not this model's: download the model again, or use another model";

/// The mask tokens of the supported families, in the order they are looked for.
pub(crate) const MASK_TOKENS: [&str; 2] = ["[MASK]", "<mask>"];

/// Loads the tokenizer, with truncation and padding switched off (biaslab pads itself and reports texts that are
/// too long instead of cutting them). `tokenizer_config` (`tokenizer_config.json`) decides lower-casing for a
/// `vocab.txt`.
pub fn load(files: &TokenizerFiles, tokenizer_config: Option<&Path>) -> Result<Tokenizer> {
    let mut tokenizer = match files {
        TokenizerFiles::Json(path) => Tokenizer::from_file(path)
            .map_err(|err| Error::Tokenizer { path: path.clone(), reason: err.to_string() })?,
        TokenizerFiles::WordPiece(vocab) => wordpiece(vocab, lower_case(tokenizer_config)?)?,
        TokenizerFiles::Bpe { vocab, merges } => byte_level_bpe(vocab, merges)?,
    };
    tokenizer.with_padding(None);
    let path = match files {
        TokenizerFiles::Json(path) | TokenizerFiles::WordPiece(path) | TokenizerFiles::Bpe { vocab: path, .. } => path,
    };
    tokenizer.with_truncation(None).map_err(|err| Error::Tokenizer { path: path.clone(), reason: err.to_string() })?;
    Ok(tokenizer)
}

/// `do_lower_case` from `tokenizer_config.json` (true when absent, as for bert-base-uncased).
fn lower_case(tokenizer_config: Option<&Path>) -> Result<bool> {
    let Some(path) = tokenizer_config else { return Ok(true) };
    let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|err| Error::Tokenizer { path: path.into(), reason: err.to_string() })?;
    Ok(json.get("do_lower_case").and_then(serde_json::Value::as_bool).unwrap_or(true))
}

/// A BERT tokenizer from `vocab.txt`, as transformers' `BertTokenizerFast` builds it.
fn wordpiece(vocab: &Path, lower_case: bool) -> Result<Tokenizer> {
    let bad = |reason: String| Error::Tokenizer { path: vocab.into(), reason };
    let model = WordPiece::from_file(&vocab.to_string_lossy())
        .unk_token("[UNK]".into())
        .build()
        .map_err(|err| bad(err.to_string()))?;
    let mut tokenizer = Tokenizer::new(model);
    let id = |token: &str| tokenizer.token_to_id(token).ok_or_else(|| bad(format!("the vocabulary has no {token}")));
    let (cls, sep) = (id("[CLS]")?, id("[SEP]")?);
    tokenizer
        .with_normalizer(Some(BertNormalizer::new(true, true, None, lower_case)))
        .map_err(|err| bad(err.to_string()))?;
    tokenizer.with_pre_tokenizer(Some(BertPreTokenizer));
    tokenizer.with_post_processor(Some(BertProcessing::new(("[SEP]".into(), sep), ("[CLS]".into(), cls))));
    tokenizer.with_decoder(Some(WordPieceDecoder::new("##".into(), true)));
    let special: Vec<AddedToken> =
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].into_iter().map(|t| AddedToken::from(t, true)).collect();
    tokenizer.add_special_tokens(special).map_err(|err| bad(err.to_string()))?;
    Ok(tokenizer)
}

/// A RoBERTa tokenizer from `vocab.json` and `merges.txt`, as transformers' `RobertaTokenizerFast` builds it.
fn byte_level_bpe(vocab: &Path, merges: &Path) -> Result<Tokenizer> {
    let bad = |reason: String| Error::Tokenizer { path: vocab.into(), reason };
    let model = BPE::from_file(&vocab.to_string_lossy(), &merges.to_string_lossy())
        .build()
        .map_err(|err| bad(err.to_string()))?;
    let mut tokenizer = Tokenizer::new(model);
    let id = |token: &str| tokenizer.token_to_id(token).ok_or_else(|| bad(format!("the vocabulary has no {token}")));
    let (bos, eos) = (id("<s>")?, id("</s>")?);
    tokenizer.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
    tokenizer.with_post_processor(Some(
        RobertaProcessing::new(("</s>".into(), eos), ("<s>".into(), bos)).trim_offsets(true).add_prefix_space(false),
    ));
    tokenizer.with_decoder(Some(ByteLevelDecoder::default()));
    let mut special: Vec<AddedToken> =
        ["<s>", "<pad>", "</s>", "<unk>"].into_iter().map(|t| AddedToken::from(t, true)).collect();
    special.push(AddedToken::from("<mask>", true).lstrip(true));
    tokenizer.add_special_tokens(special).map_err(|err| bad(err.to_string()))?;
    Ok(tokenizer)
}
