//! The teaching layer: what the lab's notebooks call to check a student's work as they go.
//!
//! - [`check`]: exercises that check themselves (and record their verdict for the grader);
//! - [`lab00`]: the Rust primer's exercise checks;
//! - [`lab01`] … [`lab04`]: each lab's quiz, exercise checks and helpers;
//! - [`lab05`]: the audit project: an audit of one or more models, its checks and its draft model card.

pub mod check;
pub mod lab00;
pub mod lab01;
pub mod lab02;
pub mod lab03;
pub mod lab04;
pub mod lab05;
