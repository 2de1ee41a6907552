"""The rubric: which checks count, for how many points, and what values they expect.

Instructors change it with a YAML file (`--rubric rubric.yml`); see docs/rubric.md.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from grader.errors import GraderError
from grader.results import VISIBILITIES
from grader.yaml import load_yaml

# The rubric's checks in the order reports list them.
DEFAULT_ORDER = (
    "compose-file", "redis-image", "redis-port", "named-volume",
    "stack-up", "redis-ping", "student-name", "persistence", "flask-counter",
)
# The order they run in: the Redis checks first (Redis starts while the web image builds), then
# the counter check, which restarts the web container; persistence, which takes the whole stack
# down and up, so each earlier check sees the stack as the student's files left it; stack-up
# ("still running a few seconds later") last, judged on what the stack did before the down and
# since the up, so the others have given the services those seconds.
RUN_ORDER = ("compose-file", "redis-image", "redis-port", "named-volume", "redis-ping", "student-name",
             "flask-counter", "persistence", "stack-up")


class RubricError(GraderError):
    """The rubric file is wrong; a usage error (exit 2), not a student's mistake."""


@dataclass(frozen=True)
class Expectations:
    image: str = "redis:alpine"
    port: int = 6379
    key: str = "student_name"
    volume_path: str = "/data"
    web_port: int = 5000
    student_name: str | None = None  # from a roster, when known


@dataclass(frozen=True)
class Limits:
    memory: str = "512m"        # per service; swap is set equal, so no swap is used
    cpus: float = 1.0           # per service
    pids: int = 256             # per service
    stack_memory: str = "1g"    # the whole stack: each service gets at most its share
    stack_cpus: float = 2.0
    stack_pids: int = 512
    build_memory: str = "1g"    # each build step
    build_cpus: float = 1.0
    max_services: int = 10
    max_ports: int = 20         # published ports, all services together
    egress: bool = False        # whether a graded stack's services may reach beyond the machine
    build_timeout_s: float = 300
    boot_timeout_s: float = 120
    check_timeout_s: float = 30
    settle_s: float = 2.0       # "still running a few seconds later"
    submission_timeout_s: float = 900
    evidence: bool = True       # record what the deliverables' screenshots would show (off: --no-evidence)


# The checks a student's screenshot can decide (when the submission has no dump.rdb).
SCREENSHOT_CHECKS = frozenset({"student-name"})


@dataclass(frozen=True)
class CheckOverride:
    points: float | None = None
    enabled: bool = True
    visibility: str = "visible"   # who sees the check: grader/report/visibility.py
    screenshot_evidence: bool = True            # a screenshot may count (student-name only)
    screenshot_points: float | None = None      # what a pass from a screenshot earns (None: full points)


