"""Other shapes of a grading, for CI systems and LMSs.

Every format is built from the public JSON contract (``GradeResult.to_dict()``, see
docs/json.md), never from the live objects, so a saved ``--json`` file can be converted
later and any result that honours the contract converts the same way:

- ``grader.report.formats.junit.to_junit(results)``: JUnit XML (one ``<testsuite>`` per submission)
- ``grader.report.formats.gradescope.to_gradescope(result)``: Gradescope's ``results.json``
- ``grader.report.formats.markdown.to_markdown(results)``: the Markdown summary (``$GITHUB_STEP_SUMMARY``)
- ``grader.report.formats.classroom.to_classroom(result)``: what GitHub Classroom's reporter reads
- ``python -m grader.formats.github``: the GitHub Action's step that writes its outputs
- ``python -m grader.formats.gradescope``: ``results.json`` for a Gradescope autograder

This module holds the small helpers they share; the formats import it, never the
other way round (so ``python -m grader.formats.<format>`` runs cleanly).
"""
from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

STATUSES = ("passed", "failed", "skipped", "error")

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


def num(value: Any) -> str:
    """Points as people write them: ``2``, not ``2.0``; ``2.5`` stays ``2.5``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "0"
    if number.is_integer():
        return str(int(number))
    return f"{number:.2f}".rstrip("0").rstrip(".")


def number(value: Any) -> int | float:
    """A JSON number for points: ints stay ints, so ``2.0`` is written ``2``."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return 0
    return int(value) if value.is_integer() else round(value, 3)


def status_of(check: dict[str, Any]) -> str:
    """The check's status; anything outside the contract counts as ``error``."""
    status = str(check.get("status") or "error")
    return status if status in STATUSES else "error"


def where(check: dict[str, Any]) -> str | None:
    """``file:line`` of the check's location, or None."""
    location = check.get("location")
    if not isinstance(location, dict) or not location.get("file"):
        return None
    line = location.get("line")
    return f"{location['file']}:{line}" if line not in (None, "") else str(location["file"])


def points_label(check: dict[str, Any]) -> str:
    """``2/2``, ``0/2``, or ``3/3 bonus``."""
    label = f"{num(check.get('points'))}/{num(check.get('max_points'))}"
    return label + " bonus" if check.get("bonus") else label


def diagnosis(check: dict[str, Any]) -> list[tuple[str, str]]:
    """What a student needs about a failed check: (label, text) pairs, empty ones left out."""
    pairs = [("expected", check.get("expected")), ("found", check.get("found")),
             ("where", where(check)), ("fix", check.get("hint"))]
    return [(label, str(text)) for label, text in pairs if text not in (None, "")]


def diagnosis_text(check: dict[str, Any], details: bool = True) -> str:
    """The message and diagnosis as plain text lines (for XML and Gradescope)."""
    lines = [str(check.get("message") or "")]
    lines += [f"{label}: {text}" for label, text in diagnosis(check)]
    if details and check.get("details"):
        lines += ["", "details:", str(check["details"])]
    return "\n".join(line for line in lines if line is not None).strip("\n")


def counts(checks: Iterable[dict[str, Any]]) -> dict[str, int]:
    tally = {status: 0 for status in STATUSES}
    for check in checks:
        tally[status_of(check)] += 1
    return tally


def bonus_earned(result: dict[str, Any]) -> float:
    total = 0.0
    for check in result.get("checks") or []:
        if check.get("bonus"):
            try:
                total += float(check.get("points") or 0)
            except (TypeError, ValueError):
                pass
    return total


def score_line(result: dict[str, Any]) -> str:
    """``Score: 17 / 14 (including 3 bonus)``."""
    bonus = bonus_earned(result)
    extra = f" (including {num(bonus)} bonus)" if bonus else ""
    return f"Score: {num(result.get('score'))} / {num(result.get('max_score'))}{extra}"


def write_formats(results: list[dict], *, junit: str | None = None, gradescope: str | None = None,
                  markdown: str | None = None) -> None:
    """Write the other output formats (grader/formats), each built from the JSON contract.

    ``results`` holds one ``GradeResult.to_dict()`` per submission. Gradescope's results.json
    is per submission: for one result ``gradescope`` is that file; for several it is a folder
    that gets ``<submission>.json`` each.
    """
    from grader.report.formats.junit import to_junit
    from grader.report.formats.markdown import to_markdown

    if gradescope and len(results) > 1:
        folder = Path(gradescope)
        folder.mkdir(parents=True, exist_ok=True)
        for result in results:
            name = str(result.get("submission") or "submission").replace("/", "_")
            (folder / f"{name}.json").write_text(_gradescope_text(result), encoding="utf-8")
        gradescope = None
    writers = [(junit, lambda: to_junit(results)),
               (gradescope, lambda: _gradescope_text(results[0])),
               (markdown, lambda: to_markdown(results))]
    for target, render in writers:
        if not target:
            continue
        text = render()
        if target == "-":
            sys.stdout.write(text)
        else:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            Path(target).write_text(text, encoding="utf-8")



def _gradescope_text(result: dict) -> str:
    from grader.report.formats.gradescope import to_gradescope

    return json.dumps(to_gradescope(result), indent=2, ensure_ascii=False) + "\n"
