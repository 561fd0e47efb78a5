//! Grading a class: nbgrader's layout, nbgrader's scoring rules, a fresh sandboxed Rust kernel per submission.
//!
//! [`grade`] reads `SUBMITTED/<student>/<assignment>/*.ipynb` (nbgrader's `submitted/` layout, with an optional
//! `timestamp.txt` beside the notebooks). Each notebook is matched with its source, `SOURCE/<assignment>/<name>` or
//! else `SOURCE/<name>`, put back together with it ([`compose`](fn@compose)) and run in its own sandbox ([`sandbox`]).
//! A graded code cell scores its points when it ran with no error output (nbgrader's rule) and its hidden tests
//! recorded, for every case, the value the source notebook's own code recorded ([`results`]: the verdict is the
//! grader's, never a line the student's kernel prints); otherwise 0. A graded markdown cell (a written answer) is kept
//! for hand grading ([`hand`]): 0 until the instructor's scores are imported. Symbolic links in `SUBMITTED` are not
//! followed.
//!
//! Output, in `OUT`: `gradebook.csv` (the columns of `nbgrader export`), `gradebook.json`, one result per
//! submission in `results/<student>/<assignment>.json`, feedback in `feedback/<student>/<assignment>/<notebook>.md`
//! and `.html`, for the instructor the executed notebooks and the kernels' logs in `instructor/<student>/<assignment>/`
//! (`executed/`, `logs/`), the written answers to grade by hand in `hand-grading/<assignment>.html` (and `.csv`);
//! grading's own working files in `.biaslab/`. OUT is biaslab's: a folder that holds files
//! biaslab did not write is refused unless `force`. Every file is written whole or not at all; a run that is stopped
//! and started again reuses each finished result (the result records a digest of the source, the submission, the
//! limits and the crate the kernel compiles ([`Sandbox::crate_digest`]), so a changed one is graded again).

pub mod compose;
pub mod export;
pub mod feedback;
pub mod hand;
pub mod results;
pub mod sandbox;
pub mod shard;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use compose::{compose, Composed, GradedCell};
pub use results::{Compare, Recorded};
pub use sandbox::{KernelDirs, Limits, RunOutcome, Sandbox};
pub use shard::{merge, Merged, Shard};

use crate::course::notebook;
use crate::data::output::OutputDir;
use crate::error::{Error, Result};

/// One student's submission of one assignment.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The student's id (their folder's name).
    pub student: String,
    /// The assignment (the folder's name under the student).
    pub assignment: String,
    /// The submitted notebooks with their source notebooks; a source the student did not submit has `None`.
    pub notebooks: Vec<(Option<PathBuf>, PathBuf)>,
    /// nbgrader's `timestamp.txt`, if there is one.
    pub timestamp: Option<String>,
    /// The submission's folder, `SUBMITTED/<student>/<assignment>`.
    pub folder: PathBuf,
}

/// The score of one graded cell.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CellScore {
    /// The cell's `grade_id`.
    pub grade_id: String,
    /// Points it is worth.
    pub points: f64,
    /// Points it scored.
    pub score: f64,
    /// Why: `passed`, or what went wrong.
    pub status: String,
    /// What the cell printed and showed (its checks and their hints), for the student.
    pub output: String,
    /// Whether it is a written answer, graded by hand ([`hand`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub manual: bool,
    /// A written answer's text, `None` when nothing was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// The instructor's comment on a written answer graded by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// The score of one notebook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotebookScore {
    /// The notebook's file name.
    pub notebook: String,
    /// Points scored.
    pub score: f64,
    /// Points possible.
    pub max_score: f64,
    /// Each graded cell.
    pub cells: Vec<CellScore>,
    /// What was restored, removed or missing in the student's notebook.
    pub notes: Vec<String>,
    /// Seconds the run took.
    pub seconds: f64,
}

impl NotebookScore {
    /// Sets the notebook's score and points from its cells'.
    pub(crate) fn total(&mut self) {
        self.score = self.cells.iter().map(|c| c.score).sum();
        self.max_score = self.cells.iter().map(|c| c.points).sum();
    }
}

/// The result of one submission, as written to `results/<student>/<assignment>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubmissionResult {
    /// The student's id.
    pub student: String,
    /// The assignment.
    pub assignment: String,
    /// nbgrader's submission timestamp, if there was one.
    pub timestamp: Option<String>,
    /// Points scored over all notebooks.
    pub score: f64,
    /// Points possible.
    pub max_score: f64,
    /// Each notebook.
    pub notebooks: Vec<NotebookScore>,
    /// Digest of what was graded (sources, submission, limits): a result is reused only for the same digest.
    pub digest: String,
}

/// Options of [`grade`].
#[derive(Debug, Clone)]
pub struct GradeOptions {
    /// nbgrader's `submitted/` folder.
    pub submitted: PathBuf,
    /// The source notebooks (`solutions/`).
    pub source: PathBuf,
    /// Where the gradebook, results and feedback go.
    pub out: PathBuf,
    /// The `biaslab` crate the notebooks depend on.
    pub crate_dir: PathBuf,
    /// Submissions graded at once.
    pub jobs: usize,
    /// Limits per submission.
    pub limits: Limits,
    /// Write into an `out` folder biaslab did not make, or one inside `submitted` or `source`
    /// ([`crate::data::output::OutputDir`]).
    pub force: bool,
    /// Scores of the written answers, graded by hand ([`hand`]: a CSV of `hand::COLUMNS`).
    pub hand_scores: Option<PathBuf>,
    /// Grade only this shard of the class ([`shard`]); `None` grades everyone.
    pub shard: Option<Shard>,
}

/// What [`grade`] did.
#[derive(Debug, Clone)]
pub struct Gradebook {
    /// Every submission's result, by assignment then student.
    pub results: Vec<SubmissionResult>,
    /// How many were graded in this run.
    pub graded: usize,
    /// How many finished results of an earlier run were reused.
    pub reused: usize,
    /// Submission folders that were not graded, and why.
    pub skipped: Vec<String>,
    /// Hand scores imported.
    pub hand_scored: usize,
    /// Files of the grading output left as they were, and why (a hand-grading table edited since it was written).
    pub kept: Vec<String>,
    /// Working folders of the runs that could not be removed, and why (each is the grader's to remove by hand).
    pub leftover: Vec<String>,
}

/// Where each run works, in the grading output: removed after the run, and anything left is removed, or reported
/// ([`Gradebook::leftover`]), when grading ends.
const RUNS: &str = ".biaslab/runs";

/// Set (to anything) to keep every run's folder in `.biaslab/runs` for debugging.
const KEEP_RUNS: &str = crate::env::GRADE_KEEP_RUNS;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io { path, source }
}

fn layout_error(path: &Path, reason: impl Into<String>) -> Error {
    Error::Submission { path: path.to_path_buf(), reason: reason.into() }
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir).map_err(io(dir))?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    Ok(entries)
}

/// Whether `path` is a symbolic link (a submission's links are never followed: one could point at the solutions).
fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

fn is_notebook(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "ipynb") && (is_link(path) || path.is_file())
}

