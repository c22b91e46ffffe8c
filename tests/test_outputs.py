"""Every command that writes a file, against every kind of target: the log and its files
are never replaced, nor anything that is not a regular file; another kind of file only
with --force (issue 23 item 2)."""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backtrack._files import CALENDAR, JSON, PDF, OutputKind, check_output, write_private
from backtrack.actions import save_answers
from backtrack.cli import main
from backtrack.demo import write_demo
from backtrack.errors import OutputError
from backtrack.outputs import kept_files
from backtrack.routine import ROUTINE_FILE_NAME
from backtrack.schema import COLUMNS, Entry, csv_line
from backtrack.store import APPENDED_SUFFIX, LOCK_SUFFIX, append_entry
from backtrack.trial import TRIAL_FILE_NAME

TODAY = date.today()
NOW = datetime.now().astimezone()
PLAN_START = TODAY - timedelta(days=30)  # 2 pairs of 4-day blocks: over before today
LOG_HEADER = csv_line(list(COLUMNS)).encode()


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A log written by the store (so its lock and append note exist), a measures file,
    a routine and a finished self-trial plan beside it."""
    folder = tmp_path_factory.mktemp("template")
    log = folder / "log.csv"
    write_demo(log, days=60, seed=4, end=TODAY - timedelta(days=1))
    append_entry(log, Entry(recorded_at=NOW, date=TODAY, pain=3))
    save_answers(log, peg="6,5,7", now=NOW)  # the measures file: kept, never touched
    routine = resources.files("backtrack").joinpath("default_routine.toml").read_bytes()
    (folder / ROUTINE_FILE_NAME).write_bytes(routine)
    plan = ["trial", "plan", "--csv", str(log), "--a", "full", "--b", "less"]
    plan += ["--b-without", "wall_squat", "--pairs", "2", "--block-days", "4"]
    plan += ["--washout-days", "1", "--start", PLAN_START.isoformat(), "--seed", "1"]
    assert main(plan) == 0
    return folder


def test_the_lock_suffix_is_the_file_the_store_locks(tmp_path):
    log = tmp_path / "log.csv"
    append_entry(log, Entry(recorded_at=NOW, date=TODAY, pain=1))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["log.csv", f"log.csv{LOCK_SUFFIX}", f"log.csv{APPENDED_SUFFIX}"]
    )
    assert set(kept_files(log)) >= {tmp_path / f"log.csv{LOCK_SUFFIX}"}


@dataclass(frozen=True)
class Command:
    name: str
    argv: tuple[str, ...]  # {log} and {out} are filled in
    magic: bytes | None  # what the written file starts with; None: only a new file
    force: bool = False  # the walk passes --force (trial plan: --replace)
    makes_folders: bool = False
    plan: bool = False  # writes the trial plan (trial.toml beside the log is its own)


PDF_MAGIC, ICS_MAGIC, JSON_MAGIC = b"%PDF-", b"BEGIN:VCALENDAR", b"{"
COMMANDS = [
    Command("report", ("report", "--csv", "{log}", "-o", "{out}"), PDF_MAGIC),
    Command("trial report", ("trial", "report", "--csv", "{log}", "-o", "{out}"), PDF_MAGIC),
    Command(
        "export --fhir",
        ("export", "--fhir", "--no-subject", "--csv", "{log}", "-o", "{out}"),
        JSON_MAGIC,
    ),
    Command("remind --ics", ("remind", "--ics", "--csv", "{log}", "-o", "{out}"), ICS_MAGIC),
    Command("cohort --trials", ("cohort", "{folder}", "--trials", "-o", "{out}"), PDF_MAGIC),
    Command("repair", ("repair", "{log}", "-o", "{out}"), None),
    Command("demo", ("demo", "--days", "10", "-o", "{out}"), None, makes_folders=True),
    Command(
        "trial plan",
        ("trial", "plan", "--csv", "{log}", "--a", "x", "--b", "y", "--trial", "{out}"),
        b"# backtrack self-trial plan",
        makes_folders=True,
        plan=True,
    ),
    Command(
        "trial stop",
        ("trial", "stop", "--csv", "{log}", "--date", str(PLAN_START), "--trial", "{out}"),
        b"# backtrack self-trial plan",
        plan=True,
    ),
]
COMMANDS += [
    Command(
        c.name + (" --replace" if c.plan else " --force"),
        c.argv,
        c.magic,
        True,
        c.makes_folders,
        c.plan,
    )
    for c in COMMANDS
    if c.magic is not None and c.name != "trial stop"
]

KEPT = {  # target → the words of its refusal
    "log": "is the log",
    "log via a symlink": ") by another name",
    "log via a hard link": ") by another name",
    "<log>.lock": "is the log's lock file",
    "<log>.appended": "is the log's append note",
    "routine.toml beside": "is the routine beside the log",
    "trial.toml beside": "is the self-trial plan beside the log",
}
NOT_REGULAR = {
    "/dev/null": "is a character device, not a regular file",
    "/dev/full": "is a character device, not a regular file",
    "a FIFO": "is a FIFO (named pipe), not a regular file",
    "a folder": "is a folder, not a regular file",
    "a symlink to elsewhere": "is a symbolic link",
}
TARGETS = [*KEPT, *NOT_REGULAR, "another kind", "the same kind", "a new path", "a missing folder"]


def _same_kind_bytes(command: Command, folder: Path) -> bytes:
    if command.magic is None:
        return (folder / "log.csv").read_bytes()  # a log: what repair and demo write
    if command.plan:
        return (folder / TRIAL_FILE_NAME).read_bytes()  # a finished plan
    return command.magic + b" an earlier one\n"


def _make(target: str, command: Command, folder: Path) -> Path:
    log = folder / "log.csv"
    if target == "log":
        return log
    if target == "log via a symlink":
        (folder / "link.csv").symlink_to(log)
        return folder / "link.csv"
    if target == "log via a hard link":
        os.link(log, folder / "hard.csv")
        return folder / "hard.csv"
    if target.startswith("<log>"):
        return Path(str(log) + target.removeprefix("<log>"))
    if target.endswith(" beside"):
        return folder / target.split()[0]
    if target.startswith("/dev/"):
        return Path(target)
    out = folder / "out.file"
    if target == "a FIFO":
        os.mkfifo(out)
    elif target == "a folder":
        out.mkdir()
    elif target == "a symlink to elsewhere":
        elsewhere = folder / "elsewhere"
        elsewhere.mkdir()
        (elsewhere / "real").write_bytes(_same_kind_bytes(command, folder))
        out.symlink_to(elsewhere / "real")
    elif target == "another kind":
        out.write_bytes(b"my own notes, not to be lost\n")
    elif target == "the same kind":
        out.write_bytes(_same_kind_bytes(command, folder))
    elif target == "a missing folder":
        out = folder / "missing" / "out.file"
    return out


def _expected(command: Command, target: str) -> str | None:
    """The refusal's words, or None when the command writes the target."""
    if command.name.startswith("cohort") and target.startswith("log via"):
        return "is the log of"  # the link is itself one of the clinic folder's logs
    if target in KEPT and not (command.plan and target == "trial.toml beside"):
        return KEPT[target]
    if target in NOT_REGULAR:
        return NOT_REGULAR[target]
    stop = command.name == "trial stop"
    if target == "a new path":
        return "no trial planned" if stop else None
    if target == "a missing folder":
        if stop:
            return "no trial planned"
        return None if command.makes_folders else "missing does not exist"
    if target == "another kind":
        if stop:
            return "expected valid TOML"  # it reads the plan first
        if command.plan:
            return None if command.force else "found 'a plan file that cannot be read'"
        if command.magic is None:
            return "exists already (nothing is overwritten)"
        return None if command.force else "(give --force to replace it)"
    if command.magic is None:  # the same kind, trial.toml beside: only a new file
        return "exists already (nothing is overwritten)"
    return None


