"""A batch's grade file for its LMS: ``<lms>-grades.csv`` next to grades.csv, from the entries of results.json.

``grader batch`` (and ``grader report results.json``, without grading) write it for the LMS
the download came from, or the one ``--grade-file`` names; the writers are
grader/report/formats/lms.py. What each LMS needs besides the grades:

- Canvas: ``--assignment-id`` (the number in the assignment's URL); ``--assignment`` names
  the column (Canvas matches by the id; default: the batch folder's name);
- Blackboard: ``--assignment-id`` (the column id after ``|`` in a downloaded column's
  header); ``--assignment`` as for Canvas;
- Brightspace: ``--assignment``, the grade item's name, which Brightspace matches by;
- Moodle: nothing.

``--points-possible N`` rescales every score to the LMS item's points. Rows the LMS could not
import (an anonymous Canvas student, a Moodle team, a Brightspace name no class list placed,
a student who is no LMS download's) are listed in ``skipped`` with why, for the instructor.
When the LMS was only detected and what it needs is missing, no file is written and ``note``
says what to add; when ``--grade-file`` named it, ``GradeFileRequest.check`` refuses before
anything is graded.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from grader.lms import LMS_NAMES, LmsError
from grader.report.entry import Entry
from grader.report.formats.lms import GradeFile, GradeRow, write_grade_file

_NEEDS = {"canvas": ("assignment_id",), "blackboard": ("assignment_id",), "brightspace": ("assignment",),
          "moodle": ()}
_OPTION = {"assignment_id": "--assignment-id", "assignment": "--assignment"}


def grade_file_name(lms: str) -> str:
    return f"{lms}-grades.csv"


@dataclass(frozen=True)
class GradeFileRequest:
    """What the instructor asked of the grade file."""

    lms: str | None = None          # None: the LMS the entries come from, when there is one
    assignment: str = ""            # the assignment's (Brightspace: the grade item's) name
    assignment_id: str = ""         # Canvas: assignment id; Blackboard: column id
    points_possible: float | None = None
    show_after_due: bool = False    # Moodle's feedback: show after_due_date checks now

    def missing(self, lms: str) -> list[str]:
        """The options ``lms`` needs that this request lacks."""
        return [_OPTION[name] for name in _NEEDS[lms] if not getattr(self, name)]

    def check(self) -> None:
        """Refuse, before any grading, a grade file asked for by name that could not be written."""
        if self.lms is None:
            return
        if self.lms not in LMS_NAMES:
            raise LmsError(f"unknown LMS {self.lms!r}: one of {', '.join(LMS_NAMES)}")
        if self.missing(self.lms):
            raise LmsError(f"a {self.lms.capitalize()} grade file needs {' and '.join(self.missing(self.lms))}")
        write_grade_file(self.lms, [], assignment=self.assignment or "x", assignment_id=self.assignment_id,
                         points_possible=self.points_possible)  # raises on an id the LMS would not match


@dataclass(frozen=True)
class WrittenGradeFile:
    lms: str
    path: Path | None               # None: not written (``note`` says why)
    written: int = 0
    skipped: tuple[tuple[str, str], ...] = ()
    note: str = ""


def entries_lms(entries: Sequence[Entry]) -> str | None:
    """The LMS the entries' students come from (the most common one), or None."""
    found = [entry.lms.identity.lms for entry in entries if entry.lms]
    return max(sorted(set(found)), key=found.count) if found else None


def _rows(entries: Sequence[Entry], lms: str, show_after_due: bool) -> tuple[list[GradeRow], list[tuple[str, str]]]:
    rows, skipped = [], []
    for entry in entries:
        if entry.lms is None or entry.lms.identity.lms != lms:
            skipped.append((entry.name or entry.id, f"not a student of a {lms.capitalize()} download"))
            continue
        rows.append(GradeRow.from_result(entry.lms.identity, entry.result, show_after_due))
    return rows, skipped


def write_batch_grade_file(entries: Sequence[Entry], out: Path, request: GradeFileRequest, default_name: str,
                           now: datetime | None = None) -> WrittenGradeFile | None:
    """The grade file for the entries into ``out``; None when there is none to write (no LMS asked or found)."""
    lms = request.lms or entries_lms(entries)
    if lms is None:
        return None
    if request.lms is None and request.missing(lms):
        return WrittenGradeFile(lms, None, note=f"no {lms.capitalize()} grade file: add "
                                                f"{' and '.join(request.missing(lms))} to write {grade_file_name(lms)}")
    rows, skipped = _rows(entries, lms, request.show_after_due)
    if not rows:
        return WrittenGradeFile(lms, None, note=f"no {grade_file_name(lms)}: no student in the results comes from "
                                                f"a {lms.capitalize()} download")
    made: GradeFile = write_grade_file(lms, rows, assignment=request.assignment or default_name,
                                       assignment_id=request.assignment_id, points_possible=request.points_possible,
                                       now=now)
    path = made.write(Path(out) / grade_file_name(lms))
    return WrittenGradeFile(lms, path, made.written, tuple(skipped) + made.skipped)
