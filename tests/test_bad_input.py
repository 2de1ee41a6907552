"""Bad input: every broken file a class hands in gets a clean, specific result in bounded time.

Each case is graded through the CLI against a real Docker engine and must end with the exact
statuses and a message that names the problem, within a time limit, without a traceback,
without leaving anything in Docker and without writing to the submission folder.

- YAML: alias bomb, deep nesting, over the size cap, binary, not UTF-8, empty, a list or a
  scalar at the top, duplicate keys, tabs: compose-file fails, everything else is skipped.
  A BOM with CRLF line endings is valid and grades normally.
- Build and run (tests/hostile/bad-*): missing build context or Dockerfile, a failing build,
  an image that does not exist, a container that exits at once or crash-loops.
- Web app: listens on 127.0.0.1 or another port, hangs, answers 500, no number, a 20 MB page,
  a count that does not rise, a count that rises by 2.
- Redis: a password; student_name a hash or a list; dump.rdb that is garbage, cut short, or a
  symbolic link.
- Submission: thousands of files, a huge (sparse) file, files that cannot be read. As root,
  chmod 000 does not stop reading, so "unreadable" is a FIFO (which must never be opened: it
  would block) and a dangling symbolic link; a chmod 000 file is added too, and is either
  copied (root) or skipped (anyone else): either way grading goes on normally.

Dumps with a hash or a list are made at test time with the local redis-server (as
scripts/make_sample_dumps.py does); those two cases are skipped where it is not installed.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.test_hostile_corpus import (
    HOSTILE,
    REPO,
    Graded,
    assert_clean_output,
    copy_case,
    fingerprint,
    grade,
    grade_all,
    leak_watch,  # noqa: F401 - a module-scoped fixture
)

pytestmark = pytest.mark.docker

SAMPLE_DUMP = REPO / "sample_submissions" / "redis_only" / "dump.rdb"  # student_name = "Jonas Becker"
REDIS_SERVER = shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)
ALL_CHECKS = ("compose-file", "redis-image", "redis-port", "named-volume", "stack-up", "redis-ping",
              "student-name", "persistence", "flask-counter")
REDIS_ONLY_PASS = {**{check: "passed" for check in ALL_CHECKS}, "flask-counter": "skipped"}
EVERYTHING_PASSES = {check: "passed" for check in ALL_CHECKS}

REDIS_ONLY = (b'services:\n  redis:\n    image: redis:alpine\n    ports:\n      - "6379:6379"\n'
              b"    volumes:\n      - redis_data:/data\n\nvolumes:\n  redis_data:\n")


# --------------------------------------------------------------------------- helpers


def make_rdb(dest: Path, commands: list[tuple[str, ...]]) -> None:
    """A dump.rdb holding what ``commands`` write, made by a throwaway local redis-server."""
    import redis

    if REDIS_SERVER is None:
        pytest.skip("no redis-server here to make a dump.rdb with")
    data = Path(tempfile.mkdtemp(prefix="grader-test-rdb-"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data), "--dbfilename", "dump.rdb",
         "--save", "", "--appendonly", "no", "--daemonize", "no"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.05)
        for command in commands:
            client.execute_command(*command)
        client.save()
        client.close()
        shutil.copyfile(data / "dump.rdb", dest)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(data, ignore_errors=True)


def add_sample_dump(folder: Path) -> None:
    shutil.copyfile(SAMPLE_DUMP, folder / "dump.rdb")


def from_bytes(text: bytes) -> Callable[[Path], Path]:
    """A submission whose docker-compose.yml holds exactly these bytes."""
    def make(root: Path) -> Path:
        folder = root / "submission"
        folder.mkdir()
        (folder / "docker-compose.yml").write_bytes(text)
        add_sample_dump(folder)
        return folder
    return make


def from_case(name: str, *steps: Callable[[Path], None], dump: bool = True) -> Callable[[Path], Path]:
    """A private copy of tests/hostile/<name>, with the sample dump.rdb unless told not to, then ``steps``."""
    def make(root: Path) -> Path:
        folder = copy_case(name, root)
        if dump:
            add_sample_dump(folder)
        for step in steps:
            step(folder)
        return folder
    return make


def alias_bomb() -> bytes:
    lines = ["services:", "  redis:", "    image: redis:alpine",
             'x-a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"x-{name}: &{name} [" + ", ".join([f"*{previous}"] * 10) + "]")
    return ("\n".join(lines) + "\n").encode()


# --------------------------------------------------------------------------- the cases


@dataclass(frozen=True)
class BadCase:
    name: str
    make: Callable[[Path], Path] = field(compare=False)
    statuses: dict[str, str] = field(compare=False)  # every check's expected status
    check: str = ""                                  # the check whose message is asserted
    fragment: str = ""                               # in that check's message
    details: str | None = None                       # in that check's details
    line: int | None = None                          # that check's location line in docker-compose.yml
    limit_s: float = 60                              # the whole grading, wall clock
    check_limit_s: float | None = None               # that one check
    hint: str | None = None                          # in that check's hint


def yaml_case(name: str, text: bytes, fragment: str, line: int | None = None) -> BadCase:
    statuses = {check: "skipped" for check in ALL_CHECKS} | {"compose-file": "failed"}
    return BadCase(f"yaml-{name}", from_bytes(text), statuses, "compose-file", fragment, line=line, limit_s=30)


def only(statuses: dict[str, str], **changes: str) -> dict[str, str]:
    return {**statuses, **{key.replace("_", "-"): value for key, value in changes.items()}}


OVERSIZE = REDIS_ONLY + b"# padding\n" * 30_000
YAML_CASES = [
    yaml_case("alias-bomb", alias_bomb(), "expands to more than 100,000 YAML nodes through aliases (an 'alias bomb')"),
    yaml_case("deep-nesting", b"services:\n  redis:\n    image: redis:alpine\n    labels:\n      x: "
              + b"[" * 100_000 + b"]" * 100_000 + b"\n", "nests deeper than 64 levels", line=5),
    yaml_case("over-size-cap", OVERSIZE,
              f"is {len(OVERSIZE):,} bytes; the grader reads Compose files of at most 262,144 bytes"),
    yaml_case("binary", b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8, "is a binary file, not YAML text"),
    yaml_case("not-utf8", REDIS_ONLY.replace(b"redis:alpine", b"redis:alpine  # r\xe9sum\xe9"),
              "is not UTF-8 text (invalid byte 0xe9 at offset", line=3),
    yaml_case("empty", b"", "docker-compose.yml is empty."),
    yaml_case("comments-only", b"# my compose file\n\n# TODO: services\n", "docker-compose.yml is empty."),
    yaml_case("top-level-list", b"- services:\n    redis:\n      image: redis:alpine\n",
              "must be a mapping at the top level (with a 'services:' key), but it is a list", line=1),
    yaml_case("top-level-scalar", b"docker compose up -d\n",
              "must be a mapping at the top level (with a 'services:' key), but it is a single value", line=1),
    yaml_case("duplicate-keys", REDIS_ONLY.replace(b"    ports:", b"    image: redis:latest\n    ports:"),
              'defines the key "image" twice in the same mapping (line 4)', line=4),
    yaml_case("tabs", REDIS_ONLY.replace(b"    image: redis:alpine", b"\timage: redis:alpine"),
              "a tab character is used for indentation, which YAML does not allow (line 3)", line=3),
    BadCase("yaml-bom-crlf", from_bytes(b"\xef\xbb\xbf" + REDIS_ONLY.replace(b"\n", b"\r\n")), REDIS_ONLY_PASS,
            "student-name", "student_name = 'Jonas Becker'"),
]

WEB = EVERYTHING_PASSES
RUN_CASES = [
    BadCase("bad-build-missing-context", from_case("bad-build-missing-context"),
            only(WEB, stack_up="failed", flask_counter="skipped"), "stack-up",
            "`web`: its image failed to build: the build context folder ./app does not exist", line=9),
    BadCase("bad-build-missing-dockerfile", from_case("bad-build-missing-dockerfile"),
            only(WEB, stack_up="failed", flask_counter="skipped"), "stack-up",
            "`web`: its image failed to build: there is no ./Dockerfile", line=9),
    BadCase("bad-build-fails", from_case("bad-build-fails"),
            only(WEB, stack_up="failed", flask_counter="skipped"), "stack-up",
            "`web`: its image failed to build: the step `RUN echo \"collecting assets from static/\"",
            details="error: static/ is missing, cannot build", line=9),
    # offline, BuildKit fails to fetch the frontend a `# syntax=` line names; the grader's builder does not
    BadCase("bad-build-syntax-directive", from_case("bad-build-syntax-directive"), WEB, "stack-up",
            "2 service(s) running"),
    BadCase("bad-build-buildkit-only", from_case("bad-build-buildkit-only"),
            only(WEB, stack_up="failed", flask_counter="skipped"), "stack-up",
            "`web`: its image failed to build", details="--mount option requires BuildKit",
            hint="BuildKit-only syntax", line=9),
    BadCase("bad-image-missing", from_case("bad-image-missing"),
            only(REDIS_ONLY_PASS, redis_image="failed", stack_up="failed", redis_ping="skipped",
                 student_name="skipped", persistence="skipped"), "stack-up",
            "`redis`: its image `redis-nonexistent:1` is not on this machine and could not be pulled", line=3),
    BadCase("bad-exit-at-once", from_case("bad-exit-at-once"),
            only(WEB, stack_up="failed", flask_counter="skipped"), "stack-up",
            "`web`: it is not running (exited with code 3)", line=9),
    BadCase("bad-crash-loop", from_case("bad-crash-loop"),
            only(WEB, stack_up="failed", flask_counter="skipped"), "stack-up",
            "`web`: it keeps restarting: it exits with code 1", details="starting the app", line=9),
]

WEB_CASES = [
    BadCase("bad-web-localhost", from_case("bad-web-localhost"), only(WEB, flask_counter="failed"), "flask-counter",
            "the app listens on 127.0.0.1:5000 inside its container, which is reachable only from inside that "
            "container", line=11, check_limit_s=20),
    BadCase("bad-web-wrong-port", from_case("bad-web-wrong-port"), only(WEB, flask_counter="failed"), "flask-counter",
            "the app listens on 0.0.0.0:8000 inside its container, not on port 5000", line=11, check_limit_s=20),
    BadCase("bad-web-hang", from_case("bad-web-hang"), only(WEB, flask_counter="failed"), "flask-counter",
            "did not answer within 5 s", check_limit_s=20),
    BadCase("bad-web-500", from_case("bad-web-500"), only(WEB, flask_counter="failed"), "flask-counter",
            "GET / answered HTTP 500.", details="TypeError"),
    BadCase("bad-web-no-number", from_case("bad-web-no-number"), only(WEB, flask_counter="failed"), "flask-counter",
            "The page shows no number."),
    BadCase("bad-web-huge", from_case("bad-web-huge"), only(WEB, flask_counter="failed"), "flask-counter",
            "GET / answered a page larger than 1 MiB; the grader reads at most 1 MiB of a page.", check_limit_s=20),
    BadCase("bad-web-static", from_case("bad-web-static"), only(WEB, flask_counter="failed"), "flask-counter",
            "Over 3 requests the count does not change."),
    BadCase("bad-web-plus-two", from_case("bad-web-plus-two"), only(WEB, flask_counter="failed"), "flask-counter",
            "Over 3 requests the count changes by 2."),
]


def _hash_dump(folder: Path) -> None:
    make_rdb(folder / "dump.rdb", [("HSET", "student_name", "first", "Ada", "last", "Lovelace")])


def _list_dump(folder: Path) -> None:
    make_rdb(folder / "dump.rdb", [("RPUSH", "student_name", "Ada", "Lovelace")])


def _garbage_dump(folder: Path) -> None:
    (folder / "dump.rdb").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 16)


def _truncated_dump(folder: Path) -> None:
    data = SAMPLE_DUMP.read_bytes()
    (folder / "dump.rdb").write_bytes(data[: len(data) // 2])


def _symlinked_dump(folder: Path) -> None:
    (folder / "backup").mkdir()
    shutil.copyfile(SAMPLE_DUMP, folder / "backup" / "redis-backup.rdb")
    (folder / "dump.rdb").symlink_to("backup/redis-backup.rdb")


NAME_FAILS = only(REDIS_ONLY_PASS, student_name="failed")
REDIS_CASES = [
    BadCase("bad-redis-password", from_case("bad-redis-password"),
            only(REDIS_ONLY_PASS, redis_ping="failed", student_name="failed", persistence="failed"), "redis-ping",
            "Redis asks for a password", check_limit_s=10),
    BadCase("bad-name-hash", from_case("bad-name-hash", _hash_dump, dump=False), NAME_FAILS, "student-name",
            "The key `student_name` holds a hash, not a string."),
    BadCase("bad-name-list", from_case("bad-name-list", _list_dump, dump=False), NAME_FAILS, "student-name",
            "The key `student_name` holds a list, not a string."),
    BadCase("bad-dump-garbage", from_case("bad-dump-garbage", _garbage_dump, dump=False), NAME_FAILS, "student-name",
            "does not exist in Redis, because the grader did not load dump.rdb: dump.rdb is not a Redis data file"),
    BadCase("bad-dump-truncated", from_case("bad-dump-truncated", _truncated_dump, dump=False), NAME_FAILS,
            "student-name", "does not exist in Redis, because the grader did not load dump.rdb: dump.rdb is damaged: "
            "it is cut short or its checksum does not match"),
    BadCase("bad-dump-symlink", from_case("bad-dump-symlink", _symlinked_dump, dump=False), NAME_FAILS, "student-name",
            "does not exist in Redis, because the grader did not load dump.rdb: dump.rdb is a symbolic link"),
]


def _many_files(folder: Path) -> None:
    notes = folder / "node_modules"
    notes.mkdir()
    for i in range(6000):
        (notes / f"f{i}.js").write_bytes(b"")


def _huge_file(folder: Path) -> None:
    with open(folder / "backup.tar", "wb") as handle:  # sparse: no disk used
        handle.truncate(300 * 1024 * 1024)


def _unreadable_files(folder: Path) -> None:
    os.mkfifo(folder / "notes.fifo")
    (folder / "old-notes.txt").symlink_to("missing-notes.txt")
    secret = folder / "secret.txt"
    secret.write_text("no one may read this\n")
    secret.chmod(0)


def _compose_link(target: str) -> Callable[[Path], None]:
    def step(folder: Path) -> None:
        (folder / "docker-compose.yml").unlink()
        (folder / "docker-compose.yml").symlink_to(target)
    return step


LOAD_FAILS = {check: "skipped" for check in ALL_CHECKS} | {"compose-file": "failed"}
SUBMISSION_CASES = [
    BadCase("submission-many-files", from_case("bad-submission-base", _many_files), LOAD_FAILS, "compose-file",
            "The submission holds more than 5,000 files; the grader stops copying there.", limit_s=30),
    BadCase("submission-huge-file", from_case("bad-submission-base", _huge_file), LOAD_FAILS, "compose-file",
            "The submission is larger than 200 MiB; the grader stops copying there (at backup.tar, 300.0 MiB).",
            limit_s=30),
    BadCase("submission-unreadable-files", from_case("bad-submission-base", _unreadable_files), REDIS_ONLY_PASS,
            "compose-file", "docker-compose.yml is valid Compose", details="notes.fifo (not a regular file)"),
    BadCase("submission-compose-links-outside", from_case("bad-submission-base", _compose_link("/etc/hostname")),
            LOAD_FAILS, "compose-file", "docker-compose.yml is a symbolic link to '/etc/hostname', which is outside "
            "the submission folder", limit_s=30),
    BadCase("submission-compose-links-to-dev-zero", from_case("bad-submission-base", _compose_link("/dev/zero")),
            LOAD_FAILS, "compose-file", "docker-compose.yml is a symbolic link to '/dev/zero', which is outside",
            limit_s=30),
]

CASES = YAML_CASES + RUN_CASES + WEB_CASES + REDIS_CASES + SUBMISSION_CASES


@dataclass
class Outcome:
    folder: Path | None
    before: str | None
    graded: Graded | BaseException


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory, docker_engine: None,
             leak_watch: None) -> Iterator[dict[str, Outcome]]:  # noqa: F811 - the imported fixture
    """Every case, made in a private folder and graded (several at once)."""
    root = tmp_path_factory.mktemp("bad")
    out = tmp_path_factory.mktemp("bad-json")
    made: dict[str, tuple[Path | None, str | None, BaseException | None]] = {}
    for item in CASES:
        try:
            (root / item.name).mkdir()
            folder = item.make(root / item.name)
            made[item.name] = (folder, fingerprint(folder), None)
        except BaseException as exc:  # noqa: BLE001 - e.g. a skip: reported by the case's test
            made[item.name] = (None, None, exc)
    jobs = {name: (lambda folder=folder: grade(folder, out)) for name, (folder, _, error) in made.items() if not error}
    # the slow ones first, so the pool is not left waiting on them at the end
    order = sorted(jobs, key=lambda name: not name.startswith(("bad-web", "bad-build")))
    results = grade_all({name: jobs[name] for name in order}, workers=3)
    yield {name: Outcome(folder, before, error or results[name]) for name, (folder, before, error) in made.items()}


@pytest.mark.parametrize("item", CASES, ids=lambda item: item.name)
def test_bad_input_gets_a_clean_specific_result(item: BadCase, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[item.name]
    if isinstance(outcome.graded, BaseException):
        raise outcome.graded
    graded = outcome.graded
    assert_clean_output(graded)
    assert graded.statuses == item.statuses, {c["id"]: (c["status"], c["message"]) for c in graded.result["checks"]}
    judged = graded.check(item.check)
    assert item.fragment in judged["message"], judged["message"]
    if item.details:
        assert item.details in (judged["details"] or ""), judged["details"]
    if item.hint:
        assert item.hint in (judged["hint"] or ""), judged["hint"]
    if item.line:
        assert judged["location"] == {"file": "docker-compose.yml", "line": item.line}, judged["location"]
    for check in graded.result["checks"]:
        if check["status"] == "failed":
            assert check["message"] and check["hint"], f"{check['id']} fails without saying how to fix it"
    required_pass = all(status == "passed" for check, status in item.statuses.items() if check != "flask-counter")
    assert graded.code == (0 if required_pass else 1), graded.output[-2000:]
    assert graded.duration_s < item.limit_s, f"took {graded.duration_s:.1f} s"
    if item.check_limit_s:
        assert judged["duration_s"] < item.check_limit_s, f"{item.check} took {judged['duration_s']} s"
    assert outcome.folder is not None and fingerprint(outcome.folder) == outcome.before, \
        "the grader wrote into the submission folder"


def test_the_corpus_folders_are_all_used() -> None:
    on_disk = {path.name for path in HOSTILE.iterdir() if path.name.startswith("bad-")}
    used = {item.name for item in RUN_CASES + WEB_CASES + REDIS_CASES} | {"bad-submission-base"}
    assert on_disk == used
