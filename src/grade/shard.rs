//! Grading on many machines: the class cut into N shards by a hash of each student's id, each shard graded by its own
//! `biaslab grade --shard K/N` (a Kubernetes Indexed Job's pod, a Slurm array task) into its own output folder, and
//! the outputs merged into one gradebook ([`merge`]).
//!
//! A student's shard depends only on their id and N (the first 8 bytes of the id's SHA-256, big-endian, modulo N,
//! plus 1), so a student added to the class later never moves another. Every finished run, sharded or not, writes
//! what it graded against ([`GradedAgainst`]: the source notebooks, the crate the kernels compile, the limits) into
//! `.biaslab/graded.json` of its output; shards are merged only when those are the same.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::hand::WrittenQuestion;
use super::sandbox::Limits;
use super::Gradebook;
use crate::data::output::OutputDir;
use crate::error::{Error, Result};

/// One shard of a class: the `K`th of `N` (counted from 1, as `--shard K/N` is written).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Which shard, 1 to `count`.
    pub index: usize,
    /// How many shards the class is cut into.
    pub count: usize,
}

impl Shard {
    /// The `index`th of `count` shards; an error unless `1 <= index <= count`.
    pub fn new(index: usize, count: usize) -> Result<Self> {
        if count == 0 || index == 0 || index > count {
            return Err(Error::InvalidArgument {
                reason: format!(
                    "shard {index}/{count} does not exist: shards are numbered from 1 to N (--shard 1/3, 2/3, 3/3; a \
                     Kubernetes Indexed Job's JOB_COMPLETION_INDEX counts from 0, so give it plus 1)"
                ),
            });
        }
        Ok(Shard { index, count })
    }

    /// The shard (1 to `count`) that grades `student` when the class is cut into `count` shards.
    pub fn of(student: &str, count: usize) -> usize {
        let hash = Sha256::digest(student.as_bytes());
        let first = u64::from_be_bytes(hash[..8].try_into().expect("a SHA-256 has 32 bytes"));
        (first % count.max(1) as u64) as usize + 1
    }

    /// Whether this shard grades `student`.
    pub fn holds(&self, student: &str) -> bool {
        Shard::of(student, self.count) == self.index
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = Error;

    /// `K/N`, as in `--shard 2/3`.
    fn from_str(text: &str) -> Result<Self> {
        let parsed = text.split_once('/').and_then(|(k, n)| Some((k.trim().parse().ok()?, n.trim().parse().ok()?)));
        match parsed {
            Some((index, count)) => Shard::new(index, count),
            None => Err(Error::InvalidArgument {
                reason: format!("{text:?} is not a shard: write K/N, the Kth of N shards counted from 1 (2/3)"),
            }),
        }
    }
}

/// The limits a class was graded with, as `biaslab grade`'s flags give them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradedLimits {
    /// `--cell-timeout`, in seconds.
    pub cell_timeout: u64,
    /// `--time-limit`, in seconds.
    pub time_limit: u64,
    /// `--memory-gb`, in bytes.
    pub memory: u64,
    /// `--processes`.
    pub processes: u64,
    /// `--threads`.
    pub threads: usize,
}

impl From<&Limits> for GradedLimits {
    fn from(limits: &Limits) -> Self {
        GradedLimits {
            cell_timeout: limits.cell_timeout.as_secs(),
            time_limit: limits.time_limit.as_secs(),
            memory: limits.memory,
            processes: limits.processes,
            threads: limits.threads,
        }
    }
}

impl std::fmt::Display for GradedLimits {
    /// The flags of `biaslab grade` that give these limits.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "--cell-timeout {} --time-limit {} --memory-gb {} --processes {} --threads {}",
            self.cell_timeout,
            self.time_limit,
            self.memory >> 30,
            self.processes,
            self.threads
        )
    }
}

