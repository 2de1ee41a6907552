"""One reading of a student's YAML: safe, with line numbers, the way Docker Compose reads it.

Compose (go-yaml) and the grader must never see two different documents in the same bytes,
so the grader reads each file exactly once, into a tree of nodes built from the parser's
event stream, and later hands Compose a file it *wrote* from that tree (``emit``), never the
student's bytes. The reading:

* decodes UTF-8 (with or without a BOM) and UTF-16 with a BOM, as go-yaml does;
* refuses characters on which YAML parsers disagree (U+2028, U+2029, U+0085 are line breaks
  for go-yaml only), naming the character, line and column;
* accepts tabs wherever go-yaml does (as in-line white space, not for indentation), although
  ruamel's scanner is stricter;
* refuses alias bombs and deep nesting while it walks the events, before anything expands;
* keeps each scalar's text, style and explicit tag, so ``emit`` gives go-yaml the same types it
  would have read (``0777`` is octal for go-yaml and decimal for ruamel: the grader never
  decides which, it passes the plain text on).

``typed`` turns a tree into the grader's own view: dicts and lists that remember their lines
(``key_line``/``item_line``), with scalars resolved as go-yaml resolves them.
"""
from __future__ import annotations

import os
import re
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

from grader.errors import ComposeLoadError
from grader.results import Location

MAX_FILE_BYTES = 256 * 1024
MAX_DEPTH = 64
MAX_EXPANDED_NODES = 100_000
MAX_TAB_REPAIRS = 500

# Line breaks for go-yaml (YAML 1.1) but not for ruamel: a key after one is a comment for one
# parser and live for the other, so neither reading can be trusted.
DISAGREEING_CHARACTERS = {
    "\u2028": "LINE SEPARATOR",
    "\u2029": "PARAGRAPH SEPARATOR",
    "\x85": "NEXT LINE (NEL)",
}
# Stands in for a tab inside a plain value while ruamel (which forbids it there) scans the text.
_TAB_STAND_IN = "\ufdd0"


@dataclass(frozen=True)
class YamlLimits:
    max_bytes: int = MAX_FILE_BYTES
    max_depth: int = MAX_DEPTH
    max_expanded_nodes: int = MAX_EXPANDED_NODES


# The tree -----------------------------------------------------------------------------------


@dataclass(eq=False)
class Scalar:
    value: str
    style: str | None          # None: plain; "'", '"', "|", ">" otherwise
    tag: str | None            # an explicit tag (`!!str`, `!reset`), never a resolved one
    line: int
    column: int

    @property
    def plain(self) -> bool:
        return self.style is None and self.tag is None


@dataclass(eq=False)
class Mapping:
    items: list[tuple[Node, Node]]
    tag: str | None
    line: int
    column: int


@dataclass(eq=False)
class Sequence:
    items: list[Node]
    tag: str | None
    line: int
    column: int


Node = Union[Scalar, Mapping, Sequence]


# The grader's typed view ----------------------------------------------------------------------


class YamlMap(dict):
    """A mapping that remembers where it is and where each of its keys is (1-based lines)."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[Any, int] = {}
        self.value_lines: dict[Any, int] = {}


class YamlList(list):
    """A sequence that remembers where it is and where each item is (1-based lines)."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []


@dataclass
class LoadedYaml:
    """One YAML document of a student's file, as the grader read it.

    ``data`` is the typed view (lines kept); ``node`` the tree ``emit`` writes for Compose.
    A file with several documents gives one LoadedYaml per document, in order.
    """

    data: YamlMap
    path: Path
    display_name: str
    text: str
    node: Mapping | None = None
    index: int = 0                     # which document of the file
    nodes: list[Node] = field(default_factory=list)  # every document of the file (same list for each)

    def location(self, line: int | None) -> Location | None:
        return Location(self.display_name, line) if line else None


# Reading bytes --------------------------------------------------------------------------------


