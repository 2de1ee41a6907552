"""Paths a student's files name, judged against the submission folder without ever leaving it.

Every path Compose or the engine would follow (Compose files, `.env`, env_file, include and
extends files, build contexts, Dockerfiles, bind sources, secret files) is resolved here,
one component at a time: symbolic links are followed only while they stay inside the
submission, so nothing outside is ever looked at.
"""
from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

MAX_SYMLINK_HOPS = 40
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_GIT_HOSTS = re.compile(r"^(github\.com|gitlab\.com|bitbucket\.org)/", re.IGNORECASE)


def is_remote(ref: str) -> bool:
    """A git/http(s)/oci reference Compose or BuildKit would fetch from the network."""
    ref = ref.strip()
    return bool(_SCHEME.match(ref)) or ref.startswith("git@") or bool(_GIT_HOSTS.match(ref))


def is_inside(path: str, root: str) -> bool:
    if root == os.sep:
        return True
    return path == root or path.startswith(root + os.sep)


def _is_ancestor(path: str, root: str) -> bool:
    if path == os.sep:
        return True
    return root.startswith(path.rstrip(os.sep) + os.sep)


@dataclass(frozen=True)
class Root:
    """The submission folder: its real path, and the spellings a caller or Compose may use for it."""

    real: str
    spellings: tuple[str, ...]

    @classmethod
    def of(cls, submission_root: Path | str) -> Root:
        given = os.path.abspath(str(submission_root))
        try:
            real = os.path.realpath(given)
        except (OSError, ValueError):
            real = given
        return cls(real, tuple(dict.fromkeys((real, given))))

    def display(self, path: str) -> str:
        """A path inside the submission, relative to it (as reports show it)."""
        try:
            return Path(path).relative_to(self.real).as_posix()
        except ValueError:
            return path

    def lexically_inside(self, raw: str, base: Path | str) -> bool:
        """True when only a symbolic link could take ``raw`` out of the submission."""
        if raw.startswith("~"):
            return False
        absolute = os.path.normpath(raw if os.path.isabs(raw) else os.path.join(str(base), raw))
        return any(is_inside(absolute, spelling) for spelling in self.spellings)


def resolve_in(raw: str, base: Path | str, root: Root) -> str | None:
    """The real path ``raw`` names (relative to ``base``) if it stays inside ``root``, else None.

    ``..`` is first removed lexically, as Compose does; then symbolic links are followed one
    component at a time, but only while they are inside the submission: the walk stops (and
    answers None) the moment it would step outside. ``~`` paths, symlink loops and links that
    lead outside all answer None.
    """
    if not isinstance(raw, str) or raw.startswith("~"):
        return None
    path = os.path.normpath(raw if os.path.isabs(raw) else os.path.join(str(base), raw))
    return _walk_inside(_spelled_from_real_root(path, root), root.real)


def _spelled_from_real_root(path: str, root: Root) -> str:
    """``path`` with the root spelled as its real path: the caller may spell it unresolved
    (/tmp vs /private/tmp)."""
    for spelling in root.spellings:
        if spelling != root.real and is_inside(path, spelling):
            return root.real + path[len(spelling):] if spelling != os.sep else path
    return path


def _walk_inside(path: str, real_root: str) -> str | None:
    """Follow ``path`` from / one component at a time, links included, answering None the moment
    a step would leave ``real_root`` (or an ancestor of it, on the way down)."""
    pending = [part for part in reversed(path.split(os.sep)) if part]
    current, hops = os.sep, 0
    while pending:
        part = pending.pop()
        if part in ("", "."):
            continue
        if part == "..":
            current = os.path.dirname(current) or os.sep
            continue
        candidate = os.path.join(current, part)
        if not is_inside(candidate, real_root):
            if not _is_ancestor(candidate, real_root):
                return None
            current = candidate
            continue
        try:
            info = os.lstat(candidate)
        except (OSError, ValueError):  # does not exist (yet): the rest is plain text
            final = os.path.normpath(os.path.join(candidate, *reversed(pending)))
            return final if is_inside(final, real_root) else None
        if not stat.S_ISLNK(info.st_mode):
            current = candidate
            continue
        hops += 1
        target = _read_link(candidate) if hops <= MAX_SYMLINK_HOPS else None
        if target is None:  # a loop, or a link that cannot be read
            return None
        if os.path.isabs(target):
            current = os.sep
        pending.extend(part for part in reversed(target.split(os.sep)) if part)
    return current if is_inside(current, real_root) else None


def _read_link(path: str) -> str | None:
    try:
        return os.readlink(path)
    except (OSError, ValueError):
        return None


def resolve_inside(path: str, submission_root: Path | str, base: Path | str | None = None) -> str | None:
    """The real path ``path`` names (relative to ``base``, default the submission) if it stays
    inside the submission; None when it, or a symbolic link on the way, leads outside."""
    root = Root.of(submission_root)
    return resolve_in(path, root.real if base is None else base, root)
