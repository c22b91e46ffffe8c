"""The view of "This week's questions": a collapsed panel below the daily Save.

Only copies values between widgets and :class:`.measures_model.MeasuresModel`. The PEG's
three items and the PSFS ratings are rows of toggle buttons 0-10 with the sources' words
at each end (:data:`backtrack.measures.PEG_ITEMS`, :data:`~backtrack.measures.PSFS_SCALE`);
the PGIC its seven answers (:data:`~backtrack.measures.PGIC_CATEGORIES`). The panel has
its own "Save answers" and "Not now"; it is hidden when nothing is due.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

import ipywidgets as widgets

from ..measures import PEG, PEG_ITEMS, PGIC, PGIC_CATEGORIES, PGIC_QUESTION, PSFS, PSFS_SCALE, Item
from .measures_model import MeasuresModel

POINTS = [str(n) for n in range(11)]
_BUTTON = {"button_width": "44px", "description_width": "initial"}


def _points_row(item: Item, label: str) -> tuple[widgets.VBox, widgets.ToggleButtons]:
    """A question, its 0-10 toggle buttons (none chosen yet) and its two anchors."""
    buttons = widgets.ToggleButtons(
        options=POINTS,
        value=None,
        description=item.key.capitalize(),
        style=_BUTTON,
        tooltips=[f"{label}: {n}" for n in POINTS],
        layout=widgets.Layout(width="auto", max_width="100%"),
    )
    buttons.add_class("bt-points")
    anchors = widgets.HTML(
        f"<small>0 = {escape(item.low_anchor)} · 10 = {escape(item.high_anchor)}</small>"
    )
    box = widgets.VBox([widgets.HTML(f"<b>{escape(item.text)}</b>"), buttons, anchors])
    box.add_class(f"bt-q-{label.replace(' ', '-')}")
    return box, buttons


def _slot(setter: Callable[[int, Any], None], slot: int) -> Callable[[Any], None]:
    """``setter`` for one slot (a PEG item, a PSFS activity)."""
    return lambda value: setter(slot, value)


class MeasuresView:
    """The widgets of "This week's questions"; ``widget`` is the panel (an Accordion)."""

    def __init__(self, model: MeasuresModel, visible: Callable[..., Any]) -> None:
        self.model = model
        m = model
        self.reasons = widgets.HTML()
        self.peg_rows = []
        self.peg: list[widgets.ToggleButtons] = []
        for n, item in enumerate(PEG_ITEMS):
            row, buttons = _points_row(item, f"PEG {item.key}")
            self.peg_rows.append(row)
            self.peg.append(buttons)
            buttons.observe(visible(self._setter(_slot(m.set_peg, n))), "value")
        self.peg_box = widgets.VBox(
            [widgets.HTML("<b>PEG</b> (about the past week)"), *self.peg_rows]
        )
        self.names: list[widgets.Text] = []
        self.ratings: list[widgets.ToggleButtons] = []
        self.psfs_rows: list[widgets.VBox] = []
        for slot in range(5):
            name = widgets.Text(
                description=f"Activity {slot + 1}",
                placeholder="in your words, e.g. walk the dog",
                style={"description_width": "initial"},
                layout=widgets.Layout(width="100%", max_width="420px"),
            )
            rating = widgets.ToggleButtons(
                options=POINTS,
                value=None,
                description="Rating",
                style=_BUTTON,
                tooltips=[f"activity {slot + 1}: {n}" for n in POINTS],
                layout=widgets.Layout(width="auto", max_width="100%"),
            )
            name.observe(visible(self._setter(_slot(m.set_activity, slot))), "value")
            rating.observe(visible(self._setter(_slot(m.set_rating, slot))), "value")
            self.names.append(name)
            self.ratings.append(rating)
            self.psfs_rows.append(widgets.VBox([name, rating]))
        self.psfs_intro = widgets.HTML()
        self.psfs_box = widgets.VBox(
            [
                self.psfs_intro,
                *self.psfs_rows,
                widgets.HTML(
                    f"<small>0 = {escape(PSFS_SCALE.low_anchor)} · 10 = "
                    f"{escape(PSFS_SCALE.high_anchor)}</small>"
                ),
            ]
        )
        self.pgic = widgets.RadioButtons(
            options=[(f"{n}. {text}", n) for n, text in enumerate(PGIC_CATEGORIES, start=1)],
            value=None,
            description="Overall",
            layout=widgets.Layout(width="auto"),
        )
        self.pgic.observe(visible(self._setter(m.set_pgic)), "value")
        self.pgic_box = widgets.VBox([widgets.HTML(f"<b>{escape(PGIC_QUESTION)}</b>"), self.pgic])
        self.save = widgets.Button(
            description="Save answers",
            tooltip="save these answers (the daily log is saved by its own Save above)",
            layout=widgets.Layout(width="auto", min_width="160px"),
        )
        self.not_now = widgets.Button(
            description="Not now",
            tooltip="skip: nothing is saved, the questions come back next time",
            layout=widgets.Layout(width="auto"),
        )
        self.status = widgets.HTML()
        self.body = widgets.VBox(
            [
                widgets.HTML(
                    "<small>Optional and separate from the daily log: skip any of them.</small>"
                ),
                self.reasons,
                self.peg_box,
                self.psfs_box,
                self.pgic_box,
                widgets.HBox([self.save, self.not_now]),
                self.status,
            ]
        )
        self.widget = widgets.Accordion(
            [self.body],
            titles=(m.title,),
            selected_index=None,
            layout=widgets.Layout(width="100%", max_width="760px", margin="2px 0"),
        )
        self.widget.add_class("bt-measures")
        self._updating = False
        self.save.on_click(visible(lambda _: m.save()))
        self.not_now.on_click(visible(lambda _: m.not_now()))
        m.observe(visible(lambda _: self.refresh()))
        self.refresh()

    def _setter(self, handler: Callable[[Any], None]) -> Callable[[dict[str, Any]], None]:
        def changed(change: dict[str, Any]) -> None:
            if not self._updating:
                new = change["new"]
                handler(int(new) if isinstance(new, str) and new.isdigit() else new)

        return changed

    def refresh(self) -> None:
        """Show the model's state."""
        m = self.model
        self._updating = True
        try:
            for buttons, value in zip(self.peg, m.peg, strict=True):
                buttons.value = None if value is None else str(value)
            for slot, (name, rating, row) in enumerate(
                zip(self.names, self.ratings, self.psfs_rows, strict=True)
            ):
                # while naming: the activities named so far and one empty box for the next
                named = m.activities[:slot]
                shown = slot < len(m.activities) and (
                    not m.naming or all(n.strip() for n in named) or bool(m.activities[slot])
                )
                row.layout.display = "" if shown else "none"
                name.value = m.activities[slot] if shown else ""
                name.disabled = not m.naming
                value = m.ratings[slot] if shown else None
                rating.value = None if value is None else str(value)
            self.pgic.value = m.pgic
        finally:
            self._updating = False
        self.peg_box.layout.display = "" if PEG in m.due else "none"
        self.psfs_box.layout.display = "" if PSFS in m.due else "none"
        self.pgic_box.layout.display = "" if PGIC in m.due else "none"
        self.psfs_intro.value = (
            "<b>Activities that matter to you</b>: name up to 5 you find hard because of "
            "your back, in your own words, and rate how well you can do each today."
            if m.naming
            else "<b>Your activities</b>: rate how well you can do each today."
        )
        self.reasons.value = (
            "<small>" + "<br>".join(escape(r) for r in m.reasons) + "</small>" if m.reasons else ""
        )
        self.widget.layout.display = (
            "none" if (not m.due and m.message is None) or m.hidden else ""
        )
        message = m.message
        if message is None:
            self.status.value = ""
        else:
            items = "".join(f"<li>{escape(line)}</li>" for line in message.lines)
            self.status.value = (
                f"<div class='bt-measures-{message.kind}' role='status'>"
                f"<b>{escape(message.title)}</b><ul>{items}</ul></div>"
            )
