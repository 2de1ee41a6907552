"""A lost queue worker costs a minute, not the visibility timeout.

Real redis-server on loopback, real `grader worker` processes with default settings, real
gradings of sample submissions on the real engine; one worker is killed (or stopped) while it
grades, and the batch must still end with every expected status, the lost submission regraded
by the other worker within a minute, the dead worker's stack gone within a minute, and nothing
left behind.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import redis

from grader.docker.bootfile import LABEL, OWNER_LABEL
from grader.batch.queue.config import (
    SENT_KEY,
    attempt_id,
    make_app,
    queue_secret,
    task_id,
)
from grader.batch.queue.coordinator import send
from grader.batch.queue.payload import make_payload, zip_folder
from grader.rubric import Rubric
from grader.submission.workspace import WORKSPACE_PREFIX
from tests.conftest import SAMPLES, docker_lines, redis_server
from tests.test_queue import PASSWORD, Workers, group_pids, statuses_by_submission
from tests.test_samples_e2e import EXPECTED

QUICK = ["no_volume", "redis_only", "wrong_image"]  # Redis only, about 6 s each; no_volume has an anonymous volume
WITHIN_S = 60.0
HOST = socket.gethostname()


class Coordinator:
    """`grader batch --queue` as a subprocess, and every line it prints with when it arrived."""

    def __init__(self, folder: Path, out: Path, broker_url: str) -> None:
        self.lines: list[tuple[float, str]] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader.cli", "batch", str(folder), "--out", str(out), "--queue", broker_url],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def wait(self, timeout: float) -> int:
        code = self.process.wait(timeout=timeout)
        self.reader.join(timeout=10)
        return code

    def first(self, pattern: str) -> float | None:
        return next((at for at, line in self.lines if re.search(pattern, line)), None)

    def count(self, pattern: str) -> int:
        return sum(1 for _, line in self.lines if re.search(pattern, line))

    def text(self) -> str:
        return "\n".join(line for _, line in self.lines)[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path, PASSWORD) as port:
        yield f"redis://:{PASSWORD}@127.0.0.1:{port}/0"


@pytest.fixture
def pool(broker: str, tmp_path: Path) -> Iterator[Workers]:
    (tmp_path / "work").mkdir()  # the workers' temporary folders, to see that none is left
    workers = Workers(broker, {"TMPDIR": str(tmp_path / "work")}, tmp_path / "logs")  # no shortened timeouts
    try:
        yield workers
    finally:
        workers.stop()


def class_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "class"
    for name in QUICK:
        shutil.copytree(SAMPLES / name, folder / name)
    return folder


def owners(pgid: int) -> set[str]:
    return {f"{HOST}:{pid}" for pid in group_pids(pgid)}


def running_stacks() -> dict[str, set[str]]:
    """Running grader containers by owner (host:pid), as the engine labels them."""
    result = subprocess.run(["docker", "ps", "--filter", f"label={OWNER_LABEL}", "--filter", "status=running",
                             "--format", f'{{{{.ID}}}} {{{{.Label "{OWNER_LABEL}"}}}}'],
                            capture_output=True, text=True, timeout=60, check=True)
    stacks: dict[str, set[str]] = {}
    for line in result.stdout.splitlines():
        container, _, owner = line.partition(" ")
        stacks.setdefault(owner, set()).add(container)
    return stacks


def wait_until_grading(workers: Workers, timeout: float = 180) -> tuple[subprocess.Popen, set[str], set[str],
                                                                      dict[str, set[str]]]:
    """The first worker seen running a stack with an anonymous volume (no_volume's: the first two
    submissions sent go to the two workers at once): its process, owners, containers and stack."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stacks = running_stacks()
        for process in workers.processes:
            mine = owners(process.pid)
            containers = set().union(*(stacks.get(owner, set()) for owner in mine))
            stack = stack_of(containers) if containers else {"volume": set()}
            if any(ANONYMOUS.match(volume) for volume in stack["volume"]):
                return process, mine, containers, stack
        time.sleep(0.05)
    raise AssertionError("no worker started grading no_volume")