def read_bytes(path: Path, display_name: str, limits: YamlLimits = YamlLimits()) -> bytes:
    """At most ``max_bytes`` of a regular file, opened without blocking (FIFOs, devices and files
    that grow while read cannot hang the grader or exhaust its memory)."""
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
        raw = _read_capped(fd, limits.max_bytes)
    except PermissionError as exc:
        raise ComposeLoadError(f"{display_name} cannot be read: permission denied.") from exc
    except OSError as exc:
        raise ComposeLoadError(f"{display_name} cannot be read: {exc.strerror or exc}.") from exc
    finally:
        os.close(fd)
    if len(raw) > limits.max_bytes:
        raise _too_big(display_name, f"more than {limits.max_bytes:,} bytes", limits)
    return raw


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
        if char in DISAGREEING_CHARACTERS or char == _TAB_STAND_IN:
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


# Parsing --------------------------------------------------------------------------------------


def parse_documents(text: str, display_name: str, limits: YamlLimits = YamlLimits()) -> list[Node]:
    """Every document of ``text`` as a tree, or ComposeLoadError saying why not."""
    refuse_disagreeing_characters(text, display_name)
    scanned = text
    for _ in range(MAX_TAB_REPAIRS + 1):
        try:
            return _TreeBuilder(scanned, display_name, limits).build()
        except MarkedYAMLError as exc:
            repaired = _repair_tab(scanned, exc)
            if repaired is None:
                raise _syntax_error(exc, text, display_name) from exc
            scanned = repaired
        except YAMLError as exc:
            raise ComposeLoadError(f"{display_name} is not valid YAML: {exc}") from exc
    raise ComposeLoadError(f"{display_name} holds more than {MAX_TAB_REPAIRS} tab characters between values.",
                           hint="Replace the tab characters with spaces.")


def _repair_tab(text: str, exc: MarkedYAMLError) -> str | None:
    """The text with the tab ruamel stopped at made readable, when go-yaml reads that tab as white
    space (a separator: after `key:`, before a comment) or as part of a plain value; None when
    go-yaml rejects it too (indentation, right after a `-` entry)."""
    mark = exc.problem_mark
    if mark is None or "\\t" not in str(exc.problem or "") and "\t" not in str(exc.problem or ""):
        return None
    index = mark.index
    if index >= len(text) or text[index] != "\t":
        return None
    start = text.rfind("\n", 0, index) + 1
    before = text[start:index]
    if not before.strip(" \t") or re.fullmatch(r"[ \t]*(?:-[ \t]+)*[-?][ \t]*", before):
        return None
    end = index
    while end < len(text) and text[end] in " \t":
        end += 1
    after = text[end] if end < len(text) else "\n"
    word = before.rstrip(" \t").split()[-1]
    separator = (after in "#\r\n" or text.startswith((": ", ":\t", ":\n", ":\r"), end) or after == ":" and end + 1 == len(text)
                 or word[0] in "&!*|>'\"" or word.endswith((":", ",", "[", "{")) or before.endswith(" "))
    run = text[index:end]
    replacement = run.replace("\t", " ") if separator else run.replace("\t", _TAB_STAND_IN)
    return text[:index] + replacement + text[end:]


@dataclass(eq=False)
class _Frame:
    node: Mapping | Sequence
    anchor: str | None
    size: int = 1                    # expanded size, the collection itself included
    key: Node | None = None          # a mapping's key waiting for its value


