"""The worker's side (`grader worker`): grade the tasks of a queued batch, and keep the host clean.

Every grading runs in a Celery pool process; Celery kills those with SIGKILL when the worker's
main process dies, so a killed worker leaves its stacks behind, owned by a process that is gone.
A *sweeper* process beside each worker removes such stacks (the `grader clean` logic) when the
worker starts and every ``GRADER_QUEUE_SWEEP_INTERVAL`` seconds (20), whether the worker is busy
or idle; when the worker's main process dies, its own sweeper sweeps once more before it ends.
It never touches the stacks of live processes or of other hosts (grader/docker/cleanup.py).
"""
from __future__ import annotations

import base64
import multiprocessing
import os
import signal
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

from celery import Celery
from celery.exceptions import Ignore

from grader.batch.discovery import Submission
from grader.batch.queue.config import (
    QUEUE_NAME,
    TASK_NAME,
    first_id_of,
    make_app,
    queue_secret,
    sent_attempt,
)
from grader.batch.queue.liveness import beating
from grader.batch.queue.payload import check_payload, rubric_from_dict
from grader.batch.source import grade_source
from grader.errors import GraderError
from grader.submission.workspace import WORKSPACE_PREFIX

SWEEP_INTERVAL_ENV = "GRADER_QUEUE_SWEEP_INTERVAL"
SWEEP_INTERVAL_S = 20.0
ORPHAN_SWEEPS = 2


def grade_task(task: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """The Celery task: unpack the submission, grade it with the local engine, return its result."""
    check_payload(payload, queue_secret(task.app.conf.broker_url or ""))
    if superseded(task.app, task.request.id):  # a lost attempt delivered again: its regrade runs or ran
        task.backend.mark_as_revoked(task.request.id, reason="superseded by a regrade", request=task.request)
        raise Ignore()
    worker, tid, name = f"{socket.gethostname()}:{os.getpid()}", task.request.id, str(payload["name"])

    def beat(count: int) -> None:  # on the beat thread, which has no Celery request: by task id
        task.backend.store_result(tid, {"worker": worker, "beat": count}, "STARTED")

    # The folder is named like a workspace (prefix + pid): should this process be killed, sweeps remove it.
    with beating(beat), tempfile.TemporaryDirectory(prefix=f"{WORKSPACE_PREFIX}{os.getpid()}-queue-") as folder:
        archive = Path(folder) / "submission.zip"
        archive.write_bytes(base64.b64decode(payload["archive"]))
        rubric, mode = rubric_from_dict(payload["rubric"]), str(payload["mode"])
        entry = grade_source(Submission(name, archive, "zip"), rubric, mode)
    entry["worker"] = worker
    return entry


def superseded(app: Celery, tid: str) -> bool:
    """Whether the coordinator sent this submission again under another attempt's id.

    Revoking the lost attempt tells only the workers running then; this also covers a worker
    started later that gets the lost attempt once the broker's visibility timeout restores it."""
    text = sent_attempt(app, first_id_of(tid))
    return first_id_of(text) == first_id_of(tid) and text != tid


# Sweeping ---------------------------------------------------------------------------------------------

def sweep_orphans() -> None:
    """Remove what killed gradings on this host left: nothing else will ever tear them down."""
    from grader.docker.cleanup import clean

    try:
        clean()
    except GraderError:
        pass  # no engine right now: the next sweep tries again, and gradings report the engine


def sweep_interval() -> float:
    return float(os.environ.get(SWEEP_INTERVAL_ENV, SWEEP_INTERVAL_S))


def _sweep_beside(parent: int, interval_s: float) -> None:
    """The sweeper process: sweep now and every ``interval_s`` while ``parent`` lives, then twice
    more (its pool processes died with it; Compose commands they started may still create things)."""
    # Ctrl-C reaches the whole process group: the worker's warm shutdown ends this process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while os.getppid() == parent:
        sweep_orphans()
        deadline = time.monotonic() + interval_s
        while os.getppid() == parent and time.monotonic() < deadline:
            time.sleep(0.5)
    for sweep in range(ORPHAN_SWEEPS):
        time.sleep(interval_s if sweep else 0.5)
        sweep_orphans()


def start_sweeper() -> multiprocessing.process.BaseProcess:
    """The sweeper, as a fresh interpreter (spawn): forking Celery's main process once it runs
    threads could copy a held lock, and sweeping in its event loop would delay its heartbeats."""
    process = multiprocessing.get_context("spawn").Process(
        target=_sweep_beside, args=(os.getpid(), sweep_interval()), name="grader-sweeper", daemon=True)
    process.start()
    return process


def run_worker(broker_url: str, concurrency: int, loglevel: str = "INFO") -> None:
    app = make_app(broker_url)
    app.task(name=TASK_NAME, bind=True)(grade_task)
    sweeper = start_sweeper()  # its first sweep: what a killed worker on this host left
    try:
        app.worker_main(["worker", "--concurrency", str(concurrency), "--loglevel", loglevel, "--pool", "prefork",
                         "--queues", QUEUE_NAME, "--without-gossip", "--without-mingle",
                         "--hostname", f"grader-{socket.gethostname()}-{os.getpid()}@%h"])
    finally:
        sweeper.terminate()
        sweeper.join(timeout=10)
