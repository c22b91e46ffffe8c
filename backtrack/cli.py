"""The ``backtrack`` command.

Exit codes: 0 done; 1 the log has problems (``validate``) or ``repair`` had to leave a
row out; 2 refused input or usage error, with the reason on stderr and no traceback;
141 (silent) when the reader of the output closed it early (``summary --json | head``).
The log is ``--csv``, else ``$BACKTRACK_CSV``, else ``data/backtrack.csv``. Heavy
modules (analysis, plots) are imported inside the commands that need them (``# lazy: per
command``), so logging stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import traceback
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, cast

from .errors import (
    LISTED,
    FieldError,
    InputError,
    LogFormatError,
    LogLockedError,
    SaveFailedError,
    SettingsFileError,
    TrialPlanError,
    UserFileError,
)
from .schema import COLUMNS, PAIN_LOCATIONS, csv_line, decode_note, parse_date
from .store import history_for, raw_rows, resolve_log_path, row_line

if TYPE_CHECKING:
    from .actions import Saved
    from .measures import Answers
    from .routine import Routine
    from .store import LogData
    from .trial import TrialResult


class UsageError(Exception):
    """Bad command-line usage: printed on stderr, exit 2."""


def _parse_done(text: str) -> dict[str, str | None]:
    """``floor_relaxation,hip_stretch=1.5`` → {id: minutes as typed, or None for the dose}.

    The minutes stay text so that a refusal quotes them as typed; actions checks them.
    """
    done: dict[str, str | None] = {}
    for part in filter(None, (p.strip() for p in text.replace(";", ",").split(","))):
        exercise_id, _, minutes = part.partition("=")
        if exercise_id in done:
            raise InputError("--done", "each exercise once", exercise_id)
        done[exercise_id] = minutes.strip() or None
    return done


def _add_csv(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--csv", help="the log file (default: $BACKTRACK_CSV or data/backtrack.csv)"
    )


def _add_analysis_options(parser: argparse.ArgumentParser, verb: str) -> None:
    """--since, --baseline, --demo, --routine and --csv, shared by the commands that
    analyse a log."""

    def period(text: str) -> tuple[date, date]:
        """``START:END`` (both YYYY-MM-DD, START on or before END) for ``--baseline``."""
        start, colon, end = text.partition(":")
        if not colon:
            raise argparse.ArgumentTypeError(
                f"expected START:END (YYYY-MM-DD:YYYY-MM-DD), found {text!r}"
            )
        first, last = _date(start.strip()), _date(end.strip())
        if last < first:
            raise argparse.ArgumentTypeError(f"expected START on or before END, found {text!r}")
        return first, last

    parser.add_argument(
        "--since",
        type=_date,
        help="start on this day (YYYY-MM-DD); the baseline is the first 7 rated days from it",
    )
    parser.add_argument(
        "--baseline",
        type=period,
        metavar="START:END",
        help="baseline period (YYYY-MM-DD:YYYY-MM-DD), e.g. weeks before the routine "
        "(default: the first 7 rated days)",
    )
    parser.add_argument(
        "--demo", action="store_true", help=f"{verb} 120 days of demo data (in memory)"
    )
    parser.add_argument("--routine", help="routine TOML file (default: see README)")
    _add_csv(parser)


def _existing_log(args: argparse.Namespace) -> Path:
    """The log named by ``--csv``/``$BACKTRACK_CSV``; a usage error when there is none yet."""
    log_path = resolve_log_path(args.csv)
    if not log_path.exists():
        raise UsageError(f"{log_path}: no log there yet (log a day first)")
    return log_path


def _log_fields(args: argparse.Namespace, routine: Routine) -> dict[str, object]:
    """The fields given on the command line (those left out are not in the dict)."""
    given: dict[str, object] = {}
    if args.pain is not None:
        given["pain"] = args.pain
    if args.done is not None:
        text = args.done.strip()
        given["done"] = (
            routine.ids if text == "all" else {} if text == "none" else _parse_done(text)
        )
    if args.day is not None:
        given["day_type"] = args.day
    if args.where is not None:
        given["where"] = args.where
    if args.note is not None:
        given["note"] = args.note
    return given


def cmd_log(args: argparse.Namespace) -> int:
    """Log, correct or withdraw a day. A save for a date that has one already keeps the
    fields not given (and says which), unless ``--replace``."""
    from .actions import (
        build_answers,
        carry_over,
        log_day,
        read_if_any,
        void_day,
    )  # lazy: per command
    from .routine import load_routine  # lazy: per command

    log_path = resolve_log_path(args.csv)
    day = args.date or date.today()
    measures = {k: v for k in ("peg", "psfs", "pgic") if (v := getattr(args, k)) is not None}
    if args.void_measure:
        return _void_measure(args, log_path, day, measures)
    if args.void:
        if measures or any(v is not None for v in (args.pain, args.done, args.day, args.where)):
            raise UsageError("--void withdraws the date: give only --date (and --note)")
        saved = void_day(log_path, day=day, note=args.note or "")
        print(
            f"withdrew {day.isoformat()} in {saved.path}: it now counts as not logged "
            "(its saves stay in the file as history; log it again any time)"
        )
        return 0
    routine = load_routine(args.routine, log_path=log_path)
    given = _log_fields(args, routine)
    if not given and not measures:  # else a save would repeat the date's latest one
        raise UsageError(
            f"nothing to save: give at least one of {', '.join(_FIELD_OPTIONS.values())} "
            "(e.g. --pain 3 --done all), or --peg, --psfs, --pgic; nothing was written"
        )
    answers = build_answers(day=day, **measures) if measures else []  # checked before any write
    if not given:
        return _save_measures(log_path, answers)
    current = read_if_any(log_path)  # read once: fields kept, and the repeated-save check
    carried: tuple[str, ...] = ()
    if args.replace:
        fields = given
    else:
        fields, carried = carry_over(current, day, given)
    fields.setdefault("pain", None)  # not given, nothing to keep: refused unless a rest day
    saved = log_day(log_path, routine=routine, current=current, day=day, **fields)
    if saved.duplicate:
        print(f"{day.isoformat()} was saved just now with the same values: not saved twice")
        return _save_measures(log_path, answers) if answers else 0
    print(f"saved to {saved.path}")
    for name, value in saved.row.items():
        if name == "note" and decode_note(value) != value:  # show the note as typed
            value = (
                f"{decode_note(value)}   (stored with a leading ' so a spreadsheet shows it "
                "as text; backtrack removes it on load)"
            )
        print(f"  {name:<12} {value}")
    _print_trial_day(log_path, saved, routine)
    if carried:
        names = ", ".join(_FIELD_OPTIONS[name] for name in carried)
        print(
            f"kept from the earlier save of {day.isoformat()}: {names} (give --replace to "
            "save only what you typed)"
        )
    return _save_measures(log_path, answers) if answers else 0


def _answers_text(answers: Answers) -> str:
    """One answer set in words, with its score (points 0-10) or why there is none."""
    from .measures import PEG, PEG_ITEMS, PGIC, PGIC_CATEGORIES, score  # lazy: per command

    if answers.measure == PEG:
        parts = [
            f"{item.key} {'not answered' if value is None else value}"
            for item, value in zip(PEG_ITEMS, answers.values, strict=True)
        ]
    elif answers.measure == PGIC:
        value = answers.values[0]
        parts = [f"{value} ({PGIC_CATEGORIES[value - 1].lower()})" if value else "none"]
    else:
        parts = [
            f"{name!r} {'not rated' if value is None else value}"
            for name, value in zip(answers.activities, answers.values, strict=True)
        ]
    result = score(answers)
    if answers.measure == PGIC:
        return ", ".join(parts)
    scored = f"score {result.value:.2f}" if result.value is not None else result.reason
    return f"{', '.join(parts)}; {scored}"


def _save_measures(log_path: Path, answers: list[Answers]) -> int:
    """Save answers already checked (:func:`actions.build_answers`) and say what was saved."""
    from .actions import save_answers  # lazy: per command

    saved = save_answers(log_path, answers=answers)
    print(f"saved answers to {saved.path}")
    for one in saved.answers:
        print(f"  {one.measure:<12} {one.date.isoformat()}: {_answers_text(one)}")
    return 0


def _void_measure(
    args: argparse.Namespace, log_path: Path, day: date, measures: dict[str, str]
) -> int:
    """``--void-measure``: withdraw one measure's answers for ``--date``."""
    from .actions import void_answers  # lazy: per command

    others = (args.pain, args.done, args.day, args.where, args.note)
    if measures or args.void or any(v is not None for v in others):
        raise UsageError("--void-measure withdraws one measure's answers: give only --date")
    saved = void_answers(log_path, measure=args.void_measure, day=day)
    print(
        f"withdrew the {args.void_measure} answers of {day.isoformat()} in {saved.path} "
        "(the rows stay in the file as history; answer again any time)"
    )
    return 0


