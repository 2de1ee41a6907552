"""Submissions: finding the Compose file as Compose would, and working on a private copy."""
from __future__ import annotations

import hashlib
import os
import socket
import stat
import tempfile
import threading
from pathlib import Path

import pytest

from grader.errors import ComposeLoadError, SubmissionError
from grader.submission.workspace import (
    COMPOSE_FILE_NAMES,
    CopyLimits,
    find_compose_file,
    find_dump,
    find_override_file,
    locate_project_dir,
    missing_compose_error,
    process_alive,
    remove_stale_workspaces,
    workspace,
)

COMPOSE = "services:\n  redis:\n    image: redis:alpine\n"


def write(path: Path, text: str = COMPOSE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def tree_state(root: Path) -> dict[str, tuple]:
    """Everything observable about a tree without following links: kind, mode, content hash, mtime."""
    state: dict[str, tuple] = {".": (oct(root.lstat().st_mode), root.lstat().st_mtime_ns)}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                content = "link:" + os.readlink(path)
            elif stat.S_ISREG(info.st_mode):
                content = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                content = "special"
            state[path.relative_to(root).as_posix()] = (oct(info.st_mode), info.st_mtime_ns, info.st_size, content)
    return state


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make workspace() create its temp dirs where the test can see all of them."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


# Finding the Compose file ------------------------------------------------------------


def test_compose_file_order_matches_compose() -> None:
    assert COMPOSE_FILE_NAMES == ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")


@pytest.mark.parametrize("present, winner", [
    (["docker-compose.yaml", "docker-compose.yml", "compose.yml", "compose.yaml"], "compose.yaml"),
    (["docker-compose.yaml", "docker-compose.yml", "compose.yml"], "compose.yml"),
    (["docker-compose.yaml", "docker-compose.yml"], "docker-compose.yml"),
    (["docker-compose.yaml"], "docker-compose.yaml"),
    (["Docker-Compose.yml", "compose.json", "docker-compose.yml.txt"], None),
])
def test_find_compose_file_respects_composes_order(tmp_path: Path, present: list[str], winner: str | None) -> None:
    for name in present:
        write(tmp_path / name)
    found = find_compose_file(tmp_path)
    assert (found.name if found else None) == winner


def test_find_compose_file_ignores_a_folder_with_that_name(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").mkdir()
    write(tmp_path / "docker-compose.yml")
    assert find_compose_file(tmp_path) == tmp_path / "docker-compose.yml"


def test_find_override_file(tmp_path: Path) -> None:
    assert find_override_file(tmp_path) is None
    write(tmp_path / "docker-compose.override.yaml")
    write(tmp_path / "compose.override.yaml")
    assert find_override_file(tmp_path) == tmp_path / "compose.override.yaml"
    write(tmp_path / "compose.override.yml")
    assert find_override_file(tmp_path) == tmp_path / "compose.override.yml"


def test_project_dir_is_the_root_when_the_file_is_there(tmp_path: Path) -> None:
    write(tmp_path / "compose.yaml")
    write(tmp_path / "inner" / "compose.yaml")
    assert locate_project_dir(tmp_path) == tmp_path


def test_single_nested_folder_is_found_ignoring_macos_litter(tmp_path: Path) -> None:
    write(tmp_path / "redis-assignment" / "docker-compose.yml")
    write(tmp_path / "__MACOSX" / "redis-assignment" / "._docker-compose.yml", "junk")
    write(tmp_path / ".DS_Store", "junk")
    assert locate_project_dir(tmp_path) == tmp_path / "redis-assignment"


def test_single_nested_folder_is_found_beside_loose_files(tmp_path: Path) -> None:
    write(tmp_path / "student" / "compose.yaml")
    write(tmp_path / "README.md", "hello")
    assert locate_project_dir(tmp_path) == tmp_path / "student"


def test_two_folders_are_ambiguous(tmp_path: Path) -> None:
    write(tmp_path / "a" / "compose.yaml")
    write(tmp_path / "b" / "compose.yaml")
    assert locate_project_dir(tmp_path) == tmp_path


def test_nested_two_levels_is_not_searched(tmp_path: Path) -> None:
    write(tmp_path / "a" / "b" / "compose.yaml")
    assert locate_project_dir(tmp_path) == tmp_path


def test_symlinked_folder_is_not_a_project_dir(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside / "compose.yaml")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "linked").symlink_to(outside, target_is_directory=True)
    assert locate_project_dir(sub) == sub


def test_missing_compose_error_lists_near_misses(tmp_path: Path) -> None:
    write(tmp_path / "docker_compose.yml")
    write(tmp_path / "config" / "redis.yaml")
    write(tmp_path / "app.py", "print(1)")
    error = missing_compose_error(tmp_path, tmp_path)
    assert isinstance(error, ComposeLoadError)
    assert "No Compose file found" in error.message
    for name in COMPOSE_FILE_NAMES:
        assert name in error.message
    assert "docker_compose.yml" in error.message and "config/redis.yaml" in error.message
    assert "app.py" not in error.message
    assert str(tmp_path) not in error.message
    assert error.hint


def test_missing_compose_error_without_near_misses(tmp_path: Path) -> None:
    write(tmp_path / "app.py", "x")
    assert "Found instead" not in missing_compose_error(tmp_path, tmp_path).message


# The workspace copy ----------------------------------------------------------------


def make_submission(root: Path) -> Path:
    write(root / "compose.yaml")
    write(root / "app" / "app.py", "print('hi')\n")
    (root / "app" / "data.bin").write_bytes(os.urandom(4096))
    (root / "empty_dir").mkdir()
    (root / "link_to_app").symlink_to("app/app.py")
    return root


def test_workspace_copies_and_never_writes_to_the_source(tmp_path: Path, private_tmp: Path) -> None:
    source = make_submission(tmp_path / "submission")
    before = tree_state(source)
    with workspace(source) as ws:
        assert ws.root.parent == private_tmp
        assert ws.project_dir == ws.source_copy
        assert ws.compose_file == ws.source_copy / "compose.yaml"
        assert ws.override_file is None
        assert ws.skipped_files == []
        assert (ws.source_copy / "app" / "app.py").read_text() == "print('hi')\n"
        assert (ws.source_copy / "app" / "data.bin").read_bytes() == (source / "app" / "data.bin").read_bytes()
        assert (ws.source_copy / "empty_dir").is_dir()
        # the grader may scribble on its copy: the source must not notice
        (ws.source_copy / "compose.yaml").write_text("changed")
        (ws.source_copy / "new.txt").write_text("new")
        (ws.source_copy / "app" / "app.py").unlink()
    assert tree_state(source) == before


def test_workspace_keeps_mtimes_of_copied_files(tmp_path: Path) -> None:
    source = make_submission(tmp_path / "s")
    os.utime(source / "compose.yaml", ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    with workspace(source) as ws:
        assert (ws.source_copy / "compose.yaml").stat().st_mtime_ns == 1_000_000_000_000_000_000


def test_workspace_is_removed_after_the_with_block(tmp_path: Path, private_tmp: Path) -> None:
    source = make_submission(tmp_path / "s")
    with workspace(source) as ws:
        root = ws.root
        assert root.exists()
    assert not root.exists()
    assert list(private_tmp.iterdir()) == []


def test_workspace_is_removed_when_the_block_raises(tmp_path: Path, private_tmp: Path) -> None:
    source = make_submission(tmp_path / "s")
    roots = []
    with pytest.raises(RuntimeError, match="inside"):
        with workspace(source) as ws:
            roots.append(ws.root)
            raise RuntimeError("boom inside")
    assert roots and not roots[0].exists()
    assert list(private_tmp.iterdir()) == []


def test_workspace_is_removed_when_interrupted(tmp_path: Path, private_tmp: Path) -> None:
    source = make_submission(tmp_path / "s")
    with pytest.raises(KeyboardInterrupt):
        with workspace(source):
            raise KeyboardInterrupt
    assert list(private_tmp.iterdir()) == []


def test_workspace_of_a_file_or_missing_path(tmp_path: Path, private_tmp: Path) -> None:
    file = write(tmp_path / "compose.yaml")
    for path in (file, tmp_path / "missing"):
        with pytest.raises(SubmissionError, match="is not a folder") as info:
            with workspace(path):
                pass
        assert info.value.hint
    assert list(private_tmp.iterdir()) == []


def test_workspace_finds_nested_folder_and_override(tmp_path: Path) -> None:
    source = tmp_path / "zip"
    write(source / "student-redis" / "docker-compose.yml")
    write(source / "student-redis" / "docker-compose.override.yml")
    write(source / "__MACOSX" / "._x", "junk")
    with workspace(source) as ws:
        assert ws.project_dir == ws.source_copy / "student-redis"
        assert ws.compose_file == ws.project_dir / "docker-compose.yml"
        assert ws.override_file == ws.project_dir / "docker-compose.override.yml"
        assert ws.relative(ws.compose_file) == "student-redis/docker-compose.yml"
        assert ws.relative(Path("/elsewhere/file.yml")) == "file.yml"


def test_workspace_without_compose_file(tmp_path: Path) -> None:
    source = tmp_path / "s"
    write(source / "notes.txt", "no compose here")
    with workspace(source) as ws:
        assert ws.compose_file is None and ws.project_dir == ws.source_copy


def test_symlinks_are_copied_as_links_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside / "secret.txt", "top secret")
    write(outside / "folder" / "inner.txt", "also secret")
    source = tmp_path / "s"
    write(source / "compose.yaml")
    (source / "secret_link").symlink_to(outside / "secret.txt")
    (source / "folder_link").symlink_to(outside / "folder", target_is_directory=True)
    (source / "dangling").symlink_to(tmp_path / "does-not-exist")
    (source / "relative").symlink_to("compose.yaml")
    before = tree_state(outside)
    with workspace(source) as ws:
        copy = ws.source_copy
        for name, target in [("secret_link", str(outside / "secret.txt")), ("folder_link", str(outside / "folder")),
                             ("dangling", str(tmp_path / "does-not-exist")), ("relative", "compose.yaml")]:
            assert (copy / name).is_symlink(), name
            assert os.readlink(copy / name) == target
        # nothing behind the links was copied in
        copied = {p.relative_to(copy).as_posix() for p in copy.rglob("*")}
        assert not any("inner.txt" in p for p in copied)
        assert ws.skipped_files == []
    assert tree_state(outside) == before
    assert (outside / "secret.txt").read_text() == "top secret"


def test_symlinked_compose_file_is_still_found(tmp_path: Path) -> None:
    source = tmp_path / "s"
    write(source / "real.yml")
    (source / "compose.yaml").symlink_to("real.yml")
    with workspace(source) as ws:
        assert ws.compose_file == ws.source_copy / "compose.yaml"
        assert ws.compose_file.is_symlink()


def test_file_count_cap(tmp_path: Path, private_tmp: Path) -> None:
    source = tmp_path / "s"
    write(source / "compose.yaml")
    for i in range(10):
        write(source / "node_modules" / f"f{i}.js", "x")
    with workspace(source, CopyLimits(max_files=11)) as ws:
        assert len(list((ws.source_copy / "node_modules").iterdir())) == 10
    with pytest.raises(SubmissionError) as info:
        with workspace(source, CopyLimits(max_files=10)):
            pass
    assert "more than 10 files" in info.value.message
    assert "node_modules" in (info.value.hint or "")
    assert list(private_tmp.iterdir()) == []


def test_size_cap(tmp_path: Path, private_tmp: Path) -> None:
    source = tmp_path / "s"
    write(source / "compose.yaml")
    (source / "dump.tar").write_bytes(b"\0" * (3 * 1024 * 1024))
    total = sum(p.stat().st_size for p in source.rglob("*"))
    with workspace(source, CopyLimits(max_bytes=total)):
        pass
    with pytest.raises(SubmissionError) as info:
        with workspace(source, CopyLimits(max_bytes=2 * 1024 * 1024)):
            pass
    assert "larger than 2 MiB" in info.value.message
    assert info.value.hint
    assert list(private_tmp.iterdir()) == []


def test_fifo_is_skipped_and_listed_without_blocking(tmp_path: Path) -> None:
    source = tmp_path / "s"
    write(source / "compose.yaml")
    os.mkfifo(source / "pipe")
    outcome: dict[str, object] = {}

    def copy() -> None:
        try:
            with workspace(source) as ws:
                outcome["skipped"] = list(ws.skipped_files)
                outcome["exists"] = (ws.source_copy / "pipe").exists() or (ws.source_copy / "pipe").is_symlink()
                outcome["compose"] = ws.compose_file is not None
        except BaseException as exc:  # pragma: no cover - reported below
            outcome["error"] = exc

    thread = threading.Thread(target=copy, daemon=True)
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive(), "copying a FIFO blocked"
    assert "error" not in outcome, outcome.get("error")
    assert outcome["skipped"] == ["pipe (not a regular file)"]
    assert outcome["exists"] is False
    assert outcome["compose"] is True


def test_socket_file_is_skipped_and_listed(tmp_path: Path) -> None:
    source = tmp_path / "s"
    write(source / "compose.yaml")
    path = source / "sub" / "app.sock"
    path.parent.mkdir()
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        with workspace(source) as ws:
            assert ws.skipped_files == ["sub/app.sock (not a regular file)"]
    finally:
        server.close()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read a chmod 000 file, so it cannot be made unreadable")
def test_unreadable_file_is_skipped_and_listed(tmp_path: Path) -> None:
    source = tmp_path / "s"
    write(source / "compose.yaml")
    secret = write(source / "private.key", "k")
    secret.chmod(0)
    try:
        with workspace(source) as ws:
            assert ws.skipped_files == ["private.key (permission denied)"]
            assert not (ws.source_copy / "private.key").exists()
    finally:
        secret.chmod(0o600)


def test_read_errors_are_skipped_and_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulates unreadable files (tests may run as root, where chmod 000 does not stop reads)."""
    import shutil

    from grader.submission import workspace as module
    source = tmp_path / "s"
    write(source / "compose.yaml")
    write(source / "locked.txt", "x")
    write(source / "io.txt", "y")
    real_copy2 = shutil.copy2

    def failing_copy2(src, dst, **kwargs):
        if Path(src).name == "locked.txt":
            raise PermissionError(13, "Permission denied", str(src))
        if Path(src).name == "io.txt":
            raise OSError(5, "Input/output error", str(src))
        return real_copy2(src, dst, **kwargs)

    monkeypatch.setattr(module.shutil, "copy2", failing_copy2)
    with workspace(source) as ws:
        assert sorted(ws.skipped_files) == ["io.txt (Input/output error)", "locked.txt (permission denied)"]
        assert ws.compose_file is not None


def test_unlistable_folder_is_skipped_and_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulates a chmod 000 folder (root can list it anyway) by refusing to list it."""
    source = tmp_path / "s"
    write(source / "compose.yaml")
    write(source / "app" / "app.py", "print(1)")
    real_scandir = os.scandir

    def scandir(path=".", *args, **kwargs):
        if not isinstance(path, int) and Path(os.fsdecode(path)).name == "app":
            raise PermissionError(13, "Permission denied", os.fsdecode(path))
        return real_scandir(path, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", scandir)
    with workspace(source) as ws:
        assert ws.compose_file is not None
        assert any(entry.startswith("app") and "permission denied" in entry for entry in ws.skipped_files), \
            ws.skipped_files


# find_dump ------------------------------------------------------------------------


def test_find_dump_nearest_root_wins(tmp_path: Path) -> None:
    write(tmp_path / "a" / "b" / "dump.rdb", "deep")
    write(tmp_path / "z" / "dump.rdb", "shallow")
    assert find_dump(tmp_path) == tmp_path / "z" / "dump.rdb"
    write(tmp_path / "dump.rdb", "root")
    assert find_dump(tmp_path) == tmp_path / "dump.rdb"


def test_find_dump_same_depth_is_deterministic(tmp_path: Path) -> None:
    write(tmp_path / "b" / "dump.rdb")
    write(tmp_path / "a" / "dump.rdb")
    assert find_dump(tmp_path) == tmp_path / "a" / "dump.rdb"


def test_find_dump_none_and_depth_limit(tmp_path: Path) -> None:
    assert find_dump(tmp_path) is None
    write(tmp_path / "1" / "2" / "3" / "4" / "5" / "dump.rdb")
    assert find_dump(tmp_path) is None
    assert find_dump(tmp_path, max_depth=5) == tmp_path / "1" / "2" / "3" / "4" / "5" / "dump.rdb"


def test_find_dump_ignores_folders_named_dump_rdb_and_linked_folders(tmp_path: Path) -> None:
    (tmp_path / "dump.rdb").mkdir()
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    write(outside / "dump.rdb")
    (tmp_path / "linked").symlink_to(outside, target_is_directory=True)
    assert find_dump(tmp_path) is None
    write(tmp_path / "data" / "dump.rdb")
    assert find_dump(tmp_path) == tmp_path / "data" / "dump.rdb"


def test_find_dump_reports_a_symlinked_dump(tmp_path: Path) -> None:
    (tmp_path / "dump.rdb").symlink_to("/etc/hostname")
    found = find_dump(tmp_path)
    assert found == tmp_path / "dump.rdb" and found.is_symlink()


# Stale workspaces -------------------------------------------------------------------


def dead_pid() -> int:
    import subprocess
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_workspace_name_carries_the_pid(tmp_path: Path, private_tmp: Path) -> None:
    with workspace(make_submission(tmp_path / "s")) as ws:
        assert ws.root.name.startswith(f"grader-ws-{os.getpid()}-")


def test_remove_stale_workspaces_spares_live_and_foreign_folders(tmp_path: Path) -> None:
    gone = dead_pid()
    assert not process_alive(gone)
    assert process_alive(os.getpid())
    stale = tmp_path / f"grader-ws-{gone}-abc123"
    live = tmp_path / f"grader-ws-{os.getpid()}-def456"
    foreign = [tmp_path / "grader-ws-notapid-x", tmp_path / "other-123-x", tmp_path / "grader-ws-abc"]
    for folder in [stale, live, *foreign]:
        write(folder / "submission" / "compose.yaml")
    removed = remove_stale_workspaces(tmp_path)
    assert removed == [stale]
    assert not stale.exists()
    assert live.exists() and all(folder.exists() for folder in foreign)


def test_remove_stale_workspaces_never_touches_a_running_workspace(tmp_path: Path, private_tmp: Path) -> None:
    with workspace(make_submission(tmp_path / "s")) as ws:
        assert remove_stale_workspaces(private_tmp) == []
        assert ws.compose_file is not None and ws.compose_file.exists()
