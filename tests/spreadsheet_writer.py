"""What a spreadsheet writes when a log is opened and saved again as CSV (test fixture).

A scripted stand-in for Excel's and LibreOffice Calc's CSV save, one knob per habit of
theirs (each seen in real saves, see docs/interop.md): a locale (``us``: ``,``
separator, ``m/d/yyyy h:mm AM/PM``; ``de``: ``;``, ``dd.mm.yyyy hh:mm``, decimal
commas in the minutes), times without seconds or offset, a pain shown with one decimal,
a UTF-8 BOM or a legacy encoding (``cp1252``: ``?`` for what it cannot hold), CRLF
record ends with LF inside cells, every field quoted or only where needed, a number-like
note written as the number, and the ``'`` in front of a formula-like note dropped.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from backtrack.interop.repair import RepairReport
from backtrack.schema import FORMULA_PREFIXES, NOTE_GUARD


@dataclass(frozen=True)
class Style:
    """One spreadsheet's save: see the module docstring."""

    locale: str = "de"
    bom: bool = True
    crlf: bool = True
    quote_all: bool = False
    pain_decimals: bool = False
    encoding: str = "utf-8"


def _day(text: str, locale: str) -> str:
    y, m, d = (int(p) for p in text.split("-"))
    return f"{m}/{d}/{y}" if locale == "us" else f"{d:02d}.{m:02d}.{y}"


def _time(stamp: datetime, locale: str) -> str:
    day = _day(stamp.date().isoformat(), locale)
    if locale == "us":
        suffix = "PM" if stamp.hour >= 12 else "AM"
        return f"{day} {stamp.hour % 12 or 12}:{stamp:%M} {suffix}"
    return f"{day} {stamp:%H:%M}"


def _number_shown(text: str) -> str | None:
    """A note a spreadsheet reads as a number, as it writes it back (``007`` → ``7``)."""
    return str(int(text)) if text.isascii() and text.isdigit() else None


def spreadsheet_save(text: str, style: Style) -> bytes:
    """The bytes a spreadsheet writes for the log ``text`` opened and saved in ``style``."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, body = rows[0], rows[1:]
    decimal = "," if style.locale == "de" else "."
    out = [header]
    for fields in body:
        row = dict(zip(header, fields, strict=True))
        row["recorded_at"] = _time(datetime.fromisoformat(row["recorded_at"]), style.locale)
        row["date"] = _day(row["date"], style.locale)
        if row["pain"] and style.pain_decimals:
            row["pain"] = f"{row['pain']}{decimal}0"
        row["exercises"] = row["exercises"].replace(".", decimal)
        note = row["note"]
        if note.startswith(NOTE_GUARD) and note[1:].startswith((*FORMULA_PREFIXES, NOTE_GUARD)):
            note = note[1:]  # shown as a text mark, not saved
        note = _number_shown(note) or note
        row["note"] = note.replace("\r\n", "\n")  # a cell's line breaks are LF
        out.append([row[name] for name in header])
    buffer = io.StringIO()
    csv.writer(
        buffer,
        delimiter=";" if style.locale == "de" else ",",
        lineterminator="\r\n" if style.crlf else "\n",
        quoting=csv.QUOTE_ALL if style.quote_all else csv.QUOTE_MINIMAL,
    ).writerows(out)
    data = buffer.getvalue().encode(style.encoding, errors="replace")
    return (b"\xef\xbb\xbf" if style.bom and style.encoding == "utf-8" else b"") + data


def assert_changes_listed(source: Path, out: Path, report: RepairReport) -> None:
    """Each field of OUT equals IN's field at that line, or a change says found -> wrote."""
    data = source.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    separator = ";" if ";" in text.splitlines()[0] else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    header = [h.strip().lower() for h in next(reader)]
    typed = {}
    start = 2
    for fields in reader:
        typed[start] = dict(zip(header, fields, strict=False))
        start = reader.line_num + 1
    changes = {(c.line, c.column): c for c in report.changes}
    kept = [line for line in typed if line not in {n for n, _ in report.left_out}]
    kept = [line for line in kept if any(v.strip() for v in typed[line].values())]
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8"), newline="")))
    assert len(rows) == len(kept)
    for line, row in zip(kept, rows, strict=True):
        for column, value in row.items():
            was = typed[line].get(column, "")
            if value != was:
                change = changes.get((line, column))
                assert change is not None, (line, column, was, value)
                assert (change.found, change.wrote) == (was, value)


SOFFICE = os.environ.get("BACKTRACK_SOFFICE", "/usr/bin/soffice")
LANGUAGES = {"de_DE": 1031, "en_US": 1033}
"""LibreOffice's language ids for the CSV filter's locale token."""


def libreoffice_save(
    sources: list[Path], out_dir: Path, *, language: str, quote_all: bool
) -> list[Path]:
    """Each log opened in LibreOffice Calc (headless) in ``language`` and saved again as
    CSV, the way a user does: UTF-8, numbers and dates detected ("detect special
    numbers"), the locale's separator (``;`` in German), every text cell quoted or not.
    One soffice run for all the files, with its own profile under ``out_dir``."""
    lang = LANGUAGES[language]
    separator = 59 if language == "de_DE" else 44
    out_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            SOFFICE,
            "--headless",
            "--norestore",
            f"-env:UserInstallation={(out_dir / 'profile').as_uri()}",
            f"--infilter=CSV:44,34,76,1,,{lang},false,true",
            "--convert-to",
            f"csv:Text - txt - csv (StarCalc):{separator},34,76,1,,{lang},"
            f"{'true' if quote_all else 'false'},false,true",
            "--outdir",
            str(out_dir),
            *map(str, sources),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return [out_dir / source.name for source in sources]
