"""How every `grader` command ends: one exit code for each way, in one place.

Scripts, CI steps and the GitHub action read these, so they never change meaning.
"""
from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn

from grader.results import GradeResult, Status

EXIT_OK = 0        # check: passed; batch: every grading finished without error; others: done
EXIT_FAILED = 1    # check: not passed; batch: a grading ended in an error
EXIT_USAGE = 2     # a bad option or file, a missing extra, a machine that cannot do what was asked (click's own 2)
EXIT_SIGINT = 130  # stopped by Ctrl-C after cleaning up (128 + SIGINT, as a shell reports it)
EXIT_SIGTERM = 143  # stopped by SIGTERM after cleaning up (128 + SIGTERM)


def for_result(result: GradeResult) -> int:
    """`grader check`'s exit code: a check that could not run is the grader's problem, not a fail."""
    if any(check.status is Status.ERROR for check in result.checks):
        return EXIT_USAGE
    return EXIT_OK if result.passed else EXIT_FAILED


def exit_without_teardown(code: object) -> NoReturn:
    """End the process with ``code`` (a SystemExit's) once the atexit handlers ran and the output
    is flushed, skipping the interpreter's teardown of every module it loaded: after a grading that
    loaded pytest, that teardown alone took a fifth of a second, which every `grader check` paid.
    While a thread other than daemons still runs, the normal exit waits for it instead."""
    if any(thread is not threading.main_thread() and not thread.daemon for thread in threading.enumerate()):
        sys.exit(code)
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can be said on it
            pass
    os._exit(code or 0)
