"""From files to submissions: one per student (or group), their latest attempt graded.

Each LMS parser turns the download's entries into ``Entry`` objects: the identity the name
gives, the file's path in the download and the name the student gave it. ``group_entries``
gathers the entries of one student, keeps the latest attempt (Blackboard and Brightspace
keep every attempt in the download; the others only the latest) and makes the file names
safe and unique.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from grader.lms.filenames import safe_relative, unique_names
from grader.lms.model import Identity, LmsSubmission, SubmittedFile


@dataclass(frozen=True)
class Entry:
    identity: Identity
    path: str               # relative to the download's root
    name: str               # the name the student gave the file (untrusted, not yet made safe)
    as_downloaded: str = ""  # the name as the LMS stored it, when ``name`` is a guess (Canvas's -N)
    attempt: str = ""        # sorts attempts of one student: the latest is graded


def _names(entries: list[Entry]) -> list[str]:
    """Safe, unique names; a guessed original name that two files would share falls back to the stored one."""
    wanted = [safe_relative(entry.name) for entry in entries]
    stored = [safe_relative(entry.as_downloaded or entry.name) for entry in entries]
    taken = Counter(wanted)
    names = [name if taken[name] == 1 or name == kept else kept for name, kept in zip(wanted, stored)]
    # On a clash, a name that needed no cleaning keeps it ("docker\u202e-compose.yml" loses to the real one).
    order = sorted(range(len(names)), key=lambda index: names[index] != entries[index].name)
    settled = dict(zip(order, unique_names([names[index] for index in order])))
    return [settled[index] for index in range(len(names))]


def _submission(entries: list[Entry]) -> LmsSubmission:
    latest = max(entry.attempt for entry in entries)
    graded = sorted((entry for entry in entries if entry.attempt == latest), key=lambda entry: entry.path)
    older = sorted((entry for entry in entries if entry.attempt != latest), key=lambda entry: (entry.attempt, entry.path))
    files = tuple(SubmittedFile(entry.path, name) for entry, name in zip(graded, _names(graded)))
    superseded = tuple(SubmittedFile(entry.path, safe_relative(entry.name)) for entry in older)
    return LmsSubmission(identity=graded[0].identity, files=files, superseded=superseded)


def group_entries(entries: list[Entry]) -> list[LmsSubmission]:
    """One submission per identity key, sorted by name, then key."""
    by_key: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        by_key[entry.identity.key].append(entry)
    submissions = [_submission(group) for group in by_key.values()]
    return sorted(submissions, key=lambda item: ((item.identity.group or item.identity.display_name).casefold(),
                                                 item.identity.key))
