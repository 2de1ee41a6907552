"""One batch run, from the folder to the written outputs: ``grade_batch()``.

Find the submissions (grader/batch/discovery.py), match them to the roster, keep the last
run's grades that still hold (grader/batch/previous.py), hand the rest to a backend
(grader/batch/backend.py), and write the reports, index.html, grades.csv and results.json.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from grader.batch.backend import backend_for
from grader.batch.discovery import Submission, content_hash, discover, grading_key
from grader.batch.downloads import Found, LmsOptions, lms_meta, open_download, submissions_of
from grader.batch.events import BatchEvent, BatchResult, Graded, OnEvent, Task
from grader.batch.machine import default_jobs
from grader.batch.previous import Previous
from grader.batch.roster import Assignment, Roster, Student
from grader.lms import LmsError
from grader.report import gradebook
from grader.report.lms_grades import GradeFileRequest
from grader.rubric import Rubric
from grader.submission.archive import ArchiveLimits


def grade_batch(folder: str | os.PathLike[str], out: str | os.PathLike[str] = "reports", jobs: int | None = None,
                roster: Roster | str | os.PathLike[str] | None = None, regrade: bool = False,
                rubric: Rubric | None = None, on_event: OnEvent | None = None, *,
                mode: str = "auto", archive_limits: ArchiveLimits = ArchiveLimits(),
                title: str | None = None, queue: str | None = None, lms: LmsOptions = LmsOptions(),
                show_after_due: bool = False, grade_file: GradeFileRequest | None = None) -> BatchResult:
    """Grade every submission in ``folder`` (a class folder, or an LMS's bulk download, also as its zip); write
    the reports, index.html, grades.csv, results.json and (for an LMS) its grade file to ``out``."""
    if mode not in ("auto", "static"):
        raise ValueError("batch mode must be 'auto' or 'static'")
    started = time.monotonic()
    folder, out = Path(folder), Path(out)
    emit = on_event or (lambda event: None)
    if roster is not None and not isinstance(roster, Roster):
        roster = Roster.load(Path(roster))
    with ExitStack() as stack:  # a zipped download stays extracted until everything is written
        found = _open(folder, lms, roster, stack, emit)
        submissions = submissions_of(found.download) if found else discover(folder, exclude=(out,))
        assignment = roster.assign([submission.id for submission in submissions]) if roster else None
        # With a queue, the workers' engines grade: this machine needs none.
        effective, notice = ("full" if mode == "auto" else "static", None) if queue else _effective_mode(mode)
        result = _new_result(effective, notice, assignment, found)
        book = _Book(folder, result, emit, len(submissions), Previous.load(out))
        if notice:
            emit(BatchEvent("notice", phase=notice))
        asked = _Asked(rubric or Rubric(), mode, effective, archive_limits, regrade)
        tasks = book.plan(submissions, assignment.students if assignment else {}, asked)
        result.jobs = max(1, min(jobs or default_jobs(), len(tasks) or 1))
        if tasks:
            checkpoint = functools.partial(book.write_results, out / gradebook.RESULTS_NAME)
            end = backend_for(queue, result.jobs, checkpoint).run(tasks, book.with_total, book.collect)
            result.stopped, result.interrupted = end.stopped, end.interrupted
            book.keep_last_grades(tasks)
    result.entries = book.entries()
    result.duration_s = time.monotonic() - started
    result.outputs = gradebook.render_outputs(result.entries, out, notes=_notes(folder, title, roster, result),
                                              show_after_due=show_after_due, grade_file=grade_file)
    return result


def _open(folder: Path, lms: LmsOptions, roster: Roster | None, stack: ExitStack, emit: OnEvent) -> Found | None:
    """The batch folder as an LMS download (said in a notice), or None for a plain class folder."""
    found = open_download(folder, lms, stack)
    if found is None and not folder.is_dir():
        raise NotADirectoryError(f"{folder} is not a folder")
    if found is None:
        return None
    if roster is not None:
        raise LmsError("--roster maps GitHub Classroom's folders to students; an LMS download names its students")
    download = found.download
    ignored = f"; {len(download.ignored)} file(s) that are no student's left out" if download.ignored else ""
    emit(BatchEvent("notice", phase=f"Read as a {download.lms.capitalize()} download: "
                                    f"{len(download.submissions)} submission(s){ignored}"))
    return found


def _notes(folder: Path, title: str | None, roster: Roster | None, result: BatchResult) -> dict[str, Any]:
    """What the dashboard says besides the entries."""
    name = folder.resolve().name
    if result.lms:
        name += f" ({result.lms.capitalize()} download)"
    return {"title": title or f"{name}: class results", "roster": roster.source if roster else None,
            "duplicates": result.duplicates, "stopped": result.stopped}


_WHO = ("student", "lms")


def _who(entry: dict[str, Any], meta: dict[str, Any]) -> None:
    """Who the entry is, as this run found them: the roster's student, or the LMS's (what its grading skipped kept)."""
    entry["student"] = meta["student"]
    graded = entry.get("lms") if isinstance(entry.get("lms"), dict) else {}
    entry["lms"] = {**meta["lms"], "skipped": list(graded.get("skipped") or [])} if meta["lms"] else None


def _present_as(entry: dict[str, Any], rubric: Rubric) -> None:
    """A kept grade, shown as today's rubric says: who sees each check, and the due date (no regrade needed)."""
    for check in entry.get("checks") or []:
        if isinstance(check, dict):
            check["visibility"] = rubric.visibility(str(check.get("id")))
    entry["due"] = rubric.due


def _effective_mode(mode: str) -> tuple[str, str | None]:
    """The mode this machine can grade in, and why it is static when it has to be."""
    if mode == "static":
        return "static", None
    from grader.docker import commands as docker
    from grader.errors import DockerUnavailable
    from grader.grading.engine import NO_ENGINE_NOTICE

    try:
        docker.engine_version()
    except DockerUnavailable as exc:
        return "static", f"{NO_ENGINE_NOTICE} ({exc})"
    return "full", None


def _new_result(effective: str, notice: str | None, assignment: Assignment | None, found: Found | None) -> BatchResult:
    unmatched = list(assignment.unmatched) if assignment else list(found.unplaced) if found else []
    return BatchResult(entries=[], mode=effective, notice=notice, lms=found.download.lms if found else None,
                       missing=list(assignment.missing) if assignment else [], unmatched=unmatched,
                       duplicates=dict(assignment.duplicates) if assignment else {})


@dataclass(frozen=True)
class _Asked:
    """How the caller asked for the batch to be graded."""

    rubric: Rubric
    mode: str            # as asked ("auto" or "static"): what each grading is told
    effective: str       # what it comes to here: part of each grading key
    limits: ArchiveLimits
    regrade: bool


class _Book:
    """One run's bookkeeping: each submission's batch metadata, and the entries finished so far."""

    def __init__(self, folder: Path, result: BatchResult, emit: OnEvent, total: int, previous: Previous) -> None:
        self.folder, self.result, self.emit, self.total, self.previous = folder, result, emit, total, previous
        self.meta: dict[str, dict[str, Any]] = {}
        self.finished: dict[str, dict[str, Any]] = {}

    def plan(self, submissions: list[Submission], students: dict[str, Student], asked: _Asked) -> list[Task]:
        """Keep what is unchanged since the last run; the rest, as tasks for a backend."""
        tasks = []
        for submission in submissions:
            student = students.get(submission.id)
            rubric = asked.rubric.with_student_name(student.name) if student and student.name else asked.rubric
            meta = self.meta[submission.id] = {
                "source": submission.source_name, "kind": submission.kind, "folder": self.folder.resolve().name,
                "content_hash": content_hash(submission), "grading_key": grading_key(rubric, asked.effective),
                "student": student.to_dict() if student else None,
                "lms": lms_meta(submission.lms) if submission.lms else None,
            }
            before = None if asked.regrade else self.previous.unchanged(submission, meta)
            if before:
                _who(before, meta)
                _present_as(before, rubric)
                self.finished[submission.id] = before
                self.result.unchanged.append(submission.id)
                self.emit(BatchEvent("unchanged", submission.id, entry=before, done=len(self.finished),
                                     total=self.total))
                continue
            tasks.append(Task(submission, rubric, asked.mode, asked.limits, meta["content_hash"], meta["grading_key"]))
            self.emit(BatchEvent("queued", submission.id, total=self.total))
        return tasks

    def with_total(self, event: BatchEvent) -> None:
        """A backend's event, passed on with the batch's total (a backend knows only its own tasks)."""
        self.emit(dataclasses.replace(event, total=self.total))

    def collect(self, graded: Graded) -> None:
        name, entry = graded.task.submission.id, graded.entry
        meta = self.meta[name]
        _who(entry, meta)
        entry.setdefault("error", None)
        entry["batch"] = {**{key: value for key, value in meta.items() if key not in _WHO}, **graded.batch,
                          "graded_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        self.finished[name] = entry
        self.result.graded.append(name)
        self.emit(BatchEvent("done", name, entry=entry, done=len(self.finished), total=self.total))

    def keep_last_grades(self, tasks: list[Task]) -> None:
        """A submission stopped before grading keeps the last grade there was, if any."""
        for task in tasks:
            before = self.previous.last_grade(task.submission)
            if task.submission.id in self.result.stopped and before:
                self.finished[task.submission.id] = before

    def write_results(self, path: Path) -> None:
        """results.json as it stands now, so a run that dies keeps what it finished."""
        gradebook.write_results_json(self.entries(), path)

    def entries(self) -> list[dict[str, Any]]:
        """Every finished entry by name, then one per roster student who submitted nothing."""
        missing: list[dict[str, Any]] = [
            {"submission": None, "missing": True, "student": student.to_dict(), "score": None, "max_score": None,
             "passed": False, "checks": [], "policy": []} for student in self.result.missing]
        return [self.finished[name] for name in sorted(self.finished, key=str.casefold)] + missing
