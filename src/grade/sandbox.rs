//! Running a composed notebook in a fresh Rust kernel that cannot reach anything but its own work.
//!
//! Two layers, both made by bubblewrap (`bwrap`, the sandbox Flatpak uses; `apt install bubblewrap`):
//!
//! - the **driver** (`DRIVER`, Python with nbclient) runs in a network namespace of its own: it talks to the
//!   kernel over a loopback that nothing else shares, and the kernel has no network at all;
//! - the **kernel** (evcxr_jupyter) runs in its own PID, IPC and mount namespaces with no capabilities, as an
//!   unprivileged user: the grader's own user in a user namespace, or, when the grader runs as root, the user
//!   `nobody` (`UNPRIVILEGED`, switched to by `setpriv` before the kernel starts, so that no file of root's is the
//!   kernel's own). It sees the system's programs and libraries, the Rust toolchain and the crate sources of
//!   `$CARGO_HOME` (its `bin/`, `registry/` and `git/`, never its credentials), the Hugging Face hub cache (not the
//!   token beside it), all read-only; the `biaslab` crate at its own path (its `Cargo.toml`, `Cargo.lock`, `src/`
//!   and `assets/` only, read-only), a writable working folder of its own and private copies of evcxr's
//!   compiled-crate cache and build folder ([`KernelDirs`]). It does not see the source notebooks, the expected
//!   results, the other submissions, the grading output or the home folder. Every process it starts dies with it.
//!
//! Limits: a time limit per cell (the driver's) and per submission (killed here), an address-space limit per
//! process, a file-size limit, a sized `/tmp`, a limit on the number of processes (a pids cgroup when run as root,
//! else `RLIMIT_NPROC`), and at most `LOG_LIMIT` bytes of the kernel's own output kept (it reaches the grader
//! through a pipe, never as a file the kernel could reopen).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::error::{Error, Result};

/// The kernel driver, written next to each run.
pub(crate) const DRIVER: &str = include_str!("driver.py");

/// The user (and group) the kernel runs as when the grader runs as root: `nobody`.
pub(crate) const UNPRIVILEGED: u32 = 65534;

/// How much of the driver's and kernel's own output (standard output and error, not the cells' outputs) is kept in
/// the run's log; the rest is counted and dropped.
pub(crate) const LOG_LIMIT: usize = 4 << 20;

/// How much output each cell keeps in a graded run (given to the driver as `BIASLAB_CELL_OUTPUT_LIMIT`): past it,
/// only the hidden tests' result lines and a cut error are kept, and the cell's `metadata.biaslab.dropped_output`
/// counts the rest.
pub(crate) const CELL_OUTPUT_LIMIT: u64 = 1 << 20;

/// The largest file the kernel may write (`RLIMIT_FSIZE`), and the size of its `/tmp`.
pub(crate) const FILE_LIMIT: u64 = 2 << 30;

/// The prepared build of `biaslab` for the notebooks' kernel (`lab/kernel.py --prepare`, run by `lab/setup.sh`),
/// relative to the crate. Inside the sandbox, evcxr's build folder is mounted at this path below the crate's own
/// path, and the crate at its own path: cargo's records of a build (dep-info, build-script outputs) name absolute
/// paths, so only there does a copy of the prepared build, or of the warm-up's, stay up to date, and no kernel
/// compiles `biaslab` or its dependencies again.
pub(crate) const PREPARED_BUILD: &str = "target/kernel/build";

/// What of the `biaslab` crate a kernel sees (read-only, at the crate's own path) and compiles; and the cargo
/// configuration `lab/kernel.py` writes beside the prepared build (the dependencies' profile: without it, cargo would
/// find the prepared build's crates compiled with other settings and compile every one again).
pub(crate) const CRATE_ENTRIES: [&str; 5] = ["Cargo.toml", "Cargo.lock", "src", "assets", "target/kernel/.cargo"];

/// The compiled state a kernel starts from and writes to. Trusted runs (the warm-up) share one; each untrusted run
/// gets private copies, so nothing a submission writes reaches another.
#[derive(Debug, Clone)]
pub struct KernelDirs {
    /// evcxr's cache of compiled crates from the registry, the kernel's `~/.cache/evcxr`.
    pub cache: PathBuf,
    /// evcxr's build folder, at [`Sandbox::build_mount`]: the crate it generates from the cells and its `target/`,
    /// where `biaslab` itself is compiled. evcxr does not cache a path dependency, so without this every kernel
    /// would compile `biaslab` again (about 80 s); a copy of a build folder a finished run left is up to date.
    pub build: PathBuf,
}

