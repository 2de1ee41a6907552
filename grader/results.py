"""Result objects: what a check found, and what a whole grading found.

Their ``to_dict`` output is the public JSON contract of ``grader check --json`` (docs/json.md):
fields may be added, never renamed or removed. ``from_dict`` reads it back, and every reader
(the reports, the formats, the gradebook) works on the objects it returns, never on the dict:

- what the contract allows to be missing, or a file from an older grader lacks, takes its
  default; a status outside the contract reads as ``error``; a number that is not one reads as 0;
- a saved result keeps the points, score, maximum and verdict it says, even where they are not
  what its checks add up to (a file edited by hand, or written by another tool): they are held in
  ``saved_points`` / ``saved`` only then, so ``from_dict(to_dict(x)) == x``.
"""
from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grader.evidence_record import Evidence


def number(value: float) -> float | int:
    """Points as JSON writes them: 2, not 2.0; 2.5 stays 2.5 (exactly: never rounded)."""
    return int(value) if float(value).is_integer() else value


def points_text(value: float) -> str:
    """Points as people read them: ``2``, not ``2.0``; ``2.5`` stays ``2.5``; ``1/3`` is ``0.33``."""
    value = float(value)
    if value.is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


# Reading a saved result: tolerant, never a traceback ---------------------------------------------

def read_number(value: Any, default: float = 0.0) -> float:
    """``value`` as a finite number (a bool, text that is no number, NaN or infinity: ``default``).

    An int stays an int, so a result reads back to the very JSON it was read from."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    try:
        number_value = float(value)
    except (TypeError, ValueError):
        return default
    return number_value if math.isfinite(number_value) else default


def read_text(value: Any) -> str:
    return "" if value is None else str(value)


def read_optional_text(value: Any) -> str | None:
    return None if value is None else str(value)


def read_list(value: Any) -> list[Mapping[str, Any]]:
    """The mappings of a JSON list (anything else in it, or a list that is not one, is left out)."""
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


# Who sees a check (the rubric's ``checks.<id>.visibility``): everyone; students only once the
# rubric's due date has passed; instructors only. grader/report/visibility.py applies it.
VISIBILITIES = ("visible", "after_due_date", "hidden")


def read_visibility(value: Any) -> str:
    """A saved check's visibility: missing (an older grader) is visible; anything unknown is hidden."""
    if value is None:
        return "visible"
    return value if value in VISIBILITIES else "hidden"


class Status(str, enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    ERROR = "error"

    @classmethod
    def read(cls, value: Any) -> Status:
        """The status a saved check names; anything outside the contract is an error."""
        try:
            return cls(value)
        except ValueError:
            return cls.ERROR


@dataclass(frozen=True)
class Location:
    """A place in the student's own files (path relative to the submission)."""

    file: str
    line: int | None  # None only where a saved result names a file without a line

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line}

    @classmethod
    def from_dict(cls, data: Any) -> Location | None:
        """The location a saved result holds; None without a file."""
        if not isinstance(data, Mapping) or not data.get("file"):
            return None
        line = data.get("line")
        return cls(str(data["file"]), line if isinstance(line, int) and not isinstance(line, bool) else None)


@dataclass(frozen=True)
class PolicyViolation:
    """A safety-policy rule that a submission breaks; the grader refuses to boot it."""

    rule: str
    message: str
    location: Location | None = None
    hint: str | None = None

    def __str__(self) -> str:
        where = f" at {self.location}" if self.location else ""
        return f"{self.rule}{where}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "message": self.message,
            "location": self.location.to_dict() if self.location else None,
            "hint": self.hint,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PolicyViolation:
        return cls(read_text(data.get("rule")), read_text(data.get("message")),
                   Location.from_dict(data.get("location")), read_optional_text(data.get("hint")))


@dataclass(frozen=True)
class Ignored:
    """Something in the student's files that the grader does not carry to the engine, and why."""

    key: str                  # "ulimits", "COMPOSE_PROJECT_NAME"
    subject: str              # "service 'redis'", ".env"
    reason: str
    location: Location | None = None

    def __str__(self) -> str:
        where = f" ({self.location})" if self.location else ""
        return f"{self.key} of {self.subject}{where}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "subject": self.subject, "reason": self.reason,
                "location": self.location.to_dict() if self.location else None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Ignored:
        return cls(read_text(data.get("key")), read_text(data.get("subject")), read_text(data.get("reason")),
                   Location.from_dict(data.get("location")))


@dataclass(frozen=True)
class SourceFile:
    """A file of the student's as the grader read it (its private copy), for showing findings
    beside their lines; ``truncated`` when only the first lines were kept."""

    name: str                 # as locations name it, relative to the submission
    lines: tuple[str, ...]
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "lines": list(self.lines), "truncated": self.truncated}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SourceFile:
        lines = data.get("lines")
        return cls(read_text(data.get("name")), tuple(str(line) for line in lines) if isinstance(lines, list) else (),
                   data.get("truncated") is True)


