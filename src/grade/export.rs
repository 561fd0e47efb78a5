//! The gradebook for a learning-management system: `biaslab grade export OUT --format canvas` (Canvas's gradebook
//! import) or `--format nbgrader` (the columns of `nbgrader export`, as `gradebook.csv`).
//!
//! Canvas imports a CSV whose first columns are `Student`, `ID`, `SIS User ID`, `SIS Login ID` and `Section`, then
//! one column per assignment (`Name (id)` for one Canvas has, a new name makes a new assignment), with an optional
//! second row `Points Possible`; it finds each student by `ID`, `SIS User ID` or `SIS Login ID`. Without a roster the
//! export puts nbgrader's student id in `Student` and `SIS Login ID` (courses whose JupyterHub logs students in with
//! their institution login). With `--roster`, Canvas's own gradebook export (Grades → Export), each of its students
//! is matched by one of its columns (`SIS Login ID` unless told) and keeps their Canvas ids and section, and each
//! assignment that Canvas already has keeps its `Name (id)` column. A roster student with no result gets an empty
//! cell (Canvas leaves the grade as it is); a graded student not in the roster is reported, not exported.

use std::collections::BTreeMap;
use std::path::Path;

use super::SubmissionResult;
use crate::error::{Error, Result};

/// The formats [`export`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The columns of `nbgrader export` (the grading output's `gradebook.csv`).
    Nbgrader,
    /// Canvas's gradebook import.
    Canvas,
}

impl std::str::FromStr for Format {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        match text.to_ascii_lowercase().as_str() {
            "nbgrader" => Ok(Format::Nbgrader),
            "canvas" => Ok(Format::Canvas),
            _ => Err(Error::InvalidArgument { reason: format!("no export format {text:?}: use canvas or nbgrader") }),
        }
    }
}

impl Format {
    /// The format's name, as `--format` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Nbgrader => "nbgrader",
            Format::Canvas => "canvas",
        }
    }
}

/// Canvas's identifying columns, in the order of its gradebook export.
pub const CANVAS_COLUMNS: [&str; 5] = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"];

/// The column of a Canvas roster that holds nbgrader's student ids, unless told otherwise.
pub const DEFAULT_ID_COLUMN: &str = "SIS Login ID";

/// What [`export`] made.
#[derive(Debug, Clone)]
pub struct Export {
    /// The CSV.
    pub csv: Vec<u8>,
    /// Students graded but not exported (not in the roster), each with why.
    pub left_out: Vec<String>,
}

/// The gradebook of `results` in `format`; for Canvas, matched against `roster` (Canvas's gradebook export, read
/// from `roster_path`) by its column `id_column`.
pub fn export(
    results: &[SubmissionResult],
    format: Format,
    roster: Option<(&Path, &str)>,
    id_column: &str,
) -> Result<Export> {
    match format {
        Format::Nbgrader => {
            if roster.is_some() {
                return Err(Error::InvalidArgument {
                    reason: "--roster is for --format canvas; nbgrader's CSV names students by their id".into(),
                });
            }
            Ok(Export { csv: super::nbgrader_csv(results), left_out: Vec::new() })
        }
        Format::Canvas => canvas(results, roster, id_column),
    }
}

/// Formats a score as Canvas reads it (2, 3.5).
fn points(score: f64) -> String {
    format!("{score}")
}

