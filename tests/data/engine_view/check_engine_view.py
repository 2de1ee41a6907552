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


@check("engine-view", points=0, title="(test) what the engine was given")
def test_engine_view(stack, outcome: Outcome) -> None:
    containers = _inspect("inspect", *stack.container_ids())
    networks = sorted({name for c in containers for name in (c["NetworkSettings"]["Networks"] or {})})
    view = {"containers": containers, "networks": _inspect("network", "inspect", *networks) if networks else []}
    Path(os.environ["GRADER_TEST_ENGINE_VIEW"]).write_text(json.dumps(view))
    outcome.message = f"recorded {len(containers)} containers"
