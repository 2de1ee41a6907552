"""What stack-up's "keeps running" is judged on (grader/docker/lifetimes.py), on a clock the test
moves: a service that answered a probe since it last started needs no wait; any other must have
run settle_s, over both lives of the stack, the time it was down not counted."""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from checks.test_stack_up import _problems
from grader.docker import lifetimes
from grader.docker.lifetimes import Lifetimes
from grader.docker.service_state import ServiceState


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


@dataclass
class SeenStack:
    """What stack-up's problems are drawn from: the lives, the services as last inspected, and
    what a watch for a crash-looping service's next exit would see."""
    lifetimes: Lifetimes
    services: dict[str, ServiceState]
    watched: dict[str, ServiceState] = field(default_factory=dict)

    def wait_running(self, name: str, timeout: float, *, until_down: bool = False) -> ServiceState:
        assert until_down
        self.services[name] = self.watched.get(name, self.services[name])
        return self.services[name]


def caught_running(restarts: int, last_exit_code: int | None = None) -> ServiceState:
    return ServiceState("web", status="running", running=True, restarts=restarts, exit_code=0,
                        last_exit_code=last_exit_code)


def down_and_up_after(clock: Clock, ran_s: float, problem: str | None = None) -> Lifetimes:
    """The web service's lives when persistence took the stack down after ``ran_s`` seconds."""
    lives = Lifetimes(2.0)
    lives.started(["web"])
    clock.now += ran_s
    lives.went_down({"web": problem} if problem else {})
    lives.came_back(["web"])
    return lives


def test_a_crash_loop_is_told_as_it_is_now_when_it_is_seen_ending(clock: Clock) -> None:
    lives = down_and_up_after(clock, 1.0, "it keeps restarting: it exits and Docker starts it again (2 restarts so far)")
    ended = ServiceState("web", status="restarting", running=False, restarts=1, exit_code=1, last_exit_code=1)
    stack = SeenStack(lives, {"web": caught_running(1)}, watched={"web": ended})
    assert _problems(stack) == {"web": ended.problem}
    assert "with code 1" in _problems(stack)["web"]


def test_a_crash_loop_still_not_seen_ending_keeps_what_was_seen_before_the_down(clock: Clock) -> None:
    before = "it keeps restarting: it exits with code 1 and Docker starts it again (3 restarts so far)"
    stack = SeenStack(down_and_up_after(clock, 1.0, before), {"web": caught_running(1)})
    assert _problems(stack) == {"web": before}


def test_a_service_that_settled_before_the_down_is_judged_on_its_first_life(clock: Clock) -> None:
    lives = down_and_up_after(clock, 3.0)
    assert _problems(SeenStack(lives, {"web": caught_running(1, last_exit_code=1)})) == {}
