#!/usr/bin/env python3
"""The lab on a real JupyterHub: students log in at once, each gets a server, and each runs lab 01's first cells in
the Rust kernel through the Jupyter Server API.

What runs: JupyterHub (from PyPI) with configurable-http-proxy (from npm), the dummy authenticator, and the
simple local spawner; one single-user server per student. As in a Kubernetes pod of lab/hub/config.yaml, each
student's own notebooks folder is mounted at the crate's `notebooks/` (here with bubblewrap, one mount namespace
per server), so the notebooks' first cell, `:dep biaslab = { path = ".." }`, finds the crate and the kernel its
prepared build; a start hook copies the released notebooks into a student's folder the first time their server
starts (the hub's `pre_spawn_hook`; on Kubernetes the pod's postStart hook). Then, for every student at once,
through the hub's REST API: create the user, start their server, make them a token; through their server's API:
start the `biaslab` kernel in their notebooks folder and run lab 01's first code cells over the kernel's websocket
(`:dep`, `use`, loading the model, the comparison table, its chart), checking each ran without error and that the
table and the chart came back. It prints, per student: how long the server took to be ready, each cell's time, the
peak memory of everything running for the student (server, kernel launcher, evcxr, rustc) and its CPU time.

Needs: `bash lab/setup.sh --no-open` (the prepared kernel build and the `biaslab` kernelspec in `.venv`), bubblewrap,
a Python with `jupyterhub` and `websocket-client` (run this script with it), and configurable-http-proxy
(`npm install configurable-http-proxy`; `--proxy PATH` if it is not on PATH). Offline: the demo model.

    python bench/hub.py [--users 3] [--cells 5] [--proxy node_modules/.bin/configurable-http-proxy]
    python bench/hub.py --users 1 --notebook solutions/03_mitigation.ipynb --cells 0    # one kernel through lab 03
    python bench/hub.py --browser lab01.png    # JupyterLab itself in headless Chromium (playwright, Debian's chromium)
"""

import argparse
import datetime
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import requests
import websocket

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = "01_fill_mask_bias.ipynb"
# Put in the environment of every server this run starts, to find (and in the end stop) what it started.
MARK = "BIASLAB_HUB_BENCH"
MARK_VALUE = uuid.uuid4().hex

CONFIG = """
import os, shutil
c = get_config()  # noqa
c.JupyterHub.bind_url = {bind_url!r}
c.JupyterHub.hub_bind_url = {hub_url!r}
c.ConfigurableHTTPProxy.api_url = {proxy_api!r}
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.ConfigurableHTTPProxy.pid_file = {pid_file!r}
c.JupyterHub.db_url = "sqlite:///" + {db!r}
c.JupyterHub.cookie_secret_file = {cookie!r}
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = "biaslab"
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {homes!r} + "/{{username}}"
c.Spawner.start_timeout = 600
c.Spawner.http_timeout = 600
c.Spawner.notebook_dir = {notebooks!r}
c.Spawner.default_url = "/lab"
c.Spawner.args = {server_args!r}
c.Spawner.environment = {environment!r}
c.JupyterHub.services = [{{"name": "bench", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [{{
    "name": "bench",
    "scopes": ["admin:users", "admin:servers", "tokens", "access:servers", "read:users"],
    "services": ["bench"],
}}]


def start_hook(spawner):
    # The student's own notebooks, copied from the released ones the first time (never over their work), and mounted
    # at the crate's notebooks/ in their server's mount namespace.
    mine = os.path.join({homes!r}, spawner.user.name, "notebooks")
    os.makedirs(mine, exist_ok=True)
    for name in sorted(os.listdir({notebooks!r})):
        if name.endswith(".ipynb") and not os.path.exists(os.path.join(mine, name)):
            shutil.copy2(os.path.join({notebooks!r}, name), os.path.join(mine, name))
    spawner.cmd = {bwrap!r} + ["--bind", mine, {notebooks!r}, "--", {singleuser!r}]


c.Spawner.pre_spawn_hook = start_hook
"""


def find_proxy(given):
    for candidate in (given, shutil.which("configurable-http-proxy")):
        if candidate and os.path.exists(candidate):
            return os.path.abspath(candidate)
    sys.exit("configurable-http-proxy not found: `npm install configurable-http-proxy`, then --proxy PATH")


def code_cells(path, count):
    """The first `count` code cells of the notebook at `path` (all of them for 0)."""
    with open(path) as f:
        nb = json.load(f)
    cells = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in nb["cells"] if c["cell_type"] == "code"]
    return cells[:count] if count else cells


