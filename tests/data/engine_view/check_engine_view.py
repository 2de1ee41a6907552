"""A check for the tests, not for students: while the stack runs, it records what the Docker
engine was given (`docker inspect` of every container of the stack and of their networks) in
the JSON file named by GRADER_TEST_ENGINE_VIEW, so tests assert on the engine, not on the plan."""
import json
import os
import subprocess
from pathlib import Path

from grader.checking import Outcome, check


def _inspect(*args: str) -> list:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout or "[]")


def _egress(containers: list) -> dict:
    """From each container with Python, try to reach GRADER_TEST_EGRESS_TARGET (host:port, an address
    the test itself set up outside the stack): what happened, per service."""
    target = os.environ.get("GRADER_TEST_EGRESS_TARGET")
    if not target:
        return {}
    host, port = target.rsplit(":", 1)
    probe = (f"import socket\ntry:\n socket.create_connection(({host!r}, {port}), timeout=3).close(); print('connected')\n"
             "except OSError as exc:\n print(type(exc).__name__)")
    found = {}
    for container in containers:
        done = subprocess.run(["docker", "exec", container["Id"], "python", "-c", probe], capture_output=True,
                              text=True, timeout=30)
        if done.returncode == 0:
            found[container["Config"]["Labels"]["com.docker.compose.service"]] = done.stdout.strip()
    return found


@check("engine-view", points=0, title="(test) what the engine was given")
def test_engine_view(stack, outcome: Outcome) -> None:
    containers = _inspect("inspect", *stack.container_ids())
    networks = sorted({name for c in containers for name in (c["NetworkSettings"]["Networks"] or {})})
    view = {"containers": containers, "networks": _inspect("network", "inspect", *networks) if networks else [],
            "egress": _egress(containers)}
    Path(os.environ["GRADER_TEST_ENGINE_VIEW"]).write_text(json.dumps(view))
    outcome.message = f"recorded {len(containers)} containers"
