"""The Docker engine stops mid-grading: error results with a clear message, no hang; once
the engine is back, `grader clean` leaves nothing.

This stops the machine's dockerd, so it runs only where the test may do that
(GRADER_TEST_RESTART_DAEMON=1, set by .ci/run when it started dockerd itself) and late in
the suite (file order), before the final leak check.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.docker.bootfile import OWNER_LABEL
from tests.conftest import REPO, docker_lines, engine_available

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(os.environ.get("GRADER_TEST_RESTART_DAEMON") != "1",
                       reason="stops dockerd: only with GRADER_TEST_RESTART_DAEMON=1"),
]
PIDFILE = Path("/var/run/docker.pid")
COMPOSE = "services:\n  redis:\n    image: redis:alpine\n  web:\n    build: .\n    ports: ['5000:5000']\n"
DOCKERFILE = 'FROM python:3.11-slim\nCOPY app.py .\nCMD ["python", "app.py"]\n'
APP = ("import time\nfrom flask import Flask\napp = Flask(__name__)\n@app.route('/')\ndef index():\n"
       "    time.sleep(600)\napp.run(host='0.0.0.0', port=5000)\n")


def owned_by(pid: int) -> set[str]:
    owner = f"label={OWNER_LABEL}={socket.gethostname()}:{pid}"
    found: set[str] = set()
    for kind in (("ps", "-aq"), ("volume", "ls", "-q"), ("network", "ls", "-q"), ("image", "ls", "-q")):
        found |= docker_lines(*kind, "--filter", owner)
    return found


def wait_until(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.5)


def test_engine_stopping_mid_run_gives_errors_then_clean_leaves_nothing(docker_engine, tmp_path: Path) -> None:
    folder = tmp_path / "sub"
    folder.mkdir()
    for name, text in (("docker-compose.yml", COMPOSE), ("Dockerfile", DOCKERFILE), ("app.py", APP)):
        (folder / name).write_text(text)
    volumes_before = docker_lines("volume", "ls", "-q")
    grading = subprocess.Popen([sys.executable, "-m", "grader.cli", "check", str(folder), "--json", "-",
                                "--no-html"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: len(docker_lines("ps", "-q", "--filter",
                                            f"label={OWNER_LABEL}={socket.gethostname()}:{grading.pid}")) == 2, 120)
        time.sleep(3)
        os.kill(int(PIDFILE.read_text()), signal.SIGTERM)
        wait_until(lambda: not engine_available(), 60)
        started = time.monotonic()
        output, errors = grading.communicate(timeout=300)
        waited = time.monotonic() - started
    finally:
        if grading.poll() is None:
            grading.kill()
        subprocess.run(["bash", str(REPO / "scripts" / "setup-env.sh"), "--grading-only"], check=True,
                       capture_output=True, timeout=300)
    assert "Traceback" not in errors
    assert grading.returncode == 2, errors
    result = json.loads(output)
    errored = [check for check in result["checks"] if check["status"] == "error"]
    assert errored, result["checks"]
    assert all("Docker engine" in check["message"] for check in errored)
    assert waited < 240, f"the grader took {waited:.0f} s to give up"
    cleaned = subprocess.run([sys.executable, "-m", "grader.cli", "clean"], capture_output=True, text=True,
                             timeout=300)
    assert cleaned.returncode == 0, cleaned.stderr
    assert owned_by(grading.pid) == set()
    assert docker_lines("volume", "ls", "-q") <= volumes_before
