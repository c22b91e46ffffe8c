"""Start the tracker: the logging form ready at one stable address (``make lab``/``make app``).

Why this shape (measured, see the README): the address opens Voila's rendering of
``01-log.ipynb`` served by the same JupyterLab server (Voila is also a server extension),
so the form is displayed and usable on open, with no code and no Run All, and each visit
runs the notebook afresh in one kernel (Voila shuts it down when the page closes): no
stale "model not found". That kernel was started ahead, with the form's imports done
(``backtrack/kernels.py``: about 1 s of the open), and the notebook runs when the page
opens, so the form shows the log as it is then. Kernels talk to the server over
CurveZMQ (:func:`kernel_transport`). JupyterLab is one click away at ``/lab`` on the
same server.

- The token is kept in ``token`` (mode 0600) in the state folder (``$BACKTRACK_STATE_DIR``,
  default ``~/.local/state/backtrack``), created on first start and changed only by
  ``python -m backtrack.serve rotate-token`` (``make rotate-token``): a bookmark keeps
  working. It reaches the server through the environment (``JUPYTER_TOKEN``), not ``ps``.
- The project's notebooks, when the server saves them (JupyterLab autosaves the ones it
  runs), are stripped of outputs, execution counts, widget state and kernel-filled
  metadata first (:func:`strip_notebook`, the server's ``pre_save_hook``): using the
  app never changes a tracked file, and a reopened notebook shows no stale widget.
  JupyterLab starts on an empty workspace each time, so a restart does not reopen every
  notebook and start a kernel for each.
- The Voila page uses the ``backtrack`` template (``backtrack/jupyter``): Voila's ``lab``
  template without its Font Awesome and mermaid links to CDNs (Voila ships Font Awesome
  in its own bundle); its MathJax 2 typesetter, which Voila registers itself, is pointed
  at ``no-mathjax.js`` (``mathjax_url``), a local script of no-op MathJax calls instead of
  MathJax from a CDN: the page makes no outside request and no console error (browser
  tests record both).
- ``app --lan`` serves the form and nothing else (``backtrack/lan.py``: no contents,
  files, sessions, terminals or JupyterLab; no kernel but the page's own, which runs no
  code sent to it) on the one home-network address it prints, over HTTPS with a
  self-signed certificate made on first use, with its own token (``lan-token``, changed
  by ``rotate-token`` too: a phone never holds the lab's token), a warning saying what a
  token holder can do and a QR code of the address. Without ``--lan`` everything listens
  on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import io
import ipaddress
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import zmq

from ._files import OutputKind, write_private

FORM_PATH = "voila/render/01-log.ipynb"
TEMPLATES = Path(__file__).resolve().parent / "jupyter"
"""A folder on ``JUPYTER_PATH`` holding ``voila/templates/backtrack``."""
STATIC = TEMPLATES / "static"
"""Served under ``/static/``: ``no-mathjax.js``, what the Voila page loads instead of
MathJax from a CDN."""
LAB_CONFIG = TEMPLATES / "config"
"""A folder on ``JUPYTER_CONFIG_PATH``: ``labconfig/page_config.json`` lists the MathJax 2
plugin as disabled; that reaches only federated extensions, not the typesetter Voila
registers itself, which is why :data:`STATIC`'s ``no-mathjax.js`` is what keeps the page
offline (JupyterLab's own MathJax 3 is bundled and stays)."""
NOTEBOOK_KEEP_METADATA = ("kernelspec", "title")
"""Notebook metadata a person or the project sets (``title``: the page's and bookmark's name)."""
CELL_DROP_METADATA = ("execution", "collapsed", "scrolled", "jupyter", "trusted")
LAN_GATE = "backtrack.lan.FormOnlyIdentityProvider"
"""The LAN server's identity provider: the token counts on the form's page and kernel only."""
KERNEL_MESSAGES = (
    "comm_open",
    "comm_close",
    "comm_msg",
    "comm_info_request",
    "kernel_info_request",
    "shutdown_request",
)
"""The kernel messages a LAN page may send (what Voila standalone allows its pages):
``--MappingKernelManager.allowed_message_types``; the server drops any other
(``execute_request`` among them)."""
KERNEL_MANAGER = "backtrack.kernels.FormKernelManager"
"""The servers' kernel manager: jupyter-server's, with heated kernels for the form's page."""
TOKEN_FILES = {False: "token", True: "lan-token"}
"""The token file in the state folder of the loopback servers (``False``) and of the LAN
server (``True``)."""
STATE_FILE = OutputKind("a backtrack server file")
"""The token and certificate-hosts files of the state folder: backtrack's own, written
whole (0600) and replaced when remade (``force``)."""


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where the token, certificate and workspaces live (not in the repository)."""
    env = os.environ if environ is None else environ
    if env.get("BACKTRACK_STATE_DIR"):
        return Path(env["BACKTRACK_STATE_DIR"])
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "backtrack"


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def read_token(state: Path, *, rotate: bool = False, lan: bool = False) -> str:
    """The server's token from ``state/token`` (``state/lan-token`` for ``lan``); made
    (0600) on first use or when ``rotate``.

    A token file readable by others is refused: fix its mode or rotate it.
    """
    path = state / TOKEN_FILES[lan]
    if path.exists() and not rotate:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise PermissionError(
                f"{path}: readable by others (mode {mode:o}); run `chmod 600 {path}` "
                "or `make rotate-token`"
            )
        token = path.read_text(encoding="utf-8").strip()
        if len(token) >= 32:
            return token
    _private_dir(state)
    token = secrets.token_urlsafe(32)
    write_private(path, f"{token}\n".encode(), kind=STATE_FILE, force=True)
    return token


def is_shipped_notebook(path: str) -> bool:
    """True for the project's own notebooks (``NN-name.ipynb`` at the top of the served
    folder, as committed); a person's own notebooks are saved as they are."""
    return re.fullmatch(r"\d\d-[^/]+\.ipynb", path.strip("/")) is not None


