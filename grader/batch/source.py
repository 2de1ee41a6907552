"""Grading one submission of a batch, folder or zip, into its result dict: the one sequence both backends run.

A refused archive and a failure the grader raises on purpose (a :class:`~grader.errors.GraderError`:
no engine, a command that failed) become a "not graded" result that keeps the rubric's checks,
so the gradebook still lists them. Anything else is a grader bug and propagates: the local
pool reports it as that submission's error (grader/batch/pool.py); a queue worker lets Celery
fail the task, so the coordinator reports it and sends the submission again on its next run.
"""
from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from grader.batch.discovery import Submission, grading_key
from grader.batch.downloads import work_prefix
from grader.errors import GraderError
from grader.lms import LmsError, materialise
from grader.results import PolicyViolation
from grader.rubric import Rubric
from grader.submission.archive import ArchiveError, ArchiveLimits, extracted
from grader.version import __version__


def grade_source(submission: Submission, rubric: Rubric, mode: str, *, limits: ArchiveLimits = ArchiveLimits(),
                 on_phase: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Extract the submission if it is a zip (or copy an LMS student's files out of the download), grade it,
    and return its result dict (``submission`` set to its id)."""
    # Imported here: pytest and the Docker gateway load only in the processes that grade.
    from grader.grading.engine import grade

    skipped: list[str] = []
    try:
        with ExitStack() as stack:
            path = _folder_of(submission, limits, stack, on_phase or (lambda phase: None), skipped)
            entry = grade(path, mode=mode, rubric=rubric, on_phase=on_phase).to_dict()
    except ArchiveError as exc:
        return not_graded(submission, rubric, refused=exc.message, hint=exc.hint)
    except LmsError as exc:  # the student's files cannot be taken out of the download (too large)
        return not_graded(submission, rubric, refused=str(exc))
    except GraderError as exc:
        return not_graded(submission, rubric, error=str(exc))
    entry["submission"] = submission.id
    if submission.lms is not None:
        entry["lms"] = {"skipped": skipped}
    return entry


def _folder_of(submission: Submission, limits: ArchiveLimits, stack: ExitStack, on_phase: Callable[[str], None],
               skipped: list[str]) -> Path:
    """The folder to grade: the submission's own, its zip extracted, or an LMS student's files materialised."""
    if submission.kind == "zip":
        on_phase("extracting")
        return stack.enter_context(extracted(submission.source, submission.id, limits))
    if submission.lms is not None:
        on_phase("copying")
        work = stack.enter_context(tempfile.TemporaryDirectory(prefix=work_prefix()))
        made = materialise(submission.lms, submission.source, work)
        skipped += made.skipped
        return made.folder
    return submission.source


_SKELETONS: dict[str, dict[str, Any]] = {}


def _skeleton(rubric: Rubric) -> dict[str, Any]:
    """The rubric's checks as a result dict (from a static grading of an empty folder), to mark all not graded."""
    from grader.grading.engine import grade

    key = grading_key(rubric, "static")
    if key not in _SKELETONS:
        with tempfile.TemporaryDirectory(prefix="grader-empty-") as empty:
            _SKELETONS[key] = grade(Path(empty), mode="static", rubric=rubric).to_dict()
    return json.loads(json.dumps(_SKELETONS[key]))


def not_graded(submission: Submission, rubric: Rubric, *, refused: str | None = None, hint: str | None = None,
               error: str | None = None, template: dict[str, Any] | None = None) -> dict[str, Any]:
    """A result for a submission that could not be graded: a refused archive, or the grader failed."""
    try:
        entry = json.loads(json.dumps(template)) if template else _skeleton(rubric)
    except Exception:  # noqa: BLE001 - without a skeleton, the entry simply lists no checks
        entry = {"checks": [], "max_score": 0}
    status = "skipped" if refused else "error"
    what = "the submission" if submission.kind == "lms" else "the zip"
    message = f"not graded: {what} was refused" if refused else f"not graded: {error}"
    for check in entry.get("checks") or []:
        check.update(status=status, points=0, message=message, hint=None, location=None,
                     expected=None, found=None, details=None, duration_s=0)
    entry.update(
        submission=submission.id, score=0, passed=False, grader_version=__version__,
        started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"), duration_s=0,
        mode="static" if refused else entry.get("mode", "full"), notice=None, compose_file=None,
        services={"redis": None, "web": None},
        policy=[PolicyViolation("unsafe-archive", refused + (f" {hint}" if hint else "")).to_dict()] if refused else [],
        error=error,
    )
    return entry
