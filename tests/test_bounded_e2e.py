"""Floods from a graded stack, end to end on the real engine: bounded memory, a clean result, nothing left.

- tests/hostile/flood-cat: the web image's /bin/cat writes for ever, and its app listens on
  127.0.0.1 only, so flask-counter looks inside the container with `cat /proc/net/tcp`.
- tests/hostile/fake-redis-huge: the Redis service is a fake RESP server built from the
  submission that answers every command with a gigabyte bulk string.

Each is graded with grader.grade() in full mode in a fresh Python process, which reports the
result, its own peak RSS (VmHWM) and which commands the runner stopped for printing too much;
afterwards nothing with that process's owner label or the run's label may remain in Docker.
"""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SAMPLES

pytestmark = pytest.mark.docker

HOSTILE = REPO / "tests" / "hostile"
PEAK_RSS_LIMIT = 400 * 1024 * 1024  # a normal grading peaks near 100 MiB; the flood once passed 8 GiB

GRADE = """
import json, sys
from grader.docker import runner

stopped, projects = [], set()
real_run = runner.run

def spy(argv, **kwargs):
    argv = [str(arg) for arg in argv]
    if "-p" in argv:
        projects.add(argv[argv.index("-p") + 1])
    result = real_run(argv, **kwargs)
    if result.killed_for_output:
        stopped.append(" ".join(argv[-4:]))
    return result

runner.run = spy  # the grader calls runner.run through the module: every command passes here

import grader

result = grader.grade(sys.argv[1], mode="full")
peak = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"result": result.to_dict(), "peak_rss": peak, "stopped": stopped, "projects": sorted(projects)}))
"""


def grade_in_process(submission: Path) -> tuple[dict, int]:
    process = subprocess.Popen([sys.executable, "-c", GRADE, str(submission)], cwd=REPO, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={"PYTHONPATH": str(REPO), "PATH": "/usr/local/bin:/usr/bin:/bin",
                                    "HOME": str(Path.home())})
    try:
        stdout, stderr = process.communicate(timeout=900)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        pytest.fail(f"grading {submission.name} did not finish within 900 s:\n{stderr[-3000:]}")
    assert process.returncode == 0, stderr[-4000:]
    assert "Traceback" not in stderr, stderr[-4000:]
    return json.loads(stdout.splitlines()[-1]), process.pid


def left_in_docker(pid: int, projects: list[str]) -> list[str]:
    """Containers, volumes, networks and images of that grading that still exist."""
    labels = [f"org.compose-grader.owner={socket.gethostname()}:{pid}"]
    labels += [f"org.compose-grader.run={name.removeprefix('grader-')}" for name in projects]
    labels += [f"com.docker.compose.project={name}" for name in projects]
    found = []
    for kind in ("container", "volume", "network", "image"):
        listing = ["ps", "-a"] if kind == "container" else [kind, "ls"]
        for label in labels:
            done = subprocess.run(["docker", *listing, "-q", "--filter", f"label={label}"],
                                  capture_output=True, text=True, timeout=60, check=True)
            found += [f"{kind} {key} ({label})" for key in done.stdout.split()]
    return found


def graded(name: str, tmp_path: Path, with_dump: bool) -> tuple[dict, int, int, list[str], list[str]]:
    submission = tmp_path / name
    shutil.copytree(HOSTILE / name, submission)
    if with_dump:
        shutil.copyfile(SAMPLES / "redis_only" / "dump.rdb", submission / "dump.rdb")
    report, pid = grade_in_process(submission)
    assert report["projects"], "the grading never ran Compose"
    statuses = {check["id"]: check for check in report["result"]["checks"]}
    errors = {key: check["message"] for key, check in statuses.items() if check["status"] == "error"}
    assert not errors, errors
    return statuses, report["peak_rss"], pid, report["projects"], report["stopped"]


def test_a_cat_that_never_stops_writing(docker_engine: None, tmp_path: Path) -> None:
    checks, peak, pid, projects, stopped = graded("flood-cat", tmp_path, with_dump=True)
    assert any("cat /proc/net/tcp /proc/net/tcp6" in command for command in stopped), stopped  # it did flood
    assert peak < PEAK_RSS_LIMIT, f"the grader's peak RSS was {peak / 2**20:.0f} MiB"
    assert checks["stack-up"]["status"] == "passed"
    assert checks["redis-ping"]["status"] == "passed"  # the flood in one service spoils nothing else
    assert checks["student-name"]["status"] == "passed"
    counter = checks["flask-counter"]
    assert counter["status"] == "failed"
    assert "could not be reached" in counter["message"], counter["message"]
    assert left_in_docker(pid, projects) == []


def test_a_fake_redis_that_answers_a_gigabyte(docker_engine: None, tmp_path: Path) -> None:
    checks, peak, pid, projects, _ = graded("fake-redis-huge", tmp_path, with_dump=False)
    assert peak < PEAK_RSS_LIMIT, f"the grader's peak RSS was {peak / 2**20:.0f} MiB"
    assert checks["redis-ping"]["status"] in ("failed", "skipped")
    for check_id in ("redis-ping", "student-name", "persistence"):
        check = checks[check_id]
        assert check["status"] != "passed", check
        if check["status"] == "failed":
            assert "Redis answered with a reply larger than 1 MiB" in check["message"], check
            assert check["found"] == "a bulk string of 1,000,000,000 bytes", check
    assert left_in_docker(pid, projects) == []
