//! The graded class's building blocks, shared by `tests/sandbox_grading.rs` and `tests/sandbox_unprivileged.rs`:
//! lab 01's notebooks with an answer put in, and the `biaslab grade` command line.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The graded notebook, its answer cell and the cell of hidden tests that checks it.
pub const NOTEBOOK: &str = "01_fill_mask_bias.ipynb";
pub const ANSWER_CELL: &str = "only_in";
pub const TEST_CELL: &str = "only_in_tests";

/// The crate's folder.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A JSON file.
pub fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The index of the cell whose nbgrader `grade_id` is `id`.
pub fn cell_index(nb: &Value, id: &str) -> usize {
    nb["cells"].as_array().unwrap().iter().position(|c| c["metadata"]["nbgrader"]["grade_id"] == id).unwrap()
}

/// The released notebook with the answer cell's source replaced.
pub fn answering(body: &str) -> Value {
    let mut nb = read(&root().join("notebooks").join(NOTEBOOK));
    let i = cell_index(&nb, ANSWER_CELL);
    nb["cells"][i]["source"] = Value::String(body.to_string());
    nb
}

/// The released notebook with `body` as the body of the student's `only_in`.
pub fn only_in(body: &str) -> Value {
    answering(&format!("fn only_in(a: &TopK, b: &TopK) -> Vec<String> {{\n{body}\n}}"))
}

/// The released notebook with a code cell of the student's own added right after the answer cell.
pub fn with_added_cell(answer_body: &str, added: &str) -> Value {
    let mut nb = only_in(answer_body);
    let at = cell_index(&nb, ANSWER_CELL) + 1;
    let cell = serde_json::json!({"cell_type": "code", "metadata": {}, "source": added, "outputs": [], "execution_count": null});
    nb["cells"].as_array_mut().unwrap().insert(at, cell);
    nb
}

/// Puts `nb` in nbgrader's submitted layout: `class/<student>/lab01/01_fill_mask_bias.ipynb`.
pub fn write(class: &Path, student: &str, nb: &Value) {
    let dir = class.join(student).join("lab01");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(NOTEBOOK), serde_json::to_string_pretty(nb).unwrap()).unwrap();
}

/// A right `only_in`.
pub const CORRECT: &str = "a.occupations().into_iter().filter(|w| !b.contains(w)).map(String::from).collect()";

/// The body of an `only_in` answer that checks its own sandbox and prints what it found (`leaked: [...]`): the
/// answer is right only if the code kept a capability, read a secret of the host (`/etc/shadow`, the Hugging Face
/// token [`grade_command`] puts beside `out`, a registry token) or could write into the crate's `src/` or into a
/// compiled crate its build folder shares with other runs (a hard link to another user's file; it also prints how
/// many it shares). That every shared file is the grader's is checked from outside: [`assert_warm_build_is_the_graders`].
pub fn sandbox_probe(out: &Path) -> String {
    format!(
        r#"    let mut leaked: Vec<String> = Vec::new();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if status.lines().any(|l| l.starts_with("CapEff:") && l.split_whitespace().nth(1).is_some_and(|c| c.trim_start_matches('0') != "")) {{
        leaked.push("a capability".into());
    }}
    for secret in ["/etc/shadow", {token:?}, {credentials:?}] {{
        if std::fs::read(secret).is_ok() {{ leaked.push(secret.into()); }}
    }}
    let src = {src:?};
    let remounted = std::process::Command::new("mount").args(["-o", "remount,rw,bind", src]).status().is_ok_and(|s| s.success());
    if remounted || std::fs::write(format!("{{src}}/pwned.rs"), "x").is_ok() {{ leaked.push("the crate's src/".into()); }}
    // Compiled crates this run's build folder shares with the warm build: hard links to another user's files (rustc
    // links files of its own in the run too, the kernel user's), never writable.
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let me: u32 = status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|l| l.split_whitespace().next()).and_then(|u| u.parse().ok()).expect("own uid");
    let (mut shared, mut folders) = (0, vec![std::path::PathBuf::from(std::env::var("EVCXR_TMPDIR").unwrap_or_default())]);
    while let Some(folder) = folders.pop() {{
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {{
            let Ok(meta) = std::fs::symlink_metadata(entry.path()) else {{ continue }};
            if meta.is_dir() {{ folders.push(entry.path()); }}
            use std::os::unix::fs::MetadataExt;
            if meta.is_file() && meta.nlink() > 1 && meta.uid() != me {{
                shared += 1;
                if std::fs::OpenOptions::new().append(true).open(entry.path()).is_ok() {{ leaked.push(format!("{{}}", entry.path().display())); }}
            }}
        }}
    }}
    println!("compiled crates shared with other runs: {{shared}}");
    let uid_map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    println!("user namespace of its own: {{}}", uid_map.split_whitespace().collect::<Vec<_>>() != ["0", "0", "4294967295"]);
    println!("leaked: {{leaked:?}}");
    if leaked.is_empty() {{ Vec::new() }} else {{ {CORRECT} }}"#,
        token = out.parent().unwrap().join("hf/token"),
        credentials = std::env::var("CARGO_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cargo"))
            .join("credentials.toml"),
        src = root().join("src"),
    )
}

