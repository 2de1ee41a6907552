"""What the report shows of the grader's own evidence (issue 14): the redis-cli session as a
terminal-style transcript, each page's screenshot (else its text), ``ps`` and the log tails.

Everything here came from the student's stack: text is escaped by the template (the transcript
by ``render_html``, which escapes every piece), and a picture reaches ``src`` only as a
``data:image/png`` or ``data:image/jpeg`` base64 URI checked whole, never any other URI a saved
result might hold.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from grader.evidence.transcript import TRANSCRIPT_CSS, Exchange, Transcript, render_html
from grader.evidence_record import Evidence, PageEvidence, PictureData, RedisCliEvidence

_DATA_IMAGE = re.compile(r"data:image/(png|jpeg);base64,[A-Za-z0-9+/]+={0,2}")

EVIDENCE_CSS = TRANSCRIPT_CSS + """
.evidence h3 { font-size: 1rem; margin: 1.25rem 0 0.5rem; }
.evidence-intro { margin: 0; color: var(--muted); }
.evidence-pages { list-style: none; margin: 0; padding: 0; display: grid; gap: 0.85rem;
  grid-template-columns: repeat(auto-fill, minmax(min(100%, 16rem), 1fr)); }
.page-shot { margin: 0; background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius);
  padding: 0.6rem; min-width: 0; }
.page-shot img { display: block; width: 100%; height: auto; border: 1px solid var(--border); border-radius: 4px;
  background: #fff; }
.page-shot figcaption { margin-top: 0.4rem; font-size: 0.85rem; overflow-wrap: anywhere; }
.page-shot .page-text { margin: 0; background: var(--code-bg); border-radius: 4px; padding: 0.5rem;
  white-space: pre-wrap; overflow-wrap: anywhere; font-size: 0.8rem; }
.evidence-skipped { color: var(--muted); font-size: 0.85rem; padding-left: 1.2rem; }
"""


@dataclass(frozen=True)
class PageView:
    label: str
    url: str
    status: int | None
    text: str
    image_uri: str | None
    width: int
    height: int


def safe_image_uri(picture: PictureData | None) -> str | None:
    """The picture's URI when it is exactly a base64 PNG or JPEG data URI; None otherwise."""
    if picture is None or not _DATA_IMAGE.fullmatch(picture.uri):
        return None
    return picture.uri


def page_view(page: PageEvidence) -> PageView:
    uri = safe_image_uri(page.image)
    width, height = (page.image.width, page.image.height) if uri and page.image else (0, 0)
    return PageView(page.label, page.url, page.status, page.text, uri, width, height)


def transcript_html(cli: RedisCliEvidence) -> Markup:
    """The redis-cli session as a terminal shows it, with why it is missing when it is."""
    transcript = Transcript(tuple(Exchange(item.command, item.reply) for item in cli.exchanges),
                            title=cli.command, note=cli.unavailable)
    return render_html(transcript)


def live_evidence_view(evidence: Evidence) -> dict[str, Any] | None:
    """What the report's "Evidence" section shows; None when the grading recorded none of it."""
    if not (evidence.redis_cli or evidence.pages or evidence.services or evidence.skipped):
        return None
    services = evidence.services
    return {
        "css": Markup(EVIDENCE_CSS),
        "transcript": transcript_html(evidence.redis_cli) if evidence.redis_cli else None,
        "redis_service": evidence.redis_cli.service if evidence.redis_cli else None,
        "pages": [page_view(page) for page in evidence.pages],
        "ps": list(services.ps) if services else [],
        "logs": dict(services.logs) if services else {},
        "skipped": list(evidence.skipped),
    }
