"""Real-browser fixtures: JupyterLab and Voila servers on 127.0.0.1, Debian chromium.

Servers run on a temporary copy of ``notebooks/`` with isolated Jupyter config, runtime
and IPython folders and their own log (``BACKTRACK_CSV`` in the server's environment, which
the kernel inherits). Each is stopped with SIGTERM (then killed) at the end.
Browser tests skip only when chromium is missing and cannot be installed; with
``CI=true`` they fail instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
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


@dataclass
class Server:
    """A running server: its base URL (with token query, if any) and the log it writes."""

    url: str
    query: str
    csv: Path
    process: subprocess.Popen
    output: Path


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
        folder.mkdir()
        env[name] = str(folder)
    settings = (
        base
        / "jupyter_config_dir"
        / "lab"
        / "user-settings"
        / "@jupyterlab"
        / "apputils-extension"
    )
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}), encoding="utf-8"
    )
    env["BACKTRACK_CSV"] = str(csv)
    env["MPLBACKEND"] = "Agg"
    env.pop("BACKTRACK_ROUTINE", None)
    return env


def _start(command: list[str], env: dict[str, str], output: Path, cwd: Path) -> subprocess.Popen:
    with output.open("wb") as log:
        return subprocess.Popen(
            command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


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


def _wait(ready, process: subprocess.Popen, output: Path, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited: {output.read_text(errors='replace')[-3000:]}")
        if ready():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} not ready in {START_TIMEOUT:g} s: {output.read_text()[-3000:]}")


def _copy_notebooks(base: Path) -> Path:
    root = base / "notebooks"
    shutil.copytree(ROOT / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return root


def _server_setup(tmp_path: Path) -> tuple[Path, Path, dict[str, str], int, str]:
    """A copy of the notebooks, an empty log, an isolated environment, a port, a token."""
    root = _copy_notebooks(tmp_path)
    csv = tmp_path / "data" / "backtrack.csv"
    return root, csv, _isolated_env(tmp_path, csv), _free_port(), secrets.token_hex(16)


@pytest.fixture
def lab_server(tmp_path):
    """JupyterLab on a temporary copy of the notebooks, with its own empty log."""
    root, csv, env, port, token = _server_setup(tmp_path)
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--no-browser",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    output = tmp_path / "jupyterlab.log"
    process = _start(command, env, output, root)
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    try:
        _wait(ready, process, output, "jupyter lab")
        yield Server(url, f"token={token}", csv, process, output)
    finally:
        _stop(process)


@pytest.fixture
def voila_server(tmp_path):
    """Voila serving the logging notebook as an app, with its own empty log."""
    root, csv, env, port, token = _server_setup(tmp_path)
    command = [
        sys.executable,
        "-m",
        "voila",
        str(root / "01-log.ipynb"),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        f"--Voila.token={token}",
        "--MappingKernelManager.cull_idle_timeout=300",
        "--MappingKernelManager.cull_interval=60",
    ]
    output = tmp_path / "voila.log"
    process = _start(command, env, output, root)

    def ready() -> bool:  # a page request would start a kernel: probe the port only
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    try:
        _wait(ready, process, output, "voila")
        yield Server(f"http://127.0.0.1:{port}", f"token={token}", csv, process, output)
    finally:
        _stop(process)
