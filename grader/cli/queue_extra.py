"""The Celery queue (the `queue` extra) as `grader batch --queue` and `grader worker` need it:
installed, and pointed at a broker the grader can use, or a one-line reason and exit 2."""
from __future__ import annotations

import sys

import click

from grader.cli.exit_codes import EXIT_USAGE
from grader.rubric import Rubric


def require_queue_extra() -> None:
    """Without Celery (the `queue` extra), one line saying what to install, and exit 2."""
    from grader.batch.queue import QueueUnavailable, require_celery

    try:
        require_celery()
    except QueueUnavailable as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)


def check_queue(queue: str, rubric: Rubric) -> None:
    """Refuse, before anything is sent, a queue this grader cannot use."""
    require_queue_extra()
    from grader.batch.queue.config import make_app
    from grader.batch.queue.payload import rubric_to_dict

    make_app(queue).close()  # refuses what is not a Redis URL
    rubric_to_dict(rubric)   # refuses what cannot travel to workers