def _print_trial_day(log_path: Path, saved: Saved, routine: Routine) -> None:
    """During a self-trial, the saved day's assignment, and a deviation when the save
    includes an exercise B leaves out."""
    from .trial import assignment_on, left_out_in_b, load_plan, trial_path  # lazy: per command

    path = trial_path(log_path)
    if not path.exists():
        return
    try:
        plan = load_plan(path)
    except (TrialPlanError, UserFileError, OSError) as exc:  # the save is done: say why
        print(f"warning: the self-trial plan cannot be read: {exc}", file=sys.stderr)
        return
    today = assignment_on(plan, saved.entry.date)
    if today is None:
        return
    print(today.text())
    if today.block.condition == "B":
        extra = [e for e in left_out_in_b(plan, routine) if e in saved.entry.exercises]
        if extra:
            print(
                f"  deviation: {', '.join(extra)} is left out in B ({plan.b}); the day "
                "still counts under B (intention to treat) and is counted as a deviation"
            )


def _routine_of(args: argparse.Namespace, log_path: Path) -> Routine:
    from .routine import load_routine  # lazy: per command

    return load_routine(getattr(args, "routine", None), log_path=log_path)


_FIELD_OPTIONS = {
    "pain": "--pain",
    "done": "--done",
    "day_type": "--day",
    "where": "--where",
    "note": "--note",
}


_SPREADSHEET_VALUE = re.compile(
    r"found '(?:\d{1,2}[./]\d{1,2}[./]\d{2,4}|\d+,\d+"
    r"|\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}(?::\d{2})?)'"
)
"""A refused value as a spreadsheet writes it in many locales: ``d.m.yyyy``/``m/d/yyyy``
dates, a decimal comma, a date-time without its UTC offset."""


def _validate_measures(log_path: Path) -> int:
    """Check the measures file beside the log, if there is one: 1 when it has problems."""
    from .measures_file import current_answers, measures_path, read_measures  # lazy: per command

    path = measures_path(log_path)
    if not path.exists():
        return 0
    found = read_measures(path)
    if _print_problems(path, found.warnings, found.problems):
        return 1
    sets = len(current_answers(found))
    print(f"{path}: {len(found.rows)} rows, {sets} current answer sets, no problems")
    return 0


def _print_problems(path: Path, warnings: Sequence[str], problems: Sequence[object]) -> bool:
    """Print a validated file's warnings (stderr) and problems (stdout, one per line,
    ``file:line:column: message``) and the count; True when there were problems."""
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for problem in problems:
        print(problem)
    if problems:
        print(
            f"{path}: {len(problems)} problem(s); those rows are kept in the file and left "
            "out of analysis",
            file=sys.stderr,
        )
    return bool(problems)


def cmd_validate(args: argparse.Namespace) -> int:
    log_path = _existing_log(args)
    return max(_validate_log(log_path), _validate_measures(log_path))


def _validate_log(log_path: Path) -> int:
    from .actions import load_log  # lazy: per command

    log = load_log(log_path, strict=False)
    if _print_problems(log_path, log.warnings, log.problems):
        if any(_SPREADSHEET_VALUE.search(p.message) for p in log.problems):
            print(
                f"{log_path}: some values look like a spreadsheet's regional format (dates "
                "like 20.11.2026 or 11/20/2026, decimal commas, times without an offset); "
                f"backtrack repair {log_path} -o FIXED.csv writes a valid copy and lists "
                "every change",
                file=sys.stderr,
            )
        return 1
    days = log.entries["date"].nunique()
    print(f"{log_path}: {len(log.entries)} rows for {days} days, no problems")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from .actions import load_log  # lazy: per command

    log_path = _existing_log(args)
    day = args.date or date.today()
    log = load_log(log_path, strict=False)
    for problem in log.problems:
        print(f"warning: {problem}", file=sys.stderr)
    rows = raw_rows(log_path, history_for(log.entries, day)["line"].tolist())
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print(f"nothing recorded for {day.isoformat()}")
        return 0
    print(f"{day.isoformat()}: {len(rows)} save(s), oldest first; the last is the day's state")
    for number, row in enumerate(rows, start=1):
        pain = "not rated" if row["pain"] is None else f"{row['pain']}/10"
        # raw_rows gives exercises as {id: minutes or None} and where as a list of str
        # (its docstring; store.py annotates its values as object)
        exercises = cast("dict[str, float | None]", row["exercises"])
        where = cast("list[str]", row["where"])
        done = ", ".join(
            f"{k} {'' if v is None else f'{v:g} min'}".strip() for k, v in exercises.items()
        )
        print(
            f"{number}. saved {row['recorded_at']} (line {row['line']}): pain {pain}, {row['day']}"
        )
        print(f"   done: {done or 'nothing'}")
        if where:
            print(f"   where: {', '.join(where)}")
        if row["note"]:
            print(f"   note: {row['note']!r}")
    return 0