ANONYMOUS = re.compile(r"^[0-9a-f]{64}$")  # how the engine names a volume nobody named


def stack_of(containers: set[str]) -> dict[str, set[str]]:
    """The volumes (named and anonymous) and networks the engine gave these containers."""
    done = subprocess.run(["docker", "inspect", *containers], capture_output=True, text=True, timeout=60)
    infos = json.loads(done.stdout or "[]")  # a container may be gone already: the grading moved on
    return {"volume": {mount["Name"] for info in infos for mount in info["Mounts"] if mount["Type"] == "volume"},
            "network": {name for info in infos for name in info["NetworkSettings"]["Networks"]}}


def existing(kind: str, names: set[str]) -> set[str]:
    listing = {"container": ["ps", "-aq", "--no-trunc"], "volume": ["volume", "ls", "-q"],
               "network": ["network", "ls", "--format", "{{.Name}}"]}[kind]
    present = docker_lines(*listing)
    return {name for name in names if name in present or any(item.startswith(name) for item in present)}


def owned(owner_set: set[str]) -> dict[str, set[str]]:
    """Every container, volume, network and image carrying the grader's label and one of these owners."""
    listings = {"container": ["ps", "-aq"], "volume": ["volume", "ls", "-q"], "network": ["network", "ls", "-q"],
                "image": ["image", "ls", "-aq"]}
    return {kind: set().union(*(docker_lines(*listing, "--filter", f"label={LABEL}",
                                             "--filter", f"label={OWNER_LABEL}={owner}") for owner in owner_set))
            for kind, listing in listings.items()}


