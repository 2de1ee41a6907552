"""Finding a submission's Compose file and working on a private copy of it.

The student's folder is never written to: everything runs in a temp copy that is
removed when grading ends, whatever happens.
"""
from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import ComposeLoadError, SubmissionError

# The order Compose itself tries (compose-go's DefaultFileNames / DefaultOverrideFileNames).
COMPOSE_FILE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDE_FILE_NAMES = (
    "compose.override.yml", "compose.override.yaml",
    "docker-compose.override.yml", "docker-compose.override.yaml",
)
WORKSPACE_PREFIX = "grader-ws-"  # + pid: `grader clean` removes those whose process is gone
_IGNORED_TOP_LEVEL = {"__MACOSX", ".DS_Store", ".git", "Thumbs.db"}


@dataclass(frozen=True)
class CopyLimits:
    max_files: int = 5_000
    max_bytes: int = 200 * 1024 * 1024


@dataclass
class Workspace:
    """A private copy of the submission. ``project_dir`` is where the Compose file lives."""

    root: Path            # temp dir owned by this grading
    source_copy: Path     # copy of the submitted folder
    project_dir: Path     # folder holding the Compose file (the copy, or its single sub-folder)
    compose_file: Path | None
    override_file: Path | None
    skipped_files: list[str] = field(default_factory=list)

    def relative(self, path: Path) -> str:
        """Path as the student knows it: relative to the submitted folder."""
        try:
            return path.relative_to(self.source_copy).as_posix()
        except ValueError:
            return path.name


def find_compose_file(folder: Path) -> Path | None:
    for name in COMPOSE_FILE_NAMES:
        candidate = folder / name
        if candidate.is_file() or candidate.is_symlink():
            return candidate
    return None


def find_override_file(folder: Path) -> Path | None:
    return next((folder / name for name in OVERRIDE_FILE_NAMES if (folder / name).is_file()), None)


def locate_project_dir(root: Path) -> Path:
    """The submitted folder itself, or its one top-level folder (what unzipping often leaves)."""
    if find_compose_file(root):
        return root
    entries = [entry for entry in _list_dir(root) if entry.name not in _IGNORED_TOP_LEVEL]
    folders = [entry for entry in entries if entry.is_dir() and not entry.is_symlink()]
    if len(folders) == 1 and not [entry for entry in entries if entry.is_file()] and find_compose_file(folders[0]):
        return folders[0]
    if len(folders) == 1 and find_compose_file(folders[0]):
        return folders[0]
    return root


