"""A class roster: GitHub Classroom's CSV export, and matching submissions to students.

The export has the columns ``identifier, github_username, github_id, name`` (any order,
any case, a byte-order mark tolerated); ``name`` and ``github_id`` may be empty, and so
may ``github_username`` for a student who has not linked an account yet.

A submission (a folder name, or a zip's name without ``.zip``) belongs to the student whose
``identifier`` or ``github_username`` it equals, ignoring case and surrounding spaces. GitHub
Classroom names repositories ``<assignment>-<github_username>``, so a name ending in
``-<github_username>`` matches too when exactly one student fits (the longest username wins).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field, fields
from pathlib import Path

from grader.errors import GraderError
from grader.report.entry import Student  # the roster row a results.json entry records

COLUMNS = tuple(column.name for column in fields(Student))  # identifier, github_username, github_id, name


class RosterError(GraderError):
    """The roster file is wrong: a usage error, not a student's mistake."""


def _fold(text: str) -> str:
    return text.strip().casefold()


@dataclass
class Assignment:
    """How the submissions of a batch map onto the roster."""

    students: dict[str, Student] = field(default_factory=dict)    # submission id -> student
    unmatched: list[str] = field(default_factory=list)             # submissions that fit no student
    missing: list[Student] = field(default_factory=list)           # students with no submission
    duplicates: dict[str, list[str]] = field(default_factory=dict)  # student key -> their submissions, when several


@dataclass
class Roster:
    students: list[Student]
    source: str = ""

    @classmethod
    def load(cls, path: Path) -> Roster:
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise RosterError(f"roster {path}: not UTF-8 text ({exc.reason})") from exc
        except OSError as exc:
            raise RosterError(f"roster {path}: cannot be read ({exc.strerror or exc})") from exc
        return cls.parse(text, source=str(path))

    @classmethod
    def parse(cls, text: str, source: str = "roster") -> Roster:
        reader = csv.DictReader(text.splitlines())
        if not reader.fieldnames:
            raise RosterError(f"{source}: empty file; expected the columns {', '.join(COLUMNS)}")
        columns = {(name or "").strip().casefold(): name for name in reader.fieldnames}
        if "identifier" not in columns and "github_username" not in columns:
            raise RosterError(f"{source}: no 'identifier' or 'github_username' column "
                              f"(found: {', '.join(map(str, reader.fieldnames))}); export the roster from GitHub Classroom")
        students, seen = [], set()
        for row in reader:
            values = {column: (row.get(columns[column]) or "").strip() if column in columns else "" for column in COLUMNS}
            student = Student(**values)
            if not student.key or _fold(student.key) in seen:
                continue
            seen.add(_fold(student.key))
            students.append(student)
        return cls(students, source)

    def match(self, submission: str) -> Student | None:
        """The student a submission name belongs to, or None."""
        wanted = _fold(submission)
        for attribute in ("identifier", "github_username"):
            for student in self.students:
                value = getattr(student, attribute)
                if value and _fold(value) == wanted:
                    return student
        suffixed = [student for student in self.students
                    if student.github_username and wanted.endswith("-" + _fold(student.github_username))]
        if not suffixed:
            return None
        longest = max(len(student.github_username) for student in suffixed)
        best = [student for student in suffixed if len(student.github_username) == longest]
        return best[0] if len(best) == 1 else None

    def assign(self, submissions: list[str]) -> Assignment:
        result = Assignment()
        owners: dict[str, list[str]] = {}
        for submission in submissions:
            student = self.match(submission)
            if student is None:
                result.unmatched.append(submission)
                continue
            result.students[submission] = student
            owners.setdefault(student.key, []).append(submission)
        result.missing = [student for student in self.students if student.key not in owners]
        result.duplicates = {key: names for key, names in owners.items() if len(names) > 1}
        return result
