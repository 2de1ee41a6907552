"""Stopping a grading cleanly: a wall-clock limit, and Ctrl-C / SIGTERM that never cut teardown short."""
from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType


class Interrupted(KeyboardInterrupt):
    """Grading stopped by Ctrl-C or SIGTERM; teardown has run."""


class SubmissionTimeout(KeyboardInterrupt):
    """The submission's wall-clock limit ran out. A KeyboardInterrupt, so pytest stops at once."""


class Clock:
    expired = False


def in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def time_limit(seconds: float) -> Iterator[Clock]:
    """Stop whatever runs after ``seconds`` (main thread only; elsewhere each step's own timeouts apply)."""
    clock = Clock()
    if not in_main_thread() or seconds <= 0:
        yield clock
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        clock.expired = True
        raise SubmissionTimeout()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield clock
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def hold_signals_on_request() -> Iterator[Callable[[], None]]:
    """Yield ``hold``; once called, SIGINT and SIGTERM wait until the block ends, then are raised again.

    Teardown runs in between, so an impatient second Ctrl-C cannot leave containers behind.
    """
    received: list[int] = []
    previous: dict[int, object] = {}

    def record(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    def hold() -> None:
        if in_main_thread() and not previous:
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous[signum] = signal.signal(signum, record)

    try:
        yield hold
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(received):
            signal.raise_signal(signum)
