"""Grade files each LMS imports as they are: Canvas, Moodle, Blackboard, Brightspace.

Each writer takes ``GradeRow`` objects (who, score, max score, a few lines of feedback) and
returns a ``GradeFile``: the CSV text (UTF-8, no byte-order mark, CRLF line ends, every
field quoted where CSV needs it) and the rows it could not write, with why.

- Canvas (Grades → Import; canvas-lms app/models/gradebook_importer.rb):
  ``Student,ID,SIS Login ID,Section,<Assignment> (<assignment id>)``. Students are matched
  by ID (the user id in the download's names); the assignment by the id in parentheses.
  No feedback column exists.
- Moodle (assignment → "Upload grading worksheet"; mod/assign/feedback/offline): the columns
  of the offline grading worksheet Moodle exports by default, ``Identifier, Full name, Email
  address, Status, Grade, Maximum Grade, Grade can be changed, Last modified (submission),
  Last modified (grade), Feedback comments``. The import needs Identifier ("Participant
  <id>"), Grade and "Last modified (grade)"; a grade Moodle changed more than 60 s after that
  time is skipped (unless "Allow updating records that have been modified more recently in
  Moodle" is ticked), so the file carries the time it was written. Feedback comments are HTML.
- Blackboard (Grade Center → Work Offline → Upload): ``"Last Name","First Name","Username",
  "<Assignment> [Total Pts: N Score] |<column id>"``, every field quoted (its documentation
  requires it for comma-separated files); matched by Username and the column id.
- Brightspace (Grades → Import): ``OrgDefinedId,Username,<Item> Points Grade,End-of-Line
  Indicator``; the ids carry Brightspace's own ``#`` prefix and the last field is ``#``.

Spreadsheet safety: names, e-mails and feedback starting with ``= + - @`` get a leading
``'`` (grader/report/gradebook.py ``safe_cell``); an id or username starting so is not written (the
LMS needs it verbatim; a row with one is reported, not imported).
"""
from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from grader.lms.model import Identity, LmsError
from grader.report.formats import AnyResult, failing, refusal, where
from grader.report.gradebook import safe_cell
from grader.report.visibility import student_view
from grader.results import GradeResult, points_text

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MOODLE_COLUMNS = ("Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                  "Grade can be changed", "Last modified (submission)", "Last modified (grade)", "Feedback comments")
MOODLE_PARTICIPANT = "Participant "   # Moodle's 'hiddenuser' string: the Identifier is this + the id
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


@dataclass(frozen=True)
class GradeRow:
    identity: Identity
    score: float | None          # None: nothing to grade (no submission); the row is not written
    max_score: float
    feedback: tuple[str, ...] = ()

    @classmethod
    def from_result(cls, identity: Identity, value: AnyResult | None, show_after_due: bool = False) -> GradeRow:
        """The row for a grading or its ``to_dict()`` (or None for a student with no submission)."""
        if not value:
            return cls(identity, None, 0.0)
        result = GradeResult.of(value)
        feedback = feedback_lines(result, show_after_due=show_after_due)
        return cls(identity, result.score, result.max_score, tuple(feedback))


@dataclass(frozen=True)
class GradeFile:
    lms: str
    text: str
    written: int                                  # rows written
    skipped: tuple[tuple[str, str], ...] = ()     # (who, why) for each row not written

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.text.encode("utf-8"))
        return path


def _one_line(text: Any) -> str:
    return " ".join(_CONTROL.sub(" ", str(text or "")).split())


def feedback_lines(value: AnyResult, limit: int = 6, show_after_due: bool = False) -> list[str]:
    """A few lines for a student: the score, a refusal, each failed check they are shown and its fix."""
    result = student_view(value, show_after_due).result
    lines = [f"compose-grader: {points_text(result.score)} / {points_text(result.max_score)}"]
    lines += [f"Refused by the safety policy: {_one_line(refusal(violation))}" for violation in result.policy]
    for check in failing(result)[:limit]:
        place = f" ({where(check)})" if where(check) else ""
        line = f"✗ {_one_line(check.title or check.id)}{place}: {_one_line(check.message)}"
        if check.found not in (None, ""):
            line += f" Found {_one_line(check.found)}; expected {_one_line(check.expected)}."
        if check.hint:
            line += f" Fix: {_one_line(check.hint)}"
        lines.append(line)
    if len(failing(result)) > limit:
        lines.append(f"… and {len(failing(result)) - limit} more: see your report")
    return lines


def _points(row: GradeRow, points_possible: float | None) -> str:
    """The score, rescaled to the LMS's points possible when that is given."""
    score = row.score or 0.0
    if points_possible is not None and row.max_score > 0:
        score = score / row.max_score * points_possible
    return points_text(score)


def _verbatim(value: str) -> str | None:
    """An id the LMS matches on: as it is, or None when a spreadsheet would run it as a formula."""
    return None if value.startswith(FORMULA_START) else value


def _csv(header: Sequence[str], rows: list[list[str]], quote_all: bool = False) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


RowMaker = Callable[[GradeRow], "list[str] | str"]


