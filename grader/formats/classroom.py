"""What GitHub Classroom's ``autograding-grading-reporter`` reads.

The reporter takes, for each runner (a step id listed in its ``runners`` input), the env
var ``<STEP_ID>_RESULTS`` (upper-cased), base64-decodes it and parses JSON of this shape:

    {"version": 1, "status": "pass"|"fail"|"error", "max_score": N,
     "tests": [{"name", "status": "pass"|"fail"|"error", "score", "message",
                "test_code", "filename", "line_no", "duration"}]}

It reports ``sum(tests[].score)`` out of ``max_score`` to the classroom, and fails the job
when ``status`` is "fail" or "error". So:

- ``max_score`` is the grader's ``max_score``: bonus checks excluded.
- every check is one test whose ``score`` is the points it earned, bonus included (the
  reporter sums them, so an earned bonus lifts the total above ``max_score``);
- ``status`` is "error" when any check errored (a fault of the grading machine), "fail"
  when the submission did not pass (``result["passed"]`` is false: a required check failed
  or a safety rule was broken) or scored below ``min_score``, else "pass";
- a test is "pass" only when its check passed; a skipped check is "fail" with the reason,
  an errored one "error";
- ``test_code`` is the check id, ``filename``/``line_no`` its location in the submission
  ("" and 0 without one), ``duration`` in milliseconds (as GitHub's own graders report it).
"""
from __future__ import annotations

import base64
import json
from typing import Any

from grader.formats import diagnosis, num, number, status_of, unicode_safe

TEST_STATUS = {"passed": "pass", "failed": "fail", "skipped": "fail", "error": "error"}


def _message(check: dict[str, Any]) -> str:
    status = status_of(check)
    message = str(check.get("message") or "")
    if status == "skipped":
        message = f"skipped: {message}"
    elif status in ("failed", "error"):
        message = "\n".join([message] + [f"{label}: {text}" for label, text in diagnosis(check)])
    if status == "error":
        message += " (a fault of the grading machine, not of the submission)"
    return message


def _test(check: dict[str, Any]) -> dict[str, Any]:
    location = check.get("location") if isinstance(check.get("location"), dict) else {}
    points = f"{num(check.get('points'))}/{num(check.get('max_points'))}"
    name = str(check.get("title") or check.get("id") or "check")
    name += f" ({points} bonus)" if check.get("bonus") else f" ({points})"
    try:
        duration = round(float(check.get("duration_s") or 0) * 1000)
    except (TypeError, ValueError):
        duration = 0
    try:
        line_no = int(location.get("line") or 0)
    except (TypeError, ValueError):
        line_no = 0
    return {
        "name": name,
        "status": TEST_STATUS[status_of(check)],
        "score": number(check.get("points")),
        "message": _message(check),
        "test_code": str(check.get("id") or ""),
        "filename": str(location.get("file") or ""),
        "line_no": line_no,
        "duration": duration,
    }


def classroom_status(result: dict[str, Any], min_score: float = 0) -> str:
    """`error` for a machine fault; with a min-score, pass at or above it (a refusal never
    passes); without one, pass when every required check passed."""
    checks = result.get("checks") or []
    if any(status_of(check) == "error" for check in checks):
        return "error"
    try:
        minimum = float(min_score or 0)
        score = float(result.get("score") or 0)
    except (TypeError, ValueError):
        return "fail"
    if result.get("policy"):
        return "fail"
    if minimum > 0:
        return "pass" if score >= minimum else "fail"
    return "pass" if result.get("passed") else "fail"


def to_classroom(result: dict[str, Any], min_score: float = 0) -> dict[str, Any]:
    """The reporter's JSON for one grading (a ``GradeResult.to_dict()``)."""
    tests = [_test(check) for check in result.get("checks") or []]
    policy = result.get("policy") or []
    if policy:
        # Not a check, and worth no points, but the student must see why nothing was booted.
        first = policy[0]
        location = first.get("location") if isinstance(first.get("location"), dict) else {}
        tests.append({
            "name": "Safety policy (0/0)",
            "status": "fail",
            "score": 0,
            "message": "refused by the safety policy: " + "; ".join(
                str(v.get("message") or v.get("rule")) for v in policy),
            "test_code": "policy",
            "filename": str(location.get("file") or ""),
            "line_no": int(location.get("line") or 0),
            "duration": 0,
        })
    return unicode_safe({
        "version": 1,
        "status": classroom_status(result, min_score),
        "max_score": number(result.get("max_score")),
        "tests": tests,
    })


def error_classroom(message: str) -> dict[str, Any]:
    """The reporter's JSON when the grader produced no result at all."""
    return {
        "version": 1,
        "status": "error",
        "max_score": 0,
        "tests": [{"name": "compose-grader", "status": "error", "score": 0, "message": message,
                   "test_code": "grader", "filename": "", "line_no": 0, "duration": 0}],
    }


def encode_classroom(data: dict[str, Any]) -> str:
    """Base64 of compact JSON: the value of the action's ``result`` output."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def decode_classroom(value: str) -> dict[str, Any]:
    """What the reporter does with ``<STEP_ID>_RESULTS``: base64, then JSON."""
    return json.loads(base64.b64decode(value).decode("utf-8"))
