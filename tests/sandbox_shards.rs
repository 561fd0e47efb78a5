//! `biaslab grade --shard K/N` and `biaslab grade merge`: a small class of lab 01 graded as one run and as three
//! shards run as separate processes at once, merged into a gradebook identical to the one run's (timings aside);
//! a shard killed mid-way leaves nothing to merge, and resumes as a single run does; merge refuses a shard that is
//! missing, given twice, or graded against other limits; `biaslab grade export --format canvas` of both is the same.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use common::grading::*;
use serde_json::Value;

/// The class, each student with the shard of three that a hash of their id puts them in (checked below) and the
/// auto-graded score they must get. Shard 1 holds two, so that it can be stopped after its first.
const CLASS: [(&str, usize, f64); 4] = [("lee", 1, 2.0), ("ora", 1, 0.0), ("cleo", 2, 0.0), ("ada", 3, 2.0)];

/// The same limits for every run: a result's digest, and the merge, depend on them.
const LIMITS: [&str; 8] = ["--jobs", "1", "--threads", "1", "--cell-timeout", "120", "--time-limit", "900"];

fn write_class(submitted: &Path) {
    let solution = read(&root().join("solutions").join(NOTEBOOK));
    write(submitted, "lee", &solution);
    write(submitted, "ora", &read(&root().join("notebooks").join(NOTEBOOK)));
    write(submitted, "cleo", &only_in("    Vec::new()"));
    write(submitted, "ada", &only_in(&format!("    {CORRECT}")));
}

fn command(submitted: &Path, out: &Path, extra: &[&str]) -> Command {
    let args: Vec<&std::ffi::OsStr> = LIMITS.iter().chain(extra).map(std::ffi::OsStr::new).collect();
    let mut command = grade_command(submitted, out, &args);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    command
}

fn finished(child: Child, what: &str) -> Output {
    succeeded(child.wait_with_output().unwrap(), what)
}

fn biaslab(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_biaslab")).args(args).output().unwrap()
}

/// `gradebook.json` without what differs between two runs of the same grading: how long each notebook ran.
fn without_timings(mut book: Value) -> Value {
    for result in book["results"].as_array_mut().unwrap() {
        for nb in result["notebooks"].as_array_mut().unwrap() {
            nb.as_object_mut().unwrap().remove("seconds");
        }
    }
    book
}

/// Every file under `dir` (relative path → bytes).
fn files(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut found = std::collections::BTreeMap::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                found.insert(path.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(&path).unwrap());
            }
        }
    }
    found
}

