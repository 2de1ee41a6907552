"""Grading one submission: load, check policy, boot, run the checks, tear down.

``grade()`` is the library entry point; the CLI, batch grading and the GitHub action
all call it.
"""
from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from typing import Protocol
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path

import checks as default_checks
from grader import policy
from grader.docker.compose import ComposeProject, detect_cli
from grader.grading.context import GradingContext, LiveTargets
from grader.errors import (
    ComposeLoadError,
    DockerUnavailable,
    EnvironmentProblem,
    SubmissionError,
)
from grader.grading.interrupts import (
    Clock,
    Interrupted,
    SubmissionTimeout,
    hold_signals_on_request,
    time_limit,
)
from grader.grading.loading import load_files, normalised_model
from grader.grading.recording import compose_sources, reading_screenshots, recorded_evidence, unloadable_source
from grader.grading.static import StaticRunner
from grader.results import CheckResult, GradeResult, Status
from grader.rubric import DEFAULT_ORDER, Rubric
from grader.submission.workspace import find_dump, workspace
from grader.version import __version__

MODES = ("auto", "full", "static", "live")

NO_ENGINE_NOTICE = (
    "No Docker engine is reachable here, so only the static checks ran and the runtime checks are skipped. "
    "For a full grade, start Docker (Docker Desktop, or `sudo systemctl start docker` on Linux) "
    "and run `grader check` again."
)


def grade(path: str | os.PathLike[str], *, mode: str = "auto", rubric: Rubric | None = None,
          live: LiveTargets | None = None, on_result: Callable[[CheckResult], None] | None = None,
          on_phase: Callable[[str], None] | None = None, evidence: bool = True) -> GradeResult:
    """Grade the submission folder at ``path`` and return its result. Never writes to ``path``.

    ``evidence=False`` records no evidence of the deliverables (the student's screenshots are not read)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    started = time.monotonic()
    path = Path(path)
    context = GradingContext(rubric=rubric or Rubric(), mode=mode, live=live or (LiveTargets() if mode == "live" else None),
                             evidence=evidence)
    phase = on_phase or (lambda _: None)
    limit = context.rubric.limits.submission_timeout_s
    runner: CheckRunner | None = None
    clock = Clock()
    with hold_signals_on_request() as hold_signals:
        with ExitStack() as cleanup:
            try:
                with time_limit(limit) as clock:
                    phase("copying")
                    _prepare(context, path, cleanup, phase)
                    phase("checking")
                    runner = check_runner(context, on_result)
                    runner.run()
                    context.student_screenshots()  # before the copy it reads is removed
            except (SubmissionTimeout, Interrupted):
                if not clock.expired:  # pytest turns the time limit's interrupt into its own: only that is ours
                    raise
            finally:
                hold_signals()
                phase("tearing down")
    if clock.expired and runner is not None:
        runner.finish_unrun(f"not run: grading this submission took longer than its limit of {limit:g} s")
    return _result(path, context, runner.results if runner else [], started_at, time.monotonic() - started)


def _result(path: Path, context: GradingContext, checks: list[CheckResult], started_at: str,
            duration_s: float) -> GradeResult:
    ignored = (context.files.ignored if context.files else []) + context.ignored
    findings = [check.location for check in checks if check.status is not Status.PASSED]
    findings += [violation.location for violation in context.policy] + [item.location for item in ignored]
    return GradeResult(
        submission=path.resolve().name,
        checks=_in_rubric_order(checks),
        started_at=started_at,
        duration_s=duration_s,
        grader_version=__version__,
        mode=context.mode,
        notice=context.extras.get("notice"),
        compose_file=context.compose_file,
        services={"redis": context.redis_service, "web": context.web_service},
        policy=context.policy,
        ignored=ignored,
        due=context.rubric.due,
        evidence=recorded_evidence(context),
        sources=compose_sources(context, findings),
    )


def _prepare(context: GradingContext, path: Path, cleanup: ExitStack, phase: Callable[[str], None]) -> None:
    """Everything before the checks run; a student's problem becomes context.load_error."""
    try:
        space = cleanup.enter_context(workspace(path))
    except SubmissionError as exc:
        context.load_error = ComposeLoadError(exc.message, exc.location, exc.hint)
        _resolve_mode(context)
        return
    context.workspace = space
    if context.evidence and (context.mode != "static" or find_dump(space.source_copy) is None):
        context.screenshots = cleanup.enter_context(reading_screenshots(space.source_copy, context.rubric.expect.key))
    run_id = uuid.uuid4().hex[:12]
    project = None
    try:
        files = context.files = load_files(space)
        context.compose_file = files.main.display_name
        project = ComposeProject(detect_cli(), f"grader-{run_id}", space.project_dir, tuple(files.files),
                                 profiles=("*",))
        context.model = normalised_model(project, files, space)
        limits = context.rubric.limits
        context.policy = policy.evaluate(context.model.config, files.documents, space.source_copy,
                                         refusals=files.refusals, allowed=context.rubric.allowed_policy_rules,
                                         max_services=limits.max_services, max_ports=limits.max_ports,
                                         extends=files.extends)
    except ComposeLoadError as exc:
        context.load_error = exc
        context.unloadable_sources = unloadable_source(space, exc)
        refusals = context.files.refusals if context.files else []
        context.policy = [v for v in refusals if v.rule not in context.rubric.allowed_policy_rules]
    except EnvironmentProblem as exc:
        context.environment_error = exc
    _resolve_mode(context)
    if context.mode == "full" and context.model and not context.policy and project:
        phase("booting")
        from grader.grading.booting import booted_stack  # the Docker side is loaded only to boot

        context.stack = cleanup.enter_context(booted_stack(context, project, run_id))


def _resolve_mode(context: GradingContext) -> None:
    if context.mode in ("static", "live"):
        if context.mode == "static":
            context.static_reason = "static mode: runtime checks were not asked for"
        return
    from grader.docker import commands as docker

    try:
        docker.engine_version()
    except DockerUnavailable as exc:
        if context.mode == "full":
            raise
        context.mode = "static"
        context.static_reason = "static mode: no Docker engine is reachable"
        context.extras["notice"] = NO_ENGINE_NOTICE + f" ({exc})"
        return
    context.mode = "full"


class CheckRunner(Protocol):
    results: list[CheckResult]

    def run(self) -> None: ...

    def finish_unrun(self, reason: str) -> None: ...


def check_runner(context: GradingContext, on_result: Callable[[CheckResult], None] | None) -> CheckRunner:
    """Static gradings call the checks directly; the others run them through pytest (loaded only then)."""
    check_dirs = [Path(default_checks.__file__).parent, *context.rubric.extra_check_dirs]
    if context.mode == "static":
        return StaticRunner(context, check_dirs, on_result)
    if context.stack is not None and not context.runtime_skip_reason():
        context.stack.boot_in_background()  # while pytest and the checks load
    from grader.grading.pytest_runner import PytestRunner

    return PytestRunner(context, check_dirs, on_result)


def _in_rubric_order(results: list[CheckResult]) -> list[CheckResult]:
    order = {check_id: index for index, check_id in enumerate(DEFAULT_ORDER)}
    return sorted(results, key=lambda result: order.get(result.id, len(order)))
