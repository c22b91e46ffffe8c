"""The "log a day" form as ipywidgets: a thin view over :class:`.form_model.LogFormModel`.

The view only copies values between widgets and the model and renders the model's
messages; all logic is in the model. A callback that fails writes its traceback into
an ``Output`` widget under the form, so an unexpected error shows in JupyterLab and Voila
instead of vanishing (ipywidgets itself only logs exceptions from button callbacks).
Labels are real ``description`` labels (``get_by_label`` finds them; ipywidgets does not
link a slider's label, so pain also has a labelled text box), and no button relies on an
icon (Font Awesome does not load offline).
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from datetime import date, datetime
from html import escape

import ipywidgets as widgets

from .actions import PAIN_LOCATIONS
from .form_model import LogFormModel, Message
from .routine import CHRONIC_NOTICE, RED_FLAGS, Exercise, Routine

NOT_SET = -1
PAIN_OPTIONS = [("not set", NOT_SET)] + [(str(i), i) for i in range(11)]
_COLOURS = {
    "saved": ("#e8f5e9", "#1b5e20"),
    "error": ("#fdecea", "#8a1c1c"),
    "warning": ("#fff4e5", "#7a4a00"),
    "info": ("#e8f0fe", "#174ea6"),
}
_WIDE = {"description_width": "initial"}


def _box(kind: str, title: str, lines: tuple[str, ...] | list[str] = ()) -> str:
    """HTML for a coloured message box (all text escaped)."""
    background, colour = _COLOURS[kind]
    items = "".join(f"<li>{escape(line)}</li>" for line in lines)
    body = f"<ul style='margin:4px 0 0 0'>{items}</ul>" if items else ""
    return (
        f"<div role='{'alert' if kind == 'error' else 'status'}' class='bt-{kind}' "
        f"style='background:{background};color:{colour};padding:6px 10px;"
        f"border-radius:4px;white-space:pre-wrap'><b>{escape(title)}</b>{body}</div>"
    )


def _how_to(exercise: Exercise) -> widgets.Accordion:
    dose = (
        escape(exercise.dose_label)
        if exercise.dose_minutes is not None
        else "no dose set — ask your physio"
    )
    parts = [
        f"<p><b>Purpose:</b> {escape(exercise.purpose)}</p>" if exercise.purpose else "",
        f"<p><b>How to:</b> {escape(exercise.how_to)}</p>" if exercise.how_to else "",
        f"<p><b>Dose:</b> {dose}</p>",
        f"<p><b>Works:</b> {escape(exercise.works)}</p>" if exercise.works else "",
    ]
    body = widgets.HTML("".join(parts), layout=widgets.Layout(max_width="720px"))
    return widgets.Accordion(
        [body],
        titles=(f"How to: {exercise.name}",),
        selected_index=None,
        layout=widgets.Layout(max_width="560px"),
    )


def _safety(routine: Routine) -> widgets.Accordion:
    points = "".join(f"<li>{escape(s)}</li>" for s in routine.safety)
    flags = "".join(f"<li>{escape(f)}</li>" for f in RED_FLAGS)
    body = widgets.HTML(
        f"<ul>{points}</ul>"
        "<p><b>See a clinician now (urgently) if you have any of these:</b></p>"
        f"<ul>{flags}</ul><p>{escape(CHRONIC_NOTICE)}</p>",
        layout=widgets.Layout(max_width="720px"),
    )
    return widgets.Accordion(
        [body],
        titles=("Safety & when to see a clinician",),
        selected_index=None,
        layout=widgets.Layout(max_width="760px"),
    )


class LogForm:
    """The widgets of the form, bound to a model. ``widget`` is the whole form (a VBox)."""

    def __init__(self, model: LogFormModel) -> None:
        self.model = model
        self.out = widgets.Output()
        m = model
        self.banner = widgets.HTML()
        self.date = widgets.DatePicker(description="Date", value=m.day, style=_WIDE)
        self.history = widgets.HTML()
        self.pain_text = widgets.Text(
            description="Pain (0-10)",
            placeholder="not set",
            style=_WIDE,
            layout=widgets.Layout(width="170px"),
        )
        self.pain = widgets.SelectionSlider(
            options=PAIN_OPTIONS,
            value=NOT_SET,
            readout=False,
            tooltip="Pain 0-10: 0 = no pain, 10 = worst imaginable; left end = not set",
            layout=widgets.Layout(width="320px"),
        )
        self.pain_hint = widgets.HTML()
        self.day_type = widgets.ToggleButtons(
            options=[("routine day", "routine"), ("rest day", "rest"), ("flare day", "flare")],
            description="Day type",
            tooltips=[
                "you planned to do the routine",
                "a planned rest day: pain is optional",
                "a flare-up: do what you can",
            ],
        )
        self.whole = widgets.Button(
            description="Did the whole routine",
            tooltip="tick every exercise at its dose",
            layout=widgets.Layout(width="auto", align_self="flex-start"),
        )
        self.ticks: dict[str, widgets.Checkbox] = {}
        self.minutes: dict[str, widgets.Text] = {}
        rows = []
        for exercise in m.routine.exercises:
            tick = widgets.Checkbox(
                description=exercise.name, indent=False, layout=widgets.Layout(width="220px")
            )
            dosed = exercise.dose_minutes is not None
            minutes = widgets.Text(
                description="minutes",
                placeholder=f"{exercise.dose_minutes:g}" if dosed else "optional",
                style=_WIDE,
                layout=widgets.Layout(width="150px"),
            )
            dose = widgets.HTML(
                f"dose: {escape(exercise.dose_label)}"
                if dosed
                else "<b>no dose set — ask your physio</b> (minutes optional)"
            )
            self.ticks[exercise.id] = tick
            self.minutes[exercise.id] = minutes
            row = widgets.VBox(
                [widgets.HBox([tick, minutes, dose]), _how_to(exercise)],
                layout=widgets.Layout(margin="2px 0 6px 0"),
            )
            row.add_class("bt-exercise")
            rows.append(row)
        self.where = {
            place: widgets.Checkbox(
                description=place.replace("_", " "),
                indent=False,
                layout=widgets.Layout(width="200px"),
            )
            for place in PAIN_LOCATIONS
        }
        self.note = widgets.Textarea(
            description="Note",
            placeholder="optional: anything worth remembering (sleep, work, what helped)",
            layout=widgets.Layout(width="560px", height="64px"),
        )
        self.save = widgets.Button(
            description="Save",
            button_style="primary",
            layout=widgets.Layout(width="auto", min_width="160px", align_self="flex-start"),
        )
        self.status = widgets.HTML()

        self.widget = widgets.VBox(
            [
                self.banner,
                self.date,
                self.history,
                widgets.HBox(
                    [
                        self.pain_text,
                        widgets.HTML("0 = no pain"),
                        self.pain,
                        widgets.HTML("10 = worst imaginable"),
                    ],
                    layout=widgets.Layout(align_items="center"),
                ),
                self.pain_hint,
                self.day_type,
                widgets.HBox(
                    [widgets.HTML("<b>Exercises done</b>"), self.whole],
                    layout=widgets.Layout(align_items="center"),
                ),
                *rows,
                widgets.HTML("<b>Where does it hurt?</b> (optional)"),
                widgets.HBox(
                    list(self.where.values()), layout=widgets.Layout(flex_flow="row wrap")
                ),
                self.note,
                self.save,
                self.status,
                _safety(m.routine),
                self.out,
            ],
            layout=widgets.Layout(max_width="980px"),
        )
        self.widget.add_class("bt-log-form")
        self._wire()
        self._refresh()

    # ------------------------------------------------------------------ wiring

    def _visible(self, handler: Callable[..., None]) -> Callable[..., None]:
        """``handler`` with any exception's traceback written into the Output widget (so
        it shows under the form in JupyterLab and Voila), then re-raised."""

        def run(*args: object) -> None:
            try:
                handler(*args)
            except Exception:
                self.out.append_stderr(traceback.format_exc())
                raise

        return run

    def _on(self, widget: widgets.Widget, handler: Callable[[object], None]) -> None:
        """Call ``handler(new value)`` when the user changes ``widget``."""

        def changed(change: dict) -> None:
            if not self._updating:
                handler(change["new"])

        widget.observe(self._visible(changed), names="value")

    def _wire(self) -> None:
        m = self.model
        self._updating = False
        self._on(self.date, self._date_changed)
        self._on(self.pain, lambda v: setattr(m, "pain_text", "" if v == NOT_SET else str(v)))
        self._on(self.pain_text, lambda v: setattr(m, "pain_text", v))
        self._on(self.day_type, lambda v: setattr(m, "day_type", v))
        for eid, tick in self.ticks.items():
            self._on(tick, lambda v, eid=eid: m.set_done(eid, v))
        for eid, box in self.minutes.items():
            self._on(box, lambda v, eid=eid: m.set_minutes(eid, v))
        for place, box in self.where.items():
            self._on(box, lambda v, place=place: m.set_where(place, v))
        self._on(self.note, lambda v: setattr(m, "note", v))
        self.whole.on_click(self._visible(lambda _: m.tick_all()))
        self.save.on_click(self._visible(lambda _: m.save()))
        m.observe(self._visible(lambda _: self._refresh()))

    def _date_changed(self, value: date | None) -> None:
        self.model.select_date(value)

    # ------------------------------------------------------------------ model → widgets

    def _refresh(self) -> None:
        """Show the model's state (values the user typed are the model's values)."""
        m = self.model
        self._updating = True
        try:
            self.date.value = m.day
            self.pain_text.value = m.pain_text
            text = m.pain_text.strip()
            self.pain.value = int(text) if text.isdigit() and int(text) <= 10 else NOT_SET
            self.day_type.value = m.day_type
            for eid, tick in self.ticks.items():
                tick.value = bool(m.done.get(eid))
            for eid, box in self.minutes.items():
                box.value = m.minutes.get(eid, "")
            for place, box in self.where.items():
                box.value = place in m.where
            self.note.value = m.note
        finally:
            self._updating = False
        self.pain_text.description = "Pain (0-10)" if m.pain_required else "Pain (optional)"
        self.pain_hint.value = (
            "<small>Pain is not set yet: move the slider or type 0-10.</small>"
            if not text and m.pain_required
            else ""
        )
        self.banner.value = self._banner()
        self.history.value = self._history()
        self.status.value = _message(m.message)
        self.save.description = "Save correction" if m.correcting else "Save"

    def _banner(self) -> str:
        m = self.model
        parts = []
        if m.demo:
            parts.append(
                _box(
                    "info",
                    "DEMO DATA",
                    [
                        f"There is no log yet at {m.path}. What is shown as already logged "
                        "is made-up demo data.",
                        "Your first save starts your own log with only your entry.",
                    ],
                )
            )
        if m.problems:
            parts.append(
                _box(
                    "warning",
                    f"Some lines of the log could not be read ({len(m.problems)}); they are "
                    "kept in the file and left out:",
                    m.problems[:20]
                    + ([f"... and {len(m.problems) - 20} more"] * (len(m.problems) > 20)),
                )
            )
        return "".join(parts)

    def _history(self) -> str:
        m = self.model
        if not m.history:
            return "<small>Nothing logged for this date yet.</small>"
        who = "Demo data for this date" if m.demo else "Already logged for this date"
        lines = list(m.history)
        if not m.demo:
            lines.append("Saving adds a correction; the earlier saves stay as history.")
        return _box("info", f"{who} ({len(m.history)} save(s), latest last):", lines)


def _message(message: Message | None) -> str:
    return "" if message is None else _box(message.kind, message.title, message.lines)


def log_form(
    csv: str | os.PathLike[str] | None = None,
    routine: Routine | None = None,
    today: date | None = None,
) -> widgets.VBox:
    """The form to log (or correct) a day, as a widget; display it in a notebook.

    ``csv``: the log (default ``$BACKTRACK_CSV`` or ``data/backtrack.csv``); ``routine``:
    default the routine for that log; ``today``: the date the form treats as today.
    """
    clock = None
    if today is not None:

        def clock() -> datetime:
            now = datetime.now().astimezone()
            return datetime.combine(today, now.timetz())

    form = LogForm(LogFormModel(csv, routine, clock))
    form.widget.form = form
    return form.widget