class _TreeBuilder:
    """Builds trees from ruamel's event stream, refusing alias bombs and deep nesting as it goes.

    Each anchored node's expanded size is remembered, so an alias costs its expanded size and a
    billion-laughs file is refused after a few events, without expanding anything. ``total``
    counts every node of the expanded documents once.
    """

    def __init__(self, text: str, display_name: str, limits: YamlLimits) -> None:
        self.text = text
        self.display_name = display_name
        self.limits = limits
        self.anchors: dict[str, tuple[Node, int]] = {}
        self.open_anchors: set[str] = set()
        self.total = 0
        self.aliases = False
        self.frames: list[_Frame] = []

    def build(self) -> list[Node]:
        documents: list[Node] = []
        for event in YAML(typ="safe", pure=True).parse(self.text):
            if isinstance(event, DocumentStartEvent):
                self.anchors.clear()  # anchors do not cross documents
                documents.append(Scalar("", None, None, event.start_mark.line + 1, 1))
                continue
            if isinstance(event, DocumentEndEvent):
                continue
            finished = self._event(event)
            if finished is None:
                continue
            node, size = finished
            if self.frames:
                self._add(node, size, event.start_mark.line + 1)
            elif documents:
                documents[-1] = node
        return documents

    def _event(self, event: Any) -> tuple[Node, int] | None:
        line, column = event.start_mark.line + 1, event.start_mark.column + 1
        if isinstance(event, AliasEvent):
            return self._alias(event.anchor, line)
        if isinstance(event, ScalarEvent):
            scalar = Scalar(event.value.replace(_TAB_STAND_IN, "\t"), event.style, _explicit_tag(event.tag), line, column)
            self._count(1, line)
            if event.anchor:
                self.anchors[event.anchor] = (scalar, 1)
            return scalar, 1
        if isinstance(event, (MappingStartEvent, SequenceStartEvent)):
            tag = _explicit_tag(event.tag)
            node: Mapping | Sequence = Mapping([], tag, line, column) if isinstance(event, MappingStartEvent) \
                else Sequence([], tag, line, column)
            self.frames.append(_Frame(node, event.anchor))
            if event.anchor:
                self.open_anchors.add(event.anchor)
            if len(self.frames) > self.limits.max_depth:
                raise ComposeLoadError(
                    f"{self.display_name} nests deeper than {self.limits.max_depth} levels.",
                    location=Location(self.display_name, line),
                    hint="Compose files need only a few levels of nesting; check the indentation.")
            return None
        if isinstance(event, (MappingEndEvent, SequenceEndEvent)):
            frame = self.frames.pop()
            self._count(1, line)
            if frame.anchor:
                self.open_anchors.discard(frame.anchor)
                self.anchors[frame.anchor] = (frame.node, frame.size)
            return frame.node, frame.size
        return None

    def _alias(self, anchor: str, line: int) -> tuple[Node, int]:
        self.aliases = True
        if anchor in self.open_anchors:
            raise ComposeLoadError(f"{self.display_name} line {line}: the alias *{anchor} refers to a value that "
                                   "contains it (a recursive alias).", location=Location(self.display_name, line),
                                   hint="Aliases may refer only to a value defined completely before them.")
        if anchor not in self.anchors:
            raise ComposeLoadError(f"{self.display_name} line {line}: the alias *{anchor} refers to no anchor "
                                   f"&{anchor} defined before it.", location=Location(self.display_name, line),
                                   hint=f"Define `&{anchor}` on a value above this line, or remove the alias.")
        node, size = self.anchors[anchor]
        self._count(size, line)
        return node, size

    def _add(self, node: Node, size: int, line: int) -> None:
        frame = self.frames[-1]
        if isinstance(frame.node, Mapping):
            if frame.key is None:
                frame.key = node
            else:
                frame.node.items.append((frame.key, node))
                frame.key = None
        else:
            frame.node.items.append(node)
        frame.size += size
        if frame.size > self.limits.max_expanded_nodes:
            self._refuse_at(line)

    def _count(self, size: int, line: int) -> None:
        self.total += size
        if self.total > self.limits.max_expanded_nodes:
            self._refuse_at(line)

    def _refuse_at(self, line: int) -> None:
        limit = self.limits.max_expanded_nodes
        if self.aliases:
            message = (f"{self.display_name} expands to more than {limit:,} YAML nodes through aliases "
                       "(an 'alias bomb'); the grader refuses it.")
            hint = "Use YAML anchors (&name) and aliases (*name) sparingly, or write the values out."
        else:
            message = f"{self.display_name} holds more than {limit:,} YAML values; the grader refuses it."
            hint = "A Compose file for this assignment holds a few dozen values. Check that you submitted the right file."
        raise ComposeLoadError(message, location=Location(self.display_name, line), hint=hint)


