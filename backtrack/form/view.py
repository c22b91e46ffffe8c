"""The "log a day" form as ipywidgets: a thin view over :class:`.model.LogFormModel`.

The view only copies values between widgets and the model and renders the model's
messages; all logic is in the model. A callback that fails writes its traceback into
an ``Output`` widget under the form, so an unexpected error shows in JupyterLab and Voila
instead of vanishing (ipywidgets itself only logs exceptions from button callbacks).
Labels are real ``description`` labels (``get_by_label`` finds them; ipywidgets does not
link a slider's label, so pain also has a labelled text box), and no button relies on an
icon. A style block in the form sizes every control to at least 44 px and lets rows wrap,
so the form fits a 390 px phone; the how-tos are one collapsed panel below Save.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from datetime import date, datetime
from html import escape
from typing import Any

import ipywidgets as widgets

from ..actions import PAIN_LOCATIONS
from ..routine import CHRONIC_NOTICE, RED_FLAGS, Exercise, Routine
from .measures_model import MeasuresModel
from .measures_view import MeasuresView
from .model import LogFormModel, Message, long_date

NOT_SET = -1
PAIN_OPTIONS = [("not set", NOT_SET)] + [(str(i), i) for i in range(11)]
_COLOURS = {
    "saved": ("#e8f5e9", "#1b5e20"),
    "error": ("#fdecea", "#8a1c1c"),
    "warning": ("#fff4e5", "#7a4a00"),
    "info": ("#e8f0fe", "#174ea6"),
}
_WIDE = {"description_width": "initial"}


def _full_width(**layout: str) -> widgets.Layout:
    """The layout of a control as wide as the form: 100% with no side margin (ipywidgets
    adds 2 px each side, which made the form pan 4 px sideways on a 390 px phone)."""
    return widgets.Layout(width="100%", margin="2px 0", **layout)


_CSS = """
<style>
/* backtrack's form: touch targets of at least 44 px, nothing wider than a phone. */
.bt-log-form {
  --jp-widgets-inline-height: 44px;
  --jp-widgets-slider-handle-size: 28px;
  box-sizing: border-box; max-width: 100%; font-size: 15px;
}
.bt-log-form * { box-sizing: border-box; }
.bt-log-form .widget-hbox { flex-wrap: wrap; max-width: 100%; gap: 0 8px; }
.bt-log-form .widget-html, .bt-log-form .widget-html-content {
  height: auto; min-height: 0; line-height: 1.4;
}
.bt-log-form .widget-html-content { padding: 2px 0; }
.bt-log-form .widget-checkbox { min-height: 44px; align-items: center; }
.bt-log-form .widget-checkbox input[type="checkbox"] { width: 24px; height: 24px; margin: 0; }
.bt-log-form .widget-checkbox .widget-label-basic {
  min-height: 44px; display: flex; align-items: center; gap: 8px; cursor: pointer;
}
.bt-log-form .widget-checkbox .widget-label-basic span { white-space: normal; line-height: 1.2; }
/* typed text in the page's font list (a textarea is monospace by default: the Voila
   template's list, with its CJK and Arabic fallbacks, reached the labels only) */
.bt-log-form input, .bt-log-form textarea { font-size: 16px; font-family: inherit; }
.bt-log-form .widget-datepicker { max-width: 100%; }
.bt-log-form .widget-button, .bt-log-form .widget-toggle-button { min-height: 44px; }
.bt-log-form .widget-hslider { min-height: 44px; }
.bt-log-form .jupyter-widget-Collapse-header { min-height: 44px; display: flex;
  align-items: center; }
.bt-log-form a { color: #174ea6; text-decoration: underline; display: inline-block;
  min-height: 44px; line-height: 44px; }