def strip_notebook(model: dict[str, Any], path: str = "", **_: Any) -> None:
    """The server's ``pre_save_hook``: save the project's notebooks as they are committed.

    Outputs, execution counts, widget state, kernel-filled ``language_info`` and
    UI-only cell metadata are dropped; sources (what a person edits) are kept as they are.
    Other notebooks (:func:`is_shipped_notebook` false) keep everything.
    """
    if model.get("type") != "notebook" or not isinstance(model.get("content"), dict):
        return
    if not is_shipped_notebook(path):
        return
    notebook = model["content"]
    metadata = notebook.get("metadata", {})
    language = metadata.get("language_info", {}).get("name", "python")
    kept = {key: metadata[key] for key in NOTEBOOK_KEEP_METADATA if key in metadata}
    kept["language_info"] = {"name": language}
    notebook["metadata"] = kept
    for cell in notebook.get("cells", []):
        for key in CELL_DROP_METADATA:
            cell.get("metadata", {}).pop(key, None)
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None


def lan_address() -> str:
    """This machine's address on the home network (a routing lookup: nothing is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed, never contacted
            address: str = probe.getsockname()[0]
        except OSError:
            address = "127.0.0.1"
    return address


def listen_address(lan: bool) -> str:
    """The one address the server binds and prints: :func:`lan_address` for ``lan``,
    127.0.0.1 otherwise (never every interface)."""
    return lan_address() if lan else "127.0.0.1"


def ensure_certificate(state: Path, hosts: Sequence[str]) -> tuple[Path, Path]:
    """A self-signed certificate for ``hosts`` (made with the ``openssl`` command on first
    use, key 0600); remade when a host is missing from it."""
    folder = _private_dir(state / "tls")
    cert, key, names = folder / "cert.pem", folder / "key.pem", folder / "hosts"
    wanted = sorted(set(hosts))
    if (
        cert.exists()
        and key.exists()
        and names.exists()
        and set(wanted) <= set(names.read_text(encoding="utf-8").split())
    ):
        return cert, key
    openssl = shutil.which("openssl")
    if openssl is None:
        raise FileNotFoundError("openssl: needed once to make the HTTPS certificate")
    alt = []
    for host in wanted:
        try:
            ipaddress.ip_address(host)
            alt.append(f"IP:{host}")
        except ValueError:
            alt.append(f"DNS:{host}")
    key.unlink(missing_ok=True)
    old_umask = os.umask(0o077)
    try:
        subprocess.run(
            [
                openssl,
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-sha256",
                "-days",
                "825",
                "-subj",
                "/CN=backtrack (self-signed, this computer only)",
                "-addext",
                "subjectAltName=" + ",".join(alt),
                "-keyout",
                str(key),
                "-out",
                str(cert),
            ],
            check=True,
            capture_output=True,
        )
    finally:
        os.umask(old_umask)
    key.chmod(0o600)
    write_private(names, f"{' '.join(wanted)}\n".encode(), kind=STATE_FILE, force=True)
    return cert, key


def qr_code(text: str) -> str:
    """``text`` as a QR code drawn with block characters, for a phone's camera."""

    import segno  # lazy: only for the --lan banner's QR code

    buffer = io.StringIO()
    segno.make(text, error="m").terminal(out=buffer, compact=True, border=2)
    return buffer.getvalue()