/// A folder of `SUBMITTED`: a real folder, not a link.
fn is_folder(path: &Path) -> bool {
    !is_link(path) && path.is_dir()
}

/// Finds every submission in nbgrader's layout and the source notebook of each submitted notebook. A folder
/// with no notebook that has a source (a misnamed file, say), a folder that is a symbolic link and a folder that
/// cannot be read are skipped, and said so in the second list, so that one student's mistake does not stop the
/// class. A submitted notebook that is a symbolic link is kept, to be graded as not submitted (and said so).
pub fn find_submissions(submitted: &Path, source: &Path) -> Result<(Vec<Submission>, Vec<String>)> {
    if !source.is_dir() {
        return Err(layout_error(
            source,
            "the source folder does not exist: pass the folder of source notebooks with --source (default: solutions)",
        ));
    }
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    let readable = |dir: &Path, skipped: &mut Vec<String>| -> Vec<PathBuf> {
        let entries: Vec<PathBuf> = match sorted_entries(dir) {
            Ok(entries) => entries,
            Err(err) => {
                skipped.push(format!("{}: {err}", dir.display()));
                return Vec::new();
            }
        };
        let (folders, links): (Vec<PathBuf>, Vec<PathBuf>) =
            entries.into_iter().filter(|p| p.is_dir()).partition(|p| is_folder(p));
        skipped.extend(links.iter().map(|l| format!("{}: a symbolic link, not followed", l.display())));
        folders
    };
    for student_dir in readable(submitted, &mut skipped) {
        let student = student_dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
        for assignment_dir in readable(&student_dir, &mut skipped) {
            let assignment = assignment_dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
            let per_assignment = source.join(&assignment);
            let source_dir = if per_assignment.is_dir() { per_assignment } else { source.to_path_buf() };
            let mut notebooks = Vec::new();
            let files = match sorted_entries(&assignment_dir) {
                Ok(files) => files,
                Err(err) => {
                    skipped.push(format!("{}: {err}", assignment_dir.display()));
                    continue;
                }
            };
            for submitted_nb in files.into_iter().filter(|p| is_notebook(p)) {
                let source_nb = source_dir.join(submitted_nb.file_name().unwrap_or_default());
                if source_nb.is_file() {
                    notebooks.push((Some(submitted_nb), source_nb));
                }
            }
            if source_dir != source {
                for source_nb in sorted_entries(&source_dir)?.into_iter().filter(|p| is_notebook(p)) {
                    if !notebooks.iter().any(|(_, s)| s == &source_nb) {
                        notebooks.push((None, source_nb));
                    }
                }
            }
            if notebooks.is_empty() {
                skipped.push(format!(
                    "{}: no notebook here has a source notebook of the same name in {}",
                    assignment_dir.display(),
                    source_dir.display()
                ));
                continue;
            }
            let stamp = assignment_dir.join("timestamp.txt");
            let timestamp = Some(stamp)
                .filter(|path| !is_link(path))
                .and_then(|path| std::fs::read_to_string(path).ok())
                .map(|t| t.trim().chars().take(100).collect());
            found.push(Submission {
                student: student.clone(),
                assignment,
                notebooks,
                timestamp,
                folder: assignment_dir,
            });
        }
    }
    if found.is_empty() {
        return Err(layout_error(
            submitted,
            "no submissions: expected SUBMITTED/<student>/<assignment>/<notebook>.ipynb; pass nbgrader's submitted/ \
             folder, or lay the notebooks out so",
        ));
    }
    Ok((found, skipped))
}

/// Writes `bytes` to `path` whole or not at all (a temporary file beside it, then a rename).
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let partial = path.with_extension(format!("{}.partial", path.extension().and_then(|e| e.to_str()).unwrap_or("")));
    std::fs::write(&partial, bytes).map_err(io(&partial))?;
    std::fs::rename(&partial, path).map_err(io(path))
}

/// Removes the folder `path` and everything in it; one that is not there is already removed. A student's code may
/// leave folders it made unwritable (mode 0), which an ordinary user cannot empty: those are made the grader's to
/// write again (never following a link) and the removal tried once more.
///
/// A folder that something still writes into ("not empty" after its entries were removed) is tried again for up to
/// 10 s: the kernel of a grading that was killed (a stopped shard, resumed at once) dies a moment after its grader,
/// and a compiler it ran may write a last file meanwhile.
pub(crate) fn remove_tree(path: &Path) -> Result<()> {
    let mut tries = 0;
    loop {
        match remove_tree_once(path) {
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::DirectoryNotEmpty && tries < 50 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            done => return done,
        }
    }
}

fn remove_tree_once(path: &Path) -> Result<()> {
    match std::fs::remove_dir_all(path) {
        Err(err) if err.kind() == std::io::ErrorKind::PermissionDenied => {
            make_writable(path);
            match std::fs::remove_dir_all(path) {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(io(path)(err)),
                _ => Ok(()),
            }
        }
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(io(path)(err)),
        _ => Ok(()),
    }
}

/// Gives the owner full access to `path` and every folder below it (links are left alone), as far as it can.
fn make_writable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else { return };
    if meta.is_dir() {
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(meta.permissions().mode() | 0o700));
        for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
            make_writable(&entry.path());
        }
    }
}

/// The text a cell showed: its streams and the plain text of its results, without completion marks.
fn cell_output(cell: &Value, hidden: &[String]) -> String {
    let mut text = String::new();
    for output in cell.get("outputs").and_then(Value::as_array).into_iter().flatten() {
        let part = match output.get("output_type").and_then(Value::as_str) {
            Some("stream") => output.get("text").map(notebook::multiline).unwrap_or_default(),
            Some("execute_result" | "display_data") => {
                let text = |mime: &str| output.pointer(&format!("/data/{mime}")).map(notebook::multiline);
                text("text~1plain").or_else(|| text("text~1html").map(|html| html_to_text(&html))).unwrap_or_default()
            }
            Some("error") => format!(
                "{}: {}",
                output.get("ename").and_then(Value::as_str).unwrap_or("error"),
                output.get("evalue").and_then(Value::as_str).unwrap_or("")
            ),
            _ => String::new(),
        };
        text.push_str(&part);
        if !text.ends_with('\n') {
            text.push('\n');
        }
    }
    // Neither the recorded results, nor the kernel's backtraces (frames of the grading code), nor a line quoting the
    // hidden tests (a compile error shows the code it points at) are for the student.
    let quotes_hidden = |l: &&str| hidden.iter().any(|h| l.contains(h.as_str()));
    let backtrace = |l: &&str| {
        let t = l.trim_start();
        *l == "stack backtrace:"
            || t.starts_with("at /")
            || t.starts_with("note: Some details are omitted")
            || t.split_once(": ").is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    };
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with(crate::teach::check::RESULT_PREFIX) && !backtrace(l) && !quotes_hidden(l))
        .collect();
    let mut out = kept.join("\n");
    const MAX: usize = 6000;
    if out.len() > MAX {
        let mut cut = MAX;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str("\n… (cut)");
    }
    out
}

