//! The training layer: changing a model's weights, and measuring what the change did.
//!
//! - [`finetune`]: continued masked-LM training of any checkpoint biaslab loads (its AdamW step in place: `adamw`);
//! - [`cda`]: counterfactual data augmentation (and its word pairs);
//! - [`mitigate`]: lab 03's mitigations, with bias *and* capability measured before and after;
//! - [`demo`]: training the offline demo model's masked-LM head.

mod adamw;
pub mod cda;
pub mod demo;
pub mod finetune;
pub mod mitigate;
