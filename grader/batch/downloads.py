"""A batch folder that is an LMS's "download all submissions": which LMS, and its students as submissions.

``grader batch`` reads a folder as a bulk download when ``--lms`` names the LMS, or when the
names at its top are an LMS's (grader/lms; detected from the top-level names alone, so a
plain class folder is never walked). Otherwise it is a plain folder: each sub-folder or zip
is one submission, as before. ``--lms none`` says it is plain whatever its names.

Each student of the download becomes one :class:`~grader.batch.discovery.Submission` of
kind ``lms``: its files are materialised into a temp folder of the grading's own when it is
graded (grader/batch/source.py); the download is never written to.
"""
from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.batch.discovery import Submission
from grader.lms import (
    LMS_NAMES,
    Download,
    LmsError,
    LmsSubmission,
    detect,
    opened,
    read_download,
)
from grader.lms.brightspace import with_class_list
from grader.submission.workspace import WORKSPACE_PREFIX

PLAIN = "none"   # --lms none: a plain folder, whatever its names
_SKIPPED = {"__MACOSX", "Thumbs.db", "desktop.ini"}


@dataclass(frozen=True)
class LmsOptions:
    """How the caller asked for the batch folder to be read."""

    lms: str | None = None          # an LMS_NAMES entry, PLAIN, or None to detect
    groups: bool = False            # a group assignment: names are the groups'
    class_list: Path | None = None  # Brightspace: a grades export naming each student's ids


@dataclass(frozen=True)
class Found:
    """A batch folder read as a download."""

    download: Download
    unplaced: tuple[str, ...] = ()  # Brightspace names the class list did not place


def _top_names(folder: Path) -> list[str]:
    """The top-level entries as paths the LMS parsers read (a folder as ``name/…``)."""
    entries = [entry for entry in folder.iterdir() if not entry.name.startswith(".") and entry.name not in _SKIPPED]
    return [f"{entry.name}/…" if entry.is_dir() and not entry.is_symlink() else entry.name for entry in entries]


def detect_folder(folder: Path) -> str | None:
    """The LMS whose naming the folder's top-level entries (or those of its only folder) follow, if any."""
    names = _top_names(folder)
    found = detect(names)
    if found is None and len(names) == 1 and names[0].endswith("/…"):
        found = detect(_top_names(folder / names[0][:-2]))  # a download extracted into a folder of its own
    return found


def open_download(path: Path, options: LmsOptions, stack: ExitStack) -> Found | None:
    """The download at ``path`` (a folder, or the LMS's zip), or None for a plain batch folder."""
    if options.lms not in (None, PLAIN, *LMS_NAMES):
        raise LmsError(f"unknown LMS {options.lms!r}: one of {', '.join(LMS_NAMES)} (or {PLAIN!r} for plain folders)")
    if options.lms == PLAIN:
        return None
    folder = stack.enter_context(opened(path)) if path.is_file() else path
    lms = options.lms or detect_folder(folder)
    if lms is None:
        if path.is_file():
            raise LmsError(f"{path.name} is not an LMS download (no name in it is an LMS's): extract it, "
                           "then grade the folder")
        return None
    download = read_download(folder, lms, groups=options.groups)
    return _with_class_list(download, options.class_list)


def _with_class_list(download: Download, class_list: Path | None) -> Found:
    if class_list is None:
        return Found(download)
    if download.lms != "brightspace":
        raise LmsError(f"a class list maps Brightspace's names to ids; this is a {download.lms.capitalize()} download")
    try:
        text = class_list.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise LmsError(f"{class_list}: cannot be read as a CSV file ({exc})") from exc
    placed, unplaced = with_class_list(list(download.submissions), text)
    return Found(Download(download.lms, download.root, tuple(placed), download.ignored), tuple(unplaced))


def submissions_of(download: Download) -> list[Submission]:
    """Each student (or group) of the download, as a batch submission."""
    root = Path(download.root)
    return [Submission(item.id, root, "lms", item) for item in download.submissions]


def lms_meta(item: LmsSubmission) -> dict[str, Any]:
    """What results.json records of the student an LMS submission is (grader/report/entry.py ``LmsInfo``)."""
    return {**item.identity.to_dict(), "files": [file.name for file in item.files],
            "superseded": [file.name for file in item.superseded]}


def work_prefix() -> str:
    """A materialised submission's temp folder is named like a workspace: `grader clean` sweeps a killed process's."""
    return f"{WORKSPACE_PREFIX}{os.getpid()}-lms-"