def _kept(args: argparse.Namespace, *, plan: bool = True) -> dict[Path, str]:
    """What an output command never writes over: the log (``--csv``, else as resolved)
    and the files kept beside it (the trial plan too, unless ``plan`` is false)."""
    from .outputs import kept_files  # lazy: per command

    return kept_files(resolve_log_path(getattr(args, "csv", None)), plan=plan)


def _add_force(parser: argparse.ArgumentParser, kind: str) -> None:
    parser.add_argument(
        "--force",
        action="store_true",
        help=f"replace an existing file that is not {kind} (never the log or its files)",
    )


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import write_demo  # lazy: per command
    from .measures_file import measures_path  # lazy: per command

    try:
        path = write_demo(
            args.output,
            days=args.days,
            seed=args.seed,
            end=args.end,
            keep=_kept(args),
            answers=True,
        )
    except FileExistsError:
        raise UsageError(
            f"{args.output}: exists already; demo data never overwrites a file"
        ) from None
    print(f"wrote {args.days} days of demo data (seed {args.seed}) to {path}")
    print(f"and demo PEG, PSFS and PGIC answers beside it ({measures_path(path).name})")
    return 0


def _log_or_demo(args: argparse.Namespace, demo_command: str) -> tuple[LogData, Routine]:
    """The log to analyse (leniently, warnings on stderr) and its routine; with ``--demo``,
    120 days of demo data in memory, labelled as demo. No log yet: a usage error that
    says how to start, or how to see the command on demo data."""
    from .actions import load_log  # lazy: per command
    from .demo import demo_log  # lazy: per command
    from .routine import load_routine  # lazy: per command
    from .trial import load_routine_with_pauses  # lazy: per command

    if args.demo:
        return demo_log(120, seed=1), load_routine(args.routine)
    log_path = resolve_log_path(args.csv)
    if not log_path.exists():
        raise UsageError(
            f"{log_path}: no log there yet; log a day first (backtrack log --pain N), "
            f"or see what it looks like with: {demo_command}"
        )
    routine = load_routine_with_pauses(args.routine, log_path=log_path)  # adherence counts them
    log = load_log(log_path, routine=routine, strict=False)
    for warning in log.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return log, routine


def cmd_summary(args: argparse.Namespace) -> int:
    """Is it working? Text by default, a JSON object with ``--json``.

    With no log yet: exit 2 and say so, unless ``--demo`` (120 days of demo data, in
    memory, labelled as demo).
    """
    from .overview import summary  # lazy: per command

    log, routine = _log_or_demo(args, "backtrack summary --demo")
    result = summary(
        log,
        routine=routine,
        since=args.since,
        baseline=args.baseline,
        phase_start=args.phase_start,
    )
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(result.text())
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """The clinic report: one A4 page as PDF (``--details``: a second page)."""
    from .report import write_report  # lazy: per command

    log, routine = _log_or_demo(args, "backtrack report --demo -o demo.pdf")
    path = write_report(
        args.output,
        log,
        routine=routine,
        since=args.since,
        baseline=args.baseline,
        name=args.name or "",
        details=args.details,
        force=args.force,
        keep=_kept(args),
    )
    print(f"wrote the report to {path}")
    return 0


def cmd_service(args: argparse.Namespace) -> int:
    """Start the tracker at login (a systemd user unit): install, remove or status."""
    from . import service  # lazy: per command

    if args.action == "install":
        print(service.install(port=args.port))
    elif args.action == "remove":
        print(service.remove())
    else:
        print(service.status(port=args.port))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """FHIR R4B transaction Bundle of the log's Observations (pain, exercise minutes) and
    the function measures' answers (Questionnaires and their responses, the PEG score)."""
    from .actions import load_log  # lazy: per command
    from .interop.fhir import count_by_code, fhir_bundle, write_bundle  # lazy: per command
    from .measures_file import current_answers, measures_path, read_measures  # lazy: per command
    from .routine import load_routine  # lazy: per command

    log_path = resolve_log_path(args.csv)
    if not log_path.exists():
        raise UsageError(f"{log_path}: no log there yet (nothing to export)")
    routine = load_routine(args.routine, log_path=log_path)
    log = load_log(log_path, routine=routine, strict=False)
    for problem in log.problems:
        print(f"warning: {problem} (left out of the export)", file=sys.stderr)
    answers = read_measures(measures_path(log_path))
    for problem in answers.problems:
        print(f"warning: {problem} (left out of the export)", file=sys.stderr)
    bundle = fhir_bundle(
        log,
        routine,
        measures=current_answers(answers),
        measures_history=answers.rows,
        patient=args.patient,
        patient_identifier=args.patient_identifier,
        no_subject=args.no_subject,
        timestamp=datetime.now().astimezone(),
        notes=args.notes,
    )
    where = write_bundle(bundle, args.output, force=args.force, keep=_kept(args))
    counts = ", ".join(
        f"{n} x LOINC {code}" if code[:1].isdigit() else f"{n} x {code}"
        for code, n in count_by_code(bundle).items()
    )
    print(f"wrote a FHIR R4B transaction bundle ({counts or 'empty'}) to {where}", file=sys.stderr)
    return 0


