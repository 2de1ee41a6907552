"""What flows through a batch: the tasks a backend is given, what it hands back, and what callers hear.

A backend (grader/batch/backend.py) takes :class:`Task` objects, reports each finished grading
as a :class:`Graded` and everything else as a :class:`BatchEvent`, and ends with a
:class:`RunEnd`. ``grade_batch()`` returns a :class:`BatchResult`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from grader.batch.discovery import Submission
from grader.batch.roster import Student
from grader.report import gradebook
from grader.rubric import Rubric
from grader.submission.archive import ArchiveLimits


@dataclass(frozen=True)
class Task:
    """One submission to grade, with its own rubric (the roster's student name in it)."""

    submission: Submission
    rubric: Rubric
    mode: str
    limits: ArchiveLimits
    content_hash: str   # the queue derives a task's id from these two
    grading_key: str


@dataclass
class BatchEvent:
    """What ``on_event`` hears. kind: notice (text in ``phase``), queued, unchanged, phase, done, stopping, stopped,
    regrade (a queue worker was lost: ``phase`` says which, and later which worker took the submission over)."""

    kind: str
    submission: str | None = None
    phase: str | None = None
    entry: dict[str, Any] | None = None
    done: int = 0
    total: int = 0


@dataclass(frozen=True)
class Graded:
    """A finished grading, as a backend hands it back (a "not graded" result counts as one)."""

    task: Task
    entry: dict[str, Any]
    batch: dict[str, Any] = field(default_factory=dict)  # what the backend adds to entry["batch"]: worker, regraded


@dataclass
class RunEnd:
    """How a backend's run ended: which tasks it stopped before they were graded, and whether it was interrupted."""

    stopped: list[str] = field(default_factory=list)
    interrupted: bool = False


OnEvent = Callable[[BatchEvent], None]
OnResult = Callable[[Graded], None]


@dataclass
class BatchResult:
    entries: list[dict[str, Any]]                  # what results.json holds, missing students included
    graded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    missing: list[Student] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)   # not on the roster (or, Brightspace, the class list)
    duplicates: dict[str, list[str]] = field(default_factory=dict)
    interrupted: bool = False
    mode: str = "full"
    lms: str | None = None                         # the LMS whose bulk download the folder is, if it is one
    notice: str | None = None
    jobs: int = 1
    duration_s: float = 0.0
    outputs: gradebook.Outputs | None = None

    @property
    def submissions(self) -> list[dict[str, Any]]:
        return [entry for entry in self.entries if not gradebook.is_missing(entry)]

    @property
    def errored(self) -> list[str]:
        return [str(entry.get("submission")) for entry in self.submissions if gradebook.is_errored(entry)]
