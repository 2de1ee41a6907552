"""Grading on Celery workers: a real Redis on loopback as broker and backend, real worker
processes, real gradings; and the payload checks that keep workers to grading only."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.bootfile import OWNER_LABEL
from grader.queue import (
    PayloadRefused,
    QueueError,
    check_payload,
    make_app,
    make_payload,
    rubric_from_dict,
    rubric_to_dict,
    zip_folder,
)
from grader.rubric import Rubric, load_rubric
from tests.conftest import REPO, SAMPLES, docker_lines, redis_server
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


# End to end ------------------------------------------------------------------------------------------

@pytest.fixture
def broker(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path, PASSWORD) as port:
        yield f"redis://:{PASSWORD}@127.0.0.1:{port}/0"


class Workers:
    def __init__(self, broker_url: str, env: dict[str, str]) -> None:
        self.broker_url, self.env, self.processes = broker_url, env, []

    def start(self, count: int) -> None:
        for index in range(count):
            log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"grader-worker-{os.getpid()}-{index}.log", "w")
            self.processes.append(subprocess.Popen(
                [sys.executable, "-m", "grader.cli", "worker", "--broker", self.broker_url, "-c", "1",
                 "--loglevel", "WARNING"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, **self.env}))

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def workers(broker: str) -> Iterator[Workers]:
    pool = Workers(broker, {"GRADER_QUEUE_VISIBILITY_TIMEOUT": "20"})
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


def owned_by_group(pgid: int) -> set[str]:
    pids = {int(p) for p in os.listdir("/proc") if p.isdigit() and _pgid(int(p)) == pgid}
    found: set[str] = set()
    for pid in pids:
        found |= docker_lines("ps", "-aq", "--filter", f"label={OWNER_LABEL}={socket.gethostname()}:{pid}")
    return found


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


@pytest.mark.docker
def test_sigkill_of_a_grading_worker_loses_nothing(docker_engine, broker: str, workers: Workers,
                                                   tmp_path: Path) -> None:
    names = ["perfect", "redis_only", "no_web", "wrong_port"]
    folder = tmp_path / "in"
    for name in names:
        shutil.copytree(SAMPLES / name, folder / name)
    volumes_before = docker_lines("volume", "ls", "-q")
    workers.start(2)
    coordinator = subprocess.Popen([sys.executable, "-m", "grader.cli", "batch", str(folder), "--out",
                                    str(tmp_path / "out"), "--queue", broker],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    victim = workers.processes[0]
    deadline = time.monotonic() + 300
    while not owned_by_group(victim.pid):
        assert time.monotonic() < deadline, "the first worker never started a grading"
        time.sleep(0.2)
    os.killpg(victim.pid, signal.SIGKILL)
    output, errors = coordinator.communicate(timeout=900)
    assert coordinator.returncode == 0, output[-2000:] + errors[-2000:]
    got = statuses_by_submission(tmp_path / "out")
    for name in names:
        assert got[name] == EXPECTED[name]["checks"], name
    assert not owned_by_group(victim.pid)
    workers.stop()
    leftovers = docker_lines("ps", "-aq", "--filter", "label=org.compose-grader")
    assert not leftovers, "a killed worker's containers were not swept"
    assert docker_lines("volume", "ls", "-q") <= volumes_before
