"""What the grader knows of one service of a booted stack, and how `docker inspect` tells it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


ENDED = ("restarting", "exited", "dead")  # Docker's statuses of a container whose process ended


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
    last_exit_code: int | None = None  # how this container last ended, kept while Docker runs it again
    oom_killed: bool = False
    ports: dict[int, tuple[str, int]] = field(default_factory=dict)
    addresses: dict[str, str] = field(default_factory=dict)  # network -> container IP
    volumes: list[str] = field(default_factory=list)
    shares_network_of: str | None = None   # network_mode: service:<name>

    @property
    def ending_unseen(self) -> bool:
        """Caught running between two crashes, with no sight yet of how this container ends."""
        return self.running and bool(self.restarts) and self.last_exit_code is None

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
        if self.status == "restarting" or (self.running and self.restarts):
            code = _with_code(self.last_exit_code)  # caught running between two crashes: as it last ended
            return f"it keeps restarting: it exits{code} and Docker starts it again ({self.restarts} restarts so far)"
        if not self.running:
            return f"it is not running ({self.status}{_with_code(self.exit_code)})"
        return None


def _with_code(exit_code: int | None) -> str:
    return f" with code {exit_code}" if exit_code is not None else ""


def _apply_inspect(state: ServiceState, info: dict[str, Any]) -> None:
    status = info.get("State", {})
    if info.get("Id") != state.container_id:
        state.last_exit_code = None
    state.container_id = info.get("Id")
    state.status = status.get("Status", "unknown")
    state.running = bool(status.get("Running")) and not status.get("Restarting")
    state.exit_code = status.get("ExitCode")
    if state.status in ENDED:
        state.last_exit_code = state.exit_code  # Docker sets ExitCode to 0 when it starts the container again
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