/// The text of an HTML fragment: tags dropped, a line break after each block, entities decoded.
fn html_to_text(html: &str) -> String {
    let mut text = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else { break };
        let tag = rest[open + 1..open + close].to_ascii_lowercase();
        let name = tag.trim_start_matches('/').split(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or("");
        if matches!(name, "br" | "p" | "li" | "tr" | "div" | "h1" | "h2" | "h3" | "h4" | "caption" | "ul" | "table") {
            if !text.ends_with('\n') {
                text.push('\n');
            }
        } else if matches!(name, "td" | "th") && tag.starts_with('/') {
            text.push_str("  ");
        }
        rest = &rest[open + close + 1..];
    }
    text.push_str(rest);
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    text.lines().map(str::trim_end).filter(|l| !l.trim().is_empty()).collect::<Vec<_>>().join("\n")
}

/// What the source notebook's own code recorded in one graded code cell, and how a submission's results are
/// compared with it: the grader's expected values. They are kept in the grading output's private folder
/// (`.biaslab/expected/`), which no sandbox mounts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectedCell {
    /// The cell's comparison rule.
    pub compare: Compare,
    /// What the source's code recorded, case by case.
    pub results: Vec<Recorded>,
}

/// The expected values of every graded code cell of one source notebook, by `grade_id`.
pub type Expected = BTreeMap<String, ExpectedCell>;

/// A check named by a comparison rule ([`Compare::validate`]), run here in the grader on one recorded value.
pub(crate) type Validate<'a> = &'a dyn Fn(&str, &Value) -> std::result::Result<(), String>;

/// Scores the graded cells of an executed notebook (nbgrader's rule, then its recorded results against
/// `expected`); `executed` is `None` when the run left no notebook (stopped at its time limit), with `why` saying
/// so.
pub(crate) fn score_cells(
    composed: &Composed,
    executed: Option<&Value>,
    why: &str,
    expected: &Expected,
    validate: Validate,
) -> Vec<CellScore> {
    // Where each expected case belongs, and the cells to fail because the kernel's output got out of step.
    let mut homes = results::Homes::new();
    for graded in composed.graded.iter().filter(|g| g.code) {
        for result in expected.get(&graded.grade_id).map_or(&[][..], |want| &want.results) {
            homes.entry(result.name.clone()).or_default().push((graded.grade_id.clone(), graded.index));
        }
    }
    let misplaced = executed.map(|nb| results::out_of_step(nb, &homes)).unwrap_or_default();
    composed
        .graded
        .iter()
        .map(|graded| {
            let mut score = CellScore { grade_id: graded.grade_id.clone(), points: graded.points, ..CellScore::default() };
            if !graded.code {
                // The student's text, as composed (the released stub when the cell was missing).
                score.manual = true;
                score.answer = composed.notebook.pointer(&format!("/cells/{}", graded.index)).and_then(hand::answer_of);
                score.status = if score.answer.is_some() { hand::TO_BE_GRADED } else { hand::NOT_ANSWERED }.into();
                return score;
            }
            let Some(cell) = executed.and_then(|nb| nb.pointer(&format!("/cells/{}", graded.index))) else {
                score.status = why.to_string();
                return score;
            };
            score.output = cell_output(cell, &graded.hidden);
            if let Some(dropped) = cell.pointer("/metadata/biaslab/dropped_output").and_then(Value::as_u64) {
                score.output.push_str(&format!(
                    "\n[{dropped} bytes of this cell's output were dropped: a graded run keeps the first {} MiB of each cell's \
                     output, and the tests' results after it]",
                    sandbox::CELL_OUTPUT_LIMIT >> 20
                ));
            }
            let status = cell.pointer("/metadata/biaslab/status").and_then(Value::as_str).unwrap_or("not run");
            let outputs = cell.get("outputs").and_then(Value::as_array).cloned().unwrap_or_default();
            let error = outputs.iter().find(|o| o.get("output_type").and_then(Value::as_str) == Some("error"));
            let verdict = match expected.get(&graded.grade_id) {
                Some(want) => results::judge(&want.results, &results::recorded(cell), &want.compare, validate),
                None => Err("the grader has no expected results for this cell".to_string()),
            };
            score.status = if status == "timeout" {
                "ran out of time".into()
            } else if status != "ok" {
                status.to_string()
            } else if let Some(error) = error {
                let value = error.get("evalue").and_then(Value::as_str).unwrap_or("");
                let first: Vec<&str> = value.lines().take(3).collect();
                format!("failed: {}", first.join(" "))
            } else if misplaced.contains(&graded.grade_id) {
                "failed: a result of these tests was printed in another cell (the kernel's output got out of step \
                 with its cells, as when code prints evcxr's end-of-cell line)"
                    .into()
            } else if let Err(why) = verdict {
                format!("failed: {why}")
            } else {
                score.score = graded.points;
                "passed".into()
            };
            score
        })
        .collect()
}

