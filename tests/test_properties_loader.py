"""Property tests: whatever a student hands in, the loader answers with data or a ComposeLoadError."""
from __future__ import annotations

import io
import math
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from grader.errors import ComposeLoadError
from grader.yaml import MAX_DEPTH, YamlLimits, YamlMap, parse_yaml, read_text

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Pieces of YAML syntax, so random text is often almost-YAML rather than one long plain scalar.
SYNTAX = [
    "services:", "redis:", "image:", "ports:", "  ", "    ", "\n", "\r\n", "\t", "- ", "-", ":", ": ", "? ",
    "[", "]", "{", "}", ",", "'", '"', "#", "|", ">", "&a ", "*a", "&b ", "*b", "<<: ", "---\n", "...\n",
    "%YAML 1.2\n", "%TAG !e! tag:example.com,2000:\n", "!e!x ", "!local ", "!<tag:yaml.org,2002:str> ",
    "~", "null", "true", "yes", "0x1F", "0o17", "1_000", "1e3", ".inf", ".nan", "2001-12-14t21:59:43.10-05:00",
    "6379:6379", "redis:alpine", "\ufeff", "\x85", "\u2028", "\x00", "\x07", "é", "\\", "@", "`", "%",
]
# Explicit core tags once made ruamel crash with plain KeyError/IndexError/AttributeError; keep them in.
CORE_TAGS = ["!!int ", "!!float ", "!!bool ", "!!set ", "!!omap ", "!!pairs ", "!!binary ", "!!timestamp ",
             "!!str ", "!!map ", "!!seq ", "!!null ", "!!merge "]

yamlish = st.lists(st.sampled_from(SYNTAX + CORE_TAGS) | st.text(max_size=4), max_size=40).map("".join)


def parses_or_refuses(text: str) -> None:
    try:
        data = parse_yaml(text, "compose.yaml", YamlLimits(max_expanded_nodes=5_000))
    except ComposeLoadError as exc:
        assert exc.message.startswith("compose.yaml ")
        if exc.location is not None:
            assert exc.location.file == "compose.yaml" and exc.location.line >= 1
        return
    assert isinstance(data, YamlMap)


@SETTINGS
@given(st.text(max_size=300))
def test_arbitrary_text_only_raises_compose_load_error(text: str) -> None:
    parses_or_refuses(text)


@SETTINGS
@example("a: !!int\n")
@example("services:\n  redis:\n    tty: !!bool 1\n")
@example("services: !!set\n")
@given(yamlish)
def test_almost_yaml_only_raises_compose_load_error(text: str) -> None:
    parses_or_refuses(text)


# Well-formed YAML of any shape ----------------------------------------------------------

# ruamel itself does not round-trip NEL and the Unicode line/paragraph separators (it dumps them raw and
# folds them to a space on reading); that is ruamel's doing, not the grader's, so they are left out here.
chars = st.characters(blacklist_characters="\x85\u2028\u2029", blacklist_categories=("Cs",))
scalars = (
    # integers Compose (go-yaml) reads as integers: beyond int64/uint64 it reads floats, as the grader does
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1) | st.text(chars, max_size=20)
    | st.floats(allow_nan=False, allow_infinity=True)
)
keys = st.text(chars, max_size=12) | st.integers(min_value=-(2**63), max_value=2**64 - 1)
structures = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=40,
)
deep_chains = st.integers(min_value=1, max_value=MAX_DEPTH + 6).map(
    lambda depth: _chain(depth)
)


def _chain(depth: int) -> Any:
    node: Any = "leaf"
    for i in range(depth - 1):
        node = [node] if i % 2 else {"k": node}
    return {"top": node}


def depth_of(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    return 0


def dump(value: Any, flow: bool | None) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = flow
    yaml.width = 4096
    stream = io.StringIO()
    yaml.dump(value, stream)
    return stream.getvalue()


def key_name(key: Any) -> str:
    """A key as Compose names it: go-yaml's plain `0`, `true`, `null` keys are the strings "0", "true", "null"."""
    if isinstance(key, bool):
        return "true" if key else "false"
    return "null" if key is None else str(key)


def same(a: Any, b: Any) -> bool:
    """Equal in value and kind (the grader's view subclasses dict and list; keys are names)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, float):
        return isinstance(b, float) and (a == b or (math.isnan(a) and math.isnan(b)))
    if isinstance(a, dict):
        names = {key_name(k): v for k, v in a.items()}
        return isinstance(b, dict) and len(names) == len(a) == len(b) and set(names) == set(b) \
            and all(same(names[k], b[k]) for k in names)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return isinstance(b, type(a)) and not isinstance(b, float) and a == b


@SETTINGS
@given(value=structures | deep_chains, flow=st.sampled_from([None, True, False]))
def test_any_dumped_structure_loads_back_or_is_refused_clearly(value: Any, flow: bool | None) -> None:
    text = dump(value, flow)
    # judge the grader only on YAML that ruamel round-trips by itself (its emitter has rare bugs,
    # e.g. {':0': None} in flow style is written as the invalid `{:0: null}`)
    try:
        assume(same(value, YAML(typ="safe", pure=True).load(text)))
    except Exception:
        assume(False)
    try:
        data = parse_yaml(text, "compose.yaml")
    except ComposeLoadError as exc:
        # refused only for the reasons the loader documents
        if not isinstance(value, dict):
            assert "mapping at the top level" in exc.message or "empty" in exc.message
        else:
            assert depth_of(value) > MAX_DEPTH, exc.message
            assert "deeper" in exc.message
        return
    assert isinstance(value, dict), f"{type(value).__name__} accepted as a top-level mapping"
    assert depth_of(value) <= MAX_DEPTH
    assert same(value, data)


# Bytes on disk ---------------------------------------------------------------------------


def decoded(raw: bytes) -> str:
    """What go-yaml decodes: UTF-16 by its byte order mark, else UTF-8 (BOM dropped); "" if neither."""
    encoding = "utf-16" if raw.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    try:
        return raw.decode(encoding).removeprefix("\ufeff")
    except UnicodeDecodeError:
        return ""


@SETTINGS
@example(b"\xfe\xff")
@example("services: {}\n".encode("utf-16"))
@given(st.binary(max_size=600) | st.text(max_size=200).map(lambda t: t.encode("utf-8")))
def test_arbitrary_bytes_only_raise_compose_load_error(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "compose.yaml"
        path.write_bytes(raw)
        try:
            text = read_text(path, "compose.yaml", YamlLimits(max_bytes=500))
        except ComposeLoadError as exc:
            assert exc.message.startswith("compose.yaml ")
            assert folder not in exc.message
            binary = b"\x00" in raw and not raw.startswith((b"\xff\xfe", b"\xfe\xff"))
            assert len(raw) > 500 or binary or "\x00" in decoded(raw) or "UTF-" in exc.message
            return
        assert len(raw) <= 500 and "\x00" not in text
        assert text == decoded(raw)
        parses_or_refuses(text)