/// What a grading run graded against. Two runs with the same give a submission the same result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradedAgainst {
    /// The crate the kernels compile ([`super::Sandbox::crate_digest`]).
    pub crate_digest: String,
    /// Each source notebook of the class (its path under the source folder) with its SHA-256.
    pub sources: BTreeMap<String, String>,
    /// The limits.
    pub limits: GradedLimits,
}

impl GradedAgainst {
    /// What a run grading `sources` (notebooks under `source_dir`) with `limits` and the crate `crate_digest`
    /// grades against.
    pub(crate) fn new(source_dir: &Path, sources: &[PathBuf], limits: &Limits, crate_digest: &str) -> Result<Self> {
        let mut digests = BTreeMap::new();
        for source in sources {
            let name = source.strip_prefix(source_dir).unwrap_or(source).to_string_lossy().into_owned();
            digests.insert(name, crate::data::cache::sha256_file(source)?);
        }
        Ok(GradedAgainst { crate_digest: crate_digest.to_string(), sources: digests, limits: limits.into() })
    }

    /// How `other` differs from this, in words; `None` when it does not.
    fn difference(&self, other: &GradedAgainst) -> Option<String> {
        if self.limits != other.limits {
            return Some(format!(
                "it was graded with other limits ({}; the first shard: {}): grade every shard with the same flags",
                other.limits, self.limits
            ));
        }
        if self.sources != other.sources {
            let names: BTreeSet<&String> = self.sources.keys().chain(other.sources.keys()).collect();
            let differ: Vec<&str> = names
                .into_iter()
                .filter(|n| self.sources.get(*n) != other.sources.get(*n))
                .map(|n| n.as_str())
                .collect();
            return Some(format!(
                "it was graded against other source notebooks ({} differ from the first shard's): grade every shard \
                 against the same --source",
                differ.join(", ")
            ));
        }
        if self.crate_digest != other.crate_digest {
            return Some(
                "its kernels compiled another biaslab crate (or toolchain) than the first shard's: grade every shard \
                 with the same crate and kernel set-up"
                    .into(),
            );
        }
        None
    }
}

/// What a finished grading run records in `.biaslab/graded.json` of its output: what [`merge`] needs besides the
/// results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RunRecord {
    /// The shard graded; `None` for a whole class (or a merged one).
    pub shard: Option<Shard>,
    /// What was graded against.
    pub graded_against: GradedAgainst,
    /// The written questions of each assignment (for the hand-grading pages).
    pub questions: BTreeMap<String, Vec<WrittenQuestion>>,
}

/// The record's file, in a grading output.
pub(crate) const RECORD: &str = ".biaslab/graded.json";

impl RunRecord {
    /// Reads the record of the grading output `dir`.
    fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(RECORD);
        let text = std::fs::read_to_string(&path).map_err(|_| Error::Merge {
            path: dir.to_path_buf(),
            reason: format!(
                "it is not the output of a finished `biaslab grade --shard K/N` (it has no {RECORD}): grade the shard \
                 into it (again; a stopped run resumes where it stopped)"
            ),
        })?;
        serde_json::from_str(&text)
            .map_err(|err| Error::Merge { path: path.clone(), reason: format!("{err}: grade the shard into it again") })
    }

    /// Writes the record into the grading output `dir`, last, when the run has finished.
    pub(crate) fn write(&self, dir: &Path) -> Result<()> {
        let json = serde_json::to_string_pretty(self).expect("a run record serializes");
        super::write_atomically(&dir.join(RECORD), json.as_bytes())
    }
}

/// What [`merge`] made.
#[derive(Debug, Clone)]
pub struct Merged {
    /// The merged gradebook (its `graded` and `reused` are 0).
    pub book: Gradebook,
    /// How many shards were merged.
    pub shards: usize,
    /// The limits every shard was graded with.
    pub limits: GradedLimits,
}

fn merge_error(path: &Path, reason: impl Into<String>) -> Error {
    Error::Merge { path: path.to_path_buf(), reason: reason.into() }
}

