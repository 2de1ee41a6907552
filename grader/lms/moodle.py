"""Moodle: "Download all submissions" of an assignment.

Verified against moodle/moodle mod/assign/classes/downloader.php (4.1 and later) and
mod/assign/locallib.php ``download_submissions`` (3.1 to 4.0). The prefix of a student is
``<Full name>_<unique id>``: the full name with every ``_`` turned into a space, then
``clean_filename``; the unique id is the per-assignment participant number the grading
worksheet calls "Participant <id>". Under blind marking the name is the string
"Participant" (English language pack). For a team submission (4.1+) it is
``<Group name>_<group id>``, or just "Default group" for students in no group (these are
indistinguishable from students by name: ``groups=True`` says so).

- Folders (the default since 3.1): ``<prefix>_assignsubmission_<plugin>/<path in the
  submission>`` in 4.1+, ``<prefix>_assignsubmission_<plugin>_/…`` (trailing ``_``) before 4.1;
  the file plugin keeps the student's own folders, online text is ``onlinetext.html``.
- Flat (the "download as folders" preference off): ``<prefix>_assignsubmission_<plugin>_<file>``.

Every plugin's files of one student go into one submission. Moodle puts only the latest
attempt in the download.
"""
from __future__ import annotations

import re
from pathlib import Path

from grader.lms.grouping import Entry
from grader.lms.model import Identity, Ignored

NAME = "moodle"
BLIND_NAME = "Participant"
_PREFIX = r"(?P<name>[^_/]*?)(?:_(?P<id>\d+))?_assignsubmission_(?P<plugin>[a-z]+)"
_FOLDER = re.compile(rf"^{_PREFIX}(?P<legacy>_)?$")
_FLAT = re.compile(rf"^{_PREFIX}_(?P<file>.+)$", re.DOTALL)


def _match(path: str) -> tuple[re.Match[str], str] | None:
    """The prefix's match and the file's path inside the submission."""
    top, slash, rest = path.partition("/")
    if slash:
        match = _FOLDER.match(top)
        return (match, rest) if match else None
    match = _FLAT.match(top)
    return (match, match.group("file")) if match else None


def claims(path: str) -> bool:
    return _match(path) is not None


def identity_of(match: re.Match[str], groups: bool) -> Identity:
    name = " ".join(match.group("name").split())
    number = match.group("id") or ""
    if groups:
        return Identity(lms=NAME, display_name=name, group=name, group_id=number)
    blind = name == BLIND_NAME and bool(number)
    return Identity(lms=NAME, display_name=f"{BLIND_NAME} {number}" if blind else name, participant_id=number,
                    anonymous=blind)


def read(root: Path, paths: list[str], groups: bool = False) -> tuple[list[Entry], list[Ignored]]:
    entries, ignored = [], []
    for path in paths:
        found = _match(path)
        if found is None:
            ignored.append(Ignored(path, "not a Moodle submission name (<Full name>_<id>_assignsubmission_<plugin>)"))
            continue
        match, inside = found
        if not match.group("id") and not groups:
            ignored.append(Ignored(path, "no participant id: a team submission? (read it with groups)"))
            continue
        entries.append(Entry(identity_of(match, groups), path, inside))
    return entries, ignored
