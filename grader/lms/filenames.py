"""File names from a download are untrusted: made safe before anything is written with them.

A name in a bulk download comes from a student (the file they uploaded) and from whoever
built the archive. ``safe_relative`` turns one into a relative POSIX path that stays inside
the folder it is written to: backslashes are separators, empty, ``.`` and ``..`` parts and
a leading ``/`` or drive are dropped, Unicode is NFC-normalised, control and invisible
formatting characters (bidi overrides, zero-width marks) are removed, and each part is cut
to 255 bytes, keeping its extension. ``unique_names`` then settles collisions within one
submission, including a file whose name is another file's folder.

Canvas renames a re-uploaded file by putting ``-1``, ``-2``… before the first dot of its name
(``docker-compose.yml`` → ``docker-compose-1.yml``; instructure/canvas-lms issue #2310;
older Canvas put it before the last dot: ``Attachment.make_unique_filename``).
``canvas_original`` undoes that.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_MAX_PART_BYTES = 255
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_DRIVE = re.compile(r"^[A-Za-z]:$")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Canvas's extension: the longest run of dot-parts at the end, all but the last starting with a letter.
_CANVAS_EXT = re.compile(r"(\.[A-Za-z][A-Za-z0-9]*)*(\.[A-Za-z0-9]*)$")
_SUFFIX = re.compile(r"-(\d+)")


def _clean_part(part: str) -> str:
    part = "".join(ch for ch in part if unicodedata.category(ch) != "Cc")
    part = _INVISIBLE.sub("", part).strip()
    if part in (".", "..") or _DRIVE.match(part):
        return ""
    return _truncate(part)


def _truncate(part: str) -> str:
    """``part`` cut to 255 UTF-8 bytes, its extension kept when there is one."""
    if len(part.encode("utf-8")) <= _MAX_PART_BYTES:
        return part
    stem, dot, extension = part.rpartition(".")
    if not dot or len(extension) > 16:
        stem, extension = part, ""
    else:
        extension = "." + extension
    budget = _MAX_PART_BYTES - len(extension.encode("utf-8"))
    cut = stem.encode("utf-8")[:budget].decode("utf-8", "ignore")
    return cut + extension


def safe_relative(name: str, default: str = "file") -> str:
    """``name`` as a relative POSIX path that cannot leave its folder (``default`` when nothing is left)."""
    # Bytes that were not UTF-8 (which Python keeps as lone surrogates) become U+FFFD.
    text = _SURROGATE.sub("\ufffd", str(name))
    text = unicodedata.normalize("NFC", text).replace("\\", "/")
    parts = [cleaned for cleaned in (_clean_part(part) for part in text.split("/")) if cleaned]
    return "/".join(parts) or default


def safe_component(name: str, default: str = "submission") -> str:
    """``name`` as one folder name (a ``/`` becomes ``_``)."""
    return safe_relative(str(name).replace("/", "_").replace("\\", "_"), default)


def _numbered(name: str, number: int) -> str:
    """``docker-compose.yml`` → ``docker-compose (2).yml``; ``Dockerfile`` → ``Dockerfile (2)``."""
    folder, slash, leaf = name.rpartition("/")
    stem, dot, extension = leaf.rpartition(".")
    if not dot or not stem:
        stem, extension = leaf, ""
    else:
        extension = "." + extension
    return f"{folder}{slash}{stem} ({number}){extension}"


def _parents(name: str) -> list[str]:
    parts = name.split("/")
    return ["/".join(parts[:index]) for index in range(1, len(parts))]


def _clashes(name: str, files: set[str], folders: set[str]) -> bool:
    return name in files or name in folders or any(parent in files for parent in _parents(name))


def _renamed(name: str, number: int, files: set[str]) -> str:
    """``name`` numbered where it clashes: its leaf, or the first of its folders that is a file."""
    folder = next((parent for parent in _parents(name) if parent in files), None)
    if folder is None:
        return _numbered(name, number)
    return _numbered(folder, number) + name[len(folder):]


def unique_names(names: Iterable[str]) -> list[str]:
    """``names`` (already safe) with clashes renamed ``name (2)``…, in the same order.

    A clash is the same path twice, or a file whose path is another's folder (``app`` and
    ``app/main.py``); the first keeps its name.
    """
    files: set[str] = set()
    folders: set[str] = set()
    result = []
    for name in names:
        candidate, number = name, 2
        while _clashes(candidate, files, folders):
            candidate, number = _renamed(name, number, files), number + 1
        files.add(candidate)
        folders.update(_parents(candidate))
        result.append(candidate)
    return result


def _canvas_renamed(original: str, number: str) -> set[str]:
    """The names Canvas gives ``original`` on its ``number``-th re-upload (new and old rule)."""
    extension = _CANVAS_EXT.search(original)
    first = extension.group(0) if extension and extension.start() > 0 else ""
    last = original[original.rindex("."):] if "." in original.lstrip(".") else ""
    return {f"{original[:len(original) - len(ext)]}-{number}{ext}" for ext in (first, last)}


def canvas_original(name: str) -> str:
    """The name the student gave a file Canvas renamed on re-upload; ``name`` itself otherwise.

    Only a ``-N`` that Canvas's own rule would have put exactly there is removed, so
    ``docker-compose-1.yml`` → ``docker-compose.yml`` and ``app-2.tar.gz`` → ``app.tar.gz``;
    a name that merely contains ``-N`` elsewhere (``redis-7-alpine``) stays.
    """
    for match in reversed(list(_SUFFIX.finditer(name))):
        candidate = name[:match.start()] + name[match.end():]
        if candidate and not candidate.startswith(".") and name in _canvas_renamed(candidate, match.group(1)):
            return candidate
    return name
