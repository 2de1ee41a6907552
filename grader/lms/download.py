"""Reading a whole "download all submissions" folder (or its zip), whichever LMS made it.

``read_download(folder)`` lists every file below the folder (symbolic links and hidden
files left out, never followed), works out which LMS named them (or takes ``lms=``), and
returns a ``Download``: one ``LmsSubmission`` per student, and what was ignored and why.
``opened(path)`` gives a folder for a zip too, extracted safely into a temp dir that is
removed afterwards.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from grader.lms import blackboard, brightspace, canvas, moodle
from grader.lms.grouping import group_entries
from grader.lms.model import LMS_NAMES, Download, Ignored, LmsError

PARSERS = {"canvas": canvas, "moodle": moodle, "blackboard": blackboard, "brightspace": brightspace}
MAX_FILES = 50_000
_SKIPPED_NAMES = {"__MACOSX", "Thumbs.db", "desktop.ini"}


def _walk(root: Path) -> tuple[list[str], list[Ignored]]:
    """Every regular file below ``root`` as a relative POSIX path, sorted; links and hidden entries ignored."""
    found: list[str] = []
    ignored: list[Ignored] = []
    for here, folders, files in os.walk(root, followlinks=False):
        relative = Path(here).relative_to(root)
        for name in sorted(folders + files):
            path = Path(here) / name
            rel = (relative / name).as_posix()
            if name.startswith(".") or name in _SKIPPED_NAMES:
                ignored.append(Ignored(rel, "hidden or system file"))
            elif path.is_symlink():
                ignored.append(Ignored(rel, "symbolic link (never followed)"))
            elif name in files and path.is_file():
                found.append(rel)
            elif name in files:
                ignored.append(Ignored(rel, "not a regular file"))
        folders[:] = [name for name in folders if not name.startswith(".") and name not in _SKIPPED_NAMES
                      and not (Path(here) / name).is_symlink()]
        if len(found) > MAX_FILES:
            raise LmsError(f"{root} holds more than {MAX_FILES:,} files: not one assignment's download")
    return sorted(found), ignored


def detect(paths: list[str]) -> str | None:
    """The LMS whose naming claims the most files; None when none claims any (or two tie)."""
    counts = {lms: sum(1 for path in paths if parser.claims(path)) for lms, parser in PARSERS.items()}
    best = max(counts.values(), default=0)
    winners = [lms for lms, count in counts.items() if count == best]
    return winners[0] if best and len(winners) == 1 else None


def _root(folder: Path) -> Path:
    """The folder itself, or the one folder it holds (a zip extracted into a folder of its own)."""
    entries = [entry for entry in folder.iterdir() if not entry.name.startswith(".") and entry.name not in _SKIPPED_NAMES]
    only = entries[0] if len(entries) == 1 else None
    if only is not None and only.is_dir() and not only.is_symlink() and detect([f"{only.name}/file"]) is None:
        return _root(only)
    return folder


def read_download(folder: str | os.PathLike[str], lms: str | None = None, *, groups: bool = False) -> Download:
    """Read the download at ``folder``; ``lms`` names the LMS (else detected), ``groups`` a group assignment."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LmsError(f"{folder} is not a folder: extract the LMS's zip first, or use grader.lms.opened()")
    if lms is not None and lms not in LMS_NAMES:
        raise LmsError(f"unknown LMS {lms!r}: one of {', '.join(LMS_NAMES)}")
    root = _root(folder.resolve())
    paths, ignored = _walk(root)
    chosen = lms or detect(paths)
    if chosen is None:
        raise LmsError(f"{folder}: no file is named as Canvas, Moodle, Blackboard or Brightspace name a download's files; "
                       "name the LMS explicitly if it is one of them")
    entries, skipped = PARSERS[chosen].read(root, paths, groups)
    if not entries:
        raise LmsError(f"{folder}: no file is named as {chosen.capitalize()} names a download's files")
    return Download(lms=chosen, root=str(root), submissions=tuple(group_entries(entries)),
                    ignored=tuple(sorted(ignored + skipped, key=lambda item: item.path)))


@contextmanager
def opened(path: str | os.PathLike[str], max_bytes: int = 2 * 1024**3) -> Iterator[Path]:
    """A folder holding the download at ``path``: the folder itself, or a zip extracted (and removed after)."""
    from grader.submission.archive import ArchiveLimits, extracted

    path = Path(path)
    if path.is_dir():
        yield path
        return
    if not (path.is_file() and path.suffix.lower() == ".zip"):
        raise LmsError(f"{path} is neither a folder nor a .zip file")
    with extracted(path, limits=ArchiveLimits(max_files=MAX_FILES, max_bytes=max_bytes)) as folder:
        yield folder
