"""The coordinator's side of a queued batch (`grader batch DIR --queue URL`): :class:`CeleryQueue`,
the queue backend (grader/batch/backend.py).

It sends every submission (or reuses what the backend already holds), follows each to its
result, and hands the submissions of a lost worker to another worker:

- a running task's STARTED state names its worker and carries the grading's beat, and
  :class:`~grader.batch.queue.liveness.Beats` says when the beat stopped;
- the lost attempt is revoked and the submission sent again as the next attempt, under its own
  task id and ahead of the queue; only the current attempt's result is ever taken, so a late
  result from a worker thought dead is never counted twice;
- a submission whose workers were lost ``MAX_ATTEMPTS`` times, or that no worker finishes in
  time, is reported as `error` with the reason.
"""
from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from celery import Celery

from grader.batch.events import BatchEvent, Graded, OnEvent, OnResult, RunEnd, Task
from grader.batch.queue.config import (
    FIRST_PRIORITY,
    QUEUE_NAME,
    REGRADE_PRIORITY,
    SENT_KEY,
    SENT_TTL_S,
    TASK_NAME,
    QueueError,
    attempt_id,
    attempt_of,
    first_id_of,
    make_app,
    queue_secret,
    sent_attempt,
    task_id,
    visibility_timeout,
)
from grader.batch.queue.liveness import Beats
from grader.batch.queue.payload import make_payload, task_archive
from grader.batch.source import not_graded
from grader.rubric import Rubric

MAX_ATTEMPTS = 3
_SENT_PHASES = {"sent": "queued", "waiting": "queued (sent before)", "done": "done before"}


@dataclass
class QueuedTask:
    name: str
    first_id: str
    task_id: str                 # the current attempt's
    sent_at: float
    started_at: float | None = None
    worker: str | None = None    # host:pid of the process grading it
    beat: Any = None             # what its last STARTED state said (see grader/batch/queue/liveness.py)
    announced: str | None = None
    lost: list[dict[str, Any]] = field(default_factory=list)


def task_limit(rubric: Rubric) -> float:
    """How long after a worker picks a task up the coordinator waits: a grading's own limit,
    plus one redelivery (the visibility timeout) should its worker die unnoticed."""
    return rubric.limits.submission_timeout_s + visibility_timeout(rubric.limits) + 120


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


# Sending ----------------------------------------------------------------------------------------------

def send(app: Celery, tid: str, payload: dict[str, Any]) -> None:
    priority = FIRST_PRIORITY if attempt_of(tid) == 0 else REGRADE_PRIORITY
    app.send_task(TASK_NAME, args=[payload], task_id=tid, queue=QUEUE_NAME, priority=priority)


def current_attempt(app: Celery, first_id: str) -> str:
    text = sent_attempt(app, first_id)
    return text if first_id_of(text) == first_id else first_id  # "1": marked by an older grader


def send_or_reuse(app: Celery, first_id: str, payload_factory: Callable[[], dict[str, Any]]) -> tuple[str, str]:
    """How the submission stands, and its current attempt's id: 'done' when the backend holds its
    result; 'waiting' when a coordinator sent it before (queued or running); else 'sent' now."""
    first_time = bool(app.backend.client.set(SENT_KEY + first_id, first_id, nx=True, ex=SENT_TTL_S))
    current = first_id if first_time else current_attempt(app, first_id)
    state = app.AsyncResult(current).state
    if state == "SUCCESS":
        return "done", current
    if state in ("STARTED", "RETRY") or (not first_time and state not in ("FAILURE", "REVOKED")):
        return "waiting", current
    send(app, current, payload_factory())
    return "sent", current


def forget_sent(app: Celery, first_id: str) -> None:
    app.backend.client.delete(SENT_KEY + first_id)


# Polling ----------------------------------------------------------------------------------------------

