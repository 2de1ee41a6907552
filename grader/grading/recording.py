"""What a grading keeps of the student's deliverables for the report: the screenshots read beside
it, and the text of the Compose file(s) its findings point at (for the annotated file).

Both come from the grader's private copy while it exists; the result is assembled after it is gone.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from grader.errors import ComposeLoadError
from grader.evidence_record import Evidence
from grader.grading.context import GradingContext
from grader.results import Location, SourceFile
from grader.submission.workspace import Workspace
from grader.yaml import read_text

if TYPE_CHECKING:
    from grader.grading.screenshot_reading import ScreenshotReader

MAX_FILES = 5            # the main Compose file and at most four more that findings point at
MAX_LINES = 1000         # per file; the assignment's file is a few dozen lines
MAX_LINE_CHARS = 400


@contextmanager
def reading_screenshots(folder: Path, key: str) -> Iterator[ScreenshotReader]:
    """The student's pictures under ``folder`` read in the background, stopped before it goes."""
    from grader.grading.screenshot_reading import ScreenshotReader  # Pillow and OCR only when pictures are read

    reader = ScreenshotReader(folder, key).start()
    try:
        yield reader
    finally:
        reader.close()


def recorded_evidence(context: GradingContext) -> Evidence:
    """The evidence of one grading (the reader has finished: the grading waited for it, or stopped it)."""
    read = context.student_screenshots()
    if read is None:
        return Evidence()
    return Evidence(screenshots=list(read.screenshots), skipped=list(read.skipped))


def unloadable_source(space: Workspace, error: ComposeLoadError) -> dict[str, str]:
    """The text of the file a load error points at (e.g. invalid YAML), read from the private copy,
    so the annotated file can show the error at its line; nothing when it cannot be read as text."""
    location = error.location
    if location is None or not location.file:
        return {}
    path = space.source_copy / location.file
    try:
        if path.is_symlink() or not path.resolve().is_relative_to(space.source_copy.resolve()):
            return {}
        return {location.file: read_text(path, location.file)}
    except (ComposeLoadError, OSError):  # binary, too big, unreadable: the error message says so already
        return {}


def compose_sources(context: GradingContext, locations: Iterable[Location | None]) -> list[SourceFile]:
    """The main Compose file, and every other file the grader read as YAML that a finding points at."""
    texts = dict(context.unloadable_sources)
    for document in context.files.documents if context.files else []:
        texts.setdefault(document.display_name, document.text)
    pointed = [location.file for location in locations if location is not None]
    wanted = [name for name in dict.fromkeys([context.compose_file or "", *pointed]) if name in texts]
    return [_source(name, texts[name]) for name in wanted[:MAX_FILES]]


def _source(name: str, text: str) -> SourceFile:
    # Lines as an editor numbers them, and as locations count them: \n, \r\n and \r end a line.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return SourceFile(name, tuple(line[:MAX_LINE_CHARS] for line in lines[:MAX_LINES]), len(lines) > MAX_LINES)
