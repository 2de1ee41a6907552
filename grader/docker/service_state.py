"""What the grader knows of one service of a booted stack, and how `docker inspect` tells it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ServiceState:
    name: str
    build_error: str | None = None     # the last lines of the build output
    build_summary: str | None = None   # what went wrong in the build, in one line
    build_hint: str | None = None      # how to fix it, when the grader knows better than "read the output"
    start_error: str | None = None     # the last lines of Compose's output
    pull_error: str | None = None      # why the service's image is missing, in one line
    container_id: str | None = None
    status: str = "not created"
    running: bool = False
    restarts: int = 0
    exit_code: int | None = None
    oom_killed: bool = False
    ports: dict[int, tuple[str, int]] = field(default_factory=dict)
    addresses: dict[str, str] = field(default_factory=dict)  # network -> container IP
    volumes: list[str] = field(default_factory=list)
    shares_network_of: str | None = None   # network_mode: service:<name>

    @property
    def problem(self) -> str | None:
        """Why the service is not healthy, in words for a student; None when it is."""
        if self.build_error:
            return "its image failed to build" + (f": {self.build_summary}" if self.build_summary else "")
        if self.pull_error:
            return self.pull_error
        if self.start_error:
            return "it could not be started"
        if self.oom_killed:
            return "it ran out of memory and was killed"
        code = f" with code {self.exit_code}" if self.exit_code is not None else ""
        if self.status == "restarting":
            return f"it keeps restarting: it exits{code} and Docker starts it again ({self.restarts} restarts so far)"
        if not self.running:
            return f"it is not running ({self.status}{code})"
        if self.restarts:
            return f"it keeps restarting ({self.restarts} restarts)"
        return None


def _apply_inspect(state: ServiceState, info: dict[str, Any]) -> None:
    status = info.get("State", {})
    state.container_id = info.get("Id")
    state.status = status.get("Status", "unknown")
    state.running = bool(status.get("Running")) and not status.get("Restarting")
    state.exit_code = status.get("ExitCode")
    state.oom_killed = bool(status.get("OOMKilled"))
    state.restarts = int(info.get("RestartCount") or 0)
    state.volumes = [m["Name"] for m in info.get("Mounts", []) if m.get("Type") == "volume" and m.get("Name")]
    ports: dict[int, tuple[str, int]] = {}
    for key, bindings in (info.get("NetworkSettings", {}).get("Ports") or {}).items():
        port, _, protocol = key.partition("/")
        if protocol == "tcp" and bindings:
            ports[int(port)] = (bindings[0].get("HostIp") or "127.0.0.1", int(bindings[0]["HostPort"]))
    state.ports = ports
    networks = info.get("NetworkSettings", {}).get("Networks") or {}
    state.addresses = {name: net["IPAddress"] for name, net in networks.items() if net.get("IPAddress")}