/// Merges the outputs of `biaslab grade --shard K/N`, one per shard (every K of 1 to N once), into `out`: one
/// gradebook (`gradebook.csv`, `gradebook.json`), every result and its feedback, the executed notebooks and logs,
/// the hand-grading pages, as one run over the whole class would have written them. Refused, before anything is
/// written, when a folder is not a finished shard, when the shards were graded against different sources, crate
/// or limits, or when a shard is missing or given twice. `out` may then be graded into (`--hand-scores`, with the
/// shards' limits) as any grading output.
pub fn merge(shards: &[PathBuf], out: &Path, force: bool) -> Result<Merged> {
    let Some(first_dir) = shards.first() else {
        return Err(Error::InvalidArgument { reason: "name the output folder of every shard to merge".into() });
    };
    let mut read = Vec::new();
    for dir in shards {
        let record = RunRecord::read(dir)?;
        let Some(shard) = record.shard else {
            return Err(merge_error(
                dir,
                "it is the output of a whole class's grading, not of one shard (--shard K/N)",
            ));
        };
        let results = super::read_gradebook(dir)?;
        read.push((dir, shard, record, results));
    }
    let (first_shard, against) = (read[0].1, read[0].2.graded_against.clone());
    let mut seen: BTreeMap<usize, &PathBuf> = BTreeMap::new();
    for (dir, shard, record, results) in &read {
        if shard.count != first_shard.count {
            return Err(merge_error(
                dir,
                format!(
                    "it is shard {shard}, of {} shards, and {} is shard {first_shard}: grade every shard with the \
                     same N",
                    shard.count,
                    first_dir.display()
                ),
            ));
        }
        if let Some(why) = against.difference(&record.graded_against) {
            return Err(merge_error(dir, why));
        }
        if let Some(other) = seen.insert(shard.index, dir) {
            return Err(merge_error(dir, format!("shard {shard} is given twice (also {})", other.display())));
        }
        if let Some(stray) = results.iter().find(|r| !shard.holds(&r.student)) {
            return Err(merge_error(
                dir,
                format!(
                    "it holds {}, who belongs to shard {}/{}, not {shard}: was it graded with another --shard?",
                    stray.student,
                    Shard::of(&stray.student, shard.count),
                    shard.count
                ),
            ));
        }
    }
    let missing: Vec<String> = (1..=first_shard.count)
        .filter(|k| !seen.contains_key(k))
        .map(|k| format!("{k}/{}", first_shard.count))
        .collect();
    if !missing.is_empty() {
        return Err(merge_error(
            out,
            format!(
                "shard {} is missing: name every shard's output folder, or grade the missing ones",
                missing.join(", ")
            ),
        ));
    }

    let inputs: Vec<&Path> = shards.iter().map(PathBuf::as_path).collect();
    let mut dir = OutputDir::open(out, &inputs, force)?;
    dir.check(&super::GRADEBOOK.map(String::from))?;
    dir.claim()?;
    // Unfinished until the end, as a grading run is.
    let record_path = out.join(RECORD);
    if record_path.exists() {
        std::fs::remove_file(&record_path).map_err(Error::io(&record_path))?;
    }
    let mut questions: BTreeMap<String, Vec<WrittenQuestion>> = BTreeMap::new();
    let mut results = Vec::new();
    for (shard_dir, _, record, shard_results) in read {
        for (assignment, found) in &record.questions {
            questions.entry(assignment.clone()).or_insert_with(|| found.clone());
        }
        for result in shard_results {
            super::write_result(out, &result)?;
            super::nbgrader_files(&super::feedback_dir(shard_dir, &result), &super::feedback_dir(out, &result))?;
            let kept = shard_dir.join("instructor").join(&result.student).join(&result.assignment);
            if kept.is_dir() {
                let to = out.join("instructor").join(&result.student).join(&result.assignment);
                super::remove_tree(&to)?;
                super::copy_dir(&kept, &to, &|_| false, &|_| false)?;
            }
            results.push(result);
        }
    }
    results.sort_by(|a, b| (&a.assignment, &a.student).cmp(&(&b.assignment, &b.student)));
    let kept = super::write_hand_grading(&mut dir, &questions, &results)?;
    let book =
        Gradebook { results, graded: 0, reused: 0, skipped: Vec::new(), hand_scored: 0, kept, leftover: Vec::new() };
    super::write_gradebook(out, &book, None)?;
    for name in super::GRADEBOOK {
        dir.record(name)?;
    }
    let limits = against.limits.clone();
    RunRecord { shard: None, graded_against: against, questions }.write(out)?;
    Ok(Merged { book, shards: shards.len(), limits })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_parsed_from_k_of_n_counted_from_one() {
        assert_eq!("2/3".parse::<Shard>().unwrap(), Shard { index: 2, count: 3 });
        assert_eq!(" 1 / 1 ".parse::<Shard>().unwrap().to_string(), "1/1");
        for bad in ["0/3", "4/3", "1/0", "3", "a/b", "-1/3", ""] {
            let err = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(err.contains("shard"), "{bad}: {err}");
        }
        assert!("0/3".parse::<Shard>().unwrap_err().to_string().contains("JOB_COMPLETION_INDEX"));
    }

    #[test]
    fn every_student_is_in_exactly_one_shard_and_keeps_it_as_the_class_grows() {
        let class: Vec<String> = (0..300).map(|i| format!("student{i:03}")).collect();
        for count in [1, 2, 3, 7] {
            let shards: Vec<Shard> = (1..=count).map(|k| Shard::new(k, count).unwrap()).collect();
            let mut sizes = vec![0; count];
            for student in &class {
                let holding: Vec<&Shard> = shards.iter().filter(|s| s.holds(student)).collect();
                assert_eq!(holding.len(), 1, "{student} in {holding:?}");
                sizes[holding[0].index - 1] += 1;
            }
            // A hash spreads a class evenly enough: no shard holds under half or over twice its share.
            let share = class.len() / count;
            assert!(sizes.iter().all(|&n| n * 2 >= share && n <= share * 2), "{count} shards: {sizes:?}");
        }
        // The rule is stated in the module documentation (others may compute it): SHA-256, first 8 bytes, mod N, + 1.
        // sha256("alice") begins 2bd806c97f0e00af.
        assert_eq!(Shard::of("alice", 3), (0x2bd806c97f0e00af_u64 % 3) as usize + 1);
    }

    fn limits() -> GradedLimits {
        GradedLimits { cell_timeout: 600, time_limit: 1800, memory: 8 << 30, processes: 512, threads: 2 }
    }

    #[test]
    fn limits_are_shown_as_the_flags_that_give_them() {
        assert_eq!(
            limits().to_string(),
            "--cell-timeout 600 --time-limit 1800 --memory-gb 8 --processes 512 --threads 2"
        );
    }

    #[test]
    fn a_difference_in_limits_sources_or_crate_is_named() {
        let base = GradedAgainst {
            crate_digest: "c".into(),
            sources: BTreeMap::from([("01.ipynb".to_string(), "a".to_string())]),
            limits: limits(),
        };
        assert_eq!(base.difference(&base.clone()), None);
        let mut other = base.clone();
        other.limits.time_limit = 900;
        assert!(base.difference(&other).unwrap().contains("--time-limit 900"));
        let mut other = base.clone();
        other.sources.insert("01.ipynb".into(), "b".into());
        assert!(base.difference(&other).unwrap().contains("01.ipynb differ"));
        let mut other = base.clone();
        other.crate_digest = "d".into();
        assert!(base.difference(&other).unwrap().contains("another biaslab crate"));
    }
}