fn canvas(results: &[SubmissionResult], roster: Option<(&Path, &str)>, id_column: &str) -> Result<Export> {
    // Each assignment with its points, each student with their scores.
    let mut assignments: BTreeMap<&str, f64> = BTreeMap::new();
    let mut scores: BTreeMap<&str, BTreeMap<&str, f64>> = BTreeMap::new();
    for r in results {
        let max = assignments.entry(&r.assignment).or_insert(0.0);
        *max = max.max(r.max_score);
        scores.entry(&r.student).or_default().insert(&r.assignment, r.score);
    }
    let roster = roster.map(|(path, text)| Roster::parse(path, text, id_column)).transpose()?;
    let headers: Vec<String> = assignments
        .keys()
        .map(|a| roster.as_ref().and_then(|r| r.column_of(a)).unwrap_or_else(|| a.to_string()))
        .collect();
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut row = |fields: Vec<String>| writer.write_record(fields).expect("writing to memory");
    row(CANVAS_COLUMNS.iter().map(|c| c.to_string()).chain(headers).collect());
    row(["Points Possible", "", "", "", ""]
        .into_iter()
        .map(String::from)
        .chain(assignments.values().map(|m| points(*m)))
        .collect());
    let cells = |student: &str| -> Vec<String> {
        assignments
            .keys()
            .map(|a| scores.get(student).and_then(|s| s.get(a)).map(|s| points(*s)).unwrap_or_default())
            .collect()
    };
    let mut left_out = Vec::new();
    match &roster {
        None => {
            for student in scores.keys() {
                let ids = [*student, "", "", student, ""].map(String::from);
                row(ids.into_iter().chain(cells(student)).collect());
            }
        }
        Some(roster) => {
            for entry in &roster.students {
                row(entry.ids.iter().cloned().chain(cells(&entry.key)).collect());
            }
            for student in scores.keys().filter(|s| !roster.students.iter().any(|e| e.key == **s)) {
                left_out.push(format!(
                    "{student}: graded, but no student of the roster has {student:?} in {id_column:?}; add them in \
                     Canvas, or name the roster column that holds nbgrader's ids with --id-column"
                ));
            }
        }
    }
    Ok(Export { csv: writer.into_inner().expect("writing to memory"), left_out })
}

/// A student of a Canvas roster: their identifying columns and the id biaslab knows them by.
struct RosterStudent {
    ids: [String; 5],
    key: String,
}

/// Canvas's gradebook export, as far as the import needs it.
struct Roster {
    assignment_columns: Vec<String>,
    students: Vec<RosterStudent>,
}

