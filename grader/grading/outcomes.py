"""A check's outcome as a CheckResult, whoever ran it (the pytest plugin, or the static runner).

A CheckFailure (or a plain assert) is a failed check; a skip is skipped; an environment problem
(Docker gone) or any other exception is an error: a fault of the grading machine or of the
grader, never of the student.
"""
from __future__ import annotations

from typing import Any

from grader.checking import CheckFailure, CheckInfo, CheckSkipped, Outcome
from grader.errors import EnvironmentProblem, GraderError
from grader.results import CheckResult, Status
from grader.rubric import Rubric

MACHINE_HINT = "This is a problem of the grading machine, not of the submission."


def result_of(info: CheckInfo, rubric: Rubric, status: Status, message: str, **fields: Any) -> CheckResult:
    return CheckResult(id=info.id, title=info.title or info.id, status=status,
                       max_points=rubric.points_for(info.id, info.points), bonus=info.bonus, message=message,
                       visibility=rubric.visibility(info.id), **fields)


def passed_result(info: CheckInfo, rubric: Rubric, outcome: Outcome) -> CheckResult:
    """A passed check as its outcome says: a pass from a screenshot is marked, and earns at most
    the points the rubric gives such a pass."""
    result = result_of(info, rubric, Status.PASSED, outcome.message, details=outcome.details,
                       screenshot=outcome.screenshot)
    if outcome.points is not None and outcome.points < result.max_points:
        result.saved_points = outcome.points
    return result


def skip_reason(exc: BaseException) -> str | None:
    """Why a check was skipped: our own skip, or pytest's (recognised without importing pytest)."""
    if isinstance(exc, CheckSkipped):
        return exc.reason
    if type(exc).__name__ == "Skipped" and type(exc).__module__.startswith("_pytest"):
        return str(getattr(exc, "msg", "") or "skipped")
    return None


def result_of_exception(info: CheckInfo, rubric: Rubric, exc: BaseException) -> CheckResult:
    reason = skip_reason(exc)
    if reason is not None:
        return result_of(info, rubric, Status.SKIPPED, reason)
    if isinstance(exc, CheckFailure):
        return result_of(info, rubric, Status.FAILED, exc.message, expected=exc.expected, found=exc.found,
                         location=exc.location, hint=exc.hint, details=exc.details)
    if isinstance(exc, AssertionError):
        return result_of(info, rubric, Status.FAILED, str(exc).split("\nassert", 1)[0] or "assertion failed")
    if isinstance(exc, EnvironmentProblem):
        return result_of(info, rubric, Status.ERROR, str(exc), hint=MACHINE_HINT)
    if isinstance(exc, GraderError):
        return result_of(info, rubric, Status.ERROR, str(exc))
    return result_of(info, rubric, Status.ERROR, f"the grader failed inside this check: {type(exc).__name__}: {exc}",
                     hint="This is a bug in the grader or its environment, not a mistake in the submission.")
