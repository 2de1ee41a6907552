"""The Compose file the grader actually boots, built from an allowlist.

Only the keys a grading needs and the grader understands are carried from Compose's model to
the engine (``SERVICE_KEYS``); what asks for host power was already refused by a named rule
(grader/policy), and everything else is dropped and listed as "ignored by the grader", so a
Compose key invented next year is dropped by default. On top of that:

- images are built by the grader itself (grader/docker/build.py) under a per-run tag; no other tag
  is ever written; pulls never use `always`;
- bind sources are copied into grader-owned snapshot folders, so a container cannot swap a
  source for a link to a host path before the next `up` or `restart`;
- networks are `internal` (no route off the machine) unless the rubric allows egress; the
  grader then reaches services at their container address, else at loopback ports;
- every service gets memory (swap equal), CPU and pid limits, its share of the whole stack's;
- everything carries the grader's labels, so `grader clean` can find it after a crash.
"""
from __future__ import annotations

import copy
import json
import math
import os
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.submission.paths import resolve_inside
from grader.results import Ignored, Location
from grader.rubric import Limits

Locator = Callable[[tuple[Any, ...]], "Location | None"]

LABEL = "org.compose-grader"
RUN_LABEL = "org.compose-grader.run"
# Which process on which host owns a resource: `grader clean` spares runs still alive.
OWNER_LABEL = "org.compose-grader.owner"

# Carried to the engine as Compose normalised them.
SERVICE_KEYS = frozenset({
    "image", "command", "entrypoint", "environment", "expose", "depends_on", "healthcheck", "working_dir",
    "user", "restart", "tty", "stdin_open", "init", "stop_signal", "stop_grace_period", "hostname", "domainname",
    "extra_hosts", "read_only", "tmpfs", "shm_size", "cap_drop", "cap_add", "security_opt", "links", "secrets",
    "configs", "network_mode", "ipc", "pid", "volumes_from", "group_add",
})
# Rewritten by the grader (ports, volumes, networks, limits, labels, build, pull policy).
REWRITTEN_KEYS = frozenset({"ports", "volumes", "networks", "labels", "build", "pull_policy", "mem_limit",
                            "memswap_limit", "cpus", "pids_limit", "deploy"})
# Compose's own bookkeeping, or already applied by Compose to the model: dropped without a word.
SILENT_KEYS = frozenset({"env_file", "label_file", "profiles", "extends", "scale"})
REASONS = {
    "container_name": "a fixed name would collide between gradings; Compose names the container",
    "ulimits": "the grader runs every container under its own limits",
    "logging": "the grader keeps the engine's default logging (a log driver can connect out of the machine)",
    "post_start": "the grader does not run lifecycle hooks",
    "pre_stop": "the grader does not run lifecycle hooks",
    "develop": "development watch mode is not part of grading",
}
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4}


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class BuildSpec:
    """What the grader builds for a service: everything else of `build:` is ignored."""

    context: str
    dockerfile: str | None = None        # relative to the context, or absolute
    dockerfile_inline: str | None = None
    args: dict[str, str] = field(default_factory=dict)
    target: str | None = None


@dataclass(frozen=True)
class BootPlan:
    config: dict[str, Any]
    built_images: dict[str, str]        # service -> image tag the grader assigned
    probe_ports: dict[str, int]         # service -> container port the grader reaches
    builds: dict[str, BuildSpec] = field(default_factory=dict)
    binds: dict[str, str] = field(default_factory=dict)   # snapshot folder -> the bind source it copies
    ignored: tuple[Ignored, ...] = ()
    internal: bool = True               # networks without a route off the machine
    published: bool = False             # ports published on loopback (else reached at container addresses)


def memory_bytes(value: Any) -> int | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    match = _MEMORY.match(str(value)) if isinstance(value, str) else None
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()]) if match else None


def labels(existing: Any, run_id: str) -> dict[str, str]:
    result: dict[str, str] = {}
    if isinstance(existing, dict):
        result.update({str(k): str(v) for k, v in existing.items()})
    elif isinstance(existing, list):
        for item in existing:
            key, _, value = str(item).partition("=")
            result[key] = value
    result.update({LABEL: "1", RUN_LABEL: run_id, OWNER_LABEL: owner()})
    return result