def _list_dir(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError:
        return []


def missing_compose_error(project_dir: Path, display_root: Path) -> ComposeLoadError:
    near_misses = sorted(
        path.relative_to(display_root).as_posix()
        for path in project_dir.rglob("*")
        if path.is_file() and ("compose" in path.name.lower() or path.suffix.lower() in {".yml", ".yaml"})
    )[:5]
    found = f" Found instead: {', '.join(near_misses)}." if near_misses else ""
    return ComposeLoadError(
        "No Compose file found at the top of the submission (looked for "
        + ", ".join(COMPOSE_FILE_NAMES) + ")." + found,
        hint="Name your file docker-compose.yml (or compose.yaml) and put it at the top of the folder you submit.",
    )


def _copy_tree(source: Path, target: Path, limits: CopyLimits) -> list[str]:
    """Copy without following symlinks, within caps; return files that could not be read."""
    return _TreeCopy(source, target, limits).run()


@dataclass
class _TreeCopy:
    """One copy of a submission: what it has counted against the caps, and what it could not read."""

    source: Path
    target: Path
    limits: CopyLimits
    skipped: list[str] = field(default_factory=list)
    files: int = 0
    size: int = 0

    def run(self) -> list[str]:
        for dirpath, dirnames, filenames in os.walk(self.source, followlinks=False, onerror=self.unlistable):
            here = Path(dirpath)
            relative = here.relative_to(self.source)
            (self.target / relative).mkdir(parents=True, exist_ok=True)
            for name in dirnames[:]:  # a link to a folder is copied as a link, never walked
                if (here / name).is_symlink():
                    dirnames.remove(name)
                    filenames.append(name)
            for name in filenames:
                self.copy(here / name, relative / name)
        return self.skipped

    def unlistable(self, error: OSError) -> None:
        """A folder that cannot be listed is left out, and said so."""
        where = Path(error.filename or "?")
        try:
            shown = where.relative_to(self.source).as_posix()
        except ValueError:
            shown = where.name
        reason = "permission denied" if isinstance(error, PermissionError) else (error.strerror or str(error))
        self.skipped.append(f"{shown} ({reason})")

    def copy(self, path: Path, relative: Path) -> None:
        self.files += 1
        if self.files > self.limits.max_files:
            raise SubmissionError(
                f"The submission holds more than {self.limits.max_files:,} files; the grader stops copying there.",
                hint="Submit only your source files: remove node_modules, virtual environments, data folders.",
            )
        try:
            self.copy_entry(path, relative)
        except PermissionError:
            self.skipped.append(f"{relative.as_posix()} (permission denied)")
        except OSError as exc:
            self.skipped.append(f"{relative.as_posix()} ({exc.strerror or exc})")

    def copy_entry(self, path: Path, relative: Path) -> None:
        """A link as a link, a regular file within the size cap; anything else is skipped."""
        destination = self.target / relative
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            os.symlink(os.readlink(path), destination)
            return
        if not stat.S_ISREG(info.st_mode):
            self.skipped.append(f"{relative.as_posix()} (not a regular file)")
            return
        self.size += info.st_size
        if self.size > self.limits.max_bytes:
            raise SubmissionError(
                f"The submission is larger than {self.limits.max_bytes // (1024 * 1024)} MiB; the grader stops "
                f"copying there (at {relative.as_posix()}, {_size(info.st_size)}).",
                hint="Remove large files (data dumps, images, archives) from the folder you submit.",
            )
        shutil.copy2(path, destination, follow_symlinks=False)


def _size(size: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:,} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return f"{size} bytes"  # pragma: no cover


@contextmanager
def workspace(submission: Path, limits: CopyLimits = CopyLimits()) -> Iterator[Workspace]:
    """Copy the submission into a temp dir; always remove it afterwards."""
    submission = submission.resolve()
    if not submission.is_dir():
        raise SubmissionError(f"{submission} is not a folder.", hint="Pass the folder that holds your Compose file.")
    root = Path(tempfile.mkdtemp(prefix=f"{WORKSPACE_PREFIX}{os.getpid()}-"))
    try:
        copy = root / "submission"
        skipped = _copy_tree(submission, copy, limits)
        project_dir = locate_project_dir(copy)
        yield Workspace(
            root=root,
            source_copy=copy,
            project_dir=project_dir,
            compose_file=find_compose_file(project_dir),
            override_file=find_override_file(project_dir),
            skipped_files=skipped,
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def find_dump(source_copy: Path, max_depth: int = 4) -> Path | None:
    """The dump.rdb nearest the root of the submission (breadth first), if any."""
    level = [source_copy]
    for _ in range(max_depth + 1):
        next_level: list[Path] = []
        for folder in level:
            candidate = folder / "dump.rdb"
            if candidate.is_file() or candidate.is_symlink():
                return candidate
            next_level += [entry for entry in _list_dir(folder) if entry.is_dir() and not entry.is_symlink()]
        level = next_level
    return None


def remove_stale_workspaces(temp_root: Path | None = None) -> list[Path]:
    """Remove workspaces left by gradings that were killed (their process no longer exists)."""
    removed = []
    for folder in Path(temp_root or tempfile.gettempdir()).glob(f"{WORKSPACE_PREFIX}*-*"):
        pid = folder.name[len(WORKSPACE_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie (killed, not yet reaped) owns nothing any more."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat_file:
            state = stat_file.read().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (macOS): signal 0 is all there is
    return state not in ("Z", "X")


# dump.rdb -------------------------------------------------------------------------------

MAX_DUMP_BYTES = 64 * 1024 * 1024
_RDB_EOF = 0xFF


def _crc64_table() -> list[int]:
    poly = 0x95AC9329AC4BC9B5  # Redis's CRC-64/Jones polynomial 0xad93d23594c935a9, bit-reversed
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC64_TABLE = _crc64_table()


def crc64_redis(data: bytes, crc: int = 0) -> int:
    """The CRC-64 Redis writes at the end of an RDB file (reflected Jones, init 0, no final xor).
    Pass the previous result as ``crc`` to go on over the next piece of a file."""
    table = _CRC64_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc


def dump_problem(path: Path, name: str) -> str | None:
    """Why the grader will not load this dump.rdb into Redis, in words for a student; None when it will.

    Redis refuses to start on a damaged RDB file ("Short read or OOM loading DB"), so a
    truncated or corrupt file is detected here, by its end marker and checksum (about 0.3 s
    per 4 MiB), and not loaded: Redis then starts empty, and the student is told what is wrong.
    """
    if path.is_symlink():
        return f"{name} is a symbolic link; the grader loads only a real file."
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            return f"{name} is not a regular file."
        if info.st_size > MAX_DUMP_BYTES:
            return f"{name} is larger than {MAX_DUMP_BYTES // 2**20} MiB."
        with path.open("rb") as handle:
            data = handle.read(MAX_DUMP_BYTES + 1)
    except OSError as exc:
        return f"{name} cannot be read ({exc.strerror or exc})."
    if len(data) > MAX_DUMP_BYTES:
        return f"{name} is larger than {MAX_DUMP_BYTES // 2**20} MiB."
    if not (data.startswith(b"REDIS") and data[5:9].isdigit()):
        return f"{name} is not a Redis data file (it does not start with the RDB header)."
    # Since RDB version 5 a file ends with the EOF opcode (0xFF) and the CRC-64 of everything
    # before the checksum (0 when the student's Redis ran with `rdbchecksum no`); older files
    # end with the opcode alone.
    if int(data[5:9]) >= 5:
        stored = int.from_bytes(data[-8:], "little")
        intact = len(data) >= 18 and data[-9] == _RDB_EOF and (stored == 0 or crc64_redis(data[:-8]) == stored)
    else:
        intact = len(data) >= 10 and data[-1] == _RDB_EOF
    if not intact:
        return (f"{name} is damaged: it is cut short or its checksum does not match its content (a truncated "
                "or corrupted copy), so Redis would refuse to start with it.")
    return None
