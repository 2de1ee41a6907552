"""What is in a batch folder, and what decides whether a grade is still good.

A submission is a sub-folder or a ``.zip`` file of the folder, or one student of an LMS's bulk
download (grader/batch/downloads.py). Its *content hash* covers every file it holds (for an LMS
student: each file's name as the student gave it, and its bytes); the *grading key* covers
everything else that decides a grade (the rubric, the mode, the grader's version). A submission
whose hash and key match the last run's is not graded again (grader/batch/previous.py).
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.lms import LmsSubmission
from grader.rubric import Rubric
from grader.version import __version__

IGNORED_NAMES = {"__MACOSX", "__pycache__", "node_modules"}
_HASH_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Submission:
    id: str        # folder name, or the zip's name without .zip (an LMS student: LmsSubmission.id)
    source: Path   # the folder or the zip file (an LMS student: the download's folder)
    kind: str      # "folder", "zip" or "lms"
    lms: LmsSubmission | None = None   # kind "lms": the student and their files in the download

    @property
    def source_name(self) -> str:
        """What the last run's grade is found by: the folder or zip name, or the LMS student's id."""
        return self.id if self.lms else self.source.name


def discover(folder: Path, exclude: tuple[Path, ...] = ()) -> list[Submission]:
    """Every sub-folder and ``.zip`` file of ``folder`` (hidden ones and ``exclude`` left out), sorted by name."""
    folder = Path(folder)
    excluded = {path.resolve() for path in exclude}
    entries = sorted(folder.iterdir(), key=lambda path: path.name.casefold())
    folders = [path for path in entries if path.is_dir() and not path.is_symlink()
               and not path.name.startswith(".") and path.name not in IGNORED_NAMES and path.resolve() not in excluded]
    zips = [path for path in entries if path.is_file() and not path.is_symlink()
            and path.suffix.lower() == ".zip" and not path.name.startswith(".")]
    taken = {path.name.casefold() for path in folders}
    found = [Submission(path.name, path, "folder") for path in folders]
    for path in zips:
        stem = path.name[:-4]
        name = stem if stem and stem.casefold() not in taken else path.name
        taken.add(name.casefold())
        found.append(Submission(name, path, "zip"))
    return sorted(found, key=lambda submission: submission.id.casefold())


def content_hash(submission: Submission) -> str:
    """sha256 of everything submitted: each file's path, kind and bytes (a link's target, not what it points to)."""
    digest = hashlib.sha256()
    if submission.lms is not None:
        digest.update(b"lms\0")
        for item in sorted(submission.lms.files, key=lambda item: item.name):
            _hash_entry(digest, submission.source / item.path, item.name)
        return digest.hexdigest()
    if submission.kind == "zip":
        digest.update(b"zip\0")
        _hash_file(digest, submission.source)
        return digest.hexdigest()
    root = submission.source
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        here = Path(dirpath)
        for name in sorted(filenames + [d for d in dirnames if (here / d).is_symlink()]):
            path = here / name
            _hash_entry(digest, path, path.relative_to(root).as_posix())
    return digest.hexdigest()


def _hash_entry(digest: Any, path: Path, relative: str) -> None:
    if path.is_symlink():
        digest.update(f"L\0{relative}\0{os.readlink(path)}\0".encode("utf-8", "surrogateescape"))
    elif path.is_file():
        digest.update(f"F\0{relative}\0{path.stat().st_mode & 0o111:o}\0".encode("utf-8", "surrogateescape"))
        try:
            _hash_file(digest, path)
        except OSError as exc:
            digest.update(f"unreadable: {exc.strerror}".encode())
    else:
        digest.update(f"O\0{relative}\0".encode("utf-8", "surrogateescape"))


def _hash_file(digest: Any, path: Path) -> None:
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)


def grading_key(rubric: Rubric, mode: str) -> str:
    """Everything besides the files that decides a grade: the rubric (with the roster name; not who sees which
    check, which a kept grade takes from the rubric of the day), the mode, the grader."""
    text = json.dumps({"rubric": rubric.without_presentation().to_dict(), "mode": mode, "grader": __version__},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]