/// Limits for one submission.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest time one cell may run.
    pub cell_timeout: Duration,
    /// Longest time a whole submission may run.
    pub time_limit: Duration,
    /// Address space of each process, in bytes.
    pub memory: u64,
    /// Processes and threads at once.
    pub processes: u64,
    /// Compute threads of the kernel's tensor library (candle's thread pool: `RAYON_NUM_THREADS`).
    pub threads: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            cell_timeout: Duration::from_secs(600),
            time_limit: Duration::from_secs(1800),
            memory: 8 << 30,
            processes: 512,
            threads: crate::model::device::threads_per_job(1),
        }
    }
}

/// What a run left behind.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// Whether the submission was stopped at its time limit.
    pub killed: bool,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// The end of what the driver and kernel printed to stderr, for the instructor.
    pub log_tail: String,
}

/// The programs and folders a sandboxed run needs, found once.
#[derive(Debug, Clone)]
pub struct Sandbox {
    bwrap: PathBuf,
    /// `setpriv`, when the grader runs as root (the kernel then runs as [`UNPRIVILEGED`]).
    setpriv: Option<PathBuf>,
    /// Folders of the toolchain (`cargo`, `rustc`) on the grader's `PATH` that the sandbox's `PATH` must add.
    toolchain_dirs: Vec<PathBuf>,
    python: PathBuf,
    evcxr: PathBuf,
    crate_dir: PathBuf,
    home: PathBuf,
    cargo_home: PathBuf,
    rustup_home: PathBuf,
    encoder_dir: Option<PathBuf>,
    /// The Hugging Face hub cache (not all of `HF_HOME`, which also holds the user's access token): read-only.
    hub_cache: Option<PathBuf>,
    /// The benchmark data the notebooks read (`BIASLAB_DATA_DIR`), and biaslab's cache of downloaded data: both
    /// read-only, since a graded kernel has no network.
    data_dirs: Vec<(&'static str, PathBuf)>,
    pub(crate) limits: Limits,
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|p| p.is_file())
}

fn sandbox_error(message: impl Into<String>) -> Error {
    Error::Sandbox(message.into())
}

/// The Python that has nbclient: `BIASLAB_PYTHON`, the active virtual environment, `<crate>/.venv`, `python3`.
fn find_python(crate_dir: &Path) -> Result<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(python) = crate::env::path(crate::env::PYTHON) {
        candidates.push(python);
    }
    if let Some(venv) = crate::env::path("VIRTUAL_ENV") {
        candidates.push(venv.join("bin/python"));
    }
    candidates.push(crate_dir.join(".venv/bin/python"));
    candidates.push(PathBuf::from("python3"));
    for python in &candidates {
        let ok = Command::new(python)
            .args(["-c", "import nbclient, nbformat, jupyter_client"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Ok(python.clone());
        }
    }
    Err(sandbox_error(format!(
        "no Python with nbclient found (tried {}); run `bash lab/setup.sh`, or set BIASLAB_PYTHON",
        candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )))
}