def wait_until_gone(owner_set: set[str], containers: set[str], stack: dict[str, set[str]], timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(owned(owner_set).values()) and not existing("container", containers) \
                and not existing("volume", stack["volume"]) and not existing("network", stack["network"]):
            return time.monotonic()
        time.sleep(0.5)
    raise AssertionError(f"the lost worker's stack is still there after {timeout:g} s: {owned(owner_set)}")


def work_folders(work: Path, owner_set: set[str]) -> list[str]:
    """Work folders of these processes (the grader names them prefix + pid + '-')."""
    prefixes = tuple(f"{WORKSPACE_PREFIX}{owner.rpartition(':')[2]}-" for owner in owner_set)
    return [path.name for path in work.iterdir() if path.name.startswith(prefixes)]


def wait_until_no_folders(work: Path, owner_set: set[str], timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while work_folders(work, owner_set):
        assert time.monotonic() < deadline, f"left in TMPDIR: {work_folders(work, owner_set)}"
        time.sleep(0.5)
    return time.monotonic()


def when(iso: str) -> float:
    moment = datetime.fromisoformat(iso)
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


Lose = Callable[[subprocess.Popen, Coordinator], None]


def lose_a_worker(workers: Workers, folder: Path, out: Path, broker_url: str, lose: Lose,
                  swept: bool = True) -> dict[str, Any]:
    """Start two workers and a batch, `lose` the first worker seen grading; what happened, and when."""
    workers.start(2)
    coordinator = Coordinator(folder, out, broker_url)
    try:
        victim, victim_owners, containers, stack = wait_until_grading(workers)
        others = set().union(*(owners(process.pid) for process in workers.processes if process is not victim))
        lost_wall, lost_at = time.time(), time.monotonic()
        lose(victim, coordinator)
        swept_at = wait_until_gone(victim_owners, containers, stack, timeout=90) if swept else None
        work = Path(workers.env["TMPDIR"])
        folders_at = wait_until_no_folders(work, victim_owners, timeout=90) if swept else None
        assert coordinator.wait(timeout=300) == 0, coordinator.text()
        return {"coordinator": coordinator, "victim": victim_owners, "others": others, "stack": stack,
                "containers": containers, "lost_wall": lost_wall, "lost_at": lost_at, "swept_at": swept_at,
                "folders_at": folders_at, "work": work}
    finally:
        coordinator.stop()


def check_regraded(run: dict[str, Any], out: Path) -> tuple[str, float]:
    """Every submission has its expected statuses and was counted once; the lost one was taken
    over by the other worker. Returns its name and the seconds from the loss to its regrade."""
    got = statuses_by_submission(out)
    assert got == {name: EXPECTED[name]["checks"] for name in QUICK}
    coordinator: Coordinator = run["coordinator"]
    for name in QUICK:
        assert coordinator.count(rf"^\[\s*\d+/{len(QUICK)}\] {name}: ") == 1, coordinator.text()
    entries = {entry["submission"]: entry for entry in json.loads((out / "results.json").read_text())}
    regraded = [name for name, entry in entries.items() if entry["batch"].get("regraded")]
    assert len(regraded) == 1, coordinator.text()
    name = regraded[0]
    lost = entries[name]["batch"]["regraded"][0]
    assert lost["worker"] in run["victim"] and entries[name]["batch"]["worker"] == lost["taken_over_by"]
    assert lost["taken_over_by"] in run["others"]
    said_lost = coordinator.first(rf"^\[regrade\] {name}: worker {lost['worker']} was lost \(")
    said_taken = coordinator.first(rf"^\[regrade\] {name}: regrading on {lost['taken_over_by']} "
                                   rf"\(worker {lost['worker']} was lost\)")
    assert said_lost is not None and said_taken is not None and said_lost <= said_taken, coordinator.text()
    regrade_s = when(lost["regrade_started_at"]) - run["lost_wall"]
    assert 0 < regrade_s <= WITHIN_S and said_taken - run["lost_at"] <= WITHIN_S + 1
    return name, regrade_s


def check_nothing_left(workers: Workers, run: dict[str, Any]) -> None:
    workers.stop()
    # An empty pymp-* is Python's multiprocessing's, in a SIGKILLed Celery main process: not the grader's.
    left = [path.name for path in run["work"].iterdir() if not (path.name.startswith("pymp-") and
                                                                path.is_dir() and not any(path.iterdir()))]
    assert not left, f"the workers left temporary files: {left}"
    assert not any(owned(run["victim"] | run["others"]).values())
    assert not existing("container", run["containers"])
    assert not existing("volume", run["stack"]["volume"]), "a volume of the lost stack (anonymous ones too) is left"
    assert not existing("network", run["stack"]["network"] - {"bridge", "host", "none"})


def sigkill(group: bool) -> Lose:
    def lose(victim: subprocess.Popen, coordinator: Coordinator) -> None:
        if group:
            os.killpg(victim.pid, signal.SIGKILL)
        else:
            os.kill(victim.pid, signal.SIGKILL)  # the main process only: Celery's pool dies with it
        victim.wait(timeout=30)
    return lose


@pytest.mark.docker
@pytest.mark.parametrize("group", [False, True], ids=["main-process", "process-group"])
def test_a_killed_worker_is_regraded_and_swept_within_a_minute(docker_engine, broker: str, pool: Workers,
                                                               tmp_path: Path, group: bool) -> None:
    run = lose_a_worker(pool, class_folder(tmp_path), tmp_path / "out", broker, sigkill(group))
    name, regrade_s = check_regraded(run, tmp_path / "out")
    swept_s, folders_s = run["swept_at"] - run["lost_at"], run["folders_at"] - run["lost_at"]
    print(f"\nSIGKILL of the worker's {'process group' if group else 'main process'} grading {name}: "
          f"regrade started {regrade_s:.1f} s later, its stack was gone {swept_s:.1f} s later, "
          f"its work folders {folders_s:.1f} s later "
          f"({len(run['containers'])} container(s), volumes {sorted(run['stack']['volume'])}, "
          f"networks {sorted(run['stack']['network'])})")
    assert swept_s <= WITHIN_S and folders_s <= WITHIN_S
    check_nothing_left(pool, run)


def stop_until_regraded(victim: subprocess.Popen, coordinator: Coordinator) -> None:
    """SIGSTOP the whole worker (it looks dead: no heartbeats), SIGCONT it once it was declared lost:
    its grading then finishes and sends a result for the lost attempt."""
    os.killpg(victim.pid, signal.SIGSTOP)
    try:
        deadline = time.monotonic() + WITHIN_S
        while coordinator.first(r"^\[regrade\] .*was lost \(") is None:
            assert time.monotonic() < deadline and coordinator.process.poll() is None, coordinator.text()
            time.sleep(0.2)
    finally:
        os.killpg(victim.pid, signal.SIGCONT)


@pytest.mark.docker
def test_a_late_result_from_a_worker_thought_lost_is_not_counted(docker_engine, broker: str, pool: Workers,
                                                                 tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = lose_a_worker(pool, class_folder(tmp_path), out, broker, stop_until_regraded, swept=False)
    name, _ = check_regraded(run, out)
    entry = next(entry for entry in json.loads((out / "results.json").read_text()) if entry["submission"] == name)
    lost_attempt = task_id(entry["batch"]["content_hash"], entry["batch"]["grading_key"])
    client = redis.Redis.from_url(broker)
    try:
        late = json.loads(client.get(f"celery-task-meta-{lost_attempt}") or b"{}")
    finally:
        client.close()
    assert late.get("status") == "SUCCESS", "the stopped worker should have finished its grading"
    assert late["result"]["worker"] in run["victim"]
    # It arrived while the coordinator still waited, and the regrade's result was taken instead.
    assert when(late["date_done"]) < when(entry["batch"]["graded_at"]) + 1
    assert entry["batch"]["worker"] not in run["victim"]
    check_nothing_left(pool, run)



def warm_shutdown(victim: subprocess.Popen, coordinator: Coordinator) -> None:
    os.kill(victim.pid, signal.SIGTERM)  # Celery stops taking work, finishes its grading, then exits


@pytest.mark.docker
def test_a_worker_stopping_warmly_finishes_its_grading_and_nothing_is_regraded(docker_engine, broker: str,
                                                                               pool: Workers, tmp_path: Path) -> None:
    """Its heartbeats stop at once, but the grading's own beats go on: nothing is regraded."""
    out = tmp_path / "out"
    run = lose_a_worker(pool, class_folder(tmp_path), out, broker, warm_shutdown, swept=False)
    assert statuses_by_submission(out) == {name: EXPECTED[name]["checks"] for name in QUICK}
    assert run["coordinator"].count(r"^\[regrade\]") == 0, run["coordinator"].text()
    entries = json.loads((out / "results.json").read_text())
    assert any(entry["batch"]["worker"] in run["victim"] for entry in entries), "the stopping worker's grading counts"
    assert not any(entry["batch"].get("regraded") for entry in entries)
    check_nothing_left(pool, run)

# A lost attempt delivered again --------------------------------------------------------------------

@pytest.mark.docker
def test_a_worker_drops_an_attempt_that_was_superseded(docker_engine, broker: str, pool: Workers) -> None:
    """What the broker restores after the visibility timeout, once the submission was sent again,
    is acknowledged without grading (a worker started after the revoke never heard of it)."""
    app = make_app(broker)
    try:
        first = task_id("ef" * 32, "01" * 16)
        payload = make_payload("redis_only", zip_folder(SAMPLES / "redis_only"), Rubric(), "static",
                               queue_secret(broker))
        app.backend.client.set(SENT_KEY + first, attempt_id(first, 1))
        pool.start(1)
        send(app, first, payload)                    # the lost attempt, delivered again
        send(app, attempt_id(first, 1), payload)     # the current one
        current = app.AsyncResult(attempt_id(first, 1)).get(timeout=120)
        assert current["submission"] == "redis_only" and current["mode"] == "static"
        deadline = time.monotonic() + 60
        while app.AsyncResult(first).state not in ("REVOKED", "SUCCESS", "FAILURE"):
            assert time.monotonic() < deadline, "the superseded attempt was never taken"
            time.sleep(0.2)
        assert app.AsyncResult(first).state == "REVOKED", "the superseded attempt was graded"
        assert not app.backend.client.hlen("unacked"), "taken, but not acknowledged"
    finally:
        app.close()