.bt-log-form .bt-field-error { color: #8a1c1c; font-weight: 600; }
.bt-log-form .bt-exercise { border-bottom: 1px solid #eee; }
/* "Did the whole routine" and Save stay on the screen: a bar stuck to its bottom edge
   until the form scrolls to where the bar sits. The output areas around the form must
   not scroll themselves (their overflow would hold the bar). */
.jp-OutputArea-output:has(.bt-log-form), .jp-OutputArea-child:has(.bt-log-form),
.jp-OutputArea:has(.bt-log-form) { overflow: visible; }
.bt-log-form .bt-save-bar {
  position: sticky; bottom: 0; z-index: 5; background: var(--jp-layout-color0, #fff);
  border-top: 1px solid #ccc; padding: 4px 0; margin-top: 4px;
}
.bt-log-form details > summary { min-height: 44px; display: flex; align-items: center;
  cursor: pointer; }
/* This week's questions: rows of 0-10 buttons wrap on a phone, each 44 px to touch */
.bt-log-form .bt-measures .widget-toggle-buttons { height: auto; }
.bt-log-form .bt-measures .widget-toggle-buttons .btn-group { display: flex; flex-wrap: wrap;
  gap: 4px; max-width: 100%; }
.bt-log-form .bt-measures .widget-toggle-button { min-width: 44px; margin: 0; }
.bt-log-form .bt-measures .widget-radio-box label { min-height: 44px; display: flex;
  align-items: center; }
.bt-log-form details > summary::before { content: "▸"; margin-right: 6px; }
.bt-log-form details[open] > summary::before { content: "▾"; }
</style>
"""


def _box(kind: str, title: str, lines: tuple[str, ...] | list[str] = ()) -> str:
    """HTML for a coloured message box (all text escaped; never typeset as maths)."""
    background, colour = _COLOURS[kind]
    items = "".join(f"<li style='white-space:pre-wrap'>{escape(line)}</li>" for line in lines)
    body = f"<ul style='margin:4px 0 0 0'>{items}</ul>" if items else ""
    return (
        f"<div role='{'alert' if kind == 'error' else 'status'}' "
        f"class='bt-{kind} tex2jax_ignore' "
        f"style='background:{background};color:{colour};padding:6px 10px;"
        f"border-radius:4px;overflow-wrap:anywhere'>"
        f"<b>{escape(title)}</b>{body}</div>"
    )


def _how_to_html(exercise: Exercise) -> str:
    dose = (
        escape(exercise.dose_label)
        if exercise.dose_minutes is not None
        else "no dose set — ask your physio"
    )
    parts = [
        f"<h4 style='margin:8px 0 2px 0'>{escape(exercise.name)}</h4>",
        f"<p><b>Purpose:</b> {escape(exercise.purpose)}</p>" if exercise.purpose else "",
        f"<p><b>How to:</b> {escape(exercise.how_to)}</p>" if exercise.how_to else "",
        f"<p><b>Dose:</b> {dose}</p>",
        f"<p><b>Works:</b> {escape(exercise.works)}</p>" if exercise.works else "",
    ]
    return "".join(parts)


def _how_tos(routine: Routine) -> widgets.Accordion:
    """Every exercise's how-to in one collapsed panel (below Save: on a phone the form
    comes first)."""
    body = widgets.HTML(
        "".join(_how_to_html(e) for e in routine.exercises),
        layout=widgets.Layout(max_width="720px"),
    )
    body.add_class("tex2jax_ignore")
    return widgets.Accordion(
        [body],
        titles=("How to do each exercise",),
        selected_index=None,
        layout=_full_width(max_width="760px"),
    )


TRIAL_STOP = (
    "Any of these signs ends the trial: stop it (backtrack trial stop) and see a clinician. "
    "A self-trial never outranks your safety; stopping early is allowed and reported."
)


def _safety(routine: Routine) -> widgets.Accordion:
    points = "".join(f"<li>{escape(s)}</li>" for s in routine.safety)
    flags = "".join(f"<li>{escape(f)}</li>" for f in RED_FLAGS)
    body = widgets.HTML(
        f"<ul>{points}</ul>"
        "<p><b>See a clinician now (urgently) if you have any of these:</b></p>"
        f"<ul>{flags}</ul><p>{escape(CHRONIC_NOTICE)}</p>"
        f"<p><b>Running a self-trial?</b> {escape(TRIAL_STOP)}</p>",
        layout=widgets.Layout(max_width="720px"),
    )
    return widgets.Accordion(
        [body],
        titles=("Safety & when to see a clinician",),
        selected_index=None,
        layout=_full_width(max_width="760px"),
    )


def _error_line() -> widgets.HTML:
    line = widgets.HTML()
    line.add_class("bt-field-error")
    return line


class LogForm:
    """The widgets of the form, bound to a model. ``widget`` is the whole form (a VBox).

    ``lab_url``: when given, a link to JupyterLab (trends, analysis) at the top.
    """

    def __init__(self, model: LogFormModel, lab_url: str | None = None) -> None:
        self.model = model
        self.out = widgets.Output()
        m = model
        self.banner = widgets.HTML()
        links = (
            f"<a href='{escape(lab_url)}'>JupyterLab: trends, analysis, report</a>"
            if lab_url
            else ""
        )
        self.links = widgets.HTML(links)
        self.date = widgets.DatePicker(
            description="Date",
            value=m.day,
            style=_WIDE,
            layout=widgets.Layout(width="260px", max_width="100%"),
        )
        self.history = widgets.HTML()
        self.trial = widgets.HTML()
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
            layout=widgets.Layout(width="auto", flex="1 1 180px", max_width="420px"),
        )
        self.unrated = widgets.Checkbox(
            description="No pain rating today",
            indent=False,
            layout=widgets.Layout(width="auto"),
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
            style={"description_width": "initial", "button_width": "96px"},
        )
        self.whole = widgets.Button(
            description="Did the whole routine",
            tooltip="tick each exercise of this date's routine at its dose",
            layout=widgets.Layout(width="auto", align_self="flex-start"),
        )
        self.usual = widgets.Button(
            description="Same as usual",
            tooltip="tick what you usually do (your most common recent routine day)",
            layout=widgets.Layout(width="auto", align_self="flex-start", display="none"),
        )
        self.ticks: dict[str, widgets.Checkbox] = {}
        self.minutes: dict[str, widgets.Text] = {}
        self.errors: dict[str, widgets.HTML] = {
            name: _error_line() for name in ("date", "pain", "day", "where", "note")
        }
        rows = []
        for exercise in m.routine.exercises:
            tick = widgets.Checkbox(
                description=exercise.name, indent=False, layout=widgets.Layout(width="190px")
            )
            dosed = exercise.dose_minutes is not None
            minutes = widgets.Text(
                description="minutes",
                placeholder=f"{exercise.dose_minutes:g}" if dosed else "optional",
                style=_WIDE,
                layout=widgets.Layout(width="140px"),
            )
            dose = widgets.HTML(
                f"<small>dose: {escape(exercise.dose_label)}</small>"
                if dosed
                else "<small><b>no dose set — ask your physio</b> (minutes optional)</small>"
            )
            self.ticks[exercise.id] = tick
            self.minutes[exercise.id] = minutes
            self.errors[f"exercises.{exercise.id}"] = _error_line()
            row = widgets.VBox(
                [
                    widgets.HBox(
                        [tick, minutes, dose],
                        layout=widgets.Layout(align_items="center"),
                    ),
                    self.errors[f"exercises.{exercise.id}"],
                ],
                layout=widgets.Layout(margin="0 0 2px 0"),
            )
            row.add_class("bt-exercise")
            rows.append(row)
        self.errors["exercises"] = _error_line()
        self.where = {
            place: widgets.Checkbox(
                description=place.replace("_", " "),
                indent=False,
                layout=widgets.Layout(width="170px"),
            )
            for place in PAIN_LOCATIONS
        }
        self.note = widgets.Textarea(
            description="Note",
            placeholder="optional: anything worth remembering (sleep, work, what helped)",
            layout=_full_width(max_width="560px", height="64px"),
        )
        self.save = widgets.Button(
            description="Save",
            button_style="primary",
            layout=widgets.Layout(width="auto", min_width="160px", align_self="flex-start"),
        )
        self.status = widgets.HTML()
        self.restore = widgets.Button(
            description="Put back what I typed",
            tooltip="bring the unsaved values of the previous date to this date",
            layout=widgets.Layout(width="auto", display="none"),
        )
        self.remove = widgets.Button(
            description="Remove this day…",
            tooltip="withdraw this date (e.g. saved on the wrong day); history is kept",
            layout=widgets.Layout(width="auto", display="none"),
        )
        self.remove_yes = widgets.Button(
            description="Yes, remove it",
            button_style="danger",
            layout=widgets.Layout(width="auto"),
        )
        self.remove_no = widgets.Button(description="Keep it", layout=widgets.Layout(width="auto"))
        self.remove_question = widgets.HTML()
        self.bar_note = widgets.HTML()  # what the last Save did, one line in the bar
        # progress at a glance after a Save: 4 weeks of pain and adherence (drawn then)
        self.glance = widgets.Image(
            format="png", layout=widgets.Layout(width="100%", max_width="351px", height="auto")
        )
        self.glance.add_class("bt-glance")
        self.glance_box = widgets.VBox(
            [
                widgets.HTML(
                    "<small>Last 4 weeks: pain (line, 0-10) above; routine done beneath "
                    "(darker = more; hatched = not logged; ○ rest; ▲ flare).</small>"
                ),
                self.glance,
            ],
            layout=widgets.Layout(display="none"),
        )
        self.save_bar = widgets.VBox(
            [
                self.bar_note,
                self.glance_box,
                widgets.HBox(
                    [self.usual, self.whole, self.save, self.restore, self.remove],
                    layout=widgets.Layout(flex_flow="row wrap", overflow="visible"),
                ),
            ],
            layout=widgets.Layout(overflow="visible"),
        )
        self.save_bar.add_class("bt-save-bar")
        self.measures = MeasuresView(
            MeasuresModel(
                m.path,
                m.clock,
                start=self._first_day,
                trial=lambda: m.trial_plan,
                offered=lambda: not m.demo,
            ),
            self._visible,
        )
        self.remove_confirm = widgets.VBox(
            [
                self.remove_question,
                widgets.HBox([self.remove_yes, self.remove_no]),
            ],
            layout=widgets.Layout(display="none"),
        )

        self.widget = widgets.VBox(
            [
                widgets.HTML(_CSS),
                self.links,
                self.banner,
                self.date,
                self.errors["date"],
                self.trial,
                self.history,
                widgets.HBox(
                    [self.pain_text, self.unrated], layout=widgets.Layout(align_items="center")
                ),
                widgets.HBox(
                    [widgets.HTML("0 = no pain"), self.pain, widgets.HTML("10 = worst")],
                    layout=widgets.Layout(align_items="center"),
                ),
                self.pain_hint,
                self.errors["pain"],
                self.day_type,
                self.errors["day"],
                widgets.HTML("<b>Exercises done</b>"),
                *rows,
                self.errors["exercises"],
                widgets.HTML("<b>Where does it hurt?</b> (optional)"),
                widgets.HBox(
                    list(self.where.values()), layout=widgets.Layout(flex_flow="row wrap")
                ),
                self.errors["where"],
                self.note,
                self.errors["note"],
                self.save_bar,
                self.remove_confirm,
                self.status,
                self.measures.widget,
                _how_tos(m.routine),
                _safety(m.routine),
                self.out,
            ],
            # visible: a Box's own overflow (auto) would hold the sticky Save bar in place
            layout=widgets.Layout(width="100%", max_width="980px", overflow="visible"),
        )
        self.widget.add_class("bt-log-form")
        self._wire()
        self._refresh()

    # ------------------------------------------------------------------ wiring

    def _visible(self, handler: Callable[..., object]) -> Callable[..., None]:
        """``handler`` with any exception's traceback written into the Output widget (so
        it shows under the form in JupyterLab and Voila), then re-raised."""

        def run(*args: object) -> None:
            try:
                handler(*args)
            except Exception:
                self.out.append_stderr(traceback.format_exc())
                raise

        return run

    def _on(self, widget: widgets.Widget, handler: Callable[[Any], None]) -> None:
        """Call ``handler(new value)`` when the user changes ``widget`` (widget values
        are untyped: each handler takes what its widget holds)."""

        def changed(change: dict[str, Any]) -> None:
            if not self._updating:
                handler(change["new"])

        widget.observe(self._visible(changed), names="value")

    def _wire(self) -> None:
        m = self.model
        self._updating = False
        self._on(self.date, self._date_changed)
        self._on(self.pain, lambda v: m.set_pain("" if v == NOT_SET else str(v)))
        self._on(self.pain_text, lambda v: m.set_pain(v))
        self._on(self.unrated, lambda v: m.set_unrated(v))
        self._on(self.day_type, lambda v: setattr(m, "day_type", v))
        # m.set_... is looked up at each change (not bound here), as a lambda does

        def set_done(eid: str) -> Callable[[Any], None]:
            return lambda v: m.set_done(eid, v)

        def set_minutes(eid: str) -> Callable[[Any], None]:
            return lambda v: m.set_minutes(eid, v)

        def set_where(place: str) -> Callable[[Any], None]:
            return lambda v: m.set_where(place, v)

        for eid, tick in self.ticks.items():
            self._on(tick, set_done(eid))
        for eid, box in self.minutes.items():
            self._on(box, set_minutes(eid))
        for place, box in self.where.items():
            self._on(box, set_where(place))
        self._on(self.note, lambda v: setattr(m, "note", v))
        self.whole.on_click(self._visible(lambda _: m.tick_all()))
        self.usual.on_click(self._visible(lambda _: m.same_as_usual()))
        self.save.on_click(self._visible(lambda _: self._save_clicked()))
        self.restore.on_click(self._visible(lambda _: m.restore_draft()))
        self.remove.on_click(self._visible(lambda _: m.ask_remove()))
        self.remove_no.on_click(self._visible(lambda _: m.cancel_remove()))
        self.remove_yes.on_click(self._visible(lambda _: self._remove_clicked()))
        m.observe(self._visible(lambda _: self._refresh()))

    def _save_clicked(self) -> None:
        """Save with the button disabled while the save runs (a second click meanwhile
        is ignored; one that arrives after is a repeat the actions do not append); once
        saved, the 4-week sparkline (:meth:`LogFormModel.glance_png`) under the bar's note."""
        self.save.disabled = True
        try:
            saved = self.model.save()
        finally:
            self.save.disabled = False
        questions = self.measures.model
        if saved and not questions.due and not questions.hidden:
            questions.reload()  # the first save of a log: the questions start (never typed over)
        if saved:  # the confirmation is on the screen already; the sparkline follows
            self.glance.value = self.model.glance_png()
            self.glance_box.layout.display = ""

    def _first_day(self) -> date | None:
        """The first day in the user's log (None: none yet, or the demo)."""
        entries = self.model.entries
        if self.model.demo or entries.empty:
            return None
        first: date = entries["date"].min().date()
        return first

    def _remove_clicked(self) -> None:
        """Withdraw the day; a sparkline already shown is redrawn without it."""
        if self.model.remove_day() and self.glance_box.layout.display == "":
            self.glance.value = self.model.glance_png()

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
            self.unrated.value = m.unrated
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
            if not text and m.pain_required and "pain" not in m.field_errors
            else ""
        )
        for name, line in self.errors.items():
            words = m.field_errors.get(name, "")
            line.value = f"<div role='alert'>{escape(words)}</div>" if words else ""
        unplaced = [w for f, w in m.field_errors.items() if f not in self.errors]
        if unplaced:
            self.errors["exercises"].value = "".join(
                f"<div role='alert'>{escape(w)}</div>" for w in unplaced
            )
        self.banner.value = self._banner()
        self.trial.value = _box("info", "Self-trial", m.trial_day) if m.trial_day else ""
        self.history.value = self._history()
        self.status.value = _message(m.message)
        self.bar_note.value = _bar_note(m.message)
        self.save.description = "Save correction" if m.correcting else "Save"
        self.save.disabled = m.saving
        self.restore.layout.display = "" if m.draft is not None else "none"
        self.usual.layout.display = "" if m.usual else "none"
        self.usual.tooltip = "tick what you usually do: " + ", ".join(
            f"{m.names.get(eid, eid)} {minutes} min" if minutes else m.names.get(eid, eid)
            for eid, minutes in m.usual.items()
        )
        self.remove.layout.display = "" if m.correcting and not m.demo else "none"
        self.remove_confirm.layout.display = "" if m.confirming_removal else "none"
        if m.confirming_removal and m.day is not None:
            self.remove_question.value = _box(
                "warning",
                f"Remove {long_date(m.day, m.today)} from your log?",
                [
                    "It will count as not logged (e.g. it was saved on the wrong date).",
                    "Nothing is deleted: its saves stay in the file as history.",
                ],
            )

    def _banner(self) -> str:
        m = self.model
        parts = []
        if m.demo:
            parts.append(
                _box(
                    "info",
                    "DEMO DATA",
                    [
                        "There is no log yet: what is shown as already logged is made-up "
                        "demo data.",
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
        if not m.demo and not m.correcting:
            who = "Removed from the log (counts as not logged)"
        lines = list(m.history)
        if not m.demo and m.correcting:
            lines.append("Saving adds a correction; the earlier saves stay as history.")
        # folded: however many corrections a day has, the pain box stays near the top
        title = f"{who} ({len(m.history)} save(s), latest last)"
        return f"<details><summary>{escape(title)}</summary>{_box('info', '', lines)}</details>"


def _message(message: Message | None) -> str:
    return "" if message is None else _box(message.kind, message.title, message.lines)


def _bar_note(message: Message | None) -> str:
    """A saved or refused Save in one line for the save bar: the message's title and,
    after a save, the current streak (the whole message is below the form's fields)."""
    if message is None or message.kind not in ("saved", "error"):
        return ""
    streak = [line for line in message.lines if line.startswith("Current streak")]
    colour = _COLOURS[message.kind][1]
    text = " ".join([message.title, *streak[:1]])
    return f"<div class='bt-bar-note' style='color:{colour}'><small>{escape(text)}</small></div>"


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

    form = LogForm(LogFormModel(csv, routine, clock), lab_url=os.environ.get("BACKTRACK_LAB_URL"))
    form.widget.form = form
    return form.widget
