"""What the coordinator and the workers share: the Celery app, its settings, and task ids.

A submission's first task id is derived from its content and the rubric, so a coordinator
started again finds the results already in the backend. A submission handed to another
worker because its worker was lost is sent again as a new *attempt* with its own id
(``<first id>-r1``, ``-r2``…), so a late result of the lost attempt is told apart and never
counted. Which attempt is current is kept in Redis under ``SENT_KEY + first id``.
"""
from __future__ import annotations

import os
from urllib.parse import urlparse

from celery import Celery

from grader.errors import GraderError
from grader.rubric import Limits

TASK_NAME = "compose_grader.grade"
QUEUE_NAME = "compose-grader"
SECRET_ENV = "GRADER_QUEUE_SECRET"
VISIBILITY_ENV = "GRADER_QUEUE_VISIBILITY_TIMEOUT"
SENT_KEY = "compose-grader:sent:"
SENT_TTL_S = 7 * 24 * 3600
# Redis serves lower numbers first (kombu's priority lists 0, 3, 6, 9): a regrade goes ahead
# of the submissions still queued, so a lost worker's submission is taken by the next free worker.
FIRST_PRIORITY = 6
REGRADE_PRIORITY = 0
_ATTEMPT_MARK = "-r"


class QueueError(GraderError):
    """The queue cannot be used as asked (bad URL, archive over the cap, extra checks)."""


def visibility_timeout(rubric_limits: Limits = Limits()) -> int:
    """How long a task may stay unacknowledged before the broker hands it to another worker.

    Only the last resort: the coordinator regrades a lost worker's submissions within a minute
    (grader/batch/queue/coordinator.py). Longer than any grading may take, or a slow grading would
    be run twice."""
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
        # Not result_extended: it would store every task's arguments (the zipped submission)
        # with each state, for the coordinator to read again at every poll.
        task_track_started=True, result_extended=False, result_expires=14 * 24 * 3600,
        broker_transport_options={"visibility_timeout": visibility_timeout()},
        broker_connection_retry_on_startup=True, worker_hijack_root_logger=False,
        task_default_queue=QUEUE_NAME,
    )
    return app


def queue_secret(broker_url: str) -> bytes | None:
    """The secret shared by coordinator and workers: GRADER_QUEUE_SECRET, else the broker password."""
    secret = os.environ.get(SECRET_ENV) or urlparse(broker_url).password
    return secret.encode() if secret else None


# Task ids -------------------------------------------------------------------------------------------

def task_id(content_hash: str, grading_key: str) -> str:
    """The first attempt's id (hex digests never contain the attempt mark)."""
    return f"grade-{content_hash[:24]}-{grading_key[:12]}"


def sent_attempt(app: Celery, first_id: str) -> str:
    """The attempt id last recorded as sent for ``first_id`` under ``SENT_KEY`` ("" when none is)."""
    value = app.backend.client.get(SENT_KEY + first_id)
    return value.decode() if isinstance(value, bytes) else str(value or "")


def attempt_id(first_id: str, attempt: int) -> str:
    return first_id if attempt == 0 else f"{first_id}{_ATTEMPT_MARK}{attempt}"


def first_id_of(tid: str) -> str:
    head, mark, number = tid.rpartition(_ATTEMPT_MARK)
    return head if mark and number.isdigit() else tid


def attempt_of(tid: str) -> int:
    _, mark, number = tid.rpartition(_ATTEMPT_MARK)
    return int(number) if mark and number.isdigit() else 0
