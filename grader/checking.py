"""What a check author uses: the `check` marker and `fail()` with the details a student needs.

A check is a pytest test function::

    @check("redis-image", points=2, title="Redis runs from redis:alpine")
    def test_redis_image(compose, redis_service, expect, outcome):
        ...
        fail("The Redis service uses redis:latest", expected="redis:alpine", found="redis:latest",
             location=compose.locate(redis_service, "image"), hint="Set image: redis:alpine")
        outcome.message = "redis:alpine"   # shown when the check passes
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

import pytest

from grader.results import Location


class CheckFailure(AssertionError):
    """A student's mistake, with what was expected, what was found, where, and how to fix it."""

    def __init__(self, message: str, *, expected: str | None = None, found: str | None = None,
                 location: Location | None = None, hint: str | None = None, details: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.found = found
        self.location = location
        self.hint = hint
        self.details = details


def fail(message: str, **fields: Any) -> NoReturn:
    raise CheckFailure(message, **fields)


def check(check_id: str, *, points: float, title: str, bonus: bool = False) -> pytest.MarkDecorator:
    """Mark a test function as the rubric item ``check_id``."""
    return pytest.mark.check(id=check_id, points=points, title=title, bonus=bonus)


@dataclass
class Outcome:
    """A check's message when it passes (and extra details), set by the check."""

    message: str = ""
    details: str | None = None
