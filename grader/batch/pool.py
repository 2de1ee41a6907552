"""The local backend: every submission graded in a worker process of its own on this machine.

``grade()`` runs pytest in-process and is not thread-safe, so each grading runs in a ``spawn``
process pool. Every grading already has its own Compose project, loopback ports, volumes
and image tags, so gradings running at once never see each other; only the build cache is
shared.

Stopping: on Ctrl-C the terminal sends SIGINT to the whole process group. A worker that is
grading stops at once and tears its stack down (``grade()`` does that on KeyboardInterrupt);
an idle worker takes no more work. The parent forwards one SIGINT to its workers too, in
case the signal reached it alone (``kill -INT``), then waits for every teardown, keeps what
finished and writes it. A second Ctrl-C during that wait is ignored.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from grader.batch.events import BatchEvent, Graded, OnEvent, OnResult, RunEnd, Task
from grader.batch.source import grade_source, not_graded

RESULTS_WRITE_INTERVAL_S = 5.0


def _in_main_thread() -> bool:
    # threading directly, not grader.grading.interrupts: `grader report` imports this module and
    # must not load the grading layer (tests/test_entries.py)
    return threading.current_thread() is threading.main_thread()


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


def _run_task(task: Task) -> dict[str, Any]:
    """Grade one submission in this worker; never raises for a student's or the machine's problem."""
    name = task.submission.id
    if _STATE["interrupted"] or (_STOP is not None and _STOP.is_set()):
        return {"id": name, "outcome": "stopped"}
    entry = None
    _STATE["grading"] = True
    try:
        _emit(name, "starting")
        entry = _grade_or_report_bug(task)
    except KeyboardInterrupt:
        pass
    finally:
        _STATE["grading"] = False
    if entry is None:
        return {"id": name, "outcome": "stopped"}
    return {"id": name, "outcome": "graded", "entry": entry}


def _grade_or_report_bug(task: Task) -> dict[str, Any]:
    try:
        return grade_source(task.submission, task.rubric, task.mode, limits=task.limits,
                            on_phase=lambda phase: _emit(task.submission.id, phase))
    except Exception as exc:  # noqa: BLE001 - a grader bug must not stop the class
        where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        at = f" at {Path(where.filename).name}:{where.lineno}" if where else ""
        return not_graded(task.submission, task.rubric, error=f"grader bug: {type(exc).__name__}: {exc}{at}")


# The parent ------------------------------------------------------------------------------------------

class LocalPool:
    """Grade tasks in ``jobs`` worker processes; ``checkpoint()`` (writing results.json) runs every few seconds."""

    def __init__(self, jobs: int, checkpoint: Callable[[], None] | None = None) -> None:
        self.jobs = jobs
        self.checkpoint = checkpoint or (lambda: None)

    def run(self, tasks: Sequence[Task], on_event: OnEvent, on_result: OnResult) -> RunEnd:
        run = _PoolRun(self.jobs, on_event, on_result)
        previous_sigint = signal.getsignal(signal.SIGINT)
        last_write = time.monotonic()
        try:
            run.submit_all(tasks)
            while run.pending:
                try:
                    finished = run.step()
                    due = time.monotonic() - last_write > RESULTS_WRITE_INTERVAL_S
                    if finished and due and not run.end.interrupted:
                        self.checkpoint()
                        last_write = time.monotonic()
                except KeyboardInterrupt:  # Ctrl-C, or SIGTERM turned into one
                    run.begin_stop()
        finally:
            run.close()
            if _in_main_thread():
                signal.signal(signal.SIGINT, previous_sigint)
        return run.end


class _PoolRun:
    """One run of the pool: its executor, the tasks still pending, and how it is ending."""

    def __init__(self, jobs: int, on_event: OnEvent, on_result: OnResult) -> None:
        context = multiprocessing.get_context("spawn")
        self.events = context.Queue()
        self.stop = context.Event()
        self.executor = ProcessPoolExecutor(max_workers=jobs, mp_context=context,
                                            initializer=_worker_init, initargs=(self.events, self.stop))
        self.on_event, self.on_result = on_event, on_result
        self.pending: dict[Future[dict[str, Any]], Task] = {}
        self.template: dict[str, Any] | None = None  # a graded entry: its checks make a crash's "not graded"
        self.end = RunEnd()

    def submit_all(self, tasks: Sequence[Task]) -> None:
        try:
            for task in tasks:
                self.pending[self.executor.submit(_run_task, task)] = task
        except KeyboardInterrupt:
            self.begin_stop()

    def step(self) -> bool:
        """Wait a moment for gradings to finish and settle those that did; whether any did."""
        done, _ = wait(list(self.pending), timeout=0.2, return_when=FIRST_COMPLETED)
        self.drain()
        for future in done:
            if future in self.pending:
                self.settle(future, self.pending[future])
                self.pending.pop(future, None)
        return bool(done)

    def drain(self) -> None:
        while True:
            try:
                name, phase = self.events.get_nowait()
            except Exception:  # noqa: BLE001 - queue.Empty, or the queue is gone
                return
            self.on_event(BatchEvent("phase", name, phase=phase))

    def settle(self, future: Future[dict[str, Any]], task: Task) -> None:
        try:
            outcome = future.result()
        except BrokenProcessPool as exc:
            outcome = {"outcome": "crashed", "error": f"the grading process died ({exc})"}
        except Exception as exc:  # noqa: BLE001 - whatever the pool raised, this submission's result says it
            outcome = {"outcome": "crashed", "error": f"grader bug: {type(exc).__name__}: {exc}"}
        if outcome["outcome"] == "graded":
            self.template = self.template or outcome["entry"]
            self.on_result(Graded(task, outcome["entry"]))
        elif outcome["outcome"] == "crashed" and not self.end.interrupted:
            error = outcome["error"] + "; run `grader clean`, then the batch again"
            self.on_result(Graded(task, not_graded(task.submission, task.rubric, error=error, template=self.template)))
        else:
            self.mark_stopped(task.submission.id)
            self.begin_stop()  # a worker was stopped (Ctrl-C reached it): the whole batch stops

    def mark_stopped(self, name: str) -> None:
        self.end.stopped.append(name)
        self.on_event(BatchEvent("stopped", name))

    def begin_stop(self) -> None:
        """Take no more work, make every worker hear the stop, and let running gradings tear down."""
        if self.end.interrupted:
            return
        self.end.interrupted = True
        if _in_main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # while workers tear down, a second Ctrl-C waits
        self.stop.set()
        for future in self.pending:
            future.cancel()
        self.on_event(BatchEvent("stopping"))
        self.signal_workers()
        for future in [future for future in self.pending if future.cancelled()]:
            self.mark_stopped(self.pending.pop(future).submission.id)

    def signal_workers(self) -> None:
        """Make sure every worker heard the stop (Ctrl-C in a terminal reaches them already; kill -INT does not)."""
        processes = getattr(self.executor, "_processes", None) or {}
        for process in list(processes.values()):
            try:
                if process.pid and process.is_alive():
                    os.kill(process.pid, signal.SIGINT)
            except (OSError, ValueError):
                pass

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.drain()
        self.events.close()
        self.events.join_thread()