@dataclass
class CheckResult:
    id: str
    title: str
    status: Status
    max_points: float
    bonus: bool = False
    message: str = ""
    hint: str | None = None
    location: Location | None = None
    expected: str | None = None
    found: str | None = None
    details: str | None = None
    duration_s: float = 0.0
    saved_points: float | None = None  # what a saved result says it earned, where that is not what its status gives
    visibility: str = "visible"        # one of VISIBILITIES
    # What it earned where that is not what its status gives: a saved result's own figure, or a
    # pass from a screenshot the rubric makes worth fewer points (``screenshot`` says which).
    saved_points: float | None = None
    screenshot: str | None = None  # the student's screenshot (its path) that decided the check, if one did

    @property
    def points(self) -> float:
        if self.saved_points is not None:
            return self.saved_points
        return self.max_points if self.status is Status.PASSED else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status.value,
            "points": number(self.points),
            "max_points": number(self.max_points),
            "bonus": self.bonus,
            "message": self.message,
            "hint": self.hint,
            "location": self.location.to_dict() if self.location else None,
            "expected": self.expected,
            "found": self.found,
            "details": self.details,
            "duration_s": round(self.duration_s, 3),
            "visibility": self.visibility,
            "screenshot": self.screenshot,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        check = cls(
            id=read_text(data.get("id")),
            title=read_text(data.get("title")),
            status=Status.read(data.get("status")),
            max_points=read_number(data.get("max_points")),
            bonus=bool(data.get("bonus")),
            message=read_text(data.get("message")),
            hint=read_optional_text(data.get("hint")),
            location=Location.from_dict(data.get("location")),
            expected=read_optional_text(data.get("expected")),
            found=read_optional_text(data.get("found")),
            details=read_optional_text(data.get("details")),
            duration_s=read_number(data.get("duration_s")),
            visibility=read_visibility(data.get("visibility")),
            screenshot=read_optional_text(data.get("screenshot")),
        )
        saved = read_number(data.get("points"), check.points)
        if saved != check.points:
            check.saved_points = saved
        return check


@dataclass(frozen=True)
class Totals:
    """A grading's score, maximum and verdict."""

    score: float
    max_score: float
    passed: bool


@dataclass
class GradeResult:
    submission: str
    checks: list[CheckResult]
    started_at: str
    duration_s: float
    grader_version: str
    mode: str = "full"
    notice: str | None = None
    compose_file: str | None = None
    services: dict[str, str | None] = field(default_factory=dict)
    policy: list[PolicyViolation] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)
    due: str | None = None       # the rubric's due date (ISO 8601): when `after_due_date` checks are shown
    saved: Totals | None = None  # what a saved result says, where that is not what its checks give
    evidence: Evidence = field(default_factory=lambda: _evidence_type()())  # what was recorded of the deliverables
    sources: list[SourceFile] = field(default_factory=list)  # the Compose file(s) findings point at

    @property
    def score(self) -> float:
        if self.saved is not None:
            return self.saved.score
        return sum(check.points for check in self.checks)

    @property
    def max_score(self) -> float:
        """Bonus checks add to the score, never to the maximum."""
        if self.saved is not None:
            return self.saved.max_score
        return sum(check.max_points for check in self.checks if not check.bonus)

    @property
    def passed(self) -> bool:
        """Every non-bonus check passed (in static or live mode: none failed), and no policy rule broke."""
        if self.saved is not None:
            return self.saved.passed
        allowed = {Status.PASSED} if self.mode == "full" else {Status.PASSED, Status.SKIPPED}
        return not self.policy and all(check.status in allowed for check in self.checks if not check.bonus)

    @property
    def bonus_points(self) -> float:
        """The points bonus checks earned (part of the score)."""
        return sum(check.points for check in self.checks if check.bonus)

    def tally(self) -> dict[str, int]:
        """How many checks have each status, every status listed (in the order of ``Status``)."""
        return {status.value: sum(1 for check in self.checks if check.status is status) for status in Status}

    def check(self, check_id: str) -> CheckResult | None:
        return next((check for check in self.checks if check.id == check_id), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "submission": self.submission,
            "score": number(self.score),
            "max_score": number(self.max_score),
            "passed": self.passed,
            "checks": [check.to_dict() for check in self.checks],
            "grader_version": self.grader_version,
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 3),
            "mode": self.mode,
            "notice": self.notice,
            "compose_file": self.compose_file,
            "services": self.services,
            "policy": [violation.to_dict() for violation in self.policy],
            "ignored": [item.to_dict() for item in self.ignored],
            "due": self.due,
            "evidence": self.evidence.to_dict(),
            "sources": [source.to_dict() for source in self.sources],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GradeResult:
        """The grading a JSON result (``grader check --json``, or an entry of results.json) holds."""
        services = data.get("services")
        result = cls(
            submission=read_text(data.get("submission")),
            checks=[CheckResult.from_dict(check) for check in read_list(data.get("checks"))],
            started_at=read_text(data.get("started_at")),
            duration_s=read_number(data.get("duration_s")),
            grader_version=read_text(data.get("grader_version")),
            mode=read_text(data.get("mode")) or "full",
            notice=read_optional_text(data.get("notice")),
            compose_file=read_optional_text(data.get("compose_file")),
            services={str(name): read_optional_text(service) for name, service in services.items()}
            if isinstance(services, Mapping) else {},
            policy=[PolicyViolation.from_dict(item) for item in read_list(data.get("policy"))],
            ignored=[Ignored.from_dict(item) for item in read_list(data.get("ignored"))],
            due=read_optional_text(data.get("due")),
            evidence=_evidence_type().from_dict(data.get("evidence")),
            sources=[SourceFile.from_dict(item) for item in read_list(data.get("sources"))],
        )
        passed = data.get("passed")
        saved = Totals(read_number(data.get("score"), result.score),
                       read_number(data.get("max_score"), result.max_score),
                       passed if isinstance(passed, bool) else result.passed)
        if saved != Totals(result.score, result.max_score, result.passed):
            result.saved = saved
        return result

    @classmethod
    def of(cls, value: GradeResult | Mapping[str, Any]) -> GradeResult:
        """``value`` itself, or the grading a JSON result holds."""
        return value if isinstance(value, GradeResult) else cls.from_dict(value)


def _evidence_type() -> type[Evidence]:
    from grader.evidence_record import Evidence  # evidence_record builds on this module's readers
    return Evidence
