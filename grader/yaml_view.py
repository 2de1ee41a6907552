"""The grader's own view of a YAML tree: dicts and lists that remember their lines, with scalars
resolved as go-yaml (yaml.v3) resolves them.

The third step of :mod:`grader.yaml`. Checks and policy rules read this view; Compose never
does (it is given what ``grader.yaml_writing`` writes from the tree itself).
"""
from __future__ import annotations

import re
from typing import Any

from grader.errors import ComposeLoadError
from grader.results import Location
from grader.yaml_tree import CORE_TAG, Mapping, Node, Scalar, Sequence, merge_sources


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


# go-yaml's resolution of plain scalars (yaml.v3 resolve.go), for the grader's own view ----------

_NULLS = {"", "~", "null", "Null", "NULL"}
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_SPECIAL_FLOATS = {".inf": float("inf"), ".Inf": float("inf"), ".INF": float("inf"),
                   "+.inf": float("inf"), "+.Inf": float("inf"), "+.INF": float("inf"),
                   "-.inf": float("-inf"), "-.Inf": float("-inf"), "-.INF": float("-inf"),
                   ".nan": float("nan"), ".NaN": float("nan"), ".NAN": float("nan")}


def _go_int(text: str) -> int | None:
    """Go's strconv.ParseInt(text, 0, 64), then ParseUint, after yaml.v3 removed underscores: 0x, 0o,
    0b, and a leading 0 for octal."""
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
    if -(2 ** 63) <= value < 2 ** 63:
        return value
    # beyond int64, yaml.v3 tries strconv.ParseUint, which takes no sign: 2**63 … 2**64-1 stay integers
    return value if not sign and value < 2 ** 64 else None


def resolve(scalar: Scalar) -> Any:
    """The value go-yaml gives a scalar: None, bool, int, float or str (timestamps stay text)."""
    tag = scalar.tag
    if tag == CORE_TAG + "str" or (scalar.style is not None and tag is None):
        return scalar.value
    text = scalar.value
    if tag is not None and not tag.startswith(CORE_TAG):
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
        return _typed_sequence(node, display_name)
    return _typed_mapping(node, display_name)


def _typed_sequence(node: Sequence, display_name: str) -> YamlList:
    result = YamlList(node.line)
    for item in node.items:
        result.append(typed(item, display_name))
        result.item_lines.append(item.line)
    return result


def _typed_mapping(node: Mapping, display_name: str) -> YamlMap:
    result = YamlMap(node.line)
    for key_node, value_node in node.items:
        if isinstance(key_node, Scalar) and key_node.plain and key_node.value == "<<":
            continue  # merged below, after the explicit keys
        key = key_text(key_node)
        if key in result:
            raise ComposeLoadError(
                f"{display_name} defines the key \"{key}\" twice in the same mapping (line {key_node.line}).",
                location=Location(display_name, key_node.line) if display_name else None,
                hint="Each key may appear once per mapping: merge the two entries into one.")
        result[key] = typed(value_node, display_name)
        result.key_lines[key] = key_node.line
        result.value_lines[key] = value_node.line
    for source in merge_sources(node):
        view = _typed_mapping(source, display_name)
        for key, value in view.items():
            if key not in result:
                result[key] = value
                result.key_lines[key] = view.key_lines.get(key, source.line)
                result.value_lines[key] = view.value_lines.get(key, source.line)
    return result


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

