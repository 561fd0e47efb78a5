//! Releasing a course: student notebooks made from the instructor's source notebooks, with nbgrader's cell
//! metadata and markers ([`notebook`]). Grading what comes back is [`crate::grade`].

pub mod notebook;