fn digest(submission: &Submission, limits: &Limits, crate_digest: &str) -> String {
    let mut sha = Sha256::new();
    sha.update(crate_digest.as_bytes());
    sha.update(format!("{limits:?}").as_bytes());
    for (submitted, source) in &submission.notebooks {
        sha.update(std::fs::read(source).unwrap_or_default());
        sha.update(submitted.as_ref().filter(|p| !is_link(p)).and_then(|p| std::fs::read(p).ok()).unwrap_or_default());
        sha.update([0xff]);
    }
    sha.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Copies the folder `from` to `to` with its files' modification times (cargo decides from them whether a
/// compiled crate is up to date) and its symbolic links as links, leaving out the entries `skip` names. Files
/// `link` names are hard links to the originals where the file system allows it (else copies).
fn copy_dir(
    from: &Path,
    to: &Path,
    skip: &dyn Fn(&std::ffi::OsStr) -> bool,
    link: &dyn Fn(&std::ffi::OsStr) -> bool,
) -> Result<()> {
    std::fs::create_dir_all(to).map_err(io(to))?;
    for entry in std::fs::read_dir(from).map_err(io(from))? {
        let entry = entry.map_err(io(from))?;
        if skip(&entry.file_name()) {
            continue;
        }
        let path = entry.path();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().map_err(io(&path))?;
        if kind.is_dir() {
            copy_dir(&path, &target, skip, link)?;
        } else if kind.is_file() && link(&entry.file_name()) && std::fs::hard_link(&path, &target).is_ok() {
            continue;
        } else if kind.is_file() {
            std::fs::copy(&path, &target).map_err(io(&path))?;
            let modified = entry.metadata().and_then(|m| m.modified()).map_err(io(&path))?;
            let file = std::fs::OpenOptions::new().write(true).open(&target).map_err(io(&target))?;
            file.set_modified(modified).map_err(io(&target))?;
        } else if kind.is_symlink() {
            let link = std::fs::read_link(&path).map_err(io(&path))?;
            std::os::unix::fs::symlink(link, &target).map_err(io(&target))?;
        }
    }
    Ok(())
}

/// A shared lock on the notebooks' prepared build (the lock `lab/kernel.py` takes: shared while a kernel copies the
/// build, exclusive while `lab/setup.sh` prepares it again), held until the returned file is dropped. Without the
/// lock file (no build prepared by `lab/kernel.py`) nothing is locked.
fn lock_prepared_build(path: &Path) -> Option<std::fs::File> {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(path).ok()?;
    // SAFETY: flock on a descriptor the returned file owns; closing it releases the lock.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH) };
    Some(file)
}

/// Whether a file of evcxr's build folder is a compiled crate that a run's copy may share with the warm build
/// ([`Sandbox::shares_compiled_crates`]): rustc and the linker write a new file and rename it over an old one, never
/// into it (as `lab/kernel.py` relies on for the notebooks' kernels); never evcxr's own crate (`libctx*`) or cells.
fn is_compiled_crate(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    let evcxr_own = name.starts_with("libctx") || name.starts_with("libcode_");
    !evcxr_own && [".rlib", ".rmeta", ".so"].iter().any(|suffix| name.ends_with(suffix))
}

/// Private copies of `dirs` in `run_dir`, for one untrusted run. The build folder is copied without the compiled
/// cells of the run that made it (`libcode_*`: the solutions' cells, after the warm-up); with `share`, its compiled
/// crates are hard links to the originals (read-only to the kernel: [`Sandbox::shares_compiled_crates`]).
fn private_copies(dirs: &KernelDirs, run_dir: &Path, share: bool) -> Result<KernelDirs> {
    let copies = KernelDirs { cache: run_dir.join("cache"), build: run_dir.join("build") };
    let skip = |name: &std::ffi::OsStr| name.to_string_lossy().starts_with("libcode_");
    let link = |name: &std::ffi::OsStr| share && is_compiled_crate(name);
    for (from, to) in [(&dirs.cache, &copies.cache), (&dirs.build, &copies.build)] {
        remove_tree(to)?;
        if from.is_dir() {
            copy_dir(from, to, &skip, &link)?;
        }
    }
    Ok(copies)
}

/// Runs a composed notebook in the sandbox, in private copies of `dirs` (thrown away after), and keeps the executed
/// notebook and the kernel's log in `keep`: the executed notebook, if the run left one, and the run's outcome.
fn run_composed(
    sandbox: &Sandbox,
    composed: &Composed,
    name: &str,
    run_dir: &Path,
    dirs: &KernelDirs,
    keep: &Path,
) -> Result<(Option<Value>, RunOutcome)> {
    let composed_path = run_dir.join(name);
    let executed_path = run_dir.join(format!("executed-{name}"));
    std::fs::create_dir_all(run_dir).map_err(io(run_dir))?;
    std::fs::write(&composed_path, notebook::to_json(&composed.notebook)).map_err(io(&composed_path))?;
    let run_dirs = private_copies(dirs, run_dir, sandbox.shares_compiled_crates())?;
    let outcome = sandbox.run(&composed_path, &executed_path, run_dir, &run_dirs);
    // After a run, removing is best effort: what is left is removed, or reported, when grading ends (RUNS).
    let _ = remove_tree(&run_dirs.cache);
    let _ = remove_tree(&run_dirs.build);
    let outcome = outcome?;
    let executed = notebook::read(&executed_path).ok();
    let log = run_dir.join("kernel.log");
    for (dir, file, from) in
        [(keep.join("executed"), name.to_string(), &executed_path), (keep.join("logs"), format!("{name}.log"), &log)]
    {
        if let Ok(bytes) = std::fs::read(from) {
            write_atomically(&dir.join(file), &bytes)?;
        }
    }
    Ok((executed, outcome))
}

/// Grades one notebook: compose, run in the sandbox (in private copies of `dirs`), score against
/// `expected`.
#[allow(clippy::too_many_arguments)]
fn grade_notebook(
    sandbox: &Sandbox,
    source_path: &Path,
    submitted: Option<&Path>,
    run_dir: &Path,
    dirs: &KernelDirs,
    keep: &Path,
    expected: &Expected,
    validate: Validate,
) -> Result<NotebookScore> {
    let name = source_path.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let source_nb = notebook::read(source_path)?;
    let mut notes = Vec::new();
    let submission =
        match submitted.map(|path| if is_link(path) { Err(None) } else { notebook::read(path).map_err(Some) }) {
            Some(Ok(nb)) => nb,
            Some(Err(None)) => {
                notes.push(
                    "Your notebook is a symbolic link, which is not followed; it was graded as not submitted.".into(),
                );
                notebook::release(&source_nb, &name)?
            }
            Some(Err(Some(err))) => {
                notes.push(format!("Your notebook could not be read ({err}); every cell was graded as not done."));
                notebook::release(&source_nb, &name)?
            }
            None => {
                notes.push("This notebook was not submitted; every cell was graded as not done.".into());
                notebook::release(&source_nb, &name)?
            }
        };
    let composed = compose(&source_nb, &submission);
    notes.extend(composed.notes.iter().cloned());
    let (executed, outcome) = run_composed(sandbox, &composed, &name, run_dir, dirs, keep)?;
    let why = if outcome.killed {
        format!(
            "not finished: the notebook ran past its time limit ({} s) and was stopped",
            sandbox.limits().time_limit.as_secs()
        )
    } else {
        "not run: the grading kernel stopped early".to_string()
    };
    if let Some(problem) =
        executed.as_ref().and_then(|nb| nb.pointer("/metadata/biaslab/problem")).and_then(Value::as_str)
    {
        notes.push(format!("The grading kernel reported a problem: {problem}"));
    }
    let cells = score_cells(&composed, executed.as_ref(), &why, expected, validate);
    let mut score =
        NotebookScore { notebook: name, score: 0.0, max_score: 0.0, cells, notes, seconds: outcome.seconds };
    score.total();
    Ok(score)
}

/// Runs the source notebook at `source_path` whole (its solutions, trusted) in private copies of `dirs`, and takes
/// what each graded code cell's hidden tests recorded as the expected values, with the cell's rule. An error says
/// which cell did not run cleanly, recorded nothing, recorded a case twice or a panic, or fails its own check.
fn record_expected(
    sandbox: &Sandbox,
    source_path: &Path,
    run_dir: &Path,
    dirs: &KernelDirs,
    keep: &Path,
    validate: Validate,
) -> Result<Expected> {
    let name = source_path.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let source_nb = notebook::read(source_path)?;
    let composed = compose(&source_nb, &source_nb);
    let (executed, outcome) = run_composed(sandbox, &composed, &name, run_dir, dirs, keep)?;
    let problem = |grade_id: &str, why: String| {
        Error::Sandbox(format!(
            "the source notebook {}, graded cell `{grade_id}`: {why}; see {}. Correct the source notebook, then grade \
             again",
            source_path.display(),
            keep.join("logs").display()
        ))
    };
    let mut expected = Expected::new();
    for graded in composed.graded.iter().filter(|g| g.code) {
        let id = &graded.grade_id;
        let source_cell = &source_nb["cells"][graded.source_index];
        let compare =
            Compare::of(source_cell).map_err(|why| problem(id, format!("its comparison rule is wrong: {why}")))?;
        let cell = executed.as_ref().and_then(|nb| nb.pointer(&format!("/cells/{}", graded.index)));
        let Some(cell) = cell else {
            let why = if outcome.killed { "the run ran past its time limit" } else { "the run stopped before it" };
            let longer = if outcome.killed {
                "; if the solutions need longer, raise --cell-timeout or --time-limit"
            } else {
                ""
            };
            return Err(problem(id, format!("it did not run ({why}; log: {}){longer}", outcome.log_tail)));
        };
        let status = cell.pointer("/metadata/biaslab/status").and_then(Value::as_str).unwrap_or("not run");
        let error =
            cell.get("outputs").and_then(Value::as_array).into_iter().flatten().find(|o| o["output_type"] == "error");
        if status != "ok" || error.is_some() {
            let what =
                error.map(|e| e["evalue"].as_str().unwrap_or("").to_string()).unwrap_or_else(|| status.to_string());
            return Err(problem(id, format!("it failed when the solutions ran ({what})")));
        }
        let results = results::recorded(cell);
        if results.is_empty() {
            return Err(problem(
                id,
                "its hidden tests record no results (call ::biaslab::check::record for each case; the grader \
                 decides from those, never from what the kernel prints)"
                    .into(),
            ));
        }
        // The solutions' own results must be a verdict the grader can stand by: each case once, none panicked,
        // each passing the cell's check if it names one, and the cell's visible check passed (a solution whose run
        // failed, say for want of its data, would otherwise make a failing answer the expected one).
        let judged = results::judge(&results, &results, &compare, validate);
        if let Err(why) = judged {
            return Err(problem(id, format!("its own results do not pass ({why})")));
        }
        if cell_output(cell, &graded.hidden).contains(crate::teach::check::FAILED_SUMMARY) {
            return Err(problem(
                id,
                "the solutions fail the cell's own check (its output shows a ✗): is every file the notebook reads \
                 reachable (BIASLAB_DATA_DIR, the model)?"
                    .into(),
            ));
        }
        expected.insert(id.clone(), ExpectedCell { compare, results });
    }
    Ok(expected)
}

fn result_path(out: &Path, student: &str, assignment: &str) -> PathBuf {
    out.join("results").join(student).join(format!("{assignment}.json"))
}

/// Grades one submission; `digest` is [`digest`] of it taken before grading started, so a file edited during
/// the run makes the next run grade it again. `hand_scores` are put on top ([`hand::apply`]).
#[allow(clippy::too_many_arguments)]
fn grade_submission(
    sandbox: &Sandbox,
    options: &GradeOptions,
    submission: &Submission,
    digest: String,
    dirs: &KernelDirs,
    expected: &HashMap<PathBuf, Expected>,
    validate: Validate,
    hand_scores: &[hand::HandScore],
) -> Result<SubmissionResult> {
    let run_dir = options.out.join(RUNS).join(format!("{}--{}", submission.student, submission.assignment));
    remove_tree(&run_dir)?;
    let keep = options.out.join("instructor").join(&submission.student).join(&submission.assignment);
    let mut notebooks = Vec::new();
    for (submitted, source) in &submission.notebooks {
        let want = expected
            .get(source)
            .ok_or_else(|| Error::Internal(format!("no expected results for {}", source.display())))?;
        notebooks.push(grade_notebook(sandbox, source, submitted.as_deref(), &run_dir, dirs, &keep, want, validate)?);
    }
    let _ = remove_tree(&run_dir);
    let mut result = SubmissionResult {
        student: submission.student.clone(),
        assignment: submission.assignment.clone(),
        timestamp: submission.timestamp.clone(),
        score: notebooks.iter().map(|n| n.score).sum(),
        max_score: notebooks.iter().map(|n| n.max_score).sum(),
        notebooks,
        digest,
    };
    hand::apply(&mut result, hand_scores);
    write_result(&options.out, &result)?;
    nbgrader_files(&submission.folder, &feedback_dir(&options.out, &result))?;
    Ok(result)
}

/// The files of nbgrader's that go with a submission's feedback: `nbgrader release_feedback` reads both from
/// `feedback/<student>/<assignment>/` (nbgrader's own `generate_feedback` copies them there from the submission).
const NBGRADER_FILES: [&str; 2] = ["timestamp.txt", "submission_secret.txt"];

/// Copies [`NBGRADER_FILES`] from `from` (a submission's folder, or a shard's feedback folder) into the feedback
/// folder `to`, those that are there (never a link).
fn nbgrader_files(from: &Path, to: &Path) -> Result<()> {
    for name in NBGRADER_FILES {
        let file = from.join(name);
        if std::fs::symlink_metadata(&file).is_ok_and(|m| m.is_file()) {
            let bytes = std::fs::read(&file).map_err(io(&file))?;
            write_atomically(&to.join(name), &bytes)?;
        }
    }
    Ok(())
}

/// The feedback folder of a result, `OUT/feedback/<student>/<assignment>`.
fn feedback_dir(out: &Path, result: &SubmissionResult) -> PathBuf {
    out.join("feedback").join(&result.student).join(&result.assignment)
}

/// Writes a result and its feedback (markdown and HTML, per notebook).
fn write_result(out: &Path, result: &SubmissionResult) -> Result<()> {
    let feedback_dir = feedback_dir(out, result);
    for nb in &result.notebooks {
        let stem = nb.notebook.trim_end_matches(".ipynb");
        write_atomically(&feedback_dir.join(format!("{stem}.md")), feedback::markdown(result, nb).as_bytes())?;
        write_atomically(&feedback_dir.join(format!("{stem}.html")), feedback::html(result, nb).as_bytes())?;
    }
    let json = serde_json::to_string_pretty(result).expect("a result serializes");
    write_atomically(&result_path(out, &result.student, &result.assignment), json.as_bytes())
}

/// Makes the build folder every submission gets a copy of. It starts as a copy of the notebooks' prepared build
/// ([`sandbox::PREPARED_BUILD`], made by `lab/setup.sh`) when there is one, so that neither the warm-up nor a
/// submission compiles `biaslab` or its dependencies; cargo still decides what is up to date. Only the notebooks'
/// first code cell runs in it (no solution or hidden test, as source or compiled, is ever in a submission's copy).
///
/// The compiled-crate cache starts empty, never from the user's evcxr cache: evcxr's cache hands back a crate's
/// dep-info as it was first written, naming build-script outputs in the build folder that first compiled it,
/// which a sandbox does not have; cargo would then compile those crates again in every submission.
fn warm_up(
    sandbox: &Sandbox,
    options: &GradeOptions,
    sources: &[PathBuf],
    dirs: &KernelDirs,
    crate_digest: &str,
) -> Result<()> {
    let cache = &dirs.cache;
    // The marker names the crate it was warmed for: after biaslab or the toolchain changed, the build is made again
    // here once, not compiled again in every submission's copy.
    let ready = cache.join(".biaslab-ready");
    let marker = format!("warmed by the source notebooks' first cells for {crate_digest}\n");
    if std::fs::read_to_string(&ready).is_ok_and(|text| text == marker) {
        return Ok(());
    }
    remove_tree(cache)?;
    std::fs::create_dir_all(cache).map_err(io(cache))?;
    let prepared = sandbox.build_mount();
    remove_tree(&dirs.build)?;
    if prepared.join("target").is_dir() {
        let _lock = lock_prepared_build(&prepared.with_file_name("lock"));
        // Copied, never linked: the kernel's user is given the warm build, and must not be given the prepared one.
        copy_dir(&prepared, &dirs.build, &|name| name == "incremental", &|_| false)?;
    }
    let sandbox = &trusted(sandbox);
    let run_dir = options.out.join(RUNS).join("warm-up");
    // Only the first code cell of each source notebook (`:dep biaslab …`): it brings the build up to date (biaslab
    // is compiled again if it changed since the set-up).
    let mut first_cells = Vec::new();
    for source in sources {
        let mut only_first = notebook::read(source)?;
        let first =
            only_first["cells"].as_array().and_then(|cells| cells.iter().find(|c| c["cell_type"] == "code")).cloned();
        let Some(first) = first.filter(|cell| !first_cells.contains(&notebook::source(cell))) else { continue };
        first_cells.push(notebook::source(&first));
        only_first["cells"] = Value::Array(vec![first]);
        std::fs::create_dir_all(&run_dir).map_err(io(&run_dir))?;
        let path = run_dir.join("first-cell.ipynb");
        std::fs::write(&path, notebook::to_json(&only_first)).map_err(io(&path))?;
        sandbox.run(&path, &run_dir.join("executed-first-cell.ipynb"), &run_dir, dirs)?;
        if !crate::env::is_set(KEEP_RUNS) {
            let _ = remove_tree(&run_dir);
        }
    }
    write_atomically(&ready, marker.as_bytes())
}

/// The sandbox for the instructor's own code (trusted; its first run may compile every dependency): an hour.
fn trusted(sandbox: &Sandbox) -> Sandbox {
    let mut trusted = sandbox.clone();
    trusted.limits.cell_timeout = trusted.limits.cell_timeout.max(std::time::Duration::from_secs(3600));
    trusted.limits.time_limit = trusted.limits.time_limit.max(std::time::Duration::from_secs(3600));
    trusted
}

/// The expected values of `source` ([`record_expected`]), kept in `.biaslab/expected/` of the grading output under
/// a digest of the source notebook and of the crate ([`Sandbox::crate_digest`]), and recorded again when one changes.
fn expected_for(
    sandbox: &Sandbox,
    options: &GradeOptions,
    source: &Path,
    dirs: &KernelDirs,
    validate: Validate,
    crate_digest: &str,
) -> Result<Expected> {
    let mut sha = Sha256::new();
    sha.update(crate_digest.as_bytes());
    sha.update(std::fs::read(source).map_err(io(source))?);
    let digest: String = sha.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let path = options.out.join(".biaslab/expected").join(format!("{digest}.json"));
    if let Some(expected) = std::fs::read_to_string(&path).ok().and_then(|text| serde_json::from_str(&text).ok()) {
        return Ok(expected);
    }
    let run_dir = options.out.join(RUNS).join("warm-up");
    let keep = options.out.join("instructor/.warm-up");
    let expected = record_expected(&trusted(sandbox), source, &run_dir, dirs, &keep, validate)?;
    if !crate::env::is_set(KEEP_RUNS) {
        let _ = remove_tree(&run_dir);
    }
    write_atomically(&path, serde_json::to_string_pretty(&expected).expect("JSON").as_bytes())?;
    Ok(expected)
}

/// The checks comparison rules can name ([`Compare::validate`]), run in the grader. The model they need (the one
/// the notebooks use, as `BIASLAB_MODEL` says) is loaded once, when a check first needs it.
fn validator() -> impl Fn(&str, &Value) -> std::result::Result<(), String> + Sync {
    let model = std::sync::OnceLock::new();
    move |name: &str, value: &Value| match name {
        "lab02::probe" => {
            let model =
                model.get_or_init(|| crate::model::fill_mask::FillMask::from_env().map_err(|err| err.to_string()));
            let model =
                model.as_ref().map_err(|err| format!("the grader could not load the model to check it: {err}"))?;
            crate::teach::lab02::validate_probe(value, model)
        }
        other => Err(format!("the grader has no check named {other:?}")),
    }
}

/// Grades every submission (see the module documentation) and writes the gradebook. `progress` is told each
/// finished submission.
pub fn grade(options: &GradeOptions, progress: Progress) -> Result<Gradebook> {
    let (mut submissions, skipped) = find_submissions(&options.submitted, &options.source)?;
    let mut inputs = vec![options.submitted.as_path(), options.source.as_path()];
    inputs.extend(options.hand_scores.as_deref());
    let mut out = OutputDir::open(&options.out, &inputs, options.force)?;
    out.check(&GRADEBOOK.map(String::from))?;
    // The written questions of each assignment, and the hand scores, every row checked before any slow work. Both
    // of the whole class, so that every shard checks (and records) the same.
    let questions = written_questions(&submissions)?;
    let hand_scores = match &options.hand_scores {
        Some(path) => {
            let scores = hand::read(path)?;
            let submitted = submissions.iter().map(|s| (s.student.clone(), s.assignment.clone())).collect();
            hand::check(&scores, path, &submitted, &questions)?;
            scores
        }
        None => Vec::new(),
    };
    let mut sources: Vec<PathBuf> =
        submissions.iter().flat_map(|s| s.notebooks.iter().map(|(_, src)| src.clone())).collect();
    sources.sort();
    sources.dedup();
    if let Some(shard) = &options.shard {
        submissions.retain(|s| shard.holds(&s.student));
    }
    out.claim()?;
    // Unfinished until the end: a run stopped half-way leaves no record, so its shard cannot be merged.
    let record = options.out.join(shard::RECORD);
    if std::fs::symlink_metadata(&record).is_ok() {
        std::fs::remove_file(&record).map_err(io(&record))?;
    }
    let sandbox = Sandbox::detect(&options.crate_dir, options.limits.clone())?;
    let crate_digest = sandbox.crate_digest()?;
    let graded_against = shard::GradedAgainst::new(&options.source, &sources, &options.limits, &crate_digest)?;

    let (mut results, todo) = reuse_graded(options, submissions, &crate_digest, &hand_scores, progress)?;
    let (reused, graded) = (results.len(), todo.len());
    if !todo.is_empty() {
        // Only the sources this run's submissions use are run for their expected answers.
        let mut used: Vec<PathBuf> =
            todo.iter().flat_map(|(s, _)| s.notebooks.iter().map(|(_, src)| src.clone())).collect();
        used.sort();
        used.dedup();
        results.extend(grade_all(&sandbox, options, todo, &used, &crate_digest, &hand_scores, progress)?);
    }
    results.sort_by(|a, b| (&a.assignment, &a.student).cmp(&(&b.assignment, &b.student)));
    let kept = write_hand_grading(&mut out, &questions, &results)?;
    let mut leftover = Vec::new();
    if !crate::env::is_set(KEEP_RUNS) {
        if let Err(err) = remove_tree(&options.out.join(RUNS)) {
            leftover.push(format!("{err}: a run's working folder could not be removed; remove it by hand"));
        }
    }
    let book = Gradebook { results, graded, reused, skipped, hand_scored: hand_scores.len(), kept, leftover };
    write_gradebook(&options.out, &book, options.shard)?;
    for name in GRADEBOOK {
        out.record(name)?;
    }
    shard::RunRecord { shard: options.shard, graded_against, questions }.write(&options.out)?;
    Ok(book)
}

/// Submissions still to grade, each with its digest.
type ToGrade = VecDeque<(Submission, String)>;

/// What [`grade`] calls after each submission: its result, and whether it was reused (not graded again).
pub type Progress<'a> = &'a (dyn Fn(&SubmissionResult, bool) + Sync);

/// The written questions of each assignment, from its source notebooks (each read once).
fn written_questions(submissions: &[Submission]) -> Result<BTreeMap<String, Vec<hand::WrittenQuestion>>> {
    let mut questions: BTreeMap<String, Vec<hand::WrittenQuestion>> = BTreeMap::new();
    let mut read = std::collections::HashSet::new();
    for submission in submissions {
        for (_, source) in &submission.notebooks {
            // Each source notebook once per assignment, not once per submission.
            if read.insert((&submission.assignment, source)) {
                let name = source.file_name().unwrap_or_default().to_string_lossy();
                let found = hand::questions(&notebook::read(source)?, &name);
                questions.entry(submission.assignment.clone()).or_default().extend(found);
            }
        }
    }
    Ok(questions)
}

/// The results kept in `options.out` of submissions that have not changed since (same digest), with the hand
/// scores applied, and the submissions left to grade, each with its digest.
fn reuse_graded(
    options: &GradeOptions,
    submissions: Vec<Submission>,
    crate_digest: &str,
    hand_scores: &[hand::HandScore],
    progress: Progress,
) -> Result<(Vec<SubmissionResult>, ToGrade)> {
    let mut todo = VecDeque::new();
    let mut results = Vec::new();
    for submission in submissions {
        let digest = digest(&submission, &options.limits, crate_digest);
        let previous = std::fs::read_to_string(result_path(&options.out, &submission.student, &submission.assignment))
            .ok()
            .and_then(|text| serde_json::from_str::<SubmissionResult>(&text).ok())
            .filter(|r| r.digest == digest);
        match previous {
            Some(mut result) => {
                // Hand scores go on top of every result, graded now or reused (a digest never depends on them).
                let before = result.clone();
                hand::apply(&mut result, hand_scores);
                if result != before {
                    write_result(&options.out, &result)?;
                }
                nbgrader_files(&submission.folder, &feedback_dir(&options.out, &result))?;
                progress(&result, true);
                results.push(result);
            }
            None => todo.push_back((submission, digest)),
        }
    }
    Ok((results, todo))
}

/// Grades the submissions of `todo`, `options.jobs` at a time: the kernels' warm build first, then each source
/// notebook's expected answers, then the submissions. The first error stops the grading.
fn grade_all(
    sandbox: &Sandbox,
    options: &GradeOptions,
    todo: ToGrade,
    sources: &[PathBuf],
    crate_digest: &str,
    hand_scores: &[hand::HandScore],
    progress: Progress,
) -> Result<Vec<SubmissionResult>> {
    let validate = validator();
    let dirs =
        KernelDirs { cache: options.out.join(".biaslab/evcxr-cache"), build: options.out.join(".biaslab/evcxr-build") };
    warm_up(sandbox, options, sources, &dirs, crate_digest)?;
    // The warm build is the grader's again before any run's copy shares its compiled crates.
    sandbox.reclaim(&dirs)?;
    let mut expected = HashMap::new();
    for source in sources {
        expected.insert(source.clone(), expected_for(sandbox, options, source, &dirs, &validate, crate_digest)?);
    }
    let queue = Mutex::new(todo);
    let done = Mutex::new(Vec::new());
    let failure = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.max(1) {
            scope.spawn(|| loop {
                let Some((submission, digest)) = queue.lock().expect("queue").pop_front() else { break };
                if failure.lock().expect("failure").is_some() {
                    break;
                }
                let graded =
                    grade_submission(sandbox, options, &submission, digest, &dirs, &expected, &validate, hand_scores);
                match graded {
                    Ok(result) => {
                        progress(&result, false);
                        done.lock().expect("done").push(result);
                    }
                    Err(err) => *failure.lock().expect("failure") = Some(err),
                }
            });
        }
    });
    if let Some(err) = failure.into_inner().expect("failure") {
        return Err(err);
    }
    Ok(done.into_inner().expect("done"))
}