def poll_all(app: Celery, waiting: list[QueuedTask], chunk: int = 500) -> dict[str, tuple[str, Any]]:
    """The state of every waiting task's current attempt in a few MGETs (not one round trip per
    task: at 10,000 submissions, per-task polling would be the coordinator's bottleneck).

    Per task name: ('done', entry) | ('failed', {'error'}) | ('started', None) | ('queued', None).
    """
    states: dict[str, tuple[str, Any]] = {}
    client = app.backend.client
    for start in range(0, len(waiting), chunk):
        part = waiting[start:start + chunk]
        raw = client.mget([app.backend.get_key_for_task(queued.task_id) for queued in part])
        for queued, value in zip(part, raw):
            meta = app.backend.decode_result(value) if value else {"status": "PENDING"}
            states[queued.name] = _state(queued, meta)
    return states


def _state(queued: QueuedTask, meta: dict[str, Any]) -> tuple[str, Any]:
    status, result = meta.get("status"), meta.get("result")
    if status == "SUCCESS" and isinstance(result, dict):
        return "done", result
    if status in ("FAILURE", "REVOKED", "REJECTED"):
        reason = result.get("exc_message") if isinstance(result, dict) else result
        if isinstance(reason, (list, tuple)):
            reason = " ".join(map(str, reason))
        return "failed", {"error": f"the worker could not grade it: {reason}"}
    if status == "STARTED":
        info = result if isinstance(result, dict) else {}  # Celery's {hostname, pid}, then the task's own
        queued.beat = info.get("beat")
        queued.worker = info.get("worker") or (f"{info['hostname']}:{info.get('pid')}" if info.get("hostname")
                                               else queued.worker)
        if queued.started_at is None:
            queued.started_at = time.monotonic()
        return "started", None
    return "queued", None


# Following a batch ----------------------------------------------------------------------------------

