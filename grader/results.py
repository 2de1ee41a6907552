"""Result objects: what a check found, and what a whole grading found.

Their ``to_dict`` output is the public JSON contract of ``grader check --json``:
fields may be added, never renamed or removed.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


def number(value: float) -> float | int:
    """Points as people write them: 2, not 2.0; 2.5 stays 2.5."""
    return int(value) if float(value).is_integer() else value


class Status(str, enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    ERROR = "error"


@dataclass(frozen=True)
class Location:
    """A place in the student's own files (path relative to the submission)."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Location | None:
        return cls(str(data["file"]), int(data["line"])) if data else None


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
    def from_dict(cls, data: dict[str, Any]) -> PolicyViolation:
        return cls(data["rule"], data["message"], Location.from_dict(data.get("location")), data.get("hint"))


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
    def from_dict(cls, data: dict[str, Any]) -> Ignored:
        return cls(data["key"], data["subject"], data["reason"], Location.from_dict(data.get("location")))


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

    @property
    def points(self) -> float:
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
        }


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

    @property
    def score(self) -> float:
        return sum(check.points for check in self.checks)

    @property
    def max_score(self) -> float:
        """Bonus checks add to the score, never to the maximum."""
        return sum(check.max_points for check in self.checks if not check.bonus)

    @property
    def passed(self) -> bool:
        """Every non-bonus check passed (in static or live mode: none failed), and no policy rule broke."""
        allowed = {Status.PASSED} if self.mode == "full" else {Status.PASSED, Status.SKIPPED}
        return not self.policy and all(check.status in allowed for check in self.checks if not check.bonus)

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
        }
