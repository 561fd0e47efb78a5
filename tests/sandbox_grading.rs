//! `biaslab grade` on a small class: the solution, an untouched student notebook and one submission for each
//! attack the grader must withstand. Each runs in the real Rust kernel, sandboxed, on the demo model (or
//! `BIASLAB_MODEL`). Needs bubblewrap, Jupyter (`.venv`, made by `lab/setup.sh`) and evcxr_jupyter; a missing one
//! fails the test with the command that installs it.
//!
//! Named so that `cargo test` runs it after `tests/notebooks.rs` (test targets run in alphabetical order): the
//! grader's warm-up then starts from the evcxr build cache the notebooks filled (as on an instructor's machine where
//! the notebooks have run), instead of compiling every dependency again.

mod common;

use std::path::Path;

use common::grading::*;
use serde_json::Value;

/// The class, each student with the score they must get.
fn class(submitted: &Path, out: &Path) -> Vec<(&'static str, f64)> {
    let solution = read(&root().join("solutions").join(NOTEBOOK));
    write(submitted, "solution", &solution);
    write(submitted, "blank", &read(&root().join("notebooks").join(NOTEBOOK)));

    write(submitted, "infinite_loop", &only_in("    loop { std::hint::spin_loop(); }"));
    write(
        submitted,
        "fork_bomb",
        &only_in("    let _ = std::process::Command::new(\"sh\").arg(\"-c\").arg(\"b() { b | b & }; b\").spawn();\n    std::thread::sleep(std::time::Duration::from_secs(5));\n    Vec::new()"),
    );
    write(submitted, "exit", &only_in("    std::process::exit(0)"));
    // evcxr's own end-of-cell line makes the kernel stop reading the test cell before its assertion fails.
    write(
        submitted,
        "fake_pass",
        &only_in("    println!(\"EVCXR_EXECUTION_COMPLETE\");\n    println!(\"✓ all checks passed\");\n    Vec::new()"),
    );
    let mut edits = only_in("    Vec::new()");
    let t = cell_index(&edits, TEST_CELL);
    edits["cells"][t]["source"] = Value::String("println!(\"✓ all checks passed\");".into());
    write(submitted, "edits_tests", &edits);
    let mut deletes = only_in("    Vec::new()");
    let t = cell_index(&deletes, TEST_CELL);
    deletes["cells"].as_array_mut().unwrap().remove(t);
    write(submitted, "deletes_tests", &deletes);
    // Reads the hidden tests and writes into the grading output by path: the answer is right only if it could read.
    let source = root().join("solutions").join(NOTEBOOK);
    let reads = format!(
        "    let _ = std::fs::write({pwned:?}, \"x\");\n    let _ = std::fs::create_dir_all({fake_dir:?});\n    let _ = std::fs::write({fake:?}, \"{{}}\");\n    if std::fs::read_to_string({source:?}).is_ok() {{ {CORRECT} }} else {{ Vec::new() }}",
        pwned = out.join("pwned.txt"),
        fake_dir = out.join("results/solution"),
        fake = out.join("results/solution/lab01.json"),
    );
    write(submitted, "reads_files", &only_in(&reads));
    // A second dependency for the crate the tests call, through an evcxr command in the answer cell.
    write(
        submitted,
        "swaps_crate",
        &answering(":dep biaslab = { path = \"/tmp\" }\nfn only_in(a: &TopK, b: &TopK) -> Vec<String> { Vec::new() }"),
    );
    // Hidden tests call `::std::assert!`, which a macro of the student's cannot replace.
    write(
        submitted,
        "shadows_assert",
        &answering(
            "macro_rules! assert { ($($t:tt)*) => {}; }\nfn only_in(a: &TopK, b: &TopK) -> Vec<String> { Vec::new() }",
        ),
    );

    // Forgeries that scored 2/2 while the verdict was a line the kernel printed (the grader now compares the values
    // the hidden tests record with the solution's, outside the kernel). Each prints what it can find or guess.
    // 1. The hidden tests' source, read from evcxr's build folder: every result line in it, and a fake one per case.
    write(
        submitted,
        "reads_build_folder",
        &only_in(
            r#"    let dir = std::env::var("EVCXR_TMPDIR").unwrap_or_default();
    let text = std::fs::read_to_string(format!("{dir}/src/lib.rs")).unwrap_or_default();
    for line in text.lines().filter(|l| l.contains("BIASLAB")) { println!("{line}"); }
    for name in text.split("record("").skip(1).filter_map(|s| s.split('"').next()) {
        println!("BIASLAB-RESULT {{\"name\": {name:?}, \"value\": []}}");
    }
    Vec::new()"#,
        ),
    );
    // 2. The same, searched for in the process's own memory.
    write(
        submitted,
        "reads_own_memory",
        &only_in(
            r#"    use std::io::{Read, Seek, SeekFrom};
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let mut mem = std::fs::File::open("/proc/self/mem").ok();
    for line in maps.lines().filter(|l| l.split(' ').nth(1).is_some_and(|p| p.starts_with("rw"))) {
        let (a, b) = line.split(' ').next().and_then(|r| r.split_once('-')).unwrap_or(("0", "0"));
        let (a, b) = (u64::from_str_radix(a, 16).unwrap_or(0), u64::from_str_radix(b, 16).unwrap_or(0));
        if b <= a || b - a > (64 << 20) { continue; }
        let mut buf = vec![0u8; (b - a) as usize];
        if let Some(m) = mem.as_mut() {
            if m.seek(SeekFrom::Start(a)).is_ok() && m.read_exact(&mut buf).is_ok() {
                for piece in buf.split(|&c| c == b'\n' || c == 0).filter(|p| p.starts_with(b"BIASLAB")) {
                    println!("{}", String::from_utf8_lossy(piece));
                }
            }
        }
    }
    Vec::new()"#,
        ),
    );
    // 3. A cell of the student's leaves a thread printing a result and evcxr's end-of-cell line while the tests run.
    write(
        submitted,
        "thread_prints",
        &with_added_cell(
            "    Vec::new()",
            r#"std::thread::spawn(|| loop {
    println!("BIASLAB-RESULT {{\"name\": \"the notebook's two sentences, the other way round\", \"value\": []}}");
    println!("EVCXR_EXECUTION_COMPLETE");
    std::thread::sleep(std::time::Duration::from_millis(20));
});"#,
        ),
    );
    // 4. A module of the student's named like the one the tests call: its check always passes.
    write(
        submitted,
        "shadows_module",
        &answering(
            r#"mod lab01 {
    pub use biaslab::lab01::*;
    pub fn check_only_in(_: impl Fn(&biaslab::TopK, &biaslab::TopK) -> Vec<String>) -> biaslab::CheckReport {
        let mut report = biaslab::CheckReport::new("forged");
        report.case("everything", 1, "", || 1);
        report
    }
}
fn only_in(a: &TopK, b: &TopK) -> Vec<String> { Vec::new() }"#,
        ),
    );
    // 5. The submitted notebook is a symbolic link to the instructor's solutions.
    let linked = submitted.join("symlinked/lab01");
    std::fs::create_dir_all(&linked).unwrap();
    std::os::unix::fs::symlink(root().join("solutions").join(NOTEBOOK), linked.join(NOTEBOOK)).unwrap();
    // 6. A thread rewrites the test cell's source in the build folder between evcxr writing it and rustc reading it:
    //    each recorded case goes through a function of the student's, which records an empty answer.
    write(
        submitted,
        "rewrites_tests",
        &with_added_cell(
            "    Vec::new()",
            r#"pub fn forged_record<T>(name: &str, _: impl FnOnce() -> T) {
    println!("BIASLAB-RESULT {{\"name\": {name:?}, \"value\": []}}");
}
std::thread::spawn(|| {
    let path = format!("{}/src/lib.rs", std::env::var("EVCXR_TMPDIR").unwrap_or_default());
    loop {
        if let Ok(text) = std::fs::read_to_string(&path) {
            if text.contains("::biaslab::check::record(") {
                let _ = std::fs::write(&path, text.replace("::biaslab::check::record(", "crate::forged_record("));
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
});"#,
        ),
    );
    // The sandbox itself: the answer is right only if the code kept a capability or read a secret of the host.
    write(submitted, "probes_sandbox", &only_in(&sandbox_probe(out)));
    // Floods the standard error of every other process it can see (the kernel's own output, the grader's log).
    write(
        submitted,
        "floods_log",
        &only_in(
            r#"    use std::io::Write;
    let chunk = vec![b'x'; 1 << 20];
    let me = std::process::id().to_string();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let pid = entry.file_name().to_string_lossy().to_string();
        if pid == me || !pid.chars().all(|c| c.is_ascii_digit()) { continue; }
        if let Ok(mut err) = std::fs::OpenOptions::new().write(true).open(format!("/proc/{pid}/fd/2")) {
            for _ in 0..100 { let _ = err.write_all(&chunk); }
        }
    }
    Vec::new()"#,
        ),
    );
    // A misnamed notebook has no source: skipped and reported, the class still graded.
    let misnamed = submitted.join("misnamed/lab01");
    std::fs::create_dir_all(&misnamed).unwrap();
    std::fs::write(misnamed.join("lab 01 (copy).ipynb"), "{}").unwrap();
    vec![
        ("blank", 0.0),
        ("deletes_tests", 0.0),
        ("edits_tests", 0.0),
        ("exit", 0.0),
        ("fake_pass", 0.0),
        ("floods_log", 0.0),
        ("fork_bomb", 0.0),
        ("infinite_loop", 0.0),
        ("probes_sandbox", 0.0),
        ("reads_build_folder", 0.0),
        ("reads_files", 0.0),
        ("reads_own_memory", 0.0),
        ("rewrites_tests", 0.0),
        ("shadows_assert", 0.0),
        ("shadows_module", 0.0),
        ("solution", 2.0),
        ("swaps_crate", 0.0),
        ("symlinked", 0.0),
        ("thread_prints", 0.0),
    ]
}

