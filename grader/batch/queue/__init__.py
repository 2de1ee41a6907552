"""Grading across machines: Celery workers take submissions from a Redis broker (the `queue` extra).

The coordinator (`grader batch DIR --queue URL`, :mod:`grader.batch.queue.coordinator`) zips each
submission into its task; workers (`grader worker --broker URL`, :mod:`grader.batch.queue.worker`)
grade with their own Docker engine and send the result back through the result backend (the
same Redis). :mod:`grader.batch.queue.config` holds what both sides share (the Celery app, task ids),
:mod:`grader.batch.queue.payload` what travels and how workers check it, and
:mod:`grader.batch.queue.liveness` how the coordinator tells that a grading's worker is gone.

This module imports no Celery, so the command line can say what to install when it is missing.
"""
from __future__ import annotations

from grader.errors import GraderError

INSTALL_HINT = "pip install 'compose-grader[queue]'"


class QueueUnavailable(GraderError):
    """Celery (the `queue` extra) is not installed."""


def require_celery() -> None:
    """Raise QueueUnavailable, with what to install, when Celery cannot be imported."""
    try:
        import celery  # noqa: F401 - only whether it imports matters
        import kombu  # noqa: F401
    except ImportError as exc:
        raise QueueUnavailable(f"grading on a queue needs Celery, which is not installed here: {INSTALL_HINT}") \
            from exc
