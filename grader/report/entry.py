"""One entry of a batch's ``results.json``, as a typed object, and what a class of them adds up to.

An entry is the dict ``grader check --json`` prints (``GradeResult.to_dict()``), plus:

- ``student``: the roster row it matched (``identifier``, ``github_username``, ``github_id``,
  ``name``), or null;
- ``error``: why the grading itself failed (a fault of the grader or the machine), or null;
- ``lms``: for a student of an LMS's bulk download, who they are as the download says
  (``grader.lms.Identity``'s fields: ``lms``, ``display_name``, ``user_id``, ``participant_id``,
  ``username``, ``org_defined_id``, ``email``, ``group``, ``group_id``, ``late``, ``anonymous``,
  ``attempt``), then ``files`` (the names graded), ``superseded`` (earlier attempts' files, not
  graded) and ``skipped`` (files that could not be taken out of the download, and why); else null;
- ``batch``: ``source`` (the folder or zip name in the batch folder), ``kind``, ``folder``,
  ``content_hash`` (sha256 of its files), ``grading_key`` (rubric, mode and grader version),
  ``worker`` and ``regraded`` (queue batches: who graded it, which workers were lost),
  ``graded_at`` and ``report`` (the HTML file name).

A roster student with no submission is ``{"missing": true, "submission": null, "student": {...},
"checks": [], "score": null, ...}``. ``Entry.from_dict`` reads either; ``to_dict`` writes it
back as it was (keys this grader does not know are kept as they are).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from grader.lms import Identity, LmsError
from grader.results import CheckResult, GradeResult, Status, read_optional_text
from grader.rubric import DEFAULT_ORDER

STATES = ("missing", "refused", "error", "passed", "failed")
_RESULT_KEYS = frozenset(GradeResult("", [], "", 0.0, "").to_dict())
_MISSING_KEYS = ("submission", "missing", "student", "score", "max_score", "passed", "checks", "policy", "lms")


@dataclass(frozen=True)
class Student:
    """The roster row an entry matched (GitHub Classroom's columns)."""

    identifier: str = ""
    github_username: str = ""
    github_id: str = ""
    name: str = ""

    @property
    def key(self) -> str:
        """The id a gradebook uses: the roster identifier, else the GitHub username."""
        return self.identifier or self.github_username

    @property
    def display_name(self) -> str:
        return self.name or self.key

    def to_dict(self) -> dict[str, str]:
        return {item.name: getattr(self, item.name) for item in fields(self)}

    @classmethod
    def from_dict(cls, data: Any) -> Student | None:
        if not isinstance(data, Mapping) or not data:
            return None
        return cls(**{item.name: str(data.get(item.name) or "") for item in fields(cls)})


@dataclass(frozen=True)
class LmsInfo:
    """The LMS student an entry is: their identity in the download, and which of their files were graded."""

    identity: Identity
    files: tuple[str, ...] = ()
    superseded: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.identity.group or self.identity.display_name

    @property
    def label(self) -> str:
        """``Canvas user 40101 · late · group teamblue``: the ids and marks a person reads."""
        identity = self.identity
        ids = {"canvas": ("user", identity.user_id or identity.participant_id),
               "moodle": ("participant", identity.participant_id) if identity.participant_id
               else ("group id", identity.group_id),
               "blackboard": ("user", identity.username),
               "brightspace": ("user", identity.org_defined_id or identity.username)}[identity.lms]
        parts = [f"{identity.lms.capitalize()} {ids[0]} {ids[1]}" if ids[1] else identity.lms.capitalize()]
        parts += [mark for mark, on in (("anonymous", identity.anonymous), ("late", identity.late)) if on]
        parts += [f"group {identity.group}"] if identity.group else []
        return " · ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {**self.identity.to_dict(), "files": list(self.files), "superseded": list(self.superseded),
                "skipped": list(self.skipped)}

    @classmethod
    def from_dict(cls, data: Any) -> LmsInfo | None:
        if not isinstance(data, Mapping):
            return None
        try:
            identity = Identity.from_dict(dict(data))
        except LmsError:  # not an identity this grader can read: the entry is no LMS student's
            return None
        lists = {name: tuple(str(item) for item in data.get(name) or [] if isinstance(item, str))
                 for name in ("files", "superseded", "skipped")}
        return cls(identity, **lists)


@dataclass
class BatchInfo:
    """How the batch got an entry; every field is absent (None, or empty) until the batch sets it."""

    source: str | None = None
    kind: str | None = None            # "folder" or "zip"
    folder: str | None = None          # the batch folder's name
    content_hash: str | None = None
    grading_key: str | None = None
    regraded: list[dict[str, Any]] = field(default_factory=list)  # the queue's record of each lost worker
    worker: str | None = None
    graded_at: str | None = None
    report: str | None = None          # the HTML report's file name, next to index.html
    extra: dict[str, Any] = field(default_factory=dict)  # keys a newer grader wrote, kept as they are

    def to_dict(self) -> dict[str, Any]:
        known = {item.name: getattr(self, item.name) for item in fields(self) if item.name != "extra"}
        return {**{name: value for name, value in known.items() if value not in (None, [])}, **self.extra}

    @classmethod
    def from_dict(cls, data: Any) -> BatchInfo:
        data = data if isinstance(data, Mapping) else {}
        names = {item.name for item in fields(cls)} - {"extra", "regraded"}
        regraded = data.get("regraded")
        return cls(**{name: read_optional_text(data.get(name)) for name in names},
                   regraded=list(regraded) if isinstance(regraded, list) else [],
                   extra={key: value for key, value in data.items() if key not in names | {"regraded"}})


