"""Grading one submission: load, check policy, boot, run the checks, tear down.

``grade()`` is the library entry point; the CLI, batch grading and the GitHub action
all call it.
"""
from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol
from contextlib import ExitStack
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import checks as default_checks
from grader import policy
from grader.docker.compose import ComposeProject, detect_cli
from grader.grading.context import GradingContext, LiveTargets
from grader.grading.evidence_capture import EvidenceRecorder
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
from grader.grading.preload import modules_for, preloader
from grader.grading.recording import compose_sources, reading_screenshots, recorded_evidence, unloadable_source
from grader.grading.static import StaticRunner
from grader.evidence_record import Evidence
from grader.results import CheckResult, GradeResult, Status
from grader.rubric import DEFAULT_ORDER, Rubric
from grader.submission.workspace import find_dump, workspace
from grader.version import __version__

if TYPE_CHECKING:
    from grader.docker.commands import EngineProbe

MODES = ("auto", "full", "static", "live")

NO_ENGINE_NOTICE = (
    "No Docker engine is reachable here, so only the static checks ran and the runtime checks are skipped. "
    "For a full grade, start Docker (Docker Desktop, or `sudo systemctl start docker` on Linux) "
    "and run `grader check` again."
)


def grade(path: str | os.PathLike[str], *, mode: str = "auto", rubric: Rubric | None = None,
          live: LiveTargets | None = None, on_result: Callable[[CheckResult], None] | None = None,
          on_phase: Callable[[str], None] | None = None, evidence: bool | None = None,
          preload: Sequence[str] = ()) -> GradeResult:
    """Grade the submission folder at ``path`` and return its result. Never writes to ``path``.

    ``evidence``, when given, overrides the rubric's ``limits.evidence`` (record what the
    deliverables' screenshots would show: the redis-cli session, the pages, ps and logs). ``preload``:
    modules the caller needs next (its report's), imported while Compose reads (preload.py)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    started_at, started = datetime.now(timezone.utc).isoformat(timespec="seconds"), time.monotonic()
    path = Path(path)
    rubric = _with_evidence(rubric or Rubric(), evidence)
    context = GradingContext(rubric=rubric, mode=mode, live=live or (LiveTargets() if mode == "live" else None),
                             evidence=EvidenceRecorder(rubric.limits.evidence))
    phase = on_phase or (lambda _: None)
    limit = context.rubric.limits.submission_timeout_s
    runner: CheckRunner | None = None
    clock = Clock()
    with hold_signals_on_request() as hold_signals:
        with ExitStack() as cleanup:
            cleanup.push(context.evidence.exit)  # runs last, after the teardown: stops the evidence's threads on a stop
            try:
                with time_limit(limit) as clock:
                    phase("copying")
                    _prepare(context, path, cleanup, phase, modules_for(mode, preload))
                    phase("checking")
                    runner = check_runner(context, on_result)
                    runner.run()
                    _gather_evidence(context)
            except (SubmissionTimeout, Interrupted):
                if not clock.expired:  # pytest turns the time limit's interrupt into its own: only that is ours
                    raise
            finally:
                hold_signals()
                phase("tearing down")
    if clock.expired:
        _after_time_limit(context, runner, limit)
    return _result(path, context, runner.results if runner else [], started_at, time.monotonic() - started)


def _after_time_limit(context: GradingContext, runner: CheckRunner | None, limit: float) -> None:
    context.evidence.close()
    if runner is not None:
        runner.finish_unrun(f"not run: grading this submission took longer than its limit of {limit:g} s")


def _gather_evidence(context: GradingContext) -> None:
    """While the stack and the private copy still exist: the last ps and logs, the screenshots read."""
    context.evidence.last_look(context.stack, context.redis_service, context.rubric.expect.key)
    context.student_screenshots()


def _evidence(context: GradingContext) -> Evidence:
    """What the checks recorded, with the student's screenshots as they were read beside them."""
    recorded, read = context.evidence.evidence(), recorded_evidence(context)
    recorded.screenshots = read.screenshots
    recorded.skipped += [line for line in read.skipped if line not in recorded.skipped]
    return recorded


def _with_evidence(rubric: Rubric, evidence: bool | None) -> Rubric:
    return rubric if evidence is None else replace(rubric, limits=replace(rubric.limits, evidence=evidence))


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
        evidence=_evidence(context),
        sources=compose_sources(context, findings),
    )


def _prepare(context: GradingContext, path: Path, cleanup: ExitStack, phase: Callable[[str], None],
             preload: Sequence[str]) -> None:
    """Everything before the checks run; a student's problem becomes context.load_error. The modules
    ``preload`` names are imported while Compose reads the files."""
    probe = _engine_probe(context.mode)
    try:
        space = cleanup.enter_context(workspace(path))
    except SubmissionError as exc:
        context.load_error = ComposeLoadError(exc.message, exc.location, exc.hint)
        _resolve_mode(context, probe)
        return
    context.workspace = space
    if context.evidence.enabled and (context.mode != "static" or find_dump(space.source_copy) is None):
        context.screenshots = cleanup.enter_context(reading_screenshots(space.source_copy, context.rubric.expect.key))
    run_id = uuid.uuid4().hex[:12]
    project = None
    try:
        files = context.files = load_files(space)
        context.compose_file = files.main.display_name
        project = ComposeProject(detect_cli(), f"grader-{run_id}", space.project_dir, tuple(files.files),
                                 profiles=("*",))
        context.model = normalised_model(project, files, space, meanwhile=preloader(preload))
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
    _resolve_mode(context, probe)
    if context.mode == "full" and context.model and not context.policy and project:
        phase("booting")
        from grader.grading.booting import booted_stack  # the Docker side is loaded only to boot

        context.stack = cleanup.enter_context(booted_stack(context, project, run_id))


def _engine_probe(mode: str) -> EngineProbe | None:
    """Ask the engine about itself while the files are copied and read (nothing needs it sooner)."""
    if mode in ("static", "live"):
        return None
    from grader.docker.commands import EngineProbe  # static gradings load nothing of Docker

    return EngineProbe()


def _resolve_mode(context: GradingContext, probe: EngineProbe | None) -> None:
    if probe is None:  # static or live: nothing to ask the engine
        if context.mode == "static":
            context.static_reason = "static mode: runtime checks were not asked for"
        return
    try:
        probe.version()
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
