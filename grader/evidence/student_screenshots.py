"""The student's screenshots as a grading records them: each picture found, what OCR read in it,
whether it shows the key holding a value, and a small thumbnail for the report.

Runs without a stack (it reads only the private copy of the submission), so the grading runs it
while the stack builds and boots. ``stop`` ends it early (an interrupted grading): pictures not
read by then are recorded as skipped.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

from grader.evidence.extras import tesseract_missing
from grader.evidence.images import FoundImage, ImageLimits, PictureRefused, decode, embed, find_images
from grader.evidence.ocr import OcrSettings, ScreenshotReading, read_screenshots
from grader.evidence_record import PictureData, ScreenshotEvidence

MAX_TEXT_CHARS = 4000


@dataclass(frozen=True)
class ThumbnailCaps:
    max_side: int = 480            # pixels, the longer side
    max_bytes: int = 60_000        # one thumbnail's data URI
    total_bytes: int = 360_000     # all of one submission's thumbnails; past it pictures show no image


@dataclass
class StudentScreenshots:
    """What was recorded of one submission's pictures, and one line per part skipped."""

    screenshots: list[ScreenshotEvidence] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def showing_value(self) -> ScreenshotEvidence | None:
        """The first picture (in path order) that shows the key holding a value."""
        return next((shot for shot in self.screenshots if shot.value is not None and not shot.error), None)


def record_screenshots(folder: Path, key: str = "student_name", stop: threading.Event | None = None,
                       settings: OcrSettings = OcrSettings(), limits: ImageLimits = ImageLimits(),
                       caps: ThumbnailCaps = ThumbnailCaps()) -> StudentScreenshots:
    """Find, read and thumbnail the pictures under ``folder`` (the submission's private copy)."""
    scan = find_images(folder, limits)
    recorded = StudentScreenshots()
    if scan.skipped:  # no Pillow: not even the pictures' sizes can be read
        if scan.images:
            recorded.skipped.append(scan.skipped)
        return recorded
    if scan.images and (missing := tesseract_missing()):
        recorded.skipped.append(missing)
    readings = read_screenshots(folder, scan, key, settings, limits, stop=stop.is_set if stop else None)
    spent = 0
    for reading, found in zip(readings, scan.images):
        shot = _evidence(reading)
        image = None if stop and stop.is_set() else _thumbnail(folder, found, limits, caps)
        if image is not None and spent + len(image.uri) <= caps.total_bytes:
            spent += len(image.uri)
            shot = replace(shot, image=image)
        recorded.screenshots.append(shot)
    recorded.screenshots += [ScreenshotEvidence(item.path, error=f"not read: {item.reason}")
                             for item in scan.rejected if item.path]
    return recorded


def _evidence(reading: ScreenshotReading) -> ScreenshotEvidence:
    return ScreenshotEvidence(path=reading.path, text=reading.text[:MAX_TEXT_CHARS],
                              value=reading.value if reading.evidence else None, why=reading.why,
                              confidence=reading.confidence, skipped=reading.skipped, error=reading.error)


def _thumbnail(folder: Path, found: FoundImage, limits: ImageLimits, caps: ThumbnailCaps) -> PictureData | None:
    try:
        embedded = embed(decode(folder, found, limits), max_side=caps.max_side, max_bytes=caps.max_bytes)
    except PictureRefused:  # the reading already says why the picture was refused
        return None
    return PictureData(embedded.data_uri, embedded.width, embedded.height)
