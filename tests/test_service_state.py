"""How `docker inspect` becomes a service's problem (grader/docker/service_state.py).

Docker sets a container's ExitCode back to 0 each time its restart policy starts it again, so a
crash loop caught between two crashes looks like a running container with restarts. The grader
remembers how that container last ended; the last test shows on a real engine that Docker does so.
"""
from __future__ import annotations

import os
import subprocess
import time
from typing import Any

from grader.docker import commands as docker
from grader.docker.service_state import ServiceState, _apply_inspect


def inspected(status: str, exit_code: int, restarts: int, container: str = "c1") -> dict[str, Any]:
    return {"Id": container, "RestartCount": restarts,
            "State": {"Status": status, "Running": status in ("running", "restarting"),
                      "Restarting": status == "restarting", "ExitCode": exit_code}}


def state_after(*infos: dict[str, Any]) -> ServiceState:
    state = ServiceState("web")
    for info in infos:
        _apply_inspect(state, info)
    return state


def test_a_crash_loop_caught_running_tells_how_it_last_ended() -> None:
    state = state_after(inspected("restarting", 3, 1), inspected("running", 0, 1))
    assert state.running and state.exit_code == 0
    assert state.problem == "it keeps restarting: it exits with code 3 and Docker starts it again (1 restarts so far)"


def test_a_crash_loop_never_seen_ending_says_only_that_it_restarts() -> None:
    state = state_after(inspected("created", 0, 0), inspected("running", 0, 2))
    assert state.problem == "it keeps restarting: it exits and Docker starts it again (2 restarts so far)"


def test_a_new_container_forgets_how_the_old_one_ended() -> None:
    state = state_after(inspected("exited", 1, 0), inspected("running", 0, 1, container="c2"))
    assert state.last_exit_code is None
    assert "with code" not in (state.problem or "")


def test_a_running_service_that_never_restarted_has_no_problem() -> None:
    assert state_after(inspected("running", 0, 0)).problem is None
    assert state_after(inspected("exited", 137, 0)).problem == "it is not running (exited with code 137)"


def test_docker_resets_the_exit_code_of_a_restarted_container_and_the_grader_keeps_it(docker_engine) -> None:
    name = f"grader-test-crash-loop-{os.getpid()}"
    container = subprocess.run(["docker", "run", "-d", "--name", name, "--restart", "always", "python:3.11-slim",
                                "sh", "-c", "sleep 0.5; exit 3"], capture_output=True, text=True, check=True).stdout.strip()
    try:
        state, seen = ServiceState("web"), set()
        deadline = time.monotonic() + 60
        while not ("restarting" in seen and state.running and state.restarts) and time.monotonic() < deadline:
            _apply_inspect(state, docker.inspect([container])[0])
            seen.add(state.status)
            time.sleep(0.05)
        assert state.running and state.restarts and state.exit_code == 0, "Docker no longer resets ExitCode"
        assert state.problem and "it exits with code 3" in state.problem
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", container], capture_output=True)
