"""Writing what Compose reads: the grader's trees as flow YAML, with the student's line for each
written line.

The last step of :mod:`grader.yaml`. Compose (go-yaml) is given a file the grader wrote from
its own reading, never the student's bytes, so the two can never see different documents.
"""
from __future__ import annotations

import re

from grader.yaml_tree import CORE_TAG, Mapping, Node, Scalar

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
    if tag.startswith(CORE_TAG):
        return "!!" + tag[len(CORE_TAG):]
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
        entries: list[tuple[Node, Node | None]] = (list(node.items) if isinstance(node, Mapping)
                                                   else [(item, None) for item in node.items])
        for index, (first, value) in enumerate(entries):
            self.text("  " * (indent + 1), first.line)
            self.node(first, indent + 1)
            if value is not None:  # a mapping's entry: its key, then its value
                self.text(": ", first.line)
                self.node(value, indent + 1)
            self.text(",\n" if index < len(entries) - 1 else "\n", self.current)
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
