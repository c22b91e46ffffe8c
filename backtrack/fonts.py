"""Fonts for the charts and PDFs: text in any script, and a sentence where a glyph is missing.

matplotlib (>= 3.6) falls back glyph by glyph along a list of font families; this module
gives that list as a style to draw with (:func:`font_style`, applied with
``matplotlib.rc_context`` where figures are made: nothing changes at import). DejaVu Sans
comes first (it ships with matplotlib and covers Latin, Greek, Cyrillic, Arabic and
Hebrew: the pages look as before), then the Noto families that are installed (Debian's
``fonts-noto-cjk`` for Chinese, Japanese and Korean; ``fonts-noto-core`` for other
scripts). A character no listed font has would be drawn as a box, with matplotlib's
"Glyph ... missing from font(s)" warning: :func:`showable` replaces it with ``[…]`` and
says which package to install, before the text is drawn.

matplotlib keeps its list of fonts in a cache made on first use, which does not see fonts
installed later: fonts on the system that the cache lacks are added to matplotlib's font
manager (its public ``addfont``) the first time the families are looked up.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from matplotlib import font_manager

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.typing import RcKeyType

FAMILIES = (
    "DejaVu Sans",
    "Noto Sans",
    "Noto Sans CJK JP",
    "Noto Sans Arabic",
    "Noto Sans Hebrew",
    "Noto Sans Devanagari",
    "Noto Sans Bengali",
    "Noto Sans Thai",
    "Noto Sans Symbols",
    "Noto Sans Symbols 2",
    "Symbola",
)
"""The fallback list, first choice first: each glyph comes from the first family that has it."""
OMITTED = "[…]"
"""What stands in the text for a run of characters no font here can show."""
CJK_PACKAGE, OTHER_PACKAGE, EMOJI_PACKAGE = "fonts-noto-cjk", "fonts-noto-core", "fonts-symbola"
"""Debian's packages with fonts for what is missing (Chinese, Japanese, Korean; other
scripts; emoji and symbols, in a font without colour that matplotlib can draw)."""
_CJK_RANGES = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x2E80, 0x2FDF),  # CJK radicals, Kangxi
    (0x3000, 0x9FFF),  # CJK punctuation, kana, Bopomofo, Hangul compatibility, ideographs
    (0xA960, 0xA97F),  # Hangul Jamo extended-A
    (0xAC00, 0xD7FF),  # Hangul syllables, Jamo extended-B
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFE30, 0xFE4F),  # CJK compatibility forms
    (0xFF00, 0xFFEF),  # half- and full-width forms
    (0x20000, 0x3FFFF),  # CJK extensions
)


ZWNBSP, _WORD_JOINER = "\ufeff", "\u2060"


def drawable(text: str) -> str:
    """``text`` as matplotlib can draw it: U+FEFF (a byte-order mark, or the old
    zero-width no-break space) becomes U+2060 WORD JOINER, the character Unicode
    recommends in its place (the same invisible no-break). Matplotlib 3.11 lays U+FEFF
    out with no character, and its PDF and PostScript writers raise IndexError on it."""
    return text.replace(ZWNBSP, _WORD_JOINER)


@functools.cache
def _registered() -> None:
    """Add fonts installed after matplotlib made its cache (once a process)."""
    known = {entry.fname for entry in font_manager.fontManager.ttflist}
    for path in font_manager.findSystemFonts():
        if path not in known:
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):  # a file FreeType cannot read
                continue


def installed_families(wanted: Sequence[str] | None = None) -> tuple[str, ...]:
    """The families of ``wanted`` (default: :data:`FAMILIES`) that matplotlib can find
    here, in the order given."""
    _registered()
    names = {entry.name for entry in font_manager.fontManager.ttflist}
    return tuple(family for family in wanted or FAMILIES if family in names)


def font_style(families: Sequence[str] | None = None) -> dict[RcKeyType, Any]:
    """matplotlib settings that draw text with ``families`` (default: :data:`FAMILIES`)
    as a fallback list, those not installed left out; for ``matplotlib.rc_context``."""
    found = installed_families(families)
    return {"font.family": list(found or ("DejaVu Sans",))}


@functools.lru_cache(maxsize=32)
def _charmap(family: str) -> frozenset[int]:
    """The characters the regular face of ``family`` has (its cmap, read by FreeType)."""
    path = font_manager.findfont(
        font_manager.FontProperties(family=family), fallback_to_default=False
    )
    return frozenset(font_manager.get_font(path).get_charmap())


def missing_characters(text: str, families: Sequence[str] | None = None) -> set[str]:
    """The characters of ``text`` that none of ``families`` (default :data:`FAMILIES`;
    the installed ones) has, line breaks aside."""
    known: set[int] = set()
    for family in installed_families(families) or ("DejaVu Sans",):
        known |= _charmap(family)
    return {c for c in set(text) if ord(c) not in known and c != "\n"}


def _package(character: str) -> str:
    code = ord(character)
    if any(low <= code <= high for low, high in _CJK_RANGES):
        return CJK_PACKAGE
    if unicodedata.category(character) == "So" or code >= 0x1F000:
        return EMOJI_PACKAGE
    return OTHER_PACKAGE


def showable(text: str, families: Sequence[str] | None = None) -> tuple[str, str]:
    """``text`` with each run of characters no font of ``families`` has (in its regular
    face: an oblique or bold face may have fewer) replaced by
    :data:`OMITTED`, and a sentence saying so and what to install ("" when all show)."""
    text = drawable(text)
    missing = missing_characters(text, families)
    if not missing:
        return text, ""
    parts: list[str] = []
    for character in text:
        if character not in missing:
            parts.append(character)
        elif character.isspace():  # a tab, a wide space: a space
            parts.append(" ")
        elif not parts or parts[-1] != OMITTED:
            parts.append(OMITTED)
    missing = {c for c in missing if not c.isspace()}
    if not missing:
        return "".join(parts), ""
    packages = sorted({_package(c) for c in missing})
    sentence = (
        "(some characters of this note cannot be shown on this computer: install "
        f"{' and '.join(packages)})"
    )
    return "".join(parts), sentence


__all__ = [
    "ZWNBSP",
    "drawable",
    "FAMILIES",
    "OMITTED",
    "font_style",
    "installed_families",
    "missing_characters",
    "showable",
]