_CORE_TAG = "tag:yaml.org,2002:"


def _explicit_tag(tag: str | None) -> str | None:
    """An explicit tag as written (`!reset`, `tag:yaml.org,2002:str`); None for none (or a bare `!`)."""
    return None if tag in (None, "!") else tag


def _syntax_error(exc: MarkedYAMLError, text: str, display_name: str) -> ComposeLoadError:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    problem = exc.problem or str(exc).splitlines()[0]
    if exc.context and exc.context not in problem:
        problem = f"{exc.context}: {problem}"
    hint = "Fix the YAML syntax at that line: indent with spaces (never tabs), and align keys at the same level."
    if "\t" in problem or "\\t" in problem or "tab" in problem.lower():
        hint = "YAML does not allow tab characters for indentation (nor right after a `-`): replace them with spaces."
        problem = "a tab character is used for indentation, which YAML does not allow"
    return ComposeLoadError(
        f"{display_name} is not valid YAML: {problem}" + (f" (line {line})" if line else ""),
        location=Location(display_name, line) if line else None,
        hint=hint,
    )


# go-yaml's resolution of plain scalars (yaml.v3 resolve.go), for the grader's own view ----------

_NULLS = {"", "~", "null", "Null", "NULL"}
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_SPECIAL_FLOATS = {".inf": float("inf"), ".Inf": float("inf"), ".INF": float("inf"),
                   "+.inf": float("inf"), "+.Inf": float("inf"), "+.INF": float("inf"),
                   "-.inf": float("-inf"), "-.Inf": float("-inf"), "-.INF": float("-inf"),
                   ".nan": float("nan"), ".NaN": float("nan"), ".NAN": float("nan")}


def _go_int(text: str) -> int | None:
    """Go's strconv.ParseInt(text, 0, 64) after yaml.v3 removed underscores: 0x, 0o, 0b, and a
    leading 0 for octal."""
    plain = text.replace("_", "")
    sign, digits = (plain[0], plain[1:]) if plain[:1] in "+-" else ("", plain)
    bases = (("0x", 16), ("0X", 16), ("0o", 8), ("0O", 8), ("0b", 2), ("0B", 2))
    base = next((b for prefix, b in bases if digits.startswith(prefix)), None)
    try:
        if base is not None:
            value = int(digits[2:], base)
        elif len(digits) > 1 and digits.startswith("0"):
            value = int(digits[1:], 8)
        else:
            if not digits.isdigit():
                return None
            value = int(digits)
    except ValueError:
        return None
    value = -value if sign == "-" else value
    return value if -(2 ** 63) <= value < 2 ** 63 else None


def resolve(scalar: Scalar) -> Any:
    """The value go-yaml gives a scalar: None, bool, int, float or str (timestamps stay text)."""
    tag = scalar.tag
    if tag == _CORE_TAG + "str" or (scalar.style is not None and tag is None):
        return scalar.value
    text = scalar.value
    if tag is not None and not tag.startswith(_CORE_TAG):
        return text  # a custom tag (`!reset`): its value as written
    if text in _NULLS:
        return None
    if text in _BOOLS:
        return _BOOLS[text]
    if text[:1] in "+-0123456789" and (number := _go_int(text)) is not None:
        return number
    if text in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[text]
    if _FLOAT.match(text.replace("_", "")):
        return float(text.replace("_", ""))
    return text


def key_text(node: Node) -> Any:
    """A mapping key as the grader's view names it: the resolved scalar, else its kind."""
    if isinstance(node, Scalar):
        value = resolve(node)
        return value if isinstance(value, str) else node.value
    return f"<{type(node).__name__.lower()}>"


