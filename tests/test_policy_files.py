"""The policy on the files around a Compose file: include, extends, overrides, `.env`
interpolation, and symbolic links, refused only where something would follow them."""
from __future__ import annotations

import errno
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from grader import yaml_reading as yamlload  # read_bytes lives there (grader.yaml re-exports it)
from grader.submission.files import MAX_INCLUDE_DEPTH
from grader.results import Location
from tests.test_policy import judge, judged_clean, marked_line, write


class Canary:
    """A FIFO outside the submission: opening it for reading blocks until a writer comes, so a
    watcher that finds a blocked reader knows someone followed a path to it (and lets it go)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.opened = False


@contextmanager
def canary(path: Path) -> Iterator[Canary]:
    os.mkfifo(path)
    found = Canary(path)
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.05):
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)  # succeeds only while a reader waits
            except OSError as exc:
                if exc.errno != errno.ENXIO:
                    raise
                continue
            found.opened = True
            os.close(fd)  # the reader sees an empty file and goes on

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield found
    finally:
        stop.set()
        watcher.join()


@pytest.fixture()
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    return folder


@pytest.fixture()
def submission(tmp_path: Path) -> Path:
    folder = tmp_path / "submission"
    folder.mkdir()
    return folder


# --------------------------------------------------------------------------- include, extends


def test_include_is_followed_and_located(tmp_path: Path) -> None:
    write(tmp_path, "include:\n  - stack/db.yml\nservices:\n  app:\n    image: alpine\n")
    write(tmp_path, "services:\n  db:\n    image: redis\n    volumes:\n      - ../..:/escape\n", "stack/db.yml")
    result = judge(tmp_path)
    assert [(v.rule, v.location) for v in result.violations] == [("bind-mount-outside", Location("stack/db.yml", 5))]
    assert "'db'" in result.violations[0].message and "../.." in result.violations[0].message


INCLUDE_OUTSIDE = """
    include:
      - path: [parts/a.yml]
        project_directory: ..
        env_file: ../secrets.env
    services:
      app:
        image: alpine
    """


def test_include_with_a_reference_outside_is_dropped_whole(tmp_path: Path) -> None:
    write(tmp_path, INCLUDE_OUTSIDE)
    write(tmp_path, "services:\n  a:\n    image: x\n    privileged: true\n", "parts/a.yml")
    result = judge(tmp_path)
    assert set(result.rules) == {"file-outside"}
    assert all(v.location.file == "compose.yaml" and 2 <= v.location.line <= 4 for v in result.violations)
    assert set(result.config["services"]) == {"app"}  # Compose never saw parts/a.yml


def test_each_refused_include_reference_at_its_own_line(tmp_path: Path) -> None:
    write(tmp_path, INCLUDE_OUTSIDE)
    write(tmp_path, "services:\n  a:\n    image: x\n", "parts/a.yml")
    assert sorted((v.rule, v.location.line) for v in judge(tmp_path).violations) == [
        ("file-outside", 3), ("file-outside", 4)]


def test_extends_file_is_followed(tmp_path: Path) -> None:
    write(tmp_path, "services:\n  app:\n    extends:\n      file: common.yml\n      service: base\n")
    write(tmp_path, "services:\n  base:\n    image: alpine\n    cap_add: [SYS_ADMIN]\n", "common.yml")
    result = judge(tmp_path)
    assert result.rules == ["cap-add"] and "'app'" in result.violations[0].message
    assert result.violations[0].location == Location("common.yml", 4)  # in the file that sets it


def test_included_and_extended_services(tmp_path: Path) -> None:
    write(tmp_path, "include: [db.yml]\nservices:\n  web:\n    extends: {file: common.yml, service: base}\n")
    write(tmp_path, "services:\n  db:\n    image: redis\n    cap_add: [SYS_PTRACE]\n", "db.yml")
    write(tmp_path, "services:\n  base:\n    image: alpine\n    network_mode: host\n", "common.yml")
    result = judge(tmp_path)
    assert sorted((v.rule, v.message.split("'")[1]) for v in result.violations) == [
        ("cap-add", "db"), ("host-namespace", "web")]
    assert str(result.of_rule("cap-add")[0].location) == "db.yml:4"
    assert result.of_rule("host-namespace")[0].location == Location("common.yml", 4)


def test_include_cycle_ends(tmp_path: Path) -> None:
    write(tmp_path, "include: [b.yml]\nservices:\n  a:\n    image: x\n")
    write(tmp_path, "include: [compose.yaml]\nservices:\n  b:\n    image: x\n", "b.yml")
    result = judge(tmp_path)  # the grader reads each file once; Compose rejects the cycle
    assert result.violations == [] and result.error is not None
    assert "cycle" in result.error.message, result.error.message


def test_include_chain_deeper_than_the_cap_is_refused(tmp_path: Path) -> None:
    levels = MAX_INCLUDE_DEPTH + 2
    for i in range(levels):
        write(tmp_path, f"include: [c{i + 1}.yml]\nservices:\n  c{i}:\n    image: x\n", f"c{i}.yml")
    write(tmp_path, f"services:\n  c{levels}:\n    image: x\n    privileged: true\n", f"c{levels}.yml")
    write(tmp_path, "include: [c0.yml]\nservices:\n  a:\n    image: x\n")
    result = judge(tmp_path)
    assert result.rules == ["file-unchecked"]
    deepest = max(int(name[1:]) for name in result.config["services"] if name.startswith("c"))
    assert deepest < levels  # what is not checked is not given to Compose either


def test_include_alias_bomb_is_not_parsed(tmp_path: Path) -> None:
    write(tmp_path, "include:\n  - bomb.yml  # <-\nservices:\n  a:\n    image: x\n")
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(7):
        prev = "a" if i == 0 else f"b{i - 1}"
        lines.append(f"b{i}: &b{i} [" + ", ".join([f"*{prev}"] * 10) + "]")
    (tmp_path / "bomb.yml").write_text("\n".join(lines) + "\n")
    result = judge(tmp_path)
    assert [v.rule for v in result.violations] == ["file-unchecked"]
    assert "alias" in result.violations[0].message
    assert result.violations[0].location.file == "bomb.yml"  # where the expansion passes the cap
    assert set(result.config["services"]) == {"a"}


def test_files_outside_are_never_read(submission: Path, outside: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither the grader nor Compose opens a file outside the submission that a Compose file names."""
    (submission / "link").symlink_to(outside)
    read: list[str] = []
    real_read = yamlload.read_bytes

    def spy(path: Path, *args: object) -> bytes:
        read.append(os.path.realpath(path))
        return real_read(path, *args)

    monkeypatch.setattr(yamlload, "read_bytes", spy)
    with canary(outside / "evil.yml") as evil, canary(outside / "evil.env") as env:
        write(submission, f"""
            include:
              - {outside}/evil.yml
              - link/evil.yml
            services:
              app:
                image: alpine
                env_file: [link/evil.env, {outside}/evil.env]
                label_file: link/evil.env
                extends: {{file: link/evil.yml, service: x}}
            """)
        result = judge(submission)
    assert not evil.opened and not env.opened
    assert read and all(not path.startswith(str(outside)) for path in read), read
    assert sorted(result.rules) == ["file-outside"] * 2 + ["symlink-outside"] * 4
    assert all("symbolic link" in v.message for v in result.of_rule("symlink-outside"))