impl Sandbox {
    /// Finds bubblewrap, the Python driver, the Rust kernel and the toolchain, and checks that the `biaslab` crate
    /// is at `crate_dir`.
    pub fn detect(crate_dir: &Path, limits: Limits) -> Result<Sandbox> {
        if !cfg!(target_os = "linux") {
            return Err(sandbox_error("grading runs student code in a Linux sandbox (bubblewrap); grade on Linux"));
        }
        let bwrap = which("bwrap").ok_or_else(|| {
            sandbox_error("bubblewrap (`bwrap`) is not installed; it keeps student code away from everything else on this machine. Install it: `sudo apt install bubblewrap` (Debian, Ubuntu) or `sudo dnf install bubblewrap`")
        })?;
        let crate_dir =
            crate_dir.canonicalize().map_err(|source| Error::Io { path: crate_dir.to_path_buf(), source })?;
        // SAFETY: geteuid has no preconditions.
        let setpriv = if unsafe { libc::geteuid() } == 0 {
            Some(which("setpriv").ok_or_else(|| {
                sandbox_error("grading as root runs each kernel as the user nobody, through `setpriv` (util-linux), which is not installed; install util-linux, or grade as an ordinary user")
            })?)
        } else {
            None
        };
        let manifest = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap_or_default();
        if !manifest.lines().any(|l| l.trim().replace(' ', "") == "name=\"biaslab\"") {
            return Err(sandbox_error(format!("{} is not the biaslab crate (pass --crate)", crate_dir.display())));
        }
        let evcxr = which("evcxr_jupyter")
            .ok_or_else(|| sandbox_error("the Rust kernel evcxr_jupyter is not on PATH; run `bash lab/setup.sh`"))?;
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .ok_or_else(|| sandbox_error("HOME is not set: set it to your home folder"))?;
        let cargo_home = std::env::var_os("CARGO_HOME").map(PathBuf::from).unwrap_or_else(|| home.join(".cargo"));
        let rustup_home = std::env::var_os("RUSTUP_HOME").map(PathBuf::from).unwrap_or_else(|| home.join(".rustup"));
        let encoder_dir =
            crate::model::demo::find_encoder().ok().and_then(|files| files.config.parent()?.canonicalize().ok());
        let hub_cache = Some(crate::model::hub::hub_cache_dir()).filter(|p| p.is_dir());
        let data_dirs = [
            (crate::env::DATA_DIR, crate::env::path(crate::env::DATA_DIR)),
            (crate::env::CACHE, Some(crate::env::cache_dir())),
        ]
        .into_iter()
        .filter_map(|(name, dir)| Some((name, dir?.canonicalize().ok()?)))
        .collect();
        // The toolchain as the user has it: wherever `cargo` and `rustc` are on PATH (a rustup installed elsewhere
        // than $CARGO_HOME/bin, a system Rust).
        let mut toolchain_dirs: Vec<PathBuf> = Vec::new();
        for program in ["cargo", "rustc"] {
            let dir = which(program).and_then(|p| p.parent().map(Path::to_path_buf));
            if let Some(dir) =
                dir.filter(|d| !d.starts_with("/usr") && !d.starts_with(&cargo_home) && !toolchain_dirs.contains(d))
            {
                toolchain_dirs.push(dir);
            }
        }
        Ok(Sandbox {
            python: find_python(&crate_dir)?,
            bwrap,
            setpriv,
            toolchain_dirs,
            evcxr,
            crate_dir,
            home,
            cargo_home,
            rustup_home,
            encoder_dir,
            hub_cache,
            data_dirs,
            limits,
        })
    }

    /// The limits runs get.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Where evcxr's build folder appears inside the sandbox (the kernel's `EVCXR_TMPDIR`): the path of the
    /// prepared build, `PREPARED_BUILD`.
    pub fn build_mount(&self) -> PathBuf {
        self.crate_dir.join(PREPARED_BUILD)
    }

    /// Whether a run's private copy of the build may share the warm build's compiled crates (hard links) instead
    /// of copying them (about 1 GB, 3 s of a submission's time here): only when the kernel runs as another user
    /// (`UNPRIVILEGED`), to whom those files, the grader's after [`Sandbox::reclaim`], are read-only. A grader that
    /// is not root runs the kernel as itself in a user namespace, where it owns the files and could write through a
    /// link into every later submission's build: its runs get copies.
    pub fn shares_compiled_crates(&self) -> bool {
        self.setpriv.is_some()
    }

    /// Gives the build and cache folders in `dirs` back to the grader after a trusted run (a run gives them to the
    /// kernel's user) and takes away others' write permission, so that links to them in a run's private copy are
    /// read-only to the kernel. Nothing to do when the kernel runs as the grader.
    pub fn reclaim(&self, dirs: &KernelDirs) -> Result<()> {
        if self.setpriv.is_none() {
            return Ok(());
        }
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        for dir in [&dirs.cache, &dirs.build] {
            if dir.exists() {
                chown_tree(dir, me, Linked::Take)
                    .and_then(|()| read_only_to_others(dir))
                    .map_err(|source| Error::Io { path: dir.clone(), source })?;
            }
        }
        Ok(())
    }

    /// A digest of what a kernel compiles and runs: every file of the crate that it sees (`CRATE_ENTRIES`), the
    /// prepared build's key (`lab/kernel.py` writes it: the toolchain, evcxr and the linker), the kernel driver and
    /// this grader's version. Anything graded or compiled with another digest is stale.
    pub fn crate_digest(&self) -> Result<String> {
        crate_digest(&self.crate_dir)
    }

