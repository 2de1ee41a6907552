"""The result objects read back from their JSON: ``from_dict(to_dict(x)) == x`` for any result,
``to_dict(from_dict(d)) == d`` for every result the grader writes, and saved files that are not
quite the contract (older, hand-edited, foreign) read without a traceback.
"""
from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import grader
from grader.results import (
    CheckResult,
    GradeResult,
    Ignored,
    Location,
    PolicyViolation,
    Status,
    Totals,
    number,
    points_text,
)
from tests.conftest import SAMPLES

TEXT = st.text(max_size=30)  # any text, lone surrogates and control characters included
POINTS = st.one_of(st.integers(0, 50), st.floats(0, 50, allow_nan=False, allow_infinity=False),
                   st.sampled_from([1 / 3, 0.1, 2.5]))
LOCATIONS = st.one_of(st.none(), st.builds(Location, st.text(min_size=1, max_size=20), st.one_of(st.none(), st.integers(0, 10**6))))
SECONDS = st.integers(0, 10**7).map(lambda ms: ms / 1000)  # results keep durations to the millisecond

CHECKS = st.builds(
    CheckResult, id=TEXT, title=TEXT, status=st.sampled_from(list(Status)), max_points=POINTS, bonus=st.booleans(),
    message=TEXT, hint=st.one_of(st.none(), TEXT), location=LOCATIONS, expected=st.one_of(st.none(), TEXT),
    found=st.one_of(st.none(), TEXT), details=st.one_of(st.none(), TEXT), duration_s=SECONDS)
VIOLATIONS = st.builds(PolicyViolation, TEXT, TEXT, LOCATIONS, st.one_of(st.none(), TEXT))
IGNORED = st.builds(Ignored, TEXT, TEXT, TEXT, LOCATIONS)
RESULTS = st.builds(
    GradeResult, submission=TEXT, checks=st.lists(CHECKS, max_size=8), started_at=TEXT, duration_s=SECONDS,
    grader_version=TEXT, mode=st.sampled_from(["full", "static", "live"]), notice=st.one_of(st.none(), TEXT),
    compose_file=st.one_of(st.none(), TEXT), services=st.dictionaries(TEXT, st.one_of(st.none(), TEXT), max_size=3),
    policy=st.lists(VIOLATIONS, max_size=3), ignored=st.lists(IGNORED, max_size=3))


def through_json(data: dict[str, Any]) -> dict[str, Any]:
    """What a saved file gives back."""
    return json.loads(json.dumps(data))


@settings(max_examples=300, deadline=None)
@given(RESULTS)
def test_any_result_reads_back_from_its_json(result: GradeResult) -> None:
    assert GradeResult.from_dict(result.to_dict()) == result
    again = GradeResult.from_dict(through_json(result.to_dict()))
    assert again == result and again.saved is None
    assert again.to_dict() == through_json(result.to_dict())
    assert (again.score, again.max_score, again.passed) == (result.score, result.max_score, result.passed)


@settings(max_examples=200, deadline=None)
@given(RESULTS, st.floats(-5, 100, allow_nan=False), st.booleans())
def test_a_hand_edited_result_keeps_the_numbers_it_says(result: GradeResult, score: float, passed: bool) -> None:
    data = through_json(result.to_dict())
    data.update(score=number(score), passed=passed)
    if data["checks"]:
        data["checks"][0]["points"] = 7.25
    read = GradeResult.from_dict(data)
    assert (read.score, read.passed) == (number(score), passed)
    assert read.to_dict() == data
    if data["checks"]:
        assert read.checks[0].points == 7.25
    assert GradeResult.from_dict(read.to_dict()) == read


@pytest.mark.parametrize("sample", sorted(path.name for path in SAMPLES.iterdir() if path.is_dir()))
def test_every_sample_result_reads_back_exactly(sample: str) -> None:
    """Static gradings of every sample: the JSON the grader writes is the JSON it reads back."""
    written = through_json(grader.grade(SAMPLES / sample, mode="static").to_dict())
    read = GradeResult.from_dict(written)
    assert read.saved is None and all(check.saved_points is None for check in read.checks)
    assert read.to_dict() == written
    assert json.dumps(read.to_dict()) == json.dumps(written)  # the same keys in the same order


def test_what_a_saved_result_may_lack_takes_its_default() -> None:
    read = GradeResult.from_dict({"submission": "bob", "checks": [{"id": "a", "status": "passed", "max_points": 2},
                                                                  {"id": "b", "status": "exploded"}, "not a check"]})
    assert [check.status for check in read.checks] == [Status.PASSED, Status.ERROR]
    assert (read.score, read.max_score, read.mode, read.policy, read.ignored, read.saved) == (2, 2, "full", [], [], None)
    assert read.checks[0].title == "" and read.checks[0].hint is None and read.checks[0].location is None
    strange = GradeResult.from_dict({"checks": [{"max_points": "two", "duration_s": float("inf"), "bonus": 1,
                                                 "location": {"file": "compose.yaml", "line": "7"}}],
                                     "score": True, "services": ["redis"], "policy": [{"message": 3}]})
    check = strange.checks[0]
    assert (check.max_points, check.duration_s, check.bonus) == (0, 0, True)
    assert check.location == Location("compose.yaml", None) and str(check.location) == "compose.yaml"
    assert strange.score == 0 and strange.services == {} and strange.policy[0].message == "3"


def test_totals_differ_only_when_saved_so() -> None:
    result = GradeResult("s", [CheckResult("a", "A", Status.PASSED, 2), CheckResult("b", "B", Status.FAILED, 2, bonus=True)],
                         "t", 1.0, "v")
    data = result.to_dict()
    assert GradeResult.from_dict(data).saved is None
    data["max_score"] = 10
    assert GradeResult.from_dict(data).saved == Totals(2, 10, True)


def test_points_read_the_same_everywhere() -> None:
    assert [points_text(value) for value in (2, 2.0, 2.5, 1 / 3, 0.005, 17.0, 0)] == ["2", "2", "2.5", "0.33", "0.01", "17", "0"]
    assert [number(value) for value in (2.0, 2.5, 1 / 3)] == [2, 2.5, 1 / 3]