/// Every file and folder of the warm build in `out` (which runs' copies link to) belongs to the grader and is not
/// writable by anyone else: a link to any of them in a run's copy is read-only to the kernel.
pub fn assert_warm_build_is_the_graders(out: &Path) {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let build = out.join(".biaslab/evcxr-build");
    let (mut folders, mut seen) = (vec![build.clone()], 0);
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.file_type().is_symlink() {
                continue;
            }
            assert_eq!(meta.uid(), me, "not the grader's: {}", path.display());
            assert_eq!(meta.mode() & 0o022, 0, "writable by others: {} ({:o})", path.display(), meta.mode());
            if meta.is_dir() {
                folders.push(path);
            }
            seen += 1;
        }
    }
    assert!(seen > 1000, "the warm build {} holds only {seen} entries", build.display());
}

/// How many compiled crates [`sandbox_probe`] found shared with other runs, from its feedback.
pub fn shared_crates(feedback: &str) -> usize {
    let line = feedback.lines().find_map(|l| l.split("compiled crates shared with other runs: ").nth(1));
    line.and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("the probe's count is not in its feedback: {feedback}"))
}

/// `output` of a `biaslab grade` run (`what`), which must have succeeded; its stdout and stderr otherwise, with what
/// grading needs.
pub fn succeeded(output: std::process::Output, what: &str) -> std::process::Output {
    assert!(
        output.status.success(),
        "{what} failed (needs bubblewrap: `apt install bubblewrap`; Jupyter and evcxr: `bash lab/setup.sh`)\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `biaslab grade SUBMITTED --source solutions --out OUT ARGS…`, with the demo model, a Python for the demo
/// encoder and a Hugging Face home holding a token no submission may read.
pub fn grade_command(submitted: &Path, out: &Path, args: &[&std::ffi::OsStr]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_biaslab"));
    command
        .arg("grade")
        .arg(submitted)
        .arg("--source")
        .arg(root().join("solutions"))
        .arg("--out")
        .arg(out)
        .args(args)
        .current_dir(root());
    if std::env::var_os("BIASLAB_MODEL").is_none() {
        command.env("BIASLAB_MODEL", "demo");
    }
    if std::env::var_os("BIASLAB_MINILM_DIR").is_none() {
        command.env("BIASLAB_MINILM_DIR", super::shared_dir().join("models/all-MiniLM-L6-v2"));
    }
    // The benchmark data (lab 05's CrowS-Pairs) from the shared folder, as nothing can be downloaded here.
    if std::env::var_os("BIASLAB_DATA_DIR").is_none() {
        command.env("BIASLAB_DATA_DIR", super::shared_dir().join("data"));
    }
    if std::env::var_os("BIASLAB_PYTHON").is_none() {
        command.env("BIASLAB_PYTHON", root().join(".venv/bin/python"));
    }
    // A Hugging Face home with an access token in it, which no submission may read.
    let hf = out.parent().unwrap().join("hf");
    std::fs::create_dir_all(hf.join("hub")).unwrap();
    std::fs::write(hf.join("token"), "hf_not_for_students").unwrap();
    command.env("HF_HOME", &hf).env_remove("HF_HUB_CACHE");
    command
}
