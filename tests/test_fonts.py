"""Notes in any script: drawn with a font fallback list, or replaced with a sentence."""

from __future__ import annotations

import io
import re
import warnings
from datetime import date, datetime, time, timedelta

import matplotlib
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from pypdf import PdfReader

from backtrack import fonts, report
from backtrack.cli import main
from backtrack.demo import to_csv_text
from backtrack.schema import Entry
from tests.conftest import TZ

END = date(2026, 11, 20)
JAPANESE, ARABIC, EMOJI, CYRILLIC = "腰が痛い", "ألم الظهر", "🙂", "Привет"
NOTE = f"{JAPANESE} {ARABIC} {EMOJI} {CYRILLIC}"
ONLY_DEJAVU = ("DejaVu Sans",)


def draw(text: str, families: tuple[str, ...] | None = None) -> list[str]:
    """The warnings drawing ``text`` (to PDF and PNG) with ``families`` gives."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with matplotlib.rc_context(fonts.font_style(families)):
            fig = Figure(figsize=(3, 1))
            fig.text(0.01, 0.5, text)
            for fmt in ("pdf", "png"):
                fig.savefig(io.BytesIO(), format=fmt)
    return [str(w.message) for w in caught]


def flare_log(tmp_path, note: str):
    """40 days, the 31st a flare day with ``note``."""
    first = END - timedelta(days=39)
    entries = []
    for i in range(40):
        day = first + timedelta(days=i)
        flare = i == 30
        entries.append(
            Entry(
                datetime.combine(day, time(20), TZ),
                day,
                9 if flare else 4 + i % 2,
                {"floor_relaxation": None},
                "flare" if flare else "routine",
                (),
                note if flare else "",
            )
        )
    csv = tmp_path / "log.csv"
    csv.write_text(to_csv_text(entries), encoding="utf-8")
    return csv


def report_of(tmp_path, note: str) -> tuple[PdfReader, str, list[str]]:
    """The report of :func:`flare_log`: the PDF, its text, and the warnings made."""
    out = tmp_path / "notes.pdf"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["report", "-o", str(out), "--csv", str(flare_log(tmp_path, note))]) == 0
    reader = PdfReader(out)
    text = re.sub(r"\s+", " ", reader.pages[0].extract_text())
    return reader, text, [str(w.message) for w in caught]


def embedded_fonts(reader: PdfReader) -> set[str]:
    fonts_ = reader.pages[0]["/Resources"]["/Font"]
    return {str(fonts_[name].get_object()["/BaseFont"]).split("+")[-1] for name in fonts_}


def test_without_fallback_fonts_the_report_says_what_it_cannot_show(tmp_path, monkeypatch):
    """Only DejaVu Sans: the Japanese and the emoji are replaced by […] with the sentence
    naming the packages; Arabic and Cyrillic (DejaVu has them) are shown; no box, no
    matplotlib glyph warning. (Before: □ for each missing character.)"""
    monkeypatch.setattr(fonts, "FAMILIES", ONLY_DEJAVU)
    reader, text, caught = report_of(tmp_path, NOTE)
    assert not [w for w in caught if "missing from font" in w]
    assert "□" not in text
    # […], or ]…[ as a right-to-left line draws it (this one starts with Arabic)
    assert re.search(r"[\[\]]…[\[\]]", text) and JAPANESE not in text and EMOJI not in text
    assert CYRILLIC in text
    assert (
        "(some characters of this note cannot be shown on this computer: install "
        "fonts-noto-cjk and fonts-symbola)"
    ) in text
    assert embedded_fonts(reader) <= {"DejaVuSans", "DejaVuSans-Bold", "DejaVuSans-Oblique"}


def test_with_noto_cjk_the_japanese_note_is_drawn_in_it(tmp_path):
    """When Noto Sans CJK is installed (the project's `make test` installs it as root:
    tests/ensure-fonts.sh), the PDF embeds it and shows the Japanese; only the emoji,
    which no installed font has, is left out and said so."""
    if "Noto Sans CJK JP" not in fonts.installed_families():
        pytest.skip("Noto Sans CJK is not installed (Debian: apt-get install fonts-noto-cjk)")
    reader, text, caught = report_of(tmp_path, NOTE)
    assert not [w for w in caught if "missing from font" in w]
    assert any(name.startswith("NotoSansCJK") for name in embedded_fonts(reader))
    assert JAPANESE in text and CYRILLIC in text
    if "Symbola" not in fonts.installed_families():
        assert "install fonts-symbola)" in text
        assert "fonts-noto-cjk" not in text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=12))
def test_what_showable_gives_draws_without_a_glyph_warning(text):
    """Any text: the shown text draws (PDF and PNG) with no warning; every character
    kept is the note's own; the sentence is there exactly when a printable character
    was replaced."""
    shown, sentence = fonts.showable(text, ONLY_DEJAVU)
    assert draw(shown, ONLY_DEJAVU) == []
    missing = fonts.missing_characters(text.replace("\ufeff", ""), ONLY_DEJAVU)
    assert bool(sentence) == any(not c.isspace() for c in missing)
    rest = shown.replace(fonts.OMITTED, "")
    assert set(rest) <= set(text) | {" "}
    assert not fonts.missing_characters(rest, ONLY_DEJAVU)


def test_every_script_of_the_note_is_in_some_installed_family_or_reported():
    """Each character of the note is either drawable with the installed fallback list
    or among the missing ones (never both)."""
    missing = fonts.missing_characters(NOTE)
    shown, sentence = fonts.showable(NOTE)
    assert draw(shown) == []
    for character in set(NOTE) - {" "}:
        assert (character in missing) == (character not in shown)
    assert bool(sentence) == bool(missing)


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from("ab cd 腰が痛い、。🙂Привет\t"), min_size=0, max_size=80),
    st.integers(min_value=10, max_value=60),
)
def test_wide_text_wraps_within_the_width_and_keeps_every_character(text, columns):
    """Text with wide characters: no line wider than ``columns`` (a wide character
    counts two), and every non-space character kept, in order."""
    wrapped = report._wrap_wide(text, columns)
    lines = wrapped.split("\n") if wrapped else []
    assert all(report._width(line) <= columns for line in lines)
    assert "".join(wrapped.split()) == "".join(text.split())


def test_style_is_a_context_not_a_global_change():
    before = matplotlib.rcParams["font.family"]
    style = fonts.font_style()
    assert style["font.family"][0] == "DejaVu Sans"
    assert set(style["font.family"]) <= set(fonts.FAMILIES)
    assert matplotlib.rcParams["font.family"] == before