def test_override_and_included_locations(tmp_path: Path) -> None:
    write(tmp_path, "include: [redis.yml]\nservices:\n  app:\n    image: alpine\n")
    write(tmp_path, "services:\n  app:\n    cap_add: [NET_ADMIN]  # <-\n", "compose.override.yaml")
    write(tmp_path, "services:\n  redis:\n    image: redis\n    volumes:\n      - /:/host  # <-\n", "redis.yml")
    result = judge(tmp_path)
    assert sorted((v.rule, str(v.location)) for v in result.violations) == [
        ("bind-mount-outside", f"redis.yml:{marked_line(tmp_path / 'redis.yml')}"),
        ("cap-add", f"compose.override.yaml:{marked_line(tmp_path / 'compose.override.yaml')}"),
    ]


# --------------------------------------------------------------------------- interpolation


def test_interpolated_mount_is_judged_as_compose_resolves_it(tmp_path: Path) -> None:
    path = write(tmp_path, """
        services:
          app:
            image: alpine
            volumes:
              - ${SRC}:/src  # <-
        """)
    (tmp_path / ".env").write_text("SRC=/etc\n")
    result = judge(tmp_path)
    assert [(v.rule, v.location) for v in result.violations] == [
        ("bind-mount-outside", Location("compose.yaml", marked_line(path)))]
    assert "/etc" in result.violations[0].message