    /// The kernel's command line: bubblewrap around evcxr_jupyter, with the mounts of the module documentation.
    fn kernel_argv(&self, work: &Path, dirs: &KernelDirs, runtime: &Path) -> Vec<String> {
        let mut a: Vec<String> = Vec::new();
        let mut arg = |parts: &[&str]| a.extend(parts.iter().map(|s| s.to_string()));
        let s = |p: &Path| p.display().to_string();
        if self.setpriv.is_none() {
            // Not root: a user namespace, the grader's own user inside it, and no capabilities there.
            arg(&["--unshare-user", "--cap-drop", "ALL"]);
        }
        arg(&["--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try"]);
        arg(&["--die-with-parent", "--new-session", "--ro-bind", "/usr", "/usr"]);
        for dir in ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"] {
            let path = Path::new(dir);
            match std::fs::read_link(path) {
                Ok(target) => arg(&["--symlink", &s(&target), dir]),
                Err(_) if path.is_dir() => arg(&["--ro-bind", dir, dir]),
                Err(_) => {}
            }
        }
        arg(&["--ro-bind", "/etc", "/etc", "--proc", "/proc", "--dev", "/dev"]);
        arg(&["--perms", "1777", "--size", &FILE_LIMIT.to_string(), "--tmpfs", "/tmp"]);
        arg(&["--perms", "0777", "--size", &(64u64 << 20).to_string(), "--tmpfs", &s(&self.home)]);
        if self.rustup_home.is_dir() {
            arg(&["--ro-bind", &s(&self.rustup_home), &s(&self.rustup_home)]);
        }
        // Of $CARGO_HOME, what cargo reads to build offline; never `credentials.toml` (a registry token). Over a
        // writable tmpfs (cargo takes its package-cache lock there; a $CARGO_HOME under /usr is hidden too).
        arg(&["--perms", "0777", "--size", &(16u64 << 20).to_string(), "--tmpfs", &s(&self.cargo_home)]);
        for entry in ["bin", "registry", "git", "config.toml", "config"] {
            let path = self.cargo_home.join(entry);
            if path.exists() {
                arg(&["--ro-bind", &s(&path), &s(&path)]);
            }
        }
        for dir in &self.toolchain_dirs {
            arg(&["--ro-bind", &s(dir), &s(dir)]);
        }
        if let Some(bin) = self.evcxr.parent().filter(|bin| !bin.starts_with(&self.cargo_home)) {
            arg(&["--ro-bind", &s(bin), &s(bin)]);
        }
        if let Some(hub) = &self.hub_cache {
            arg(&["--ro-bind", &s(hub), &s(hub)]);
        }
        if let Some(enc) = &self.encoder_dir {
            arg(&["--ro-bind", &s(enc), &s(enc)]);
        }
        for (_, dir) in &self.data_dirs {
            arg(&["--ro-bind", &s(dir), &s(dir)]);
        }
        arg(&["--bind", &s(&dirs.cache), &s(&self.home.join(".cache/evcxr"))]);
        let build = s(&self.build_mount());
        arg(&["--bind", &s(&dirs.build), &build]);
        for entry in CRATE_ENTRIES {
            let from = self.crate_dir.join(entry);
            if from.exists() {
                arg(&["--ro-bind", &s(&from), &s(&from)]);
            }
        }
        let notebooks = s(&self.crate_dir.join("notebooks"));
        arg(&["--bind", &s(work), &notebooks, "--chdir", &notebooks]);
        arg(&["--ro-bind", &s(runtime), &s(runtime)]);
        arg(&["--clearenv", "--setenv", "HOME", &s(&self.home), "--setenv", "TMPDIR", "/tmp"]);
        arg(&["--setenv", "EVCXR_TMPDIR", &build]);
        arg(&[
            "--setenv",
            "LANG",
            "C.UTF-8",
            "--setenv",
            "CARGO_NET_OFFLINE",
            "true",
            "--setenv",
            crate::env::HF_HUB_OFFLINE,
            "1",
        ]);
        let mut path: Vec<String> = vec![s(&self.cargo_home.join("bin"))];
        path.extend(self.toolchain_dirs.iter().map(|d| s(d)));
        path.extend(self.evcxr.parent().map(s));
        path.extend(["/usr/local/bin", "/usr/bin", "/bin"].map(String::from));
        let path = path.join(":");
        arg(&["--setenv", "PATH", &path]);
        arg(&["--setenv", "CARGO_HOME", &s(&self.cargo_home), "--setenv", "RUSTUP_HOME", &s(&self.rustup_home)]);
        arg(&["--setenv", crate::env::THREADS, &self.limits.threads.max(1).to_string()]);
        for passed in ["RUSTUP_TOOLCHAIN", crate::env::MODEL] {
            if let Ok(value) = std::env::var(passed) {
                arg(&["--setenv", passed, &value]);
            }
        }
        if let Some(hub) = &self.hub_cache {
            arg(&["--setenv", crate::model::hub::HF_HUB_CACHE, &s(hub)]);
        }
        if let Some(enc) = &self.encoder_dir {
            arg(&["--setenv", crate::model::demo::ENCODER_DIR_ENV, &s(enc)]);
        }
        for (name, dir) in &self.data_dirs {
            arg(&["--setenv", name, &s(dir)]);
        }
        let mut argv = vec![self.bwrap.display().to_string()];
        argv.extend(with_parent_dirs(a));
        if let Some(setpriv) = &self.setpriv {
            // Root outside: become `nobody`, with no capabilities that could ever come back, before the kernel runs.
            let id = UNPRIVILEGED.to_string();
            argv.extend([s(setpriv), format!("--reuid={id}"), format!("--regid={id}"), "--clear-groups".into()]);
            argv.extend(["--inh-caps=-all".into(), "--bounding-set=-all".into(), "--no-new-privs".into(), "--".into()]);
        }
        argv.extend([self.evcxr.display().to_string(), "--control_file".into(), "{connection_file}".into()]);
        argv
    }

    /// Runs `composed` in a fresh kernel and writes the executed notebook to `executed`. `run_dir` is this run's
    /// private folder (created; the working folder inside it is removed afterwards); `dirs` are the compiled state
    /// the kernel starts from and may write to (pass copies for untrusted code).
    pub fn run(&self, composed: &Path, executed: &Path, run_dir: &Path, dirs: &KernelDirs) -> Result<RunOutcome> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        let work = run_dir.join("work");
        let runtime = run_dir.join("runtime");
        let kernels = run_dir.join("kernels/biaslab-sandbox");
        for dir in [&work, &runtime, &kernels, &dirs.cache, &dirs.build] {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let spec = json!({
            "argv": self.kernel_argv(&work, dirs, &runtime),
            "display_name": "Rust (biaslab grading sandbox)",
            "language": "rust",
            "interrupt_mode": "message",
        });
        let spec_path = kernels.join("kernel.json");
        std::fs::write(&spec_path, serde_json::to_string_pretty(&spec).expect("JSON")).map_err(io(&spec_path))?;
        let driver = run_dir.join("driver.py");
        std::fs::write(&driver, DRIVER).map_err(io(&driver))?;
        let log_path = run_dir.join("kernel.log");
        let log = std::fs::File::create(&log_path).map_err(io(&log_path))?;
        let _ = std::fs::remove_file(executed);
        if self.setpriv.is_some() {
            // The kernel runs as `nobody`: what it writes must be its own (the connection file is the driver's to give).
            for dir in [&work, &runtime, &dirs.cache, &dirs.build] {
                chown_tree(dir, UNPRIVILEGED, Linked::Leave).map_err(io(dir))?;
            }
        }

        let mut command = Command::new(&self.bwrap);
        command
            .args(["--dev-bind", "/", "/", "--unshare-net", "--die-with-parent", "--"])
            .arg(&self.python)
            .arg(&driver)
            .arg(composed)
            .arg(executed)
            .arg("biaslab-sandbox")
            .arg(self.limits.cell_timeout.as_secs().max(1).to_string())
            .arg("120")
            .env("JUPYTER_PATH", run_dir)
            .env("JUPYTER_RUNTIME_DIR", &runtime)
            .env("JUPYTER_CONFIG_DIR", run_dir.join("config"))
            .env("JUPYTER_PLATFORM_DIRS", "1")
            .env("PYDEVD_DISABLE_FILE_VALIDATION", "1")
            .env(crate::env::CELL_OUTPUT_LIMIT, CELL_OUTPUT_LIMIT.to_string())
            .env(crate::env::RESULT_PREFIX, crate::teach::check::RESULT_PREFIX)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if self.setpriv.is_some() {
            command.env(crate::env::KERNEL_UID, UNPRIVILEGED.to_string());
        }
        let group = limits::ProcessGroup::new(&self.limits)?;
        group.apply(&mut command);
        let start = Instant::now();
        let mut child = command.spawn().map_err(|e| {
            sandbox_error(format!(
                "cannot start bwrap: {e}; check that `bwrap --version` runs, and reinstall bubblewrap if not"
            ))
        })?;
        // The kernel's own output reaches the log through pipes, and only its first LOG_LIMIT bytes are kept.
        let log = std::sync::Arc::new(std::sync::Mutex::new(BoundedLog { file: log, kept: 0, dropped: 0 }));
        let readers: Vec<_> = [
            child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>),
            child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        .map(|mut pipe| {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut buffer = vec![0u8; 64 << 10];
                while let Ok(n) = pipe.read(&mut buffer) {
                    if n == 0 {
                        break;
                    }
                    log.lock().expect("log").write(&buffer[..n]);
                }
            })
        })
        .collect();
        let mut killed = false;
        loop {
            if child.try_wait().map_err(io(&self.bwrap))?.is_some() {
                break;
            }
            if start.elapsed() > self.limits.time_limit {
                killed = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        // Whether it ended or ran out of time: nothing the run started outlives it.
        group.kill(child.id());
        let _ = child.wait();
        for reader in readers {
            let _ = reader.join();
        }
        log.lock().expect("log").finish();
        let seconds = start.elapsed().as_secs_f64();
        let _ = super::remove_tree(&work);
        let mut log_text = String::new();
        if let Ok(mut file) = std::fs::File::open(&log_path) {
            let _ = file.read_to_string(&mut log_text);
        }
        let tail: Vec<&str> = log_text.lines().rev().take(30).collect();
        let log_tail = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
        Ok(RunOutcome { killed, seconds, log_tail })
    }
}

