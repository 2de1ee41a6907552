"""Stopping a grading at the worst moments leaves nothing behind.

SIGINT or SIGTERM mid-build and mid-checks: teardown, then exit 130 / 143.
SIGKILL: nothing can run, so `grader clean` removes what the killed run left, and
nothing that lacks the grader's label (a user's own container survives it).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from grader.docker.bootfile import OWNER_LABEL
from tests.conftest import docker_lines, signals_as_a_terminal_gives_them

pytestmark = pytest.mark.docker

COMPOSE = """\
services:
  redis:
    image: redis:alpine
    ports: ["6379:6379"]
  web:
    build: .
    ports: ["5000:5000"]
"""
SLOW_BUILD = "FROM python:3.11-slim\nRUN sleep 60\n"
HANGING_APP = """\
FROM python:3.11-slim
WORKDIR /app
COPY app.py .
CMD ["python", "app.py"]
"""
APP = """\
import time
from flask import Flask
app = Flask(__name__)

@app.route("/")
def index():
    time.sleep(600)
    return "never"

app.run(host="0.0.0.0", port=5000)
"""


def submission(tmp_path: Path, dockerfile: str) -> Path:
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "docker-compose.yml").write_text(COMPOSE)
    (folder / "Dockerfile").write_text(dockerfile)
    (folder / "app.py").write_text(APP)
    return folder


def labelled(pid: int) -> set[str]:
    """What the grading run by process ``pid`` owns (other gradings may run on this machine)."""
    owner = f"{OWNER_LABEL}={socket.gethostname()}:{pid}"
    found: set[str] = set()
    for kind in (("ps", "-aq"), ("volume", "ls", "-q"), ("network", "ls", "-q"), ("image", "ls", "-q")):
        found |= docker_lines(*kind, "--filter", f"label={owner}")
    return found


def workspaces(pid: int) -> set[str]:
    """The workspace folders of process ``pid`` (other gradings may run on this machine)."""
    return {path.name for path in Path(tempfile.gettempdir()).glob(f"grader-ws-{pid}-*")}


def start(folder: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "grader.cli", "check", str(folder), "--no-html"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=signals_as_a_terminal_gives_them)


def wait_for(condition, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.3)


def running_containers(pid: int) -> int:
    owner = f"{OWNER_LABEL}={socket.gethostname()}:{pid}"
    return len(docker_lines("ps", "-q", "--filter", f"label={owner}"))


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_mid_build(signum: int, code: int, docker_engine, tmp_path: Path) -> None:
    process = start(submission(tmp_path, SLOW_BUILD))
    wait_for(lambda: any(Path(tempfile.gettempdir(), name, "boot.json").exists() for name in workspaces(process.pid)))
    time.sleep(1.5)  # inside `docker compose build`, on RUN sleep 60
    process.send_signal(signum)
    output, _ = process.communicate(timeout=90)
    assert process.returncode == code, output
    assert "Traceback" not in output
    assert labelled(process.pid) == set()
    assert workspaces(process.pid) == set()


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_mid_checks(signum: int, code: int, docker_engine, tmp_path: Path) -> None:
    process = start(submission(tmp_path, HANGING_APP))
    wait_for(lambda: running_containers(process.pid) == 2)
    time.sleep(4)  # settled; the counter check now waits on the hanging route
    process.send_signal(signum)
    output, _ = process.communicate(timeout=90)
    assert process.returncode == code, output
    assert "Traceback" not in output
    assert labelled(process.pid) == set()
    assert workspaces(process.pid) == set()


def volumes_of_the_run(pid: int) -> set[str]:
    """Every volume the run of ``pid`` has: those its containers mount (the anonymous /data of
    redis:alpine included) and those labelled with its Compose project. Counted by owner, not as
    the engine's whole list, which other gradings on a shared engine change meanwhile."""
    owner = f"label={OWNER_LABEL}={socket.gethostname()}:{pid}"
    containers = docker_lines("ps", "-aq", "--filter", owner)
    mounted = docker_lines("inspect", "--format", "{{range .Mounts}}{{if .Name}}{{.Name}} {{end}}{{end}}",
                           *containers) if containers else set()
    projects = docker_lines("ps", "-a", "--filter", owner, "--format", '{{.Label "com.docker.compose.project"}}')
    labelled_volumes = set().union(*(docker_lines("volume", "ls", "-q", "--filter",
                                                  f"label=com.docker.compose.project={project}")
                                     for project in projects))
    return mounted | labelled_volumes


def test_sigkill_then_clean_removes_only_the_graders_resources(docker_engine, tmp_path: Path) -> None:
    process = start(submission(tmp_path, HANGING_APP))
    wait_for(lambda: running_containers(process.pid) == 2)
    run_volumes = volumes_of_the_run(process.pid)
    assert run_volumes, "redis:alpine's anonymous /data volume should be among them"
    process.kill()
    process.wait(timeout=30)
    user_container = subprocess.run(["docker", "run", "-d", "--name", f"users-own-{os.getpid()}", "redis:alpine"],
                                    capture_output=True, text=True, check=True).stdout.strip()
    try:
        assert labelled(process.pid), "the killed run should have left resources for clean to remove"
        cleaned = subprocess.run([sys.executable, "-m", "grader.cli", "clean"], capture_output=True, text=True,
                                 timeout=180)
        assert cleaned.returncode == 0, cleaned.stderr
        assert labelled(process.pid) == set()
        assert user_container[:12] in docker_lines("ps", "-q"), "clean removed a container it did not create"
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", user_container], capture_output=True)
    assert not run_volumes & docker_lines("volume", "ls", "-q"), "a volume of the killed run outlived clean"
    assert workspaces(process.pid) == set()
