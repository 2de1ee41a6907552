"""Gradescope autograder ``results.json``.

The shape follows Gradescope's autograder specification: top-level ``score``,
``execution_time`` (seconds), ``output``, ``tests[]`` with ``name``, ``number``, ``score``,
``max_score``, ``status`` ("passed"/"failed"), ``output`` and ``visibility``.

Choices, all documented in examples/gradescope/README.md:

- The top-level ``score`` is set explicitly (it overrides the sum of the tests): the grader's
  score, bonus points included.
- A bonus check's test has ``max_score: 0``: bonus adds to the score, never to the maximum,
  so the tests' ``max_score`` values add up to the grader's ``max_score`` (the value to set
  as the assignment's autograder points) and an earned bonus shows as extra credit (3.0 / 0.0).
- ``status`` is "passed" only for a passed check; failed, skipped and error are "failed"
  (the spec knows only these two), and the output says which it was and why.
- Outputs are plain ``text`` (Gradescope shows them in a ``<pre>``), so nothing a student
  wrote can inject HTML or Markdown.
- Each test's ``visibility`` is the check's (the rubric's ``checks.<id>.visibility``):
  ``visible``, ``hidden`` or ``after_due_date``, Gradescope's own values. The top-level
  output, which students always see, names only the checks they are shown
  (grader/report/visibility.py).

``python -m grader.report.formats.gradescope --result result.json --out results.json`` converts a
saved ``grader check --json`` file; when that file is missing or unreadable (the grader
could not run), it still writes a valid results.json with score 0 and the reason.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from grader.report.formats import (
    AnyResult,
    diagnosis_text,
    failing,
    refusal,
    score_line,
    tally_text,
    unicode_safe,
)
from grader.report.visibility import student_view
from grader.results import CheckResult, GradeResult, Status, number, points_text

STATUS_WORDS = {"passed": "Passed", "failed": "Failed", "skipped": "Skipped", "error": "Grader error"}


def _score(value: float) -> int | float:
    """Points for Gradescope, to the thousandth."""
    return number(round(value, 3))


def _test_output(check: CheckResult) -> str:
    status = check.status.value
    head = f"{STATUS_WORDS[status]}: {points_text(check.points)}/{points_text(check.max_points)} points"
    if check.bonus:
        head += " (bonus: adds to the score, not to the maximum)"
    body = diagnosis_text(check) if check.status in (Status.FAILED, Status.ERROR) else check.message
    if check.status is Status.ERROR:
        body += "\n\nThis is a fault of the grading machine, not of your submission: ask your instructor to regrade."
    return f"{head}\n{body}".strip()


def _summary(result: GradeResult) -> str:
    shown = student_view(result).result
    lines = [score_line(result)]
    verdict = "Every required check passed." if result.passed else "Not every required check passed."
    lines.append(f"{verdict} ({tally_text(shown)})")
    if failing(shown):
        lines.append("To fix: " + ", ".join(check.id for check in failing(shown)) + " (details below).")
    if result.notice:
        lines.append(result.notice)
    lines += [f"Refused by the safety policy: {refusal(violation)}" for violation in result.policy]
    if result.mode == "static":
        lines.append("Static mode: the stack was not started, so the runtime checks are skipped.")
    return "\n".join(lines)


def _test(index: int, check: CheckResult) -> dict[str, Any]:
    status = check.status.value
    return {
        "name": f"{check.title or check.id or f'check {index}'} ({check.id}{', bonus' if check.bonus else ''})",
        "number": str(index),
        "score": _score(check.points),
        "max_score": 0 if check.bonus else _score(check.max_points),
        "status": "passed" if check.status is Status.PASSED else "failed",
        "output": _test_output(check),
        "output_format": "text",
        "visibility": check.visibility,
        "tags": [check.id, status] + (["bonus"] if check.bonus else []),
        "extra_data": {"id": check.id, "status": status, "bonus": check.bonus, "max_points": _score(check.max_points)},
    }


def to_gradescope(value: AnyResult) -> dict[str, Any]:
    """Gradescope's results.json for one grading (a ``GradeResult`` or its ``to_dict()``)."""
    result = GradeResult.of(value)
    return unicode_safe({
        "score": _score(result.score),
        "execution_time": max(math.ceil(result.duration_s), 0),
        "output": _summary(result),
        "output_format": "text",
        "test_output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [_test(index, check) for index, check in enumerate(result.checks, start=1)],
        "extra_data": {
            "max_score": _score(result.max_score),
            "passed": result.passed,
            "mode": result.mode,
            "grader_version": result.grader_version,
            "submission": result.submission,
        },
    })


def failure_results(reason: str) -> dict[str, Any]:
    """A valid results.json for when no grading result exists: score 0 and the reason."""
    return {
        "score": 0,
        "execution_time": 0,
        "output": ("The grader could not grade this submission: " + reason
                   + "\nThis is a fault of the grading machine, not necessarily of your submission: "
                     "ask your instructor to regrade."),
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [],
    }


def load_result(path: Path) -> tuple[GradeResult | None, str | None]:
    """The grading the JSON result at ``path`` holds (student text UTF-8 can carry), or (None, why not)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, f"no result was written ({path})"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"the result {path} could not be read: {exc}"
    if not isinstance(data, dict) or not isinstance(data.get("checks"), list):
        return None, f"the result {path} is not a grading result"
    return GradeResult.from_dict(unicode_safe(data)), None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.report.formats.gradescope",
                                     description="Write Gradescope's results.json from a `grader check --json` file.")
    parser.add_argument("--result", required=True, type=Path, help="the JSON result of `grader check --json`")
    parser.add_argument("--out", type=Path, default=Path("/autograder/results/results.json"),
                        help="where to write results.json (default: %(default)s)")
    parser.add_argument("--exit-code", type=int, default=None,
                        help="exit status of `grader check`, quoted when no result was written")
    args = parser.parse_args(argv)
    result, problem = load_result(args.result)
    if result is None:
        problem = problem or "unknown"
        if args.exit_code is not None:
            problem += f" (grader check exited with status {args.exit_code})"
        results = failure_results(problem)
    else:
        results = to_gradescope(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: score {points_text(results['score'])}"
          + (f" / {points_text(result.max_score)}" if result else " (no grading result)"))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
