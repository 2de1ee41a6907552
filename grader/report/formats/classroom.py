"""What GitHub Classroom's ``autograding-grading-reporter`` reads, shaped for what it prints.

The reporter takes, for each runner (a step id listed in its ``runners`` input), the env
var ``<STEP_ID>_RESULTS`` (upper-cased), base64-decodes it and parses JSON of this shape:

    {"version": 1, "status": "pass"|"fail"|"error", "max_score": N,
     "tests": [{"name", "status": "pass"|"fail"|"error", "score", "message",
                "test_code", "filename", "line_no", "duration"}]}

What it does with it (its src/console-results.js, src/notify-classroom.js, src/main.js):

- the job log gets, per test, ``✅ <name>`` / ``❌ <name>`` (plus `` - line <line_no>`` when
  that is not 0); for an "error" test it prints ``Error: <message>`` instead, and the name
  not at all. Then, for every test whose ``test_code`` is not empty, ``Test code:`` and the
  ``test_code`` on the lines below. ``message`` is never printed for a pass or a fail;
- its console total (``Total points for <runner>: X/max_score`` and the summary table) is
  tests passed ÷ tests × ``max_score``: every test weighs the same, whatever its score;
- the points it records for the classroom (the ``Points X/Y`` notice) are the sum of the
  tests' ``score`` out of the sum of ``max_score``; it fails the job when ``status`` is
  "fail" or "error".

So the grader's payload is:

- ``max_score`` is the grader's ``max_score`` (bonus checks excluded), unrounded;
- every check is one test whose ``score`` is exactly the points it earned (bonus included),
  unrounded, so the reporter's sum is the grader's score to the last bit;
- ``test_code`` is what a student reads under a failed or skipped check: the check id and
  message, then what was expected, what was found, where (file:line) and how to fix it.
  It is empty for a passed check (nothing to print) and for an errored one, whose text goes
  in ``message``, the only field the reporter prints for an error;
- ``status`` is "error" when any check errored (a fault of the grading machine), "fail"
  when the submission did not pass (``result["passed"]`` is false: a required check failed
  or a safety rule was broken) or scored below ``min_score``, else "pass";
- a test is "pass" only when its check passed; a skipped check is "fail" with the reason,
  an errored one "error";
- ``filename``/``line_no`` are the check's location in the submission ("" and 0 without
  one), ``duration`` in milliseconds (as GitHub's own graders report it).
- checks the student is not shown (``visibility: hidden``, or ``after_due_date`` before the
  due date: grader/report/visibility.py) are folded into one last test, "Other checks",
  whose score is their points summed: the recorded points stay exactly the grader's score,
  and the log names none of them.

Everything printed is made safe for the job log first: no control characters (no ANSI
colours a student could fake), and no line that starts with ``::`` (a workflow command).
"""
from __future__ import annotations

import base64
import json
import re
from typing import Any

from grader.report.formats import AnyResult, diagnosis, refusal, unicode_safe
from grader.report.visibility import OTHER_CHECKS, Withheld, student_view, withheld_text
from grader.results import (
    CheckResult,
    GradeResult,
    Location,
    PolicyViolation,
    Status,
    number,
    points_text,
)

TEST_STATUS = {"passed": "pass", "failed": "fail", "skipped": "fail", "error": "error"}
MACHINE_FAULT = "(a fault of the grading machine, not of the submission)"
# C0/C1 controls except tab and newline, and the invisible format characters (bidi overrides).
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def log_safe(text: str) -> str:
    """``text`` as it may appear in a GitHub Actions log: printable, and never a workflow command."""
    lines = _UNPRINTABLE.sub("", str(text).replace("\r\n", "\n").replace("\r", "\n")).split("\n")
    # The runner treats a line whose first non-blank characters are "::" as a command.
    return "\n".join(": :" + line.lstrip()[2:] if line.lstrip().startswith("::") else line for line in lines)


def _explained(check: CheckResult) -> str:
    """The check's message, then expected / found / where / fix, one per line."""
    lines = [check.message] + [f"{label}: {text}" for label, text in diagnosis(check)]
    return "\n".join(line for line in lines if line)


def report_text(check: CheckResult) -> str:
    """What the reporter prints under a failed or skipped check (its ``test_code``)."""
    check_id = check.id or "check"
    if check.status is Status.SKIPPED:
        return log_safe(f"{check_id} skipped: {check.message or 'not run'}")
    if check.status is Status.FAILED:
        return log_safe(f"{check_id} failed: {_explained(check)}")
    return ""


def _message(check: CheckResult) -> str:
    """``message``: the full text for any status; for an error it is all the reporter prints."""
    if check.status is Status.ERROR:
        return log_safe(f"{check.title or check.id or 'check'}: {_explained(check)} {MACHINE_FAULT}")
    text = _explained(check) if check.status is Status.FAILED else check.message
    return log_safe(f"skipped: {text}" if check.status is Status.SKIPPED else text)


