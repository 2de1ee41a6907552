"""Brightspace (D2L): Assignments → "Download" of a folder's submissions.

Entries are named ``<submission id>-<file id> - <Display Name> - <Mon D, YYYY HMM AM>``
followed by `` - <original name>`` (files flat at the top) or, in newer releases, as a
folder holding the original files; ``index.html`` at the top lists them. The date has no
colon (``Sep 24, 2024 926 PM`` is 21:26). Names only: no username or OrgDefinedId, so a
class list (``with_class_list``, a Brightspace grades export) maps names to ids for the
grade file. Every submission of a student is in the download; the latest is graded.
(This naming is seen in third-party tools, not in D2L's documentation.)
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from grader.lms.grouping import Entry
from grader.lms.model import Identity, Ignored, LmsSubmission

NAME = "brightspace"
_DATE = r"(?P<date>[A-Z][a-z]{2,8}\.? \d{1,2}, \d{4} \d{3,4} [AP]M)"
_ENTRY = re.compile(rf"^(?P<submission>\d+)-(?P<file_id>\d+) - (?P<name>.+?) - {_DATE}(?: - (?P<file>.+))?$", re.DOTALL)
_MONTHS = {name: number for number, names in enumerate(
    [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
     ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
     ("dec", "december")], start=1) for name in names}


def _match(path: str) -> tuple[re.Match[str], str] | None:
    top, slash, rest = path.partition("/")
    match = _ENTRY.match(top)
    if match is None or bool(slash) == bool(match.group("file")):
        return None  # a folder's name has no file part; a flat file's has one
    return match, rest if slash else match.group("file")


def claims(path: str) -> bool:
    return _match(path) is not None


def parse_date(text: str) -> str:
    """``Sep 24, 2024 926 PM`` → ``2024-09-24T21:26:00``; "" when it is no date."""
    match = re.fullmatch(r"([A-Za-z]+)\.? (\d{1,2}), (\d{4}) (\d{1,2})(\d{2}) ([AP]M)", text.strip())
    month = _MONTHS.get(match.group(1).lower()) if match else None
    if match is None or month is None:
        return ""
    hour = int(match.group(4)) % 12 + (12 if match.group(6) == "PM" else 0)
    try:
        return datetime(int(match.group(3)), month, int(match.group(2)), hour, int(match.group(5))).isoformat()
    except ValueError:
        return ""


def read(root: Path, paths: list[str], groups: bool = False) -> tuple[list[Entry], list[Ignored]]:
    entries, ignored = [], []
    for path in paths:
        found = _match(path)
        if found is None:
            reason = "Brightspace's index of the download" if path == "index.html" else "not a Brightspace submission name"
            ignored.append(Ignored(path, reason))
            continue
        match, inside = found
        name = " ".join(match.group("name").split())
        attempt = parse_date(match.group("date"))
        identity = Identity(lms=NAME, display_name=name, group=name if groups else "", attempt=attempt)
        # Two submissions on the same minute: the higher submission id is the later one.
        entries.append(Entry(identity, path, inside, attempt=f"{attempt}#{int(match.group('submission')):012d}"))
    return entries, ignored


def _folded(name: str) -> str:
    return " ".join(name.split()).casefold()


def _class_list(text: str) -> dict[str, list[dict[str, str]]]:
    """A grades export (or class list) CSV: "First Last" → its rows."""
    rows = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    by_name: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        row = {str(key).strip(): str(value or "").strip() for key, value in row.items() if key}
        full = f"{row.get('First Name', '')} {row.get('Last Name', '')}"
        by_name.setdefault(_folded(full), []).append(row)
    return by_name


def with_class_list(submissions: list[LmsSubmission], class_list_csv: str) -> tuple[list[LmsSubmission], list[str]]:
    """The submissions with OrgDefinedId, Username and Email from the class list; and the names it could not place.

    A name matches when it equals "First Last" of exactly one row (case and spacing aside).
    Brightspace writes ``#`` before the ids in its exports: it is dropped.
    """
    by_name = _class_list(class_list_csv)
    placed, unplaced = [], []
    for submission in submissions:
        rows = by_name.get(_folded(submission.identity.display_name), [])
        if len(rows) != 1:
            unplaced.append(submission.identity.display_name)
            placed.append(submission)
            continue
        row = rows[0]
        identity = replace(submission.identity, org_defined_id=row.get("OrgDefinedId", "").lstrip("#"),
                           username=row.get("Username", "").lstrip("#"), email=row.get("Email", ""))
        placed.append(replace(submission, identity=identity))
    return placed, unplaced
