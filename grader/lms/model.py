"""What a bulk download holds: students, each with the files of their graded attempt.

Every object here is a small frozen dataclass serialised both ways (``to_dict`` /
``from_dict``), so a parsed download can be stored next to a batch's results.json and read
back without parsing the download again.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from grader.errors import GraderError

LMS_NAMES = ("canvas", "moodle", "blackboard", "brightspace")


class LmsError(GraderError):
    """The download cannot be read as the LMS's bulk download (a usage error, not a student's)."""


def _text_fields(cls: type, data: dict[str, Any] | None) -> dict[str, Any]:
    """The constructor arguments of ``cls`` found in ``data``: strings as strings, bools as bools."""
    data = data or {}
    values: dict[str, Any] = {}
    for spec in fields(cls):
        if spec.name in data and data[spec.name] is not None:
            values[spec.name] = bool(data[spec.name]) if spec.type in ("bool", bool) else str(data[spec.name])
    return values


@dataclass(frozen=True)
class Identity:
    """Who handed a submission in, as far as the download says (and a class list adds)."""

    lms: str                      # one of LMS_NAMES
    display_name: str             # as the download spells it ("doejane" on Canvas, "Jane Doe" on Moodle)
    user_id: str = ""             # Canvas user id (the representative's, for a group)
    participant_id: str = ""      # Moodle's per-assignment id ("Participant 123"); Canvas's anonymous id
    username: str = ""            # Blackboard username; Brightspace username (from a class list)
    org_defined_id: str = ""      # Brightspace OrgDefinedId (from a class list)
    email: str = ""
    group: str = ""               # the group's name, for a group submission
    group_id: str = ""            # Moodle's group id, for a team submission
    late: bool = False            # the LMS marked the submission late
    anonymous: bool = False       # anonymous grading / blind marking: the name is not the student's
    attempt: str = ""             # when the graded attempt was submitted (ISO 8601, local time), if known

    @property
    def key(self) -> str:
        """The id this LMS grades by, unique within one download."""
        if self.lms == "canvas":
            return self.user_id or self.participant_id
        if self.lms == "moodle":
            return self.participant_id or self.group_id or self.group or self.display_name
        if self.lms == "blackboard":
            return self.username
        return self.org_defined_id or self.username or " ".join(self.display_name.split()).casefold()

    def to_dict(self) -> dict[str, Any]:
        return {spec.name: getattr(self, spec.name) for spec in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Identity:
        values = _text_fields(cls, data)
        if values.get("lms") not in LMS_NAMES or "display_name" not in values:
            raise LmsError(f"not an LMS identity: {str(data)[:80]}")
        return cls(**values)


@dataclass(frozen=True)
class SubmittedFile:
    """One file of a submission: where it is in the download, and the name the student gave it.

    ``name`` is a relative POSIX path (Moodle keeps the student's folders), already made safe:
    no absolute path, no ``..``, no control characters, unique within the submission.
    """

    path: str   # relative to the download's root, as found there
    name: str   # relative to the submission's folder, as the student named it

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "name": self.name}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubmittedFile:
        return cls(path=str(data["path"]), name=str(data["name"]))


@dataclass(frozen=True)
class LmsSubmission:
    """One student's (or group's) graded attempt."""

    identity: Identity
    files: tuple[SubmittedFile, ...]
    superseded: tuple[SubmittedFile, ...] = ()   # earlier attempts in the download, not graded

    @property
    def id(self) -> str:
        """A name for this submission in a batch: unique within the download, safe as a folder name."""
        from grader.lms.filenames import safe_component

        name = self.identity.group or self.identity.display_name
        key = self.identity.key
        label = f"{name}_{key}" if key and key.casefold() not in name.casefold() else name
        return safe_component(f"{self.identity.lms}-{label}")

    def to_dict(self) -> dict[str, Any]:
        return {"identity": self.identity.to_dict(), "files": [f.to_dict() for f in self.files],
                "superseded": [f.to_dict() for f in self.superseded]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LmsSubmission:
        return cls(identity=Identity.from_dict(data["identity"]),
                   files=tuple(SubmittedFile.from_dict(item) for item in data.get("files") or []),
                   superseded=tuple(SubmittedFile.from_dict(item) for item in data.get("superseded") or []))


@dataclass(frozen=True)
class Ignored:
    """An entry of the download that is no student's file (index.html, a receipt, an unknown name)."""

    path: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ignored:
        return cls(path=str(data["path"]), reason=str(data["reason"]))


@dataclass(frozen=True)
class Download:
    """A whole "download all submissions" folder, read."""

    lms: str
    root: str                                 # the folder read (absolute)
    submissions: tuple[LmsSubmission, ...]
    ignored: tuple[Ignored, ...] = field(default=())

    def submission(self, key: str) -> LmsSubmission | None:
        return next((item for item in self.submissions if item.identity.key == key), None)

    def to_dict(self) -> dict[str, Any]:
        return {"lms": self.lms, "root": self.root, "submissions": [item.to_dict() for item in self.submissions],
                "ignored": [item.to_dict() for item in self.ignored]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Download:
        if data.get("lms") not in LMS_NAMES:
            raise LmsError(f"not an LMS download: lms is {data.get('lms')!r}")
        return cls(lms=str(data["lms"]), root=str(data.get("root") or ""),
                   submissions=tuple(LmsSubmission.from_dict(item) for item in data.get("submissions") or []),
                   ignored=tuple(Ignored.from_dict(item) for item in data.get("ignored") or []))
