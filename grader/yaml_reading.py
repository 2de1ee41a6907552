"""Reading a student's YAML file as text: bounded, without blocking, decoded as go-yaml decodes it.

The first step of :mod:`grader.yaml`. It reads at most a capped number of bytes of a regular
file, decodes UTF-8 (BOM optional) or UTF-16 by its BOM, and refuses the characters on which
YAML parsers disagree, naming the character, line and column.
"""
from __future__ import annotations

import os
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from grader.errors import ComposeLoadError
from grader.results import Location

MAX_FILE_BYTES = 256 * 1024
MAX_DEPTH = 64
MAX_EXPANDED_NODES = 100_000

# Line breaks for go-yaml (YAML 1.1) but not for ruamel: a key after one is a comment for one
# parser and live for the other, so neither reading can be trusted.
DISAGREEING_CHARACTERS = {
    "\u2028": "LINE SEPARATOR",
    "\u2029": "PARAGRAPH SEPARATOR",
    "\x85": "NEXT LINE (NEL)",
}
# Stands in for a tab inside a plain value while ruamel (which forbids it there) scans the text
# (grader.yaml_tree); a file that holds it already is refused, so the stand-in is never ambiguous.
TAB_STAND_IN = "\ufdd0"


@dataclass(frozen=True)
class YamlLimits:
    """How much of a file the grader reads: its bytes, its nesting, its nodes once aliases expand."""

    max_bytes: int = MAX_FILE_BYTES
    max_depth: int = MAX_DEPTH
    max_expanded_nodes: int = MAX_EXPANDED_NODES


def read_bytes(path: Path, display_name: str, limits: YamlLimits = YamlLimits()) -> bytes:
    """At most ``max_bytes`` of a regular file, opened without blocking (FIFOs, devices and files
    that grow while read cannot hang the grader or exhaust its memory)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise _unreadable(display_name, exc) from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ComposeLoadError(
                f"{display_name} cannot be read: it is {_file_kind(info.st_mode)}, not a regular file.",
                hint="Submit the Compose file itself, as a plain text file.",
            )
        if info.st_size > limits.max_bytes:
            raise _too_big(display_name, f"{info.st_size:,} bytes", limits)
        raw = _read_capped(fd, limits.max_bytes)
    except OSError as exc:
        raise _unreadable(display_name, exc) from exc
    finally:
        os.close(fd)
    if len(raw) > limits.max_bytes:
        raise _too_big(display_name, f"more than {limits.max_bytes:,} bytes", limits)
    return raw


def _unreadable(display_name: str, exc: OSError) -> ComposeLoadError:
    reason = "permission denied" if isinstance(exc, PermissionError) else exc.strerror or exc
    return ComposeLoadError(f"{display_name} cannot be read: {reason}.")


def _read_capped(fd: int, cap: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size <= cap:
        chunk = os.read(fd, min(1 << 16, cap + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def decode(raw: bytes, display_name: str) -> str:
    """Text of a YAML file as go-yaml decodes it: UTF-16 by its BOM, else UTF-8 (BOM optional)."""
    if raw.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        raise ComposeLoadError(f"{display_name} is UTF-32 text, which Docker Compose cannot read.",
                               hint="Save the file with UTF-8 encoding.")
    encoding = "utf-16" if raw.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    if encoding != "utf-16" and b"\x00" in raw:
        raise ComposeLoadError(f"{display_name} is a binary file, not YAML text.",
                               hint="Save the Compose file as plain text (UTF-8) in a code editor.")
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        if encoding == "utf-16":
            raise ComposeLoadError(f"{display_name} starts like UTF-16 text but is not valid UTF-16.",
                                   hint="Save the file with UTF-8 encoding.") from exc
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ComposeLoadError(
            f"{display_name} is not UTF-8 text (invalid byte 0x{raw[exc.start]:02x} at offset {exc.start}, line {line}).",
            location=Location(display_name, line),
            hint="Save the file with UTF-8 encoding (most editors: 'Save with encoding' → UTF-8).",
        ) from exc
    if "\x00" in text:
        raise ComposeLoadError(f"{display_name} is a binary file, not YAML text.",
                               hint="Save the Compose file as plain text (UTF-8) in a code editor.")
    return text.removeprefix("\ufeff")


def read_text(path: Path, display_name: str, limits: YamlLimits = YamlLimits()) -> str:
    return decode(read_bytes(path, display_name, limits), display_name)


def _too_big(display_name: str, shown: str, limits: YamlLimits) -> ComposeLoadError:
    return ComposeLoadError(
        f"{display_name} is {shown}; the grader reads Compose files of at most {limits.max_bytes:,} bytes.",
        hint="A Compose file for this assignment is a few dozen lines. Check that you submitted the right file.",
    )


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def position(text: str, offset: int) -> tuple[int, int]:
    """(line, column), 1-based, of ``offset`` as an editor shows it (\\n, \\r\\n and \\r break lines)."""
    before = text[:offset].replace("\r\n", "\n").replace("\r", "\n")
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


def refuse_disagreeing_characters(text: str, display_name: str) -> None:
    for offset, char in enumerate(text):
        if char in DISAGREEING_CHARACTERS or char == TAB_STAND_IN:
            line, column = position(text, offset)
            name = DISAGREEING_CHARACTERS.get(char) or unicodedata.name(char, "a non-character")
            raise ComposeLoadError(
                f"{display_name} line {line}, column {column} holds the invisible character U+{ord(char):04X} "
                f"({name}). Docker Compose reads it as a line break and other YAML readers do not, so the "
                "grader cannot know what the file means and refuses it.",
                location=Location(display_name, line),
                hint=f"Delete that character (it usually comes from text pasted from a web page or a word "
                     f"processor): retype line {line} in a code editor.",
            )