def processes(*needles):
    """The processes whose environment holds every one of `needles` (`NAME=value`)."""
    found = []
    wanted = [f"\0{n}\0".encode() for n in needles]
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                environ = b"\0" + f.read() + b"\0"
        except OSError:
            continue
        if all(w in environ for w in wanted):
            found.append(pid)
    return found


def user_processes(user):
    """The processes running for `user` in this run: their server and everything it started (which inherit its
    environment)."""
    return processes(f"JUPYTERHUB_USER={user}", f"{MARK}={MARK_VALUE}")


def usage(user):
    """(resident memory in bytes, CPU seconds of those and of their finished children) of `user`'s processes."""
    rss, cpu = 0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in user_processes(user):
        try:
            with open(f"/proc/{pid}/statm") as f:
                rss += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
                cpu += sum(int(x) for x in fields[11:15]) / tick
        except (OSError, IndexError, ValueError):
            pass
    return rss, cpu


class Student:
    def __init__(self, name, hub, token, cells):
        self.name, self.hub, self.cells = name, hub, cells
        self.admin = {"Authorization": f"token {token}"}
        self.ready = None
        self.times = []
        self.error = None
        self.peak_rss = 0
        self.cpu = 0.0
        self.saw = set()
        self.done = threading.Event()

    def api(self, method, path, **kwargs):
        response = requests.request(method, f"{self.hub}/hub/api{path}", headers=self.admin, timeout=60, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response

    def run(self):
        try:
            self._run()
        except Exception as err:  # reported in the table; the script fails
            self.error = f"{type(err).__name__}: {err}"
        finally:
            self.done.set()

    def _run(self):
        started = time.monotonic()
        self.api("POST", f"/users/{self.name}")
        self.api("POST", f"/users/{self.name}/server")
        while True:
            model = self.api("GET", f"/users/{self.name}").json()
            server = model.get("servers", {}).get("")
            if server and server.get("ready"):
                break
            if time.monotonic() - started > 600:
                raise RuntimeError("the server was not ready in 10 minutes")
            time.sleep(0.5)
        self.ready = time.monotonic() - started
        token = self.api("POST", f"/users/{self.name}/tokens", json={"note": "bench", "expires_in": 3600}).json()["token"]
        user_headers = {"Authorization": f"token {token}"}
        base = f"{self.hub}/user/{self.name}/api"
        contents = requests.get(f"{base}/contents", headers=user_headers, timeout=60).json()
        names = sorted(item["name"] for item in contents.get("content", []))
        if NOTEBOOK not in names:
            raise RuntimeError(f"the start hook did not copy the notebooks: the folder holds {names}")
        kernel = requests.post(f"{base}/kernels", headers=user_headers, json={"name": "biaslab", "path": NOTEBOOK}, timeout=60)
        kernel.raise_for_status()
        kernel_id = kernel.json()["id"]
        ws_url = f"{self.hub.replace('http', 'ws', 1)}/user/{self.name}/api/kernels/{kernel_id}/channels"
        ws = websocket.create_connection(ws_url, header=[f"Authorization: token {token}"], timeout=900)
        session = uuid.uuid4().hex
        try:
            for code in self.cells:
                self.times.append(self.execute(ws, session, code))
        finally:
            ws.close()
            requests.delete(f"{base}/kernels/{kernel_id}", headers=user_headers, timeout=60)

    def execute(self, ws, session, code):
        msg_id = uuid.uuid4().hex
        message = {
            "header": {
                "msg_id": msg_id, "username": self.name, "session": session, "msg_type": "execute_request",
                "version": "5.3", "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            },
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True},
        }
        started = time.monotonic()
        ws.send(json.dumps(message))
        replied = idle = False
        while not (replied and idle):
            reply = json.loads(ws.recv())
            if reply.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = reply["header"]["msg_type"]
            content = reply.get("content", {})
            if kind == "execute_reply":
                replied = True
                if content.get("status") != "ok":
                    raise RuntimeError(f"cell {code[:40]!r}: {content.get('ename')}: {content.get('evalue')}")
            elif kind == "status" and content.get("execution_state") == "idle":
                idle = True
            elif kind == "error":
                raise RuntimeError(f"cell {code[:40]!r}: {content.get('ename')}: {content.get('evalue')}")
            elif kind in ("display_data", "execute_result"):
                data = content.get("data", {})
                if "<table" in data.get("text/html", ""):
                    self.saw.add("table")
                if "image/svg+xml" in data or "image/png" in data or "<svg" in data.get("text/html", ""):
                    self.saw.add("chart")
        return time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=3)
    parser.add_argument("--cells", type=int, default=5, help="the first code cells to run (5: lab 01's through its chart; 0: all)")
    parser.add_argument(
        "--notebook", default=os.path.join(ROOT, "notebooks", NOTEBOOK),
        help="whose cells to run (a solution notebook runs whole: solutions/03_mitigation.ipynb --cells 0)",
    )
    parser.add_argument("--proxy", help="configurable-http-proxy's command")
    parser.add_argument("--port", type=int, default=18000)
    parser.add_argument(
        "--browser", metavar="PNG",
        help="instead: log one student in through the hub's login page in headless Chromium, open lab 01 in "
        "JupyterLab, Run All, wait for the last cell, check the page for the two charts and the table, and save a "
        "screenshot here (needs playwright in this Python and a Chromium)",
    )
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()

    proxy = find_proxy(args.proxy)
    venv_share = os.path.join(ROOT, ".venv", "share", "jupyter")
    if not os.path.isdir(os.path.join(venv_share, "kernels", "biaslab")):
        sys.exit("no biaslab kernelspec in .venv: run `bash lab/setup.sh --no-open` first")
    bwrap = shutil.which("bwrap")
    if not bwrap:
        sys.exit("bubblewrap (bwrap) is missing: apt install bubblewrap")
    root = os.geteuid() == 0
    work = tempfile.mkdtemp(prefix="biaslab-hub-")
    homes = os.path.join(work, "home")
    os.makedirs(homes)
    token = secrets.token_hex(32)
    environment = {
        "JUPYTER_PATH": venv_share,
        "PATH": os.environ.get("PATH", ""),
        "BIASLAB_MODEL": os.environ.get("BIASLAB_MODEL", "demo"),
        MARK: MARK_VALUE,
    }
    for name in ("BIASLAB_MINILM_DIR", "BIASLAB_DATA_DIR", "BIASLAB_PYTHON", "HF_HOME"):
        if name in os.environ:
            environment[name] = os.environ[name]
    # The spawner gives each student a home of their own: the Rust toolchain is named where it is, not found there.
    environment["CARGO_HOME"] = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
    environment["RUSTUP_HOME"] = os.environ.get("RUSTUP_HOME", os.path.expanduser("~/.rustup"))
    # The student's notebooks over the crate's, in a mount namespace of the server's own (a user namespace too when
    # not root).
    bwrap_cmd = [bwrap, "--dev-bind", "/", "/"] + ([] if root else ["--unshare-user"])
    config = CONFIG.format(
        bind_url=f"http://127.0.0.1:{args.port}", hub_url=f"http://127.0.0.1:{args.port + 1}",
        proxy_api=f"http://127.0.0.1:{args.port + 2}", proxy=proxy, pid_file=os.path.join(work, "proxy.pid"),
        db=os.path.join(work, "jupyterhub.sqlite"), cookie=os.path.join(work, "cookie_secret"), homes=homes,
        notebooks=os.path.join(ROOT, "notebooks"), server_args=["--allow-root"] if root else [],
        environment=environment, token=token, bwrap=bwrap_cmd,
        singleuser=os.path.join(os.path.dirname(sys.executable), "jupyterhub-singleuser"),
    )
    config_path = os.path.join(work, "jupyterhub_config.py")
    with open(config_path, "w") as f:
        f.write(config)
    log = open(os.path.join(work, "hub.log"), "w")
    hub = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "jupyterhub"), "-f", config_path],
        cwd=work, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{args.port}"
    students = []
    try:
        started = time.monotonic()
        while True:
            try:
                if requests.get(f"{url}/hub/api", timeout=5).ok:
                    break
            except requests.ConnectionError:
                pass
            if hub.poll() is not None or time.monotonic() - started > 120:
                sys.exit(f"the hub did not start; its log: {os.path.join(work, 'hub.log')}")
            time.sleep(0.5)
        if args.browser:
            version = requests.get(f"{url}/hub/api", timeout=5).json()["version"]
            print(f"JupyterHub {version} at {url}: one student in headless Chromium, Run All on {NOTEBOOK}")
            browser = Student("student1", url, token, [])
            students = [browser]
            failed = browser_run(url, args.browser, args.chromium)
            return 1 if failed else 0
        cells = code_cells(args.notebook, args.cells)
        print(f"JupyterHub {requests.get(f'{url}/hub/api', timeout=5).json()['version']} at {url}, "
              f"{args.users} students at once, {len(cells)} code cells of {os.path.basename(args.notebook)} each")
        students = [Student(f"student{i + 1}", url, token, cells) for i in range(args.users)]
        threads = [threading.Thread(target=s.run) for s in students]
        for thread in threads:
            thread.start()
        while not all(s.done.is_set() for s in students):
            for s in students:
                if not s.done.is_set():
                    rss, cpu = usage(s.name)
                    s.peak_rss, s.cpu = max(s.peak_rss, rss), max(s.cpu, cpu)
            time.sleep(0.5)
        for thread in threads:
            thread.join()
    finally:
        for s in students:
            try:
                s.api("DELETE", f"/users/{s.name}/server")
            except Exception:
                pass
        stopping = time.monotonic()
        while any(user_processes(s.name) for s in students) and time.monotonic() - stopping < 30:
            time.sleep(0.5)
        os.killpg(hub.pid, signal.SIGTERM)
        try:
            hub.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(hub.pid, signal.SIGKILL)
        # Whatever a server left running (a server the hub did not stop, a kernel its server did not).
        for pid in processes(f"{MARK}={MARK_VALUE}"):
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
        log.close()

    shown = min(len(cells), 6)
    header = ["student", "server ready (s)"] + [f"cell {i + 1} (s)" for i in range(shown)] + ["all cells (s)"]
    header += ["peak memory (MiB)", "CPU (s)", "result"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    failed = False
    for s in students:
        lab01 = os.path.basename(args.notebook) == NOTEBOOK
        want = {"table", "chart"} if lab01 and len(cells) >= 5 else set()
        missing = want - s.saw
        ok = s.error is None and len(s.times) == len(cells) and not missing
        failed |= not ok
        result = "ok" if ok else (s.error or f"no {', '.join(sorted(missing))} in the outputs")
        ready = f"{s.ready:.1f}" if s.ready is not None else "-"
        times = [f"{t:.1f}" for t in s.times[:shown]] + ["-"] * (shown - len(s.times[:shown]))
        times.append(f"{sum(s.times):.1f}" if len(s.times) == len(cells) else "-")
        print("| " + " | ".join([s.name, ready] + times + [f"{s.peak_rss / 2**20:.0f}", f"{s.cpu:.0f}", result]) + " |")
    if failed:
        print(f"hub log: {os.path.join(work, 'hub.log')}")
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


def browser_run(url, screenshot, chromium):
    """Lab 01 run whole in JupyterLab itself, through the hub, in headless Chromium; returns what failed (or None)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        # A tall window: JupyterLab renders only the cells in view, and every output is to be on the page.
        page = browser.new_page(viewport={"width": 1400, "height": 12000})
        started = time.monotonic()
        step = lambda what: print(f"  {time.monotonic() - started:6.1f} s  {what}", flush=True)
        page.goto(f"{url}/hub/login")
        step("the hub's login page")
        page.fill("input[name=username]", "student1")
        page.fill("input[name=password]", "biaslab")
        page.click("input[type=submit], button[type=submit]")
        page.wait_for_url("**/user/student1/lab**", timeout=600_000)
        step("logged in; the server started")
        page.goto(f"{url}/user/student1/lab/tree/{NOTEBOOK}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
        step("lab 01 open in JupyterLab")
        # The kernel is up when the server says it is idle (asked with the browser's own login).
        while True:
            sessions = page.request.get(f"{url}/user/student1/api/sessions").json()
            states = [x["kernel"]["execution_state"] for x in sessions if x.get("path", "").endswith(NOTEBOOK)]
            if states == ["idle"]:
                break
            if time.monotonic() - started > 300:
                raise RuntimeError(f"the notebook's kernel was not idle in 5 minutes: {sessions}")
            page.wait_for_timeout(500)
        opened = time.monotonic() - started
        step("its kernel is idle; Run All")
        page.click(".lm-MenuBar-itemLabel:text-is('Run')")
        page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
        run_started = time.monotonic()
        code_cells_count = page.locator(".jp-Notebook .jp-CodeCell").count()
        # Done when every code cell shows an execution count and none is running ("[*]").
        page.wait_for_function(
            """(n) => {
                const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')];
                return prompts.length === n && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
            }""",
            arg=code_cells_count, timeout=900_000, polling=1000,
        )
        ran = time.monotonic() - run_started
        step("every cell ran")
        page.wait_for_timeout(2000)
        charts = page.locator(".jp-OutputArea-output img[src^='data:image/svg'], .jp-OutputArea-output svg, "
                              ".jp-OutputArea-output img[src^='data:image/png']").count()
        tables = page.locator(".jp-OutputArea-output table").count()
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count()
        page.screenshot(path=screenshot, full_page=True)
        browser.close()
    print(f"logged in and JupyterLab's kernel idle in {opened:.1f} s; Run All over {code_cells_count} code cells "
          f"finished in {ran:.1f} s")
    print(f"on the page: {charts} charts, {tables} tables, {errors} error outputs; screenshot: {screenshot}")
    if charts < 2 or tables < 1:
        print("FAILED: the page does not show the two charts and the table")
        return "outputs"
    return None


if __name__ == "__main__":
    sys.exit(main())
