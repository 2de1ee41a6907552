"""Extracting a submitted ``.zip`` safely, into a temp dir that is removed afterwards.

A zip is untrusted input. Before anything is written, every entry is checked:

- no absolute paths (``/etc/x``, ``C:\\x``, ``\\\\server\\x``) and no ``..`` component
  (the "zip slip"); backslashes count as separators, whatever the platform;
- no symbolic links (a link could point anywhere: the archive is refused), no device
  files or other special entries, no encrypted entries;
- at most ``max_files`` entries, at most ``max_bytes`` uncompressed in all, and no entry
  that expands more than ``max_ratio`` times its compressed size (a zip bomb). The sizes
  in the headers can lie, so extraction also counts the bytes it actually writes.

Files are written by this module (never with ``ZipFile.extract``), as regular files with
plain permissions, under one fresh folder.
"""
from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.errors import SubmissionError
from grader.submission.workspace import WORKSPACE_PREFIX

_CHUNK = 1024 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")


class ArchiveError(SubmissionError):
    """The zip cannot be extracted safely; the submission is refused, not graded."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint or "Zip the folder that holds your Compose file, as it is, and submit it again.")


@dataclass(frozen=True)
class ArchiveLimits:
    max_files: int = 5_000
    max_bytes: int = 200 * 1024 * 1024      # uncompressed, all entries together
    max_ratio: float = 200.0                 # uncompressed / compressed, per entry
    ratio_floor: int = 1024 * 1024           # entries smaller than this are never judged by ratio


def _parts(name: str) -> list[str]:
    return [part for part in name.replace("\\", "/").split("/") if part not in ("", ".")]


def _mode(info: zipfile.ZipInfo) -> int:
    return (info.external_attr >> 16) & 0xFFFF if info.create_system == 3 else 0


def _check_name(info: zipfile.ZipInfo) -> list[str]:
    name = info.filename
    if "\x00" in name:
        raise ArchiveError(f"The archive holds an entry whose name contains a NUL byte ({name!r}).")
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        raise ArchiveError(f"The archive holds an absolute path ({name}); the grader extracts only relative paths.")
    parts = _parts(name)
    if ".." in parts:
        raise ArchiveError(f"The archive holds a path that leaves its folder ({name}).")
    return parts


def inspect_archive(path: Path, limits: ArchiveLimits = ArchiveLimits()) -> list[zipfile.ZipInfo]:
    """Every entry of the zip at ``path`` after the safety checks; raises ArchiveError on the first problem."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise ArchiveError(f"{path.name} is not a valid zip file ({exc}).") from exc
    except OSError as exc:
        raise ArchiveError(f"{path.name} cannot be read ({exc.strerror or exc}).") from exc
    files = [entry for entry in entries if not entry.is_dir()]
    if len(files) > limits.max_files:
        raise ArchiveError(f"The archive holds {len(files):,} files, more than the {limits.max_files:,} the grader accepts.",
                           hint="Submit only your source files: remove node_modules, virtual environments, data folders.")
    total = 0
    for entry in entries:
        _check_name(entry)
        mode = _mode(entry)
        if stat.S_ISLNK(mode):
            raise ArchiveError(f"The archive holds a symbolic link ({entry.filename}); the grader does not extract links.",
                               hint="Replace the link with the file itself, or leave it out of the zip.")
        if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):  # no type bits: a plain file
            raise ArchiveError(f"The archive holds a special file ({entry.filename}), not a regular file or folder.")
        if entry.flag_bits & 0x1:
            raise ArchiveError(f"The archive is encrypted ({entry.filename}); the grader cannot read it.",
                               hint="Zip your folder again without a password.")
        if entry.is_dir():
            continue
        total += entry.file_size
        if total > limits.max_bytes:
            raise ArchiveError(f"The archive expands to more than {limits.max_bytes // 2**20} MiB.",
                               hint="Remove large files (data dumps, images, archives) from the folder you submit.")
        if entry.file_size >= limits.ratio_floor and entry.file_size > limits.max_ratio * max(entry.compress_size, 1):
            raise ArchiveError(
                f"{entry.filename} expands {entry.file_size / max(entry.compress_size, 1):,.0f} times its compressed size "
                f"(more than {limits.max_ratio:g}): the archive looks like a zip bomb.")
    return entries


def extract_archive(path: Path, target: Path, limits: ArchiveLimits = ArchiveLimits()) -> list[str]:
    """Extract the zip at ``path`` into the folder ``target`` (created); return the files written (relative)."""
    entries = inspect_archive(path, limits)
    target.mkdir(parents=True, exist_ok=True)
    root = target.resolve()
    written: list[str] = []
    total = 0
    with zipfile.ZipFile(path) as archive:
        for entry in entries:
            parts = _check_name(entry)
            if not parts:
                continue
            destination = root.joinpath(*parts)
            if root not in destination.parents:  # belt and braces: _check_name already refuses this
                raise ArchiveError(f"The archive holds a path that leaves its folder ({entry.filename}).")
            try:
                if entry.is_dir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                destination.parent.mkdir(parents=True, exist_ok=True)
                executable = bool(_mode(entry) & 0o111)
                size = 0
                with archive.open(entry) as source, open(destination, "wb") as sink:
                    while chunk := source.read(_CHUNK):
                        size += len(chunk)
                        total += len(chunk)
                        if size > entry.file_size or total > limits.max_bytes:
                            raise ArchiveError(f"{entry.filename} holds more data than its header says: "
                                               "the archive looks like a zip bomb.")
                        sink.write(chunk)
                os.chmod(destination, 0o755 if executable else 0o644)
            except ArchiveError:
                raise
            except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError) as exc:
                raise ArchiveError(f"{entry.filename} cannot be extracted ({exc}).") from exc
            except OSError as exc:
                raise ArchiveError(f"{entry.filename} cannot be extracted ({exc.strerror or exc}).") from exc
            written.append(PurePosixPath(*parts).as_posix())
    return written


@contextmanager
def extracted(path: Path, name: str | None = None, limits: ArchiveLimits = ArchiveLimits()) -> Iterator[Path]:
    """Extract the zip into ``<temp>/<name>`` (default: the zip's stem) and yield that folder; always removed after.

    The temp dir carries the grader's workspace prefix and this process id, so `grader clean`
    removes it if the process is killed before it can.
    """
    temp = Path(tempfile.mkdtemp(prefix=f"{WORKSPACE_PREFIX}{os.getpid()}-zip-"))
    try:
        safe = name or Path(path).stem
        folder = temp / (safe if safe and "/" not in safe and "\\" not in safe and safe not in (".", "..") else "submission")
        extract_archive(Path(path), folder, limits)
        yield folder
    finally:
        shutil.rmtree(temp, ignore_errors=True)
