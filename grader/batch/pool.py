"""Grading a whole class: every sub-folder or ``.zip`` of a folder, in parallel.

``grade_batch()`` is the library entry point; ``grader batch`` (grader/cli/batch.py) is a
thin layer over it. Each submission is graded by :func:`grader.grading.engine.grade` in a worker
process of its own (a ``spawn`` process pool): ``grade()`` runs pytest in-process and is
not thread-safe. Every grading already has its own Compose project, loopback ports,
volumes and image tags, so gradings running at once never see each other; only the build
cache is shared.

Stopping: on Ctrl-C the terminal sends SIGINT to the whole process group. A worker that is
grading stops at once and tears its stack down (``grade()`` does that on KeyboardInterrupt);
an idle worker takes no more work. The parent forwards one SIGINT to its workers too, in
case the signal reached it alone (``kill -INT``), then waits for every teardown, keeps what
finished and writes it. A second Ctrl-C during that wait is ignored.

Re-running: a submission whose files hash the same as when results.json was written, graded
with the same rubric, mode and grader version, is not graded again unless ``regrade``.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import signal
import tempfile
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from grader.report import gradebook
from grader.submission.archive import ArchiveError, ArchiveLimits, extracted
from grader.errors import EnvironmentProblem
from grader.batch.roster import Roster, Student
from grader.rubric import Rubric
from grader.version import __version__

IGNORED_NAMES = {"__MACOSX", "__pycache__", "node_modules"}
RESULTS_WRITE_INTERVAL_S = 5.0
_HASH_CHUNK = 1024 * 1024


# What is in the batch folder ----------------------------------------------------------------------

@dataclass(frozen=True)
class Submission:
    id: str        # folder name, or the zip's name without .zip
    source: Path   # the folder or the zip file
    kind: str      # "folder" or "zip"

    @property
    def source_name(self) -> str:
        return self.source.name


def discover(folder: Path, exclude: tuple[Path, ...] = ()) -> list[Submission]:
    """Every sub-folder and ``.zip`` file of ``folder`` (hidden ones and ``exclude`` left out), sorted by name."""
    folder = Path(folder)
    excluded = {path.resolve() for path in exclude}
    entries = sorted(folder.iterdir(), key=lambda path: path.name.casefold())
    folders = [path for path in entries if path.is_dir() and not path.is_symlink()
               and not path.name.startswith(".") and path.name not in IGNORED_NAMES and path.resolve() not in excluded]
    zips = [path for path in entries if path.is_file() and not path.is_symlink()
            and path.suffix.lower() == ".zip" and not path.name.startswith(".")]
    taken = {path.name.casefold() for path in folders}
    found = [Submission(path.name, path, "folder") for path in folders]
    for path in zips:
        stem = path.name[:-4]
        name = stem if stem and stem.casefold() not in taken else path.name
        taken.add(name.casefold())
        found.append(Submission(name, path, "zip"))
    return sorted(found, key=lambda submission: submission.id.casefold())


def content_hash(submission: Submission) -> str:
    """sha256 of everything submitted: each file's path, kind and bytes (a link's target, not what it points to)."""
    digest = hashlib.sha256()
    if submission.kind == "zip":
        digest.update(b"zip\0")
        _hash_file(digest, submission.source)
        return digest.hexdigest()
    root = submission.source
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        here = Path(dirpath)
        for name in sorted(filenames + [d for d in dirnames if (here / d).is_symlink()]):
            path = here / name
            relative = path.relative_to(root).as_posix()
            if path.is_symlink():
                digest.update(f"L\0{relative}\0{os.readlink(path)}\0".encode("utf-8", "surrogateescape"))
            elif path.is_file():
                digest.update(f"F\0{relative}\0{path.stat().st_mode & 0o111:o}\0".encode("utf-8", "surrogateescape"))
                try:
                    _hash_file(digest, path)
                except OSError as exc:
                    digest.update(f"unreadable: {exc.strerror}".encode())
            else:
                digest.update(f"O\0{relative}\0".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _hash_file(digest: Any, path: Path) -> None:
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)


def grading_key(rubric: Rubric, mode: str) -> str:
    """Everything besides the files that decides a grade: the rubric (with the roster name), the mode, the grader."""
    text = json.dumps({"rubric": rubric.to_dict(), "mode": mode, "grader": __version__}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def available_memory_bytes() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def default_jobs() -> int:
    """What the machine can hold: one grading per CPU and per GiB of available memory
    (a booted stack may use up to 2 × 512 MiB under the default limits)."""
    memory = available_memory_bytes()
    by_memory = memory // 2**30 if memory else cpu_count()
    return max(1, min(cpu_count(), int(by_memory)))


# Events and results ---------------------------------------------------------------------------------

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


@dataclass
class BatchResult:
    entries: list[dict[str, Any]]                  # what results.json holds, missing students included
    graded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    missing: list[Student] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    duplicates: dict[str, list[str]] = field(default_factory=dict)
    interrupted: bool = False
    mode: str = "full"
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


@dataclass(frozen=True)
class _Task:
    submission: Submission
    rubric: Rubric
    mode: str
    limits: ArchiveLimits


# The worker process -------------------------------------------------------------------------------

_EVENTS: Any = None
_STOP: Any = None
_STATE = {"grading": False, "interrupted": False}


def _worker_init(events: Any, stop: Any) -> None:
    global _EVENTS, _STOP
    _EVENTS, _STOP = events, stop
    signal.signal(signal.SIGINT, _on_stop_signal)
    signal.signal(signal.SIGTERM, _on_stop_signal)
    # Checks may print; the parent owns the terminal (its progress display).
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)


def _on_stop_signal(signum: int, frame: Any) -> None:
    """The first SIGINT/SIGTERM stops the grading under way (it tears down); any later one, or one
    that comes while idle, only keeps this worker from starting more work."""
    first = not _STATE["interrupted"]
    _STATE["interrupted"] = True
    if first and _STATE["grading"]:
        raise KeyboardInterrupt


def _emit(submission: str, phase: str) -> None:
    try:
        _EVENTS.put((submission, phase))
    except Exception:  # noqa: BLE001 - progress is best effort
        pass


def _run_task(task: _Task) -> dict[str, Any]:
    """Grade one submission in this worker; never raises for a student's or the machine's problem."""
    name = task.submission.id
    if _STATE["interrupted"] or (_STOP is not None and _STOP.is_set()):
        return {"id": name, "outcome": "stopped"}
    entry = None
    _STATE["grading"] = True
    try:
        _emit(name, "starting")
        entry = _grade_one(task)
    except KeyboardInterrupt:
        pass
    finally:
        _STATE["grading"] = False
    if entry is None:
        return {"id": name, "outcome": "stopped"}
    return {"id": name, "outcome": "graded", "entry": entry}


def _grade_one(task: _Task) -> dict[str, Any]:
    from grader.grading.engine import grade

    submission = task.submission
    with ExitStack() as stack:
        path = submission.source
        if submission.kind == "zip":
            _emit(submission.id, "extracting")
            try:
                path = stack.enter_context(extracted(submission.source, submission.id, task.limits))
            except ArchiveError as exc:
                return not_graded(task.submission, task.rubric, refused=exc.message, hint=exc.hint)
        try:
            result = grade(path, mode=task.mode, rubric=task.rubric,
                           on_phase=lambda phase: _emit(submission.id, phase))
        except EnvironmentProblem as exc:
            return not_graded(task.submission, task.rubric, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - a grader bug must not stop the class
            where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
            at = f" at {Path(where.filename).name}:{where.lineno}" if where else ""
            return not_graded(task.submission, task.rubric, error=f"grader bug: {type(exc).__name__}: {exc}{at}")
    entry = result.to_dict()
    entry["submission"] = submission.id
    return entry


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
    message = "not graded: the zip was refused" if refused else f"not graded: {error}"
    for check in entry.get("checks") or []:
        check.update(status=status, points=0, message=message, hint=None, location=None,
                     expected=None, found=None, details=None, duration_s=0)
    entry.update(
        submission=submission.id, score=0, passed=False, grader_version=__version__,
        started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"), duration_s=0,
        mode="static" if refused else entry.get("mode", "full"), notice=None, compose_file=None,
        services={"redis": None, "web": None},
        policy=[{"rule": "unsafe-archive", "message": refused + (f" {hint}" if hint else ""), "location": None,
                 "hint": None}]
        if refused else [],
        error=error,
    )
    return entry


# The batch ---------------------------------------------------------------------------------------

def _effective_mode(mode: str) -> tuple[str, str | None]:
    if mode == "static":
        return "static", None
    from grader.docker import commands as docker
    from grader.grading.engine import NO_ENGINE_NOTICE
    from grader.errors import DockerUnavailable

    try:
        docker.engine_version()
    except DockerUnavailable as exc:
        return "static", f"{NO_ENGINE_NOTICE} ({exc})"
    return "full", None


def _previous(out: Path) -> dict[str, dict[str, Any]]:
    path = out / gradebook.RESULTS_NAME
    if not path.is_file():
        return {}
    try:
        entries = gradebook.load_results_json(path)
    except gradebook.ResultsFileError:
        return {}
    return {str(entry["batch"]["source"]): entry for entry in entries
            if not gradebook.is_missing(entry) and isinstance(entry.get("batch"), dict) and entry["batch"].get("source")}


def grade_batch(folder: str | os.PathLike[str], out: str | os.PathLike[str] = "reports", jobs: int | None = None,
                roster: Roster | str | os.PathLike[str] | None = None, regrade: bool = False,
                rubric: Rubric | None = None, on_event: Callable[[BatchEvent], None] | None = None, *,
                mode: str = "auto", archive_limits: ArchiveLimits = ArchiveLimits(),
                title: str | None = None, queue: str | None = None) -> BatchResult:
    """Grade every submission in ``folder``; write the reports, index.html, grades.csv and results.json to ``out``."""
    if mode not in ("auto", "static"):
        raise ValueError("batch mode must be 'auto' or 'static'")
    started = time.monotonic()
    folder, out = Path(folder), Path(out)
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is not a folder")
    rubric = rubric or Rubric()
    emit = on_event or (lambda event: None)
    if roster is not None and not isinstance(roster, Roster):
        roster = Roster.load(Path(roster))
    submissions = discover(folder, exclude=(out,))
    assignment = roster.assign([submission.id for submission in submissions]) if roster else None
    students = assignment.students if assignment else {}
    # With a queue, the workers' engines grade: this machine needs none.
    effective, notice = ("full" if mode == "auto" else "static", None) if queue else _effective_mode(mode)
    previous = _previous(out)
    if notice:
        emit(BatchEvent("notice", phase=notice))

    result = BatchResult(entries=[], mode=effective, notice=notice,
                         missing=list(assignment.missing) if assignment else [],
                         unmatched=list(assignment.unmatched) if assignment else [],
                         duplicates=dict(assignment.duplicates) if assignment else {})
    finished: dict[str, dict[str, Any]] = {}
    tasks: list[_Task] = []
    meta: dict[str, dict[str, Any]] = {}
    total = len(submissions)
    for submission in submissions:
        student = students.get(submission.id)
        own_rubric = rubric.with_student_name(student.name) if student and student.name else rubric
        meta[submission.id] = {
            "source": submission.source_name, "kind": submission.kind, "folder": folder.resolve().name,
            "content_hash": content_hash(submission), "grading_key": grading_key(own_rubric, effective),
            "student": student.to_dict() if student else None,
        }
        before = previous.get(submission.source_name)
        if before and not regrade and before["batch"].get("content_hash") == meta[submission.id]["content_hash"] \
                and before["batch"].get("grading_key") == meta[submission.id]["grading_key"] \
                and before.get("submission") == submission.id and not gradebook.is_errored(before):
            before["student"] = meta[submission.id]["student"]
            finished[submission.id] = before
            result.unchanged.append(submission.id)
            emit(BatchEvent("unchanged", submission.id, entry=before, done=len(finished), total=total))
            continue
        tasks.append(_Task(submission, own_rubric, mode, archive_limits))
        emit(BatchEvent("queued", submission.id, total=total))

    result.jobs = max(1, min(jobs or default_jobs(), len(tasks) or 1))
    notes = {"title": title or f"{folder.resolve().name}: class results",
             "roster": roster.source if roster else None, "duplicates": result.duplicates}

    def entries_now() -> list[dict[str, Any]]:
        missing = [{"submission": None, "missing": True, "student": student.to_dict(), "score": None,
                    "max_score": None, "passed": False, "checks": [], "policy": []} for student in result.missing]
        return [finished[name] for name in sorted(finished, key=str.casefold)] + missing

    def collect(name: str, entry: dict[str, Any]) -> None:
        entry["student"] = meta[name]["student"]
        entry.setdefault("error", None)
        entry["batch"] = {**{k: v for k, v in meta[name].items() if k != "student"},
                          "graded_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        finished[name] = entry
        result.graded.append(name)
        emit(BatchEvent("done", name, entry=entry, done=len(finished), total=total))

    if tasks and queue:
        from grader.batch.queue.coordinator import run_on_queue

        run_on_queue(queue, tasks, result, collect, emit, meta, total)
    elif tasks:
        _run_pool(tasks, result, collect, emit, out, entries_now, total)
    for task in tasks:  # stopped before grading: keep the last grade there was, if any
        before = previous.get(task.submission.source_name)
        if task.submission.id in result.stopped and before and before.get("submission") == task.submission.id:
            finished[task.submission.id] = before
    result.entries = entries_now()
    notes["stopped"] = result.stopped
    result.duration_s = time.monotonic() - started
    result.outputs = gradebook.render_outputs(result.entries, out, notes=notes)
    return result


def _run_pool(tasks: list[_Task], result: BatchResult, collect: Callable[[str, dict[str, Any]], None],
              emit: Callable[[BatchEvent], None], out: Path, entries_now: Callable[[], list[dict[str, Any]]],
              total: int) -> None:
    from grader.grading.interrupts import in_main_thread  # here: `grader report` imports this module, grades nothing

    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    stop = context.Event()
    executor = ProcessPoolExecutor(max_workers=result.jobs, mp_context=context,
                                   initializer=_worker_init, initargs=(events, stop))
    pending: dict[Future[dict[str, Any]], _Task] = {}
    last_write = time.monotonic()
    template: dict[str, Any] | None = None

    def drain() -> None:
        while True:
            try:
                name, phase = events.get_nowait()
            except Exception:  # noqa: BLE001 - queue.Empty, or the queue is gone
                return
            emit(BatchEvent("phase", name, phase=phase, total=total))

    def settle(future: Future[dict[str, Any]], task: _Task) -> None:
        nonlocal template
        name = task.submission.id
        try:
            outcome = future.result()
        except BrokenProcessPool as exc:
            outcome = {"outcome": "crashed", "error": f"the grading process died ({exc})"}
        except Exception as exc:  # noqa: BLE001
            outcome = {"outcome": "crashed", "error": f"grader bug: {type(exc).__name__}: {exc}"}
        if outcome["outcome"] == "graded":
            template = template or outcome["entry"]
            collect(name, outcome["entry"])
        elif outcome["outcome"] == "crashed" and not result.interrupted:
            collect(name, not_graded(task.submission, task.rubric, error=outcome["error"]
                                     + "; run `grader clean`, then the batch again", template=template))
        else:
            result.stopped.append(name)
            emit(BatchEvent("stopped", name, total=total))
            begin_stop()  # a worker was stopped (Ctrl-C reached it): the whole batch stops

    def begin_stop() -> None:
        """Take no more work, make every worker hear the stop, and let running gradings tear down."""
        if result.interrupted:
            return
        result.interrupted = True
        if in_main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # while workers tear down, a second Ctrl-C waits
        stop.set()
        for future in pending:
            future.cancel()
        emit(BatchEvent("stopping", total=total))
        _signal_workers(executor)
        for future in [future for future in pending if future.cancelled()]:
            name = pending.pop(future).submission.id
            result.stopped.append(name)
            emit(BatchEvent("stopped", name, total=total))

    def step() -> None:
        nonlocal last_write
        done, _ = wait(list(pending), timeout=0.2, return_when=FIRST_COMPLETED)
        drain()
        for future in done:
            if future in pending:
                settle(future, pending[future])
                pending.pop(future, None)
        if done and not result.interrupted and time.monotonic() - last_write > RESULTS_WRITE_INTERVAL_S:
            gradebook.write_results_json(entries_now(), out / gradebook.RESULTS_NAME)
            last_write = time.monotonic()

    previous_sigint = signal.getsignal(signal.SIGINT)
    try:
        try:
            for task in tasks:
                pending[executor.submit(_run_task, task)] = task
        except KeyboardInterrupt:
            begin_stop()
        while pending:
            try:
                step()
            except KeyboardInterrupt:  # Ctrl-C, or SIGTERM turned into one
                begin_stop()
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
        drain()
        events.close()
        events.join_thread()
        if in_main_thread():
            signal.signal(signal.SIGINT, previous_sigint)


def _signal_workers(executor: ProcessPoolExecutor) -> None:
    """Make sure every worker heard the stop (Ctrl-C in a terminal reaches them already; kill -INT does not)."""
    processes = getattr(executor, "_processes", None) or {}
    for process in list(processes.values()):
        try:
            if process.pid and process.is_alive():
                os.kill(process.pid, signal.SIGINT)
        except (OSError, ValueError):
            pass


def summary_counts(entries: list[dict[str, Any]]) -> dict[str, int]:
    counts = {"passed": 0, "failed": 0, "refused": 0, "error": 0, "missing": 0}
    for entry in entries:
        counts[gradebook.state(entry)] += 1
    return counts


__all__ = ["BatchEvent", "BatchResult", "Submission", "content_hash", "default_jobs", "discover", "grade_batch",
           "grading_key", "not_graded"]
