"""The grader's own evidence of the deliverables, recorded while the checks run (issue 14).

The checks call the recorder at the moments a student would take a screenshot: student-name once
Redis answers (``redis_cli``: a thread runs the redis-cli session while the web checks go on),
flask-counter at each request and after the restart (``page``: the answer it already got, rendered
by a worker thread's browser). The stack calls ``last_look`` before persistence takes it down, and
the engine once more when the checks are over (whichever comes first records ``ps`` and the logs,
and lets the camera close: a page recorded later keeps its text only).
``evidence()`` joins what is still running and builds the record; ``close()`` stops everything when
a grading is interrupted. A recorder made with ``enabled=False`` records nothing and starts nothing.
"""
from __future__ import annotations

import html
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from grader.evidence.extras import SkipNotes, playwright_missing
from grader.evidence.transcript import clean
from grader.evidence_record import Evidence, PageEvidence, PictureData, RedisCliEvidence, ServicesEvidence

# The browser, the Docker commands and the camera's thread are imported where they are used: every
# grading makes a recorder, and a static one (or a --no-evidence one) must not load them.
if TYPE_CHECKING:
    from grader.docker.stack import Stack
    from grader.evidence.browser import PageShot
    from grader.grading.page_shots import ShotWorker
    from grader.grading.probes import Page

MAX_IMAGE_BYTES = 1_500_000   # of data URIs, all page screenshots of one grading together
MAX_SHOT_CHARS = 256 * 1024   # a page this large is no counter page: its text only, no time spent rendering it
MAX_READ_CHARS = 64 * 1024    # of a page, read for its text
SHOTS_WAIT_S = 30.0           # for the shots still being taken when the result is built


@dataclass(frozen=True)
class Visit:
    """One answer of the web app, as a check got it."""

    label: str
    url: str
    status: int
    text: str


