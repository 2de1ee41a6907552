"""Safe extraction of submitted zips: every unsafe archive is a clean ArchiveError, nothing escapes."""
from __future__ import annotations

import os
import stat
import tempfile
import zipfile
from pathlib import Path

import pytest

from grader.submission.archive import (
    ArchiveError,
    ArchiveLimits,
    extract_archive,
    extracted,
    inspect_archive,
)
from grader.submission.workspace import WORKSPACE_PREFIX


def make_zip(path: Path, entries: list[tuple[str, bytes]], *, symlinks: dict[str, str] | None = None,
             compression: int = zipfile.ZIP_DEFLATED, modes: dict[str, int] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name)
            info.compress_type = compression
            info.create_system = 3
            info.external_attr = ((modes or {}).get(name, stat.S_IFREG | 0o644)) << 16
            archive.writestr(info, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return path


def our_temp_dirs() -> set[str]:
    return {name for name in os.listdir(tempfile.gettempdir()) if name.startswith(f"{WORKSPACE_PREFIX}{os.getpid()}-zip-")}


def test_normal_zip_with_one_top_folder(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "alice.zip", [
        ("lab3/", b""),
        ("lab3/compose.yaml", b"services:\n  redis:\n    image: redis:alpine\n"),
        ("lab3/web/app.py", b"print('hi')\n"),
        ("lab3/run.sh", b"#!/bin/sh\n"),
        ("__MACOSX/lab3/._compose.yaml", b"\x00\x05"),
    ], modes={"lab3/run.sh": stat.S_IFREG | 0o755})
    before = our_temp_dirs()
    with extracted(archive) as folder:
        assert folder.name == "alice"
        assert (folder / "lab3" / "compose.yaml").read_text().startswith("services:")
        assert (folder / "lab3" / "web" / "app.py").is_file()
        assert os.stat(folder / "lab3" / "run.sh").st_mode & 0o111
        assert not os.stat(folder / "lab3" / "compose.yaml").st_mode & 0o111
        assert not any(path.is_symlink() for path in folder.rglob("*"))
        root = folder.parent
    assert not root.exists(), "the temp dir must be removed afterwards"
    assert our_temp_dirs() == before


def test_grader_finds_the_compose_file_in_the_top_folder(tmp_path: Path) -> None:
    from grader.submission.workspace import locate_project_dir

    archive = make_zip(tmp_path / "bob.zip", [("my-lab/docker-compose.yml", b"services: {}\n")])
    with extracted(archive) as folder:
        assert locate_project_dir(folder) == folder / "my-lab"


@pytest.mark.parametrize("name", ["../x", "a/../../x", "..\\x", "a\\..\\..\\x", "ok/../../../etc/cron.d/x"])
def test_zip_slip_is_refused(tmp_path: Path, name: str) -> None:
    archive = make_zip(tmp_path / "slip.zip", [("fine.txt", b"ok"), (name, b"owned")])
    with pytest.raises(ArchiveError, match="leaves its folder"):
        with extracted(archive):
            pass
    assert not (tmp_path / "x").exists() and not (tmp_path.parent / "x").exists()


@pytest.mark.parametrize("name", ["/etc/passwd", "/tmp/x", "C:\\Windows\\x", "c:/x", "\\\\server\\share\\x"])
def test_absolute_path_is_refused(tmp_path: Path, name: str) -> None:
    archive = make_zip(tmp_path / "abs.zip", [(name, b"owned")])
    with pytest.raises(ArchiveError, match="absolute path"):
        inspect_archive(archive)


def test_symlink_entry_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "link.zip", [("lab/compose.yaml", b"services: {}\n")],
                       symlinks={"lab/secret": "/etc/passwd"})
    target = tmp_path / "out"
    with pytest.raises(ArchiveError, match="symbolic link") as caught:
        extract_archive(archive, target)
    assert caught.value.hint and "link" in caught.value.hint
    assert not target.exists(), "nothing is extracted from a refused archive"


def test_too_many_files(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "many.zip", [(f"f{i}.txt", b"x") for i in range(11)])
    with pytest.raises(ArchiveError, match="11 files, more than the 10"):
        inspect_archive(archive, ArchiveLimits(max_files=10))
    assert inspect_archive(archive, ArchiveLimits(max_files=11))


def test_too_large(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "big.zip", [("a.bin", os.urandom(1500)), ("b.bin", os.urandom(1500))],
                       compression=zipfile.ZIP_STORED)
    with pytest.raises(ArchiveError, match="more than 0 MiB|expands to more than"):
        inspect_archive(archive, ArchiveLimits(max_bytes=2000))


def test_zip_bomb_ratio(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "bomb.zip", [("lab/compose.yaml", b"services: {}\n"),
                                               ("lab/zeros.bin", b"\0" * (8 * 1024 * 1024))])
    assert (tmp_path / "bomb.zip").stat().st_size < 100_000
    with pytest.raises(ArchiveError, match="zip bomb"):
        with extracted(archive):
            pass


def test_size_headers_that_lie_are_caught_while_extracting(tmp_path: Path) -> None:
    """The central directory says 10 bytes; the data holds 5000: extraction stops at the declared size."""
    path = make_zip(tmp_path / "liar.zip", [("lab/data.txt", b"A" * 5000)], compression=zipfile.ZIP_STORED)
    data = bytearray(path.read_bytes())
    central = data.rfind(b"PK\x01\x02")
    data[central + 24:central + 28] = (10).to_bytes(4, "little")   # uncompressed size in the central directory
    path.write_bytes(bytes(data))
    with pytest.raises(ArchiveError):
        extract_archive(path, tmp_path / "out")


def test_not_a_zip_and_encrypted(tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"this is not a zip file at all")
    with pytest.raises(ArchiveError, match="not a valid zip"):
        inspect_archive(junk)
    encrypted = make_zip(tmp_path / "enc.zip", [("a.txt", b"x")], compression=zipfile.ZIP_STORED)
    data = bytearray(encrypted.read_bytes())   # set the "encrypted" flag bit where zipfile reads it
    central = data.rfind(b"PK\x01\x02")
    data[central + 8] |= 0x1
    data[6] |= 0x1
    encrypted.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match="encrypted"):
        inspect_archive(encrypted)


def test_errors_read_as_messages_with_a_hint(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "slip.zip", [("../x", b"x")])
    with pytest.raises(ArchiveError) as caught:
        inspect_archive(archive)
    assert caught.value.message.startswith("The archive holds a path")
    assert caught.value.hint