/// The instructor's hand-grading page of each assignment with written questions, and its score table (unless the
/// instructor edited the table since biaslab wrote it: then it is kept, and said so in what is returned).
fn write_hand_grading(
    out: &mut OutputDir,
    questions: &BTreeMap<String, Vec<hand::WrittenQuestion>>,
    results: &[SubmissionResult],
) -> Result<Vec<String>> {
    let mut kept = Vec::new();
    for (assignment, questions) in questions.iter().filter(|(_, q)| !q.is_empty()) {
        let of: Vec<&SubmissionResult> = results.iter().filter(|r| &r.assignment == assignment).collect();
        let page = format!("hand-grading/{assignment}.html");
        write_atomically(&out.path().join(&page), hand::page(assignment, &of, questions).as_bytes())?;
        let table = format!("hand-grading/{assignment}.csv");
        if out.may_write(&table) {
            out.write(&table, &hand::template(&of, questions))?;
        } else {
            kept.push(format!(
                "{}: edited since biaslab wrote it, so left as it is",
                out.path().join(&table).display()
            ));
        }
    }
    Ok(kept)
}

/// The files of the gradebook, in the grading output.
const GRADEBOOK: [&str; 2] = ["gradebook.csv", "gradebook.json"];

/// nbgrader's `nbgrader export` columns, in its order.
pub(crate) const CSV_COLUMNS: [&str; 11] = [
    "assignment",
    "duedate",
    "timestamp",
    "student_id",
    "last_name",
    "first_name",
    "email",
    "raw_score",
    "late_submission_penalty",
    "score",
    "max_score",
];