def typed(node: Node, display_name: str = "") -> Any:
    """The grader's own view of a tree: YamlMap/YamlList with lines, go-yaml's scalar types, YAML
    merge keys applied (explicit keys win, then earlier merged mappings)."""
    if isinstance(node, Scalar):
        return resolve(node)
    if isinstance(node, Sequence):
        result = YamlList(node.line)
        for item in node.items:
            result.append(typed(item, display_name))
            result.item_lines.append(item.line)
        return result
    result = YamlMap(node.line)
    merged: list[Mapping] = []
    for key_node, value_node in node.items:
        if isinstance(key_node, Scalar) and key_node.plain and key_node.value == "<<":
            merged += [value_node] if isinstance(value_node, Mapping) else \
                [item for item in getattr(value_node, "items", []) if isinstance(item, Mapping)]
            continue
        key = key_text(key_node)
        if key in result:
            raise ComposeLoadError(
                f"{display_name} defines the key \"{key}\" twice in the same mapping (line {key_node.line}).",
                location=Location(display_name, key_node.line) if display_name else None,
                hint="Each key may appear once per mapping: merge the two entries into one.")
        result[key] = typed(value_node, display_name)
        result.key_lines[key] = key_node.line
        result.value_lines[key] = value_node.line
    for source in merged:
        view = typed(source, display_name)
        for key, value in view.items():
            if key not in result:
                result[key] = value
                result.key_lines[key] = view.key_lines.get(key, source.line)
                result.value_lines[key] = view.value_lines.get(key, source.line)
    return result


def parse_yaml(text: str, display_name: str, limits: YamlLimits = YamlLimits()) -> YamlMap:
    """The first document of ``text`` as the grader's typed view (see ``load_documents`` for all)."""
    return _documents(text, display_name, limits)[0][1]


def _documents(text: str, display_name: str, limits: YamlLimits) -> list[tuple[Mapping, YamlMap]]:
    if not text.strip() or all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()):
        raise ComposeLoadError(f"{display_name} is empty.",
                               hint="Write your services in it, starting with a top-level 'services:' key.")
    parsed = parse_documents(text, display_name, limits)
    trees = [tree for tree in parsed if not (isinstance(tree, Scalar) and tree.plain and tree.value == "")]
    if not trees:
        raise ComposeLoadError(f"{display_name} is empty.",
                               hint="Write your services in it, starting with a top-level 'services:' key.")
    if len(trees) < len(parsed):  # Compose refuses an empty document next to others
        empty = next(tree for tree in parsed if tree not in trees)
        raise ComposeLoadError(
            f"{display_name} holds an empty YAML document (a `---` with nothing after it, line {empty.line}); "
            "Compose needs every document of the file to be a mapping.",
            location=Location(display_name, empty.line), hint="Delete the extra `---` line.")
    result = []
    for tree in trees:
        if not isinstance(tree, Mapping):
            kind = "a list" if isinstance(tree, Sequence) else "a single value"
            raise ComposeLoadError(
                f"{display_name} must be a mapping at the top level (with a 'services:' key), but it is {kind}.",
                location=Location(display_name, tree.line),
                hint="Start the file with 'services:' at column 0, then indent each service under it.")
        result.append((tree, typed(tree, display_name)))
    return result


def load_documents(path: Path, display_name: str, limits: YamlLimits = YamlLimits()) -> list[LoadedYaml]:
    """Every document of a file (Compose merges them in order), each with its tree and view."""
    text = read_text(path, display_name, limits)
    parsed = _documents(text, display_name, limits)
    nodes: list[Node] = [tree for tree, _ in parsed]
    return [LoadedYaml(data=view, path=path, display_name=display_name, text=text, node=tree, index=i, nodes=nodes)
            for i, (tree, view) in enumerate(parsed)]


def load_yaml(path: Path, display_name: str, limits: YamlLimits = YamlLimits()) -> LoadedYaml:
    """The first document of a file (rubrics and other single-document files)."""
    return load_documents(path, display_name, limits)[0]


# Lines ----------------------------------------------------------------------------------------


def key_line(mapping: Any, key: Any) -> int | None:
    """1-based line of ``key`` in a mapping the grader read, or None when unknown."""
    lines = getattr(mapping, "key_lines", None)
    return lines.get(key) if isinstance(lines, dict) else None


