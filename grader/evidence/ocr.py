"""Reading a student's screenshots with Tesseract, and looking for the key holding a value.

Tesseract is Debian's ``tesseract-ocr`` program, driven through pytesseract (which runs it as
a subprocess with a time limit, on a temporary copy of the prepared pixels). Pictures are
prepared for it as terminals need: grayscale, dark themes inverted to dark-on-light,
contrast stretched, small ones upscaled. Each reading keeps the text read, so a person can
check the verdict.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.evidence.extras import tesseract_missing
from grader.evidence.images import FoundImage, ImageLimits, ImageScan, PictureRefused, decode
from grader.evidence.redis_text import KeySighting, find_key_value

if TYPE_CHECKING:  # Pillow is optional (the evidence extra)
    from PIL.Image import Image


# Measured on the test screenshots: clean ones 0.01-0.02, photos of a screen 0.29-0.44.
GRAINY = 0.1


@dataclass(frozen=True)
class OcrSettings:
    language: str = "eng"
    timeout_s: float = 15.0        # one picture; tesseract is killed past it
    budget_s: float = 30.0         # all pictures of one submission; the rest are not read
    upscale_below: int = 1400      # pictures whose longer side is smaller are read at 2x
    page_mode: int = 6             # Tesseract's "one uniform block of text": a terminal
    denoise: bool = True           # a 3x3 median on grainy pictures (photos): grain makes Tesseract slow and wrong


@dataclass(frozen=True)
class OcrText:
    lines: tuple[str, ...]
    confidences: tuple[float, ...]  # Tesseract's mean word confidence per line, 0 to 1

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True)
class ScreenshotReading:
    """One picture read: its text, and whether it shows the key holding a value."""

    path: str
    text: str
    sighting: KeySighting
    confidence: float = 0.0  # mean OCR confidence on the lines that decided, else on all; 0 to 1
    duration_s: float = 0.0
    skipped: str | None = None   # not read: an optional part is missing, or the time budget ran out
    error: str | None = None     # not read: the picture was refused or Tesseract failed

    @property
    def evidence(self) -> bool:
        return self.sighting.evidence

    @property
    def value(self) -> str | None:
        return self.sighting.value

    @property
    def why(self) -> str:
        return self.sighting.why

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "text": self.text, **self.sighting.to_dict(),
                "confidence": round(self.confidence, 3), "duration_s": round(self.duration_s, 3),
                "skipped": self.skipped, "error": self.error}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScreenshotReading:
        return cls(path=data["path"], text=data.get("text", ""), sighting=KeySighting.from_dict(data),
                   confidence=data.get("confidence", 0.0), duration_s=data.get("duration_s", 0.0),
                   skipped=data.get("skipped"), error=data.get("error"))


def prepare(picture: Image, settings: OcrSettings = OcrSettings()) -> Image:
    """Dark text on a light ground, full contrast, large enough for Tesseract's line finder."""
    from PIL import Image as PILImage
    from PIL import ImageFilter, ImageOps, ImageStat

    gray = ImageOps.grayscale(picture)
    if ImageStat.Stat(gray).mean[0] < 128:  # a dark theme: Tesseract reads dark on light best
        gray = ImageOps.invert(gray)
    if settings.denoise:
        smooth = gray.filter(ImageFilter.MedianFilter(3))
        if _grain(gray, smooth) > GRAINY:
            gray = smooth
    gray = ImageOps.autocontrast(gray, cutoff=1)
    if max(gray.size) < settings.upscale_below:
        gray = gray.resize((gray.width * 2, gray.height * 2), PILImage.Resampling.LANCZOS)
    return gray


def _grain(gray: Image, smooth: Image) -> float:
    """The share of pixels a median filter changes a little (3 to 19 levels): sensor grain and
    JPEG noise do, while a clean screenshot changes only at glyph edges, and by more."""
    from PIL import ImageChops

    counts = ImageChops.difference(gray, smooth).histogram()
    return sum(counts[3:20]) / max(1, sum(counts))


def read_text(picture: Image, settings: OcrSettings = OcrSettings()) -> OcrText:
    """Tesseract's lines and their confidence; raises RuntimeError on failure or timeout."""
    import pytesseract

    # OpenMP threads make Tesseract several times slower on small pictures and 2 cores, and
    # grading runs other work beside it; pytesseract passes this process's environment on.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    data = pytesseract.image_to_data(prepare(picture, settings), lang=settings.language,
                                     config=f"--psm {settings.page_mode}", timeout=settings.timeout_s,
                                     output_type=pytesseract.Output.DICT)
    words: dict[tuple[int, int, int], list[tuple[str, float]]] = {}
    for i, word in enumerate(data["text"]):
        if word.strip():
            place = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
            words.setdefault(place, []).append((word, max(float(data["conf"][i]), 0.0) / 100))
    lines = [(" ".join(word for word, _ in line), sum(c for _, c in line) / len(line))
             for _, line in sorted(words.items())]
    return OcrText(tuple(text for text, _ in lines), tuple(conf for _, conf in lines))


def read_screenshot(folder: Path, found: FoundImage, key: str = "student_name",
                    settings: OcrSettings = OcrSettings(), limits: ImageLimits = ImageLimits()) -> ScreenshotReading:
    """Read one found picture; a refused picture or a Tesseract failure is said, not raised."""
    started = time.monotonic()
    if reason := tesseract_missing():
        return _unread(found.path, skipped=reason)
    try:
        ocr = read_text(decode(folder, found, limits), settings)
    except PictureRefused as refused:
        return _unread(found.path, error=str(refused), started=started)
    # pytesseract raises RuntimeError on a timeout and TesseractError (a RuntimeError) on a
    # failed run; OSError when the tesseract program cannot be started.
    except (RuntimeError, OSError) as failure:
        return _unread(found.path, error=f"OCR failed: {str(failure).strip()[:200]}", started=started)
    sighting = find_key_value(ocr.lines, key)
    deciding = [ocr.confidences[i] for i in sighting.lines] or list(ocr.confidences)
    confidence = sum(deciding) / len(deciding) if deciding else 0.0
    return ScreenshotReading(found.path, ocr.text, sighting, confidence, time.monotonic() - started)


def _unread(path: str, *, skipped: str | None = None, error: str | None = None,
            started: float | None = None) -> ScreenshotReading:
    why = skipped or error or "not read"
    return ScreenshotReading(path, "", KeySighting(False, None, "none", why),
                             duration_s=time.monotonic() - started if started else 0.0,
                             skipped=skipped, error=error)


def read_screenshots(folder: Path, scan: ImageScan, key: str = "student_name",
                     settings: OcrSettings = OcrSettings(), limits: ImageLimits = ImageLimits(),
                     stop: Callable[[], bool] | None = None) -> tuple[ScreenshotReading, ...]:
    """Read every found picture in turn, until the time budget is spent (or ``stop()`` says so)."""
    readings = []
    started = time.monotonic()
    for found in scan.images:
        if stop is not None and stop():
            readings.append(_unread(found.path, skipped="skipped: not read, the grading was stopped"))
            continue
        if time.monotonic() - started >= settings.budget_s:
            readings.append(_unread(found.path, skipped=f"skipped: not read, the {settings.budget_s:g} s "
                                                        "budget for reading screenshots was spent"))
            continue
        readings.append(read_screenshot(folder, found, key, settings, limits))
    return tuple(readings)


def first_evidence(readings: Sequence[ScreenshotReading]) -> ScreenshotReading | None:
    """The first picture (in path order) that shows the key holding a value, if any."""
    return next((reading for reading in readings if reading.evidence), None)