/// Writes `gradebook.csv` (nbgrader's export columns; no due dates, names or late penalties are known here) and
/// `gradebook.json` (every result with its cells, and the shard when only one was graded).
pub(crate) fn write_gradebook(out: &Path, book: &Gradebook, shard: Option<Shard>) -> Result<()> {
    write_atomically(&out.join("gradebook.csv"), &nbgrader_csv(&book.results))?;
    let mut json = serde_json::json!({ "results": book.results });
    if let Some(shard) = shard {
        json["shard"] = serde_json::json!(shard);
    }
    write_atomically(&out.join("gradebook.json"), serde_json::to_string_pretty(&json).expect("JSON").as_bytes())
}

/// The results of the grading output `out`, as grading wrote them in its `gradebook.json` (a run's or
/// a merge's, whole class or shard).
pub fn read_gradebook(out: &Path) -> Result<Vec<SubmissionResult>> {
    let path = out.join("gradebook.json");
    let text = std::fs::read_to_string(&path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => Error::InvalidArgument {
            reason: format!(
                "{} is not a grading output (it has no gradebook.json): name the output folder of `biaslab grade` or \
                 of `biaslab grade merge`",
                out.display()
            ),
        },
        _ => Error::Io { path: path.clone(), source },
    })?;
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|json| serde_json::from_value(json.get("results")?.clone()).ok())
        .ok_or_else(|| Error::InvalidData {
            path: path.clone(),
            reason: "it is not a gradebook biaslab wrote (no readable \"results\"): grade into the folder again".into(),
        })
}

