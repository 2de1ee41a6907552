"""Running the checks through pytest, for gradings that boot a stack (or probe a live one): pytest
gives the runtime checks their fixtures (the stack, a Redis client, the web URL) and an
instructor's checks their own conftest fixtures. Imported only then: static grading never
loads pytest (grader/grading/static.py)."""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from grader.grading.context import GradingContext
from grader.grading.interrupts import Interrupted
from grader.grading.plugin import GraderPlugin
from grader.results import CheckResult

# pytest's own plugins a grading does not need; each costs start-up time or a pass at the end
_NOT_NEEDED = ("cacheprovider", "terminal", "stepwise", "unraisableexception", "threadexception", "junitxml",
               "pastebin", "nose", "doctest", "legacypath", "setuponly", "setupplan")


class PytestRunner:
    def __init__(self, context: GradingContext, check_dirs: list[Path],
                 on_result: Callable[[CheckResult], None] | None = None) -> None:
        self.plugin = GraderPlugin(context, on_result)
        self.check_dirs = check_dirs

    @property
    def results(self) -> list[CheckResult]:
        return self.plugin.results

    def run(self) -> None:
        args = [*map(str, self.check_dirs), "--disable-plugin-autoload", *_disabled(),
                "--import-mode=importlib", "--rootdir", str(self.check_dirs[0]), "-c", os.devnull,
                "-o", "python_files=test_*.py check_*.py", "-W", "ignore", "--capture=no"]
        if pytest.main(args, plugins=[self.plugin]) == pytest.ExitCode.INTERRUPTED:
            raise Interrupted()

    def finish_unrun(self, reason: str) -> None:
        self.plugin.finish_unrun(reason)


def _disabled() -> list[str]:
    args: list[str] = []
    for name in _NOT_NEEDED:
        args += ["-p", f"no:{name}"]
    return args
