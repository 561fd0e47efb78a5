//! A masked language model's `config.json`, read into one plain struct for the three families biaslab runs.

use std::path::Path;

use candle_nn::Activation;
use serde::Deserialize;

use crate::error::{Error, Result};

/// The model families biaslab can load, picked from `model_type` in `config.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// BERT (`bert-base-uncased`): `[MASK]`, WordPiece, token-type embeddings.
    Bert,
    /// DistilBERT (`distilbert-base-uncased`): BERT's tokenizer, no token types, 6 layers.
    DistilBert,
    /// RoBERTa (`roberta-base`): `<mask>`, byte-level BPE, positions that start after the padding id.
    Roberta,
}

impl Family {
    /// The `model_type` string transformers writes for this family.
    pub fn model_type(self) -> &'static str {
        match self {
            Family::Bert => "bert",
            Family::DistilBert => "distilbert",
            Family::Roberta => "roberta",
        }
    }

    fn from_model_type(model_type: &str) -> Option<Self> {
        match model_type {
            "bert" => Some(Family::Bert),
            "distilbert" => Some(Family::DistilBert),
            "roberta" => Some(Family::Roberta),
            _ => None,
        }
    }
}

/// The shape and settings of a masked language model, whatever its family.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Which family the weights belong to (their tensor names and small differences follow from it).
    pub family: Family,
    /// Rows of the word embeddings (and columns of the output logits).
    pub vocab_size: usize,
    /// Width of the hidden states.
    pub hidden_size: usize,
    /// Number of transformer layers.
    pub num_hidden_layers: usize,
    /// Number of attention heads per layer.
    pub num_attention_heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate_size: usize,
    /// Activation of the feed-forward layer.
    pub hidden_act: Activation,
    /// Activation inside the masked-LM head (RoBERTa always uses GELU there).
    pub head_act: Activation,
    /// Rows of the position embeddings.
    pub max_position_embeddings: usize,
    /// Rows of the token-type embeddings (0: none, as in DistilBERT).
    pub type_vocab_size: usize,
    /// Epsilon of every layer norm.
    pub layer_norm_eps: f64,
    /// The padding token id.
    pub pad_token_id: u32,
    /// Dropout on hidden states during training.
    pub hidden_dropout_prob: f64,
    /// Dropout on attention probabilities during training.
    pub attention_probs_dropout_prob: f64,
}

#[derive(Deserialize)]
struct ModelType {
    model_type: Option<String>,
    #[serde(default)]
    architectures: Vec<String>,
}

#[derive(Deserialize)]
struct BertJson {
    vocab_size: usize,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    #[serde(default)]
    hidden_act: Activation,
    max_position_embeddings: usize,
    #[serde(default = "two")]
    type_vocab_size: usize,
    #[serde(default = "bert_eps")]
    layer_norm_eps: f64,
    pad_token_id: Option<u32>,
    #[serde(default = "tenth")]
    hidden_dropout_prob: f64,
    #[serde(default = "tenth")]
    attention_probs_dropout_prob: f64,
    #[serde(default)]
    position_embedding_type: Option<String>,
}

#[derive(Deserialize)]
struct DistilBertJson {
    vocab_size: usize,
    dim: usize,
    n_layers: usize,
    n_heads: usize,
    hidden_dim: usize,
    #[serde(default)]
    activation: Activation,
    max_position_embeddings: usize,
    pad_token_id: Option<u32>,
    #[serde(default = "tenth")]
    dropout: f64,
    #[serde(default = "tenth")]
    attention_dropout: f64,
}

fn two() -> usize {
    2
}
fn bert_eps() -> f64 {
    1e-12
}
fn tenth() -> f64 {
    0.1
}

/// The end of an [`Error::InvalidConfig`] message for a file that cannot be right: what to do about it.
pub(crate) const FIX: &str = "correct the file, or download the model again if it was cut short or edited";

