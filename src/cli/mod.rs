//! The `biaslab` command's subcommands beyond `fill` and `demo`: each reads its arguments, calls the library and
//! writes what it measured (one shared "load the model, run the suite, write the output" path in [`suites`]).

pub mod measure;
pub mod mitigate;
pub mod report;
pub mod suites;