class EvidenceRecorder:
    """One grading's evidence, as the checks and the stack hand it in (thread-safe where they are not
    in the main thread); ``GradingContext.evidence``."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._visits: list[Visit] = []
        self._shots: ShotWorker | None = None
        self._redis_cli: RedisCliEvidence | None = None
        self._redis_thread: threading.Thread | None = None
        self._services: ServicesEvidence | None = None
        self._notes = SkipNotes()
        self._lock = threading.Lock()

    # What the checks call -------------------------------------------------------------------------

    def redis_cli(self, stack: Stack | None, service: str | None, key: str) -> None:
        """Start the redis-cli session in the background (once): Redis answers and holds its data."""
        if not (self.enabled and stack is not None and service) or self._redis_thread is not None:
            return
        self._redis_thread = threading.Thread(target=self._run_redis_cli, args=(stack, service, key),
                                              name="grader-redis-cli", daemon=True)
        self._redis_thread.start()

    def page(self, label: str, url: str, page: Page) -> None:
        """Record one answer of the web app; its screenshot is taken in the worker thread."""
        if not self.enabled:
            return
        with self._lock:
            index = len(self._visits)
            self._visits.append(Visit(label, url, page.status, page_text(page.text)))
            if index == 0 and not self._camera_missing():
                from grader.grading.page_shots import ShotWorker

                self._shots = ShotWorker()  # Chromium starts while the check goes on with its requests
        if self._shots is not None and not page.truncated and len(page.text) <= MAX_SHOT_CHARS:
            from grader.grading.page_shots import html_of

            self._shots.submit(index, html_of(page.text, page.content_type), label)

    def last_look(self, stack: Stack | None, redis_service: str | None, key: str) -> None:
        """Before the stack goes down (or when the checks end): finish the redis-cli session (running
        it now if no check started it) and record ``ps`` and the logs, once."""
        if self._shots is not None:
            self._shots.done()  # the web checks are over: the camera closes while the stack goes down
        if not (self.enabled and stack is not None and stack.booted) or self._services is not None:
            return
        state = stack.services.get(redis_service) if redis_service else None
        if state is not None and state.running and self._redis_thread is None:
            self.redis_cli(stack, redis_service, key)
        from grader.grading import stack_evidence

        self._services = stack_evidence.services_snapshot(stack)
        self._join_redis_cli()

    # The record --------------------------------------------------------------------------------------

    def evidence(self) -> Evidence:
        """Everything recorded, once the background work is done (bounded waits)."""
        if not self.enabled:
            return Evidence()
        self._join_redis_cli()
        shots = self._shots.finish(SHOTS_WAIT_S) if self._shots is not None else {}
        if self._shots is not None:
            self._notes.add(self._shots.skipped)
        pages, over = pages_within(self._visits, shots, MAX_IMAGE_BYTES)
        if over:
            self._notes.add(f"skipped: {over} page screenshot(s) past the report's image budget of "
                            f"{MAX_IMAGE_BYTES / 1e6:g} MB (their text is kept)")
        return Evidence(redis_cli=self._redis_cli, pages=pages, services=self._services, skipped=self._notes.lines)

    def exit(self, kind: type[BaseException] | None, value: BaseException | None, traceback: object) -> None:
        """As an exit callback: ``close()`` when the grading ends by an exception (a stop)."""
        if kind is not None:
            self.close()

    def close(self) -> None:
        """Stop what still runs (an interrupted grading): the redis-cli command, the camera."""
        thread = self._redis_thread
        if thread is not None and thread.ident is not None and thread.is_alive():
            from grader.docker import runner

            runner.kill_commands_of(thread.ident)
        if self._shots is not None:
            self._shots.stop()

    # Inside ----------------------------------------------------------------------------------------

    def _run_redis_cli(self, stack: Stack, service: str, key: str) -> None:
        from grader.grading import stack_evidence

        try:
            self._redis_cli = stack_evidence.redis_cli_exchange(stack, service, key)
        except Exception as exc:  # noqa: BLE001 - in a thread: any failure is recorded, never a traceback
            self._redis_cli = RedisCliEvidence(service, stack_evidence.shown_command(service),
                                               unavailable=f"redis-cli could not be run: {clean(str(exc))[:200]}")

    def _join_redis_cli(self) -> None:
        if self._redis_thread is not None:
            from grader.grading.stack_evidence import REDIS_CLI_TIMEOUT_S

            self._redis_thread.join(REDIS_CLI_TIMEOUT_S + 5)

    def _camera_missing(self) -> bool:
        missing = playwright_missing()
        self._notes.add(missing)
        return missing is not None


def pages_within(visits: list[Visit], shots: dict[int, PageShot], budget: int) -> tuple[list[PageEvidence], int]:
    """The visits with their screenshots while ``budget`` (bytes of data URIs) lasts, and how many
    screenshots were left out past it."""
    pages, spent, over = [], 0, 0
    for index, visit in enumerate(visits):
        shot = shots.get(index)
        picture = _picture(shot)
        if picture is not None and spent + len(picture.uri) > budget:
            picture, over = None, over + 1
        spent += len(picture.uri) if picture else 0
        text = clean_text(shot.text) if shot is not None and shot.png else visit.text
        pages.append(PageEvidence(visit.label, visit.url, visit.status, text, picture))
    return pages, over


def _picture(shot: PageShot | None) -> PictureData | None:
    if shot is None or shot.png is None or shot.data_uri is None:
        return None
    return PictureData(shot.data_uri, shot.width, shot.height)


def page_text(body: str) -> str:
    """A page's text without its markup, scripts or styles, capped. One pass forward, each search
    going on from where the last ended: linear in the page, whatever a hostile page holds (a
    regular expression or html.parser takes quadratic time on, say, `<script` repeated)."""
    page = body[:MAX_READ_CHARS]
    lowered = page.lower()
    parts, position = [], 0
    while position < len(page):
        start = page.find("<", position)
        end = page.find(">", start) if start >= 0 else -1
        if end < 0:  # no more tags: the rest is text (an unclosed `<` and what follows, as browsers show it)
            parts.append(page[position:])
            break
        parts += [page[position:start], " "]
        position = end + 1
        name = lowered[start + 1:end].split(maxsplit=1)
        if name and name[0] in ("script", "style"):
            closing = lowered.find(f"</{name[0]}", position)
            closed = lowered.find(">", closing) if closing >= 0 else -1
            position = len(page) if closed < 0 else closed + 1
    return clean_text(html.unescape("".join(parts)))


def clean_text(text: str) -> str:
    lines = [clean(" ".join(line.split())) for line in text.splitlines()]
    from grader.evidence.browser import MAX_TEXT_CHARS

    return "\n".join(line for line in lines if line)[:MAX_TEXT_CHARS]
