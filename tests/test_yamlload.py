"""Safe YAML loading: hostile files are refused quickly and clearly, normal ones keep their line numbers."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
from pathlib import Path

import pytest

from grader.errors import ComposeLoadError
from grader.yaml import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    YamlLimits,
    item_line,
    key_line,
    emit,
    load_yaml,
    parse_documents,
    node_line,
    parse_yaml,
    read_text,
    value_line,
)

REPO = Path(__file__).resolve().parents[1]


def load_error(text: str, name: str = "compose.yaml", **limits: int) -> ComposeLoadError:
    with pytest.raises(ComposeLoadError) as info:
        parse_yaml(text, name, YamlLimits(**limits) if limits else YamlLimits())
    return info.value


def billion_laughs(levels: int = 9, fan_out: int = 10) -> str:
    """The classic alias bomb: ``fan_out ** levels`` leaves from a file of a few hundred bytes."""
    names = [f"l{i}" for i in range(levels + 1)]
    lines = [f"{names[0]}: &{names[0]} [" + ", ".join(["lol"] * fan_out) + "]"]
    for previous, name in zip(names, names[1:]):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * fan_out) + "]")
    return "\n".join(lines) + "\n"


# Hostile input -------------------------------------------------------------------


def test_billion_laughs_is_refused_fast_and_in_little_memory() -> None:
    text = billion_laughs()
    assert len(text) < 2_000  # a tiny file that would expand to 10**10 nodes
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(ComposeLoadError) as info:
            parse_yaml(text, "compose.yaml")
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 2.0
    assert peak < 50 * 1024 * 1024
    assert "alias" in info.value.message
    assert "compose.yaml" in info.value.message
    assert info.value.location is not None and info.value.location.file == "compose.yaml"
    assert 1 <= info.value.location.line <= text.count("\n")


def test_alias_bomb_built_from_mappings_and_merge_keys_is_refused() -> None:
    lines = ["a0: &a0 {k: v, j: w}"]
    for i in range(1, 30):
        lines.append(f"a{i}: &a{i} {{x: *a{i - 1}, y: *a{i - 1}}}")
    started = time.monotonic()
    error = load_error("\n".join(lines) + "\n")
    assert time.monotonic() - started < 2.0
    assert "alias" in error.message


def test_alias_bomb_from_a_file_on_disk_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text(billion_laughs(), encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(ComposeLoadError, match="alias"):
        load_yaml(path, "compose.yaml")
    assert time.monotonic() - started < 2.0


def test_moderate_alias_use_is_accepted() -> None:
    text = "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\nb: [" + ", ".join(["*a"] * 500) + "]\n"
    data = parse_yaml(text, "compose.yaml")
    assert len(data["b"]) == 500 and list(data["b"][499]) == list(range(1, 11))


def test_expanded_node_limit_is_configurable() -> None:
    text = "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\nb: [*a, *a, *a, *a, *a]\n"
    assert parse_yaml(text, "c.yaml")  # default limit: fine
    error = load_error(text, max_expanded_nodes=30)
    assert "30" in error.message


def test_file_without_aliases_is_never_called_an_alias_bomb() -> None:
    text = "x:\n" + "- 1\n" * 40_000
    assert len(text.encode()) < MAX_FILE_BYTES
    assert "*" not in text and "&" not in text
    data = parse_yaml(text, "compose.yaml")
    assert len(data["x"]) == 40_000


@pytest.mark.parametrize("style", ["flow", "block"])
def test_deep_nesting_is_refused(style: str) -> None:
    depth = 5_000 if style == "flow" else 200
    if style == "flow":
        text = "a: " + "[" * depth + "]" * depth + "\n"
    else:
        text = "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "  " * depth + "leaf\n"
    started = time.monotonic()
    error = load_error(text)
    assert time.monotonic() - started < 2.0
    assert "deeper" in error.message and str(MAX_DEPTH) in error.message
    assert error.location is not None
    if style == "block":
        # the collection opened at level MAX_DEPTH + 1 starts on that line
        assert error.location.line == MAX_DEPTH + 1


def test_nesting_just_within_the_limit_is_accepted() -> None:
    depth = MAX_DEPTH - 1  # the top-level mapping is one level, so MAX_DEPTH - 1 more
    text = "a: " + "[" * depth + "x" + "]" * depth + "\n"
    data = parse_yaml(text, "c.yaml")
    node = data["a"]
    for _ in range(depth - 1):
        node = node[0]
    assert list(node) == ["x"]
    load_error("a: " + "[" * (depth + 1) + "x" + "]" * (depth + 1) + "\n")


def test_file_over_size_cap_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_bytes(b"# padding\n" * (MAX_FILE_BYTES // 10 + 1))
    assert path.stat().st_size > MAX_FILE_BYTES
    with pytest.raises(ComposeLoadError) as info:
        read_text(path, "compose.yaml")
    assert f"{path.stat().st_size:,}" in info.value.message
    assert f"{MAX_FILE_BYTES:,}" in info.value.message
    assert info.value.hint


def test_size_cap_is_configurable_and_inclusive(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_bytes(b"a: 1\n" * 20)  # 100 bytes
    assert read_text(path, "c.yaml", YamlLimits(max_bytes=100)) == "a: 1\n" * 20
    with pytest.raises(ComposeLoadError, match="100 bytes"):
        read_text(path, "c.yaml", YamlLimits(max_bytes=99))


def test_binary_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_bytes(b"services:\n  redis:\x00\x01\x02\n")
    with pytest.raises(ComposeLoadError) as info:
        read_text(path, "docker-compose.yml")
    assert "binary" in info.value.message
    assert info.value.message.startswith("docker-compose.yml")
    assert "UTF-8" in (info.value.hint or "")


def test_latin1_file_is_refused_with_the_offset(tmp_path: Path) -> None:
    raw = "services:\n  redis:\n    environment:\n      NAME: José\n".encode("latin-1")
    offset = raw.index(b"\xe9")
    path = tmp_path / "compose.yaml"
    path.write_bytes(raw)
    with pytest.raises(ComposeLoadError) as info:
        read_text(path, "compose.yaml")
    assert "not UTF-8" in info.value.message
    assert f"offset {offset}" in info.value.message
    assert "UTF-8" in (info.value.hint or "")


def test_missing_file_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(ComposeLoadError, match="cannot be read"):
        read_text(tmp_path / "nope.yaml", "nope.yaml")


def test_directory_instead_of_file_is_a_load_error(tmp_path: Path) -> None:
    folder = tmp_path / "compose.yaml"
    folder.mkdir()
    with pytest.raises(ComposeLoadError, match="cannot be read"):
        read_text(folder, "compose.yaml")


_DEV_ZERO_SCRIPT = textwrap.dedent("""
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (768 * 1024 * 1024, 768 * 1024 * 1024))
    from pathlib import Path
    from grader.errors import ComposeLoadError
    from grader.yaml import read_text
    try:
        read_text(Path(sys.argv[1]), "compose.yaml")
    except ComposeLoadError as exc:
        print("ComposeLoadError:", exc)
    except BaseException as exc:
        print("ESCAPED:", type(exc).__name__)
    else:
        print("READ")
