"""One reading of a student's YAML: safe, with line numbers, the way Docker Compose reads it.

Compose (go-yaml) and the grader must never see two different documents in the same bytes,
so the grader reads each file exactly once, into a tree of nodes built from the parser's
event stream, and later hands Compose a file it *wrote* from that tree (``emit``), never the
student's bytes. The steps, one module each:

* ``grader.yaml_reading``: bounded, non-blocking reading; UTF-8 (with or without a BOM) and
  UTF-16 with a BOM, as go-yaml decodes; characters on which YAML parsers disagree (U+2028,
  U+2029, U+0085 are line breaks for go-yaml only) refused, naming the character, line and column;
* ``grader.yaml_tree``: the tree, built from ruamel's events, refusing alias bombs and deep
  nesting before anything expands, accepting tabs wherever go-yaml does, keeping each scalar's
  text, style and explicit tag (``0777`` is octal for go-yaml and decimal for ruamel: the grader
  never decides which, it passes the plain text on);
* ``grader.yaml_view``: ``typed`` turns a tree into the grader's own view, dicts and lists that
  remember their lines (``key_line``/``item_line``), with scalars resolved as go-yaml resolves them;
* ``grader.yaml_writing``: ``emit``, the file Compose is given.

This module ties them together (``load_documents``, ``parse_yaml``) and is the one to import:
every public name of the four is here too.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import ComposeLoadError
from grader.results import Location
from grader.yaml_reading import (
    DISAGREEING_CHARACTERS,
    MAX_DEPTH,
    MAX_EXPANDED_NODES,
    MAX_FILE_BYTES,
    YamlLimits,
    decode,
    position,
    read_bytes,
    read_text,
    refuse_disagreeing_characters,
)
from grader.yaml_tree import MAX_TAB_REPAIRS, Mapping, Node, Scalar, Sequence, merge_sources, parse_documents
from grader.yaml_view import YamlList, YamlMap, item_line, key_line, key_text, node_line, resolve, typed, value_line
from grader.yaml_writing import emit, emit_with_lines

__all__ = [
    "DISAGREEING_CHARACTERS", "MAX_DEPTH", "MAX_EXPANDED_NODES", "MAX_FILE_BYTES", "MAX_TAB_REPAIRS",
    "LoadedYaml", "Mapping", "Node", "Scalar", "Sequence", "YamlLimits", "YamlList", "YamlMap",
    "decode", "emit", "emit_with_lines", "item_line", "key_line", "key_text", "load_documents", "load_yaml",
    "merge_sources", "node_line", "parse_documents", "parse_yaml", "position", "read_bytes", "read_text",
    "refuse_disagreeing_characters", "resolve", "typed", "value_line",
]


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


def parse_yaml(text: str, display_name: str, limits: YamlLimits = YamlLimits()) -> YamlMap:
    """The first document of ``text`` as the grader's typed view (see ``load_documents`` for all)."""
    return _documents(text, display_name, limits)[0][1]


def _documents(text: str, display_name: str, limits: YamlLimits) -> list[tuple[Mapping, YamlMap]]:
    if not text.strip() or all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()):
        raise _empty_file(display_name)
    parsed = parse_documents(text, display_name, limits)
    trees = [tree for tree in parsed if not (isinstance(tree, Scalar) and tree.plain and tree.value == "")]
    if not trees:
        raise _empty_file(display_name)
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


def _empty_file(display_name: str) -> ComposeLoadError:
    return ComposeLoadError(f"{display_name} is empty.",
                            hint="Write your services in it, starting with a top-level 'services:' key.")


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