@dataclass
class Entry:
    """One student's line of the class: the grading (None: nothing handed in), who, and how."""

    result: GradeResult | None
    student: Student | None = None
    error: str | None = None           # why the grading itself failed: the grader's or the machine's fault
    batch: BatchInfo = field(default_factory=BatchInfo)
    extra: dict[str, Any] = field(default_factory=dict)  # keys a newer grader wrote, kept as they are
    lms: LmsInfo | None = None         # the student of an LMS download

    @property
    def missing(self) -> bool:
        return self.result is None

    @property
    def submission(self) -> str:
        return self.result.submission if self.result else ""

    @property
    def id(self) -> str:
        """The roster's key, else the id the LMS grades by, else the submission's name."""
        return (self.student.key if self.student else "") or (self.lms.identity.key if self.lms else "") \
            or self.submission

    @property
    def name(self) -> str:
        if self.student:
            return self.student.name
        return self.lms.name if self.lms else ""

    @property
    def github(self) -> str:
        return self.student.github_username if self.student else ""

    @property
    def checks(self) -> list[CheckResult]:
        return self.result.checks if self.result else []

    @property
    def refused(self) -> bool:
        return bool(self.result and self.result.policy)

    @property
    def errored(self) -> bool:
        return bool(self.error) or any(check.status is Status.ERROR for check in self.checks)

    @property
    def regraded(self) -> bool:
        """A queue worker was lost while grading it, and another graded it again."""
        return bool(self.batch.regraded)

    @property
    def state(self) -> str:
        """missing, refused, error, passed or failed."""
        if self.result is None:
            return "missing"
        if self.refused:
            return "refused"
        if self.errored:
            return "error"
        return "passed" if self.result.passed else "failed"

    def check(self, check_id: str) -> CheckResult | None:
        return self.result.check(check_id) if self.result else None

    def sort_key(self) -> tuple[str, str]:
        return (self.id.casefold(), self.submission)

    def to_dict(self) -> dict[str, Any]:
        student = self.student.to_dict() if self.student else None
        lms = self.lms.to_dict() if self.lms else None
        if self.result is None:
            return {"submission": None, "missing": True, "student": student, "score": None, "max_score": None,
                    "passed": False, "checks": [], "policy": [], "lms": lms, **self.extra}
        return {**self.result.to_dict(), "student": student, "error": self.error, "batch": self.batch.to_dict(),
                "lms": lms, **self.extra}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Entry:
        student = Student.from_dict(data.get("student"))
        lms = LmsInfo.from_dict(data.get("lms"))
        if data.get("missing"):
            return cls(None, student, extra={key: value for key, value in data.items() if key not in _MISSING_KEYS},
                       lms=lms)
        known = _RESULT_KEYS | {"student", "error", "batch", "lms"}
        return cls(GradeResult.from_dict(data), student, read_optional_text(data.get("error")),
                   BatchInfo.from_dict(data.get("batch")),
                   {key: value for key, value in data.items() if key not in known}, lms)

    @classmethod
    def of(cls, value: Entry | Mapping[str, Any]) -> Entry:
        """``value`` itself, or the entry a results.json dict holds."""
        return value if isinstance(value, Entry) else cls.from_dict(value)


def entries_of(values: Iterable[Entry | Mapping[str, Any]]) -> list[Entry]:
    return [Entry.of(value) for value in values]


# The class ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    """A check as a column of the class: every submission's result for it."""

    id: str
    title: str
    max_points: float
    bonus: bool
    visibility: str = "visible"   # whom students' views show it to (grader/report/visibility.py)


def check_columns(entries: Sequence[Entry]) -> list[Column]:
    """Every check seen in the batch, in rubric order (unknown checks after, as first seen)."""
    seen: dict[str, Column] = {}
    for entry in entries:
        for check in entry.checks:
            if check.id and check.id not in seen:
                seen[check.id] = Column(check.id, check.title or check.id, check.max_points, check.bonus,
                                        check.visibility)
    order = {check_id: index for index, check_id in enumerate(DEFAULT_ORDER)}
    first_seen = {check_id: index for index, check_id in enumerate(seen)}
    return sorted(seen.values(), key=lambda column: (order.get(column.id, len(order)), first_seen[column.id]))


def max_score(entries: Sequence[Entry]) -> float:
    """The class's maximum: the highest any grading had (bonus checks never count)."""
    scored = [entry.result.max_score for entry in entries if entry.result is not None]
    if scored:
        return max(scored)
    return sum(column.max_points for column in check_columns(entries) if not column.bonus)
