"""Grading across machines: Celery workers take submissions from a Redis broker.

The coordinator (`grader batch DIR --queue URL`) zips each submission into its task,
workers (`grader worker --broker URL`) grade with their own Docker engine and send the
result back through the result backend (the same Redis). Nothing is lost:

- tasks are acknowledged late and rejected when a worker dies, and the broker hands an
  unacknowledged task to another worker once its visibility timeout passes;
- each task's id is derived from the submission's content and the rubric, so a
  coordinator started again picks up results already in the backend instead of grading again;
- the coordinator stops waiting for a task no worker finishes in time and reports `error`.

Workers accept JSON only, run only this task, and check each payload's kind, version,
archive size and (when a secret is shared) its HMAC, so nothing but a grading of this
grader ever runs on them.
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import io
import json
import os
import socket
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

try:
    from celery import Celery
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError("grading on a queue needs Celery: pip install 'compose-grader[queue]'") from exc

from grader.archive import ArchiveError, ArchiveLimits, extracted
from grader.errors import GraderError, SubmissionError
from grader.rubric import CheckOverride, Expectations, Limits, Rubric

TASK_NAME = "compose_grader.grade"
PAYLOAD_KIND = "compose-grader/grade"
PAYLOAD_VERSION = 1
MAX_ARCHIVE_BYTES = 20 * 1024 * 1024
SECRET_ENV = "GRADER_QUEUE_SECRET"
VISIBILITY_ENV = "GRADER_QUEUE_VISIBILITY_TIMEOUT"
SENT_KEY = "compose-grader:sent:"


class QueueError(GraderError):
    """The queue cannot be used as asked (bad URL, archive over the cap, extra checks)."""


class PayloadRefused(GraderError):
    """A worker refuses a task that is not a grading of this grader; the task fails with this reason."""


# Configuration -----------------------------------------------------------------------------------

def visibility_timeout(rubric_limits: Limits = Limits()) -> int:
    """How long a task may stay unacknowledged before the broker hands it to another worker:
    longer than any grading may take, or a slow grading would be run twice."""
    default = int(rubric_limits.submission_timeout_s + 300)
    return int(os.environ.get(VISIBILITY_ENV, default))


def make_app(broker_url: str) -> Celery:
    """The Celery app for a broker URL (redis:// or rediss://; a password in it authenticates)."""
    scheme = urlparse(broker_url).scheme
    if scheme not in ("redis", "rediss"):
        raise QueueError(f"the queue must be a Redis URL (redis:// or rediss://), not {broker_url!r}")
    app = Celery("compose_grader", broker=broker_url, backend=broker_url)
    app.conf.update(
        task_serializer="json", result_serializer="json",
        accept_content=["json"], result_accept_content=["json"],  # never pickle: it would run code
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        task_track_started=True, result_extended=True, result_expires=14 * 24 * 3600,
        broker_transport_options={"visibility_timeout": visibility_timeout()},
        broker_connection_retry_on_startup=True, worker_hijack_root_logger=False,
        task_default_queue="compose-grader",
    )
    app.task(name=TASK_NAME, bind=True)(grade_task)
    return app


def queue_secret(broker_url: str) -> bytes | None:
    """The secret shared by coordinator and workers: GRADER_QUEUE_SECRET, else the broker password."""
    secret = os.environ.get(SECRET_ENV) or urlparse(broker_url).password
    return secret.encode() if secret else None


# Payloads -----------------------------------------------------------------------------------------

def rubric_to_dict(rubric: Rubric) -> dict[str, Any]:
    if rubric.extra_check_dirs:
        raise QueueError("extra_checks cannot travel to queue workers yet: install them on every worker, "
                         "or grade this rubric with a local batch")
    return {"expect": dataclasses.asdict(rubric.expect), "limits": dataclasses.asdict(rubric.limits),
            "checks": {key: dataclasses.asdict(value) for key, value in rubric.checks.items()},
            "allow": sorted(rubric.allowed_policy_rules)}


def rubric_from_dict(data: dict[str, Any]) -> Rubric:
    return Rubric(expect=Expectations(**data["expect"]), limits=Limits(**data["limits"]),
                  checks={key: CheckOverride(**value) for key, value in data["checks"].items()},
                  allowed_policy_rules=frozenset(data["allow"]))


def zip_folder(folder: Path, limit: int = MAX_ARCHIVE_BYTES) -> bytes:
    """The folder as zip bytes (symlinks kept as links, never followed), or QueueError over the cap."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder).as_posix()
            if path.is_symlink():
                info = zipfile.ZipInfo(relative)
                info.external_attr = 0o120777 << 16
                archive.writestr(info, os.readlink(path))
            elif path.is_file():
                archive.write(path, relative)
            if buffer.tell() > limit:
                raise QueueError(f"{folder.name} is larger than {limit // 2**20} MiB zipped; "
                                 "the queue carries submissions up to that size")
    return buffer.getvalue()


def submission_bytes(source: Path, limit: int = MAX_ARCHIVE_BYTES) -> bytes:
    if source.is_dir():
        return zip_folder(source, limit)
    if source.stat().st_size > limit:
        raise QueueError(f"{source.name} is larger than {limit // 2**20} MiB; the queue carries up to that size")
    return source.read_bytes()


def _sign(payload: dict[str, Any], secret: bytes | None) -> str | None:
    if secret is None:
        return None
    body = json.dumps({k: v for k, v in payload.items() if k != "signature"}, sort_keys=True).encode()
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def make_payload(name: str, archive: bytes, rubric: Rubric, mode: str, secret: bytes | None) -> dict[str, Any]:
    payload = {"kind": PAYLOAD_KIND, "version": PAYLOAD_VERSION, "name": name, "mode": mode,
               "rubric": rubric_to_dict(rubric), "archive": base64.b64encode(archive).decode()}
    payload["signature"] = _sign(payload, secret)
    return payload


def task_id(content_hash: str, grading_key: str) -> str:
    return f"grade-{content_hash[:24]}-{grading_key[:12]}"


# The worker's side ----------------------------------------------------------------------------------

def check_payload(payload: Any, secret: bytes | None) -> None:
    """Refuse anything that is not a grading task of this grader; the coordinator sees the reason."""
    if not isinstance(payload, dict) or payload.get("kind") != PAYLOAD_KIND:
        raise PayloadRefused("not a compose-grader grading task")
    if payload.get("version") != PAYLOAD_VERSION:
        raise PayloadRefused(f"payload version {payload.get('version')!r} is not {PAYLOAD_VERSION}: "
                             "run the same grader version on the coordinator and the workers")
    if secret is not None and not hmac.compare_digest(str(payload.get("signature")), _sign(payload, secret) or ""):
        raise PayloadRefused("bad signature: the coordinator does not share this worker's secret")
    if len(str(payload.get("archive", ""))) > MAX_ARCHIVE_BYTES * 4 // 3 + 4:
        raise PayloadRefused("archive over the size cap")


def grade_task(task: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """The Celery task: unpack the submission, grade it with the local engine, return its result."""
    check_payload(payload, queue_secret(task.app.conf.broker_url or ""))
    _sweep_orphans()
    worker = socket.gethostname() + f":{os.getpid()}"
    task.update_state(state="STARTED", meta={"worker": worker})
    name = str(payload["name"])
    with tempfile.TemporaryDirectory(prefix="grader-queue-") as folder:
        archive = Path(folder) / "submission.zip"
        archive.write_bytes(base64.b64decode(payload["archive"]))
        entry = _grade_archive(archive, name, rubric_from_dict(payload["rubric"]), str(payload["mode"]))
    entry["submission"] = name
    entry["worker"] = worker
    return entry


def _sweep_orphans() -> None:
    """Remove what a killed worker on this host left, before grading more: its gradings are
    redelivered, so nothing else will ever tear them down."""
    from grader.cleanup import clean

    try:
        clean()
    except GraderError:
        pass  # the grading itself will report an unusable engine


def _grade_archive(archive: Path, name: str, rubric: Rubric, mode: str) -> dict[str, Any]:
    from grader.batch import Submission, not_graded
    from grader.engine import grade

    submission = Submission(name, archive, "zip")
    try:
        with extracted(archive, name, ArchiveLimits()) as path:
            return grade(path, mode=mode, rubric=rubric).to_dict()
    except ArchiveError as exc:
        return not_graded(submission, rubric, refused=exc.message, hint=exc.hint)
    except (GraderError, SubmissionError) as exc:
        return not_graded(submission, rubric, error=str(exc))


def run_worker(broker_url: str, concurrency: int, loglevel: str = "INFO") -> None:
    app = make_app(broker_url)
    app.worker_main(["worker", "--concurrency", str(concurrency), "--loglevel", loglevel, "--pool", "prefork",
                     "--queues", "compose-grader", "--without-gossip", "--without-mingle",
                     "--hostname", f"grader-{socket.gethostname()}-{os.getpid()}@%h"])


# The coordinator's side -------------------------------------------------------------------------------

@dataclass
class QueuedTask:
    name: str
    task_id: str
    sent_at: float
    started_at: float | None = None
    worker: str | None = None


@dataclass
class QueueTimes:
    task_limit_s: float        # from the moment a worker picks a task up
    wait_limit_s: float        # from sending, for the whole batch
    poll_s: float = 0.5


def send_or_reuse(app: Celery, name: str, tid: str, payload_factory: Callable[[], dict[str, Any]]) -> str:
    """'done' when the backend already holds the result; 'waiting' when a coordinator sent it
    before (it is queued or running); else send it now ('sent')."""
    result = app.AsyncResult(tid)
    if result.state == "SUCCESS":
        return "done"
    client = app.backend.client
    if result.state in ("STARTED", "RETRY") or not client.set(SENT_KEY + tid, "1", nx=True, ex=7 * 24 * 3600):
        if result.state not in ("FAILURE", "REVOKED"):
            return "waiting"
    app.send_task(TASK_NAME, args=[payload_factory()], task_id=tid, queue="compose-grader")
    client.set(SENT_KEY + tid, "1", ex=7 * 24 * 3600)
    return "sent"


def poll_all(app: Celery, waiting: list[QueuedTask], chunk: int = 500) -> dict[str, tuple[str, Any]]:
    """The state of every waiting task in a few MGETs (not one round trip per task: at 10,000
    submissions, per-task polling would be the coordinator's bottleneck).

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
        info = result if isinstance(result, dict) else {}
        queued.worker = info.get("worker") or (f"{info['hostname']}:{info.get('pid')}" if info.get("hostname")
                                               else queued.worker)
        if queued.started_at is None:
            queued.started_at = time.monotonic()
        return "started", None
    return "queued", None


def forget_sent(app: Celery, tid: str) -> None:
    app.backend.client.delete(SENT_KEY + tid)


def task_limit(rubric: Rubric) -> float:
    """How long after a worker picks a task up the coordinator waits: a grading's own limit,
    plus one redelivery (the visibility timeout) should its worker die mid-grading."""
    return rubric.limits.submission_timeout_s + visibility_timeout(rubric.limits) + 120


def run_on_queue(broker_url: str, tasks: list[Any], result: Any, collect: Callable[[str, dict[str, Any]], None],
                 emit: Callable[[Any], None], meta: dict[str, dict[str, Any]], total: int,
                 wait_limit_s: float | None = None, poll_s: float = 0.5) -> None:
    """Send each task (or reuse its result), then collect results as workers finish them."""
    from grader.batch import BatchEvent, not_graded

    app = make_app(broker_url)
    secret = queue_secret(broker_url)
    waiting: dict[str, QueuedTask] = {}
    by_name = {task.submission.id: task for task in tasks}
    try:
        for task in tasks:
            name = task.submission.id
            tid = task_id(meta[name]["content_hash"], meta[name]["grading_key"])
            try:
                how = send_or_reuse(app, name, tid, lambda task=task, name=name: make_payload(
                    name, submission_bytes(task.submission.source), task.rubric, task.mode, secret))
            except QueueError as exc:
                collect(name, not_graded(task.submission, task.rubric, error=str(exc)))
                continue
            waiting[name] = QueuedTask(name, tid, time.monotonic())
            emit(BatchEvent("phase", name, phase={"sent": "queued", "waiting": "queued (sent before)",
                                                  "done": "done before"}[how], total=total))
        limit = wait_limit_s if wait_limit_s is not None else max(3600.0, 4 * task_limit(tasks[0].rubric))
        deadline = time.monotonic() + limit
        while waiting:
            workers_before = {name: queued.worker for name, queued in waiting.items()}
            states = poll_all(app, list(waiting.values()))
            for name, queued in list(waiting.items()):
                task = by_name[name]
                worker_before = workers_before[name]
                state, data = states[name]
                if state == "done":
                    entry = dict(data)
                    meta[name]["worker"] = entry.pop("worker", queued.worker)
                    collect(name, entry)
                    del waiting[name]
                elif state == "failed":
                    forget_sent(app, queued.task_id)
                    collect(name, not_graded(task.submission, task.rubric, error=data["error"]))
                    del waiting[name]
                elif state == "started":
                    if queued.worker != worker_before:
                        emit(BatchEvent("phase", name, phase=f"grading on {queued.worker}", total=total))
                    if time.monotonic() - (queued.started_at or time.monotonic()) > task_limit(task.rubric):
                        forget_sent(app, queued.task_id)
                        collect(name, not_graded(task.submission, task.rubric, error=(
                            f"no worker finished it within {task_limit(task.rubric):g} s of picking it up")))
                        del waiting[name]
            if waiting and time.monotonic() > deadline:
                for name, queued in list(waiting.items()):
                    forget_sent(app, queued.task_id)
                    collect(name, not_graded(by_name[name].submission, by_name[name].rubric, error=(
                        f"no worker finished it within the batch's wait limit of {limit:g} s "
                        "(are workers running? `grader worker --broker URL`)")))
                waiting.clear()
            time.sleep(poll_s)
    except KeyboardInterrupt:
        # Stop waiting, not grading: what workers finish stays in the backend for the next run.
        result.interrupted = True
        for name in waiting:
            result.stopped.append(name)
            emit(BatchEvent("stopped", name, total=total))
    finally:
        app.close()
