"""Who sees which check: what a student's views leave out, and what they still say about it.

Every check of a result carries the rubric's ``checks.<id>.visibility``:

- ``visible`` (the default): everyone sees it;
- ``hidden``: graded, and shown to instructors only (the dashboard, grades.csv, results.json,
  the LMS grade files' scores);
- ``after_due_date``: hidden from students until it is *released*: the rubric's ``due`` date
  (carried in each result as ``due``) has passed, or the instructor says so
  (``--show-after-due``). The grader cannot know a due date the rubric does not give, so
  without one it stays hidden.

The student's views are the HTML report, ``grader check``'s terminal output and its "since
your last run" line, the GitHub Classroom log (and the action's annotations), the Markdown
summary and Moodle's feedback comment. They show the whole score: the checks left out are
summed as one line, "other checks", so what a student reads still adds up to the grade.
Gradescope gets each check's visibility itself (grader/report/formats/gradescope.py).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from grader.results import CheckResult, GradeResult, Status, Totals, points_text

OTHER_CHECKS = "Other checks"


@dataclass(frozen=True)
class Withheld:
    """What the checks a student is not shown add up to."""

    count: int
    points: float       # earned, bonus included (they are part of the score)
    max_points: float   # bonus excluded, as the maximum
    passed: bool        # every required one passed
    errored: bool       # one could not run (a fault of the grading machine)
    after_due: int      # how many of them are shown once the due date has passed


@dataclass(frozen=True)
class StudentView:
    """A grading as a student may see it: only their checks, but the whole grading's score and verdict."""

    result: GradeResult
    withheld: Withheld | None   # None when nothing is left out
    due: str | None             # the due date after which ``after_due_date`` checks are shown


def due_passed(due: str | None, now: datetime | None = None) -> bool:
    """Whether ``due`` (ISO 8601) lies in the past; a date the grader cannot read never does."""
    if not due:
        return False
    try:
        moment = datetime.fromisoformat(due)
    except ValueError:
        return False
    if moment.tzinfo is None:
        moment = moment.astimezone()  # a due date without an offset: this machine's local time
    return moment <= (now or datetime.now(timezone.utc))


def released(result: GradeResult, show_after_due: bool = False, now: datetime | None = None) -> bool:
    """Whether the result's ``after_due_date`` checks are shown to students."""
    return show_after_due or due_passed(result.due, now)


def shown_to_student(check: CheckResult, is_released: bool) -> bool:
    return check.visibility == "visible" or (check.visibility == "after_due_date" and is_released)


def _withheld(checks: list[CheckResult]) -> Withheld | None:
    if not checks:
        return None
    return Withheld(
        count=len(checks),
        points=sum(check.points for check in checks),
        max_points=sum(check.max_points for check in checks if not check.bonus),
        passed=all(check.status is Status.PASSED for check in checks if not check.bonus),
        errored=any(check.status is Status.ERROR for check in checks),
        after_due=sum(1 for check in checks if check.visibility == "after_due_date"),
    )


def student_view(value: GradeResult | Mapping[str, Any], show_after_due: bool = False,
                 now: datetime | None = None) -> StudentView:
    """The grading with the checks a student is not shown taken out (and summed in ``withheld``)."""
    result = GradeResult.of(value)
    is_released = released(result, show_after_due, now)
    shown = [check for check in result.checks if shown_to_student(check, is_released)]
    if len(shown) == len(result.checks):
        return StudentView(result, None, result.due)
    left_out = [check for check in result.checks if not shown_to_student(check, is_released)]
    totals = Totals(result.score, result.max_score, result.passed)  # the whole grading's, not the shown checks'
    return StudentView(dataclasses.replace(result, checks=shown, saved=totals), _withheld(left_out), result.due)


def withheld_text(withheld: Withheld, due: str | None = None) -> str:
    """One line for the checks left out: ``2 other checks, not shown: 1 / 4 points (not every one passed)``."""
    noun = "check" if withheld.count == 1 else "checks"
    line = (f"{withheld.count} other {noun}, not shown: "
            f"{points_text(withheld.points)} / {points_text(withheld.max_points)} points")
    if withheld.errored:
        line += " (one could not run: a fault of the grading machine)"
    elif not withheld.passed:
        line += " (not every one passed)"
    if withheld.after_due:
        when = f" ({due})" if due else ""
        line += f"; {withheld.after_due} of them shown after the due date{when}"
    return line