/// `results` in the columns of `nbgrader export` ([`CSV_COLUMNS`]).
pub(crate) fn nbgrader_csv(results: &[SubmissionResult]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(CSV_COLUMNS).expect("writing to memory");
    for r in results {
        let score = format!("{:?}", r.score);
        let max = format!("{:?}", r.max_score);
        let timestamp = r.timestamp.as_deref().unwrap_or("");
        let record = [&r.assignment, "", timestamp, &r.student, "", "", "", &score, "0.0", &score, &max];
        writer.write_record(record).expect("writing to memory");
    }
    writer.into_inner().expect("writing to memory")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn a_folder_still_written_into_for_a_moment_is_removed_once_the_writer_stops() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        std::fs::create_dir_all(run.join("target")).unwrap();
        let writer = {
            let target = run.join("target");
            std::thread::spawn(move || {
                let started = std::time::Instant::now();
                let mut n = 0;
                // As a dying kernel's compiler might: files keep appearing for 600 ms (until its folder is gone).
                while started.elapsed() < Duration::from_millis(600) {
                    if std::fs::write(target.join(format!("f{n}")), b"x").is_err() {
                        break;
                    }
                    n += 1;
                }
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        remove_tree(&run).unwrap();
        writer.join().unwrap();
        assert!(!run.exists());
    }

    #[test]
    fn folders_a_run_left_unwritable_are_removed_and_a_missing_one_is_already_removed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        let locked = run.join("work/locked/inner");
        std::fs::create_dir_all(&locked).unwrap();
        std::fs::write(locked.join("file"), b"x").unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        std::fs::set_permissions(locked.parent().unwrap(), std::fs::Permissions::from_mode(0o500)).unwrap();
        remove_tree(&run).unwrap();
        assert!(!run.exists());
        remove_tree(&run).unwrap();
    }

    #[test]
    fn the_crate_digest_changes_with_any_file_the_kernel_compiles_and_with_the_prepared_build_key() {
        let dir = tempfile::tempdir().unwrap();
        let krate = dir.path();
        std::fs::create_dir_all(krate.join("src/grade")).unwrap();
        std::fs::write(krate.join("Cargo.toml"), "[package]\nname = \"biaslab\"\n").unwrap();
        std::fs::write(krate.join("src/lib.rs"), "pub fn f() {}").unwrap();
        std::fs::write(krate.join("src/grade/mod.rs"), "").unwrap();
        let first = sandbox::crate_digest(krate).unwrap();
        assert_eq!(sandbox::crate_digest(krate).unwrap(), first, "the same files give the same digest");
        std::fs::write(krate.join("src/grade/mod.rs"), " ").unwrap();
        let edited = sandbox::crate_digest(krate).unwrap();
        assert_ne!(edited, first);
        std::fs::write(krate.join("notes.txt"), "not compiled").unwrap();
        assert_eq!(sandbox::crate_digest(krate).unwrap(), edited, "a file the kernel does not see");
        let key = krate.join(sandbox::PREPARED_BUILD).with_file_name("build.key");
        std::fs::create_dir_all(key.parent().unwrap()).unwrap();
        std::fs::write(&key, "another toolchain").unwrap();
        assert_ne!(sandbox::crate_digest(krate).unwrap(), edited);
    }

    #[test]
    fn private_copies_keep_modification_times_and_links_leave_out_compiled_cells_and_the_originals_alone() {
        let dir = tempfile::tempdir().unwrap();
        let dirs = KernelDirs { cache: dir.path().join("cache"), build: dir.path().join("build") };
        let deps = dirs.build.join("target/debug/deps");
        std::fs::create_dir_all(&deps).unwrap();
        std::fs::create_dir_all(&dirs.cache).unwrap();
        let old = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        for (path, when) in
            [(deps.join("libbiaslab.rlib"), old), (dirs.cache.join("hits"), old + Duration::from_secs(60))]
        {
            std::fs::write(&path, b"compiled").unwrap();
            std::fs::File::options().write(true).open(&path).unwrap().set_modified(when).unwrap();
        }
        std::os::unix::fs::symlink("deps/libbiaslab.rlib", dirs.build.join("target/debug/libbiaslab.rlib")).unwrap();

        std::fs::write(deps.join("libcode_3.so"), b"a solution's cell").unwrap();

        let run = dir.path().join("run");
        let copies = private_copies(&dirs, &run, false).unwrap();
        assert_eq!(copies.cache, run.join("cache"));
        let copied = copies.build.join("target/debug/deps/libbiaslab.rlib");
        assert_eq!(std::fs::read(&copied).unwrap(), b"compiled");
        assert_eq!(std::fs::metadata(&copied).unwrap().modified().unwrap(), old);
        let hits = std::fs::metadata(copies.cache.join("hits")).unwrap().modified().unwrap();
        assert_eq!(hits, old + Duration::from_secs(60));
        assert!(!copies.build.join("target/debug/deps/libcode_3.so").exists(), "a solution's compiled cell");
        let link = copies.build.join("target/debug/libbiaslab.rlib");
        assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("deps/libbiaslab.rlib"));
        assert_eq!(std::fs::read(&link).unwrap(), b"compiled");

        // The run writes into its copies only.
        std::fs::write(&copied, b"tampered").unwrap();
        assert_eq!(std::fs::read(deps.join("libbiaslab.rlib")).unwrap(), b"compiled");
        // A second run starts from the originals again; a missing original is not copied (the run starts empty).
        std::fs::remove_dir_all(&dirs.cache).unwrap();
        let again = private_copies(&dirs, &run, false).unwrap();
        assert_eq!(std::fs::read(again.build.join("target/debug/deps/libbiaslab.rlib")).unwrap(), b"compiled");
        assert!(!again.cache.exists());
    }

    #[test]
    fn shared_copies_link_compiled_crates_only_and_never_evcxrs_own() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let dirs = KernelDirs { cache: dir.path().join("cache"), build: dir.path().join("build") };
        let deps = dirs.build.join("target/debug/deps");
        std::fs::create_dir_all(&deps).unwrap();
        let names = ["libbiaslab-1.rlib", "libbiaslab-1.rmeta", "libtokenizers-2.so", "libctx.so", "biaslab-1.d"];
        for name in names {
            std::fs::write(deps.join(name), name).unwrap();
        }
        let inode = |path: &Path| std::fs::metadata(path).unwrap().ino();
        let shared = private_copies(&dirs, &dir.path().join("shared"), true).unwrap();
        let copied = private_copies(&dirs, &dir.path().join("copied"), false).unwrap();
        for name in names {
            let original = inode(&deps.join(name));
            let linked = inode(&shared.build.join("target/debug/deps").join(name)) == original;
            assert_eq!(linked, name.starts_with("libbiaslab") || name.starts_with("libtokenizers"), "{name}");
            assert_ne!(inode(&copied.build.join("target/debug/deps").join(name)), original, "{name}");
        }
        assert!(!is_compiled_crate("libcode_7.so".as_ref()));
    }
}
