"""The pytest plugin that runs checks in-process and turns each outcome into a CheckResult.

Results come from the test reports and the exceptions themselves, never from parsing
pytest's output. A check never lets an exception escape: a CheckFailure is a failed
check, a skip is skipped, an environment problem (Docker gone) or a grader bug is error.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import pytest

from grader.docker import commands as docker
from grader.grading import probes
from grader.checking import CheckInfo, Outcome, check_info
from grader.grading.context import GradingContext
from grader.grading.outcomes import MACHINE_HINT, passed_result, result_of, result_of_exception
from grader.errors import EnvironmentProblem
from grader.results import CheckResult, Status
from grader.rubric import RUN_ORDER



# Fixtures that only make sense when the stack runs: a check using one is a runtime check.
RUNTIME_FIXTURES = frozenset({"runtime", "stack", "redis_endpoint", "redis_client", "web_url"})

_OUTCOME_KEY = pytest.StashKey[Outcome]()
_STARTED_KEY = pytest.StashKey[float]()
_RESULT_KEY = pytest.StashKey[CheckResult]()


class GraderPlugin:
    def __init__(self, context: GradingContext, on_result: Callable[[CheckResult], None] | None = None) -> None:
        self.context = context
        self.on_result = on_result
        self.results: list[CheckResult] = []
        self.items: list[pytest.Item] = []

    # Configuration and collection -------------------------------------------------------

    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", "check(id, points, title, bonus): a rubric item")

    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        selected, deselected = [], []
        for item in items:
            info = info_of(item)
            if info and self.context.rubric.enabled(info.id):
                selected.append(item)
            else:
                deselected.append(item)
        order = {check_id: index for index, check_id in enumerate(RUN_ORDER)}
        selected.sort(key=lambda item: order.get(info_of(item).id, len(order)))
        if deselected:
            config.hook.pytest_deselected(items=deselected)
        items[:] = selected
        self.items = list(selected)

    # Fixtures ------------------------------------------------------------------------------

    @pytest.fixture(scope="session")
    def grading(self) -> GradingContext:
        return self.context

    @pytest.fixture(scope="session")
    def expect(self) -> Any:
        return self.context.rubric.expect

    @pytest.fixture
    def compose(self, request: pytest.FixtureRequest) -> Any:
        if self.context.model is None:
            reason = self.context.runtime_skip_reason()
            if reason and RUNTIME_FIXTURES & set(request.fixturenames):
                pytest.skip(reason)  # a runtime check says why nothing runs, e.g. the safety rule
            pytest.skip("the Compose file could not be loaded (see compose-file)")
        return self.context.model

    @pytest.fixture
    def redis_service(self, compose: Any) -> str | None:
        return self.context.redis_service

    @pytest.fixture
    def web_service(self, compose: Any) -> str | None:
        return self.context.web_service

    @pytest.fixture(scope="session")
    def runtime(self) -> None:
        """Skip a runtime check when nothing may run (static mode, refused by the safety policy)."""
        reason = self.context.runtime_skip_reason()
        if reason:
            pytest.skip(reason)

    @pytest.fixture(scope="session")
    def stack(self, runtime: None) -> Any:
        if self.context.model is None:
            pytest.skip("the Compose file could not be loaded (see compose-file)")
        return self.context.require_stack()

    @pytest.fixture(scope="session")
    def redis_endpoint(self, runtime: None) -> tuple[str, int, str | None]:
        """(host, port, password) of the Redis server under test."""
        context = self.context
        if context.mode == "live" and context.live:
            url = urlparse(context.live.redis_url)
            return url.hostname or "localhost", url.port or 6379, url.password
        if context.model is None:
            pytest.skip("the Compose file could not be loaded (see compose-file)")
        service = context.redis_service
        if service is None:
            pytest.skip("there is no Redis service in the Compose file (see redis-image)")
        not_redis = context.not_a_redis_image()
        if not_redis:
            pytest.skip(not_redis)
        stack = context.require_stack()
        stack.wait_booted(service)
        state = stack.services[service]
        if state.problem:
            pytest.skip(f"the Redis service '{service}' is not running: {state.problem} (see stack-up)")
        endpoint = stack.endpoint(service, context.rubric.expect.port)
        if endpoint is None:
            pytest.skip(f"the Redis service '{service}' has no reachable port {context.rubric.expect.port}")
        return endpoint[0], endpoint[1], None

    @pytest.fixture
    def redis_client(self, redis_endpoint: tuple[str, int, str | None]) -> Any:
        host, port, password = redis_endpoint
        client = probes.redis_client(host, port, password=password)
        try:
            yield client
        finally:
            client.close()

    @pytest.fixture(scope="session")
    def web_url(self, runtime: None) -> str:
        """Base URL of the web app under test."""
        context = self.context
        if context.mode == "live" and context.live:
            if not context.live.web_url:
                pytest.skip("no --web-url given")
            return context.live.web_url.rstrip("/")
        if context.model is None:
            pytest.skip("the Compose file could not be loaded (see compose-file)")
        if context.web_service is None:
            pytest.skip("there is no web service in the Compose file (this check is a bonus)")
        stack = context.require_stack()
        stack.wait_booted(context.web_service)
        state = stack.services[context.web_service]
        if state.problem:
            pytest.skip(f"the web service '{context.web_service}' is not running: {state.problem} (see stack-up)")
        url = context.web_base_url()
        if url is None:
            pytest.skip(f"the web service '{context.web_service}' has no reachable port")
        return url

    @pytest.fixture
    def outcome(self, request: pytest.FixtureRequest) -> Outcome:
        return request.node.stash.setdefault(_OUTCOME_KEY, Outcome())

    # Outcomes -------------------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Any:
        item.stash[_STARTED_KEY] = time.monotonic()
        try:
            return (yield)
        finally:
            result = item.stash.get(_RESULT_KEY, None)
            if result is not None:  # None: interrupted before an outcome; finish_unrun() reports it
                result.duration_s = time.monotonic() - item.stash[_STARTED_KEY]
                self._emit(result)

    def _emit(self, result: CheckResult) -> None:
        if self.context.mode == "full" and result.status is Status.FAILED and self._engine_gone():
            result.status = Status.ERROR
            result.message = "the Docker engine stopped during grading; this check could not be judged"
            result.hint = MACHINE_HINT[:-1] + ": grade again."
        self.results.append(result)
        if self.on_result:
            self.on_result(result)

    def _engine_gone(self) -> bool:
        """A runtime check that failed because the engine vanished is the machine's fault."""
        if self.context.stack is None:
            return False
        try:
            docker.engine_version(timeout=10)
        except EnvironmentProblem:
            return True
        return False

    def finish_unrun(self, reason: str) -> None:
        """Report every selected check that never reached an outcome (the run was stopped)."""
        done = {result.id for result in self.results}
        for item in self.items:
            if info_of(item).id not in done:
                self._emit(self._result(item, Status.SKIPPED, reason))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        if _RESULT_KEY in item.stash or call.when == "teardown":
            return report
        if report.skipped:
            reason = call.excinfo.value.msg if call.excinfo and hasattr(call.excinfo.value, "msg") else "skipped"
            item.stash[_RESULT_KEY] = self._result(item, Status.SKIPPED, str(reason))
        elif report.failed and call.excinfo:
            item.stash[_RESULT_KEY] = self._from_exception(item, call.excinfo.value)
        elif call.when == "call":
            outcome = item.stash.get(_OUTCOME_KEY, Outcome())
            item.stash[_RESULT_KEY] = passed_result(info_of(item), self.context.rubric, outcome)
        return report

    def _from_exception(self, item: pytest.Item, exc: BaseException) -> CheckResult:
        return result_of_exception(info_of(item), self.context.rubric, exc)

    def _result(self, item: pytest.Item, status: Status, message: str, **fields: Any) -> CheckResult:
        return result_of(info_of(item), self.context.rubric, status, message, **fields)


def info_of(item: pytest.Item) -> CheckInfo | None:
    """The rubric item a collected test is: the `check` mark, or a `pytest.mark.check(...)` marker."""
    info = check_info(getattr(item, "function", None))
    if info is None and (marker := item.get_closest_marker("check")) is not None:
        info = CheckInfo(marker.kwargs["id"], marker.kwargs.get("points", 1), marker.kwargs.get("title", ""),
                         bool(marker.kwargs.get("bonus", False)))
    return info