impl Config {
    /// Reads `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
        Self::from_json(&text, path)
    }

    /// Parses the text of a `config.json`; `path` is only used in error messages.
    pub fn from_json(text: &str, path: &Path) -> Result<Self> {
        let invalid =
            |err: serde_json::Error| Error::InvalidConfig { path: path.into(), reason: format!("{err}; {FIX}") };
        let kind: ModelType = serde_json::from_str(text).map_err(invalid)?;
        let family = match kind.model_type.as_deref() {
            Some(model_type) => Family::from_model_type(model_type),
            None => kind.architectures.iter().find_map(|arch| {
                let arch = arch.to_ascii_lowercase();
                ["distilbert", "roberta", "bert"]
                    .into_iter()
                    .find(|t| arch.starts_with(t))
                    .and_then(Family::from_model_type)
            }),
        };
        let Some(family) = family else {
            let model_type = kind
                .model_type
                .or_else(|| kind.architectures.first().cloned())
                .unwrap_or_else(|| "(none given)".into());
            return Err(Error::UnsupportedModel { path: path.into(), model_type });
        };
        let config = match family {
            Family::Bert | Family::Roberta => {
                let json: BertJson = serde_json::from_str(text).map_err(invalid)?;
                if let Some(kind) = json.position_embedding_type.as_deref().filter(|kind| *kind != "absolute") {
                    return Err(Error::InvalidConfig {
                        path: path.into(),
                        reason: format!(
                            "position_embedding_type {kind:?} is not supported, only \"absolute\": choose a model with \
                             absolute position embeddings"
                        ),
                    });
                }
                let roberta = family == Family::Roberta;
                Config {
                    family,
                    vocab_size: json.vocab_size,
                    hidden_size: json.hidden_size,
                    num_hidden_layers: json.num_hidden_layers,
                    num_attention_heads: json.num_attention_heads,
                    intermediate_size: json.intermediate_size,
                    hidden_act: json.hidden_act,
                    head_act: if roberta { Activation::Gelu } else { json.hidden_act },
                    max_position_embeddings: json.max_position_embeddings,
                    type_vocab_size: json.type_vocab_size,
                    layer_norm_eps: json.layer_norm_eps,
                    pad_token_id: json.pad_token_id.unwrap_or(if roberta { 1 } else { 0 }),
                    hidden_dropout_prob: json.hidden_dropout_prob,
                    attention_probs_dropout_prob: json.attention_probs_dropout_prob,
                }
            }
            Family::DistilBert => {
                let json: DistilBertJson = serde_json::from_str(text).map_err(invalid)?;
                Config {
                    family,
                    vocab_size: json.vocab_size,
                    hidden_size: json.dim,
                    num_hidden_layers: json.n_layers,
                    num_attention_heads: json.n_heads,
                    intermediate_size: json.hidden_dim,
                    hidden_act: json.activation,
                    head_act: json.activation,
                    max_position_embeddings: json.max_position_embeddings,
                    type_vocab_size: 0,
                    // transformers hard-codes this epsilon for DistilBERT.
                    layer_norm_eps: 1e-12,
                    pad_token_id: json.pad_token_id.unwrap_or(0),
                    hidden_dropout_prob: json.dropout,
                    attention_probs_dropout_prob: json.attention_dropout,
                }
            }
        };
        if config.num_attention_heads == 0 || config.hidden_size % config.num_attention_heads != 0 {
            return Err(Error::InvalidConfig {
                path: path.into(),
                reason: format!(
                    "hidden size {} is not a multiple of the {} attention heads; {FIX}",
                    config.hidden_size, config.num_attention_heads
                ),
            });
        }
        // transformers refuses these too (an embedding row that does not exist).
        if config.pad_token_id as usize >= config.vocab_size {
            return Err(Error::InvalidConfig {
                path: path.into(),
                reason: format!(
                    "pad_token_id {} is not a token of the vocabulary of {} tokens; {FIX}",
                    config.pad_token_id, config.vocab_size
                ),
            });
        }
        Ok(config)
    }

    /// The most tokens (special tokens included) one text may have.
    ///
    /// RoBERTa's positions start after the padding id, so it reads `max_position_embeddings - pad_token_id - 1`
    /// tokens (512 for roberta-base); BERT and DistilBERT read `max_position_embeddings`.
    pub fn max_tokens(&self) -> usize {
        match self.family {
            Family::Roberta => self.max_position_embeddings.saturating_sub(self.pad_token_id as usize + 1),
            Family::Bert | Family::DistilBert => self.max_position_embeddings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config> {
        Config::from_json(text, Path::new("config.json"))
    }

    #[test]
    fn bert_base_uncased_config_reads() {
        let text = r#"{"architectures":["BertForMaskedLM"],"hidden_act":"gelu","hidden_size":768,"intermediate_size":3072,
            "max_position_embeddings":512,"model_type":"bert","num_attention_heads":12,"num_hidden_layers":12,
            "pad_token_id":0,"type_vocab_size":2,"vocab_size":30522,"layer_norm_eps":1e-12}"#;
        let config = parse(text).unwrap();
        assert_eq!(config.family, Family::Bert);
        assert_eq!(config.hidden_act, Activation::Gelu);
        assert_eq!(config.max_tokens(), 512);
    }

    #[test]
    fn roberta_reads_fewer_tokens_than_positions() {
        let text = r#"{"model_type":"roberta","hidden_size":16,"intermediate_size":32,"max_position_embeddings":514,
            "num_attention_heads":2,"num_hidden_layers":2,"pad_token_id":1,"type_vocab_size":1,"vocab_size":50265,"hidden_act":"gelu"}"#;
        let config = parse(text).unwrap();
        assert_eq!(config.family, Family::Roberta);
        assert_eq!(config.max_tokens(), 512);
    }

    #[test]
    fn unknown_families_and_bad_json_are_clear_errors() {
        let err = parse(r#"{"model_type":"gpt2"}"#).unwrap_err();
        assert!(matches!(err, Error::UnsupportedModel { .. }));
        assert!(err.to_string().contains("gpt2"));
        let err = parse("{not json").unwrap_err();
        assert!(matches!(err, Error::InvalidConfig { .. }));
        let err = parse(r#"{"model_type":"bert","vocab_size":10}"#).unwrap_err();
        assert!(err.to_string().contains("hidden_size"), "{err}");
    }
}