def value_line(mapping: Any, key: Any) -> int | None:
    """1-based line where the value of ``key`` starts (useful for long-form blocks)."""
    lines = getattr(mapping, "value_lines", None)
    return lines.get(key) if isinstance(lines, dict) else None


def item_line(sequence: Any, index: int) -> int | None:
    """1-based line of item ``index`` of a sequence the grader read."""
    lines = getattr(sequence, "item_lines", None)
    return lines[index] if isinstance(lines, list) and 0 <= index < len(lines) else None


def node_line(node: Any) -> int | None:
    """1-based line where a mapping or sequence the grader read starts."""
    line = getattr(node, "line", None)
    return line if isinstance(line, int) else None


# Writing what Compose reads -------------------------------------------------------------------

_FLOW_UNSAFE = re.compile(r"[\s,\[\]{}#&*!|>'\"%@`:]|^[-?](?:$|[\s,\[\]{}])|[\x00-\x1f\x7f-\x9f]")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}$")


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar: every character go-yaml might not take literally is escaped."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif code < 0x20 or 0x7F <= code <= 0x9F or char in "\u2028\u2029\ufeff" or 0xD800 <= code <= 0xDFFF \
                or code in (0xFFFE, 0xFFFF):
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _tag_text(tag: str) -> str:
    if tag.startswith(_CORE_TAG):
        return "!!" + tag[len(_CORE_TAG):]
    if tag.startswith("!") and re.fullmatch(r"![\w.-]*", tag):
        return tag
    return f"!<{tag}>"


def _scalar_text(scalar: Scalar) -> str:
    """A plain scalar stays plain (go-yaml then types it as it would have); anything that could
    not be plain inside a flow collection was a string anyway, and is written quoted."""
    if scalar.style is None and (not _FLOW_UNSAFE.search(scalar.value) or _DATE.match(scalar.value)):
        text = scalar.value if scalar.value else ("" if scalar.tag else "null")
    else:
        text = _quoted(scalar.value)
    return f"{_tag_text(scalar.tag)} {text}".rstrip() if scalar.tag else text


class _Writer:
    """Writes trees as flow YAML, remembering for each line it writes the source line it came from
    (so that an error Compose reports at a line of the written file points at the student's)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.lines: list[int] = []      # source line of each written line
        self.current = 1

    def text(self, text: str, source: int) -> None:
        if not self.parts or self.parts[-1].endswith("\n"):
            self.lines.append(source)
        self.parts.append(text)
        self.current = source

    def node(self, node: Node, indent: int) -> None:
        if isinstance(node, Scalar):
            self.text(_scalar_text(node), node.line)
            return
        prefix = _tag_text(node.tag) + " " if node.tag else ""
        opening, closing = ("{", "}") if isinstance(node, Mapping) else ("[", "]")
        if not node.items:
            self.text(prefix + opening + closing, node.line)
            return
        self.text(prefix + opening + "\n", node.line)
        for position_, item in enumerate(node.items):
            first = item[0] if isinstance(node, Mapping) else item
            self.text("  " * (indent + 1), first.line)  # type: ignore[union-attr]
            if isinstance(node, Mapping):
                key, value = item  # type: ignore[misc]
                self.node(key, indent + 1)
                self.text(": ", key.line)
                self.node(value, indent + 1)
            else:
                self.node(item, indent + 1)  # type: ignore[arg-type]
            self.text(",\n" if position_ < len(node.items) - 1 else "\n", self.current)
        self.text("  " * indent + closing, self.current)


def emit_with_lines(documents: list[Node]) -> tuple[str, list[int]]:
    """The YAML the grader hands Compose, and the student's line for each line of it."""
    writer = _Writer()
    for index, document in enumerate(documents):
        if index:
            writer.text("---\n", document.line)
        writer.node(document, 0)
        writer.text("\n", writer.current)
    return "".join(writer.parts), writer.lines


def emit(documents: list[Node]) -> str:
    """The YAML the grader hands Compose: each document as a flow collection, aliases expanded,
    explicit tags kept (`!reset`, `!override`), nothing the grader did not read."""
    return emit_with_lines(documents)[0]