class QueuedBatch:
    """The submissions of one batch on the queue, from sending to their results."""

    def __init__(self, app: Celery, tasks: Sequence[Task], on_event: OnEvent, on_result: OnResult) -> None:
        self.app, self.on_event, self.on_result = app, on_event, on_result
        self.secret = queue_secret(app.conf.broker_url or "")
        self.tasks = {task.submission.id: task for task in tasks}
        self.waiting: dict[str, QueuedTask] = {}
        self.lost: dict[str, list[dict[str, Any]]] = {}  # each submission's lost attempts: its batch's "regraded"

    def payload(self, name: str) -> dict[str, Any]:
        task = self.tasks[name]
        return make_payload(name, task_archive(task.submission), task.rubric, task.mode, self.secret)

    def send_all(self) -> None:
        for name, task in self.tasks.items():
            first_id = task_id(task.content_hash, task.grading_key)
            try:
                how, current = send_or_reuse(self.app, first_id, functools.partial(self.payload, name))
            except QueueError as exc:
                self.fail(name, str(exc))
                continue
            self.waiting[name] = QueuedTask(name, first_id, current, time.monotonic())
            self.on_event(BatchEvent("phase", name, phase=_SENT_PHASES[how]))

    def step(self, beats: Beats) -> None:
        states = poll_all(self.app, list(self.waiting.values()))
        for name, queued in list(self.waiting.items()):
            state, data = states[name]
            if state == "done":
                entry = dict(data)
                worker = entry.pop("worker", queued.worker)
                self.waiting.pop(name)
                self.on_result(Graded(self.tasks[name], entry, {**self.regraded(name), "worker": worker}))
            elif state == "failed":
                self.give_up(queued, data["error"])
            elif state == "started":
                self.follow_started(queued, beats)

    def regraded(self, name: str) -> dict[str, Any]:
        return {"regraded": self.lost[name]} if name in self.lost else {}

    def follow_started(self, queued: QueuedTask, beats: Beats) -> None:
        if queued.worker != queued.announced:
            queued.announced = queued.worker
            self.announce(queued)
        reason = beats.lost(queued.task_id, queued.beat)
        limit = task_limit(self.tasks[queued.name].rubric)
        if reason:
            self.regrade(queued, reason)
        elif time.monotonic() - (queued.started_at or time.monotonic()) > limit:
            self.give_up(queued, f"no worker finished it within {limit:g} s of picking it up")

    def announce(self, queued: QueuedTask) -> None:
        if not queued.lost:
            self.on_event(BatchEvent("phase", queued.name, phase=f"grading on {queued.worker}"))
            return
        last = queued.lost[-1]
        last.update(taken_over_by=queued.worker, regrade_started_at=_now())
        self.on_event(BatchEvent("regrade", queued.name, phase=f"regrading on {queued.worker} "
                                 f"(worker {last['worker']} was lost)"))

    def regrade(self, queued: QueuedTask, reason: str) -> None:
        """Revoke the lost attempt and send the next one, ahead of the queue."""
        lost = {"worker": queued.worker, "reason": reason, "lost_at": _now()}
        queued.lost.append(lost)
        self.lost[queued.name] = queued.lost
        self.app.control.revoke(queued.task_id)
        if len(queued.lost) >= MAX_ATTEMPTS:
            self.give_up(queued, f"its worker was lost {len(queued.lost)} times (last: {queued.worker}, {reason})")
            return
        new_id = attempt_id(queued.first_id, attempt_of(queued.task_id) + 1)
        self.app.backend.client.set(SENT_KEY + queued.first_id, new_id, ex=SENT_TTL_S)  # before: see superseded()
        try:
            send(self.app, new_id, self.payload(queued.name))
        except QueueError as exc:
            self.give_up(queued, str(exc))
            return
        self.on_event(BatchEvent("regrade", queued.name, phase=f"worker {queued.worker} was lost ({reason}); "
                                 "sent again, ahead of the queue"))
        queued.task_id, queued.started_at, queued.worker, queued.beat, queued.announced = new_id, None, None, None, None

    def fail(self, name: str, error: str) -> None:
        task = self.tasks[name]
        self.on_result(Graded(task, not_graded(task.submission, task.rubric, error=error), self.regraded(name)))

    def give_up(self, queued: QueuedTask, error: str) -> None:
        forget_sent(self.app, queued.first_id)
        self.waiting.pop(queued.name, None)
        self.fail(queued.name, error)


class CeleryQueue:
    """The queue backend: Celery workers on a Redis broker grade the tasks (see grader/batch/queue/__init__.py)."""

    def __init__(self, broker_url: str, wait_limit_s: float | None = None, poll_s: float = 0.5) -> None:
        self.broker_url, self.wait_limit_s, self.poll_s = broker_url, wait_limit_s, poll_s

    def run(self, tasks: Sequence[Task], on_event: OnEvent, on_result: OnResult) -> RunEnd:
        """Send each task (or reuse its result), then collect results as workers finish them."""
        app = make_app(self.broker_url)
        batch = QueuedBatch(app, tasks, on_event, on_result)
        limit = self.wait_limit_s if self.wait_limit_s is not None else max(3600.0, 4 * task_limit(tasks[0].rubric))
        end = RunEnd()
        try:
            batch.send_all()
            self.follow(batch, limit)
        except KeyboardInterrupt:
            # Stop waiting, not grading: what workers finish stays in the backend for the next run.
            end.interrupted = True
            for name in batch.waiting:
                end.stopped.append(name)
                on_event(BatchEvent("stopped", name))
        finally:
            app.close()
        return end

    def follow(self, batch: QueuedBatch, limit: float) -> None:
        beats = Beats()
        deadline = time.monotonic() + limit
        while batch.waiting:
            batch.step(beats)
            for queued in list(batch.waiting.values()) if time.monotonic() > deadline else []:
                batch.give_up(queued, f"no worker finished it within the batch's wait limit of {limit:g} s "
                              "(are workers running? `grader worker --broker URL`)")
            time.sleep(self.poll_s if batch.waiting else 0)
