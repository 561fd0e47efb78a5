//! The notebooks' kernel (`lab/kernel.py`): every kernel starts from the build of biaslab that `lab/setup.sh`
//! prepared, never runs stale code after biaslab's source is edited, and two kernels started at the same moment
//! both work, and a kernel started where the notebooks are warms up before the student's first cell.
//!
//! Needs what `bash lab/setup.sh --no-open` sets up (Jupyter, evcxr and the prepared build); without it the tests
//! fail and say so.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The notebooks' first cell (lab 01's), as students run it.
fn first_cell() -> String {
    common::first_code_cell(&root().join("notebooks/01_fill_mask_bias.ipynb"))
}

/// A notebook of code cells, in the notebooks' kernel.
fn notebook(cells: &[&str]) -> Value {
    let cells: Vec<Value> = cells
        .iter()
        .map(|source| json!({"cell_type": "code", "metadata": {}, "source": source, "outputs": [], "execution_count": null}))
        .collect();
    json!({
        "cells": cells,
        "metadata": {"kernelspec": {"name": common::KERNEL, "display_name": "Rust (biaslab)", "language": "rust"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    })
}

/// Runs `notebook` (a file in the notebooks' folder of a checkout) headless; the executed notebook, or nbconvert's
/// complaint. `jupyter_path` adds a folder of kernel specifications (a copy's own kernel).
fn execute(notebook: &Path, jupyter_path: Option<&Path>) -> Result<Value, String> {
    let mut command = Command::new(common::jupyter());
    if let Some(dir) = jupyter_path {
        command.env("JUPYTER_PATH", dir);
    }
    let output = command
        .args(["nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.timeout=1800"])
        .arg(format!("--ExecutePreprocessor.kernel_name={}", common::KERNEL))
        .arg("--output")
        .arg(format!("{}.out", notebook.file_stem().unwrap().to_string_lossy()))
        .arg(notebook)
        .env("BIASLAB_MODEL", "demo")
        .output()
        .map_err(|err| format!("cannot run nbconvert: {err}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let useful: Vec<&str> = stderr.lines().filter(|l| !l.trim_start().starts_with("Compiling")).collect();
        return Err(useful[useful.len().saturating_sub(40)..].join("\n"));
    }
    biaslab::notebook::read(
        &notebook.with_file_name(format!("{}.out.ipynb", notebook.file_stem().unwrap().to_string_lossy())),
    )
    .map_err(|err| err.to_string())
}

/// All the text a notebook's cells printed.
fn printed(executed: &Value) -> String {
    let mut all = String::new();
    for cell in executed["cells"].as_array().unwrap() {
        for output in cell["outputs"].as_array().into_iter().flatten() {
            for field in [&output["text"], &output["data"]["text/plain"]] {
                match field {
                    Value::String(s) => all.push_str(s),
                    Value::Array(lines) => lines.iter().filter_map(Value::as_str).for_each(|l| all.push_str(l)),
                    _ => {}
                }
            }
        }
    }
    all
}

/// The set-up's Python (`.venv`, with Jupyter's client and the launcher's imports), else `python3`.
fn python() -> PathBuf {
    let venv = root().join(".venv/bin/python");
    if venv.is_file() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

fn write(path: &Path, notebook: &Value) {
    std::fs::write(path, serde_json::to_string_pretty(notebook).unwrap()).unwrap();
}

fn kernel_copies() -> usize {
    std::fs::read_dir(root().join("target/kernel/kernels")).map(|d| d.count()).unwrap_or(0)
}

/// Files deleted when the test ends, however it ends.
struct Removed(Vec<PathBuf>);

impl Drop for Removed {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Files of the prepared build (not rustc's incremental state) modified after it was prepared: a kernel wrote into
/// the build every kernel shares (through a hard link of its copy).
fn written_since_prepared() -> Vec<PathBuf> {
    let build = root().join("target/kernel/build");
    let prepared = std::fs::metadata(root().join("target/kernel/build.key")).and_then(|m| m.modified()).unwrap();
    let mut written = Vec::new();
    let mut stack = vec![build];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let (path, kind) = (entry.path(), entry.file_type().unwrap());
            if kind.is_dir() && entry.file_name() != "incremental" {
                stack.push(path);
            } else if kind.is_file() && entry.metadata().unwrap().modified().unwrap() > prepared {
                written.push(path);
            }
        }
    }
    written
}

/// Run under `cargo test`, with the variables cargo sets for a test in the environment (the launcher removes them:
/// a build script watching one would otherwise make the kernel's cargo compile half the build again).
#[test]
fn two_kernels_started_at_the_same_moment_both_work() {
    let jupyter = common::jupyter();
    common::require_kernel(&jupyter);
    assert!(std::env::var_os("CARGO_PKG_NAME").is_some(), "run by cargo test, with cargo's variables");
    let before = kernel_copies();
    let cells = [first_cell(), "println!(\"{}\", biaslab::words::OCCUPATIONS.len());".to_string()];
    // In the notebooks' folder itself, where `path = ".."` names this checkout, as in the lab; removed on drop.
    let files = Removed(
        (0..2)
            .flat_map(|i| {
                let stem = format!(".kernel-test-{}-{i}", std::process::id());
                ["ipynb", "out.ipynb"].map(|ext| root().join("notebooks").join(format!("{stem}.{ext}")))
            })
            .collect(),
    );
    let paths: Vec<PathBuf> = files.0.iter().step_by(2).cloned().collect();
    for path in &paths {
        write(path, &notebook(&cells.iter().map(String::as_str).collect::<Vec<_>>()));
    }
    let results: Vec<Result<Value, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = paths.iter().map(|path| scope.spawn(move || execute(path, None))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, result) in results.into_iter().enumerate() {
        let executed = result.unwrap_or_else(|err| panic!("kernel {i} of two started together failed:\n{err}"));
        assert!(printed(&executed).contains("116"), "kernel {i}: {}", printed(&executed));
        let first = common::first_cell_seconds(&executed).map_or("?".into(), |s| format!("{s:.1}"));
        eprintln!("kernel {i} of two started together: first cell {first} s");
    }
    // Each kernel deletes its copy in the background as it ends: give that a minute.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while kernel_copies() > before && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    // At most as many as before: a kernel's start also removes copies that killed kernels left.
    assert!(kernel_copies() <= before, "a kernel left its copy of the build behind");
    assert_eq!(written_since_prepared(), Vec::<PathBuf>::new(), "kernels wrote into the prepared build they share");
}

/// A copy of this checkout (what the kernel and the set-up read), with its own registration of the kernel.
fn copy_checkout(to: &Path) -> PathBuf {
    for entry in ["Cargo.toml", "Cargo.lock", "src", "assets", "lab/kernel.py", "notebooks/01_fill_mask_bias.ipynb"] {
        let target = to.join(entry);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        let status = Command::new("cp").arg("-a").arg(root().join(entry)).arg(&target).status().unwrap();
        assert!(status.success(), "cannot copy {entry}");
    }
    let kernels = to.join("jupyter");
    let spec_dir = kernels.join("kernels").join(common::KERNEL);
    std::fs::create_dir_all(&spec_dir).unwrap();
    let installed = Command::new(common::jupyter()).args(["kernelspec", "list", "--json"]).output().unwrap();
    let specs: Value = serde_json::from_slice(&installed.stdout).unwrap();
    let mut spec = specs["kernelspecs"][common::KERNEL]["spec"].clone();
    let argv = spec["argv"].as_array_mut().unwrap();
    let launcher = argv.iter_mut().find(|a| a.as_str().is_some_and(|a| a.ends_with("kernel.py"))).unwrap();
    *launcher = Value::String(to.join("lab/kernel.py").display().to_string());
    std::fs::write(spec_dir.join("kernel.json"), serde_json::to_string_pretty(&spec).unwrap()).unwrap();
    kernels
}

// It compiles biaslab twice for evcxr (a few minutes): once to prepare the copy's build, once after the edit.
#[test]
fn a_new_kernel_runs_biaslab_as_edited_since_the_set_up() {
    let jupyter = common::jupyter();
    common::require_kernel(&jupyter);
    let copy = tempfile::Builder::new().prefix("biaslab-stale-").tempdir().unwrap();
    let jupyter_path = copy_checkout(copy.path());
    // Prepare the copy's build as lab/setup.sh does, starting from a copy of this checkout's prepared build: its
    // compiled dependencies are fresh wherever the folder is (as in every kernel's copy), and biaslab, a path
    // dependency in another folder, is compiled again. Without it the preparation compiles every dependency too
    // (about 4 more minutes on 2 cores).
    let prepared_here = root().join("target/kernel/build");
    assert!(prepared_here.is_dir(), "no prepared build in {}: run `bash lab/setup.sh`", prepared_here.display());
    std::fs::create_dir_all(copy.path().join("target/kernel")).unwrap();
    let copied =
        Command::new("cp").arg("-a").arg(&prepared_here).arg(copy.path().join("target/kernel/build")).status().unwrap();
    assert!(copied.success(), "cannot copy {}", prepared_here.display());
    let installed = Command::new(&jupyter).args(["kernelspec", "list", "--json"]).output().unwrap();
    let specs: Value = serde_json::from_slice(&installed.stdout).unwrap();
    let argv: Vec<String> =
        serde_json::from_value(specs["kernelspecs"][common::KERNEL]["spec"]["argv"].clone()).unwrap();
    let evcxr = argv.iter().position(|a| a == "--evcxr").map(|i| argv[i + 1].clone()).unwrap();
    let prepared = Command::new(&argv[0])
        .arg(copy.path().join("lab/kernel.py"))
        .args(["--evcxr", &evcxr, "--prepare"])
        .env("JUPYTER_PATH", &jupyter_path)
        .output()
        .unwrap();
    assert!(prepared.status.success(), "prepare failed: {}", String::from_utf8_lossy(&prepared.stderr));

    let probe = copy.path().join("notebooks/stale.ipynb");
    let cells = [first_cell(), "println!(\"stale-check: {}\", biaslab::words::is_occupation(\"stale-check\"));".into()];
    write(&probe, &notebook(&cells.iter().map(String::as_str).collect::<Vec<_>>()));
    let before = execute(&probe, Some(&jupyter_path)).unwrap_or_else(|err| panic!("the prepared copy failed:\n{err}"));
    assert!(printed(&before).contains("stale-check: false"), "{}", printed(&before));

    // Edit a function's output, as a developer would, and start a new kernel without preparing again.
    let words = copy.path().join("src/measure/words.rs");
    let source = std::fs::read_to_string(&words).unwrap();
    let edited = source.replace(
        "OCCUPATIONS.contains(&word.as_str())",
        "OCCUPATIONS.contains(&word.as_str()) || word == \"stale-check\"",
    );
    assert_ne!(edited, source, "src/measure/words.rs no longer has the line this test edits");
    std::fs::write(&words, edited).unwrap();
    let after = execute(&probe, Some(&jupyter_path)).unwrap_or_else(|err| panic!("the edited copy failed:\n{err}"));
    assert!(
        printed(&after).contains("stale-check: true"),
        "a new kernel ran biaslab as it was before the edit: {}",
        printed(&after)
    );
}

/// `lab/setup.sh` compiles the kernel's crates before evcxr is installed (`lab/kernel.py --prebuild`), for the
/// manifest evcxr will write and with the cargo command evcxr runs. Both must be evcxr's, or the preparation compiles
/// every crate a second time: the manifest is compared with the one the preparation left, and the command, run on a
/// kernel's copy of the prepared build (cargo writes its bookkeeping even when it compiles nothing, and the build is
/// shared), must find every crate fresh.
#[test]
fn the_set_up_compiles_the_kernels_crates_as_evcxr_will() {
    let prepared = std::fs::read_to_string(root().join("target/kernel/build/Cargo.toml"))
        .expect("no prepared build in target/kernel/build: run `bash lab/setup.sh --no-open`");
    let python = python();
    let script = r#"
import json, shutil, subprocess, sys, tempfile
sys.path.insert(0, "lab")
import kernel
sys.stdout.write(kernel.evcxr_manifest())
sys.stdout.write("\0")
with kernel.locked(shared=True):
    copy = tempfile.mkdtemp(prefix="prebuild-check-", dir=kernel.KERNEL_DIR)
    kernel.copy_build(kernel.TEMPLATE, copy)
try:
    argv, env = kernel.prebuild_invocation()
    done = subprocess.run(argv + ["--message-format=json"], cwd=copy, env=env, capture_output=True, text=True)
finally:
    shutil.rmtree(copy, ignore_errors=True)
for line in done.stdout.splitlines():
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and not message["fresh"]:
        print("compiled:", message["package_id"])
print("cargo exited with", done.returncode)
"#;
    let out = Command::new(&python).arg("-c").arg(script).current_dir(root()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let (manifest, report) = stdout.split_once('\0').unwrap();
    assert_eq!(manifest, prepared, "lab/kernel.py's evcxr_manifest is not the Cargo.toml evcxr wrote");
    assert_eq!(report.trim(), "cargo exited with 0", "the prebuild's cargo command is not evcxr's:\n{report}");
}

/// Talks to kernels as a student's JupyterLab would (jupyter_client), and prints what it saw as JSON: for a kernel
/// started in the notebooks' folder, the warm-up's request (seen on the kernel's broadcast channel, from its
/// client's header) and whether it failed, then what a student's first requests find; for a kernel started with
/// BIASLAB_KERNEL_WARM_UP=0, the number of the first cell.
///
/// The warm-up's own `execute_input` is not looked for: the launcher may send its request before this client's
/// subscription reaches the kernel, and a broadcast sent before that is lost (CI saw this on a busy machine). What
/// the first cell does is checked by its effect instead: the student's cell uses biaslab with no `:dep` of its own.
const WARM_UP_PROBE: &str = r#"
import json, os, sys
from jupyter_client.manager import start_new_kernel

notebooks = sys.argv[1]
seen = {}
manager, client = start_new_kernel(kernel_name="biaslab", cwd=notebooks, startup_timeout=300,
                                   env=dict(os.environ, BIASLAB_MODEL="demo"))
try:
    warm_id = None
    while True:  # the warm-up's request, to its idle (the kernel runs it within minutes); this client sent nothing
        message = client.get_iopub_msg(timeout=900)
        header = message["parent_header"]
        parent = header.get("msg_id")
        kind, content = message["msg_type"], message["content"]
        if warm_id is None and header.get("msg_type") == "execute_request":
            warm_id = parent  # another client's request: the launcher's
            seen["warm_up_seen"] = True
        if parent == warm_id and kind == "error":
            seen["warm_up_error"] = content["evalue"]
        elif parent == warm_id and kind == "status" and content["execution_state"] == "idle":
            break
    outputs = []
    reply = client.execute_interactive(":vars", timeout=600, output_hook=outputs.append)
    seen["first_count"] = reply["content"]["execution_count"]
    seen["vars_after_warm_up"] = "".join(o["content"].get("data", {}).get("text/plain", "") for o in outputs)
    errors = []
    reply = client.execute_interactive(
        "let mine = biaslab::words::OCCUPATIONS.len();", timeout=600,
        output_hook=lambda o: errors.append(o["content"].get("evalue", "")) if o["msg_type"] == "error" else None)
    seen["student_cell"] = reply["content"]["status"]
    seen["student_cell_errors"] = errors
    outputs = []
    client.execute_interactive(":vars", timeout=600, output_hook=outputs.append)
    seen["vars_after_a_cell"] = "".join(o["content"].get("data", {}).get("text/plain", "") for o in outputs)
finally:
    client.stop_channels()
    manager.shutdown_kernel(now=True)
manager, client = start_new_kernel(kernel_name="biaslab", cwd=notebooks, startup_timeout=300,
                                   env=dict(os.environ, BIASLAB_KERNEL_WARM_UP="0"))
try:
    reply = client.execute_interactive(":vars", timeout=600, output_hook=lambda _: None)
    seen["cold_first_count"] = reply["content"]["execution_count"]
finally:
    client.stop_channels()
    manager.shutdown_kernel(now=True)
print(json.dumps(seen))
"#;

/// A kernel started where the notebooks are warms up at once (the first cell, and evcxr's rust-analyzer loaded):
/// the student's first request finds that done, the kernel's variables as the first cell alone leaves them, and
/// its own cells work as always. BIASLAB_KERNEL_WARM_UP=0 turns the warm-up off.
#[test]
fn a_kernel_in_the_notebooks_folder_warms_up_and_leaves_nothing_behind() {
    let jupyter = common::jupyter();
    common::require_kernel(&jupyter);
    let python = python();
    let output = Command::new(&python)
        .args(["-c", WARM_UP_PROBE])
        .arg(root().join("notebooks"))
        .output()
        .unwrap_or_else(|err| panic!("cannot run {}: {err}", python.display()));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the probe failed:\n{stderr}");
    // The kernels share the probe's standard output (evcxr prints a line there as it starts): the JSON is the last.
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let seen: Value = serde_json::from_str(last).unwrap_or_else(|err| panic!("{err}:\n{stdout}\n{stderr}"));
    assert_eq!(seen["warm_up_seen"], true, "another client's request, the warm-up's, was seen: {seen}");
    assert!(seen.get("warm_up_error").is_none(), "the warm-up failed: {seen}");
    assert_eq!(seen["first_count"], 3, "the student's first cell comes after the warm-up's one: {seen}");
    assert_eq!(seen["vars_after_warm_up"], "", "the warm-up left a variable: {seen}");
    // The first cell is `:dep biaslab = …`: a student's cell that uses biaslab without it works only if the
    // warm-up ran that cell.
    assert!(first_cell().starts_with(":dep biaslab "), "notebook 01's first cell changed: update this test");
    assert_eq!(seen["student_cell"], "ok", "a cell using biaslab after the warm-up: {seen}");
    assert_eq!(seen["vars_after_a_cell"], "mine: usize\n", "{seen}");
    assert_eq!(seen["cold_first_count"], 2, "BIASLAB_KERNEL_WARM_UP=0: no warm-up before the first cell: {seen}");
}