#[test]
fn three_shards_at_once_merge_into_the_gradebook_of_one_run() {
    for (student, shard, _) in CLASS {
        assert_eq!(biaslab::grade::Shard::of(student, 3), shard, "{student}'s shard");
    }
    let dir = tempfile::tempdir().unwrap();
    let submitted = dir.path().join("submitted");
    write_class(&submitted);
    let [whole, one, two, three] = ["whole", "shard1", "shard2", "shard3"].map(|name| dir.path().join(name));

    // The whole class, and shard 1 beside it, stopped (killed, as a pod or a node is) once its first result is in.
    let whole_run = command(&submitted, &whole, &[]).spawn().unwrap();
    let mut stopped = command(&submitted, &one, &["--shard", "1/3"]).spawn().unwrap();
    let started = std::time::Instant::now();
    let results = |out: &Path| {
        let found = if out.join("results").is_dir() { files(&out.join("results")) } else { Default::default() };
        found.keys().filter(|p| p.extension().is_some_and(|e| e == "json")).count()
    };
    while results(&one) == 0 {
        assert!(started.elapsed().as_secs() < 1200, "shard 1 wrote no result in 20 minutes");
        assert!(stopped.try_wait().unwrap().is_none(), "shard 1 ended before it was stopped");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    stopped.kill().unwrap();
    stopped.wait().unwrap();
    let unfinished = biaslab(&[
        "grade".as_ref(),
        "merge".as_ref(),
        one.as_os_str(),
        "--out".as_ref(),
        dir.path().join("m0").as_os_str(),
    ]);
    let stderr = String::from_utf8_lossy(&unfinished.stderr);
    assert!(!unfinished.status.success() && stderr.contains("not the output of a finished"), "{stderr}");

    // The three shards at once, as three pods of an Indexed Job; shard 1 resumes.
    let shards: Vec<Child> = [(&one, "1/3"), (&two, "2/3"), (&three, "3/3")]
        .iter()
        .map(|(out, shard)| command(&submitted, out, &["--shard", shard]).spawn().unwrap())
        .collect();
    let outputs: Vec<Output> =
        shards.into_iter().enumerate().map(|(i, c)| finished(c, &format!("shard {}/3", i + 1))).collect();
    let whole_output = finished(whole_run, "the whole class's run");
    let stderr = String::from_utf8_lossy(&whole_output.stderr);
    assert!(stderr.contains("4 graded, 0 reused"), "{stderr}");
    let resumed = String::from_utf8_lossy(&outputs[0].stderr);
    assert!(resumed.contains("shard 1/3: 2 of the class's 4 submissions"), "{resumed}");
    let reused = resumed.lines().filter(|l| l.starts_with("reused ")).count();
    assert!(reused >= 1 && resumed.contains(&format!("{} graded, {reused} reused", 2 - reused)), "{resumed}");
    for (i, output) in outputs.iter().enumerate().skip(1) {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("1 graded, 0 reused"), "shard {}: {stderr}", i + 1);
    }
    // Each shard's gradebook holds its own students, and says which shard it is.
    for (k, out) in [&one, &two, &three].into_iter().enumerate() {
        let book = read(&out.join("gradebook.json"));
        assert_eq!(book["shard"], serde_json::json!({"index": k + 1, "count": 3}));
        let students: Vec<&str> =
            book["results"].as_array().unwrap().iter().map(|r| r["student"].as_str().unwrap()).collect();
        let expected: Vec<&str> = {
            let mut s: Vec<&str> = CLASS.iter().filter(|c| c.1 == k + 1).map(|c| c.0).collect();
            s.sort();
            s
        };
        assert_eq!(students, expected);
    }

    // Merge refuses, before writing anything, a missing shard, a shard given twice, one graded with other limits, and
    // a whole class's output.
    let refused = |shards: &[&Path], why: &str| {
        let out = dir.path().join("refused");
        let mut args: Vec<&std::ffi::OsStr> = vec!["grade".as_ref(), "merge".as_ref()];
        args.extend(shards.iter().map(|p| p.as_os_str()));
        args.extend(["--out".as_ref(), out.as_os_str()]);
        let output = biaslab(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success() && stderr.contains(why), "expected {why:?}: {stderr}");
        assert!(!out.exists(), "a refused merge wrote {}", out.display());
    };
    refused(&[&one, &two], "shard 3/3 is missing");
    refused(&[&one, &two, &two, &three], "shard 2/3 is given twice");
    refused(&[&one, &two, &whole], "not of one shard");
    let other = dir.path().join("shard3-other-limits");
    copy(&three, &other);
    let record = other.join(".biaslab/graded.json");
    let mut json = read(&record);
    json["graded_against"]["limits"]["time_limit"] = 1800.into();
    std::fs::write(&record, json.to_string()).unwrap();
    refused(&[&one, &two, &other], "other limits (--cell-timeout 120 --time-limit 1800");

    // The merge: the same gradebook as the one run, the same feedback, the same hand-grading page.
    let merged = dir.path().join("merged");
    let output = biaslab(&[
        "grade".as_ref(),
        "merge".as_ref(),
        one.as_os_str(),
        two.as_os_str(),
        three.as_os_str(),
        "--out".as_ref(),
        merged.as_os_str(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("merged 3 shards: 4 results") && stderr.contains("--threads 1"), "{stderr}");
    let csv = std::fs::read_to_string(merged.join("gradebook.csv")).unwrap();
    assert_eq!(csv, std::fs::read_to_string(whole.join("gradebook.csv")).unwrap());
    for (student, _, score) in CLASS {
        let row = csv.lines().find(|l| l.split(',').nth(3) == Some(student)).unwrap();
        assert_eq!(row.split(',').nth(9).unwrap().parse::<f64>().unwrap(), score, "{student}: {csv}");
    }
    assert_eq!(
        without_timings(read(&merged.join("gradebook.json"))),
        without_timings(read(&whole.join("gradebook.json")))
    );
    assert_eq!(files(&merged.join("feedback")), files(&whole.join("feedback")));
    assert_eq!(
        std::fs::read_to_string(merged.join("hand-grading/lab01.html")).unwrap(),
        std::fs::read_to_string(whole.join("hand-grading/lab01.html")).unwrap()
    );
    for (student, _, _) in CLASS {
        let executed = format!("instructor/{student}/lab01/executed/{NOTEBOOK}");
        assert!(merged.join(&executed).is_file(), "{executed} is not in the merged output");
    }

    // The written answers are graded on the merged folder: grading into it with the shards' limits reuses every
    // result and imports the scores.
    let scores = dir.path().join("scores.csv");
    std::fs::write(
        &scores,
        format!("student_id,assignment,notebook,grade_id,score,comment\nlee,lab01,{NOTEBOOK},written-answer,1.5,\n"),
    )
    .unwrap();
    let imported = finished(
        command(&submitted, &merged, &["--hand-scores", scores.to_str().unwrap()]).spawn().unwrap(),
        "the hand-score import",
    );
    let stderr = String::from_utf8_lossy(&imported.stderr);
    assert!(stderr.contains("0 graded, 4 reused") && stderr.contains("1 hand score(s) imported"), "{stderr}");
    let csv = std::fs::read_to_string(merged.join("gradebook.csv")).unwrap();
    assert!(csv.contains("lab01,,,lee,,,,3.5,0.0,3.5,4.0\n"), "{csv}");

    // Canvas's import: lee's 3.5 from the merged folder after the import, else as from the one run.
    let export = |out: &Path| {
        let output =
            biaslab(&["grade".as_ref(), "export".as_ref(), out.as_os_str(), "--format".as_ref(), "canvas".as_ref()]);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        std::fs::read_to_string(out.join("gradebook-canvas.csv")).unwrap()
    };
    let canvas = export(&merged);
    assert_eq!(canvas.replace("lee,,,lee,,3.5", "lee,,,lee,,2"), export(&whole));
    assert!(
        canvas.starts_with("Student,ID,SIS User ID,SIS Login ID,Section,lab01\nPoints Possible,,,,,4\n"),
        "{canvas}"
    );
    assert!(canvas.contains("\nlee,,,lee,,3.5\n") && canvas.contains("\ncleo,,,cleo,,0\n"), "{canvas}");
}

/// Copies what merge reads of a shard's output: its gradebook and its record.
fn copy(from: &Path, to: &Path) {
    for file in ["gradebook.json", ".biaslab/graded.json"] {
        std::fs::create_dir_all(to.join(file).parent().unwrap()).unwrap();
        std::fs::copy(from.join(file), to.join(file)).unwrap();
    }
}
