"""Static grading without pytest: the checks are plain functions, so a grading that boots nothing
calls them directly, giving each the fixtures it names, and starts in a fraction of the time.

Only the static fixtures exist here (``grading``, ``expect``, ``compose``, ``redis_service``,
``web_service``, ``outcome``); a check that asks for any other (the stack, a Redis client, the
web URL, an instructor's own fixture) is reported skipped with the reason runtime checks do not
run. Outcomes are turned into results exactly as the pytest plugin turns them (outcomes.py).
"""
from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from grader.checking import CheckInfo, CheckSkipped, Outcome, check_info
from grader.grading.context import GradingContext
from grader.grading.outcomes import passed_result, result_of, result_of_exception
from grader.results import CheckResult, Status
from grader.rubric import RUN_ORDER

STATIC_FIXTURES = frozenset({"grading", "expect", "compose", "redis_service", "web_service", "outcome"})
CHECK_FILES = ("test_*.py", "check_*.py")

Check = tuple[CheckInfo, Callable[..., Any]]


class StaticRunner:
    """Runs every enabled check of ``check_dirs`` once; ``results`` holds them in run order."""

    def __init__(self, context: GradingContext, check_dirs: list[Path],
                 on_result: Callable[[CheckResult], None] | None = None) -> None:
        self.context = context
        self.check_dirs = check_dirs
        self.on_result = on_result
        self.results: list[CheckResult] = []
        self.pending: list[CheckInfo] = []

    def run(self) -> None:
        checks = ordered(discover(self.check_dirs), self.context)
        self.pending = [info for info, _ in checks]
        for info, function in checks:
            started = time.monotonic()
            result = self._run_one(info, function)
            result.duration_s = time.monotonic() - started
            self._emit(result)

    def finish_unrun(self, reason: str) -> None:
        """Report every check that never reached an outcome (the run was stopped)."""
        done = {result.id for result in self.results}
        for info in self.pending:
            if info.id not in done:
                self._emit(result_of(info, self.context.rubric, Status.SKIPPED, reason))

    def _emit(self, result: CheckResult) -> None:
        self.results.append(result)
        if self.on_result:
            self.on_result(result)

    def _run_one(self, info: CheckInfo, function: Callable[..., Any]) -> CheckResult:
        outcome = Outcome()
        try:
            function(**self._fixtures(function, outcome))
        except Exception as exc:  # noqa: BLE001 - a check never lets an exception escape: it becomes the result
            return result_of_exception(info, self.context.rubric, exc)
        return passed_result(info, self.context.rubric, outcome)

    def _fixtures(self, function: Callable[..., Any], outcome: Outcome) -> dict[str, Any]:
        names = list(inspect.signature(function).parameters)
        unknown = [name for name in names if name not in STATIC_FIXTURES]
        context = self.context
        if unknown:
            raise CheckSkipped(context.runtime_skip_reason() or context.static_reason
                               or f"static grading provides no {', '.join(unknown)}")
        if context.model is None and {"compose", "redis_service", "web_service"} & set(names):
            raise CheckSkipped("the Compose file could not be loaded (see compose-file)")
        values = {"grading": context, "expect": context.rubric.expect, "compose": context.model,
                  "redis_service": context.redis_service if context.model else None,
                  "web_service": context.web_service if context.model else None, "outcome": outcome}
        return {name: values[name] for name in names}


def discover(check_dirs: list[Path]) -> list[Check]:
    """Every marked check function in the check files of ``check_dirs``."""
    found: list[Check] = []
    for path in _check_files(check_dirs):
        module = _load(path)
        for name, value in vars(module).items():
            info = check_info(value)
            if info is not None and name.startswith("test"):
                found.append((info, value))
    return found


def ordered(checks: list[Check], context: GradingContext) -> list[Check]:
    order = {check_id: index for index, check_id in enumerate(RUN_ORDER)}
    enabled = [check for check in checks if context.rubric.enabled(check[0].id)]
    return sorted(enabled, key=lambda check: order.get(check[0].id, len(order)))


def _check_files(check_dirs: list[Path]) -> Iterator[Path]:
    for folder in check_dirs:
        seen: set[Path] = set()
        for pattern in CHECK_FILES:
            for path in sorted(Path(folder).glob(pattern)):
                if path not in seen:
                    seen.add(path)
                    yield path


def _load(path: Path) -> ModuleType:
    """Import a check file under a name of its own (as pytest's importlib mode does), once."""
    name = "grader_checks_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12] + "_" + path.stem
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the check file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
