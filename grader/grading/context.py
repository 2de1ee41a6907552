"""Everything the checks may look at for one grading, handed to them as fixtures."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.checking import skip
from grader.errors import ComposeLoadError, GraderError
from grader.grading.evidence_capture import EvidenceRecorder
from grader.submission.model import ComposeModel, is_redis_repository
from grader.submission.files import ProjectFiles
from grader.results import Ignored, PolicyViolation
from grader.rubric import Rubric
from grader.submission.workspace import Workspace

if TYPE_CHECKING:  # the stack's module is loaded only when a stack boots
    from grader.docker.stack import Stack
    from grader.evidence.student_screenshots import StudentScreenshots
    from grader.evidence_record import ScreenshotEvidence
    from grader.grading.screenshot_reading import ScreenshotReader


@dataclass
class LiveTargets:
    """Where a stack the student already runs can be reached (``--live``)."""

    redis_url: str = "redis://localhost:6379"
    web_url: str | None = "http://localhost:5000"


@dataclass
class GradingContext:
    rubric: Rubric
    mode: str                                  # "full", "static" or "live"
    workspace: Workspace | None = None
    model: ComposeModel | None = None
    load_error: ComposeLoadError | None = None
    environment_error: GraderError | None = None  # e.g. no Compose installed: not the student's fault
    compose_file: str | None = None
    policy: list[PolicyViolation] = field(default_factory=list)
    static_reason: str | None = None           # why runtime checks do not run
    stack: Stack | None = None
    live: LiveTargets | None = None
    dump_problem: str | None = None            # e.g. "dump.rdb is a symbolic link"
    dump_file: str | None = None
    boot_failure: GraderError | None = None
    files: ProjectFiles | None = None          # the grader's reading of every file Compose reads
    ignored: list[Ignored] = field(default_factory=list)  # what the boot file did not carry
    extras: dict[str, Any] = field(default_factory=dict)
    evidence: EvidenceRecorder = field(default_factory=EvidenceRecorder)  # what the checks show of the deliverables
    screenshots: ScreenshotReader | None = None  # the student's pictures, read in the background
    screenshots_read: StudentScreenshots | None = None
    unloadable_sources: dict[str, str] = field(default_factory=dict)  # file -> text, of a file that failed to load

    def student_screenshots(self) -> StudentScreenshots | None:
        """The student's pictures as read (waiting for the reading); None when none were read."""
        if self.screenshots_read is None and self.screenshots is not None:
            self.screenshots_read = self.screenshots.result()
        return self.screenshots_read

    def screenshots_may_decide(self) -> bool:
        """Whether a screenshot may decide student-name: a full grading of a submission with no
        dump.rdb (a dump, when there is one, decides), under a rubric that lets screenshots count."""
        return (self.mode == "full" and not self.dump_file
                and self.rubric.screenshot_rule("student-name").screenshot_evidence)

    def name_screenshot(self) -> ScreenshotEvidence | None:
        """The first screenshot showing the key holding a value, where one may decide student-name."""
        if not self.screenshots_may_decide():
            return None
        read = self.student_screenshots()
        return read.showing_value() if read else None

    @property
    def redis_service(self) -> str | None:
        return self.model.redis_service() if self.model else None

    @property
    def web_service(self) -> str | None:
        return self.model.web_service() if self.model else None

    @property
    def submission_root(self) -> Path | None:
        return self.workspace.source_copy if self.workspace else None

    @property
    def ready_timeout(self) -> float:
        """How long to wait for a service to answer: a booted one may still be starting;
        one the student already runs (live mode) either answers now or not at all."""
        limit = self.rubric.limits.check_timeout_s
        return min(3.0, limit) if self.mode == "live" else limit

    def not_a_redis_image(self) -> str | None:
        """Why the Redis service's server cannot earn Redis points: it builds its own image, or
        its image is not a Redis image (the grader does not grade a server it did not start from
        a Redis image); None when it runs a Redis image."""
        service = self.model.service(self.redis_service) if self.model and self.redis_service else {}
        if service.get("build"):
            return (f"the Redis service '{self.redis_service}' builds its own image, so the grader awards no Redis "
                    "runtime points to it (see redis-image)")
        if not is_redis_repository(service.get("image")):
            return (f"the Redis service '{self.redis_service}' does not run a Redis image, so the grader awards no "
                    "Redis runtime points to it (see redis-image)")
        return None

    def web_base_url(self) -> str | None:
        """Where the booted web service answers now (a restart gives it a new host port)."""
        if not (self.stack and self.model and self.web_service):
            return None
        endpoint = self.stack.endpoint(self.web_service, self.model.web_port(self.web_service))
        return f"http://{endpoint[0]}:{endpoint[1]}" if endpoint else None

    def runtime_skip_reason(self) -> str | None:
        if self.mode == "static":
            return self.static_reason or "static mode: runtime checks do not run"
        if self.policy and self.mode != "live":  # live: the student's own stack already runs
            first = self.policy[0]
            where = f" at {first.location}" if first.location else ""
            return f"refused by safety policy: {first.rule}{where}"
        return None

    def require_stack(self) -> Stack | None:
        """The booted stack (booting it on first use), None in live mode; skip when nothing runs."""
        reason = self.runtime_skip_reason()
        if reason:
            skip(reason)
        if self.mode == "live":
            return None
        if self.boot_failure:
            raise self.boot_failure
        if self.stack is None:
            skip("the stack was not booted")
        try:
            self.stack.boot()
        except GraderError as exc:
            self.boot_failure = exc
            raise
        return self.stack