def cmd_import_loop(args: argparse.Namespace) -> int:
    """Append days from a Loop Habit Tracker export that the log does not have yet."""
    from .interop.loop import import_loop, parse_mapping  # lazy: per command
    from .routine import load_routine  # lazy: per command

    log_path = resolve_log_path(args.csv)
    routine = load_routine(args.routine, log_path=log_path)
    plan = import_loop(
        args.export,
        log_path,
        parse_mapping(args.map),
        routine,
        dry_run=args.dry_run,
        minutes=args.minutes or (),
        not_minutes=args.not_minutes or (),
    )
    for habit in plan.unmapped[:LISTED]:
        print(f"not imported: habit {habit!r} maps to no exercise (add it to --map)")
    if len(plan.unmapped) > LISTED:
        print(f"not imported: … and {len(plan.unmapped) - LISTED:,} more habit(s) mapped to none")
    for note in plan.notes:
        print(f"note: {note}")
    verb = "would append" if args.dry_run else "appended"
    print(
        f"{verb} {len(plan.entries)} day(s) to {log_path}; skipped "
        f"{len(plan.already_logged)} day(s) already in the log, {len(plan.not_logged)} with "
        f"no information (not logged), {len(plan.future)} in the future"
    )
    if plan.auto_days:
        print(
            f"note: {len(plan.auto_days)} of the days not logged were YES_AUTO in Loop (a "
            "weekly or monthly target already met; Loop also writes a NO you entered on "
            "such a day as YES_AUTO): they come in as not logged"
        )
    if args.dry_run:
        print("dry run: nothing was written. The rows would be:")
        sys.stdout.write(csv_line(list(COLUMNS)))
        for entry in plan.entries:  # exactly as the log stores them
            sys.stdout.write(row_line(COLUMNS, entry.to_row()))
    return 0


def cmd_repair(args: argparse.Namespace) -> int:
    """Write a valid copy of a log a spreadsheet saved in its own dialect; list changes."""
    from .actions import load_log  # lazy: per command
    from .interop.repair import repair_log  # lazy: per command

    offset = None
    if args.utc_offset is not None:
        try:
            parsed = datetime.fromisoformat(f"2000-01-01T00:00{args.utc_offset}").tzinfo
        except ValueError:
            parsed = None
        # fromisoformat gives a fixed-offset datetime.timezone for a +HH:MM suffix
        offset = parsed if isinstance(parsed, timezone) else None
        if offset is None:
            raise InputError("--utc-offset", "an offset like +01:00 or -05:00", args.utc_offset)
    if args.output is None and not args.check:
        raise UsageError(
            "repair: give -o FIXED.csv for the repaired copy, or --check to print the "
            "report and write nothing"
        )
    report = repair_log(
        args.input,
        None if args.check else args.output,
        utc_offset=offset,
        date_order=args.date_order,
        keep=_kept(args),
    )
    print(f"{report.source}: " + ("; ".join(report.dialect) or "already the log's dialect"))
    for change in report.changes:
        print(f"changed: {change}")
    for loss in report.unrecoverable:
        where = f"line {loss.line}" if loss.line else "the whole file"
        print(f"cannot be recovered: {where}: {loss.column}: {loss.found!r}: {loss.why}")
    for line, reason in report.left_out:
        print(f"left out: line {line}: {reason} (it stays in {report.source})")
    counts = (
        f"{len(report.changes)} change(s), {len(report.unrecoverable)} thing(s) that cannot "
        f"be recovered, {len(report.left_out)} row(s) left out"
    )
    if args.check:
        print(
            f"would write {report.rows} row(s); {counts}; nothing was written (--check), "
            f"{report.source} was not changed"
        )
        return 1 if report.left_out else 0
    log = load_log(report.output, strict=False)
    state = "passes validate" if not log.problems else f"{len(log.problems)} problem(s) left"
    print(
        f"wrote {report.rows} row(s) to {report.output} ({state}); {counts}; "
        f"{report.source} was not changed"
    )
    return 1 if report.left_out or log.problems else 0


def cmd_cohort(args: argparse.Namespace) -> int:
    """One row per patient log in a folder (or fsspec URL), who needs attention first."""
    from .cohort import json_records, needs_attention, scan_folder, summarise  # lazy: per command

    if args.trials:
        return _cohort_trials(args)
    if args.output:
        raise UsageError("-o writes the clinic's self-trial pages: give it with --trials")
    scan = scan_folder(args.folder)
    for skipped in scan.skipped:
        print(f"skipped: {skipped}", file=sys.stderr)
    if not scan.logs:
        raise UsageError(f"{args.folder}: no *.csv logs in this folder")
    table = needs_attention(
        summarise(scan.logs, routine_path=args.routine, scheduler=args.scheduler),
        today=date.today(),
    )
    for problems in table["problems"]:
        for problem in problems:
            print(f"warning: {problem}", file=sys.stderr)
    if args.json:
        print(json.dumps(json_records(table), ensure_ascii=False, indent=2))
        return 0
    print(
        f"{'patient':<16} {'days':>5} {'base':>5} {'7d':>5} {'change (95% CI)':>19} "
        f"{'mde':>4} {'class':<11} {'adh28':>5} {'trend/wk':>8}  attention"
    )
    for row in table.itertuples(index=False):
        klass = row.change_class if isinstance(row.change_class, str) else "-"
        change = _num(row.change, "+.1f")
        if _num(row.change_low) != "-":  # an interval
            change += f" ({_num(row.change_low, '+.1f')},{_num(row.change_high, '+.1f')})"
        if row.change_regression_to_mean is True:
            klass += "*"
        print(
            f"{str(row.patient)[:16]:<16} {row.days_logged:>5} {_num(row.baseline):>5} "
            f"{_num(row.pain_7day_mean):>5} {change:>19} {_num(row.change_mde):>4} "
            f"{klass:<11} {_num(row.adherence_28day, '.0%'):>5} "
            f"{_num(row.trend, '+.2f'):>8}  {row.attention}"
        )
    if table["change_regression_to_mean"].eq(True).any():
        print("* first week unusually bad: part of the change may be regression to the mean")
    return 0


