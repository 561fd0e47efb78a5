//! `biaslab grade` run by an ordinary user: the sandbox's other path (a user namespace of the grader's own user, no
//! capabilities, `RLIMIT_NPROC` instead of a cgroup), which a grader running as root never takes. When this test
//! runs as root (as CI does), it runs the grader as the user `nobody`: in a mount namespace where each folder of
//! root's that the grading needs (the crate, the toolchain, `$CARGO_HOME`, Python, the shared data) is reachable,
//! and nothing else of root's is. Also checked here: the output a cell keeps is bounded, and the working folders
//! a submission leaves unwritable are still removed.
//!
//! Named so that `cargo test` runs it after `tests/sandbox_grading.rs` (test targets run in alphabetical order).

mod common;

use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::grading::*;

/// The user the grader runs as when this test runs as root: `nobody`.
const ORDINARY: u32 = 65534;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `path` and everything below it, made the ordinary user's (links themselves, not what they point to).
fn give_away(path: &Path) {
    std::os::unix::fs::lchown(path, Some(ORDINARY), Some(ORDINARY)).unwrap();
    if std::fs::symlink_metadata(path).unwrap().is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            give_away(&entry.unwrap().path());
        }
    }
}

fn program_dir(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find(|dir| dir.join(program).is_file())
}

/// `command`, run as [`ORDINARY`] when this test runs as root; as it is otherwise. `needs` are the folders of root's
/// the grader must reach.
fn as_ordinary_user(command: Command, needs: &[PathBuf], home: &Path) -> Command {
    if !is_root() {
        return command;
    }
    // The topmost folder above each needed one that other users cannot enter (e.g. /root, mode 0700) is covered
    // by an empty folder anyone can enter, and the needed folders are mounted back at their own paths below it.
    let mut args: Vec<OsString> = ["--dev-bind", "/", "/"].map(OsString::from).to_vec();
    let mut covered: Vec<PathBuf> = Vec::new();
    let mut made: Vec<PathBuf> = Vec::new();
    for need in needs.iter().filter_map(|p| p.canonicalize().ok()) {
        let closed = need
            .ancestors()
            .skip(1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .find(|dir| std::fs::metadata(dir).is_ok_and(|m| m.mode() & 0o001 == 0 && m.uid() != ORDINARY));
        let Some(closed) = closed.map(Path::to_path_buf) else { continue };
        if !covered.iter().any(|c| closed.starts_with(c)) {
            args.extend(["--perms", "0755", "--tmpfs"].map(OsString::from));
            args.push(closed.clone().into());
            covered.push(closed.clone());
        }
        let between: Vec<PathBuf> =
            need.ancestors().skip(1).take_while(|dir| *dir != closed).map(Path::to_path_buf).collect();
        for dir in between.into_iter().rev() {
            if made.contains(&dir) {
                continue;
            }
            args.extend(["--perms", "0755", "--dir"].map(OsString::from));
            args.push(dir.clone().into());
            made.push(dir);
        }
        args.extend([OsString::from("--bind"), need.clone().into(), need.clone().into()]);
        made.push(need);
    }
    let id = ORDINARY.to_string();
    args.extend(
        ["--", "setpriv", &format!("--reuid={id}"), &format!("--regid={id}"), "--clear-groups"].map(OsString::from),
    );
    args.extend(["--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"].map(OsString::from));
    args.push(command.get_program().into());
    args.extend(command.get_args().map(OsString::from));
    let mut wrapped = Command::new("bwrap");
    wrapped.args(args).env("HOME", home);
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => wrapped.env(name, value),
            None => wrapped.env_remove(name),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        wrapped.current_dir(dir);
    }
    wrapped
}