def test_interpolated_privileged_is_judged(tmp_path: Path) -> None:
    path = write(tmp_path, "services:\n  app:\n    image: alpine\n    privileged: ${PRIV:-true}  # <-\n")
    result = judge(tmp_path)
    assert [(v.rule, v.location) for v in result.violations] == [("privileged", Location("compose.yaml", marked_line(path)))]


def test_interpolation_from_an_env_file_in_the_env_folder(tmp_path: Path) -> None:
    path = write(tmp_path, "services:\n  app:\n    image: alpine\n    network_mode: ${MODE}  # <-\n")
    (tmp_path / ".env").write_text("# the project's .env\nMODE=host\n")
    result = judge(tmp_path)
    assert [(v.rule, v.location) for v in result.violations] == [
        ("host-namespace", Location("compose.yaml", marked_line(path)))]


def test_the_graders_environment_never_reaches_what_is_judged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "services:\n  app:\n    image: alpine\n    volumes:\n      - ${SRC:-./data}:/data\n")
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("SRC", "/etc")
    result = judged_clean(tmp_path)
    assert result.config["services"]["app"]["volumes"][0]["source"].endswith("/data")


# --------------------------------------------------------------------------- symbolic links


def test_links_nothing_follows_are_fine(tmp_path: Path) -> None:
    """A committed virtualenv and other links out that no Compose key names are not refused."""
    write(tmp_path, "services:\n  app:\n    build: .\n    volumes: [./data:/data]\n")
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim\n")
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "venv" / "bin" / "python").symlink_to("/usr/bin/python3")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "hosts").symlink_to("/etc/hosts")  # inside a bind source: copied as a link
    (tmp_path / "etc").symlink_to("/etc")
    (tmp_path / "up").symlink_to("..")
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    (tmp_path / "dangling").symlink_to("missing")
    judged_clean(tmp_path)


def test_links_within_are_followed(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "file").write_text("A=1\n")
    (tmp_path / "alias").symlink_to("data")
    (tmp_path / "data" / "again").symlink_to("../data/file")
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM alpine\n")
    (tmp_path / "ctx" / ".dockerignore").symlink_to("../data/file")
    write(tmp_path, """
        services:
          app:
            build: ./ctx
            env_file: alias/again
            volumes: [./alias:/data]
            secrets: [s]
        secrets:
          s:
            file: alias/file
        """)
    result = judged_clean(tmp_path)
    assert result.config["services"]["app"]["environment"] == {"A": "1"}


# A link out from each place something follows it, and the rule that refuses it.
FOLLOWED = [
    pytest.param("services:\n  app:\n    image: alpine\n    env_file: link.env  # <-\n", "symlink-outside",
                 "env_file", id="env-file"),
    pytest.param("services:\n  app:\n    image: alpine\n    env_file:\n      - path: ./link.env  # <-\n", "symlink-outside",
                 "env_file", id="env-file-long"),
    pytest.param("services:\n  app:\n    image: alpine\n    label_file: link.env  # <-\n", "symlink-outside",
                 "label_file", id="label-file"),
    pytest.param("include:\n  - link.yml  # <-\nservices:\n  app:\n    image: alpine\n", "symlink-outside",
                 "include", id="include"),
    pytest.param("services:\n  app:\n    image: alpine\n    extends:\n      file: link.yml  # <-\n      service: x\n",
                 "symlink-outside", "extends", id="extends"),
    pytest.param("services:\n  app:\n    image: alpine\n    env_file: loop  # <-\n", "symlink-outside", "env_file",
                 id="link-loop"),
    pytest.param("services:\n  app:\n    image: alpine\n    volumes:\n      - ./dir:/data  # <-\n", "bind-mount-outside",
                 "symbolic link", id="bind"),
    pytest.param("services:\n  app:\n    image: alpine\n    volumes:\n      - type: bind  # <-\n        source: ./dir/sub\n"
                 "        target: /data\n", "bind-mount-outside", "symbolic link", id="bind-long-nested"),
    pytest.param("services:\n  app:\n    image: alpine\n    secrets: [s]\nsecrets:\n  s:\n    file: ./link.env  # <-\n",
                 "file-outside", "symbolic link", id="secret-file"),
    pytest.param("services:\n  app:\n    image: alpine\n    configs: [c]\nconfigs:\n  c:\n    file: ./dir/x  # <-\n",
                 "file-outside", "symbolic link", id="config-file"),
    pytest.param("services:\n  app:\n    build: ./dir  # <-\n", "build-context-outside", "symbolic link",
                 id="build-context"),
    pytest.param("services:\n  app:\n    build:\n      context: .\n      dockerfile: link.env  # <-\n",
                 "build-context-outside", "symbolic link", id="dockerfile"),
    pytest.param("services:\n  app:\n    build: ./ctx  # <-\n", "symlink-outside", ".dockerignore", id="dockerignore"),
]


