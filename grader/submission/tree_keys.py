"""Finding and removing one key in the trees the grader writes for Compose.

A key of a service may stand in the service's own mapping or in a mapping merged into it
with `<<`; the one that holds it is the one YAML merge keys say wins. Removing a refused
reference (an `env_file` outside the submission, say) must remove it there, or Compose
would still read it.
"""
from __future__ import annotations

from grader.yaml import Mapping, Node, key_text, merge_sources

MAX_MERGE_DEPTH = 20  # merged mappings merging others: deeper than any real file, shallow enough to stop a cycle


def child(node: Node | None, key: str) -> Node | None:
    """The value node of ``key`` in ``node`` itself (merged mappings not looked at)."""
    if not isinstance(node, Mapping):
        return None
    return next((value for k, value in node.items if key_text(k) == key), None)


def holder(node: Mapping, key: str, depth: int = 0) -> Mapping | None:
    """The mapping node that holds the value of ``key`` for ``node``: itself, or the merged
    (`<<`) mapping whose value wins, as YAML merge keys decide."""
    if any(key_text(k) == key for k, _ in node.items):
        return node
    if depth > MAX_MERGE_DEPTH:
        return None
    for source in merge_sources(node):
        found = holder(source, key, depth + 1)
        if found is not None:
            return found
    return None


def value_of(node: Mapping, key: str) -> Node | None:
    """The value node ``key`` has for ``node``, merged keys included."""
    found = holder(node, key)
    return child(found, key) if found is not None else None


def drop_key(node: Mapping, key: str) -> None:
    """Remove ``key`` from what ``node`` means (from the merged mapping that holds it, if merged)."""
    found = holder(node, key)
    if found is not None:
        found.items[:] = [(k, v) for k, v in found.items if key_text(k) != key]