/// [`Sandbox::crate_digest`] of the crate at `crate_dir`.
pub(crate) fn crate_digest(crate_dir: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    fn walk(base: &Path, path: &Path, sha: &mut Sha256) -> std::io::Result<()> {
        let meta = std::fs::symlink_metadata(path)?;
        sha.update(path.strip_prefix(base).unwrap_or(path).as_os_str().as_encoded_bytes());
        sha.update([0]);
        if meta.is_dir() {
            let mut entries: Vec<PathBuf> =
                std::fs::read_dir(path)?.map(|e| e.map(|e| e.path())).collect::<std::io::Result<_>>()?;
            entries.sort();
            for entry in entries {
                walk(base, &entry, sha)?;
            }
        } else if meta.is_file() {
            let bytes = std::fs::read(path)?;
            sha.update((bytes.len() as u64).to_le_bytes());
            sha.update(bytes);
        } else if meta.file_type().is_symlink() {
            sha.update(std::fs::read_link(path)?.as_os_str().as_encoded_bytes());
        }
        Ok(())
    }
    let mut sha = Sha256::new();
    sha.update(env!("CARGO_PKG_VERSION").as_bytes());
    sha.update(DRIVER.as_bytes());
    for entry in CRATE_ENTRIES {
        let path = crate_dir.join(entry);
        if path.exists() {
            walk(crate_dir, &path, &mut sha).map_err(|source| Error::Io { path: path.clone(), source })?;
        }
    }
    sha.update(std::fs::read(crate_dir.join(PREPARED_BUILD).with_file_name("build.key")).unwrap_or_default());
    Ok(sha.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// bubblewrap's `args` with a `--perms 0755 --dir` ahead of each mount for every folder above its destination that
/// no earlier one made. bubblewrap would make those folders itself, but as root's alone (mode 0700), and a kernel
/// running as `nobody` could not reach what is mounted below them.
fn with_parent_dirs(args: Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut made: std::collections::HashSet<PathBuf> = [PathBuf::from("/")].into();
    let mut prefix: Vec<String> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let op = args[i].as_str();
        let (width, dest) = match op {
            "--bind" | "--ro-bind" | "--dev-bind" | "--symlink" => (3, Some(i + 2)),
            "--tmpfs" | "--proc" | "--dev" | "--dir" => (2, Some(i + 1)),
            "--setenv" => (3, None),
            "--perms" | "--size" => {
                prefix.extend(args[i..(i + 2).min(args.len())].iter().cloned());
                i += 2;
                continue;
            }
            "--chdir" | "--cap-drop" | "--unsetenv" => (2, None),
            _ => (1, None),
        };
        if let Some(dest) = dest.and_then(|at| args.get(at)).map(PathBuf::from) {
            let missing: Vec<PathBuf> =
                dest.ancestors().skip(1).take_while(|p| !made.contains(*p)).map(Path::to_path_buf).collect();
            for dir in missing.into_iter().rev() {
                out.extend(["--perms".to_string(), "0755".into(), "--dir".into(), dir.display().to_string()]);
                made.insert(dir);
            }
            made.insert(dest);
        }
        out.append(&mut prefix);
        out.extend(args[i..(i + width).min(args.len())].iter().cloned());
        i += width;
    }
    out.append(&mut prefix);
    out
}

/// The run's log file, which keeps the first [`LOG_LIMIT`] bytes written to it and counts the rest.
struct BoundedLog {
    file: std::fs::File,
    kept: usize,
    dropped: u64,
}

impl BoundedLog {
    fn write(&mut self, bytes: &[u8]) {
        use std::io::Write;
        let room = LOG_LIMIT.saturating_sub(self.kept).min(bytes.len());
        if room > 0 && self.file.write_all(&bytes[..room]).is_ok() {
            self.kept += room;
        }
        self.dropped += (bytes.len() - room) as u64;
    }

    fn finish(&mut self) {
        use std::io::Write;
        if self.dropped > 0 {
            let _ = writeln!(self.file, "\n[biaslab grade: {} more bytes of output were dropped]", self.dropped);
        }
    }
}

/// What [`chown_tree`] does with a regular file that has more than one hard link.
#[derive(Clone, Copy, PartialEq)]
enum Linked {
    /// Gives it too: the grader taking its warm build back, where cargo and rustc link some outputs themselves
    /// (a build script beside its hashed name, an `.rmeta` in the incremental folder) and every file must end
    /// up the grader's, or a link to it in a run's copy would be writable by the kernel.
    Take,
    /// Leaves it as it is: giving a run's copy to the kernel, where such files are the warm build's compiled
    /// crates ([`Sandbox::shares_compiled_crates`]), which stay the grader's and read-only to the kernel.
    Leave,
}

/// Gives `path` and everything under it (links themselves, not what they point to) to the user and group `id`;
/// `linked` says what happens to files with more than one hard link.
fn chown_tree(path: &Path, id: u32, linked: Linked) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path)?;
    if linked == Linked::Leave && meta.is_file() && meta.nlink() > 1 {
        return Ok(());
    }
    std::os::unix::fs::lchown(path, Some(id), Some(id))?;
    if meta.is_dir() {
        for entry in std::fs::read_dir(path)? {
            chown_tree(&entry?.path(), id, linked)?;
        }
    }
    Ok(())
}

