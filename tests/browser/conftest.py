"""Real-browser fixtures: the tracker's servers on 127.0.0.1, Debian chromium.

Servers are started exactly as ``make lab``/``make app`` start them
(``python -m backtrack.serve``), one per test module, on a copy of ``notebooks/`` in a
temporary git repository, with isolated Jupyter config, runtime, IPython and state
folders and their own log (``BACKTRACK_CSV`` in the server's environment, which the
kernel inherits). Each is stopped with SIGTERM (then killed) at the end.
Browser tests skip only when chromium is missing and cannot be installed; with
``CI=true`` they fail instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START_TIMEOUT = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _chromium() -> str:
    return os.environ.get("BACKTRACK_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    exe = _chromium()
    if not os.access(exe, os.X_OK):
        subprocess.run(["bash", str(ROOT / "tests" / "ensure-chromium.sh")], check=False)
    if not os.access(exe, os.X_OK):
        reason = f"chromium not found at {exe} and it could not be installed"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI=true: browser tests must run)")
        print(f"SKIP browser tests: {reason}", file=sys.stderr)
        pytest.skip(reason)
    return exe


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / f"{request.node.name}.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot: {shot}", file=sys.stderr)
    context.close()


def _isolated_env(base: Path, csv: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        folder = base / name.lower()
        folder.mkdir(exist_ok=True)
        env[name] = str(folder)
    settings = (
        base
        / "jupyter_config_dir"
        / "lab"
        / "user-settings"
        / "@jupyterlab"
        / "apputils-extension"
    )
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}), encoding="utf-8"
    )
    env["BACKTRACK_CSV"] = str(csv)
    env["BACKTRACK_STATE_DIR"] = str(base / "state")
    env["MPLBACKEND"] = "Agg"
    env.pop("BACKTRACK_ROUTINE", None)
    env.pop("BACKTRACK_LAB_URL", None)
    return env


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    # kernels the server started, if it died without ending them (its own group)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return done.stdout


def _repo_copy(base: Path) -> Path:
    """The notebooks in a fresh git repository (with the project's .gitignore), committed:
    ``git status --porcelain`` there shows any file the app changes."""
    repo = base / "repo"
    shutil.copytree(
        ROOT / "notebooks", repo / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints")
    )
    shutil.copy(ROOT / ".gitignore", repo / ".gitignore")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(
        repo,
        "-c",
        "user.name=test",
        "-c",
        "user.email=test@localhost",
        "commit",
        "-q",
        "-m",
        "notebooks as committed",
    )
    return repo


@dataclass
class Tracker:
    """``python -m backtrack.serve MODE`` (what ``make lab``/``make app`` run) on a copy of
    the notebooks in a temporary git repository, with its own empty log and state folder.
    ``address`` is the form's address as printed; ``restart()`` stops and starts it again."""

    mode: str
    base: Path
    repo: Path
    csv: Path
    env: dict[str, str]
    port: int
    process: subprocess.Popen | None = None
    address: str = ""
    printed: str = ""
    startup: str = ""
    starts: int = 0
    lan: bool = False

    @property
    def url(self) -> str:
        """Scheme, host and port of the printed address (``http://127.0.0.1:PORT`` on
        loopback; ``https://LAN-ADDRESS:PORT`` with ``lan``), or loopback before a start."""
        if not self.address:
            return f"http://127.0.0.1:{self.port}"
        parts = urllib.parse.urlsplit(self.address)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def host(self) -> str:
        return urllib.parse.urlsplit(self.url).hostname or ""

    @property
    def token(self) -> str:
        return self.address.rsplit("token=", 1)[1]

    @property
    def query(self) -> str:
        return f"token={self.token}"

    def start(self) -> None:
        self.starts += 1
        output = self.base / f"{self.mode}-{self.starts}.log"
        command = [
            sys.executable,
            "-m",
            "backtrack.serve",
            self.mode,
            "--port",
            str(self.port),
            "--root",
            str(self.repo / "notebooks"),
        ] + (["--lan"] if self.lan else [])
        with output.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                env=self.env,
                cwd=self.repo,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            text = output.read_text(errors="replace")
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.mode} exited: {text[-3000:]}")
            address = [
                line.strip()
                for line in text.splitlines()
                if line.strip().startswith("http") and "/voila/render/" in line
            ]
            if address:  # backtrack printed it
                self.address = address[0]
                if self._ready():  # and the server answers
                    self.startup = output.read_text(errors="replace")
                    self.printed = self.startup.split("[", 1)[0]
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{self.mode} not ready in {START_TIMEOUT:g} s: {text[-3000:]}")

    def _ready(self) -> bool:
        if self.lan:  # HTTPS with a self-signed certificate: probe the port only
            try:
                with socket.create_connection((self.host, self.port), timeout=1):
                    return True
            except OSError:
                return False
        try:
            with urllib.request.urlopen(f"{self.url}/api/status?{self.query}", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def kernels(self) -> list[dict]:
        with urllib.request.urlopen(f"{self.url}/api/kernels?{self.query}", timeout=10) as r:
            return json.loads(r.read())

    def startup_server_lines(self) -> list[str]:
        """Lines of the start-up output that jupyter-server logged (``[I``, ``[W``, ...),
        not backtrack's own."""
        return [line for line in self.startup.splitlines() if line.startswith("[")]

    def startup_warnings(self) -> list[str]:
        """Lines of the start-up output (until the server answers) that warn: jupyter's
        ``[W`` log lines, Python warnings, tracebacks."""
        markers = ("[W ", "Warning:", "Traceback")
        return [line for line in self.startup.splitlines() if any(m in line for m in markers)]

    def output(self) -> str:
        """Everything the server printed since its last start (backtrack's lines first)."""
        return (self.base / f"{self.mode}-{self.starts}.log").read_text(errors="replace")

    def connected_kernels(self) -> list[dict]:
        """The kernels a page (or JupyterLab) is connected to: not the heated one waiting
        for the next page (``backtrack/kernels.py``)."""
        return [kernel for kernel in self.kernels() if kernel["connections"] > 0]

    def wait_heated(self, timeout: float = START_TIMEOUT) -> str:
        """The id of a heated kernel waiting for the form's next page, once there is one
        (the server heats one at its start and after each page takes one)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for kernel in self.kernels():
                if kernel.get("backtrack_heated") and kernel["execution_state"] == "idle":
                    return kernel["id"]
            time.sleep(0.2)
        raise AssertionError(f"no heated kernel within {timeout:g} s: {self.kernels()}")

    def log_tail(self) -> str:
        return (self.base / f"{self.mode}-{self.starts}.log").read_text(errors="replace")[-3000:]

    def git_status(self) -> str:
        return _git(self.repo, "status", "--porcelain", "--untracked-files=all")


def _tracker(mode: str, base: Path, *, lan: bool = False):
    repo = _repo_copy(base)
    csv = base / "data" / "backtrack.csv"
    env = _isolated_env(base, csv)
    tracker = Tracker(mode, base, repo, csv, env, _free_port(), lan=lan)
    try:
        tracker.start()
        yield tracker
    finally:
        tracker.stop()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """``make lab``: JupyterLab with the form first, one per test module."""
    yield from _tracker("lab", tmp_path_factory.mktemp("lab"))


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """``make app``: the form alone, one per test module."""
    yield from _tracker("app", tmp_path_factory.mktemp("app"))


@pytest.fixture(scope="module")
def lan_app(tmp_path_factory):
    """``make app LAN=1``: the form alone over HTTPS on the LAN address it prints (this
    machine's, found as ``backtrack.serve`` finds it), one per test module."""
    yield from _tracker("app", tmp_path_factory.mktemp("lan"), lan=True)
