"""Blackboard Learn (Original): Grade Center → "Assignment File Download".

Every file is flat at the top of the zip, renamed
``<Assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<original name>``, and each attempt
has a receipt ``<Assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>.txt``:

    Name: Jane Doe (jdoe)
    Assignment: Compose Lab
    Date Submitted: Monday, 3 March 2025 14:05:09 o'clock GMT
    Current Grade: Needs Grading
    …
    Files:
    	Original filename: docker-compose.yml
    	Filename: Compose Lab_jdoe_attempt_2025-03-03-14-05-09_docker-compose.yml

The receipt names the student and maps each renamed file back to its original name; it is
the authority where it exists (a username with ``_`` cannot be split off the assignment name
without it). A student with several attempts has them all in the download: the latest is
graded, the others are kept as ``superseded``. (The file and receipt naming are seen in
third-party tools, not in Blackboard's documentation; Ultra is unverified.)
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from grader.lms.grouping import Entry
from grader.lms.model import Identity, Ignored

NAME = "blackboard"
MAX_RECEIPT_BYTES = 1024 * 1024
_STAMP = r"(?P<stamp>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})"
_RECEIPT = re.compile(rf"^(?P<prefix>.+)_attempt_{_STAMP}\.txt$", re.DOTALL)
_FILE = re.compile(rf"^(?P<prefix>.+)_attempt_{_STAMP}_(?P<file>.+)$", re.DOTALL)
_NAME_LINE = re.compile(r"^\s*Name:\s*(?P<name>.*?)\s*\((?P<username>[^()]*)\)\s*$")


@dataclass
class Receipt:
    name: str = ""
    username: str = ""
    originals: dict[str, str] = field(default_factory=dict)   # stored file name -> original name


def claims(path: str) -> bool:
    return "/" not in path and (_RECEIPT.match(path) is not None or _FILE.match(path) is not None)


def parse_receipt(text: str) -> Receipt:
    """The student and the file-name mapping a receipt holds (lines it does not know are skipped)."""
    receipt = Receipt()
    original = None
    for line in text.splitlines():
        named = _NAME_LINE.match(line)
        key, _, value = line.strip().partition(":")
        if named and not receipt.username:
            receipt.name, receipt.username = named.group("name"), named.group("username").strip()
        elif key == "Original filename":
            original = value.strip()
        elif key == "Filename" and original is not None:
            receipt.originals[value.strip()] = original
            original = None
    return receipt


def _read_receipt(path: Path) -> Receipt:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_RECEIPT_BYTES)
    except OSError:
        return Receipt()
    return parse_receipt(data.decode("utf-8-sig", errors="replace"))


def _attempt(stamp: str) -> str:
    """``2025-03-03-14-05-09`` → ``2025-03-03T14:05:09``."""
    day, time = stamp[:10], stamp[11:]
    return f"{day}T{time.replace('-', ':')}"


def _identity(prefix: str, stamp: str, receipt: Receipt) -> Identity:
    username = receipt.username
    if not username or not prefix.endswith("_" + username):
        username = prefix.rpartition("_")[2] or prefix  # no receipt: the username has no "_"
    return Identity(lms=NAME, display_name=receipt.name or username, username=username, attempt=_attempt(stamp))


def read(root: Path, paths: list[str], groups: bool = False) -> tuple[list[Entry], list[Ignored]]:
    receipts = {}
    ignored = []
    for path in paths:
        match = _RECEIPT.match(path) if "/" not in path else None
        if match:
            receipts[(match.group("prefix"), match.group("stamp"))] = _read_receipt(root / path)
            ignored.append(Ignored(path, "Blackboard's receipt of the attempt (read for the name and file names)"))
    entries = []
    for path in paths:
        match = _FILE.match(path) if "/" not in path and not _RECEIPT.match(path) else None
        if match is None:
            if "/" in path or not _RECEIPT.match(path):
                ignored.append(Ignored(path, "not a Blackboard attempt file (<Assignment>_<user>_attempt_<time>_<file>)"))
            continue
        receipt = receipts.get((match.group("prefix"), match.group("stamp")), Receipt())
        identity = _identity(match.group("prefix"), match.group("stamp"), receipt)
        name = receipt.originals.get(path, match.group("file"))
        entries.append(Entry(identity, path, name, attempt=identity.attempt))
    return entries, ignored
