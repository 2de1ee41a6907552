"""Whether a grading on a worker is still alive: the process grading it says so itself.

While it grades, a worker writes the task's STARTED state again every 5 s with a growing
``beat`` (Celery's result backend, where the coordinator already reads every state each
half second). A grading whose beat has not changed for ``GRADER_QUEUE_LOST_AFTER`` seconds
(15: three beats) is lost, whatever stopped it: its worker's main process killed (Celery's
pool processes die with it), the whole process group killed, the host gone or cut off from
Redis. Time is counted on the coordinator's clock from when it saw each beat (hosts' clocks
may differ), so one that died before the coordinator (re)started is found too.

Why beats and not Celery's worker heartbeats: those come from the worker's main process,
which stops sending them as soon as a warm shutdown (Ctrl-C) begins, while its gradings go
on to their end; a heartbeat says nothing of the process that grades.
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

BEAT_INTERVAL_S = 5.0
LOST_AFTER_ENV = "GRADER_QUEUE_LOST_AFTER"
LOST_AFTER_S = 15.0


def lost_after() -> float:
    return float(os.environ.get(LOST_AFTER_ENV, LOST_AFTER_S))


@contextmanager
def beating(write: Callable[[int], None], interval_s: float = BEAT_INTERVAL_S) -> Iterator[None]:
    """Call ``write(0)``, ``write(1)``… on a thread of its own every ``interval_s`` while the block runs.

    The thread is joined before the block's end, so no beat is ever written after it (a late
    STARTED would overwrite the task's result)."""
    stop = threading.Event()

    def beat() -> None:
        count = 0
        while not stop.is_set():
            try:
                write(count)
            except Exception:  # noqa: BLE001 - Redis away for a moment: the next beat tries again
                pass
            count += 1
            stop.wait(interval_s)

    thread = threading.Thread(target=beat, name="grader-beat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


class Beats:
    """When the coordinator last saw each running attempt's beat change, on its own clock."""

    def __init__(self, lost_after_s: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.lost_after_s = lost_after() if lost_after_s is None else lost_after_s
        self.clock = clock
        self._seen: dict[str, tuple[Any, float]] = {}

    def lost(self, tid: str, beat: Any) -> str | None:
        """Why the attempt ``tid``, whose beat reads ``beat`` now, counts as lost; None while it lives."""
        now = self.clock()
        last = self._seen.get(tid)
        if last is None or last[0] != beat:
            self._seen[tid] = (beat, now)
            return None
        silent = now - last[1]
        return f"no sign of life for {silent:.0f} s" if silent > self.lost_after_s else None
