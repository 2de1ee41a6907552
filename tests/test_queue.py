"""Grading on Celery workers: a real Redis on loopback as broker and backend, real worker
processes, real gradings; the payload checks that keep workers to grading only; and what the
queue commands say without Celery."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from grader.batch.events import BatchEvent
from grader.batch.queue.config import (
    QueueError,
    attempt_id,
    attempt_of,
    first_id_of,
    make_app,
    task_id,
)
from grader.batch.queue.liveness import Beats, beating
from grader.batch.queue.payload import (
    PayloadRefused,
    check_payload,
    make_payload,
    rubric_from_dict,
    rubric_to_dict,
    zip_folder,
)
from grader.cli.batch import LiveProgress, PlainProgress
from grader.rubric import Rubric, load_rubric
from tests.conftest import REPO, SAMPLES, redis_server
from tests.test_batch_samples import submission_id
from tests.test_samples_e2e import EXPECTED

PASSWORD = "s3cret-broker-pass"


# Payloads (pure logic) ------------------------------------------------------------------------------

def test_rubric_travels_intact() -> None:
    rubric = load_rubric(REPO / "examples" / "rubric.yml")
    rubric = Rubric(expect=rubric.expect, limits=rubric.limits, checks=rubric.checks,
                    allowed_policy_rules=frozenset({"cap-add"}))
    assert rubric_from_dict(json.loads(json.dumps(rubric_to_dict(rubric)))) == rubric


def test_extra_checks_cannot_travel() -> None:
    with pytest.raises(QueueError, match="extra_checks"):
        rubric_to_dict(load_rubric(REPO / "examples" / "rubric.yml"))


def test_workers_refuse_what_is_not_a_grading_task(tmp_path: Path) -> None:
    good = make_payload("s", zip_folder(SAMPLES / "no_web"), Rubric(), "auto", b"key")
    check_payload(good, b"key")
    for broken, reason in (({**good, "kind": "something/else"}, "not a compose-grader"),
                           ({**good, "version": 99}, "version"),
                           ({**good, "mode": "static"}, "bad signature"),   # changed after signing
                           ("rm -rf /", "not a compose-grader")):
        with pytest.raises(PayloadRefused, match=reason):
            check_payload(broken, b"key")
    with pytest.raises(PayloadRefused, match="bad signature"):
        check_payload(good, b"another key")


def test_archive_over_the_cap_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "big.bin").write_bytes(os.urandom(200_000))
    with pytest.raises(QueueError, match="larger than"):
        zip_folder(tmp_path, limit=100_000)


def test_only_redis_urls() -> None:
    with pytest.raises(QueueError, match="Redis URL"):
        make_app("amqp://guest@localhost//")


def test_a_grading_is_lost_once_its_beat_stops_changing() -> None:
    now = [0.0]
    beats = Beats(lost_after_s=15, clock=lambda: now[0])
    assert beats.lost("t", None) is None              # Celery's own STARTED, before the first beat
    for beat, at in ((0, 1.0), (1, 6.0), (2, 11.0)):
        now[0] = at
        assert beats.lost("t", beat) is None
    now[0] = 26.0
    assert beats.lost("t", 2) is None                 # 15 s since the beat changed: not yet
    now[0] = 26.5
    assert beats.lost("t", 2) == "no sign of life for 16 s"
    assert beats.lost("other", 2) is None             # counted per attempt, from when first seen


def test_beating_writes_until_the_block_ends_and_never_after() -> None:
    written: list[int] = []
    with beating(written.append, interval_s=0.05):
        time.sleep(0.3)
    count = len(written)
    time.sleep(0.2)
    assert written == list(range(count)) and count >= 3 and len(written) == count


def test_attempt_ids_are_told_apart() -> None:
    first = task_id("ab" * 32, "cd" * 16)
    assert [attempt_id(first, n) for n in range(3)] == [first, f"{first}-r1", f"{first}-r2"]
    assert {first_id_of(attempt_id(first, n)) for n in range(3)} == {first}
    assert [attempt_of(attempt_id(first, n)) for n in range(3)] == [0, 1, 2]



# The progress views ----------------------------------------------------------------------------------

REGRADE_EVENTS = [BatchEvent("queued", "alice", total=2), BatchEvent("phase", "alice", phase="grading on vm:1", total=2),
                  BatchEvent("regrade", "alice", phase="worker vm:1 was lost (no heartbeat for 16 s); sent again, "
                             "ahead of the queue", total=2),
                  BatchEvent("regrade", "alice", phase="regrading on vm:2 (worker vm:1 was lost)", total=2)]


def test_the_live_view_shows_a_regrade_and_who_took_it_over() -> None:
    console = Console(record=True, width=120, force_terminal=True)
    view = LiveProgress(console, jobs=2)
    for event in REGRADE_EVENTS:
        view(event)
    console.print(view)
    screen = console.export_text()
    assert "alice: worker vm:1 was lost (no heartbeat for 16 s); sent again" in screen  # printed above the table
    assert re.search(r"alice\s+↻ regrading on vm:2 \(worker vm:1 was lost\)", screen), screen


def test_the_plain_view_prints_a_line_per_regrade_event() -> None:
    console = Console(record=True, width=200)
    view = PlainProgress(console)
    for event in REGRADE_EVENTS:
        view(event)
    assert console.export_text().splitlines() == [
        "[regrade] alice: worker vm:1 was lost (no heartbeat for 16 s); sent again, ahead of the queue",
        "[regrade] alice: regrading on vm:2 (worker vm:1 was lost)"]


# Without the `queue` extra ---------------------------------------------------------------------------

WITHOUT_CELERY = """
import runpy, sys

