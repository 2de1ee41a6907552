"""The student's screenshots read beside the grading: OCR takes about 0.3 s a picture, so it runs
in a thread started as soon as the submission is copied, while the stack builds and boots, and
the student-name check joins it only when it needs a picture.

The thread reads the private copy only. ``close()`` (called before the copy is removed) stops it
between pictures and waits for the picture being read (Tesseract's own time limit bounds that).
"""
from __future__ import annotations

import threading
from pathlib import Path

from grader.evidence.student_screenshots import StudentScreenshots, record_screenshots


class ScreenshotReader:
    """One submission's pictures, read in a background thread; ``result()`` waits for them."""

    def __init__(self, folder: Path, key: str) -> None:
        self._stop = threading.Event()
        self._result = StudentScreenshots()
        self._failure: str | None = None
        self._thread = threading.Thread(target=self._read, args=(folder, key), name="grader-screenshots", daemon=True)

    def start(self) -> ScreenshotReader:
        self._thread.start()
        return self

    def _read(self, folder: Path, key: str) -> None:
        try:
            self._result = record_screenshots(folder, key, stop=self._stop)
        # A picture is untrusted input and Pillow's decoders are many: whatever one raises must not
        # end the grading; the screenshots are then recorded as not read, and why.
        except Exception as exc:  # noqa: BLE001
            self._failure = f"skipped: reading screenshots failed ({type(exc).__name__}: {str(exc)[:200]})"

    def result(self) -> StudentScreenshots:
        self._thread.join()
        if self._failure:
            return StudentScreenshots(skipped=[self._failure])
        return self._result

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
