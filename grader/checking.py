"""The one module a check author imports (docs/checks.md): the `check` marker, `fail()` with the
details a student needs, `Outcome`, and the types and probes a check works with.

A check is a pytest test function::

    @check("redis-image", points=2, title="Redis runs from redis:alpine")
    def test_redis_image(compose, redis_service, expect, outcome):
        ...
        fail("The Redis service uses redis:latest", expected="redis:alpine", found="redis:latest",
             location=compose.locate(redis_service, "image"), hint="Set image: redis:alpine")
        outcome.message = "redis:alpine"   # shown when the check passes
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from grader.results import Location

CheckFunction = TypeVar("CheckFunction", bound=Callable[..., Any])


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
    """End the check here as failed; ``fields`` are CheckFailure's: expected, found, location, hint, details."""
    raise CheckFailure(message, **fields)


class CheckSkipped(Exception):
    """The check cannot be judged here (it names why): reported as skipped, not as a failure."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def skip(reason: str) -> NoReturn:
    """End the check here as skipped, saying why (e.g. "live mode: the grader did not boot the stack")."""
    raise CheckSkipped(reason)


@dataclass(frozen=True)
class CheckInfo:
    """What makes a function a rubric item: its id, points, title, and whether it is a bonus."""

    id: str
    points: float
    title: str
    bonus: bool = False


def check(check_id: str, *, points: float, title: str, bonus: bool = False) -> Callable[[CheckFunction], CheckFunction]:
    """Mark a test function as the rubric item ``check_id``.

    The mark is a plain attribute, not a pytest marker, so that static grading can run the
    checks without loading pytest at all; the pytest plugin reads the same attribute."""
    info = CheckInfo(check_id, points, title, bonus)

    def mark(function: CheckFunction) -> CheckFunction:
        function.__grader_check__ = info  # type: ignore[attr-defined]
        return function

    return mark


def check_info(function: Any) -> CheckInfo | None:
    """The rubric item a function was marked as, or None."""
    info = getattr(function, "__grader_check__", None)
    return info if isinstance(info, CheckInfo) else None


@dataclass
class Outcome:
    """A check's message when it passes (and extra details), set by the check.

    A check that passes on a student's screenshot names it in ``screenshot``, and ``points`` when
    the rubric makes that pass worth less than the check's points."""

    message: str = ""
    details: str | None = None
    screenshot: str | None = None
    points: float | None = None


# What a check works with, from the layers above; loaded on first use (PEP 562), so importing
# this module stays cheap and never runs back up the layers at import time.
_LAZY = {
    "ComposeModel": ("grader.submission.model", "ComposeModel"),
    "GradingContext": ("grader.grading.context", "GradingContext"),
    "Stack": ("grader.docker.stack", "Stack"),
    "ServiceState": ("grader.docker.stack", "ServiceState"),
    "probes": ("grader.grading.probes", None),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'grader.checking' has no attribute {name!r}")
    import importlib

    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


__all__ = ["CheckFailure", "CheckInfo", "CheckSkipped", "Location", "Outcome", "check", "check_info", "fail", "skip",
           *_LAZY]
