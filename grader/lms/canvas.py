"""Canvas: "Download Submissions" (one zip, every student's files flat at its top).

Verified against instructure/canvas-lms lib/content_zipper.rb: a file is named
``<name>_<LATE_><id>_<attachment id>_<file name>`` where

- ``<name>`` is the student's sortable name ("Doe, Jane"), lower-cased, with every character
  that is not a letter, digit or ``_`` removed (``doejane``; accents kept), and any ``_<digits>_``
  inside it collapsed, so that the first two all-digit parts are the ids (Canvas's own
  re-upload parser reads them so). For a group assignment graded as a group, the name is the
  group's and the id a representative member's (``Assignment#representatives``);
- ``LATE_`` marks a late submission (``late_`` in older Canvas);
- ``<id>`` is the user id, or ``anon_<anonymous id>`` under anonymous grading, where the
  name is left out too;
- ``<file name>`` is what the student uploaded, with ``\\ / : * ? " < > |`` and NUL replaced
  by ``_``. A text entry is ``<name>_<LATE_><id>_text.html``, a URL ``…_link.html``.

A file the student uploaded again under the same name was renamed by Canvas with ``-N``
before its first dot (``docker-compose-1.yml``): the original name is restored
(grader/lms/filenames.py), unless another file of the submission already has it.
A name can say nothing of a group: ``groups=True`` reads the name part as the group's.
"""
from __future__ import annotations

import re
from pathlib import Path

from grader.lms.filenames import canvas_original
from grader.lms.grouping import Entry
from grader.lms.model import Identity, Ignored

NAME = "canvas"
_ENTRY = re.compile(
    r"^(?:(?P<name>\w*?)_)??(?:(?P<late>LATE|late)_)?(?P<id>\d+|anon_[A-Za-z0-9]+)_"
    r"(?:(?P<attachment>\d+)_(?P<file>.+)|(?P<kind>text|link)\.html)$",
    re.DOTALL,
)


def claims(path: str) -> bool:
    return "/" not in path and _ENTRY.match(path) is not None


def identity_of(match: re.Match[str], groups: bool) -> Identity:
    name = match.group("name") or ""
    student = match.group("id")
    anonymous = student.startswith("anon_")
    return Identity(
        lms=NAME,
        display_name=name or student,
        user_id="" if anonymous else student,
        participant_id=student[len("anon_"):] if anonymous else "",
        group=name if groups and name else "",
        late=match.group("late") is not None,
        anonymous=anonymous,
    )


def entry_of(path: str, groups: bool = False) -> Entry | None:
    """The entry a top-level file of a Canvas download stands for, or None."""
    match = _ENTRY.match(path) if "/" not in path else None
    if match is None:
        return None
    if match.group("kind"):
        return Entry(identity_of(match, groups), path, f"{match.group('kind')}.html")
    stored = match.group("file")
    return Entry(identity_of(match, groups), path, canvas_original(stored), as_downloaded=stored)


def read(root: Path, paths: list[str], groups: bool = False) -> tuple[list[Entry], list[Ignored]]:
    entries, ignored = [], []
    for path in paths:
        entry = entry_of(path, groups)
        if entry is None:
            reason = "in a folder: Canvas puts every file at the top" if "/" in path else "not a Canvas submission file name"
            ignored.append(Ignored(path, reason))
        else:
            entries.append(entry)
    return entries, ignored
