//! The model layer: finding a model's files, loading them, and running the encoder.
//!
//! - [`hub`]: a local directory or a Hugging Face Hub id, downloaded into the standard cache;
//! - [`config`], [`tokenizer`]: a model's `config.json` and its tokenizer;
//! - [`encoder`]: the transformer encoder and its masked-LM head (BERT, DistilBERT, RoBERTa), with dropout for
//!   training; [`device`]: where it runs;
//! - [`batch`]: padding token-id sequences into one batch with its attention mask;
//! - [`fill_mask`]: the fill-mask pipeline; [`scorer`]: what every bias test asks of a model;
//! - [`mlm`]: the masked-LM objective (masking, loss) and the capability measures built on it;
//! - [`sentence`]: sentence embeddings (mean pooling), what SEAT measures;
//! - [`source`]: which model a name stands for (the demo models' names live there); [`demo`]: the offline demo
//!   model; [`choose`]: loading a model by name, and the fallback to the demo model when the hub is out of reach.

pub mod batch;
pub mod choose;
pub mod config;
pub mod demo;
pub mod device;
pub mod encoder;
pub mod fill_mask;
pub mod hub;
pub mod mlm;
pub mod scorer;
pub mod sentence;
pub mod source;
pub mod tokenizer;

pub use encoder::{Checkpoint, Dropout, Encoder, MaskedLm};