def kernel_transport() -> list[str]:
    """How the server talks to its kernels: over loopback TCP encrypted with CurveZMQ keys
    the server makes per kernel (the kernelspec declares it), or over Unix sockets in the
    private runtime folder when this pyzmq has no CurveZMQ. Either way no message is in
    plain text, so ipykernel has no "running over TCP without encryption" warning to
    print at each kernel's start (issue 24 item 10)."""
    if zmq.has("curve"):
        return ["--MappingKernelManager.transport_encryption=auto"]
    return ["--KernelManager.transport=ipc"]


def server_command(
    mode: str,
    *,
    port: int,
    root: Path,
    state: Path,
    lan: bool = False,
    python: str = sys.executable,
) -> list[str]:
    """The command line of the server for ``mode`` ``lab`` (JupyterLab, the form first)
    or ``app`` (the form alone). No secret is on it: the token goes in ``JUPYTER_TOKEN``."""
    app = "jupyterlab" if mode == "lab" else "jupyter_server"
    command = [
        python,
        "-m",
        app,
        f"--ServerApp.ip={listen_address(lan)}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.open_browser=False",
        f"--ServerApp.default_url=/{FORM_PATH}",
        "--ContentsManager.pre_save_hook=backtrack.serve.strip_notebook",
        "--VoilaConfiguration.template=backtrack",
        # no ?template= swaps it for Voila's own, which load fonts and scripts from CDNs
        "--VoilaConfiguration.allow_template_override=NO",
        f"--ServerApp.extra_static_paths={STATIC}",
        "--ServerApp.tornado_settings=mathjax_url=/static/no-mathjax.js",
        # Voila's page asks to shut its kernel down as it closes, but that request lacks
        # the XSRF field the server wants (403, logged): idle kernels with no page
        # connected are ended after 5 minutes instead (a notebook open in JupyterLab is
        # connected and stays).
        "--MappingKernelManager.cull_idle_timeout=300",
        "--MappingKernelManager.cull_interval=60",
        # notebook_shim runs classic-notebook server extensions (none here); on start it
        # reads every ServerApp setting, the deprecated ServerApp.token among them, and
        # so printed jupyter-server's deprecation warning at each start.
        "--ServerApp.jpserver_extensions=notebook_shim=False",
        # the terminal shows backtrack's own lines (the address, what to do), not the
        # server's 20 start-up INFO lines (one more address, where nothing listens in
        # LAN mode); its warnings and errors still print
        "--Application.log_level=WARN",  # ServerApp and its extensions (LabApp)
        # the form's page opens on a kernel started ahead (backtrack/kernels.py), which
        # the server heats as it starts
        f"--ServerApp.kernel_manager_class={KERNEL_MANAGER}",
        f"--FormKernelManager.form_path=/{FORM_PATH}",
        "--ServerApp.jpserver_extensions=backtrack.server_extension=True",
        *kernel_transport(),
    ]
    if mode == "lab":
        workspaces = state / "workspaces"
        shutil.rmtree(workspaces, ignore_errors=True)
        _private_dir(workspaces)
        command += [
            f"--LabApp.default_url=/{FORM_PATH}",
            f"--LabApp.workspaces_dir={workspaces}",
            "--LabApp.extension_manager=readonly",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
    else:
        command += [
            "--ServerApp.terminals_enabled=False",
            "--ServerApp.jpserver_extensions=jupyterlab=False",
            "--ServerApp.jpserver_extensions=jupyter_lsp=False",
        ]
    if lan:
        cert, key = ensure_certificate(state, ["localhost", "127.0.0.1", lan_address()])
        command += [
            f"--ServerApp.certfile={cert}",
            f"--ServerApp.keyfile={key}",
            # backtrack/lan.py: the token counts on the form's page and kernel only
            f"--ServerApp.identity_provider_class={LAN_GATE}",
            f"--FormOnlyIdentityProvider.form_path=/{FORM_PATH}",
            # a handler that forgot to ask who the user is asks too (all but the
            # methods jupyter-server marks public: static files, login, the version)
            "--ServerApp.allow_unauthenticated_access=False",
            "--MappingKernelManager.allowed_message_types=" + json.dumps(list(KERNEL_MESSAGES)),
            # Voila's /voila/files/ asks for no token: serve no file through it
            "--VoilaConfiguration.file_allowlist=[]",
        ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    return command


def server_environment(
    token: str, mode: str = "lab", environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The server's environment: the token, the folder with the ``backtrack`` template
    first on ``JUPYTER_PATH`` and, for ``lab``, the form's link to JupyterLab."""
    env = dict(os.environ if environ is None else environ)
    env["JUPYTER_TOKEN"] = token
    if mode == "lab":
        env["BACKTRACK_LAB_URL"] = "/lab"
    else:
        env.pop("BACKTRACK_LAB_URL", None)
    for name, folder in (("JUPYTER_PATH", TEMPLATES), ("JUPYTER_CONFIG_PATH", LAB_CONFIG)):
        paths = [str(folder)] + [p for p in env.get(name, "").split(os.pathsep) if p]
        env[name] = os.pathsep.join(dict.fromkeys(paths))
    return env


def addresses(mode: str, *, port: int, token: str, lan: bool) -> dict[str, str]:
    """The addresses to print: ``form`` (bookmark it) and, for ``lab``, ``lab``."""
    host = listen_address(lan)
    base = f"{'https' if lan else 'http'}://{host}:{port}"
    found = {"form": f"{base}/{FORM_PATH}?token={token}"}
    if mode == "lab":
        found["lab"] = f"{base}/lab?token={token}"
    return found


def banner(mode: str, *, port: int, token: str, lan: bool, log: Path, state: Path) -> str:
    """What ``make lab``/``make app`` print before the server starts."""
    urls = addresses(mode, port=port, token=token, lan=lan)
    lines = []
    if not log.exists():
        lines.append(
            f"No log yet at {log}: the form shows demo data until you save your first day."
        )
    else:
        lines.append(f"Your log: {log}")
    lines += [
        "Open (and bookmark) this address: the logging form, ready to use:",
        f"    {urls['form']}",
    ]
    if "lab" in urls:
        lines += ["JupyterLab (trends, analysis) is one click away:", f"    {urls['lab']}"]
    lines.append(
        f"The address stays the same at every start (token in {state / TOKEN_FILES[lan]}, "
        "readable by you only; `make rotate-token` changes it)."
    )
    if lan:
        if urls["form"].startswith("https://127.0.0.1"):
            lines.append("No home-network address found (no network?): a phone cannot reach it.")
        lines += ["", *LAN_WARNING, "", qr_code(urls["form"])]
    return "\n".join(lines)


LAN_WARNING = (
    "WARNING: the form is served to your home network (HTTPS, self-signed certificate).",
    "Anyone on this network who has the address (it includes the phone's own token,",
    "not JupyterLab's) can do what the form does, and only that: see any day of your",
    "log (pain, exercises, where it hurts, notes, earlier saves, a self-trial's day) by",
    "picking its date, and save, correct or remove a day. They cannot open JupyterLab,",
    "a terminal, another notebook or any file, start a kernel or run code.",
    "Use it on a network you trust; stop it (Ctrl-C) when done.",
    "Your phone will warn that the certificate is not trusted: it is this computer's own.",
)
"""What ``make app LAN=1`` prints: what a holder of the LAN address can and cannot do."""


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m backtrack.serve lab|app [--port N] [--lan]`` or ``rotate-token``."""
    parser = argparse.ArgumentParser(prog="python -m backtrack.serve", description=__doc__)
    parser.add_argument("mode", choices=["lab", "app", "rotate-token", "print-address"])
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--root", default="notebooks", help="the folder of notebooks to serve")
    parser.add_argument("--lan", action="store_true", help="serve to the home network (HTTPS)")
    args = parser.parse_args(argv)
    state = state_dir()
    from .store import resolve_log_path  # lazy: pandas; import backtrack.serve stays light

    if args.mode == "rotate-token":
        for lan in TOKEN_FILES:
            read_token(state, rotate=True, lan=lan)
        written = " and ".join(str(state / name) for name in TOKEN_FILES.values())
        print(f"New tokens written to {written}: old bookmarks stop working.")
        return 0
    if args.lan and args.mode == "lab":
        parser.error("--lan serves the form alone: use `make app LAN=1`")
    try:
        token = read_token(state, lan=args.lan)
    except PermissionError as exc:
        print(f"backtrack: {exc}", file=sys.stderr)
        return 2
    mode = "app" if args.mode == "app" else "lab"
    if args.mode == "print-address":
        print(addresses(mode, port=args.port, token=token, lan=args.lan)["form"])
        return 0
    root = Path(args.root).resolve()
    command = server_command(mode, port=args.port, root=root, state=state, lan=args.lan)
    print(
        banner(
            mode,
            port=args.port,
            token=token,
            lan=args.lan,
            log=resolve_log_path(None),
            state=state,
        ),
        flush=True,
    )
    env = server_environment(token, mode)
    os.execve(command[0], command, env)
    return 0  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
