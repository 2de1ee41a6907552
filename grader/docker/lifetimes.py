"""How long each service of a booted stack has run under the grader: what stack-up's "keeps
running" is judged on.

A service keeps running when, in the life the grader judges, it either answered one of the
grader's probes since it last started (Redis answered PING or GET, the web app a page: it is up
and doing its work, which waiting would only confirm) or, for a service the grader never reaches,
it has run ``settle_s`` seconds. Persistence's `down` splits the stack's time in two lives; the
time it is down does not count. A service that had settled before the `down` is judged on that
first life, and what happens to it afterwards is persistence's business.
"""
from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class Lifetimes:
    settle_s: float
    first_started: dict[str, float] = field(default_factory=dict)  # service -> monotonic time
    last_started: dict[str, float] = field(default_factory=dict)   # the start of its current life
    answered: dict[str, float] = field(default_factory=dict)       # its last answer to a probe
    ran_before_down: dict[str, float] = field(default_factory=dict)
    problems_before_down: dict[str, str] = field(default_factory=dict)
    answered_before_down: set[str] = field(default_factory=set)
    up_again_at: float | None = None

    def started(self, names: Iterable[str]) -> None:
        now = time.monotonic()
        for name in names:
            self.first_started.setdefault(name, now)
            self.last_started[name] = now

    def restarted(self, name: str) -> None:
        """The grader restarted ``name`` (a restart, not a crash: its running time goes on)."""
        self.last_started[name] = time.monotonic()

    def note_answered(self, name: str) -> None:
        self.answered[name] = time.monotonic()

    def went_down(self, problems: dict[str, str]) -> None:
        """Persistence takes the stack down: the first life ends, with these problems."""
        now = time.monotonic()
        self.ran_before_down = {name: now - started for name, started in self.first_started.items()}
        self.problems_before_down = dict(problems)
        self.answered_before_down = {name for name in self.first_started if self.answered_in_this_life(name)}

    def came_back(self, names: Iterable[str]) -> None:
        self.up_again_at = time.monotonic()
        for name in names:
            self.last_started[name] = self.up_again_at

    def answered_in_this_life(self, name: str) -> bool:
        return self.answered.get(name, -1.0) > self.last_started.get(name, float("inf"))

    def observed_running(self, name: str) -> float:
        """Seconds the grader has seen ``name`` run, over both lives."""
        now = time.monotonic()
        if self.up_again_at is None:
            return now - self.first_started.get(name, now)
        return self.ran_before_down.get(name, 0.0) + now - self.up_again_at

    def settled_before_down(self, name: str) -> bool:
        """Whether ``name`` had settled when persistence took the stack down: then its first life
        decides stack-up."""
        if self.up_again_at is None:
            return False
        return self.ran_before_down.get(name, 0.0) >= self.settle_s or name in self.answered_before_down

    def settle_remaining(self) -> float:
        """How much longer until every started service has settled (0 when all have)."""
        waits = [self.settle_s - self.observed_running(name) for name in self.first_started
                 if not self.answered_in_this_life(name) and not self.settled_before_down(name)]
        return max([0.0, *waits])