@dataclass(frozen=True)
class Rubric:
    expect: Expectations = field(default_factory=Expectations)
    limits: Limits = field(default_factory=Limits)
    checks: dict[str, CheckOverride] = field(default_factory=dict)
    allowed_policy_rules: frozenset[str] = frozenset()
    extra_check_dirs: tuple[Path, ...] = ()
    due: str | None = None   # ISO 8601 with its UTC offset: when `after_due_date` checks are shown to students

    def points_for(self, check_id: str, default: float) -> float:
        override = self.checks.get(check_id)
        return override.points if override and override.points is not None else default

    def enabled(self, check_id: str) -> bool:
        override = self.checks.get(check_id)
        return override.enabled if override else True

    def visibility(self, check_id: str) -> str:
        override = self.checks.get(check_id)
        return override.visibility if override else "visible"

    def screenshot_rule(self, check_id: str) -> CheckOverride:
        """Whether a screenshot may decide ``check_id``, and for how many points."""
        if check_id not in SCREENSHOT_CHECKS:
            return CheckOverride(screenshot_evidence=False)
        return self.checks.get(check_id) or CheckOverride()

    def with_student_name(self, name: str | None) -> Rubric:
        return replace(self, expect=replace(self.expect, student_name=name))

    def without_presentation(self) -> Rubric:
        """The rubric less what only decides who sees a check (visibility, due): a change there needs no regrade."""
        checks = {check_id: replace(override, visibility="visible") for check_id, override in self.checks.items()}
        return replace(self, checks={check_id: kept for check_id, kept in checks.items() if kept != CheckOverride()},
                       due=None)

    def to_dict(self) -> dict[str, Any]:
        """The rubric as JSON (the grading key hashes it, queue tasks carry it); ``from_dict`` reads it back."""
        return {"expect": asdict(self.expect), "limits": asdict(self.limits),
                "checks": {check_id: asdict(override) for check_id, override in self.checks.items()},
                "allowed_policy_rules": sorted(self.allowed_policy_rules),
                "extra_check_dirs": [str(folder) for folder in self.extra_check_dirs], "due": self.due}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rubric:
        return cls(expect=Expectations(**data["expect"]), limits=Limits(**data["limits"]),
                   checks={check_id: CheckOverride(**override) for check_id, override in data["checks"].items()},
                   allowed_policy_rules=frozenset(data["allowed_policy_rules"]),
                   extra_check_dirs=tuple(Path(folder) for folder in data["extra_check_dirs"]),
                   due=data.get("due"))


def _convert(name: str, default: Any, value: Any) -> Any:
    """Accept exactly the type of the default (an int where a float is wanted); refuse the rest."""
    wanted = type(default) if default is not None else str
    ok = {
        bool: isinstance(value, bool),
        int: (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, str) and value.isdigit()),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: isinstance(value, (str, int, float)) and not isinstance(value, bool),
    }[wanted]
    if not ok:
        raise RubricError(f"rubric: '{name}' must be a {wanted.__name__}, got {value!r}")
    converted = wanted(value)
    if wanted in (int, float) and converted < 0:
        raise RubricError(f"rubric: '{name}' must not be negative, got {value!r}")
    return converted


def _typed(section: str, cls: type, values: Any) -> Any:
    if values is None:
        return cls()
    if not isinstance(values, dict):
        raise RubricError(f"rubric: '{section}' must be a mapping")
    known = {f.name for f in fields(cls)}
    defaults = cls()
    kwargs = {}
    for key, value in values.items():
        if key not in known:
            raise RubricError(f"rubric: unknown key '{section}.{key}' (known: {', '.join(sorted(known))})")
        kwargs[key] = _convert(f"{section}.{key}", getattr(defaults, key), value)
    return cls(**kwargs)


def _check_overrides(values: Any) -> dict[str, CheckOverride]:
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise RubricError("rubric: 'checks' must map check ids to settings")
    overrides = {}
    for check_id, settings in values.items():
        if settings is False or settings is None:
            overrides[str(check_id)] = CheckOverride(enabled=False)
            continue
        overrides[str(check_id)] = _check_override(str(check_id), settings)
    return overrides


def _check_override(check_id: str, settings: Any) -> CheckOverride:
    keys = ("points", "enabled", "visibility", *(SCREENSHOT_KEYS if check_id in SCREENSHOT_CHECKS else ()))
    if not isinstance(settings, dict) or set(settings) - set(keys):
        if isinstance(settings, dict) and set(settings) & set(SCREENSHOT_KEYS):
            raise RubricError(f"rubric: checks.{check_id} cannot take screenshot evidence "
                              f"(only {', '.join(sorted(SCREENSHOT_CHECKS))} can)")
        named = [repr(key) for key in keys]
        raise RubricError(f"rubric: checks.{check_id} takes {', '.join(named[:-1])} and {named[-1]} "
                          "(or false to drop it)")
    points = _points(check_id, "points", settings.get("points"))
    enabled = _flag(check_id, "enabled", settings.get("enabled", True))
    evidence = _flag(check_id, "screenshot_evidence", settings.get("screenshot_evidence", True))
    screenshot_points = _points(check_id, "screenshot_points", settings.get("screenshot_points"))
    visibility = settings.get("visibility", "visible")
    if visibility not in VISIBILITIES:
        raise RubricError(f"rubric: checks.{check_id}.visibility must be one of {', '.join(VISIBILITIES)}, "
                          f"got {visibility!r}")
    if screenshot_points is not None and points is not None and screenshot_points > points:
        raise RubricError(f"rubric: checks.{check_id}.screenshot_points ({screenshot_points}) must not be more "
                          f"than its points ({points})")
    return CheckOverride(points=points, enabled=enabled, visibility=visibility, screenshot_evidence=evidence,
                         screenshot_points=screenshot_points)


