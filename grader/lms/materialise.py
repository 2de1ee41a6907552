"""One student's submission as a folder of their own files, under the names they gave them.

``materialise(submission, download_root, target)`` copies the submission's files out of the
download into a new folder under ``target`` (a temp dir the caller owns and removes), so the
ordinary grading (``grader.grade(folder)``) runs on it unchanged. The download is never
written to, and ``target`` may not lie inside it.

A submission that is a zip (with no Compose file beside it) is extracted instead, with the
same safety checks as any submitted zip (grader/submission/archive.py). Files are copied as bytes, as
plain files (mode 0644): a link, a device or a path that leaves the download is skipped.
"""
from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from grader.lms.filenames import safe_component, safe_relative
from grader.lms.model import LmsError, LmsSubmission
from grader.submission.workspace import COMPOSE_FILE_NAMES

MAX_BYTES = 200 * 1024 * 1024


@dataclass
class Materialised:
    folder: Path                                           # the submission, ready to grade
    written: list[str] = field(default_factory=list)       # names written (relative to folder)
    skipped: list[str] = field(default_factory=list)       # "<path in download>: why"


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _zip_to_extract(submission: LmsSubmission) -> str | None:
    """The one zip to extract: when the student handed in a zip and no Compose file beside it."""
    names = [item.name for item in submission.files]
    zips = [item.path for item in submission.files if item.name.lower().endswith(".zip")]
    if len(zips) == 1 and not any(name.rsplit("/", 1)[-1] in COMPOSE_FILE_NAMES for name in names):
        return zips[0]
    return None


def _source(root: Path, relative: str) -> tuple[Path | None, str]:
    """The file at ``relative`` in the download, when it is a regular file inside it; else why not."""
    source = root / relative
    try:
        info = source.lstat()
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
        return None, "not a regular file"
    if not _inside(source.resolve(), root):
        return None, "outside the download"
    return source, ""


def _copy(source: Path, destination: Path, budget: int) -> int:
    """Copy bytes (never metadata); at most ``budget`` bytes."""
    size = source.stat().st_size
    if size > budget:
        raise LmsError(f"{source.name}: the submission is larger than {MAX_BYTES // 2**20} MiB")
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, destination, follow_symlinks=False)
    os.chmod(destination, 0o644)
    return size


def _target(download_root: Path, target: Path, submission: LmsSubmission) -> Path:
    if _inside(target.resolve(), download_root):
        raise LmsError(f"{target} is inside the download {download_root}: the download is never written to")
    folder = target / safe_component(submission.id)
    if folder.exists():
        raise LmsError(f"{folder} exists already: materialise each submission into a fresh target")
    folder.mkdir(parents=True)
    return folder


def materialise(submission: LmsSubmission, download_root: str | os.PathLike[str], target: str | os.PathLike[str],
                max_bytes: int = MAX_BYTES) -> Materialised:
    """Write ``submission``'s files under ``target/<submission id>/`` and say what was written."""
    from grader.submission.archive import extract_archive

    root = Path(download_root).resolve()
    result = Materialised(_target(root, Path(target), submission))
    folder = result.folder.resolve()
    archive = _zip_to_extract(submission)
    items = sorted(submission.files, key=lambda item: item.path != archive)  # the zip first: files beside it win no clash
    budget = max_bytes
    for item in items:
        source, why = _source(root, item.path)
        destination = folder / safe_relative(item.name)
        if source is None or not _inside(destination.resolve(), folder):
            result.skipped.append(f"{item.path}: {why or 'its name leaves the folder'}")
        elif item.path == archive:
            result.written += extract_archive(source, folder)
        elif destination.exists() or destination.is_symlink():
            result.skipped.append(f"{item.path}: {item.name} is in the submitted zip already")
        else:
            try:
                budget -= _copy(source, destination, budget)
            except OSError as exc:  # e.g. a folder of the name is a file from the zip
                result.skipped.append(f"{item.path}: cannot be written ({exc.strerror or exc})")
                continue
            result.written.append(destination.relative_to(folder).as_posix())
    return result