@pytest.mark.parametrize("text, rule, word", FOLLOWED)
def test_links_out_that_something_follows_are_refused(submission: Path, outside: Path, text: str, rule: str,
                                                      word: str) -> None:
    (outside / "x").write_text("A=1\n")
    (outside / "sub").mkdir()
    (submission / "dir").symlink_to(outside)
    (submission / "loop").symlink_to("loop2")
    (submission / "loop2").symlink_to("loop")
    (submission / "ctx").mkdir()
    (submission / "ctx" / "Dockerfile").write_text("FROM alpine\n")
    (submission / "ctx" / ".dockerignore").symlink_to(outside / "x")
    path = write(submission, text)
    with canary(outside / "target") as target:
        (submission / "link.env").symlink_to(target.path)
        (submission / "link.yml").symlink_to(target.path)
        result = judge(submission)
    assert not target.opened, "something followed the link out"
    assert result.rules == [rule], result.violations
    assert word.lower() in result.violations[0].message.lower()
    assert result.violations[0].location == Location("compose.yaml", marked_line(path))


@pytest.mark.parametrize("env_path, include", [(".env", False), ("sub/.env", True)], ids=["project", "included"])
def test_an_env_file_linked_out_is_refused(submission: Path, outside: Path, env_path: str, include: bool) -> None:
    if include:
        write(submission, "include: [sub/compose.yaml]\nservices:\n  app:\n    image: alpine\n")
        write(submission, "services:\n  db:\n    image: alpine\n", "sub/compose.yaml")
    else:
        write(submission, "services:\n  app:\n    image: alpine\n")
    (submission / env_path).symlink_to(outside / "host.env")
    (outside / "host.env").write_text("X=1\n")
    result = judge(submission)
    assert result.rules == ["symlink-outside"]
    assert ".env" in result.violations[0].message and "symbolic link" in result.violations[0].message


@pytest.mark.parametrize("env_path, include", [(".env", False), ("sub/.env", True)], ids=["project", "included"])
def test_compose_never_reads_an_env_file_linked_out(submission: Path, outside: Path, env_path: str,
                                                    include: bool) -> None:
    environment = "    environment:\n      X: ${SECRET:-unset}\n"
    if include:
        write(submission, "include: [sub/compose.yaml]\nservices:\n  app:\n    image: alpine\n")
        write(submission, "services:\n  db:\n    image: alpine\n" + environment, "sub/compose.yaml")
    else:
        write(submission, "services:\n  app:\n    image: alpine\n" + environment)
    with canary(outside / "host.env") as host:
        (submission / env_path).symlink_to(host.path)
        judge(submission)
    assert not host.opened, "Compose opened the host file behind the refused .env link"


def test_a_linked_env_refusal_reads_well(submission: Path, outside: Path) -> None:
    write(submission, "services:\n  app:\n    image: alpine\n")
    (outside / "host.env").write_text("X=1\n")
    (submission / ".env").symlink_to(outside / "host.env")
    violation = judge(submission).violations[0]
    assert ".env .env" not in violation.message and violation.message.count("symbolic link") == 1
    assert violation.location is not None and violation.location.file == ".env"


@pytest.mark.parametrize("listed", ["../x.yml", "/etc/hostname"])
def test_compose_file_listed_outside_is_refused(submission: Path, listed: str) -> None:
    write(submission, "services:\n  app:\n    image: alpine\n")
    (submission / ".env").write_text(f"# which files\nCOMPOSE_FILE={listed}\n")
    result = judge(submission)
    assert result.error is not None and "outside the submission" in result.error.message
    assert result.error.location == Location(".env", 2)
    assert "grader-ws-" not in result.error.message and listed in result.error.message, result.error.message
