"""A student's YAML text as trees of nodes, built from the parser's event stream.

The second step of :mod:`grader.yaml`. ruamel parses; the grader builds its own nodes from the
events, so that it

* refuses alias bombs and deep nesting while it walks the events, before anything expands;
* accepts tabs wherever go-yaml does (as in-line white space, not for indentation), although
  ruamel's scanner is stricter;
* keeps each scalar's text, style and explicit tag, never a resolved type: ``grader.yaml_writing``
  hands go-yaml the plain text, and ``grader.yaml_view`` resolves it the way go-yaml does.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
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
from grader.yaml_reading import TAB_STAND_IN, YamlLimits, refuse_disagreeing_characters

MAX_TAB_REPAIRS = 500
CORE_TAG = "tag:yaml.org,2002:"  # the prefix of YAML's own tags (`!!str` is CORE_TAG + "str")

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


def merge_sources(node: Mapping) -> list[Mapping]:
    """The mappings the YAML merge keys (`<<`) of ``node`` merge in, in the order they are named."""
    sources: list[Mapping] = []
    for key, value in node.items:
        if isinstance(key, Scalar) and key.plain and key.value == "<<":
            sources += [value] if isinstance(value, Mapping) else \
                [item for item in getattr(value, "items", []) if isinstance(item, Mapping)]
    return sources


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
    replacement = run.replace("\t", " ") if separator else run.replace("\t", TAB_STAND_IN)
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
            scalar = Scalar(event.value.replace(TAB_STAND_IN, "\t"), event.style, _explicit_tag(event.tag), line, column)
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

