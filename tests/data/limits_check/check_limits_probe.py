"""A check used by tests/test_isolation.py: it looks at the booted containers from inside a
grading and reports their limits and labels, as an instructor's check could."""
import json
import subprocess

from grader.checking import Outcome, check


@check("limits-probe", points=0, title="Report the containers' limits and labels")
def test_limits_probe(stack, outcome: Outcome) -> None:
    ids = [state.container_id for state in stack.services.values() if state.container_id]
    info = json.loads(subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True, check=True).stdout)
    volumes = json.loads(subprocess.run(
        ["docker", "volume", "ls", "--filter", f"label=com.docker.compose.project={stack.project.name}",
         "--format", "{{json .}}"], capture_output=True, text=True, check=True).stdout.splitlines()[0])
    outcome.message = json.dumps({
        "containers": [{"name": c["Name"], "memory": c["HostConfig"]["Memory"],
                        "swap": c["HostConfig"]["MemorySwap"], "nano_cpus": c["HostConfig"]["NanoCpus"],
                        "pids": c["HostConfig"]["PidsLimit"], "labels": c["Config"]["Labels"],
                        "ports": c["HostConfig"]["PortBindings"]} for c in info],
        "volume_labels": volumes.get("Labels", ""),
    })
