"""SIGTERM as the same clean stop as Ctrl-C, for the commands that grade.

A grading unwinds on KeyboardInterrupt (the stack's teardown runs in `finally`), so SIGTERM
(`docker stop`, systemd, a cancelled CI job) raises it too; the command then exits 143 rather
than 130, so whoever stopped it can tell which signal it took.
"""
from __future__ import annotations

import signal
from types import FrameType

from grader.cli.exit_codes import EXIT_SIGINT, EXIT_SIGTERM

_sigterm_received = False


def stop_on_sigterm() -> None:
    """From now on, SIGTERM raises KeyboardInterrupt in the main thread, and is remembered."""
    signal.signal(signal.SIGTERM, _on_sigterm)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    global _sigterm_received
    _sigterm_received = True
    raise KeyboardInterrupt


def stopped_exit_code() -> int:
    """The exit code of a command a signal stopped: 143 after SIGTERM, else 130 (Ctrl-C)."""
    return EXIT_SIGTERM if _sigterm_received else EXIT_SIGINT