#[test]
fn an_ordinary_user_grades_in_a_user_namespace_with_no_capabilities_and_bounded_cell_output() {
    let dir = tempfile::tempdir().unwrap();
    let submitted = dir.path().join("submitted");
    let out = dir.path().join("out");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();

    write(&submitted, "solution", &read(&root().join("solutions").join(NOTEBOOK)));
    write(&submitted, "probes_sandbox", &only_in(&sandbox_probe(&out)));
    // A right answer that prints 2 MiB each time it is called, after a cell of its own that prints 3 MiB and leaves
    // folders nobody may write in its working folder and in evcxr's build folder.
    write(
        &submitted,
        "floods_and_locks",
        &with_added_cell(
            &format!("    print!(\"{{}}\", \"y\".repeat(2 << 20));\n    {CORRECT}"),
            r#"use std::os::unix::fs::PermissionsExt;
for dir in ["locked/inner".to_string(), format!("{}/locked/inner", std::env::var("EVCXR_TMPDIR").unwrap_or_default())] {
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(format!("{dir}/file"), "x");
    let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o000));
    let _ = std::fs::set_permissions(dir.trim_end_matches("/inner"), std::fs::Permissions::from_mode(0o500));
}
for _ in 0..3 { println!("{}", "x".repeat(1 << 20)); }"#,
        ),
    );
    let expected = [("floods_and_locks", 2.0), ("probes_sandbox", 0.0), ("solution", 2.0)];
    if is_root() {
        give_away(dir.path());
    }

    let command = grade_command(
        &submitted,
        &out,
        &["--jobs", "2", "--cell-timeout", "120", "--time-limit", "900"].map(std::ffi::OsStr::new),
    );
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cargo"));
    let rustup_home = std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".rustup"));
    let python_home = Command::new(root().join(".venv/bin/python"))
        .args(["-c", "import sys; print(sys.base_prefix)"])
        .output()
        .unwrap();
    let mut needs = vec![
        root(),
        PathBuf::from(env!("CARGO_BIN_EXE_biaslab")).parent().unwrap().to_path_buf(),
        cargo_home.clone(),
        rustup_home.clone(),
        common::shared_dir(),
        PathBuf::from(String::from_utf8(python_home.stdout).unwrap().trim()),
        dir.path().to_path_buf(),
    ];
    needs.extend(["cargo", "rustc", "evcxr_jupyter", "setpriv", "bwrap"].into_iter().filter_map(program_dir));
    let mut command = as_ordinary_user(command, &needs, &home);
    command.env("CARGO_HOME", &cargo_home).env("RUSTUP_HOME", &rustup_home);
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "biaslab grade as an ordinary user failed\nstdout:\n{}\nstderr:\n{stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(stderr.contains("3 graded, 0 reused") && !stderr.contains("warning:"), "{stderr}");

    let reasons = |student: &str| {
        std::fs::read_to_string(out.join(format!("feedback/{student}/lab01/01_fill_mask_bias.md"))).unwrap()
    };
    for (student, score) in expected {
        let result = read(&out.join(format!("results/{student}/lab01.json")));
        assert_eq!(result["score"], score, "{student}: {}", reasons(student));
    }
    let probe = reasons("probes_sandbox");
    assert!(probe.contains("leaked: []") && probe.contains("user namespace of its own: true"), "{probe}");
    assert_eq!(shared_crates(&probe), 0, "a kernel of the grader's own user shares nothing with other runs: {probe}");
    assert!(!root().join("src/pwned.rs").exists(), "a submission wrote into the crate");
    // Each cell kept at most 1 MiB of its output (and the results after it): the answer still scores, and says so.
    let flood = reasons("floods_and_locks");
    assert!(flood.contains("bytes of this cell's output were dropped"), "{flood}");
    let executed = out.join(format!("instructor/floods_and_locks/lab01/executed/{NOTEBOOK}"));
    let size = std::fs::metadata(&executed).unwrap().len();
    assert!(size < 4 << 20, "the executed notebook kept {size} bytes");
    // Every run's working folder is gone, the unwritable ones too.
    let runs = out.join(".biaslab/runs");
    assert!(!runs.exists() || std::fs::read_dir(&runs).unwrap().next().is_none(), "left behind: {runs:?}");
}