def _file_and_line(location: Location | None) -> tuple[str, int]:
    return (location.file, location.line or 0) if location else ("", 0)


def _test(check: CheckResult) -> dict[str, Any]:
    filename, line_no = _file_and_line(check.location)
    points = f"{points_text(check.points)}/{points_text(check.max_points)}"
    name = f"{check.title or check.id or 'check'} ({points}{' bonus' if check.bonus else ''})"
    return {
        "name": log_safe(name).replace("\n", " "),
        "status": TEST_STATUS[check.status.value],
        "score": number(check.points),
        "message": _message(check),
        "test_code": report_text(check),
        "filename": filename,
        "line_no": line_no,
        "duration": round(check.duration_s * 1000),
    }


def _policy_test(policy: list[PolicyViolation]) -> dict[str, Any]:
    """Not a check, and worth no points, but the student must see why nothing was booted."""
    lines = ["policy failed: refused by the safety policy, so nothing was built or started"]
    for violation in policy:
        where = f" (at {violation.location.file}:{violation.location.line or '?'})" if violation.location else ""
        lines.append(f"- {refusal(violation)}{where}")
    filename, line_no = _file_and_line(policy[0].location)
    text = log_safe("\n".join(lines))
    return {"name": "Safety policy (0/0)", "status": "fail", "score": 0, "message": text, "test_code": text,
            "filename": filename, "line_no": line_no, "duration": 0}


def _withheld_test(withheld: Withheld, due: str | None) -> dict[str, Any]:
    """The checks a student is not shown, as one test: their points, and only whether they passed."""
    status = "error" if withheld.errored else "pass" if withheld.passed else "fail"
    text = log_safe(withheld_text(withheld, due))
    points = f"{points_text(withheld.points)}/{points_text(withheld.max_points)}"
    return {"name": f"{OTHER_CHECKS} ({points})", "status": status, "score": number(withheld.points),
            "message": text, "test_code": text if status == "fail" else "", "filename": "", "line_no": 0,
            "duration": 0}


def classroom_status(value: AnyResult, min_score: float = 0) -> str:
    """`error` for a machine fault; with a min-score, pass at or above it (a refusal never
    passes); without one, pass when every required check passed."""
    result = GradeResult.of(value)
    if any(check.status is Status.ERROR for check in result.checks):
        return "error"
    try:
        minimum = float(min_score or 0)
    except (TypeError, ValueError):
        return "fail"
    if result.policy:
        return "fail"
    if minimum > 0:
        return "pass" if result.score >= minimum else "fail"
    return "pass" if result.passed else "fail"


def recorded_points(data: dict[str, Any]) -> int | float:
    """What the reporter records for one runner: its tests' scores summed in order, from 0."""
    total: int | float = 0
    for test in data.get("tests") or []:
        total += test.get("score") or 0
    return total


def _settle_score(tests: list[dict[str, Any]], score: float) -> None:
    """Make the reporter's sum equal ``score``, should a result's checks not add up to it.

    A result the grader wrote always adds up (its score is the same sum, in the same order);
    a hand-edited or foreign one may not, and the recorded points must still be its score.
    """
    if not tests or recorded_points({"tests": tests}) == score:
        return
    last = tests[-1]
    last["score"] = 0
    last["score"] = number(score - recorded_points({"tests": tests}))


def to_classroom(value: AnyResult, min_score: float = 0, show_after_due: bool = False) -> dict[str, Any]:
    """The reporter's JSON for one grading (a ``GradeResult`` or its ``to_dict()``)."""
    result = GradeResult.of(value)
    view = student_view(result, show_after_due)
    tests = [_test(check) for check in view.result.checks]
    if view.withheld:
        tests.append(_withheld_test(view.withheld, view.due))
    _settle_score(tests, number(result.score))
    if result.policy:
        tests.append(_policy_test(result.policy))  # worth 0: the sum stays the score
    return unicode_safe({
        "version": 1,
        "status": classroom_status(result, min_score),
        "max_score": number(result.max_score),
        "tests": tests,
    })


def error_classroom(message: str) -> dict[str, Any]:
    """The reporter's JSON when the grader produced no result at all."""
    return {
        "version": 1,
        "status": "error",
        "max_score": 0,
        "tests": [{"name": "compose-grader", "status": "error", "score": 0, "message": log_safe(message),
                   "test_code": "", "filename": "", "line_no": 0, "duration": 0}],
    }


def encode_classroom(data: dict[str, Any]) -> str:
    """Base64 of compact JSON: the value of the action's ``result`` output."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def decode_classroom(value: str) -> dict[str, Any]:
    """What the reporter does with ``<STEP_ID>_RESULTS``: base64, then JSON."""
    return json.loads(base64.b64decode(value).decode("utf-8"))
