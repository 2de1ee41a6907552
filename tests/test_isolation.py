"""Gradings are contained: busy ports, parallel runs, limits, labels, and a minimal environment."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SAMPLES

pytestmark = pytest.mark.docker


def grade(submission: Path, *extra: str, env: dict[str, str] | None = None) -> dict:
    process = subprocess.run([sys.executable, "-m", "grader.cli", "check", str(submission), "--json", "-",
                              "--no-html", *extra], capture_output=True, text=True, timeout=600,
                             env={**os.environ, **(env or {})})
    assert "Traceback" not in process.stderr, process.stderr
    return json.loads(process.stdout)


def statuses(result: dict) -> dict[str, str]:
    return {check["id"]: check["status"] for check in result["checks"]}


def test_busy_host_ports_do_not_matter(docker_engine) -> None:
    listeners = []
    try:
        for port in (6379, 5000):
            listener = socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                listener.bind(("0.0.0.0", port))
            except OSError:
                listener.close()
                continue  # already busy: even better
            listener.listen()
            listeners.append(listener)
        result = grade(SAMPLES / "perfect")
    finally:
        for listener in listeners:
            listener.close()
    assert set(statuses(result).values()) == {"passed"}, result


def test_two_gradings_at_once_both_pass(docker_engine) -> None:
    command = [sys.executable, "-m", "grader.cli", "check", str(SAMPLES / "redis_only"), "--json", "-", "--no-html"]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = [json.loads(process.communicate(timeout=600)[0]) for process in (first, second)]
    for result in results:
        assert statuses(result)["persistence"] == "passed" and statuses(result)["student-name"] == "passed"


def test_containers_get_limits_labels_and_loopback_ports(docker_engine, tmp_path: Path) -> None:
    rubric = tmp_path / "rubric.yml"
    rubric.write_text(f"limits:\n  memory: 256m\n  cpus: 0.5\n  pids: 64\n"
                      f"extra_checks:\n  - {REPO / 'tests' / 'data' / 'limits_check'}\n")
    result = grade(SAMPLES / "redis_only", "--rubric", str(rubric))
    probe = next(check for check in result["checks"] if check["id"] == "limits-probe")
    assert probe["status"] == "passed", probe
    seen = json.loads(probe["message"])
    assert seen["containers"], "no container was inspected"
    for container in seen["containers"]:
        assert container["memory"] == 256 * 1024 * 1024
        assert container["swap"] == container["memory"], "swap must equal memory (no swap)"
        assert container["nano_cpus"] == 500_000_000
        assert container["pids"] == 64
        assert container["labels"]["org.compose-grader"] == "1" and container["labels"]["org.compose-grader.run"]
        assert "my_redis" not in container["name"], "container_name must be removed"
        for bindings in container["ports"].values():
            assert all(binding["HostIp"] == "127.0.0.1" for binding in bindings)
            assert all(binding["HostPort"] in ("", "0") for binding in bindings), "host ports must be free ones"
    assert "org.compose-grader.run=" in seen["volume_labels"]


def test_graders_environment_never_reaches_interpolation(tmp_path: Path) -> None:
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "docker-compose.yml").write_text(
        "services:\n  redis:\n    image: redis:${GRADER_SECRET_TAG:-alpine}\n    ports: ['6379:6379']\n")
    result = grade(folder, "--static", env={"GRADER_SECRET_TAG": "leaked-secret"})
    image = next(check for check in result["checks"] if check["id"] == "redis-image")
    assert image["status"] == "passed" and "leaked-secret" not in json.dumps(result)