def _cohort_trials(args: argparse.Namespace) -> int:
    """``cohort DIR --trials``: each patient's self-trial and the flow per comparison."""
    from ._files import PDF, check_output  # lazy: per command
    from .clinic_pooled import pool_comparisons, pooled_record  # lazy: per command
    from .clinic_report import (
        comparison_lines,
        patient_lines,
        write_clinic_pdf,
    )  # lazy: per command
    from .clinic_trials import (  # lazy: per command
        json_rows,
        scan_clinic,
        trial_flow,
        trial_records,
    )

    scan = scan_clinic(args.folder)
    keep = _clinic_kept([p.log for p in scan.patients]) if args.output else {}
    if args.output:  # refused before any work: never a patient's log or its files
        check_output(args.output, kind=PDF, force=args.force, keep=keep)
    for skipped in scan.skipped:
        print(f"skipped: {skipped}", file=sys.stderr)
    if not scan.patients:
        raise UsageError(
            f"{args.folder}: no patient logs (a sub-folder per patient, see docs/clinic.md)"
        )
    records = trial_records(scan, routine_path=args.routine, scheduler=args.scheduler)
    flow = trial_flow(records)
    pooled = pool_comparisons(records)
    for patient, problems in zip(records["patient"], records["problems"], strict=True):
        for problem in problems:
            print(f"warning: {patient}: {problem}", file=sys.stderr)
    if args.output:
        path = write_clinic_pdf(args.output, pooled, force=args.force, keep=keep)
        print(f"Wrote {path}: the clinic's self-trials, pooled per comparison.", file=sys.stderr)
    if args.json:
        document = {
            "trials": json_rows(records),
            "flow": json_rows(flow),
            "pooled": [pooled_record(c) for c in pooled],
        }
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return 0
    print(
        f"{'patient':<16} {'status':<14} {'comparison':<22} {'pairs':>5} "
        f"{'A-B (95% CI)':>19} {'p':>6} {'P>=1':>5} {'adhA':>4} {'adhB':>4} {'base':>4}  note"
    )
    for row in records.itertuples(index=False):
        pairs = f"{_count(row.complete_pairs)}/{_count(row.planned_pairs)}"
        pairs = "-" if pairs == "-/-" else pairs
        effect = _num(row.effect, "+.1f")
        if _num(row.low) != "-":
            effect += f" ({_num(row.low, '+.1f')},{_num(row.high, '+.1f')})"
        note = row.stop_reason if isinstance(row.stop_reason, str) else ""
        if isinstance(row.status_reason, str):
            note = f"{note}; {row.status_reason}" if note else row.status_reason
        print(
            f"{str(row.patient)[:16]:<16} {row.status:<14} {str(row.comparison or '-')[:22]:<22} "
            f"{pairs:>5} {effect:>19} {_num(row.p_value, '.3f'):>6} "
            f"{_num(row.prob_b_better_1, '.0%'):>5} {_num(row.adherence_a, '.0%'):>4} "
            f"{_num(row.adherence_b, '.0%'):>4} {_num(row.baseline_pain):>4}  {note}"
        )
    print("A-B: points, positive = less pain with B; P>=1: P(B less painful by >= 1 point)")
    print("Flow per comparison (CENT 2015): planned, started, completed, stopped early, analysed")
    for row in flow.itertuples(index=False):
        print(
            f"  {row.comparison}: planned {row.planned}, started {row.started} "
            f"(running {row.running}), completed {row.completed}, stopped early "
            f"{row.stopped_early}, not analysable {row.not_analysable}, analysed {row.analysed}"
        )
        for reason in cast("list[str]", row.stop_reasons):  # trial_flow: a list of texts
            print(f"    stopped early: {reason}")
    for comparison in pooled:
        print(f"Pooled, B {comparison.comparison}:")
        for line in comparison_lines(comparison)[1:]:
            print(f"  {line}")
        for line in patient_lines(comparison.pooled):
            print(f"  {line}")
    return 0


def _clinic_kept(logs: Sequence[str]) -> dict[Path, str]:
    """Every patient's log and the files beside it: what ``cohort --trials -o`` never
    writes over."""
    from .outputs import kept_files  # lazy: per command

    kept: dict[Path, str] = {}
    for log in logs:
        kept.update(
            {p: f"{what} of {Path(log).parent.name}" for p, what in kept_files(log).items()}
        )
    return kept


def cmd_remind(args: argparse.Namespace) -> int:
    """A daily reminder: a calendar file (``--ics``) or, for cron and systemd timers, a
    check that stays silent when today is logged (``--if-not-logged``)."""
    from . import remind  # lazy: per command

    if args.ics == args.if_not_logged:
        raise UsageError("give either --ics (with -o FILE) or --if-not-logged")
    today = datetime.now().astimezone().date()
    if args.ics:
        at = remind.parse_time(args.at)
        if args.output == "-":
            sys.stdout.write(remind.calendar(at, start=today))
            return 0
        path = remind.write_calendar(
            args.output, at, start=today, force=args.force, keep=_kept(args)
        )
        print(
            f"Wrote {path}: a daily reminder at {at:%H:%M} your local time, 10 minutes long. "
            "Import it into your calendar; importing a newer file replaces it (same UID)."
        )
        return 0
    if remind.logged_today(args.csv, today):
        return 0
    text = remind.reminder_text(today)
    print(text)
    if not args.no_notify:
        remind.notify(text)
    return 0


def cmd_trial_plan(args: argparse.Namespace) -> int:
    """Plan a randomised self-trial and write it beside the log (never the log itself)."""
    from .actions import load_log  # lazy: per command
    from .trial import (  # lazy: per command
        SAFETY,
        minimum_detectable_effect,
        pairs_needed,
        plan_trial,
        smallest_p_value,
        trial_path,
        write_plan,
    )

    log_path = resolve_log_path(args.csv)
    routine = _routine_of(args, log_path)
    without = [e.strip() for e in (args.b_without or "").split(",") if e.strip()]
    plan = plan_trial(
        a=args.a,
        b=args.b,
        pairs=args.pairs,
        block_days=args.block_days,
        washout_days=args.washout_days,
        start=args.start or date.today() + timedelta(days=1),
        seed=args.seed,
        b_without=without,
        b_routine=args.b_routine,
        routine=routine,
        outcome=args.outcome,
    )
    mde = None
    # read first: a log that cannot be read leaves no plan behind; from daily pain, so
    # not for a PEG outcome
    if log_path.exists() and plan.outcome == "pain":
        entries = load_log(log_path, routine=routine, strict=False).entries
        mde = minimum_detectable_effect(entries, plan.pairs, plan.block_days, plan.washout_days)
    path = write_plan(
        trial_path(log_path, args.trial), plan, replace=args.replace, keep=_kept(args, plan=False)
    )
    if args.json:
        print(json.dumps({**plan.to_dict(), "minimum_detectable_effect": mde}, indent=2))
        return 0
    print(f"wrote the plan to {path} (the log is not changed)")
    print(f"A: {plan.a}\nB: {plan.b}" + (f" (leaves out {', '.join(without)})" if without else ""))
    print(
        f"{plan.pairs} pairs of {plan.block_days}-day blocks, {plan.washout_days} washout "
        f"day(s) at the start of each block (not analysed); seed {plan.seed} "
        f"({2**plan.pairs} possible schedules)"
    )
    for block in plan.blocks:
        label = plan.a if block.condition == "A" else plan.b
        print(
            f"  pair {block.pair}: {block.start.isoformat()} to {block.end.isoformat()}  "
            f"{block.condition}  {label}"
        )
    floor = smallest_p_value(plan.pairs)
    if floor > 0.05:
        print(
            f"With {plan.pairs} pairs the smallest p-value the exact test can reach is "
            f"{floor:.3g}: choose at least {pairs_needed()} pairs to be able to reach 0.05."
        )
    else:
        print(f"The smallest p-value this plan can reach is {floor:.3g}.")
    if plan.outcome == "peg":
        print(
            "Outcome: the weekly PEG score (0-10). Answer the PEG in each block's last "
            "3 days (the form asks then); a block without one does not count."
        )
    elif mde is None:
        print("Not enough logged days yet to say how small a difference it could detect.")
    else:
        print(
            f"From your logged pain so far, a difference smaller than about {mde:.1f} points "
            "would usually be missed."
        )
    print(SAFETY)
    return 0


