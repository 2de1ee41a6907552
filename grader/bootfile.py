"""The Compose model the grader actually boots: the student's normalised model with the
changes that make it safe to run beside other gradings and on a busy machine.

- published ports move to free ports on 127.0.0.1 (Docker picks them), and the Redis and
  web ports are published even when the student did not, so probes always reach them;
- container_name and volume/network `name:` go (they would collide between gradings);
- built images get a per-run tag, so one student's image never serves another's build;
- every service gets memory (swap equal), CPU and pid limits;
- everything carries the grader's labels, so `grader clean` can find it after a crash.
"""
from __future__ import annotations

import copy
import os
import socket
from dataclasses import dataclass
from typing import Any

from grader.rubric import Limits

LABEL = "org.compose-grader"
RUN_LABEL = "org.compose-grader.run"
# Which process on which host owns a resource: `grader clean` spares runs still alive.
OWNER_LABEL = "org.compose-grader.owner"


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class BootPlan:
    config: dict[str, Any]
    built_images: dict[str, str]        # service -> image tag the grader assigned
    probe_ports: dict[str, int]         # service -> container port the grader reaches


def _labels(existing: Any, run_id: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    if isinstance(existing, dict):
        labels.update({str(k): str(v) for k, v in existing.items()})
    elif isinstance(existing, list):
        for item in existing:
            key, _, value = str(item).partition("=")
            labels[key] = value
    labels[LABEL] = "1"
    labels[RUN_LABEL] = run_id
    labels[OWNER_LABEL] = owner()
    return labels


def _loopback_ports(ports: Any, must_publish: list[int]) -> list[dict[str, Any]]:
    result = []
    seen = set()
    for port in ports or []:
        if not isinstance(port, dict) or "target" not in port:
            continue
        key = (int(port["target"]), port.get("protocol", "tcp"))
        if key in seen:
            continue
        seen.add(key)
        result.append({"target": key[0], "protocol": key[1], "host_ip": "127.0.0.1"})
    for target in must_publish:
        if (target, "tcp") not in seen:
            result.append({"target": target, "protocol": "tcp", "host_ip": "127.0.0.1"})
    return result


def _service(name: str, service: dict[str, Any], *, project: str, run_id: str,
             limits: Limits, probe_ports: list[int]) -> tuple[dict[str, Any], str | None]:
    service = copy.deepcopy(service)
    for key in ("container_name", "deploy", "scale", "develop", "mem_reservation"):
        service.pop(key, None)
    service["ports"] = _loopback_ports(service.get("ports"), probe_ports)
    service["labels"] = _labels(service.get("labels"), run_id)
    service["mem_limit"] = limits.memory
    service["memswap_limit"] = limits.memory
    service["cpus"] = limits.cpus
    service["pids_limit"] = limits.pids
    if service.get("pull_policy") in ("always", "daily", "weekly"):
        service["pull_policy"] = "missing"
    built_image = None
    if isinstance(service.get("build"), dict):
        built_image = f"{project}-{name}:grader".lower()
        service["image"] = built_image
        service["build"]["labels"] = _labels(service["build"].get("labels"), run_id)
        service["pull_policy"] = "build"
    return service, built_image


def _resources(section: Any, run_id: str) -> dict[str, Any]:
    result = {}
    for name, resource in (section or {}).items():
        resource = copy.deepcopy(resource) if isinstance(resource, dict) else {}
        resource.pop("name", None)
        resource["labels"] = _labels(resource.get("labels"), run_id)
        result[name] = resource
    return result


def plan_boot(config: dict[str, Any], *, project: str, run_id: str, limits: Limits,
              probe_ports: dict[str, int]) -> BootPlan:
    plan = copy.deepcopy(config)
    plan.pop("name", None)
    services, built = {}, {}
    for name, service in (config.get("services") or {}).items():
        wanted = [probe_ports[name]] if name in probe_ports else []
        services[name], image = _service(name, service, project=project, run_id=run_id, limits=limits, probe_ports=wanted)
        if image:
            built[name] = image
    plan["services"] = services
    for section in ("volumes", "networks"):
        if section in config:
            plan[section] = _resources(config.get(section), run_id)
    return BootPlan(config=plan, built_images=built, probe_ports=dict(probe_ports))
