"""Which optional parts of evidence are installed, and a one-line reason for each that is not.

The grader grades as before without them; the caller prints each reason once
(``SkipNotes``), and results carry the reason in their ``skipped`` field.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

INSTALL_HINT = "pip install 'compose-grader[evidence]'"
CHROMIUM_ENV = "GRADER_CHROMIUM"
DEFAULT_CHROMIUM = Path("/usr/bin/chromium")
# Debian's chromium-headless-shell (the same engine without the browser's shell) takes about half
# the CPU to start and shoot (bench/bench_evidence_overhead.py): used when it is installed.
HEADLESS_SHELL = Path("/usr/lib/chromium/chromium-headless-shell")


def _module_missing(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):  # ValueError: blocked in sys.modules (set to None)
        return True


def pillow_missing() -> str | None:
    if _module_missing("PIL"):
        return f"skipped: pictures (Pillow is not installed; {INSTALL_HINT})"
    return None


def tesseract_missing() -> str | None:
    if pillow := pillow_missing():
        return pillow.replace("pictures", "reading screenshots")
    if _module_missing("pytesseract"):
        return f"skipped: reading screenshots (pytesseract is not installed; {INSTALL_HINT})"
    if shutil.which("tesseract") is None:
        return "skipped: reading screenshots (the tesseract program is missing; apt-get install tesseract-ocr)"
    return None


def chromium_path() -> Path:
    """GRADER_CHROMIUM when set; else Debian's chromium-headless-shell if installed, else its chromium."""
    if os.environ.get(CHROMIUM_ENV):
        return Path(os.environ[CHROMIUM_ENV])
    return HEADLESS_SHELL if os.access(HEADLESS_SHELL, os.X_OK) else DEFAULT_CHROMIUM


def playwright_missing() -> str | None:
    if _module_missing("playwright"):
        return f"skipped: page screenshots (playwright is not installed; {INSTALL_HINT})"
    executable = chromium_path()
    if not (executable.is_file() and os.access(executable, os.X_OK)):
        return (f"skipped: page screenshots ({executable} is missing; apt-get install chromium, "
                f"or set {CHROMIUM_ENV})")
    return None


class SkipNotes:
    """Collects what was skipped, each reason once, in the order first seen."""

    def __init__(self) -> None:
        self._lines: dict[str, None] = {}

    def add(self, reason: str | None) -> None:
        if reason:
            self._lines.setdefault(reason, None)

    @property
    def lines(self) -> list[str]:
        return list(self._lines)