def _build(lms: str, header: Sequence[str], rows: list[GradeRow], make: RowMaker, quote_all: bool = False) -> GradeFile:
    """Rows ``make`` returns a list for are written; a string says why the row is not."""
    written, skipped = [], []
    for row in rows:
        who = row.identity.group or row.identity.display_name
        made = make(row) if row.score is not None else "no submission, so no grade"
        if isinstance(made, str):
            skipped.append((who, made))
        else:
            written.append(made)
    return GradeFile(lms, _csv(header, written, quote_all), len(written), tuple(skipped))


def canvas_gradebook(rows: list[GradeRow], assignment: str, assignment_id: str,
                     points_possible: float | None = None) -> GradeFile:
    """Canvas's gradebook import CSV for one assignment."""
    if not str(assignment_id).isdigit():
        raise LmsError(f"Canvas assignment id must be digits (the number in the assignment's URL), not {assignment_id!r}")
    header = ["Student", "ID", "SIS Login ID", "Section", f"{safe_cell(_one_line(assignment))} ({assignment_id})"]

    def make(row: GradeRow) -> list[str] | str:
        user_id = _verbatim(row.identity.user_id)
        if not user_id:
            return "anonymous grading: Canvas names no user id until anonymity is lifted (download again then)"
        return [safe_cell(row.identity.display_name), user_id, "", "", _points(row, points_possible)]

    return _build("canvas", header, rows, make)


def moodle_worksheet(rows: list[GradeRow], points_possible: float | None = None, now: datetime | None = None) -> GradeFile:
    """Moodle's offline grading worksheet, to upload with "Upload grading worksheet"."""
    stamp = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")  # PHP's strtotime reads ISO 8601

    def make(row: GradeRow) -> list[str] | str:
        participant = _verbatim(row.identity.participant_id)
        if not participant:
            return "a team submission: the worksheet grades each member by their own participant id"
        feedback = "<br>".join(html.escape(line, quote=False) for line in row.feedback)
        maximum = points_text(points_possible if points_possible is not None else row.max_score)
        return [MOODLE_PARTICIPANT + participant, safe_cell(row.identity.display_name), safe_cell(row.identity.email),
                "Submitted for grading", _points(row, points_possible), maximum, "Yes", row.identity.attempt, stamp,
                safe_cell(feedback)]

    return _build("moodle", MOODLE_COLUMNS, rows, make)


def _split_name(name: str) -> tuple[str, str]:
    """("Jane Q.", "Doe") from "Jane Q. Doe": Blackboard ignores the names on upload; they help people read."""
    first, _, last = name.strip().rpartition(" ")
    return (first, last) if first else ("", last)


def blackboard_grade_center(rows: list[GradeRow], assignment: str, column_id: str,
                            points_possible: float | None = None) -> GradeFile:
    """A Blackboard Grade Center upload for one column."""
    column = str(column_id).lstrip("_")
    if not re.fullmatch(r"\d+", column):
        raise LmsError(f"Blackboard column id must be digits (after '|' in a downloaded column's header), not {column_id!r}")
    total = points_possible if points_possible is not None else max((row.max_score for row in rows), default=0)
    header = ["Last Name", "First Name", "Username",
              f"{safe_cell(_one_line(assignment))} [Total Pts: {points_text(total)} Score] |{column}"]

    def make(row: GradeRow) -> list[str] | str:
        username = _verbatim(row.identity.username)
        if not username:
            return "no Blackboard username"
        first, last = _split_name(row.identity.display_name)
        return [safe_cell(last), safe_cell(first), username, _points(row, points_possible)]

    return _build("blackboard", header, rows, make, quote_all=True)


def brightspace_grades(rows: list[GradeRow], item: str, points_possible: float | None = None) -> GradeFile:
    """A Brightspace grades import for one numeric grade item."""
    item = _one_line(item)
    if not item or item.startswith(FORMULA_START):
        raise LmsError(f"Brightspace grade item name {item!r} cannot be written: Brightspace matches the item by it")
    header = ["OrgDefinedId", "Username", f"{item} Points Grade", "End-of-Line Indicator"]

    def make(row: GradeRow) -> list[str] | str:
        org_id, username = _verbatim(row.identity.org_defined_id), _verbatim(row.identity.username)
        if not org_id and not username:
            return "no OrgDefinedId or Username: match the names with a class list first"
        return [f"#{org_id}" if org_id else "", f"#{username}" if username else "", _points(row, points_possible), "#"]

    return _build("brightspace", header, rows, make)


def write_grade_file(lms: str, rows: list[GradeRow], *, assignment: str = "", assignment_id: str = "",
                     points_possible: float | None = None, now: datetime | None = None) -> GradeFile:
    """The grade file for ``lms``: ``assignment`` is its name (Brightspace's item), ``assignment_id`` its id."""
    if lms == "canvas":
        return canvas_gradebook(rows, assignment, assignment_id, points_possible)
    if lms == "moodle":
        return moodle_worksheet(rows, points_possible, now)
    if lms == "blackboard":
        return blackboard_grade_center(rows, assignment, assignment_id, points_possible)
    if lms == "brightspace":
        return brightspace_grades(rows, assignment, points_possible)
    raise LmsError(f"unknown LMS {lms!r}")
