//! Running a composed notebook in a fresh Rust kernel that cannot reach anything but its own work.
//!
//! Two layers, both made by bubblewrap (`bwrap`, the sandbox Flatpak uses; `apt install bubblewrap`):
//!
//! - the **driver** ([`DRIVER`], Python with nbclient) runs in a network namespace of its own: it talks to the
//!   kernel over a loopback that nothing else shares, and the kernel has no network at all;
//! - the **kernel** (evcxr_jupyter) runs in its own user, PID, IPC and mount namespaces. It sees the system's
//!   programs and libraries, the Rust toolchain and crate sources (read-only), the `biaslab` crate at its own path
//!   (its `Cargo.toml`, `Cargo.lock`, `src/` and `assets/` only, read-only), a writable working folder of its own
//!   and private copies of evcxr's compiled-crate cache and build folder ([`KernelDirs`]). It does not see the source
//!   notebooks, the other submissions, the grading output or the home folder. Every process it starts dies with it.
//!
//! Limits: a time limit per cell (the driver's) and per submission (killed here), an address-space limit per
//! process, and a limit on the number of processes (a pids cgroup when run as root, else `RLIMIT_NPROC`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::error::{Error, Result};

/// The kernel driver, written next to each run.
pub const DRIVER: &str = include_str!("driver.py");

