"""What a batch leaves behind: results.json, grades.csv, the per-student reports and index.html.

``results.json`` is a JSON list. Each graded submission is the dict ``grader check --json``
prints (``GradeResult.to_dict()``), plus:

- ``student``: the roster row it matched (``identifier``, ``github_username``, ``github_id``,
  ``name``), or null;
- ``error``: why the grading itself failed (a fault of the grader or the machine), or null;
- ``batch``: ``source`` (the folder or zip name in the batch folder), ``content_hash``
  (sha256 of its files), ``grading_key`` (rubric, mode and grader version), ``report``
  (the HTML file name) and ``graded_at``.

A roster student with no submission is an entry ``{"missing": true, "submission": null,
"student": {...}, "checks": [], "score": null, ...}``; skip entries with ``missing`` to get
the submissions alone. Everything else here is rendered from that list, so
``grader report results.json`` rebuilds the HTML and the CSV without grading again.
"""
from __future__ import annotations

import csv
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.rubric import DEFAULT_ORDER
from grader.results import number

RESULTS_NAME = "results.json"
GRADES_NAME = "grades.csv"
INDEX_NAME = "index.html"
_RESERVED = {"index"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class ResultsFileError(ValueError):
    """results.json is missing, unreadable or not what a batch writes."""


# Reading one entry ------------------------------------------------------------------------------

def is_missing(entry: dict[str, Any]) -> bool:
    return bool(entry.get("missing"))


def student_of(entry: dict[str, Any]) -> dict[str, str]:
    return entry.get("student") or {}


def entry_id(entry: dict[str, Any]) -> str:
    student = student_of(entry)
    return student.get("identifier") or student.get("github_username") or str(entry.get("submission") or "")


def entry_name(entry: dict[str, Any]) -> str:
    return student_of(entry).get("name") or ""


def is_refused(entry: dict[str, Any]) -> bool:
    return bool(entry.get("policy"))


def is_errored(entry: dict[str, Any]) -> bool:
    return bool(entry.get("error")) or any(check.get("status") == "error" for check in entry.get("checks") or [])


def state(entry: dict[str, Any]) -> str:
    """missing, refused, error, passed or failed."""
    if is_missing(entry):
        return "missing"
    if is_refused(entry):
        return "refused"
    if is_errored(entry):
        return "error"
    return "passed" if entry.get("passed") else "failed"


@dataclass(frozen=True)
class Column:
    id: str
    title: str
    max_points: float
    bonus: bool


def check_columns(entries: list[dict[str, Any]]) -> list[Column]:
    """Every check seen in the batch, in rubric order (unknown checks after, as first seen)."""
    seen: dict[str, Column] = {}
    for entry in entries:
        for check in entry.get("checks") or []:
            if check.get("id") and check["id"] not in seen:
                seen[check["id"]] = Column(str(check["id"]), str(check.get("title") or check["id"]),
                                           float(check.get("max_points") or 0), bool(check.get("bonus")))
    order = {check_id: index for index, check_id in enumerate(DEFAULT_ORDER)}
    first_seen = {check_id: index for index, check_id in enumerate(seen)}
    return sorted(seen.values(), key=lambda column: (order.get(column.id, len(order)), first_seen[column.id]))


def checks_by_id(entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(check.get("id")): check for check in entry.get("checks") or []}


def max_score(entries: list[dict[str, Any]]) -> float:
    scored = [entry.get("max_score") for entry in entries if not is_missing(entry) and entry.get("max_score") is not None]
    if scored:
        return max(float(value) for value in scored)
    return sum(column.max_points for column in check_columns(entries) if not column.bonus)


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


def sort_key(entry: dict[str, Any]) -> tuple[str, str]:
    return (entry_id(entry).casefold(), str(entry.get("submission") or ""))


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


def write_results_json(entries: list[dict[str, Any]], path: Path) -> Path:
    return _atomic_write(path, json.dumps(entries, indent=1, ensure_ascii=False) + "\n")


def load_results_json(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ResultsFileError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsFileError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, list) or not all(isinstance(entry, dict) for entry in data):
        raise ResultsFileError(f"{path}: expected a list of results, as `grader batch` writes")
    for entry in data:
        if not is_missing(entry) and not isinstance(entry.get("checks"), list):
            raise ResultsFileError(f"{path}: an entry has no 'checks' list ({str(entry.get('submission'))[:60]!r})")
    return data


# grades.csv ------------------------------------------------------------------------------------

def safe_cell(value: Any) -> str:
    """Text for a spreadsheet: a leading = + - @ would start a formula, so it is quoted away."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _points(value: Any) -> str:
    if value is None or value == "":
        return ""
    try:
        return str(number(float(value)))
    except (TypeError, ValueError):
        return ""


def grades_header(columns: list[Column]) -> list[str]:
    return ["id", "name", "score", "max_score", *(column.id for column in columns),
            "status", "submission", "github_username"]


def write_grades_csv(entries: list[dict[str, Any]], path: Path) -> Path:
    """One row per student: id, name, score, max score, each check's points, then status and where it came from.

    UTF-8 with a byte-order mark, so spreadsheets read accented names right.
    """
    columns = check_columns(entries)
    maximum = max_score(entries)
    rows = []
    for entry in sorted(entries, key=sort_key):
        checks = checks_by_id(entry)
        missing = is_missing(entry)
        rows.append([
            safe_cell(entry_id(entry)), safe_cell(entry_name(entry)),
            "" if missing else _points(entry.get("score")),
            _points(maximum if missing else entry.get("max_score")),
            *("" if missing or column.id not in checks else _points(checks[column.id].get("points"))
              for column in columns),
            state(entry), safe_cell(entry.get("submission") or ""), safe_cell(student_of(entry).get("github_username") or ""),
        ])
    buffer = _Lines()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(grades_header(columns))
    writer.writerows(rows)
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


def assign_report_names(entries: list[dict[str, Any]]) -> None:
    """Give each submission a report file name (kept when it already has a valid one)."""
    taken: set[str] = set()
    pending = []
    for entry in entries:
        if is_missing(entry):
            continue
        batch = entry.setdefault("batch", {})
        name = batch.get("report")
        if isinstance(name, str) and name.endswith(".html") and _UNSAFE.sub("", name) == name \
                and name[:-5].casefold() not in taken and name[:-5].casefold() not in _RESERVED:
            taken.add(name[:-5].casefold())
        else:
            pending.append(entry)
    for entry in pending:
        entry["batch"]["report"] = report_name(str(entry.get("submission") or "submission"), taken)


def render_outputs(entries: list[dict[str, Any]], out: Path, *, write_results: bool = True,
                   notes: dict[str, Any] | None = None) -> Outputs:
    """Write every student's report, index.html, grades.csv and (unless told not to) results.json into ``out``."""
    from grader.report.dashboard import write_dashboard

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    entries = sorted(entries, key=sort_key)
    assign_report_names(entries)
    reports = {}
    from grader.report.html import render_html as render
    for entry in entries:
        if not is_missing(entry):
            path = out / entry["batch"]["report"]
            path.write_text(render(entry), encoding="utf-8")
            reports[str(entry.get("submission"))] = path
    results = write_results_json(entries, out / RESULTS_NAME) if write_results else None
    grades = write_grades_csv(entries, out / GRADES_NAME)
    index = write_dashboard(entries, out / INDEX_NAME, notes=notes)
    return Outputs(folder=out, index=index, grades=grades, results=results, reports=reports)
