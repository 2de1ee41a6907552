"""Page screenshots off the critical path: a worker thread with its own camera renders the answers
the web check already got (``PageCamera.shoot_html``), so evidence adds no visit to the counter
and no wait to the checks.

Playwright's sync API belongs to the thread that started it, so the camera is started, used and
closed in the worker; the checks only hand it the HTML. Chromium is launched with the first page,
while the check goes on with its next requests (and the restart).
"""
from __future__ import annotations

import queue
import threading

from markupsafe import escape

from grader.evidence.browser import PageCamera, PageShot, ShotSize

# A small browser window (a counter page is one line: legible when the report shows it on a
# phone), and the PNG kept: at most 480 px wide.
SHOT_SIZE = ShotSize(viewport=(480, 300), max_side=480, max_bytes=150_000)
SHOT_TIMEOUT_S = 10.0
PLAIN_TEXT_PAGE = "<pre style='word-wrap:break-word;white-space:pre-wrap'>{}</pre>"


def html_of(body: str, content_type: str) -> str:
    """What a browser would render of an answer: HTML as it is, any other text as Chromium shows
    text/plain (escaped, in a <pre>)."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind in ("", "text/html", "application/xhtml+xml"):
        return body
    return PLAIN_TEXT_PAGE.format(escape(body))


class ShotWorker:
    """``submit(index, html)`` from any thread; ``finish()`` waits for the shots and returns them."""

    def __init__(self, size: ShotSize = SHOT_SIZE) -> None:
        self.size = size
        self.skipped: str | None = None
        self._jobs: queue.SimpleQueue[tuple[int, str, str] | None] = queue.SimpleQueue()
        self._shots: dict[int, PageShot] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name="grader-page-shots", daemon=True)
        self._thread.start()

    def submit(self, index: int, html: str, label: str) -> None:
        self._jobs.put((index, html, label))

    def done(self) -> None:
        """No more pages: the worker takes the shots still queued, then closes the camera."""
        self._jobs.put(None)

    def finish(self, timeout: float) -> dict[int, PageShot]:
        """The shots taken (by page index), after waiting at most ``timeout`` for the rest."""
        self.done()
        self._thread.join(timeout)
        return dict(self._shots)

    def stop(self) -> None:
        """Take no more shots (the grading was stopped); the camera closes after the current one."""
        self._stop.set()
        self._jobs.put(None)

    def _work(self) -> None:
        try:
            with PageCamera(self.size, timeout_s=SHOT_TIMEOUT_S) as camera:
                self.skipped = camera.skipped
                while (job := self._jobs.get()) is not None and not self._stop.is_set():
                    index, html, label = job
                    self._shots[index] = camera.shoot_html(html, label)
        except Exception as exc:  # noqa: BLE001 - a broken camera must not break the grading: its shots are not taken
            self.skipped = f"skipped: page screenshots (the browser failed: {str(exc).strip()[:160]})"
