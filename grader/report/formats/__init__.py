"""Other shapes of a grading, for CI systems and LMSs.

Every format takes a :class:`~grader.results.GradeResult` or its public JSON contract
(``GradeResult.to_dict()``, see docs/json.md), read with ``GradeResult.from_dict``: a saved
``--json`` file converts later exactly as the grading did, and any result that honours the
contract converts the same way:

- ``grader.report.formats.junit.to_junit(results)``: JUnit XML (one ``<testsuite>`` per submission)
- ``grader.report.formats.gradescope.to_gradescope(result)``: Gradescope's ``results.json``
- ``grader.report.formats.markdown.to_markdown(results)``: the Markdown summary (``$GITHUB_STEP_SUMMARY``)
- ``grader.report.formats.classroom.to_classroom(result)``: what GitHub Classroom's reporter reads
- ``grader.report.formats.lms``: the grade files Canvas, Moodle, Blackboard and Brightspace import
- ``python -m grader.report.formats.github``: the GitHub Action's step that writes its outputs
- ``python -m grader.report.formats.gradescope``: ``results.json`` for a Gradescope autograder

This module holds the small helpers they share; the formats import it, never the
other way round (so ``python -m grader.report.formats.<format>`` runs cleanly).
"""
from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from grader.results import (
    CheckResult,
    GradeResult,
    PolicyViolation,
    Status,
    points_text,
)

AnyResult = GradeResult | Mapping[str, Any]  # a grading, or its JSON (``GradeResult.to_dict()``)

_SURROGATES = re.compile("[\ud800-\udfff]")


def unicode_safe(value: Any) -> Any:
    """``value`` with lone surrogates (which UTF-8 cannot encode) removed from every string in it.

    A JSON result may hold them (``"\\ud800"`` is valid JSON), and student text ends up in it.
    """
    if isinstance(value, str):
        return _SURROGATES.sub("", value)
    if isinstance(value, dict):
        return {unicode_safe(key): unicode_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [unicode_safe(item) for item in value]
    return value


def where(check: CheckResult) -> str | None:
    """``file:line`` of the check's location, or None."""
    return str(check.location) if check.location else None


def points_label(check: CheckResult) -> str:
    """``2/2``, ``0/2``, or ``3/3 bonus``."""
    label = f"{points_text(check.points)}/{points_text(check.max_points)}"
    return label + " bonus" if check.bonus else label


def diagnosis(check: CheckResult) -> list[tuple[str, str]]:
    """What a student needs about a failed check: (label, text) pairs, empty ones left out."""
    pairs = [("expected", check.expected), ("found", check.found), ("where", where(check)), ("fix", check.hint)]
    return [(label, str(text)) for label, text in pairs if text not in (None, "")]


def diagnosis_text(check: CheckResult, details: bool = True) -> str:
    """The message and diagnosis as plain text lines (for XML and Gradescope)."""
    lines = [check.message]
    lines += [f"{label}: {text}" for label, text in diagnosis(check)]
    if details and check.details:
        lines += ["", "details:", check.details]
    return "\n".join(lines).strip("\n")


def failing(result: GradeResult) -> list[CheckResult]:
    """The checks that failed or errored: what a student has to look at."""
    return [check for check in result.checks if check.status in (Status.FAILED, Status.ERROR)]


def tally_text(result: GradeResult) -> str:
    """``2 passed, 1 failed`` (statuses with no check left out), or ``no checks``."""
    return ", ".join(f"{count} {status}" for status, count in result.tally().items() if count) or "no checks"


def refusal(violation: PolicyViolation) -> str:
    """What a broken safety rule says (its rule name when it says nothing)."""
    return violation.message or violation.rule


def score_line(result: GradeResult) -> str:
    """``Score: 17 / 14 (including 3 bonus)``."""
    bonus = result.bonus_points
    extra = f" (including {points_text(bonus)} bonus)" if bonus else ""
    return f"Score: {points_text(result.score)} / {points_text(result.max_score)}{extra}"


def write_formats(results: Sequence[AnyResult], *, junit: str | None = None, gradescope: str | None = None,
                  markdown: str | None = None, show_after_due: bool = False) -> None:
    """Write the other output formats (grader/report/formats) of one grading per submission.

    Gradescope's results.json is per submission: for one result ``gradescope`` is that file;
    for several it is a folder that gets ``<submission>.json`` each.
    """
    from grader.report.formats.junit import to_junit
    from grader.report.formats.markdown import to_markdown

    gradings = [GradeResult.of(result) for result in results]
    if gradescope and len(gradings) > 1:
        folder = Path(gradescope)
        folder.mkdir(parents=True, exist_ok=True)
        for result in gradings:
            name = (result.submission or "submission").replace("/", "_")
            (folder / f"{name}.json").write_text(_gradescope_text(result), encoding="utf-8")
        gradescope = None
    writers = [(junit, lambda: to_junit(gradings)),
               (gradescope, lambda: _gradescope_text(gradings[0])),
               (markdown, lambda: to_markdown(gradings, show_after_due=show_after_due))]
    for target, render in writers:
        if not target:
            continue
        text = render()
        if target == "-":
            sys.stdout.write(text)
        else:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            Path(target).write_text(text, encoding="utf-8")


def _gradescope_text(result: GradeResult) -> str:
    from grader.report.formats.gradescope import to_gradescope

    return json.dumps(to_gradescope(result), indent=2, ensure_ascii=False) + "\n"
