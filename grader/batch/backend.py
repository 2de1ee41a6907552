"""How a batch's gradings run: the backend interface, and which of its two implementations a batch uses.

- :class:`~grader.batch.pool.LocalPool`: worker processes on this machine, with its Docker engine;
- :class:`~grader.batch.queue.coordinator.CeleryQueue`: Celery workers on other machines, reached
  through a Redis broker (the `queue` extra; imported only when a batch asks for a queue).

Results come back through a callback, not an iterator: a Ctrl-C that arrives while the caller
handles a result must still reach the backend's own stop handling (its workers tear down).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from grader.batch.events import OnEvent, OnResult, RunEnd, Task
from grader.batch.pool import LocalPool


class Backend(Protocol):
    def run(self, tasks: Sequence[Task], on_event: OnEvent, on_result: OnResult) -> RunEnd:
        """Grade every task. Each finished grading goes to ``on_result`` (a "not graded" result too);
        what happens on the way to ``on_event`` (phase, stopping, stopped, regrade; its ``total`` is
        left to the caller). Returns once every task is graded or stopped."""
        ...


def backend_for(queue: str | None, jobs: int, checkpoint: Callable[[], None]) -> Backend:
    """The queue at broker URL ``queue`` when given, else a local pool of ``jobs`` processes."""
    if queue:
        from grader.batch.queue.coordinator import CeleryQueue

        return CeleryQueue(queue)
    return LocalPool(jobs, checkpoint)