/// Removes the group's and others' write permission from every file and folder under `path` (links untouched).
fn read_only_to_others(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::symlink_metadata(path)?;
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    let mode = meta.permissions().mode();
    if mode & 0o022 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & !0o022))?;
    }
    if meta.is_dir() {
        for entry in std::fs::read_dir(path)? {
            read_only_to_others(&entry?.path())?;
        }
    }
    Ok(())
}

/// Process-count and memory limits, and killing everything a run started.
mod limits {
    use super::*;
    use std::os::unix::process::CommandExt;
    use std::sync::atomic::{AtomicU64, Ordering};

    static NEXT: AtomicU64 = AtomicU64::new(0);

    /// A pids cgroup when this process may make one (root), else nothing (the run uses `RLIMIT_NPROC`).
    pub(super) struct ProcessGroup {
        cgroup: Option<PathBuf>,
        procs: Option<std::fs::File>,
        memory: u64,
        processes: u64,
    }

    /// The end of the error when a root grader cannot limit processes: what to do instead.
    const AS_ROOT: &str = "grade as an ordinary user (then no cgroup is needed), or give root a writable cgroup with \
                           the pids controller";

    fn pids_root() -> Option<PathBuf> {
        let v1 = Path::new("/sys/fs/cgroup/pids");
        if v1.join("cgroup.procs").is_file() {
            return Some(v1.to_path_buf());
        }
        let v2 = Path::new("/sys/fs/cgroup");
        let controllers = std::fs::read_to_string(v2.join("cgroup.subtree_control")).unwrap_or_default();
        controllers.split_whitespace().any(|c| c == "pids").then(|| v2.to_path_buf())
    }

