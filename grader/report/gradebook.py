"""What a batch leaves behind: results.json, grades.csv, the per-student reports and index.html.

``results.json`` is a JSON list of entries (:mod:`grader.report.entry` describes one); skip
entries with ``missing`` to get the submissions alone. Everything else here is rendered from that
list, so ``grader report results.json`` rebuilds the HTML and the CSV without grading again.
"""
from __future__ import annotations

import csv
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.report import entry as typed
from grader.report.dashboard import write_dashboard
from grader.report.entry import Column, Entry, entries_of
from grader.report.html import Heading, render_html

if TYPE_CHECKING:  # imported when used: grader/report/formats/lms.py imports this module
    from grader.report.lms_grades import GradeFileRequest, WrittenGradeFile
from grader.results import number

RESULTS_NAME = "results.json"
GRADES_NAME = "grades.csv"
INDEX_NAME = "index.html"
_RESERVED = {"index"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

EntryLike = Entry | Mapping[str, Any]  # an Entry, or the results.json dict it reads from


class ResultsFileError(ValueError):
    """results.json is missing, unreadable or not what a batch writes."""


# For callers that hold results.json dicts ---------------------------------------------------------

def is_missing(entry: EntryLike) -> bool:
    return Entry.of(entry).missing


def is_errored(entry: EntryLike) -> bool:
    return Entry.of(entry).errored


def state(entry: EntryLike) -> str:
    """missing, refused, error, passed or failed."""
    return Entry.of(entry).state


def entry_id(entry: EntryLike) -> str:
    return Entry.of(entry).id


def entry_name(entry: EntryLike) -> str:
    return Entry.of(entry).name


def sort_key(entry: EntryLike) -> tuple[str, str]:
    return Entry.of(entry).sort_key()


def checks_by_id(entry: EntryLike) -> dict[str, dict[str, Any]]:
    """Each check of the entry as its JSON dict, by id."""
    return {check.id: check.to_dict() for check in Entry.of(entry).checks}


def check_columns(entries: Iterable[EntryLike]) -> list[Column]:
    return typed.check_columns(entries_of(entries))


def max_score(entries: Iterable[EntryLike]) -> float:
    return typed.max_score(entries_of(entries))


# results.json ----------------------------------------------------------------------------------

def _atomic_write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding=encoding, newline="") as stream:
            stream.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def write_results_json(entries: Iterable[EntryLike], path: Path) -> Path:
    data = [Entry.of(entry).to_dict() for entry in entries]
    return _atomic_write(path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")


def _read_list(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ResultsFileError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsFileError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, list) or not all(isinstance(entry, dict) for entry in data):
        raise ResultsFileError(f"{path}: expected a list of results, as `grader batch` writes")
    for entry in data:
        if not entry.get("missing") and not isinstance(entry.get("checks"), list):
            raise ResultsFileError(f"{path}: an entry has no 'checks' list ({str(entry.get('submission'))[:60]!r})")
    return data


def load_results_json(path: Path) -> list[dict[str, Any]]:
    """The entries of a results.json as the dicts it holds (checked to be what a batch writes)."""
    return _read_list(path)


def load_entries(path: Path) -> list[Entry]:
    """The entries of a results.json."""
    return entries_of(_read_list(path))


# grades.csv ------------------------------------------------------------------------------------

def safe_cell(value: Any) -> str:
    """Text for a spreadsheet: a leading = + - @ would start a formula, so it is quoted away."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_points(value: float | None) -> str:
    """Points in a spreadsheet cell: exact (``2``, ``2.5``, ``0.3333333333333333``), empty for none."""
    return "" if value is None else str(number(value))


def grades_header(columns: list[Column]) -> list[str]:
    return ["id", "name", "score", "max_score", *(column.id for column in columns),
            "status", "submission", "github_username"]


def _check_cell(entry: Entry, column: Column) -> str:
    check = entry.check(column.id)
    return csv_points(check.points) if check else ""


def _grades_row(entry: Entry, columns: list[Column], maximum: float) -> list[str]:
    """A student with no submission has no score and no points, but the class's maximum."""
    result = entry.result
    scores = [csv_points(result.score), csv_points(result.max_score)] if result else ["", csv_points(maximum)]
    return [safe_cell(entry.id), safe_cell(entry.name), *scores, *(_check_cell(entry, column) for column in columns),
            entry.state, safe_cell(entry.submission), safe_cell(entry.github)]


def write_grades_csv(entries: Iterable[EntryLike], path: Path) -> Path:
    """One row per student: id, name, score, max score, each check's points, then status and where it came from.

    UTF-8 with a byte-order mark, so spreadsheets read accented names right.
    """
    rows = sorted(entries_of(entries), key=Entry.sort_key)
    columns, maximum = typed.check_columns(rows), typed.max_score(rows)
    buffer = _Lines()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(grades_header(columns))
    writer.writerows(_grades_row(entry, columns, maximum) for entry in rows)
    return _atomic_write(path, "\ufeff" + "".join(buffer.lines))


class _Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, text: str) -> None:
        self.lines.append(text)