def _snapshot(path: Path) -> tuple[object, ...]:
    info = os.lstat(path)
    content: object = None
    if stat.S_ISREG(info.st_mode):
        content = path.read_bytes()
    elif stat.S_ISLNK(info.st_mode):
        content = (os.readlink(path), os.stat(path).st_ino, path.read_bytes())
    if stat.S_ISCHR(info.st_mode):  # /dev/null's times change with every write to it
        return (info.st_ino, info.st_mode, info.st_rdev)
    return (info.st_ino, info.st_mode, info.st_nlink, info.st_size, info.st_mtime_ns, content)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_every_output_command_against_every_target(
    tmp_path, template, monkeypatch, capsys, command, target
):
    folder = tmp_path / "home"
    shutil.copytree(template, folder, symlinks=True)
    log = folder / "log.csv"
    monkeypatch.setenv("BACKTRACK_CSV", str(log))  # repair and demo have no --csv
    out = _make(target, command, folder)
    kept = [p for p in kept_files(log) if p.exists()]
    before_kept = {p: _snapshot(p) for p in kept}
    before = _snapshot(out) if os.path.lexists(out) else None
    argv = [a.format(log=log, out=out, folder=folder) for a in command.argv]
    if command.force:
        argv.append("--replace" if command.plan else "--force")

    code = main(argv)

    err = capsys.readouterr().err
    refusal = _expected(command, target)
    if refusal is not None:
        assert code == 2, err
        assert refusal in err and "\n" not in err.strip(), err
        assert str(out) in err
        if before is None:
            assert not os.path.lexists(out)
        else:
            assert _snapshot(out) == before
    else:
        assert code == 0, err
        info = os.lstat(out)
        assert stat.S_ISREG(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o600
        assert out.read_bytes().startswith(command.magic or LOG_HEADER)
    written = {out} if refusal is None else set()
    for path in kept:
        if path not in written:
            assert _snapshot(path) == before_kept[path], f"{path} was touched"
    leftovers = [p.name for p in folder.rglob(".*") if p.name.startswith(f".{out.name}.")]
    assert leftovers == []


def test_export_and_remind_to_stdout_are_not_files(template, tmp_path, capsys, monkeypatch):
    folder = tmp_path / "home"
    shutil.copytree(template, folder)
    monkeypatch.chdir(folder)
    assert main(["remind", "--ics", "-o", "-"]) == 0
    assert capsys.readouterr().out.startswith("BEGIN:VCALENDAR")
    assert main(["export", "--fhir", "--no-subject", "--csv", "log.csv", "-o", "-"]) == 0
    assert capsys.readouterr().out.startswith("{")
    assert not (folder / "-").exists()


KINDS = [PDF, CALENDAR, JSON, OutputKind("a new-only file")]
MAGICS = [b"%PDF-", b"BEGIN:VCALENDAR", b"{", b"[", b"recorded_at,", b""]


@given(
    kind=st.sampled_from(KINDS),
    prefix=st.sampled_from([b"", b"\xef\xbb\xbf", b"  \n", b"x"]),
    magic=st.sampled_from(MAGICS),
    rest=st.binary(max_size=64),
    force=st.booleans(),
)
def test_an_existing_file_is_replaced_only_when_of_the_kind_or_forced(
    tmp_path_factory, kind, prefix, magic, rest, force
):
    folder = tmp_path_factory.mktemp("kind")
    target = folder / "existing"
    original = prefix + magic + rest
    target.write_bytes(original)
    start = original.removeprefix(b"\xef\xbb\xbf").lstrip()
    allowed = force or any(start.startswith(m) for m in kind.magic)
    try:
        write_private(target, b"new", kind=kind, force=force)
    except OutputError as error:
        assert not allowed
        assert str(target) in str(error) and "nothing was written" in str(error)
        assert target.read_bytes() == original
    else:
        assert allowed
        assert target.read_bytes() == b"new"
    assert sorted(p.name for p in folder.iterdir()) == ["existing"]


def test_a_kept_name_is_refused_before_it_exists(tmp_path):
    log = tmp_path / "log.csv"
    for path, what in kept_files(log).items():
        with pytest.raises(OutputError, match=what):
            check_output(path, kind=PDF, force=True, keep=kept_files(log))
        assert not path.exists()


@pytest.mark.parametrize("appears", [b"my own notes\n", b"%PDF-1.4 another report"])
def test_a_file_that_appears_after_the_last_check_is_checked_not_replaced(
    tmp_path, monkeypatch, appears
):
    """The race: the name was free at both checks, then a file appeared there."""
    import backtrack._files as files

    target = tmp_path / "report.pdf"
    calls = []
    real = files.check_output

    def check_then_appear(*args, **kwargs):
        calls.append(1)
        result = real(*args, **kwargs)
        if len(calls) == 2:
            target.write_bytes(appears)
        return result

    monkeypatch.setattr(files, "check_output", check_then_appear)
    if appears.startswith(b"%PDF-"):  # the same kind: checked, then replaced
        write_private(target, b"%PDF-new", kind=PDF)
        assert target.read_bytes() == b"%PDF-new"
    else:
        with pytest.raises(OutputError, match="is not a PDF"):
            write_private(target, b"%PDF-new", kind=PDF)
        assert target.read_bytes() == appears
    assert len(calls) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.pdf"]