impl Roster {
    fn parse(path: &Path, text: &str, id_column: &str) -> Result<Roster> {
        let invalid = |reason: String| Error::InvalidData { path: path.to_path_buf(), reason };
        let text = text.trim_start_matches('\u{feff}');
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
        let headers: Vec<String> =
            reader.headers().map_err(|e| invalid(e.to_string()))?.iter().map(|h| h.trim().to_string()).collect();
        let at = |name: &str| headers.iter().position(|h| h == name);
        let mut columns = Vec::new();
        for name in CANVAS_COLUMNS {
            columns.push(at(name).ok_or_else(|| {
                invalid(format!(
                    "no column {name:?}: give Canvas's own gradebook export (Grades → Export), whose columns begin {}",
                    CANVAS_COLUMNS.join(", ")
                ))
            })?);
        }
        let key = at(id_column).ok_or_else(|| {
            invalid(format!("no column {id_column:?} to match students by (its columns: {})", headers.join(", ")))
        })?;
        let mut students = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| invalid(e.to_string()))?;
            let field = |i: usize| record.get(i).unwrap_or("").trim().to_string();
            let name = field(columns[0]);
            // Canvas's second row (points possible, or "Student, Test"'s muted row) names no student.
            if name.ends_with("Points Possible") || field(key).is_empty() {
                continue;
            }
            students.push(RosterStudent { ids: std::array::from_fn(|i| field(columns[i])), key: field(key) });
        }
        let assignment_columns = headers.iter().filter(|h| !CANVAS_COLUMNS.contains(&h.as_str())).cloned().collect();
        Ok(Roster { assignment_columns, students })
    }

    /// The roster's column for the assignment `name` (`name (id)`, as Canvas writes it), if it has one.
    fn column_of(&self, name: &str) -> Option<String> {
        self.assignment_columns
            .iter()
            .find(|h| {
                h.as_str() == name
                    || h.strip_prefix(name).and_then(|rest| rest.strip_prefix(" (")).is_some_and(|id| {
                        id.strip_suffix(')').is_some_and(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()))
                    })
            })
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(student: &str, assignment: &str, score: f64, max: f64) -> SubmissionResult {
        SubmissionResult {
            student: student.into(),
            assignment: assignment.into(),
            timestamp: None,
            score,
            max_score: max,
            notebooks: Vec::new(),
            digest: String::new(),
        }
    }

    fn class() -> Vec<SubmissionResult> {
        vec![result("alice", "lab01", 3.5, 4.0), result("bob", "lab01", 2.0, 4.0), result("alice", "lab05", 7.0, 7.0)]
    }

    #[test]
    fn without_a_roster_each_student_is_found_by_their_login() {
        let out = export(&class(), Format::Canvas, None, DEFAULT_ID_COLUMN).unwrap();
        assert_eq!(
            String::from_utf8(out.csv).unwrap(),
            "Student,ID,SIS User ID,SIS Login ID,Section,lab01,lab05\n\
             Points Possible,,,,,4,7\n\
             alice,,,alice,,3.5,7\n\
             bob,,,bob,,2,\n"
        );
    }

    #[test]
    fn a_roster_keeps_canvas_ids_sections_and_assignment_columns_and_reports_who_is_missing() {
        let roster = "\u{feff}Student,ID,SIS User ID,SIS Login ID,Section,lab01 (101),Quiz 1 (7),Current Score\n\
                      \"    Points Possible\",,,,,4,10,(read only)\n\
                      \"Lovelace, Ada\",11,u11,alice,Sec A,,9,90\n\
                      \"Hopper, Grace\",12,u12,grace,Sec B,,8,80\n";
        let out = export(&class(), Format::Canvas, Some((Path::new("roster.csv"), roster)), DEFAULT_ID_COLUMN).unwrap();
        assert_eq!(
            String::from_utf8(out.csv).unwrap(),
            "Student,ID,SIS User ID,SIS Login ID,Section,lab01 (101),lab05\n\
             Points Possible,,,,,4,7\n\
             \"Lovelace, Ada\",11,u11,alice,Sec A,3.5,7\n\
             \"Hopper, Grace\",12,u12,grace,Sec B,,\n"
        );
        assert_eq!(out.left_out.len(), 1);
        assert!(out.left_out[0].starts_with("bob: graded, but no student"), "{:?}", out.left_out);
        // Matched by another column.
        let by_sis = roster.replace(",u11,", ",bob,");
        let out = export(&class(), Format::Canvas, Some((Path::new("r.csv"), &by_sis)), "SIS User ID").unwrap();
        assert!(String::from_utf8(out.csv).unwrap().contains("\"Lovelace, Ada\",11,bob,alice,Sec A,2,\n"));
    }

    #[test]
    fn a_roster_that_is_not_canvas_export_is_refused_with_what_it_lacks() {
        let err = export(&class(), Format::Canvas, Some((Path::new("r.csv"), "name,score\na,1\n")), DEFAULT_ID_COLUMN)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no column \"Student\"") && err.contains("Grades → Export"), "{err}");
        let roster = "Student,ID,SIS User ID,SIS Login ID,Section\nA,1,u1,a,S\n";
        let err = export(&class(), Format::Canvas, Some((Path::new("r.csv"), roster)), "Email").unwrap_err();
        assert!(err.to_string().contains("no column \"Email\""), "{err}");
        assert!("moodle".parse::<Format>().is_err());
    }

    #[test]
    fn nbgrader_format_is_the_gradebook_csv() {
        let out = export(&class(), Format::Nbgrader, None, DEFAULT_ID_COLUMN).unwrap();
        let text = String::from_utf8(out.csv).unwrap();
        assert!(text.starts_with("assignment,duedate,timestamp,student_id,"), "{text}");
        assert!(text.contains("lab01,,,bob,,,,2.0,0.0,2.0,4.0\n"), "{text}");
    }
}