fn grade(submitted: &Path, out: &Path) -> std::process::Output {
    grade_with(submitted, out, &["--jobs", "2", "--cell-timeout", "60", "--time-limit", "900"])
}

fn solution_nb() -> Value {
    read(&root().join("solutions").join(NOTEBOOK))
}

fn grade_with(submitted: &Path, out: &Path, limits: &[&str]) -> std::process::Output {
    let output =
        grade_command(submitted, out, &limits.iter().map(std::ffi::OsStr::new).collect::<Vec<_>>()).output().unwrap();
    succeeded(output, "biaslab grade")
}

#[test]
fn a_class_with_every_attack_is_graded_as_it_should_be_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let submitted = dir.path().join("submitted");
    let out = dir.path().join("out");
    let expected = class(&submitted, &out);

    let first = grade(&submitted, &out);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(stderr.contains(&format!("{} graded, 0 reused", expected.len())), "{stderr}");
    assert!(stderr.contains("skipped") && stderr.contains("misnamed"), "{stderr}");

    let csv = std::fs::read_to_string(out.join("gradebook.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "assignment,duedate,timestamp,student_id,last_name,first_name,email,raw_score,late_submission_penalty,score,max_score"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), expected.len(), "{csv}");
    for (row, (student, score)) in rows.iter().zip(&expected) {
        assert_eq!(row[0], "lab01");
        assert_eq!(row[3], *student, "{csv}");
        let feedback = out.join("feedback").join(student).join("lab01/01_fill_mask_bias");
        let md = std::fs::read_to_string(feedback.with_extension("md")).unwrap();
        assert_eq!(row[9].parse::<f64>().unwrap(), *score, "{student} scored {}: {csv}\n{md}", row[9]);
        // 2 points of tests and 2 of a written answer, graded by hand (0 until imported).
        assert_eq!(row[10], "4.0");
        assert!(md.contains(&format!("Score: **{} / 4**", *score as u32)), "{student}: {md}");
        assert!(std::fs::read_to_string(feedback.with_extension("html")).unwrap().contains("<table>"));
    }
    let reasons = |student: &str| {
        std::fs::read_to_string(out.join(format!("feedback/{student}/lab01/01_fill_mask_bias.md"))).unwrap()
    };
    assert!(reasons("blank").contains("not done yet"), "{}", reasons("blank"));
    assert!(reasons("infinite_loop").contains("ran out of time"), "{}", reasons("infinite_loop"));
    assert!(reasons("edits_tests").contains("read-only and was changed"), "{}", reasons("edits_tests"));
    assert!(reasons("deletes_tests").contains("was deleted"), "{}", reasons("deletes_tests"));
    assert!(reasons("swaps_crate").contains("evcxr commands"), "{}", reasons("swaps_crate"));
    assert!(reasons("symlinked").contains("symbolic link"), "{}", reasons("symlinked"));
    assert!(reasons("shadows_module").contains("defines `lab01`"), "{}", reasons("shadows_module"));
    for forger in ["reads_build_folder", "rewrites_tests", "thread_prints"] {
        let why = reasons(forger);
        assert!(
            why.contains("failed:") || why.contains("ran out of time") || why.contains("not run"),
            "{forger}: {why}"
        );
    }
    assert!(reasons("probes_sandbox").contains("leaked: []"), "{}", reasons("probes_sandbox"));
    // As root the kernel runs as nobody, and its build shares the warm build's compiled crates, read-only to it
    // (the probe tried to open each for writing, and every file of the warm build is the grader's); an ordinary
    // user's runs get copies.
    let shared = shared_crates(&reasons("probes_sandbox"));
    assert_eq!(shared > 0, unsafe { libc::geteuid() } == 0, "{shared} shared: {}", reasons("probes_sandbox"));
    if shared > 0 {
        assert_warm_build_is_the_graders(&out);
    }
    assert!(!root().join("src/pwned.rs").exists(), "a submission wrote into the crate");
    // Nothing in any feedback shows the hidden tests' code or the host's secrets.
    for (student, _) in &expected {
        let md = reasons(student);
        assert!(!md.contains("BIASLAB-RESULT") && !md.contains("hf_not_for_students"), "{student}: {md}");
        assert!(!md.contains("TopK::from_words(\"A [MASK].\""), "{student} sees a hidden test: {md}");
    }
    let log = out.join("instructor/floods_log/lab01/logs").join(format!("{NOTEBOOK}.log"));
    let size = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    assert!(size <= (4 << 20) + 4096, "the flooded log is {size} bytes");
    assert!(!out.join("pwned.txt").exists(), "a submission wrote into the grading output");
    let solution: Value = read(&out.join("results/solution/lab01.json"));
    assert_eq!(solution["score"], 2.0);

    // Resume: a finished result is reused; a lost one is graded again.
    std::fs::remove_file(out.join("results/blank/lab01.json")).unwrap();
    let before = std::fs::read_to_string(out.join("gradebook.csv")).unwrap();
    let second = grade(&submitted, &out);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains(&format!("1 graded, {} reused", expected.len() - 1)), "{stderr}");
    assert_eq!(std::fs::read_to_string(out.join("gradebook.csv")).unwrap(), before);

    // The written answer, graded by hand: the instructor's page shows each answer beside the rubric; the scores come
    // back as a CSV, every row checked before anything runs, and go into the totals and the feedback.
    assert!(reasons("solution").contains("written answers still to be graded by hand"), "{}", reasons("solution"));
    let page = std::fs::read_to_string(out.join("hand-grading/lab01.html")).unwrap();
    let written = cell_index(&solution_nb(), "written-answer");
    let model_answer = solution_nb()["cells"][written]["source"].as_str().unwrap().to_string();
    assert!(page.contains("1 point: traces the difference to the training text"), "the rubric is on the page");
    assert!(page.contains("data-student=\"blank\"") && page.contains("(no answer written)"));
    assert!(page.contains(&model_answer[..60]), "the solution's answer is on the page");
    let template = std::fs::read_to_string(out.join("hand-grading/lab01.csv")).unwrap();
    assert!(template.starts_with("student_id,assignment,notebook,grade_id,score,comment\n"), "{template}");
    assert_eq!(template.lines().count(), 1 + expected.len(), "one row per student: {template}");
    let scores = dir.path().join("scores.csv");
    let header = "student_id,assignment,notebook,grade_id,score,comment\n";
    std::fs::write(&scores, format!("{header}solution,lab01,{NOTEBOOK},written-answer,3,\n")).unwrap();
    let refused = grade_command(&submitted, &out, &["--hand-scores".as_ref(), scores.as_os_str()]).output().unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("line 2: the score 3 is outside 0 to 2"), "{stderr}");
    std::fs::write(
        &scores,
        format!("{header}solution,lab01,{NOTEBOOK},written-answer,1.5,\"Clear; name the evidence, too.\"\nblank,lab01,01_fill_mask_bias,written-answer,0,Nothing written.\nfake_pass,lab01,{NOTEBOOK},written-answer,,\n"),
    )
    .unwrap();
    let imported = grade_with(
        &submitted,
        &out,
        &["--jobs", "2", "--cell-timeout", "60", "--time-limit", "900", "--hand-scores", scores.to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&imported.stderr);
    assert!(
        stderr.contains(&format!("0 graded, {} reused", expected.len())) && stderr.contains("2 hand score(s) imported"),
        "{stderr}"
    );
    let csv = std::fs::read_to_string(out.join("gradebook.csv")).unwrap();
    let total = |student: &str| {
        csv.lines().find(|l| l.split(',').nth(3) == Some(student)).unwrap().split(',').nth(9).unwrap().to_string()
    };
    assert_eq!(total("solution"), "3.5", "{csv}");
    assert_eq!(total("blank"), "0.0", "{csv}");
    assert_eq!(total("fake_pass"), "0.0", "an empty score is not graded yet: {csv}");
    let md = reasons("solution");
    assert!(md.contains("Score: **3.5 / 4**") && !md.contains("still to be graded"), "{md}");
    assert!(md.contains("| `written-answer` | 1.5 / 2 | ✎ graded by hand |"), "{md}");
    assert!(md.contains("your instructor's comment\n\nClear; name the evidence, too."), "{md}");
    let html = std::fs::read_to_string(out.join("feedback/solution/lab01/01_fill_mask_bias.html")).unwrap();
    assert!(html.contains("Clear; name the evidence, too."), "{html}");
    let result: Value = read(&out.join("results/solution/lab01.json"));
    assert_eq!(result["score"], 3.5);
    assert!(reasons("fake_pass").contains("still to be graded by hand"), "{}", reasons("fake_pass"));
    assert!(std::fs::read_to_string(out.join("hand-grading/lab01.csv"))
        .unwrap()
        .contains("solution,lab01,01_fill_mask_bias.ipynb,written-answer,1.5,"));

    // The whole-submission time limit: a submission that never ends (each cell within its own timeout) is stopped,
    // everything it started killed, and its tests scored 0 with the reason. (Same output folder: the build and the
    // expected answers are reused, so only this submission runs.)
    let late = dir.path().join("late");
    write(&late, "sleeper", &only_in("    loop { std::thread::sleep(std::time::Duration::from_secs(1)); }"));
    let started = std::time::Instant::now();
    grade_with(&late, &out, &["--jobs", "1", "--cell-timeout", "600", "--time-limit", "30"]);
    assert!(started.elapsed().as_secs() < 300, "the run took {:?}", started.elapsed());
    let md = reasons("sleeper");
    assert!(md.contains("Score: **0 / 4**") && md.contains("ran past its time limit (30 s)"), "{md}");
}
