"""How every `grader` command ends: one exit code for each way, in one place.

Scripts, CI steps and the GitHub action read these, so they never change meaning.
"""
from __future__ import annotations

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