# Everything at once ----------------------------------------------------------------------------

@dataclass
class Outputs:
    folder: Path
    index: Path
    grades: Path
    results: Path | None
    reports: dict[str, Path] = field(default_factory=dict)  # submission -> its HTML report
    grade_file: WrittenGradeFile | None = None              # the LMS's grade file, when there is an LMS


def report_name(submission: str, taken: set[str]) -> str:
    """A file name for a student's report: the submission name, made safe and unique (case-insensitively)."""
    stem = _UNSAFE.sub("_", submission).strip("._") or "submission"
    if stem.casefold() in _RESERVED:
        stem += "-report"
    candidate, counter = stem, 2
    while candidate.casefold() in taken:
        candidate, counter = f"{stem}-{counter}", counter + 1
    taken.add(candidate.casefold())
    return f"{candidate}.html"


def _keeps_its_name(name: str | None, taken: set[str]) -> bool:
    return (isinstance(name, str) and name.endswith(".html") and _UNSAFE.sub("", name) == name
            and name[:-5].casefold() not in taken and name[:-5].casefold() not in _RESERVED)


def assign_report_names(entries: list[Entry]) -> None:
    """Give each submission a report file name (kept when it already has a valid one)."""
    taken: set[str] = set()
    pending = []
    for entry in entries:
        if entry.missing:
            continue
        if _keeps_its_name(entry.batch.report, taken):
            taken.add(str(entry.batch.report)[:-5].casefold())
        else:
            pending.append(entry)
    for entry in pending:
        entry.batch.report = report_name(entry.submission or "submission", taken)


def heading_of(entry: Entry) -> Heading | None:
    """A report's heading: the LMS student's name and ids, or the roster student's; None for a bare folder."""
    if entry.lms:
        return Heading(entry.lms.name, entry.lms.label)
    if entry.student and entry.name:
        github = f"@{entry.github}" if entry.github and entry.github != entry.id else ""
        return Heading(entry.name, " · ".join(part for part in (entry.id, github) if part))
    return None


def render_outputs(entries: Iterable[EntryLike], out: Path, *, write_results: bool = True,
                   notes: dict[str, Any] | None = None, show_after_due: bool | None = None,
                   grade_file: GradeFileRequest | None = None) -> Outputs:
    """Write every student's report, index.html, grades.csv, (unless told not to) results.json and, for
    students of an LMS download, the LMS's grade file into ``out``. ``show_after_due`` (default: the grade
    file request's) shows students the after_due_date checks in their reports now."""
    if show_after_due is None:
        show_after_due = bool(grade_file and grade_file.show_after_due)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ordered = sorted(entries_of(entries), key=Entry.sort_key)
    assign_report_names(ordered)
    reports = {}
    for entry in ordered:
        if entry.result is not None and entry.batch.report:
            reports[entry.submission] = out / entry.batch.report
            page = render_html(entry.result, show_after_due=show_after_due, heading=heading_of(entry))
            reports[entry.submission].write_text(page, encoding="utf-8")
    results = write_results_json(ordered, out / RESULTS_NAME) if write_results else None
    grades = write_grades_csv(ordered, out / GRADES_NAME)
    index = write_dashboard(ordered, out / INDEX_NAME, notes=notes)
    from grader.report.lms_grades import GradeFileRequest, write_batch_grade_file

    folder = next((entry.batch.folder for entry in ordered if entry.batch.folder), None) or out.resolve().name
    request = grade_file or GradeFileRequest(show_after_due=show_after_due)
    written = write_batch_grade_file(ordered, out, request, default_name=folder)
    return Outputs(folder=out, index=index, grades=grades, results=results, reports=reports, grade_file=written)
