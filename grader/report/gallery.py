"""The class dashboard's evidence gallery: per student, small pictures of what the grading recorded
(the Flask page, the redis-cli exchange) and of what the student handed in (screenshots), linked
to the student's report, so an instructor can scan a class in one page.

The pictures are the results' own thumbnails (``data:image/`` URIs), shown small; past a size cap
for the whole page the rest are left to the students' reports. Passes of student-name that a
screenshot decided are marked, for an instructor to look at.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from grader.evidence_record import Evidence, PictureData
from grader.report.entry import Entry

MAX_PAGES = 2             # Flask page pictures per student
MAX_SCREENSHOTS = 2       # student's screenshots per student
MAX_TRANSCRIPT_LINES = 8
MAX_TOTAL_BYTES = 8_000_000  # all of the gallery's pictures together


@dataclass(frozen=True)
class Thumb:
    label: str
    uri: str
    width: int
    height: int
    kind: str                  # "page" or "screenshot"
    decided: bool = False      # the screenshot that passed student-name


@dataclass
class GalleryCard:
    id: str
    name: str
    href: str
    thumbs: list[Thumb] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)
    screenshot_pass: str | None = None   # the screenshot that passed student-name
    left_out: int = 0                    # pictures not shown (caps): see the report


def _usable(picture: PictureData | None) -> PictureData | None:
    return picture if picture is not None and picture.uri.startswith("data:image/") else None


def _transcript(evidence: Evidence) -> list[str]:
    cli = evidence.redis_cli
    if cli is None:
        return []
    if cli.unavailable:
        return [f"(redis-cli: {cli.unavailable})"]
    lines = [line for exchange in cli.exchanges for line in (f"> {exchange.command}", *exchange.reply)]
    return lines[:MAX_TRANSCRIPT_LINES]


def _pictures(evidence: Evidence, decided: str | None) -> list[Thumb]:
    pages = [Thumb(page.label or page.url, image.uri, image.width, image.height, "page")
             for page in evidence.pages if (image := _usable(page.image))][:MAX_PAGES]
    shots = [Thumb(shot.path, image.uri, image.width, image.height, "screenshot", shot.path == decided)
             for shot in sorted(evidence.screenshots, key=lambda shot: (shot.path != decided, shot.value is None))
             if (image := _usable(shot.image))]
    return pages + shots[:MAX_SCREENSHOTS]


def gallery(entries: list[tuple[Entry, str]]) -> list[GalleryCard]:
    """A card per graded entry (with the link to its report) that has any evidence, in the order given."""
    cards, spent = [], 0
    for entry, href in entries:
        if entry.result is None:
            continue
        decided = next((check.screenshot for check in entry.result.checks if check.screenshot), None)
        card = GalleryCard(entry.id, entry.name or entry.id, href,
                           transcript=_transcript(entry.result.evidence), screenshot_pass=decided)
        for thumb in _pictures(entry.result.evidence, decided):
            if spent + len(thumb.uri) > MAX_TOTAL_BYTES:
                card.left_out += 1
                continue
            spent += len(thumb.uri)
            card.thumbs.append(thumb)
        if card.thumbs or card.transcript or card.left_out or decided:
            cards.append(card)
    return cards
