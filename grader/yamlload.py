"""Load a student's YAML safely, keeping line numbers.

Compose itself expands YAML aliases without limit and recurses without bound, so the
grader must look at the event stream first: alias bombs and deep nesting are refused
before anything is built from the file, in time and memory bounded by the file size.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    NodeEvent,
)

from grader.errors import ComposeLoadError
from grader.results import Location

MAX_FILE_BYTES = 256 * 1024
MAX_DEPTH = 64
MAX_EXPANDED_NODES = 100_000


@dataclass(frozen=True)
class YamlLimits:
    max_bytes: int = MAX_FILE_BYTES
    max_depth: int = MAX_DEPTH
    max_expanded_nodes: int = MAX_EXPANDED_NODES


@dataclass
class LoadedYaml:
    """A parsed YAML document with its origin; ``data`` keeps ruamel's line information."""

    data: CommentedMap
    path: Path
    display_name: str
    text: str

    def location(self, line: int | None) -> Location | None:
        return Location(self.display_name, line) if line else None


def read_text(path: Path, display_name: str, limits: YamlLimits = YamlLimits()) -> str:
    """Read a text file a student wrote, refusing what is too big, binary or not UTF-8.

    The file is opened without blocking and checked to be a regular file before anything is
    read, and at most ``max_bytes + 1`` bytes are ever read: a name that leads to a FIFO, a
    device such as /dev/zero or a file that grows while it is read cannot hang the grader or
    exhaust its memory.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except PermissionError as exc:
        raise ComposeLoadError(f"{display_name} cannot be read: permission denied.") from exc
    except OSError as exc:
        raise ComposeLoadError(f"{display_name} cannot be read: {exc.strerror or exc}.") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ComposeLoadError(
                f"{display_name} cannot be read: it is {_file_kind(info.st_mode)}, not a regular file.",
                hint="Submit the Compose file itself, as a plain text file.",
            )
        if info.st_size > limits.max_bytes:
            raise _too_big(display_name, f"{info.st_size:,} bytes", limits)
        chunks: list[bytes] = []
        size = 0
        while size <= limits.max_bytes:
            chunk = os.read(fd, min(1 << 16, limits.max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limits.max_bytes:
            raise _too_big(display_name, f"more than {limits.max_bytes:,} bytes", limits)
        raw = b"".join(chunks)
    except PermissionError as exc:
        raise ComposeLoadError(f"{display_name} cannot be read: permission denied.") from exc
    except OSError as exc:
        raise ComposeLoadError(f"{display_name} cannot be read: {exc.strerror or exc}.") from exc
    finally:
        os.close(fd)
    if b"\x00" in raw:
        raise ComposeLoadError(
            f"{display_name} is a binary file, not YAML text.",
            hint="Save the Compose file as plain text (UTF-8) in a code editor.",
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ComposeLoadError(
            f"{display_name} is not UTF-8 text (invalid byte 0x{raw[exc.start]:02x} at offset {exc.start}, line {line}).",
            location=Location(display_name, line),
            hint="Save the file with UTF-8 encoding (most editors: 'Save with encoding' → UTF-8).",
        ) from exc


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


def _check_structure(text: str, display_name: str, limits: YamlLimits) -> None:
    """Walk the event stream and refuse alias bombs and deep nesting before composing nodes.

    Each node's expanded size (counting what aliases would expand to) is tracked per anchor,
    so a billion-laughs file is refused after reading a few events, without expanding anything.
    ``total`` counts every node of the expanded document once.
    """
    anchor_sizes: dict[str, int] = {}
    stack: list[list[Any]] = []  # [anchor, expanded size of the collection so far, itself included]
    total = 0
    aliases = False
    yaml = YAML(typ="safe", pure=True)
    try:
        for event in yaml.parse(text):
            if isinstance(event, AliasEvent):
                aliases = True
                size = anchor_sizes.get(event.anchor, 1)
                total += size
            elif isinstance(event, CollectionStartEvent):
                stack.append([event.anchor, 1])
                if len(stack) > limits.max_depth:
                    line = event.start_mark.line + 1
                    raise ComposeLoadError(
                        f"{display_name} nests deeper than {limits.max_depth} levels.",
                        location=Location(display_name, line),
                        hint="Compose files need only a few levels of nesting; check the indentation.",
                    )
                continue
            elif isinstance(event, CollectionEndEvent):
                anchor, size = stack.pop()
                if anchor:
                    anchor_sizes[anchor] = size
                total += 1  # the collection itself: its items were counted as they came
            elif isinstance(event, NodeEvent):  # scalar
                size = 1
                total += 1
                if event.anchor:
                    anchor_sizes[event.anchor] = 1
            else:
                continue
            if stack:
                stack[-1][1] += size
            if total > limits.max_expanded_nodes or (stack and stack[-1][1] > limits.max_expanded_nodes):
                line = event.start_mark.line + 1
                if aliases:
                    message = (f"{display_name} expands to more than {limits.max_expanded_nodes:,} YAML nodes through "
                               "aliases (an 'alias bomb'); the grader refuses it.")
                    hint = "Use YAML anchors (&name) and aliases (*name) sparingly, or write the values out."
                else:
                    message = f"{display_name} holds more than {limits.max_expanded_nodes:,} YAML values; the grader refuses it."
                    hint = "A Compose file for this assignment holds a few dozen values. Check that you submitted the right file."
                raise ComposeLoadError(message, location=Location(display_name, line), hint=hint)
    except MarkedYAMLError as exc:
        raise _syntax_error(exc, display_name) from exc
    except YAMLError as exc:
        raise ComposeLoadError(f"{display_name} is not valid YAML: {exc}") from exc


def _syntax_error(exc: MarkedYAMLError, display_name: str) -> ComposeLoadError:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    problem = exc.problem or str(exc).splitlines()[0]
    if exc.context and exc.context not in problem:
        problem = f"{exc.context}: {problem}"
    hint = "Fix the YAML syntax at that line: indent with spaces (never tabs), and align keys at the same level."
    if "\\t" in problem or "\t" in problem or "tab" in problem.lower():
        hint = "YAML does not allow tab characters for indentation: replace tabs with spaces."
        problem = "a tab character is used for indentation, which YAML does not allow"
    return ComposeLoadError(
        f"{display_name} is not valid YAML: {problem}" + (f" (line {line})" if line else ""),
        location=Location(display_name, line) if line else None,
        hint=hint,
    )


def parse_yaml(text: str, display_name: str, limits: YamlLimits = YamlLimits()) -> CommentedMap:
    """Parse text into a mapping with line numbers, or raise ComposeLoadError saying why not."""
    if not text.strip() or all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()):
        raise ComposeLoadError(
            f"{display_name} is empty.",
            hint="Write your services in it, starting with a top-level 'services:' key.",
        )
    _check_structure(text, display_name, limits)
    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        data = yaml.load(text)
    except DuplicateKeyError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        key = _duplicate_key_name(exc)
        raise ComposeLoadError(
            f"{display_name} defines the key {key} twice in the same mapping" + (f" (line {line})" if line else "") + ".",
            location=Location(display_name, line) if line else None,
            hint="Each key may appear once per mapping: merge the two entries into one.",
        ) from exc
    except MarkedYAMLError as exc:
        raise _syntax_error(exc, display_name) from exc
    except (YAMLError, RecursionError, ValueError) as exc:
        raise ComposeLoadError(f"{display_name} is not valid YAML: {exc}") from exc
    except (KeyError, IndexError, AttributeError, TypeError) as exc:
        # ruamel itself trips over some explicit tags (`!!bool 1`, an empty `!!int`, `!!set` on a scalar)
        raise ComposeLoadError(
            f"{display_name} is not valid YAML: a value with an explicit tag (!!...) cannot be read.",
            hint="Remove the `!!type` tags: Compose files do not need them.",
        ) from exc
    if not isinstance(data, CommentedMap):
        kind = "a list" if isinstance(data, CommentedSeq) else "a single value" if data is not None else "empty"
        raise ComposeLoadError(
            f"{display_name} must be a mapping at the top level (with a 'services:' key), but it is {kind}.",
            location=Location(display_name, 1),
            hint="Start the file with 'services:' at column 0, then indent each service under it.",
        )
    return data


def _duplicate_key_name(exc: DuplicateKeyError) -> str:
    for line in str(exc).splitlines():
        if 'found duplicate key "' in line:
            return '"' + line.split('found duplicate key "', 1)[1].split('"', 1)[0] + '"'
    return "a key"


def load_yaml(path: Path, display_name: str, limits: YamlLimits = YamlLimits()) -> LoadedYaml:
    text = read_text(path, display_name, limits)
    return LoadedYaml(data=parse_yaml(text, display_name, limits), path=path, display_name=display_name, text=text)


def key_line(mapping: Any, key: Any) -> int | None:
    """1-based line of ``key`` in a ruamel mapping, or None when unknown."""
    try:
        return mapping.lc.key(key)[0] + 1
    except (AttributeError, KeyError, TypeError):
        return None


def value_line(mapping: Any, key: Any) -> int | None:
    """1-based line where the value of ``key`` starts (useful for long-form blocks)."""
    try:
        return mapping.lc.value(key)[0] + 1
    except (AttributeError, KeyError, TypeError):
        return None


def item_line(sequence: Any, index: int) -> int | None:
    """1-based line of item ``index`` of a ruamel sequence."""
    try:
        return sequence.lc.item(index)[0] + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return None


def node_line(node: Any) -> int | None:
    """1-based line where a ruamel collection node starts."""
    try:
        return node.lc.line + 1
    except AttributeError:
        return None
