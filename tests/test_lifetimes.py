"""What stack-up's "keeps running" is judged on (grader/docker/lifetimes.py), on a clock the test
moves: a service that answered a probe since it last started needs no wait; any other must have
run settle_s, over both lives of the stack, the time it was down not counted."""
from __future__ import annotations

import pytest

from grader.docker import lifetimes
from grader.docker.lifetimes import Lifetimes


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(lifetimes.time, "monotonic", fake)
    return fake


def test_a_service_never_reached_must_run_settle_s(clock: Clock) -> None:
    lives = Lifetimes(2.0)
    lives.started(["worker"])
    clock.now += 0.5
    assert lives.settle_remaining() == pytest.approx(1.5)
    clock.now += 1.5
    assert lives.settle_remaining() == 0.0


def test_an_answer_since_the_last_start_settles_a_service(clock: Clock) -> None:
    lives = Lifetimes(2.0)
    lives.started(["redis", "worker"])
    clock.now += 0.2
    lives.note_answered("redis")
    assert lives.answered_in_this_life("redis") and not lives.answered_in_this_life("worker")
    assert lives.settle_remaining() == pytest.approx(1.8)  # the worker still must run its time
    lives.restarted("redis")
    assert not lives.answered_in_this_life("redis")  # an answer of an earlier life says nothing now


def test_the_time_down_does_not_count_and_the_first_life_can_settle(clock: Clock) -> None:
    lives = Lifetimes(2.0)
    lives.started(["redis", "web"])
    clock.now += 0.5
    lives.note_answered("redis")
    lives.went_down({"web": "exited with code 1"})
    clock.now += 10.0  # down, then up again: none of it counts
    lives.came_back(["redis", "web"])
    assert lives.settled_before_down("redis") and not lives.settled_before_down("web")
    assert lives.problems_before_down == {"web": "exited with code 1"}
    assert lives.observed_running("web") == pytest.approx(0.5)
    assert lives.settle_remaining() == pytest.approx(1.5)
    clock.now += 1.0
    lives.note_answered("web")
    assert lives.settle_remaining() == 0.0


def test_a_first_life_of_settle_s_settles_before_the_down(clock: Clock) -> None:
    lives = Lifetimes(2.0)
    lives.started(["worker"])
    clock.now += 2.5
    lives.went_down({})
    lives.came_back(["worker"])
    assert lives.settled_before_down("worker") and lives.settle_remaining() == 0.0