    impl ProcessGroup {
        pub(super) fn new(limits: &Limits) -> Result<ProcessGroup> {
            let mut group =
                ProcessGroup { cgroup: None, procs: None, memory: limits.memory, processes: limits.processes };
            // SAFETY: geteuid has no preconditions.
            if unsafe { libc::geteuid() } != 0 {
                return Ok(group);
            }
            let root = pids_root().ok_or_else(|| {
                sandbox_error(format!(
                    "running as root, so the process limit needs a pids cgroup, and none is writable here; {AS_ROOT}"
                ))
            })?;
            let n = NEXT.fetch_add(1, Ordering::SeqCst);
            let dir = root.join(format!("biaslab-grade-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&dir)
                .map_err(|e| sandbox_error(format!("cannot make cgroup {}: {e}; {AS_ROOT}", dir.display())))?;
            std::fs::write(dir.join("pids.max"), limits.processes.to_string())
                .map_err(|e| sandbox_error(format!("cannot limit processes in {}: {e}; {AS_ROOT}", dir.display())))?;
            let procs = std::fs::OpenOptions::new()
                .write(true)
                .open(dir.join("cgroup.procs"))
                .map_err(|e| sandbox_error(format!("cannot join cgroup {}: {e}; {AS_ROOT}", dir.display())))?;
            group.cgroup = Some(dir);
            group.procs = Some(procs);
            Ok(group)
        }

        /// Puts the command in its own process group, under the limits, and in the cgroup.
        pub(super) fn apply(&self, command: &mut Command) {
            use std::os::fd::AsRawFd;
            let procs = self.procs.as_ref().map(|f| f.as_raw_fd());
            let memory = self.memory;
            let nproc = if procs.is_none() { Some(own_process_count() + self.processes) } else { None };
            command.process_group(0);
            // SAFETY: the closure only makes async-signal-safe calls (write, setrlimit) on values made before fork.
            unsafe {
                command.pre_exec(move || {
                    if let Some(fd) = procs {
                        if libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                            return Err(std::io::Error::last_os_error());
                        }
                    }
                    let limit = |resource, value: u64| {
                        let rl = libc::rlimit { rlim_cur: value as libc::rlim_t, rlim_max: value as libc::rlim_t };
                        if libc::setrlimit(resource, &rl) != 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                        Ok(())
                    };
                    limit(libc::RLIMIT_AS, memory)?;
                    limit(libc::RLIMIT_FSIZE, FILE_LIMIT)?;
                    if let Some(n) = nproc {
                        limit(libc::RLIMIT_NPROC, n)?;
                    }
                    Ok(())
                });
            }
        }

        /// Kills the process group started at `leader` and everything left in the cgroup.
        pub(super) fn kill(&self, leader: u32) {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(-(leader as i32), libc::SIGKILL) };
            let Some(dir) = &self.cgroup else { return };
            for _ in 0..200 {
                let pids = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
                let pids: Vec<i32> = pids.split_whitespace().filter_map(|p| p.parse().ok()).collect();
                if pids.is_empty() {
                    break;
                }
                for pid in pids {
                    // SAFETY: as above.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    impl Drop for ProcessGroup {
        fn drop(&mut self) {
            if let Some(dir) = &self.cgroup {
                self.procs = None;
                let _ = std::fs::remove_dir(dir);
            }
        }
    }

    /// How many processes and threads this user runs now (`RLIMIT_NPROC` counts them all).
    fn own_process_count() -> u64 {
        // SAFETY: getuid has no preconditions.
        let uid = unsafe { libc::getuid() }.to_string();
        let Ok(entries) = std::fs::read_dir("/proc") else { return 0 };
        entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().chars().all(|c| c.is_ascii_digit()))
            .filter_map(|e| std::fs::read_to_string(e.path().join("status")).ok())
            .filter(|status| {
                status.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some(uid.as_str()))
            })
            .map(|status| {
                let threads = status.lines().find_map(|l| l.strip_prefix("Threads:"));
                threads.and_then(|t| t.trim().parse::<u64>().ok()).unwrap_or(1)
            })
            .sum()
    }
}