SCREENSHOT_KEYS = ("screenshot_evidence", "screenshot_points")


def _points(check_id: str, key: str, value: Any) -> float | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
        raise RubricError(f"rubric: checks.{check_id}.{key} must be a number >= 0")
    return value


def _flag(check_id: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise RubricError(f"rubric: checks.{check_id}.{key} must be true or false, got {value!r}")
    return value


def parse_due(value: Any) -> str | None:
    """``due:`` as ISO 8601 with a UTC offset. A date alone is the end of that day; a time without
    an offset is this machine's local time (the offset is fixed here, so a rubric means one instant)."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        moment = datetime.combine(date.fromisoformat(text), time(23, 59, 59)) if len(text) == 10 \
            else datetime.fromisoformat(text)
    except ValueError as exc:
        raise RubricError(f"rubric: 'due' must be a date or date and time (2025-03-10 or 2025-03-10T23:59+01:00), "
                          f"got {value!r}") from exc
    return (moment if moment.tzinfo else moment.astimezone()).isoformat(timespec="seconds")


def load_rubric(path: Path | None, known_rules: frozenset[str] | None = None) -> Rubric:
    """The rubric at ``path`` (the default rubric for None); ``known_rules``, when given, are the
    safety rules `policy.allow` may name (the policy owns them: the caller passes them in)."""
    if path is None:
        return Rubric()
    try:
        data = load_yaml(path, path.name).data
    except GraderError as exc:
        raise RubricError(f"rubric {path}: {getattr(exc, 'message', exc)}") from exc
    unknown = set(data) - {"expect", "limits", "checks", "policy", "extra_checks", "due"}
    if unknown:
        raise RubricError(f"rubric: unknown top-level key(s) {', '.join(sorted(map(str, unknown)))}")
    policy = data.get("policy") or {}
    if isinstance(policy, dict) and set(policy) - {"allow"}:
        raise RubricError(f"rubric: unknown key(s) under 'policy': {', '.join(sorted(map(str, set(policy) - {'allow'})))}"
                          " (known: allow)")
    allowed = policy.get("allow", []) if isinstance(policy, dict) else None
    if not isinstance(allowed, list):
        raise RubricError("rubric: 'policy.allow' must be a list of rule names")
    unknown = sorted(str(rule) for rule in allowed if known_rules is not None and str(rule) not in known_rules)
    if unknown:
        raise RubricError(f"rubric: 'policy.allow' names unknown safety rules: {', '.join(unknown)} "
                          "(the rules are listed in docs/policy.md)")
    extra = data.get("extra_checks") or []
    if not isinstance(extra, list):
        raise RubricError("rubric: 'extra_checks' must be a list of folders")
    return Rubric(
        expect=_typed("expect", Expectations, data.get("expect")),
        limits=_typed("limits", Limits, data.get("limits")),
        checks=_check_overrides(data.get("checks")),
        allowed_policy_rules=frozenset(str(rule) for rule in allowed),
        extra_check_dirs=tuple((path.parent / str(folder)).resolve() for folder in extra),
        due=parse_due(data.get("due")),
    )
