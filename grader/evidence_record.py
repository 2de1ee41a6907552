"""What a grading recorded of the deliverables (issue 14): the shared vocabulary of evidence.

The assignment asks students for screenshots of redis-cli and of the Flask page. A grading
records the same things itself while the stack runs (``redis_cli``, ``pages``, ``services``) and
reads the pictures the student handed in (``screenshots``). These are plain data, serialised both
ways like the rest of a result; the evidence layer fills them, the report layer shows them.

Everything here came from the student's stack or files: it is text to escape and pictures to show
as ``data:`` URIs, never markup. Images are already downscaled and within the report's size cap
when they get here; ``image`` is None where none was taken (no browser installed, the cap reached).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from grader.results import read_list, read_optional_text, read_text


def _read_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _read_lines(value: Any) -> tuple[str, ...]:
    return tuple(str(line) for line in value) if isinstance(value, list) else ()


@dataclass(frozen=True)
class CliExchange:
    """One command typed at redis-cli and the lines it answered, as a terminal shows them."""

    command: str
    reply: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"command": self.command, "reply": list(self.reply)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CliExchange:
        return cls(read_text(data.get("command")), _read_lines(data.get("reply")))


@dataclass(frozen=True)
class RedisCliEvidence:
    """The redis-cli exchange the assignment asks students to screenshot, run as it says."""

    service: str
    command: str                              # e.g. "docker compose exec redis redis-cli --no-raw"
    exchanges: tuple[CliExchange, ...] = ()
    unavailable: str | None = None            # why there is no exchange ("the image has no redis-cli")

    def to_dict(self) -> dict[str, Any]:
        return {"service": self.service, "command": self.command,
                "exchanges": [exchange.to_dict() for exchange in self.exchanges], "unavailable": self.unavailable}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RedisCliEvidence:
        return cls(read_text(data.get("service")), read_text(data.get("command")),
                   tuple(CliExchange.from_dict(item) for item in read_list(data.get("exchanges"))),
                   read_optional_text(data.get("unavailable")))


@dataclass(frozen=True)
class PictureData:
    """A downscaled picture ready for a page: a ``data:image/...;base64,`` URI and its size."""

    uri: str
    width: int
    height: int

    def to_dict(self) -> dict[str, Any]:
        return {"uri": self.uri, "width": self.width, "height": self.height}

    @classmethod
    def from_dict(cls, data: Any) -> PictureData | None:
        if not isinstance(data, Mapping) or not str(data.get("uri", "")).startswith("data:image/"):
            return None  # never a URI of another scheme from a saved file: it would be fetched
        return cls(str(data["uri"]), _read_int(data.get("width")) or 0, _read_int(data.get("height")) or 0)


@dataclass(frozen=True)
class PageEvidence:
    """The web page at one request of the grading (``label``: "visit 1", "after the restart")."""

    label: str
    url: str
    status: int | None = None
    text: str = ""                            # the page's text, capped
    image: PictureData | None = None          # a headless browser's rendering of the response

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "url": self.url, "status": self.status, "text": self.text,
                "image": self.image.to_dict() if self.image else None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PageEvidence:
        return cls(read_text(data.get("label")), read_text(data.get("url")), _read_int(data.get("status")),
                   read_text(data.get("text")), PictureData.from_dict(data.get("image")))


@dataclass(frozen=True)
class ServicesEvidence:
    """``docker compose ps`` and the last lines of each service's log, taken before teardown."""

    ps: tuple[str, ...] = ()
    logs: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"ps": list(self.ps), "logs": {name: list(lines) for name, lines in self.logs.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ServicesEvidence:
        logs = data.get("logs")
        return cls(_read_lines(data.get("ps")),
                   {str(name): _read_lines(lines) for name, lines in logs.items()} if isinstance(logs, Mapping) else {})


@dataclass(frozen=True)
class ScreenshotEvidence:
    """One picture the student handed in, and what OCR read in it."""

    path: str                                 # inside the submission, as the student named it
    text: str = ""                            # what was read, capped
    value: str | None = None                  # the value ``student_name`` is seen holding, if any
    why: str = ""                             # how the text was judged, for a person to check
    confidence: float = 0.0
    image: PictureData | None = None
    skipped: str | None = None                # not read: an optional part missing, the time budget spent
    error: str | None = None                  # not read: refused, or OCR failed

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "text": self.text, "value": self.value, "why": self.why,
                "confidence": round(self.confidence, 3), "image": self.image.to_dict() if self.image else None,
                "skipped": self.skipped, "error": self.error}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScreenshotEvidence:
        confidence = data.get("confidence")
        return cls(read_text(data.get("path")), read_text(data.get("text")), read_optional_text(data.get("value")),
                   read_text(data.get("why")), float(confidence) if isinstance(confidence, (int, float)) else 0.0,
                   PictureData.from_dict(data.get("image")), read_optional_text(data.get("skipped")),
                   read_optional_text(data.get("error")))


@dataclass
class Evidence:
    """Everything a grading recorded of the deliverables; empty when it recorded nothing."""

    redis_cli: RedisCliEvidence | None = None
    pages: list[PageEvidence] = field(default_factory=list)
    services: ServicesEvidence | None = None
    screenshots: list[ScreenshotEvidence] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)   # one line per part not recorded, and why

    @property
    def empty(self) -> bool:
        return not (self.redis_cli or self.pages or self.services or self.screenshots or self.skipped)

    def to_dict(self) -> dict[str, Any]:
        return {"redis_cli": self.redis_cli.to_dict() if self.redis_cli else None,
                "pages": [page.to_dict() for page in self.pages],
                "services": self.services.to_dict() if self.services else None,
                "screenshots": [shot.to_dict() for shot in self.screenshots],
                "skipped": list(self.skipped)}

    @classmethod
    def from_dict(cls, data: Any) -> Evidence:
        if not isinstance(data, Mapping):
            return cls()
        redis_cli, services = data.get("redis_cli"), data.get("services")
        return cls(RedisCliEvidence.from_dict(redis_cli) if isinstance(redis_cli, Mapping) else None,
                   [PageEvidence.from_dict(item) for item in read_list(data.get("pages"))],
                   ServicesEvidence.from_dict(services) if isinstance(services, Mapping) else None,
                   [ScreenshotEvidence.from_dict(item) for item in read_list(data.get("screenshots"))],
                   [str(line) for line in data.get("skipped") or [] if isinstance(line, str)])
