"""`grader worker`: a host that grades what `grader batch --queue` sends, with its own engine."""
from __future__ import annotations

import click

from grader.cli.queue_extra import require_queue_extra


@click.command("worker")
@click.option("--broker", required=True, metavar="URL", help="Redis broker, e.g. redis://:PASSWORD@HOST:6379/0.")
@click.option("--concurrency", "-c", type=click.IntRange(min=1), default=None,
              help="Gradings at once on this host [default: what it can hold].")
@click.option("--loglevel", default="INFO", show_default=True)
def worker(broker: str, concurrency: int | None, loglevel: str) -> None:
    """Grade submissions from a `grader batch --queue` with this host's Docker engine."""
    from grader.batch.machine import default_jobs

    require_queue_extra()
    from grader.batch.queue.config import QueueError
    from grader.batch.queue.worker import run_worker

    try:
        run_worker(broker, concurrency or default_jobs(), loglevel)
    except QueueError as exc:
        raise click.UsageError(str(exc)) from exc