def _trial_result(args: argparse.Namespace) -> tuple[TrialResult, LogData]:
    from .actions import load_log  # lazy: per command
    from .trial import analyse, load_plan, outcome_answers, trial_path  # lazy: per command

    log_path = resolve_log_path(args.csv)
    routine = _routine_of(args, log_path)
    path = trial_path(log_path, args.trial)
    if not path.exists():
        raise UsageError(f"{path}: no trial planned (backtrack trial plan --help)")
    plan = load_plan(path, routine)
    if not log_path.exists():
        raise UsageError(f"{log_path}: no log there yet (log a day first)")
    log = load_log(log_path, routine=routine, strict=False)
    for warning in log.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    measures = outcome_answers(plan, log_path)
    return analyse(plan, log.entries, routine, measures=measures), log


def cmd_trial_result(args: argparse.Namespace) -> int:
    """The self-trial's answer: effect, interval, exact p-value, what it cannot show."""
    from .trial import SAFETY  # lazy: per command

    result, _ = _trial_result(args)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return 0
    plan = result.plan
    print(f"Self-trial: A = {plan.a}, B = {plan.b}")
    print(result.sentence)
    if plan.stopped is not None and plan.stop_reason:
        print(f"Stopped on {plan.stopped.isoformat()}: {plan.stop_reason}")
    better = "has a lower PEG score" if plan.outcome == "peg" else "is less painful"
    if result.prob_b_better_1 is not None:
        print(
            f"Probability that B {better} than A by at least 1 point: "
            f"{result.prob_b_better_1:.0%} (model: normal pair differences, flat prior)"
        )
    if result.order_effect is not None:
        print(
            f"Order check: pairs done AB and BA differ by {result.order_effect:+.1f} points "
            "(half the difference; near 0 means the order, carry-over or a trend did not "
            "drive the result)"
        )
    print(
        f"Deviations: {result.deviations['B']} B day(s) with an exercise B leaves out; "
        f"adherence A {_num(result.adherence['A'], '.0%')}, B {_num(result.adherence['B'], '.0%')}"
    )
    for line in result.cannot_conclude:
        print(f"- {line}")
    print(SAFETY)
    return 0


def cmd_trial_report(args: argparse.Namespace) -> int:
    from .trial_report import write_trial_pdf  # lazy: per command

    result, log = _trial_result(args)
    path = write_trial_pdf(args.output, result, log.entries, force=args.force, keep=_kept(args))
    print(f"wrote the trial report to {path}")
    return 0


def cmd_trial_stop(args: argparse.Namespace) -> int:
    from .trial import stop_trial, trial_path  # lazy: per command

    path = trial_path(resolve_log_path(args.csv), args.trial)
    if not path.exists():
        raise UsageError(f"{path}: no trial planned")
    day = args.date or date.today()
    stop_trial(path, day, reason=args.reason, keep=_kept(args, plan=False))
    why = f" (reason: {' '.join(args.reason.split())})" if args.reason else ""
    print(f"stopped the trial on {day.isoformat()}{why}; the result says it stopped early")
    return 0


def _num(value: object, spec: str = ".1f") -> str:
    """A number for the cohort table; ``-`` when missing."""
    if value is None or value != value:  # None or NaN
        return "-"
    return format(value, spec)


def _count(value: object) -> str:
    """A whole number for a table; ``-`` when missing (None, NaN or pandas' NA)."""
    try:
        return str(int(value))  # type: ignore[call-overload]  # any cell of a table
    except (TypeError, ValueError):
        return "-"


