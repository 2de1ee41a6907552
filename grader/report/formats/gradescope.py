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
- Everything is ``visible``: the point of this grader is telling students what to fix.

``python -m grader.formats.gradescope --result result.json --out results.json`` converts a
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
    counts,
    diagnosis_text,
    num,
    number,
    score_line,
    status_of,
    unicode_safe,
)

STATUS_WORDS = {"passed": "Passed", "failed": "Failed", "skipped": "Skipped", "error": "Grader error"}


def _test_output(check: dict[str, Any]) -> str:
    status = status_of(check)
    head = f"{STATUS_WORDS[status]}: {num(check.get('points'))}/{num(check.get('max_points'))} points"
    if check.get("bonus"):
        head += " (bonus: adds to the score, not to the maximum)"
    if status in ("failed", "error"):
        body = diagnosis_text(check)
    else:
        body = str(check.get("message") or "")
    if status == "error":
        body += "\n\nThis is a fault of the grading machine, not of your submission: ask your instructor to regrade."
    return f"{head}\n{body}".strip()


def _execution_time(result: dict[str, Any]) -> int:
    try:
        return max(math.ceil(float(result.get("duration_s") or 0)), 0)
    except (TypeError, ValueError):
        return 0


def _summary(result: dict[str, Any]) -> str:
    checks = list(result.get("checks") or [])
    tally = counts(checks)
    lines = [score_line(result)]
    verdict = "Every required check passed." if result.get("passed") else "Not every required check passed."
    parts = [f"{tally[s]} {s}" for s in ("passed", "failed", "skipped", "error") if tally[s]]
    lines.append(f"{verdict} ({', '.join(parts) or 'no checks'})")
    failing = [c for c in checks if status_of(c) in ("failed", "error")]
    if failing:
        lines.append("To fix: " + ", ".join(str(c.get("id")) for c in failing) + " (details below).")
    if result.get("notice"):
        lines.append(str(result["notice"]))
    for violation in result.get("policy") or []:
        lines.append(f"Refused by the safety policy: {violation.get('message') or violation.get('rule')}")
    if result.get("mode") == "static":
        lines.append("Static mode: the stack was not started, so the runtime checks are skipped.")
    return "\n".join(lines)


def to_gradescope(result: dict[str, Any]) -> dict[str, Any]:
    """Gradescope's results.json for one grading (a ``GradeResult.to_dict()``)."""
    tests = []
    for index, check in enumerate(result.get("checks") or [], start=1):
        bonus = bool(check.get("bonus"))
        name = str(check.get("title") or check.get("id") or f"check {index}")
        name += f" ({check.get('id')}{', bonus' if bonus else ''})"
        tests.append({
            "name": name,
            "number": str(index),
            "score": number(check.get("points")),
            "max_score": 0 if bonus else number(check.get("max_points")),
            "status": "passed" if status_of(check) == "passed" else "failed",
            "output": _test_output(check),
            "output_format": "text",
            "visibility": "visible",
            "tags": [str(check.get("id")), status_of(check)] + (["bonus"] if bonus else []),
            "extra_data": {"id": check.get("id"), "status": status_of(check), "bonus": bonus,
                           "max_points": number(check.get("max_points"))},
        })
    return unicode_safe({
        "score": number(result.get("score")),
        "execution_time": _execution_time(result),
        "output": _summary(result),
        "output_format": "text",
        "test_output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {
            "max_score": number(result.get("max_score")),
            "passed": bool(result.get("passed")),
            "mode": result.get("mode"),
            "grader_version": result.get("grader_version"),
            "submission": result.get("submission"),
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


def load_result(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The JSON result at ``path``, or (None, why not)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, f"no result was written ({path})"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"the result {path} could not be read: {exc}"
    if not isinstance(data, dict) or not isinstance(data.get("checks"), list):
        return None, f"the result {path} is not a grading result"
    return data, None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.formats.gradescope",
                                     description="Write Gradescope's results.json from a `grader check --json` file.")
    parser.add_argument("--result", required=True, type=Path, help="the JSON result of `grader check --json`")
    parser.add_argument("--out", type=Path, default=Path("/autograder/results/results.json"),
                        help="where to write results.json (default: %(default)s)")
    parser.add_argument("--exit-code", type=int, default=None,
                        help="exit status of `grader check`, quoted when no result was written")
    args = parser.parse_args(argv)
    result, problem = load_result(args.result)
    if result is None:
        if args.exit_code is not None:
            problem += f" (grader check exited with status {args.exit_code})"
        results = failure_results(problem or "unknown")
    else:
        results = to_gradescope(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: score {num(results['score'])}"
          + (f" / {num(result.get('max_score'))}" if result else " (no grading result)"))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