@dataclass
class _Planner:
    project: str
    run_id: str
    limits: Limits
    probe_ports: dict[str, int]
    snapshot_root: Path
    submission_root: Path | None
    internal: bool
    published: bool
    service_count: int = 1
    project_dir: Path | None = None
    locate: Locator = lambda keypath: None
    ignored: list[Ignored] = field(default_factory=list)
    builds: dict[str, BuildSpec] = field(default_factory=dict)
    built: dict[str, str] = field(default_factory=dict)
    binds: dict[str, str] = field(default_factory=dict)
    written: set[tuple[str, str]] = field(default_factory=set)  # (service, key) the student wrote

    def ignore(self, key: str, subject: str, reason: str, keypath: tuple[Any, ...] = ()) -> None:
        self.ignored.append(Ignored(key, subject, reason, self.locate(keypath) if keypath else None))

    # -- services

    def service(self, name: str, source: dict[str, Any]) -> dict[str, Any]:
        service = {key: copy.deepcopy(value) for key, value in source.items() if key in SERVICE_KEYS}
        for key in sorted(set(source) - SERVICE_KEYS - REWRITTEN_KEYS - SILENT_KEYS):
            if (name, key) in self.written or key in REASONS:
                self.ignore(key, f"service '{name}'", REASONS.get(key, "not a key the grader carries to the engine"),
                            ("services", name, key))
        service["labels"] = labels(source.get("labels"), self.run_id)
        service["ports"] = self.ports(name, source.get("ports"))
        service["volumes"] = [m for m in (self.mount(name, m) for m in source.get("volumes") or []) if m]
        if "network_mode" not in service:
            service["networks"] = self.service_networks(name, source.get("networks"))
        service.update(self.resources(source))
        if isinstance(source.get("build"), dict):
            self.build(name, source["build"], service)
        elif source.get("pull_policy") in ("missing", "never", "if_not_present"):
            service["pull_policy"] = source["pull_policy"]
        return service

    def build(self, name: str, spec: dict[str, Any], service: dict[str, Any]) -> None:
        tag = f"{self.project}-{name}:grader".lower()
        self.built[name] = tag
        args = spec.get("args") if isinstance(spec.get("args"), dict) else {}
        context = str(spec.get("context") or ".")  # `build: ""` or an unset variable: the project folder
        if self.project_dir is not None and not os.path.isabs(context):
            context = os.path.normpath(os.path.join(str(self.project_dir), context))
        self.builds[name] = BuildSpec(
            context=context, dockerfile=spec.get("dockerfile"),
            dockerfile_inline=spec.get("dockerfile_inline"), target=spec.get("target"),
            args={str(k): str(v) for k, v in args.items() if v is not None})
        for key in sorted(set(spec) - {"context", "dockerfile", "dockerfile_inline", "args", "target"}):
            self.ignore(f"build.{key}", f"service '{name}'", "the grader builds the image itself, with only "
                        "context, dockerfile, args and target" + (" (and its own tag)" if key == "tags" else ""),
                        ("services", name, "build", key))
        service["image"] = tag
        service["pull_policy"] = "never"

    def ports(self, name: str, ports: Any) -> list[dict[str, Any]]:
        if not self.published:
            return []  # reached at the container's address; nothing listens on the host
        result, seen = [], set()
        for port in ports or []:
            if isinstance(port, dict) and "target" in port:
                key = (int(port["target"]), port.get("protocol", "tcp"))
                if key not in seen:
                    seen.add(key)
                    result.append({"target": key[0], "protocol": key[1], "host_ip": "127.0.0.1"})
        probe = self.probe_ports.get(name)
        if probe is not None and (probe, "tcp") not in seen:
            result.append({"target": probe, "protocol": "tcp", "host_ip": "127.0.0.1"})
        return result

    def mount(self, name: str, mount: Any) -> dict[str, Any] | None:
        if not isinstance(mount, dict):
            return None
        kind = mount.get("type")
        carried = {k: mount[k] for k in ("type", "source", "target", "read_only") if k in mount}
        if kind == "volume":
            if isinstance(mount.get("volume"), dict) and mount["volume"].get("nocopy"):
                carried["volume"] = {"nocopy": True}
            return carried
        if kind == "tmpfs":
            return {**carried, **({"tmpfs": mount["tmpfs"]} if isinstance(mount.get("tmpfs"), dict) else {})}
        if kind == "bind" and isinstance(mount.get("source"), str):
            if self.inside(mount["source"]):
                carried["source"] = self.snapshot(mount["source"])
                carried["bind"] = {"create_host_path": False}
            return carried  # outside: only when the rubric allows bind-mount-outside, and then as asked
        self.ignore(f"volumes: {mount.get('target')}", f"service '{name}'", f"a {kind} mount, which the grader "
                    "does not carry to the engine", ("services", name, "volumes"))
        return None

    def inside(self, source: str) -> bool:
        if self.submission_root is None:
            return True
        return resolve_inside(source, self.submission_root) is not None

    def snapshot(self, source: str) -> str:
        """The grader-owned folder (or file) that stands for ``source`` in the booted stack."""
        for folder, original in self.binds.items():
            if original == source:
                return folder
        folder = str(self.snapshot_root / f"{len(self.binds) + 1}-{Path(source).name or 'root'}")
        self.binds[folder] = source
        return folder

    def service_networks(self, name: str, networks: Any) -> dict[str, Any]:
        if not isinstance(networks, dict):
            return {"default": None}
        result: dict[str, Any] = {}
        for network, settings in networks.items():
            aliases = settings.get("aliases") if isinstance(settings, dict) else None
            result[network] = {"aliases": aliases} if aliases else None
            dropped = sorted(set(settings or {}) - {"aliases"}) if isinstance(settings, dict) else []
            for key in dropped:
                self.ignore(f"networks.{network}.{key}", f"service '{name}'", "the grader lets the engine choose "
                            "addresses and settings on the project's own networks", ("services", name, "networks", network, key))
        return result

    def resources(self, source: dict[str, Any]) -> dict[str, Any]:
        """The smallest of the student's own limit, the rubric's per-service one and the service's
        share of the whole stack's."""
        share = max(1, self.service_count)
        limits = (source.get("deploy") or {}).get("resources", {}).get("limits", {}) \
            if isinstance(source.get("deploy"), dict) else {}
        memory = min(filter(None, [memory_bytes(self.limits.memory), memory_bytes(self.limits.stack_memory) // share,
                                   memory_bytes(source.get("mem_limit")), memory_bytes(limits.get("memory"))]))
        cpus = min(filter(None, [self.limits.cpus, self.limits.stack_cpus / share,
                                 _number(source.get("cpus")), _number(limits.get("cpus"))]))
        pids = min(filter(None, [self.limits.pids, self.limits.stack_pids // share,
                                 _number(source.get("pids_limit")), _number(limits.get("pids"))]))
        cpus = math.floor(cpus * 1000) / 1000  # rounded down, so the shares never add up to more than the stack's
        return {"mem_limit": memory, "memswap_limit": memory, "cpus": cpus, "pids_limit": int(pids)}

    # -- top level

    def volumes(self, section: Any) -> dict[str, Any]:
        result = {}
        for name, volume in (section or {}).items():
            volume = volume if isinstance(volume, dict) else {}
            carried: dict[str, Any] = {"labels": labels(volume.get("labels"), self.run_id)}
            if isinstance(volume.get("driver_opts"), dict) and volume["driver_opts"]:
                carried["driver_opts"] = volume["driver_opts"]  # tmpfs only: the policy refuses the rest
            result[name] = carried
        return result

    def networks(self, section: Any) -> dict[str, Any]:
        result = {}
        for name, network in (section or {}).items():
            network = network if isinstance(network, dict) else {}
            if network.get("ipam") and any(network["ipam"].values()):
                self.ignore("ipam", f"network '{name}'", "the engine picks the network's addresses, so no subnet "
                            "of the grading machine can be routed into the stack", ("networks", name, "ipam"))
            result[name] = {"labels": labels(network.get("labels"), self.run_id), "internal": self.internal}
        return result

    def secrets(self, section: Any, kind: str) -> dict[str, Any]:
        result = {}
        for name, entry in (section or {}).items():
            entry = entry if isinstance(entry, dict) else {}
            if isinstance(entry.get("file"), str):
                result[name] = {"file": self.snapshot(entry["file"])}
            elif "content" in entry:
                result[name] = {"content": entry["content"]}
            else:
                self.ignore(name, f"{kind[:-1]} '{name}'", "only file: and content: sources are carried", (kind, name))
        return result


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def plan_boot(config: dict[str, Any], *, project: str, run_id: str, limits: Limits, probe_ports: dict[str, int],
              snapshot_root: Path, services: list[str] | None = None, written: set[tuple[str, str]] = frozenset(),
              published: bool = False, locate: Locator | None = None, submission_root: Path | None = None,
              project_dir: Path | None = None) -> BootPlan:
    """The boot file for ``services`` (default: all) of Compose's normalised ``config``."""
    chosen = [name for name in (config.get("services") or {}) if services is None or name in services]
    internal = not limits.egress and not published
    planner = _Planner(project, run_id, limits, dict(probe_ports), snapshot_root, submission_root, internal=internal,
                       published=published, service_count=len(chosen), written=set(written),
                       locate=locate or (lambda keypath: None), project_dir=project_dir)
    plan: dict[str, Any] = {"services": {name: planner.service(name, config["services"][name]) for name in chosen}}
    plan["networks"] = planner.networks(config.get("networks") or {"default": {}})
    if config.get("volumes"):
        plan["volumes"] = planner.volumes(config["volumes"])
    for kind in ("secrets", "configs"):
        if config.get(kind):
            plan[kind] = planner.secrets(config[kind], kind)
    for key in sorted(set(config) - {"name", "services", "networks", "volumes", "secrets", "configs"}):
        if not key.startswith("x-"):  # extension fields hold YAML anchors: they are not settings
            planner.ignore(key, "the project", "not a key the grader carries to the engine", (key,))
    return BootPlan(config=plan, built_images=planner.built, probe_ports=dict(probe_ports), builds=planner.builds,
                    binds=planner.binds, ignored=tuple(planner.ignored), internal=internal, published=published)


def dump_json(plan: BootPlan, path: Path) -> Path:
    """Write the file Compose boots: the plan's allowlisted configuration, as JSON."""
    path.write_text(json.dumps(plan.config, indent=2))
    return path
