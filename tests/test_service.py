"""`backtrack service install|remove|status`: a systemd user unit, with a fake systemctl."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from backtrack import service
from backtrack.cli import main
from backtrack.serve import addresses, read_token, state_dir

FAKE = """#!/bin/sh
echo "$@" >> "{log}"
case "$2" in
  is-enabled) echo enabled ;;
  is-active) echo active ;;
esac
exit {code}
"""


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A temp XDG_CONFIG_HOME, state folder and log; PATH holding only a fake systemctl
    (exit 0) that records its arguments in ``calls``."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("BACKTRACK_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("BACKTRACK_CSV", "data/mine.csv")  # relative: made absolute
    return tmp_path


def fake_systemctl(tmp_path: Path, monkeypatch, code: int = 0) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    calls = tmp_path / "calls"
    exe = bin_dir / "systemctl"
    exe.write_text(FAKE.format(log=calls, code=code))
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    return calls


def exec_start(text: str) -> list[str]:
    line = next(x for x in text.splitlines() if x.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


def test_install_writes_the_unit_and_enables_it(home, monkeypatch, capsys):
    calls = fake_systemctl(home, monkeypatch)
    assert main(["service", "install"]) == 0
    unit = home / "config" / "systemd" / "user" / "backtrack.service"
    text = unit.read_text()
    assert text.splitlines()[0] == service.MARK
    command = exec_start(text)
    assert command[0] == str(Path(sys.executable).absolute()) and Path(command[0]).is_absolute()
    assert command[1:5] == ["-m", "backtrack.serve", "lab", "--port"]
    assert Path(command[-1]).is_absolute() and command[-1].endswith("notebooks")
    assert f"BACKTRACK_CSV={Path('data/mine.csv').absolute()}" in text
    assert f"WorkingDirectory={service.PROJECT}" in text
    assert read_token(state_dir()) not in text  # the token stays in the state folder
    assert "0.0.0.0" not in text and "--lan" not in text  # serve's default: 127.0.0.1
    assert calls.read_text().splitlines() == [
        "--user daemon-reload",
        "--user enable --now backtrack.service",
    ]
    out = capsys.readouterr().out
    assert addresses("lab", port=8888, token=read_token(state_dir()), lan=False)["form"] in out


def test_install_is_idempotent(home, monkeypatch, capsys):
    fake_systemctl(home, monkeypatch)
    assert main(["service", "install"]) == 0
    unit = service.unit_path()
    first = unit.read_bytes()
    assert main(["service", "install"]) == 0
    assert unit.read_bytes() == first
    assert "unchanged:" in capsys.readouterr().out
    assert sorted(p.name for p in unit.parent.iterdir()) == ["backtrack.service"]


def test_without_a_user_session_it_says_what_to_do(home, monkeypatch, capsys):
    fake_systemctl(home, monkeypatch, code=1)
    assert main(["service", "install"]) == 0
    out = capsys.readouterr().out
    assert "did not answer" in out
    assert "systemctl --user enable --now backtrack.service" in out
    assert service.unit_path().exists()


def test_remove_deletes_only_its_own_unit(home, monkeypatch, capsys):
    calls = fake_systemctl(home, monkeypatch)
    unit = service.unit_path()
    unit.parent.mkdir(parents=True)
    unit.write_text("[Service]\nExecStart=/bin/true\n")  # someone else's
    assert main(["service", "remove"]) == 2
    assert "not written by backtrack" in capsys.readouterr().err
    assert unit.read_text() == "[Service]\nExecStart=/bin/true\n"
    assert main(["service", "install"]) == 2  # nor replaced
    assert unit.read_text() == "[Service]\nExecStart=/bin/true\n"
    assert not calls.exists()
    unit.unlink()
    assert main(["service", "install"]) == 0
    assert main(["service", "remove"]) == 0
    assert not unit.exists()
    assert "--user disable --now backtrack.service" in calls.read_text()
    assert main(["service", "remove"]) == 0
    assert "not installed" in capsys.readouterr().out


def test_status_says_installed_enabled_active_and_the_address(home, monkeypatch, capsys):
    fake_systemctl(home, monkeypatch)
    assert main(["service", "status"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("not installed")
    assert main(["service", "install", "--port", "8900"]) == 0
    capsys.readouterr()
    assert main(["service", "status", "--port", "8900"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("installed: ")
    assert "enabled: enabled; active: active" in out
    urls = addresses("lab", port=8900, token=read_token(state_dir()), lan=False)
    assert urls["form"] in out and urls["lab"] in out


def test_status_without_systemctl(home, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(home / "empty"))
    assert main(["service", "status"]) == 0
    assert "did not answer" in capsys.readouterr().out


def test_systemd_analyze_accepts_the_unit(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian: systemd)")
    unit = tmp_path / "backtrack.service"
    unit.write_text(service.unit_text(log=tmp_path / "log.csv"))
    result = subprocess.run(
        # system mode: --user needs a user session (this sandbox has none); the unit's
        # syntax and ExecStart are checked the same way
        [analyze, "verify", str(unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "folder", ["plain", "with space", "100%", "%h", "it's", 'say "hi"', "a\\b"]
)
def test_paths_with_spaces_quotes_and_percent_survive(tmp_path, folder):
    """A project or log path with a space, quote, backslash or % (a systemd specifier)
    reads back as itself from the unit's ExecStart and Environment lines (and systemd
    accepts the unit, where systemd-analyze exists)."""
    project = tmp_path / folder
    text = service.unit_text(project=project, log=project / "log.csv", python=sys.executable)
    body = text.split("\n", 1)[1]  # below the mark: every % doubled, never a specifier
    assert "%" not in body.replace("%%", "")
    command = [w.replace("%%", "%") for w in exec_start(text)]
    assert command[-1] == str(project / "notebooks")
    env = next(x for x in text.splitlines() if x.startswith("Environment="))
    assert shlex.split(env.removeprefix("Environment="))[0].replace("%%", "%") == (
        f"BACKTRACK_CSV={project / 'log.csv'}"
    )
    analyze = shutil.which("systemd-analyze")
    if analyze is not None:
        project.mkdir()
        unit = tmp_path / "backtrack.service"
        unit.write_text(text)
        result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