/// The prepared build of `biaslab` for the notebooks' kernel (`lab/kernel.py --prepare`, run by `lab/setup.sh`),
/// relative to the crate. Inside the sandbox, evcxr's build folder is mounted at this path below the crate's own
/// path, and the crate at its own path: cargo's records of a build (dep-info, build-script outputs) name absolute
/// paths, so only there does a copy of the prepared build, or of the warm-up's, stay up to date, and no kernel
/// compiles `biaslab` or its dependencies again.
pub const PREPARED_BUILD: &str = "target/kernel/build";

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
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            cell_timeout: Duration::from_secs(600),
            time_limit: Duration::from_secs(1800),
            memory: 8 << 30,
            processes: 512,
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
    if let Some(python) = std::env::var_os(crate::demo::PYTHON_ENV) {
        candidates.push(PathBuf::from(python));
    }
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV") {
        candidates.push(Path::new(&venv).join("bin/python"));
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
        let crate_dir = crate_dir
            .canonicalize()
            .map_err(|source| Error::Io { path: crate_dir.to_path_buf(), source })?;
        let manifest = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap_or_default();
        if !manifest.lines().any(|l| l.trim().replace(' ', "") == "name=\"biaslab\"") {
            return Err(sandbox_error(format!("{} is not the biaslab crate (pass --crate)", crate_dir.display())));
        }
        let evcxr = which("evcxr_jupyter").ok_or_else(|| {
            sandbox_error("the Rust kernel evcxr_jupyter is not on PATH; run `bash lab/setup.sh`")
        })?;
        let home = std::env::var_os("HOME").map(PathBuf::from).ok_or_else(|| sandbox_error("HOME is not set"))?;
        let cargo_home = std::env::var_os("CARGO_HOME").map(PathBuf::from).unwrap_or_else(|| home.join(".cargo"));
        let rustup_home = std::env::var_os("RUSTUP_HOME").map(PathBuf::from).unwrap_or_else(|| home.join(".rustup"));
        let encoder_dir = crate::demo::find_encoder().ok().and_then(|files| files.config.parent()?.canonicalize().ok());
        let hub_cache = Some(crate::hub::hub_cache_dir()).filter(|p| p.is_dir());
        let data_dirs = [
            (crate::data::DATA_DIR_ENV, std::env::var_os(crate::data::DATA_DIR_ENV).map(PathBuf::from)),
            (crate::corpus::CACHE_ENV, Some(crate::corpus::cache_dir())),
        ]
        .into_iter()
        .filter_map(|(name, dir)| Some((name, dir?.canonicalize().ok()?)))
        .collect();
        Ok(Sandbox {
            python: find_python(&crate_dir)?,
            bwrap,
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
    /// prepared build, [`PREPARED_BUILD`].
    pub fn build_mount(&self) -> PathBuf {
        self.crate_dir.join(PREPARED_BUILD)
    }

    /// The kernel's command line: bubblewrap around evcxr_jupyter, with the mounts of the module documentation.
    fn kernel_argv(&self, work: &Path, dirs: &KernelDirs, runtime: &Path) -> Vec<String> {
        let mut a: Vec<String> = Vec::new();
        let mut arg = |parts: &[&str]| a.extend(parts.iter().map(|s| s.to_string()));
        let s = |p: &Path| p.display().to_string();
        arg(&["--unshare-user", "--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try"]);
        arg(&["--die-with-parent", "--new-session", "--ro-bind", "/usr", "/usr"]);
        for dir in ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"] {
            let path = Path::new(dir);
            match std::fs::read_link(path) {
                Ok(target) => arg(&["--symlink", &s(&target), dir]),
                Err(_) if path.is_dir() => arg(&["--ro-bind", dir, dir]),
                Err(_) => {}
            }
        }
        arg(&["--ro-bind", "/etc", "/etc", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]);
        arg(&["--tmpfs", &s(&self.home)]);
        for dir in [&self.rustup_home, &self.cargo_home] {
            if dir.is_dir() {
                arg(&["--ro-bind", &s(dir), &s(dir)]);
            }
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
        for entry in ["Cargo.toml", "Cargo.lock", "src", "assets"] {
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
        arg(&["--setenv", "LANG", "C.UTF-8", "--setenv", "CARGO_NET_OFFLINE", "true", "--setenv", "HF_HUB_OFFLINE", "1"]);
        let path = format!(
            "{}:{}:/usr/local/bin:/usr/bin:/bin",
            self.cargo_home.join("bin").display(),
            self.evcxr.parent().map(s).unwrap_or_default()
        );
        arg(&["--setenv", "PATH", &path]);
        arg(&["--setenv", "CARGO_HOME", &s(&self.cargo_home), "--setenv", "RUSTUP_HOME", &s(&self.rustup_home)]);
        for passed in ["RUSTUP_TOOLCHAIN", crate::compare::MODEL_VARIABLE] {
            if let Ok(value) = std::env::var(passed) {
                arg(&["--setenv", passed, &value]);
            }
        }
        if let Some(hub) = &self.hub_cache {
            arg(&["--setenv", crate::hub::HF_HUB_CACHE, &s(hub)]);
        }
        if let Some(enc) = &self.encoder_dir {
            arg(&["--setenv", crate::demo::ENCODER_DIR_ENV, &s(enc)]);
        }
        for (name, dir) in &self.data_dirs {
            arg(&["--setenv", name, &s(dir)]);
        }
        let mut argv = vec![self.bwrap.display().to_string()];
        argv.extend(a);
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
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(io(&log_path))?)
            .stderr(log);
        let group = limits::ProcessGroup::new(&self.limits)?;
        group.apply(&mut command);
        let start = Instant::now();
        let mut child = command.spawn().map_err(|e| sandbox_error(format!("cannot start bwrap: {e}")))?;
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
        let seconds = start.elapsed().as_secs_f64();
        let _ = std::fs::remove_dir_all(&work);
        let mut log_text = String::new();
        if let Ok(mut file) = std::fs::File::open(&log_path) {
            let _ = file.read_to_string(&mut log_text);
        }
        let tail: Vec<&str> = log_text.lines().rev().take(30).collect();
        let log_tail = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
        Ok(RunOutcome { killed, seconds, log_tail })
    }
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
            let mut group = ProcessGroup { cgroup: None, procs: None, memory: limits.memory, processes: limits.processes };
            // SAFETY: geteuid has no preconditions.
            if unsafe { libc::geteuid() } != 0 {
                return Ok(group);
            }
            let root = pids_root().ok_or_else(|| {
                sandbox_error("running as root, so the process limit needs a pids cgroup, and none is writable here")
            })?;
            let n = NEXT.fetch_add(1, Ordering::SeqCst);
            let dir = root.join(format!("biaslab-grade-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&dir).map_err(|e| sandbox_error(format!("cannot make cgroup {}: {e}", dir.display())))?;
            std::fs::write(dir.join("pids.max"), limits.processes.to_string())
                .map_err(|e| sandbox_error(format!("cannot limit processes in {}: {e}", dir.display())))?;
            let procs = std::fs::OpenOptions::new()
                .write(true)
                .open(dir.join("cgroup.procs"))
                .map_err(|e| sandbox_error(format!("cannot join cgroup {}: {e}", dir.display())))?;
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
            .filter(|status| status.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some(uid.as_str())))
            .map(|status| {
                let threads = status.lines().find_map(|l| l.strip_prefix("Threads:"));
                threads.and_then(|t| t.trim().parse::<u64>().ok()).unwrap_or(1)
            })
            .sum()
    }
}
