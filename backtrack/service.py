"""Start the tracker at login: a systemd user unit (``backtrack service install|remove|status``).

The unit runs what ``make lab`` runs (``python -m backtrack.serve lab --port P --root
notebooks``) with this venv's python by absolute path, the project as its working folder
and the log (``$BACKTRACK_CSV``, else ``data/backtrack.csv``) as an absolute path. The
token is not in the unit: the server reads it from serve's state folder. Where
``systemctl --user`` does not work (no systemd user session: containers, macOS), the unit
is still written and the commands to enable it are printed (macOS: a launchd agent, see
the README). ``remove`` deletes only a unit this module wrote (its first line says so).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from .serve import addresses, read_token, state_dir
from .store import resolve_log_path

UNIT_NAME = "backtrack.service"
MARK = "# Written by `backtrack service install`; `backtrack service remove` deletes it."
"""The unit's first line: ``remove`` refuses a unit without it."""
PROJECT = Path(__file__).resolve().parent.parent
"""The checkout the package runs from (an editable install, as the README sets up)."""
DEFAULT_PORT = 8888


def unit_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/systemd/user/backtrack.service`` (default ``~/.config``)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user" / UNIT_NAME


def _quote(word: str) -> str:
    """A word of a systemd unit's value: ``%`` (a specifier) doubled, quoted when it
    holds spaces, quotes or backslashes."""
    word = word.replace("%", "%%")
    if any(c in word for c in " \t\"'\\"):
        return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return word


def unit_text(*, port: int = DEFAULT_PORT, project: Path = PROJECT, log: Path | None = None,
              python: str = sys.executable) -> str:  # fmt: skip
    """The unit file: starts ``make lab``'s server at login, on 127.0.0.1 (serve's
    default), with no secret in it."""
    log = (log or resolve_log_path(None)).absolute()
    command = [str(Path(python).absolute()), "-m", "backtrack.serve", "lab",
               "--port", str(port), "--root", str(project / "notebooks")]  # fmt: skip
    return "\n".join(
        [
            MARK,
            "[Unit]",
            "Description=backtrack: the back-pain exercise tracker (127.0.0.1, token)",
            "",
            "[Service]",
            "Type=simple",
            f"WorkingDirectory={str(project).replace('%', '%%')}",  # a path: never quoted
            f"Environment={_quote('BACKTRACK_CSV=' + str(log))}",
            f"ExecStart={' '.join(_quote(w) for w in command)}",
            "Restart=on-failure",
            "",
            "[Install]",
            "WantedBy=default.target",
            "",
        ]
    )


def _systemctl(*args: str) -> subprocess.CompletedProcess[str] | None:
    """``systemctl --user ARGS``; None when there is no systemctl."""
    exe = shutil.which("systemctl")
    if exe is None:
        return None
    return subprocess.run([exe, "--user", *args], capture_output=True, text=True, check=False)


def _works(result: subprocess.CompletedProcess[str] | None) -> bool:
    return result is not None and result.returncode == 0


def _by_hand(path: Path) -> str:
    return (
        f"systemd for your user did not answer (no user session here: a container, or "
        f"not Linux), so nothing was enabled. The unit is written at {path}. On a Linux "
        "login run: systemctl --user daemon-reload && systemctl --user enable --now "
        "backtrack.service (macOS: a launchd agent, see the README's 'Start at login')."
    )


def install(*, port: int = DEFAULT_PORT) -> str:
    """Write the unit (replacing one this module wrote, refusing another) and enable it
    when systemd answers; returns what to tell the user."""
    path = unit_path()
    if path.exists() and not _ours(path):
        raise FileExistsError(f"{path}: a unit not written by backtrack is there; left as it is")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = unit_text(port=port)
    changed = not path.exists() or path.read_text(encoding="utf-8") != text
    if changed:
        tmp = path.with_name(path.name + ".new")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    said = f"{'wrote' if changed else 'unchanged:'} {path}"
    if not _works(_systemctl("daemon-reload")):
        return f"{said}\n{_by_hand(path)}"
    enabled = _systemctl("enable", "--now", UNIT_NAME)
    if not _works(enabled):
        error = (enabled.stderr or enabled.stdout).strip() if enabled else ""
        return f"{said}\nsystemctl --user enable --now {UNIT_NAME} failed: {error}"
    return f"{said}\nenabled: the tracker starts at login (and now).\n{address_lines(port)}"


def _ours(path: Path) -> bool:
    with path.open(encoding="utf-8", errors="replace") as handle:
        return handle.readline().rstrip("\n") == MARK


def remove() -> str:
    """Disable the unit and delete it, only when this module wrote it."""
    path = unit_path()
    if not path.exists():
        return f"not installed ({path} does not exist)"
    if not _ours(path):
        raise FileExistsError(f"{path}: not written by backtrack; left as it is")
    disabled = _works(_systemctl("disable", "--now", UNIT_NAME))
    path.unlink()
    _systemctl("daemon-reload")
    return f"removed {path}" + ("" if disabled else " (systemd for your user did not answer)")


def address_lines(port: int = DEFAULT_PORT) -> str:
    """The form's address with its token, as ``make lab`` prints it (serve's own)."""
    token = read_token(state_dir())
    urls = addresses("lab", port=port, token=token, lan=False)
    return f"Open (and bookmark): {urls['form']}\nJupyterLab: {urls['lab']}"


def status(*, port: int = DEFAULT_PORT) -> str:
    """Installed or not, enabled/active when systemd answers, and the address."""
    path = unit_path()
    lines = [f"installed: {path}" if path.exists() else f"not installed ({path})"]
    enabled, active = _systemctl("is-enabled", UNIT_NAME), _systemctl("is-active", UNIT_NAME)
    if (
        enabled is None
        or active is None
        or enabled.returncode not in (0, 1)
        and not enabled.stdout
    ):
        lines.append("systemd for your user did not answer: enabled/active unknown")
    else:
        lines.append(f"enabled: {enabled.stdout.strip() or 'unknown'}; active: "
                     f"{active.stdout.strip() or 'unknown'}")  # fmt: skip
    lines.append(address_lines(port))
    return "\n".join(lines)


__all__ = ["MARK", "install", "remove", "status", "unit_path", "unit_text"]