def _date(text: str) -> date:
    """A day on the command line: ``YYYY-MM-DD`` (parsed as the log parses it), ``today``
    or ``yesterday``."""

    relative = {"today": 0, "yesterday": 1}
    if text.strip().lower() in relative:
        return date.today() - timedelta(days=relative[text.strip().lower()])
    try:
        return parse_date(text.strip())
    except FieldError as exc:
        raise argparse.ArgumentTypeError(
            f"expected {exc.expected} (or today, yesterday), found {text!r}"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backtrack", description="Track pain and a home back-exercise routine, privately."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from .routine import default_routine  # lazy: per command

    exercise_ids = ", ".join(default_routine().ids)
    log = sub.add_parser(
        "log",
        help="log (or correct, or withdraw) a day",
        description="Log a day. A second save for the same date corrects it: the fields "
        "you do not give are kept from the earlier save (say which), unless --replace.",
    )
    log.add_argument("--pain", help="pain 0-10 (0 no pain, 10 worst imaginable), or 'no rating'")
    log.add_argument(
        "--done",
        help="exercises done: ids, each optionally =minutes (default: its dose), 'all' or "
        f"'none'. The routine's ids: {exercise_ids} (a routine.toml beside the log may "
        "change them)",
    )
    log.add_argument(
        "--date", type=_date, help="the day: YYYY-MM-DD, today or yesterday (default today)"
    )
    log.add_argument("--day", choices=["routine", "rest", "flare"], help="default routine")
    log.add_argument(
        "--where", help=f"pain locations, comma-separated, from: {', '.join(PAIN_LOCATIONS)}"
    )
    log.add_argument("--note", help="free text")
    log.add_argument(
        "--replace",
        action="store_true",
        help="save only what is given (fields left out are empty), not keeping the earlier save",
    )
    log.add_argument(
        "--void",
        action="store_true",
        help="withdraw --date (saved on the wrong date): it then counts as not logged; "
        "nothing is deleted",
    )
    log.add_argument(
        "--peg",
        metavar="P,E,G",
        help="the weekly PEG, three answers 0-10 about the past week: average pain, how "
        "pain interfered with enjoyment of life, with general activity (e.g. 6,5,7)",
    )
    log.add_argument(
        "--psfs",
        metavar="ACTIVITY=N,...",
        help="the PSFS: up to 5 activities you find hard, in your words, each rated 0 "
        "(unable to do) to 10 (as before the problem), e.g. 'walk the dog=4,sit through "
        "a film=3'",
    )
    log.add_argument(
        "--pgic",
        metavar="1-7",
        help="overall change since starting: 1 very much improved, 2 much improved, 3 "
        "minimally improved, 4 no change, 5 minimally worse, 6 much worse, 7 very much worse",
    )
    log.add_argument(
        "--void-measure",
        choices=["peg", "psfs", "pgic"],
        help="withdraw that measure's answers of --date (given by mistake); nothing is deleted",
    )
    log.add_argument("--routine", help="routine TOML file (default: see README)")
    _add_csv(log)
    log.set_defaults(handler=cmd_log)

    validate = sub.add_parser(
        "validate", help="check every row of the log (and of the measures file beside it)"
    )
    _add_csv(validate)
    validate.set_defaults(handler=cmd_validate)

    history = sub.add_parser("history", help="every save for one day, corrections included")
    history.add_argument("--date", type=_date, help="the day (default today)")
    history.add_argument("--json", action="store_true", help="a JSON list, oldest first")
    _add_csv(history)
    history.set_defaults(handler=cmd_history)

    summary = sub.add_parser(
        "summary", help="is it working? pain, change, adherence, streak, trend, lagged link"
    )
    summary.add_argument("--json", action="store_true", help="a JSON object (see README)")
    summary.add_argument(
        "--phase-start",
        type=_date,
        metavar="DATE",
        help="compare pain before this day (YYYY-MM-DD) with pain from it on",
    )
    _add_analysis_options(summary, "summarize")
    summary.set_defaults(handler=cmd_summary)

    report = sub.add_parser("report", help="a one-page PDF report to take to the clinic")
    report.add_argument("-o", "--output", required=True, help="the PDF file to write")
    _add_force(report, "a PDF")
    report.add_argument("--name", help="the name printed at the top (optional)")
    report.add_argument(
        "--details", action="store_true", help="add a second page (analysis in words, more charts)"
    )
    _add_analysis_options(report, "report on")
    report.set_defaults(handler=cmd_report)

    export = sub.add_parser("export", help="export the log for a clinic (FHIR R4B bundle)")
    export.add_argument(
        "--fhir", action="store_true", required=True, help="FHIR R4B JSON (the only format)"
    )
    export.add_argument("-o", "--output", required=True, help="the bundle file ('-': stdout)")
    _add_force(export, "JSON")
    export.add_argument(
        "--patient",
        help="FHIR reference of the patient, e.g. Patient/123 or an absolute URL ending in "
        "one (identifiers are keyed on Patient/123 either way)",
    )
    export.add_argument(
        "--patient-identifier",
        metavar="SYSTEM|VALUE",
        help="the patient's business identifier, e.g. 'https://clinic.example/mrn|12345'",
    )
    export.add_argument(
        "--no-subject",
        action="store_true",
        help="export without a patient (a subject is required otherwise)",
    )
    export.add_argument(
        "--notes", action="store_true", help="include free-text notes (off: they may be private)"
    )
    export.add_argument("--routine", help="routine TOML file (default: see README)")
    _add_csv(export)
    export.set_defaults(handler=cmd_export)

    loop = sub.add_parser(
        "import-loop", help="append days from a Loop Habit Tracker CSV export (zip)"
    )
    loop.add_argument("export", help="the export: a .zip (or the folder it unpacks to)")
    loop.add_argument(
        "--map",
        required=True,
        action="append",
        metavar="HABIT=ID",
        help="habits to exercises: 'Relax=floor_relaxation,Hips=hip_stretch', or once per "
        "habit (a name may hold commas; quote one that holds '='); others are listed",
    )
    loop.add_argument(
        "--minutes",
        action="append",
        metavar="HABIT",
        help="a numeric habit whose amounts are minutes (when the export gives no unit)",
    )
    loop.add_argument(
        "--not-minutes",
        action="append",
        metavar="HABIT",
        help="a numeric habit not in minutes: an amount above 0 is done at the dose",
    )
    loop.add_argument("--dry-run", action="store_true", help="print the rows, write nothing")
    loop.add_argument("--routine", help="routine TOML file (default: see README)")
    _add_csv(loop)
    loop.set_defaults(handler=cmd_import_loop)

    repair = sub.add_parser(
        "repair", help="a valid copy of a log a spreadsheet re-saved (';', decimal commas, ...)"
    )
    repair.add_argument("input", help="the log as the spreadsheet saved it (only read)")
    repair.add_argument("-o", "--output", help="the new file to write")
    repair.add_argument(
        "--check", action="store_true", help="print the report only; write nothing"
    )
    repair.add_argument(
        "--utc-offset",
        metavar="+HH:MM",
        help="offset for times without one (default: this computer's time zone on that date)",
    )
    repair.add_argument(
        "--date-order",
        metavar="dmy|mdy",
        help="how '/' dates read (d/m/yyyy or m/d/yyyy) when the file's dates do not show it",
    )
    repair.set_defaults(handler=cmd_repair)

    cohort = sub.add_parser("cohort", help="one row per patient log in a folder (clinic view)")
    cohort.add_argument(
        "folder", help="a folder of patient logs (*.csv): a path or a URL (file://, s3://)"
    )
    cohort.add_argument("--json", action="store_true", help="a JSON list, attention first")
    cohort.add_argument(
        "--routine",
        help="routine TOML for every patient (default: each log's, as backtrack summary)",
    )
    cohort.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the per-patient tasks on this Dask scheduler (tcp://host:8786); "
        "default: local processes",
    )
    cohort.add_argument(
        "--trials",
        action="store_true",
        help="each patient's self-trial (a sub-folder per patient), the flow and the trials "
        "pooled per comparison",
    )
    cohort.add_argument(
        "-o",
        "--output",
        metavar="FILE.pdf",
        help="with --trials: also write the clinic's self-trial pages (forest plots) as a PDF",
    )
    _add_force(cohort, "a PDF")
    cohort.set_defaults(handler=cmd_cohort)

    remind = sub.add_parser(
        "remind", help="a daily reminder: a calendar file, or a check for cron/systemd"
    )
    remind.add_argument(
        "--ics", action="store_true", help="write an RFC 5545 calendar with a daily reminder"
    )
    remind.add_argument(
        "-o", "--output", default="backtrack.ics", help="the .ics file to write ('-': stdout)"
    )
    _add_force(remind, "a calendar")
    remind.add_argument("--at", default="20:00", help="time of day, HH:MM (default 20:00)")
    remind.add_argument(
        "--if-not-logged",
        action="store_true",
        help="print a reminder (and notify) only when today is not logged; else silent",
    )
    remind.add_argument(
        "--no-notify", action="store_true", help="no desktop notification, just the text"
    )
    _add_csv(remind)
    remind.set_defaults(handler=cmd_remind)

    trial = sub.add_parser("trial", help="a randomised self-trial of two routine variants")
    trial_sub = trial.add_subparsers(dest="trial_command", required=True, metavar="STEP")
    plan = trial_sub.add_parser("plan", help="plan the blocks (writes trial.toml beside the log)")
    plan.add_argument("--a", required=True, help='condition A, e.g. "full routine"')
    plan.add_argument("--b", required=True, help='condition B, e.g. "without wall squat"')
    plan.add_argument("--b-without", help="exercise ids B leaves out, comma-separated")
    plan.add_argument("--b-routine", help="a routine TOML for B (instead of --b-without)")
    plan.add_argument("--pairs", type=int, default=6, help="pairs of blocks (default 6)")
    plan.add_argument("--block-days", type=int, default=7, help="days per block (default 7)")
    plan.add_argument(
        "--washout-days", type=int, default=2, help="first days of a block not analysed (2)"
    )
    plan.add_argument(
        "--outcome",
        choices=["pain", "peg"],
        default="pain",
        help="what is compared: daily pain (default) or the weekly PEG score (whole-week "
        "blocks only)",
    )
    plan.add_argument("--start", type=_date, help="first day (default tomorrow)")
    plan.add_argument("--seed", type=int, help="random seed (default: from the system)")
    plan.add_argument("--replace", action="store_true", help="replace a running trial")
    plan.add_argument("--json", action="store_true", help="the plan as JSON")
    plan.set_defaults(handler=cmd_trial_plan)
    result = trial_sub.add_parser("result", help="the answer: effect, interval, exact p")
    result.add_argument("--json", action="store_true", help="a JSON object")
    result.set_defaults(handler=cmd_trial_result)
    trial_pdf = trial_sub.add_parser("report", help="a one-page PDF of the trial")
    trial_pdf.add_argument("-o", "--output", required=True, help="the PDF file to write")
    _add_force(trial_pdf, "a PDF")
    trial_pdf.set_defaults(handler=cmd_trial_report)
    stop = trial_sub.add_parser("stop", help="end the trial early (reported as such)")
    stop.add_argument("--date", type=_date, help="the trial's last day (default today)")
    stop.add_argument(
        "--reason", help='why it stopped, kept in the plan (e.g. "flare-up, saw my GP")'
    )
    stop.set_defaults(handler=cmd_trial_stop)
    for step in (plan, result, trial_pdf, stop):
        step.add_argument("--trial", help="the plan file (default: trial.toml beside the log)")
        step.add_argument("--routine", help="routine TOML file (default: see README)")
        _add_csv(step)

    service = sub.add_parser(
        "service", help="start the tracker at login (systemd user unit): install|remove|status"
    )
    service.add_argument("action", choices=["install", "remove", "status"])
    service.add_argument(
        "--port", type=int, default=8888, help="the tracker's port (default 8888, as make lab)"
    )
    service.set_defaults(handler=cmd_service)

    demo = sub.add_parser("demo", help="write a realistic synthetic log")
    demo.add_argument("--days", type=int, default=120)
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--end", type=_date, help="last day (default yesterday)")
    demo.add_argument("-o", "--output", required=True, help="the new file to write")
    demo.set_defaults(handler=cmd_demo)
    return parser


USER_ERRORS = (
    FieldError,  # InputError too
    LogFormatError,
    SettingsFileError,  # RoutineError, TrialPlanError
    UserFileError,
    LogLockedError,
    SaveFailedError,
    UsageError,
    FileNotFoundError,
    FileExistsError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
)
"""What a user can cause and fix (bad input, a bad file, a path): exit 2 with the message."""


def _users_fault(exc: BaseException) -> bool:
    """The project's own errors, the file errors above, and any other error the system
    raised about a named file (a full or read-only disk)."""
    if isinstance(exc, USER_ERRORS):
        return True
    return isinstance(exc, OSError) and exc.errno is not None and exc.filename is not None


_OFFSET_VALUE = re.compile(r"[+-]\d{2}:?\d{2}\Z", re.ASCII)


def _offset_values_joined(argv: Sequence[str]) -> list[str]:
    """``--utc-offset -05:00`` as ``--utc-offset=-05:00``: argparse takes a value that
    starts with ``-`` (and is not a plain negative number) for an option."""
    joined: list[str] = []
    for arg in argv:
        if joined and joined[-1] == "--utc-offset" and _OFFSET_VALUE.match(arg):
            joined[-1] = f"--utc-offset={arg}"
        else:
            joined.append(arg)
    return joined


CLOSED_PIPE = 141
"""Exit code when the output's reader went away (``summary --json | head -1``): 128 +
SIGPIPE, what a shell reports for a writer stopped by a closed pipe."""


def _closed_pipe() -> int:
    """Stop quietly when stdout's reader is gone. As Python's docs advise (``signal``,
    "Note on SIGPIPE"), stdout is pointed at /dev/null so that the flush at exit does not
    fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # stdout replaced (tests): nothing to do
        pass
    finally:
        os.close(devnull)
    return CLOSED_PIPE


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit code: 2 for input the user can fix (message on
    stderr), 1 with a traceback for anything else (a bug), :data:`CLOSED_PIPE` (silent)
    when the reader of the output closed it early."""
    try:
        return _run(argv)
    except BrokenPipeError:
        return _closed_pipe()


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(_offset_values_joined(sys.argv[1:] if argv is None else argv))
        sys.stdout.flush()  # --help into a closed pipe fails here, not at exit
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2), already printed
        sys.stdout.flush()
        return int(exc.code or 0)
    try:
        code: int = args.handler(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:
        raise
    except Exception as exc:
        if _users_fault(exc):
            print(f"backtrack {args.command}: {exc}", file=sys.stderr)
            return 2
        traceback.print_exc()
        print(
            f"backtrack {args.command}: internal error (a bug, not your input): please "
            "report it to the backtrack maintainers with the traceback above",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
