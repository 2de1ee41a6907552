"""What GitHub Classroom's reporter prints and records for the grader's ``result`` output.

Students read the log of ``classroom-resources/autograding-grading-reporter``, not the
grader's own. This module models, in this project's own code, what that action does with a
payload (its src/console-results.js, src/aggregate-results.js, src/helpers/test-helpers.js,
src/notify-classroom.js and src/main.js, as read at commit 43c2d9f):

- per test: ``✅ name`` (pass) or ``❌ name`` (anything but pass/error), `` - line N`` unless
  ``line_no`` is 0; an "error" test prints ``Error: <message>`` (or "Failed to run test
  '<name>'") and an empty line instead; then, for every test with a non-empty
  ``test_code``, ``Test code:``, the code's lines and an empty line;
- ``Total points for <runner>: <passed/tests*max_score, toFixed(2)>/<max_score>`` and an
  empty line, unless max_score is 0; the summary table (not modelled line by line: it
  repeats the same number); ``🏆 Grand total tests passed: P/T``;
- the notices it records: ``Points <sum of scores>/<sum of max_score>`` and the JSON
  ``{"totalPoints":…,"maxPoints":…}`` (runners whose max_score is 0 are left out, and no
  notice at all when every max_score is 0); then ``Some tests failed.`` when a runner's
  status is "fail", else ``Some tests errored.`` for "error".

The grader's results here are real ones (static mode on the samples) and pass through the
same base64 encoding the action uses.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import grader
from grader.report.formats.classroom import decode_classroom, encode_classroom, recorded_points, to_classroom
from grader.results import CheckResult, GradeResult, Location, PolicyViolation, Status
from grader.rubric import CheckOverride, Rubric
from tests.conftest import SAMPLES

RUNNER = "grader"


# The model -------------------------------------------------------------------------------------

def js_number(value: float) -> str:
    """``String(x)`` in JavaScript for the numbers a payload holds (finite, not huge)."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def js_to_fixed(value: float, digits: int) -> str:
    """``x.toFixed(digits)``: the exact double, rounded half up (JavaScript picks the larger n on a tie)."""
    return str(Decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


@dataclass
class ReporterRun:
    lines: list[str]          # the console log, colours left out
    notices: list[str]        # core.notice: "title::text"
    failure: str | None       # core.setFailed's message


def console_score(payload: dict[str, Any]) -> float:
    """getTestScore: passed tests ÷ tests × max_score."""
    passed = sum(1 for test in payload["tests"] if test["status"] == "pass")
    return passed / len(payload["tests"]) * (payload["max_score"] or 0)


def printed_for(test: dict[str, Any]) -> list[str]:
    line = f" - line {test['line_no']}" if test["line_no"] != 0 else ""
    if test["status"] == "pass":
        lines = [f"✅ {test['name']}{line}"]
    elif test["status"] == "error":
        shown = test["message"] or f"Failed to run test '{test['name']}'"
        lines = f"Error: {shown}\n".split("\n")
    else:
        lines = [f"❌ {test['name']}{line}"]
    if test["test_code"]:
        lines += f"Test code:\n{test['test_code']}\n".split("\n")
    return lines


def run_reporter(payloads: list[dict[str, Any]]) -> ReporterRun:
    lines: list[str] = []
    for index, payload in enumerate(payloads):
        if index > 0:
            lines += ["🚀" * 24, ""]
        lines.append(f"🔄 Processing: {RUNNER}")
        for test in payload["tests"]:
            lines += printed_for(test)
        if payload["max_score"]:
            lines += [f"Total points for {RUNNER}: {js_to_fixed(console_score(payload), 2)}/{js_number(payload['max_score'])}", ""]
    lines.append("Test runner summary")
    passed = sum(1 for payload in payloads for test in payload["tests"] if test["status"] == "pass")
    lines += [f"🏆 Grand total tests passed: {passed}/{sum(len(payload['tests']) for payload in payloads)}", ""]
    return ReporterRun(lines, notices(payloads), failure(payloads))


def notices(payloads: list[dict[str, Any]]) -> list[str]:
    scored = [payload for payload in payloads if payload["max_score"]]
    total_points: float = 0
    for payload in scored:
        total_points += recorded_points(payload)
    max_points = sum(payload["max_score"] for payload in scored)
    if not max_points:
        return []
    summary = f'{{"totalPoints":{js_number(total_points)},"maxPoints":{js_number(max_points)}}}'  # JSON.stringify
    return [f"Autograding complete::Points {js_number(total_points)}/{js_number(max_points)}",
            f"Autograding report::{summary}"]


def failure(payloads: list[dict[str, Any]]) -> str | None:
    if any(payload["status"] == "fail" for payload in payloads):
        return "Some tests failed."
    if any(payload["status"] == "error" for payload in payloads):
        return "Some tests errored."
    return None


# Helpers ---------------------------------------------------------------------------------------

def payload_of(result: GradeResult) -> dict[str, Any]:
    """What the reporter parses: the action's base64 output of the grader's JSON result."""
    as_json = json.loads(json.dumps(result.to_dict()))  # the --json file, read back
    return decode_classroom(encode_classroom(to_classroom(as_json)))


def block_under(lines: list[str], heading: str) -> list[str]:
    """The lines the reporter printed under the test whose first line is ``heading``, up to the next test."""
    start = lines.index(heading) + 1
    end = next(index for index in range(start, len(lines))
               if lines[index].startswith(("✅ ", "❌ ", "Error: ", "Total points for ")))
    return lines[start:end]


@pytest.fixture(scope="module")
def static_results() -> dict[str, GradeResult]:
    return {name: grader.grade(SAMPLES / name, mode="static") for name in ("perfect", "wrong_port")}


# The tests -------------------------------------------------------------------------------------

def test_a_failed_check_prints_expected_found_where_and_fix(static_results: dict[str, GradeResult]) -> None:
    result = static_results["wrong_port"]
    port = result.check("redis-port")
    assert port is not None and port.status is Status.FAILED and port.location is not None
    run = run_reporter([payload_of(result)])
    heading = f"❌ {port.title} (0/{port.max_points:g}) - line {port.location.line}"
    block = block_under(run.lines, heading)
    assert block[0] == "Test code:"
    assert block[1] == f"redis-port failed: {port.message}"
    assert block[2:6] == [f"expected: {port.expected}", f"found: {port.found}",
                          f"where: {port.location.file}:{port.location.line}", f"fix: {port.hint}"]
    assert block[6:] == [""]
    assert "6380" in port.found and "6379:6379" in port.hint  # the student learns the actual fix


def test_passed_checks_print_no_code_and_skipped_ones_say_why(static_results: dict[str, GradeResult]) -> None:
    result = static_results["perfect"]
    run = run_reporter([payload_of(result)])
    for check in result.checks:
        points = f"{check.points:g}/{check.max_points:g}" + (" bonus" if check.bonus else "")
        if check.status is Status.PASSED:
            assert block_under(run.lines, f"✅ {check.title} ({points})") == []
        else:
            assert check.status is Status.SKIPPED
            assert block_under(run.lines, f"❌ {check.title} ({points})") == \
                ["Test code:", f"{check.id} skipped: {check.message}", ""]
    assert run.failure is None


@pytest.mark.parametrize("sample", ["perfect", "wrong_port"])
def test_recorded_points_are_the_grader_score(sample: str, static_results: dict[str, GradeResult]) -> None:
    result = static_results[sample]
    run = run_reporter([payload_of(result)])
    assert run.notices[0] == f"Autograding complete::Points {js_number(result.score)}/{js_number(result.max_score)}"
    assert json.loads(run.notices[1].split("::", 1)[1]) == {"totalPoints": result.score, "maxPoints": result.max_score}
    assert run.failure == (None if result.passed else "Some tests failed.")


def test_console_total_counts_tests_not_points(static_results: dict[str, GradeResult]) -> None:
    """The reporter's own total weighs every check the same: for wrong_port it is not the grade."""
    result = static_results["wrong_port"]
    run = run_reporter([payload_of(result)])
    passed = sum(1 for check in result.checks if check.status is Status.PASSED)
    total_line = next(line for line in run.lines if line.startswith("Total points for"))
    expected = js_to_fixed(passed / len(result.checks) * result.max_score, 2)
    assert total_line == f"Total points for {RUNNER}: {expected}/{js_number(result.max_score)}"
    assert float(expected) != result.score  # 3 of 9 checks × 14 = 4.67, while the grade is 5
    assert f"🏆 Grand total tests passed: {passed}/{len(result.checks)}" in run.lines


def test_an_errored_check_prints_its_name_and_why_in_the_message() -> None:
    broken = CheckResult("redis-ping", "The Redis server answers PING", Status.ERROR, 1,
                         message="the Docker engine went away", hint="Run the grader again.")
    passed = CheckResult("compose-file", "A valid Compose file", Status.PASSED, 1, message="ok")
    result = GradeResult("s", [passed, broken], "2025-01-01T00:00:00+00:00", 1.0, "test", mode="full")
    run = run_reporter([payload_of(result)])
    error_line = next(line for line in run.lines if line.startswith("Error: "))
    assert error_line == "Error: The Redis server answers PING: the Docker engine went away"
    assert "fix: Run the grader again. (a fault of the grading machine, not of the submission)" in run.lines
    assert "Test code:" not in run.lines
    assert run.failure == "Some tests errored."


def test_student_text_never_becomes_a_workflow_command_or_a_fake_colour() -> None:
    hostile = "x\n::error::pwned\n  ::add-mask::y\r\x1b[32m✅ all good\x1b[0m\u202e"
    check = CheckResult("student-name", "Key student_name holds your name", Status.FAILED, 2, message="wrong",
                        found=hostile, expected="your name", hint=hostile, location=Location("compose.yaml", 3))
    refused = PolicyViolation("privileged", f"privileged {hostile}", Location("compose.yaml", 4))
    result = GradeResult("s", [check], "2025-01-01T00:00:00+00:00", 1.0, "test", mode="full", policy=[refused])
    run = run_reporter([payload_of(result)])
    printed = [line for line in run.lines]
    assert not [line for line in printed if line.lstrip().startswith("::")]
    assert not [line for line in printed if "\x1b" in line or "\u202e" in line or "\r" in line]
    assert any(line.startswith("found: x") for line in printed) and ": :error::pwned" in printed
    assert "❌ Safety policy (0/0) - line 4" in printed


def test_points_of_any_weight_add_up_to_the_grader_score_where_rounding_did_not() -> None:
    """Three checks worth a third each and one worth 2: the grade is 3; tests rounded to 0.333 recorded 2.999."""
    thirds = Rubric(checks={check_id: CheckOverride(points=1 / 3) for check_id in ("compose-file", "redis-image", "redis-port")})
    result = grader.grade(SAMPLES / "perfect", mode="static", rubric=thirds)
    assert result.score == 3  # a third, three times, and named-volume's 2
    payload = payload_of(result)
    assert [test["score"] for test in payload["tests"][:3]] == [1 / 3] * 3
    assert recorded_points(payload) == 3 and run_reporter([payload]).notices[0] == f"Autograding complete::Points 3/{js_number(result.max_score)}"
    assert math.isclose(sum(round(check.points, 3) for check in result.checks), 2.999)  # what rounding recorded


def test_a_result_whose_checks_do_not_add_up_still_records_its_score() -> None:
    data = json.loads(json.dumps(GradeResult("s", [CheckResult("a", "A", Status.PASSED, 2), CheckResult("b", "B", Status.FAILED, 2)],
                                             "2025-01-01T00:00:00+00:00", 1.0, "test").to_dict()))
    data["score"] = 1.5  # edited by hand after grading
    payload = to_classroom(data)
    assert recorded_points(payload) == 1.5 and payload["tests"][0]["score"] == 2


POINTS = st.one_of(st.integers(0, 20), st.sampled_from([0.1, 0.2, 0.25, 1 / 3, 2 / 3, 0.05, 1.5, 0.0004]),
                   st.floats(0, 10, allow_nan=False, allow_infinity=False))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(POINTS, st.sampled_from(list(Status)), st.booleans()), min_size=1, max_size=12),
       st.booleans())
def test_recorded_points_equal_the_score_for_any_rubric(checks: list[tuple[float, Status, bool]], refused: bool) -> None:
    results = [CheckResult(f"c{index}", f"Check {index}", status, float(points), bonus=bonus, message="m")
               for index, (points, status, bonus) in enumerate(checks)]
    policy = [PolicyViolation("privileged", "privileged: true")] if refused else []
    result = GradeResult("s", results, "2025-01-01T00:00:00+00:00", 1.0, "test", mode="full", policy=policy)
    payload = payload_of(result)
    assert recorded_points(payload) == result.score  # bit for bit: the reporter adds the same doubles in the same order
    assert payload["max_score"] == result.max_score
    assert notices([payload])[:1] == ([f"Autograding complete::Points {js_number(result.score)}/{js_number(result.max_score)}"]
                                      if result.max_score else [])