""")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_symlink_to_endless_device_is_refused_quickly(tmp_path: Path) -> None:
    link = tmp_path / "compose.yaml"
    link.symlink_to("/dev/zero")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", _DEV_ZERO_SCRIPT, str(link)], capture_output=True, check=False,
                          text=True, timeout=60, cwd=REPO)
    # run in a child with a memory cap: an unbounded read would exhaust it instead of this test run
    assert done.stdout.startswith("ComposeLoadError"), done.stdout + done.stderr
    assert "compose.yaml cannot be read" in done.stdout and "device" in done.stdout
    assert time.monotonic() - started < 10


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "compose.yaml"
    os.mkfifo(fifo)
    outcome: dict[str, BaseException | None] = {}

    def read() -> None:
        try:
            read_text(fifo, "compose.yaml")
            outcome["error"] = None
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    thread.join(timeout=10)
    if thread.is_alive():  # unblock the reader so the thread can finish
        with open(fifo, "wb"):
            pass
        pytest.fail("read_text blocked on a FIFO")
    error = outcome["error"]
    assert isinstance(error, ComposeLoadError)
    assert "named pipe" in error.message


def test_file_growing_past_the_cap_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """stat() may report a small size for a file that is larger when read; the read itself is capped."""
    path = tmp_path / "compose.yaml"
    path.write_bytes(b"a: 1\n" * 100)  # 500 bytes on disk
    real_fstat = os.fstat

    class SmallStat:
        def __init__(self, info: os.stat_result) -> None:
            self._info = info

        def __getattr__(self, name: str):
            return 10 if name == "st_size" else getattr(self._info, name)

    monkeypatch.setattr(os, "fstat", lambda fd: SmallStat(real_fstat(fd)))
    with pytest.raises(ComposeLoadError, match="more than 100 bytes"):
        read_text(path, "compose.yaml", YamlLimits(max_bytes=100))


# Not a mapping -------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n\n", "# just a comment\n", "# one\n\n   # two\n"])
def test_empty_or_comment_only_file(text: str) -> None:
    error = load_error(text)
    assert "empty" in error.message
    assert "services" in (error.hint or "")


def test_a_stream_of_empty_documents_is_empty() -> None:
    error = load_error("---\n...\n")
    assert error.message == "compose.yaml is empty."


@pytest.mark.parametrize("text, kind", [
    ("- redis\n- web\n", "a list"),
    ("redis:alpine\n", "a single value"),
    ("42\n", "a single value"),
])
def test_top_level_must_be_a_mapping(text: str, kind: str) -> None:
    error = load_error(text)
    assert "mapping at the top level" in error.message
    assert error.message.endswith(f"it is {kind}.")
    assert error.location is not None and error.location.line == 1


# Syntax errors --------------------------------------------------------------------


def test_duplicate_key_names_the_key_and_line() -> None:
    text = textwrap.dedent("""\
        services:
          redis:
            image: redis:alpine
            ports:
              - "6379:6379"
            image: redis:7
        """)
    error = load_error(text)
    assert '"image"' in error.message
    assert "twice" in error.message
    assert "line 6" in error.message
    assert error.location is not None and (error.location.file, error.location.line) == ("compose.yaml", 6)


def test_duplicate_service_name() -> None:
    text = "services:\n  redis:\n    image: a\n  web:\n    build: .\n  redis:\n    image: b\n"
    error = load_error(text)
    assert '"redis"' in error.message
    assert error.location is not None and error.location.line == 6


def test_tabs_get_a_tab_hint_and_the_right_line() -> None:
    text = "services:\n  redis:\n\timage: redis:alpine\n"
    error = load_error(text)
    assert "tab" in (error.hint or "").lower()
    assert error.location is not None and error.location.line == 3
    assert "line 3" in error.message


def test_other_syntax_errors_get_a_line_and_a_generic_hint() -> None:
    text = "services:\n  redis:\n    image: [redis:alpine\n    ports: 1\n"
    error = load_error(text)
    assert "not valid YAML" in error.message
    assert error.location is not None and 3 <= error.location.line <= 5
    assert "tab" not in error.message.lower()
    assert error.hint


def test_bad_indentation_is_a_syntax_error_with_line() -> None:
    text = "services:\n  redis:\n    image: redis:alpine\n   ports:\n      - 6379:6379\n"
    error = load_error(text)
    assert error.location is not None and error.location.line in (4, 5)


# Accepted input with correct lines --------------------------------------------------


def test_bom_and_crlf_are_accepted_with_correct_lines(tmp_path: Path) -> None:
    text = "services:\r\n  redis:\r\n    image: redis:alpine\r\n    ports:\r\n      - \"6379:6379\"\r\n"
    path = tmp_path / "compose.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    loaded = load_yaml(path, "compose.yaml")
    assert not loaded.text.startswith("\ufeff")
    assert list(loaded.data) == ["services"]
    redis = loaded.data["services"]["redis"]
    assert redis["image"] == "redis:alpine"
    assert key_line(loaded.data, "services") == 1
    assert key_line(loaded.data["services"], "redis") == 2
    assert key_line(redis, "image") == 3
    assert key_line(redis, "ports") == 4
    assert item_line(redis["ports"], 0) == 5
    assert loaded.location(4) is not None and str(loaded.location(4)) == "compose.yaml:4"
    assert loaded.location(None) is None


def test_bom_in_text_passed_directly_is_accepted() -> None:
    data = parse_yaml("\ufeffservices:\n  redis:\n    image: redis\n", "c.yaml")
    assert key_line(data["services"]["redis"], "image") == 3


def test_anchors_and_merge_keys_are_accepted() -> None:
    text = textwrap.dedent("""\
        x-common: &common
          restart: unless-stopped
          labels:
            course: docker
        services:
          redis:
            <<: *common
            image: redis:alpine
          web:
            <<: *common
            build: .
            restart: always
        """)
    data = parse_yaml(text, "compose.yaml")
    redis, web = data["services"]["redis"], data["services"]["web"]
    assert redis["restart"] == "unless-stopped"
    assert dict(redis["labels"]) == {"course": "docker"}
    assert web["restart"] == "always"  # an explicit key beats the merged one
    assert web["build"] == "."
    assert key_line(redis, "image") == 8
    assert key_line(web, "build") == 11


def test_line_helpers() -> None:
    text = textwrap.dedent("""\
        # header comment

        services:
          redis:
            image: redis:alpine
            ports:
              - "6379:6379"
              - target: 6379
                published: 6380
            volumes:
              - redis_data:/data
        volumes:
          redis_data: {}
        """)
    data = parse_yaml(text, "compose.yaml")
    services = data["services"]
    redis = services["redis"]
    assert key_line(data, "services") == 3
    assert key_line(services, "redis") == 4
    assert key_line(redis, "image") == 5
    assert key_line(redis, "volumes") == 10
    assert value_line(redis, "image") == 5
    assert value_line(redis, "ports") == 7
    assert item_line(redis["ports"], 0) == 7
    assert item_line(redis["ports"], 1) == 8
    assert key_line(redis["ports"][1], "published") == 9
    assert item_line(redis["volumes"], 0) == 11
    assert key_line(data, "volumes") == 12
    assert node_line(redis) == 5
    # unknown keys, indexes and plain objects give None instead of raising
    assert key_line(redis, "nope") is None
    assert key_line({"a": 1}, "a") is None
    assert key_line(None, "a") is None
    assert item_line(redis["ports"], 7) is None
    assert item_line(["a"], 0) is None
    assert node_line("scalar") is None


def test_yaml_1_2_scalars_stay_strings() -> None:
    # ports like 22:22 were sexagesimal numbers in YAML 1.1; Compose follows YAML 1.2
    data = parse_yaml("services:\n  r:\n    ports:\n      - 22:22\n    tty: yes\n", "c.yaml")
    assert data["services"]["r"]["ports"][0] == "22:22"
    assert data["services"]["r"]["tty"] == "yes"


def test_error_messages_use_the_display_name_not_the_path(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "compose.yaml"
    path.parent.mkdir()
    path.write_text("- a\n", encoding="utf-8")
    with pytest.raises(ComposeLoadError) as info:
        load_yaml(path, "inner/compose.yaml")
    assert info.value.message.startswith("inner/compose.yaml ")
    assert str(tmp_path) not in info.value.message
    assert info.value.location is not None and info.value.location.file == "inner/compose.yaml"


@pytest.mark.parametrize("value", ["!!bool 1", "!!int", "!!float", "!!set", "!!omap"])
def test_explicit_tags_are_read_as_written_and_passed_on(value: str) -> None:
    """ruamel's constructors crash on these; the grader does not construct them, it hands them to
    Compose as written, and Compose (go-yaml) judges them."""
    text = f"services:\n  redis:\n    image: redis:alpine\n    tty: {value}\n"
    data = parse_yaml(text, "compose.yaml")
    assert "tty" in data["services"]["redis"]
    written = emit(parse_documents(text, "compose.yaml"))
    assert value.split()[0] in written


# Plain integers on each side of int64, written as Compose users write them.
BEYOND_INT64 = ["9223372036854775807", "9223372036854775808", "+9223372036854775808", "18446744073709551615",
                "18446744073709551616", "-9223372036854775808", "-9223372036854775809", "0x8000000000000000",
                "0xFFFFFFFFFFFFFFFF", "0o1777777777777777777777", "9_223_372_036_854_775_808"]


def test_integers_beyond_int64_resolve_as_compose_reads_them(tmp_path: Path) -> None:
    """go-yaml keeps 2**63 … 2**64-1 without a sign as integers (strconv.ParseUint) and makes larger or
    signed ones floats; the grader's view must agree with what `docker compose config` prints."""
    import json

    from grader.docker.compose import detect_cli, minimal_env
    from grader.errors import ComposeMissing

    try:
        cli = detect_cli()
    except ComposeMissing:
        pytest.skip("needs the Docker CLI with the Compose plugin (`docker compose config`; no engine needed)")
    text = "services:\n  a:\n    image: alpine\nx-numbers:\n" + "".join(f"  - {value}\n" for value in BEYOND_INT64)
    (tmp_path / "compose.yaml").write_text(text, encoding="utf-8")
    done = subprocess.run([*cli.base, "config", "--format", "json"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, env=minimal_env())
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)["x-numbers"]
    view = parse_yaml(text, "compose.yaml")["x-numbers"]
    for written, by_compose, by_grader in zip(BEYOND_INT64, printed, view, strict=True):
        exact = int(written.replace("_", ""), 0)
        # Go prints a float64 with its shortest digits (9223372036854776000): exact digits mean an integer
        assert isinstance(by_grader, int) == (by_compose == exact), (written, by_compose, by_grader)
        assert float(by_grader) == float(by_compose), (written, by_compose, by_grader)