class HideCelery:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {"celery", "kombu", "billiard"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, HideCelery())
sys.argv[0] = "grader"
runpy.run_module("grader.cli", run_name="__main__")
"""


def grader_without_celery(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", WITHOUT_CELERY, *args], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("command", [["worker", "--broker", "redis://127.0.0.1:6379/0"],
                                     ["batch", "{folder}", "--out", "{out}", "--queue", "redis://127.0.0.1:6379/0"]],
                         ids=["worker", "batch--queue"])
def test_without_celery_the_queue_commands_say_what_to_install(tmp_path: Path, command: list[str]) -> None:
    shutil.copytree(SAMPLES / "redis_only", tmp_path / "class" / "redis_only")
    args = [arg.format(folder=tmp_path / "class", out=tmp_path / "out") for arg in command]
    done = grader_without_celery(*args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip() == "error: grading on a queue needs Celery, which is not installed here: " \
                                  "pip install 'compose-grader[queue]'"
    assert "Traceback" not in done.stdout and not (tmp_path / "out").exists()


def test_without_celery_a_local_batch_still_grades(tmp_path: Path) -> None:
    """The blocker hides only Celery: the same command without --queue grades (statically here)."""
    shutil.copytree(SAMPLES / "redis_only", tmp_path / "class" / "redis_only")
    done = grader_without_celery("batch", str(tmp_path / "class"), "--out", str(tmp_path / "out"), "--static")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "out" / "results.json").is_file()


# End to end ------------------------------------------------------------------------------------------

@pytest.fixture
def broker(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path, PASSWORD) as port:
        yield f"redis://:{PASSWORD}@127.0.0.1:{port}/0"


class Workers:
    """Real `grader worker` processes, each the leader of its own process group."""

    def __init__(self, broker_url: str, env: dict[str, str], logs: Path) -> None:
        self.broker_url, self.env, self.logs, self.processes = broker_url, env, logs, []

    def start(self, count: int) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        for _ in range(count):
            with open(self.logs / f"worker-{len(self.processes)}.log", "w") as log:
                self.processes.append(subprocess.Popen(
                    [sys.executable, "-m", "grader.cli", "worker", "--broker", self.broker_url, "-c", "1",
                     "--loglevel", "WARNING"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                    env={**os.environ, **self.env}))

    def stop(self) -> None:
        """SIGTERM every group (a warm shutdown), then wait until none of their processes is left."""
        for process in self.processes:
            signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        for process in self.processes:
            while group_pids(process.pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            signal_group(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass


def group_pids(pgid: int) -> set[int]:
    """The live (not zombie) processes of a process group."""
    found = set()
    for entry in os.listdir("/proc"):
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
        except (OSError, ValueError):
            continue
        if entry.isdigit() and int(fields[2]) == pgid and fields[0] != "Z":
            found.add(int(entry))
    return found


@pytest.fixture
def workers(broker: str, tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(broker, {"GRADER_QUEUE_VISIBILITY_TIMEOUT": "20"}, tmp_path / "logs")
    try:
        yield pool
    finally:
        pool.stop()


def batch(folder: Path, out: Path, broker_url: str, timeout: float = 1500) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "grader.cli", "batch", str(folder), "--out", str(out),
                           "--queue", broker_url], capture_output=True, text=True, timeout=timeout)


def statuses_by_submission(out: Path) -> dict[str, dict[str, str]]:
    return {entry["submission"]: {check["id"]: check["status"] for check in entry["checks"]}
            for entry in json.loads((out / "results.json").read_text())}


@pytest.mark.docker
def test_queue_batch_over_the_samples_matches_expected(docker_engine, broker: str, workers: Workers,
                                                        tmp_path: Path) -> None:
    workers.start(2)
    first = batch(SAMPLES, tmp_path / "out", broker)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    got = statuses_by_submission(tmp_path / "out")
    for name, expected in EXPECTED.items():
        assert got[submission_id(name)] == expected["checks"], name
    entries = json.loads((tmp_path / "out" / "results.json").read_text())
    assert len({entry["batch"]["worker"] for entry in entries}) == 2, "both workers should have graded"
    assert (tmp_path / "out" / "index.html").is_file() and (tmp_path / "out" / "grades.csv").is_file()
    # A coordinator started again with another output folder takes the results from the backend.
    workers.stop()
    started = time.monotonic()
    again = batch(SAMPLES, tmp_path / "again", broker, timeout=120)
    assert again.returncode == 0 and time.monotonic() - started < 60
    assert statuses_by_submission(tmp_path / "again") == got
